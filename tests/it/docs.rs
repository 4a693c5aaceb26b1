//! The documentation stays navigable: every relative link in README.md, ARCHITECTURE.md and
//! docs/ points at a file that exists, and every `#anchor` at a heading of that file (GitHub's
//! rules for heading ids). Pages are edited by many hands; a moved section must fail here, not
//! in a reader's browser.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every Markdown page of the user and contributor documentation, relative to the repository.
pub fn pages() -> Vec<PathBuf> {
    let root = repo();
    let mut out = vec![PathBuf::from("README.md"), PathBuf::from("ARCHITECTURE.md")];
    let mut stack = vec![root.join("docs")];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p.strip_prefix(&root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers.
pub fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker = if t.starts_with("```") {
            Some("```")
        } else if t.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped (but `-` and `_`
/// kept), spaces turned into `-`.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings; a repeated heading gets `-1`, `-2`, … as on GitHub.
pub fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&line[hashes..]);
        let mut id = base.clone();
        let mut n = 0;
        while !seen.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
    }
    seen
}

/// Drops inline code spans, where `[x](y)` is text, not a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut parts = line.split('`');
    let mut in_code = false;
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for p in parts {
        in_code = !in_code;
        if !in_code {
            out.push_str(p);
        }
    }
    out
}

/// The targets of the inline links (`[text](target)`) on the prose lines of a page.
pub fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push((n, target.to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// Every broken relative link of the page `page` (relative to `root`), as
/// `page:line: target: why`.
pub fn broken_links(root: &Path, page: &Path) -> Vec<String> {
    let text = fs::read_to_string(root.join(page)).unwrap();
    let dir = page.parent().unwrap_or(Path::new(""));
    let mut bad = Vec::new();
    for (line, target) in links(&text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        let file = if path.is_empty() {
            page.to_path_buf()
        } else {
            normalize(&dir.join(path))
        };
        let why = if file.starts_with("..") {
            Some("leaves the repository".to_string())
        } else if !root.join(&file).exists() {
            Some(format!("{} does not exist", file.display()))
        } else if let Some(a) = anchor {
            let target_text = fs::read_to_string(root.join(&file)).unwrap_or_default();
            (file.extension().is_some_and(|x| x == "md") && !anchors(&target_text).contains(a))
                .then(|| format!("no heading with anchor #{a} in {}", file.display()))
        } else {
            None
        };
        if let Some(why) = why {
            bad.push(format!("{}:{line}: {target}: {why}", page.display()));
        }
    }
    bad
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let root = repo();
    let pages = pages();
    assert!(
        pages.len() >= 10,
        "expected README, ARCHITECTURE and docs/: {pages:?}"
    );
    let bad: Vec<String> = pages.iter().flat_map(|p| broken_links(&root, p)).collect();
    assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
}

#[test]
fn the_link_checker_finds_broken_files_and_anchors() {
    let d = tempfile::tempdir().unwrap();
    crate::common::write(
        d.path(),
        "docs/a.md",
        "# Page A\n\n## Scanning: `dir` (fast)\n\n## Twice\n\n## Twice\n\n\
         [ok](b.md) [ok](#scanning-dir-fast) [ok](#twice-1) [ok](../README.md)\n\
         [gone](missing.md) [bad](b.md#nope) [out](../../x.md) `[code](nope.md)`\n\
         ```\n[fenced](nope.md)\n```\n",
    );
    crate::common::write(d.path(), "docs/b.md", "# B\n");
    crate::common::write(d.path(), "README.md", "# R\n");
    let bad = broken_links(d.path(), Path::new("docs/a.md"));
    assert_eq!(bad.len(), 3, "{bad:#?}");
    assert!(bad[0].contains("missing.md does not exist"), "{bad:?}");
    assert!(bad[1].contains("no heading with anchor #nope"), "{bad:?}");
    assert!(bad[2].contains("leaves the repository"), "{bad:?}");
}

#[test]
fn heading_anchors_follow_github() {
    assert_eq!(
        slug("Sweeping git history: `applivery-leaks git`"),
        "sweeping-git-history-applivery-leaks-git"
    );
    assert_eq!(
        slug("`staged`: the pre-commit hook"),
        "staged-the-pre-commit-hook"
    );
    assert_eq!(
        slug("Project config: `.applivery-leaks.toml`"),
        "project-config-applivery-leakstoml"
    );
}

// ---------------------------------------------------------------------------------------------
// Every `applivery-leaks …` command line in the documentation and the CI files parses.
//
// Convention for whoever writes docs: write commands as a user would type them, in code blocks
// or inline code. A command is checked when `applivery-leaks` (or a path ending in it) starts a
// shell command: at the start of a line, after `$ `, `exec`, `run:`, `- `, `time`, a variable
// assignment, or after `|`, `&&`, `||`, `;`. `cargo run … -- ARGS` is checked as
// `applivery-leaks ARGS`. Synopsis brackets (`[PATH ...]`) are dropped, shell variables stand
// for any string, and the placeholders N, R, C, BYTES and SECS for a number. A command that
// does not parse fails `cargo test --test it docs::`, naming the file and line.
// ---------------------------------------------------------------------------------------------

/// Shell words of `s`, with quotes removed; operators (`|`, `||`, `&&`, `;`, `>`, `<`, `&`)
/// are words of their own, and `#` starts a comment.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = s.chars().peekable();
    let flush = |cur: &mut String, has: &mut bool, words: &mut Vec<String>| {
        if *has {
            words.push(std::mem::take(cur));
            *has = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                has = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        d => cur.push(d),
                    }
                }
            }
            '\\' => {
                has = true;
                cur.extend(chars.next());
            }
            '#' if !has => break,
            c if c.is_whitespace() => flush(&mut cur, &mut has, &mut words),
            '|' | '&' | ';' | '<' | '>' => {
                flush(&mut cur, &mut has, &mut words);
                let mut op = c.to_string();
                if chars.peek().is_some_and(|&d| d == c) {
                    op.push(chars.next().unwrap());
                }
                words.push(op);
            }
            c => {
                has = true;
                cur.push(c);
            }
        }
    }
    flush(&mut cur, &mut has, &mut words);
    words
}

fn is_operator(w: &str) -> bool {
    matches!(w, "|" | "||" | "&&" | ";" | "&" | ">" | ">>" | "<" | "<<")
}

/// The argument lists of the applivery-leaks commands on one shell line.
fn commands_in(line: &str) -> Vec<Vec<String>> {
    let words = shell_words(line);
    let mut out = Vec::new();
    let mut segment: Vec<&str> = Vec::new();
    let mut segments = Vec::new();
    let mut redirect = false;
    for w in &words {
        if matches!(w.as_str(), ">" | ">>" | "<" | "<<") {
            // The next word is a file name, not a command.
            redirect = true;
        } else if is_operator(w) {
            segments.push(std::mem::take(&mut segment));
        } else if std::mem::take(&mut redirect) {
            continue;
        } else {
            segment.push(w);
        }
    }
    segments.push(segment);
    for seg in segments {
        // Leading words that still leave the next word in command position.
        let mut i = 0;
        while i < seg.len()
            && (matches!(seg[i], "$" | "exec" | "run:" | "-" | "time" | "command")
                || (seg[i].contains('=') && !seg[i].starts_with('-')))
        {
            i += 1;
        }
        let Some(&first) = seg.get(i) else { continue };
        let args: &[&str] = if first == "applivery-leaks" || first.ends_with("/applivery-leaks") {
            &seg[i + 1..]
        } else if first == "cargo" && seg.get(i + 1) == Some(&"run") {
            // `cargo run --example bench_dir -- …` runs another program.
            match seg.iter().position(|w| *w == "--") {
                Some(dash) if !seg[..dash].contains(&"--example") => &seg[dash + 1..],
                _ => continue,
            }
        } else {
            continue;
        };
        let mut argv = Vec::new();
        let mut in_brackets = false;
        for a in args {
            if a.starts_with('[') {
                in_brackets = true;
            }
            if !in_brackets && !matches!(*a, "..." | "…") {
                argv.push(match *a {
                    "N" | "R" | "C" | "BYTES" | "SECS" => "1".to_string(),
                    a => a.to_string(),
                });
            }
            if a.ends_with(']') {
                in_brackets = false;
            }
        }
        // The program named on its own (`applivery-leaks` in prose) is not a command line.
        if !argv.is_empty() {
            out.push(argv);
        }
    }
    out
}

/// Shell lines of a Markdown page: code block lines (joined over `\` continuations) and
/// inline code spans, each with its line number.
fn shell_lines_of_markdown(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut pending: Option<(usize, String)> = None;
    let mut prose = String::new();
    let mut prose_line_of = Vec::new(); // byte offset in `prose` -> line number
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            let (start, mut joined) = pending.take().unwrap_or((n, String::new()));
            match line.strip_suffix('\\') {
                Some(head) => {
                    joined.push_str(head);
                    pending = Some((start, joined));
                }
                None => {
                    joined.push_str(line);
                    out.push((start, joined));
                }
            }
        } else {
            prose_line_of.push((prose.len(), n));
            prose.push_str(line);
            prose.push('\n');
        }
    }
    // Inline code spans may run over a line break.
    let mut rest = prose.as_str();
    let mut offset = 0;
    while let Some(open) = rest.find('`') {
        let ticks = rest[open..].chars().take_while(|&c| c == '`').count();
        let body_start = open + ticks;
        let fence = "`".repeat(ticks);
        let Some(len) = rest[body_start..].find(&fence) else {
            break;
        };
        let body = rest[body_start..body_start + len].replace('\n', " ");
        let at = offset + open;
        let line = prose_line_of
            .iter()
            .rev()
            .find(|(o, _)| *o <= at)
            .map_or(0, |(_, n)| *n);
        out.push((line, body));
        let consumed = body_start + len + ticks;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out
}

/// Every documented command, as (file:line, argv without the program name).
pub fn documented_commands() -> Vec<(String, Vec<String>)> {
    let root = repo();
    let mut sources: Vec<(PathBuf, Vec<(usize, String)>)> = Vec::new();
    for page in pages() {
        let text = fs::read_to_string(root.join(&page)).unwrap();
        sources.push((page, shell_lines_of_markdown(&text)));
    }
    for dir in [
        "ci/github/workflows",
        "ci/gitlab",
        "deploy/github",
        "deploy/gitlab",
        "deploy/kubernetes",
    ] {
        for e in fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            let text = fs::read_to_string(&p).unwrap();
            let lines = text
                .lines()
                .enumerate()
                .map(|(i, l)| (i + 1, l.to_string()))
                .collect();
            sources.push((p.strip_prefix(&root).unwrap().to_path_buf(), lines));
        }
    }
    let mut out = Vec::new();
    for (file, lines) in sources {
        for (n, line) in lines {
            for argv in commands_in(&line) {
                out.push((format!("{}:{n}", file.display()), argv));
            }
        }
    }
    out
}

#[test]
fn every_documented_command_line_parses() {
    use clap::error::ErrorKind;
    use clap::Parser;
    let commands = documented_commands();
    assert!(commands.len() >= 50, "found only {}", commands.len());
    if std::env::var_os("SHOW_DOC_COMMANDS").is_some() {
        for (at, argv) in &commands {
            eprintln!("{at}: {argv:?}");
        }
    }
    let mut bad = Vec::new();
    for (at, argv) in &commands {
        let full = std::iter::once("applivery-leaks").chain(argv.iter().map(String::as_str));
        if let Err(e) = applivery_leaks::cli::Cli::try_parse_from(full) {
            if !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let first = e.to_string().lines().next().unwrap_or("").to_string();
                bad.push(format!("{at}: applivery-leaks {}: {first}", argv.join(" ")));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "documented commands that do not parse:\n{}",
        bad.join("\n")
    );
    // The two fresh-machine commands stay on the README's first screen.
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let first_screen: String = readme.lines().take(25).collect::<Vec<_>>().join("\n");
    for cmd in [
        "cargo run --release -- dir /path/to/your/repo",
        "cargo test",
    ] {
        assert!(
            first_screen.contains(cmd),
            "README's first screen lacks `{cmd}`"
        );
    }
    assert!(readme.lines().count() <= 200, "README over 200 lines");
}

#[test]
fn the_command_extractor_finds_commands_where_a_shell_would_run_them() {
    let cmds = |l: &str| commands_in(l);
    assert_eq!(
        cmds("cat t.txt | applivery-leaks verify --fail-on live # check"),
        vec![vec!["verify", "--fail-on", "live"]]
    );
    assert_eq!(
        cmds(r#"  run: applivery-leaks git . --range "$BASE..HEAD" -o 'a b.sarif'"#),
        vec![vec![
            "git",
            ".",
            "--range",
            "$BASE..HEAD",
            "-o",
            "a b.sarif"
        ]]
    );
    assert_eq!(
        cmds("applivery-leaks dir [PATH ...]     # default ."),
        vec![vec!["dir"]]
    );
    assert_eq!(
        cmds("cargo run --release -- dir /repo && applivery-leaks rules"),
        vec![vec!["dir", "/repo"], vec!["rules"]]
    );
    assert_eq!(
        cmds("GITLEAKS=/x target/release/applivery-leaks stdin").len(),
        1
    );
    assert_eq!(
        cmds("applivery-leaks completions bash > /etc/bash_completion.d/applivery-leaks"),
        vec![vec!["completions", "bash"]]
    );
    assert!(cmds("cargo run --release --example bench_dir -- DIR 64 512").is_empty());
    // Not commands: an error message, a category, a path argument, a hook id.
    for l in [
        "applivery-leaks: error: not a git repository",
        "category applivery-leaks/git",
        "test -x .applivery-leaks/bin/applivery-leaks || true",
        "- id: applivery-leaks",
    ] {
        assert!(cmds(l).is_empty(), "{l}");
    }
    // A renamed flag is caught: the parser refuses it.
    use clap::Parser;
    assert!(
        applivery_leaks::cli::Cli::try_parse_from(["applivery-leaks", "git", "--sinse", "x"])
            .is_err()
    );
    let spans = shell_lines_of_markdown("Run `applivery-leaks git\n--verify` now.\n");
    assert_eq!(spans, vec![(1, "applivery-leaks git --verify".to_string())]);
}
