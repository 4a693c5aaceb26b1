//! Runs one command: the dispatch from the parsed command line to a source or a command of
//! `command/`, and the post-processing every scan shares (suppression, verification, the
//! report, the exit code). The parts every command uses live in `command/`: `project.rs`
//! (config, rules, settings), `output.rs` (where the report goes, exit codes).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::{Cli, Command, Format};
use crate::detect::Detector;
use crate::source;

pub use crate::command::finish::{finish, finish_with};
use crate::command::output::{check_output, exit_code, say_written, write_report};
pub use crate::command::output::{error_line, say, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::command::project::{archive_settings, load_rules, rules_of, threads, Project};
use crate::command::rules::{check_rules, list_rules};

pub fn run(cli: Cli) -> Result<u8> {
    crate::command::verify::check(&cli.command)?;
    let scan = match &cli.command {
        Command::Dir(a) => Some(&a.scan),
        Command::Stdin(a) => Some(&a.scan),
        Command::Git(a) => Some(&a.scan),
        Command::Staged(a) => Some(&a.scan),
        _ => None,
    };
    if let Some(s) = scan {
        crate::haystack::set_blob_budget(std::time::Duration::from_secs(s.blob_timeout));
    }
    match &cli.command {
        Command::Stdin(a) => check_output(a.scan.output.as_ref())?,
        Command::Git(a) => check_output(a.scan.output.as_ref())?,
        Command::Staged(a) => check_output(a.scan.output.as_ref())?,
        Command::Verify(a) => check_output(a.output.as_ref())?,
        Command::Merge(a) => check_output(a.output.as_ref())?,
        _ => {}
    }
    match cli.command {
        Command::Dir(a) => {
            // Nothing named exists: one line, not a report of nothing. (With some paths
            // there, the missing ones are listed as unread inputs of the report.)
            let missing: Vec<_> = a
                .paths
                .iter()
                .filter_map(|p| std::fs::symlink_metadata(p).err().map(|e| (p, e)))
                .collect();
            if missing.len() == a.paths.len() {
                let (p, e) = &missing[0];
                anyhow::bail!(
                    "{}: {}",
                    crate::report::escape_control(&p.display().to_string()),
                    crate::report::io_reason(e)
                );
            }
            check_output(a.scan.output.as_ref())?;
            let threads = threads(&a.scan);
            let project = Project::load(&a.scan, &source::dir::scan_root(&a.paths))?;
            let mut exclude = a.exclude.clone();
            if !a.scan.no_suppress {
                // Excluded paths are not even read (so not counted); --no-suppress reads all.
                exclude.extend(project.config.exclude.iter().cloned());
            }
            let opts = source::dir::DirOptions {
                paths: a.paths.clone(),
                no_ignore: a.no_ignore,
                follow_symlinks: a.follow_symlinks,
                max_file_size: a.max_file_size,
                archives: archive_settings(&a.archives, &exclude)?,
                exclude,
                threads,
                progress: !a.scan.quiet && io::stderr().is_terminal(),
                count_ignored: !a.scan.quiet,
            };
            let det = Detector::new(rules_of(&project.config, &a.scan.rules)?)?;
            let report = source::dir::scan(&det, &opts)?;
            finish(report, det.rules(), &project, &a.scan)
        }
        Command::Stdin(a) => {
            let project = Project::load(&a.scan, Path::new("."))?;
            let det = Detector::new(rules_of(&project.config, &a.scan.rules)?)?;
            let report = source::stdin::scan(&det, &a.label);
            finish(report, det.rules(), &project, &a.scan)
        }
        Command::Rules(a) => match &a.action {
            None if !matches!(a.format, Format::Text | Format::Json) => anyhow::bail!(
                "rules --format {}: the rule list is written as text or json",
                a.format.name()
            ),
            None => list_rules(&load_rules(&a.rules)?, a.format),
            Some(crate::cli::RulesAction::Check { file }) => {
                let rules = match file {
                    Some(f) => crate::rules::load_file(f)?,
                    None => load_rules(&a.rules)?,
                };
                check_rules(Detector::new(rules)?)
            }
        },
        Command::Git(a) if crate::command::sweep::is_sweep(&a) => crate::command::sweep::run(&a),
        Command::Git(a) => {
            let repo = a
                .repos
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("."));
            let opts = source::git::GitOptions {
                repo: repo.clone(),
                include_unreachable: a.include_unreachable,
                since: a.since.clone(),
                range: a.range.clone(),
                max_file_size: a.max_file_size,
                archives: archive_settings(&a.archives, &[])?,
                threads: threads(&a.scan),
                progress: !a.scan.quiet && io::stderr().is_terminal(),
                push: None,
                object_dirs: Vec::new(),
            };
            let project = if opts.since.is_some() || opts.range.is_some() {
                // A review: the scanner's own files as its base holds them.
                let pin = source::git::pinned::Pinned::range(
                    &repo,
                    opts.since.as_deref(),
                    opts.range.as_deref(),
                )?;
                Project::load_pinned(&a.scan, &pin, true)?
            } else {
                Project::load(&a.scan, &source::git::scan_root(&repo)?)?
            };
            let det = Detector::new(rules_of(&project.config, &a.scan.rules)?)?;
            let report = source::git::scan(&det, &opts)?;
            finish(report, det.rules(), &project, &a.scan)
        }
        Command::Staged(a) => {
            let staged = source::staged::Staged::open(&a.repo)?;
            let project = Project::load_pinned(&a.scan, &staged.pinned()?, false)?;
            let det = Detector::new(rules_of(&project.config, &a.scan.rules)?)?;
            let report = staged.scan(&det, &archive_settings(&a.archives, &[])?)?;
            // Explain a blocked commit, naming only the findings left after suppression.
            finish_with(report, det.rules(), &project, &a.scan, |report, code| {
                if code == EXIT_FINDINGS && !a.scan.quiet {
                    let m = source::staged::blocked_message(&report.findings);
                    let _ = io::stderr().lock().write_all(m.as_bytes());
                }
            })
        }
        Command::Verify(a) => {
            let report = crate::command::verify::report(&a)?;
            let rules = crate::rules::default_rules();
            let written =
                write_report(&report, &rules, a.format, a.show_secrets, a.output.as_ref())?;
            say_written(&report, written, a.quiet);
            Ok(exit_code(&report, a.verify.fail_on))
        }
        Command::PreReceive(a) => crate::command::push::pre_receive(&a),
        Command::PrePush(a) => crate::command::push::pre_push(&a),
        Command::Merge(a) => crate::command::merge::run(&a),
        Command::Remediate(a) => crate::command::remediate::run(&a),
        Command::Recheck(a) => crate::command::recheck::run(&a),
        Command::Completions(a) => {
            crate::command::completions::completions(&a).map(|()| EXIT_CLEAN)
        }
        Command::Man(a) => crate::command::completions::man(&a).map(|()| EXIT_CLEAN),
    }
}
