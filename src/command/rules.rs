//! `rules` and `rules check`: the active rules listed, and their examples run.

use std::io::{self, Write};

use anyhow::Result;

use super::output::{EXIT_CLEAN, EXIT_FINDINGS};
use crate::cli::Format;
use crate::detect::Detector;
use crate::report;
use crate::rules::Rule;

/// `rules check`: every example of every rule must be found by that rule, and no negative
/// example may be. One line per failure, then a count.
pub(crate) fn check_rules(det: Detector) -> Result<u8> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (mut run, mut failed) = (0, 0);
    for (ri, rule) in det.rules().iter().enumerate() {
        let cases = rule
            .examples
            .iter()
            .map(|e| (e, true))
            .chain(rule.negative_examples.iter().map(|e| (e, false)));
        for (n, (example, positive)) in cases.enumerate() {
            run += 1;
            let candidates = det.detect(example.text.as_bytes(), example.path.as_bytes());
            let mine: Vec<_> = candidates.iter().filter(|c| c.rule == ri).collect();
            // The evidence an example asks for must all be among a finding's.
            let missing: Vec<&str> = example
                .evidence
                .iter()
                .filter(|k| {
                    !mine
                        .iter()
                        .any(|c| c.evidence.iter().any(|e| e.kind.as_str() == k.as_str()))
                })
                .map(String::as_str)
                .collect();
            let found = !mine.is_empty();
            if found != positive || (positive && !missing.is_empty()) {
                failed += 1;
                let what = if !found && positive {
                    "example: nothing found".to_string()
                } else if positive {
                    format!("example: found without evidence {}", missing.join(", "))
                } else {
                    "negative example: found a secret".to_string()
                };
                let first = example.text.lines().next().unwrap_or_default();
                writeln!(
                    out,
                    "FAIL {}: rule '{}': {what} (#{}, {})",
                    rule.origin,
                    rule.id,
                    n + 1,
                    report::escape_control(&crate::finding::redact_line(first))
                )?;
            }
        }
    }
    writeln!(out, "{run} example(s), {failed} failed")?;
    out.flush()?;
    Ok(if failed > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

pub(crate) fn list_rules(rules: &[Rule], format: Format) -> Result<u8> {
    match write_rules(rules, format) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(EXIT_CLEAN),
        other => Ok(other.map(|()| EXIT_CLEAN)?),
    }
}

fn write_rules(rules: &[Rule], format: Format) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        Format::Json | Format::Jsonl | Format::Sarif | Format::Gitlab => {
            let v: Vec<_> = rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "description": r.description,
                        "severity": r.severity.as_str(),
                        "keywords": r.keywords,
                        "verifier": r.verifier,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        Format::Text | Format::Github | Format::Html | Format::Markdown => {
            let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in rules {
                writeln!(
                    out,
                    "{:w$}  {:8}  {}",
                    r.id,
                    r.severity.as_str(),
                    r.description
                )?;
            }
        }
    }
    out.flush()
}
