//! Issue 18 through the binary: every finding carries the evidence that decided it (JSON,
//! SARIF, HTML, `--explain` in text), `rules check` can assert it, and a legacy account key is
//! never sent for verification and never called revoked.

use std::collections::HashMap;

use crate::api::Server;
use crate::common::*;

fn scan(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    bin()
        .arg("dir")
        .arg(dir)
        .args(["--no-config"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn every_format_carries_the_evidence() {
    let t = token(0x18_0001);
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "ci/upload.sh",
        &format!(
            "curl -X POST https://upload.applivery.io/v1/integrations/builds \\\n  -H \"Authorization: Bearer {t}\"\n"
        ),
    );
    let out = scan(d.path(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out.stdout);
    let ev = &v["findings"][0]["evidence"];
    let kinds: Vec<&str> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["key", "host"], "{ev}");
    assert_eq!(ev[0]["text"], "Bearer");
    assert_eq!(ev[0]["line"], 2);
    assert_eq!(ev[1]["text"], "upload.applivery.io");
    assert!(ev[1].get("line").is_none());

    let out = scan(d.path(), &["--format", "sarif"]);
    let v = json_of(&out.stdout);
    let props = &v["runs"][0]["results"][0]["properties"]["evidence"];
    assert_eq!(props[1]["kind"], "host", "{props}");

    let out = scan(d.path(), &["--format", "html"]);
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains("because key Bearer; host upload.applivery.io"),
        "{html}"
    );

    // Text: only with --explain.
    let plain = String::from_utf8_lossy(&scan(d.path(), &[]).stdout).into_owned();
    assert!(!plain.contains("because"), "{plain}");
    let out = scan(d.path(), &["--explain"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("· because key: Bearer (line 2)"), "{text}");
    assert!(
        text.contains("· because host: upload.applivery.io"),
        "{text}"
    );
    // The evidence never shows the value.
    for o in [&plain, text.as_ref(), html.as_ref()] {
        assert!(!o.contains(&t));
    }
}

#[test]
fn rules_check_asserts_the_evidence_of_an_example() {
    let d = tempfile::tempdir().unwrap();
    let rule = |evidence: &str| {
        format!(
            "[[rules]]\nid = \"acme\"\ndescription = \"Acme\"\nkeywords = [\"acme\"]\n\
             regex = '''ACME_TOKEN=(?P<secret>[A-Za-z0-9]{{24}})'''\n\
             examples = [{{ text = \"ACME_TOKEN=Zk3qP9xVb2LmN7wQe4RtY6uA\", evidence = [{evidence}] }}]\n"
        )
    };
    // Rules without context carry no evidence: asking for some fails the example.
    write(d.path(), "asks.toml", &rule("\"host\""));
    let out = bin()
        .args(["rules", "check"])
        .arg(d.path().join("asks.toml"))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert!(s.contains("found without evidence host"), "{s}");
    // An unknown kind is a broken file: exit 2, one line.
    write(d.path(), "bad.toml", &rule("\"vibes\""));
    let out = bin()
        .args(["rules", "check"])
        .arg(d.path().join("bad.toml"))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("'vibes' is not one of"), "{e}");
    // The default rules assert theirs and pass.
    bin().args(["rules", "check"]).assert().success();
}

#[test]
fn a_legacy_key_is_never_sent_and_never_revoked() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "fastlane/Fastfile",
        "lane :beta do\n  applivery(\n    api_key: \"f172337cef10b8445a6d866aefc030ac71f3b9f9\",\n    app_id: \"5aa0ffa5e78d79e572f1b6cc\"\n  )\nend\n",
    );
    let api = Server::start(HashMap::new());
    let out = bin()
        .arg("dir")
        .arg(d.path())
        .args(["--no-config", "--format", "json", "--verify"])
        .env("APPLIVERY_API_URL", api.url())
        .output()
        .unwrap();
    let v = json_of(&out.stdout);
    let f = &v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["rule"], "applivery-legacy-api-key");
    assert_eq!(f[0]["verification"]["status"], "unknown");
    assert!(
        f[0]["verification"]["reason"]
            .as_str()
            .unwrap()
            .contains("legacy account API key"),
        "{}",
        f[0]["verification"]
    );
    assert!(api.requests().is_empty(), "a legacy key was sent");
}
