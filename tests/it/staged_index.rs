//! `staged` on the index files a repository's life produces: a cache-tree brought up to date
//! (as `git commit` does before its pre-commit hook), one left stale by `git add`, index
//! versions 2 to 4, intent-to-add entries, no HEAD yet, a real hook in a tree of many
//! directories. The built-in reader passes over every directory whose cache-tree matches
//! HEAD, so each case puts changes in some directories and not others, and runs both index
//! readers (built-in and libgit2's), which must agree (`Repo::staged_json`).

use crate::common::*;
use crate::staged::{env_line, located, Repo};

use assert_cmd::Command;
use serde_json::Value;

/// 5 directories of 3 subdirectories of 4 files, and a file at the root, committed.
fn tree_repo() -> Repo {
    let r = Repo::new();
    r.write("README.md", "# tree\n");
    for d in 0..5 {
        for s in 0..3 {
            for f in 0..4 {
                r.write(&format!("d{d}/s{s}/f{f}.txt"), format!("{d} {s} {f}\n"));
            }
        }
    }
    r.git(&["add", "."]);
    r.commit("init");
    r
}

/// A token in one directory, an edit in another, a deletion in a third, and two directories
/// untouched.
fn stage_changes(r: &Repo, seed: u64) {
    r.add("d3/s1/.env", env_line(&token(seed)));
    r.add("d0/s0/f0.txt", "changed\n");
    r.git(&["rm", "-q", "d4/s2/f3.txt"]);
}

/// `staged --format json` in `r` with the built-in index reader alone.
fn builtin_run(r: &Repo) -> std::process::Output {
    Command::cargo_bin("applivery-leaks")
        .unwrap()
        .args(["staged", "--format", "json"])
        .current_dir(r.path())
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env("APPLIVERY_LEAKS_INDEX", "builtin")
        .output()
        .unwrap()
}

/// The JSON report of the built-in index reader alone (it may not hand the index to
/// libgit2), after checking it agrees with libgit2's.
fn builtin_json(r: &Repo) -> (i32, Value) {
    let (code, v) = r.staged_json();
    let out = builtin_run(r);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let builtin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(builtin["findings"], v["findings"]);
    (code, builtin)
}

fn expect_the_token(r: &Repo, what: &str) {
    let (code, v) = builtin_json(r);
    assert_eq!(code, 1, "{what}: {v}");
    assert_eq!(
        located(&v),
        vec![("d3/s1/.env".to_string(), 1)],
        "{what}: {v}"
    );
    assert_eq!(v["summary"]["files_scanned"], 2, "{what}: {v}");
}

#[test]
fn changes_are_found_under_a_stale_and_an_up_to_date_cache_tree() {
    for version in ["2", "3", "4"] {
        let r = tree_repo();
        r.git(&["update-index", "--index-version", version]);
        // `git add` leaves the cache-tree valid only where nothing was added.
        stage_changes(&r, 60);
        expect_the_token(&r, &format!("version {version}, stale cache-tree"));
        // `git write-tree`, like `git commit` before its hook, makes it valid everywhere
        // again: the changed directories now have ids of their own, unlike HEAD's.
        r.git(&["write-tree"]);
        expect_the_token(&r, &format!("version {version}, up-to-date cache-tree"));
        // Once committed, the cache-tree is HEAD's and nothing is staged.
        r.commit("with the token");
        let (code, v) = builtin_json(&r);
        assert_eq!(code, 0, "version {version}: {v}");
        assert_eq!(v["summary"]["files_scanned"], 0, "{v}");
    }
}

#[test]
fn first_commit_with_an_up_to_date_cache_tree() {
    let r = Repo::new();
    r.write("a/b/c.txt", "x\n");
    r.write("a/.env", env_line(&token(61)));
    r.git(&["add", "."]);
    r.git(&["write-tree"]);
    let (code, v) = builtin_json(&r);
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![("a/.env".to_string(), 1)]);
}

/// `git add -N` records that a file will be added, not its content: the commit holds
/// neither, so there is nothing to scan until it is really added.
#[test]
fn an_intent_to_add_entry_is_not_staged_content() {
    let r = tree_repo();
    r.write("d2/s0/.env", env_line(&token(62)));
    r.git(&["add", "-N", "d2/s0/.env"]);
    let (code, v) = builtin_json(&r);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["files_scanned"], 0, "{v}");
    r.git(&["add", "d2/s0/.env"]);
    let (code, v) = r.staged_json();
    assert_eq!(code, 1, "{v}");
    assert_eq!(located(&v), vec![("d2/s0/.env".to_string(), 1)]);
}

/// The real thing in a tree of many directories: git refreshes the cache-tree, then runs
/// the hook, which must still find the token in the one directory that changed.
#[test]
fn a_hook_finds_the_change_among_many_directories() {
    let mut r = tree_repo();
    // The hook may not hand the index to libgit2: the clean commit would then fail.
    r.env.push(("APPLIVERY_LEAKS_INDEX", "builtin"));
    let hook = r.path().join(".git/hooks/pre-commit");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nexec '{}' staged\n",
            assert_cmd::cargo::cargo_bin("applivery-leaks").display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    r.add("d1/s2/f1.txt", "clean edit\n");
    let ok = r
        .git_cmd(&["commit", "-q", "-m", "clean"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    stage_changes(&r, 63);
    let blocked = r.git_cmd(&["commit", "-q", "-m", "leak"]).output().unwrap();
    assert!(!blocked.status.success());
    let e = String::from_utf8_lossy(&blocked.stderr);
    assert!(e.contains("d3/s1/.env:1"), "{e}");
    // `commit -a` with the token only in the work tree: a temporary index, fresh cache-tree.
    r.git(&["reset", "-q", "--hard"]);
    r.write("d2/s1/f2.txt", env_line(&token(64)));
    let blocked = r.git_cmd(&["commit", "-qam", "leak"]).output().unwrap();
    assert!(!blocked.status.success(), "commit -a must be blocked");
    assert_eq!(r.git(&["rev-list", "--count", "HEAD"]).trim(), "2");
}

/// A sparse index keeps each directory outside the sparse-checkout cone as one entry, a
/// tree. After `git reset --soft`, those trees hold what the undone commit changed there:
/// staged changes the work tree does not even have. (libgit2 cannot read such an index;
/// before, every commit in such a repository failed with an error.)
#[test]
fn a_sparse_index_directory_is_compared_tree_to_tree() {
    let r = tree_repo();
    stage_changes(&r, 65);
    r.add("d1/s0/f2.txt", "edited\n");
    r.commit("changes outside the cone");
    let sparse = r
        .git_cmd(&["sparse-checkout", "set", "--sparse-index", "d0"])
        .output()
        .unwrap();
    if !sparse.status.success() {
        eprintln!("skipped: this git has no sparse index");
        return;
    }
    assert!(r.git(&["ls-files", "--sparse"]).contains("d3/\n"));
    let run = || {
        let out = builtin_run(&r);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("{}", String::from_utf8_lossy(&out.stderr));
        });
        (out.status.code(), v)
    };
    let (code, v) = run();
    assert_eq!(code, Some(0), "{v}");
    r.git(&["reset", "-q", "--soft", "HEAD~1"]);
    let (code, v) = run();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(located(&v), vec![("d3/s1/.env".to_string(), 1)]);
    // The token's file, the edit inside the cone (d0) and the one outside it (d1).
    assert_eq!(v["summary"]["files_scanned"], 3, "{v}");
}
