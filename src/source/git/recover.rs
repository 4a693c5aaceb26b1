//! Full secrets back from the repository, for a report that holds them redacted: each
//! finding names the commit and path (or message, tag, blob) it was seen in, so the blob is
//! read there again and scanned, and the hit whose SHA-256 is the finding's is the secret.
//! A report never needs `--show-secrets` for `remediate` or `recheck --verify`.
//!
//! What the targeted read misses (a secret found only by the cross-file pass, a path
//! rewritten since) is looked for by a full sweep, only if anything is missing.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use git2::{ObjectType, Oid, Repository};

use crate::detect::Detector;
use crate::finding::{sha256_hex, Finding};
use crate::haystack::{scan_slice, Hit, Scanned};
use crate::provenance::Origin;

/// The secrets of `findings` found in the repository at `repo`, by SHA-256. Secrets the
/// findings already hold in full (a report written with `--show-secrets`) are taken as is.
/// Those not found are absent from the map: the caller decides what that means.
pub fn recover(
    det: &Detector,
    archives: &crate::extract::Settings,
    repo: &Path,
    findings: &[Finding],
) -> Result<HashMap<String, String>> {
    let mut out: HashMap<String, String> = HashMap::new();
    for f in findings {
        if sha256_hex(f.secret.as_bytes()) == f.secret_sha256 {
            out.insert(f.secret_sha256.clone(), f.secret.clone());
        }
    }
    let wanted = |out: &HashMap<String, String>| -> Vec<&Finding> {
        findings
            .iter()
            .filter(|f| !out.contains_key(&f.secret_sha256))
            .collect()
    };
    if wanted(&out).is_empty() {
        return Ok(out);
    }
    let r = super::open(repo)?;
    for f in wanted(&out) {
        if out.contains_key(&f.secret_sha256) {
            continue;
        }
        for h in hits_at(det, archives, &r, f) {
            let sha = sha256_hex(h.secret.as_bytes());
            out.entry(sha).or_insert(h.secret);
        }
    }
    if wanted(&out).is_empty() {
        return Ok(out);
    }
    // Not where the report said: a full sweep, as `git` makes one.
    let opts = super::GitOptions {
        repo: repo.to_path_buf(),
        include_unreachable: true,
        since: None,
        range: None,
        max_file_size: None,
        archives: archives.clone(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        progress: false,
        push: None,
        object_dirs: Vec::new(),
    };
    let report = super::scan(det, &opts)?;
    for f in report.findings {
        out.entry(f.secret_sha256).or_insert(f.secret);
    }
    Ok(out)
}

/// The hits in what finding `f` names: its blob at its commit, its commit's message, its
/// tag's message, or a blob by id.
fn hits_at(
    det: &Detector,
    archives: &crate::extract::Settings,
    repo: &Repository,
    f: &Finding,
) -> Vec<Hit> {
    let commit = f
        .git
        .as_ref()
        .and_then(|g| Oid::from_str(&g.commit).ok())
        .and_then(|c| repo.find_commit(c).ok());
    let text = |data: &[u8]| match scan_slice(det, data, b"") {
        Scanned::Text { hits, .. } => hits,
        Scanned::Binary { .. } => Vec::new(),
    };
    let blob = |oid: Oid, path: &str| -> Vec<Hit> {
        match repo.find_blob(oid) {
            Ok(b) => crate::extract::scan(det, archives, path.as_bytes(), b.content()).hits,
            Err(_) => Vec::new(),
        }
    };
    match &f.provenance.origin {
        Origin::GitBlob(path) => {
            let Some(c) = commit else {
                return Vec::new();
            };
            let entry = c.tree().ok().and_then(|t| t.get_path(Path::new(path)).ok());
            match entry {
                Some(e) if e.kind() == Some(ObjectType::Blob) => blob(e.id(), path),
                _ => Vec::new(),
            }
        }
        Origin::GitObject(id) => Oid::from_str(id).map_or_else(|_| Vec::new(), |o| blob(o, "")),
        Origin::CommitMessage => commit.map_or_else(Vec::new, |c| text(c.message_bytes())),
        Origin::TagMessage(name) => repo
            .find_reference(&format!("refs/tags/{name}"))
            .ok()
            .and_then(|r| r.peel(ObjectType::Tag).ok())
            .and_then(|o| o.into_tag().ok())
            .map_or_else(Vec::new, |t| text(t.message_bytes().unwrap_or_default())),
        Origin::File(path) => match std::fs::read(repo.workdir().unwrap_or(repo.path()).join(path))
        {
            Ok(data) => crate::extract::scan(det, archives, path.as_bytes(), &data).hits,
            Err(_) => Vec::new(),
        },
        _ => Vec::new(),
    }
}
