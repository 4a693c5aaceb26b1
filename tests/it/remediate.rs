//! The clean-up loop on a real repository: tokens on several branches, an annotated tag, a
//! merged branch and a pull-request ref; the sweep's exposure map (refs and tip flags,
//! asserted exactly), the pack `remediate` writes (only replace-text.txt holds full tokens,
//! mode 0600), a real `git filter-repo` run from the pack, then a second sweep and `recheck`
//! that find nothing, and `recheck --verify` against a loopback stand-in of the API.
//!
//! git-filter-repo comes from pip (scripts/check-remediation.sh, which .ci/run runs); where
//! it is not installed the rewrite is skipped with a message, unless
//! APPLIVERY_LEAKS_REQUIRE_FILTER_REPO is set (CI), where that fails.

use crate::api::{tokens, Role, Server};
use crate::common::*;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository: main (c1 adds A, tagged v1; c2 deletes it; merge of hotfix; c3 deletes
/// hotfix's file), feature (from c2, adds B; also refs/pull/7/head), hotfix (from c2, adds
/// C, merged into main).
struct Built {
    repo: GitRepo,
    a: String,
    b: String,
    c: String,
    c1: String,
    f1: String,
    h1: String,
    m1: String,
    c3: String,
}

fn build() -> Built {
    let toks = tokens(3, 0x21_c1ea);
    let (a, b, c) = (toks[0].clone(), toks[1].clone(), toks[2].clone());
    let mut repo = GitRepo::new();
    repo.write("README.md", "app\n");
    repo.write("config/app.env", env_line(&a));
    let c1 = repo.commit("add config");
    repo.git(&["tag", "-a", "v1", "-m", "release 1"]);
    std::fs::remove_file(repo.path.join("config/app.env")).unwrap();
    repo.commit("read the token from CI");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.env", env_line(&b));
    let f1 = repo.commit("feature");
    repo.git(&["update-ref", "refs/pull/7/head", &f1]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "hotfix"]);
    repo.write("hotfix.env", env_line(&c));
    let h1 = repo.commit("hotfix");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "--no-edit", "hotfix"]);
    let m1 = repo.git(&["rev-parse", "HEAD"]);
    std::fs::remove_file(repo.path.join("hotfix.env")).unwrap();
    let c3 = repo.commit("drop hotfix env");
    Built {
        repo,
        a,
        b,
        c,
        c1,
        f1,
        h1,
        m1,
        c3,
    }
}

fn sweep(repo: &Path, extra: &[&str]) -> (i32, Value) {
    let out = bin()
        .args(["git", "-q", "--format", "json"])
        .args(extra)
        .arg(repo)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json_of(&out.stdout))
}

/// ref name -> (commit, at_tip) of the exposure map of the token with this SHA-256.
fn refs_of(report: &Value, token: &str) -> BTreeMap<String, (String, bool)> {
    let sha = sha256(token);
    let s = report["summary"]["git"]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secret_sha256"] == sha.as_str())
        .unwrap_or_else(|| panic!("no summary entry for {}", &token[..4]));
    s["exposure"]["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ref"].as_str().unwrap().to_string(),
                (
                    r["commit"].as_str().unwrap().to_string(),
                    r["at_tip"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

fn exposure_of<'v>(report: &'v Value, token: &str) -> &'v Value {
    let sha = sha256(token);
    &report["summary"]["git"]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secret_sha256"] == sha.as_str())
        .unwrap()["exposure"]
}

fn sha256(s: &str) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(s.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn map(entries: &[(&str, &str, bool)]) -> BTreeMap<String, (String, bool)> {
    entries
        .iter()
        .map(|(r, c, t)| (r.to_string(), (c.to_string(), *t)))
        .collect()
}

#[test]
fn exposure_map_names_every_ref_and_tip() {
    let b = build();
    let (code, report) = sweep(&b.repo.path, &[]);
    assert_eq!(code, 1);
    crate::report::assert_valid(&crate::report::schema(), &report);
    let tag_commit = b.c1.clone();
    assert_eq!(
        refs_of(&report, &b.a),
        map(&[
            ("refs/heads/feature", &b.f1, false),
            ("refs/heads/hotfix", &b.h1, false),
            ("refs/heads/main", &b.c3, false),
            ("refs/pull/7/head", &b.f1, false),
            ("refs/tags/v1", &tag_commit, true),
        ])
    );
    assert_eq!(
        refs_of(&report, &b.b),
        map(&[
            ("refs/heads/feature", &b.f1, true),
            ("refs/pull/7/head", &b.f1, true),
        ])
    );
    assert_eq!(
        refs_of(&report, &b.c),
        map(&[
            ("refs/heads/hotfix", &b.h1, true),
            ("refs/heads/main", &b.c3, false),
        ])
    );
    let e = exposure_of(&report, &b.c);
    // The merge commit holds C too, but only the hotfix commit introduced it.
    assert_eq!(e["introduced"], serde_json::json!([b.h1]));
    assert_eq!(e["last_commit"], b.m1.as_str());
    assert_eq!(e["paths"], serde_json::json!(["hotfix.env"]));
    let e = exposure_of(&report, &b.a);
    assert_eq!(e["introduced"], serde_json::json!([b.c1]));
    assert_eq!(e["last_commit"], b.c1.as_str());
    assert_eq!(e["paths"], serde_json::json!(["config/app.env"]));
    // The forge's ref is marked as such.
    let pr = e["refs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ref"] == "refs/pull/7/head")
        .unwrap();
    assert_eq!(pr["forge_owned"], true);
    // No full token in the report.
    let text = report.to_string();
    for t in [&b.a, &b.b, &b.c] {
        assert!(!text.contains(t.as_str()));
    }

    // With --verify, each entry carries its token's verdict and blast radius.
    let api = Server::start(HashMap::from([
        (b.a.clone(), Role::Invalid),
        (b.b.clone(), Role::Live),
    ]));
    let (_, verified) = sweep(
        &b.repo.path,
        &["--verify", "--api-url", &api.url(), "--verify-rps", "100"],
    );
    crate::report::assert_valid(&crate::report::schema(), &verified);
    let status = |t: &str| {
        let sha = sha256(t);
        verified["summary"]["git"]["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["secret_sha256"] == sha.as_str())
            .unwrap()["verification"]
            .clone()
    };
    assert_eq!(status(&b.a)["status"], "revoked");
    assert_eq!(status(&b.b)["status"], "live");
    assert_eq!(status(&b.b)["blast_radius"]["kind"], "app");
    assert_eq!(status(&b.c)["status"], "revoked");
    assert_eq!(refs_of(&verified, &b.b), refs_of(&report, &b.b));

    // A range has no exposure map (it sees only part of the graph).
    let (_, ranged) = sweep(&b.repo.path, &["--since", &b.c1]);
    for s in ranged["summary"]["git"]["secrets"].as_array().unwrap() {
        assert!(s.get("exposure").is_none(), "{s}");
    }

    // Markdown and HTML show the map.
    let md = bin()
        .args(["git", "-q", "--format", "markdown"])
        .arg(&b.repo.path)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("### Exposure map"), "{md}");
    assert!(
        md.contains(&format!(
            "| `{}…` | refs/heads/hotfix | `{}` | **yes** |",
            &b.c[..4],
            &b.h1[..12]
        )),
        "{md}"
    );
    let html = bin()
        .args(["git", "-q", "--format", "html"])
        .arg(&b.repo.path)
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&html.stdout);
    assert!(
        html.contains("<tr data-ref=\"refs/pull/7/head\" data-tip=\"1\">"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"remediation/revoke.md\">"),
        "{html}"
    );
}

#[test]
fn a_clean_repository_has_no_exposure_to_compute() {
    let mut repo = GitRepo::new();
    repo.write("README.md", "nothing here\n");
    repo.commit("init");
    let (code, report) = sweep(&repo.path, &[]);
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["git"]["secrets"], serde_json::json!([]));
}

/// git-filter-repo's directory, if installed (PATH, or the venv scripts/lib/tools.sh makes).
fn filter_repo() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-tools/venv/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(venv)
        .chain(std::env::split_paths(&path))
        .find(|d| d.join("git-filter-repo").is_file())
}

fn git_at(dir: &Path, path_dir: &Path, args: &[&str]) -> std::process::Output {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![path_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap()
}

#[test]
fn pack_purge_and_recheck() {
    let b = build();
    let work = tempfile::TempDir::new().unwrap();
    let report_path = work.path().join("sweep.json");
    let out = bin()
        .args(["git", "-q", "--format", "json", "-o"])
        .arg(&report_path)
        .arg(&b.repo.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // The pack, from the redacted report: tokens are read again from the repository.
    let pack = work.path().join("pack");
    let out = bin()
        .arg("remediate")
        .arg(&report_path)
        .arg("--out")
        .arg(&pack)
        .arg("--repo")
        .arg(&b.repo.path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("replace-text.txt holds 3 full token(s) (mode 0600)")
            && err.contains("delete it once the history is purged"),
        "{err}"
    );
    let replace = pack.join("replace-text.txt");
    let text = std::fs::read_to_string(&replace).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    let mut want: Vec<String> = [&b.a, &b.b, &b.c]
        .iter()
        .map(|t| format!("{t}==>***REMOVED-APPLIVERY-TOKEN***"))
        .collect();
    want.sort();
    assert_eq!(lines, want);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&replace).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No other file of the pack holds a full token.
    let mut files: Vec<String> = std::fs::read_dir(&pack)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "incident.html",
            "purge.md",
            "recheck.sh",
            "replace-text.txt",
            "report.json",
            "revoke.md"
        ]
    );
    for f in &files {
        if f == "replace-text.txt" {
            continue;
        }
        let body = std::fs::read_to_string(pack.join(f)).unwrap();
        for t in [&b.a, &b.b, &b.c] {
            assert!(!body.contains(t.as_str()), "{f} holds a full token");
        }
    }
    let purge = std::fs::read_to_string(pack.join("purge.md")).unwrap();
    let rt = replace.canonicalize().unwrap().display().to_string();
    assert!(
        purge.contains(&format!(
            "git filter-repo --sensitive-data-removal --replace-text '{rt}' --replace-message '{rt}'"
        )),
        "{purge}"
    );
    assert!(purge.contains("--replace-text"), "{purge}");
    assert!(purge.contains(&format!("- `refs/pull/7/head` (commit `{}`)", b.f1)));
    assert!(purge.contains("bfg.jar --replace-text"));
    let revoke = std::fs::read_to_string(pack.join("revoke.md")).unwrap();
    assert_eq!(revoke.matches("App API token").count(), 3, "{revoke}");
    assert!(revoke.contains("Settings > Integrations > API Tokens"));
    let html = std::fs::read_to_string(pack.join("incident.html")).unwrap();
    assert!(html.contains("<a href=\"purge.md\">"));
    let sh = std::fs::read_to_string(pack.join("recheck.sh")).unwrap();
    assert!(sh.contains("recheck \"$here/report.json\""));

    // Before any purge: every token is still there, at its refs.
    let out = bin()
        .arg("recheck")
        .arg(pack.join("report.json"))
        .arg("--repo")
        .arg(&b.repo.path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with("3 token(s) of the report: 3 still in the history"),
        "{said}"
    );
    assert!(said.contains("refs/heads/hotfix (at tip)"), "{said}");

    let Some(tools) = filter_repo() else {
        assert!(
            std::env::var_os("APPLIVERY_LEAKS_REQUIRE_FILTER_REPO").is_none(),
            "git-filter-repo is required here but not installed (scripts/check-remediation.sh)"
        );
        eprintln!(
            "SKIPPED: the history rewrite of pack_purge_and_recheck: git-filter-repo is not \
             installed (bash scripts/check-remediation.sh installs it with pip and runs it)"
        );
        return;
    };

    // The purge as purge.md says: a mirror clone, filter-repo, then the second sweep.
    let mirror = work.path().join("purge.git");
    let out = git_at(
        work.path(),
        &tools,
        &[
            "clone",
            "-q",
            "--mirror",
            b.repo.path.to_str().unwrap(),
            mirror.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = git_at(
        &mirror,
        &tools,
        &[
            "filter-repo",
            "--sensitive-data-removal",
            "--replace-text",
            &rt,
            "--replace-message",
            &rt,
        ],
    );
    assert!(
        out.status.success(),
        "git filter-repo failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, after) = sweep(&mirror, &["--include-unreachable"]);
    assert_eq!(code, 0, "{after:#}");
    assert_eq!(after["findings"], serde_json::json!([]));
    let shown = git_at(&mirror, &tools, &["show", "refs/heads/hotfix:hotfix.env"]);
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout),
        "APPLIVERY_APP_TOKEN=***REMOVED-APPLIVERY-TOKEN***\n"
    );
    // The rewritten refs are all still there.
    let refs = String::from_utf8_lossy(
        &git_at(&mirror, &tools, &["for-each-ref", "--format=%(refname)"]).stdout,
    )
    .into_owned();
    for r in [
        "refs/heads/feature",
        "refs/heads/hotfix",
        "refs/heads/main",
        "refs/pull/7/head",
        "refs/tags/v1",
    ] {
        assert!(refs.lines().any(|l| l == r), "{r} missing: {refs}");
    }

    // recheck: all purged (exit 0 without --verify).
    let out = bin()
        .arg("recheck")
        .arg(pack.join("report.json"))
        .arg("--repo")
        .arg(&mirror)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.starts_with("3 token(s) of the report: 0 still in the history"),
        "{said}"
    );
    assert_eq!(
        said.matches("purged from history; not checked (--verify)")
            .count(),
        3
    );

    // recheck --verify through recheck.sh: the tokens come from replace-text.txt; B is
    // still live, A and C are revoked.
    let api = Server::start(HashMap::from([
        (b.a.clone(), Role::Invalid),
        (b.b.clone(), Role::Live),
        (b.c.clone(), Role::Invalid),
    ]));
    let bin_path = assert_cmd::cargo::cargo_bin("applivery-leaks");
    let out = std::process::Command::new("sh")
        .arg(pack.join("recheck.sh"))
        .arg(&mirror)
        .env("APPLIVERY_LEAKS", &bin_path)
        .env("APPLIVERY_API_URL", api.url())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: BTreeMap<String, String> = said
        .lines()
        .skip(1)
        .map(|l| {
            let (tok, rest) = l.trim().split_once(' ').unwrap();
            (
                tok.to_string(),
                rest.rsplit("; ").next().unwrap().to_string(),
            )
        })
        .collect();
    let short = |t: &str| format!("{}…", &t[..4]);
    assert_eq!(verdicts[&short(&b.a)], "revoked", "{said}");
    assert_eq!(verdicts[&short(&b.b)], "live", "{said}");
    assert_eq!(verdicts[&short(&b.c)], "revoked", "{said}");
    api.assert_tokens_only_in_authorization(&[b.a.clone(), b.b.clone(), b.c.clone()]);
}

#[test]
fn remediate_refuses_what_it_cannot_use() {
    let work = tempfile::TempDir::new().unwrap();
    // Not a report.
    write(work.path(), "x.json", "{}");
    let out = bin()
        .args(["remediate"])
        .arg(work.path().join("x.json"))
        .arg("--out")
        .arg(work.path().join("p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    // A report of another repository: its tokens are not there.
    let b = build();
    let report = work.path().join("r.json");
    bin()
        .args(["git", "-q", "--format", "json", "-o"])
        .arg(&report)
        .arg(&b.repo.path)
        .output()
        .unwrap();
    let mut other = GitRepo::new();
    other.write("a", "b\n");
    other.commit("x");
    let out = bin()
        .args(["remediate"])
        .arg(&report)
        .arg("--out")
        .arg(work.path().join("p"))
        .arg("--repo")
        .arg(&other.path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("3 of the report's 3 token(s) are not in"),
        "{err}"
    );
    assert!(!work.path().join("p/replace-text.txt").exists());
}

#[test]
fn archives_encoded_tokens_and_messages_in_the_map_and_the_pack() {
    use base64::Engine as _;
    let toks = tokens(3, 0x21_a7c4);
    let (zipped, encoded, said) = (&toks[0], &toks[1], &toks[2]);
    let mut repo = GitRepo::new();
    repo.write(
        "dist/app.zip",
        crate::artefacts::zip_of(&[("assets/config.env", env_line(zipped).as_bytes())], false),
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(encoded.as_bytes());
    repo.write("ci/secret.yml", format!("applivery_api_token_b64: {b64}\n"));
    let first = repo.commit(&format!("ci: applivery token {said}"));
    let (code, report) = sweep(&repo.path, &[]);
    assert_eq!(code, 1, "{report:#}");
    crate::report::assert_valid(&crate::report::schema(), &report);
    let zipped_map = exposure_of(&report, zipped);
    assert_eq!(
        zipped_map["paths"],
        serde_json::json!(["dist/app.zip!/assets/config.env"])
    );
    assert_eq!(zipped_map["introduced"], serde_json::json!([first]));
    assert_eq!(
        exposure_of(&report, said)["paths"],
        serde_json::json!(["<commit-message>"])
    );
    assert_eq!(
        refs_of(&report, said),
        map(&[("refs/heads/main", &first, true)])
    );

    let work = tempfile::TempDir::new().unwrap();
    let path = work.path().join("r.json");
    std::fs::write(&path, report.to_string()).unwrap();
    let pack = work.path().join("pack");
    let out = bin()
        .arg("remediate")
        .arg(&path)
        .arg("--out")
        .arg(&pack)
        .arg("--repo")
        .arg(&repo.path)
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replace = std::fs::read_to_string(pack.join("replace-text.txt")).unwrap();
    // Each token, and the part of the encoded one's base64 that is always the same.
    for t in [zipped, encoded, said] {
        assert!(replace.contains(&format!("{t}==>")), "{replace}");
    }
    let stable = &b64[..(encoded.len() / 3) * 4];
    assert!(replace.contains(&format!("{stable}==>")), "{replace}");
    let purge = std::fs::read_to_string(pack.join("purge.md")).unwrap();
    assert!(
        purge.contains(
            "git filter-repo --sensitive-data-removal --invert-paths --path 'dist/app.zip'"
        ),
        "{purge}"
    );
    for f in [
        "purge.md",
        "revoke.md",
        "report.json",
        "incident.html",
        "recheck.sh",
    ] {
        let body = std::fs::read_to_string(pack.join(f)).unwrap();
        for t in [zipped, encoded, said, &b64] {
            assert!(!body.contains(t.as_str()), "{f} holds a full token");
        }
    }
}

#[test]
fn recheck_fails_closed_on_what_it_cannot_read() {
    let mut repo = GitRepo::new();
    let t = tokens(1, 0x21_0bad).remove(0);
    repo.write(".env", env_line(&t));
    repo.commit("leak");
    let work = tempfile::TempDir::new().unwrap();
    let report = work.path().join("r.json");
    bin()
        .args(["git", "-q", "--format", "json", "-o"])
        .arg(&report)
        .arg(&repo.path)
        .output()
        .unwrap();
    let one_line_exit_2 = |args: &[&std::ffi::OsStr], what: &str| {
        let out = bin().arg("recheck").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(err.starts_with("applivery-leaks: error: "), "{what}: {err}");
        assert!(!err.contains(t.as_str()));
    };
    let missing = work.path().join("missing.txt");
    one_line_exit_2(
        &[
            report.as_os_str(),
            "--repo".as_ref(),
            repo.path.as_os_str(),
            "--tokens".as_ref(),
            missing.as_os_str(),
        ],
        "a --tokens file that is not there",
    );
    one_line_exit_2(
        &[
            missing.as_os_str(),
            "--repo".as_ref(),
            repo.path.as_os_str(),
        ],
        "a report that is not there",
    );
    let not_repo = work.path().join("plain");
    std::fs::create_dir(&not_repo).unwrap();
    one_line_exit_2(
        &[report.as_os_str(), "--repo".as_ref(), not_repo.as_os_str()],
        "a directory that is no repository",
    );
    // A report of a directory scan is not one remediation can use.
    let dir_report = work.path().join("dir.json");
    bin()
        .args(["dir", "-q", "--format", "json", "-o"])
        .arg(&dir_report)
        .arg(&repo.path)
        .output()
        .unwrap();
    one_line_exit_2(
        &[
            dir_report.as_os_str(),
            "--repo".as_ref(),
            repo.path.as_os_str(),
        ],
        "a dir report",
    );
    // Still there: exit 1, and the JSON form says where.
    let out = bin()
        .arg("recheck")
        .arg(&report)
        .arg("--repo")
        .arg(&repo.path)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out.stdout);
    assert_eq!(v["tokens"][0]["history"], "present");
    assert_eq!(v["tokens"][0]["paths"], serde_json::json!([".env"]));
    assert_eq!(
        v["tokens"][0]["exposure"]["refs"][0]["ref"],
        "refs/heads/main"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(t.as_str()));
}

#[test]
fn a_branch_named_with_the_token_is_redacted_in_the_map() {
    let t = tokens(1, 0x21_b4a7).remove(0);
    let mut repo = GitRepo::new();
    repo.write(".env", env_line(&t));
    repo.commit("leak");
    repo.git(&["branch", &format!("backup-{t}")]);
    let (code, report) = sweep(&repo.path, &[]);
    assert_eq!(code, 1);
    let text = report.to_string();
    assert!(!text.contains(t.as_str()), "{text}");
    let refs = refs_of(&report, &t);
    assert_eq!(refs.len(), 2, "{refs:?}");
    assert!(refs.contains_key("refs/heads/main"));
    assert!(
        refs.keys()
            .any(|r| r.starts_with("refs/heads/backup-") && r.ends_with('…')),
        "{refs:?}"
    );
}
