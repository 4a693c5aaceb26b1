//! What a rejected push tells the person who pushed. Git shows a hook's output on their
//! terminal as `remote:` lines, so the message must stand on its own: which token, where
//! (ref, commit, path, line), the redacted value and the rule, and the three ways out.
//! GitLab's Web IDE and web editor (`GL_PROTOCOL=web`) show a hook's message only when it is
//! one line starting with `GL-HOOK-ERR: `, so there it gets the same in one such line.

use crate::finding::Finding;
use crate::report::{escape_control as esc, short};

/// What makes GitLab show a hook's line in its web UI.
pub const WEB_PREFIX: &str = "GL-HOOK-ERR: ";

/// The findings of one pushed ref.
pub struct RefFindings<'a> {
    pub refname: &'a str,
    pub findings: &'a [Finding],
}

/// Which side of the push is talking, and what the third way out is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Server hook; the server lets people ask for an audited bypass.
    ServerSkipAllowed,
    /// Server hook; no bypass on this server.
    ServerNoSkip,
    /// Client hook (pre-push).
    Client,
}

/// Where a finding is: `commit 1a2b3c4d5e6f  path:line` (a message: `commit … message`).
fn place(f: &Finding) -> String {
    let commit = f.git.as_ref().map(|g| short(&g.commit).to_string());
    let what = match f.path.as_str() {
        "<commit-message>" => "commit message".to_string(),
        "<tag-message>" => "tag message".to_string(),
        p => format!("{}:{}", esc(p), f.line),
    };
    match commit {
        Some(c) if !c.is_empty() => format!("{c}  {what}"),
        _ => what,
    }
}

fn ways_out(side: Side) -> [&'static str; 3] {
    [
        "remove the token and rewrite the commits that carry it (`git commit --amend`, or \
         `git rebase -i <commit>~1` and edit that commit), then push again; if the token is \
         real, revoke it in the Applivery dashboard too",
        "if it is a test value, not a real token: add `applivery-leaks:allow` to its line",
        match side {
            Side::ServerSkipAllowed => {
                "if it must go in as it is: `git push -o applivery-leaks.skip=\"why\"` \
                 (allowed here, and written to the audit log with your name)"
            }
            Side::ServerNoSkip => {
                "if it must go in as it is: ask this server's administrators (bypasses are \
                 not enabled here)"
            }
            Side::Client => "if it must go out as it is: `git push --no-verify`",
        },
    ]
}

/// The rejection, for `remote:` lines (`web`: one line).
pub fn rejection(refs: &[RefFindings], max: usize, side: Side, web: bool) -> String {
    let total: usize = refs.iter().map(|r| r.findings.len()).sum();
    let verb = if side == Side::Client {
        "push blocked"
    } else {
        "push rejected"
    };
    let listed = refs
        .iter()
        .flat_map(|r| r.findings.iter().map(move |f| (r.refname, f)))
        .take(max);
    if web {
        let items: Vec<String> = listed
            .map(|(r, f)| {
                format!(
                    "{} in {} ({}, {})",
                    place(f),
                    esc(r),
                    esc(&f.shown_secret(false)),
                    f.rule
                )
            })
            .collect();
        let more = total.saturating_sub(items.len());
        let more = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        let [a, b, c] = ways_out(side);
        return format!(
            "{WEB_PREFIX}applivery-leaks: {verb}: {total} Applivery token(s): {}{more}. To push: {a}; or {b}; or {c}.\n",
            items.join("; ")
        );
    }
    let mut m =
        format!("applivery-leaks: {verb}: {total} Applivery token(s) in the pushed commits\n");
    let mut current = "";
    let mut shown = 0;
    for (r, f) in listed {
        if r != current {
            m.push_str(&format!("\n  {}\n", esc(r)));
            current = r;
        }
        m.push_str(&format!(
            "    {}  {}  ({})\n      {}\n",
            place(f),
            esc(&f.shown_secret(false)),
            f.rule,
            esc(f.shown_context(false).trim())
        ));
        shown += 1;
    }
    if total > shown {
        m.push_str(&format!("\n  … and {} more\n", total - shown));
    }
    m.push_str("\nTo push, one of:\n");
    for (k, w) in ways_out(side).iter().enumerate() {
        m.push_str(&wrap(&format!("  {}. {w}", k + 1), 86, "     "));
    }
    m
}

/// `text` cut at spaces into lines of at most `width` characters (a longer word, or a
/// `code span`, stays whole so a command can be copied), continuation lines starting with
/// `indent`; each line ends with a newline.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut words = Vec::new();
    let (mut word, mut code) = (String::new(), false);
    for c in text.chars() {
        if c == '`' {
            code = !code;
        }
        if c == ' ' && !code {
            words.push(std::mem::take(&mut word));
        } else {
            word.push(c);
        }
    }
    words.push(word);
    let mut out = String::new();
    let mut line = String::new();
    for (i, word) in words.iter().enumerate() {
        let lead = if i == 0 { "" } else { " " };
        if !line.trim().is_empty()
            && line.chars().count() + lead.len() + word.chars().count() > width
        {
            out.push_str(line.trim_end());
            out.push('\n');
            line = format!("{indent}{word}");
        } else {
            line.push_str(lead);
            line.push_str(word);
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// The rejection when the budget ran out.
pub fn timeout(secs: f64, web: bool) -> String {
    if web {
        return format!(
            "{WEB_PREFIX}applivery-leaks: push rejected: the secret scan did not finish within {secs} s. \
             Push fewer commits at a time (an older commit first: git push origin <commit>:<branch>), \
             or ask the server's administrators.\n"
        );
    }
    format!(
        "applivery-leaks: push rejected: the secret scan did not finish within {secs} s\n\
         \n\
         This server scans every commit a push adds before accepting it, and this push is too\n\
         large to scan in time. Split it and push the parts in order, oldest first:\n\
         \n\
         \x20 git push origin <older commit>:refs/heads/<branch>   (e.g. HEAD~200, then HEAD~100)\n\
         \x20 git push origin <branch>\n\
         \n\
         Each part is scanned on its own; commits already on the server are not scanned again.\n\
         A first push of a whole large repository may need the server's administrators.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_keeps_words_and_indents() {
        let w = wrap("  1. one two three four five six", 12, "     ");
        assert_eq!(
            w,
            "  1. one two\n     three\n     four\n     five\n     six\n"
        );
        assert!(w.lines().all(|l| l.chars().count() <= 12));
        assert_eq!(
            wrap("  1. unbreakable-long-word x", 8, "  "),
            "  1.\n  unbreakable-long-word\n  x\n"
        );
        assert_eq!(wrap("a `b c d` e", 4, ""), "a\n`b c d`\ne\n");
    }
}
