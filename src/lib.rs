//! applivery-leaks: finds Applivery API tokens in working trees, staged changes and git
//! history, optionally checks whether they still work, and reports them as text, JSON or
//! SARIF. The binary (`main.rs`) is a thin shell around `run::run`; the library exists so
//! benchmarks and tests can drive the same code.
//!
//! Data flows one way: source → extract → detector → finding → suppression →
//! verification → report (ARCHITECTURE.md maps each stage to its files).
//!
//! No unsafe code, with two reviewed exceptions: libgit2's pack-window limits can only be set
//! through an unsafe call (`source::git::limit_pack_windows`), and the index file is mapped
//! rather than copied, as git does, to keep a pre-commit scan fast (`source/staged/mapped.rs`).
//! `forbid` cannot be lifted for one call, so the crate denies unsafe code and those two
//! places allow it.
#![deny(unsafe_code)]

pub mod cli;
pub mod command;
pub mod config;
pub mod detect;
pub mod extract;
pub mod finding;
pub mod haystack;
pub mod net;
pub mod packed;
pub mod provenance;
pub mod redact;
pub mod report;
pub mod rules;
pub mod run;
pub mod source;
pub mod suppress;
pub mod sweep;
pub mod sync;
pub mod time;
pub mod utf16;
pub mod verify;
