//! The `dir`, `stdin` and `rules` commands driven through the real binary on real files.

use crate::common::*;

use std::fs;
use std::path::Path;

use serde_json::Value;

/// Obviously fake, correctly shaped tokens (24 base64url characters, mixed case).
const TOKEN: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA";
const TOKEN2: &str = "Qw8rT5yU1iO3pA6sD9fG2hJk";

fn scan_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let out = bin()
        .arg("dir")
        .arg(dir)
        .args(["--format", "json", "--no-config"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_of(&out.stdout))
}

fn paths(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn finds_token_and_exits_1() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".env",
        &format!("# deploy\nAPPLIVERY_APP_TOKEN={TOKEN}\n"),
    );
    let (code, v) = scan_json(d.path(), &[]);
    assert_eq!(code, 1);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "applivery-app-token");
    assert_eq!(f["path"], ".env");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(21))
    );
    assert_eq!(
        (f["end_line"].as_u64(), f["end_column"].as_u64()),
        (Some(2), Some(45))
    );
    assert_eq!(f["secret"], "Zk3q…");
    assert_eq!(f["secret_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 32);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["summary"]["files_scanned"], 1);
}

#[test]
fn clean_tree_exits_0() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.txt",
        "APPLIVERY_APP_TOKEN=${APPLIVERY_APP_TOKEN}\n",
    );
    bin()
        .arg("dir")
        .arg(d.path())
        .arg("--no-config")
        .assert()
        .code(0);
}

#[test]
fn secrets_are_redacted_unless_asked() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), ".env", &format!("APPLIVERY_APP_TOKEN={TOKEN}\n"));
    for fmt in ["text", "json", "jsonl", "sarif"] {
        let out = bin()
            .arg("dir")
            .arg(d.path())
            .args(["--no-config", "--format", fmt])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(
            !String::from_utf8_lossy(&all).contains(TOKEN),
            "{fmt} leaks the secret"
        );
    }
    let out = bin()
        .arg("dir")
        .arg(d.path())
        .args(["--no-config", "--show-secrets"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(TOKEN));
}

#[test]
fn honours_gitignore_scans_hidden_skips_dot_git() {
    let d = tempfile::tempdir().unwrap();
    let line = format!("APPLIVERY_APP_TOKEN={TOKEN}\n");
    write(d.path(), ".gitignore", "ignored.env\n");
    write(d.path(), "ignored.env", &line);
    write(d.path(), ".github/workflows/ci.env", &line);
    write(d.path(), ".git/config.env", &line);
    let (_, v) = scan_json(d.path(), &[]);
    assert_eq!(paths(&v), vec![".github/workflows/ci.env"]);
    let (_, v) = scan_json(d.path(), &["--no-ignore"]);
    assert_eq!(paths(&v), vec![".github/workflows/ci.env", "ignored.env"]);
}

#[test]
fn results_are_sorted_and_thread_count_independent() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write(
            d.path(),
            &format!("dir{}/f{i}.env", i % 7),
            &format!("x=1\nAPPLIVERY_APP_TOKEN={TOKEN}\napplivery_token: {TOKEN2}\n"),
        );
    }
    let (_, one) = scan_json(d.path(), &["--threads", "1"]);
    let (_, four) = scan_json(d.path(), &["--threads", "4"]);
    assert_eq!(one["findings"], four["findings"]);
    let p = paths(&one);
    let mut sorted = p.clone();
    sorted.sort();
    assert_eq!(p, sorted);
    assert_eq!(p.len(), 80);
}

#[cfg(unix)]
#[test]
fn symlinks_fifos_and_broken_links_are_reported_not_hung_on() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "real.env",
        &format!("APPLIVERY_APP_TOKEN={TOKEN}\n"),
    );
    std::os::unix::fs::symlink(d.path().join("real.env"), d.path().join("link.env")).unwrap();
    std::os::unix::fs::symlink(d.path().join("missing"), d.path().join("broken")).unwrap();
    let fifo = d.path().join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (code, v) = scan_json(d.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(paths(&v), vec!["real.env"]);
    let skipped = v["summary"]["skipped"].to_string();
    assert!(
        skipped.contains("link.env") && skipped.contains("symbolic link"),
        "{skipped}"
    );
    assert!(
        skipped.contains("pipe") && skipped.contains("fifo"),
        "{skipped}"
    );
    // Following links scans the target twice under two names and reports the broken one.
    let (code, v) = scan_json(d.path(), &["--follow-symlinks"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&v), vec!["link.env", "real.env"]);
    assert!(
        v["errors"].to_string().contains("broken"),
        "{}",
        v["errors"]
    );
}

#[test]
fn missing_input_is_an_error_and_fails_closed() {
    let d = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("dir")
        .arg(d.path().join("does-not-exist"))
        .arg("--no-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does-not-exist") && err.contains("no such file"),
        "{err}"
    );
}

#[test]
fn findings_win_over_unread_inputs() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.env", &format!("APPLIVERY_APP_TOKEN={TOKEN}\n"));
    let out = bin()
        .arg("dir")
        .arg(d.path().join("a.env"))
        .arg(d.path().join("nope"))
        .args(["--no-config", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out.stdout);
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);
}

#[test]
fn max_file_size_skips_and_reports() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "big.env",
        &format!("{}\nAPPLIVERY_APP_TOKEN={TOKEN}\n", "#".repeat(5000)),
    );
    // Something else is scanned: a skip is reported, not an error (hostile.rs has the run
    // where everything is skipped).
    write(d.path(), "small.txt", "hello\n");
    let (code, v) = scan_json(d.path(), &["--max-file-size", "1000"]);
    assert_eq!(code, 0);
    let s = v["summary"]["skipped"].to_string();
    assert!(s.contains("big.env") && s.contains("max-file-size"), "{s}");
}

#[test]
fn binary_files_are_counted_not_scanned() {
    let d = tempfile::tempdir().unwrap();
    let mut b = b"\x00\x01PNG".to_vec();
    b.extend_from_slice(format!("APPLIVERY_APP_TOKEN={TOKEN}\n").as_bytes());
    fs::write(d.path().join("img.png"), b).unwrap();
    let (code, v) = scan_json(d.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["binary_skipped"], 1);
}

#[test]
fn large_file_is_scanned_in_chunks_across_boundaries() {
    let d = tempfile::tempdir().unwrap();
    // 20 MiB with a token placed right around the 8 MiB chunk boundary and one at the end.
    let filler_line = "lorem ipsum dolor sit amet consectetur adipiscing elit\n";
    let mut text = String::new();
    while text.len() < (8 << 20) - 30 {
        text.push_str(filler_line);
    }
    let line_a = text.lines().count() + 1;
    text.push_str(&format!("APPLIVERY_APP_TOKEN={TOKEN}\n"));
    while text.len() < 20 << 20 {
        text.push_str(filler_line);
    }
    let line_b = text.lines().count() + 1;
    text.push_str(&format!("applivery_token: {TOKEN2}"));
    fs::write(d.path().join("huge.txt"), &text).unwrap();
    let (code, v) = scan_json(d.path(), &[]);
    assert_eq!(code, 1);
    let lines: Vec<u64> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![line_a as u64, line_b as u64]);
}

#[test]
fn output_file_and_jsonl() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "src/a.env",
        &format!("APPLIVERY_APP_TOKEN={TOKEN}\n"),
    );
    write(
        d.path(),
        "src/b.yml",
        &format!("applivery:\n  app_token: \"{TOKEN2}\"\n"),
    );
    let out = d.path().join("out/report.jsonl");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    bin()
        .arg("dir")
        .arg(d.path().join("src"))
        .args(["--no-config", "--format", "jsonl", "--output"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout("");
    let text = fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["path"], "b.yml");
    assert_eq!(lines[1]["line"], 2);
}

#[test]
fn stdin_with_label() {
    let out = bin()
        .args(["stdin", "--label", "pasted.txt", "--format", "json", "--no-config"])
        .write_stdin(format!("curl https://upload.applivery.io/v1/integrations/builds \\\n  -H \"Authorization: Bearer {TOKEN}\"\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out.stdout);
    assert_eq!(v["findings"][0]["path"], "pasted.txt");
    assert_eq!(v["findings"][0]["line"], 2);
    bin()
        .args(["stdin", "--no-config"])
        .write_stdin("")
        .assert()
        .code(0);
}

#[test]
fn extra_rules_and_no_default_rules() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("extra.toml");
    fs::write(
        &rules,
        r#"
[[rules]]
id = "demo-key"
description = "Demo key"
keywords = ["demokey"]
regex = '''demokey=(?P<secret>[a-z]{8})'''
"#,
    )
    .unwrap();
    write(
        d.path(),
        "t/a.txt",
        &format!("demokey=abcdefgh\nAPPLIVERY_APP_TOKEN={TOKEN}\n"),
    );
    let (_, v) = scan_json(&d.path().join("t"), &["--rules", rules.to_str().unwrap()]);
    let rules_hit: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules_hit, vec!["demo-key", "applivery-app-token"]);
    let (_, v) = scan_json(
        &d.path().join("t"),
        &["--rules", rules.to_str().unwrap(), "--no-default-rules"],
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    let out = bin()
        .args(["rules", "--no-config", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("applivery-app-token") && text.contains("demo-key"),
        "{text}"
    );
}

#[test]
fn bad_rule_file_is_a_one_line_error() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("bad.toml");
    fs::write(
        &rules,
        "[[rules]]\nid = \"broken\"\ndescription = \"x\"\nregex = '(?P<secret>[a-'\n",
    )
    .unwrap();
    let out = bin()
        .args(["dir", "--no-config", "--rules"])
        .arg(&rules)
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.toml") && err.contains("broken") && err.contains("regex"),
        "{err}"
    );
    let out = bin()
        .args(["dir", "--no-config", "--rules"])
        .arg(d.path().join("missing.toml"))
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_and_version() {
    let out = bin().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("Exit codes"),
        "{text}"
    );
    let out = bin().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    bin().args(["dir", "--format", "yaml"]).assert().code(2);
}

#[test]
fn control_characters_in_content_are_escaped() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.env",
        &format!("APPLIVERY_APP_TOKEN={TOKEN} \x1b]0;pwned\x07\n"),
    );
    let out = bin()
        .arg("dir")
        .arg(d.path())
        .arg("--no-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stdout.contains(&0x1b), "raw escape printed");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\\u{1b}"));
}

#[test]
fn no_secret_on_a_line_leaks_through_another_findings_context() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    // A baseline that hides the first token ...
    write(&src, ".env", &format!("APPLIVERY_APP_TOKEN={TOKEN}\n"));
    let baseline = d.path().join("baseline.json");
    bin()
        .arg("dir")
        .arg(&src)
        .args(["--no-config", "--format", "json", "-o"])
        .arg(&baseline)
        .assert()
        .code(1);
    // ... then a second token joins it on the same line, and a base64-encoded one nearby.
    let b64 = "TXY1blIyY1hzOEtkVzRwTHE3SGpUM3la"; // base64 of a third fake token, Mv5nR2cXs8KdW4pLq7HjT3yZ
    write(
        &src,
        ".env",
        &format!("APPLIVERY_APP_TOKEN={TOKEN} APPLIVERY_TOKEN_2={TOKEN2}\n"),
    );
    write(
        &src,
        "k8s.yaml",
        &format!(
            "kind: Secret\nmetadata:\n  name: applivery\ndata:\n  APPLIVERY_APP_TOKEN: {b64}\n"
        ),
    );
    for fmt in ["text", "json", "jsonl", "sarif"] {
        let out = bin()
            .arg("dir")
            .arg(&src)
            .args(["--no-config", "--format", fmt, "--baseline"])
            .arg(&baseline)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{fmt}");
        let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        assert!(all.contains("Qw8r…"), "{fmt}: {all}");
        for s in [TOKEN, TOKEN2, b64, "Mv5nR2cXs8KdW4pLq7HjT3yZ"] {
            assert!(!all.contains(s), "{fmt} leaks {s}: {all}");
        }
    }
}
