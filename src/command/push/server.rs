//! The server's config for the pre-receive hook (`--server-config FILE`, TOML) and its audit
//! log. The file belongs to the server's administrators: nothing a repository holds can
//! override it. Every key is optional; an unknown key, a wrong type or an impossible
//! combination is an error naming the file and line, and the hook then rejects every push
//! (a gate whose settings cannot be read fails closed).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;

/// What the hook does when its budget runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnTimeout {
    /// Reject the push, saying how to split it (the default: fail closed).
    #[default]
    Reject,
    /// Accept the push unscanned, and write it to the audit log.
    Accept,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    timeout: Option<f64>,
    on_timeout: Option<String>,
    max_findings: Option<u64>,
    threads: Option<usize>,
    allow_skip: Option<bool>,
    audit_log: Option<PathBuf>,
    config: Option<PathBuf>,
    ignore: Option<PathBuf>,
    baseline: Option<PathBuf>,
    repository_files: Option<bool>,
}

/// The server's settings, validated.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// The file it came from; `None`: defaults.
    pub file: Option<PathBuf>,
    pub timeout: Option<f64>,
    pub on_timeout: OnTimeout,
    pub max_findings: Option<u64>,
    pub threads: Option<usize>,
    /// Honour `git push -o applivery-leaks.skip="reason"`.
    pub allow_skip: bool,
    /// Where bypasses (and pushes accepted on timeout) are written, one JSON line each.
    pub audit_log: Option<PathBuf>,
    /// The project config every repository is scanned with; when set, a repository's own
    /// `.applivery-leaks.toml` is not read.
    pub config: Option<PathBuf>,
    /// An ignore file (fingerprints) of the server's, for every repository.
    pub ignore: Option<PathBuf>,
    /// A baseline (JSON report) of the server's, for every repository.
    pub baseline: Option<PathBuf>,
    /// Read `.applivery-leaks.toml` (unless `config` is set) and `.applivery-leaksignore`
    /// from the pushed commit, as every other scan reads them from the tree it scans.
    pub repository_files: bool,
}

impl Server {
    /// The settings in `path`, or the defaults without a file.
    pub fn load(path: Option<&Path>) -> Result<Server> {
        let Some(path) = path else {
            return Ok(Server {
                repository_files: true,
                ..Server::default()
            });
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read server config {}", path.display()))?;
        Server::parse(&text, path)
    }

    /// Parses the settings; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Server> {
        let name = path.display().to_string();
        let f: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            });
            let msg = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            match line {
                Some(l) => anyhow!("{name}:{l}: {msg}"),
                None => anyhow!("{name}: {msg}"),
            }
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: Option<PathBuf>| p.map(|p| if p.is_absolute() { p } else { dir.join(p) });
        let on_timeout = match f.on_timeout.as_deref() {
            None | Some("reject") => OnTimeout::Reject,
            Some("accept") => OnTimeout::Accept,
            Some(other) => {
                bail!("{name}: on_timeout = \"{other}\": expected \"reject\" or \"accept\"")
            }
        };
        if let Some(t) = f.timeout {
            crate::cli::parse_timeout(&t.to_string())
                .map_err(|e| anyhow!("{name}: timeout: {e}"))?;
        }
        if f.max_findings == Some(0) {
            bail!("{name}: max_findings: give at least 1");
        }
        let server = Server {
            file: Some(path.to_path_buf()),
            timeout: f.timeout,
            on_timeout,
            max_findings: f.max_findings,
            threads: f.threads,
            allow_skip: f.allow_skip.unwrap_or(false),
            audit_log: resolve(f.audit_log),
            config: resolve(f.config),
            ignore: resolve(f.ignore),
            baseline: resolve(f.baseline),
            repository_files: f.repository_files.unwrap_or(true),
        };
        if server.audit_log.is_none() {
            if server.allow_skip {
                bail!("{name}: allow_skip = true needs audit_log: every bypass is written there");
            }
            if server.on_timeout == OnTimeout::Accept {
                bail!(
                    "{name}: on_timeout = \"accept\" needs audit_log: every push accepted \
                     unscanned is written there"
                );
            }
        }
        Ok(server)
    }
}

/// Appends one JSON line to the audit log, in one write, and flushes it to disk. The hook
/// lets nothing through that it could not log.
pub fn audit(log: &Path, entry: &serde_json::Value) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut line = serde_json::to_string(entry).context("audit entry")?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(log)
        .with_context(|| format!("cannot open the audit log {}", log.display()))?;
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_data())
        .with_context(|| format!("cannot write the audit log {}", log.display()))
}

/// Who pushed, as the server tells the hook: GitLab, GitHub Enterprise Server, then a web
/// server's authenticated user (git http-backend), Gitea / Forgejo.
pub fn pusher() -> Option<String> {
    [
        "GL_USERNAME",
        "GITHUB_USER_LOGIN",
        "REMOTE_USER",
        "GITEA_PUSHER_NAME",
    ]
    .iter()
    .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Server> {
        Server::parse(t, Path::new("/etc/al/server.toml"))
    }

    #[test]
    fn defaults_and_full_file() {
        let s = Server::load(None).unwrap();
        assert_eq!(s.on_timeout, OnTimeout::Reject);
        assert!(!s.allow_skip && s.repository_files && s.timeout.is_none());
        let s = parse(
            "timeout = 2.5\non_timeout = \"accept\"\nallow_skip = true\n\
             audit_log = \"audit.jsonl\"\nconfig = \"/srv/project.toml\"\nrepository_files = false\n",
        )
        .unwrap();
        assert_eq!(s.timeout, Some(2.5));
        assert_eq!(s.on_timeout, OnTimeout::Accept);
        assert_eq!(s.audit_log.unwrap(), Path::new("/etc/al/audit.jsonl"));
        assert_eq!(s.config.unwrap(), Path::new("/srv/project.toml"));
        assert!(!s.repository_files);
    }

    #[test]
    fn mistakes_are_errors_with_their_line() {
        let e = parse("timeout = 4\ntimout = 3\n").unwrap_err().to_string();
        assert!(e.starts_with("/etc/al/server.toml:2:"), "{e}");
        let e = parse("on_timeout = \"maybe\"\n").unwrap_err().to_string();
        assert!(e.contains("expected \"reject\" or \"accept\""), "{e}");
        let e = parse("allow_skip = true\n").unwrap_err().to_string();
        assert!(e.contains("needs audit_log"), "{e}");
        let e = parse("on_timeout = \"accept\"\n").unwrap_err().to_string();
        assert!(e.contains("needs audit_log"), "{e}");
        assert!(parse("timeout = 0\n").is_err());
        assert!(parse("timeout = \"4\"\n").is_err());
    }
}
