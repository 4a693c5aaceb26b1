//! `pre-receive` and `pre-push`, driven by real pushes: `git push` into a bare repository
//! through `file://` and through `git daemon` on loopback, with the hook installed as a
//! server would install it. Every push is checked for what landed, not only for the exit
//! code.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use crate::artefacts::{tar_of, zip_of};
use crate::common::{bin, json_of, token, GitRepo};

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("applivery-leaks")
}

fn env_line(t: &str) -> String {
    format!("APPLIVERY_APP_TOKEN={t}\n")
}

/// A bare repository with the hook installed. The hook first records, for each pushed
/// object, whether the repository's own object directory (without git's quarantine) holds
/// it yet, then hands its standard input to `applivery-leaks pre-receive`.
struct Server {
    tmp: tempfile::TempDir,
    bare: PathBuf,
}

impl Server {
    fn new() -> Server {
        Server::with_hook("")
    }

    /// `args`: extra arguments of `pre-receive` (shell words).
    fn with_hook(args: &str) -> Server {
        let tmp = tempfile::TempDir::new().unwrap();
        let bare = tmp.path().join("srv.git");
        let s = Server { tmp, bare };
        s.git(&[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            s.bare.to_str().unwrap(),
        ]);
        s.git_in(&["config", "receive.advertisePushOptions", "true"]);
        s.install(&format!("{} pre-receive {args}", binary().display()));
        s
    }

    /// Installs the hook running `command` (after the quarantine probe).
    fn install(&self, command: &str) {
        let hook = self.bare.join("hooks/pre-receive");
        fs::write(
            &hook,
            format!(
                "#!/bin/sh\n\
                 input=$(cat)\n\
                 printf '%s\\n' \"$input\" | while read old new ref; do\n\
                 \x20 if env -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES \
                 -u GIT_QUARANTINE_PATH git cat-file -e \"$new\" 2>/dev/null; then\n\
                 \x20   echo \"probe: $new in the main object directory\"\n\
                 \x20 else\n\
                 \x20   echo \"probe: $new only in quarantine\"\n\
                 \x20 fi\n\
                 done\n\
                 printf '%s\\n' \"$input\" | {command}\n"
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn uninstall(&self) {
        fs::remove_file(self.bare.join("hooks/pre-receive")).unwrap();
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn git_in(&self, args: &[&str]) -> String {
        let mut a = vec!["-C", self.bare.to_str().unwrap()];
        a.extend_from_slice(args);
        self.git(&a)
    }

    fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// The commit `refname` names on the server, if it exists.
    fn rev(&self, refname: &str) -> Option<String> {
        let out = Command::new("git")
            .args([
                "-C",
                self.bare.to_str().unwrap(),
                "rev-parse",
                "--verify",
                "-q",
                refname,
            ])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Writes the server config and returns its path.
    fn config(&self, text: &str) -> PathBuf {
        let p = self.tmp.path().join("server.toml");
        fs::write(&p, text).unwrap();
        p
    }

    fn audit_path(&self) -> PathBuf {
        self.tmp.path().join("audit.jsonl")
    }
}

/// A push's outcome: git's exit status and everything it printed.
struct Pushed {
    ok: bool,
    err: String,
}

fn push(repo: &GitRepo, args: &[&str], env: &[(&str, &str)]) -> Pushed {
    let mut c = repo.cmd(&[&["push"], args].concat());
    for (k, v) in env {
        c.env(k, v);
    }
    let out: Output = c.output().unwrap();
    Pushed {
        ok: out.status.success(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The lines the hook printed (git prefixes them with `remote: `), without the probe's.
fn remote_lines(p: &Pushed) -> Vec<String> {
    p.err
        .lines()
        .filter_map(|l| l.strip_prefix("remote: "))
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.starts_with("probe: "))
        .collect()
}

/// A client repository with one clean commit on `main`.
fn client() -> GitRepo {
    let mut r = GitRepo::new();
    r.write("README.md", "# app\n");
    r.commit("init");
    r
}

fn assert_rejected(p: &Pushed) {
    assert!(!p.ok, "push accepted: {}", p.err);
    assert!(p.err.contains("pre-receive hook declined"), "{}", p.err);
}

#[test]
fn token_in_a_new_branch_is_rejected_and_nothing_lands() {
    let srv = Server::new();
    let mut c = client();
    let clean = push(&c, &[&srv.url(), "main"], &[]);
    assert!(clean.ok, "{}", clean.err);
    assert!(
        remote_lines(&clean).is_empty(),
        "a clean push is quiet: {:?}",
        remote_lines(&clean)
    );

    let t = token(2001);
    c.git(&["checkout", "-q", "-b", "feature"]);
    c.write("config/app.env", format!("DEBUG=1\n{}", env_line(&t)));
    let bad = c.commit("add config");
    let p = push(&c, &[&srv.url(), "feature"], &[]);
    assert_rejected(&p);
    assert_eq!(srv.rev("refs/heads/feature"), None);
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("push rejected: 1 Applivery token(s)"), "{m}");
    assert!(m.contains("refs/heads/feature"), "{m}");
    assert!(
        m.contains(&format!("{}  config/app.env:2", &bad[..12])),
        "{m}"
    );
    assert!(m.contains("applivery-app-token"), "{m}");
    assert!(m.contains("applivery-leaks:allow"), "{m}");
    assert!(m.contains("git commit --amend"), "{m}");
    let flat = m.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("bypasses are not enabled here"), "{m}");
    assert!(
        m.lines().all(|l| l.chars().count() <= 90),
        "lines too long for remote: {m}"
    );
    assert!(
        !p.err.contains(&t),
        "the token is printed in full: {}",
        p.err
    );
}

#[test]
fn token_in_an_updated_branch_is_rejected() {
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    let before = srv.rev("refs/heads/main");
    c.write("src/a.txt", "one\n");
    c.commit("one");
    c.write(".env", env_line(&token(2002)));
    let bad = c.commit("two");
    c.write("src/b.txt", "three\n");
    c.commit("three");
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    assert_eq!(srv.rev("refs/heads/main"), before, "main moved");
    let m = remote_lines(&p).join("\n");
    assert!(m.contains(&format!("{}  .env:1", &bad[..12])), "{m}");
}

#[test]
fn token_in_the_second_of_three_refs_rejects_the_push() {
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    for (name, content) in [
        ("a", "clean a\n".to_string()),
        ("b", env_line(&token(2003))),
        ("c", "clean c\n".to_string()),
    ] {
        c.git(&["checkout", "-q", "-b", name, "main"]);
        c.write(&format!("{name}.env"), content);
        c.commit(name);
    }
    let p = push(&c, &[&srv.url(), "a", "b", "c"], &[]);
    assert_rejected(&p);
    for r in ["refs/heads/a", "refs/heads/b", "refs/heads/c"] {
        assert_eq!(srv.rev(r), None, "{r} landed");
    }
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("refs/heads/b") && m.contains("b.env:1"), "{m}");
    assert!(
        !m.contains("refs/heads/a") && !m.contains("refs/heads/c"),
        "{m}"
    );
}

#[test]
fn token_in_a_tag_message_is_rejected() {
    let srv = Server::new();
    let c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    let t = token(2004);
    // An annotated tag on a commit the server already has: only the tag is new.
    c.git(&[
        "tag",
        "-a",
        "v1.0",
        "-m",
        &format!("release\n\nAPPLIVERY_APP_TOKEN={t}"),
    ]);
    let p = push(&c, &[&srv.url(), "v1.0"], &[]);
    assert_rejected(&p);
    assert_eq!(srv.rev("refs/tags/v1.0"), None);
    let m = remote_lines(&p).join("\n");
    assert!(
        m.contains("refs/tags/v1.0") && m.contains("tag message"),
        "{m}"
    );
    assert!(!p.err.contains(&t));
}

#[test]
fn token_in_an_apk_inside_a_commit_is_rejected() {
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    let t = token(2005);
    let json = format!("{{\"appliveryToken\": \"{t}\"}}\n");
    let apk = zip_of(
        &[
            ("AndroidManifest.xml", b"<manifest/>" as &[u8]),
            ("assets/config.json", json.as_bytes()),
        ],
        false,
    );
    c.write("release/app-release.apk", apk);
    let bad = c.commit("release build");
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(
        m.contains(&format!(
            "{}  release/app-release.apk!/assets/config.json:1",
            &bad[..12]
        )),
        "{m}"
    );
}

#[test]
fn clean_push_deletion_and_force_push_over_held_commits_are_accepted() {
    let srv = Server::new();
    let mut c = client();
    // Before the hook: a token already on the server, on main (history the hook never saw).
    srv.uninstall();
    c.write(".env", env_line(&token(2006)));
    let held = c.commit("old token");
    c.write("x.txt", "x\n");
    c.commit("after");
    assert!(push(&c, &[&srv.url(), "main", "main:refs/heads/gone"], &[]).ok);
    srv.install(&format!("{} pre-receive", binary().display()));

    // Clean commits on top: accepted, the held token not reported again.
    c.write("y.txt", "y\n");
    c.commit("clean");
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert!(p.ok, "{}", p.err);
    // A force push onto the commit that holds the token, with a clean commit on top: only
    // the clean commit is new.
    c.git(&["reset", "-q", "--hard", &held]);
    c.write("z.txt", "z\n");
    let top = c.commit("rewritten");
    let p = push(&c, &[&srv.url(), "+main"], &[]);
    assert!(p.ok, "{}", p.err);
    assert_eq!(srv.rev("refs/heads/main").as_deref(), Some(top.as_str()));
    // A new branch at a commit the server holds: nothing new at all.
    let p = push(
        &c,
        &[&srv.url(), &format!("{held}:refs/heads/at-held")],
        &[],
    );
    assert!(p.ok, "{}", p.err);
    // A deletion.
    let p = push(&c, &[&srv.url(), ":refs/heads/gone"], &[]);
    assert!(p.ok, "{}", p.err);
    assert_eq!(srv.rev("refs/heads/gone"), None);
}

#[test]
fn pushed_objects_are_read_from_quarantine() {
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    c.write(".env", env_line(&token(2007)));
    let bad = c.commit("token");
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    // While the hook ran, the commit was not in the repository's object directory.
    assert!(
        p.err.contains(&format!("probe: {bad} only in quarantine")),
        "{}",
        p.err
    );
    assert!(remote_lines(&p).join("\n").contains(".env:1"), "{}", p.err);

    // Kept as a pack in quarantine (receive.unpackLimit=1), not as loose objects.
    srv.git_in(&["config", "receive.unpackLimit", "1"]);
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    assert!(p.err.contains("only in quarantine"), "{}", p.err);
    assert!(remote_lines(&p).join("\n").contains(".env:1"), "{}", p.err);

    // Without git's quarantine variables the objects cannot be found: the hook says so and
    // rejects (it never accepts what it could not read).
    srv.install(&format!(
        "env -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES -u GIT_QUARANTINE_PATH {} pre-receive",
        binary().display()
    ));
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("could not be read"), "{m}");
    assert!(srv.rev("refs/heads/main").as_deref() != Some(bad.as_str()));
}

#[test]
fn gitlab_web_ide_gets_one_line_and_the_list_is_capped() {
    let srv = Server::with_hook("--max-findings 3");
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    for i in 0..5 {
        c.write(&format!("env/{i}.env"), env_line(&token(2010 + i)));
    }
    c.commit("five tokens");
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("push rejected: 5 Applivery token(s)"), "{m}");
    assert!(m.contains("… and 2 more"), "{m}");
    assert_eq!(m.matches("applivery-app-token").count(), 3, "{m}");

    let p = push(&c, &[&srv.url(), "main"], &[("GL_PROTOCOL", "web")]);
    assert_rejected(&p);
    let lines = remote_lines(&p);
    let ours: Vec<&String> = lines.iter().filter(|l| !l.is_empty()).collect();
    assert_eq!(ours.len(), 1, "{lines:?}");
    assert!(
        ours[0].starts_with("GL-HOOK-ERR: applivery-leaks: push rejected"),
        "{ours:?}"
    );
    assert!(ours[0].contains("5 Applivery token(s)") && ours[0].contains("and 2 more"));
}

/// A commit large enough that scanning it cannot finish in 10 ms.
fn big_commit(c: &mut GitRepo) {
    for i in 0..300 {
        c.write(
            &format!("gen/{i}.txt"),
            "let applivery = config.value(\"x\");\n".repeat(200),
        );
    }
    c.commit("generated");
}

#[test]
fn timeout_rejects_unless_the_server_accepts_and_logs() {
    let srv = Server::with_hook("--timeout 0.01");
    let mut c = client();
    big_commit(&mut c);
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("did not finish within 0.01 s"), "{m}");
    assert!(
        m.contains("git push origin <older commit>:refs/heads/<branch>"),
        "{m}"
    );
    assert_eq!(srv.rev("refs/heads/main"), None);

    let audit = srv.audit_path();
    let cfg = srv.config(&format!(
        "timeout = 0.01\non_timeout = \"accept\"\naudit_log = \"{}\"\n",
        audit.display()
    ));
    srv.install(&format!(
        "{} pre-receive --server-config {}",
        binary().display(),
        cfg.display()
    ));
    let p = push(&c, &[&srv.url(), "main"], &[("GL_USERNAME", "alice")]);
    assert!(p.ok, "{}", p.err);
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("accepted unscanned"), "{m}");
    let log = fs::read_to_string(&audit).unwrap();
    let line = json_of(log.lines().next().unwrap().as_bytes());
    assert_eq!(line["event"], "timeout-accepted");
    assert_eq!(line["pusher"], "alice");
    assert_eq!(line["refs"][0]["ref"], "refs/heads/main");
}

#[test]
fn bypass_needs_the_servers_permission_and_is_audited_without_the_secret() {
    let t = token(2020);
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    let old = srv.rev("refs/heads/main").unwrap();
    c.write("fixtures/app.env", env_line(&t));
    let new = c.commit("fixture");

    // Not allowed here.
    let p = push(
        &c,
        &[
            "-o",
            "applivery-leaks.skip=test fixture",
            &srv.url(),
            "main",
        ],
        &[],
    );
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(
        m.contains("refused: this server does not allow bypasses"),
        "{m}"
    );

    // Allowed, with an audit log.
    let audit = srv.audit_path();
    let cfg = srv.config(&format!(
        "allow_skip = true\naudit_log = \"{}\"\n",
        audit.display()
    ));
    srv.install(&format!(
        "{} pre-receive --server-config {}",
        binary().display(),
        cfg.display()
    ));
    // A bypass without a reason is refused.
    let p = push(&c, &["-o", "applivery-leaks.skip", &srv.url(), "main"], &[]);
    assert_rejected(&p);
    assert!(remote_lines(&p).join("\n").contains("needs a reason"));
    assert!(!audit.exists());

    let p = push(
        &c,
        &[
            "-o",
            "applivery-leaks.skip=test fixture, not a real token",
            &srv.url(),
            "main",
        ],
        &[("GL_USERNAME", "alice")],
    );
    assert!(p.ok, "{}", p.err);
    assert_eq!(srv.rev("refs/heads/main").as_deref(), Some(new.as_str()));
    assert!(remote_lines(&p)
        .join("\n")
        .contains("written to the audit log"));
    let log = fs::read_to_string(&audit).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    let e = json_of(log.as_bytes());
    assert_eq!(e["event"], "skip");
    assert_eq!(e["ref"], "refs/heads/main");
    assert_eq!(e["old"], old.as_str());
    assert_eq!(e["new"], new.as_str());
    assert_eq!(e["pusher"], "alice");
    assert_eq!(e["reason"], "test fixture, not a real token");
    assert_eq!(e["findings"][0]["path"], "fixtures/app.env");
    assert!(e["findings"][0]["fingerprint"].as_str().unwrap().len() > 16);
    assert!(
        !log.contains(&t) && !log.contains(&t[..8]),
        "secret in the audit log: {log}"
    );
}

#[test]
fn repository_files_count_unless_the_server_pins_its_own() {
    let t = token(2030);
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    // The repository's config excludes fixtures/, and a marked line is allowed.
    c.write(".applivery-leaks.toml", "exclude = [\"fixtures/**\"]\n");
    c.write("fixtures/app.env", env_line(&t));
    c.write(
        "docs/example.env",
        format!(
            "APPLIVERY_APP_TOKEN={}  # applivery-leaks:allow\n",
            token(2031)
        ),
    );
    c.commit("fixtures");
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert!(p.ok, "{}", p.err);

    // The same commit into a server that pins its config: the exclusion is not the
    // repository's to make (the inline marker still works).
    let pinned = Server::new();
    let project = pinned.tmp.path().join("project.toml");
    fs::write(&project, "placeholders = []\n").unwrap();
    let cfg = pinned.config(&format!("config = \"{}\"\n", project.display()));
    pinned.install(&format!(
        "{} pre-receive --server-config {}",
        binary().display(),
        cfg.display()
    ));
    let p = push(&c, &[&pinned.url(), "main"], &[]);
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(
        m.contains("fixtures/app.env:1") && !m.contains("docs/example.env"),
        "{m}"
    );

    // An ignore file in the pushed commit works, unless repository_files = false.
    let fp = {
        let out = bin()
            .current_dir(&c.path)
            .args([
                "dir",
                "--no-config",
                "--no-suppress",
                "--format",
                "json",
                ".",
            ])
            .output()
            .unwrap();
        let report = json_of(&out.stdout);
        let f = report["findings"].as_array().unwrap().iter();
        let mut f = f.filter(|f| f["path"] == "fixtures/app.env");
        f.next().unwrap()["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    c.write(".applivery-leaksignore", format!("{fp}\n"));
    c.commit("ignore the fixture");
    let p = push(&c, &[&pinned.url(), "main"], &[]);
    assert!(p.ok, "{}", p.err);
    let strict = Server::new();
    let cfg = strict.config("repository_files = false\n");
    strict.install(&format!(
        "{} pre-receive --server-config {}",
        binary().display(),
        cfg.display()
    ));
    let p = push(&c, &[&strict.url(), "main"], &[]);
    assert_rejected(&p);
}

#[test]
fn a_broken_server_config_rejects_every_push() {
    let srv = Server::new();
    let cfg = srv.config("alow_skip = true\n");
    srv.install(&format!(
        "{} pre-receive --server-config {}",
        binary().display(),
        cfg.display()
    ));
    let c = client();
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    assert!(p.err.contains("server.toml:1"), "{}", p.err);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let out = bin()
        .args(["pre-receive"])
        .write_stdin("not a ref update\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("expected '<old> <new> <ref>'"), "{err}");
}

/// `git daemon` on a free loopback port serving `base`, killed on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(base: &Path) -> Daemon {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // `git-daemon` itself, not `git daemon`: killing the `git` wrapper would leave the
        // daemon it started running.
        let exec_path = Command::new("git").arg("--exec-path").output().unwrap();
        let exec_path = String::from_utf8(exec_path.stdout).unwrap();
        let child = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
            .args([
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
                &base.display().to_string(),
            ])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "git daemon did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Daemon { child, port }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn over_git_daemon_a_token_is_rejected_and_a_clean_push_lands() {
    let srv = Server::new();
    let daemon = Daemon::start(srv.tmp.path());
    let url = format!("git://127.0.0.1:{}/srv.git", daemon.port);
    let mut c = client();
    let p = push(&c, &[&url, "main"], &[]);
    assert!(p.ok, "{}", p.err);
    assert!(srv.rev("refs/heads/main").is_some());

    c.git(&["checkout", "-q", "-b", "leak"]);
    c.write("app/src/main/assets/applivery.env", env_line(&token(2040)));
    let bad = c.commit("leak");
    let p = push(&c, &[&url, "leak"], &[]);
    assert!(!p.ok, "{}", p.err);
    assert!(
        p.err.contains(&format!("probe: {bad} only in quarantine")),
        "{}",
        p.err
    );
    let m = remote_lines(&p).join("\n");
    assert!(
        m.contains("refs/heads/leak") && m.contains("applivery.env:1"),
        "{m}"
    );
    assert_eq!(srv.rev("refs/heads/leak"), None);
}

/// A client whose pre-push hook runs `applivery-leaks pre-push`, and a bare remote.
fn client_with_pre_push() -> (GitRepo, tempfile::TempDir, String) {
    let c = client();
    let hook = c.path.join(".git/hooks/pre-push");
    fs::write(
        &hook,
        format!("#!/bin/sh\nexec {} pre-push \"$@\"\n", binary().display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let remote = tempfile::TempDir::new().unwrap();
    let bare = remote.path().join("r.git");
    let out = Command::new("git")
        .args(["init", "-q", "--bare", bare.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let url = format!("file://{}", bare.display());
    c.git(&["remote", "add", "origin", &url]);
    (c, remote, url)
}

#[test]
fn pre_push_blocks_what_would_leave_and_only_that() {
    let (mut c, _remote, _) = client_with_pre_push();
    let p = push(&c, &["origin", "main"], &[]);
    assert!(p.ok, "{}", p.err);

    let t = token(2050);
    c.write(".env", env_line(&t));
    let bad = c.commit("token");
    let p = push(&c, &["origin", "main"], &[]);
    assert!(!p.ok, "{}", p.err);
    assert!(
        p.err.contains("push blocked: 1 Applivery token(s)"),
        "{}",
        p.err
    );
    assert!(
        p.err.contains(&format!("{}  .env:1", &bad[..12])),
        "{}",
        p.err
    );
    assert!(p.err.contains("git push --no-verify"), "{}", p.err);
    assert!(!p.err.contains(&t));
    let remote_main = c.git(&["ls-remote", "origin", "refs/heads/main"]);
    assert!(!remote_main.contains(&bad), "{remote_main}");

    // Sent deliberately; later pushes read only their own commits.
    let p = push(&c, &["--no-verify", "origin", "main"], &[]);
    assert!(p.ok, "{}", p.err);
    c.write("b.txt", "b\n");
    c.commit("after");
    let p = push(&c, &["origin", "main"], &[]);
    assert!(p.ok, "{}", p.err);
    // A new branch from main: main's commits are on the remote already.
    c.git(&["checkout", "-q", "-b", "topic"]);
    c.write("c.txt", "c\n");
    c.commit("topic");
    let p = push(&c, &["origin", "topic"], &[]);
    assert!(p.ok, "{}", p.err);
}

#[test]
fn pre_push_reads_the_pre_commit_frameworks_variables() {
    let mut c = client();
    let base = c.git(&["rev-parse", "HEAD"]);
    c.write(".env", env_line(&token(2060)));
    let tip = c.commit("token");
    let run = |from: &str| {
        bin()
            .current_dir(&c.path)
            .args(["pre-push"])
            .env("PRE_COMMIT_FROM_REF", from)
            .env("PRE_COMMIT_TO_REF", &tip)
            .env("PRE_COMMIT_REMOTE_NAME", "origin")
            .output()
            .unwrap()
    };
    assert_eq!(run(&base).status.code(), Some(1));
    assert_eq!(
        run(&tip).status.code(),
        Some(0),
        "nothing new after the tip"
    );
}

#[test]
fn each_ref_of_a_push_is_named_with_its_own_tokens() {
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    // x and y share x's commit; y adds its own. One walk covers both; each finding is filed
    // under the first ref that reaches the commit that introduced it.
    c.git(&["checkout", "-q", "-b", "x", "main"]);
    c.write("x.env", env_line(&token(2070)));
    c.commit("x");
    c.git(&["checkout", "-q", "-b", "y"]);
    c.write("y.env", env_line(&token(2071)));
    c.commit("y");
    c.git(&[
        "tag",
        "-a",
        "t1",
        "-m",
        &format!("APPLIVERY_APP_TOKEN={}", token(2072)),
    ]);
    let p = push(&c, &[&srv.url(), "x", "y", "t1"], &[]);
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("push rejected: 3 Applivery token(s)"), "{m}");
    let at = |s: &str| m.find(s).unwrap_or_else(|| panic!("{s} missing: {m}"));
    assert!(
        at("refs/heads/x") < at("x.env:1") && at("x.env:1") < at("refs/heads/y"),
        "{m}"
    );
    assert!(
        at("refs/heads/y") < at("y.env:1") && at("y.env:1") < at("refs/tags/t1"),
        "{m}"
    );
    assert!(at("refs/tags/t1") < at("tag message"), "{m}");
}

#[test]
fn what_cannot_be_read_whole_rejects_unless_bypassed_and_audited() {
    let srv = Server::new();
    let mut c = client();
    assert!(push(&c, &[&srv.url(), "main"], &[]).ok);
    // A tar cut short inside its member (git.git's own test suite holds one).
    let tar = tar_of(&[("notes.txt", "x".repeat(20_000).as_bytes())]);
    c.write("t/fixtures/truncated.tar", &tar[..3000]);
    c.commit("a damaged fixture");
    let p = push(&c, &[&srv.url(), "main"], &[]);
    assert_rejected(&p);
    let m = remote_lines(&p).join("\n");
    assert!(m.contains("could not be read whole"), "{m}");
    assert!(m.contains("t/fixtures/truncated.tar"), "{m}");

    let audit = srv.audit_path();
    let cfg = srv.config(&format!(
        "allow_skip = true\naudit_log = \"{}\"\n",
        audit.display()
    ));
    srv.install(&format!(
        "{} pre-receive --server-config {}",
        binary().display(),
        cfg.display()
    ));
    let p = push(
        &c,
        &[
            "-o",
            "applivery-leaks.skip=damaged on purpose",
            &srv.url(),
            "main",
        ],
        &[],
    );
    assert!(p.ok, "{}", p.err);
    let e = json_of(fs::read_to_string(&audit).unwrap().as_bytes());
    assert!(
        e["unreadable"][0]
            .as_str()
            .unwrap()
            .contains("t/fixtures/truncated.tar"),
        "{e}"
    );
}
