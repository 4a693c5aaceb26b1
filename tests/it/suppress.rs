//! Suppression and project config, through the real binary on files in temporary
//! directories: inline markers, the ignore file, baselines, config excludes / rules /
//! disabled ids / placeholders / default format, --report-unused, --no-suppress, and the
//! errors for malformed files.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

// Obviously fake, correctly shaped (24 base64url characters, mixed case).
const TOK_A: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA";
const TOK_B: &str = "Qm8rT2wXc5NbV4kLp7ZsH3jD";
const TOK_C: &str = "Hy6uJ1oKi9PlM3nBv5CxZ8aS";
const TOK_D: &str = "Wd4fG7hJ2kL9pQ6rS3tV8xYb";

fn bin(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("applivery-leaks").unwrap();
    c.current_dir(dir).env("NO_COLOR", "1");
    c
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(p, text).unwrap();
}

fn env_line(tok: &str) -> String {
    format!("APPLIVERY_APP_TOKEN={tok}\n")
}

/// Runs `dir --format json` plus `args` in `dir`; returns (exit code, report, stderr).
fn scan(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = bin(dir)
        .args(["dir", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let report = if out.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    };
    (code, report, stderr)
}

fn paths(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

fn suppressed(r: &Value, mechanism: &str) -> u64 {
    r["summary"]["suppressed"][mechanism].as_u64().unwrap_or(0)
}

fn fingerprint_of(r: &Value, path: &str) -> String {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no finding at {path}: {r}"))["fingerprint"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A failing run: exit 2, one line on stderr, which contains every `needle`.
fn assert_one_line_error(dir: &Path, args: &[&str], needles: &[&str]) {
    let (code, _, stderr) = scan(dir, args);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "{n:?} not in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn inline_marker_works_in_any_comment_syntax() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(
        d,
        ".env",
        &format!("APPLIVERY_APP_TOKEN={TOK_A} # applivery-leaks:allow\n"),
    );
    write(
        d,
        "upload.js",
        &format!("const applivery = {{ token: \"{TOK_B}\" }}; // gitleaks:allow\n"),
    );
    write(
        d,
        "config.xml",
        &format!("<applivery token=\"{TOK_C}\"/> <!-- applivery-leaks:allow -->\n"),
    );
    write(
        d,
        "App.kt",
        &format!("Applivery.init(app, \"{TOK_D}\") /* applivery-leaks:allow test app */\n"),
    );
    write(d, "other.env", &env_line(TOK_A));

    // Without suppression all five are there: the markers are what hides them.
    let (code, r, _) = scan(d, &["--no-suppress"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r).len(), 5, "{r}");

    let (code, r, _) = scan(d, &[]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), vec!["other.env"]);
    assert_eq!(suppressed(&r, "inline"), 4);
}

#[test]
fn ignore_file_hides_listed_fingerprints() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "a.env", &env_line(TOK_A));
    write(d, "b.env", &env_line(TOK_B));
    let (_, r, _) = scan(d, &[]);
    let fp = fingerprint_of(&r, "a.env");
    write(
        d,
        ".applivery-leaksignore",
        &format!("# accepted: test app, revoked 2024-01-01\n\n{fp}  # a.env\n"),
    );
    let (code, r, _) = scan(d, &[]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), vec!["b.env"]);
    assert_eq!(suppressed(&r, "ignore-file"), 1);

    // Text output says what was hidden.
    let out = bin(d).arg("dir").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1 suppressed (1 ignore-file)"), "{text}");
}

#[test]
fn baseline_reports_only_new_findings_and_is_never_rewritten() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "src/a.env", &env_line(TOK_A));
    let out = bin(d)
        .args([
            "dir",
            "--format",
            "json",
            "--output",
            "baseline.json",
            "src",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let before = fs::read(d.join("baseline.json")).unwrap();
    assert!(
        !String::from_utf8_lossy(&before).contains(TOK_A),
        "secret in baseline"
    );

    let (code, r, _) = scan(d, &["--baseline", "baseline.json", "src"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(suppressed(&r, "baseline"), 1);

    write(d, "src/b.env", &env_line(TOK_B));
    let (code, r, _) = scan(d, &["--baseline", "baseline.json", "src"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), vec!["b.env"]);
    assert_eq!(suppressed(&r, "baseline"), 1);
    assert_eq!(fs::read(d.join("baseline.json")).unwrap(), before);

    // A JSON Lines report works as a baseline too.
    let out = bin(d)
        .args([
            "dir",
            "--format",
            "jsonl",
            "--output",
            "baseline.jsonl",
            "src",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (code, r, _) = scan(d, &["--baseline", "baseline.jsonl", "src"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(suppressed(&r, "baseline"), 2);
}

#[test]
fn baseline_inline_marker_and_config_exclude_together() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "old.env", &env_line(TOK_A));
    let (_, base, _) = scan(d, &[]);
    fs::write(d.join("base.json"), base.to_string()).unwrap();

    write(
        d,
        "marked.env",
        &format!("APPLIVERY_APP_TOKEN={TOK_B} # applivery-leaks:allow\n"),
    );
    write(d, "fixtures/sample.env", &env_line(TOK_C));
    write(d, "new.env", &env_line(TOK_D));
    write(d, ".applivery-leaks.toml", "exclude = [\"fixtures/**\"]\n");

    let (code, r, _) = scan(d, &["--baseline", "base.json"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), vec!["new.env"]);
    assert_eq!(suppressed(&r, "baseline"), 1);
    assert_eq!(suppressed(&r, "inline"), 1);
    // `dir` does not even read excluded paths, so there is nothing to count.
    assert_eq!(suppressed(&r, "config-exclude"), 0);
    assert_eq!(r["summary"]["findings"], 1);

    // Sources that hand findings over (stdin here; git and staged alike) are filtered by
    // path, and those are counted.
    let out = bin(d)
        .args(["stdin", "--format", "json", "--label", "fixtures/x.env"])
        .write_stdin(env_line(TOK_C))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(suppressed(&r, "config-exclude"), 1);

    // --no-suppress shows all four, counts nothing.
    let (code, r, _) = scan(d, &["--baseline", "base.json", "--no-suppress"]);
    assert_eq!(code, 1);
    assert_eq!(
        paths(&r),
        vec!["fixtures/sample.env", "marked.env", "new.env", "old.env"]
    );
    assert_eq!(r["summary"]["suppressed"], serde_json::json!({}));
}

#[test]
fn fingerprint_survives_moved_lines_but_not_a_new_token() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, ".env", &format!("# app\n{}", env_line(TOK_A)));
    let (_, r1, _) = scan(d, &[]);
    fs::write(d.join("base.json"), r1.to_string()).unwrap();
    let fp1 = fingerprint_of(&r1, ".env");

    write(
        d,
        ".env",
        &format!("# app\nDEBUG=1\nLOG_LEVEL=info\n\n{}", env_line(TOK_A)),
    );
    let (_, r2, _) = scan(d, &[]);
    assert_eq!(r2["findings"][0]["line"], 5);
    assert_eq!(fingerprint_of(&r2, ".env"), fp1);
    let (code, r, _) = scan(d, &["--baseline", "base.json"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(suppressed(&r, "baseline"), 1);

    // A rotated token is a new finding, and the old baseline entry is now stale.
    write(d, ".env", &format!("# app\n{}", env_line(TOK_B)));
    let (code, r, _) = scan(d, &["--baseline", "base.json", "--report-unused"]);
    assert_eq!(code, 1);
    assert_ne!(fingerprint_of(&r, ".env"), fp1);
    assert_eq!(r["summary"]["unused_suppressions"][0]["fingerprint"], fp1);
}

#[test]
fn report_unused_lists_stale_entries_with_file_and_line() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "a.env", &env_line(TOK_A));
    let (_, r, _) = scan(d, &[]);
    let live = fingerprint_of(&r, "a.env");
    let stale_ignore = "0123456789abcdef0123456789abcdef";
    let stale_base = "fedcba9876543210fedcba9876543210";
    write(
        d,
        ".applivery-leaksignore",
        &format!("# header\n{live}\n{stale_ignore}\n"),
    );
    write(
        d,
        "base.json",
        &format!("{{\n  \"findings\": [\n    {{\"fingerprint\": \"{stale_base}\"}}\n  ]\n}}\n"),
    );

    let (code, r, _) = scan(d, &["--baseline", "base.json", "--report-unused"]);
    assert_eq!(code, 0, "{r}");
    let unused = r["summary"]["unused_suppressions"].as_array().unwrap();
    assert_eq!(unused.len(), 2, "{r}");
    let base = unused
        .iter()
        .find(|u| u["mechanism"] == "baseline")
        .unwrap();
    assert_eq!(base["fingerprint"], stale_base);
    assert_eq!(base["file"], "base.json");
    assert_eq!(base["line"], 3);
    let ign = unused
        .iter()
        .find(|u| u["mechanism"] == "ignore-file")
        .unwrap();
    assert_eq!(ign["fingerprint"], stale_ignore);
    assert_eq!(ign["file"], ".applivery-leaksignore");
    assert_eq!(ign["line"], 3);

    let out = bin(d)
        .args(["dir", "--baseline", "base.json", "--report-unused"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "unused ignore-file entry .applivery-leaksignore:3: {stale_ignore}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("unused baseline entry base.json:3: {stale_base}")),
        "{text}"
    );

    // Without the flag nothing is listed.
    let (_, r, _) = scan(d, &["--baseline", "base.json"]);
    assert!(r["summary"].get("unused_suppressions").is_none());
}

#[test]
fn malformed_files_are_one_line_errors_with_file_and_line() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "a.env", &env_line(TOK_A));

    write(
        d,
        ".applivery-leaks.toml",
        "exclude = [\"ok/**\",\n  \"{a,b\"]\n",
    );
    assert_one_line_error(d, &[], &[".applivery-leaks.toml:2:", "exclude glob"]);
    write(
        d,
        ".applivery-leaks.toml",
        "format = \"json\"\nexclude = [\n",
    );
    assert_one_line_error(d, &[], &[".applivery-leaks.toml:"]);
    write(
        d,
        ".applivery-leaks.toml",
        "\nplaceholders = [\"(unclosed\"]\n",
    );
    assert_one_line_error(d, &[], &[".applivery-leaks.toml:2:", "placeholder"]);
    write(d, ".applivery-leaks.toml", "format = \"xml\"\n");
    assert_one_line_error(d, &[], &[".applivery-leaks.toml:1:", "xml"]);
    fs::remove_file(d.join(".applivery-leaks.toml")).unwrap();

    write(
        d,
        ".applivery-leaksignore",
        &format!("# ok\n0123456789abcdef0123456789abcdef\n{TOK_B}\n"),
    );
    let (_, _, stderr) = scan(d, &[]);
    assert!(!stderr.contains(TOK_B), "secret echoed: {stderr}");
    assert_one_line_error(d, &[], &[".applivery-leaksignore:3:", "fingerprint"]);
    fs::remove_file(d.join(".applivery-leaksignore")).unwrap();

    write(
        d,
        "bad.json",
        "{\n  \"findings\": [\n    {\"fingerprint\": 3}\n  ]\n}\n",
    );
    assert_one_line_error(d, &["--baseline", "bad.json"], &["bad.json:3:"]);
    write(d, "bad.json", "{\n  \"findings\": [\n");
    assert_one_line_error(
        d,
        &["--baseline", "bad.json"],
        &["bad.json:3:", "invalid JSON"],
    );
    write(d, "bad.json", "[]");
    assert_one_line_error(
        d,
        &["--baseline", "bad.json"],
        &["bad.json:1:", "not an applivery-leaks JSON report"],
    );
    assert_one_line_error(d, &["--baseline", "missing.json"], &["missing.json"]);
}

#[test]
fn unknown_config_key_is_an_error_at_its_line() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "a.env", &env_line(TOK_A));
    write(
        d,
        ".applivery-leaks.toml",
        "exclude = [\"fixtures/**\"]\n# typo below\nexcludes = [\"docs/**\"]\n",
    );
    assert_one_line_error(
        d,
        &[],
        &[".applivery-leaks.toml:3:", "unknown field `excludes`"],
    );
    // --no-config ignores the broken file.
    let (code, _, _) = scan(d, &["--no-config"]);
    assert_eq!(code, 1);
}

#[test]
fn config_format_is_the_default_and_the_flag_wins() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "a.env", &env_line(TOK_A));
    write(d, ".applivery-leaks.toml", "format = \"json\"\n");
    let out = bin(d).arg("dir").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).expect("config format json is used");
    assert_eq!(paths(&r), vec!["a.env"]);
    let out = bin(d).args(["dir", "--format", "text"]).output().unwrap();
    assert!(serde_json::from_slice::<Value>(&out.stdout).is_err());
    assert!(String::from_utf8_lossy(&out.stdout).contains("a.env:1:21"));
}

#[test]
fn disable_turns_rules_off() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "a.env", &env_line(TOK_A));
    write(
        d,
        ".applivery-leaks.toml",
        "disable = [\"applivery-app-token\"]\n",
    );
    let (code, r, _) = scan(d, &[]);
    assert_eq!(code, 0, "{r}");
    let out = bin(d).arg("rules").output().unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(!list.contains("applivery-app-token "), "{list}");
    assert!(list.contains("applivery-service-account-token"), "{list}");

    write(
        d,
        ".applivery-leaks.toml",
        "\ndisable = [\"no-such-rule\"]\n",
    );
    assert_one_line_error(d, &[], &[".applivery-leaks.toml:2:", "no-such-rule"]);
}

#[test]
fn placeholders_are_never_reported() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "a.env", &env_line(TOK_A));
    write(d, "b.env", &env_line(TOK_B));
    let (code, r, _) = scan(d, &[]);
    assert_eq!((code, paths(&r).len()), (1, 2));
    write(
        d,
        ".applivery-leaks.toml",
        &format!("placeholders = [\"^{}\", \"-example$\"]\n", &TOK_A[..6]),
    );
    let (code, r, _) = scan(d, &[]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), vec!["b.env"]);
    // Counted, so a summary never hides what the config dropped (issue 17).
    assert_eq!(
        r["summary"]["suppressed"],
        serde_json::json!({"placeholder": 1})
    );
}

#[test]
fn extra_rule_files_are_relative_to_the_config() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(
        d,
        "ci/extra.toml",
        r#"
[[rules]]
id = "acme-key"
description = "ACME test key"
keywords = ["acme_key"]
regex = '''acme_key=(?P<secret>[A-Z0-9]{16})'''
"#,
    );
    write(d, "app.cfg", "acme_key=AB12CD34EF56GH78\n");
    let (code, _, _) = scan(d, &[]);
    assert_eq!(code, 0);
    write(d, ".applivery-leaks.toml", "rules = [\"ci/extra.toml\"]\n");
    let (code, r, _) = scan(d, &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["findings"][0]["rule"], "acme-key");

    // --config elsewhere: rule paths resolve against that file's directory.
    fs::remove_file(d.join(".applivery-leaks.toml")).unwrap();
    write(d, "ci/scan.toml", "rules = [\"extra.toml\"]\n");
    let (code, r, _) = scan(d, &["--config", "ci/scan.toml"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["findings"][0]["rule"], "acme-key");
}

#[test]
fn config_is_found_at_the_scan_root() {
    let t = TempDir::new().unwrap();
    let d = t.path();
    write(d, "proj/a.env", &env_line(TOK_A));
    write(d, "proj/fixtures/b.env", &env_line(TOK_B));
    write(
        d,
        "proj/.applivery-leaks.toml",
        "exclude = [\"fixtures/\"]\n",
    );
    let (code, r, _) = scan(d, &["proj"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&r), vec!["a.env"]);
    let (_, r, _) = scan(d, &["proj", "--no-config"]);
    assert_eq!(paths(&r), vec!["a.env", "fixtures/b.env"]);
}

/// A damaged archive in a path the config excludes (test data of an archive library, say)
/// does not fail a history scan: it is listed among the skipped, with why. The same archive
/// outside the excluded paths is still an error (exit 2), and `--no-suppress` brings it back.
#[test]
fn damaged_archives_in_excluded_paths_are_skipped_not_errors() {
    let mut r = crate::common::GitRepo::new();
    // A gzip header, then bytes that do not inflate.
    let mut damaged = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
    damaged.extend_from_slice(&[0xde; 64]);
    r.write("testdata/broken.tar.gz", &damaged);
    r.write("src/main.c", "int main(void) { return 0; }\n");
    r.commit("damaged test data");
    let run = |config: &str, extra: &[&str]| {
        std::fs::write(r.path.join(".applivery-leaks.toml"), config).unwrap();
        let out = crate::common::bin()
            .arg("git")
            .arg(&r.path)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            crate::common::json_of(&out.stdout),
        )
    };
    let (code, v) = run("", &[]);
    assert_eq!(code, 2, "{v}");
    assert!(v["errors"][0]["path"]
        .as_str()
        .unwrap()
        .starts_with("testdata/broken.tar.gz"));

    let (code, v) = run("exclude = [\"testdata/**\"]\n", &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{v}");
    let skipped = &v["summary"]["skipped"][0];
    assert!(skipped["path"]
        .as_str()
        .unwrap()
        .starts_with("testdata/broken.tar.gz"));
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .starts_with("in a path excluded by the config: damaged"),
        "{skipped}"
    );

    let (code, _) = run("exclude = [\"testdata/**\"]\n", &["--no-suppress"]);
    assert_eq!(code, 2);
}
