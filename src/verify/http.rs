//! The HTTP side of verification, and the only code in the project that uses the HTTP
//! client: how the client is built (no redirects off the host, no proxy for plain loopback
//! http, a bounded wait), one GET with the token in the `Authorization` header, and a
//! capped read of the answer. Reasons it writes name the kind of failure, never a URL or a
//! header, because reqwest's own messages carry the URL and the URL is not ours to echo.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::{redirect, Url};

use super::schedule::Limits;
use crate::time::days_from_civil;

const USER_AGENT: &str = concat!("applivery-leaks/", env!("CARGO_PKG_VERSION"));
/// The most of an answer read. The builds list and the workspace list are paginated and
/// small; an answer larger than this is not the API's.
const MAX_BODY: u64 = 2 << 20;
/// Redirects followed on the same scheme, host and port before giving up.
const MAX_REDIRECTS: usize = 3;

/// An HTTP answer: its status, when to come back, and the body read so far.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The body, or why it could not be read whole.
    pub body: Result<Vec<u8>, String>,
}

/// The client for one run. `plain` allows `http://` (every endpoint is loopback, or an
/// Applivery host the test seam resolves to loopback) and then never uses a proxy, which
/// would see the token in clear text. `resolve` pins host names to addresses (the seam).
pub(crate) fn client(
    limits: &Limits,
    plain: bool,
    resolve: &[(String, SocketAddr)],
) -> Result<Client> {
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
    let mut b = Client::builder()
        .user_agent(USER_AGENT)
        .redirect(policy)
        .referer(false)
        .timeout(limits.timeout)
        .connect_timeout(limits.timeout)
        .pool_max_idle_per_host(limits.concurrency);
    for (host, addr) in resolve {
        b = b.resolve(host, *addr);
    }
    if plain {
        b = b.no_proxy();
    } else {
        // HTTPS_PROXY / ALL_PROXY / NO_PROXY apply as usual; a proxy sees a CONNECT tunnel.
        b = b.https_only(true);
    }
    b.build()
        .map_err(|e| anyhow::anyhow!("cannot start the HTTP client: {}", root_cause(&e)))
}

/// One request: `GET endpoint` with `Authorization: Bearer <token>`. `Err` is a reason for
/// getting no HTTP answer at all.
pub(crate) fn get(
    client: &Client,
    endpoint: &Url,
    token: &str,
    timeout: Duration,
) -> Result<Answer, String> {
    let Ok(mut auth) = HeaderValue::from_str(&format!("Bearer {token}")) else {
        return Err("not sent: invalid characters".into());
    };
    // Keeps the value out of any Debug output of the request or its headers.
    auth.set_sensitive(true);
    let resp = client
        .get(endpoint.clone())
        .header(AUTHORIZATION, auth)
        .header(ACCEPT, "application/json")
        .timeout(timeout)
        .send()
        .map_err(|e| error_reason(&e, timeout))?;
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers(), SystemTime::now());
    let mut body = Vec::new();
    let body = match resp.take(MAX_BODY + 1).read_to_end(&mut body) {
        Ok(_) if body.len() as u64 > MAX_BODY => {
            Err(format!("the answer is larger than {} MiB", MAX_BODY >> 20))
        }
        Ok(_) => Ok(body),
        Err(e) => Err(read_reason(&e)),
    };
    Ok(Answer {
        status,
        retry_after,
        body,
    })
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
pub(crate) fn short(s: &str) -> String {
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

    #[test]
    fn short_is_one_bounded_line() {
        assert_eq!(short("a\n  b"), "a b");
        assert_eq!(short(&"x".repeat(200)).chars().count(), 121);
    }
}
