//! The command layer's parts that outgrew `run.rs`: each turns clap's types into the plain
//! values a stage below takes, and the stage's results into output and an exit code. Nothing
//! below the command layer imports from here.

pub mod completions;
pub mod finish;
pub mod merge;
pub mod output;
pub mod paste;
pub mod project;
pub mod push;
pub mod recheck;
pub mod remediate;
pub mod rules;
pub mod stream;
pub mod sweep;
pub mod verify;
