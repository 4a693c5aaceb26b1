//! Combines reports into one: the repositories of a sweep as each finishes, the shards of a
//! sweep spread over many processes, per-repository reports from `--output-dir`. One
//! function does all three, so N shards merged give exactly the report of one unsharded
//! run. A repository reported by two inputs is taken from the first; identical findings
//! are kept once; counts add up; the list of unique secrets is rebuilt across
//! repositories, so a token leaked in three repositories is one secret with three places.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use super::{GitSummary, Report, Repositories, ScanKind, SecretSummary};
use crate::time::parse_rfc3339;

/// One report from `parts`, in their order.
pub fn combine(kind: ScanKind, root: PathBuf, parts: Vec<Report>) -> Report {
    let mut out = Report::new(kind, root);
    let mut seen_repos: HashSet<String> = HashSet::new();
    // A finding is the same one if it sits at the same place in the same commit.
    type Key = (Option<String>, String, u64, u64, Option<String>);
    let mut seen_findings: HashSet<Key> = HashSet::new();
    let mut repos = Repositories::default();
    let mut shards: Vec<String> = Vec::new();
    let mut git: Option<GitSummary> = None;
    let mut heads: HashSet<Option<String>> = HashSet::new();
    let mut secrets: Vec<SecretSummary> = Vec::new();
    for part in parts {
        // The repositories this part brings that no earlier part did.
        let mut dropped: HashSet<String> = HashSet::new();
        if let Some(r) = &part.summary.repositories {
            if let Some(s) = &r.shard {
                if !shards.contains(s) {
                    shards.push(s.clone());
                }
            }
            for o in &r.list {
                if seen_repos.insert(o.repository.clone()) {
                    repos.list.push(o.clone());
                } else {
                    dropped.insert(o.repository.clone());
                }
            }
        }
        let keep = |r: &Option<String>| !r.as_ref().is_some_and(|r| dropped.contains(r));
        for f in part.findings {
            if !keep(&f.provenance.repository) {
                continue;
            }
            let key = (
                f.provenance.repository.clone(),
                f.fingerprint.clone(),
                f.line,
                f.column,
                f.git.as_ref().map(|g| g.commit.clone()),
            );
            if seen_findings.insert(key) {
                out.findings.push(f);
            }
        }
        for e in part.errors {
            if keep(&e.repository) && !out.errors.contains(&e) {
                out.errors.push(e);
            }
        }
        for w in part.warnings {
            if !out.warnings.contains(&w) {
                out.warnings.push(w);
            }
        }
        let s = part.summary;
        if !dropped.is_empty() && s.repositories.as_ref().is_some_and(|r| r.list.len() == 1) {
            // A per-repository report of a repository already in: nothing of it counts.
            continue;
        }
        out.summary.files += s.files;
        out.summary.bytes += s.bytes;
        out.summary.binary += s.binary;
        out.summary.duration += s.duration;
        for p in s.skipped {
            if keep(&p.repository) {
                out.summary.skipped.push(p);
            }
        }
        for (k, n) in s.suppressed {
            *out.summary.suppressed.entry(k).or_insert(0) += n;
        }
        out.summary.unused.extend(s.unused);
        if let Some(g) = s.git {
            let all = git.get_or_insert_with(GitSummary::default);
            all.commits += g.commits;
            all.blobs += g.blobs;
            all.shallow |= g.shallow;
            heads.insert(g.head.clone());
            all.head = g.head;
            secrets.extend(g.secrets.into_iter().filter(|x| {
                x.repositories.is_empty() || x.repositories.iter().any(|r| !dropped.contains(r))
            }));
        }
    }
    if let Some(mut g) = git {
        if heads.len() > 1 || !repos.list.is_empty() {
            // Many repositories have no one HEAD.
            g.head = if repos.list.len() <= 1 && heads.len() == 1 {
                g.head
            } else {
                None
            };
        }
        g.secrets = unique_secrets(secrets);
        out.summary.git = Some(g);
    }
    if !repos.list.is_empty() || !shards.is_empty() {
        repos.list.sort_by(|a, b| a.repository.cmp(&b.repository));
        // One shard's report names its shard; a merge of several covers them all.
        repos.shard = (shards.len() == 1).then(|| shards[0].clone());
        out.summary.repositories = Some(repos);
    }
    out.summary.skipped.sort();
    out.summary.skipped.dedup();
    out.sort();
    out
}

/// One entry per (rule, secret) across repositories: the earliest introduction, the sum of
/// commits, every repository, still in HEAD if it is anywhere; oldest first.
pub fn unique_secrets(all: Vec<SecretSummary>) -> Vec<SecretSummary> {
    let mut out: Vec<SecretSummary> = Vec::new();
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    for s in all {
        let key = (s.rule.clone(), s.secret_sha256.clone());
        let Some(&i) = at.get(&key) else {
            at.insert(key, out.len());
            out.push(s);
            continue;
        };
        let e = &mut out[i];
        // Earliest first; a tie goes to the lowest repository and commit, so the choice does
        // not depend on the order the inputs came in (shards finish in any order).
        let key = |x: &SecretSummary| {
            (
                parse_rfc3339(&x.first_date).unwrap_or(i64::MAX),
                x.repositories.first().cloned(),
                x.first_commit.clone(),
                x.first_path.clone(),
            )
        };
        if key(&s) < key(e) {
            // The first repository stays in front until the end, for the next tie.
            if let Some(r) = s.repositories.first() {
                e.repositories.retain(|x| x != r);
                e.repositories.insert(0, r.clone());
            }
            e.first_commit = s.first_commit;
            e.first_path = s.first_path;
            e.first_date = s.first_date;
            e.author = s.author;
        }
        // A report written with --show-secrets holds the secret in full: keep that one.
        if e.secret.ends_with('…') && !s.secret.ends_with('…') {
            e.secret = s.secret;
        }
        e.in_head |= s.in_head;
        e.commit_count += s.commit_count;
        // Exposure maps of different repositories add up (each ref names its repository).
        match (&mut e.exposure, s.exposure) {
            (Some(a), Some(b)) => {
                for r in b.refs {
                    if !a.refs.contains(&r) {
                        a.refs.push(r);
                    }
                }
                // Sorted, so the result does not depend on the order the inputs came in.
                a.refs.sort();
                a.introduced.extend(b.introduced);
                a.introduced.sort();
                a.introduced.dedup();
                a.paths.extend(b.paths);
                a.paths.sort();
                a.paths.dedup();
                // "The newest commit" has no meaning across repositories: each finding's
                // last_commit says it per place.
                if a.last_commit != b.last_commit {
                    a.last_commit = None;
                }
            }
            (a @ None, Some(b)) => *a = Some(b),
            _ => {}
        }
        for r in s.repositories {
            if !e.repositories.contains(&r) {
                e.repositories.push(r);
            }
        }
    }
    for s in &mut out {
        s.repositories.sort();
    }
    // Oldest first, ties by hash: the same order whatever order the inputs came in.
    out.sort_by(|a, b| {
        let ka = (parse_rfc3339(&a.first_date), &a.secret_sha256, &a.rule);
        let kb = (parse_rfc3339(&b.first_date), &b.secret_sha256, &b.rule);
        ka.cmp(&kb)
    });
    out
}

/// True if RFC 3339 date `a` is before `b` (an unreadable date is never earlier).
pub fn earlier(a: &str, b: &str) -> bool {
    match (parse_rfc3339(a), parse_rfc3339(b)) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Counts by key, for summaries: used by the incident views.
pub fn count<'a>(keys: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for k in keys {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}
