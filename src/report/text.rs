//! The text report, for people at a terminal: one block per finding, then a summary. Colour
//! only when writing to a terminal; control characters from scanned content are escaped.

use std::io::{self, Write};

use super::{escape_control as esc, short, Report, ScanKind, Style};
use crate::finding::{BlastRadius, VerifyStatus};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}

pub fn write(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: style.color };
    let show = style.show_secrets;
    if let Some(g) = &report.summary.git {
        // Incident responders want the list of unique secrets first.
        writeln!(
            out,
            "{}",
            p.bold(&format!(
                "{} unique secret(s) in {} commit(s), {} unique blob(s){}",
                g.secrets.len(),
                g.commits,
                g.blobs,
                if g.shallow {
                    " (shallow clone: history is truncated)"
                } else {
                    ""
                }
            ))
        )?;
        for s in &g.secrets {
            let secret = if show {
                s.secret.clone()
            } else {
                crate::finding::redact(&s.secret)
            };
            let status = report
                .findings
                .iter()
                .find(|f| f.secret_sha256 == s.secret_sha256)
                .and_then(|f| f.verification.as_ref())
                .map(|v| match v.status {
                    VerifyStatus::Live => format!(" {}", p.red("LIVE")),
                    VerifyStatus::Revoked => format!(" {}", p.green("revoked")),
                    VerifyStatus::Unknown => " unknown".to_string(),
                })
                .unwrap_or_default();
            let repos = match s.repositories.as_slice() {
                [] => String::new(),
                [one] => format!(" in {}", esc(one)),
                many => format!(" in {} repositories ({}, …)", many.len(), esc(&many[0])),
            };
            writeln!(
                out,
                "  {}{} {} sha256:{} first in {} {} ({}, {}) {}; in {} commit(s){repos}",
                if s.in_head {
                    p.red("IN HEAD")
                } else {
                    p.dim("history")
                },
                status,
                esc(&secret),
                &s.secret_sha256[..16],
                short(&s.first_commit),
                esc(&s.first_path),
                esc(&s.author),
                esc(&s.first_date),
                s.rule,
                s.commit_count
            )?;
        }
        writeln!(out)?;
    }
    for f in &report.findings {
        let mut head = format!("{}:{}:{}", esc(&f.path), f.line, f.column);
        if let Some(g) = &f.git {
            head = format!("{}:{head}", short(&g.commit));
        }
        if let Some(r) = &f.provenance.repository {
            head = format!("{}: {head}", esc(r));
        }
        let status = match &f.verification {
            None => String::new(),
            Some(v) => match v.status {
                VerifyStatus::Live => format!(" {}", p.red("[LIVE]")),
                VerifyStatus::Revoked => format!(" {}", p.green("[revoked]")),
                VerifyStatus::Unknown => " [unknown]".to_string(),
            },
        };
        writeln!(out, "{} {}{}", p.bold(&head), p.red(&f.rule), status)?;
        writeln!(out, "  {}", esc(f.shown_context(show)))?;
        writeln!(
            out,
            "  {} secret {}  sha256 {}…  fingerprint {}",
            p.dim("·"),
            esc(&f.shown_secret(show)),
            &f.secret_sha256[..16],
            f.fingerprint
        )?;
        if !f.decoded.is_empty() {
            writeln!(
                out,
                "  {} decoded from {}",
                p.dim("·"),
                f.decoded.join(" in ")
            )?;
        }
        if report.explain {
            for r in &f.evidence {
                let line = r.line.map(|l| format!(" (line {l})")).unwrap_or_default();
                writeln!(
                    out,
                    "  {} because {}: {}{line}",
                    p.dim("·"),
                    r.kind,
                    esc(&r.text)
                )?;
            }
        }
        if let Some(v) = &f.verification {
            // The reason, and the request it rests on: enough to judge the verdict.
            let asked = v
                .evidence
                .as_ref()
                .map(|e| format!(" (GET {})", esc(&e.endpoint)))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {}: {}{asked}",
                p.dim("·"),
                v.status.as_str(),
                esc(&v.reason)
            )?;
            if let Some(b) = &v.blast_radius {
                writeln!(
                    out,
                    "  {} blast radius: {}",
                    p.dim("·"),
                    esc(&blast_radius(b))
                )?;
            }
        }
        if let Some(g) = &f.git {
            writeln!(
                out,
                "  {} introduced {} by {} <{}> on {}: {} ({} commit(s){})",
                p.dim("·"),
                short(&g.commit),
                esc(&g.author_name),
                esc(&g.author_email),
                esc(&g.date),
                esc(&g.summary),
                g.commit_count,
                if g.in_head { ", still in HEAD" } else { "" }
            )?;
        }
        writeln!(out)?;
    }
    let s = &report.summary;
    let mut line = if report.kind == ScanKind::Verify {
        // `verify` reads tokens, not files.
        format!(
            "{} token(s) checked in {:.2}s",
            report.findings.len(),
            s.duration.as_secs_f64()
        )
    } else {
        format!(
            "{} finding(s); scanned {} file(s), {} in {:.2}s",
            report.findings.len(),
            s.files,
            human_bytes(s.bytes),
            s.duration.as_secs_f64()
        )
    };
    if s.binary > 0 {
        line.push_str(&format!("; {} binary skipped", s.binary));
    }
    if !s.skipped.is_empty() {
        line.push_str(&format!("; {} skipped", s.skipped.len()));
    }
    let suppressed: u64 = s.suppressed.values().sum();
    if suppressed > 0 {
        let parts: Vec<String> = s
            .suppressed
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        line.push_str(&format!("; {suppressed} suppressed ({})", parts.join(", ")));
    }
    if let Some(v) = report.verification_counts() {
        line.push_str(&format!(
            "; verified: {} live, {} revoked, {} unknown",
            v["live"], v["revoked"], v["unknown"]
        ));
    }
    writeln!(out, "{}", p.dim(&line))?;
    if let Some(r) = &s.repositories {
        let failed = r.list.iter().filter(|o| o.status == "failed").count();
        let resumed = r.list.iter().filter(|o| o.status == "resumed").count();
        writeln!(
            out,
            "{}",
            p.dim(&format!(
                "{} repositories{}: {} swept, {resumed} resumed from earlier reports, {failed} failed",
                r.list.len(),
                r.shard
                    .as_ref()
                    .map(|s| format!(" (shard {s})"))
                    .unwrap_or_default(),
                r.list.len() - failed - resumed
            ))
        )?;
        for o in r.list.iter().filter(|o| o.status == "failed") {
            writeln!(
                out,
                "  failed {}: {}",
                esc(&o.repository),
                esc(o.reason.as_deref().unwrap_or(""))
            )?;
        }
    }
    for sk in &s.skipped {
        writeln!(out, "  skipped {}: {}", esc(&sk.place()), esc(&sk.reason))?;
    }
    for u in &s.unused {
        writeln!(
            out,
            "  unused {} entry {}{}: {}",
            u.mechanism,
            esc(&u.file),
            u.line.map(|l| format!(":{l}")).unwrap_or_default(),
            u.fingerprint
        )?;
    }
    if !report.findings.is_empty() && matches!(report.kind, ScanKind::Dir | ScanKind::Git) {
        writeln!(out)?;
        let verified = report.findings.iter().any(|f| f.verification.is_some());
        write!(out, "{}", next_steps(report.kind, verified))?;
    }
    Ok(())
}

/// What to do about findings, briefly: the person reading a report at a terminal is often
/// not the one who knows the tool. After a `--verify` run the findings already say which
/// tokens still work, so the hint to verify is left out.
fn next_steps(kind: ScanKind, verified: bool) -> String {
    let first = match kind {
        ScanKind::Git => concat!(
            "Next: revoke each token in Applivery (app > Settings > Integrations > API Tokens)\n",
            "  and create a new one: deleting a line does not remove a token from history.\n",
        ),
        _ => concat!(
            "Next: revoke each token in Applivery (app > Settings > Integrations > API Tokens),\n",
            "  create a new one and read it from a CI secret or an environment variable.\n",
        ),
    };
    let rest = if verified {
        concat!(
            "  Not a secret: put `applivery-leaks:allow` on its line. Known and accepted:\n",
            "  pass this run's JSON report as `--baseline`.\n",
        )
    } else {
        concat!(
            "  `--verify` tells which still work. Not a secret: put `applivery-leaks:allow` on\n",
            "  its line. Known and accepted: pass this run's JSON report as `--baseline`.\n",
        )
    };
    format!("{first}{rest}")
}

/// One line for standard error when the report went to a file, so a CI log shows more than
/// an exit code: findings, verification counts, unreadable inputs, where the report is.
pub fn summary_line(report: &Report, written_to: &str) -> String {
    summary_line_count(report, report.findings.len(), written_to)
}

/// [`summary_line`] for a report whose `count` findings were written as they were unpacked
/// (`report.findings` is empty then).
pub fn summary_line_count(report: &Report, count: usize, written_to: &str) -> String {
    let mut line = format!("applivery-leaks: {count} finding(s)");
    if let Some(v) = report.verification_counts() {
        line.push_str(&format!(
            " ({} live, {} revoked, {} unknown)",
            v["live"], v["revoked"], v["unknown"]
        ));
    }
    if !report.errors.is_empty() {
        line.push_str(&format!(
            ", {} input(s) could not be read",
            report.errors.len()
        ));
    }
    line.push_str(&format!("; report written to {}", esc(written_to)));
    line
}

/// What a live secret opens, in one line: `app 'Field Sales' (5f0c…), 42 build(s) it can
/// download` or `3 workspace(s): Acme (acme), …`.
pub fn blast_radius(b: &BlastRadius) -> String {
    match b {
        BlastRadius::App {
            application_id,
            application_name,
            builds,
        } => {
            let name = application_name
                .as_ref()
                .map(|n| format!(" '{n}'"))
                .unwrap_or_default();
            let id = application_id
                .as_ref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
            format!("app{name}{id}, {builds} build(s) it can download")
        }
        BlastRadius::Workspaces { workspaces, total } => {
            const SHOWN: usize = 5;
            let mut names: Vec<String> = workspaces
                .iter()
                .take(SHOWN)
                .map(|w| match (w.name.is_empty(), w.slug.is_empty()) {
                    (false, false) => format!("{} ({})", w.name, w.slug),
                    (false, true) => w.name.clone(),
                    _ => w.id.clone(),
                })
                .collect();
            if *total as usize > names.len() {
                names.push("…".into());
            }
            format!("{total} workspace(s): {}", names.join(", "))
        }
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
