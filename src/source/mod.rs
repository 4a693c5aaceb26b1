//! Sources enumerate inputs and feed them to the detector: a directory tree, standard input,
//! a repository's history, the changes staged for a commit. Each produces a `Report` with
//! findings, unreadable inputs and counts; suppression, verification and output come after.

pub mod dir;
pub mod git;
pub mod staged;
pub mod stdin;

use crate::detect::Detector;
use crate::finding::Finding;
use crate::haystack::Hit;
use crate::provenance::Provenance;

/// Turns a located hit into a finding seen at `provenance` (inside the archive members the
/// hit names).
pub fn finding(det: &Detector, provenance: Provenance, hit: Hit) -> Finding {
    let mut provenance = provenance;
    provenance.members.extend(hit.members.iter().cloned());
    let mut f = Finding::located(
        &det.rules()[hit.rule].id,
        provenance,
        [hit.line, hit.column, hit.end_line, hit.end_column],
        hit.secret,
        hit.context,
        hit.context_redacted,
    );
    f.inline_allowed = hit.inline_allowed;
    f.decoded = hit.decoded.iter().map(|d| d.to_string()).collect();
    f.tenant_hosts = hit.tenant_hosts;
    f.evidence = hit.evidence;
    f
}

/// Packs a located hit into `file` (the blob's pack): the finding [`finding`] would make,
/// made only when the report is written. With `own_hosts` the hit keeps its tenant hosts,
/// else it takes the blob's ([`crate::packed::PackedFile::set_hosts`]).
pub fn pack(file: &mut crate::packed::PackedFile, hit: &Hit, own_hosts: bool) {
    file.push(&crate::packed::Parts {
        rule: hit.rule,
        line: hit.line,
        column: hit.column,
        end_line: hit.end_line,
        end_column: hit.end_column,
        secret: &hit.secret,
        context: &hit.context,
        context_redacted: &hit.context_redacted,
        inline_allowed: hit.inline_allowed,
        decoded: &hit.decoded,
        members: &hit.members,
        evidence: &hit.evidence,
        hosts: own_hosts.then_some(hit.tenant_hosts.as_slice()),
    });
}

/// Turns a blob's hits into findings seen at `at`, in the hits' order. The hits are consumed
/// from the end in batches and their vector shrinks as they go, so a blob with a million
/// hits never holds a million hits and a million findings at once (a hit is 216 bytes
/// before its strings, which move into the finding).
pub fn findings(det: &Detector, at: &Provenance, mut hits: Vec<Hit>) -> Vec<Finding> {
    const BATCH: usize = 1 << 14;
    let mut out = Vec::with_capacity(hits.len());
    while !hits.is_empty() {
        let from = hits.len().saturating_sub(BATCH);
        for h in hits.drain(from..).rev() {
            out.push(finding(det, at.clone(), h));
        }
        hits.shrink_to_fit();
    }
    out.reverse();
    out
}

/// Adds to `findings` those of `more` not already in it (same place, rule and secret): the
/// second look of a cross-file pass (`Detector::with_project`) finds again what the first
/// one found.
pub fn add_new(findings: &mut Vec<Finding>, more: Vec<Finding>) {
    let key = |f: &Finding| {
        (
            f.path.clone(),
            f.line,
            f.column,
            f.rule.clone(),
            f.secret.clone(),
        )
    };
    let known: std::collections::HashSet<_> = findings.iter().map(key).collect();
    findings.extend(more.into_iter().filter(|f| !known.contains(&key(f))));
}

/// The path of a member (or, with no members, of the blob itself) inside `at`.
pub fn member_path(at: &Provenance, members: Vec<String>) -> String {
    let mut p = at.clone();
    p.members.extend(members);
    p.path()
}
