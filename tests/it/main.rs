//! The integration tests: one crate (one link of libgit2 and reqwest, not one per file) that
//! drives the real binary on real files, repositories and servers built at test time.
//! `common` holds the helpers every module shares.

mod api;
mod artefacts;
mod common;
mod dense;
mod evidence;

mod archives;
mod ci_action;
mod ci_formats;
mod cli;
mod docs;
mod fixtures;
mod gates;
mod git;
mod git_clones;
mod git_objects;
mod hostile;
mod property;
mod push;
mod remediate;
mod report;
mod rules;
mod staged;
mod staged_index;
mod stream;
mod suppress;
mod sweep;
mod sweep_net;
mod verify;
mod verify_hosts;
mod verify_input;
mod verify_truth;
mod wordlike;
