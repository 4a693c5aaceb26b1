//! `applivery-leaks staged`: the pre-commit scan, driven as a binary against real repositories
//! built with the `git` command in temporary directories.

use crate::common::*;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub(crate) struct Repo {
    dir: TempDir,
    /// Extra environment for git commands (and so for hooks).
    pub(crate) env: Vec<(&'static str, &'static str)>,
}

impl Repo {
    pub(crate) fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r.git(&["config", "user.name", "Test"]);
        r.git(&["config", "user.email", "test@example.com"]);
        r.git(&["config", "core.autocrlf", "false"]);
        r
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn git_cmd(&self, args: &[&str]) -> Std {
        let mut c = Std::new("git");
        c.args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .envs(self.env.iter().copied());
        c
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd(args).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub(crate) fn add(&self, rel: &str, content: impl AsRef<[u8]>) {
        self.write(rel, content);
        self.git(&["add", "--", rel]);
    }

    pub(crate) fn commit(&self, msg: &str) {
        self.git(&["commit", "-q", "--no-verify", "-m", msg]);
    }

    /// Runs `applivery-leaks staged` in the repository (no hook environment).
    pub(crate) fn staged(&self, extra: &[&str]) -> Output {
        let out = bin()
            .arg("staged")
            .args(extra)
            .current_dir(self.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Runs the JSON scan twice — with the built-in index reader and with libgit2's — and
    /// checks both agree.
    pub(crate) fn staged_json(&self) -> (i32, Value) {
        let run = |libgit2: bool| {
            let mut c = bin();
            c.args(["staged", "--format", "json"])
                .current_dir(self.path())
                .env_remove("GIT_DIR")
                .env_remove("GIT_INDEX_FILE")
                .env_remove("GIT_WORK_TREE");
            if libgit2 {
                c.env("APPLIVERY_LEAKS_INDEX", "libgit2");
            } else {
                c.env_remove("APPLIVERY_LEAKS_INDEX");
            }
            let out = c.output().unwrap();
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!("bad json ({e}): {}", String::from_utf8_lossy(&out.stdout))
            });
            (out.status.code().unwrap_or(-1), v)
        };
        let (code, v) = run(false);
        let (code2, v2) = run(true);
        assert_eq!(code, code2, "index readers disagree on the exit code");
        assert_eq!(v["findings"], v2["findings"], "index readers disagree");
        for k in ["files_scanned", "binary_skipped", "skipped"] {
            assert_eq!(
                v["summary"][k], v2["summary"][k],
                "index readers disagree on {k}"
            );
        }
        (code, v)
    }
}

#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

fn bin() -> Command {
    Command::cargo_bin("applivery-leaks").unwrap()
}

fn bin_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("applivery-leaks")
}

/// (path, line) of every finding.
pub(crate) fn located(v: &Value) -> Vec<(String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub(crate) fn env_line(t: &str) -> String {
    format!("APPLIVERY_APP_TOKEN={t}\n")
}

#[test]
fn first_commit_with_a_token_is_blocked_with_a_helpful_message() {
    let r = Repo::new();
    let t = token(1);
    r.add("README.md", "# demo\n");
    r.add("config/.env", format!("DEBUG=1\n{}", env_line(&t)));
    let out = r.staged(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("config/.env:2:"), "{}", out.stdout);
    // The message says where, why, how to fix and how to override.
    let e = &out.stderr;
    assert!(e.contains("commit blocked"), "{e}");
    assert!(e.contains("config/.env:2"), "{e}");
    assert!(e.contains("CI secret"), "{e}");
    assert!(e.contains("environment variable"), "{e}");
    assert!(e.contains("revoke"), "{e}");
    assert!(e.contains("applivery-leaks:allow"), "{e}");
    assert!(e.contains("--no-verify"), "{e}");
    // Redacted everywhere.
    assert!(!out.stdout.contains(&t) && !e.contains(&t), "{out:?}");
    assert!(out.stdout.contains(&t[..4]));
}

#[test]
fn blocked_message_redacts_every_token_on_a_line() {
    let r = Repo::new();
    let (a, b) = (token(31), token(32));
    r.add(
        ".env",
        format!("APPLIVERY_APP_TOKEN={a} APPLIVERY_TOKEN_2={b}\n"),
    );
    let out = r.staged(&[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("commit blocked"), "{}", out.stderr);
    for t in [&a, &b] {
        assert!(
            !out.stdout.contains(t.as_str()) && !out.stderr.contains(t.as_str()),
            "{out:?}"
        );
    }
}

#[test]
fn quiet_blocks_without_the_message() {
    let r = Repo::new();
    r.add(".env", env_line(&token(2)));
    let out = r.staged(&["--quiet"]);
    assert_eq!(out.code, 1);
    assert!(!out.stderr.contains("commit blocked"), "{}", out.stderr);
}

#[test]
fn show_secrets_prints_the_token() {
    let r = Repo::new();
    let t = token(3);
    r.add(".env", env_line(&t));
    let out = r.staged(&["--show-secrets"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains(&t));
    // The hint on stderr never shows it.
    assert!(!out.stderr.contains(&t));
}

#[test]
fn clean_change_passes() {
    let r = Repo::new();
    r.add(".env", "DEBUG=1\n");
    r.commit("init");
    r.add(".env", "DEBUG=0\n");
    r.add("src/main.rs", "fn main() {}\n");
    let out = r.staged(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("0 finding(s)"), "{}", out.stdout);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn nothing_staged_passes() {
    let r = Repo::new();
    r.add("a.txt", "a\n");
    r.commit("init");
    let (code, v) = r.staged_json();
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["files_scanned"], 0);
    // Nor in an empty repository.
    let e = Repo::new();
    assert_eq!(e.staged(&[]).code, 0);
}

#[test]
fn modified_line_below_an_unchanged_applivery_key_is_found() {
    let r = Repo::new();
    r.add("ci.yml", "applivery:\n  app: demo\n  token: placeholder\n");
    r.commit("init");
    r.add(
        "ci.yml",
        format!("applivery:\n  app: demo\n  token: {}\n", token(4)),
    );
    let (code, v) = r.staged_json();
    assert_eq!(code, 1);
    assert_eq!(located(&v), vec![("ci.yml".to_string(), 3)]);
}

#[test]
fn token_on_an_unchanged_line_is_not_reported() {
    let r = Repo::new();
    let old = token(5);
    r.add(".env", format!("{}DEBUG=1\n", env_line(&old)));
    r.commit("old token, already in history");
    let new = token(6);
    r.add(
        ".env",
        format!("{}DEBUG=0\n{}", env_line(&old), env_line(&new)),
    );
    let (code, v) = r.staged_json();
    assert_eq!(code, 1);
    // Only the new token on line 3; the old one on line 1 is history's problem.
    assert_eq!(located(&v), vec![(".env".to_string(), 3)]);
    // An edit that touches only other lines passes.
    r.add(".env", format!("{}DEBUG=2\n", env_line(&old)));
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["files_scanned"], 1);
}

#[test]
fn partially_staged_file_is_scanned_as_staged() {
    let r = Repo::new();
    r.add(".env", "DEBUG=1\n");
    r.commit("init");
    // Staged: a token. Working file: clean. The commit would carry the token.
    let staged = format!("DEBUG=1\n{}", env_line(&token(7)));
    r.write(".env", &staged);
    let oid = r.git(&["hash-object", "-w", ".env"]);
    r.git(&[
        "update-index",
        "--cacheinfo",
        &format!("100644,{},.env", oid.trim()),
    ]);
    r.write(".env", "DEBUG=1\nLOG=info\n");
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![(".env".to_string(), 2)]);

    // The other way round: the token is only in the working file, not staged.
    r.add(".env", "DEBUG=1\nLOG=info\n");
    r.write(
        ".env",
        format!("DEBUG=1\nLOG=info\n{}", env_line(&token(8))),
    );
    let out = r.staged(&[]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn pure_rename_is_not_new_but_an_edit_in_a_renamed_file_is() {
    let r = Repo::new();
    let old = token(9);
    let body = format!(
        "# deployment settings\n{}REGION=eu\nTIMEOUT=30\n",
        env_line(&old)
    );
    r.add("old/.env", &body);
    r.commit("init");
    r.git(&["mv", "old/.env", "new.env"]);
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");

    // Renamed and edited: only the new line counts, at the new path.
    r.add("new.env", format!("{body}{}", env_line(&token(10))));
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![("new.env".to_string(), 5)]);
}

#[test]
fn a_copy_is_a_new_occurrence() {
    let r = Repo::new();
    r.add("a/.env", format!("X=1\n{}", env_line(&token(11))));
    r.commit("init");
    r.add("b/.env", format!("X=1\n{}", env_line(&token(11))));
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![("b/.env".to_string(), 2)]);
}

#[test]
fn a_deleted_file_is_the_source_of_one_rename_only() {
    let r = Repo::new();
    let body = format!("X=1\n{}", env_line(&token(15)));
    r.add("a/.env", &body);
    r.commit("init");
    // Moved to b/ and also copied to c/: one of them is the rename, the other a new copy.
    r.git(&["mv", "a/.env", "b.env"]);
    r.add("c.env", &body);
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v).len(), 1, "{v}");
    // The same with an edit, through the similarity path.
    let r = Repo::new();
    let body = format!("# settings\nX=1\nY=2\n{}", env_line(&token(16)));
    r.add("a/.env", &body);
    r.commit("init");
    r.git(&["rm", "-q", "a/.env"]);
    r.add("b.env", format!("{body}Z=3\n"));
    r.add("c.env", format!("{body}W=4\n"));
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v).len(), 1, "{v}");
}

#[test]
fn mode_change_and_deletion_scan_nothing() {
    let r = Repo::new();
    r.add("deploy.sh", format!("#!/bin/sh\n{}", env_line(&token(12))));
    r.add("old.env", env_line(&token(13)));
    r.commit("init");
    r.git(&["update-index", "--chmod=+x", "deploy.sh"]);
    r.git(&["rm", "-q", "old.env"]);
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");
    assert!(v["findings"].as_array().unwrap().is_empty());
}

#[test]
fn binary_files_are_skipped_and_counted() {
    let r = Repo::new();
    let mut data = b"\x00\x01PNG".to_vec();
    data.extend_from_slice(env_line(&token(14)).as_bytes());
    r.add("logo.png", &data);
    r.add("notes.txt", "hello\n");
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["binary_skipped"], 1);
    assert_eq!(v["summary"]["files_scanned"], 1);
}

#[test]
fn crlf_lines_count_like_lf_lines() {
    let r = Repo::new();
    let old = token(15);
    r.add(
        "app.env",
        format!("A=1\r\nAPPLIVERY_APP_TOKEN={old}\r\nB=2\r\n"),
    );
    r.commit("init");
    let new = token(16);
    r.add(
        "app.env",
        format!("A=1\r\nAPPLIVERY_APP_TOKEN={old}\r\nB=2\r\nAPPLIVERY_APP_TOKEN={new}\r\n"),
    );
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![("app.env".to_string(), 4)]);
    assert_eq!(
        v["findings"][0]["secret_sha256"].as_str().unwrap().len(),
        64
    );

    // Converting line endings changes no secret.
    r.commit("second");
    r.add(
        "app.env",
        format!("A=1\nAPPLIVERY_APP_TOKEN={old}\nB=2\nAPPLIVERY_APP_TOKEN={new}\n"),
    );
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");
}

#[test]
fn deep_paths_and_a_directory_replaced_by_a_file() {
    let r = Repo::new();
    for i in 0..20 {
        r.add(&format!("src/mod{i}/lib.rs"), format!("// {i}\n"));
    }
    r.add("conf/app/keep.txt", "x\n");
    r.commit("init");
    r.add("src/mod7/deep/er/.env", env_line(&token(17)));
    r.git(&["rm", "-rq", "conf/app"]);
    r.add("conf/app", env_line(&token(18)));
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        located(&v),
        vec![
            ("conf/app".to_string(), 1),
            ("src/mod7/deep/er/.env".to_string(), 1)
        ]
    );
    assert_eq!(v["summary"]["files_scanned"], 2);
}

#[test]
fn fingerprints_match_a_directory_scan() {
    let r = Repo::new();
    r.add("a/b/.env", env_line(&token(19)));
    let (_, staged) = r.staged_json();
    let out = bin()
        .args(["dir", "--format", "json"])
        .arg(r.path())
        .output()
        .unwrap();
    let dir: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(staged["findings"][0]["path"], "a/b/.env");
    assert_eq!(
        staged["findings"][0]["fingerprint"],
        dir["findings"][0]["fingerprint"]
    );
}

#[test]
fn repository_found_from_a_subdirectory_and_as_an_argument() {
    let r = Repo::new();
    r.add("sub/dir/.env", env_line(&token(20)));
    let out = bin()
        .args(["staged", "--format", "json"])
        .current_dir(r.path().join("sub/dir"))
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(located(&v), vec![("sub/dir/.env".to_string(), 1)]);

    let out = bin()
        .args(["staged", "--format", "json"])
        .arg(r.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["staged"])
        .arg(d.path())
        .env("GIT_CEILING_DIRECTORIES", d.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(e.contains("not in a git repository"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

/// The real thing: a `.git/hooks/pre-commit` that runs the binary, and `git commit` —
/// including `commit -a` and `commit <path>`, which stage into a temporary index.
#[test]
fn as_a_git_hook_it_blocks_and_passes_commits() {
    hook_case(false);
    hook_case(true);
}

fn hook_case(libgit2: bool) {
    let mut r = Repo::new();
    if libgit2 {
        r.env.push(("APPLIVERY_LEAKS_INDEX", "libgit2"));
    }
    let hook = r.path().join(".git/hooks/pre-commit");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\nexec '{}' staged\n", bin_path().display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    r.add(".env", "DEBUG=1\n");
    let ok = r
        .git_cmd(&["commit", "-q", "-m", "clean"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");

    let t = token(21);
    r.add(".env", format!("DEBUG=1\n{}", env_line(&t)));
    let blocked = r.git_cmd(&["commit", "-q", "-m", "leak"]).output().unwrap();
    assert!(!blocked.status.success());
    let e = String::from_utf8_lossy(&blocked.stderr);
    assert!(e.contains("commit blocked") && e.contains(".env:2"), "{e}");
    assert!(!e.contains(&t));
    r.git(&["reset", "-q"]);

    // Not staged beforehand: `commit -a` stages into a temporary index.
    let blocked = r.git_cmd(&["commit", "-qam", "leak"]).output().unwrap();
    assert!(!blocked.status.success(), "commit -a must be blocked");
    let blocked = r
        .git_cmd(&["commit", "-q", "-m", "leak", "--", ".env"])
        .output()
        .unwrap();
    assert!(!blocked.status.success(), "commit <path> must be blocked");
    assert_eq!(r.git(&["rev-list", "--count", "HEAD"]).trim(), "1");

    // --no-verify is the documented deliberate override.
    let forced = r
        .git_cmd(&["commit", "-qam", "forced", "--no-verify"])
        .output()
        .unwrap();
    assert!(forced.status.success());
}

#[test]
fn index_version_4_and_split_index() {
    let r = Repo::new();
    for i in 0..30 {
        r.add(&format!("pkg/sub{}/file{i}.txt", i % 4), format!("{i}\n"));
    }
    r.commit("init");
    r.git(&["update-index", "--index-version", "4"]);
    r.add("pkg/sub2/.env", env_line(&token(22)));
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![("pkg/sub2/.env".to_string(), 1)]);
    r.git(&["update-index", "--index-version", "2", "--split-index"]);
    r.add("pkg/sub3/.env", env_line(&token(23)));
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v).len(), 2);
}

#[test]
fn moved_directory_is_not_new() {
    let r = Repo::new();
    r.add("conf/prod/.env", env_line(&token(24)));
    r.add("conf/prod/other.txt", "x\n");
    r.commit("init");
    r.git(&["mv", "conf", "settings"]);
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");
}

#[test]
fn unresolved_conflict_is_reported_as_skipped() {
    let r = Repo::new();
    r.add("a.txt", "base\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "other"]);
    r.add("a.txt", "other\n");
    r.commit("other");
    r.git(&["checkout", "-q", "main"]);
    r.add("a.txt", "main\n");
    r.commit("main");
    let merge = r.git_cmd(&["merge", "-q", "other"]).output().unwrap();
    assert!(!merge.status.success());
    r.add("b.env", env_line(&token(25)));
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![("b.env".to_string(), 1)]);
    let skipped = v["summary"]["skipped"].to_string();
    assert!(
        skipped.contains("a.txt") && skipped.contains("conflict"),
        "{skipped}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_and_submodules_are_listed_as_not_scanned() {
    let r = Repo::new();
    r.add("real.env", "X=1\n");
    std::os::unix::fs::symlink("real.env", r.path().join("link.env")).unwrap();
    r.git(&["add", "link.env"]);
    // A gitlink entry, as `git submodule add` would stage.
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        "160000,1111111111111111111111111111111111111111,vendor/lib",
    ]);
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");
    let skipped = v["summary"]["skipped"].to_string();
    assert!(
        skipped.contains("link.env") && skipped.contains("symbolic link"),
        "{skipped}"
    );
    assert!(
        skipped.contains("vendor/lib") && skipped.contains("submodule"),
        "{skipped}"
    );
}

#[test]
fn linked_worktree_uses_its_own_index() {
    let r = Repo::new();
    r.add("a.txt", "a\n");
    r.commit("init");
    let wt = r.path().join("wt");
    r.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    std::fs::write(wt.join(".env"), env_line(&token(26))).unwrap();
    let ok = r
        .git_cmd(&["-C", wt.to_str().unwrap(), "add", ".env"])
        .status()
        .unwrap();
    assert!(ok.success());
    // The main worktree has nothing staged; the linked one has the token.
    assert_eq!(r.staged(&[]).code, 0);
    let out = bin()
        .args(["staged", "--format", "json"])
        .current_dir(&wt)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(located(&v), vec![(".env".to_string(), 1)]);
}

#[test]
fn bare_repository_and_corrupt_index_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let bare = d.path().join("bare.git");
    let ok = Std::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&bare)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = bin().arg("staged").arg(&bare).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(e.contains("bare repository"), "{e}");

    let r = Repo::new();
    std::fs::write(r.path().join(".git/index"), "garbage\n").unwrap();
    let out = r.staged(&[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("not a git index file"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn inline_marker_lets_a_deliberate_value_through() {
    let r = Repo::new();
    r.add(
        "fixture.env",
        format!(
            "APPLIVERY_APP_TOKEN={} # applivery-leaks:allow (test fixture)\n",
            token(27)
        ),
    );
    let out = r.staged(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("commit blocked"), "{}", out.stderr);
    // --no-suppress shows it again, and the commit would be blocked.
    let out = r.staged(&["--no-suppress"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("fixture.env:1"), "{}", out.stderr);
}

#[test]
fn a_constant_staged_with_its_applivery_sink_is_found_where_it_is_defined() {
    // Keys.swift never says Applivery; AppDelegate.swift, staged in the same commit, passes
    // the constant to the SDK. The finding is the definition.
    let r = Repo::new();
    r.add("README.md", "# shop\n");
    r.commit("init");
    r.add(
        "Sources/Keys.swift",
        format!(
            "enum Keys {{\n    static let uploadToken = \"{}\"\n}}\n",
            token(41)
        ),
    );
    r.add(
        "Sources/AppDelegate.swift",
        "import Applivery\nApplivery.shared.start(token: Keys.uploadToken, appStoreRelease: false)\n",
    );
    let (code, v) = r.staged_json();
    assert_eq!(code, 1);
    assert_eq!(located(&v), vec![("Sources/Keys.swift".to_string(), 2)]);
    // Without the sink the keys file alone is not about Applivery.
    r.git(&["rm", "-q", "--cached", "Sources/AppDelegate.swift"]);
    let (code, v) = r.staged_json();
    assert_eq!(code, 0, "{v}");
}
