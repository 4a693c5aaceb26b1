//! Live verification: asks the Applivery API whether the secrets a scan found still work, and
//! what a live one opens. This is the only module that touches the network, and nothing
//! reaches it unless the user asked (`--verify`, or the `verify` command). It knows nothing
//! of flags, output or exit codes: the command layer hands it plain [`Settings`] and renders
//! what it writes on each finding.
//!
//! The rules it keeps, because a wrong answer here is worse than no answer:
//! - a secret is `live` only when the API itself says so — a 2xx whose body is the API's
//!   `{"status": true, …}` without an error, or a 403 carrying an Applivery error (the token
//!   authenticated; its scope is narrower than the endpoint) — and `revoked` only when a
//!   401/403 carries Applivery's documented invalid-token error; everything else is `unknown`
//!   with the reason, never a guess. Each verdict keeps its evidence (endpoint, HTTP status,
//!   Applivery error), never the token;
//! - each unique (secret, endpoint) pair is sent once per run, in the `Authorization` header
//!   only. Endpoints are the configured API, or, when none was configured, api.applivery.io
//!   plus the private-tenant hosts (`*.<tenant>.applivery.io`) named in the secret's own
//!   file — never any other host taken from scanned content;
//! - plain `http://` only to loopback; redirects to another host are not followed;
//! - requests are capped in concurrency and rate, retried a bounded number of times, and the
//!   whole run has a deadline (`schedule`);
//! - secrets never appear in reasons, errors, evidence or debug output.
//!
//! The HTTP requests themselves go through `crate::net`, the one module that reaches the
//! network.

mod applivery;
mod schedule;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::SystemTime;

use anyhow::Result;

use crate::net::{self, Url};

pub use applivery::{Verifier, LEGACY, LEGACY_REASON, VERIFIERS};
pub use schedule::Limits;

use crate::finding::{BlastRadius, Evidence, Finding, Verification, VerifyStatus};
use crate::time::rfc3339;
use schedule::{Outcome, Settled};

/// The public API; private tenants answer at `https://api.<tenant>.applivery.io`.
pub const DEFAULT_API: &str = "https://api.applivery.io";
/// Sensible bounds of the limits: beyond them a run is either pointless or never ends.
pub const CONCURRENCY: RangeInclusive<usize> = 1..=64;
pub const RPS: RangeInclusive<f64> = 0.1..=1000.0;
pub const TIMEOUT_SECS: RangeInclusive<f64> = 0.1..=300.0;
/// The most of an answer read. The builds list and the workspace list are paginated and
/// small; an answer larger than this is not the API's.
const MAX_BODY: u64 = 2 << 20;

/// What a run of verification needs, already validated by the command layer.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api: Api,
    pub limits: Limits,
    /// Test seam: every Applivery host (`applivery.io` and below) is answered by this
    /// loopback address over plain http. Only loopback is accepted (see [`loopback`]), so
    /// it can never send a token off the machine; it exists because tenant-host routing
    /// cannot be tested through `--api-url`, which replaces every host.
    pub loopback: Option<SocketAddr>,
}

/// Where secrets are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    /// api.applivery.io, plus the tenant API of each private-tenant host named in a
    /// secret's file.
    Applivery,
    /// Only this base (`--api-url`): the user said where the API is.
    Given(Url),
}

/// Told about the run as it goes, for a progress display; the default does nothing.
pub trait Progress: Sync {
    /// `checks` requests (unique secret and endpoint pairs) are about to be made.
    fn start(&self, _checks: usize) {}
    /// One check is settled.
    fn checked(&self, _status: VerifyStatus) {}
}

/// No progress display.
pub struct Silent;

impl Progress for Silent {}

/// Checks that `base` is safe to send tokens to; returns it as a URL. The error says why
/// in one line and never echoes a user name or password; it may quote `base`, so whoever
/// prints it escapes control characters.
pub fn api_base(base: &str) -> Result<Url, String> {
    net::base_url(base)
}

/// Parses the test seam's address: a loopback socket address, nothing else.
pub fn loopback(value: &str) -> Result<SocketAddr, String> {
    match value.trim().parse::<SocketAddr>() {
        Ok(a) if a.ip().is_loopback() && a.port() != 0 => Ok(a),
        _ => Err(
            "must be a loopback address and port such as 127.0.0.1:8080 (tokens may \
                  only go to this machine)"
                .into(),
        ),
    }
}

fn is_applivery(host: &str) -> bool {
    host == "applivery.io" || host.ends_with(".applivery.io")
}

/// `https://api.<tenant>.applivery.io/` for a private-tenant host `<name>.<tenant>.applivery.io`.
/// The URL is built here from the tenant's one label, so content can choose a tenant under
/// applivery.io and nothing more.
fn tenant_api(host: &str) -> Option<Url> {
    let host = host.to_ascii_lowercase();
    let under = host.strip_suffix(".applivery.io")?;
    let (_, tenant) = under.rsplit_once('.')?;
    let ok = (1..=63).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !tenant.starts_with('-')
        && !tenant.ends_with('-');
    if !ok {
        return None;
    }
    Url::parse(&format!("https://api.{tenant}.applivery.io/")).ok()
}

impl Settings {
    /// The API bases a secret found beside `tenant_hosts` is checked at.
    fn bases(&self, tenant_hosts: &[String]) -> Vec<Url> {
        match &self.api {
            Api::Given(u) => vec![u.clone()],
            Api::Applivery => {
                let mut v = vec![Url::parse(DEFAULT_API).expect("the default API is a URL")];
                for t in tenant_hosts.iter().filter_map(|h| tenant_api(h)) {
                    if !v.contains(&t) {
                        v.push(t);
                    }
                }
                v
            }
        }
    }

    /// `{base}/{verifier's path}`, pointed at the loopback seam when it is set and the host
    /// is Applivery's.
    fn endpoint(&self, base: &Url, verifier: Verifier) -> Url {
        let mut s = base.as_str().trim_end_matches('/').to_string();
        s.push('/');
        s.push_str(verifier.path());
        let mut url = Url::parse(&s).expect("a checked base joined with a fixed path");
        if let Some(addr) = self.loopback {
            if url.host_str().is_some_and(is_applivery) {
                // Both are special schemes with a host, so neither change can fail.
                let _ = url.set_scheme("http");
                let _ = url.set_port(Some(addr.port()));
            }
        }
        url
    }
}

/// One request to make: a secret, the check it gets, and where.
struct Check {
    verifier: Verifier,
    secret: String,
    endpoint: Url,
}

/// Verifies each unique secret of `findings` whose rule has a verifier (`verifier_of`), at
/// every endpoint it should be checked at, and records the result on each finding. A `live`
/// answer is a fact about the secret and is shared with its findings under any rule;
/// `revoked` / `unknown` only mean something for the verifier that produced them, so other
/// rules' findings get "no verifier".
pub fn verify(
    findings: &mut [Finding],
    verifier_of: &dyn Fn(&str) -> Option<Verifier>,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<()> {
    let mut checks: Vec<Check> = Vec::new();
    let mut index: HashMap<(Verifier, &str, String), usize> = HashMap::new();
    // For each (verifier, secret), the checks that decide it, in order of first use.
    let mut decided_by: HashMap<(Verifier, &str), Vec<usize>> = HashMap::new();
    for f in findings.iter() {
        let Some(v) = verifier_of(&f.rule) else {
            continue;
        };
        for base in settings.bases(&f.tenant_hosts) {
            let endpoint = settings.endpoint(&base, v);
            let i = *index
                .entry((v, f.secret.as_str(), endpoint.to_string()))
                .or_insert_with(|| {
                    checks.push(Check {
                        verifier: v,
                        secret: f.secret.clone(),
                        endpoint,
                    });
                    checks.len() - 1
                });
            let list = decided_by.entry((v, f.secret.as_str())).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
    let results = run(&checks, settings, progress)?;
    let mut by_secret: HashMap<String, Vec<(Verifier, Verification)>> = HashMap::new();
    for ((v, secret), list) in decided_by {
        let parts: Vec<(&Url, &Verification)> = list
            .iter()
            .map(|&i| (&checks[i].endpoint, &results[i]))
            .collect();
        by_secret
            .entry(secret.to_string())
            .or_default()
            .push((v, combine(&parts)));
    }
    let now = rfc3339(SystemTime::now());
    for f in findings.iter_mut() {
        let known = by_secret.get(&f.secret).map_or(&[][..], Vec::as_slice);
        let mine = verifier_of(&f.rule).and_then(|v| known.iter().find(|(w, _)| *w == v));
        let live = known.iter().find(|(_, r)| r.status == VerifyStatus::Live);
        f.verification = Some(Box::new(match mine.or(live) {
            Some((_, r)) => r.clone(),
            None => Verification::unsent(VerifyStatus::Unknown, "no verifier", now.clone()),
        }));
    }
    Ok(())
}

/// Makes the checks; one verification per check, in order.
fn run(
    checks: &[Check],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Vec<Verification>> {
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let plain = checks.iter().any(|c| c.endpoint.scheme() == "http");
    let mut resolve: Vec<(String, SocketAddr)> = Vec::new();
    if let Some(addr) = settings.loopback {
        for c in checks {
            if let Some(h) = c.endpoint.host_str().filter(|h| is_applivery(h)) {
                if !resolve.iter().any(|(x, _)| x == h) {
                    resolve.push((h.to_string(), addr));
                }
            }
        }
    }
    let client = net::client(&net::ClientOptions {
        timeout: settings.limits.timeout,
        pool: settings.limits.concurrency,
        plain,
        resolve,
        max_body: MAX_BODY,
    })?;
    let secrets: Vec<&str> = checks.iter().map(|c| c.secret.as_str()).collect();
    let budget = schedule::deadline(checks.len(), &settings.limits);
    let settled = schedule::check_all(
        &secrets,
        settings.limits,
        budget,
        |i, secret, timeout| {
            let c = &checks[i];
            let auth = net::Header {
                name: "authorization",
                value: format!("Bearer {secret}"),
                sensitive: true,
            };
            match net::get(&client, &c.endpoint, &[auth], timeout) {
                Err(reason) => Outcome::Failed(reason),
                Ok(answer) => applivery::judge(c.verifier, &answer),
            }
        },
        progress,
    );
    Ok(settled
        .into_iter()
        .zip(checks)
        .map(|(s, c)| verification(s, c))
        .collect())
}

/// The verification of one check, scrubbed of its secret wherever the answer could have
/// echoed it.
fn verification(s: Settled, c: &Check) -> Verification {
    let v = s.verdict;
    let clean = |x: &str| scrub(x, &c.secret);
    Verification {
        status: v.status,
        reason: clean(&v.reason),
        checked_at: s.checked_at,
        evidence: s.sent.then(|| Evidence {
            endpoint: c.endpoint.to_string(),
            http_status: v.http_status,
            api_error: v.api_error.map(|mut e| {
                e.message = clean(&e.message);
                e
            }),
        }),
        blast_radius: v.blast_radius.map(|b| match b {
            BlastRadius::App {
                application_id,
                application_name,
                builds,
            } => BlastRadius::App {
                application_id: application_id.as_deref().map(clean),
                application_name: application_name.as_deref().map(clean),
                builds,
            },
            BlastRadius::Workspaces { workspaces, total } => BlastRadius::Workspaces {
                workspaces: workspaces
                    .into_iter()
                    .map(|mut w| {
                        w.id = clean(&w.id);
                        w.name = clean(&w.name);
                        w.slug = clean(&w.slug);
                        w
                    })
                    .collect(),
                total,
            },
        }),
    }
}

/// One verdict from the checks of one secret at several endpoints (the public API and
/// tenants named beside it). A secret is live if any endpoint accepts it; revoked only if
/// every one refuses it; else unknown — so a tenant's token is never called revoked because
/// the public API does not know it. The verdict keeps the deciding check's evidence and
/// names the others.
fn combine(parts: &[(&Url, &Verification)]) -> Verification {
    let rank = |s: VerifyStatus| match s {
        VerifyStatus::Live => 0,
        VerifyStatus::Unknown => 1,
        VerifyStatus::Revoked => 2,
    };
    let Some(pick) = (0..parts.len()).min_by_key(|&i| (rank(parts[i].1.status), i)) else {
        return Verification::unsent(
            VerifyStatus::Unknown,
            "not checked",
            rfc3339(SystemTime::now()),
        );
    };
    let mut v = parts[pick].1.clone();
    let others: Vec<String> = parts
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != pick)
        .map(|(_, (url, o))| format!("{} at {}", o.status.as_str(), url.host_str().unwrap_or("?")))
        .collect();
    if !others.is_empty() {
        v.reason = format!("{}; also checked: {}", v.reason, others.join(", "));
    }
    v
}

/// Defence in depth: whatever a text from an answer says, it never carries the secret.
fn scrub(text: &str, secret: &str) -> String {
    // Too short to be a token, and replacing it would garble the text.
    if secret.len() < 6 || !text.contains(secret) {
        return text.to_string();
    }
    text.replace(secret, &crate::finding::redact(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(api: Api, loopback: Option<SocketAddr>) -> Settings {
        Settings {
            api,
            limits: Limits {
                concurrency: 1,
                interval: Duration::ZERO,
                timeout: Duration::from_secs(1),
            },
            loopback,
        }
    }

    #[test]
    fn api_url_safety() {
        let ok = |u: &str| api_base(u).map(|e| e.to_string());
        assert_eq!(
            ok("https://api.applivery.io").unwrap(),
            "https://api.applivery.io/"
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
            "user:pw@api.applivery.io",
            "",
        ] {
            let e = api_base(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
            assert!(!e.contains("pw@"), "{e}");
        }
    }

    #[test]
    fn endpoints_per_verifier_and_base() {
        let s = settings(Api::Applivery, None);
        let base = Url::parse("https://tenant.example/api/").unwrap();
        assert_eq!(
            s.endpoint(&base, Verifier::App).as_str(),
            "https://tenant.example/api/v1/integrations/builds"
        );
        assert_eq!(
            s.endpoint(&base, Verifier::ServiceAccount).as_str(),
            "https://tenant.example/api/v1/organizations"
        );
    }

    #[test]
    fn tenant_hosts_widen_the_default_api_only() {
        let hosts = vec![
            "upload.acme.applivery.io".to_string(),
            "api.acme.applivery.io".to_string(),
            "x.-bad.applivery.io".to_string(),
            "api.evil.example".to_string(),
        ];
        let s = settings(Api::Applivery, None);
        let bases: Vec<String> = s.bases(&hosts).iter().map(Url::to_string).collect();
        assert_eq!(
            bases,
            [
                "https://api.applivery.io/",
                "https://api.acme.applivery.io/"
            ]
        );
        let given = Url::parse("https://api.example.com/").unwrap();
        let s = settings(Api::Given(given.clone()), None);
        assert_eq!(s.bases(&hosts), vec![given]);
    }

    #[test]
    fn the_seam_points_applivery_hosts_at_loopback_only() {
        let addr: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let s = settings(Api::Applivery, Some(addr));
        let e = |b: &str| {
            s.endpoint(&Url::parse(b).unwrap(), Verifier::App)
                .to_string()
        };
        assert_eq!(
            e("https://api.acme.applivery.io/"),
            "http://api.acme.applivery.io:4321/v1/integrations/builds"
        );
        assert_eq!(
            e("https://api.example.com/"),
            "https://api.example.com/v1/integrations/builds"
        );
        assert!(loopback("127.0.0.1:4321").is_ok());
        assert!(loopback("[::1]:80").is_ok());
        for bad in [
            "10.0.0.1:80",
            "127.0.0.1",
            "127.0.0.1:0",
            "example.com:80",
            "",
        ] {
            assert!(loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_live_endpoint_makes_a_secret_live_and_one_unknown_keeps_it_unknown() {
        let at = |s: VerifyStatus, r: &str| Verification::unsent(s, r, String::new());
        let (a, b) = (
            Url::parse("https://api.applivery.io/").unwrap(),
            Url::parse("https://api.acme.applivery.io/").unwrap(),
        );
        let revoked = at(VerifyStatus::Revoked, "HTTP 401");
        let live = at(VerifyStatus::Live, "HTTP 200");
        let unknown = at(VerifyStatus::Unknown, "timeout");
        let v = combine(&[(&a, &revoked), (&b, &live)]);
        assert_eq!(v.status, VerifyStatus::Live);
        assert_eq!(
            v.reason,
            "HTTP 200; also checked: revoked at api.applivery.io"
        );
        let v = combine(&[(&a, &revoked), (&b, &unknown)]);
        assert_eq!(v.status, VerifyStatus::Unknown);
        let v = combine(&[(&a, &revoked), (&b, &revoked)]);
        assert_eq!(v.status, VerifyStatus::Revoked);
        assert_eq!(combine(&[(&a, &live)]), live);
    }

    #[test]
    fn scrub_hides_the_secret() {
        assert_eq!(scrub("echo SECRETSECRET", "SECRETSECRET"), "echo SECR…");
        assert_eq!(scrub("abc", "abc"), "abc");
    }
}
