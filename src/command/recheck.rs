//! `recheck`: closes the loop after revoking and purging. The repository is swept again and
//! each token of the earlier report is told as still in history (with the refs and paths
//! that hold it now) or purged; with `--verify` the Applivery API is asked whether it is
//! still live or revoked. Full tokens come from the new sweep while they are in history,
//! else from the pack's `replace-text.txt` (`--tokens`).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use serde_json::json;

use super::output::{tell, EXIT_CLEAN, EXIT_FINDINGS};
use super::project::archive_settings;
use super::remediate::{detector, load_report, tokens};
use crate::cli::RecheckArgs;
use crate::finding::{sha256_hex, Finding, Verification, VerifyStatus};
use crate::provenance::{Origin, Provenance};
use crate::report::{escape_control, Exposure};

/// The most of a `--tokens` file read.
const MAX_TOKENS_FILE: u64 = 16 << 20;

/// What the re-check found about one token.
struct Outcome {
    shown: String,
    sha256: String,
    rule: String,
    /// Still in history: where.
    present: Option<(Exposure, Vec<String>)>,
    verification: Option<Verification>,
}

pub fn run(a: &RecheckArgs) -> Result<u8> {
    let before = load_report(&a.report)?;
    let toks = tokens(&before);
    let det = detector(&a.rules, &a.repo)?;
    let opts = crate::source::git::GitOptions {
        repo: a.repo.clone(),
        include_unreachable: a.include_unreachable,
        since: None,
        range: None,
        max_file_size: None,
        archives: archive_settings(&a.archives, &[])?,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        progress: false,
        push: None,
        object_dirs: Vec::new(),
    };
    let now = crate::source::git::scan(&det, &opts)?;
    // A sweep that could not read everything cannot say a token is gone.
    tell(&now, a.quiet);
    if !now.errors.is_empty() {
        bail!(
            "{} input(s) of {} could not be read: cannot tell whether the tokens are purged",
            now.errors.len(),
            a.repo.display()
        );
    }
    let mut full: HashMap<String, String> = HashMap::new();
    let mut paths: HashMap<&str, Vec<String>> = HashMap::new();
    for f in &now.findings {
        full.insert(f.secret_sha256.clone(), f.secret.clone());
        let p = paths.entry(f.secret_sha256.as_str()).or_default();
        if !p.contains(&f.path) {
            p.push(f.path.clone());
        }
    }
    let exposure: HashMap<&str, &Exposure> = now
        .summary
        .git
        .iter()
        .flat_map(|g| &g.secrets)
        .filter_map(|s| s.exposure.as_ref().map(|e| (s.secret_sha256.as_str(), e)))
        .collect();
    if let Some(file) = &a.tokens {
        for t in read_tokens(file)? {
            full.entry(sha256_hex(t.as_bytes())).or_insert(t);
        }
    }

    let mut outcomes: Vec<Outcome> = toks
        .iter()
        .map(|t| Outcome {
            shown: t.shown.clone(),
            sha256: t.sha256.clone(),
            rule: t.rules.iter().next().cloned().unwrap_or_default(),
            present: paths.get(t.sha256.as_str()).map(|p| {
                (
                    exposure
                        .get(t.sha256.as_str())
                        .map(|e| (*e).clone())
                        .unwrap_or_default(),
                    p.clone(),
                )
            }),
            verification: None,
        })
        .collect();

    if a.verify.verify {
        let mut checks: Vec<Finding> = Vec::new();
        let mut which: Vec<usize> = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            if let Some(secret) = full.get(&o.sha256) {
                checks.push(Finding::new(
                    &o.rule,
                    Provenance::new(Origin::VerifyInput),
                    1,
                    1,
                    1,
                    1,
                    secret.clone(),
                    String::new(),
                ));
                which.push(i);
            }
        }
        crate::command::verify::findings(&mut checks, det.rules(), &a.verify, a.quiet)?;
        for (f, i) in checks.into_iter().zip(which) {
            outcomes[i].verification = f.verification.map(|v| *v);
        }
    }

    let present = outcomes.iter().filter(|o| o.present.is_some()).count();
    let not_revoked = outcomes
        .iter()
        .filter(|o| {
            o.verification
                .as_ref()
                .is_none_or(|v| v.status != VerifyStatus::Revoked)
        })
        .count();
    let mut out = std::io::stdout().lock();
    let written = if a.format == "json" {
        write_json(&mut out, &outcomes, a.verify.verify)
    } else {
        write_text(&mut out, &outcomes, a.verify.verify, &a.repo)
    };
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(anyhow!("cannot write to standard output: {e}")),
        Ok(()) => {}
    }
    if outcomes.is_empty() {
        return Ok(EXIT_CLEAN);
    }
    let failing = present > 0 || (a.verify.verify && not_revoked > 0);
    Ok(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}

/// Full tokens from a file: a pack's `replace-text.txt` (`TOKEN==>replacement`, an optional
/// `literal:` prefix) or one token per line. Lines that are not a token of the report are
/// simply never matched (their SHA-256 is nobody's).
fn read_tokens(path: &Path) -> Result<Vec<String>> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow!("--tokens {shown}: {}", crate::report::io_reason(&e)))?;
    if !meta.is_file() || meta.len() > MAX_TOKENS_FILE {
        bail!(
            "--tokens {shown}: not a file of at most {} MiB",
            MAX_TOKENS_FILE >> 20
        );
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("--tokens {shown}: {}", crate::report::io_reason(&e)))?;
    Ok(text
        .lines()
        .map(|l| {
            let l = l.strip_prefix("literal:").unwrap_or(l);
            l.split_once("==>").map_or(l, |(t, _)| t).trim().to_string()
        })
        .filter(|t| !t.is_empty())
        .collect())
}

fn status(o: &Outcome, verify: bool) -> String {
    match (&o.verification, verify) {
        (Some(v), _) => v.status.as_str().to_string(),
        (None, true) => "not checked: purged, and no --tokens file holds it".into(),
        (None, false) => "not checked (--verify)".into(),
    }
}

fn write_text(
    out: &mut dyn std::io::Write,
    outcomes: &[Outcome],
    verify: bool,
    repo: &Path,
) -> std::io::Result<()> {
    let present = outcomes.iter().filter(|o| o.present.is_some()).count();
    writeln!(
        out,
        "{} token(s) of the report: {} still in the history of {}, {} purged",
        outcomes.len(),
        present,
        escape_control(&repo.display().to_string()),
        outcomes.len() - present
    )?;
    for o in outcomes {
        let history = match &o.present {
            None => "purged from history".to_string(),
            Some((e, paths)) => {
                let refs: Vec<String> = e
                    .refs
                    .iter()
                    .map(|r| format!("{}{}", r.name, if r.at_tip { " (at tip)" } else { "" }))
                    .collect();
                format!(
                    "STILL IN HISTORY: refs {}; paths {}",
                    if refs.is_empty() {
                        "none (unreachable objects)".to_string()
                    } else {
                        refs.join(", ")
                    },
                    paths.join(", ")
                )
            }
        };
        writeln!(
            out,
            "  {} ({}): {}; {}",
            escape_control(&o.shown),
            escape_control(&o.rule),
            escape_control(&history),
            status(o, verify)
        )?;
    }
    Ok(())
}

fn write_json(
    out: &mut dyn std::io::Write,
    outcomes: &[Outcome],
    verify: bool,
) -> std::io::Result<()> {
    let list: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            let mut v = json!({
                "secret": o.shown,
                "secret_sha256": o.sha256,
                "rule": o.rule,
                "history": if o.present.is_some() { "present" } else { "purged" },
                "status": status(o, verify),
            });
            if let Some((e, paths)) = &o.present {
                v["exposure"] = crate::report::json::exposure_value(e);
                v["paths"] = json!(paths);
            }
            if let Some(ver) = &o.verification {
                v["verification"] = crate::report::json::verification_value(ver);
            }
            v
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &json!({ "tokens": list }))?;
    writeln!(out)
}
