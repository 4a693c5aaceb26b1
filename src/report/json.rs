//! JSON and JSONL reports. The field names are a documented interface, versioned by
//! `schema_version` and described by `schema/report.schema.json`: add fields freely, never
//! rename or remove one without bumping the version.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Map, Value};

use super::{Exposure, Report, Style};
use crate::finding::{BlastRadius, Finding, Verification};
use crate::provenance::{Origin, Provenance};
use crate::rules::Rule;

pub const SCHEMA_VERSION: u32 = 1;

/// Where a finding was seen, as structure: `kind`, the `chain` of names from the outermost
/// thing to the innermost archive member, and what identifies a thing without a path.
pub fn provenance_value(p: &Provenance) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(p.kind()));
    m.insert("chain".into(), json!(p.chain()));
    match &p.origin {
        Origin::GitObject(id) => {
            m.insert("blob".into(), json!(id));
        }
        Origin::TagMessage(name) => {
            m.insert("tag".into(), json!(name));
        }
        Origin::Argument(n) => {
            m.insert("argument".into(), json!(n));
        }
        _ => {}
    }
    if let Some(r) = &p.repository {
        m.insert("repository".into(), json!(r));
    }
    Value::Object(m)
}

/// A finding's evidence: `[{kind, text, line}]`, `line` absent for evidence outside the text
/// (the file's path).
pub fn evidence_value(evidence: &[crate::finding::Reason]) -> Value {
    Value::Array(
        evidence
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("kind".into(), json!(r.kind));
                m.insert("text".into(), json!(r.text));
                if let Some(l) = r.line {
                    m.insert("line".into(), json!(l));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

pub fn finding_value(f: &Finding, rules: &[Rule], show: bool) -> Value {
    let mut m = Map::new();
    m.insert("rule".into(), json!(f.rule));
    if let Some(r) = rules.iter().find(|r| r.id == f.rule) {
        m.insert("description".into(), json!(r.description));
        m.insert("severity".into(), json!(r.severity.as_str()));
    }
    m.insert("path".into(), json!(f.path));
    m.insert("provenance".into(), provenance_value(&f.provenance));
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
    if !f.evidence.is_empty() {
        m.insert("evidence".into(), evidence_value(&f.evidence));
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
        if let Some(l) = &g.last {
            m.insert(
                "last_commit".into(),
                json!({"commit": l.commit, "author": l.author_name, "email": l.author_email, "date": l.date}),
            );
        }
    }
    if let Some(v) = &f.verification {
        m.insert("verification".into(), verification_value(v));
    }
    Value::Object(m)
}

/// A verification as JSON: the verdict, the evidence it rests on, and what a live secret
/// opens. Shared by the JSON and SARIF reports, so both say the same.
pub fn verification_value(v: &Verification) -> Value {
    let mut m = Map::new();
    m.insert("status".into(), json!(v.status.as_str()));
    m.insert("reason".into(), json!(v.reason));
    m.insert("checked_at".into(), json!(v.checked_at));
    if let Some(e) = &v.evidence {
        m.insert("endpoint".into(), json!(e.endpoint));
        m.insert("http_status".into(), json!(e.http_status));
        if let Some(a) = &e.api_error {
            m.insert(
                "api_error".into(),
                json!({"code": a.code, "message": a.message}),
            );
        }
    }
    if let Some(b) = &v.blast_radius {
        m.insert("blast_radius".into(), blast_radius_value(b));
    }
    Value::Object(m)
}

fn blast_radius_value(b: &BlastRadius) -> Value {
    match b {
        BlastRadius::App {
            application_id,
            application_name,
            builds,
        } => json!({
            "kind": "app",
            "application_id": application_id,
            "application_name": application_name,
            "builds": builds,
        }),
        BlastRadius::Workspaces { workspaces, total } => json!({
            "kind": "workspaces",
            "workspaces": workspaces
                .iter()
                .map(|w| json!({"id": w.id, "name": w.name, "slug": w.slug}))
                .collect::<Vec<_>>(),
            "total": total,
        }),
    }
}

/// Where a token is reachable: refs, tip flags, introducing and last commits, paths.
pub fn exposure_value(e: &Exposure) -> Value {
    json!({
        "refs": e.refs.iter().map(|r| {
            let mut v = json!({"ref": r.name, "commit": r.commit, "at_tip": r.at_tip});
            if r.forge_owned() {
                v["forge_owned"] = json!(true);
            }
            if let Some(repo) = &r.repository {
                v["repository"] = json!(repo);
            }
            v
        }).collect::<Vec<_>>(),
        "introduced": e.introduced,
        "last_commit": e.last_commit,
        "paths": e.paths,
    })
}

/// The verdict on each unique secret (by SHA-256): live if any finding's check said live,
/// unknown before revoked, as the incident view decides.
pub fn verdicts(report: &Report) -> HashMap<&str, &Verification> {
    let rank = |s: crate::finding::VerifyStatus| match s {
        crate::finding::VerifyStatus::Live => 0,
        crate::finding::VerifyStatus::Unknown => 1,
        crate::finding::VerifyStatus::Revoked => 2,
    };
    let mut out: HashMap<&str, &Verification> = HashMap::new();
    for f in &report.findings {
        if let Some(v) = &f.verification {
            let e = out.entry(f.secret_sha256.as_str()).or_insert(v);
            if rank(v.status) < rank(e.status) {
                *e = v;
            }
        }
    }
    out
}

/// The `summary` object of a report.
fn summary_value(report: &Report, show: bool) -> Value {
    let s = &report.summary;
    let mut summary = json!({
        "findings": report.findings.len(),
        "files_scanned": s.files,
        "bytes_scanned": s.bytes,
        "binary_skipped": s.binary,
        "skipped": s.skipped.iter().map(problem_value).collect::<Vec<_>>(),
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
        let verdicts = verdicts(report);
        summary["git"] = json!({
            "commits_walked": g.commits,
            "blobs_scanned": g.blobs,
            "shallow": g.shallow,
            "head": g.head,
            "secrets": g.secrets.iter().map(|x| {
                let mut v = json!({
                    "rule": x.rule,
                    "secret": if show { x.secret.clone() } else { crate::finding::redact(&x.secret) },
                    "secret_sha256": x.secret_sha256,
                    "first_commit": x.first_commit,
                    "first_path": x.first_path,
                    "first_date": x.first_date,
                    "author": x.author,
                    "in_head": x.in_head,
                    "commit_count": x.commit_count,
                });
                if !x.repositories.is_empty() {
                    v["repositories"] = json!(x.repositories);
                }
                if let Some(e) = &x.exposure {
                    v["exposure"] = exposure_value(e);
                }
                if let Some(ver) = verdicts.get(x.secret_sha256.as_str()) {
                    v["verification"] = verification_value(ver);
                }
                v
            }).collect::<Vec<_>>(),
        });
    }
    if let Some(r) = &s.repositories {
        summary["repositories"] = json!({
            "total": r.list.len(),
            "scanned": r.list.iter().filter(|o| o.status == "scanned").count(),
            "resumed": r.list.iter().filter(|o| o.status == "resumed").count(),
            "failed": r.list.iter().filter(|o| o.status == "failed").count(),
            "shard": r.shard,
            "list": r.list.iter().map(|o| {
                let mut v = json!({
                    "repository": o.repository,
                    "status": o.status,
                    "findings": o.findings,
                    "commits": o.commits,
                });
                for (k, x) in [("refs", &o.refs), ("head", &o.head), ("reason", &o.reason)] {
                    if let Some(x) = x {
                        v[k] = json!(x);
                    }
                }
                v
            }).collect::<Vec<_>>(),
        });
    }
    summary
}

/// The whole report, serialised as it is written: findings are turned into JSON one at a
/// time, so a report of a million findings needs memory for the findings, not for a JSON
/// tree of them (several times larger).
struct Document<'a> {
    report: &'a Report,
    rules: &'a [Rule],
    show: bool,
}

struct Findings<'a>(&'a Document<'a>);

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut seq = s.serialize_seq(Some(d.report.findings.len()))?;
        for f in &d.report.findings {
            seq.serialize_element(&finding_value(f, d.rules, d.show))?;
        }
        seq.end()
    }
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.report;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        m.serialize_entry(
            "tool",
            &json!({"name": "applivery-leaks", "version": env!("CARGO_PKG_VERSION")}),
        )?;
        m.serialize_entry("scan", r.kind.as_str())?;
        m.serialize_entry("findings", &Findings(self))?;
        let errors: Vec<Value> = r.errors.iter().map(problem_value).collect();
        m.serialize_entry("errors", &errors)?;
        m.serialize_entry("warnings", &r.warnings)?;
        m.serialize_entry("summary", &summary_value(r, self.show))?;
        m.end()
    }
}

/// An unread or skipped input: its path, the reason, and its repository in a sweep of many.
fn problem_value(p: &super::Problem) -> Value {
    let mut v = json!({"path": p.path, "reason": p.reason});
    if let Some(r) = &p.repository {
        v["repository"] = json!(r);
    }
    v
}

pub fn write(report: &Report, rules: &[Rule], style: Style, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        report,
        rules,
        show: style.show_secrets,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
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
