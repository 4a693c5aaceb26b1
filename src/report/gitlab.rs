//! GitLab's secret-detection report (security report schema 15.x), the file a job names under
//! `artifacts: reports: secret_detection:` so findings reach the merge request widget, the
//! pipeline's security tab and the vulnerability report.
//!
//! What GitLab needs, and why each piece is here:
//! - `scan` names the analyzer and scanner, the time span as `YYYY-MM-DDTHH:MM:SS` (UTC, no
//!   zone: the schema's pattern), and `status`: `failure` when an input could not be read, so
//!   a partial scan is never presented as a complete one; unread inputs and warnings become
//!   `scan.messages`.
//! - every vulnerability has an `id` (UUID-shaped, derived from the fingerprint, commit and
//!   position, so the same scan gives the same ids), the rule as its primary identifier (also
//!   listed in `scan.primary_identifiers`, which lets GitLab resolve alerts whose rule stopped
//!   firing), a severity, and a location with the file, lines and the commit. The schema
//!   requires a commit: history findings name the commit that introduced the secret; for a
//!   working tree it is `CI_COMMIT_SHA` (the pipeline's checkout), else `0000000`.
//! - `raw_source_code_extract` is the secret as every report shows it: redacted unless
//!   `--show-secrets`.

use std::io::{self, Write};
use std::time::SystemTime;

use serde_json::{json, Value};

use super::{short, Report, Style};
use crate::finding::{sha256_hex, Finding};
use crate::rules::{Rule, Severity};

/// The schema version the report declares; `tests/data/` holds that schema.
pub const SCHEMA_VERSION: &str = "15.2.4";
/// The commit of findings that belong to no commit and no pipeline.
pub const NO_COMMIT: &str = "0000000";
const IDENTIFIER_TYPE: &str = "applivery_leaks_rule_id";

pub fn write(report: &Report, rules: &[Rule], style: Style, out: &mut dyn Write) -> io::Result<()> {
    let pipeline_commit = std::env::var("CI_COMMIT_SHA")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let v = build(
        report,
        rules,
        style.show_secrets,
        SystemTime::now(),
        pipeline_commit.as_deref(),
    );
    serde_json::to_writer_pretty(&mut *out, &v)?;
    writeln!(out)
}

/// The report of a scan that ended at `end`; `pipeline_commit` is the commit of findings
/// without history provenance.
pub fn build(
    report: &Report,
    rules: &[Rule],
    show: bool,
    end: SystemTime,
    pipeline_commit: Option<&str>,
) -> Value {
    let start = end.checked_sub(report.summary.duration).unwrap_or(end);
    let tool = json!({
        "id": "applivery-leaks",
        "name": "applivery-leaks",
        "version": env!("CARGO_PKG_VERSION"),
        "url": super::sarif::INFORMATION_URI,
        "vendor": { "name": "applivery-leaks" },
    });
    let mut messages: Vec<Value> = Vec::new();
    for e in &report.errors {
        let value = format!("cannot read {}: {}", e.path, e.reason);
        messages.push(json!({ "level": "warn", "value": value }));
    }
    for w in &report.warnings {
        messages.push(json!({ "level": "warn", "value": w }));
    }
    for s in &report.summary.skipped {
        let value = format!("not scanned: {}: {}", s.path, s.reason);
        messages.push(json!({ "level": "info", "value": value }));
    }
    let vulnerabilities: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            vulnerability(
                f,
                rules.iter().find(|r| r.id == f.rule),
                show,
                pipeline_commit,
            )
        })
        .collect();
    json!({
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": tool,
            "scanner": tool,
            "type": "secret_detection",
            "start_time": timestamp(start),
            "end_time": timestamp(end),
            "status": if report.errors.is_empty() { "success" } else { "failure" },
            "messages": messages,
            "primary_identifiers": rules.iter().map(|r| identifier(&r.id)).collect::<Vec<_>>(),
        },
        "vulnerabilities": vulnerabilities,
    })
}

fn vulnerability(f: &Finding, rule: Option<&Rule>, show: bool, pipeline: Option<&str>) -> Value {
    let name = rule.map_or("Applivery secret", |r| r.description.as_str());
    let severity = match rule.map_or(Severity::High, |r| r.severity) {
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    };
    let mut description = format!(
        "{} '{}' (sha256 {}…) in {}",
        name.trim_end_matches('.'),
        f.shown_secret(show),
        short(&f.secret_sha256),
        f.path
    );
    if f.line > 0 {
        description.push_str(&format!(" at line {}", f.line));
    }
    if let Some(r) = &f.provenance.repository {
        description.push_str(&format!(" of repository {r}"));
    }
    let commit = match &f.git {
        Some(g) => {
            description.push_str(&format!(", introduced in commit {}", short(&g.commit)));
            if g.in_head {
                description.push_str(", still present at HEAD");
            }
            json!({
                "sha": g.commit,
                "author": format!("{} <{}>", g.author_name, g.author_email),
                "date": g.date,
                "message": g.summary,
            })
        }
        None => json!({ "sha": pipeline.unwrap_or(NO_COMMIT) }),
    };
    if let Some(v) = &f.verification {
        description.push_str(&format!(
            "; verification: {} ({})",
            v.status.as_str(),
            v.reason
        ));
    }
    description.push_str(&format!(". Fingerprint {}.", f.fingerprint));

    let mut location = json!({ "file": f.path, "commit": commit });
    if f.line > 0 {
        location["start_line"] = json!(f.line);
        location["end_line"] = json!(f.end_line);
    }
    let mut v = json!({
        "id": vulnerability_id(f),
        "name": name,
        "description": description,
        "severity": severity,
        "identifiers": [identifier(&f.rule)],
        "location": location,
        "raw_source_code_extract": f.shown_secret(show),
    });
    if let Some(r) = rule {
        let help = r.help.trim();
        if !help.is_empty() {
            // The schema caps `solution` at 7000 characters.
            v["solution"] = json!(help.chars().take(7000).collect::<String>());
        }
        if r.help_uri.starts_with("https://") || r.help_uri.starts_with("http://") {
            v["links"] = json!([{ "url": r.help_uri }]);
        }
    }
    v
}

fn identifier(rule: &str) -> Value {
    json!({
        "type": IDENTIFIER_TYPE,
        "name": format!("applivery-leaks rule {rule}"),
        "value": rule,
    })
}

/// A stable UUID-shaped id: one secret at one place in one commit.
fn vulnerability_id(f: &Finding) -> String {
    let commit = f.git.as_ref().map_or("", |g| g.commit.as_str());
    let key = format!("{}\0{commit}\0{}\0{}", f.fingerprint, f.line, f.column);
    let h = sha256_hex(key.as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC, the only shape the schema accepts.
fn timestamp(t: SystemTime) -> String {
    crate::time::rfc3339(t).trim_end_matches('Z').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_have_the_schema_shape() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(timestamp(t), "2026-11-18T11:06:40");
    }

    #[test]
    fn ids_are_uuid_shaped_stable_and_distinct_per_position() {
        let a = Finding::new("r", ".env", 2, 5, 2, 29, "fake".into(), String::new());
        let mut b = a.clone();
        b.line = 3;
        let id = vulnerability_id(&a);
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(id, vulnerability_id(&a.clone()));
        assert_ne!(id, vulnerability_id(&b));
    }
}
