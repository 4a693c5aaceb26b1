//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers, built from the typed
//! structures of `serde-sarif` so the shape is checked by the compiler, not by hand.
//!
//! What code scanning needs, and why each piece is here:
//! - one run per report, `automationDetails.id` = `applivery-leaks/<kind>/`: the part before
//!   the last `/` is the category, so working-tree and history results never replace each
//!   other's alerts;
//! - only the rules that fired, each with descriptions, help (what the token is, how to revoke
//!   it, how to keep it out), `helpUri`, a default level and `security-severity`;
//! - locations relative to `%SRCROOT%` (mapped in `originalUriBaseIds` to the scan root), with a
//!   complete region in Unicode code points;
//! - `partialFingerprints` carrying our fingerprint (rule + path + secret hash), both under our
//!   own key and as `primaryLocationLineHash`: code scanning otherwise hashes the text around
//!   the line, so an edit above a token would close one alert and open a "new" one for the
//!   same secret. With our value it tracks one alert per secret per file however lines move;
//! - no secret anywhere (message, snippet, properties) unless `--show-secrets`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use serde_sarif::sarif::{
    Artifact, ArtifactContent, ArtifactLocation, Invocation, Location, LogicalLocation, Message,
    MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    RunAutomationDetails, Sarif, Tool, ToolComponent, VersionControlDetails,
};

use super::{short, Report, Style};
use crate::finding::{Finding, VerifyStatus};
use crate::rules::{Rule, Severity};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const INFORMATION_URI: &str = "https://github.com/applivery-leaks/applivery-leaks";
/// The key of our fingerprint in `partialFingerprints`; bump the suffix if its definition ever
/// changes, so old and new alerts are not confused.
pub const FINGERPRINT_KEY: &str = "applivery-leaks/v1";
pub const SRCROOT: &str = "%SRCROOT%";

pub fn write(report: &Report, rules: &[Rule], style: Style, out: &mut dyn Write) -> io::Result<()> {
    let log = build(report, rules, style.show_secrets);
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Builds the SARIF log of `report`.
pub fn build(report: &Report, rules: &[Rule], show: bool) -> Sarif {
    // Rules that fired, in rule-set order (stable across runs), then any rule id the rule set
    // does not know (should not happen; still reported rather than dropped).
    let mut fired: Vec<&str> = rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| report.findings.iter().any(|f| f.rule == *id))
        .collect();
    for f in &report.findings {
        if !fired.contains(&f.rule.as_str()) {
            fired.push(&f.rule);
        }
    }
    let descriptors: Vec<ReportingDescriptor> = fired
        .iter()
        .map(|id| descriptor(id, rules.iter().find(|r| r.id == *id)))
        .collect();

    let mut artifacts = Artifacts::default();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| {
            let index = fired.iter().position(|id| *id == f.rule).unwrap_or(0);
            let rule = rules.iter().find(|r| r.id == f.rule);
            let outer = artifacts.chain(f);
            result(f, rule, index, show, outer)
        })
        .collect();

    let root = absolute_root(&report.root);
    let mut base_ids = BTreeMap::new();
    base_ids.insert(
        SRCROOT.to_string(),
        ArtifactLocation::builder().uri(dir_uri(&root)).build(),
    );

    let driver = ToolComponent::builder()
        .name("applivery-leaks")
        .full_name(format!("applivery-leaks {}", env!("CARGO_PKG_VERSION")))
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(descriptors)
        .build();

    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .automation_details(
            RunAutomationDetails::builder()
                // The category is everything before the last '/'.
                .id(match &report.sarif_category {
                    Some(c) => format!("{c}/"),
                    None => format!("applivery-leaks/{}/", report.kind.as_str()),
                })
                .build(),
        )
        .original_uri_base_ids(base_ids)
        .column_kind(json!("unicodeCodePoints"))
        .invocations(vec![invocation(report)])
        .results(results)
        .build();
    if !artifacts.list.is_empty() {
        run.artifacts = Some(artifacts.list);
    }

    // A sweep of many repositories has no one repository to name (each result names its own).
    if let (Some(g), None) = (&report.summary.git, &report.summary.repositories) {
        let mut vcs = VersionControlDetails::builder()
            .repository_uri(dir_uri(&root))
            .mapped_to(ArtifactLocation::builder().uri_base_id(SRCROOT).build())
            .build();
        vcs.revision_id = g.head.clone();
        run.version_control_provenance = Some(vec![vcs]);
        let mut props = BTreeMap::new();
        props.insert("commits_walked".to_string(), json!(g.commits));
        props.insert("blobs_scanned".to_string(), json!(g.blobs));
        props.insert("shallow".to_string(), json!(g.shallow));
        run.properties = Some(PropertyBag::builder().additional_properties(props).build());
    }

    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn descriptor(id: &str, rule: Option<&Rule>) -> ReportingDescriptor {
    let description = rule.map_or("Applivery secret", |r| r.description.as_str());
    let help_body = match rule.map(|r| r.help.trim()) {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => generic_help(description),
    };
    let first_paragraph = help_body
        .split("\n\n")
        .next()
        .unwrap_or(&help_body)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let help_uri = rule
        .map(|r| r.help_uri.trim())
        .filter(|u| !u.is_empty())
        .unwrap_or(INFORMATION_URI);
    let severity = rule.map_or(Severity::High, |r| r.severity);
    let mut tags = rule.map(|r| r.tags.clone()).unwrap_or_default();
    for t in ["security", "secret"] {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    let mut props = BTreeMap::new();
    props.insert(
        "precision".to_string(),
        json!(rule.map_or("medium", |r| r.precision.as_str())),
    );
    props.insert("security-severity".to_string(), json!(severity.score()));
    props.insert("severity".to_string(), json!(severity.as_str()));

    ReportingDescriptor::builder()
        .id(id)
        .name(pascal_case(id))
        .short_description(
            MultiformatMessageString::builder()
                .text(sentence(description))
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(sentence(&first_paragraph.replace('`', "")))
                .markdown(sentence(&first_paragraph))
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help_body.replace('`', ""))
                .markdown(format!("**{}**\n\n{}", sentence(description), help_body))
                .build(),
        )
        .help_uri(help_uri)
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(severity_level(severity)))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(tags)
                .additional_properties(props)
                .build(),
        )
        .build()
}

/// Help for a user rule that brings none: every rule must tell people what to do.
fn generic_help(description: &str) -> String {
    format!(
        "{} was found in the scanned content. Anyone who can read the repository, or its \
         history, can use it.\n\n\
         To fix it:\n\
         1. Revoke it in the Applivery dashboard (delete the token and create a new one).\n\
         2. Store the new one as a CI secret and read it from the environment.\n\
         3. Removing it from the latest commit is not enough: it stays in git history. \
         Revoking it is what makes it harmless.",
        sentence(description).trim_end_matches('.')
    )
}

pub(super) fn severity_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The artifacts of findings inside archives: the outer file, then each member nested in the
/// one before it (`parentIndex`), each chain listed once.
#[derive(Default)]
struct Artifacts {
    list: Vec<Artifact>,
    index: BTreeMap<Vec<String>, usize>,
}

impl Artifacts {
    /// Lists the chain of `f` if it is a member of an archive; returns the index of the
    /// outermost artifact (the file the result points at).
    fn chain(&mut self, f: &Finding) -> Option<usize> {
        if f.provenance.members.is_empty() || !f.provenance.is_file_path() {
            return None;
        }
        let chain = f.provenance.chain();
        let mut parent: Option<usize> = None;
        for depth in 1..=chain.len() {
            let key = chain[..depth].to_vec();
            let at = match self.index.get(&key) {
                Some(&i) => i,
                None => {
                    let mut location = if depth == 1 {
                        artifact_location(&chain[0])
                    } else {
                        // A member's URI is relative to its parent artifact.
                        ArtifactLocation::builder()
                            .uri(encode_path(&chain[depth - 1]))
                            .build()
                    };
                    location.index = Some(self.list.len() as i64);
                    let mut a = Artifact::builder().location(location).build();
                    a.parent_index = parent.map(|p| p as i64);
                    // Each one was read, and saying so keeps the list from being only
                    // locations (SARIF2004).
                    a.roles = Some(vec![serde_json::json!("analysisTarget")]);
                    self.list.push(a);
                    self.index.insert(key, self.list.len() - 1);
                    self.list.len() - 1
                }
            };
            parent = Some(at);
        }
        self.index.get(&chain[..1]).copied()
    }
}

fn result(
    f: &Finding,
    rule: Option<&Rule>,
    index: usize,
    show: bool,
    outer: Option<usize>,
) -> SarifResult {
    let description = rule.map_or("Applivery secret", |r| r.description.as_str());
    let severity = rule.map_or(Severity::High, |r| r.severity);
    // A live token is an open door whatever the rule says; a revoked one is only history.
    let level = match f.verification.as_ref().map(|v| v.status) {
        Some(VerifyStatus::Live) => ResultLevel::Error,
        Some(VerifyStatus::Revoked) => ResultLevel::Note,
        _ => match severity_level(severity) {
            "error" => ResultLevel::Error,
            "warning" => ResultLevel::Warning,
            _ => ResultLevel::Note,
        },
    };

    let mut text = format!(
        "{} '{}' (sha256 {}…)",
        description.trim_end_matches('.'),
        f.shown_secret(show),
        short(&f.secret_sha256)
    );
    if let Some(g) = &f.git {
        text.push_str(&format!(
            " introduced in commit {} at '{}'",
            short(&g.commit),
            f.path
        ));
        if g.in_head {
            text.push_str(", still present at HEAD");
        }
    }
    if let Some(v) = &f.verification {
        text.push_str(&format!("; verification: {}", v.status.as_str()));
        if let Some(b) = &v.blast_radius {
            text.push_str(&format!(" ({})", super::text::blast_radius(b)));
        }
    }
    text.push('.');

    let snippet = f.shown_context(show).to_string();
    // The region is exactly the secret, so its snippet is the secret as shown; the context
    // region is the whole line, redacted.
    let region = Region::builder()
        .start_line(f.line as i64)
        .start_column(f.column as i64)
        .end_line(f.end_line as i64)
        .end_column(f.end_column as i64)
        .snippet(
            ArtifactContent::builder()
                .text(f.shown_secret(show))
                .build(),
        )
        .build();
    let context_region = Region::builder()
        .start_line(f.line as i64)
        .end_line(f.end_line as i64)
        .snippet(ArtifactContent::builder().text(snippet).build())
        .build();
    // A member of an archive points at the archive file (code scanning can show that), with
    // the member's chain in a logical location. Its lines are the member's, not the file's:
    // the region is the archive's first line, standing for the file as a whole (code
    // scanning wants a line), and the message names the member's line.
    let mut art = match outer {
        Some(_) => artifact_location(&f.provenance.outer()),
        None => artifact_location(&f.path),
    };
    art.index = outer.map(|i| i as i64);
    let mut physical = PhysicalLocation::builder().artifact_location(art).build();
    // SARIF positions are 1-based; a finding without a position (a token given to `verify`)
    // names only its artifact.
    if outer.is_none() && f.line >= 1 && f.column >= 1 && f.end_line >= f.line && f.end_column >= 1
    {
        physical.region = Some(region);
        physical.context_region = Some(context_region);
    } else if outer.is_some() {
        physical.region = Some(Region::builder().start_line(1).build());
    }
    let mut location = Location::builder().physical_location(physical).build();
    if outer.is_some() {
        location.logical_locations = Some(vec![LogicalLocation::builder()
            .name(f.provenance.members.last().cloned().unwrap_or_default())
            .fully_qualified_name(f.path.clone())
            .kind("member")
            .build()]);
        location.message = Some(
            Message::builder()
                .text(format!(
                    "Line {} of '{}'.",
                    f.line,
                    // Innermost first: "Line 3 of 'Info.plist' inside 'Payload.zip'".
                    f.provenance
                        .members
                        .iter()
                        .rev()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("' inside '")
                ))
                .build(),
        );
    }
    if let (Some(g), None) = (&f.git, outer) {
        location.logical_locations = Some(vec![LogicalLocation::builder()
            .name(f.path.clone())
            .fully_qualified_name(match &f.provenance.repository {
                Some(r) => format!("{r}@{}:{}", g.commit, f.path),
                None => format!("{}:{}", g.commit, f.path),
            })
            .kind("resource")
            .build()]);
        location.message = Some(
            Message::builder()
                .text(format!("'{}' in commit {}.", f.path, short(&g.commit)))
                .build(),
        );
    }

    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(FINGERPRINT_KEY.to_string(), f.fingerprint.clone());
    fingerprints.insert("primaryLocationLineHash".to_string(), f.fingerprint.clone());

    let mut props = BTreeMap::new();
    props.insert("secret_sha256".to_string(), json!(f.secret_sha256));
    if !f.decoded.is_empty() {
        props.insert("decoded".to_string(), json!(f.decoded));
    }
    props.insert("fingerprint".to_string(), json!(f.fingerprint));
    props.insert(
        "provenance".to_string(),
        super::json::provenance_value(&f.provenance),
    );
    if show {
        props.insert("secret".to_string(), json!(f.secret));
    }
    if let Some(r) = &f.provenance.repository {
        // A sweep of many repositories: which one (its password-free identity).
        props.insert("repository".to_string(), json!(r));
    }
    if let Some(g) = &f.git {
        props.insert("commit".to_string(), json!(g.commit));
        props.insert("author".to_string(), json!(g.author_name));
        props.insert("email".to_string(), json!(g.author_email));
        props.insert("date".to_string(), json!(g.date));
        props.insert("commit_summary".to_string(), json!(g.summary));
        props.insert("commits".to_string(), json!(g.commits));
        props.insert("commit_count".to_string(), json!(g.commit_count));
        props.insert("in_head".to_string(), json!(g.in_head));
    }
    if let Some(v) = &f.verification {
        props.insert(
            "verification".to_string(),
            super::json::verification_value(v),
        );
    }

    SarifResult::builder()
        .rule_id(f.rule.clone())
        .rule_index(index as i64)
        .level(level)
        .message(Message::builder().text(text).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build()
}

/// Unread inputs are errors, deliberately skipped ones notes, warnings warnings: code
/// scanning shows them as tool notifications, so a partial scan is never mistaken for a clean one.
fn invocation(report: &Report) -> Invocation {
    let problem = |level, verb, p: &super::Problem| {
        let text = format!("{verb} '{}': {}.", p.path, p.reason.trim_end_matches('.'));
        notification(level, text, Some(&p.path))
    };
    let mut notes: Vec<Notification> = report
        .errors
        .iter()
        .map(|e| problem("error", "Cannot read", e))
        .collect();
    for w in &report.warnings {
        notes.push(notification(
            "warning",
            sentence(w.trim_end_matches('.')),
            None,
        ));
    }
    notes.extend(
        report
            .summary
            .skipped
            .iter()
            .map(|s| problem("note", "Not scanned", s)),
    );
    let mut inv = Invocation::builder()
        .execution_successful(report.errors.is_empty())
        .build();
    if !notes.is_empty() {
        inv.tool_execution_notifications = Some(notes);
    }
    inv
}

fn notification(level: &str, text: String, path: Option<&str>) -> Notification {
    let mut n = Notification::builder()
        .level(json!(level))
        .message(Message::builder().text(text).build())
        .build();
    if let Some(p) = path.filter(|p| !p.is_empty()) {
        n.locations = Some(vec![Location::builder()
            .physical_location(
                PhysicalLocation::builder()
                    .artifact_location(artifact_location(p))
                    .build(),
            )
            .build()]);
    }
    n
}

/// A path relative to the scan root becomes a relative URI under `%SRCROOT%`; a path outside
/// it (reported absolute) becomes a `file:` URI of its own.
fn artifact_location(path: &str) -> ArtifactLocation {
    if path.starts_with('/') {
        ArtifactLocation::builder()
            .uri(format!("file://{}", encode_path(path)))
            .build()
    } else {
        ArtifactLocation::builder()
            .uri(encode_path(path))
            .uri_base_id(SRCROOT)
            .build()
    }
}

fn absolute_root(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(root))
            .unwrap_or_else(|_| root.to_path_buf())
    })
}

/// `file:///abs/dir/`: absolute, percent-encoded, ending in `/` as `originalUriBaseIds` requires.
fn dir_uri(dir: &Path) -> String {
    let s = dir.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !s.starts_with('/') {
        uri.push('/');
    }
    uri.push_str(&encode_path(&s));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Percent-encodes everything but unreserved characters and `/` (RFC 3986), byte by byte of
/// the UTF-8 form: spaces, `#`, `%`, `?`, `:` and non-ASCII names stay unambiguous paths.
pub fn encode_path(path: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    // RFC 3986 unreserved characters stay, and `/` separates path segments.
    const KEEP: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(path, KEEP).to_string()
}

/// SARIF consumers want messages to be sentences ending with a period.
fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// `applivery-app-token` → `AppliveryAppToken`: the rule's friendly name.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(
            encode_path("a b/ñ#%?:x.env"),
            "a%20b/%C3%B1%23%25%3F%3Ax.env"
        );
        assert_eq!(encode_path("src/main.rs"), "src/main.rs");
    }

    #[test]
    fn dir_uri_is_absolute_and_ends_in_slash() {
        assert_eq!(dir_uri(Path::new("/tmp/a b")), "file:///tmp/a%20b/");
        assert_eq!(dir_uri(Path::new("/")), "file:///");
    }

    #[test]
    fn names_and_sentences() {
        assert_eq!(pascal_case("applivery-app-token"), "AppliveryAppToken");
        assert_eq!(sentence("Token"), "Token.");
        assert_eq!(sentence("Token."), "Token.");
    }

    use crate::finding::{BlastRadius, Evidence, GitInfo, Verification};
    use crate::report::{GitSummary, Problem, ScanKind};

    const T1: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA";
    const T2: &str = "Qw8rT5yU1iO3pA6sD9fG2hJk";

    /// A history report with provenance and verification: the parts the binary cannot
    /// produce until the `git` and `verify` commands exist.
    fn git_report() -> Report {
        let mut r = Report::new(ScanKind::Git, PathBuf::from("/tmp/repo with space"));
        let commit = "0123456789abcdef0123456789abcdef01234567".to_string();
        for (i, (tok, status)) in [(T1, VerifyStatus::Live), (T2, VerifyStatus::Revoked)]
            .into_iter()
            .enumerate()
        {
            let mut f = Finding::new(
                "applivery-app-token",
                format!("config/app {i}.env"),
                3,
                21,
                3,
                45,
                tok.to_string(),
                format!("APPLIVERY_APP_TOKEN={tok}"),
            );
            f.git = Some(GitInfo {
                commit: commit.clone(),
                author_name: "Dev".into(),
                author_email: "dev@example.com".into(),
                date: "2026-01-02T03:04:05Z".into(),
                summary: "Add CI".into(),
                commits: vec![commit.clone()],
                commit_count: 1,
                in_head: i == 0,
                last: None,
            });
            f.verification = Some(Verification {
                status,
                reason: "HTTP status".into(),
                checked_at: "2026-01-02T03:04:05Z".into(),
                evidence: Some(Evidence {
                    endpoint: "https://api.applivery.io/v1/integrations/builds".into(),
                    http_status: Some(200),
                    api_error: None,
                }),
                blast_radius: (status == VerifyStatus::Live).then(|| BlastRadius::App {
                    application_id: Some("5f0c0ffee0c0ffee0c0ffee0".into()),
                    application_name: Some("Field Sales".into()),
                    builds: 42,
                }),
            });
            r.findings.push(f);
        }
        r.errors.push(Problem::new("deadbeef", "corrupt object"));
        r.warnings
            .push("shallow clone: history is truncated".into());
        r.summary.git = Some(GitSummary {
            commits: 3,
            blobs: 4,
            shallow: true,
            secrets: Vec::new(),
            head: Some(commit),
        });
        r
    }

    fn rules() -> Vec<Rule> {
        crate::rules::default_rules()
    }

    #[test]
    fn history_results_carry_provenance_and_verification() {
        let v = serde_json::to_value(build(&git_report(), &rules(), false)).unwrap();
        let text = v.to_string();
        assert!(!text.contains(T1) && !text.contains(T2), "{text}");
        let run = &v["runs"][0];
        assert_eq!(run["automationDetails"]["id"], "applivery-leaks/git/");
        let vcs = &run["versionControlProvenance"][0];
        assert_eq!(
            vcs["revisionId"],
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(vcs["repositoryUri"], "file:///tmp/repo%20with%20space/");
        let r0 = &run["results"][0];
        assert_eq!(r0["level"], "error");
        assert_eq!(r0["properties"]["commit"], vcs["revisionId"]);
        assert_eq!(r0["properties"]["in_head"], true);
        assert_eq!(r0["properties"]["commit_count"], 1);
        assert_eq!(r0["properties"]["verification"]["status"], "live");
        let v0 = &r0["properties"]["verification"];
        assert_eq!(v0["http_status"], 200);
        assert_eq!(
            v0["endpoint"],
            "https://api.applivery.io/v1/integrations/builds"
        );
        assert_eq!(v0["blast_radius"]["builds"], 42);
        assert_eq!(v0["blast_radius"]["application_name"], "Field Sales");
        assert!(
            r0["message"]["text"]
                .as_str()
                .unwrap()
                .contains("app 'Field Sales' (5f0c0ffee0c0ffee0c0ffee0), 42 build(s)"),
            "{}",
            r0["message"]["text"]
        );
        let loc = &r0["locations"][0];
        assert_eq!(
            loc["logicalLocations"][0]["fullyQualifiedName"],
            "0123456789abcdef0123456789abcdef01234567:config/app 0.env"
        );
        assert!(loc["message"]["text"]
            .as_str()
            .unwrap()
            .contains("0123456789ab"));
        assert_eq!(
            loc["physicalLocation"]["artifactLocation"]["uri"],
            "config/app%200.env"
        );
        assert_eq!(run["results"][1]["level"], "note");
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false);
        let levels: Vec<&str> = inv["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["error", "warning"]);
        // The context snippet is the finding's redacted line.
        for r in run["results"].as_array().unwrap() {
            let snip = r["locations"][0]["physicalLocation"]["contextRegion"]["snippet"]["text"]
                .as_str()
                .unwrap();
            assert!(
                snip.starts_with("APPLIVERY_APP_TOKEN=") && snip.ends_with('…'),
                "{snip}"
            );
        }
        // For the external validator (scripts/check-sarif.sh): write the sample out.
        if let Some(dir) = std::env::var_os("APPLIVERY_LEAKS_SARIF_SAMPLES") {
            let path = Path::new(&dir).join("git-sample.sarif");
            let mut f = std::fs::File::create(path).unwrap();
            let style = Style {
                format: crate::report::Format::Sarif,
                show_secrets: false,
                color: false,
            };
            write(&git_report(), &rules(), style, &mut f).unwrap();
        }
    }

    #[test]
    fn show_secrets_puts_the_secret_in_snippet_and_properties() {
        let v = serde_json::to_value(build(&git_report(), &rules(), true)).unwrap();
        let r = &v["runs"][0]["results"][0];
        assert_eq!(r["properties"]["secret"], T1);
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["snippet"]["text"],
            T1
        );
    }

    #[test]
    fn a_finding_without_position_has_no_region() {
        let mut r = Report::new(ScanKind::Verify, PathBuf::from("/"));
        r.findings.push(Finding::new(
            "applivery-app-token",
            crate::provenance::Provenance::new(crate::provenance::Origin::Argument(1)),
            0,
            0,
            0,
            0,
            T1.into(),
            String::new(),
        ));
        let v = serde_json::to_value(build(&r, &rules(), false)).unwrap();
        let pl = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(pl["artifactLocation"]["uri"], "%3Cargument%201%3E");
        assert!(pl.get("region").is_none() && pl.get("contextRegion").is_none());
        assert_eq!(
            v["runs"][0]["automationDetails"]["id"],
            "applivery-leaks/verify/"
        );
    }

    /// Names in a result's chain (`a!/b!/c` is 3).
    fn fq_depth(res: &serde_json::Value) -> usize {
        res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .unwrap()
            .split("!/")
            .count()
    }

    #[test]
    fn archive_members_nest_as_artifacts_and_point_at_the_archive() {
        use crate::provenance::Provenance;
        let mut r = Report::new(ScanKind::Dir, PathBuf::from("/"));
        let apk = Provenance::file("build/app.apk");
        for (p, line) in [
            (apk.member("classes.dex"), 3),
            (apk.member("assets/inner.zip").member("config.json"), 7),
            (apk.member("assets/inner.zip").member("b.env"), 1),
        ] {
            r.findings.push(Finding::new(
                "applivery-app-token",
                p,
                line,
                5,
                line,
                29,
                T1.into(),
                String::new(),
            ));
        }
        let v = serde_json::to_value(build(&r, &rules(), false)).unwrap();
        let run = &v["runs"][0];
        let uris: Vec<(String, Option<i64>)> = run["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["location"]["uri"].as_str().unwrap().to_string(),
                    a["parentIndex"].as_i64(),
                )
            })
            .collect();
        assert_eq!(
            uris,
            vec![
                ("build/app.apk".to_string(), None),
                ("classes.dex".to_string(), Some(0)),
                ("assets/inner.zip".to_string(), Some(0)),
                ("config.json".to_string(), Some(2)),
                ("b.env".to_string(), Some(2)),
            ]
        );
        for res in run["results"].as_array().unwrap() {
            let pl = &res["locations"][0]["physicalLocation"];
            assert_eq!(pl["artifactLocation"]["uri"], "build/app.apk");
            assert_eq!(pl["artifactLocation"]["index"], 0);
            // The archive as a whole: its first line, with the member's line in the message.
            assert_eq!(pl["region"], json!({"startLine": 1}));
            let msg = res["locations"][0]["message"]["text"].as_str().unwrap();
            assert!(msg.starts_with("Line "), "{msg}");
            if fq_depth(res) == 3 {
                assert!(msg.contains("' inside 'assets/inner.zip'"), "{msg}");
            }
            let fq = res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                .as_str()
                .unwrap();
            assert!(fq.starts_with("build/app.apk!/"), "{fq}");
        }
    }
}
