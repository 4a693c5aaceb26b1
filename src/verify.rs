//! Live verification: asks the Applivery API whether the secrets a scan found still work.
//! This is the only module that touches the network, and nothing reaches it unless the user
//! asked (`--verify`, or the `verify` command).
//!
//! The rules it keeps, because a wrong answer here is worse than no answer:
//! - a secret is `live` only when the API itself says so (a 2xx whose body is the API's
//!   `{"status": true, …}`), `revoked` only on 401/403; everything else is `unknown` with the
//!   reason, never a guess;
//! - each unique secret is sent once per run, in the `Authorization` header only, to the
//!   configured API base only (plain `http://` only to loopback; redirects to another host
//!   are not followed);
//! - requests are capped in concurrency and rate, retried a bounded number of times, and the
//!   whole run has a deadline, so a CI job never hangs on an API that is down;
//! - secrets never appear in reasons, errors or debug output.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{redirect, StatusCode, Url};

use crate::cli::{Command, VerifyArgs, VerifyOptions};
use crate::finding::{Finding, Verification, VerifyStatus};
use crate::report::{Report, ScanKind};
use crate::rules::Rule;
use crate::time::{days_from_civil, rfc3339};

/// The verifier named by rules for App API tokens (`verifier = "applivery-app"`).
pub const APP_VERIFIER: &str = "applivery-app";
/// The rule the `verify` command files its tokens under.
const APP_RULE: &str = "applivery-app-token";
/// Read-only endpoint of the Integrations API that every App API token may call.
const APP_ENDPOINT: &str = "v1/integrations/builds";
const USER_AGENT: &str = concat!("applivery-leaks/", env!("CARGO_PKG_VERSION"));

/// Attempts per secret, the first included (429 and 5xx are retried).
const MAX_ATTEMPTS: u32 = 3;
/// A `Retry-After` longer than this is cut down to it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// First backoff after a 5xx without `Retry-After`; doubles per attempt, plus up to 50 % jitter.
const BACKOFF: Duration = Duration::from_millis(500);
/// The overall deadline is at least this long (see `deadline`).
const MIN_DEADLINE: Duration = Duration::from_secs(60);
/// The most of a 2xx body read to find `"status"`; the builds list is paginated and small.
const MAX_BODY: u64 = 16 << 20;
/// Redirects followed on the same scheme, host and port before giving up.
const MAX_REDIRECTS: usize = 3;

/// Validated verification options.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The full URL of the App token check, under the configured base.
    endpoint: Url,
    /// The base is `http://` to a loopback host (tests, local tunnels): no proxy is used.
    plain_loopback: bool,
    limits: Limits,
}

/// How hard and how long to knock.
#[derive(Debug, Clone, Copy)]
struct Limits {
    concurrency: usize,
    /// Minimum spacing between the starts of two requests (1 / rps).
    interval: Duration,
    /// Per-request timeout (connect + response + body).
    timeout: Duration,
}

impl Settings {
    /// Checks the options; every problem is a one-line error (exit 2).
    pub fn new(opts: &VerifyOptions) -> Result<Settings> {
        let endpoint = endpoint(&opts.api_url)?;
        let plain_loopback = endpoint.scheme() == "http";
        if opts.verify_concurrency == 0 {
            bail!("--verify-concurrency must be at least 1");
        }
        if !(opts.verify_rps.is_finite() && opts.verify_rps > 0.0) {
            bail!("--verify-rps must be a number above 0");
        }
        if !(opts.verify_timeout.is_finite()
            && opts.verify_timeout > 0.0
            && opts.verify_timeout <= 3600.0)
        {
            bail!("--verify-timeout must be a number of seconds above 0 (at most 3600)");
        }
        Ok(Settings {
            endpoint,
            plain_loopback,
            limits: Limits {
                concurrency: opts.verify_concurrency.min(64),
                interval: Duration::from_secs_f64((1.0 / opts.verify_rps).min(3600.0)),
                timeout: Duration::from_secs_f64(opts.verify_timeout),
            },
        })
    }
}

/// `{base}/v1/integrations/builds`, after checking that the base is safe to send tokens to.
fn endpoint(base: &str) -> Result<Url> {
    let base = base.trim();
    let url = Url::parse(base).map_err(|e| {
        anyhow::anyhow!(
            "--api-url '{}' is not a URL: {e}",
            crate::report::escape_control(base)
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" => {
            if !url.host_str().is_some_and(is_loopback) {
                bail!(
                    "--api-url: plain http:// is refused for non-loopback hosts (tokens would \
                     travel unencrypted); use https:// (http is allowed only for localhost, \
                     127.0.0.0/8 and ::1)"
                );
            }
        }
        other => bail!(
            "--api-url: unsupported scheme '{}' (use https://)",
            crate::report::escape_control(other)
        ),
    }
    if !url.host_str().is_some_and(|h| !h.is_empty()) {
        bail!("--api-url: the URL has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the URL here: the user part may be a credential.
        bail!("--api-url must not contain a user name or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("--api-url must be a base URL without '?query' or '#fragment'");
    }
    let mut s = url.as_str().trim_end_matches('/').to_string();
    s.push('/');
    s.push_str(APP_ENDPOINT);
    Url::parse(&s).context("--api-url: cannot build the API endpoint")
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Validates the verification options of `cmd` before any scanning starts, so an hour-long
/// history sweep does not fail at the end on a mistyped URL.
pub fn check(cmd: &Command) -> Result<()> {
    let opts = match cmd {
        Command::Dir(a) => &a.scan.verify,
        Command::Git(a) => &a.scan.verify,
        Command::Staged(a) => &a.scan.verify,
        Command::Stdin(a) => &a.scan.verify,
        Command::Verify(a) => return Settings::new(&a.verify).map(drop),
        Command::Rules(_) | Command::Completions(_) | Command::Man(_) => return Ok(()),
    };
    if opts.verify {
        Settings::new(opts)?;
    }
    Ok(())
}

/// With `--verify`, asks the API about every unique secret of `findings` and records the
/// result on each finding. Without it, does nothing: no connection is ever opened.
pub fn verify_findings(
    findings: &mut [Finding],
    rules: &[Rule],
    opts: &VerifyOptions,
) -> Result<()> {
    if !opts.verify || findings.is_empty() {
        return Ok(());
    }
    let settings = Settings::new(opts)?;
    let verifier: HashMap<&str, &str> = rules
        .iter()
        .filter_map(|r| Some((r.id.as_str(), r.verifier.as_deref()?)))
        .collect();
    apply(findings, |rule| verifier.get(rule).copied(), &settings)
}

/// The `verify` command: tokens from the arguments, or one per line on standard input
/// (blank lines and `#` comments skipped), each reported as a finding so every output
/// format works.
pub fn command(a: &VerifyArgs) -> Result<u8> {
    let settings = Settings::new(&a.verify)?;
    let started = Instant::now();
    let mut report = Report::new(
        ScanKind::Verify,
        std::env::current_dir().unwrap_or_default(),
    );
    if !a.tokens.is_empty() {
        for (i, t) in a.tokens.iter().enumerate() {
            report
                .findings
                .push(token_finding(format!("<argument {}>", i + 1), 1, t));
        }
    } else {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            bail!("no tokens given: pipe them one per line on standard input (or pass them as arguments)");
        }
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line.map_err(|e| {
                anyhow::anyhow!(
                    "cannot read standard input: {}",
                    crate::source::io_reason(&e)
                )
            })?;
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            report
                .findings
                .push(token_finding("<stdin>".into(), n as u64 + 1, &line));
        }
    }
    if report.findings.is_empty() {
        report.warnings.push("no tokens given".into());
    }
    apply(&mut report.findings, |_| Some(APP_VERIFIER), &settings)?;
    report.summary.duration = started.elapsed();
    report.sort();
    if !a.quiet {
        for w in &report.warnings {
            eprintln!(
                "applivery-leaks: warning: {}",
                crate::report::escape_control(w)
            );
        }
    }
    let rules = crate::rules::default_rules();
    crate::run::emit(&report, &rules, a.format, a.show_secrets, a.output.as_ref())?;
    Ok(crate::run::exit_code(&report, a.verify.fail_on))
}

/// A finding for one given token; surrounding whitespace is not part of it.
fn token_finding(path: String, line: u64, text: &str) -> Finding {
    let token = text.trim();
    let column = text.len() - text.trim_start().len();
    let column = text[..column].chars().count() as u64 + 1;
    let end = column + token.chars().count() as u64;
    Finding::new(
        APP_RULE,
        path,
        line,
        column,
        line,
        end,
        token.to_string(),
        text.trim_end_matches(['\r', '\n']).to_string(),
    )
}

/// Verifies each unique secret that has a finding under a rule with the App verifier, then
/// hands the result to every finding of that secret. A `live` answer is a fact about the
/// token and is shared with findings of any rule; `revoked` / `unknown` only mean something
/// for the verifier that produced them, so other rules' findings get "no verifier".
fn apply<'r>(
    findings: &mut [Finding],
    verifier_of: impl Fn(&str) -> Option<&'r str>,
    settings: &Settings,
) -> Result<()> {
    let mut secrets: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for f in findings.iter() {
        if verifier_of(&f.rule) == Some(APP_VERIFIER) && !index.contains_key(f.secret.as_str()) {
            index.insert(&f.secret, secrets.len());
            secrets.push(&f.secret);
        }
    }
    let results = if secrets.is_empty() {
        Vec::new()
    } else {
        let client = client(settings)?;
        let deadline = deadline(secrets.len(), &settings.limits);
        check_all(&secrets, settings.limits, deadline, |token, timeout| {
            probe(&client, &settings.endpoint, token, timeout)
        })
    };
    let by_secret: HashMap<String, Verification> = index
        .into_iter()
        .map(|(s, i)| (s.to_string(), results[i].clone()))
        .collect();
    let now = rfc3339(SystemTime::now());
    for f in findings.iter_mut() {
        let found = by_secret.get(&f.secret);
        f.verification = Some(match (verifier_of(&f.rule), found) {
            (Some(APP_VERIFIER), Some(v)) => v.clone(),
            (_, Some(v)) if v.status == VerifyStatus::Live => v.clone(),
            _ => Verification {
                status: VerifyStatus::Unknown,
                reason: "no verifier".into(),
                checked_at: now.clone(),
            },
        });
    }
    Ok(())
}

fn client(settings: &Settings) -> Result<Client> {
    let origin = settings.endpoint.clone();
    // Follow a redirect only within the same scheme, host and port: the token goes to the
    // configured API and nowhere else. A refused redirect comes back as its 3xx response.
    let policy = redirect::Policy::custom(move |attempt| {
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
        .timeout(settings.limits.timeout)
        .connect_timeout(settings.limits.timeout)
        .pool_max_idle_per_host(settings.limits.concurrency);
    if settings.plain_loopback {
        // A proxy for a loopback address makes no sense, and would receive the token in
        // clear text. HTTPS_PROXY / ALL_PROXY / NO_PROXY apply to https bases as usual.
        b = b.no_proxy();
    } else {
        b = b.https_only(true);
    }
    b.build()
        .map_err(|e| anyhow::anyhow!("cannot start the HTTP client: {}", root_cause(&e)))
}

/// The overall deadline: at least 60 s, more when the rate limit alone needs longer — twice
/// the time the secrets take at `--verify-rps`, plus three request timeouts.
fn deadline(secrets: usize, limits: &Limits) -> Duration {
    let paced = limits.interval.as_secs_f64() * secrets as f64 * 2.0;
    let slack = limits.timeout.as_secs_f64() * 3.0;
    MIN_DEADLINE.max(Duration::from_secs_f64((paced + slack).min(1e7)))
}

/// What one request said.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// A final answer from the API (or from what stands in front of it).
    Done(VerifyStatus, String),
    /// No HTTP answer: connection failed, timed out, or broke off.
    Failed(String),
    /// Worth another try (429, 5xx), after `after` if the server said so; `throttle` asks
    /// every worker to back off, not just this one.
    Retry {
        reason: String,
        after: Option<Duration>,
        throttle: bool,
    },
}

/// Spaces request starts `interval` apart across all workers (a token bucket of size one),
/// and lets a 429 pause everyone.
struct Pacer {
    next: Mutex<Instant>,
    interval: Duration,
}

impl Pacer {
    /// The instant this request may start, or `None` if that is past the deadline.
    fn reserve(&self, deadline: Instant) -> Option<Instant> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = (*next).max(Instant::now());
        if slot >= deadline {
            return None;
        }
        *next = slot + self.interval;
        Some(slot)
    }

    fn pause_until(&self, t: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        if *next < t {
            *next = t;
        }
    }
}

/// Runs `probe` once per secret (plus retries) on at most `limits.concurrency` threads;
/// returns one verification per secret, in order. Secrets not settled by the deadline are
/// `unknown` with reason "deadline exceeded"; once the API has failed to answer
/// `breaker(limits)` requests in a row, the rest are not sent at all.
fn check_all<P>(secrets: &[&str], limits: Limits, budget: Duration, probe: P) -> Vec<Verification>
where
    P: Fn(&str, Duration) -> Outcome + Sync,
{
    let run = Run {
        limits,
        deadline: Instant::now() + budget,
        pacer: Pacer {
            next: Mutex::new(Instant::now()),
            interval: limits.interval,
        },
        failures: AtomicUsize::new(0),
        probe,
    };
    let breaker = breaker(&limits);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Verification>>> = Mutex::new(vec![None; secrets.len()]);
    let workers = limits.concurrency.clamp(1, secrets.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(secret) = secrets.get(i) else { break };
                let (status, reason) = if run.failures.load(Ordering::Relaxed) >= breaker {
                    (
                        VerifyStatus::Unknown,
                        format!("not sent: the API failed to answer {breaker} requests in a row"),
                    )
                } else {
                    let (status, reason, answered) = run.check_one(secret);
                    if answered {
                        run.failures.store(0, Ordering::Relaxed);
                    } else {
                        run.failures.fetch_add(1, Ordering::Relaxed);
                    }
                    (status, reason)
                };
                let v = Verification {
                    status,
                    reason: scrub(&reason, secret),
                    checked_at: rfc3339(SystemTime::now()),
                };
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(v);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|v| {
            v.unwrap_or_else(|| Verification {
                status: VerifyStatus::Unknown,
                reason: "not checked".into(),
                checked_at: rfc3339(SystemTime::now()),
            })
        })
        .collect()
}

/// Consecutive unanswered requests (network errors, timeouts, retries exhausted) after
/// which the API is taken to be down: one full round of workers, and at least three.
fn breaker(limits: &Limits) -> usize {
    limits.concurrency.max(3)
}

/// State shared by the workers of one run.
struct Run<P> {
    limits: Limits,
    deadline: Instant,
    pacer: Pacer,
    /// Requests in a row the API did not answer.
    failures: AtomicUsize,
    probe: P,
}

impl<P: Fn(&str, Duration) -> Outcome> Run<P> {
    /// The verdict on one secret, and whether the API answered it at all.
    fn check_one(&self, secret: &str) -> (VerifyStatus, String, bool) {
        const EXCEEDED: &str = "deadline exceeded";
        if !plausible(secret) {
            return (
                VerifyStatus::Unknown,
                "not sent: not a plausible token (whitespace, control or non-ASCII characters, \
                 or too long)"
                    .into(),
                true,
            );
        }
        let mut attempt = 1;
        loop {
            let Some(slot) = self.pacer.reserve(self.deadline) else {
                return (VerifyStatus::Unknown, EXCEEDED.into(), false);
            };
            sleep_until(slot);
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (VerifyStatus::Unknown, EXCEEDED.into(), false);
            }
            match (self.probe)(secret, self.limits.timeout.min(left)) {
                Outcome::Done(status, reason) => return (status, reason, true),
                // A request cut short by the deadline failed because of it.
                Outcome::Failed(_) if Instant::now() >= self.deadline => {
                    return (VerifyStatus::Unknown, EXCEEDED.into(), false);
                }
                Outcome::Failed(reason) => return (VerifyStatus::Unknown, reason, false),
                Outcome::Retry {
                    reason,
                    after,
                    throttle,
                } => {
                    if attempt >= MAX_ATTEMPTS {
                        return (
                            VerifyStatus::Unknown,
                            format!("{reason}, {attempt} attempts"),
                            false,
                        );
                    }
                    let wait = match after {
                        Some(a) => a.min(MAX_RETRY_AFTER),
                        None => backoff(attempt),
                    };
                    let resume = Instant::now() + wait;
                    if resume >= self.deadline {
                        return (
                            VerifyStatus::Unknown,
                            format!("{reason}; a retry would pass the deadline"),
                            false,
                        );
                    }
                    if throttle {
                        self.pacer.pause_until(resume);
                    }
                    sleep_until(resume);
                    attempt += 1;
                }
            }
        }
    }
}

/// `BACKOFF × 2^(attempt-1)`, plus up to 50 % jitter so that workers hit by the same outage
/// do not come back in lockstep.
fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1));
    let jitter = (random_u64() % 1000) as f64 / 2000.0;
    base.mul_f64(1.0 + jitter)
}

/// Randomness for jitter without a dependency: std seeds every `RandomState` from the OS.
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

fn sleep_until(t: Instant) {
    let d = t.saturating_duration_since(Instant::now());
    if !d.is_zero() {
        std::thread::sleep(d);
    }
}

/// Worth sending: printable ASCII without spaces, of a sane length. Anything else is not an
/// Applivery token and could not travel in a header as-is.
fn plausible(secret: &str) -> bool {
    (1..=512).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic())
}

/// One request: `GET {endpoint}` with `Authorization: Bearer <token>`.
fn probe(client: &Client, endpoint: &Url, token: &str, timeout: Duration) -> Outcome {
    let Ok(mut auth) = HeaderValue::from_str(&format!("Bearer {token}")) else {
        return Outcome::Done(VerifyStatus::Unknown, "not sent: invalid characters".into());
    };
    // Keeps the value out of any Debug output of the request or its headers.
    auth.set_sensitive(true);
    let resp = match client
        .get(endpoint.clone())
        .header(AUTHORIZATION, auth)
        .timeout(timeout)
        .send()
    {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(error_reason(&e, timeout)),
    };
    let status = resp.status();
    let code = status.as_u16();
    if status.is_success() {
        return match api_status(resp) {
            Ok(Some(serde_json::Value::Bool(true))) => Outcome::Done(
                VerifyStatus::Live,
                format!("HTTP {code}, API accepted the token"),
            ),
            Ok(Some(other)) => Outcome::Done(
                VerifyStatus::Unknown,
                format!(
                    "HTTP {code} but the API answered status {}",
                    short(&other.to_string())
                ),
            ),
            Ok(None) | Err(BodyError::NotApi) => Outcome::Done(
                VerifyStatus::Unknown,
                format!("HTTP {code} but not the Applivery API's JSON (captive portal or proxy?)"),
            ),
            Err(BodyError::Read(reason)) => Outcome::Done(
                VerifyStatus::Unknown,
                format!("HTTP {code} but the body could not be read: {reason}"),
            ),
        };
    }
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Outcome::Done(VerifyStatus::Revoked, format!("HTTP {code}"))
        }
        StatusCode::TOO_MANY_REQUESTS => Outcome::Retry {
            reason: format!("HTTP {code} (rate limited)"),
            after: retry_after(resp.headers(), SystemTime::now()),
            throttle: true,
        },
        s if s.is_server_error() => Outcome::Retry {
            reason: format!("HTTP {code}"),
            after: retry_after(resp.headers(), SystemTime::now()),
            throttle: false,
        },
        s if s.is_redirection() => Outcome::Done(
            VerifyStatus::Unknown,
            format!("HTTP {code} redirect not followed (another host, or too many)"),
        ),
        _ => Outcome::Done(VerifyStatus::Unknown, format!("HTTP {code}")),
    }
}

enum BodyError {
    NotApi,
    Read(String),
}

/// The top-level `"status"` of a JSON object body, read as a stream (only that field is
/// kept; the rest is skipped) and capped at `MAX_BODY`.
fn api_status(resp: impl Read) -> Result<Option<serde_json::Value>, BodyError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        status: Option<serde_json::Value>,
    }
    let mut reader = BufReader::new(resp.take(MAX_BODY));
    // Only an object is the API's answer (serde would also read a struct from an array).
    loop {
        let buf = reader
            .fill_buf()
            .map_err(|e| BodyError::Read(e.kind().to_string().to_lowercase()))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) if buf[i] == b'{' => {
                reader.consume(i);
                break;
            }
            Some(_) => return Err(BodyError::NotApi),
            None if buf.is_empty() => return Err(BodyError::NotApi),
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
    match serde_json::from_reader::<_, Probe>(reader) {
        Ok(p) => Ok(p.status),
        Err(e) if e.is_io() => Err(BodyError::Read(
            io::Error::from(e).kind().to_string().to_lowercase(),
        )),
        Err(_) => Err(BodyError::NotApi),
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

/// Defence in depth: whatever a reason says, it never carries the secret.
fn scrub(reason: &str, secret: &str) -> String {
    // Too short to be a token, and replacing it would garble the reason.
    if secret.len() < 6 || !reason.contains(secret) {
        return reason.to_string();
    }
    reason.replace(secret, &crate::finding::redact(secret))
}

fn short(s: &str) -> String {
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
    use std::sync::atomic::AtomicU32;

    fn limits(concurrency: usize, interval_ms: u64, timeout_ms: u64) -> Limits {
        Limits {
            concurrency,
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[test]
    fn api_url_safety() {
        let ok = |u: &str| endpoint(u).map(|e| e.to_string());
        assert_eq!(
            ok("https://api.applivery.io").unwrap(),
            "https://api.applivery.io/v1/integrations/builds"
        );
        assert_eq!(
            ok("https://tenant.example/api/").unwrap(),
            "https://tenant.example/api/v1/integrations/builds"
        );
        assert!(ok("http://127.0.0.1:8080").is_ok());
        assert!(ok("http://127.3.4.5").is_ok());
        assert!(ok("http://[::1]:9").is_ok());
        assert!(ok("http://LOCALHOST:9").is_ok());
        for bad in [
            "http://api.applivery.io",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
            "https://user:pw@api.applivery.io",
            "https://api.applivery.io/?x=1",
            "api.applivery.io",
            "",
        ] {
            let e = endpoint(bad).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
            assert!(!e.contains("pw@"), "{e}");
        }
    }

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
    fn body_must_be_the_api_json() {
        let st = |b: &str| match api_status(b.as_bytes()) {
            Ok(v) => format!("{v:?}"),
            Err(BodyError::NotApi) => "not api".into(),
            Err(BodyError::Read(r)) => r,
        };
        assert_eq!(
            st(r#"{"status": true, "data": {"items": [1,2,{"status": false}]}}"#),
            "Some(Bool(true))"
        );
        assert_eq!(st(r#"{"status": false}"#), "Some(Bool(false))");
        assert_eq!(st(r#"{"ok": true}"#), "None");
        assert_eq!(st("<html>Welcome to the hotel wifi</html>"), "not api");
        assert_eq!(st(r#"[{"status": true}]"#), "not api");
        assert_eq!(st(r#"{"status": true"#), "not api");
    }

    #[test]
    fn server_errors_are_retried_three_times_at_most() {
        let calls = AtomicU32::new(0);
        let r = check_all(
            &["tok-one"],
            limits(1, 0, 1000),
            Duration::from_secs(20),
            |_, _| {
                calls.fetch_add(1, Ordering::SeqCst);
                Outcome::Retry {
                    reason: "HTTP 503".into(),
                    after: Some(Duration::from_millis(10)),
                    throttle: false,
                }
            },
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(r[0].status, VerifyStatus::Unknown);
        assert_eq!(r[0].reason, "HTTP 503, 3 attempts");
    }

    #[test]
    fn retry_after_beyond_the_deadline_gives_up_at_once() {
        let started = Instant::now();
        let r = check_all(
            &["tok-one"],
            limits(1, 0, 1000),
            Duration::from_millis(500),
            |_, _| Outcome::Retry {
                reason: "HTTP 429 (rate limited)".into(),
                after: Some(Duration::from_secs(20)),
                throttle: true,
            },
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(r[0].status, VerifyStatus::Unknown);
        assert!(
            r[0].reason.contains("would pass the deadline"),
            "{}",
            r[0].reason
        );
    }

    #[test]
    fn the_deadline_turns_the_rest_into_unknown() {
        // Four slow secrets, one worker, 400 ms in all: the first ones are answered, the
        // last ones are never sent.
        let calls = AtomicU32::new(0);
        let r = check_all(
            &["a", "b", "c", "d", "e", "f"],
            limits(1, 0, 1000),
            Duration::from_millis(400),
            |_, timeout| {
                calls.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(timeout.min(Duration::from_millis(150)));
                Outcome::Done(VerifyStatus::Revoked, "HTTP 401".into())
            },
        );
        let n = calls.load(Ordering::SeqCst) as usize;
        assert!(n < 6, "{n}");
        assert_eq!(r[0].status, VerifyStatus::Revoked);
        assert_eq!(r[5].status, VerifyStatus::Unknown);
        assert_eq!(r[5].reason, "deadline exceeded");
    }

    #[test]
    fn implausible_secrets_are_not_sent_and_reasons_are_scrubbed() {
        let r = check_all(
            &["has space", "SECRETSECRET"],
            limits(2, 0, 1000),
            Duration::from_secs(5),
            |t, _| {
                assert_ne!(t, "has space");
                Outcome::Done(VerifyStatus::Unknown, format!("echo {t}"))
            },
        );
        assert!(r[0].reason.starts_with("not sent"));
        assert_eq!(r[1].reason, "echo SECR…");
    }

    #[test]
    fn an_api_that_never_answers_is_given_up_on() {
        let calls = AtomicU32::new(0);
        let secrets: Vec<String> = (0..20).map(|i| format!("secret-{i}")).collect();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let r = check_all(
            &secrets,
            limits(1, 0, 1000),
            Duration::from_secs(20),
            |_, _| {
                calls.fetch_add(1, Ordering::SeqCst);
                Outcome::Failed("connection failed: connection refused".into())
            },
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(r[2].reason, "connection failed: connection refused");
        assert_eq!(
            r[3].reason,
            "not sent: the API failed to answer 3 requests in a row"
        );
        assert!(r.iter().all(|v| v.status == VerifyStatus::Unknown));
        // One answer resets the count.
        let calls = AtomicU32::new(0);
        let r = check_all(
            &secrets,
            limits(1, 0, 1000),
            Duration::from_secs(20),
            |_, _| {
                if calls.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                    Outcome::Failed("timeout after 1 s".into())
                } else {
                    Outcome::Done(VerifyStatus::Revoked, "HTTP 401".into())
                }
            },
        );
        assert_eq!(calls.load(Ordering::SeqCst), 20);
        assert_eq!(r[19].status, VerifyStatus::Revoked);
    }

    #[test]
    fn deadline_grows_with_the_queue() {
        let l = limits(4, 200, 10_000);
        assert_eq!(deadline(1, &l), MIN_DEADLINE);
        assert_eq!(deadline(1000, &l), Duration::from_secs(430));
    }

    #[test]
    fn backoff_doubles_with_jitter() {
        for attempt in 1..=3 {
            let b = backoff(attempt);
            let base = BACKOFF * 2u32.pow(attempt - 1);
            assert!(b >= base && b <= base.mul_f64(1.5), "{b:?}");
        }
    }
}
