//! Live verification through the real binary against a real HTTP server on 127.0.0.1, run
//! by the test, that answers like the Applivery API (and like the ways it can fail):
//! scheduling, retries, redirects, proxies, and which findings are sent at all.

use crate::api::{tokens, Role, Server, BUILDS_PATH};
use crate::common::*;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::Ordering;

use serde_json::Value;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `verify --format json` of `tokens` on stdin; returns exit code, report and raw output.
fn verify_stdin(api: &str, input: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = bin()
        .args(["verify", "--format", "json", "--api-url", api])
        .args(["--verify-rps", "100", "--verify-timeout", "0.5"])
        .args(extra)
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_of(&out.stdout), text(&out))
}

/// status and reason of each finding, by line of stdin.
fn by_line(v: &Value) -> HashMap<u64, (String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let ver = &f["verification"];
            (
                f["line"].as_u64().unwrap(),
                (
                    ver["status"].as_str().unwrap().to_string(),
                    ver["reason"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn answers_map_to_live_revoked_unknown() {
    let roles = [
        Role::Live,
        Role::Html,
        Role::Invalid,
        Role::Scoped,
        Role::RateLimited,
        Role::Flaky,
        Role::Down,
        Role::Hang,
        Role::Redirect,
    ];
    let toks = tokens(roles.len(), 0x5eed_0001);
    let other = Server::start(HashMap::new());
    let api = Server::with_redirect(toks.iter().cloned().zip(roles).collect(), Some(other.addr));
    // Line n+1 holds token n; the live token comes twice more, after a comment and a blank.
    let mut input = toks.join("\n");
    input.push_str(&format!("\n# again\n\n  {}  \n{}\n", toks[0], toks[0]));
    let (code, v, all) = verify_stdin(&api.url(), &input, &[]);
    assert_eq!(code, 1, "{all}");
    let got = by_line(&v);
    let expect = [
        (1, "live", "HTTP 200"),
        (2, "unknown", "not the Applivery API's JSON"),
        (
            3,
            "revoked",
            "HTTP 401, Applivery error 4004 (Invalid Token)",
        ),
        (4, "live", "HTTP 403, Applivery error 4003"),
        (5, "live", "HTTP 200"),
        (6, "live", "HTTP 200"),
        (7, "unknown", "HTTP 503, 3 attempts"),
        (8, "unknown", "timeout after 0.5 s"),
        (9, "unknown", "HTTP 302 redirect not followed"),
        (12, "live", "HTTP 200"),
        (13, "live", "HTTP 200"),
    ];
    assert_eq!(got.len(), expect.len(), "{v}");
    for (line, status, reason) in expect {
        let (s, r) = &got[&line];
        assert_eq!(s, status, "line {line}: {r}");
        assert!(r.contains(reason), "line {line}: {r}");
    }
    // One request per unique token; 429 and 500 retried once, 503 three attempts in all.
    let counts: Vec<usize> = toks.iter().map(|t| api.count(t)).collect();
    assert_eq!(counts, vec![1, 1, 1, 1, 2, 2, 3, 1, 1]);
    // ... and nothing else: no request without a token or with another one.
    assert_eq!(api.requests().len(), 13);
    for r in api.requests() {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", BUILDS_PATH));
        let ua = r.user_agent.unwrap_or_default();
        assert!(ua.starts_with("applivery-leaks/"), "{ua}");
    }
    api.assert_tokens_only_in_authorization(&toks);
    // The redirect went nowhere.
    assert_eq!(other.connections.load(Ordering::SeqCst), 0);
    // Summary counts findings; nothing leaks.
    assert_eq!(
        v["summary"]["verification"],
        serde_json::json!({"live": 6, "revoked": 1, "unknown": 4})
    );
    for t in &toks {
        assert!(!all.contains(t.as_str()), "token leaked:\n{all}");
    }
    for f in v["findings"].as_array().unwrap() {
        let at = f["verification"]["checked_at"].as_str().unwrap();
        assert!(
            at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{at}"
        );
        assert_eq!(f["rule"], "applivery-app-token");
        assert_eq!(f["path"], "<stdin>");
    }
    let padded = &v["findings"].as_array().unwrap()[9];
    assert_eq!(padded["line"], 12);
    assert_eq!(
        (padded["column"].as_u64(), padded["end_column"].as_u64()),
        (Some(3), Some(27))
    );
}

#[test]
fn arguments_text_output_and_show_secrets() {
    let toks = tokens(2, 0x5eed_0002);
    let api = Server::start(HashMap::from([
        (toks[0].clone(), Role::Live),
        (toks[1].clone(), Role::Invalid),
    ]));
    let out = bin()
        .args(["verify", "--api-url", &api.url(), "--", &toks[0], &toks[1]])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("<argument 1>:1:1 applivery-app-token [LIVE]"),
        "{all}"
    );
    assert!(
        all.contains("<argument 2>:1:1 applivery-app-token [revoked]"),
        "{all}"
    );
    assert!(
        all.contains("verified: 1 live, 1 revoked, 0 unknown"),
        "{all}"
    );
    assert!(!all.contains(&toks[0]) && !all.contains(&toks[1]), "{all}");
    let out = bin()
        .args([
            "verify",
            "--show-secrets",
            "--api-url",
            &api.url(),
            "--",
            &toks[0],
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&toks[0]));
    // Exactly one request per token per run.
    assert_eq!((api.count(&toks[0]), api.count(&toks[1])), (2, 1));
    let header = api.requests()[0].auth.clone().unwrap();
    assert!(header == format!("Bearer {}", toks[0]) || header == format!("Bearer {}", toks[1]));
}

fn dir_scan(dir: &Path, api: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = bin()
        .arg("dir")
        .arg(dir)
        .args(["--no-config", "--format", "json"])
        .env("APPLIVERY_API_URL", api)
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_of(&out.stdout), text(&out))
}

#[test]
fn scans_verify_each_secret_once_and_fail_on_live() {
    let toks = tokens(2, 0x5eed_0003);
    let (live, revoked) = (&toks[0], &toks[1]);
    let api = Server::start(HashMap::from([
        (live.clone(), Role::Live),
        (revoked.clone(), Role::Invalid),
    ]));
    let d = tempfile::tempdir().unwrap();
    // The revoked token in five files, twice in one of them.
    for i in 0..5 {
        write(
            d.path(),
            &format!("app{i}/.env"),
            &format!("APPLIVERY_APP_TOKEN={revoked}\n"),
        );
    }
    write(
        d.path(),
        "app0/ci.sh",
        &format!("export APPLIVERY_TOKEN={revoked}\n# again\nAPPLIVERY_APP_TOKEN={revoked}\n"),
    );
    let (code, v, all) = dir_scan(d.path(), &api.url(), &["--verify", "--fail-on", "live"]);
    assert_eq!(code, 0, "revoked only, --fail-on live: {all}");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 7, "{v}");
    assert!(findings
        .iter()
        .all(|f| f["verification"]["status"] == "revoked"));
    assert_eq!(api.count(revoked), 1);
    assert!(!all.contains(revoked.as_str()));

    let (code, _, _) = dir_scan(d.path(), &api.url(), &["--verify"]);
    assert_eq!(code, 1, "--fail-on any (default) fails on revoked findings");
    assert_eq!(api.count(revoked), 2);

    write(
        d.path(),
        "fastlane/Fastfile",
        &format!("applivery(app_token: \"{live}\")\n"),
    );
    let (code, v, all) = dir_scan(d.path(), &api.url(), &["--verify", "--fail-on", "live"]);
    assert_eq!(code, 1, "{all}");
    assert_eq!(
        v["summary"]["verification"],
        serde_json::json!({"live": 1, "revoked": 7, "unknown": 0})
    );
    assert_eq!((api.count(live), api.count(revoked)), (1, 3));
}

#[test]
fn offline_by_default() {
    let tok = &tokens(1, 0x5eed_0004)[0];
    let api = Server::start(HashMap::from([(tok.clone(), Role::Live)]));
    let d = tempfile::tempdir().unwrap();
    write(d.path(), ".env", &format!("APPLIVERY_APP_TOKEN={tok}\n"));
    for fmt in ["text", "json", "sarif"] {
        let out = bin()
            .arg("dir")
            .arg(d.path())
            .args(["--no-config", "--format", fmt])
            .env("APPLIVERY_API_URL", api.url())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(!text(&out).contains("verified"));
    }
    let out = bin()
        .args(["stdin", "--no-config"])
        .env("APPLIVERY_API_URL", api.url())
        .write_stdin(format!("APPLIVERY_APP_TOKEN={tok}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(api.connections.load(Ordering::SeqCst), 0);
    // The same scan with --verify does connect: the listener above is really listening.
    let (code, v, _) = dir_scan(d.path(), &api.url(), &["--verify"]);
    assert_eq!(code, 1);
    assert_eq!(v["findings"][0]["verification"]["status"], "live");
    assert_eq!(api.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn closed_port_is_unknown_and_the_rest_is_not_sent() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let toks = tokens(10, 0x5eed_0005);
    let (code, v, all) = verify_stdin(
        &format!("http://127.0.0.1:{port}"),
        &toks.join("\n"),
        &["--fail-on", "live", "--verify-concurrency", "1"],
    );
    assert_eq!(code, 0, "{all}");
    let got = by_line(&v);
    for line in 1..=10 {
        let (status, reason) = &got[&line];
        assert_eq!(status, "unknown");
        if line <= 3 {
            assert!(
                reason.starts_with("connection failed: connection refused"),
                "{reason}"
            );
        } else {
            // Three failures in a row: the API is down, stop knocking.
            assert_eq!(
                reason, "not sent: the API failed to answer 3 requests in a row",
                "{line}"
            );
        }
    }
    for t in &toks {
        assert!(!all.contains(t.as_str()));
    }
}

#[test]
fn unsafe_api_urls_are_refused_before_scanning() {
    let tok = &tokens(1, 0x5eed_0006)[0];
    for url in [
        "http://api.applivery.io",
        "http://192.168.1.10:8080",
        "ftp://127.0.0.1",
        "https://user:hunter2@api.applivery.io",
        "not a url",
    ] {
        let out = bin()
            .args(["verify", "--api-url", url])
            .write_stdin(format!("{tok}\n"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--api-url"), "{err}");
        assert!(
            !err.contains("hunter2") && !err.contains(tok.as_str()),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    // A scan with --verify fails on the URL before reading anything; without --verify the
    // URL is never looked at.
    let d = tempfile::tempdir().unwrap();
    write(d.path(), ".env", &format!("APPLIVERY_APP_TOKEN={tok}\n"));
    let (code, _, _) = dir_scan(d.path(), "http://10.1.2.3", &[]);
    assert_eq!(code, 1);
    let out = bin()
        .arg("dir")
        .arg(d.path().join("missing"))
        .args(["--verify", "--api-url", "http://10.1.2.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain http://"), "{err}");
    assert!(
        !err.contains("missing"),
        "URL checked before scanning: {err}"
    );
    for bad in [
        ["--verify-concurrency", "0"],
        ["--verify-rps", "0"],
        ["--verify-timeout", "-1"],
    ] {
        let out = bin().args(["verify", tok]).args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn concurrency_is_capped() {
    let toks = tokens(8, 0x5eed_0007);
    let api = Server::start(toks.iter().map(|t| (t.clone(), Role::Live)).collect());
    let (code, v, all) = verify_stdin(
        &api.url(),
        &toks.join("\n"),
        &["--verify-concurrency", "2", "--fail-on", "live"],
    );
    assert_eq!(code, 1, "{all}");
    assert_eq!(v["summary"]["verification"]["live"], 8);
    assert_eq!(api.requests().len(), 8);
    let max = api.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} requests in flight at once");
}

#[test]
fn jsonl_and_sarif_carry_the_result() {
    let tok = &tokens(1, 0x5eed_0008)[0];
    let api = Server::start(HashMap::from([(tok.clone(), Role::Live)]));
    let out = bin()
        .args(["verify", "--format", "jsonl", "--api-url", &api.url()])
        .write_stdin(format!("{tok}\n"))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains(r#""status":"live""#), "{s}");
    assert!(!s.contains(tok.as_str()));
    let out = bin()
        .args(["verify", "--format", "sarif", "--api-url", &api.url()])
        .write_stdin(format!("{tok}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // The SARIF writer lives elsewhere; here: it is valid JSON, mentions the status, and
    // does not leak.
    json_of(&out.stdout);
    assert!(String::from_utf8_lossy(&out.stdout).contains("live"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(tok.as_str()));
}

#[test]
fn https_goes_through_the_proxy_from_the_environment_http_loopback_never_does() {
    let tok = &tokens(1, 0x5eed_000a)[0];
    let proxy = Server::start(HashMap::new());
    // Default https base: the client asks the proxy for a tunnel; the token would travel
    // inside TLS, never in the clear to the proxy. This proxy refuses: unknown.
    let out = bin()
        .args(["verify", "--format", "json", "--verify-timeout", "2"])
        .env("HTTPS_PROXY", proxy.url())
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .write_stdin(format!("{tok}\n"))
        .output()
        .unwrap();
    let v = json_of(&out.stdout);
    assert_eq!(v["findings"][0]["verification"]["status"], "unknown", "{v}");
    let reqs = proxy.requests();
    assert!(!reqs.is_empty());
    for r in &reqs {
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.auth.as_deref()),
            ("CONNECT", "api.applivery.io:443", None)
        );
    }
    // A loopback http base ignores HTTP_PROXY: a proxy would see the token in clear text.
    let api = Server::start(HashMap::from([(tok.clone(), Role::Live)]));
    let out = bin()
        .args(["verify", "--format", "json", "--api-url", &api.url()])
        .env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .write_stdin(format!("{tok}\n"))
        .output()
        .unwrap();
    let v = json_of(&out.stdout);
    assert_eq!(v["findings"][0]["verification"]["status"], "live", "{v}");
    assert_eq!(proxy.requests().len(), reqs.len());
}

#[test]
fn suppressed_findings_are_never_sent() {
    let toks = tokens(2, 0x5eed_000b);
    let api = Server::start(toks.iter().map(|t| (t.clone(), Role::Live)).collect());
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".env",
        &format!(
            "APPLIVERY_APP_TOKEN={} # applivery-leaks:allow\nAPPLIVERY_TOKEN={}\n",
            toks[0], toks[1]
        ),
    );
    let (code, v, all) = dir_scan(d.path(), &api.url(), &["--verify"]);
    assert_eq!(code, 1, "{all}");
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!((api.count(&toks[0]), api.count(&toks[1])), (0, 1));
}

#[test]
fn nothing_to_verify_is_an_error_even_quiet() {
    for args in [vec!["verify", "--format", "json", "-q"], vec!["verify"]] {
        let out = bin().args(&args).write_stdin("").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("no tokens given"), "{err}");
        assert!(out.stdout.is_empty());
    }
}
