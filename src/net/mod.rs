//! The network: everything that reaches it lives here, and this is the only module that
//! imports the HTTP client. Verification (the Applivery API) and repository enumeration
//! (the GitHub and GitLab REST APIs) both go through it, so both get the same rules:
//! redirects only within the origin first asked (a credential goes where it was meant to
//! and nowhere else), no proxy for plain loopback http, a bounded wait, a capped read of
//! the answer, and credentials marked sensitive so no debug output shows them. Reasons it
//! writes name the kind of failure, never a URL or a header, because reqwest's own
//! messages carry the URL and the URL is not ours to echo.

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use reqwest::blocking::Client as Inner;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::redirect;
pub use reqwest::Url;

use crate::time::days_from_civil;

const USER_AGENT: &str = concat!("applivery-leaks/", env!("CARGO_PKG_VERSION"));
/// Redirects followed on the same scheme, host and port before giving up.
const MAX_REDIRECTS: usize = 3;
/// Answer headers kept (names lowercased), and the longest value kept of each.
const MAX_HEADERS: usize = 64;
const MAX_HEADER_VALUE: usize = 4096;

/// An HTTP client for one run.
pub struct Client {
    inner: Inner,
    /// The most of an answer's body read.
    max_body: u64,
}

/// How a client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Timeout of one request (connect, answer and body).
    pub timeout: Duration,
    /// Idle connections kept per host.
    pub pool: usize,
    /// Allow `http://`: every endpoint is loopback (or resolved to it); then no proxy is
    /// used, since a proxy would see a credential in clear text.
    pub plain: bool,
    /// Host names pinned to addresses (the verification test seam).
    pub resolve: Vec<(String, SocketAddr)>,
    /// The most of an answer's body read; a larger answer is an error.
    pub max_body: u64,
}

/// An HTTP answer: its status, when to come back, its headers and the body read so far.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The answer's headers (names lowercased, at most 64, values cut at 4 KiB).
    pub headers: Vec<(String, String)>,
    /// The body, or why it could not be read whole.
    pub body: Result<Vec<u8>, String>,
}

impl Answer {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request header; `sensitive` ones (credentials) are kept out of any debug output.
pub struct Header<'a> {
    pub name: &'a str,
    pub value: String,
    pub sensitive: bool,
}

/// The client for one run, following redirects only within the origin first asked.
pub fn client(opts: &ClientOptions) -> Result<Client> {
    // Follow a redirect only within the same scheme, host and port as the URL first asked:
    // the token goes to the endpoint it was meant for and nowhere else. A refused redirect
    // comes back as its 3xx response.
    let policy = redirect::Policy::custom(|attempt| {
        let Some(origin) = attempt.previous().first() else {
            return attempt.stop();
        };
        let u = attempt.url();
        let same = u.scheme() == origin.scheme()
            && u.host_str() == origin.host_str()
            && u.port_or_known_default() == origin.port_or_known_default();
        if same && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    let mut b = Inner::builder()
        .user_agent(USER_AGENT)
        .redirect(policy)
        .referer(false)
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .pool_max_idle_per_host(opts.pool);
    for (host, addr) in &opts.resolve {
        b = b.resolve(host, *addr);
    }
    if opts.plain {
        b = b.no_proxy();
    } else {
        // HTTPS_PROXY / ALL_PROXY / NO_PROXY apply as usual; a proxy sees a CONNECT tunnel.
        b = b.https_only(true);
    }
    let inner = b
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the HTTP client: {}", root_cause(&e)))?;
    Ok(Client {
        inner,
        max_body: opts.max_body,
    })
}

/// One request: `GET url` with `Accept: application/json` and `headers`. `Err` is a reason
/// for getting no HTTP answer at all.
pub fn get(
    client: &Client,
    url: &Url,
    headers: &[Header],
    timeout: Duration,
) -> Result<Answer, String> {
    let mut req = client
        .inner
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .timeout(timeout);
    for h in headers {
        let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_str(&h.value),
        ) else {
            return Err("not sent: invalid characters".into());
        };
        // Keeps a credential out of any Debug output of the request or its headers.
        value.set_sensitive(h.sensitive);
        req = req.header(name, value);
    }
    let resp = req.send().map_err(|e| error_reason(&e, timeout))?;
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers(), SystemTime::now());
    let headers = resp
        .headers()
        .iter()
        .take(MAX_HEADERS)
        .filter_map(|(n, v)| {
            let v = v.to_str().ok()?;
            let v: String = v.chars().take(MAX_HEADER_VALUE).collect();
            Some((n.as_str().to_string(), v))
        })
        .collect();
    let max = client.max_body;
    let mut body = Vec::new();
    let body = match resp.take(max + 1).read_to_end(&mut body) {
        Ok(_) if body.len() as u64 > max => Err(format!(
            "the answer is larger than {} MiB",
            (max >> 20).max(1)
        )),
        Ok(_) => Ok(body),
        Err(e) => Err(read_reason(&e)),
    };
    Ok(Answer {
        status,
        retry_after,
        headers,
        body,
    })
}

/// How long a rate-limited answer asks us to wait before the next request: its
/// `Retry-After`, else the reset time of an exhausted quota (`X-RateLimit-Reset` on GitHub,
/// `RateLimit-Reset` on GitLab: epoch seconds; a small number is taken as seconds from now).
/// `None` when the answer names no time.
pub fn rate_limit_wait(answer: &Answer, now: SystemTime) -> Option<Duration> {
    if let Some(d) = answer.retry_after {
        return Some(d);
    }
    let exhausted = ["x-ratelimit-remaining", "ratelimit-remaining"]
        .iter()
        .any(|h| answer.header(h).is_some_and(|v| v.trim() == "0"));
    if !exhausted && answer.status != 429 {
        return None;
    }
    let reset: u64 = ["x-ratelimit-reset", "ratelimit-reset"]
        .iter()
        .find_map(|h| answer.header(h)?.trim().parse().ok())?;
    let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Some(if reset > 1_000_000_000 {
        Duration::from_secs(reset.saturating_sub(now_secs))
    } else {
        Duration::from_secs(reset)
    })
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), as GitHub and GitLab paginate.
pub fn link_next(link: &str) -> Option<String> {
    for part in link.split(',') {
        let (url, params) = part.split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        if params.split(';').any(|p| {
            matches!(
                p.trim().replace(' ', "").as_str(),
                "rel=\"next\"" | "rel=next"
            )
        }) {
            return Some(url.to_string());
        }
    }
    None
}

/// True for `localhost` and loopback addresses: the only hosts plain `http://` may reach.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks that `base` is safe to send a credential to; returns it as a URL: https, or plain
/// http to loopback only; no user name, password, query or fragment. The error says why in
/// one line and never echoes a user name or password; it may quote `base`, so whoever prints
/// it escapes control characters.
pub fn base_url(base: &str) -> Result<Url, String> {
    let base = base.trim();
    let url = Url::parse(base).map_err(|e| {
        // `user:password@host` without a scheme is not a URL either: do not echo it.
        let shown = if base.contains('@') {
            "(URL with '@')"
        } else {
            base
        };
        format!("'{shown}' is not a URL: {e}")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if url.host_str().is_some_and(is_loopback) => {}
        "http" => {
            return Err(
                "plain http:// is refused for non-loopback hosts (tokens would travel \
                        unencrypted); use https:// (http is allowed only for localhost, \
                        127.0.0.0/8 and ::1)"
                    .into(),
            )
        }
        other => return Err(format!("unsupported scheme '{other}' (use https://)")),
    }
    if url.host_str().is_none_or(|h| h.is_empty()) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the URL here: the user part may be a credential.
        return Err("the URL must not contain a user name or password".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must be a base URL without '?query' or '#fragment'".into());
    }
    Ok(url)
}

/// True if `a` and `b` have the same scheme, host and port: a credential sent to one may go
/// to the other (pagination links are followed only so).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn read_reason(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::TimedOut {
        return "timed out".into();
    }
    match std::error::Error::source(e) {
        Some(inner) => root_cause(inner),
        None => e.kind().to_string().to_lowercase(),
    }
}

/// `Retry-After` as delay-seconds or an HTTP date (IMF-fixdate), relative to `now`.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` — the only date form servers are allowed to send.
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, mon, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == mon)? as u32 + 1;
    let day: u32 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *sec > 60 || !(1970..=9999).contains(&year)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + sec;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// A one-line reason for a failed request: the kind of failure and its root cause, never
/// the URL (reqwest's own message holds it) and never the token.
fn error_reason(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timeout after {} s", trim_float(timeout.as_secs_f64()));
    }
    let cause = root_cause(e);
    if e.is_connect() {
        format!("connection failed: {cause}")
    } else if e.is_redirect() {
        format!("redirect failed: {cause}")
    } else {
        format!("request failed: {cause}")
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let s = cur.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    short(&s.to_lowercase())
}

/// One line of at most 120 characters.
pub fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 120 {
        let mut t: String = one.chars().take(120).collect();
        t.push('…');
        t
    } else {
        one
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("garbage"), None);
        // A hostile year must not overflow the clock (it once panicked a verify run).
        assert_eq!(
            parse_http_date("Sun, 06 Nov 300000000000 08:49:37 GMT"),
            None
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    fn answer(status: u16, headers: &[(&str, &str)]) -> Answer {
        Answer {
            status,
            retry_after: None,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Ok(Vec::new()),
        }
    }

    #[test]
    fn rate_limit_waits() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        // GitHub: quota exhausted, reset as epoch seconds.
        let a = answer(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1700000042"),
            ],
        );
        assert_eq!(rate_limit_wait(&a, now), Some(Duration::from_secs(42)));
        // A 403 with quota left is an authorisation answer, not a rate limit.
        let a = answer(
            403,
            &[
                ("x-ratelimit-remaining", "12"),
                ("x-ratelimit-reset", "1700000042"),
            ],
        );
        assert_eq!(rate_limit_wait(&a, now), None);
        // GitLab: 429 with RateLimit-Reset.
        let a = answer(429, &[("ratelimit-reset", "1700000005")]);
        assert_eq!(rate_limit_wait(&a, now), Some(Duration::from_secs(5)));
        // A reset in the past means now.
        let a = answer(429, &[("ratelimit-reset", "1600000000")]);
        assert_eq!(rate_limit_wait(&a, now), Some(Duration::ZERO));
        let mut a = answer(429, &[]);
        assert_eq!(rate_limit_wait(&a, now), None);
        a.retry_after = Some(Duration::from_secs(3));
        assert_eq!(rate_limit_wait(&a, now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn link_headers() {
        let l = r#"<https://api.github.com/orgs/a/repos?page=2>; rel="next", <https://api.github.com/orgs/a/repos?page=9>; rel="last""#;
        assert_eq!(
            link_next(l).as_deref(),
            Some("https://api.github.com/orgs/a/repos?page=2")
        );
        let l = r#"<https://x/p?page=1>; rel="prev", <https://x/p?page=3>; rel="next""#;
        assert_eq!(link_next(l).as_deref(), Some("https://x/p?page=3"));
        assert_eq!(link_next(r#"<https://x/p?page=1>; rel="last""#), None);
        assert_eq!(link_next("garbage"), None);
    }

    #[test]
    fn base_urls() {
        assert!(base_url("https://api.github.com").is_ok());
        assert!(base_url("http://127.0.0.1:8080").is_ok());
        assert!(base_url("http://example.com").is_err());
        let e = base_url("https://user:hunter2@example.com").unwrap_err();
        assert!(!e.contains("hunter2"));
        let e = base_url("user:hunter2@example.com").unwrap_err();
        assert!(!e.contains("hunter2"));
    }

    #[test]
    fn short_is_one_bounded_line() {
        assert_eq!(short("a\n  b"), "a b");
        assert_eq!(short(&"x".repeat(200)).chars().count(), 121);
    }
}
