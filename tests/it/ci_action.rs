//! The GitHub Action and the container image, run the way CI runs them: `ci/github/scan.sh`
//! is the action's scan step, so these tests run it on real repositories with the inputs a
//! workflow from docs/ci.md passes; the workflow files themselves are the ones the docs show.
//! The image's git configuration is tested with the real binary under another user id.

use crate::common::*;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn commit(dir: &Path, rel: &str, text: &str, msg: &str) -> String {
    write(dir, rel, text);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A repository as a pull_request job sees it after `actions/checkout` with `fetch-depth: 0`:
/// the base branch, the pull request's branch checked out, and another branch nobody asked
/// about that carries its own token.
struct PullRequest {
    _tmp: tempfile::TempDir,
    repo: PathBuf,
    base: String,
    other_token: String,
}

fn pull_request(adds_token: Option<&str>) -> PullRequest {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let base = commit(&repo, "app/config.yml", "upload: true\n", "Initial");
    let other_token = token(51);
    git(&repo, &["checkout", "-q", "-b", "someone-else"]);
    commit(
        &repo,
        ".env",
        &format!("APPLIVERY_APP_TOKEN={other_token}\n"),
        "Another branch",
    );
    git(&repo, &["checkout", "-q", "main"]);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    commit(&repo, "README.md", "# app\n", "Docs");
    if let Some(t) = adds_token {
        commit(
            &repo,
            "fastlane/.env.default",
            &format!("# upload\nAPPLIVERY_APP_TOKEN={t}\n"),
            "Upload from fastlane",
        );
    }
    PullRequest {
        _tmp: tmp,
        repo,
        base,
        other_token,
    }
}

struct Step {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: String,
    report: String,
}

/// Runs the action's scan step as the runner does: inputs in the environment, outputs
/// appended to $GITHUB_OUTPUT, reports under $RUNNER_TEMP.
fn scan_step(dir: &Path, inputs: &[(&str, &str)]) -> Step {
    let runner = tempfile::tempdir().unwrap();
    let outputs = runner.path().join("github_output");
    let mut cmd = Std::new("bash");
    cmd.arg(root().join("ci/github/scan.sh"))
        .current_dir(dir)
        .env(
            "APPLIVERY_LEAKS",
            assert_cmd::cargo::cargo_bin("applivery-leaks"),
        )
        .env("RUNNER_TEMP", runner.path())
        .env("GITHUB_OUTPUT", &outputs)
        .env("NO_COLOR", "1")
        .env_remove("APPLIVERY_API_URL")
        .env_remove("CI_COMMIT_SHA");
    for k in [
        "INPUT_COMMAND",
        "INPUT_PATH",
        "INPUT_SINCE",
        "INPUT_ARGS",
        "INPUT_FAIL_ON",
    ] {
        cmd.env_remove(k);
    }
    cmd.env_remove("INPUT_FORMAT").env_remove("PR_BASE");
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let outputs = fs::read_to_string(&outputs).unwrap_or_default();
    let report = outputs
        .lines()
        .find_map(|l| l.strip_prefix("report="))
        .map(|p| fs::read_to_string(p).unwrap_or_default())
        .unwrap_or_default();
    Step {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        outputs,
        report,
    }
}

fn output<'a>(s: &'a Step, key: &str) -> &'a str {
    s.outputs
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")[..]))
        .unwrap_or_else(|| panic!("no output {key} in {}", s.outputs))
}

fn assert_no_token(s: &Step, tokens: &[&str]) {
    for t in tokens {
        for text in [&s.stdout, &s.stderr, &s.report, &s.outputs] {
            assert!(!text.contains(t), "token leaked: {text}");
        }
    }
}

#[test]
fn the_pull_request_workflow_blocks_a_pull_request_that_adds_a_token() {
    let t = token(52);
    let pr = pull_request(Some(&t));
    // What docs/ci.md's pull-request workflow passes: command git, and the event's base.
    let s = scan_step(&pr.repo, &[("INPUT_COMMAND", "git"), ("PR_BASE", &pr.base)]);
    assert_eq!(s.code, 1, "{}\n{}", s.stdout, s.stderr);
    assert!(
        s.stdout.contains(&format!(
            "applivery-leaks git . --format github --fail-on any --range {}..HEAD",
            pr.base
        )),
        "{}",
        s.stdout
    );
    let annotations: Vec<&str> = s.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{}", s.stdout);
    assert!(
        annotations[0].starts_with("::error file=fastlane/.env.default,line=2,"),
        "{}",
        annotations[0]
    );
    assert_eq!(output(&s, "findings"), "1");
    assert_eq!(output(&s, "exit-code"), "1");
    // Only what the pull request adds: the other branch's token is someone else's problem.
    assert_no_token(&s, &[&t, &pr.other_token]);
    assert!(!s.stdout.contains(".env,"), "{}", s.stdout);
}

#[test]
fn the_pull_request_workflow_passes_a_clean_pull_request() {
    let pr = pull_request(None);
    let s = scan_step(&pr.repo, &[("INPUT_COMMAND", "git"), ("PR_BASE", &pr.base)]);
    assert_eq!(s.code, 0, "{}\n{}", s.stdout, s.stderr);
    assert_eq!(output(&s, "findings"), "0");
    assert_eq!(output(&s, "exit-code"), "0");
    assert_no_token(&s, &[&pr.other_token]);
}

#[test]
fn the_push_workflow_writes_sarif_and_counts_its_results() {
    let t = token(53);
    let pr = pull_request(Some(&t));
    let s = scan_step(&pr.repo, &[("INPUT_FORMAT", "sarif")]);
    assert_eq!(s.code, 1, "{}\n{}", s.stdout, s.stderr);
    assert!(output(&s, "report").ends_with("/applivery-leaks/report.sarif"));
    assert_eq!(output(&s, "findings"), "1");
    let sarif = json_of(s.report.as_bytes());
    assert_eq!(
        sarif["runs"][0]["automationDetails"]["id"],
        "applivery-leaks/dir/"
    );
    // SARIF goes to the file for upload-sarif, not into the log.
    assert!(!s.stdout.contains("\"runs\""));
    assert_no_token(&s, &[&t]);
}

#[test]
fn the_history_sweep_workflow_sweeps_every_branch_in_its_own_category() {
    let t = token(54);
    let pr = pull_request(Some(&t));
    let s = scan_step(
        &pr.repo,
        &[
            ("INPUT_COMMAND", "git"),
            ("INPUT_FORMAT", "sarif"),
            ("INPUT_ARGS", "--sarif-category applivery-leaks/history"),
        ],
    );
    assert_eq!(s.code, 1, "{}\n{}", s.stdout, s.stderr);
    assert_eq!(output(&s, "findings"), "2", "both branches' tokens");
    let sarif = json_of(s.report.as_bytes());
    assert_eq!(
        sarif["runs"][0]["automationDetails"]["id"],
        "applivery-leaks/history/"
    );
    assert_no_token(&s, &[&t, &pr.other_token]);
}

#[test]
fn json_and_gitlab_reports_are_counted_too() {
    let t = token(55);
    let pr = pull_request(Some(&t));
    for (format, ext) in [
        ("json", "json"),
        ("gitlab", "json"),
        ("jsonl", "jsonl"),
        ("text", "txt"),
    ] {
        let s = scan_step(&pr.repo, &[("INPUT_FORMAT", format)]);
        assert_eq!(s.code, 1, "{format}: {}", s.stderr);
        assert_eq!(output(&s, "findings"), "1", "{format}");
        assert!(output(&s, "report").ends_with(&format!("report.{ext}")));
        assert_no_token(&s, &[&t]);
    }
}

#[test]
fn a_mistyped_input_fails_the_step_with_an_annotation() {
    let pr = pull_request(None);
    for inputs in [
        &[("INPUT_COMMAND", "history")][..],
        &[("INPUT_FORMAT", "xml")][..],
        &[("INPUT_FAIL_ON", "never")][..],
        &[("INPUT_SINCE", "main")][..], // since with dir
        &[("INPUT_COMMAND", "git"), ("INPUT_SINCE", "no-such-branch")][..],
    ] {
        let s = scan_step(&pr.repo, inputs);
        assert_eq!(s.code, 2, "{inputs:?}: {}\n{}", s.stdout, s.stderr);
    }
    let s = scan_step(&pr.repo, &[("INPUT_COMMAND", "history")]);
    assert!(s
        .stdout
        .starts_with("::error title=applivery-leaks action::command must be"));
}

/// The workflow and template files are the documentation: docs/ci.md shows each one whole,
/// so what a reader copies is what actionlint and these tests check.
#[test]
fn docs_show_every_workflow_and_template_file_verbatim() {
    let doc = fs::read_to_string(root().join("docs/ci.md")).unwrap();
    let mut files = Vec::new();
    for dir in ["ci/github/workflows", "ci/gitlab"] {
        for e in fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yml") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        assert!(
            doc.contains(&format!("```yaml\n{text}```")),
            "docs/ci.md does not show {} verbatim",
            f.display()
        );
    }
    // The pull-request workflow is the one the tests above run.
    let pr = fs::read_to_string(root().join("ci/github/workflows/pull-request.yml")).unwrap();
    for needle in ["pull_request:", "fetch-depth: 0", "command: git"] {
        assert!(pr.contains(needle), "{needle}");
    }
}

/// The effective user id of this process: the owner of a file it creates.
fn euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    let f = tempfile::NamedTempFile::new().unwrap();
    f.as_file().metadata().unwrap().uid()
}

/// A repository mounted into the container belongs to the host user, not to the image's
/// non-root user, and libgit2 refuses such a repository as git does (safe.directory). The
/// image ships `ci/docker/gitconfig` as the user's global config; this test runs the real
/// binary as another user id, without and with it. It needs root to switch users (as CI is).
#[test]
fn the_image_git_config_lets_the_non_root_user_scan_a_mounted_repository() {
    if euid() != 0 || Std::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to run the scanner as another user");
        return;
    }
    let t = token(56);
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, ".env", &format!("APPLIVERY_APP_TOKEN={t}\n"), "Add");
    let home = tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [tmp.path(), &home] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let scan = |home: &Path| {
        Std::new("setpriv")
            .args(["--reuid=65532", "--regid=65532", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("applivery-leaks"))
            .args(["git", ".", "--format", "json"])
            .current_dir(&repo)
            .env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let refused = scan(&home);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("not owned by current user"), "{err}");
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");

    fs::copy(root().join("ci/docker/gitconfig"), home.join(".gitconfig")).unwrap();
    let ok = scan(&home);
    assert_eq!(
        ok.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v = json_of(&ok.stdout);
    assert_eq!(v["findings"][0]["path"], ".env");
    assert!(!String::from_utf8_lossy(&ok.stdout).contains(&t));
}

/// The image runs `applivery-leaks` with the Dockerfile's ENTRYPOINT and CMD; both must be
/// what the CLI accepts, and the gitconfig the Dockerfile copies must be the tested one.
#[test]
fn the_dockerfile_runs_the_scanner_as_a_non_root_user_with_the_tested_config() {
    let df = fs::read_to_string(root().join("Dockerfile")).unwrap();
    let line = |prefix: &str| {
        df.lines()
            .rev()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in Dockerfile"))
            .to_string()
    };
    let words = |l: String| -> Vec<String> {
        serde_json::from_str(l.split_once(' ').unwrap().1).expect("exec form: a JSON array")
    };
    let entry = words(line("ENTRYPOINT"));
    let cmd = words(line("CMD"));
    assert_eq!(entry, ["/usr/local/bin/applivery-leaks"]);
    let argv: Vec<&str> = std::iter::once("applivery-leaks")
        .chain(cmd.iter().map(String::as_str))
        .collect();
    if let Err(e) = <applivery_leaks::cli::Cli as clap::Parser>::try_parse_from(&argv) {
        panic!("the image's default command {argv:?} does not parse: {e}");
    }
    assert!(line("USER").contains("65532"), "non-root user");
    assert!(df.contains("COPY ci/docker/gitconfig /home/nonroot/.gitconfig"));
    assert!(df.contains("ENV HOME=/home/nonroot"));
}
