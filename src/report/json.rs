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
    serde_json::to_value(ProvenanceJson(p)).expect("a provenance serialises")
}

/// A finding's evidence: `[{kind, text, line}]`, `line` absent for evidence outside the text
/// (the file's path).
pub fn evidence_value(evidence: &[crate::finding::Reason]) -> Value {
    serde_json::to_value(EvidenceJson(evidence)).expect("evidence serialises")
}

/// [`provenance_value`], written straight to the serializer.
struct ProvenanceJson<'a>(&'a Provenance);

impl Serialize for ProvenanceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", p.kind())?;
        let outer = p.outer();
        m.serialize_entry(
            "chain",
            &std::iter::once(outer.as_str())
                .chain(p.members.iter().map(String::as_str))
                .collect::<Vec<_>>(),
        )?;
        match &p.origin {
            Origin::GitObject(id) => m.serialize_entry("blob", id)?,
            Origin::TagMessage(name) => m.serialize_entry("tag", name)?,
            Origin::Argument(n) => m.serialize_entry("argument", n)?,
            _ => {}
        }
        if let Some(r) = &p.repository {
            m.serialize_entry("repository", r)?;
        }
        m.end()
    }
}

/// [`evidence_value`], written straight to the serializer.
struct EvidenceJson<'a>(&'a [crate::finding::Reason]);

impl Serialize for EvidenceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&ReasonJson(r))?;
        }
        seq.end()
    }
}

struct ReasonJson<'a>(&'a crate::finding::Reason);

impl Serialize for ReasonJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", &r.kind)?;
        m.serialize_entry("text", &r.text)?;
        if let Some(l) = r.line {
            m.serialize_entry("line", &l)?;
        }
        m.end()
    }
}

/// One finding as the JSON and JSONL reports write it, serialised field by field as it is
/// written: no `serde_json::Value` tree (a map and a dozen strings copied per finding) is
/// built first. `schema_version` ends the object in JSONL, where each line stands alone.
struct FindingJson<'a> {
    f: &'a Finding,
    rules: &'a [Rule],
    show: bool,
    schema_version: bool,
}

impl Serialize for FindingJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.f;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("rule", &f.rule)?;
        if let Some(r) = self.rules.iter().find(|r| r.id == f.rule) {
            m.serialize_entry("description", &r.description)?;
            m.serialize_entry("severity", r.severity.as_str())?;
        }
        m.serialize_entry("path", &f.path)?;
        m.serialize_entry("provenance", &ProvenanceJson(&f.provenance))?;
        m.serialize_entry("line", &f.line)?;
        m.serialize_entry("column", &f.column)?;
        m.serialize_entry("end_line", &f.end_line)?;
        m.serialize_entry("end_column", &f.end_column)?;
        m.serialize_entry("secret", &f.shown_secret(self.show))?;
        m.serialize_entry("secret_sha256", &f.secret_sha256)?;
        m.serialize_entry("fingerprint", &f.fingerprint)?;
        m.serialize_entry("context", f.shown_context(self.show))?;
        if !f.decoded.is_empty() {
            m.serialize_entry("decoded", &f.decoded)?;
        }
        if !f.evidence.is_empty() {
            m.serialize_entry("evidence", &EvidenceJson(&f.evidence))?;
        }
        if let Some(g) = &f.git {
            m.serialize_entry("commit", &g.commit)?;
            m.serialize_entry("author", &g.author_name)?;
            m.serialize_entry("email", &g.author_email)?;
            m.serialize_entry("date", &g.date)?;
            m.serialize_entry("commit_summary", &g.summary)?;
            m.serialize_entry("commits", &g.commits)?;
            m.serialize_entry("commit_count", &g.commit_count)?;
            m.serialize_entry("in_head", &g.in_head)?;
            if let Some(l) = &g.last {
                m.serialize_entry(
                    "last_commit",
                    &json!({"commit": l.commit, "author": l.author_name, "email": l.author_email, "date": l.date}),
                )?;
            }
        }
        if let Some(v) = &f.verification {
            m.serialize_entry("verification", &verification_value(v))?;
        }
        if self.schema_version {
            m.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        }
        m.end()
    }
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
            seq.serialize_element(&FindingJson {
                f,
                rules: d.rules,
                show: d.show,
                schema_version: false,
            })?;
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
    let mut line = Vec::new();
    for f in &report.findings {
        write_line(f, rules, style.show_secrets, &mut line, out)?;
    }
    Ok(())
}

/// One finding as a line of the JSONL report: serialised into `line` (a buffer the caller
/// reuses), then written at once rather than token by token.
pub fn write_line(
    f: &Finding,
    rules: &[Rule],
    show: bool,
    line: &mut Vec<u8>,
    out: &mut dyn Write,
) -> io::Result<()> {
    line.clear();
    serde_json::to_writer(
        &mut *line,
        &FindingJson {
            f,
            rules,
            show,
            schema_version: true,
        },
    )?;
    line.push(b'\n');
    out.write_all(line)
}
