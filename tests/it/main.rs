//! The integration tests: one crate (one link of libgit2 and reqwest, not one per file) that
//! drives the real binary on real files, repositories and servers built at test time.
//! `common` holds the helpers every module shares.

mod common;

mod cli;
mod fixtures;
mod git;
mod property;
mod report;
mod rules;
mod staged;
mod suppress;
mod verify;
