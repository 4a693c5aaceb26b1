//! Gates that cannot be fooled or switched off (issue 17): `--fail-on live` only with
//! `--verify`, the project config of a range from its base, scans that saw nothing fail,
//! baselines in linear time, rule files never echoed, clone URLs kept to their host, report
//! files never written through a planted link, one identity per repository.

use crate::common::*;
use crate::sweep::sweep_bin;

use std::path::Path;
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 2 and exactly one line on stderr, an error line.
fn one_error_line(o: &Output) -> String {
    let e = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {} stderr: {e}",
        stdout(o)
    );
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(e.starts_with("applivery-leaks: error: "), "{e}");
    e
}

fn tree_with_token(seed: u64) -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let tok = token(seed);
    write(d.path(), ".env", &env_line(&tok));
    (d, tok)
}

#[test]
fn fail_on_live_without_verify_is_refused() {
    let (d, _) = tree_with_token(0x17_0001);
    let dir = d.path().to_str().unwrap();
    for args in [
        vec!["dir", dir, "--fail-on", "live"],
        vec!["git", dir, "--fail-on", "live"],
        vec!["staged", dir, "--fail-on", "live"],
        vec!["stdin", "--fail-on", "live"],
    ] {
        let o = bin().args(&args).write_stdin("").output().unwrap();
        let e = one_error_line(&o);
        assert!(e.contains("--fail-on live needs --verify"), "{args:?}: {e}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing scanned");
    }
    // With --verify the combination is accepted (checked before any connection: a bad URL).
    let o = bin()
        .args([
            "dir",
            dir,
            "--fail-on",
            "live",
            "--verify",
            "--api-url",
            "ftp://x",
        ])
        .output()
        .unwrap();
    let e = one_error_line(&o);
    assert!(e.contains("--api-url"), "{e}");
}

/// The action adds --verify itself for `fail-on: live`, once, even when `args` has it.
#[test]
fn the_action_implies_verify_for_fail_on_live() {
    let (d, _) = tree_with_token(0x17_0002);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/github/scan.sh");
    for extra in ["", "--verify"] {
        let tmp = tempfile::tempdir().unwrap();
        let o = std::process::Command::new("bash")
            .arg(&script)
            .current_dir(d.path())
            .env(
                "APPLIVERY_LEAKS",
                assert_cmd::cargo::cargo_bin("applivery-leaks"),
            )
            .env("INPUT_FAIL_ON", "live")
            .env(
                "INPUT_ARGS",
                format!("{extra} --api-url ftp://refused.invalid"),
            )
            .env("RUNNER_TEMP", tmp.path())
            .env_remove("GITHUB_OUTPUT")
            .output()
            .unwrap();
        let (out, err) = (stdout(&o), stderr(&o));
        let shown = out.lines().next().unwrap_or("");
        assert_eq!(shown.matches("--verify").count(), 1, "{shown}");
        // The scanner got --verify: it checked the API URL (and refused this one), rather
        // than refusing --fail-on live alone.
        assert_eq!(o.status.code(), Some(2), "{out}{err}");
        assert!(err.contains("--api-url"), "{err}");
    }
}

/// A baseline of `n` random fingerprints, one finding per line.
fn baseline_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut x: u64 = 0x17_0004 + n as u64;
    let mut s = String::from("{\"findings\": [\n");
    for i in 0..n {
        let mut fp = String::new();
        for _ in 0..2 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            fp.push_str(&format!("{x:016x}"));
        }
        let sep = if i + 1 == n { "" } else { "," };
        s.push_str(&format!("  {{\"fingerprint\": \"{fp}\"}}{sep}\n"));
    }
    s.push_str("]}\n");
    let p = dir.join(format!("baseline-{n}.json"));
    std::fs::write(&p, s).unwrap();
    p
}

/// Loading a baseline is linear: 100k fingerprints well inside a bound a quadratic load
/// (minutes at this size) cannot meet, and 5x the entries costs far less than 25x the time.
/// `cargo run --release --example bench_baseline` prints the numbers.
#[test]
fn baselines_load_in_linear_time() {
    let d = tempfile::tempdir().unwrap();
    let clean = d.path().join("clean");
    write(&clean, "README.md", "nothing to see\n");
    let time = |n: usize| {
        let b = baseline_file(d.path(), n);
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("applivery-leaks"));
        c.args(["dir", "--no-config", "-q", "--baseline"])
            .arg(&b)
            .arg(&clean);
        let (code, _, err, took) = run_with_deadline(c, 60);
        assert_eq!(code, 0, "{err}");
        took
    };
    let small = time(20_000);
    let large = time(100_000);
    assert!(
        large.as_secs_f64() < 10.0 * small.as_secs_f64() + 1.0,
        "20k: {small:?}, 100k: {large:?}"
    );
    assert!(large.as_secs_f64() < 20.0, "100k: {large:?}");
}

/// The wrong file passed as a rule file (a `.env` with a token, a JSON report, TOML that
/// quotes the token in a bad place) is refused in one line that holds none of its text.
#[test]
fn rule_files_are_never_echoed() {
    let d = tempfile::tempdir().unwrap();
    let tok = token(0x17_0006);
    let bodies = [
        env_line(&tok),
        format!("{tok}\n"),
        format!("{{\"findings\": [{{\"secret\": \"{tok}\"}}]}}\n"),
        format!("[[rules]]\nid = \"x\"\ndescription = \"{tok}\"\nregex = 3\n"),
        format!("[[rules]]\nid = \"x\"\ndescription = \"d\"\nregex = '(?P<secret>{tok}'\n"),
        format!("rules = \"{tok}\"\n"),
        format!("{tok} = 1\n"),
    ];
    write(d.path(), "clean.txt", "nothing\n");
    for (i, body) in bodies.iter().enumerate() {
        let f = d.path().join(format!("r{i}.toml"));
        std::fs::write(&f, body).unwrap();
        let f = f.to_str().unwrap();
        let clean = d.path().join("clean.txt");
        let clean = clean.to_str().unwrap();
        for args in [
            vec!["rules", "check", f],
            vec!["dir", clean, "--no-config", "--rules", f],
            vec!["rules", "--rules", f],
            vec!["dir", clean, "--config", f],
        ] {
            let o = bin().args(&args).output().unwrap();
            let e = one_error_line(&o);
            assert!(
                !e.contains(&tok) && !stdout(&o).contains(&tok),
                "{args:?}: {e}"
            );
            assert!(e.contains(&format!("r{i}.toml")), "names the file: {e}");
        }
    }
}

// ---- item 2: a review cannot switch its own gate off ----

/// A repository whose main branch is clean, and a branch `pr` that adds `files` and a token.
fn pull_request(files: &[(&str, &str)], seed: u64) -> (GitRepo, String) {
    let mut r = GitRepo::new();
    r.write("README.md", "hello\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "pr"]);
    let tok = token(seed);
    for (p, text) in files {
        r.write(p, text.replace("{tok}", &tok));
    }
    r.write("deploy/.env", env_line(&tok));
    r.commit("add deploy settings");
    (r, tok)
}

fn range_scan(r: &GitRepo, extra: &[&str]) -> Output {
    bin()
        .current_dir(&r.path)
        .args(["git", "--range", "main..pr", "--format", "json"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_pull_request_cannot_switch_its_gate_off() {
    let fp_of = |r: &GitRepo| {
        let o = range_scan(r, &["--no-config"]);
        json_of(&o.stdout)["findings"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (file, body) in [
        (".applivery-leaks.toml", "placeholders = [\".\"]\n"),
        (
            ".applivery-leaks.toml",
            "disable = [\"applivery-app-token\"]\n",
        ),
        (".applivery-leaks.toml", "exclude = [\"deploy/\"]\n"),
        (".applivery-leaksignore", "FP\n"),
    ] {
        let (r, _) = pull_request(&[], 0x17_0201);
        // The ignore file lists the very finding the branch adds.
        let body = if body == "FP\n" {
            format!("{}\n", fp_of(&r))
        } else {
            body.to_string()
        };
        r.write(file, &body);
        let mut r = r;
        r.commit("quiet the scanner");
        let o = range_scan(&r, &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{file} {body}: {e}");
        let v = json_of(&o.stdout);
        assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v}");
        assert!(v["warnings"].to_string().contains(file), "{v}");
        assert!(
            e.contains(&format!(
                "applivery-leaks: error: {file} is changed by main..pr"
            )),
            "{e}"
        );
        // --since takes the config from its revision too.
        let o = bin()
            .current_dir(&r.path)
            .args(["git", "--since", "main", "-q"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    }
}

#[test]
fn a_config_change_alone_fails_the_gate_and_a_pinned_config_is_kept() {
    let mut r = GitRepo::new();
    r.write("README.md", "hello\n");
    r.write(".applivery-leaks.toml", "exclude = [\"docs/\"]\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "pr"]);
    r.write(
        ".applivery-leaks.toml",
        "exclude = [\"docs/\", \"deploy/\"]\n",
    );
    r.commit("widen the excludes");
    let o = range_scan(&r, &["-q"]);
    let e = one_error_line(&o);
    assert!(
        e.contains(".applivery-leaks.toml is changed by main..pr"),
        "{e}"
    );
    assert!(e.contains("at main"), "{e}");
    // A config pinned from outside the repository: the repository's file is not used, so
    // its change is not news; the scan is clean.
    let ci = tempfile::tempdir().unwrap();
    write(ci.path(), "leaks.toml", "exclude = [\"docs/\"]\n");
    let pinned = ci.path().join("leaks.toml");
    let o = range_scan(&r, &["--config", pinned.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // `--config` naming the repository's own file is read from the base, and a file only
    // the branch adds is refused.
    r.write("ci/leaks.toml", "placeholders = [\".\"]\n");
    r.commit("a config of our own");
    let o = range_scan(&r, &["--config", "ci/leaks.toml"]);
    let e = one_error_line(&o);
    assert!(e.contains("not in main"), "{e}");
}

#[test]
fn a_staged_config_change_is_told_and_head_config_is_used() {
    let mut r = GitRepo::new();
    r.write("README.md", "hello\n");
    r.commit("init");
    let tok = token(0x17_0203);
    r.write(".applivery-leaks.toml", "placeholders = [\".\"]\n");
    r.write(".env", env_line(&tok));
    r.git(&["add", "-A"]);
    let o = bin()
        .current_dir(&r.path)
        .args(["staged"])
        .output()
        .unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(".applivery-leaks.toml is changed by the staged changes"),
        "{e}"
    );
    // Once committed, the config is the project's.
    r.git(&["commit", "-q", "--no-verify", "-m", "config"]);
    r.write(".env", env_line(&token(0x17_0204)));
    r.git(&["add", "-A"]);
    let o = bin()
        .current_dir(&r.path)
        .args(["staged", "-q"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        o.stderr.is_empty() && o.stdout.is_empty(),
        "-q and clean: silent"
    );
}

/// Findings the config hides with `placeholders` or `disable` are counted, and
/// `--no-suppress` shows them.
#[test]
fn placeholders_and_disabled_rules_are_counted_and_overridden() {
    for (cfg, key) in [
        ("placeholders = [\"^[A-Za-z0-9]{24}$\"]\n", "placeholder"),
        ("disable = [\"applivery-app-token\"]\n", "config-disable"),
    ] {
        let (d, _) = tree_with_token(0x17_0205);
        write(d.path(), ".applivery-leaks.toml", cfg);
        let dir = d.path().to_str().unwrap();
        let o = bin()
            .args(["dir", dir, "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json_of(&o.stdout);
        assert_eq!(v["summary"]["suppressed"][key], 1, "{cfg}: {v}");
        let o = bin()
            .args(["dir", dir, "--no-suppress", "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{cfg}: {}", stderr(&o));
        let o = bin().args(["dir", dir]).output().unwrap();
        assert!(
            stdout(&o).contains(&format!("1 suppressed (1 {key})")),
            "{}",
            stdout(&o)
        );
    }
}

// ---- item 7: a scan that saw nothing fails ----

#[test]
fn scans_that_saw_nothing_exit_2_with_one_line() {
    let empty = tempfile::tempdir().unwrap();
    let e = empty.path().to_str().unwrap();
    let o = bin().args(["dir", e]).output().unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("nothing was scanned: no files"), "{line}");

    let (d, _) = tree_with_token(0x17_0701);
    let dir = d.path().to_str().unwrap();
    let o = bin()
        .args(["dir", dir, "--exclude", "**", "-q"])
        .output()
        .unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("nothing was scanned"), "{line}");

    // Everything gitignored: the line says so and names the flag.
    write(d.path(), ".gitignore", "*\n");
    let o = bin().args(["dir", dir, "-q"]).output().unwrap();
    let line = one_error_line(&o);
    assert!(
        line.contains("ignored by .gitignore") && line.contains("--no-ignore"),
        "{line}"
    );
    let o = bin()
        .args(["dir", dir, "--no-ignore", "-q"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    let o = bin()
        .args(["git", "--repos-from", "/dev/null"])
        .output()
        .unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("no repositories"), "{line}");

    let o = bin().args(["verify"]).write_stdin("").output().unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("no tokens given"), "{line}");

    let o = bin()
        .args(["stdin"])
        .write_stdin(b"\x00\x01\x02binary\x00".to_vec())
        .output()
        .unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("binary"), "{line}");

    // A path that does not exist: one line, no report.
    let o = bin()
        .args(["dir", &format!("{e}/missing")])
        .output()
        .unwrap();
    let line = one_error_line(&o);
    assert!(line.contains("missing") && o.stdout.is_empty(), "{line}");
}

/// A gitignored file is not scanned, and the run says how many were left out.
#[test]
fn ignored_files_are_counted() {
    let (d, _) = tree_with_token(0x17_0702);
    write(d.path(), ".gitignore", ".env\n");
    write(d.path(), "README.md", "hello\n");
    let o = bin()
        .args(["dir", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("1 file(s) ignored by .gitignore") && e.contains("--no-ignore"),
        "{e}"
    );
    let o = bin()
        .args(["dir", "-q", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

// ---- rough edges ----

#[test]
fn unwritable_outputs_fail_before_scanning() {
    let (d, _) = tree_with_token(0x17_0703);
    let dir = d.path().to_str().unwrap();
    let missing = d.path().join("no/such/dir/report.json");
    let o = bin()
        .args(["dir", dir, "-o", missing.to_str().unwrap()])
        .output()
        .unwrap();
    let e = one_error_line(&o);
    assert!(e.contains("cannot write report to"), "{e}");
    assert!(!e.contains(".applivery-leaks"), "no internal file: {e}");
    let o = bin().args(["dir", dir, "-o", dir]).output().unwrap();
    let e = one_error_line(&o);
    assert!(e.contains("is a directory"), "{e}");
}

#[test]
fn rules_refuses_formats_it_cannot_write() {
    for f in ["sarif", "html", "github"] {
        let o = bin().args(["rules", "--format", f]).output().unwrap();
        let e = one_error_line(&o);
        assert!(e.contains("text or json"), "{e}");
    }
    let o = bin().args(["rules", "--format", "json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn no_next_verify_hint_after_a_verify_run() {
    let (d, _) = tree_with_token(0x17_0704);
    let o = bin()
        .args(["dir", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(stdout(&o).contains("--verify"), "{}", stdout(&o));
    // --verify against a loopback port nobody listens on: verification runs (unknown).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = bin()
        .args([
            "dir",
            d.path().to_str().unwrap(),
            "--verify",
            "--verify-timeout",
            "1",
        ])
        .env("APPLIVERY_LEAKS_TEST_LOOPBACK", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(out.contains("unknown"), "{out}{}", stderr(&o));
    assert!(!out.contains("--verify` tells"), "{out}");
}

// ---- items 8, 9, 10: sweeps ----

#[test]
fn option_like_clone_urls_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let pwned = tmp.path().join("pwned");
    for url in [
        format!("ssh://-oProxyCommand=touch%20{}/x", pwned.display()),
        "ssh://git@-oProxyCommand=x/y".to_string(),
        "ssh://git@host/-upload-pack=x".to_string(),
        "git@host:-x/y".to_string(),
        "https://host/a b".to_string(),
    ] {
        let list = tmp.path().join("list");
        std::fs::write(&list, format!("{url}\n")).unwrap();
        let o = sweep_bin(tmp.path())
            .args(["git", "--repos-from"])
            .arg(&list)
            .args(["--cache"])
            .arg(tmp.path().join("cache"))
            .output()
            .unwrap();
        let e = one_error_line(&o);
        assert!(e.contains("refusing the URL"), "{url}: {e}");
        assert!(!pwned.exists());
    }
}

/// An organisation listing whose clone URLs point to another host than the API's is
/// refused unless that host is allowed; an option-like URL in a listing is refused too.
#[test]
fn clone_urls_of_a_listing_stay_on_the_api_host() {
    use crate::sweep_net::{Answer, Api};
    use serde_json::json;
    let tmp = tempfile::tempdir().unwrap();
    let api = Api::start(|req, _| {
        let clone = match req.path.as_str() {
            "/orgs/elsewhere/repos?type=all&per_page=100" => "https://collector.example/acme/a.git",
            "/orgs/option/repos?type=all&per_page=100" => "ssh://-oProxyCommand=x/acme/a.git",
            "/orgs/home/repos?type=all&per_page=100" => "git://127.0.0.1:9/acme/a.git",
            _ => return Answer::json(404, json!({"message": "Not Found"})),
        };
        Answer::json(200, json!([{"full_name": "acme/a", "clone_url": clone}]))
    });
    let list = |org: &str, extra: &[&str]| {
        sweep_bin(tmp.path())
            .args(["git", "--github-org", org, "--github-api-url", &api.base()])
            .args(["--list-repos"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = list("elsewhere", &[]);
    let e = one_error_line(&o);
    assert!(
        e.contains("collector.example") && e.contains("--allow-clone-host"),
        "{e}"
    );
    let o = list("elsewhere", &["--allow-clone-host", "collector.example"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("collector.example/acme/a"),
        "{}",
        stdout(&o)
    );
    let o = list("option", &["--allow-clone-host=-oProxyCommand=x"]);
    let e = one_error_line(&o);
    assert!(e.contains("refusing"), "{e}");
    let o = list("home", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn one_repository_named_many_ways_is_swept_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = GitRepo::new();
    r.write(".env", env_line(&token(0x17_1001)));
    r.commit("one");
    let acme = tmp.path().join("acme");
    std::fs::create_dir_all(acme.join("x")).unwrap();
    let bare = acme.join("r.git");
    let out = r
        .cmd(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::os::unix::fs::symlink(&bare, tmp.path().join("link.git")).unwrap();
    let o = sweep_bin(tmp.path())
        .current_dir(tmp.path())
        .args([
            "git",
            "acme/r.git",
            "acme/x/../../acme/r.git",
            "./acme/r.git/",
            "link.git",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_of(&o.stdout);
    assert_eq!(
        v["summary"]["repositories"]["list"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{v}"
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{v}");
    assert!(stderr(&o).contains("1 repository"), "{}", stderr(&o));
    // URLs: the same path spelled with `..` and `//` is one identity.
    let o = sweep_bin(tmp.path())
        .args([
            "git",
            "https://git.example.com/acme/x/../../acme/r.git",
            "https://git.example.com//acme/r",
            "--list-repos",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
}

/// A symbolic link planted where a sweep writes a repository's report is replaced, and
/// what it pointed to is left alone.
#[test]
fn output_dir_never_follows_a_planted_link() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = GitRepo::new();
    r.write("README.md", "hello\n");
    r.commit("one");
    let out = tmp.path().join("out");
    let sweep = || {
        sweep_bin(tmp.path())
            .args(["git", "-q", "--output-dir"])
            .arg(&out)
            .arg(&r.path)
            .output()
            .unwrap()
    };
    let o = sweep();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let report = &names[0];
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::remove_file(report).unwrap();
    std::os::unix::fs::symlink(&victim, report).unwrap();
    let o = sweep();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let meta = std::fs::symlink_metadata(report).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced by the report"
    );
    assert!(std::fs::read_to_string(report)
        .unwrap()
        .contains("\"findings\""));
}

#[test]
fn small_rough_edges() {
    // clap's errors are one line in the shape of every other error.
    let o = bin().args(["dir", "--no-such-flag"]).output().unwrap();
    let e = one_error_line(&o);
    assert!(e.contains("--no-such-flag"), "{e}");
    // A huge number is not echoed digit by digit.
    let o = bin()
        .args(["verify", "--verify-timeout", "1e308", "x"])
        .output()
        .unwrap();
    let e = one_error_line(&o);
    assert!(e.contains("1e308") && e.len() < 200, "{e}");
    // merge reads a report from standard input.
    let (d, _) = tree_with_token(0x17_1101);
    let o = bin()
        .args(["dir", "--format", "json", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    let report = o.stdout;
    let o = bin()
        .args(["merge", "-", "--format", "json"])
        .write_stdin(report)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json_of(&o.stdout)["findings"].as_array().unwrap().len(), 1);
    // verify's summary counts tokens, not files.
    let o = bin()
        .args([
            "verify",
            "--api-url",
            "http://127.0.0.1:9",
            "--verify-timeout",
            "0.5",
        ])
        .write_stdin(format!("{}\n", token(0x17_1102)))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("1 token(s) checked") && !out.contains("file(s)"),
        "{out}"
    );
}

/// On a terminal, `dir` shows how far it is (a pseudo-terminal from `script`); `-q` and a
/// pipe show nothing.
#[test]
fn dir_shows_progress_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no `script` (util-linux) to make a terminal: skipped");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    for i in 0..600 {
        write(d.path(), &format!("f{i}.txt"), "hello\n");
    }
    let exe = assert_cmd::cargo::cargo_bin("applivery-leaks");
    let out = d.path().join("report.txt");
    let on_tty = |extra: &str| {
        let cmd = format!(
            "{} dir {} -j 1 -o {} {extra}",
            exe.display(),
            d.path().display(),
            out.display()
        );
        let o = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    let shown = on_tty("");
    assert!(
        shown.contains(" file(s), ") && shown.contains(" MiB ("),
        "{shown}"
    );
    let quiet = on_tty("-q");
    assert!(!quiet.contains(" MiB ("), "{quiet}");
    let piped = bin()
        .args([
            "dir",
            d.path().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!stderr(&piped).contains(" MiB ("), "{}", stderr(&piped));
}

#[test]
fn a_binary_file_named_alone_is_named_in_the_error() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("zero.bin"), [0u8; 64]).unwrap();
    let o = bin()
        .current_dir(d.path())
        .args(["dir", "zero.bin", "-q"])
        .output()
        .unwrap();
    let e = one_error_line(&o);
    assert!(
        e.starts_with("applivery-leaks: error: zero.bin: nothing was scanned: binary"),
        "{e}"
    );
}

/// A listing whose next page is one already read stops at once instead of asking 10,000
/// times.
#[test]
fn a_pagination_loop_stops_at_once() {
    use crate::sweep_net::{Answer, Api};
    use serde_json::json;
    let tmp = tempfile::tempdir().unwrap();
    // Page 1 links to page 2, which links back to page 1.
    let api = Api::start(|req, _| {
        let host = req.header("host").unwrap().to_string();
        let next = if req.path.ends_with("&page=2") {
            req.path.trim_end_matches("&page=2").to_string()
        } else {
            format!("{}&page=2", req.path)
        };
        Answer::json(200, json!([])).header("Link", format!("<http://{host}{next}>; rel=\"next\""))
    });
    let o = sweep_bin(tmp.path())
        .args([
            "git",
            "--github-org",
            "acme",
            "--github-api-url",
            &api.base(),
        ])
        .arg("--list-repos")
        .output()
        .unwrap();
    let e = one_error_line(&o);
    assert!(e.contains("pagination loop"), "{e}");
    assert_eq!(api.requests().len(), 2);
}

/// A branch that is behind its base did not change a file the base changed after the
/// fork: no notice, and the base's (newer) config is the one used.
#[test]
fn a_branch_behind_its_base_is_not_blamed_for_the_base_config() {
    let mut r = GitRepo::new();
    r.write("README.md", "hello\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "pr"]);
    r.write("notes.txt", "a note\n");
    r.commit("a note");
    r.git(&["checkout", "-q", "main"]);
    r.write(".applivery-leaks.toml", "exclude = [\"docs/\"]\n");
    r.commit("config on main");
    let o = range_scan(&r, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

/// A report written with --show-secrets holds the token in a file's name too; merging it
/// without --show-secrets redacts both.
#[test]
fn merge_redacts_a_token_in_a_name() {
    let d = tempfile::tempdir().unwrap();
    let tok = token(0x17_0301);
    write(d.path(), &format!("applivery/{tok}.env"), &env_line(&tok));
    let o = bin()
        .args(["dir", "--show-secrets", "--format", "json"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(stdout(&o).contains(&format!("{tok}.env")), "{}", stdout(&o));
    for format in ["json", "text", "html", "markdown", "sarif"] {
        let m = bin()
            .args(["merge", "-", "--format", format])
            .write_stdin(o.stdout.clone())
            .output()
            .unwrap();
        assert_eq!(m.status.code(), Some(1), "{}", stderr(&m));
        let all = format!("{}{}", stdout(&m), stderr(&m));
        assert!(!all.contains(&tok[4..]), "{format}: {all}");
    }
}

/// An --output-dir that cannot be created fails before any listing or clone.
#[test]
fn an_unusable_output_dir_fails_first() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = sweep_bin(tmp.path())
        .args(["git", "--repos-from", "/dev/null", "--output-dir"])
        .arg(file.join("sub"))
        .output()
        .unwrap();
    let e = one_error_line(&o);
    assert!(e.contains("--output-dir"), "{e}");
}
