//! Reads a JSON report back (what `--format json` wrote, any version of schema 1): `merge`
//! combines shards and per-repository reports this way, and a resumed sweep takes a
//! repository's earlier report instead of sweeping it again. The secret is what the file
//! holds — redacted unless it was written with `--show-secrets` — and the hash and
//! fingerprint are taken as written, so findings keep their identity across files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{
    Exposure, GitSummary, Problem, RefExposure, RepoOutcome, Report, Repositories, ScanKind,
    SecretSummary,
};
use crate::finding::{
    redact, ApiError, BlastRadius, CommitRef, Evidence, Finding, GitInfo, Verification,
    VerifyStatus, Workspace,
};
use crate::provenance::{Origin, Provenance};

/// The most of a report read (a sweep of thousands of repositories stays far below).
const MAX_REPORT: u64 = 1 << 30;

/// Reads the JSON report at `path` (`-`: standard input). The error is one line naming the
/// file.
pub fn load(path: &Path) -> Result<Report, String> {
    if path.as_os_str() == "-" {
        use std::io::Read as _;
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_REPORT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("standard input: {}", super::io_reason(&e)))?;
        if bytes.len() as u64 > MAX_REPORT {
            return Err(format!(
                "standard input: larger than {} MiB",
                MAX_REPORT >> 20
            ));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("standard input: not a JSON report ({e})"))?;
        return from_value(&v).map_err(|e| format!("standard input: {e}"));
    }
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {}", super::io_reason(&e)))?;
    if !meta.is_file() {
        return Err(format!("{shown}: not a file"));
    }
    if meta.len() > MAX_REPORT {
        return Err(format!("{shown}: larger than {} MiB", MAX_REPORT >> 20));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {}", super::io_reason(&e)))?;
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{shown}: not a JSON report ({e})"))?;
    from_value(&v).map_err(|e| format!("{shown}: {e}"))
}

/// A report from its JSON value.
pub fn from_value(v: &Value) -> Result<Report, String> {
    match v.get("schema_version").and_then(Value::as_u64) {
        Some(1) => {}
        Some(n) => return Err(format!("schema_version {n} is not supported (1 is)")),
        None => {
            return Err(
                "not an applivery-leaks JSON report (no schema_version; SARIF and JSONL \
                 reports cannot be merged, write them with --format json)"
                    .into(),
            )
        }
    }
    let kind = match str_of(v, "scan") {
        "dir" => ScanKind::Dir,
        "git" => ScanKind::Git,
        "staged" => ScanKind::Staged,
        "stdin" => ScanKind::Stdin,
        "verify" => ScanKind::Verify,
        other => return Err(format!("unknown scan kind '{other}'")),
    };
    let mut report = Report::new(kind, PathBuf::from("."));
    let findings = v
        .get("findings")
        .and_then(Value::as_array)
        .ok_or("no findings list")?;
    for (i, f) in findings.iter().enumerate() {
        report
            .findings
            .push(finding(f).map_err(|e| format!("finding {}: {e}", i + 1))?);
    }
    report.errors = problems(v.get("errors"));
    report.warnings = v
        .get("warnings")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let s = v.get("summary").cloned().unwrap_or(Value::Null);
    let sum = &mut report.summary;
    sum.files = u64_of(&s, "files_scanned");
    sum.bytes = u64_of(&s, "bytes_scanned");
    sum.binary = u64_of(&s, "binary_skipped");
    sum.skipped = problems(s.get("skipped"));
    sum.duration = Duration::from_millis(u64_of(&s, "duration_ms"));
    if let Some(m) = s.get("suppressed").and_then(Value::as_object) {
        for (k, n) in m {
            sum.suppressed.insert(k.clone(), n.as_u64().unwrap_or(0));
        }
    }
    if let Some(g) = s.get("git").filter(|g| g.is_object()) {
        sum.git = Some(GitSummary {
            commits: u64_of(g, "commits_walked"),
            blobs: u64_of(g, "blobs_scanned"),
            shallow: bool_of(g, "shallow"),
            head: opt_str(g, "head"),
            secrets: g
                .get("secrets")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(secret).collect())
                .unwrap_or_default(),
        });
    }
    if let Some(r) = s.get("repositories").filter(|r| r.is_object()) {
        sum.repositories = Some(Repositories {
            shard: opt_str(r, "shard"),
            list: r
                .get("list")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|o| RepoOutcome {
                            repository: str_of(o, "repository").to_string(),
                            status: str_of(o, "status").to_string(),
                            findings: u64_of(o, "findings"),
                            commits: u64_of(o, "commits"),
                            refs: opt_str(o, "refs"),
                            head: opt_str(o, "head"),
                            reason: opt_str(o, "reason"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(report)
}

fn finding(f: &Value) -> Result<Finding, String> {
    let need = |k: &str| {
        f.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("no '{k}'"))
    };
    let rule = need("rule")?;
    let path = need("path")?;
    let secret = need("secret")?.to_string();
    let sha = need("secret_sha256")?.to_string();
    let provenance = match f.get("provenance") {
        Some(p) => provenance(p, path)?,
        None => Provenance::file(path),
    };
    let context = str_of(f, "context").to_string();
    let mut out = Finding::new(
        rule,
        provenance,
        u64_of(f, "line"),
        u64_of(f, "column"),
        u64_of(f, "end_line"),
        u64_of(f, "end_column"),
        secret.clone(),
        context,
    );
    // As written: the file may hold only the redacted secret, whose hash is not the secret's.
    out.path = path.to_string();
    out.secret_sha256 = sha;
    if let Some(fp) = f.get("fingerprint").and_then(Value::as_str) {
        out.fingerprint = fp.to_string();
    }
    out.decoded = strings(f, "decoded").unwrap_or_default();
    // A report written with --show-secrets holds the secret in its context line.
    let shown = redact(&secret);
    out.context_redacted = out.context.replace(&secret, &shown);
    if f.get("commit").is_some() {
        out.git = Some(Box::new(GitInfo {
            commit: str_of(f, "commit").to_string(),
            author_name: str_of(f, "author").to_string(),
            author_email: str_of(f, "email").to_string(),
            date: str_of(f, "date").to_string(),
            summary: str_of(f, "commit_summary").to_string(),
            commits: strings(f, "commits").unwrap_or_default(),
            commit_count: u64_of(f, "commit_count") as usize,
            in_head: bool_of(f, "in_head"),
            last: f
                .get("last_commit")
                .filter(|l| l.is_object())
                .map(|l| CommitRef {
                    commit: str_of(l, "commit").to_string(),
                    author_name: str_of(l, "author").to_string(),
                    author_email: str_of(l, "email").to_string(),
                    date: str_of(l, "date").to_string(),
                }),
        }));
    }
    if let Some(v) = f.get("verification").filter(|v| v.is_object()) {
        out.verification = Some(Box::new(verification(v)?));
    }
    out.decoded = strings(f, "decoded").unwrap_or_default();
    if let Some(ev) = f.get("evidence").and_then(Value::as_array) {
        out.evidence = ev
            .iter()
            .map(|r| crate::finding::Reason {
                kind: str_of(r, "kind").to_string(),
                text: str_of(r, "text").to_string(),
                line: r.get("line").and_then(Value::as_u64),
            })
            .collect();
    }
    Ok(out)
}

fn provenance(p: &Value, path: &str) -> Result<Provenance, String> {
    let chain = strings(p, "chain").unwrap_or_else(|| vec![path.to_string()]);
    let outer = chain.first().cloned().unwrap_or_default();
    let origin = match str_of(p, "kind") {
        "file" => Origin::File(outer),
        "stdin" => Origin::Stdin(outer),
        "git-blob" => Origin::GitBlob(outer),
        "git-object" => Origin::GitObject(str_of(p, "blob").to_string()),
        "commit-message" => Origin::CommitMessage,
        "tag-message" => Origin::TagMessage(str_of(p, "tag").to_string()),
        "argument" => Origin::Argument(u64_of(p, "argument") as usize),
        "verify-input" => Origin::VerifyInput,
        other => return Err(format!("unknown provenance kind '{other}'")),
    };
    Ok(Provenance {
        origin,
        members: chain.into_iter().skip(1).collect(),
        repository: opt_str(p, "repository"),
    })
}

fn verification(v: &Value) -> Result<Verification, String> {
    let status = match str_of(v, "status") {
        "live" => VerifyStatus::Live,
        "revoked" => VerifyStatus::Revoked,
        "unknown" => VerifyStatus::Unknown,
        other => return Err(format!("unknown verification status '{other}'")),
    };
    let evidence = v.get("endpoint").and_then(Value::as_str).map(|e| Evidence {
        endpoint: e.to_string(),
        http_status: v
            .get("http_status")
            .and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok()),
        api_error: v
            .get("api_error")
            .filter(|a| a.is_object())
            .map(|a| ApiError {
                code: a.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: str_of(a, "message").to_string(),
            }),
    });
    let blast_radius =
        v.get("blast_radius")
            .filter(|b| b.is_object())
            .map(|b| match str_of(b, "kind") {
                "workspaces" => BlastRadius::Workspaces {
                    workspaces: b
                        .get("workspaces")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .map(|w| Workspace {
                                    id: str_of(w, "id").to_string(),
                                    name: str_of(w, "name").to_string(),
                                    slug: str_of(w, "slug").to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    total: u64_of(b, "total"),
                },
                _ => BlastRadius::App {
                    application_id: opt_str(b, "application_id"),
                    application_name: opt_str(b, "application_name"),
                    builds: u64_of(b, "builds"),
                },
            });
    Ok(Verification {
        status,
        reason: str_of(v, "reason").to_string(),
        checked_at: str_of(v, "checked_at").to_string(),
        evidence,
        blast_radius,
    })
}

fn secret(x: &Value) -> SecretSummary {
    SecretSummary {
        rule: str_of(x, "rule").to_string(),
        secret: str_of(x, "secret").to_string(),
        secret_sha256: str_of(x, "secret_sha256").to_string(),
        first_commit: str_of(x, "first_commit").to_string(),
        first_path: str_of(x, "first_path").to_string(),
        first_date: str_of(x, "first_date").to_string(),
        author: str_of(x, "author").to_string(),
        in_head: bool_of(x, "in_head"),
        commit_count: u64_of(x, "commit_count") as usize,
        repositories: strings(x, "repositories").unwrap_or_default(),
        exposure: x.get("exposure").filter(|e| e.is_object()).map(exposure),
    }
}

fn exposure(e: &Value) -> Exposure {
    Exposure {
        refs: e
            .get("refs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|r| RefExposure {
                        repository: opt_str(r, "repository"),
                        name: str_of(r, "ref").to_string(),
                        commit: str_of(r, "commit").to_string(),
                        at_tip: bool_of(r, "at_tip"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        introduced: strings(e, "introduced").unwrap_or_default(),
        last_commit: opt_str(e, "last_commit"),
        paths: strings(e, "paths").unwrap_or_default(),
    }
}

fn problems(v: Option<&Value>) -> Vec<Problem> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|p| Problem {
                    repository: opt_str(p, "repository"),
                    path: str_of(p, "path").to_string(),
                    reason: str_of(p, "reason").to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn opt_str(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// The strings of array `k` (other items skipped); None when `k` is not an array.
fn strings(v: &Value, k: &str) -> Option<Vec<String>> {
    v.get(k).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect()
    })
}

fn u64_of(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn bool_of(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}
