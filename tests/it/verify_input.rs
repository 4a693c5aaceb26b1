//! What the user hands verification (issue 8, items 2, 9 and 11): pasted lines give their
//! token or are refused with a reason — never sent, never called revoked; the limits are
//! bounded with one-line errors before anything runs; progress shows on a terminal only.

use crate::api::{tokens, Role, Server};
use crate::common::*;

use std::collections::HashMap;
use std::process::Command as Process;
use std::time::Duration;

use serde_json::Value;

fn verify_stdin(api: &Server, input: &str) -> (i32, Value, String) {
    let out = bin()
        .args(["verify", "--format", "json", "--api-url", &api.url()])
        .args(["--verify-rps", "200", "--fail-on", "live"])
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap(), json_of(&out.stdout), err)
}

#[test]
fn pasted_lines_give_their_token() {
    let toks = tokens(7, 0x7e57_0301);
    let api = Server::start(toks.iter().map(|t| (t.clone(), Role::Live)).collect());
    let lines = [
        format!("APPLIVERY_APP_TOKEN={}", toks[0]),
        format!("export APPLIVERY_TOKEN=\"{}\"  # prod", toks[1]),
        format!("\u{feff}{}", toks[2]),
        format!("Authorization: Bearer {}", toks[3]),
        format!("  app_token: '{}'", toks[4]),
        format!("\"appToken\": \"{}\",", toks[5]),
        format!("$env:APPLIVERY_TOKEN = \"{}\"\r", toks[6]),
    ];
    let (code, v, err) = verify_stdin(&api, &lines.join("\n"));
    assert_eq!(code, 1, "{err}");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 7, "{v}");
    for (i, f) in findings.iter().enumerate() {
        assert_eq!(f["verification"]["status"], "live", "line {}: {f}", i + 1);
        assert_eq!(f["rule"], "applivery-app-token");
    }
    // Each token went out as itself, once: never the whole line.
    for t in &toks {
        assert_eq!(api.count(t), 1, "{t}");
    }
    assert_eq!(api.requests().len(), 7);
    api.assert_tokens_only_in_authorization(&toks);
    // Columns point at the token in the line as the user sees it (without the BOM).
    let col = |line: u64| {
        let f = findings.iter().find(|f| f["line"] == line).unwrap();
        (
            f["column"].as_u64().unwrap(),
            f["end_column"].as_u64().unwrap(),
        )
    };
    assert_eq!(col(1), (21, 45));
    assert_eq!(col(3), (1, 25));
    assert_eq!(col(4), (23, 47));
}

#[test]
fn lines_without_a_token_are_refused_never_sent() {
    let tok = &tokens(1, 0x7e57_0302)[0];
    let api = Server::start(HashMap::from([(tok.clone(), Role::Invalid)]));
    let input = format!(
        "APPLIVERY_APP_TOKEN=${{APPLIVERY_APP_TOKEN}}\n\
         please rotate this one\n\
         hunter2\n\
         {}\n\
         APPLIVERY_APP_TOKEN=\n\
         {tok}\n",
        &tok[..23]
    );
    let (code, v, err) = verify_stdin(&api, &input);
    // Refused lines make the run fail closed (2); the one real token was answered.
    assert_eq!(code, 2, "{err}");
    let errors: Vec<(String, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let paths: Vec<&str> = errors.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "<stdin>:1",
            "<stdin>:2",
            "<stdin>:3",
            "<stdin>:4",
            "<stdin>:5"
        ],
        "{v}"
    );
    assert!(
        errors.iter().all(|e| e.1.starts_with("not sent: ")),
        "{errors:?}"
    );
    assert!(errors[0].1.contains("placeholder"), "{errors:?}");
    assert!(errors[3].1.contains("23 characters"), "{errors:?}");
    // Only the real token reached the API; nothing that is not a token is called revoked.
    assert_eq!(api.requests().len(), 1);
    assert_eq!(api.count(tok), 1);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["line"], 6);
    assert_eq!(findings[0]["verification"]["status"], "revoked");
    // One line on stderr per refused line, none of them repeating the line.
    assert_eq!(
        err.lines().filter(|l| l.contains("not sent")).count(),
        5,
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains(&tok[..23]),
        "{err}"
    );
}

#[test]
fn verification_limits_are_bounded() {
    let toks = tokens(2, 0x7e57_0303);
    for bad in [
        ["--verify-rps", "1e-300"],
        ["--verify-rps", "0.01"],
        ["--verify-rps", "1e9"],
        ["--verify-rps", "NaN"],
        ["--verify-concurrency", "0"],
        ["--verify-concurrency", "100000"],
        ["--verify-timeout", "0"],
        ["--verify-timeout", "1e-9"],
        ["--verify-timeout", "1e12"],
        ["--verify-timeout", "inf"],
    ] {
        // Unbounded, `--verify-rps 1e-300` waited an hour before the second token.
        let out = bin()
            .args(["verify", "--api-url", "http://127.0.0.1:9"])
            .args(bad)
            .arg("--")
            .args(&toks)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(err.contains(bad[0]) && err.contains("between"), "{err}");
        assert!(out.stdout.is_empty());
        // A scan checks them before reading anything.
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            ".env",
            &format!("APPLIVERY_APP_TOKEN={}\n", toks[0]),
        );
        let out = bin()
            .arg("dir")
            .arg(d.path())
            .args(["--no-config", "--verify", "--api-url", "http://127.0.0.1:9"])
            .args(bad)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
    // The edges are accepted.
    let api = Server::start(toks.iter().map(|t| (t.clone(), Role::Live)).collect());
    let out = bin()
        .args(["verify", "--api-url", &api.url(), "--fail-on", "live"])
        .args(["--verify-rps", "1000", "--verify-concurrency", "64"])
        .args(["--verify-timeout", "300", "--"])
        .args(&toks)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the binary under a pseudo-terminal (util-linux `script`, part of every Debian
/// install), as a person at a terminal would; returns what the terminal showed.
fn on_a_terminal(args: &[&str]) -> String {
    let exe = assert_cmd::cargo::cargo_bin("applivery-leaks");
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut cmd = quote(exe.to_str().unwrap());
    for a in args {
        cmd.push(' ');
        cmd.push_str(&quote(a));
    }
    let out = Process::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("APPLIVERY_API_URL")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_shows_on_a_terminal_and_nowhere_else() {
    let toks = tokens(6, 0x7e57_0304);
    let api = Server::start(toks.iter().map(|t| (t.clone(), Role::Live)).collect());
    let url = api.url();
    let mut args = vec!["verify", "--api-url", &url, "--verify-rps", "10", "--"];
    args.extend(toks.iter().map(String::as_str));
    let screen = on_a_terminal(&args);
    assert!(screen.contains("verifying"), "{screen}");
    assert!(screen.contains("/6"), "{screen}");
    assert!(screen.contains("live"), "{screen}");
    for t in &toks {
        assert!(!screen.contains(t.as_str()), "{screen}");
    }
    // --quiet: no progress even on a terminal.
    let mut quiet = args.clone();
    quiet.insert(1, "--quiet");
    let screen = on_a_terminal(&quiet);
    assert!(!screen.contains("verifying"), "{screen}");
    assert!(
        screen.contains("[LIVE]"),
        "the report still shows: {screen}"
    );
    // Not a terminal (CI logs, pipes): nothing but the report.
    let out = bin().args(&args[..]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("verifying"), "{err}");
}

/// With `--output`, stdout is empty and the log must still say what the report holds (as
/// scans do): one line with the counts and the file, no token; `--quiet` drops it.
#[test]
fn verify_into_a_file_says_what_it_wrote() {
    let toks = tokens(2, 0x7e57_0401);
    let api = Server::start(HashMap::from([
        (toks[0].clone(), Role::Live),
        (toks[1].clone(), Role::Invalid),
    ]));
    let dir = tempfile::TempDir::new().unwrap();
    let report = dir.path().join("verified.json");
    let run = |quiet: bool| {
        let mut c = bin();
        c.args(["verify", "--format", "json", "--api-url", &api.url()])
            .args(["--verify-rps", "200", "--output"])
            .arg(&report);
        if quiet {
            c.arg("--quiet");
        }
        c.write_stdin(format!("{}\n{}\n", toks[0], toks[1]))
            .output()
            .unwrap()
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 finding(s) (1 live, 1 revoked, 0 unknown)")
            && err.contains("report written to")
            && err.contains("verified.json"),
        "{err}"
    );
    for t in &toks {
        assert!(!err.contains(t.as_str()), "a token in the log: {err}");
    }
    let v: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 2);
    let quiet = run(true);
    assert_eq!(quiet.status.code(), Some(1));
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}
