//! What a scan takes from the command line and the project at its root: the config, the
//! ignore file and the baseline (read once, before scanning), the active rules, and the
//! plain settings the stages below take (archive limits, threads).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use super::output::say;
use crate::cli::{ArchiveArgs, RuleArgs, ScanArgs};
use crate::config::{at_root, Config, CONFIG_FILE};
use crate::report::Report;
use crate::rules::Rule;
use crate::source::git::pinned::Pinned;
use crate::suppress;

/// What a scan takes from the project at its root: the config, the ignore file and the
/// baseline. All are read once, before scanning, so a typo in any of them fails in a second
/// rather than after an hour-long history sweep, and suppression uses exactly the config
/// detection used.
pub struct Project {
    pub config: Config,
    ignore: Vec<suppress::Entry>,
    baseline: Vec<suppress::Entry>,
    /// In a review (a range, the staged changes): which of these files it changes.
    review: Option<Review>,
}

/// A review whose own scanner files were read from its base.
struct Review {
    base: String,
    reviewed: String,
    changed: Vec<String>,
    /// A range fails on such a change; a staged scan only tells (CI's range scan fails it).
    fails: bool,
}

/// Where one of the scanner's files comes from in a review.
enum Found {
    /// Tracked at the base or in the review: the base's version (None: not at the base).
    Base(Option<Vec<u8>>),
    /// In neither (untracked, or outside the repository): the file on disk, which the
    /// reviewed commits did not write.
    Disk,
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
            review: None,
        })
    }

    /// The project of a review (`git --range`/`--since`, `staged`): the config, ignore file,
    /// baseline and the config's rule files come from the review's base whenever the
    /// repository tracks them, so the commits under review cannot switch their own gate off;
    /// a file they change is remembered and reported by [`Project::tell_changes`]. A file
    /// outside the repository (`--config /ci/leaks.toml`) or untracked is read from disk.
    pub fn load_pinned(scan: &ScanArgs, pin: &Pinned, fails: bool) -> Result<Project> {
        let root = pin.root();
        let mut changed = Vec::new();
        let mut find = |rel: &str| -> Result<Found> {
            let (tracked, differs) = pin.state(rel)?;
            if !tracked {
                return Ok(Found::Disk);
            }
            if differs {
                changed.push(rel.to_string());
            }
            Ok(Found::Base(pin.base_blob(rel)?))
        };
        let text = |bytes: Vec<u8>, rel: &str| {
            String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{rel} at {}: not UTF-8 text", pin.base_name))
        };
        let args = &scan.rules;
        let mut config = if args.no_config {
            Config::default()
        } else {
            let (path, rel, explicit) = match &args.config {
                Some(p) => (p.clone(), pin.relative(p), true),
                None => (
                    at_root(root, CONFIG_FILE),
                    Some(CONFIG_FILE.to_string()),
                    false,
                ),
            };
            let found = match &rel {
                Some(r) => find(r)?,
                None => Found::Disk,
            };
            match found {
                Found::Base(Some(b)) => {
                    let t = text(b, rel.as_deref().unwrap_or_default())?;
                    Config::parse(&t, &path)
                        .with_context(|| format!("the config as {} holds it", pin.base_name))?
                }
                Found::Base(None) if explicit => bail!(
                    "--config {}: not in {} (the commits under review add it); a review takes \
                     its config from its base: pin one from outside the repository",
                    path.display(),
                    pin.base_name
                ),
                Found::Base(None) => Config::default(),
                Found::Disk => Config::discover(args.config.as_deref(), false, root)?,
            }
        };
        let rule_files: Vec<PathBuf> = config.rules.iter().map(|(f, _)| f.clone()).collect();
        for f in rule_files {
            if let Some(rel) = pin.relative(&f) {
                if let Found::Base(Some(b)) = find(&rel)? {
                    let t = text(b, &rel)?;
                    config.pinned_rules.insert(f, t);
                }
            }
        }
        let ignore_path = at_root(root, suppress::IGNORE_FILE);
        let ignore = match find(suppress::IGNORE_FILE)? {
            Found::Base(Some(b)) => suppress::parse_ignore(
                &text(b, suppress::IGNORE_FILE)?,
                &ignore_path.display().to_string(),
            )?,
            Found::Base(None) => Vec::new(),
            Found::Disk => suppress::load_ignore(root)?,
        };
        let baseline = match &scan.baseline {
            None => Vec::new(),
            Some(b) => match pin.relative(b) {
                None => suppress::load_baseline(b)?,
                Some(rel) => match find(&rel)? {
                    Found::Base(Some(bytes)) => {
                        suppress::parse_baseline(&text(bytes, &rel)?, &b.display().to_string())?
                    }
                    Found::Base(None) => Vec::new(),
                    Found::Disk => suppress::load_baseline(b)?,
                },
            },
        };
        Ok(Project {
            config,
            ignore,
            baseline,
            review: Some(Review {
                base: pin.base_name.clone(),
                reviewed: pin.reviewed.clone(),
                changed,
                fails,
            }),
        })
    }

    /// A review that changes the scanner's own files: a warning in the report (every
    /// format shows it) and, in a range, on stderr as an error — the exit code is then at
    /// least 2, so the gate fails until someone reviews the change (docs/ci.md).
    pub fn tell_changes(&self, report: &mut Report, quiet: bool) -> bool {
        let Some(r) = &self.review else {
            return false;
        };
        if r.changed.is_empty() {
            return false;
        }
        let files = r.changed.join(", ");
        let (is, its) = if r.changed.len() == 1 {
            ("is", "its")
        } else {
            ("are", "their")
        };
        let line = if r.fails {
            format!(
                "{files} {is} changed by {}: this scan used {its} version at {}; a change to \
                 the scanner's config, ignore file, baseline or rule files needs a review of \
                 its own (docs/ci.md)",
                r.reviewed, r.base
            )
        } else {
            format!(
                "{files} {is} changed by {}: this scan used {its} version at {}; the change \
                 applies once committed",
                r.reviewed, r.base
            )
        };
        let shown = crate::report::escape_control(&line);
        if r.fails {
            say(format_args!("applivery-leaks: error: {shown}"));
        } else if !quiet {
            say(format_args!("applivery-leaks: warning: {shown}"));
        }
        report.warnings.push(line);
        r.fails
    }

    /// A project made of parts read elsewhere (a push: the server's pinned config, the
    /// ignore file of the pushed commit).
    pub fn from_parts(
        config: Config,
        ignore: Vec<suppress::Entry>,
        baseline: Vec<suppress::Entry>,
    ) -> Project {
        Project {
            config,
            ignore,
            baseline,
            review: None,
        }
    }

    /// Applies the config's exclusions, inline markers, the ignore file and the baseline to
    /// `report`, and drops from the history summary the secrets all of whose findings were
    /// suppressed: they are not news to anyone.
    pub fn suppress(&self, report: &mut Report, scan: &ScanArgs) {
        self.suppress_with(report, scan.no_suppress, scan.report_unused);
    }

    /// The suppression of [`Project::suppress`], one finding at a time (without the
    /// redaction of other findings' secrets, which the caller does).
    pub fn filter(&self, no_suppress: bool, report_unused: bool) -> suppress::Filter<'_> {
        suppress::Filter::new(
            &self.config,
            &self.ignore,
            &self.baseline,
            no_suppress,
            report_unused,
        )
    }

    /// [`Project::suppress`] with its two switches as values.
    pub fn suppress_with(&self, report: &mut Report, no_suppress: bool, report_unused: bool) {
        // Before suppression: a secret that is allowed in one place is still a secret where
        // it shows up in another finding's context.
        crate::redact::redact_known(&mut report.findings);
        suppress::filter(
            report,
            &self.config,
            &self.ignore,
            &self.baseline,
            no_suppress,
            report_unused,
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
pub(crate) fn threads(scan: &ScanArgs) -> usize {
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

/// The rules a scan runs with `config` and the command line's rule options: the active ones
/// first, then those the config disables, whose findings suppression counts and drops
/// (`--no-suppress` keeps them).
pub fn rules_of(config: &Config, args: &RuleArgs) -> Result<Vec<Rule>> {
    config.scan_rules(&args.rules, !args.no_default_rules)
}

/// The active rules (disabled ones left out), with the project config found in the current
/// directory: what `rules` lists and checks.
pub fn load_rules(args: &RuleArgs) -> Result<Vec<Rule>> {
    load_config(args, Path::new("."))?.load_rules(&args.rules, !args.no_default_rules)
}
