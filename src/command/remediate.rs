//! `remediate`: from a history sweep's JSON report to a pack of what to do next, written
//! into one directory —
//!
//! - `replace-text.txt`: one literal per token for `git filter-repo --replace-text` (and
//!   BFG), the only file that holds full tokens (mode 0600; stderr says to delete it);
//! - `purge.md`: the exact `git filter-repo --sensitive-data-removal` and BFG commands, the
//!   archives a text replacement cannot rewrite, and the refs a force-push cannot reach
//!   (pull and merge request refs the forge owns);
//! - `revoke.md`: per token, live first, the Applivery dashboard steps for its kind and what
//!   it opened;
//! - `recheck.sh`: `applivery-leaks recheck` on the rewritten repository, with `--verify`;
//! - `report.json` (the report, redacted) and `incident.html` (the incident view with the
//!   exposure map, linking the files above).
//!
//! Full tokens are read again from the repository at the commit and path each finding
//! names (`source::git::recover`), so the report can stay redacted.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::output::{say, EXIT_CLEAN};
use super::project::{archive_settings, load_config, rules_of};
use crate::cli::RemediateArgs;
use crate::detect::Detector;
use crate::finding::{redact, BlastRadius, Finding, Verification, VerifyStatus};
use crate::report::{escape_control, load, Exposure, Report, ScanKind};

/// What replaces each token in the rewritten history.
pub const REPLACEMENT: &str = "***REMOVED-APPLIVERY-TOKEN***";

/// The files of a pack besides `replace-text.txt`.
pub const PACK_FILES: &[&str] = &[
    "purge.md",
    "revoke.md",
    "recheck.sh",
    "report.json",
    "incident.html",
];

/// One unique token of a report.
pub(crate) struct Token<'r> {
    pub sha256: String,
    pub rules: BTreeSet<String>,
    /// The redacted form.
    pub shown: String,
    pub verification: Option<&'r Verification>,
    pub exposure: Option<&'r Exposure>,
    pub paths: BTreeSet<String>,
    /// Archive chains (`outer!/member`) it sits in: text replacement cannot reach inside.
    pub archives: BTreeSet<String>,
    pub base64: bool,
    pub in_head: bool,
    pub findings: Vec<&'r Finding>,
}

impl Token<'_> {
    pub fn kind(&self) -> Kind {
        if self.rules.iter().any(|r| r.contains("service-account")) {
            Kind::ServiceAccount
        } else if self.rules.iter().any(|r| r.contains("legacy")) {
            Kind::LegacyKey
        } else {
            Kind::AppToken
        }
    }

    fn rank(&self) -> u8 {
        match self.verification.map(|v| v.status) {
            Some(VerifyStatus::Live) => 0,
            Some(VerifyStatus::Unknown) => 1,
            None => 2,
            Some(VerifyStatus::Revoked) => 3,
        }
    }

    pub fn status(&self) -> &'static str {
        self.verification
            .map_or("unverified", |v| v.status.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AppToken,
    ServiceAccount,
    LegacyKey,
}

/// The unique tokens of `report` (by SHA-256), live first, then those still in HEAD.
pub(crate) fn tokens(report: &Report) -> Vec<Token<'_>> {
    let mut out: Vec<Token> = Vec::new();
    let verdicts = crate::report::json::verdicts(report);
    for f in &report.findings {
        let i = match out.iter().position(|t| t.sha256 == f.secret_sha256) {
            Some(i) => i,
            None => {
                let exposure = report.summary.git.as_ref().and_then(|g| {
                    g.secrets
                        .iter()
                        .find(|s| s.secret_sha256 == f.secret_sha256)
                        .and_then(|s| s.exposure.as_ref())
                });
                out.push(Token {
                    sha256: f.secret_sha256.clone(),
                    rules: BTreeSet::new(),
                    // The report is input: what it says is shown inert.
                    shown: escape_control(&redact(&f.secret)).replace('`', "'"),
                    verification: verdicts.get(f.secret_sha256.as_str()).copied(),
                    exposure,
                    paths: BTreeSet::new(),
                    archives: BTreeSet::new(),
                    base64: false,
                    in_head: false,
                    findings: Vec::new(),
                });
                out.len() - 1
            }
        };
        let t = &mut out[i];
        t.rules.insert(escape_control(&f.rule));
        t.paths.insert(f.path.clone());
        if !f.provenance.members.is_empty() {
            t.archives.insert(f.provenance.outer());
        }
        t.base64 |= f.decoded.iter().any(|d| d == "base64");
        t.in_head |= f.git.as_ref().is_some_and(|g| g.in_head);
        t.findings.push(f);
    }
    out.sort_by_key(|t| (t.rank(), !t.in_head));
    out
}

/// Loads a JSON report for `remediate` / `recheck`: one repository's history sweep.
pub(crate) fn load_report(path: &Path) -> Result<Report> {
    let report = load::load(path).map_err(|e| anyhow!("{}", escape_control(&e)))?;
    if report.kind != ScanKind::Git {
        bail!(
            "{}: a `{}` report; remediation needs the JSON report of a history sweep \
             (`applivery-leaks git --format json`)",
            path.display(),
            report.kind.as_str()
        );
    }
    let repos: BTreeSet<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.provenance.repository.as_deref())
        .collect();
    if repos.len() > 1 {
        bail!(
            "{}: findings of {} repositories; run this on each repository's own report \
             (`git --output-dir` writes one per repository)",
            path.display(),
            repos.len()
        );
    }
    Ok(report)
}

/// The detector for reading tokens again, with the repository's project config.
pub(crate) fn detector(rules: &crate::cli::RuleArgs, repo: &Path) -> Result<Detector> {
    let root = crate::source::git::scan_root(repo)?;
    let config = load_config(rules, &root)?;
    Detector::new(rules_of(&config, rules)?)
}

pub fn run(a: &RemediateArgs) -> Result<u8> {
    let report = load_report(&a.report)?;
    let toks = tokens(&report);
    if toks.is_empty() {
        if !a.quiet {
            say(format_args!(
                "applivery-leaks: {} has no findings: nothing to remediate, no pack written",
                a.report.display()
            ));
        }
        return Ok(EXIT_CLEAN);
    }
    let det = detector(&a.rules, &a.repo)?;
    let archives = archive_settings(&a.archives, &[])?;
    let full = crate::source::git::recover::recover(&det, &archives, &a.repo, &report.findings)?;
    let missing: Vec<&Token> = toks
        .iter()
        .filter(|t| !full.contains_key(&t.sha256))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} of the report's {} token(s) are not in {} ({}): is it the repository the \
             report was made from, before any rewrite?",
            missing.len(),
            toks.len(),
            a.repo.display(),
            missing
                .iter()
                .map(|t| t.shown.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut lines = String::new();
    for t in &toks {
        let secret = &full[&t.sha256];
        for literal in literals(secret, t.base64) {
            if literal.contains("==>") || literal.contains(['\n', '\r']) {
                bail!(
                    "token {} cannot be written as a replace-text literal (it holds '==>' or \
                     a line break)",
                    t.shown
                );
            }
            // A line starting with `regex:` or `glob:` would be read as a pattern.
            let prefix = if ["regex:", "glob:", "literal:"]
                .iter()
                .any(|p| literal.starts_with(p))
            {
                "literal:"
            } else {
                ""
            };
            let _ = writeln!(lines, "{prefix}{literal}==>{REPLACEMENT}");
        }
    }

    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let out = std::fs::canonicalize(&a.out)
        .with_context(|| format!("cannot open {}", a.out.display()))?;
    let repo = std::fs::canonicalize(&a.repo).unwrap_or_else(|_| a.repo.clone());
    let replace = out.join("replace-text.txt");
    write_private(&replace, lines.as_bytes())?;

    // What the pack shows: names that hold a token (a path, a branch) redacted, as in any
    // report (the report read may have been written with --show-secrets).
    let mut shown = report.clone();
    shown.redact_names();
    let shown_toks = tokens(&shown);
    write_file(
        &out.join("purge.md"),
        purge(&shown_toks, &replace).as_bytes(),
        false,
    )?;
    write_file(
        &out.join("revoke.md"),
        revoke(&shown_toks).as_bytes(),
        false,
    )?;
    write_file(&out.join("recheck.sh"), recheck(&repo).as_bytes(), true)?;
    let rules = crate::rules::default_rules();
    let mut json = Vec::new();
    crate::report::json::write(
        &shown,
        &rules,
        style(crate::report::Format::Json),
        &mut json,
    )
    .context("cannot render report.json")?;
    write_file(&out.join("report.json"), &json, false)?;
    let mut html = Vec::new();
    let mut inpack = shown;
    inpack.pack_dir = Some(String::new());
    crate::report::html::write(&inpack, style(crate::report::Format::Html), &mut html)
        .context("cannot render incident.html")?;
    write_file(&out.join("incident.html"), &html, false)?;

    // Always said, even with --quiet: the one file that must not stay around.
    say(format_args!(
        "applivery-leaks: warning: {} holds {} full token(s) (mode 0600): keep it off shared \
         disks and delete it once the history is purged (shred -u)",
        replace.display(),
        toks.len()
    ));
    if !a.quiet {
        say(format_args!(
            "applivery-leaks: remediation pack for {} token(s) written to {}: {}",
            toks.len(),
            out.display(),
            PACK_FILES.join(", ")
        ));
    }
    Ok(EXIT_CLEAN)
}

fn style(format: crate::report::Format) -> crate::report::Style {
    crate::report::Style {
        format,
        show_secrets: false,
        color: false,
    }
}

/// What to replace for a token: the token, and for one written base64-encoded the part of
/// its encodings that does not depend on what follows it.
fn literals(secret: &str, base64: bool) -> Vec<String> {
    use base64::Engine as _;
    let mut out = vec![secret.to_string()];
    if base64 {
        for engine in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
        ] {
            let enc = engine.encode(secret.as_bytes());
            let stable = enc[..(secret.len() / 3) * 4].to_string();
            if stable.len() >= 8 && !out.contains(&stable) {
                out.push(stable);
            }
        }
    }
    out
}

/// Writes a file only its owner can read, created so from the start (never readable by
/// others for a moment), replacing one that is there.
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let what = || format!("cannot write {}", path.display());
    let _ = std::fs::remove_file(path);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).with_context(what)?;
    f.write_all(data).with_context(what)?;
    f.sync_all().with_context(what)?;
    Ok(())
}

fn write_file(path: &Path, data: &[u8], executable: bool) -> Result<()> {
    std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    Ok(())
}

/// Text from the report (paths, ref names: what a repository controls) as Markdown inline
/// code: control characters escaped, and no backtick to end the span early.
fn code(s: &str) -> String {
    format!("`{}`", escape_control(s).replace('`', "'"))
}

/// Quotes a string for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn shell_path(p: &Path) -> String {
    sh_quote(&p.display().to_string())
}

fn purge(toks: &[Token], replace: &Path) -> String {
    let rt = shell_path(replace);
    let mut m = String::new();
    m.push_str("# Purge the tokens from history\n\n");
    m.push_str(
        "Revoke first ([revoke.md](revoke.md)): rewriting history does not un-leak a token. \
         Clones, forks, CI caches and the forge's own copies keep the old commits; only \
         revocation closes the leak. Purge so that the next sweep is clean and nobody finds \
         the token again.\n\n",
    );
    let _ = writeln!(
        m,
        "`replace-text.txt` holds {} full token(s): one line per literal, each replaced by \
         `{REPLACEMENT}`. Delete it once the purge is done (`shred -u {rt}`).\n",
        toks.len()
    );
    m.push_str("## 1. git filter-repo (2.47 or later)\n\n");
    m.push_str(
        "In a fresh mirror clone (filter-repo refuses to rewrite a clone with local work; \
         `--sensitive-data-removal` fetches every ref first and says which commits changed):\n\n",
    );
    m.push_str("```sh\n");
    m.push_str("git clone --mirror URL repo-purge.git\ncd repo-purge.git\n");
    let _ = writeln!(
        m,
        "git filter-repo --sensitive-data-removal --replace-text {rt} --replace-message {rt}"
    );
    let archives: BTreeSet<&String> = toks.iter().flat_map(|t| &t.archives).collect();
    for a in &archives {
        if a.chars().any(char::is_control) {
            // A command line cannot be shown safely: the path is named in revoke.md.
            m.push_str("# an archive whose path holds control characters: remove it by hand\n");
            continue;
        }
        let _ = writeln!(
            m,
            "git filter-repo --sensitive-data-removal --invert-paths --path {}",
            sh_quote(a)
        );
    }
    m.push_str("git push --force --mirror origin\n```\n\n");
    if !archives.is_empty() {
        m.push_str(
            "The `--invert-paths` lines remove archives that hold a token inside: a text \
             replacement cannot rewrite compressed members, so the whole file goes from \
             history. Commit a rebuilt archive without the token if it is still needed.\n\n",
        );
    }
    let tips: Vec<String> = toks
        .iter()
        .flat_map(|t| t.exposure.into_iter().flat_map(|e| &e.refs))
        .filter(|r| r.at_tip)
        .map(|r| code(&r.name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !tips.is_empty() {
        let _ = writeln!(
            m,
            "The token is still in the newest commit of {}: the rewrite replaces it there \
             too, so the code on those refs then holds `{REPLACEMENT}`. Read the new token \
             from a CI secret instead before you push.\n",
            tips.join(", ")
        );
    }
    m.push_str("## 2. BFG Repo-Cleaner (alternative)\n\n```sh\n");
    m.push_str("git clone --mirror URL repo-bfg.git\n");
    let _ = writeln!(m, "java -jar bfg.jar --replace-text {rt} repo-bfg.git");
    m.push_str(
        "cd repo-bfg.git\ngit reflog expire --expire=now --all && git gc --prune=now --aggressive\n\
         git push --force\n```\n\n",
    );
    m.push_str(
        "BFG leaves the files of each ref's newest commit as they are (its \"protected\" \
         commits): remove the token from those commits first, or add \
         `--no-blob-protection`.\n\n",
    );
    m.push_str("## 3. Refs a force-push cannot rewrite\n\n");
    let forge: Vec<String> = toks
        .iter()
        .flat_map(|t| t.exposure.into_iter().flat_map(|e| &e.refs))
        .filter(|r| r.forge_owned())
        .map(|r| format!("- {} (commit {})", code(&r.name), code(&r.commit)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if forge.is_empty() {
        m.push_str(
            "The sweep saw no pull or merge request refs (fetch them to know: \
             `git fetch origin '+refs/pull/*:refs/pull/*'` on GitHub, \
             `'+refs/merge-requests/*:refs/merge-requests/*'` on GitLab, then sweep again). \
             Closed pull requests keep their commits on the forge all the same.\n\n",
        );
    } else {
        m.push_str("These refs reach a commit holding a token and belong to the forge:\n\n");
        for f in &forge {
            m.push_str(f);
            m.push('\n');
        }
        m.push('\n');
    }
    m.push_str(
        "- **GitHub**: `refs/pull/*` are read-only; the push of the rewrite is refused for \
         them and their commits stay reachable. Ask GitHub Support to remove the cached \
         views and the pull request refs, giving them the commits below.\n\
         - **GitLab**: `refs/merge-requests/*` stay until the merge request is deleted (an \
         Owner can delete it); then run housekeeping (Settings > General > Advanced > Run \
         housekeeping, or ask the instance administrator to prune unreachable objects).\n\n",
    );
    m.push_str("Commits that introduced a token:\n\n");
    for t in toks {
        let intro = t.exposure.map(|e| e.introduced.as_slice()).unwrap_or(&[]);
        let _ = writeln!(
            m,
            "- `{}`: {}",
            t.shown,
            if intro.is_empty() {
                "(no exposure map in the report)".to_string()
            } else {
                intro.iter().map(|c| code(c)).collect::<Vec<_>>().join(", ")
            }
        );
    }
    m.push_str(
        "\n## 4. Re-check\n\n\
         Run `sh recheck.sh PATH-OF-THE-REWRITTEN-CLONE`: it sweeps that repository again and \
         tells per token whether it is purged, and asks the Applivery API whether it is \
         revoked (with the full tokens of `replace-text.txt` while it exists). Then delete \
         `replace-text.txt`, and have every collaborator clone afresh: an old clone pushed \
         again brings the tokens back.\n",
    );
    m
}

fn revoke(toks: &[Token]) -> String {
    let mut m = String::from("# Revoke the tokens\n\n");
    m.push_str(
        "Live tokens first. Revoke, then create a new token and update every place that \
         uses it (CI secrets, build settings); `sh recheck.sh` then confirms each is \
         revoked.\n\n",
    );
    for (i, t) in toks.iter().enumerate() {
        let kind = match t.kind() {
            Kind::AppToken => "App API token",
            Kind::ServiceAccount => "Service Account token",
            Kind::LegacyKey => "legacy API key",
        };
        let _ = writeln!(m, "## {}. `{}`: {kind}, {}\n", i + 1, t.shown, t.status());
        let _ = writeln!(
            m,
            "- SHA-256: {}\n- Rules: {}",
            code(&t.sha256),
            t.rules.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(m, "- Opened: {}", opened(t));
        if let Some(e) = t.exposure {
            let refs: Vec<String> = e
                .refs
                .iter()
                .map(|r| {
                    format!(
                        "{}{}",
                        code(&r.name),
                        if r.at_tip { " (at tip)" } else { "" }
                    )
                })
                .collect();
            let _ = writeln!(
                m,
                "- Reachable from: {}",
                if refs.is_empty() {
                    "no ref".to_string()
                } else {
                    refs.join(", ")
                }
            );
        }
        let _ = writeln!(
            m,
            "- Paths: {}\n",
            t.paths
                .iter()
                .map(|p| code(p))
                .collect::<Vec<_>>()
                .join(", ")
        );
        m.push_str("Steps in the Applivery dashboard:\n\n");
        let first = t.shown.trim_end_matches('…');
        match t.kind() {
            Kind::AppToken => {
                let app = match t.verification.and_then(|v| v.blast_radius.as_ref()) {
                    Some(BlastRadius::App {
                        application_name: Some(n),
                        ..
                    }) => format!("the app **{n}**"),
                    _ => "the app the token belongs to".into(),
                };
                let _ = writeln!(
                    m,
                    "1. Open {app} > Settings > Integrations > API Tokens.\n\
                     2. Delete the token that starts with `{first}`.\n\
                     3. Create a new token and store it as a CI secret; update the builds \
                     that used the old one."
                );
            }
            Kind::ServiceAccount => {
                let _ = writeln!(
                    m,
                    "1. Open Workspace settings > Service Accounts.\n\
                     2. Open the service account whose token starts with `{first}` and \
                     delete that token (or the service account, if nothing else uses it).\n\
                     3. Create a new token with only the roles it needs, and store it as a \
                     CI secret."
                );
            }
            Kind::LegacyKey => {
                let _ = writeln!(
                    m,
                    "1. Open the account's settings where the legacy API key \
                     (`applivery-legacy-api-key`) is shown, and regenerate it: the key that \
                     starts with `{first}` then stops working.\n\
                     2. Move what used it to an App API token or a Service Account token: \
                     a legacy key acts with the whole account's rights."
                );
            }
        }
        m.push('\n');
    }
    m
}

/// What a token opened, from the verification's blast radius.
fn opened(t: &Token) -> String {
    let Some(v) = t.verification else {
        return "not verified (sweep with --verify to know)".into();
    };
    match (&v.status, &v.blast_radius) {
        (VerifyStatus::Revoked, _) => "nothing any more: the API refuses it".into(),
        (
            _,
            Some(BlastRadius::App {
                application_id,
                application_name,
                builds,
            }),
        ) => format!(
            "app {} ({}): {builds} build(s) to list and download",
            application_name.as_deref().unwrap_or("(unnamed)"),
            application_id.as_deref().unwrap_or("id unknown")
        ),
        (_, Some(BlastRadius::Workspaces { workspaces, total })) => format!(
            "{total} workspace(s): {}",
            workspaces
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (s, None) => format!("{}: {}", s.as_str(), v.reason),
    }
}

fn recheck(repo: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         # Re-check after revoking and purging: sweeps the rewritten repository again and\n\
         # tells per token of report.json whether it is still in history (and where) or\n\
         # purged, and asks the Applivery API whether it is still live or revoked. Full\n\
         # tokens come from the history while they are in it, else from replace-text.txt\n\
         # while it exists. Exit 0 when every token is purged and proven revoked.\n\
         # Usage: sh recheck.sh [REPO]   (default: the repository the report was made from)\n\
         set -eu\n\
         here=$(CDPATH='' cd -- \"$(dirname -- \"$0\")\" && pwd)\n\
         repo=${{1:-{repo}}}\n\
         if [ -f \"$here/replace-text.txt\" ]; then\n\
         \tset -- --tokens \"$here/replace-text.txt\"\n\
         else\n\
         \tset --\n\
         fi\n\
         exec \"${{APPLIVERY_LEAKS:-applivery-leaks}}\" recheck \"$here/report.json\" --repo \"$repo\" --verify \"$@\"\n",
        repo = shell_path(repo)
    )
}

/// The path of a pack's `replace-text.txt`.
pub fn replace_text(dir: &Path) -> PathBuf {
    dir.join("replace-text.txt")
}
