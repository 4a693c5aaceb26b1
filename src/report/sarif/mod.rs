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
    Notification, PhysicalLocation, PropertyBag, Region, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, RunAutomationDetails, Sarif, Tool, ToolComponent,
    VersionControlDetails,
};

use super::{short, Report, Style};

mod rules;
use crate::finding::{Finding, VerifyStatus};
use crate::rules::{Rule, Severity};
pub(super) use rules::severity_level;
use rules::{descriptor, sentence};

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
    if !f.evidence.is_empty() {
        props.insert(
            "evidence".to_string(),
            super::json::evidence_value(&f.evidence),
        );
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

#[cfg(test)]
mod tests;
