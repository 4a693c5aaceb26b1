//! Runs one command: load rules, scan the source, apply suppressions and verification, write
//! the report, and decide the exit code (0 clean, 1 findings, 2 error or nothing readable).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::{ArchiveArgs, Cli, Command, FailOn, Format, RuleArgs, ScanArgs};
use crate::config::Config;
use crate::detect::Detector;
use crate::report::{self, Report, ScanKind, Style};
use crate::rules::Rule;
use crate::source;
use crate::suppress;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

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
            emit(&report, &rules, a.format, a.show_secrets, a.output.as_ref())?;
            Ok(exit_code(&report, a.verify.fail_on))
        }
        Command::Merge(a) => crate::command::merge::run(&a),
        Command::Completions(a) => {
            crate::command::completions::completions(&a).map(|()| EXIT_CLEAN)
        }
        Command::Man(a) => crate::command::completions::man(&a).map(|()| EXIT_CLEAN),
    }
}

/// What a scan takes from the project at its root: the config, the ignore file and the
/// baseline. All are read once, before scanning, so a typo in any of them fails in a second
/// rather than after an hour-long history sweep, and suppression uses exactly the config
/// detection used.
pub struct Project {
    pub config: Config,
    ignore: Vec<suppress::Entry>,
    baseline: Vec<suppress::Entry>,
}

impl Project {
    pub fn load(scan: &ScanArgs, root: &Path) -> Result<Project> {
        Ok(Project {
            config: load_config(&scan.rules, root)?,
            ignore: suppress::load_ignore(root)?,
            baseline: match &scan.baseline {
                Some(b) => suppress::load_baseline(b)?,
                None => Vec::new(),
            },
        })
    }

    /// Applies the config's exclusions, inline markers, the ignore file and the baseline to
    /// `report`, and drops from the history summary the secrets all of whose findings were
    /// suppressed: they are not news to anyone.
    pub fn suppress(&self, report: &mut Report, scan: &ScanArgs) {
        // Before suppression: a secret that is allowed in one place is still a secret where
        // it shows up in another finding's context.
        crate::redact::redact_known(&mut report.findings);
        suppress::filter(
            report,
            &self.config,
            &self.ignore,
            &self.baseline,
            scan.no_suppress,
            scan.report_unused,
        );
        if let Some(g) = report.summary.git.as_mut() {
            let kept: std::collections::HashSet<&str> = report
                .findings
                .iter()
                .map(|f| f.secret_sha256.as_str())
                .collect();
            g.secrets
                .retain(|s| kept.contains(s.secret_sha256.as_str()));
        }
    }
}

/// The extract stage's limits from the command line. `exclude` globs name archive members
/// too (`build/**/*.apk!/assets/**`); in history a blob is read once for every path that
/// holds it, so there the config's globs apply to findings instead.
pub(crate) fn archive_settings(
    a: &ArchiveArgs,
    exclude: &[String],
) -> Result<crate::extract::Settings> {
    let s = crate::extract::Settings {
        max_depth: if a.no_archives {
            0
        } else {
            a.max_archive_depth as usize
        },
        max_member_size: a.max_member_size,
        max_total: a.max_archive_bytes,
        max_ratio: a.max_archive_ratio,
        max_members: a.max_archive_members,
        ..crate::extract::Settings::default()
    };
    s.with_exclude(exclude).map_err(anyhow::Error::msg)
}

/// Worker threads: `--threads` (0 or absent: one per CPU), at most 8 per CPU. The scan is
/// bound by CPU and the page cache; past a few threads per CPU they only contend (5,000
/// threads on 8 files took minutes).
fn threads(scan: &ScanArgs) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = 8 * cpus;
    match scan.threads {
        None | Some(0) => cpus,
        Some(n) if n > cap => {
            if !scan.quiet {
                say(format_args!(
                    "applivery-leaks: warning: --threads {n} lowered to {cap} (8 per CPU)"
                ));
            }
            cap
        }
        Some(n) => n,
    }
}

/// The project config of a scan rooted at `root` (the repository's work tree for git and
/// staged scans): `--config`, else `.applivery-leaks.toml` there, none with `--no-config`.
pub fn load_config(args: &RuleArgs, root: &Path) -> Result<Config> {
    Config::discover(args.config.as_deref(), args.no_config, root)
}

/// The active rules of `config` with the command line's rule options.
pub fn rules_of(config: &Config, args: &RuleArgs) -> Result<Vec<Rule>> {
    config.load_rules(&args.rules, !args.no_default_rules)
}

/// The active rules, with the project config found in the current directory.
pub fn load_rules(args: &RuleArgs) -> Result<Vec<Rule>> {
    rules_of(&load_config(args, Path::new("."))?, args)
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
    if let (Some(path), false) = (written, scan.quiet) {
        // A CI log otherwise shows nothing but an exit code.
        say(format_args!(
            "{}",
            report::text::summary_line(&report, &path.display().to_string())
        ));
    }
    let code = exit_code(&report, scan.verify.fail_on);
    after(&report, code);
    Ok(code)
}

/// Tells on stderr what could not be read (always) and the warnings (unless quiet).
pub fn tell(report: &Report, quiet: bool) {
    for e in &report.errors {
        say(format_args!(
            "applivery-leaks: cannot read {}: {}",
            report::escape_control(&e.place()),
            report::escape_control(&e.reason)
        ));
    }
    if !quiet {
        for w in &report.warnings {
            say(format_args!(
                "applivery-leaks: warning: {}",
                report::escape_control(w)
            ));
        }
    }
}

/// Writes the report to `output` (standard output when None or `-`). A reader that stops
/// early (`| head`, a FIFO's reader gone) ends the output, not the run: the exit code still
/// says what was found.
pub fn emit(
    report: &Report,
    rules: &[Rule],
    format: Format,
    show_secrets: bool,
    output: Option<&PathBuf>,
) -> Result<()> {
    write_report(report, rules, format, show_secrets, output).map(|_| ())
}

/// [`emit`]; returns the file the report went to, if it went to one.
fn write_report<'p>(
    report: &Report,
    rules: &[Rule],
    format: Format,
    show_secrets: bool,
    output: Option<&'p PathBuf>,
) -> Result<Option<&'p Path>> {
    let file = output
        .map(PathBuf::as_path)
        .filter(|p| *p != Path::new("-"));
    let written = match file {
        Some(path) => {
            let style = Style {
                format,
                show_secrets,
                color: false,
            };
            report::output::write_file(path, show_secrets, |w| {
                report::write(report, rules, style, w)
            })
            .map_err(|e| (e, format!("cannot write report to {}", path.display())))
        }
        None => {
            let stdout = io::stdout();
            let color = format == Format::Text
                && stdout.is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            let style = Style {
                format,
                show_secrets,
                color,
            };
            let mut out = io::BufWriter::new(stdout.lock());
            report::write(report, rules, style, &mut out)
                .and_then(|()| out.flush())
                .map_err(|e| (e, "cannot write report to standard output".to_string()))
        }
    };
    match written {
        Ok(()) => Ok(file),
        Err((e, _)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(None),
        Err((e, what)) => Err(anyhow::Error::new(e).context(what)),
    }
}

/// How an error that ends a run is printed: one line, whatever a hostile file put into it.
/// Messages echo what they reject (a glob, a rule's field), and a TOML string can hold a
/// newline or an escape sequence; control characters are shown escaped.
pub fn error_line(err: &anyhow::Error) -> String {
    format!(
        "applivery-leaks: error: {}",
        report::escape_control(&format!("{err:#}"))
    )
}

/// Writes a line to standard error. A closed stderr must not turn a finding into a crash
/// (`eprintln!` panics when it cannot write), so errors are ignored.
pub fn say(line: std::fmt::Arguments) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// A directory or history scan that skipped everything it found (`--max-file-size 1`, a
/// FIFO or a binary file named alone) scanned nothing it was asked to: an error, so a gate
/// fails closed instead of passing on nothing.
fn nothing_scanned(report: &mut Report) {
    let s = &report.summary;
    if matches!(report.kind, ScanKind::Dir | ScanKind::Git)
        && s.files == 0
        && !s.skipped.is_empty()
        && report.errors.is_empty()
    {
        let reason = format!(
            "nothing was scanned: all {} input(s) were skipped",
            s.skipped.len()
        );
        let root = report.root.display().to_string();
        report.errors.push(report::Problem::new(root, reason));
    }
}

/// 1 if anything that should fail the build was found; else 2 if some input could not be
/// read (a gate must fail closed, not pass because it saw nothing); else 0.
pub fn exit_code(report: &Report, fail_on: FailOn) -> u8 {
    let failing = report.findings.iter().any(|f| match fail_on {
        FailOn::Any => true,
        FailOn::Live => f
            .verification
            .as_ref()
            .is_some_and(|v| v.status == crate::finding::VerifyStatus::Live),
    });
    if failing {
        EXIT_FINDINGS
    } else if !report.errors.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

/// `rules check`: every example of every rule must be found by that rule, and no negative
/// example may be. One line per failure, then a count.
fn check_rules(det: Detector) -> Result<u8> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (mut run, mut failed) = (0, 0);
    for (ri, rule) in det.rules().iter().enumerate() {
        let cases = rule
            .examples
            .iter()
            .map(|e| (e, true))
            .chain(rule.negative_examples.iter().map(|e| (e, false)));
        for (n, (example, positive)) in cases.enumerate() {
            run += 1;
            let found = det
                .detect(example.text.as_bytes(), example.path.as_bytes())
                .iter()
                .any(|c| c.rule == ri);
            if found != positive {
                failed += 1;
                let what = if positive {
                    "example: nothing found"
                } else {
                    "negative example: found a secret"
                };
                let first = example.text.lines().next().unwrap_or_default();
                writeln!(
                    out,
                    "FAIL {}: rule '{}': {what} (#{}, {})",
                    rule.origin,
                    rule.id,
                    n + 1,
                    report::escape_control(&crate::finding::redact_line(first))
                )?;
            }
        }
    }
    writeln!(out, "{run} example(s), {failed} failed")?;
    out.flush()?;
    Ok(if failed > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn list_rules(rules: &[Rule], format: Format) -> Result<u8> {
    match write_rules(rules, format) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(EXIT_CLEAN),
        other => Ok(other.map(|()| EXIT_CLEAN)?),
    }
}

fn write_rules(rules: &[Rule], format: Format) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        Format::Json | Format::Jsonl | Format::Sarif | Format::Gitlab => {
            let v: Vec<_> = rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "description": r.description,
                        "severity": r.severity.as_str(),
                        "keywords": r.keywords,
                        "verifier": r.verifier,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        Format::Text | Format::Github | Format::Html | Format::Markdown => {
            let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in rules {
                writeln!(
                    out,
                    "{:w$}  {:8}  {}",
                    r.id,
                    r.severity.as_str(),
                    r.description
                )?;
            }
        }
    }
    out.flush()
}
