//! Helpers shared by the integration tests: the binary under test, files, JSON, fake tokens.
#![allow(dead_code)] // not every helper is used by every module

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// The binary, with no API override from the environment and no colour.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("applivery-leaks").unwrap();
    c.env_remove("APPLIVERY_API_URL").env("NO_COLOR", "1");
    c
}

/// Writes `text` to `dir/rel`, creating parent directories.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

pub fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// Correctly shaped fake tokens (24 base64url characters, mixed case and digits) from a
/// fixed-seed PRNG: deterministic, never a real token.
pub fn token(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    loop {
        let t: String = (0..24)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
            })
            .collect();
        let has = |f: fn(&char) -> bool| t.chars().any(|c| f(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
        {
            return t;
        }
    }
}

/// `KEY=token` as a `.env` line.
pub fn env_line(t: &str) -> String {
    format!("APPLIVERY_APP_TOKEN={t}\n")
}

/// A git repository built with the `git` command in a temporary directory, with fixed
/// names and dates (so ids are deterministic) and none of the user's own git config.
pub struct GitRepo {
    _tmp: tempfile::TempDir,
    pub path: std::path::PathBuf,
    clock: u64,
}

impl GitRepo {
    pub fn new() -> GitRepo {
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("repo");
        fs::create_dir(&path).unwrap();
        let r = GitRepo {
            _tmp: tmp,
            path,
            clock: 0,
        };
        r.git(&["init", "-q", "-b", "main"]);
        r.git(&["config", "commit.gpgsign", "false"]);
        r.git(&["config", "core.autocrlf", "false"]);
        r
    }

    /// A `git` command in the repository, isolated from the user's and the hook's
    /// environment.
    pub fn cmd(&self, args: &[&str]) -> std::process::Command {
        let date = format!("{} +0000", 1_700_000_000 + self.clock * 60);
        let mut c = std::process::Command::new("git");
        c.current_dir(&self.path)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .env("GIT_AUTHOR_NAME", "Ada Dev")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Dev")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
        c
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    /// Stages everything and commits; returns the commit id.
    pub fn commit(&mut self, msg: &str) -> String {
        self.clock += 1;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--no-verify", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// The file of a loose object.
    pub fn loose_object(&self, oid: &str) -> std::path::PathBuf {
        self.path
            .join(".git/objects")
            .join(&oid[..2])
            .join(&oid[2..])
    }
}

/// Runs `cmd` with a deadline: a hang fails the test instead of hanging the suite.
pub fn run_with_deadline(
    mut cmd: std::process::Command,
    secs: u64,
) -> (i32, String, String, std::time::Duration) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let took = started.elapsed();
            return (
                status.code().unwrap_or(-1),
                o.join().unwrap(),
                e.join().unwrap(),
                took,
            );
        }
        if started.elapsed() > std::time::Duration::from_secs(secs) {
            child.kill().ok();
            child.wait().ok();
            panic!("{cmd:?} still running after {secs} s: a hang");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
