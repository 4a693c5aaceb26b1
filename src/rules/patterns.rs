//! The regexes of rules: compiled when a file is loaded (a user's `--rules`, so every mistake
//! is reported before a scan) or on first use (the embedded defaults, so a clean pre-commit
//! run compiles none), shared by every rule of a file that repeats a pattern.

use std::sync::{Arc, OnceLock};

use anyhow::Result;
use regex::bytes::Regex;

use super::Compile;

/// Regexes by pattern, shared by the rules of one file (compiled once however many rules
/// repeat a pattern).
pub(super) struct Cache {
    pub(super) when: Compile,
    pub(super) compiled: std::collections::HashMap<String, RuleRegex>,
}

pub(super) fn compile_cached(
    cache: &mut Cache,
    pattern: &str,
    what: &'static str,
) -> Result<RuleRegex> {
    if let Some(r) = cache.compiled.get(pattern) {
        return Ok(r.clone());
    }
    let r = match cache.when {
        Compile::Now => RuleRegex::from(compile_regex(pattern, what)?),
        Compile::OnFirstUse => RuleRegex::on_first_use(pattern, what),
    };
    cache.compiled.insert(pattern.to_string(), r.clone());
    Ok(r)
}

/// A regex of a rule, compiled at load or on first use (the embedded defaults: see
/// `Compile`). Cloning shares the compiled regex; it dereferences to `regex::bytes::Regex`.
#[derive(Clone)]
pub struct RuleRegex(Arc<Lazy>);

struct Lazy {
    pattern: String,
    what: &'static str,
    regex: OnceLock<Regex>,
}

impl RuleRegex {
    fn on_first_use(pattern: &str, what: &'static str) -> RuleRegex {
        RuleRegex(Arc::new(Lazy {
            pattern: pattern.to_string(),
            what,
            regex: OnceLock::new(),
        }))
    }

    /// The compiled regex, compiling it now if it was not yet.
    pub fn get(&self) -> &Regex {
        self.0.regex.get_or_init(|| {
            compile_regex(&self.0.pattern, self.0.what).expect("embedded rule regexes compile")
        })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.0.pattern
    }

    /// Whether the regex has been compiled yet.
    #[cfg(test)]
    pub(super) fn is_compiled(&self) -> bool {
        self.0.regex.get().is_some()
    }

    /// The index of the capture group named `secret`, if there is one.
    pub(super) fn group(&self, name: &str) -> Option<usize> {
        self.get().capture_names().position(|n| n == Some(name))
    }
}

impl From<Regex> for RuleRegex {
    fn from(r: Regex) -> RuleRegex {
        RuleRegex(Arc::new(Lazy {
            pattern: r.as_str().to_string(),
            what: "",
            regex: OnceLock::from(r),
        }))
    }
}

impl std::ops::Deref for RuleRegex {
    type Target = Regex;
    fn deref(&self) -> &Regex {
        self.get()
    }
}

impl std::fmt::Debug for RuleRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RuleRegex").field(&self.0.pattern).finish()
    }
}

pub fn compile_regex(pattern: &str, what: &str) -> Result<Regex> {
    // Byte-oriented: `[^...]` and `.` must match any byte, including invalid UTF-8 around
    // a secret; `(?i)` is then ASCII case-insensitive, which is what tokens need.
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(64 << 20)
        .build()
        .map_err(|e| anyhow::anyhow!("invalid {what} regex: {}", regex_reason(&e)))
}

/// Why a regex did not compile, without the pattern: the regex crate's message quotes it,
/// and a pattern is the file's text (the wrong file passed may hold a token).
fn regex_reason(e: &regex::Error) -> String {
    let full = e.to_string();
    match full
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
    {
        Some(reason) => reason.to_string(),
        None => match e {
            regex::Error::CompiledTooBig(_) => "the compiled pattern is too large".into(),
            _ => "not a valid pattern".into(),
        },
    }
}
