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
