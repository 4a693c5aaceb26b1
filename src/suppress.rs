//! Suppression: the ways a team says "this finding is known and accepted" — the project
//! config's `exclude` globs, an inline marker on the line, the `.applivery-leaksignore` file
//! and a `--baseline` report. Each hidden finding is counted under the mechanism that hid it,
//! so a summary never claims "clean" without saying what was left out, and `--no-suppress`
//! shows everything. Ignore-file and baseline entries match on the fingerprint (rule + path +
//! secret hash): they survive moved lines but not a changed token, which must be looked at
//! again. `--report-unused` lists entries that matched nothing, so stale ones get removed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use crate::config::Config;
use crate::report::{Report, Unused};

/// The ignore file discovered at the scan root.
pub const IGNORE_FILE: &str = ".applivery-leaksignore";

pub const CONFIG_EXCLUDE: &str = "config-exclude";
pub const CONFIG_DISABLE: &str = "config-disable";
pub const PLACEHOLDER: &str = "placeholder";
pub const INLINE: &str = "inline";
pub const IGNORE: &str = "ignore-file";
pub const BASELINE: &str = "baseline";

/// One fingerprint of an ignore file or baseline, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub fingerprint: String,
    pub file: String,
    pub line: Option<usize>,
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses an ignore file: one fingerprint per line; `#` starts a comment (whole line or
/// after the fingerprint); blank lines are fine. Anything else is an error at its line — the
/// offending text is not echoed, as it may be a pasted secret.
pub fn parse_ignore(text: &str, file: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if !is_fingerprint(line) {
            bail!(
                "{file}:{}: expected a finding fingerprint (32 lowercase hex digits, as in \
                 reports), optionally followed by a # comment",
                i + 1
            );
        }
        out.push(Entry {
            fingerprint: line.to_string(),
            file: file.to_string(),
            line: Some(i + 1),
        });
    }
    Ok(out)
}

/// Reads `.applivery-leaksignore` at `root`, if present.
pub fn load_ignore(root: &Path) -> Result<Vec<Entry>> {
    let path = crate::config::at_root(root, IGNORE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read ignore file {}", path.display()))
        }
    };
    parse_ignore(&text, &path.display().to_string())
}

#[derive(Deserialize)]
struct BaselineReport {
    findings: Vec<BaselineFinding>,
}

#[derive(Deserialize)]
struct BaselineFinding {
    fingerprint: String,
}

/// Parses a previous report — JSON (`--format json`) or JSON Lines (`--format jsonl`) — into
/// its fingerprints, each with the line where it first appears. Only each finding's
/// `fingerprint` is read, so reports of any scan kind, and of later schema versions that keep
/// that field, work.
pub fn parse_baseline(text: &str, file: &str) -> Result<Vec<Entry>> {
    // serde_json appends " at line L column C"; the place goes first instead.
    let place = |e: &serde_json::Error, line: usize| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        match e.column() {
            0 => (format!("{file}:{line}"), msg),
            c => (format!("{file}:{line}:{c}"), msg),
        }
    };
    // A JSON report, read once into only what is needed (the common case, and the size that
    // matters: a monorepo's baseline of 100k findings); else JSON Lines; else the precise
    // error, from a second look.
    let typed = serde_json::from_str::<BaselineReport>(text);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let jsonl = typed.is_err()
        && serde_json::from_str::<serde_json::Value>(first)
            .is_ok_and(|v| v.get("fingerprint").is_some());
    let findings: Vec<BaselineFinding> = if let Ok(report) = typed {
        report.findings
    } else if jsonl {
        let mut v = Vec::new();
        for (i, l) in text.lines().enumerate() {
            if !l.trim().is_empty() {
                v.push(serde_json::from_str(l).map_err(|e| {
                    let (at, msg) = place(&e, i + 1);
                    anyhow::anyhow!("{at}: not a finding with a string \"fingerprint\": {msg}")
                })?);
            }
        }
        v
    } else {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let (at, msg) = place(&e, e.line());
            anyhow::anyhow!("{at}: invalid JSON: {msg}")
        })?;
        if !v.get("findings").is_some_and(|f| f.is_array()) {
            bail!(
                "{file}:1: not an applivery-leaks JSON report: no \"findings\" array (create \
                 one with --format json --output FILE)"
            );
        }
        let report: BaselineReport = serde_json::from_str(text).map_err(|e| {
            let (at, msg) = place(&e, e.line());
            anyhow::anyhow!("{at}: every finding needs a string \"fingerprint\": {msg}")
        })?;
        report.findings
    };
    // The line where each fingerprint first appears, in one pass over the text (searching
    // the text once per finding made a 100k-finding baseline take minutes).
    let lines = first_lines(text);
    let line_of = |fp: &str| lines.get(fp).copied();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for f in findings {
        let line = line_of(&f.fingerprint);
        if !is_fingerprint(&f.fingerprint) {
            // Once, on the way out: search the text for the bad value itself.
            let line = line.or_else(|| {
                text.find(&format!("\"{}\"", f.fingerprint))
                    .map(|at| text[..at].matches('\n').count() + 1)
            });
            let at = line.map(|l| format!(":{l}")).unwrap_or_default();
            bail!("{file}{at}: \"fingerprint\" is not a fingerprint (32 lowercase hex digits)");
        }
        if seen.insert(f.fingerprint.clone()) {
            out.push(Entry {
                fingerprint: f.fingerprint,
                file: file.to_string(),
                line,
            });
        }
    }
    Ok(out)
}

/// The 1-based line where each quoted string of 32 characters (a fingerprint's shape) first
/// appears in `text`.
fn first_lines(text: &str) -> HashMap<&str, usize> {
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let b = line.as_bytes();
        let mut at = 0;
        while let Some(q) = line[at..].find('"') {
            let start = at + q + 1;
            let end = start + 32;
            if b.get(end) == Some(&b'"') && line.is_char_boundary(end) {
                out.entry(&line[start..end]).or_insert(i + 1);
                at = end + 1;
            } else {
                at = start;
            }
        }
    }
    out
}

/// Reads a baseline report; it is never written back.
pub fn load_baseline(path: &PathBuf) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    parse_baseline(&text, &path.display().to_string())
}

/// Removes suppressed findings from `report`, counting each under the first mechanism that
/// hides it (config exclude, a rule the config disables, a config placeholder, inline
/// marker, ignore file, baseline), and with
/// `--report-unused` records the ignore-file and baseline entries that matched no finding.
/// With `--no-suppress` nothing is removed or counted.
pub fn filter(
    report: &mut Report,
    cfg: &Config,
    ignore: &[Entry],
    baseline: &[Entry],
    no_suppress: bool,
    report_unused: bool,
) {
    let mut filter = Filter::new(cfg, ignore, baseline, no_suppress, report_unused);
    let mut findings = std::mem::take(&mut report.findings);
    findings.retain(|f| {
        filter.keep(
            &f.path,
            &f.rule,
            &f.secret,
            f.inline_allowed,
            Some(&f.fingerprint),
        )
    });
    report.findings = findings;
    filter.finish(report);
}

/// [`filter`] one finding at a time, for findings that are not held in a report (a scan
/// that writes its findings as it unpacks them): `keep` each, then `finish` the report.
pub struct Filter<'a> {
    cfg: &'a Config,
    ignore: &'a [Entry],
    baseline: &'a [Entry],
    ignored: HashSet<&'a str>,
    based: HashSet<&'a str>,
    /// The entries' fingerprints that findings in scope carry: such an entry is in use, even
    /// when an inline marker hides that finding first. Only entries are remembered, not every
    /// finding's fingerprint (a million copies at the end of a scan of a million findings).
    seen: HashSet<&'a str>,
    counts: HashMap<&'static str, u64>,
    no_suppress: bool,
    report_unused: bool,
}

impl<'a> Filter<'a> {
    pub fn new(
        cfg: &'a Config,
        ignore: &'a [Entry],
        baseline: &'a [Entry],
        no_suppress: bool,
        report_unused: bool,
    ) -> Filter<'a> {
        Filter {
            cfg,
            ignore,
            baseline,
            ignored: ignore.iter().map(|e| e.fingerprint.as_str()).collect(),
            based: baseline.iter().map(|e| e.fingerprint.as_str()).collect(),
            seen: HashSet::new(),
            counts: HashMap::new(),
            no_suppress,
            report_unused,
        }
    }

    /// Whether [`Filter::keep`] looks at fingerprints; when it does not, it may be given none.
    pub fn needs_fingerprints(&self) -> bool {
        self.report_unused || !self.ignored.is_empty() || !self.based.is_empty()
    }

    /// Whether the finding at `path` of `rule` with `secret` is kept; a hidden one is counted
    /// under the first mechanism that hides it. `fingerprint` may be `None` only when
    /// [`Filter::needs_fingerprints`] is false.
    pub fn keep(
        &mut self,
        path: &str,
        rule: &str,
        secret: &str,
        inline_allowed: bool,
        fingerprint: Option<&str>,
    ) -> bool {
        if !self.no_suppress && self.cfg.is_excluded(path) {
            *self.counts.entry(CONFIG_EXCLUDE).or_default() += 1;
            return false;
        }
        let fp = fingerprint.unwrap_or("");
        if self.report_unused {
            if let Some(e) = self.ignored.get(fp).or_else(|| self.based.get(fp)) {
                self.seen.insert(e);
            }
        }
        if self.no_suppress {
            return true;
        }
        let by = if self.cfg.is_disabled(rule) {
            CONFIG_DISABLE
        } else if self.cfg.is_placeholder(secret) {
            PLACEHOLDER
        } else if inline_allowed {
            INLINE
        } else if fingerprint.is_some() && self.ignored.contains(fp) {
            IGNORE
        } else if fingerprint.is_some() && self.based.contains(fp) {
            BASELINE
        } else {
            return true;
        };
        *self.counts.entry(by).or_default() += 1;
        false
    }

    /// Counts the hidden findings in `report`'s summary, moves the unread inputs the config
    /// excludes to the skipped, and lists the unused entries (`--report-unused`).
    pub fn finish(self, report: &mut Report) {
        let cfg = self.cfg;
        for (k, v) in self.counts {
            *report.summary.suppressed.entry(k.to_string()).or_default() += v;
        }
        if !self.no_suppress {
            // An input the config puts out of scope (a fixture of damaged archives, say) that
            // could not be read does not fail the scan: it is listed among the skipped, with
            // why, instead of among the errors that make a run exit 2.
            let (out, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut report.errors)
                .into_iter()
                .partition(|e| cfg.is_excluded(file_of(&e.path)));
            report.errors = kept;
            for mut e in out {
                e.reason = format!("in a path excluded by the config: {}", e.reason);
                report.summary.skipped.push(e);
            }
        }
        if self.report_unused {
            for (mechanism, entries) in [(IGNORE, self.ignore), (BASELINE, self.baseline)] {
                for e in entries
                    .iter()
                    .filter(|e| !self.seen.contains(e.fingerprint.as_str()))
                {
                    report.summary.unused.push(Unused {
                        mechanism: mechanism.to_string(),
                        file: e.file.clone(),
                        line: e.line,
                        fingerprint: e.fingerprint.clone(),
                    });
                }
            }
        }
    }
}

/// The file a problem is about: its path without the ` (blob …)` a history scan adds, and
/// without the archive member after `!/`.
fn file_of(path: &str) -> &str {
    let path = match path.rsplit_once(" (") {
        Some((p, note)) if note.starts_with("blob ") => p,
        _ => path,
    };
    path.split("!/").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::report::ScanKind;

    const FP: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn ignore_file_syntax() {
        let e = parse_ignore(
            &format!("# accepted\n\n{FP}  # test fixture\n  {FP}\n"),
            "x",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, Some(3));
        let err = parse_ignore(&format!("{FP}\nZk3qP9xVb2LmN7wQe4RtY6uA\n"), "ig")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("ig:2:"), "{err}");
        assert!(!err.contains("Zk3q"), "{err}");
        assert!(parse_ignore(&FP.to_uppercase(), "x").is_err());
    }

    #[test]
    fn the_file_of_a_problem() {
        assert_eq!(file_of("t/a.tar (blob 0123abcd)"), "t/a.tar");
        assert_eq!(file_of("build/app.apk!/classes.dex"), "build/app.apk");
        assert_eq!(file_of("x.zip!/y (blob 01)"), "x.zip");
        assert_eq!(file_of("docs/My File (1).txt"), "docs/My File (1).txt");
    }

    #[test]
    fn baseline_errors_have_lines() {
        let err = parse_baseline(
            "{\n \"findings\": [\n  {\"fingerprint\": 3}\n ]\n}",
            "b.json",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("b.json:3:"), "{err}");
        let err = parse_baseline("{\n\"findings\": [,]}", "b.json")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.json:2:"), "{err}");
        assert!(err.contains("invalid JSON"), "{err}");
        let err = parse_baseline("{}", "b.json").unwrap_err().to_string();
        assert!(err.contains("not an applivery-leaks JSON report"), "{err}");
        let ok = parse_baseline(
            &format!("{{\"findings\": [\n{{\"fingerprint\": \"{FP}\"}},\n{{\"fingerprint\": \"{FP}\"}}]}}"),
            "b",
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].line, Some(2));
        let fp2 = FP.replace('0', "1");
        let lines = format!("{{\"fingerprint\":\"{FP}\"}}\n\n{{\"fingerprint\":\"{fp2}\"}}\n");
        let ok = parse_baseline(&lines, "b.jsonl").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].line, Some(3));
        let err = parse_baseline(&format!("{{\"fingerprint\":\"{FP}\"}}\n{{]\n"), "b.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.jsonl:2:"), "{err}");
        let err = parse_baseline("{\"findings\": [\n{\"fingerprint\": \"nope\"}]}", "b")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b:2:"), "{err}");
    }

    fn finding(path: &str, secret: &str, inline: bool) -> Finding {
        let mut f = Finding::new("r", path, 1, 1, 1, 2, secret.into(), String::new());
        f.inline_allowed = inline;
        f
    }

    #[test]
    fn first_mechanism_wins_and_unused_is_listed() {
        let cfg = Config::parse("exclude = [\"fx/\"]", Path::new("c")).unwrap();
        let a = finding("a", "s1", true);
        let b = finding("b", "s2", false);
        let c = finding("fx/c", "s3", false);
        let d = finding("d", "s4", false);
        let entry = |fp: &str| Entry {
            fingerprint: fp.into(),
            file: "f".into(),
            line: Some(1),
        };
        let ignore = vec![entry(&a.fingerprint), entry(&b.fingerprint), entry(FP)];
        let baseline = vec![entry(&b.fingerprint), entry(&c.fingerprint)];
        let mut r = Report::new(ScanKind::Stdin, ".".into());
        r.findings = vec![a, b, c, d.clone()];
        filter(&mut r, &cfg, &ignore, &baseline, false, true);
        assert_eq!(r.findings, vec![d]);
        let s = &r.summary.suppressed;
        assert_eq!(
            (s["inline"], s["ignore-file"], s["config-exclude"]),
            (1, 1, 1)
        );
        assert!(!s.contains_key("baseline"));
        let unused: Vec<_> = r.summary.unused.iter().map(|u| &u.fingerprint).collect();
        // FP matched nothing; c's baseline entry matched only an excluded finding.
        assert_eq!(unused.len(), 2);
        assert!(unused.contains(&&FP.to_string()));
    }

    #[test]
    fn no_suppress_keeps_and_counts_nothing() {
        let cfg = Config::parse("exclude = [\"fx/\"]", Path::new("c")).unwrap();
        let mut r = Report::new(ScanKind::Stdin, ".".into());
        r.findings = vec![finding("a", "s1", true), finding("fx/c", "s3", false)];
        filter(&mut r, &cfg, &[], &[], true, false);
        assert_eq!(r.findings.len(), 2);
        assert!(r.summary.suppressed.is_empty());
    }
}
