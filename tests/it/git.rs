//! `applivery-leaks git`: history sweeps of real repositories built with the `git` command in
//! temporary directories (fixed names and dates, so ids are deterministic).

use crate::common::token;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub(crate) fn env_line(t: &str) -> String {
    format!("APPLIVERY_APP_TOKEN={t}\n")
}

pub(crate) struct Repo {
    _tmp: TempDir,
    pub(crate) path: PathBuf,
    pub(crate) clock: u64,
}

pub(crate) fn git_in(dir: &Path, args: &[&str], clock: u64) -> String {
    let out = Std::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Dev")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Dev")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env(
            "GIT_AUTHOR_DATE",
            format!("{} +0000", 1_700_000_000 + clock * 60),
        )
        .env(
            "GIT_COMMITTER_DATE",
            format!("{} +0000", 1_700_000_000 + clock * 60),
        )
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Repo {
    pub(crate) fn new() -> Repo {
        let tmp = TempDir::new().unwrap();
        let path = tmp.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let r = Repo {
            _tmp: tmp,
            path,
            clock: 0,
        };
        r.git(&["init", "-q", "-b", "main"]);
        r.git(&["config", "user.name", "Ada Dev"]);
        r.git(&["config", "user.email", "ada@example.com"]);
        r.git(&["config", "commit.gpgsign", "false"]);
        r
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        git_in(&self.path, args, self.clock)
    }

    pub(crate) fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub(crate) fn commit(&mut self, msg: &str) -> String {
        self.clock += 1;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Scratch directory next to the repository (for clones).
    pub(crate) fn sibling(&self, name: &str) -> PathBuf {
        self.path.parent().unwrap().join(name)
    }
}

/// Runs `applivery-leaks git REPO --format json EXTRA...`: exit code and report.
pub(crate) fn scan(repo: &Path, extra: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("applivery-leaks")
        .unwrap()
        .arg("git")
        .arg(repo)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); exit {code}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

pub(crate) fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

/// (fingerprint, introducing commit, line) of every finding.
pub(crate) fn keys(v: &Value) -> BTreeSet<(String, String, u64)> {
    findings(v)
        .iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn token_added_then_removed_is_found_only_in_history() {
    let mut r = Repo::new();
    let t = token(1);
    r.write(".env", format!("DEBUG=1\n{}", env_line(&t)));
    let c1 = r.commit("configure uploads");
    r.write("README.md", "hello\n");
    let c2 = r.commit("readme");
    r.write(".env", "DEBUG=1\n");
    r.commit("remove token");

    let (code, v) = scan(&r.path, &[]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["path"], ".env");
    assert_eq!(f[0]["line"], 2);
    assert_eq!(f[0]["commit"], c1);
    assert_eq!(f[0]["commits"], serde_json::json!([c1, c2]));
    assert_eq!(f[0]["commit_count"], 2);
    assert_eq!(f[0]["in_head"], false);
    assert_eq!(f[0]["author"], "Ada Dev");
    assert_eq!(f[0]["email"], "ada@example.com");
    assert_eq!(f[0]["date"], "2023-11-14T22:14:20Z");
    assert_eq!(f[0]["commit_summary"], "configure uploads");
    assert_ne!(f[0]["secret"], t.as_str(), "redacted by default");
    let g = &v["summary"]["git"];
    assert_eq!(g["commits_walked"], 3);
    assert_eq!(g["shallow"], false);
    let s = g["secrets"].as_array().unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["first_commit"], c1);
    assert_eq!(s[0]["first_path"], ".env");
    assert_eq!(s[0]["in_head"], false);
    assert_eq!(s[0]["commit_count"], 2);
    assert_eq!(s[0]["author"], "Ada Dev <ada@example.com>");

    // The text report leads with the unique secrets and never prints the token.
    let out = Command::cargo_bin("applivery-leaks")
        .unwrap()
        .arg("git")
        .arg(&r.path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("1 unique secret(s) in 3 commit(s)"),
        "{text}"
    );
    assert!(!text.contains(&t));
}

#[test]
fn same_secret_in_many_commits_is_one_finding_with_the_first_commit() {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit("start");
    let t = token(2);
    r.write("ci/.env", env_line(&t));
    let first = r.commit("add env");
    for i in 0..5 {
        r.write("a.txt", format!("a{i}\n"));
        r.commit(&format!("edit {i}"));
    }
    // The file changes around the token: new blob, same secret at the same path.
    r.write("ci/.env", format!("X=1\n{}", env_line(&t)));
    r.commit("more env");

    let (code, v) = scan(&r.path, &[]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["commit"], first);
    assert_eq!(f[0]["commit_count"], 7);
    assert_eq!(f[0]["line"], 1, "the line in the introducing commit");
    assert_eq!(f[0]["in_head"], true);
    assert_eq!(v["summary"]["git"]["secrets"][0]["in_head"], true);
    // Each unique blob read once: a.txt in 6 versions, .env in 2.
    assert_eq!(v["summary"]["git"]["blobs_scanned"], 8);
}

#[test]
fn merges_report_the_commit_on_the_branch() {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit("start");
    r.git(&["checkout", "-q", "-b", "feature"]);
    let t = token(3);
    r.write("fastlane/.env", env_line(&t));
    let on_branch = r.commit("feature env");
    r.git(&["checkout", "-q", "main"]);
    r.write("b.txt", "b\n");
    r.commit("main work");
    r.clock += 1;
    r.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    r.git(&["branch", "-D", "feature"]);

    let (_, v) = scan(&r.path, &[]);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["commit"], on_branch);
    assert_eq!(f[0]["commit_count"], 2, "the branch commit and the merge");
    assert_eq!(f[0]["in_head"], true);
}

#[test]
fn every_ref_is_swept_tags_notes_and_messages() {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    let base = r.commit("start");
    // A commit only a lightweight tag reaches.
    r.git(&["checkout", "-q", "--orphan", "old"]);
    let t1 = token(4);
    r.write("old/.env", env_line(&t1));
    let tagged = r.commit("old release");
    r.git(&["tag", "legacy"]);
    r.git(&["checkout", "-q", "-f", "main"]);
    r.git(&["branch", "-D", "old"]);
    // An annotated tag whose message holds a token.
    let t2 = token(5);
    r.clock += 1;
    r.git(&[
        "tag",
        "-a",
        "v1",
        "-m",
        &format!("release\napplivery_token={t2}"),
    ]);
    // A commit message with a token.
    let t3 = token(6);
    r.write("b.txt", "b\n");
    let msg_commit = r.commit(&format!("upload with applivery_token={t3}"));
    // A note.
    let t4 = token(7);
    r.git(&[
        "notes",
        "add",
        "-m",
        &format!("APPLIVERY_APP_TOKEN={t4}"),
        &base,
    ]);

    let (_, v) = scan(&r.path, &[]);
    let f = findings(&v);
    let by_path = |p: &str| f.iter().filter(|x| x["path"] == p).collect::<Vec<_>>();
    assert_eq!(by_path("old/.env").len(), 1, "{v:#}");
    assert_eq!(by_path("old/.env")[0]["commit"], tagged);
    let tag = by_path("<tag-message>");
    assert_eq!(tag.len(), 1, "{v:#}");
    assert_eq!(tag[0]["commit"], base);
    assert_eq!(tag[0]["line"], 2);
    let msg = by_path("<commit-message>");
    assert_eq!(msg.len(), 1, "{v:#}");
    assert_eq!(msg[0]["commit"], msg_commit);
    assert_eq!(f.len(), 4, "the note too: {v:#}");
    // Summaries of messages that hold a secret are redacted like everything else.
    let all = serde_json::to_string(&v).unwrap();
    for t in [&t1, &t2, &t3, &t4] {
        assert!(!all.contains(t.as_str()), "secret leaked into the report");
    }
}

#[test]
fn stash_entries_are_swept() {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit("start");
    let (t1, t2) = (token(8), token(9));
    r.write("a.txt", format!("a\n{}", env_line(&t1)));
    r.clock += 1;
    r.git(&["stash", "-q"]);
    r.write("a.txt", format!("a\n{}", env_line(&t2)));
    r.clock += 1;
    r.git(&["stash", "-q"]);
    let (_, v) = scan(&r.path, &[]);
    let hashes: BTreeSet<String> = v["summary"]["git"]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secret_sha256"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        hashes.len(),
        2,
        "both stash entries, not just the newest: {v:#}"
    );
}

#[test]
fn unreachable_objects_only_with_the_flag() {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit("start");
    // A commit rewritten away (reset + reflog expired): dangling.
    let t1 = token(10);
    r.write("secrets/.env", env_line(&t1));
    let lost = r.commit("oops");
    r.git(&["reset", "-q", "--hard", "HEAD~1"]);
    r.git(&["reflog", "expire", "--expire=now", "--all"]);
    // A blob no tree holds.
    let t2 = token(11);
    r.write("loose.txt", env_line(&t2));
    let blob = r.git(&["hash-object", "-w", "loose.txt"]);
    std::fs::remove_file(r.path.join("loose.txt")).unwrap();

    let (code, v) = scan(&r.path, &[]);
    assert_eq!(code, 0, "{v:#}");
    let (code, v) = scan(&r.path, &["--include-unreachable"]);
    assert_eq!(code, 1);
    let f = findings(&v);
    assert_eq!(f.len(), 2, "{v:#}");
    let env = f.iter().find(|x| x["path"] == "secrets/.env").unwrap();
    assert_eq!(env["commit"], lost);
    assert_eq!(env["in_head"], false);
    let loose = f
        .iter()
        .find(|x| x["path"] == format!("<blob {blob}>"))
        .unwrap();
    assert!(loose.get("commit").is_none());
}

pub(crate) fn history_with_token() -> (Repo, String) {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit("one");
    r.write("config/.env", env_line(&token(12)));
    let c = r.commit("two");
    r.write("a.txt", "b\n");
    r.commit("three");
    (r, c)
}

#[test]
fn submodules_are_reported_as_not_scanned() {
    let mut r = Repo::new();
    r.write("a.txt", "a\n");
    let c = r.commit("one");
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{c},vendor/lib"),
    ]);
    r.clock += 1;
    r.git(&["commit", "-q", "-m", "add submodule"]);
    let (code, v) = scan(&r.path, &[]);
    assert_eq!(code, 0);
    let skipped = v["summary"]["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["path"] == "vendor/lib" && s["reason"] == "submodule not scanned"),
        "{v:#}"
    );
}

#[test]
fn paths_match_a_dir_scan_non_utf8_and_crlf_included() {
    use std::os::unix::ffi::OsStrExt;
    let mut r = Repo::new();
    let (t1, t2) = (token(13), token(14));
    r.write(
        ".env",
        format!("A=1\r\nAPPLIVERY_APP_TOKEN={t1}\r\nB=2\r\n"),
    );
    let odd = std::ffi::OsStr::from_bytes(b"conf/caf\xe9.env");
    std::fs::create_dir_all(r.path.join("conf")).unwrap();
    std::fs::write(r.path.join(odd), env_line(&t2)).unwrap();
    // A binary file holding a token is skipped, not scanned.
    let mut bin = b"\0\x01\x02".to_vec();
    bin.extend_from_slice(env_line(&token(15)).as_bytes());
    r.write("logo.png", bin);
    r.commit("config");
    // A commit message that is not UTF-8.
    std::fs::write(r.path.join("msg"), b"r\xe9sum\xe9\n").unwrap();
    r.git(&["add", "-A"]);
    r.git(&["reset", "-q", "msg"]);
    r.git(&["commit", "-q", "--allow-empty", "-F", "msg"]);

    let (code, v) = scan(&r.path, &[]);
    assert_eq!(code, 1);
    let out = Command::cargo_bin("applivery-leaks")
        .unwrap()
        .arg("dir")
        .arg(&r.path)
        .args(["--format", "json", "--exclude", "msg"])
        .output()
        .unwrap();
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_dir: BTreeSet<(String, u64, u64)> = findings(&d)
        .iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().into(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let from_git: BTreeSet<(String, u64, u64)> = findings(&v)
        .iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().into(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(from_git.len(), 2, "{v:#}");
    assert_eq!(from_git, from_dir);
    let crlf = findings(&v).iter().find(|f| f["path"] == ".env").unwrap();
    assert_eq!(crlf["line"], 2);
    assert_eq!(crlf["end_column"], 45);
    assert_eq!(v["summary"]["binary_skipped"], 1);
    assert!(findings(&v)
        .iter()
        .any(|f| f["path"] == "conf/caf\u{fffd}.env"));
}

/// main: c1 (token A in .env, token D in keys.txt), c2; feature: f1 adds token B, f2 edits
/// .env around token A and renames keys.txt (D at a new path), f3 adds token C in a
/// commit message. A range scan must equal the full scan's findings introduced in it.
#[test]
fn since_and_range_equal_the_subset_of_a_full_scan() {
    let mut r = Repo::new();
    r.write(".env", env_line(&token(20)));
    r.write("keys.txt", env_line(&token(21)));
    r.commit("c1");
    r.write("a.txt", "a\n");
    let c2 = r.commit("c2");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("app/.env", env_line(&token(22)));
    let f1 = r.commit("f1");
    r.write(".env", format!("X=1\n{}", env_line(&token(20))));
    r.git(&["mv", "keys.txt", "moved-keys.txt"]);
    let f2 = r.commit("f2");
    r.write("a.txt", "b\n");
    let f3 = r.commit(&format!("f3 applivery_token={}", token(23)));
    r.git(&["checkout", "-q", "main"]);
    r.write("m.txt", "m\n");
    r.commit("main after fork");
    r.git(&["checkout", "-q", "feature"]);
    // A tag on a bare blob: in a full scan, in no range.
    r.write("tagged.txt", env_line(&token(24)));
    let blob = r.git(&["hash-object", "-w", "tagged.txt"]);
    std::fs::remove_file(r.path.join("tagged.txt")).unwrap();
    r.git(&["tag", "blob-tag", &blob]);

    let (_, full) = scan(&r.path, &[]);
    assert!(findings(&full)
        .iter()
        .any(|f| f["path"] == format!("<blob {blob}>")));
    let in_range: BTreeSet<&str> = [f1.as_str(), f2.as_str(), f3.as_str()].into();
    let want: BTreeSet<_> = keys(&full)
        .into_iter()
        .filter(|k| in_range.contains(k.1.as_str()))
        .collect();
    assert_eq!(want.len(), 3, "B, D at its new path, C: {full:#}");

    let (code, v) = scan(&r.path, &["--range", &format!("{c2}..feature")]);
    assert_eq!(code, 1);
    assert_eq!(keys(&v), want, "{v:#}");
    assert_eq!(v["summary"]["git"]["commits_walked"], 3);

    let (_, v) = scan(&r.path, &["--since", "main"]);
    assert_eq!(keys(&v), want, "{v:#}");

    // Nothing new: clean.
    let (code, v) = scan(&r.path, &["--range", "feature..feature"]);
    assert_eq!(code, 0, "{v:#}");
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let tmp = TempDir::new().unwrap();
    let out = Command::cargo_bin("applivery-leaks")
        .unwrap()
        .arg("git")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a git repository"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let (r, _) = history_with_token();
    let out = Command::cargo_bin("applivery-leaks")
        .unwrap()
        .arg("git")
        .arg(&r.path)
        .args(["--since", "no-such-branch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since no-such-branch"));

    // Options that cannot work together, and a range that is not one.
    for args in [
        &["--include-unreachable", "--since", "HEAD"][..],
        &["--include-unreachable", "--range", "HEAD~1..HEAD"],
        &["--range", "HEAD"],
        &["--range", "HEAD~1...HEAD"],
    ] {
        let out = Command::cargo_bin("applivery-leaks")
            .unwrap()
            .arg("git")
            .arg(&r.path)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn empty_repository_is_clean() {
    let r = Repo::new();
    let (code, v) = scan(&r.path, &[]);
    assert_eq!(code, 0);
    assert_eq!(v["summary"]["git"]["commits_walked"], 0);
}

/// Replaces a loose object's file with garbage.
fn corrupt(r: &Repo, oid: &str) {
    let p = r.path.join(".git/objects").join(&oid[..2]).join(&oid[2..]);
    let mut perm = std::fs::metadata(&p).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&p, perm).unwrap();
    std::fs::write(&p, b"not zlib at all").unwrap();
}

#[test]
fn a_corrupt_blob_is_reported_and_the_scan_goes_on() {
    let mut r = Repo::new();
    r.write("broken.txt", "some text\n");
    r.write(".env", env_line(&token(30)));
    r.commit("one");
    let broken = r.git(&["rev-parse", "HEAD:broken.txt"]);
    corrupt(&r, &broken);
    let (code, v) = scan(&r.path, &[]);
    assert_eq!(code, 1, "the token is still found: {v:#}");
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v:#}");
    let what = errors[0]["path"].as_str().unwrap();
    assert!(
        what.contains(&broken) && what.contains("broken.txt"),
        "{what}"
    );

    let mut r = Repo::new();
    r.write("broken.txt", "some text\n");
    r.commit("one");
    let broken = r.git(&["rev-parse", "HEAD:broken.txt"]);
    corrupt(&r, &broken);
    let (code, _) = scan(&r.path, &[]);
    assert_eq!(
        code, 2,
        "nothing found but something unreadable: fail closed"
    );
}

#[test]
fn max_file_size_skips_and_reports() {
    let mut r = Repo::new();
    r.write(
        "big.env",
        format!("{}{}", "x".repeat(5000), env_line(&token(31))),
    );
    r.write("small.txt", "hello\n");
    r.commit("big");
    let (code, v) = scan(&r.path, &["--max-file-size", "1000"]);
    assert_eq!(code, 0);
    let skipped = v["summary"]["skipped"].as_array().unwrap();
    assert!(
        skipped[0]["path"].as_str().unwrap().starts_with("big.env"),
        "{v:#}"
    );
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .contains("--max-file-size"));
    let (code, _) = scan(&r.path, &[]);
    assert_eq!(code, 1);
}

#[test]
fn a_corrupt_tree_is_reported_and_the_rest_is_scanned() {
    let mut r = Repo::new();
    r.write("sub/a.txt", "a\n");
    r.write(".env", env_line(&token(32)));
    r.commit("one");
    let tree = r.git(&["rev-parse", "HEAD:sub"]);
    corrupt(&r, &tree);
    for threads in ["1", "2"] {
        let (code, v) = scan(&r.path, &["-j", threads]);
        assert_eq!(code, 1, "{v:#}");
        let errors = v["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{v:#}");
        let what = errors[0]["path"].as_str().unwrap();
        assert!(what.contains(&tree) && what.contains("sub"), "{what}");
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let mut r = Repo::new();
    for i in 0..12u64 {
        r.write(&format!("d{}/f{i}.env", i % 3), env_line(&token(100 + i)));
        r.write("common.txt", format!("{i}\n"));
        r.commit(&format!("c{i}"));
        if i % 4 == 3 {
            r.write(&format!("d{}/f{}.env", (i - 1) % 3, i - 1), "gone\n");
            r.commit(&format!("rm {i}"));
        }
    }
    let (_, one) = scan(&r.path, &["-j", "1"]);
    let (_, four) = scan(&r.path, &["-j", "4"]);
    assert_eq!(findings(&one).len(), 12);
    assert_eq!(one["findings"], four["findings"]);
    assert_eq!(one["summary"]["git"], four["summary"]["git"]);
}

#[test]
fn sarif_and_jsonl_carry_history_findings() {
    let (r, c) = history_with_token();
    for format in ["sarif", "jsonl"] {
        let out = Command::cargo_bin("applivery-leaks")
            .unwrap()
            .arg("git")
            .arg(&r.path)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(&c), "{format}: {text}");
        assert!(!text.contains(&token(12)), "{format}: secret leaked");
    }
}

/// A commit subject that holds a token without naming Applivery is still redacted in every
/// format: summaries are printed as they are, so every secret the sweep found comes out of
/// them — as written and base64-encoded.
#[test]
fn commit_summaries_never_show_a_found_secret() {
    let mut r = Repo::new();
    let t = token(901);
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(t.as_bytes())
    };
    r.write("app/.env", env_line(&t));
    r.commit(&format!("rotate {t} (was {b64})"));
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = Command::cargo_bin("applivery-leaks")
            .unwrap()
            .arg("git")
            .arg(&r.path)
            .args(["--no-config", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let all = [out.stdout, out.stderr].concat();
        let all = String::from_utf8_lossy(&all);
        assert!(all.contains(&t[..4]), "{format}: the finding is there");
        assert!(!all.contains(&t), "{format}: {all}");
        assert!(!all.contains(&b64[..12]), "{format}: {all}");
    }
}

/// Every finding says where it was seen as structure, not as a made-up path.
#[test]
fn findings_carry_their_provenance() {
    let mut r = Repo::new();
    let (a, b) = (token(911), token(913));
    r.write("ci/.env", env_line(&a));
    r.commit(&format!("set up\n\n{}", env_line(&b)));
    let (code, v) = scan(&r.path, &["--no-config"]);
    assert_eq!(code, 1);
    let mut got: Vec<(String, String, Value)> = findings(&v)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["provenance"]["kind"].as_str().unwrap().to_string(),
                f["provenance"]["chain"].clone(),
            )
        })
        .collect();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        got,
        vec![
            (
                "<commit-message>".to_string(),
                "commit-message".to_string(),
                serde_json::json!(["<commit-message>"])
            ),
            (
                "ci/.env".to_string(),
                "git-blob".to_string(),
                serde_json::json!(["ci/.env"])
            ),
        ]
    );
}

/// Directories moved into a subdirectory of themselves (`p/` → `p/x/`): the trees of `p/`
/// are stored as deltas of each other, and one holds the other. A scan crashed on this
/// (unbounded recursion, found on git.git); loose and packed, as the order trees are read
/// in (and so which one is the base) differs.
#[test]
fn a_directory_moved_into_itself_is_followed() {
    for packed in [false, true] {
        let mut r = crate::common::GitRepo::new();
        for i in 0..16 {
            r.write(&format!("p{i:02}/a.txt"), format!("alpha {i}\n"));
            r.write(&format!("p{i:02}/b.txt"), format!("beta {i}\n"));
        }
        r.write("p07/.env", env_line(&crate::common::token(7)));
        let c1 = r.commit("sixteen directories");
        for i in 0..16 {
            let d = format!("p{i:02}");
            r.git(&["mv", &d, "tmp"]);
            std::fs::create_dir(r.path.join(&d)).unwrap();
            r.git(&["mv", "tmp", &format!("{d}/x")]);
            r.write(&format!("{d}/c.txt"), format!("gamma {i}\n"));
        }
        let c2 = r.commit("each one moved into itself");
        if packed {
            r.git(&["gc", "-q", "--aggressive"]);
        }
        let (code, v) = scan(&r.path, &[]);
        assert_eq!(code, 1, "packed {packed}: {v}");
        let placed: BTreeSet<(String, String)> = findings(&v)
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().into(),
                    f["commit"].as_str().unwrap().into(),
                )
            })
            .collect();
        let want: BTreeSet<(String, String)> =
            [("p07/.env".into(), c1.clone()), ("p07/x/.env".into(), c2)].into();
        assert_eq!(placed, want, "packed {packed}");
    }
}
