//! Pass 5 of a sweep: findings. Placements and message hits become findings with commit
//! metadata (who introduced the secret, when, in which commit, whether HEAD still holds it),
//! and the summary lists each unique secret once: the incident responder's first question.
//! Commit summaries are printed by every report format, so every secret the sweep found is
//! redacted from them here.

use std::collections::{HashMap, HashSet};

use git2::Oid;

use super::objects::{id, Kind, Objects};
use super::parse;
use super::provenance::{self, FirstPlace, Placed, Placement, COMMITS_LISTED};
use super::refs::TagRef;
use super::walk::{Boundary, History};
use crate::detect::Detector;
use crate::finding::{CommitRef, Finding, GitInfo};
use crate::haystack::{scan_slice, Hit, Scanned};
use crate::provenance::{Origin, Provenance};
use crate::report::{Problem, SecretSummary};

/// Who made a commit, when, and its subject.
#[derive(Clone, Default)]
struct Meta {
    name: String,
    email: String,
    date: String,
    summary: String,
}

fn meta(objects: &Objects, oid: Oid) -> Meta {
    let Ok(obj) = objects.read(oid) else {
        return Meta::default();
    };
    let Some(c) = parse::commit(obj.data()) else {
        return Meta::default();
    };
    let (name, email, when) = c.author.map(parse::signature).unwrap_or_default();
    Meta {
        name,
        email,
        date: when
            .map(|(t, off)| crate::time::rfc3339_at(t, off))
            .unwrap_or_default(),
        summary: parse::first_line(c.message),
    }
}

/// Replaces every secret the sweep found, as found and in its base64 forms, by its redacted
/// form: a commit subject may hold a token without the word that made it a finding.
struct Redactor {
    needles: Vec<(String, String)>,
}

impl Redactor {
    fn new<'h>(hits: impl Iterator<Item = &'h Hit>) -> Redactor {
        use base64::Engine as _;
        let mut seen = HashSet::new();
        let mut needles = Vec::new();
        for h in hits {
            if h.secret.len() < 8 || !seen.insert(h.secret.clone()) {
                continue;
            }
            let shown = crate::finding::redact(&h.secret);
            needles.push((h.secret.clone(), shown.clone()));
            // An encoded copy: its first characters do not depend on padding or on a
            // trailing newline that `echo | base64` adds.
            for engine in [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
            ] {
                let enc = engine.encode(h.secret.as_bytes());
                let stable = &enc[..(h.secret.len() / 3) * 4];
                if stable.len() >= 8 {
                    needles.push((stable.to_string(), crate::finding::redact(stable)));
                }
            }
        }
        // Longest first, so a secret is not half-replaced by a shorter one inside it.
        needles.sort_by_key(|n| std::cmp::Reverse(n.0.len()));
        Redactor { needles }
    }

    fn apply(&self, text: &str) -> String {
        let mut s = text.to_string();
        for (needle, shown) in &self.needles {
            if s.contains(needle.as_str()) {
                s = s.replace(needle.as_str(), shown);
            }
        }
        s
    }
}

/// An annotated tag whose message holds secrets.
pub(crate) struct TagMessage {
    id: Oid,
    pub name: String,
    tagger: (String, String, String),
    /// The commit it points to, if the sweep walked it.
    commit: Option<usize>,
    subject: String,
    pub hits: Vec<Hit>,
}

/// Annotated tag messages: all of them, or in a range those of tags on its commits.
pub(crate) fn tag_messages(
    objects: &Objects,
    tags: &[TagRef],
    history: &History,
    ranged: bool,
    det: &Detector,
) -> Vec<TagMessage> {
    let mut out = Vec::new();
    for t in tags {
        let commit = t.commit.and_then(|c| history.index.get(&id(c)).copied());
        if ranged && commit.is_none() {
            continue;
        }
        let Ok(obj) = objects.read(t.id) else {
            continue;
        };
        if obj.kind() != Some(Kind::Tag) {
            continue;
        }
        let Some(tag) = parse::tag(obj.data()) else {
            continue;
        };
        if !det.prefilter(tag.message, b"") {
            continue;
        }
        let Scanned::Text { hits, .. } = scan_slice(det, tag.message, b"") else {
            continue;
        };
        if hits.is_empty() {
            continue;
        }
        let (name, email, when) = tag.tagger.map(parse::signature).unwrap_or_default();
        out.push(TagMessage {
            id: t.id,
            name: String::from_utf8_lossy(tag.name).into_owned(),
            tagger: (
                name,
                email,
                when.map(|(s, o)| crate::time::rfc3339_at(s, o))
                    .unwrap_or_default(),
            ),
            commit,
            subject: parse::first_line(tag.message),
            hits,
        });
    }
    out
}

/// Whether the commits just outside a range already had a placement's secret at its path.
pub(crate) struct BoundaryCheck<'a, 'o, 'r> {
    det: &'a Detector,
    objects: &'o Objects<'r>,
    boundary: &'a Boundary,
    scanned: HashMap<Oid, Vec<(usize, String)>>,
}

impl<'a, 'o, 'r> BoundaryCheck<'a, 'o, 'r> {
    pub(crate) fn new(det: &'a Detector, objects: &'o Objects<'r>, boundary: &'a Boundary) -> Self {
        BoundaryCheck {
            det,
            objects,
            boundary,
            scanned: HashMap::new(),
        }
    }

    pub(crate) fn had(&mut self, p: &Placement) -> bool {
        for &blob in self.boundary.blobs_at(&p.path) {
            let (det, objects) = (self.det, self.objects);
            let found = self.scanned.entry(blob).or_insert_with(|| {
                match objects.read(blob).map(|o| scan_slice(det, o.data(), b"")) {
                    Ok(Scanned::Text { hits, .. }) => {
                        hits.into_iter().map(|h| (h.rule, h.secret)).collect()
                    }
                    _ => Vec::new(),
                }
            });
            if found
                .iter()
                .any(|(r, s)| *r == p.hit.rule && *s == p.hit.secret)
            {
                return true;
            }
        }
        false
    }
}

/// The findings of a sweep and its summary of unique secrets.
pub(crate) struct Assembled {
    pub findings: Vec<Finding>,
    pub secrets: Vec<SecretSummary>,
    pub first_place: FirstPlace,
}

/// A finding with what orders it and the commits (indexes) that carry it.
struct Sourced {
    order: usize,
    commits: Vec<u64>,
    finding: Finding,
}

pub(crate) fn assemble(
    det: &Detector,
    objects: &Objects,
    history: &History,
    placed: Placed,
    tags: &[TagMessage],
    exposures: &HashMap<String, crate::report::Exposure>,
) -> Assembled {
    let redactor = Redactor::new(
        placed
            .placements
            .iter()
            .map(|p| &p.hit)
            .chain(history.messages.iter().map(|m| &m.hit))
            .chain(tags.iter().flat_map(|t| &t.hits)),
    );
    let mut metas: HashMap<Oid, Meta> = HashMap::new();
    let mut meta_of = |oid: Oid| {
        metas
            .entry(oid)
            .or_insert_with(|| meta(objects, oid))
            .clone()
    };
    let commit_id = |i: usize| history.commits[i].id;
    // The newest commit that carries each placement: the last one an incident report shows.
    let commit_ref = |i: usize, m: Meta| CommitRef {
        commit: commit_id(i).to_string(),
        author_name: m.name,
        author_email: m.email,
        date: m.date,
    };
    let lasts: Vec<Option<CommitRef>> = placed
        .placements
        .iter()
        .map(|p| last_bit(&p.bits).map(|i| commit_ref(i, meta_of(commit_id(i)))))
        .collect();
    let git_info = |m: &Meta, first: Oid, listed: &[usize], count: usize, in_head: bool| GitInfo {
        commit: first.to_string(),
        author_name: m.name.clone(),
        author_email: m.email.clone(),
        date: m.date.clone(),
        summary: redactor.apply(&m.summary),
        commits: listed
            .iter()
            .take(COMMITS_LISTED)
            .map(|&i| commit_id(i).to_string())
            .collect(),
        commit_count: count,
        in_head,
        last: None,
    };

    let mut out: Vec<Sourced> = Vec::new();
    for (p, last) in placed.placements.iter().zip(lasts) {
        let first = commit_id(p.first);
        let m = meta_of(first);
        let path = String::from_utf8_lossy(&p.path).into_owned();
        let mut f =
            crate::source::finding(det, Provenance::new(Origin::GitBlob(path)), p.hit.clone());
        let mut g = git_info(&m, first, &p.commits, p.commit_count, p.in_head);
        g.last = last;
        f.git = Some(Box::new(g));
        out.push(Sourced {
            order: p.first,
            commits: p.bits.clone(),
            finding: f,
        });
    }
    // Blobs no walked commit holds: dangling, or named by a ref to a tree or blob.
    let mut seen = HashSet::new();
    for (blob, hits) in &placed.unplaced {
        for h in hits {
            if seen.insert((h.rule, *blob, h.members.clone(), h.secret.clone())) {
                let at = Provenance::new(Origin::GitObject(blob.to_string()));
                out.push(Sourced {
                    order: usize::MAX,
                    commits: Vec::new(),
                    finding: crate::source::finding(det, at, h.clone()),
                });
            }
        }
    }
    // Commit messages: one finding per secret, with every commit whose message holds it.
    let mut by_secret: HashMap<(usize, String), (usize, Hit, Vec<usize>)> = HashMap::new();
    for m in &history.messages {
        let g = by_secret
            .entry((m.hit.rule, m.hit.secret.clone()))
            .or_insert_with(|| (m.commit, m.hit.clone(), Vec::new()));
        if g.2.last() != Some(&m.commit) {
            g.2.push(m.commit);
        }
    }
    for (_, (first, hit, commits)) in by_secret {
        let m = meta_of(commit_id(first));
        let mut f = crate::source::finding(det, Provenance::new(Origin::CommitMessage), hit);
        let mut g = git_info(&m, commit_id(first), &commits, commits.len(), false);
        g.last = commits
            .last()
            .map(|&i| commit_ref(i, meta_of(commit_id(i))));
        f.git = Some(Box::new(g));
        let mut bits = Vec::new();
        for &c in &commits {
            provenance::set_bit(&mut bits, c);
        }
        out.push(Sourced {
            order: first,
            commits: bits,
            finding: f,
        });
    }
    // Tag messages: one finding per secret, for the earliest tag that holds it.
    let mut by_secret: HashMap<(usize, String), (usize, &TagMessage, &Hit)> = HashMap::new();
    for t in tags {
        let order = t.commit.unwrap_or(usize::MAX - 1);
        for h in &t.hits {
            let g = by_secret
                .entry((h.rule, h.secret.clone()))
                .or_insert((order, t, h));
            if order < g.0 {
                *g = (order, t, h);
            }
        }
    }
    for (_, (order, t, hit)) in by_secret {
        let target = t.commit.map_or(t.id, commit_id);
        let at = Provenance::new(Origin::TagMessage(t.name.clone()));
        let mut f = crate::source::finding(det, at, hit.clone());
        f.git = Some(Box::new(GitInfo {
            commit: target.to_string(),
            author_name: t.tagger.0.clone(),
            author_email: t.tagger.1.clone(),
            date: t.tagger.2.clone(),
            summary: redactor.apply(&format!("tag {}: {}", t.name, t.subject)),
            commits: vec![target.to_string()],
            commit_count: 1,
            in_head: false,
            last: None,
        }));
        let mut bits = Vec::new();
        if let Some(c) = t.commit {
            provenance::set_bit(&mut bits, c);
        }
        out.push(Sourced {
            order,
            commits: bits,
            finding: f,
        });
    }

    // The incident responder's list: one entry per unique secret, oldest first.
    out.sort_by(|a, b| {
        (a.order, &a.finding.path, a.finding.line).cmp(&(b.order, &b.finding.path, b.finding.line))
    });
    let counts = provenance::commits_per_secret(out.iter().map(|s| {
        (
            rule_index(det, &s.finding.rule),
            s.finding.secret.as_str(),
            s.commits.as_slice(),
        )
    }));
    let mut secrets: Vec<SecretSummary> = Vec::new();
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    for s in &out {
        let f = &s.finding;
        let in_head = f.git.as_ref().is_some_and(|g| g.in_head);
        let key = (f.rule.clone(), f.secret_sha256.clone());
        if let Some(&i) = at.get(&key) {
            secrets[i].in_head |= in_head;
            continue;
        }
        at.insert(key, secrets.len());
        let g = f.git.as_ref();
        secrets.push(SecretSummary {
            rule: f.rule.clone(),
            secret: f.secret.clone(),
            secret_sha256: f.secret_sha256.clone(),
            first_commit: g.map(|g| g.commit.clone()).unwrap_or_default(),
            first_path: f.path.clone(),
            first_date: g.map(|g| g.date.clone()).unwrap_or_default(),
            author: g
                .map(|g| format!("{} <{}>", g.author_name, g.author_email))
                .unwrap_or_default(),
            in_head,
            commit_count: counts
                .get(&(rule_index(det, &f.rule), f.secret.clone()))
                .copied()
                .unwrap_or(0),
            repositories: Vec::new(),
            exposure: exposures.get(&f.secret).cloned(),
        });
    }
    Assembled {
        findings: out.into_iter().map(|s| s.finding).collect(),
        secrets,
        first_place: placed.first_place,
    }
}

/// The highest commit index in a bit set: the newest commit in walk order (parents first).
fn last_bit(bits: &[u64]) -> Option<usize> {
    let (word, w) = bits.iter().enumerate().rev().find(|(_, w)| **w != 0)?;
    Some(word * 64 + 63 - w.leading_zeros() as usize)
}

fn rule_index(det: &Detector, id: &str) -> usize {
    det.rules()
        .iter()
        .position(|r| r.id == id)
        .unwrap_or(usize::MAX)
}

/// Blobs that could not be read, named by where they were first seen.
pub(crate) fn blob_problems(
    history: &History,
    first_place: &FirstPlace,
    errors: &[(Oid, String)],
) -> Vec<Problem> {
    errors
        .iter()
        .map(|(oid, reason)| {
            let what = match first_place.get(&id(*oid)) {
                Some((i, p)) => format!(
                    "blob {oid} ({} in commit {})",
                    String::from_utf8_lossy(p),
                    history.commits[*i].id
                ),
                None if oid.is_zero() => "object database".to_string(),
                None => format!("blob {oid}"),
            };
            Problem::new(what, reason.clone())
        })
        .collect()
}

/// Archive members of blobs that were not read, named by where their blob was first seen:
/// damaged ones are errors, those a limit stopped are skipped.
pub(crate) fn member_problems(
    first_place: &FirstPlace,
    problems: &[super::scan::MemberProblem],
    report: &mut crate::report::Report,
) {
    for m in problems {
        let mut what = match first_place.get(&id(m.oid)) {
            Some((_, p)) => String::from_utf8_lossy(p).into_owned(),
            None => format!("<blob {}>", m.oid),
        };
        for member in &m.members {
            what.push_str(crate::provenance::MEMBER_SEPARATOR);
            what.push_str(member);
        }
        what.push_str(&format!(" (blob {})", m.oid));
        let p = Problem::new(what, m.reason.clone());
        if m.damaged {
            report.errors.push(p);
        } else {
            report.summary.skipped.push(p);
        }
    }
}

/// Blobs skipped for their size, named by where they were first seen.
pub(crate) fn skipped(
    first_place: &FirstPlace,
    skipped: &[(Oid, u64)],
    max: Option<u64>,
) -> Vec<Problem> {
    skipped
        .iter()
        .map(|(oid, size)| {
            let what = match first_place.get(&id(*oid)) {
                Some((_, p)) => format!("{} (blob {oid})", String::from_utf8_lossy(p)),
                None => format!("blob {oid}"),
            };
            Problem::new(
                what,
                format!(
                    "larger than --max-file-size ({size} > {} bytes)",
                    max.unwrap_or(0)
                ),
            )
        })
        .collect()
}
