//! When requests go out: a pool of workers that paces request starts across all of them,
//! retries what is worth retrying, stops knocking on an API that does not answer, and gives
//! up on everything at one overall deadline — so a CI job never hangs on an API that is down.
//! What a request says is decided elsewhere (`applivery`); this pass only schedules.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::Progress;
use crate::finding::{ApiError, BlastRadius, VerifyStatus};
use crate::time::rfc3339;

/// Attempts per check, the first included (429 and 5xx are retried).
const MAX_ATTEMPTS: u32 = 3;
/// A `Retry-After` longer than this is cut down to it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// First backoff after a 5xx without `Retry-After`; doubles per attempt, plus up to 50 % jitter.
const BACKOFF: Duration = Duration::from_millis(500);
/// The overall deadline is at least this long (see `deadline`).
const MIN_DEADLINE: Duration = Duration::from_secs(60);

/// How hard and how long to knock.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Minimum spacing between the starts of two requests (1 / rps).
    pub interval: Duration,
    /// Per-request timeout (connect + response + body).
    pub timeout: Duration,
}

/// A final answer about one secret at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub status: VerifyStatus,
    pub reason: String,
    pub http_status: Option<u16>,
    pub api_error: Option<ApiError>,
    pub blast_radius: Option<BlastRadius>,
}

impl Verdict {
    pub fn new(status: VerifyStatus, reason: impl Into<String>) -> Verdict {
        Verdict {
            status,
            reason: reason.into(),
            http_status: None,
            api_error: None,
            blast_radius: None,
        }
    }

    fn unknown(reason: impl Into<String>) -> Verdict {
        Verdict::new(VerifyStatus::Unknown, reason)
    }
}

/// What one request said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A final answer from the API (or from what stands in front of it).
    Done(Verdict),
    /// No HTTP answer: connection failed, timed out, or broke off.
    Failed(String),
    /// Worth another try (429, 5xx), after `after` if the server said so; `throttle` asks
    /// every worker to back off, not just this one.
    Retry {
        reason: String,
        after: Option<Duration>,
        throttle: bool,
        http_status: u16,
    },
}

/// The verdict on one check, whether a request went out for it, and when it was settled.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    pub verdict: Verdict,
    pub sent: bool,
    pub checked_at: String,
}

/// The overall deadline: at least 60 s, more when the rate limit alone needs longer — twice
/// the time the checks take at the configured rate, plus three request timeouts.
pub(crate) fn deadline(checks: usize, limits: &Limits) -> Duration {
    let paced = limits.interval.as_secs_f64() * checks as f64 * 2.0;
    let slack = limits.timeout.as_secs_f64() * 3.0;
    MIN_DEADLINE.max(Duration::from_secs_f64((paced + slack).min(1e9)))
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
        let mut next = crate::sync::lock(&self.next);
        let slot = (*next).max(Instant::now());
        if slot >= deadline {
            return None;
        }
        *next = slot + self.interval;
        Some(slot)
    }

    fn pause_until(&self, t: Instant) {
        let mut next = crate::sync::lock(&self.next);
        if *next < t {
            *next = t;
        }
    }
}

/// Runs `probe(i, secrets[i], timeout)` once per check (plus retries) on at most
/// `limits.concurrency` threads; returns one result per check, in order. Checks not settled
/// by the deadline are `unknown` with reason "deadline exceeded"; once the API has failed
/// to answer `breaker(limits)` requests in a row, the rest are not sent at all.
pub(crate) fn check_all<P>(
    secrets: &[&str],
    limits: Limits,
    budget: Duration,
    probe: P,
    progress: &dyn Progress,
) -> Vec<Settled>
where
    P: Fn(usize, &str, Duration) -> Outcome + Sync,
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
    let results: Mutex<Vec<Option<Settled>>> = Mutex::new(vec![None; secrets.len()]);
    let workers = limits.concurrency.clamp(1, secrets.len().max(1));
    progress.start(secrets.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(secret) = secrets.get(i) else { break };
                let (verdict, sent) = if run.failures.load(Ordering::Relaxed) >= breaker {
                    let reason =
                        format!("not sent: the API failed to answer {breaker} requests in a row");
                    (Verdict::unknown(reason), false)
                } else {
                    let (verdict, sent, answered) = run.check_one(i, secret);
                    if answered {
                        run.failures.store(0, Ordering::Relaxed);
                    } else {
                        run.failures.fetch_add(1, Ordering::Relaxed);
                    }
                    (verdict, sent)
                };
                progress.checked(verdict.status);
                let settled = Settled {
                    verdict,
                    sent,
                    checked_at: rfc3339(SystemTime::now()),
                };
                crate::sync::lock(&results)[i] = Some(settled);
            });
        }
    });
    crate::sync::into_inner(results)
        .into_iter()
        .map(|v| {
            v.unwrap_or_else(|| Settled {
                verdict: Verdict::unknown("not checked"),
                sent: false,
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

impl<P: Fn(usize, &str, Duration) -> Outcome> Run<P> {
    /// The verdict on check `i`, whether a request went out, and whether the API answered.
    fn check_one(&self, i: usize, secret: &str) -> (Verdict, bool, bool) {
        const EXCEEDED: &str = "deadline exceeded";
        if !plausible(secret) {
            let reason = "not sent: not a plausible token (whitespace, control or non-ASCII \
                          characters, or too long)";
            return (Verdict::unknown(reason), false, true);
        }
        let mut attempt = 1;
        let mut sent = false;
        loop {
            let Some(slot) = self.pacer.reserve(self.deadline) else {
                return (Verdict::unknown(EXCEEDED), sent, false);
            };
            sleep_until(slot);
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (Verdict::unknown(EXCEEDED), sent, false);
            }
            sent = true;
            match (self.probe)(i, secret, self.limits.timeout.min(left)) {
                Outcome::Done(v) => return (v, true, true),
                // A request cut short by the deadline failed because of it.
                Outcome::Failed(_) if Instant::now() >= self.deadline => {
                    return (Verdict::unknown(EXCEEDED), true, false);
                }
                Outcome::Failed(reason) => return (Verdict::unknown(reason), true, false),
                Outcome::Retry {
                    reason,
                    after,
                    throttle,
                    http_status,
                } => {
                    let give_up = |reason: String| {
                        let mut v = Verdict::unknown(reason);
                        v.http_status = Some(http_status);
                        (v, true, false)
                    };
                    if attempt >= MAX_ATTEMPTS {
                        return give_up(format!("{reason}, {attempt} attempts"));
                    }
                    let wait = match after {
                        Some(a) => a.min(MAX_RETRY_AFTER),
                        None => backoff(attempt),
                    };
                    let resume = Instant::now() + wait;
                    if resume >= self.deadline {
                        return give_up(format!("{reason}; a retry would pass the deadline"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    struct Quiet;
    impl Progress for Quiet {}

    fn limits(concurrency: usize, interval_ms: u64, timeout_ms: u64) -> Limits {
        Limits {
            concurrency,
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn done(status: VerifyStatus, reason: &str) -> Outcome {
        Outcome::Done(Verdict::new(status, reason))
    }

    #[test]
    fn server_errors_are_retried_three_times_at_most() {
        let calls = AtomicU32::new(0);
        let r = check_all(
            &["tok-one"],
            limits(1, 0, 1000),
            Duration::from_secs(20),
            |_, _, _| {
                calls.fetch_add(1, Ordering::SeqCst);
                Outcome::Retry {
                    reason: "HTTP 503".into(),
                    after: Some(Duration::from_millis(10)),
                    throttle: false,
                    http_status: 503,
                }
            },
            &Quiet,
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(r[0].verdict.status, VerifyStatus::Unknown);
        assert_eq!(r[0].verdict.reason, "HTTP 503, 3 attempts");
        assert_eq!(r[0].verdict.http_status, Some(503));
        assert!(r[0].sent);
    }

    #[test]
    fn retry_after_beyond_the_deadline_gives_up_at_once() {
        let started = Instant::now();
        let r = check_all(
            &["tok-one"],
            limits(1, 0, 1000),
            Duration::from_millis(500),
            |_, _, _| Outcome::Retry {
                reason: "HTTP 429 (rate limited)".into(),
                after: Some(Duration::from_secs(20)),
                throttle: true,
                http_status: 429,
            },
            &Quiet,
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(r[0].verdict.status, VerifyStatus::Unknown);
        assert!(
            r[0].verdict.reason.contains("would pass the deadline"),
            "{}",
            r[0].verdict.reason
        );
    }

    #[test]
    fn the_deadline_turns_the_rest_into_unknown() {
        // Six slow checks, one worker, 2 s in all: the first ones are answered, the last
        // ones are never sent. (Generous margins: a loaded CI machine must not flake.)
        let calls = AtomicU32::new(0);
        let r = check_all(
            &["a", "b", "c", "d", "e", "f"],
            limits(1, 0, 1000),
            Duration::from_millis(2000),
            |_, _, timeout| {
                calls.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(timeout.min(Duration::from_millis(600)));
                done(VerifyStatus::Revoked, "HTTP 401")
            },
            &Quiet,
        );
        let n = calls.load(Ordering::SeqCst) as usize;
        assert!(n < 6, "{n}");
        assert_eq!(r[0].verdict.status, VerifyStatus::Revoked);
        assert_eq!(r[5].verdict.status, VerifyStatus::Unknown);
        assert_eq!(r[5].verdict.reason, "deadline exceeded");
        assert!(!r[5].sent);
    }

    #[test]
    fn implausible_secrets_are_not_sent() {
        let r = check_all(
            &["has space", "SECRETSECRET"],
            limits(2, 0, 1000),
            Duration::from_secs(5),
            |i, t, _| {
                assert_ne!(t, "has space");
                assert_eq!(i, 1);
                done(VerifyStatus::Unknown, "answered")
            },
            &Quiet,
        );
        assert!(r[0].verdict.reason.starts_with("not sent"));
        assert!(!r[0].sent);
        assert!(r[1].sent);
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
            |_, _, _| {
                calls.fetch_add(1, Ordering::SeqCst);
                Outcome::Failed("connection failed: connection refused".into())
            },
            &Quiet,
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(r[2].verdict.reason, "connection failed: connection refused");
        assert_eq!(
            r[3].verdict.reason,
            "not sent: the API failed to answer 3 requests in a row"
        );
        assert!(r.iter().all(|v| v.verdict.status == VerifyStatus::Unknown));
        // One answer resets the count.
        let calls = AtomicU32::new(0);
        let r = check_all(
            &secrets,
            limits(1, 0, 1000),
            Duration::from_secs(20),
            |_, _, _| {
                if calls.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                    Outcome::Failed("timeout after 1 s".into())
                } else {
                    done(VerifyStatus::Revoked, "HTTP 401")
                }
            },
            &Quiet,
        );
        assert_eq!(calls.load(Ordering::SeqCst), 20);
        assert_eq!(r[19].verdict.status, VerifyStatus::Revoked);
    }

    #[test]
    fn progress_hears_of_every_check() {
        struct Count(AtomicUsize, AtomicUsize);
        impl Progress for Count {
            fn start(&self, total: usize) {
                self.0.store(total, Ordering::SeqCst);
            }
            fn checked(&self, _: VerifyStatus) {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Count(AtomicUsize::new(0), AtomicUsize::new(0));
        check_all(
            &["a", "b", "c"],
            limits(2, 0, 1000),
            Duration::from_secs(5),
            |_, _, _| done(VerifyStatus::Live, "ok"),
            &count,
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert_eq!(count.1.load(Ordering::SeqCst), 3);
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
