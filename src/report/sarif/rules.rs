//! The rules of a SARIF run (`tool.driver.rules`): what code scanning shows beside an alert —
//! a name, descriptions, help that says how to revoke and keep the token out, a help link, a
//! default level and `security-severity`.

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif::{
    MultiformatMessageString, PropertyBag, ReportingConfiguration, ReportingDescriptor,
};

use super::INFORMATION_URI;
use crate::rules::{Rule, Severity};

pub(super) fn descriptor(id: &str, rule: Option<&Rule>) -> ReportingDescriptor {
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

pub(crate) fn severity_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// SARIF consumers want messages to be sentences ending with a period.
pub(super) fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// `applivery-app-token` → `AppliveryAppToken`: the rule's friendly name.
pub(super) fn pascal_case(id: &str) -> String {
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
