//! Where tokens are sent (issue 10, hosts): the public API, and the private-tenant API of a
//! `*.<tenant>.applivery.io` host named in the token's own file — never a host outside
//! applivery.io taken from scanned content. Loopback cannot serve real applivery.io names, so
//! these tests use the documented test seam, `APPLIVERY_LEAKS_TEST_LOOPBACK`, which answers
//! every Applivery host from one loopback address and accepts nothing but loopback.

use crate::api::{tokens, Role, Server, BUILDS_PATH};
use crate::common::*;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;

use serde_json::Value;

const SEAM: &str = "APPLIVERY_LEAKS_TEST_LOOPBACK";

/// `dir --verify --format json` with every Applivery host answered by `api`.
fn scan(dir: &Path, api: &Server, extra: &[&str]) -> (i32, Value, String) {
    let out = bin()
        .arg("dir")
        .arg(dir)
        .args([
            "--no-config",
            "--verify",
            "--format",
            "json",
            "--verify-rps",
            "200",
        ])
        .args(extra)
        .env(SEAM, api.addr.to_string())
        // Should the seam ever fail, https requests die at a dead proxy on this machine
        // instead of reaching a real server.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap(), json_of(&out.stdout), all)
}

/// Requests per (host, token) the server received.
fn by_host(api: &Server) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for r in api.requests() {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", BUILDS_PATH));
        let tok = r
            .auth
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_string();
        *m.entry((r.host, tok)).or_insert(0) += 1;
    }
    m
}

fn verification_of(v: &Value, path: &str) -> Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no finding in {path}: {v}"))["verification"]
        .clone()
}

#[test]
fn a_tenant_host_named_in_the_file_is_used_for_that_tokens_check() {
    let toks = tokens(2, 0x7e57_0201);
    let (tenant_tok, lone_tok) = (&toks[0], &toks[1]);
    let api = Server::start(HashMap::from([
        (tenant_tok.clone(), Role::LiveAt("api.acme.applivery.io")),
        (lone_tok.clone(), Role::LiveAt("api.acme.applivery.io")),
    ]));
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "tenant/.env",
        &format!(
            "APPLIVERY_UPLOAD_URL=https://upload.acme.applivery.io/v1/integrations/builds\n\
             APPLIVERY_APP_TOKEN={tenant_tok}\n"
        ),
    );
    write(
        d.path(),
        "lone/.env",
        &format!("APPLIVERY_APP_TOKEN={lone_tok}\n"),
    );
    let (code, v, all) = scan(d.path(), &api, &[]);
    assert_eq!(code, 1, "{all}");
    assert!(all.contains(SEAM), "the seam announces itself: {all}");
    let port = api.addr.port();
    // Live at its tenant, although the public API does not know it.
    let ver = verification_of(&v, "tenant/.env");
    assert_eq!(ver["status"], "live", "{ver}");
    assert_eq!(
        ver["endpoint"],
        format!("http://api.acme.applivery.io:{port}{BUILDS_PATH}")
    );
    assert!(
        ver["reason"]
            .as_str()
            .unwrap()
            .ends_with("also checked: revoked at api.applivery.io"),
        "{ver}"
    );
    // The other file names no tenant: its token goes to the public API only.
    let ver = verification_of(&v, "lone/.env");
    assert_eq!(ver["status"], "revoked", "{ver}");
    assert_eq!(
        ver["endpoint"],
        format!("http://api.applivery.io:{port}{BUILDS_PATH}")
    );
    let expect = BTreeMap::from([
        (("api.acme.applivery.io".into(), tenant_tok.clone()), 1),
        (("api.applivery.io".into(), tenant_tok.clone()), 1),
        (("api.applivery.io".into(), lone_tok.clone()), 1),
    ]);
    assert_eq!(by_host(&api), expect);
    api.assert_tokens_only_in_authorization(&toks);
}

#[test]
fn a_token_in_files_naming_different_tenants_is_checked_once_per_host() {
    let tok = &tokens(1, 0x7e57_0202)[0];
    let api = Server::start(HashMap::from([(
        tok.clone(),
        Role::LiveAt("api.beta.applivery.io"),
    )]));
    let d = tempfile::tempdir().unwrap();
    for (dir, tenant) in [("a", "acme"), ("b", "beta"), ("c", "beta")] {
        write(
            d.path(),
            &format!("{dir}/fastlane/Fastfile"),
            &format!(
                "# dashboard: https://dashboard.{tenant}.applivery.io\n\
                 applivery(app_token: \"{tok}\")\n"
            ),
        );
    }
    let (code, v, all) = scan(d.path(), &api, &[]);
    assert_eq!(code, 1, "{all}");
    // Live at beta makes every finding of the token live, acme's file included.
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f["verification"]["status"], "live", "{f}");
    }
    let expect = BTreeMap::from([
        (("api.acme.applivery.io".into(), tok.clone()), 1),
        (("api.applivery.io".into(), tok.clone()), 1),
        (("api.beta.applivery.io".into(), tok.clone()), 1),
    ]);
    assert_eq!(by_host(&api), expect);
}

#[test]
fn hosts_outside_applivery_io_are_never_sent_a_token() {
    let tok = &tokens(1, 0x7e57_0203)[0];
    let api = Server::start(HashMap::from([(tok.clone(), Role::Live)]));
    // A server a malicious repository points at, on this machine, so a request would show.
    let trap = Server::start(HashMap::new());
    let tp = trap.addr.port();
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".env",
        &format!(
            "APPLIVERY_API_URL=http://127.0.0.1:{tp}\n\
             APPLIVERY_HOST=https://localhost:{tp}/api.acme.applivery.io\n\
             MIRROR=https://api.applivery.io.localhost:{tp}/\n\
             TENANT=https://x.acme.applivery.io.localhost:{tp}/\n\
             PROXY=https://user:pw@api.evil.example@api.acme.applivery.io.evil.example\n\
             APPLIVERY_APP_TOKEN={tok}\n"
        ),
    );
    let (code, v, all) = scan(d.path(), &api, &[]);
    assert_eq!(code, 1, "{all}");
    assert_eq!(v["findings"][0]["verification"]["status"], "live", "{v}");
    assert_eq!(trap.connections.load(Ordering::SeqCst), 0);
    // Only Applivery hosts were asked: the public API, and acme's API because
    // `api.acme.applivery.io` is written in the file (in a URL's path, but a name under
    // applivery.io is all content can ever choose).
    let hosts: Vec<String> = by_host(&api).into_keys().map(|(h, _)| h).collect();
    assert_eq!(hosts, ["api.acme.applivery.io", "api.applivery.io"]);
    // `--api-url` (or APPLIVERY_API_URL in the scanner's own environment) replaces every
    // host: tenant hosts named in files are not used either.
    write(
        d.path(),
        "tenant.env",
        &format!("URL=https://api.acme.applivery.io\nAPPLIVERY_APP_TOKEN={tok}\n"),
    );
    let before = api.requests().len();
    let (_, v, all) = scan(d.path(), &api, &["--api-url", &api.url()]);
    let after = api.requests();
    assert_eq!(after.len(), before + 1, "{all}");
    assert_eq!(after.last().unwrap().host, "127.0.0.1");
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(
            f["verification"]["endpoint"],
            format!("{}{BUILDS_PATH}", api.url())
        );
    }
    assert_eq!(trap.connections.load(Ordering::SeqCst), 0);
}

#[test]
fn the_test_seam_points_at_loopback_or_nowhere() {
    let tok = &tokens(1, 0x7e57_0204)[0];
    for bad in [
        "10.0.0.1:80",
        "example.com:443",
        "127.0.0.1",
        "0.0.0.0:80",
        "",
    ] {
        let out = bin()
            .args(["verify", "--", tok])
            .env(SEAM, bad)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(SEAM) && err.contains("loopback"), "{err}");
        assert!(!err.contains(tok.as_str()), "{err}");
    }
}
