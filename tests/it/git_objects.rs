//! Damaged loose objects: the bundled libgit2 loops forever on a truncated loose object and
//! writes out of bounds on one longer than its header says. Every command that reads objects
//! (`git`, `git --since`, `git --range`, `staged` on both index paths) must name the damaged
//! object as an error within moments, and scan everything else.

use std::fs;

use serde_json::Value;

use crate::common::*;

/// Builds: commit 1 adds `a.env` (token 1) on branch `old`; commit 2 on `main` adds `b.env`
/// (token 2). Returns the repository, the two commits and the blob of `b.env`.
fn two_commits() -> (GitRepo, String, String, String) {
    let mut r = GitRepo::new();
    r.write("a.env", env_line(&token(1)));
    let c1 = r.commit("first");
    r.git(&["branch", "old"]);
    r.write("b.env", env_line(&token(2)));
    let c2 = r.commit("second");
    let blob = r.git(&["rev-parse", "HEAD:b.env"]);
    (r, c1, c2, blob)
}

fn truncate(path: &std::path::Path, len: u64) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len).unwrap();
}

/// Rewrites a loose object so its body is longer than its header declares.
fn pad(path: &std::path::Path) {
    use std::io::{Read, Write};
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    raw.extend_from_slice(b"trailing bytes the header does not count");
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let mut perms = fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(path, perms).unwrap();
    fs::write(path, z.finish().unwrap()).unwrap();
}

fn git_scan(r: &GitRepo, extra: &[&str]) -> (i32, Value, String) {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("applivery-leaks"));
    c.args(["git", "--no-config", "--format", "json"])
        .args(extra)
        .arg(&r.path);
    let (code, out, err, took) = run_with_deadline(c, 30);
    assert!(took.as_secs() < 10, "took {took:?}");
    (code, json_of(out.as_bytes()), err)
}

fn writable(path: &std::path::Path) {
    let mut perms = fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(path, perms).unwrap();
}

fn secrets_found(v: &Value) -> Vec<String> {
    let mut s: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

fn error_text(v: &Value) -> String {
    v["errors"].to_string()
}

#[test]
fn a_truncated_loose_blob_is_an_error_and_the_sweep_goes_on() {
    let (r, _, c2, blob) = two_commits();
    let p = r.loose_object(&blob);
    writable(&p);
    truncate(&p, 20);
    let (code, v, _) = git_scan(&r, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(secrets_found(&v), ["a.env"]);
    let e = error_text(&v);
    assert!(
        e.contains(&blob) && e.contains("b.env") && e.contains(&c2),
        "{e}"
    );
    assert!(e.contains("truncated loose object"), "{e}");
}

#[test]
fn a_loose_object_longer_than_its_header_is_refused() {
    let (r, _, _, blob) = two_commits();
    pad(&r.loose_object(&blob));
    let (code, v, _) = git_scan(&r, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(secrets_found(&v), ["a.env"]);
    assert!(
        error_text(&v).contains("longer than the"),
        "{}",
        error_text(&v)
    );
}

#[test]
fn a_truncated_loose_commit_is_an_error_and_other_refs_are_still_swept() {
    let (r, _, c2, _) = two_commits();
    let p = r.loose_object(&c2);
    writable(&p);
    truncate(&p, 20);
    let (code, v, _) = git_scan(&r, &[]);
    // `old` still reaches commit 1 and its token.
    assert_eq!(code, 1, "{v}");
    assert_eq!(secrets_found(&v), ["a.env"]);
    let e = error_text(&v);
    assert!(e.contains(&c2) && e.contains("truncated"), "{e}");
}

#[test]
fn ranges_fail_closed_on_a_truncated_blob() {
    let (r, c1, c2, blob) = two_commits();
    let p = r.loose_object(&blob);
    writable(&p);
    truncate(&p, 20);
    for extra in [
        vec!["--since", c1.as_str()],
        vec!["--range", &format!("{c1}..{c2}")],
    ] {
        let extra: Vec<&str> = extra.iter().map(|s| s as &str).collect();
        let (code, v, _) = git_scan(&r, &extra);
        assert_eq!(code, 2, "{extra:?}: {v}");
        assert!(secrets_found(&v).is_empty());
        assert!(error_text(&v).contains(&blob), "{v}");
    }
}

#[test]
fn staged_fails_closed_on_a_truncated_staged_blob_on_both_index_paths() {
    let (mut r, ..) = two_commits();
    r.write("c.env", env_line(&token(3)));
    r.git(&["add", "c.env"]);
    let blob = r.git(&["rev-parse", ":c.env"]);
    let p = r.loose_object(&blob);
    writable(&p);
    truncate(&p, 20);
    for libgit2 in [false, true] {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("applivery-leaks"));
        c.args(["staged", "--no-config", "--format", "json"])
            .current_dir(&r.path)
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE");
        if libgit2 {
            c.env("APPLIVERY_LEAKS_INDEX", "libgit2");
        } else {
            c.env_remove("APPLIVERY_LEAKS_INDEX");
        }
        let (code, out, err, took) = run_with_deadline(c, 30);
        assert!(took.as_secs() < 10, "took {took:?}");
        assert_eq!(code, 2, "libgit2 {libgit2}: {out} {err}");
        assert!(
            out.contains(&blob) || err.contains(&blob),
            "libgit2 {libgit2}: {out} {err}"
        );
        assert!(!err.contains(&token(3)) && !out.contains(&token(3)));
    }
    // Committing it anyway is not possible, but HEAD's own objects can be damaged too.
    let _ = &mut r;
}

#[test]
fn staged_fails_closed_on_a_truncated_head_tree() {
    let (r, ..) = two_commits();
    let tree = r.git(&["rev-parse", "HEAD^{tree}"]);
    let p = r.loose_object(&tree);
    writable(&p);
    truncate(&p, 20);
    r.write("d.env", env_line(&token(4)));
    r.git(&["add", "d.env"]);
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("applivery-leaks"));
    c.args(["staged", "--no-config"])
        .current_dir(&r.path)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .env_remove("APPLIVERY_LEAKS_INDEX");
    let (code, _, err, took) = run_with_deadline(c, 30);
    assert!(took.as_secs() < 10, "took {took:?}");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&tree) && err.contains("truncated"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
}
