//! The CI-facing outputs through the real binary: GitHub workflow-command annotations, GitLab's
//! secret-detection report (validated against GitLab's own schema, vendored in `tests/data/`),
//! the settable SARIF category, shell completions and man pages. Every test that writes a
//! report greps it for the planted tokens: no CI surface may carry a secret.

use crate::common::*;

use std::fs;
use std::path::Path;
use std::process::Command as Std;

use serde_json::Value;

/// A tree with a token in a file whose name needs escaping in a workflow command, one in a
/// plain `.env`, and an unreadable input (a dangling symlink named on the command line).
fn tree() -> (tempfile::TempDir, Vec<String>) {
    let d = tempfile::tempdir().unwrap();
    let toks: Vec<String> = (41..=42).map(token).collect();
    write(
        d.path(),
        ".env",
        &format!("APPLIVERY_APP_TOKEN={}\n", toks[0]),
    );
    write(
        d.path(),
        "conf/a,b:c%d.env",
        &format!("# deploy\nAPPLIVERY_APP_TOKEN={}\n", toks[1]),
    );
    (d, toks)
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bin()
        .current_dir(dir)
        .env_remove("CI_COMMIT_SHA")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_no_token(toks: &[String], texts: &[&str]) {
    for t in toks {
        for text in texts {
            assert!(!text.contains(t.as_str()), "token {t} leaked:\n{text}");
        }
    }
}

#[test]
fn github_annotations_point_at_each_finding_with_escaped_properties() {
    let (d, toks) = tree();
    let (code, out, err) = run(d.path(), &["dir", ".", "--no-config", "--format", "github"]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with(
            "::error file=.env,line=1,endLine=1,col=21,endColumn=45,title=Applivery App API Token::"
        ),
        "{out}"
    );
    // `,` `:` and `%` in a property would end it or be misread: GitHub's escapes.
    assert!(
        lines[1].starts_with("::error file=conf/a%2Cb%3Ac%25d.env,line=2,endLine=2,col=21,"),
        "{out}"
    );
    // The message is one line; its own line break is escaped.
    assert!(
        lines[1].contains("rule applivery-app-token, fingerprint ") && lines[1].contains("%0A")
    );
    assert_eq!(lines[2], "applivery-leaks: 2 finding(s); scanned 2 file(s)");
    assert_no_token(&toks, &[&out, &err]);
}

#[test]
fn github_annotations_never_carry_a_secret_even_with_show_secrets() {
    let (d, toks) = tree();
    let report = d.path().join("out.txt");
    let (code, out, err) = run(
        d.path(),
        &[
            "dir",
            ".",
            "--no-config",
            "--format",
            "github",
            "--show-secrets",
            "--output",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    let written = fs::read_to_string(&report).unwrap();
    assert!(written.contains("::error file=.env,"), "{written}");
    assert_no_token(&toks, &[&out, &err, &written]);
}

#[test]
fn github_annotations_report_unread_inputs_and_a_clean_scan_says_so() {
    let (d, toks) = tree();
    std::os::unix::fs::symlink(d.path().join("nowhere"), d.path().join("dangling.env")).unwrap();
    let (code, out, _) = run(
        d.path(),
        &[
            "dir",
            ".env",
            "dangling.env",
            "--no-config",
            "--format",
            "github",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "::error title=applivery-leaks%3A input not scanned::cannot read dangling.env: "
        ),
        "{out}"
    );
    assert_no_token(&toks, &[&out]);

    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "README.md", "nothing here\n");
    let (code, out, _) = run(
        clean.path(),
        &["dir", ".", "--no-config", "--format", "github"],
    );
    assert_eq!(code, 0);
    assert_eq!(out, "applivery-leaks: 0 finding(s); scanned 1 file(s)\n");
}

fn gitlab_schema() -> Value {
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gitlab-secret-detection-report-format-15.2.4.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn gitlab_errors(doc: &Value) -> Vec<String> {
    let schema = gitlab_schema();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("GitLab schema compiles");
    v.iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn assert_gitlab_valid(doc: &Value) {
    let errs = gitlab_errors(doc);
    assert!(errs.is_empty(), "GitLab schema errors: {errs:#?}\n{doc:#}");
    // What the schema says in prose, checked too.
    let time = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$").unwrap();
    let scan = &doc["scan"];
    for k in ["start_time", "end_time"] {
        assert!(time.is_match(scan[k].as_str().unwrap()), "{k}: {}", scan[k]);
    }
    assert!(scan["start_time"].as_str() <= scan["end_time"].as_str());
    assert_eq!(scan["type"], "secret_detection");
    for who in ["analyzer", "scanner"] {
        for k in ["id", "name", "version"] {
            assert!(!scan[who][k].as_str().unwrap().is_empty(), "{who}.{k}");
        }
        assert!(!scan[who]["vendor"]["name"].as_str().unwrap().is_empty());
    }
    let uuid = regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        .unwrap();
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    let ids: std::collections::BTreeSet<&str> =
        vulns.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), vulns.len(), "ids are unique");
    for v in vulns {
        assert!(uuid.is_match(v["id"].as_str().unwrap()), "{}", v["id"]);
        assert_eq!(v["identifiers"][0]["type"], "applivery_leaks_rule_id");
        assert!(["Low", "Medium", "High", "Critical"].contains(&v["severity"].as_str().unwrap()));
        assert!(!v["location"]["file"].as_str().unwrap().is_empty());
        assert!(!v["location"]["commit"]["sha"].as_str().unwrap().is_empty());
        assert!(v["raw_source_code_extract"]
            .as_str()
            .unwrap()
            .ends_with('…'));
    }
}

#[test]
fn gitlab_report_of_a_working_tree_matches_the_official_schema() {
    let (d, toks) = tree();
    let (code, out, err) = run(d.path(), &["dir", ".", "--no-config", "--format", "gitlab"]);
    assert_eq!(code, 1, "{err}");
    let doc = json_of(out.as_bytes());
    assert_gitlab_valid(&doc);
    let schema = gitlab_schema();
    assert_eq!(
        doc["version"], schema["self"]["version"],
        "declares the vendored schema"
    );
    assert_eq!(doc["scan"]["status"], "success");
    let v = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["location"]["file"], ".env");
    assert_eq!(v[0]["location"]["start_line"], 1);
    assert_eq!(v[1]["location"]["file"], "conf/a,b:c%d.env");
    assert_eq!(v[1]["location"]["start_line"], 2);
    // A working tree belongs to no commit unless the pipeline names one.
    assert_eq!(v[0]["location"]["commit"]["sha"], "0000000");
    assert_eq!(v[0]["identifiers"][0]["value"], "applivery-app-token");
    let listed: Vec<&Value> = doc["scan"]["primary_identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(listed.contains(&&v[0]["identifiers"][0]), "{listed:?}");
    assert_no_token(&toks, &[&out, &err]);

    // In a GitLab pipeline the checkout's commit is the one the working tree holds.
    let out = bin()
        .current_dir(d.path())
        .env("CI_COMMIT_SHA", "4a1c72c39652ad5b3a5e1b9c0f8e7d6c5b4a3921")
        .args(["dir", ".", "--no-config", "--format", "gitlab"])
        .output()
        .unwrap();
    let doc = json_of(&out.stdout);
    assert_eq!(
        doc["vulnerabilities"][0]["location"]["commit"]["sha"],
        "4a1c72c39652ad5b3a5e1b9c0f8e7d6c5b4a3921"
    );
}

#[test]
fn gitlab_report_marks_a_partial_scan_as_failed_and_a_clean_one_as_empty() {
    let (d, toks) = tree();
    std::os::unix::fs::symlink(d.path().join("nowhere"), d.path().join("dangling.env")).unwrap();
    let (code, out, _) = run(
        d.path(),
        &[
            "dir",
            ".env",
            "dangling.env",
            "--no-config",
            "--format",
            "gitlab",
            "--show-secrets",
        ],
    );
    assert_eq!(code, 1);
    let doc = json_of(out.as_bytes());
    assert!(gitlab_errors(&doc).is_empty(), "{:#?}", gitlab_errors(&doc));
    assert_eq!(doc["scan"]["status"], "failure");
    let msgs = doc["scan"]["messages"].as_array().unwrap();
    assert!(
        msgs.iter().any(|m| m["level"] == "warn"
            && m["value"]
                .as_str()
                .unwrap()
                .starts_with("cannot read dangling.env: ")),
        "{msgs:?}"
    );
    // --show-secrets is a deliberate choice and is honoured, as in every other format.
    assert_eq!(
        doc["vulnerabilities"][0]["raw_source_code_extract"],
        toks[0]
    );

    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "README.md", "nothing here\n");
    let (code, out, _) = run(
        clean.path(),
        &["dir", ".", "--no-config", "--format", "gitlab"],
    );
    assert_eq!(code, 0);
    let doc = json_of(out.as_bytes());
    assert_gitlab_valid(&doc);
    assert_eq!(doc["vulnerabilities"], serde_json::json!([]));
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Std::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Dev")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Dev")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "1700000000 +0100")
        .env("GIT_COMMITTER_DATE", "1700000000 +0100")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn gitlab_report_of_history_names_the_introducing_commit() {
    let d = tempfile::tempdir().unwrap();
    let t = token(43);
    git(d.path(), &["init", "-q", "-b", "main"]);
    write(d.path(), "app/.env", &format!("APPLIVERY_APP_TOKEN={t}\n"));
    git(d.path(), &["add", "."]);
    git(d.path(), &["commit", "-q", "-m", "Add the upload config"]);
    let sha = git(d.path(), &["rev-parse", "HEAD"]);
    let (code, out, err) = run(d.path(), &["git", ".", "--no-config", "--format", "gitlab"]);
    assert_eq!(code, 1, "{err}");
    let doc = json_of(out.as_bytes());
    assert_gitlab_valid(&doc);
    let c = &doc["vulnerabilities"][0]["location"]["commit"];
    assert_eq!(c["sha"], sha.as_str());
    assert_eq!(c["author"], "Ada Dev <ada@example.com>");
    assert_eq!(c["message"], "Add the upload config");
    assert_eq!(c["date"], "2023-11-14T23:13:20+01:00");
    assert_no_token(&[t], &[&out, &err]);
}

#[test]
fn the_vendored_gitlab_schema_rejects_what_gitlab_would_refuse() {
    // The validator must be able to fail: a report with a zoned timestamp, no commit and an
    // unknown severity is refused on each count.
    let (d, _) = tree();
    let (_, out, _) = run(d.path(), &["dir", ".", "--no-config", "--format", "gitlab"]);
    let mut doc = json_of(out.as_bytes());
    doc["scan"]["end_time"] = "2026-11-27T21:06:04Z".into();
    doc["vulnerabilities"][0]["location"]
        .as_object_mut()
        .unwrap()
        .remove("commit");
    doc["vulnerabilities"][1]["severity"] = "high".into();
    let errs = gitlab_errors(&doc);
    for needle in [
        "/scan/end_time",
        "/vulnerabilities/0/location",
        "/vulnerabilities/1/severity",
    ] {
        assert!(
            errs.iter().any(|e| e.ends_with(needle)),
            "{needle} not in {errs:#?}"
        );
    }
}

fn sarif_category_of(out: &str) -> String {
    json_of(out.as_bytes())["runs"][0]["automationDetails"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn sarif_category_defaults_per_command_and_can_be_set() {
    let (d, _) = tree();
    let (_, out, _) = run(d.path(), &["dir", ".", "--no-config", "--format", "sarif"]);
    assert_eq!(sarif_category_of(&out), "applivery-leaks/dir/");
    for (given, id) in [
        ("monorepo/app", "monorepo/app/"),
        ("monorepo/app/", "monorepo/app/"),
        ("nightly", "nightly/"),
    ] {
        let (_, out, _) = run(
            d.path(),
            &[
                "dir",
                ".",
                "--no-config",
                "--format",
                "sarif",
                "--sarif-category",
                given,
            ],
        );
        assert_eq!(sarif_category_of(&out), id);
    }
    for bad in ["", "/", "two words"] {
        let (code, out, err) = run(d.path(), &["dir", ".", "--sarif-category", bad]);
        assert_eq!(code, 2, "{bad:?}: {out}");
        assert!(err.contains("--sarif-category"), "{err}");
    }
}

#[test]
fn completions_are_valid_scripts_for_each_shell() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        // Every subcommand and a subcommand's flag are completed.
        for word in ["dir", "staged", "sarif-category"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
        if matches!(shell, "bash" | "zsh" | "fish") {
            assert!(
                script.contains("gitlab"),
                "{shell} does not complete format values"
            );
        }
        let path = d.path().join(format!("completion.{shell}"));
        fs::write(&path, &script).unwrap();
        // Syntax-check with the shell itself where it is installed (bash always is;
        // scripts/check-completions.sh installs zsh and fish).
        let check: Option<(&str, Vec<&str>)> = match shell {
            "bash" => Some(("bash", vec!["-n"])),
            "zsh" => Some(("zsh", vec!["-n"])),
            "fish" => Some(("fish", vec!["--no-execute"])),
            _ => None,
        };
        if let Some((prog, args)) = check {
            match Std::new(prog).args(&args).arg(&path).output() {
                Ok(o) => assert!(
                    o.status.success(),
                    "{prog} rejects the completion: {}",
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(_) => assert_ne!(prog, "bash", "bash must be present"),
            }
        }
    }
    let out = bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_document_every_command() {
    let out = bin().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH applivery-leaks 1"), "{page}");
    for cmd in [
        "dir",
        "git",
        "staged",
        "stdin",
        "verify",
        "rules",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("applivery\\-leaks\\-{cmd}(1)")),
            "{cmd} missing"
        );
    }
    let d = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["man", "--dir"])
        .arg(d.path().join("man1"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let git_page = fs::read_to_string(d.path().join("man1/applivery-leaks-git.1")).unwrap();
    assert!(git_page.contains("\\-\\-since") && git_page.contains("\\-\\-sarif\\-category"));
}
