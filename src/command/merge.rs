//! `merge`: JSON reports in (shards of a sweep, per-repository reports from `--output-dir`,
//! plain `git` or `dir` reports), one report out in any format — the incident's HTML page,
//! its Markdown summary, one SARIF or JSON file. A token found by several inputs is one
//! secret with several places; a repository two inputs both cover is counted once.

use anyhow::{anyhow, Result};

use crate::cli::MergeArgs;
use crate::command::output::{emit, exit_code, tell};
use crate::report::{escape_control, load, merge};

pub fn run(a: &MergeArgs) -> Result<u8> {
    if a.reports.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        anyhow::bail!("merge: standard input (-) can be given once");
    }
    let mut parts = Vec::with_capacity(a.reports.len());
    for path in &a.reports {
        parts.push(load::load(path).map_err(|e| anyhow!("{}", escape_control(&e)))?);
    }
    let kind = parts
        .first()
        .map_or(crate::report::ScanKind::Git, |p| p.kind);
    let root = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let mut report = merge::combine(kind, root, parts);
    report.sarif_category = a.sarif_category.clone();
    if !a.show_secrets {
        // Reports written with --show-secrets hold full tokens, in names too.
        report.redact_names();
    }
    tell(&report, a.quiet);
    let rules = crate::rules::default_rules();
    emit(&report, &rules, a.format, a.show_secrets, a.output.as_ref())?;
    Ok(exit_code(&report, a.fail_on))
}
