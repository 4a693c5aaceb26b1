//! JSON and JSONL reports. The field names are a documented interface, versioned by
//! `schema_version` and described by `schema/report.schema.json`: add fields freely, never
//! rename or remove one without bumping the version.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::{Report, Style};
use crate::finding::Finding;
use crate::rules::Rule;

pub const SCHEMA_VERSION: u32 = 1;

pub fn finding_value(f: &Finding, rules: &[Rule], show: bool) -> Value {
    let mut m = Map::new();
    m.insert("rule".into(), json!(f.rule));
    if let Some(r) = rules.iter().find(|r| r.id == f.rule) {
        m.insert("description".into(), json!(r.description));
        m.insert("severity".into(), json!(r.severity.as_str()));
    }
    m.insert("path".into(), json!(f.path));
    m.insert("line".into(), json!(f.line));
    m.insert("column".into(), json!(f.column));
    m.insert("end_line".into(), json!(f.end_line));
    m.insert("end_column".into(), json!(f.end_column));
    m.insert("secret".into(), json!(f.shown_secret(show)));
    m.insert("secret_sha256".into(), json!(f.secret_sha256));
    m.insert("fingerprint".into(), json!(f.fingerprint));
    m.insert("context".into(), json!(f.shown_context(show)));
    if !f.decoded.is_empty() {
        m.insert("decoded".into(), json!(f.decoded));
    }
    if let Some(g) = &f.git {
        m.insert("commit".into(), json!(g.commit));
        m.insert("author".into(), json!(g.author_name));
        m.insert("email".into(), json!(g.author_email));
        m.insert("date".into(), json!(g.date));
        m.insert("commit_summary".into(), json!(g.summary));
        m.insert("commits".into(), json!(g.commits));
        m.insert("commit_count".into(), json!(g.commit_count));
        m.insert("in_head".into(), json!(g.in_head));
    }
    if let Some(v) = &f.verification {
        m.insert(
            "verification".into(),
            json!({"status": v.status.as_str(), "reason": v.reason, "checked_at": v.checked_at}),
        );
    }
    Value::Object(m)
}

pub fn report_value(report: &Report, rules: &[Rule], show: bool) -> Value {
    let s = &report.summary;
    let mut summary = json!({
        "findings": report.findings.len(),
        "files_scanned": s.files,
        "bytes_scanned": s.bytes,
        "binary_skipped": s.binary,
        "skipped": s.skipped.iter().map(|p| json!({"path": p.path, "reason": p.reason})).collect::<Vec<_>>(),
        "duration_ms": s.duration.as_millis() as u64,
        "suppressed": s.suppressed,
    });
    if !s.unused.is_empty() {
        summary["unused_suppressions"] = s
            .unused
            .iter()
            .map(|u| json!({"mechanism": u.mechanism, "file": u.file, "line": u.line, "fingerprint": u.fingerprint}))
            .collect();
    }
    if let Some(v) = report.verification_counts() {
        summary["verification"] = json!(v);
    }
    if let Some(g) = &s.git {
        summary["git"] = json!({
            "commits_walked": g.commits,
            "blobs_scanned": g.blobs,
            "shallow": g.shallow,
            "head": g.head,
            "secrets": g.secrets.iter().map(|x| json!({
                "rule": x.rule,
                "secret": if show { x.secret.clone() } else { crate::finding::redact(&x.secret) },
                "secret_sha256": x.secret_sha256,
                "first_commit": x.first_commit,
                "first_path": x.first_path,
                "first_date": x.first_date,
                "author": x.author,
                "in_head": x.in_head,
                "commit_count": x.commit_count,
            })).collect::<Vec<_>>(),
        });
    }
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| finding_value(f, rules, show))
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "applivery-leaks", "version": env!("CARGO_PKG_VERSION")},
        "scan": report.kind.as_str(),
        "findings": findings,
        "errors": report.errors.iter().map(|p| json!({"path": p.path, "reason": p.reason})).collect::<Vec<_>>(),
        "warnings": report.warnings,
        "summary": summary,
    })
}

pub fn write(report: &Report, rules: &[Rule], style: Style, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &report_value(report, rules, style.show_secrets))?;
    writeln!(out)
}

/// One finding per line, for streaming into log pipelines.
pub fn write_lines(
    report: &Report,
    rules: &[Rule],
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    for f in &report.findings {
        let mut v = finding_value(f, rules, style.show_secrets);
        v["schema_version"] = json!(SCHEMA_VERSION);
        serde_json::to_writer(&mut *out, &v)?;
        writeln!(out)?;
    }
    Ok(())
}
