//! Benchmark of a sweep of many repositories: generates N small repositories (20 commits,
//! a few dozen files, every tenth with a token in its history) with `git fast-import`, then
//! runs the release binary once over all of them (`git --repos-from LIST`) and prints
//! repositories per second and peak RSS. It does so for several N, so the numbers show
//! whether memory grows with the number of repositories (it must not: each repository's
//! sweep builds and drops its own structures).
//!
//!   cargo build --release && cargo run --release --example bench_org [-- 1000]
//!
//! The repositories are built once under target/bench-org/ and reused.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

fn main() {
    let max: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-org");
    std::fs::create_dir_all(&root).unwrap();
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/applivery-leaks");
    assert!(bin.exists(), "build it first: cargo build --release");
    let t = Instant::now();
    let repos: Vec<PathBuf> = (0..max).map(|i| make_repo(&root, i)).collect();
    println!(
        "{} repositories ready under {} ({:.1}s)",
        repos.len(),
        root.display(),
        t.elapsed().as_secs_f64()
    );
    let mut sizes: Vec<usize> = [max / 10, max / 3, max]
        .into_iter()
        .filter(|&n| n > 0)
        .collect();
    sizes.dedup();
    for n in sizes {
        let list = root.join(format!("list-{n}.txt"));
        let mut text = String::new();
        for r in &repos[..n] {
            let _ = writeln!(text, "{}", r.display());
        }
        std::fs::write(&list, text).unwrap();
        let mut c = Command::new(&bin);
        c.args(["git", "--repos-from"])
            .arg(&list)
            .args(["--format", "json", "-q", "-o"])
            .arg(root.join(format!("report-{n}.json")));
        let (took, peak_kib) = run_measured(c);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join(format!("report-{n}.json"))).unwrap())
                .unwrap();
        println!(
            "{n:>5} repositories: {:.2}s, {:.1} repositories/s, peak RSS {:.1} MiB, {} findings, {} commits",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            peak_kib as f64 / 1024.0,
            report["findings"].as_array().map_or(0, Vec::len),
            report["summary"]["git"]["commits_walked"]
        );
    }
}

/// Repository `i`: built with fast-import unless it is already there.
fn make_repo(root: &Path, i: usize) -> PathBuf {
    let dir = root.join(format!("repo-{i:05}.git"));
    if dir.join("HEAD").exists() {
        return dir;
    }
    let git = |args: &[&str], stdin: Option<&[u8]>| {
        let mut c = Command::new("git");
        c.args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null());
        let mut child = c.spawn().unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s).unwrap();
        }
        assert!(child.wait().unwrap().success(), "git {args:?}");
    };
    let tmp = root.join(format!(".tmp-{i}"));
    let _ = std::fs::remove_dir_all(&tmp);
    git(&["init", "-q", "--bare", tmp.to_str().unwrap()], None);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
    let mut stream = String::new();
    for c in 0..20u64 {
        let _ = write!(
            stream,
            "commit refs/heads/main\ncommitter Dev {i} <dev{i}@example.com> {} +0000\ndata 12\ncommit {c:>5}\n",
            1_700_000_000 + c * 3600
        );
        for f in 0..3 {
            let path = format!("src/m{}/f{}.kt", rng.next() % 8, rng.next() % 16);
            let mut body = String::new();
            for l in 0..40 {
                let _ = writeln!(body, "val x{l} = \"{:016x}\" // line {f}", rng.next());
            }
            if i.is_multiple_of(10) && c == 5 && f == 0 {
                let _ = writeln!(body, "APPLIVERY_APP_TOKEN={}", token(&mut rng));
            }
            let _ = write!(
                stream,
                "M 100644 inline {path}\ndata {}\n{body}\n",
                body.len()
            );
        }
    }
    git(
        &["-C", tmp.to_str().unwrap(), "fast-import", "--quiet"],
        Some(stream.as_bytes()),
    );
    std::fs::rename(&tmp, &dir).unwrap();
    dir
}

/// A random 24-character token, drawn uniformly from the App API token alphabet.
fn token(rng: &mut Rng) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..24)
        .map(|_| A[(rng.next() % 64) as usize] as char)
        .collect()
}

/// Wall time and peak RSS (KiB, the child's VmHWM sampled until it exits).
fn run_measured(mut c: Command) -> (Duration, u64) {
    c.stdout(Stdio::null());
    let t = Instant::now();
    let mut child = c.spawn().expect("spawn");
    let s = common::sample(&mut child, t, Duration::from_millis(5));
    assert!(
        s.status.code().is_some_and(|c| c <= 1),
        "{c:?} failed: {}",
        s.status
    );
    (s.wall, s.peak_kib)
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
