//! The incident view of a report, shared by the HTML and Markdown formats: one row per
//! unique token (by its SHA-256) however many repositories, paths and commits hold it —
//! its status, first and last commit, authors, repositories and paths, whether HEAD still
//! holds it — and what to do about it.

use std::collections::BTreeSet;

use super::merge::earlier;
use super::{Exposure, Report};
use crate::finding::{Finding, Verification, VerifyStatus};

/// A commit that carried a token, and where.
#[derive(Debug, Clone)]
pub struct Seen {
    pub commit: String,
    pub date: String,
    pub author: String,
    pub repository: Option<String>,
    pub path: String,
}

/// One place a token sits.
#[derive(Debug, Clone)]
pub struct Place {
    pub repository: Option<String>,
    pub path: String,
    pub line: u64,
    pub commit: Option<String>,
    pub in_head: bool,
    /// What decided the finding there (`key APPLIVERY_APP_TOKEN; host api.applivery.io`).
    pub evidence: String,
}

/// A finding's evidence in one line: `kind text` pairs, `; `-separated.
pub fn evidence_line(f: &Finding) -> String {
    f.evidence
        .iter()
        .map(|r| format!("{} {}", r.kind, r.text))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One unique token.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub secret_sha256: String,
    /// The secret as the report shows it (redacted unless --show-secrets).
    pub shown: String,
    pub rules: Vec<String>,
    /// The verdict: live if any finding's check said live, revoked only if all said so.
    pub verification: Option<&'a Verification>,
    pub first: Option<Seen>,
    pub last: Option<Seen>,
    pub authors: Vec<String>,
    pub repositories: Vec<String>,
    pub places: Vec<Place>,
    pub in_head: bool,
    pub commit_count: usize,
    /// Where it is reachable in history, when the report has an exposure map.
    pub exposure: Option<&'a Exposure>,
}

impl Token<'_> {
    pub fn status(&self) -> &'static str {
        self.verification
            .map_or("unverified", |v| v.status.as_str())
    }
}

/// The incident: its tokens, most urgent first, and the counts of its summary.
#[derive(Debug)]
pub struct Incident<'a> {
    pub tokens: Vec<Token<'a>>,
    pub live: usize,
    pub revoked: usize,
    pub unknown: usize,
    pub unverified: usize,
    pub in_head: usize,
    pub repositories_affected: usize,
    /// Repositories swept (a sweep of many), and those that failed.
    pub repositories_swept: Option<usize>,
    pub repositories_failed: usize,
}

pub fn build(report: &Report, show: bool) -> Incident<'_> {
    let mut tokens: Vec<Token> = Vec::new();
    for f in &report.findings {
        let i = match tokens
            .iter()
            .position(|t| t.secret_sha256 == f.secret_sha256)
        {
            Some(i) => i,
            None => {
                tokens.push(Token {
                    secret_sha256: f.secret_sha256.clone(),
                    shown: f.shown_secret(show),
                    rules: Vec::new(),
                    verification: None,
                    first: None,
                    last: None,
                    authors: Vec::new(),
                    repositories: Vec::new(),
                    places: Vec::new(),
                    in_head: false,
                    commit_count: 0,
                    exposure: report.summary.git.as_ref().and_then(|g| {
                        g.secrets
                            .iter()
                            .filter(|s| s.secret_sha256 == f.secret_sha256)
                            .find_map(|s| s.exposure.as_ref())
                    }),
                });
                tokens.len() - 1
            }
        };
        add(&mut tokens[i], f);
    }
    for t in &mut tokens {
        t.rules.sort();
        t.authors.sort();
        t.repositories.sort();
    }
    let rank = |t: &Token| match t.verification.map(|v| v.status) {
        Some(VerifyStatus::Live) => 0,
        None | Some(VerifyStatus::Unknown) => 1,
        Some(VerifyStatus::Revoked) => 2,
    };
    tokens.sort_by(|a, b| {
        (rank(a), !a.in_head, first_date(a), &a.secret_sha256).cmp(&(
            rank(b),
            !b.in_head,
            first_date(b),
            &b.secret_sha256,
        ))
    });
    let count = |s: Option<VerifyStatus>| {
        tokens
            .iter()
            .filter(|t| t.verification.map(|v| v.status) == s)
            .count()
    };
    let affected: BTreeSet<&String> = tokens.iter().flat_map(|t| &t.repositories).collect();
    let repos = report.summary.repositories.as_ref();
    Incident {
        live: count(Some(VerifyStatus::Live)),
        revoked: count(Some(VerifyStatus::Revoked)),
        unknown: count(Some(VerifyStatus::Unknown)),
        unverified: count(None),
        in_head: tokens.iter().filter(|t| t.in_head).count(),
        repositories_affected: affected.len(),
        repositories_swept: repos.map(|r| r.list.len()),
        repositories_failed: repos.map_or(0, |r| {
            r.list.iter().filter(|o| o.status == "failed").count()
        }),
        tokens,
    }
}

fn first_date(t: &Token) -> Option<i64> {
    t.first
        .as_ref()
        .and_then(|s| crate::time::parse_rfc3339(&s.date))
}

fn add<'a>(t: &mut Token<'a>, f: &'a Finding) {
    if !t.rules.contains(&f.rule) {
        t.rules.push(f.rule.clone());
    }
    if let Some(r) = &f.provenance.repository {
        if !t.repositories.contains(r) {
            t.repositories.push(r.clone());
        }
    }
    if let Some(v) = &f.verification {
        let rank = |s: VerifyStatus| match s {
            VerifyStatus::Live => 0,
            VerifyStatus::Unknown => 1,
            VerifyStatus::Revoked => 2,
        };
        let better = t
            .verification
            .is_none_or(|old| rank(v.status) < rank(old.status));
        if better {
            t.verification = Some(v);
        }
    }
    let g = f.git.as_ref();
    let in_head = g.is_some_and(|g| g.in_head);
    t.in_head |= in_head;
    t.places.push(Place {
        repository: f.provenance.repository.clone(),
        path: f.path.clone(),
        line: f.line,
        commit: g.map(|g| g.commit.clone()),
        in_head,
        evidence: evidence_line(f),
    });
    let Some(g) = g else {
        return;
    };
    t.commit_count += g.commit_count;
    let author = |name: &str, email: &str| {
        if email.is_empty() {
            name.to_string()
        } else {
            format!("{name} <{email}>")
        }
    };
    let first = Seen {
        commit: g.commit.clone(),
        date: g.date.clone(),
        author: author(&g.author_name, &g.author_email),
        repository: f.provenance.repository.clone(),
        path: f.path.clone(),
    };
    let last = match &g.last {
        Some(l) => Seen {
            commit: l.commit.clone(),
            date: l.date.clone(),
            author: author(&l.author_name, &l.author_email),
            repository: f.provenance.repository.clone(),
            path: f.path.clone(),
        },
        None => first.clone(),
    };
    for a in [&first.author, &last.author] {
        if !a.is_empty() && !t.authors.contains(a) {
            t.authors.push(a.clone());
        }
    }
    if t.first
        .as_ref()
        .is_none_or(|s| earlier(&first.date, &s.date))
    {
        t.first = Some(first);
    }
    if t.last.as_ref().is_none_or(|s| earlier(&s.date, &last.date)) {
        t.last = Some(last);
    }
}

/// What to do about one token, as short actions in order (revoke, rotate, clean HEAD): the
/// report's "What to do" section says how; a row says what applies to this token.
pub fn advice(t: &Token) -> Vec<String> {
    let mut out = Vec::new();
    let service = t.rules.iter().any(|r| r.contains("service-account"));
    let revoke_where = if service {
        " (Workspace settings > Service Accounts)"
    } else {
        ""
    };
    match t.verification.map(|v| v.status) {
        Some(VerifyStatus::Revoked) => out.push("Already revoked: nothing to rotate.".into()),
        Some(VerifyStatus::Live) => {
            out.push(format!("Revoke now{revoke_where}: it works."));
            out.push("Rotate it everywhere it is used.".into());
        }
        _ => {
            out.push(format!(
                "Revoke{revoke_where}: not proven revoked, so treat it as live."
            ));
            out.push("Rotate it everywhere it is used.".into());
        }
    }
    if t.in_head {
        out.push("Remove it from HEAD: read it from a CI secret.".into());
    }
    out
}
