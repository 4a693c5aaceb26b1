//! The project config, `.applivery-leaks.toml`: what a team decides once for its repository —
//! paths out of scope, extra rule files, rules turned off, values that are never secrets, the
//! default output format — so that every developer and CI job scans the same way without
//! repeating flags. The format is flat on purpose; every mistake (an unknown key, a bad glob or
//! regex) is an error naming the file and line, because a typo that silently widened or
//! narrowed the scan would be worse than no config at all.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::bytes::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::report::Format;
use crate::rules::{self, Rule};

/// The file discovered at the scan root.
pub const CONFIG_FILE: &str = ".applivery-leaks.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    placeholders: Vec<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
}

/// A loaded, validated project config. `Config::default()` is "no config".
#[derive(Debug, Default)]
pub struct Config {
    /// The file it came from (for messages); `None` without a config.
    pub file: Option<PathBuf>,
    /// Gitignore-style globs relative to the scan root, as written.
    pub exclude: Vec<String>,
    excluded: Option<Gitignore>,
    /// Extra rule files, resolved relative to the config file's directory, with their line.
    pub rules: Vec<(PathBuf, usize)>,
    /// Rule ids to turn off, each with its line in the config file.
    pub disable: Vec<(String, usize)>,
    /// Compiled placeholder patterns; a secret matching one is never reported.
    pub placeholders: Vec<Regex>,
    /// Default output format when `--format` is not given.
    pub format: Option<Format>,
    /// The text of rule files already read (from the base of a reviewed range), by path.
    pub pinned_rules: std::collections::HashMap<PathBuf, String>,
}

/// `root/name`, or just `name` when the root is the current directory (nicer messages).
pub fn at_root(root: &Path, name: &str) -> PathBuf {
    if root == Path::new(".")
        || root.as_os_str().is_empty()
        || std::env::current_dir().is_ok_and(|d| d == root)
    {
        PathBuf::from(name)
    } else {
        root.join(name)
    }
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Config {
    /// The config for a scan rooted at `root`: `explicit` (`--config FILE`) if given, else
    /// `.applivery-leaks.toml` at the root if present; none when `disabled` (`--no-config`).
    pub fn discover(explicit: Option<&Path>, disabled: bool, root: &Path) -> Result<Config> {
        if disabled {
            return Ok(Config::default());
        }
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = at_root(root, CONFIG_FILE);
                if !p.exists() {
                    return Ok(Config::default());
                }
                p
            }
        };
        Config::load(&path)
    }

    /// Reads and validates one config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Config::parse(&text, path)
    }

    /// Parses config `text`; `path` names the file in errors and anchors relative rule files.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let name = path.display().to_string();
        let at = |span: Range<usize>| format!("{name}:{}", line_of(text, span.start));
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| rules::toml_error(&e, text, &name))?;

        let mut cfg = Config {
            file: Some(path.to_path_buf()),
            ..Config::default()
        };

        if !file.exclude.is_empty() {
            // Root "." with relative finding paths: nothing is stripped, globs anchor at the
            // scan root exactly as in a .gitignore there.
            let mut b = GitignoreBuilder::new(".");
            for g in &file.exclude {
                let glob = g.get_ref();
                if glob.trim().is_empty() || glob.starts_with('!') {
                    bail!(
                        "{}: exclude glob '{glob}' must be a non-empty pattern without '!'",
                        at(g.span())
                    );
                }
                b.add_line(None, glob).map_err(|e| {
                    anyhow::anyhow!("{}: invalid exclude glob '{glob}': {e}", at(g.span()))
                })?;
                cfg.exclude.push(glob.clone());
            }
            cfg.excluded = Some(
                b.build()
                    .with_context(|| format!("{name}: invalid exclude globs"))?,
            );
        }

        let dir = path.parent().unwrap_or(Path::new(""));
        for r in &file.rules {
            let p = Path::new(r.get_ref());
            if r.get_ref().is_empty() {
                bail!("{}: empty rule file name", at(r.span()));
            }
            let p = if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            };
            cfg.rules.push((p, line_of(text, r.span().start)));
        }

        for d in &file.disable {
            cfg.disable
                .push((d.get_ref().clone(), line_of(text, d.span().start)));
        }

        for p in &file.placeholders {
            let re = rules::compile_regex(p.get_ref(), "placeholder")
                .map_err(|e| anyhow::anyhow!("{}: {e}", at(p.span())))?;
            cfg.placeholders.push(re);
        }

        if let Some(f) = &file.format {
            cfg.format = Some(Format::parse(f.get_ref()).ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                anyhow::anyhow!(
                    "{}: format '{}' is not one of {}",
                    at(f.span()),
                    f.get_ref(),
                    names.join(", ")
                )
            })?);
        }
        Ok(cfg)
    }

    /// Whether a finding at `path` (relative to the scan root, `/` separators) is out of
    /// scope. A path matches if it or any parent directory matches a glob, as in .gitignore.
    pub fn is_excluded(&self, path: &str) -> bool {
        let Some(gi) = &self.excluded else {
            return false;
        };
        let p = Path::new(path);
        if p.has_root() {
            // Not under the scan root: the globs are relative to it.
            return false;
        }
        gi.matched_path_or_any_parents(p, false).is_ignore()
    }

    fn place(&self, line: usize) -> String {
        match &self.file {
            Some(f) => format!("{}:{line}", f.display()),
            None => format!("line {line}"),
        }
    }

    /// The active rules: the defaults (when `defaults`; off with `--no-default-rules`), the
    /// `files` given on the command line (`--rules`), the config's rule files, minus the
    /// config's disabled ids; every rule also allowlists the config's placeholders. A
    /// disabled id that names no loaded rule is an error at its line.
    pub fn load_rules(&self, files: &[PathBuf], defaults: bool) -> Result<Vec<Rule>> {
        let mut rules = self.all_rules(files, defaults, &self.placeholders)?;
        rules.retain(|r| !self.is_disabled(&r.id));
        Ok(rules)
    }

    /// The rules a scan runs: the active rules of [`Config::load_rules`], then the rules the
    /// config disables, and no placeholder in any allowlist. Suppression drops (and counts)
    /// the findings of disabled rules and the placeholder values afterwards, so a summary
    /// says what the config hid and `--no-suppress` shows it. Disabled rules come last: of
    /// overlapping candidates the rule listed first wins, so a disabled rule never hides an
    /// active one's finding.
    pub fn scan_rules(&self, files: &[PathBuf], defaults: bool) -> Result<Vec<Rule>> {
        let rules = self.all_rules(files, defaults, &[])?;
        let (mut active, disabled): (Vec<Rule>, Vec<Rule>) =
            rules.into_iter().partition(|r| !self.is_disabled(&r.id));
        active.extend(disabled);
        Ok(active)
    }

    /// Whether the config disables rule `id`.
    pub fn is_disabled(&self, id: &str) -> bool {
        self.disable.iter().any(|(d, _)| d == id)
    }

    /// Whether a found secret is one of the config's placeholders.
    pub fn is_placeholder(&self, secret: &str) -> bool {
        self.placeholders
            .iter()
            .any(|r| r.is_match(secret.as_bytes()))
    }

    /// Every loaded rule, disabled ones included; an error if none would be active.
    fn all_rules(
        &self,
        files: &[PathBuf],
        defaults: bool,
        placeholders: &[Regex],
    ) -> Result<Vec<Rule>> {
        let mut extra: Vec<rules::Source> = files
            .iter()
            .map(|p| rules::Source {
                path: p.clone(),
                text: None,
            })
            .collect();
        for (file, line) in &self.rules {
            let text = self.pinned_rules.get(file).cloned();
            if text.is_none() && !file.is_file() {
                bail!(
                    "{}: rule file {} not found (paths are relative to the config file)",
                    self.place(*line),
                    file.display()
                );
            }
            extra.push(rules::Source {
                path: file.clone(),
                text,
            });
        }
        let rules = rules::load(defaults, &extra, placeholders)?;
        for (id, line) in &self.disable {
            if !rules.iter().any(|r| &r.id == id) {
                bail!(
                    "{}: cannot disable rule '{id}': no such rule is loaded",
                    self.place(*line)
                );
            }
        }
        if rules.iter().all(|r| self.is_disabled(&r.id)) {
            bail!(
                "no rules to scan with: {} disables every loaded rule",
                self.file
                    .as_ref()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default()
            );
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("dir/.applivery-leaks.toml"))
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn flat_config_parses() {
        let c = parse(
            "exclude = [\"fixtures/**\", \"docs/examples/\"]\nrules = [\"ci/r.toml\"]\n\
             disable = [\"x\"]\nplaceholders = [\"^DUMMY_\"]\nformat = \"json\"\n",
        )
        .unwrap();
        assert_eq!(c.rules, vec![(PathBuf::from("dir/ci/r.toml"), 2)]);
        assert_eq!(c.disable, vec![("x".to_string(), 3)]);
        assert_eq!(c.format, Some(Format::Json));
        assert!(c.is_excluded("fixtures/a/b.env"));
        assert!(c.is_excluded("docs/examples/x.yml"));
        assert!(!c.is_excluded("docs/x.yml"));
        assert!(!c.is_excluded("src/fixtures.rs"));
        assert!(!c.is_excluded("/abs/fixtures/x"));
    }

    #[test]
    fn unanchored_globs_match_at_any_depth() {
        let c = parse("exclude = [\"*.snap\", \"testdata\"]\n").unwrap();
        assert!(c.is_excluded("a/b/c.snap"));
        assert!(c.is_excluded("x/testdata/y.env"));
        assert!(!c.is_excluded("x/y.env"));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = err("format = \"text\"\n\nbogus = 1\n");
        assert!(e.starts_with("dir/.applivery-leaks.toml:3:"), "{e}");
        assert!(e.contains("bogus"), "{e}");
        let e = err("exclude = [\n  \"ok/**\",\n  \"{a,b\",\n]\n");
        assert!(e.starts_with("dir/.applivery-leaks.toml:3:"), "{e}");
        let e = err("placeholders = [\"(\"]\n");
        assert!(e.starts_with("dir/.applivery-leaks.toml:1:"), "{e}");
        let e = err("\n\nformat = \"xml\"\n");
        assert!(e.starts_with("dir/.applivery-leaks.toml:3:"), "{e}");
        let e = err("exclude = [\"a\"\n");
        assert!(e.starts_with("dir/.applivery-leaks.toml:"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
