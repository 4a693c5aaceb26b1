//! What a scan takes from the command line and the project at its root: the config, the
//! ignore file and the baseline (read once, before scanning), the active rules, and the
//! plain settings the stages below take (archive limits, threads).

use std::path::Path;

use anyhow::Result;

use super::output::say;
use crate::cli::{ArchiveArgs, RuleArgs, ScanArgs};
use crate::config::Config;
use crate::report::Report;
use crate::rules::Rule;
use crate::suppress;

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
        }
    }

    /// Applies the config's exclusions, inline markers, the ignore file and the baseline to
    /// `report`, and drops from the history summary the secrets all of whose findings were
    /// suppressed: they are not news to anyone.
    pub fn suppress(&self, report: &mut Report, scan: &ScanArgs) {
        self.suppress_with(report, scan.no_suppress, scan.report_unused);
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

/// The active rules of `config` with the command line's rule options.
pub fn rules_of(config: &Config, args: &RuleArgs) -> Result<Vec<Rule>> {
    config.load_rules(&args.rules, !args.no_default_rules)
}

/// The active rules, with the project config found in the current directory.
pub fn load_rules(args: &RuleArgs) -> Result<Vec<Rule>> {
    rules_of(&load_config(args, Path::new("."))?, args)
}
