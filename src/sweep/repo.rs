//! What a repository of a sweep is: a local path, or a remote URL that `git` understands
//! (`https://`, `ssh://`, `git://`, `file://`, or scp-like `user@host:path`), and its
//! identity — a stable, password-free name (`git.example.com/team/app`) that reports print,
//! shards hash and caches key on. The same repository named by https and by ssh has one
//! identity, so it is swept once.
//!
//! A URL may carry a password (`https://user:token@host/…`). It is handed to `git` as
//! given, so the clone works, but it is never printed: `redact` removes the user part from
//! every URL in a text, and every message, report and cache entry uses the identity.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where a repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A repository on this machine (work tree or bare).
    Local(PathBuf),
    /// A URL for `git clone`, exactly as given (it may hold a credential: never print it).
    Remote(String),
}

/// A repository to sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub identity: String,
    pub location: Location,
}

impl Repo {
    /// A repository named on the command line or in a list: a URL if it looks like one (as
    /// `git` decides: a scheme, or `host:path` with no `/` before the colon), else a path,
    /// made absolute against `cwd`.
    pub fn parse(spec: &str, cwd: &Path) -> Result<Repo, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty repository name".into());
        }
        if is_url(spec) || scp_like(spec).is_some() {
            return Ok(Repo {
                identity: url_identity(spec)?,
                location: Location::Remote(spec.to_string()),
            });
        }
        let path = absolute(cwd, Path::new(spec));
        Ok(Repo {
            identity: local_identity(&path),
            location: Location::Local(path),
        })
    }

    /// A remote repository whose identity the caller knows (an API listed it).
    pub fn remote(identity: String, url: String) -> Repo {
        Repo {
            identity,
            location: Location::Remote(url),
        }
    }

    /// A file name for this repository in a cache or report directory: readable, unique
    /// (a hash of the identity) and safe whatever the identity holds.
    pub fn file_name(&self) -> String {
        file_name(&self.identity)
    }
}

/// `name-<hash>`: the identity's characters outside `[A-Za-z0-9._-]` become `_`, cut to 80,
/// then 16 hex digits of its SHA-256.
pub fn file_name(identity: &str) -> String {
    let mut readable: String = identity
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    readable = readable.trim_start_matches('.').to_string();
    let h = Sha256::digest(identity.as_bytes());
    format!("{readable}-{}", super::hex(&h[..8]))
}

fn is_url(s: &str) -> bool {
    let Some(i) = s.find("://") else {
        return false;
    };
    let scheme = &s[..i];
    !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `[user@]host:path` as git reads it: a colon with no `/` before it (and not a lone drive
/// letter). Returns (host, path).
fn scp_like(s: &str) -> Option<(&str, &str)> {
    let colon = s.find(':')?;
    if s[..colon].contains('/') || colon < 2 {
        return None;
    }
    let host = &s[..colon];
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    (!host.is_empty()).then_some((host, &s[colon + 1..]))
}

/// The host of a URL (`ssh://git@Host:22/x` → `host`, `git@host:x` → `host`), lower case.
pub fn url_host(spec: &str) -> Option<String> {
    let id = url_identity(spec).ok()?;
    if id.starts_with("file://") {
        return None;
    }
    let hostport = id.split('/').next()?;
    let host = match hostport.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => hostport,
    };
    Some(host.to_string())
}

/// A part of a URL that `git` or `ssh` would read as an option (`ssh://-oProxyCommand=…`, a
/// path `-u…`), or that holds a control character or a space: refused before `git` sees it.
fn option_like(spec: &str, user: &str, host: &str, path: &str) -> Option<String> {
    if spec.chars().any(|c| c.is_control() || c == ' ') {
        return Some("control characters or spaces".into());
    }
    if spec.starts_with('-') {
        return Some("it starts with '-'".into());
    }
    if user.starts_with('-') || host.starts_with('-') {
        return Some("its user or host starts with '-' (an option to ssh)".into());
    }
    if path.trim_start_matches('/').starts_with('-') {
        return Some("its path starts with '-' (an option to git)".into());
    }
    None
}

/// `host[:port]/path` without scheme, user, password, trailing `/` or `.git`; the host in
/// lower case. `file://` URLs keep their path (`file:///srv/git/app`).
pub fn url_identity(spec: &str) -> Result<String, String> {
    let (user, host, port, path) = if is_url(spec) {
        let (scheme, rest) = spec.split_once("://").expect("a URL has ://");
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            let p = clean_path(rest);
            let p = p.trim_end_matches('/');
            let p = p.strip_suffix(".git").unwrap_or(p);
            return Ok(format!("file://{p}"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (user, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
                let default = match scheme.as_str() {
                    "https" => "443",
                    "http" => "80",
                    "ssh" | "git+ssh" | "ssh+git" => "22",
                    "git" => "9418",
                    _ => "",
                };
                (h, (p != default).then_some(p))
            }
            _ => (hostport, None),
        };
        (
            user.to_string(),
            host.to_string(),
            port.map(str::to_string),
            path.to_string(),
        )
    } else {
        let (host, path) = scp_like(spec).ok_or("not a URL")?;
        let colon = spec.find(':').unwrap_or(0);
        let user = spec[..colon].rsplit_once('@').map_or("", |(u, _)| u);
        (user.to_string(), host.to_string(), None, format!("/{path}"))
    };
    if host.is_empty() {
        return Err(format!("{}: the URL has no host", redact(spec)));
    }
    if let Some(why) = option_like(spec, &user, &host, &path) {
        return Err(format!("{}: refusing the URL: {why}", redact(spec)));
    }
    let path = clean_path(&path);
    let mut path = path.trim_end_matches('/').to_string();
    if let Some(p) = path.strip_suffix(".git") {
        path = p.to_string();
    }
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return Err(format!("{}: the URL names no repository", redact(spec)));
    }
    let host = host.to_ascii_lowercase();
    Ok(match port {
        Some(p) => format!("{host}:{p}/{path}"),
        None => format!("{host}/{path}"),
    })
}

/// `text` with the user part of every URL in it removed (`https://user:pw@host` becomes
/// `https://host`): what `git` and our messages say about a URL never shows a credential.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        // The authority ends at the first '/', whitespace or quote; its user part at the
        // last '@' before that.
        let end = rest
            .find(|c: char| c == '/' || c.is_whitespace() || matches!(c, '\'' | '"' | '<' | '>'))
            .unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// A URL path with `.` segments, `..` segments (with the segment before them) and empty
/// segments removed: `/acme/x/../../acme/r.git` is `/acme/r.git`, one repository.
fn clean_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// The identity of a local repository: its path made absolute and cleaned, without a
/// trailing `/.git` (the work tree and its `.git` are one repository).
fn local_identity(path: &Path) -> String {
    let s = path.to_string_lossy();
    let s = s.strip_suffix("/.git").unwrap_or(&s);
    s.to_string()
}

/// `path` made absolute against `cwd` and cleaned of `.` and `..` (without following
/// symbolic links, so the identity is the name the user gave).
fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities() {
        let cwd = Path::new("/work");
        let id = |s: &str| Repo::parse(s, cwd).unwrap().identity;
        assert_eq!(
            id("https://Git.Example.com/team/app.git"),
            "git.example.com/team/app"
        );
        assert_eq!(
            id("git@git.example.com:team/app.git"),
            "git.example.com/team/app"
        );
        assert_eq!(
            id("ssh://git@git.example.com/team/app"),
            "git.example.com/team/app"
        );
        assert_eq!(
            id("ssh://git@git.example.com:2222/team/app.git"),
            "git.example.com:2222/team/app"
        );
        assert_eq!(
            id("https://user:hunter2@git.example.com:443/team/app/"),
            "git.example.com/team/app"
        );
        assert_eq!(id("git://127.0.0.1:9418/a.git"), "127.0.0.1/a");
        assert_eq!(id("git://127.0.0.1:9999/a.git"), "127.0.0.1:9999/a");
        assert_eq!(id("file:///srv/git/app.git"), "file:///srv/git/app");
        assert_eq!(id("repo-a/"), "/work/repo-a");
        assert_eq!(id("./x/../repo-b"), "/work/repo-b");
        assert_eq!(id("/abs/dir:with/colon"), "/abs/dir:with/colon");
        assert!(matches!(
            Repo::parse("sub/dir:x", cwd).unwrap().location,
            Location::Local(_)
        ));
        assert!(Repo::parse("https://host", cwd).is_err());
        let e = Repo::parse("https://u:hunter2@/x", cwd).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn redaction_removes_every_user_part() {
        assert_eq!(
            redact("fatal: unable to access 'https://u:hunter2@host/x.git/': 403"),
            "fatal: unable to access 'https://host/x.git/': 403"
        );
        assert_eq!(
            redact("https://tok@a/x https://b/y http://u:p@c"),
            "https://a/x https://b/y http://c"
        );
        assert_eq!(redact("no url here"), "no url here");
        assert_eq!(redact("git@host:team/x.git"), "git@host:team/x.git");
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        let a = file_name("github.com/acme/app");
        assert!(a.starts_with("github.com_acme_app-"), "{a}");
        assert_ne!(a, file_name("github.com/acme_app"));
        let h = file_name("../../etc/passwd");
        assert!(!h.contains('/') && !h.starts_with('.'), "{h}");
    }
}
