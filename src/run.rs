//! Runs one command: the dispatch from the parsed command line to a source or a command of
//! `command/`, and the post-processing every scan shares (suppression, verification, the
//! report, the exit code). The parts every command uses live in `command/`: `project.rs`
//! (config, rules, settings), `output.rs` (where the report goes, exit codes).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::{Cli, Command, Format, ScanArgs};
use crate::detect::Detector;
use crate::report::Report;
use crate::rules::Rule;
use crate::source;

pub use crate::command::output::{error_line, say, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::command::output::{exit_code, nothing_scanned, say_written, tell, write_report};
use crate::command::project::{archive_settings, load_rules, rules_of, threads, Project};
use crate::command::rules::{check_rules, list_rules};

pub fn run(cli: Cli) -> Result<u8> {
    crate::command::verify::check(&cli.command)?;
    match cli.command {
        Command::Dir(a) => {
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
            let project = Project::load(&a.scan, &source::git::scan_root(&repo)?)?;
            let det = Detector::new(rules_of(&project.config, &a.scan.rules)?)?;
            let report = source::git::scan(&det, &opts)?;
            finish(report, det.rules(), &project, &a.scan)
        }
        Command::Staged(a) => {
            let staged = source::staged::Staged::open(&a.repo)?;
            let project = Project::load(&a.scan, staged.root())?;
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
        Command::Completions(a) => {
            crate::command::completions::completions(&a).map(|()| EXIT_CLEAN)
        }
        Command::Man(a) => crate::command::completions::man(&a).map(|()| EXIT_CLEAN),
    }
}

/// Post-processing shared by every scan: report, then exit code.
pub fn finish(report: Report, rules: &[Rule], project: &Project, scan: &ScanArgs) -> Result<u8> {
    finish_with(report, rules, project, scan, |_, _| {})
}

/// [`finish`], then `after` with the final report and exit code.
pub fn finish_with(
    mut report: Report,
    rules: &[Rule],
    project: &Project,
    scan: &ScanArgs,
    after: impl FnOnce(&Report, u8),
) -> Result<u8> {
    let cfg = &project.config;
    report.sarif_category = scan.sarif_category.clone();
    project.suppress(&mut report, scan);
    report.sort();
    nothing_scanned(&mut report);
    tell(&report, scan.quiet);
    crate::command::verify::findings(&mut report.findings, rules, &scan.verify, scan.quiet)?;
    let format = scan.format.or(cfg.format).unwrap_or(Format::Text);
    let written = write_report(
        &report,
        rules,
        format,
        scan.show_secrets,
        scan.output.as_ref(),
    )?;
    say_written(&report, written, scan.quiet);
    let code = exit_code(&report, scan.verify.fail_on);
    after(&report, code);
    Ok(code)
}
