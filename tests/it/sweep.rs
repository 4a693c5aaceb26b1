//! Sweeps of many repositories, end to end: repositories served by `git daemon` on
//! loopback (mirrored, fetched again, one that fails to clone), local ones, resume after an
//! interruption, shards merged back into exactly one unsharded run, the incident report
//! formats, and the GitHub and GitLab APIs (a loopback stand-in): pagination, rate limits,
//! a bad token, an unknown organisation.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{bin, env_line, json_of, token, GitRepo};
use crate::sweep_net::{Answer, Api, Daemon};

/// A repository with `files` committed (one commit each), by a fixed author.
fn repo_with(files: &[(&str, String)]) -> GitRepo {
    let mut r = GitRepo::new();
    r.write("README.md", "hello\n");
    r.commit("init");
    for (path, text) in files {
        r.write(path, text);
        r.commit(&format!("add {path}"));
    }
    r
}

/// A bare copy of `r` at `base/name`, as a server holds it.
fn publish(r: &GitRepo, base: &Path, name: &str) {
    let out = r
        .cmd(&[
            "clone",
            "-q",
            "--bare",
            ".",
            base.join(name).to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The binary, with git isolated from the user's config and a private HOME.
pub(crate) fn sweep_bin(home: &Path) -> assert_cmd::Command {
    let mut c = bin();
    c.env("HOME", home)
        .env_remove("XDG_CACHE_HOME")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TOKEN")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("CI_NODE_INDEX")
        .env_remove("CI_NODE_TOTAL")
        .env_remove("APPLIVERY_LEAKS_SHARD_COUNT");
    c
}

fn repos_of(report: &Value) -> Vec<(String, String)> {
    report["summary"]["repositories"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["repository"].as_str().unwrap().to_string(),
                o["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn remote_repositories_are_mirrored_and_a_failed_clone_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    fs::create_dir(&served).unwrap();
    let t1 = token(1301);
    let a = repo_with(&[(".env", env_line(&t1))]);
    let b = repo_with(&[("notes.txt", "nothing here\n".into())]);
    publish(&a, &served, "a.git");
    publish(&b, &served, "b.git");
    let daemon = Daemon::start(&served);
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("report.json");
    // A repository that does not exist, and one whose URL carries a password.
    let secret_url = "http://alice:hunter2-pw@127.0.0.1:1/team/x.git";
    let run = sweep_bin(tmp.path())
        .args(["git", &daemon.url("a.git"), &daemon.url("b.git")])
        .arg(daemon.url("missing.git"))
        .arg(secret_url)
        .arg("--cache")
        .arg(&cache)
        .args(["--format", "json", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).to_string();
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let report = json_of(&fs::read(&out).unwrap());
    crate::report::assert_valid(&crate::report::schema(), &report);
    let mut repos = repos_of(&report);
    repos.sort();
    let mut want = vec![
        (daemon.identity("a.git"), "scanned".to_string()),
        (daemon.identity("b.git"), "scanned".to_string()),
        (daemon.identity("missing.git"), "failed".to_string()),
        ("127.0.0.1:1/team/x".to_string(), "failed".to_string()),
    ];
    want.sort();
    assert_eq!(repos, want);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(
        findings[0]["provenance"]["repository"],
        json!(daemon.identity("a.git"))
    );
    assert_eq!(findings[0]["path"], ".env");
    // Each failure is an error with its reason, one line each on stderr.
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e["reason"]
        .as_str()
        .unwrap()
        .starts_with("git clone failed")));
    assert!(stderr.contains(&format!(
        "applivery-leaks: error: {}: git clone failed",
        daemon.identity("missing.git")
    )));
    // The password is nowhere: not on stderr, in the report, or in the cache.
    assert!(!stderr.contains("hunter2"), "{stderr}");
    for f in all_files(tmp.path()) {
        if f.starts_with(&served) {
            continue;
        }
        let bytes = fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("hunter2"),
            "password in {}",
            f.display()
        );
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&t1),
            "token in {}",
            f.display()
        );
    }
    // The mirrors are in the cache, with every ref.
    let mirrors: Vec<_> = fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(mirrors.len(), 2, "{mirrors:?}");
}

#[test]
fn nothing_found_but_a_repository_failed_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    fs::create_dir(&served).unwrap();
    let b = repo_with(&[("notes.txt", "clean\n".into())]);
    publish(&b, &served, "b.git");
    let daemon = Daemon::start(&served);
    let run = sweep_bin(tmp.path())
        .args(["git", &daemon.url("b.git"), &daemon.url("gone.git")])
        .arg("--cache")
        .arg(tmp.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("2 repositories: 1 swept, 0 resumed from earlier reports, 1 failed"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "failed {}: git clone failed",
            daemon.identity("gone.git")
        )),
        "{text}"
    );
}

#[test]
fn later_runs_fetch_and_resume_what_did_not_move() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    fs::create_dir(&served).unwrap();
    let names = ["r1.git", "r2.git", "r3.git"];
    let mut sources = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let r = repo_with(&[(".env", env_line(&token(1400 + i as u64)))]);
        publish(&r, &served, n);
        sources.push(r);
    }
    let daemon = Daemon::start(&served);
    let list = tmp.path().join("repos.txt");
    let lines: Vec<String> = names.iter().map(|n| daemon.url(n)).collect();
    fs::write(&list, format!("# the org\n\n{}\n", lines.join("\n"))).unwrap();
    let outdir = tmp.path().join("out");
    let sweep = |out: &str| {
        let run = sweep_bin(tmp.path())
            .args(["git", "--repos-from"])
            .arg(&list)
            .arg("--cache")
            .arg(tmp.path().join("cache"))
            .arg("--output-dir")
            .arg(&outdir)
            .args(["--format", "json", "-q", "-o"])
            .arg(tmp.path().join(out))
            .output()
            .unwrap();
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        json_of(&fs::read(tmp.path().join(out)).unwrap())
    };
    let first = sweep("1.json");
    assert!(repos_of(&first).iter().all(|(_, s)| s == "scanned"));
    for f in fs::read_dir(&outdir).unwrap().flatten() {
        let one = json_of(&fs::read(f.path()).unwrap());
        crate::report::assert_valid(&crate::report::schema(), &one);
        assert_eq!(one["summary"]["repositories"]["total"], 1);
        assert_eq!(one["findings"].as_array().unwrap().len(), 1);
        assert!(one["findings"][0]["last_commit"]["commit"].is_string());
    }
    assert_eq!(fs::read_dir(&outdir).unwrap().count(), 3);

    // Interrupted: one report never written, another cut off half-way.
    let mut reports: Vec<PathBuf> = fs::read_dir(&outdir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    reports.sort();
    fs::remove_file(&reports[0]).unwrap();
    let half = fs::read(&reports[1]).unwrap();
    fs::write(&reports[1], &half[..half.len() / 2]).unwrap();
    let second = sweep("2.json");
    let statuses: Vec<String> = repos_of(&second).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "resumed").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(first["findings"], second["findings"]);

    // Nothing moved: everything resumes. Then a push to one: only it is swept again, and
    // its new secret is found (the mirror was fetched).
    let third = sweep("3.json");
    assert!(repos_of(&third).iter().all(|(_, s)| s == "resumed"));
    assert_eq!(first["findings"], third["findings"]);
    let mut r2 = GitRepo::new();
    r2.git(&[
        "pull",
        "-q",
        served.join("r2.git").to_str().unwrap(),
        "main",
    ]);
    let t_new = token(1499);
    r2.write("ci.env", env_line(&t_new));
    r2.commit("ci");
    r2.git(&[
        "push",
        "-q",
        served.join("r2.git").to_str().unwrap(),
        "main",
    ]);
    let fourth = sweep("4.json");
    let scanned: Vec<String> = repos_of(&fourth)
        .into_iter()
        .filter(|(_, s)| s == "scanned")
        .map(|(r, _)| r)
        .collect();
    assert_eq!(scanned, vec![daemon.identity("r2.git")]);
    assert_eq!(fourth["findings"].as_array().unwrap().len(), 4);
    assert!(fourth["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "ci.env"
            && f["provenance"]["repository"] == json!(daemon.identity("r2.git"))));
}

/// Eight local repositories; a token shared by three of them.
fn org(tmp: &Path) -> Vec<String> {
    let shared = token(1500);
    let mut paths = Vec::new();
    for i in 0..8u64 {
        let mut files = vec![(".env", env_line(&token(1510 + i)))];
        if i % 3 == 0 {
            files.push(("deploy/fastlane.env", env_line(&shared)));
        }
        let r = repo_with(&files);
        let dest = tmp.join(format!("repo-{i}"));
        fs::rename(&r.path, &dest).unwrap();
        paths.push(dest.to_string_lossy().into_owned());
    }
    paths
}

#[test]
fn shards_merged_give_exactly_the_unsharded_report() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = org(tmp.path());
    let list = tmp.path().join("repos.txt");
    fs::write(&list, paths.join("\n")).unwrap();
    let json_run = |extra: &[&str], out: &str| {
        let run = sweep_bin(tmp.path())
            .current_dir(tmp.path())
            .args([
                "git",
                "--repos-from",
                "repos.txt",
                "--format",
                "json",
                "-q",
                "-o",
                out,
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(run.status.code() == Some(1) || run.status.code() == Some(0));
        json_of(&fs::read(tmp.path().join(out)).unwrap())
    };
    let whole = json_run(&[], "whole.json");
    assert_eq!(whole["findings"].as_array().unwrap().len(), 8 + 3);
    let n = 3;
    let mut covered = Vec::new();
    for k in 1..=n {
        let part = json_run(
            &["--shard", &format!("{k}/{n}")],
            &format!("shard-{k}.json"),
        );
        assert_eq!(
            part["summary"]["repositories"]["shard"],
            json!(format!("{k}/{n}"))
        );
        covered.extend(repos_of(&part).into_iter().map(|(r, _)| r));
    }
    covered.sort();
    let mut all: Vec<String> = repos_of(&whole).into_iter().map(|(r, _)| r).collect();
    all.sort();
    assert_eq!(covered, all, "each repository in exactly one shard");
    let merged = bin()
        .current_dir(tmp.path())
        .args([
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(merged.status.code(), Some(1));
    let merged = json_of(&merged.stdout);
    crate::report::assert_valid(&crate::report::schema(), &merged);
    assert_eq!(merged["findings"], whole["findings"]);
    assert_eq!(
        merged["summary"]["git"]["secrets"],
        whole["summary"]["git"]["secrets"]
    );
    assert_eq!(
        merged["summary"]["repositories"]["list"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    // The shared token is one secret with three places.
    let shared = crate::common::token(1500);
    let sha = merged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "deploy/fastlane.env")
        .unwrap()["secret_sha256"]
        .clone();
    let entry = merged["summary"]["git"]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secret_sha256"] == sha)
        .unwrap()
        .clone();
    assert_eq!(entry["repositories"].as_array().unwrap().len(), 3);
    assert_eq!(
        merged["summary"]["git"]["secrets"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
    assert!(!merged.to_string().contains(&shared));
    // Merging a shard twice, or a shard and the whole, changes nothing.
    let again = bin()
        .current_dir(tmp.path())
        .args([
            "merge",
            "whole.json",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "shard-1.json",
        ])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&again.stdout)["findings"], whole["findings"]);
}

#[test]
fn the_shard_comes_from_the_schedulers_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = org(tmp.path());
    let list = |envs: &[(&str, &str)], extra: &[&str]| -> Vec<String> {
        let mut c = sweep_bin(tmp.path());
        c.arg("git").args(&paths).arg("--list-repos").args(extra);
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    let all = list(&[], &[]);
    assert_eq!(all.len(), 8);
    let mut k8s: Vec<String> = (0..2)
        .flat_map(|i| {
            list(
                &[("JOB_COMPLETION_INDEX", &i.to_string())],
                &["--shard-count", "2"],
            )
        })
        .collect();
    let mut gitlab: Vec<String> = (1..=2)
        .flat_map(|i| {
            list(
                &[("CI_NODE_INDEX", &i.to_string()), ("CI_NODE_TOTAL", "2")],
                &[],
            )
        })
        .collect();
    let mut flag: Vec<String> = (1..=2)
        .flat_map(|i| list(&[], &["--shard", &format!("{i}/2")]))
        .collect();
    for v in [&mut k8s, &mut gitlab, &mut flag] {
        v.sort();
    }
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(k8s, sorted);
    assert_eq!(gitlab, sorted);
    assert_eq!(flag, k8s);
    // An index without a count is a one-line error, before anything is swept.
    let out = sweep_bin(tmp.path())
        .arg("git")
        .args(&paths)
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--shard-count") && err.lines().count() == 1,
        "{err}"
    );
    // A single-repository `git` ignores the environment: it is not a sweep of many.
    let one = sweep_bin(tmp.path())
        .args(["git", &paths[0], "--format", "json"])
        .env("CI_NODE_INDEX", "2")
        .env("CI_NODE_TOTAL", "7")
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(1));
    assert!(json_of(&one.stdout)["summary"]
        .get("repositories")
        .is_none());
}

#[test]
fn incident_reports_escape_what_a_hostile_repository_controls() {
    let tmp = tempfile::tempdir().unwrap();
    let t = token(1601);
    let r = GitRepo::new();
    r.write("<img src=x onerror=alert(1)>.env", env_line(&t));
    r.cmd(&["add", "-A"]).output().unwrap();
    let out = r
        .cmd(&[
            "commit",
            "-q",
            "-m",
            "<script>alert('pwned')</script> | [x](http://evil)",
        ])
        .env("GIT_AUTHOR_NAME", "Mallory \"><iframe src=//evil>")
        .output()
        .unwrap();
    assert!(out.status.success());
    let other = repo_with(&[("b/.env", env_line(&t))]);
    let html = tmp.path().join("incident.html");
    let run = sweep_bin(tmp.path())
        .arg("git")
        .arg(&r.path)
        .arg(&other.path)
        .args(["--format", "html", "-q", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let page = fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;.env"),
        "path shown as text"
    );
    for raw in ["<img", "<iframe", "alert('pwned')"] {
        assert!(!page.contains(raw), "{raw} unescaped");
    }
    assert_eq!(page.matches("<script").count(), 1, "only our own script");
    assert!(
        page.contains("Content-Security-Policy")
            && !page.contains("http://")
            && !page.contains("https://"),
        "nothing loads from the network"
    );
    assert!(!page.contains(&t), "the token is redacted");
    assert!(page.contains(&format!("{}…", &t[..4])));
    // One token, two repositories: one row.
    assert_eq!(page.matches("<tr data-status=").count(), 1);
    let md = sweep_bin(tmp.path())
        .arg("git")
        .arg(&r.path)
        .arg(&other.path)
        .args(["--format", "markdown", "-q"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("| Live | Revoked | Unknown | Not verified | Still in HEAD |"),
        "{md}"
    );
    assert!(
        !md.contains("<img") && !md.contains("<iframe") && !md.contains(&t),
        "{md}"
    );
    // Every table row has the header's number of cells: no `|` got through.
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| unverified"))
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].matches(" | ").count() - rows[0].matches("\\| ").count(),
        6,
        "{}",
        rows[0]
    );
    // With --show-secrets the page holds it, and says so.
    let shown = sweep_bin(tmp.path())
        .arg("git")
        .arg(&r.path)
        .args(["--format", "html", "-q", "--show-secrets", "--output-dir"])
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains(&t) && shown.contains("keep it private"));
}

#[test]
fn html_and_markdown_work_for_single_repository_and_dir_scans() {
    let r = repo_with(&[(".env", env_line(&token(1701)))]);
    for args in [vec!["git"], vec!["dir"]] {
        let out = bin()
            .args(&args)
            .arg(&r.path)
            .args(["--format", "html"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let page = String::from_utf8_lossy(&out.stdout);
        assert!(page.contains("<tr data-status=\"unverified\""), "{args:?}");
        let out = bin()
            .args(&args)
            .arg(&r.path)
            .args(["--format", "markdown"])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 unique token(s)"));
    }
}

#[test]
fn merge_refuses_what_is_not_a_json_report_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("x.sarif");
    fs::write(&bad, r#"{"version": "2.1.0", "runs": []}"#).unwrap();
    let out = bin().arg("merge").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not an applivery-leaks JSON report"), "{err}");
}

/// A GitHub organisation of three repositories on two pages, served by `daemon`, with a
/// rate limit on the second page. `foreign` makes the next-page link point elsewhere.
fn github(daemon: &Daemon, token: &'static str, foreign: bool) -> Api {
    let (a, b, c) = (
        daemon.url("a.git"),
        daemon.url("b.git"),
        daemon.url("c.git"),
    );
    Api::start(move |req, n| {
        if req.header("authorization") != Some(&format!("Bearer {token}")) {
            return Answer::json(401, json!({"message": "Bad credentials"}));
        }
        if req.path == "/orgs/acme/repos?type=all&per_page=100" {
            let host = if foreign {
                "127.0.0.2:9".to_string()
            } else {
                req.header("host").unwrap().to_string()
            };
            return Answer::json(
                200,
                json!([
                    {"full_name": "acme/a", "clone_url": a, "archived": false, "fork": false},
                    {"full_name": "acme/b", "clone_url": b, "archived": true, "fork": false},
                ]),
            )
            .header(
                "Link",
                format!("<http://{host}/orgs/acme/repos?page=2>; rel=\"next\", <http://{host}/orgs/acme/repos?page=2>; rel=\"last\""),
            );
        }
        if req.path == "/orgs/acme/repos?page=2" {
            if n == 1 {
                // The quota runs out: come back at the reset time (now + 1 s).
                let reset = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    + 1;
                return Answer::json(403, json!({"message": "API rate limit exceeded"}))
                    .header("X-RateLimit-Remaining", "0")
                    .header("X-RateLimit-Reset", reset.to_string());
            }
            return Answer::json(
                200,
                json!([{"full_name": "acme/c", "clone_url": c, "archived": false, "fork": true}]),
            );
        }
        Answer::json(404, json!({"message": "Not Found"}))
    })
}

const GH_TOKEN: &str = "ghp_fake_token_for_tests_only_0000";

fn served_org(tmp: &Path, secret: &str) -> Daemon {
    let served = tmp.join("served");
    fs::create_dir(&served).unwrap();
    for (name, text) in [
        ("a.git", env_line(secret)),
        ("b.git", "x\n".into()),
        ("c.git", "y\n".into()),
    ] {
        publish(&repo_with(&[(".env", text)]), &served, name);
    }
    Daemon::start(&served)
}

#[test]
fn a_github_organisation_is_listed_page_by_page_through_a_rate_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let t = token(1801);
    let daemon = served_org(tmp.path(), &t);
    let api = github(&daemon, GH_TOKEN, false);
    let list = |extra: &[&str]| {
        let out = sweep_bin(tmp.path())
            .args([
                "git",
                "--github-org",
                "acme",
                "--github-api-url",
                &api.base(),
                "--list-repos",
            ])
            .args(extra)
            .env("GITHUB_TOKEN", GH_TOKEN)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let started = std::time::Instant::now();
    assert_eq!(
        list(&[]),
        vec![
            daemon.identity("a.git"),
            daemon.identity("b.git"),
            daemon.identity("c.git")
        ]
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "waited for the reset"
    );
    let reqs = api.requests();
    assert_eq!(reqs.len(), 3, "page 1, page 2 rate limited, page 2 again");
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some(&*format!("Bearer {GH_TOKEN}"))));
    assert_eq!(
        list(&["--skip-archived", "--skip-forks"]),
        vec![daemon.identity("a.git")]
    );

    // The whole sweep: enumerate, mirror over the git protocol, find the token.
    let run = sweep_bin(tmp.path())
        .args([
            "git",
            "--github-org",
            "acme",
            "--github-api-url",
            &api.base(),
            "--skip-forks",
        ])
        .arg("--cache")
        .arg(tmp.path().join("cache"))
        .args(["--format", "json"])
        .env("GITHUB_TOKEN", GH_TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report = json_of(&run.stdout);
    assert_eq!(repos_of(&report).len(), 2);
    assert_eq!(
        report["findings"][0]["provenance"]["repository"],
        json!(daemon.identity("a.git"))
    );
    assert!(!String::from_utf8_lossy(&run.stderr).contains(GH_TOKEN));
}

#[test]
fn github_errors_are_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = served_org(tmp.path(), &token(1802));
    let api = github(&daemon, GH_TOKEN, false);
    let fail = |org: &str, tok: &str| {
        let out = sweep_bin(tmp.path())
            .args(["git", "--github-org", org, "--github-api-url", &api.base()])
            .env("GITHUB_TOKEN", tok)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains(tok));
        err
    };
    let err = fail("acme", "ghp_wrong_token_0000000000000000");
    assert!(
        err.contains("GitHub rejected the token in GITHUB_TOKEN (HTTP 401: Bad credentials)"),
        "{err}"
    );
    let err = fail("nope", GH_TOKEN);
    assert!(
        err.contains("GitHub organisation 'nope' not found"),
        "{err}"
    );
    // A next-page link to another host: the token is not sent there.
    let foreign = github(&daemon, GH_TOKEN, true);
    let out = sweep_bin(tmp.path())
        .args([
            "git",
            "--github-org",
            "acme",
            "--github-api-url",
            &foreign.base(),
        ])
        .env("GITHUB_TOKEN", GH_TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing a pagination link to another host")
    );
    // Plain http to a host that is not loopback is refused before any request.
    let out = sweep_bin(tmp.path())
        .args([
            "git",
            "--github-org",
            "acme",
            "--github-api-url",
            "http://api.example.com",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http:// is refused"));
}

#[test]
fn a_gitlab_group_and_its_subgroups_through_x_next_page_and_a_429() {
    let tmp = tempfile::tempdir().unwrap();
    let t = token(1901);
    let daemon = served_org(tmp.path(), &t);
    let (a, b, c) = (
        daemon.url("a.git"),
        daemon.url("b.git"),
        daemon.url("c.git"),
    );
    const GL_TOKEN: &str = "glpat-fake-token-for-tests-0000";
    let api = Api::start(move |req, n| {
        if req.header("private-token") != Some(GL_TOKEN) {
            return Answer::json(401, json!({"message": "401 Unauthorized"}));
        }
        let Some(q) = req
            .path
            .strip_prefix("/api/v4/groups/acme%2Fmobile/projects?")
        else {
            return Answer::json(404, json!({"message": "404 Group Not Found"}));
        };
        assert!(q.contains("include_subgroups=true"), "{q}");
        if !q.contains("page=2") {
            return Answer::json(
                200,
                json!([
                    {"path_with_namespace": "acme/mobile/a", "http_url_to_repo": a, "archived": false},
                    {"path_with_namespace": "acme/mobile/ios/b", "http_url_to_repo": b, "archived": false,
                     "forked_from_project": {"id": 1}},
                ]),
            )
            .header("X-Next-Page", "2");
        }
        if n == 1 {
            return Answer::json(429, json!({"message": "Retry later"}))
                .header("RateLimit-Reset", "1");
        }
        Answer::json(
            200,
            json!([{"path_with_namespace": "acme/mobile/c", "http_url_to_repo": c, "archived": true}]),
        )
        .header("X-Next-Page", "")
    });
    let out = sweep_bin(tmp.path())
        .args([
            "git",
            "--gitlab-group",
            "acme/mobile",
            "--gitlab-url",
            &api.base(),
        ])
        .arg("--cache")
        .arg(tmp.path().join("cache"))
        .args(["--format", "json"])
        .env("GITLAB_TOKEN", GL_TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repos_of(&json_of(&out.stdout)).len(), 3);
    assert_eq!(api.requests().len(), 3);
    let skip = sweep_bin(tmp.path())
        .args([
            "git",
            "--gitlab-group",
            "acme/mobile",
            "--gitlab-url",
            &api.base(),
        ])
        .args(["--skip-forks", "--skip-archived", "--list-repos"])
        .env("GITLAB_TOKEN", GL_TOKEN)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&skip.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(api
        .requests()
        .last()
        .unwrap()
        .path
        .contains("archived=false"));
    let bad = sweep_bin(tmp.path())
        .args([
            "git",
            "--gitlab-group",
            "acme/web",
            "--gitlab-url",
            &api.base(),
        ])
        .env("GITLAB_TOKEN", GL_TOKEN)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("GitLab group 'acme/web' not found"));
}

#[test]
fn a_corrupt_repository_is_listed_and_the_sweep_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let clean_token = token(2001);
    let good = repo_with(&[(".env", env_line(&clean_token))]);
    let mut bad = GitRepo::new();
    bad.write("b.env", env_line(&token(2002)));
    bad.commit("b");
    let blob = bad.git(&["rev-parse", "HEAD:b.env"]);
    let loose = bad.loose_object(&blob);
    let mut perms = fs::metadata(&loose).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&loose, perms).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&loose)
        .unwrap()
        .set_len(20)
        .unwrap();
    let not_a_repo = tmp.path().join("plain-dir");
    fs::create_dir(&not_a_repo).unwrap();
    let out = sweep_bin(tmp.path())
        .arg("git")
        .arg(&bad.path)
        .arg(&not_a_repo)
        .arg(&good.path)
        .args(["--format", "json", "--output-dir"])
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out.stdout);
    let bad_id = bad.path.to_string_lossy().to_string();
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["repository"] == json!(bad_id)
            && e["reason"].as_str().unwrap().contains("truncated")),
        "{errors:?}"
    );
    let status: Vec<(String, String)> = repos_of(&v);
    assert!(status.contains(&(
        not_a_repo.to_string_lossy().to_string(),
        "failed".to_string()
    )));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    // A repository with errors is swept again on a rerun, not resumed.
    let again = sweep_bin(tmp.path())
        .arg("git")
        .arg(&bad.path)
        .arg(&good.path)
        .args(["--format", "json", "--output-dir"])
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let again = json_of(&again.stdout);
    let statuses = repos_of(&again);
    assert!(
        statuses.contains(&(bad_id, "scanned".to_string())),
        "{statuses:?}"
    );
    assert!(statuses.contains(&(
        good.path.to_string_lossy().to_string(),
        "resumed".to_string()
    )));
}

#[test]
fn progress_shows_on_a_terminal_and_nowhere_else() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = org(tmp.path());
    let exe = assert_cmd::cargo::cargo_bin("applivery-leaks");
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut cmd = format!("{} git", quote(exe.to_str().unwrap()));
    for p in &paths {
        cmd.push(' ');
        cmd.push_str(&quote(p));
    }
    cmd.push_str(" --format json -o ");
    cmd.push_str(&quote(tmp.path().join("tty.json").to_str().unwrap()));
    // Under a pseudo-terminal (util-linux `script`), as a person would run it.
    let screen = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&screen.stdout);
    assert!(screen.contains("/8 repositories"), "{screen}");
    assert!(
        screen.contains("elapsed") && screen.contains("left"),
        "{screen}"
    );
    // Not a terminal: one line naming the count, no progress.
    let out = sweep_bin(tmp.path())
        .arg("git")
        .args(&paths)
        .args(["--format", "json", "-o"])
        .arg(tmp.path().join("pipe.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "applivery-leaks: 8 repositories", "{err}");
}

#[test]
fn output_to_a_device_or_pipe_is_written_not_replaced() {
    use std::os::unix::fs::FileTypeExt as _;
    // A FIFO stands in for /dev/null: renaming a report over it would replace it (as root,
    // `-o /dev/null` once replaced the machine's /dev/null with a file).
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(&fifo).unwrap())
    };
    let r = repo_with(&[(".env", env_line(&token(2101)))]);
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("applivery-leaks"));
    c.arg("dir")
        .arg(&r.path)
        .args(["--format", "json", "-o"])
        .arg(&fifo);
    let (code, _, err, _) = crate::common::run_with_deadline(c, 30);
    assert_eq!(code, 1, "{err}");
    assert!(
        fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "the pipe was replaced by a file"
    );
    let got = reader.join().unwrap();
    assert_eq!(json_of(&got)["findings"].as_array().unwrap().len(), 1);
}
