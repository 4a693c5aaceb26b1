//! Rules are data: a TOML file lists what to look for, and this module loads, validates and
//! compiles it. The default rule set (`rules/applivery.toml`) is embedded in the binary; users
//! add their own files with `--rules`. Every mistake in a rule file is reported with the file,
//! the rule id and the reason, so a broken rule never silently stops matching.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{bail, Context as _, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::bytes::Regex;
use serde::Deserialize;

mod patterns;
mod runs;

use patterns::{compile_cached, Cache};
pub use patterns::{compile_regex, RuleRegex};
pub use runs::Runs;

/// The default rules, compiled into the binary.
pub const DEFAULT_RULES: &str = include_str!("../../rules/applivery.toml");
pub const DEFAULT_RULES_NAME: &str = "<default rules>";
/// `DEFAULT_RULES` as JSON, converted at build time (`build.rs`): a third of TOML's
/// deserialising time, paid by every pre-commit run at start-up.
const DEFAULT_RULES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/default-rules.json"));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    /// Context settings shared by several rules, referenced by `[rules.context] use = "…"`.
    #[serde(default)]
    contexts: std::collections::BTreeMap<String, ContextSpec>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

/// A rule as written in a rule file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    description: String,
    #[serde(default = "default_severity")]
    severity: String,
    #[serde(default = "default_precision")]
    precision: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    help: String,
    #[serde(default)]
    help_uri: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    regex: String,
    #[serde(default)]
    verifier: Option<String>,
    #[serde(default)]
    secret: SecretSpec,
    #[serde(default)]
    context: Option<ContextSpec>,
    #[serde(default)]
    allowlist: AllowlistSpec,
    /// Texts in which the rule must find a secret (`rules check`).
    #[serde(default)]
    examples: Vec<ExampleSpec>,
    /// Texts in which the rule must find nothing.
    #[serde(default)]
    negative_examples: Vec<ExampleSpec>,
}

/// An example: its text, optionally with the path it is judged under (a path is evidence).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ExampleSpec {
    Text(String),
    Located {
        #[serde(default)]
        path: String,
        text: String,
        /// Evidence kinds the finding must rest on (`["key", "host"]`).
        #[serde(default)]
        evidence: Vec<String>,
    },
}

fn default_severity() -> String {
    "high".into()
}
fn default_precision() -> String {
    "medium".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretSpec {
    min_len: Option<usize>,
    max_len: Option<usize>,
    min_entropy: Option<f64>,
    shape: Option<String>,
    /// A regex the whole (decoded) secret must match, e.g. its alphabet and length.
    regex: Option<String>,
    /// How the captured text is encoded; the checks and the report use the decoded value.
    decode: Option<String>,
    /// When a value that reads as words (`RPScreenRecorderDelegate`) is dropped: `weak`
    /// (default: unless strong evidence names it) or `always`.
    words: Option<String>,
}

/// Context settings as written: in `[contexts.NAME]` (shared) or `[rules.context]`, where
/// `use = "NAME"` starts from a shared one and the rule's own fields override it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextSpec {
    #[serde(rename = "use")]
    use_: Option<String>,
    near: Option<Vec<String>>,
    lines_before: Option<usize>,
    lines_after: Option<usize>,
    max_distance: Option<usize>,
    signal: Option<String>,
    generic_key_words: Option<Vec<String>>,
    /// Words that name another owner: other services (`sentry`, `firebase`) and other kinds
    /// of secret (`keystore`): a key or section made with one is not ours.
    other_owners: Option<Vec<String>>,
    /// Words that name values that are not secrets (`id`, `hash`, `nonce`).
    not_secret_words: Option<Vec<String>>,
    hosts: Option<Vec<String>>,
    /// Lines that start a new section (`---`, `### request`, `[table]`): the window stops there.
    section_break: Option<String>,
    /// A keyword must occur within `max_distance` bytes of the secret.
    keyword_near: Option<bool>,
    /// The value must be named (a secret-like key, a credential argument of a call, a
    /// header): no value without a name is reported, whatever scope it is in.
    named: Option<bool>,
    /// A regex the words of the value's name must match (`(?i)key|token|secret`).
    key: Option<String>,
}

impl ContextSpec {
    /// `self` over `base`: every field the rule sets wins.
    fn over(self, base: &ContextSpec) -> ContextSpec {
        let b = base.clone();
        ContextSpec {
            use_: None,
            near: self.near.or(b.near),
            lines_before: self.lines_before.or(b.lines_before),
            lines_after: self.lines_after.or(b.lines_after),
            max_distance: self.max_distance.or(b.max_distance),
            signal: self.signal.or(b.signal),
            generic_key_words: self.generic_key_words.or(b.generic_key_words),
            other_owners: self.other_owners.or(b.other_owners),
            not_secret_words: self.not_secret_words.or(b.not_secret_words),
            hosts: self.hosts.or(b.hosts),
            section_break: self.section_break.or(b.section_break),
            keyword_near: self.keyword_near.or(b.keyword_near),
            named: self.named.or(b.named),
            key: self.key.or(b.key),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowlistSpec {
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    lines: Vec<String>,
}

/// How bad a leak of this kind is; drives SARIF levels and `security-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    fn parse(s: &str) -> Option<Severity> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The CVSS-like score GitHub code scanning reads from `security-severity`.
    pub fn score(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// What the secret itself must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Anything the regex captured.
    Any,
    /// A generated token of any alphabet: not a placeholder, a run or a sequence of
    /// characters, not an identifier made of words (`APPLIVERY_TOKEN_RELEASE1`).
    Token,
    /// Like `Token`, and not hex only (ids and hashes); weakly named values must also mix
    /// upper and lower case.
    Random,
}

#[derive(Debug)]
pub struct SecretCheck {
    pub min_len: usize,
    pub max_len: usize,
    pub min_entropy: Option<f64>,
    pub shape: Shape,
    /// Anchored: the whole (decoded) secret must match.
    pub regex: Option<RuleRegex>,
    pub decode: Decode,
    pub words: Words,
}

/// A set of lower-case words.
pub type WordSet = rustc_hash::FxHashSet<String>;

/// When a value made of words (`detect::is_word_like`) is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    /// Unless strong evidence names it: an Applivery key, an Applivery call, an Applivery
    /// host, a credential key in an Applivery block.
    Weak,
    /// Always.
    Always,
}

/// How a captured secret is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// Reported as written.
    None,
    /// Standard or URL-safe base64 (Kubernetes Secret `data:`); one trailing newline in the
    /// decoded value (`echo $TOKEN | base64`) is dropped.
    Base64,
}

#[derive(Debug)]
pub struct Context {
    pub near: Vec<RuleRegex>,
    pub lines_before: usize,
    pub lines_after: usize,
    pub max_distance: usize,
    pub signal: Option<RuleRegex>,
    /// Lower case; sets, because every word of every name near a candidate is looked up
    /// (a list of 350 owners compared word by word was 5% of a scan of dense code).
    pub generic_key_words: WordSet,
    pub other_owners: WordSet,
    pub not_secret_words: WordSet,
    pub hosts: Vec<String>,
    pub section_break: Option<RuleRegex>,
    /// A keyword must occur within `max_distance` bytes of the secret; the detector then runs
    /// the rule's regex only around keyword occurrences.
    pub keyword_near: bool,
    /// Only named values are reported (no inverted burden for values without a key).
    pub named: bool,
    /// The value's name must match this.
    pub key: Option<RuleRegex>,
}

#[derive(Debug, Default)]
pub struct Allowlist {
    pub regexes: Vec<RuleRegex>,
    /// Lower-cased; a secret containing one of them is a placeholder.
    pub stopwords: Vec<String>,
    pub paths: Option<GlobSet>,
    pub lines: Vec<RuleRegex>,
}

/// A compiled rule, ready for the detector.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub severity: Severity,
    pub precision: String,
    pub tags: Vec<String>,
    pub help: String,
    pub help_uri: String,
    pub keywords: Vec<String>,
    /// The candidate regex; its group named `secret` is `secret_group()`.
    pub regex: RuleRegex,
    secret_group: OnceLock<usize>,
    /// The runs every match of `regex` needs, known on first use.
    runs: OnceLock<Option<Runs>>,
    pub verifier: Option<String>,
    pub secret: SecretCheck,
    pub context: Option<Context>,
    pub allowlist: Allowlist,
    pub examples: Vec<Example>,
    pub negative_examples: Vec<Example>,
    /// The file the rule came from, for messages.
    pub origin: String,
}

impl Rule {
    /// The runs of one class every match of the regex holds, if its shape says so (see
    /// `runs.rs`): the engine searches only around them.
    pub fn runs(&self) -> Option<&Runs> {
        self.runs
            .get_or_init(|| Runs::of(self.regex.pattern(), "secret"))
            .as_ref()
    }

    /// The index of the rule regex's group named `secret` (checked at load for a user's
    /// file; the defaults are checked by a test).
    pub fn secret_group(&self) -> usize {
        *self.secret_group.get_or_init(|| {
            self.regex
                .group("secret")
                .expect("embedded rule regexes have a group named secret")
        })
    }
}

/// A text a rule must (or must not) find a secret in, and the path it is judged under.
#[derive(Debug, Clone)]
pub struct Example {
    pub path: String,
    pub text: String,
    /// Evidence kinds (`key`, `call`, `host`, …) the finding must carry; empty: any.
    pub evidence: Vec<String>,
}

/// The kinds of evidence a finding can carry (`detect::EvidenceKind`), as examples name them.
pub const EVIDENCE_KINDS: &[&str] = &[
    "key", "call", "host", "block", "section", "command", "path", "flow", "nearby", "decoded",
];

/// The verifiers this build knows; a rule naming another one is rejected at load time.
pub use crate::verify::VERIFIERS;

/// Parses and compiles the rules in `text`; `origin` names the file in error messages.
pub fn parse_rules(text: &str, origin: &str) -> Result<Vec<Rule>> {
    parse(text, origin, Compile::Now)
}

/// When a rule file's regexes are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compile {
    /// At load: a user's file, whose every mistake must be reported before a scan starts.
    Now,
    /// On first use: the embedded defaults, which a test compiles whole
    /// (`default_rules_compile`). A clean pre-commit run never needs most of them, and
    /// compiling all of them was most of its start-up (about 3.5 ms of 5).
    OnFirstUse,
}

fn parse(text: &str, origin: &str, when: Compile) -> Result<Vec<Rule>> {
    let file: RuleFile = toml::from_str(text).map_err(|e| toml_error(&e, text, origin))?;
    rules_of_file(file, origin, when)
}

fn rules_of_file(file: RuleFile, origin: &str, when: Compile) -> Result<Vec<Rule>> {
    if file.rules.is_empty() {
        bail!("{origin}: no [[rules]] defined");
    }
    // Rules repeat patterns (signal, near, section_break); compiling each once halves the
    // start-up cost, which every pre-commit run pays.
    let mut cache = Cache {
        when,
        compiled: Default::default(),
    };
    let contexts = file.contexts;
    file.rules
        .into_iter()
        .map(|mut spec| {
            let id = spec.id.clone();
            let resolved = match spec.context.take() {
                Some(c) => match c.use_.clone() {
                    None => Some(c),
                    Some(name) => match contexts.get(&name) {
                        Some(base) => Some(c.over(base)),
                        None => {
                            return Err(anyhow::anyhow!(
                                "{origin}: rule '{id}': context.use names no [contexts.{name}]"
                            ))
                        }
                    },
                },
                None => None,
            };
            spec.context = resolved;
            let mut r =
                compile(spec, &mut cache).with_context(|| format!("{origin}: rule '{id}'"))?;
            r.origin = origin.to_string();
            Ok(r)
        })
        .collect()
}

/// Loads a rule file from disk.
pub fn load_file(path: &Path) -> Result<Vec<Rule>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read rule file {}", path.display()))?;
    parse_rules(&text, &path.display().to_string())
}

/// The default rules; they are tested, so failing to compile them is a bug.
pub fn default_rules() -> Vec<Rule> {
    let file: RuleFile = serde_json::from_str(DEFAULT_RULES_JSON).expect("default rules read");
    rules_of_file(file, DEFAULT_RULES_NAME, Compile::OnFirstUse).expect("default rules compile")
}

/// A TOML error as one line, `origin:LINE: message`, that never echoes the file's text: the
/// wrong file passed as a rule or config file (a `.env`) may hold a token, and the parser's
/// own display quotes the offending line. Quoted words in the message are kept only when
/// they look like the format's own key names (`unknown field `bogus``); anything else
/// quoted is shown as `…`.
pub fn toml_error(e: &toml::de::Error, text: &str, origin: &str) -> anyhow::Error {
    let place = match e.span() {
        Some(s) => {
            let line = text.as_bytes()[..s.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            format!("{origin}:{line}")
        }
        None => origin.to_string(),
    };
    anyhow::anyhow!("{place}: {}", without_quoted_text(&one_line(e.message())))
}

/// `msg` with every quoted (`"…"`, `` `…` ``, `'…'`) part that is not a plain lowercase key
/// name replaced by `…`.
pub fn without_quoted_text(msg: &str) -> String {
    let key_like = |s: &str| {
        !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-' || b == b'.')
    };
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find(['"', '`', '\'']) {
        let q = rest.as_bytes()[i] as char;
        out.push_str(&rest[..=i]);
        let after = &rest[i + 1..];
        match after.find(q) {
            Some(j) => {
                let inner = &after[..j];
                out.push_str(if key_like(inner) { inner } else { "…" });
                out.push(q);
                rest = &after[j + 1..];
            }
            None => {
                out.push('…');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Collapses a multi-line parser message into one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn compile(spec: RuleSpec, cache: &mut Cache) -> Result<Rule> {
    if spec.id.is_empty()
        || !spec
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        bail!("id must be non-empty and use only letters, digits, '-', '_' and '.'");
    }
    let severity = Severity::parse(&spec.severity).with_context(|| {
        format!(
            "severity '{}' is not one of low, medium, high, critical",
            spec.severity
        )
    })?;
    if !["very-high", "high", "medium", "low"].contains(&spec.precision.as_str()) {
        bail!(
            "precision '{}' is not one of very-high, high, medium, low",
            spec.precision
        );
    }
    let regex = compile_cached(cache, &spec.regex, "rule")?;
    if cache.when == Compile::Now && regex.group("secret").is_none() {
        bail!("regex has no named group 'secret', e.g. (?P<secret>...)");
    }
    if spec.keywords.iter().any(|k| k.is_empty()) {
        bail!("keywords must not be empty strings");
    }
    // Every rule's keywords become one literal search; a list this long is a mistake (a
    // word list pasted as keywords) and would not build in bounded memory.
    if spec.keywords.len() > MAX_KEYWORDS || spec.keywords.iter().any(|k| k.len() > 256) {
        bail!(
            "keywords: at most {MAX_KEYWORDS} keywords of at most 256 bytes each (got {})",
            spec.keywords.len()
        );
    }
    if let Some(v) = &spec.verifier {
        if v != "none" && !VERIFIERS.contains(&v.as_str()) {
            bail!(
                "unknown verifier '{v}' (known: none, {})",
                VERIFIERS.join(", ")
            );
        }
    }
    let shape = match spec.secret.shape.as_deref() {
        None | Some("any") => Shape::Any,
        Some("random") => Shape::Random,
        Some("token") => Shape::Token,
        Some(other) => bail!("secret.shape '{other}' is not one of any, token, random"),
    };
    let word_policy = match spec.secret.words.as_deref() {
        None | Some("weak") => Words::Weak,
        Some("always") => Words::Always,
        Some(other) => bail!("secret.words '{other}' is not one of weak, always"),
    };
    let decode = match spec.secret.decode.as_deref() {
        None | Some("none") => Decode::None,
        Some("base64") => Decode::Base64,
        Some(other) => bail!("secret.decode '{other}' is not one of none, base64"),
    };
    let secret_regex = spec
        .secret
        .regex
        .as_deref()
        .map(|p| compile_cached(cache, &format!("^(?:{p})$"), "secret.regex"))
        .transpose()?;
    let min_len = spec.secret.min_len.unwrap_or(1);
    let max_len = spec.secret.max_len.unwrap_or(usize::MAX);
    if min_len > max_len {
        bail!("secret.min_len {min_len} is greater than secret.max_len {max_len}");
    }
    if let Some(e) = spec.secret.min_entropy {
        if !(0.0..=8.0).contains(&e) {
            bail!("secret.min_entropy {e} is outside 0..8 bits per byte");
        }
    }
    if spec
        .context
        .as_ref()
        .is_some_and(|c| c.keyword_near == Some(true) && spec.keywords.is_empty())
    {
        bail!("context.keyword_near needs keywords");
    }
    let words = |w: Option<Vec<String>>| -> Vec<String> {
        w.unwrap_or_default()
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect()
    };
    let context = match spec.context {
        None => None,
        Some(c) => Some(Context {
            near: c
                .near
                .unwrap_or_default()
                .iter()
                .map(|p| compile_cached(cache, p, "context.near"))
                .collect::<Result<_>>()?,
            lines_before: c.lines_before.unwrap_or(5),
            lines_after: c.lines_after.unwrap_or(5),
            max_distance: c.max_distance.unwrap_or(2048).min(1 << 20),
            signal: c
                .signal
                .as_deref()
                .map(|p| compile_cached(cache, p, "context.signal"))
                .transpose()?,
            generic_key_words: words(c.generic_key_words).into_iter().collect(),
            other_owners: words(c.other_owners).into_iter().collect(),
            not_secret_words: words(c.not_secret_words).into_iter().collect(),
            hosts: words(c.hosts),
            section_break: c
                .section_break
                .as_deref()
                .map(|p| compile_cached(cache, p, "context.section_break"))
                .transpose()?,
            keyword_near: c.keyword_near.unwrap_or(false),
            named: c.named.unwrap_or(false),
            key: c
                .key
                .as_deref()
                .map(|p| compile_cached(cache, p, "context.key"))
                .transpose()?,
        }),
    };
    let paths = if spec.allowlist.paths.is_empty() {
        None
    } else {
        let mut b = GlobSetBuilder::new();
        for p in &spec.allowlist.paths {
            b.add(
                Glob::new(p)
                    .map_err(|e| anyhow::anyhow!("invalid allowlist path glob '{p}': {e}"))?,
            );
        }
        Some(b.build()?)
    };
    let allowlist = Allowlist {
        regexes: spec
            .allowlist
            .regexes
            .iter()
            .map(|p| compile_cached(cache, p, "allowlist"))
            .collect::<Result<_>>()?,
        stopwords: spec
            .allowlist
            .stopwords
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect(),
        paths,
        lines: spec
            .allowlist
            .lines
            .iter()
            .map(|p| compile_cached(cache, p, "allowlist line"))
            .collect::<Result<_>>()?,
    };
    Ok(Rule {
        help: if spec.help.trim().is_empty() {
            format!(
                "{}. Revoke the secret where it was issued, then keep it out of the repository (CI secret or environment variable).",
                spec.description
            )
        } else {
            spec.help
        },
        help_uri: spec
            .help_uri
            .unwrap_or_else(|| "https://github.com/applivery-leaks/applivery-leaks#rules".into()),
        id: spec.id,
        description: spec.description,
        severity,
        precision: spec.precision,
        tags: spec.tags,
        keywords: spec.keywords,
        secret_group: OnceLock::new(),
        runs: OnceLock::new(),
        regex,
        verifier: spec.verifier.filter(|v| v != "none"),
        secret: SecretCheck {
            min_len,
            max_len,
            min_entropy: spec.secret.min_entropy,
            shape,
            regex: secret_regex,
            decode,
            words: word_policy,
        },
        context,
        allowlist,
        examples: {
            let examples: Vec<Example> = spec.examples.into_iter().map(Example::from).collect();
            for e in &examples {
                if let Some(k) = e
                    .evidence
                    .iter()
                    .find(|k| !EVIDENCE_KINDS.contains(&k.as_str()))
                {
                    bail!(
                        "example evidence '{k}' is not one of {}",
                        EVIDENCE_KINDS.join(", ")
                    );
                }
            }
            examples
        },
        negative_examples: spec
            .negative_examples
            .into_iter()
            .map(Example::from)
            .collect(),
        origin: String::new(),
    })
}

impl From<ExampleSpec> for Example {
    fn from(e: ExampleSpec) -> Example {
        match e {
            ExampleSpec::Text(text) => Example {
                path: String::new(),
                text,
                evidence: Vec::new(),
            },
            ExampleSpec::Located {
                path,
                text,
                evidence,
            } => Example {
                path,
                text,
                evidence,
            },
        }
    }
}

/// The most keywords one rule may have.
pub const MAX_KEYWORDS: usize = 1000;

/// A rule file to load: read from `path`, or its `text` when it was already read (from the
/// base commit of a reviewed range, say, where the file on disk is the one under review).
#[derive(Debug, Clone)]
pub struct Source {
    pub path: std::path::PathBuf,
    pub text: Option<String>,
}

/// Builds the active rule set: defaults (unless disabled) plus every extra file; every rule
/// also allowlists the `placeholders` (project config). Duplicate ids are an error: reports
/// and baselines key on them. Disabling rules by id is the project config's business.
pub fn load(use_defaults: bool, extra: &[Source], placeholders: &[Regex]) -> Result<Vec<Rule>> {
    let mut rules = if use_defaults {
        default_rules()
    } else {
        Vec::new()
    };
    for f in extra {
        let loaded = match &f.text {
            Some(text) => parse_rules(text, &f.path.display().to_string())?,
            None => load_file(&f.path)?,
        };
        for r in loaded {
            if rules.iter().any(|x: &Rule| x.id == r.id) {
                bail!("{}: rule '{}' is defined twice", f.path.display(), r.id);
            }
            rules.push(r);
        }
    }
    for r in &mut rules {
        r.allowlist
            .regexes
            .extend(placeholders.iter().cloned().map(RuleRegex::from));
    }
    if rules.is_empty() {
        bail!("no rules to scan with (use --rules FILE, or drop --no-default-rules)");
    }
    Ok(rules)
}

#[cfg(test)]
mod tests;
