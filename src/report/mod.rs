//! Reports: what a scan found, what it could not read, and a summary — written as text for
//! people, JSON / JSONL for programs, SARIF for code scanning. Every format redacts secrets
//! unless `--show-secrets`; `output` says how `--output` files are written.

pub mod github;
pub mod gitlab;
pub mod html;
pub mod incident;
pub mod json;
pub mod load;
pub mod markdown;
pub mod merge;
pub mod output;
pub mod sarif;
pub mod text;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::finding::{Finding, VerifyStatus};
use crate::rules::Rule;

/// Which command produced a report; names the SARIF category (`applivery-leaks/<kind>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    Dir,
    Git,
    Staged,
    Stdin,
    Verify,
}

impl ScanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanKind::Dir => "dir",
            ScanKind::Git => "git",
            ScanKind::Staged => "staged",
            ScanKind::Stdin => "stdin",
            ScanKind::Verify => "verify",
        }
    }
}

/// One line of explanation for an I/O error, without Rust's `(os error N)` noise: the
/// reason a [`Problem`] gives.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied".into(),
        InvalidData => format!("invalid data: {e}"),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

/// An input that was not scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The repository, in a sweep of many (the problem may be the whole repository's).
    pub repository: Option<String>,
    pub path: String,
    pub reason: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Problem {
        Problem {
            repository: None,
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// What the problem is about, for messages: `repository: path`, or the path alone.
    pub fn place(&self) -> String {
        match &self.repository {
            Some(r) if r != &self.path => format!("{r}: {}", self.path),
            _ => self.path.clone(),
        }
    }
}

/// A suppression entry (ignore file or baseline) that matched no finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unused {
    /// `ignore-file` or `baseline`.
    pub mechanism: String,
    pub file: String,
    pub line: Option<usize>,
    pub fingerprint: String,
}

/// The secrets a history scan found, one entry per unique secret: the incident responder's
/// first question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSummary {
    pub rule: String,
    pub secret: String,
    pub secret_sha256: String,
    pub first_commit: String,
    pub first_path: String,
    pub first_date: String,
    pub author: String,
    pub in_head: bool,
    pub commit_count: usize,
    /// The repositories that hold it, in a sweep of many (empty otherwise).
    pub repositories: Vec<String>,
    /// Where it is reachable (full history sweeps; none for a range or a merged report
    /// without one).
    pub exposure: Option<Exposure>,
}

/// Where one token sits in a repository's history: the refs that reach a commit holding it,
/// the commits that introduced it, the newest that holds it, and every path it appears
/// under. Computed only for tokens a sweep found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exposure {
    /// Every ref that reaches a commit holding it, by name.
    pub refs: Vec<RefExposure>,
    /// Commits that hold it while none of their parents does, oldest first (capped at
    /// `EXPOSURE_LISTED`).
    pub introduced: Vec<String>,
    /// The newest commit (in history order) that holds it.
    pub last_commit: Option<String>,
    /// Every path it appears under, archive members as `outer!/member` chains, and
    /// `<commit-message>` / `<tag-message>` for messages.
    pub paths: Vec<String>,
}

/// The most commits listed as `introduced` per token.
pub const EXPOSURE_LISTED: usize = 100;

/// One ref that reaches a token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RefExposure {
    /// The repository, in a sweep of many.
    pub repository: Option<String>,
    /// The full ref name (`refs/heads/main`, `refs/tags/v1`, `refs/pull/7/head`, `HEAD` when
    /// detached).
    pub name: String,
    /// The commit the ref points to (through annotated tags).
    pub commit: String,
    /// The token is in that commit itself: deleting it needs a new commit on the ref, not
    /// only a history rewrite.
    pub at_tip: bool,
}

impl RefExposure {
    /// A ref the forge owns (GitHub pull requests, GitLab merge requests): a force-push
    /// cannot rewrite it.
    pub fn forge_owned(&self) -> bool {
        self.name.starts_with("refs/pull/") || self.name.starts_with("refs/merge-requests/")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitSummary {
    pub commits: u64,
    pub blobs: u64,
    pub shallow: bool,
    pub secrets: Vec<SecretSummary>,
    /// The commit HEAD pointed at when the history was scanned (SARIF `revisionId`).
    pub head: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Files (or blobs) read and scanned.
    pub files: u64,
    pub bytes: u64,
    /// Binary files recognised and not scanned.
    pub binary: u64,
    /// Files a directory scan left out because .gitignore / .ignore exclude them (told on
    /// stderr; not part of the report formats).
    pub ignored: u64,
    /// Inputs deliberately not scanned (too large, symlink, special file, submodule), with
    /// the reason.
    pub skipped: Vec<Problem>,
    pub duration: Duration,
    /// Findings hidden, by mechanism (`inline`, `ignore-file`, `baseline`, `config-exclude`).
    pub suppressed: BTreeMap<String, u64>,
    /// Filled with --report-unused.
    pub unused: Vec<Unused>,
    pub git: Option<GitSummary>,
    /// The repositories of a sweep of many: what happened to each.
    pub repositories: Option<Repositories>,
}

/// The repositories a sweep covered, and its shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repositories {
    pub list: Vec<RepoOutcome>,
    /// `K/N` when the sweep covered one shard.
    pub shard: Option<String>,
}

/// What happened to one repository of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoOutcome {
    /// Its identity (`git.example.com/team/app`, or an absolute path).
    pub repository: String,
    /// `scanned`, `resumed` (an earlier run's report, refs unchanged) or `failed`.
    pub status: String,
    pub findings: u64,
    pub commits: u64,
    /// A digest of its refs when swept (see `sweep::refs_state`).
    pub refs: Option<String>,
    /// The commit HEAD named.
    pub head: Option<String>,
    /// Why it failed.
    pub reason: Option<String>,
}
#[derive(Debug, Clone)]
pub struct Report {
    pub kind: ScanKind,
    /// The directory paths are relative to (SARIF `%SRCROOT%`).
    pub root: PathBuf,
    pub findings: Vec<Finding>,
    /// Inputs the user asked to scan that could not be read.
    pub errors: Vec<Problem>,
    /// Things the user should know that are not errors (a shallow clone, ...).
    pub warnings: Vec<String>,
    pub summary: Summary,
    /// `--sarif-category`: replaces the default SARIF category `applivery-leaks/<kind>`.
    pub sarif_category: Option<String>,
    /// Where the incident views link the remediation pack (`remediate --out`), relative to
    /// the report: `remediation/` unless the report is written into the pack itself.
    pub pack_dir: Option<String>,
    /// `--explain`: the text report shows each finding's evidence.
    pub explain: bool,
    /// Findings a scan packed instead of holding them as `findings` (`dir`); the command
    /// layer writes them as it unpacks them, or unpacks them into `findings` first.
    pub packed: Option<crate::packed::Packed>,
}

impl Report {
    /// Redacts every copy of a found secret in the names the report shows: a file, a
    /// directory or an archive member named with the token (`cfg_<token>/x.env`,
    /// `x.zip!/applivery/<token>/…`), a repository, a commit summary, the paths of errors,
    /// skipped inputs and warnings. Fingerprints keep the real path (they were computed
    /// before); call after suppression, which matches paths, and never with
    /// `--show-secrets`.
    pub fn redact_names(&mut self) {
        let git = self
            .summary
            .git
            .as_ref()
            .map_or(&[][..], |g| &g.secrets[..]);
        let mut known = crate::redact::Known::with_capacity(self.findings.len() + git.len());
        for s in self
            .findings
            .iter()
            .map(|f| &f.secret)
            .chain(git.iter().map(|s| &s.secret))
        {
            known.insert(s.as_bytes());
        }
        self.redact_names_in(&known);
    }

    pub(crate) fn redact_names_in(&mut self, known: &crate::redact::Known) {
        if known.is_empty() {
            return;
        }
        let f = |s: &str| known.redact_in(s);
        let put = |s: &mut String| {
            if let Some(r) = f(s) {
                *s = r;
            }
        };
        for x in &mut self.findings {
            put(&mut x.path);
            x.provenance.rename(&f);
            if let Some(g) = x.git.as_mut() {
                put(&mut g.summary);
            }
        }
        if let Some(g) = self.summary.git.as_mut() {
            for s in &mut g.secrets {
                put(&mut s.first_path);
                s.repositories.iter_mut().for_each(put);
                // The exposure map names paths and refs: a branch can be named with a token.
                if let Some(e) = s.exposure.as_mut() {
                    e.paths.iter_mut().for_each(put);
                    for r in &mut e.refs {
                        put(&mut r.name);
                        if let Some(repo) = r.repository.as_mut() {
                            put(repo);
                        }
                    }
                }
            }
        }
        for p in self
            .errors
            .iter_mut()
            .chain(self.summary.skipped.iter_mut())
        {
            put(&mut p.path);
            put(&mut p.reason);
            if let Some(r) = p.repository.as_mut() {
                put(r);
            }
        }
        self.warnings.iter_mut().for_each(put);
        for u in &mut self.summary.unused {
            put(&mut u.file);
        }
    }

    pub fn new(kind: ScanKind, root: PathBuf) -> Report {
        Report {
            kind,
            root,
            findings: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            summary: Summary::default(),
            sarif_category: None,
            pack_dir: None,
            explain: false,
            packed: None,
        }
    }

    /// Deterministic order, whatever the thread count.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.provenance.repository,
                &a.path,
                a.line,
                a.column,
                &a.rule,
                a.git.as_ref().map(|g| &g.commit),
            )
                .cmp(&(
                    &b.provenance.repository,
                    &b.path,
                    b.line,
                    b.column,
                    &b.rule,
                    b.git.as_ref().map(|g| &g.commit),
                ))
        });
        self.errors.sort();
        self.summary.skipped.sort();
        self.summary.unused.sort();
    }

    pub fn verification_counts(&self) -> Option<BTreeMap<&'static str, u64>> {
        if self.findings.iter().all(|f| f.verification.is_none()) {
            return None;
        }
        let mut m = BTreeMap::new();
        for s in [
            VerifyStatus::Live,
            VerifyStatus::Revoked,
            VerifyStatus::Unknown,
        ] {
            m.insert(s.as_str(), 0);
        }
        for f in &self.findings {
            if let Some(v) = &f.verification {
                *m.entry(v.status.as_str()).or_insert(0) += 1;
            }
        }
        Some(m)
    }
}

/// The formats a report can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people at a terminal.
    Text,
    /// One JSON document (`schema/report.schema.json`).
    Json,
    /// One JSON finding per line.
    Jsonl,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands: an annotation per finding on the pull request diff.
    Github,
    /// GitLab's secret-detection report (`artifacts: reports: secret_detection:`).
    Gitlab,
    /// The incident report: one self-contained HTML page, one row per unique token.
    Html,
    /// The incident summary in Markdown (pull-request comment, `$GITHUB_STEP_SUMMARY`).
    Markdown,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Text,
        Format::Json,
        Format::Jsonl,
        Format::Sarif,
        Format::Github,
        Format::Gitlab,
        Format::Html,
        Format::Markdown,
    ];

    /// The name users type (`--format`, `format =` in the project config).
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::Gitlab => "gitlab",
            Format::Html => "html",
            Format::Markdown => "markdown",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How to write a report.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    pub show_secrets: bool,
    pub color: bool,
}

/// Writes `report` to `out` in the chosen format.
pub fn write(report: &Report, rules: &[Rule], style: Style, out: &mut dyn Write) -> io::Result<()> {
    match style.format {
        Format::Text => text::write(report, style, out),
        Format::Json => json::write(report, rules, style, out),
        Format::Jsonl => json::write_lines(report, rules, style, out),
        Format::Sarif => sarif::write(report, rules, style, out),
        Format::Github => github::write(report, rules, style, out),
        Format::Gitlab => gitlab::write(report, rules, style, out),
        Format::Html => html::write(report, style, out),
        Format::Markdown => markdown::write(report, style, out),
    }
}

/// The first 12 characters of a commit id or hash: enough to name it, short enough to read.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Replaces terminal control characters with visible escapes, so a file name or a line of a
/// scanned file can never move the cursor, change colours or rewrite the terminal title.
pub fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
