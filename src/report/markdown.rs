//! The incident summary in Markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`:
//! the counts, then one table row per unique token (at most 100; the HTML or JSON report
//! has all). Text from repositories is escaped so it can neither break the table nor
//! become a link, an image or HTML; secrets are redacted unless `--show-secrets`.

use std::io::{self, Write};

use super::incident::{self, Seen};
use super::{short, Report, Style};

/// Rows shown at most: GitHub cuts a step summary at 1 MiB.
const MAX_ROWS: usize = 100;

pub fn write(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let inc = incident::build(report, style.show_secrets);
    writeln!(
        out,
        "## Applivery token incident: {} unique token(s)\n",
        inc.tokens.len()
    )?;
    let mut counts = vec![
        ("Live", inc.live),
        ("Revoked", inc.revoked),
        ("Unknown", inc.unknown),
    ];
    if inc.unverified > 0 {
        counts.push(("Not verified", inc.unverified));
    }
    counts.push(("Still in HEAD", inc.in_head));
    writeln!(
        out,
        "| {} |",
        counts.iter().map(|c| c.0).collect::<Vec<_>>().join(" | ")
    )?;
    writeln!(out, "|{}", "---:|".repeat(counts.len()))?;
    writeln!(
        out,
        "| {} |",
        counts
            .iter()
            .map(|c| c.1.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    )?;
    writeln!(out)?;
    if let Some(n) = inc.repositories_swept {
        write!(
            out,
            "Repositories affected: **{}** of {n} swept",
            inc.repositories_affected
        )?;
        if inc.repositories_failed > 0 {
            write!(
                out,
                "; **{} failed** (not swept: see the report's errors)",
                inc.repositories_failed
            )?;
        }
        writeln!(out, ".\n")?;
    }
    if !report.errors.is_empty() {
        writeln!(
            out,
            "> **{} input(s) could not be read**: nothing found there does not mean nothing \
             is there.\n",
            report.errors.len()
        )?;
    }
    if inc.tokens.is_empty() {
        writeln!(out, "No token found.")?;
        return Ok(());
    }
    writeln!(
        out,
        "| Status | Token | First commit | Last commit | Repositories and paths | In HEAD | What to do |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for t in inc.tokens.iter().take(MAX_ROWS) {
        let mut status = t.status().to_string();
        if let Some(b) = t.verification.and_then(|v| v.blast_radius.as_ref()) {
            status.push_str(&format!(" ({})", super::text::blast_radius(b)));
        }
        let places: Vec<String> = t
            .places
            .iter()
            .take(5)
            .map(|p| match &p.repository {
                Some(r) => format!("{r}: {}", p.path),
                None => p.path.clone(),
            })
            .collect();
        let mut places = places
            .iter()
            .map(|p| cell(p))
            .collect::<Vec<_>>()
            .join("<br>");
        if t.places.len() > 5 {
            places.push_str(&format!("<br>… and {} more", t.places.len() - 5));
        }
        let advice: Vec<String> = incident::advice(t).iter().map(|a| cell(a)).collect();
        writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            cell(&status),
            t.shown.replace('`', "'"),
            seen(&t.first),
            seen(&t.last),
            places,
            if t.in_head { "**yes**" } else { "no" },
            advice.join("<br>")
        )?;
    }
    if inc.tokens.len() > MAX_ROWS {
        writeln!(
            out,
            "\n… and {} more token(s): see the HTML or JSON report.",
            inc.tokens.len() - MAX_ROWS
        )?;
    }
    exposure(&inc, out)?;
    writeln!(
        out,
        "\nClean-up: `applivery-leaks remediate REPORT.json --out remediation/` writes \
         revoke.md, purge.md (git filter-repo, BFG) and recheck.sh."
    )?;
    Ok(())
}

/// The exposure map of each token shown: its refs (at tip or not), introducing and last
/// commits.
fn exposure(inc: &incident::Incident, out: &mut dyn Write) -> io::Result<()> {
    let mapped: Vec<_> = inc
        .tokens
        .iter()
        .take(MAX_ROWS)
        .filter_map(|t| t.exposure.map(|e| (t, e)))
        .collect();
    if mapped.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n### Exposure map\n")?;
    writeln!(out, "| Token | Ref | Commit | At tip |")?;
    writeln!(out, "|---|---|---|---|")?;
    for (t, e) in &mapped {
        let token = format!("`{}`", t.shown.replace('`', "'"));
        if e.refs.is_empty() {
            writeln!(out, "| {token} | (no ref) | – | – |")?;
        }
        for r in &e.refs {
            let name = match &r.repository {
                Some(repo) => format!("{repo}: {}", r.name),
                None => r.name.clone(),
            };
            writeln!(
                out,
                "| {token} | {}{} | `{}` | {} |",
                cell(&name),
                if r.forge_owned() {
                    " (forge-owned)"
                } else {
                    ""
                },
                short(&r.commit),
                if r.at_tip { "**yes**" } else { "no" }
            )?;
        }
    }
    writeln!(out)?;
    for (t, e) in &mapped {
        writeln!(
            out,
            "- `{}`: introduced in {}; last held by {}; paths: {}",
            t.shown.replace('`', "'"),
            e.introduced
                .iter()
                .map(|c| format!("`{}`", short(c)))
                .collect::<Vec<_>>()
                .join(", "),
            e.last_commit
                .as_deref()
                .map_or("–".to_string(), |c| format!("`{}`", short(c))),
            e.paths
                .iter()
                .map(|p| cell(p))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    Ok(())
}

fn seen(s: &Option<Seen>) -> String {
    match s {
        Some(s) => format!(
            "`{}` {}<br>{}",
            short(&s.commit),
            cell(&s.date),
            cell(&s.author)
        ),
        None => "–".into(),
    }
}

/// Text for a table cell: HTML-escaped, Markdown punctuation backslash-escaped, on one line.
pub fn cell(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '|' => o.push_str("\\|"),
            '\n' | '\r' | '\t' => o.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '{' | '}' => {
                o.push('\\');
                o.push(c);
            }
            c if c.is_control() => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_out() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("<img src=x>"), "&lt;img src=x&gt;");
        assert_eq!(cell("[x](http://e)"), "\\[x\\]\\(http://e\\)");
        assert_eq!(cell("a\nb"), "a b");
    }
}
