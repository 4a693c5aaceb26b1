//! Directory-scan benchmark: a program that prints numbers, not a timed test (CI never runs it).
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example bench_dir -- [DIR] [SIZE_MB] [SIZE_MB ...]
//! ```
//!
//! For each size (default: 256 and 1024 MiB) it generates — once, then reuses — a
//! deterministic tree of mixed realistic text under `DIR/tree-<SIZE>mb` (default DIR:
//! `target/bench`): source files, YAML/JSON configs, CI files, `.env` files, one-line
//! minified bundles, a few large logs (scanned in chunks) and some binaries, with fake tokens
//! planted in Applivery contexts and look-alikes everywhere else. Then it runs the release
//! binary on it (warm page cache: everything is read once first), checks that every planted
//! token was found and nothing else, and prints throughput and peak RSS next to
//! `rg -i -c --hidden applivery` on the same tree, plus the startup time of
//! `applivery-leaks stdin < /dev/null`. If `gitleaks` is on PATH it is measured too, with an
//! equivalent Applivery rule.
//!
//! Peak RSS comes from `/usr/bin/time -f %M` when present, else from polling the child's
//! `VmHWM` in /proc.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Rng;

/// Bump when the generator changes, so old trees are rebuilt.
const GENERATOR_VERSION: u32 = 5;
const RUNS: usize = 5;

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// Random base64url text: tokens, and the hashes and ids that look like them.
    fn b64(&mut self, len: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..len)
            .map(|_| A[(self.next() & 63) as usize] as char)
            .collect()
    }
    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| b"0123456789abcdef"[(self.next() & 15) as usize] as char)
            .collect()
    }
    /// A fake token: 24 base64url characters with upper and lower case, no `xxxx`-like runs.
    fn token(&mut self) -> String {
        loop {
            let t = self.b64(24);
            let up = t.bytes().any(|b| b.is_ascii_uppercase());
            let low = t.bytes().any(|b| b.is_ascii_lowercase());
            let run = t
                .as_bytes()
                .windows(3)
                .any(|w| w[0] == w[1] && w[1] == w[2]);
            if up && low && !run {
                return t;
            }
        }
    }
}

const WORDS: &[&str] = &[
    "user",
    "account",
    "build",
    "release",
    "config",
    "handler",
    "request",
    "response",
    "session",
    "cache",
    "index",
    "value",
    "result",
    "error",
    "client",
    "server",
    "upload",
    "download",
    "manager",
    "service",
    "provider",
    "factory",
    "context",
    "state",
    "event",
    "listener",
    "view",
    "model",
    "controller",
    "router",
    "item",
    "list",
    "map",
    "buffer",
    "stream",
    "reader",
    "writer",
    "parser",
    "format",
    "version",
    "device",
    "app",
];
const KEYWORDS: &[&str] = &[
    "fn", "let", "const", "val", "var", "return", "if", "else", "for", "while", "match", "func",
    "class", "struct", "import", "public", "private", "static", "async", "await",
];

fn ident(r: &mut Rng) -> String {
    let n = 1 + r.below(3);
    let mut s = String::new();
    for i in 0..n {
        let w = r.pick(WORDS);
        if i == 0 {
            s.push_str(w);
        } else {
            s.push_str(&w[..1].to_uppercase());
            s.push_str(&w[1..]);
        }
    }
    s
}

fn code_line(r: &mut Rng, out: &mut String) {
    let indent = " ".repeat(4 * r.below(4) as usize);
    match r.below(10) {
        0 => {
            let _ = writeln!(
                out,
                "{indent}// {} the {} before {}",
                ident(r),
                ident(r),
                ident(r)
            );
        }
        1 => {
            let _ = writeln!(out, "{indent}let {} = \"{}\";", ident(r), r.b64(24));
        }
        2 => {
            let _ = writeln!(out, "{indent}const {}Hash = \"{}\";", ident(r), r.hex(40));
        }
        3 => out.push('\n'),
        _ => {
            let _ = writeln!(
                out,
                "{indent}{} {} = {}.{}({}, {});",
                r.pick(KEYWORDS),
                ident(r),
                ident(r),
                ident(r),
                ident(r),
                r.below(100_000)
            );
        }
    }
}

fn yaml_line(r: &mut Rng, out: &mut String) {
    let indent = "  ".repeat(r.below(4) as usize);
    match r.below(6) {
        0 => {
            let _ = writeln!(out, "{indent}{}:", ident(r));
        }
        1 => {
            let _ = writeln!(out, "{indent}- name: {}", ident(r));
        }
        2 => {
            let _ = writeln!(out, "{indent}{}_id: {}", ident(r), r.hex(24));
        }
        _ => {
            let _ = writeln!(
                out,
                "{indent}{}: \"{} {}\"",
                ident(r),
                ident(r),
                r.below(1000)
            );
        }
    }
}

fn json_line(r: &mut Rng, out: &mut String) {
    let indent = "  ".repeat(1 + r.below(4) as usize);
    match r.below(4) {
        0 => {
            let _ = writeln!(out, "{indent}\"{}\": \"{}\",", ident(r), r.b64(24));
        }
        1 => {
            let _ = writeln!(out, "{indent}\"{}\": {},", ident(r), r.below(1 << 20));
        }
        _ => {
            let _ = writeln!(
                out,
                "{indent}\"{}\": \"{} {}\",",
                ident(r),
                ident(r),
                ident(r)
            );
        }
    }
}

fn minified(r: &mut Rng, out: &mut String, target: usize) {
    out.push_str("!function(e){var t={};");
    while out.len() < target {
        match r.below(5) {
            0 => {
                let _ = write!(out, "{}:\"{}\",", r.below(999), r.hex(20));
            }
            1 => {
                let _ = write!(out, "{}:\"{}\",", ident(r), r.b64(24));
            }
            _ => {
                let _ = write!(
                    out,
                    "function {}(n){{return n.{}({},{})}};",
                    ident(r),
                    ident(r),
                    ident(r),
                    r.below(1000)
                );
            }
        }
    }
    out.push_str("}();\n");
}

/// A planted token: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Planted {
    path: String,
    token: String,
}

/// One Applivery context line with the token in it (the line numbers are not checked).
fn leak(r: &mut Rng, tok: &str) -> String {
    match r.below(6) {
        0 => format!("APPLIVERY_APP_TOKEN={tok}\n"),
        1 => format!("applivery:\n  upload:\n    token: \"{tok}\"\n"),
        2 => format!(
            "curl -X POST https://upload.applivery.io/v1/integrations/builds \\\n  -H \"Authorization: Bearer {tok}\" \\\n  -F build=@app.ipa\n"
        ),
        3 => format!("    Applivery.shared.start(token: \"{tok}\", appStoreRelease: false)\n"),
        4 => format!("buildConfigField \"String\", \"APPLIVERY_TOKEN\", \"\\\"{tok}\\\"\"\n"),
        _ => format!("  \"appliveryToken\": \"{tok}\",\n"),
    }
}

/// Applivery mentioned without a secret: the detector's regex runs, finds nothing.
fn mention(r: &mut Rng) -> String {
    match r.below(4) {
        0 => "APPLIVERY_APP_TOKEN=${APPLIVERY_APP_TOKEN}\n".into(),
        1 => format!("# Upload to Applivery: app id {}\n", r.hex(24)),
        2 => "    applivery(app_token: ENV[\"APPLIVERY_APP_TOKEN\"])\n".into(),
        _ => format!("  \"applivery\": {{ \"appId\": \"{}\" }},\n", r.hex(24)),
    }
}

fn generate(dir: &Path, size: u64) -> Vec<Planted> {
    let list = dir.join("planted.txt");
    let stamp = format!("v{GENERATOR_VERSION} {size}");
    if fs::read_to_string(dir.join("stamp")).ok().as_deref() == Some(stamp.as_str()) {
        let text = fs::read_to_string(&list).expect("planted.txt");
        return text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(p, t)| Planted {
                path: p.into(),
                token: t.into(),
            })
            .collect();
    }
    eprintln!(
        "generating {} MiB tree in {} ...",
        size >> 20,
        dir.display()
    );
    let started = Instant::now();
    let _ = fs::remove_dir_all(dir);
    let tree = dir.join("tree");
    fs::create_dir_all(&tree).unwrap();
    let mut r = Rng(0xBE5C_0000 + size);
    let mut planted = Vec::new();
    let mut written: u64 = 0;
    let mut n = 0u64;
    while written < size {
        n += 1;
        let d = format!("pkg{:03}/mod{:02}", r.below(200), r.below(20));
        let (ext, target) = match r.below(100) {
            0..=39 => (
                r.pick(&["rs", "kt", "swift", "java", "ts"]),
                2_000 + r.below(40_000),
            ),
            40..=54 => ("yaml", 500 + r.below(8_000)),
            55..=69 => ("json", 1_000 + r.below(30_000)),
            70..=74 => ("min.js", 50_000 + r.below(700_000)),
            75..=79 => ("env", 100 + r.below(1_000)),
            80..=84 => ("png", 5_000 + r.below(200_000)),
            // A few large logs: files over the 8 MiB chunk are scanned in overlapping chunks.
            85 if r.below(6) == 0 => ("log", 2_000_000 + r.below(12_000_000)),
            _ => ("md", 1_000 + r.below(10_000)),
        };
        let target = target as usize;
        let name = format!("{d}/f{n:06}.{ext}");
        let path = tree.join(&name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes: Vec<u8> = if ext == "png" {
            let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            while b.len() < target {
                b.extend_from_slice(&r.next().to_le_bytes());
            }
            b
        } else {
            let mut s = String::with_capacity(target + 256);
            let leak_at = if r.below(200) == 0 {
                Some(r.below(target as u64) as usize)
            } else {
                None
            };
            let mention_at = if r.below(50) == 0 {
                Some(r.below(target as u64) as usize)
            } else {
                None
            };
            let mut leaked = false;
            let mut mentioned = false;
            if ext == "min.js" {
                minified(&mut r, &mut s, target);
                if leak_at.is_some() {
                    let tok = r.token();
                    // After a statement, not inside a string.
                    let at = s[s.len() / 2..]
                        .find(';')
                        .map_or(s.len() - 5, |p| s.len() / 2 + p + 1);
                    s.insert_str(at, &format!("var appliveryToken=\"{tok}\";"));
                    planted.push(Planted {
                        path: name.clone(),
                        token: tok,
                    });
                }
            } else {
                while s.len() < target {
                    if !leaked && leak_at.is_some_and(|a| s.len() >= a) {
                        leaked = true;
                        let tok = r.token();
                        s.push('\n');
                        s.push_str(&leak(&mut r, &tok));
                        s.push('\n');
                        planted.push(Planted {
                            path: name.clone(),
                            token: tok,
                        });
                    }
                    if !mentioned && mention_at.is_some_and(|a| s.len() >= a) {
                        mentioned = true;
                        s.push('\n');
                        s.push_str(&mention(&mut r));
                        s.push('\n');
                    }
                    match ext {
                        "yaml" | "env" => yaml_line(&mut r, &mut s),
                        "json" => json_line(&mut r, &mut s),
                        "log" => {
                            let _ = writeln!(
                                s,
                                "2026-11-27T10:{:02}:{:02}Z INFO {} request_id={} took {}ms",
                                r.below(60),
                                r.below(60),
                                ident(&mut r),
                                r.b64(24),
                                r.below(900)
                            );
                        }
                        _ => code_line(&mut r, &mut s),
                    }
                }
            }
            s.into_bytes()
        };
        written += bytes.len() as u64;
        fs::write(&path, &bytes).unwrap();
    }
    // Hidden files where tokens live in real repositories.
    fs::create_dir_all(tree.join(".github/workflows")).unwrap();
    let tok = r.token();
    fs::write(
        tree.join(".github/workflows/release.yml"),
        format!("jobs:\n  upload:\n    env:\n      APPLIVERY_TOKEN: {tok}\n"),
    )
    .unwrap();
    planted.push(Planted {
        path: ".github/workflows/release.yml".into(),
        token: tok,
    });
    planted.sort();
    let mut f = fs::File::create(&list).unwrap();
    for p in &planted {
        writeln!(f, "{}\t{}", p.path, p.token).unwrap();
    }
    fs::write(dir.join("stamp"), stamp).unwrap();
    eprintln!(
        "  {n} files, {} planted tokens, {:.1} s",
        planted.len(),
        started.elapsed().as_secs_f64()
    );
    planted
}

fn tree_bytes(dir: &Path) -> (u64, u64) {
    let mut bytes = 0;
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                bytes += m.len();
                files += 1;
            }
        }
    }
    (bytes, files)
}

struct Run {
    wall: Duration,
    rss_kib: Option<u64>,
    status: i32,
    stdout: Vec<u8>,
}

/// Runs `cmd` to completion, measuring wall time and peak RSS.
fn measure(prog: &Path, args: &[&str], stdin_null: bool) -> Run {
    measure_with(prog, args, stdin_null, true)
}

fn measure_with(prog: &Path, args: &[&str], stdin_null: bool, rss: bool) -> Run {
    let time = Path::new(if rss { "/usr/bin/time" } else { "/nonexistent" });
    let rss_file = std::env::temp_dir().join(format!("bench_dir_rss_{}", std::process::id()));
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(prog);
        c
    } else {
        Command::new(prog)
    };
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    if stdin_null {
        cmd.stdin(Stdio::null());
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", prog.display()));
    let mut stdout = Vec::new();
    let mut peak = 0;
    let pid = child.id();
    let reader = {
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut out, &mut v).ok();
            v
        })
    };
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if rss && !time.exists() {
            peak = peak.max(common::vm_hwm_kib(pid).unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    stdout.extend(reader.join().unwrap());
    let rss_kib = if time.exists() {
        fs::read_to_string(&rss_file)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
    } else {
        Some(peak)
    };
    let _ = fs::remove_file(&rss_file);
    Run {
        wall,
        rss_kib,
        status: status.code().unwrap_or(-1),
        stdout,
    }
}

fn median(mut all: Vec<Run>) -> Run {
    all.sort_by_key(|r| r.wall);
    all.swap_remove(all.len() / 2)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// Pulls `"path"` and `"secret"` of every finding out of the JSON report (jsonl: one per line).
fn findings(jsonl: &[u8]) -> BTreeSet<Planted> {
    fn field(line: &str, key: &str) -> Option<String> {
        let pat = format!("\"{key}\":\"");
        let at = line.find(&pat)? + pat.len();
        let end = line[at..].find('"')?;
        Some(line[at..at + end].to_string())
    }
    String::from_utf8_lossy(jsonl)
        .lines()
        .filter_map(|l| {
            Some(Planted {
                path: field(l, "path")?,
                token: field(l, "secret")?,
            })
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench"));
    let sizes: Vec<u64> = if args.len() > 1 {
        args[1..]
            .iter()
            .map(|s| s.parse::<u64>().expect("SIZE_MB is a number") << 20)
            .collect()
    } else {
        vec![256 << 20, 1024 << 20]
    };

    // The release binary next to this example (target/release/examples/bench_dir).
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("applivery-leaks"))
        .filter(|b| b.exists())
        .expect("build the binary first: cargo build --release");
    let rg = which("rg");
    // GITLEAKS=/path/to/gitleaks overrides the one on PATH (a shim adds startup time).
    let gitleaks = std::env::var_os("GITLEAKS")
        .map(PathBuf::from)
        .or_else(|| which("gitleaks"));
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("applivery-leaks dir benchmark ({cpus} CPUs, warm page cache, median of {RUNS} runs)");
    println!("binary: {}", bin.display());

    // Startup: what a pre-commit hook pays on every commit.
    let _ = measure_with(&bin, &["stdin"], true, false);
    let mut times: Vec<Duration> = (0..100)
        .map(|_| measure_with(&bin, &["stdin"], true, false).wall)
        .collect();
    times.sort();
    println!(
        "startup `applivery-leaks stdin < /dev/null`: median {:.2} ms, min {:.2} ms (100 runs, spawn to exit)",
        times[50].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );

    let gitleaks_config = dir.join("gitleaks-applivery.toml");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        &gitleaks_config,
        r#"title = "applivery only"
[[rules]]
id = "applivery-app-token"
description = "Applivery App API Token"
regex = '''(?i)(?:applivery[\w.\-]{0,40}['"]?\s*[:=,(]\s*\\?['"]?|bearer\s+|token['"]?\s*[:=]\s*\\?['"]?)([A-Za-z0-9_-]{24})\b'''
secretGroup = 1
keywords = ["applivery"]
"#,
    )
    .unwrap();

    for &size in &sizes {
        let sdir = dir.join(format!("tree-{}mb", size >> 20));
        let planted = generate(&sdir, size);
        let tree = sdir.join("tree");
        let tree_s = tree.to_str().unwrap();
        let (bytes, files) = tree_bytes(&tree);
        println!();
        println!(
            "tree {}: {} files, {:.1} MiB, {} planted tokens",
            tree.display(),
            files,
            bytes as f64 / (1u64 << 20) as f64,
            planted.len()
        );

        let ours_args = [
            "dir",
            tree_s,
            "--no-config",
            "--format",
            "jsonl",
            "--show-secrets",
            "--quiet",
        ];
        let rg_args = ["-i", "-c", "--hidden", "applivery", tree_s];
        // Warm the page cache, then alternate the two tools so both see the same machine
        // load (the benchmark machine is shared); report each one's median.
        let _ = measure(&bin, &ours_args, true);
        let mut ours_runs = Vec::new();
        let mut rg_runs = Vec::new();
        if let Some(rg) = &rg {
            let _ = measure(rg, &rg_args, true);
        }
        for _ in 0..RUNS {
            ours_runs.push(measure(&bin, &ours_args, true));
            if let Some(rg) = &rg {
                rg_runs.push(measure(rg, &rg_args, true));
            }
        }
        let ours = median(ours_runs);
        let found = findings(&ours.stdout);
        let want: BTreeSet<Planted> = planted.iter().cloned().collect();
        let missed: Vec<_> = want.difference(&found).collect();
        let extra: Vec<_> = found.difference(&want).collect();
        println!(
            "applivery-leaks: {:7.1} MB/s  {:.3} s  peak RSS {}  exit {}  found {}/{} planted, {} unexpected",
            mbps(bytes, ours.wall),
            ours.wall.as_secs_f64(),
            mib(ours.rss_kib),
            ours.status,
            want.len() - missed.len(),
            want.len(),
            extra.len()
        );
        for m in missed.iter().take(10) {
            println!("  MISSED {} {}…", m.path, &m.token[..4]);
        }
        for x in extra.iter().take(10) {
            println!(
                "  UNEXPECTED {} {}…",
                x.path,
                &x.token[..4.min(x.token.len())]
            );
        }

        if !rg_runs.is_empty() {
            let r = median(rg_runs);
            println!(
                "rg -i -c:        {:7.1} MB/s  {:.3} s  peak RSS {}",
                mbps(bytes, r.wall),
                r.wall.as_secs_f64(),
                mib(r.rss_kib)
            );
            println!(
                "ratio: applivery-leaks at {:.0}% of rg's throughput (target >= 70%)",
                100.0 * r.wall.as_secs_f64() / ours.wall.as_secs_f64()
            );
        } else {
            println!("rg not found: install ripgrep to compare");
        }
        if let Some(gl) = &gitleaks {
            let report = sdir.join("gitleaks.json");
            let gl_args = [
                "dir",
                tree_s,
                "--no-banner",
                "--config",
                gitleaks_config.to_str().unwrap(),
                "--report-format",
                "json",
                "--report-path",
                report.to_str().unwrap(),
                "--exit-code",
                "0",
                "--log-level",
                "error",
            ];
            let g = measure(gl, &gl_args, true);
            // gitleaks' JSON report: count the planted tokens among its "Secret" values.
            let report_text = fs::read_to_string(&report).unwrap_or_default();
            let found = planted
                .iter()
                .filter(|p| report_text.contains(&format!("\"Secret\": \"{}\"", p.token)))
                .count();
            println!(
                "gitleaks dir:    {:7.1} MB/s  {:.3} s  peak RSS {}  found {found}/{} planted (one run, similar rule)",
                mbps(bytes, g.wall),
                g.wall.as_secs_f64(),
                mib(g.rss_kib),
                planted.len()
            );
            println!(
                "ratio: applivery-leaks {:.1}x as fast as gitleaks",
                g.wall.as_secs_f64() / ours.wall.as_secs_f64()
            );
        }
    }
}
