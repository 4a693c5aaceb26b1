//! The detector: bytes and a path in, candidate secrets out. It is pure — no I/O, no mutable
//! globals (the word lists are built once, on first use) — so it is shared by every thread and
//! every source (directory, git history, staged changes, stdin).
//!
//! It is built on every commit by the pre-commit hook, so it builds only what a scan needs:
//! the keyword search at once; the default rules' regexes and the word lists on first use
//! (`rules::RuleRegex`, `secret::Words::get`, `wordlike`). Searches are compiled once per
//! detector (or per blob, for the names a blob itself defines), never per candidate.
//!
//! Applivery tokens have no vendor prefix, so a regex alone would drown users in false alarms.
//! A blob passes, in order of cost:
//! 1. the keyword prefilter (`engine`): one pass over the blob for every rule's keywords at
//!    once (and for their base64 forms), plus a look at the path; almost every file stops here;
//! 2. candidates (`engine`, `decode`): the rule regexes around keyword occurrences, and the
//!    same regexes over decoded values (base64, `%XX`, `\u` escapes) and over values split
//!    across lines or built from literals;
//! 3. checks on the value itself (`secret`): placeholders, runs, sequences, identifiers;
//! 4. evidence around it (`context`): the key that names it, the structure that holds it,
//!    the command and its hosts, the path, and the nearest owner named nearby.
//!
//! One piece of evidence lies in other blobs: a constant defined in a keys file and used at
//! an Applivery sink in another (`project`). The detector logs the names it sees used at
//! sinks; a source that knows the other blobs of the project judges those that define such a
//! name again, with a view of the detector that knows the names (`Detector::with_project`).

mod context;
mod decode;
mod engine;
mod keywords;
mod project;
mod secret;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_project;
#[cfg(test)]
mod tests_v2;
mod text;
mod wordlike;

use std::borrow::Cow;
use std::sync::Arc;

use anyhow::Result;

use crate::rules::Rule;

pub use decode::decode_base64;
pub use project::SinkName;
pub use secret::{looks_random, shannon_entropy};
pub use text::{line_bounds, line_bounds_near, split_words, LINE_LIMIT};
pub use wordlike::{is_word_like, margin as word_margin, THRESHOLD as WORD_THRESHOLD};

/// A candidate secret: which rule matched, where its text lies in the haystack (as written,
/// possibly encoded or split), and — when that text is not the secret itself — the secret
/// and how it was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    /// The decoded secret; `None` when it is `hay[start..end]`.
    pub secret: Option<Vec<u8>>,
    /// How the text was decoded into the secret, outermost first: `base64`, `url`,
    /// `escape`, `concatenation`, `continuation`. Empty for a secret written as is.
    pub decoded: Vec<&'static str>,
    /// What decided that this value is a credential, strongest first.
    pub evidence: Vec<Evidence>,
}

/// One piece of evidence that decided a candidate: what kind, the text that says it (a key,
/// a call, a host, a parent line; never the value itself), and where that text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// The words that are the evidence, cut to a readable length.
    pub text: String,
    /// Where `text` starts in the haystack; `None` when it is not in it (the file's path).
    pub at: Option<usize>,
}

/// The kinds of evidence a finding can rest on (docs/rules.md explains each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EvidenceKind {
    /// The key, argument label or header word that names the value (`APPLIVERY_APP_TOKEN=`,
    /// `token:`, `Bearer`).
    Key,
    /// An Applivery call the value is passed to (`Applivery.init(`, `[Applivery start…]`).
    Call,
    /// An Applivery host the command or request that carries the value calls.
    Host,
    /// A parent line above the value that names Applivery (`applivery:`).
    Block,
    /// The section header the value is under (`[applivery]`, `## Applivery token`).
    Section,
    /// The command that carries the value names Applivery.
    Command,
    /// The file's path names Applivery (`ci/applivery.env`).
    Path,
    /// The value's name is used at an Applivery sink (here or in another file).
    Flow,
    /// The nearest owner named on the lines around the value is Applivery.
    Nearby,
    /// The value was decoded from a value the evidence above vouches for.
    Decoded,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Key => "key",
            EvidenceKind::Call => "call",
            EvidenceKind::Host => "host",
            EvidenceKind::Block => "block",
            EvidenceKind::Section => "section",
            EvidenceKind::Command => "command",
            EvidenceKind::Path => "path",
            EvidenceKind::Flow => "flow",
            EvidenceKind::Nearby => "nearby",
            EvidenceKind::Decoded => "decoded",
        }
    }

    pub const ALL: &'static [EvidenceKind] = &[
        EvidenceKind::Key,
        EvidenceKind::Call,
        EvidenceKind::Host,
        EvidenceKind::Block,
        EvidenceKind::Section,
        EvidenceKind::Command,
        EvidenceKind::Path,
        EvidenceKind::Flow,
        EvidenceKind::Nearby,
        EvidenceKind::Decoded,
    ];
}

/// The longest secret a chunk overlap must be able to hold whole.
pub const MAX_MATCH_LEN: usize = 4096;

/// How far before the secret the detector looks for the word that names it.
const SIGNAL_LOOKBACK: usize = 96;
/// The longest previous line consulted when the secret's own line names nothing.
const PREVIOUS_LINE_MAX: usize = 256;
/// How deep decoded values are decoded again (a base64 `.env` holding base64 JSON…).
const MAX_DEPTH: usize = 3;

/// The detector. Cloning it is cheap (its compiled parts are shared); a clone made by
/// `with_project` also knows the names used at Applivery sinks elsewhere in the project.
#[derive(Clone)]
pub struct Detector {
    rules: Arc<Vec<Rule>>,
    keywords: Arc<keywords::Keywords>,
    /// Per rule, its keywords lower-cased: the service a key or parent must mention.
    names: Arc<Vec<Vec<String>>>,
    /// Every distinct keyword: asked of every tree entry in a history sweep, so it must be
    /// cheap.
    path_keywords: Arc<Vec<PathKeyword>>,
    /// Every rule's Applivery hosts: a `Bearer` near a keyword sent elsewhere names no sink.
    hosts: Arc<Vec<String>>,
    /// Where the names seen at Applivery sinks are logged, shared by every clone.
    sinks: Arc<project::SinkLog>,
    /// Names used at Applivery sinks in other blobs of the project.
    project: Option<Arc<project::Project>>,
}

/// True if a path names a credential (`applivery-token.txt`, `secrets/applivery.env`,
/// `api_key`): a file about Applivery with such a name holds its credential, even on a line
/// of its own.
fn path_names_secret(path: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"token",
        b"secret",
        b"credential",
        b"apikey",
        b"api_key",
        b"api-key",
        b".env",
        b"password",
        b"auth",
    ];
    WORDS.iter().any(|w| text::contains_ci(path, w))
}

/// A keyword searched in paths: memchr2 for its rarest letter (either case), then a
/// comparison around it. A file name rarely holds that letter at all, so most checks cost one
/// memchr over a dozen bytes.
struct PathKeyword {
    lower: Vec<u8>,
    /// Index in `lower` of the byte searched for first.
    rare: usize,
}

impl PathKeyword {
    fn new(lower: Vec<u8>) -> PathKeyword {
        // Letters that are rare in English text (and in file names) first.
        const ORDER: &[u8] = b"zqxjkvbpygfwmucldrhsnioate";
        let rare = (0..lower.len())
            .min_by_key(|&i| ORDER.iter().position(|&c| c == lower[i]).unwrap_or(0))
            .unwrap_or(0);
        PathKeyword { lower, rare }
    }

    fn is_in(&self, path: &[u8]) -> bool {
        let n = self.lower.len();
        if n == 0 || path.len() < n {
            return false;
        }
        let c = self.lower[self.rare];
        memchr::memchr2_iter(c, c.to_ascii_uppercase(), path).any(|p| {
            p >= self.rare
                && p - self.rare + n <= path.len()
                && path[p - self.rare..p - self.rare + n].eq_ignore_ascii_case(&self.lower)
        })
    }
}

impl Detector {
    /// Compiles the keyword search of `rules`. Fails (with the rule's file and id) only for
    /// keyword sets too large to search in bounded memory.
    pub fn new(rules: Vec<Rule>) -> Result<Detector> {
        let keywords = keywords::Keywords::new(&rules)?;
        let names: Vec<Vec<String>> = rules
            .iter()
            .map(|r| r.keywords.iter().map(|k| k.to_ascii_lowercase()).collect())
            .collect();
        let mut distinct: Vec<Vec<u8>> = names
            .iter()
            .flatten()
            .map(|k| k.clone().into_bytes())
            .collect();
        distinct.sort();
        distinct.dedup();
        let path_keywords = distinct.into_iter().map(PathKeyword::new).collect();
        let hosts = rules
            .iter()
            .filter_map(|r| r.context.as_ref())
            .flat_map(|c| c.hosts.iter().cloned())
            .collect();
        Ok(Detector {
            rules: Arc::new(rules),
            keywords: Arc::new(keywords),
            names: Arc::new(names),
            path_keywords: Arc::new(path_keywords),
            hosts: Arc::new(hosts),
            sinks: Arc::new(project::SinkLog::default()),
            project: None,
        })
    }

    /// The names this detector (and every clone of it) has seen used at an Applivery sink
    /// (`Applivery.shared.start(token: Keys.uploadToken …)`) in blobs that do not define
    /// them, since the last call. Empty unless a blob had such a sink.
    pub fn take_sink_names(&self) -> Vec<SinkName> {
        self.sinks.take()
    }

    /// Whether a blob at `path` could define a name this view knows: one of the language of
    /// the file that uses it (a Swift constant is defined in Swift, a `$VAR` in a `.env` or a
    /// CI file), so a cross-file pass reads again only those files. True without a project.
    pub fn project_reads(&self, path: &[u8]) -> bool {
        self.project.as_ref().is_none_or(|p| p.reads(path))
    }

    /// A view of this detector that also judges blobs defining one of `names`: a constant
    /// of that name is an Applivery value, because another blob of the project uses it at an
    /// Applivery sink. Its prefilter lets through the blobs that mention a name.
    pub fn with_project(&self, names: Vec<SinkName>) -> Result<Detector> {
        let mut d = self.clone();
        d.project = if names.is_empty() {
            None
        } else {
            Some(Arc::new(project::Project::new(names)?))
        };
        Ok(d)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many bytes around a match can influence whether it is reported. Chunked scans
    /// overlap by at least this much on each side so a chunk boundary never changes results.
    pub fn margin(&self) -> usize {
        let context = self
            .rules
            .iter()
            .filter_map(|r| r.context.as_ref().map(|c| c.max_distance))
            .max()
            .unwrap_or(0);
        context.max(LINE_LIMIT) + LINE_LIMIT + SIGNAL_LOOKBACK + PREVIOUS_LINE_MAX + MAX_MATCH_LEN
    }

    /// True if `path` names a rule's service (`applivery.json`, `ci/applivery.sh`, a file
    /// under `applivery/`): such a blob is judged whole, even if its text never says so.
    /// Sources that know a blob's paths only later (git history) ask this to decide under
    /// which path to judge it.
    pub fn path_matters(&self, path: &[u8]) -> bool {
        self.path_keywords.iter().any(|k| k.is_in(path))
    }

    /// True if any rule could match: the cheap question asked before reading a whole blob.
    pub fn prefilter(&self, hay: &[u8], path: &[u8]) -> bool {
        self.keywords.any(hay)
            || self.path_matters(path)
            || self.project.as_ref().is_some_and(|p| p.any(hay))
    }

    /// Finds every candidate secret in `hay` (a blob at `path`, empty if unknown), sorted by
    /// position. Candidates of different rules that overlap are reported once, for the rule
    /// listed first.
    pub fn detect(&self, hay: &[u8], path: &[u8]) -> Vec<Candidate> {
        let scope = if !self.path_matters(path) {
            context::Outer::Unknown
        } else if path_names_secret(path) {
            context::Outer::Secret
        } else {
            context::Outer::Ours
        };
        let project = match &self.project {
            Some(p) => p.names_for(hay, path),
            None => Vec::new(),
        };
        engine::detect(self, hay, scope, 0, &project, path)
    }

    /// Whether `value` passes rule `rule`'s checks on the value alone (length, alphabet,
    /// entropy, placeholders, runs, sequences, identifiers), whatever surrounds it. Exposed so
    /// the drop rate of those checks can be measured on their own.
    pub fn value_ok(&self, rule: usize, value: &[u8]) -> bool {
        secret::value_ok(
            &self.rules[rule],
            value,
            secret::Words::get(),
            &self.names[rule],
        )
    }

    /// The secret a candidate stands for: the matched bytes, or their decoding (a base64
    /// value reports the token itself, so its hash and verification match the plain token
    /// found elsewhere).
    pub fn secret<'h>(&self, c: &Candidate, hay: &'h [u8]) -> Cow<'h, [u8]> {
        match &c.secret {
            Some(s) => Cow::Owned(s.clone()),
            None => Cow::Borrowed(&hay[c.start..c.end]),
        }
    }
}
