//! `applivery-leaks git` on clones that hold their history in other ways: bare, as a
//! worktree, shallow, or borrowed from another repository through `objects/info/alternates`.

use crate::common::token;
use crate::git::{env_line, findings, git_in, history_with_token, keys, scan};

#[test]
fn bare_clones_and_worktrees_give_the_same_findings() {
    let (r, _) = history_with_token();
    let (_, full) = scan(&r.path, &[]);
    let bare = r.sibling("bare.git");
    git_in(
        r.path.parent().unwrap(),
        &["clone", "-q", "--bare", "repo", "bare.git"],
        0,
    );
    let (code, v) = scan(&bare, &[]);
    assert_eq!(code, 1);
    assert_eq!(keys(&v), keys(&full));

    let wt = r.sibling("wt");
    r.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().unwrap(),
        "-b",
        "wt-branch",
    ]);
    let (code, v) = scan(&wt, &[]);
    assert_eq!(code, 1);
    assert_eq!(keys(&v), keys(&full));
}

#[test]
fn shallow_clone_warns_and_scans_what_exists() {
    let (r, _) = history_with_token();
    let url = format!("file://{}", r.path.display());
    git_in(
        r.path.parent().unwrap(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
        0,
    );
    let (code, v) = scan(&r.sibling("shallow"), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["git"]["shallow"], true);
    assert_eq!(v["summary"]["git"]["commits_walked"], 1);
    let w = v["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w.as_str().unwrap().contains("shallow")),
        "{v:#}"
    );
    assert_eq!(findings(&v).len(), 1);
    assert_eq!(findings(&v)[0]["in_head"], true);
}

/// A clone that borrows its history through `objects/info/alternates` (`git clone --shared`,
/// as CI caches do), read through the blob pass's own pack readers: every packed blob of
/// the borrowed history is swept, with an absolute and a relative alternates path, and on
/// one thread or several.
#[test]
fn a_clone_borrowing_objects_through_alternates_is_swept_whole() {
    let (r, _) = history_with_token();
    r.git(&["gc", "-q"]);
    let (_, full) = scan(&r.path, &[]);
    assert_eq!(findings(&full).len(), 1);
    let shared = r.sibling("shared");
    git_in(
        r.path.parent().unwrap(),
        &["clone", "-q", "--shared", "repo", "shared"],
        0,
    );
    std::fs::write(shared.join("later.env"), env_line(&token(77))).unwrap();
    git_in(&shared, &["add", "-A"], 0);
    git_in(&shared, &["commit", "-q", "-m", "later"], 5);
    git_in(&shared, &["repack", "-q", "-d", "-l"], 0);
    let alternates = shared.join(".git/objects/info/alternates");
    let absolute = std::fs::read_to_string(&alternates).unwrap();
    assert!(absolute.trim().starts_with('/'), "{absolute}");
    for list in [absolute.as_str(), "../../../repo/.git/objects\n"] {
        std::fs::write(&alternates, list).unwrap();
        for threads in ["1", "3"] {
            let (code, v) = scan(&shared, &["-j", threads]);
            assert_eq!(code, 1, "{list} -j {threads}: {v}");
            assert_eq!(findings(&v).len(), 2, "{list} -j {threads}: {v}");
            assert!(keys(&full).is_subset(&keys(&v)), "{list} -j {threads}");
        }
    }
}
