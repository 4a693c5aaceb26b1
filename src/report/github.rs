//! GitHub Actions workflow commands: one `::error` / `::warning` / `::notice` annotation per
//! finding, so a pull request shows the leak on the diff even in a private repository without
//! code scanning. GitHub reads the commands from the job log, so this format is meant for
//! standard output.
//!
//! Annotations are shown to everyone who can read the run and are kept with it, and GitHub
//! masks only values registered as secrets: the secret is always redacted here, even with
//! `--show-secrets`. Values are escaped by GitHub's rules (`%`, CR and LF in the message;
//! also `:` and `,` in properties), so a file name cannot end a property or start a command.

use std::io::{self, Write};

use super::{sarif, short, Report, Style};
use crate::finding::{Finding, VerifyStatus};
use crate::rules::{Rule, Severity};

pub fn write(
    report: &Report,
    rules: &[Rule],
    _style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    for f in &report.findings {
        let rule = rules.iter().find(|r| r.id == f.rule);
        writeln!(out, "{}", annotation(f, rule))?;
    }
    for e in &report.errors {
        writeln!(
            out,
            "::error title={}::{}",
            property("applivery-leaks: input not scanned"),
            data(&format!("cannot read {}: {}", e.path, e.reason))
        )?;
    }
    for w in &report.warnings {
        writeln!(out, "::warning title=applivery-leaks::{}", data(w))?;
    }
    // A plain line, not a command: the log says what was looked at even when nothing was found.
    writeln!(
        out,
        "applivery-leaks: {} finding(s); scanned {} file(s)",
        report.findings.len(),
        report.summary.files
    )
}

/// The workflow command of one finding.
fn annotation(f: &Finding, rule: Option<&Rule>) -> String {
    let description = rule.map_or("Applivery secret", |r| r.description.as_str());
    // Same levels as SARIF: a live token is an open door, a revoked one only history.
    let level = match f.verification.as_ref().map(|v| v.status) {
        Some(VerifyStatus::Live) => "error",
        Some(VerifyStatus::Revoked) => "notice",
        _ => match sarif::severity_level(rule.map_or(Severity::High, |r| r.severity)) {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        },
    };
    let mut props = Vec::new();
    // Commit and tag messages have no file to point at; `verify` findings have no position;
    // a member of an archive points at the archive, without a position in it.
    let p = &f.provenance;
    if p.is_file_path() && p.members.is_empty() && f.line > 0 {
        props.push(format!("file={}", property(&f.path)));
        props.push(format!("line={}", f.line));
        props.push(format!("endLine={}", f.end_line));
        props.push(format!("col={}", f.column));
        props.push(format!("endColumn={}", f.end_column));
    } else if p.is_file_path() {
        props.push(format!("file={}", property(&p.outer())));
    }
    props.push(format!("title={}", property(description)));

    let mut msg = format!(
        "{} '{}' (sha256 {}…), rule {}, fingerprint {}",
        description.trim_end_matches('.'),
        f.shown_secret(false),
        short(&f.secret_sha256),
        f.rule,
        f.fingerprint
    );
    if f.line == 0 || !p.is_file_path() || !p.members.is_empty() {
        msg.push_str(&format!(", in {}", f.path));
    }
    if let Some(r) = &p.repository {
        msg.push_str(&format!(", repository {r}"));
    }
    if let Some(g) = &f.git {
        msg.push_str(&format!("; introduced in commit {}", short(&g.commit)));
        if g.in_head {
            msg.push_str(", still present at HEAD");
        }
    }
    if let Some(v) = &f.verification {
        msg.push_str(&format!(
            "; verification: {} ({})",
            v.status.as_str(),
            v.reason
        ));
    }
    msg.push_str(
        ".\nRevoke the token in the Applivery dashboard and read it from a CI secret instead; \
         a value that only looks like a token can be marked with applivery-leaks:allow.",
    );
    format!("::{level} {}::{}", props.join(","), data(&msg))
}

/// Escapes the message of a workflow command.
fn data(s: &str) -> String {
    escape(s, false)
}

/// Escapes a property value of a workflow command.
fn property(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            // GitHub decodes nothing else; other control characters become visible escapes
            // rather than reaching the log raw.
            c if c.is_control() && c != '\t' => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_and_line_breaks_only() {
        assert_eq!(data("50% a:b,c\r\nd"), "50%25 a:b,c%0D%0Ad");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(property("a,b:c%d\ne"), "a%2Cb%3Ac%25d%0Ae");
    }

    #[test]
    fn control_characters_never_reach_the_log_raw() {
        assert_eq!(property("x\u{1b}[2Jy"), "x\\u{1b}[2Jy");
    }

    #[test]
    fn an_escaped_value_cannot_start_a_command_or_end_a_property() {
        let hostile = "x\n::error file=evil::pwned,title=y";
        for v in [data(hostile), property(hostile)] {
            assert!(!v.contains('\n') && !v.contains('\r'), "{v}");
        }
        assert!(!property(hostile).contains(',') && !property(hostile).contains("::"));
    }
}
