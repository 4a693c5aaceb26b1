//! The repositories of a GitHub organisation or a GitLab group, listed through the host's
//! REST API: every page (`Link: rel="next"`, GitLab's `X-Next-Page`), waiting out rate
//! limits (`Retry-After`, the reset time of an exhausted quota) up to a bound, retrying
//! server errors a few times, and failing with one clear line for a bad token, an unknown
//! organisation or group, or an answer that is not the API's.
//!
//! The token goes only to the API's origin: pagination links to any other host are refused.
//! Clone URLs from an answer are used only when they are https, http, ssh or git URLs, so
//! a hostile answer cannot make `git` run a command (`ext::`) or read local files.

mod github;
mod gitlab;

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::repo::{self, Repo};
use crate::net::{self, Url};

pub use github::github;
pub use gitlab::gitlab;

/// Which listed repositories to leave out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub skip_archived: bool,
    pub skip_forks: bool,
}

/// Where the API is and how to reach it.
#[derive(Debug, Clone)]
pub struct Api {
    /// The API base (`https://api.github.com`, `https://gitlab.com`).
    pub base: String,
    /// The token, if any (from the environment, never from the command line).
    pub token: Option<String>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// The longest the whole listing may wait on rate limits before giving up.
    pub max_wait: Duration,
    /// Hosts besides the API's own that clone URLs of a listing may point to
    /// (`--allow-clone-host`).
    pub clone_hosts: Vec<String>,
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Api {
        Api {
            base: base.to_string(),
            token: token.filter(|t| !t.trim().is_empty()),
            timeout: Duration::from_secs(30),
            max_wait: Duration::from_secs(15 * 60),
            clone_hosts: Vec::new(),
        }
    }
}

/// The most of one page read.
const MAX_PAGE: u64 = 32 << 20;
/// Pages followed at most (100 repositories each).
const MAX_PAGES: usize = 10_000;
/// Attempts per page when the server fails (5xx) or does not answer.
const ATTEMPTS: u32 = 3;

/// One host's dialect: how to authenticate, and what it lists.
trait Host {
    /// "GitHub" or "GitLab".
    fn name(&self) -> &'static str;
    /// The environment variable the token comes from.
    fn token_var(&self) -> &'static str;
    /// What is listed ("organisation", "group") and its name.
    fn owner(&self) -> (&'static str, &str);
    fn auth(&self, token: &str) -> net::Header<'static>;

    /// The one-line error for a final non-2xx answer.
    fn refusal(&self, status: u16, message: &str, has_token: bool) -> String {
        let said = if message.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {message}")
        };
        let (host, var) = (self.name(), self.token_var());
        let (kind, owner) = self.owner();
        let owner = crate::report::escape_control(owner);
        match status {
            401 if has_token => format!("{host} rejected the token in {var} ({said})"),
            401 => format!("{host} asks for a token: set {var} ({said})"),
            404 if has_token => {
                format!("{host} {kind} '{owner}' not found, or {var} cannot see it ({said})")
            }
            404 => format!(
                "{host} {kind} '{owner}' not found (set {var} for a private {kind}) ({said})"
            ),
            403 => format!("{host} refused to list '{owner}' ({said})"),
            _ => format!("{host} API: listing '{owner}' failed ({said})"),
        }
    }
}

/// Follows every page from `first`, handing each page's JSON array to `page`.
fn pages(
    api: &Api,
    host: &dyn Host,
    first: Url,
    mut page: impl FnMut(&[Value]) -> Result<(), String>,
) -> Result<(), String> {
    let base = net::base_url(&api.base).map_err(|e| {
        format!(
            "{} API URL: {}",
            host.name(),
            crate::report::escape_control(&e)
        )
    })?;
    let client = net::client(&net::ClientOptions {
        timeout: api.timeout,
        pool: 1,
        plain: base.scheme() == "http",
        resolve: Vec::new(),
        max_body: MAX_PAGE,
    })
    .map_err(|e| e.to_string())?;
    let headers: Vec<net::Header> = api.token.iter().map(|t| host.auth(t)).collect();
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let mut next = Some(first);
    let mut visited: std::collections::HashSet<Url> = std::collections::HashSet::new();
    let mut pages_read = 0;
    while let Some(url) = next.take() {
        pages_read += 1;
        if pages_read > MAX_PAGES {
            return Err(format!("{}: more than {MAX_PAGES} pages", host.name()));
        }
        let mut attempt = 1;
        let answer = loop {
            match net::get(&client, &url, &headers, api.timeout) {
                Err(reason) if attempt < ATTEMPTS => {
                    let _ = reason;
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                Err(reason) => {
                    return Err(format!("cannot reach the {} API: {reason}", host.name()))
                }
                Ok(a) => {
                    if let Some(wait) = rate_limited(&a) {
                        if waited + wait > api.max_wait {
                            return Err(format!(
                                "{} rate limit: the API asks to wait {} s, more than the {} s \
                                 this run allows; try again later (or with a token)",
                                host.name(),
                                wait.as_secs(),
                                api.max_wait.saturating_sub(waited).as_secs()
                            ));
                        }
                        waited += wait;
                        // At least a moment, so a reset time already past does not spin.
                        std::thread::sleep(wait.max(Duration::from_millis(200)));
                        continue;
                    }
                    if a.status >= 500 && attempt < ATTEMPTS {
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                    break a;
                }
            }
        };
        if !(200..300).contains(&answer.status) {
            let message = answer
                .body
                .as_deref()
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                .and_then(|v| {
                    v.get("message")
                        .or_else(|| v.get("error"))
                        .and_then(|m| m.as_str().map(str::to_string))
                })
                .map(|m| crate::report::escape_control(&net::short(&m)))
                .unwrap_or_default();
            return Err(host.refusal(answer.status, &message, api.token.is_some()));
        }
        let body = answer
            .body
            .as_deref()
            .map_err(|e| format!("{} API: {e}", host.name()))?;
        let items: Vec<Value> = match serde_json::from_slice(body) {
            Ok(Value::Array(items)) => items,
            _ => {
                return Err(format!(
                    "{} API: the answer is not a JSON list (is the API URL right?)",
                    host.name()
                ))
            }
        };
        page(&items)?;
        next = next_page(&answer, &url, &base, host)?;
        visited.insert(url);
        if next.as_ref().is_some_and(|n| visited.contains(n)) {
            return Err(format!(
                "{} API: the next page is one already read (a pagination loop)",
                host.name()
            ));
        }
    }
    let _ = started;
    Ok(())
}

/// The next page: the `Link` header's `rel="next"` (same origin as the API only), else
/// GitLab's `X-Next-Page`.
fn next_page(
    answer: &net::Answer,
    current: &Url,
    base: &Url,
    host: &dyn Host,
) -> Result<Option<Url>, String> {
    if let Some(next) = answer.header("link").and_then(net::link_next) {
        let url = current
            .join(&next)
            .map_err(|_| format!("{} API: a bad pagination link", host.name()))?;
        if !net::same_origin(&url, base) {
            return Err(format!(
                "{} API: refusing a pagination link to another host (the token goes to {} only)",
                host.name(),
                base.host_str().unwrap_or("the API")
            ));
        }
        return Ok(Some(url));
    }
    let Some(n) = answer
        .header("x-next-page")
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return Ok(None);
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{} API: a bad X-Next-Page", host.name()))?;
    let mut url = current.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("page", &n.to_string());
    Ok(Some(url))
}

/// How long to wait before asking again, if the answer is a rate limit: 429, or a 403
/// with an exhausted quota or a `Retry-After` (GitHub's secondary limits).
fn rate_limited(a: &net::Answer) -> Option<Duration> {
    if a.status != 429 && a.status != 403 {
        return None;
    }
    match net::rate_limit_wait(a, SystemTime::now()) {
        Some(d) => Some(d),
        // A 429 that names no time: a minute is what GitHub documents for that case.
        None if a.status == 429 => Some(Duration::from_secs(60)),
        None => None,
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500) * 2u32.pow(attempt.saturating_sub(1))
}

/// A repository from a listing: its clone URL if it is one `git` may fetch from a listing
/// (https, http, ssh, git, or scp-like), else an error naming it.
///
/// The URL must point to the API's own host (`gitlab.example.com`; for `api.github.com`,
/// `github.com`) or one of `--allow-clone-host`: a hostile or compromised API must not send
/// the sweep — and a credential helper's token — to a host of its choosing.
fn listed(api: &Api, host: &dyn Host, name: &str, url: &str) -> Result<Repo, String> {
    let scheme_ok = match url.split_once("://") {
        Some((s, _)) => matches!(
            s.to_ascii_lowercase().as_str(),
            "https" | "http" | "ssh" | "git"
        ),
        None => !url.contains("::") && url.contains(':') && !url.starts_with('-'),
    };
    if !scheme_ok {
        return Err(format!(
            "{} API: repository {}: refusing the clone URL '{}'",
            host.name(),
            crate::report::escape_control(name),
            crate::report::escape_control(&repo::redact(url))
        ));
    }
    let identity = repo::url_identity(url).map_err(|e| format!("{} API: {e}", host.name()))?;
    let clone_host = repo::url_host(url).unwrap_or_default();
    let api_host = net::base_url(&api.base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let own = clone_host == api_host
        || api_host.strip_prefix("api.") == Some(clone_host.as_str())
        || api
            .clone_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&clone_host));
    if !own {
        return Err(format!(
            "{} API: repository {}: refusing a clone URL on {} (the API is on {}; allow \
             another host with --allow-clone-host HOST)",
            host.name(),
            crate::report::escape_control(name),
            crate::report::escape_control(&clone_host),
            api_host
        ));
    }
    Ok(Repo::remote(identity, url.to_string()))
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}
