//! Benchmark of `applivery-leaks git` (a program that prints numbers, not a test; CI never
//! runs it).
//!
//! Builds a deterministic synthetic repository with `git fast-import` — a linear history of
//! COMMITS commits over FILES text files, each commit rewriting a few lines of PER_COMMIT
//! files, with Applivery tokens planted in some commits and deleted again later — repacks it
//! as `git gc` would, then times:
//! - the floor: `git cat-file --batch-all-objects --unordered --batch > /dev/null`, the cost
//!   of inflating every object once;
//! - `applivery-leaks git --format json` on the same repository;
//! - optionally `gitleaks git` (set GITLEAKS=/path/to/gitleaks).
//!
//! and checks that every planted token is reported with the commit that introduced it.
//!
//! Each repository is swept with 1, 2 and all threads (`--threads 1,2,all`), best of `--runs 3`
//! rounds in which the thread counts take turns, and a table prints wall time, CPU time, peak
//! RSS and MB/s of blob text next to the floor's, so the slope of time and memory with history
//! size and threads is visible. The speed-up over one thread is printed twice: of the best
//! times, and as the median of each round's own ratio.
//!
//! ```text
//! cargo build --release --example bench_git --bin applivery-leaks
//! target/release/examples/bench_git --scales 1,4,10           # 2000, 8000, 20000 commits
//! target/release/examples/bench_git --commits 2000 --files 500 --dir /tmp/bench-small
//! target/release/examples/bench_git --repo /path/to/git.git   # an existing repository
//! ```
//! Scale s builds s times COMMITS commits over s times FILES files in DIR/x{s}. A repository
//! is kept and reused when it exists (delete it to rebuild). With
//! `--repo`, nothing is built and no planted tokens are checked: the numbers are for that
//! repository as it is (e.g. a `git clone --no-local --bare` of git.git).

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

struct Args {
    commits: usize,
    files: usize,
    per_commit: usize,
    dir: PathBuf,
    bin: PathBuf,
    repo: Option<PathBuf>,
    scales: Vec<usize>,
    threads: Vec<usize>,
    runs: usize,
}

/// One line of the table: a repository swept with a number of threads.
struct Row {
    repo: String,
    text_mb: f64,
    floor: Measured,
    threads: usize,
    ours: Measured,
    /// Wall time of each round (the thread counts take turns, one run each per round).
    rounds: Vec<Duration>,
}

#[derive(Clone, Copy)]
struct Measured {
    wall: Duration,
    cpu: f64,
    rss_kib: u64,
}

fn main() {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut a = Args {
        commits: 2000,
        files: 500,
        per_commit: 5,
        dir: PathBuf::from("/tmp/applivery-leaks-bench"),
        bin: PathBuf::from("target/release/applivery-leaks"),
        repo: None,
        scales: vec![1],
        threads: vec![1, 2, all],
        runs: 3,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let list = |v: &str, what: &str| -> Vec<usize> {
        v.split(',')
            .map(|x| match x {
                "all" => all,
                n => n
                    .parse()
                    .unwrap_or_else(|_| panic!("{what} takes numbers or `all`")),
            })
            .collect()
    };
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--commits" => a.commits = v.parse().expect("--commits N"),
            "--files" => a.files = v.parse().expect("--files N"),
            "--per-commit" => a.per_commit = v.parse().expect("--per-commit N"),
            "--dir" => a.dir = PathBuf::from(v),
            "--bin" => a.bin = PathBuf::from(v),
            "--repo" => a.repo = Some(PathBuf::from(v)),
            "--scales" => a.scales = list(&v, "--scales"),
            "--threads" => a.threads = list(&v, "--threads"),
            "--runs" => a.runs = v.parse().expect("--runs N"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a.threads.dedup();
    let mut rows = Vec::new();
    let mut bad = 0;
    match a.repo.clone() {
        Some(repo) => bad += sweep(&a, &repo, &[], &mut rows),
        None => {
            for &scale in &a.scales {
                // Scale s: s times the commits and s times the files of the history.
                let sized = Args {
                    commits: a.commits * scale,
                    files: a.files * scale,
                    dir: a.dir.join(format!("x{scale}")),
                    bin: a.bin.clone(),
                    repo: None,
                    scales: vec![],
                    threads: vec![],
                    ..a
                };
                let planted_file = sized.dir.join("planted.tsv");
                std::fs::create_dir_all(&sized.dir).unwrap();
                if !planted_file.exists() {
                    let t = Instant::now();
                    build(&sized);
                    println!(
                        "built the {scale}x repository ({} commits, {} files) in {:.1}s",
                        sized.commits,
                        sized.files,
                        t.elapsed().as_secs_f64()
                    );
                }
                let planted: Vec<(String, String, bool)> = std::fs::read_to_string(&planted_file)
                    .unwrap()
                    .lines()
                    .map(|l| {
                        let mut p = l.split('\t');
                        (
                            p.next().unwrap().to_string(),
                            p.next().unwrap().to_string(),
                            p.next().unwrap() == "true",
                        )
                    })
                    .collect();
                let name = format!("synthetic {scale}x");
                bad += sweep(&a, &sized.dir.join("repo.git"), &planted, &mut rows);
                for r in rows.iter_mut().rev().take(a.threads.len()) {
                    r.repo.clone_from(&name);
                }
            }
        }
    }

    println!();
    println!(
        "| repository | blob text | threads | applivery-leaks git: wall / CPU / peak RSS | MB/s | floor (cat-file): wall / CPU / peak RSS | ratio to floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        let secs = r.ours.wall.as_secs_f64();
        println!(
            "| {} | {:.0} MB | {} | {:.2} s / {:.2} s / {} MiB | {:.0} | {:.2} s / {:.2} s / {} MiB | {:.2}x |",
            r.repo,
            r.text_mb,
            r.threads,
            secs,
            r.ours.cpu,
            r.ours.rss_kib / 1024,
            r.text_mb / secs,
            r.floor.wall.as_secs_f64(),
            r.floor.cpu,
            r.floor.rss_kib / 1024,
            secs / r.floor.wall.as_secs_f64()
        );
    }
    // Speed-up over one thread, per repository: of the best times, and the median of the
    // rounds' own ratios (a round's runs are back to back, so a machine whose speed drifts
    // moves both alike).
    for r in &rows {
        let one = rows.iter().find(|o| o.repo == r.repo && o.threads == 1);
        if let (Some(one), true) = (one, r.threads > 1) {
            let mut paired: Vec<f64> = one
                .rounds
                .iter()
                .zip(&r.rounds)
                .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
                .collect();
            paired.sort_by(f64::total_cmp);
            let median = match paired.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => paired[n / 2],
                n => (paired[n / 2 - 1] + paired[n / 2]) / 2.0,
            };
            println!(
                "{}: {} threads {:.2}x as fast as 1 (best times); median of {} rounds {:.2}x ({:.2}-{:.2}x)",
                r.repo,
                r.threads,
                one.ours.wall.as_secs_f64() / r.ours.wall.as_secs_f64(),
                paired.len(),
                median,
                paired.first().copied().unwrap_or(f64::NAN),
                paired.last().copied().unwrap_or(f64::NAN),
            );
        }
    }
    if bad > 0 {
        std::process::exit(1);
    }
}

/// Times the floor, then a sweep per thread count on `repo`, checks the planted tokens in each
/// report, and adds the rows. Returns how many planted tokens were missed or misplaced.
fn sweep(a: &Args, repo: &Path, planted: &[(String, String, bool)], rows: &mut Vec<Row>) -> usize {
    let count = |what: &str| -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(what.split(' '))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    println!("repository: {}", repo.display());
    println!("  {}", count("count-objects -vH").replace('\n', ", "));

    // Warm the page cache so both runs read from memory.
    let _ = run_measured(cat_file(repo));
    let floor = best_of_runs(a.runs, || run_measured(cat_file(repo)));
    println!(
        "floor  git cat-file --batch-all-objects --unordered --batch: {:.2}s, peak RSS {} MiB",
        floor.wall.as_secs_f64(),
        floor.rss_kib / 1024
    );

    let report = repo.with_extension("report.json");
    let mut bad = 0;
    // The thread counts take turns, one run each per round, so that a machine whose speed
    // drifts (this one's does, by ±15% within the hour) does not favour the count run last.
    let ours = |threads: usize| {
        let mut c = Command::new(&a.bin);
        c.arg("git")
            .arg(repo)
            .args(["--format", "json", "--quiet", "-j"])
            .arg(threads.to_string())
            .arg("-o")
            .arg(&report);
        let m = run_measured(c);
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).expect("report is JSON");
        (m, v["summary"].clone())
    };
    let mut measured: Vec<(Vec<Measured>, serde_json::Value)> =
        vec![(Vec::new(), serde_json::Value::Null); a.threads.len()];
    for _ in 0..a.runs.max(1) {
        for (i, &threads) in a.threads.iter().enumerate() {
            let (m, s) = ours(threads);
            measured[i].0.push(m);
            measured[i].1 = s;
        }
    }
    for (&threads, (runs, s)) in a.threads.iter().zip(measured) {
        let m = best_of(&runs);
        let commits = s["git"]["commits_walked"].as_u64().unwrap();
        let blobs = s["git"]["blobs_scanned"].as_u64().unwrap();
        let bytes = s["bytes_scanned"].as_u64().unwrap();
        let secs = m.wall.as_secs_f64();
        println!(
            "ours   applivery-leaks git -j {threads}: {secs:.2}s ({:.2}x the floor), peak RSS {} MiB ({:.2}x the floor's)",
            secs / floor.wall.as_secs_f64(),
            m.rss_kib / 1024,
            m.rss_kib as f64 / floor.rss_kib.max(1) as f64
        );
        println!(
            "       {commits} commits ({:.0}/s), {blobs} unique blobs ({:.0}/s), {:.1} MB of blob content ({:.0} MB/s)",
            commits as f64 / secs,
            blobs as f64 / secs,
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        );
        bad += check_planted(&s, planted);
        rows.push(Row {
            repo: repo
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            text_mb: bytes as f64 / 1e6,
            floor,
            threads,
            ours: m,
            rounds: runs.iter().map(|r| r.wall).collect(),
        });
    }

    if let Ok(gl) = std::env::var("GITLEAKS") {
        let cfg = repo.with_extension("gitleaks.toml");
        std::fs::write(
            &cfg,
            "[[rules]]\nid = \"applivery\"\nregex = '''(?i)applivery[a-z_]*token\\s*=\\s*([A-Za-z0-9_-]{24})'''\nkeywords = [\"applivery\"]\n",
        )
        .unwrap();
        let run = || {
            let mut c = Command::new(&gl);
            c.arg("git")
                .arg(repo)
                .arg("--config")
                .arg(&cfg)
                .args(["--no-banner", "--log-level", "error", "--exit-code", "0"])
                .args(["--report-format", "json", "--report-path"])
                .arg(repo.with_extension("gitleaks.json"));
            run_measured(c)
        };
        let g = best_of_runs(1, run);
        println!(
            "gitleaks git (one Applivery rule): {:.2}s ({:.2}x the floor), peak RSS {} MiB",
            g.wall.as_secs_f64(),
            g.wall.as_secs_f64() / floor.wall.as_secs_f64(),
            g.rss_kib / 1024
        );
    }
    bad
}

/// Every planted token must be reported, with the commit that introduced it and whether HEAD
/// still has it. Returns how many are not.
fn check_planted(s: &serde_json::Value, planted: &[(String, String, bool)]) -> usize {
    let secrets = s["git"]["secrets"].as_array().unwrap();
    let mut by_hash: HashMap<&str, &serde_json::Value> = HashMap::new();
    for x in secrets {
        by_hash.insert(x["secret_sha256"].as_str().unwrap(), x);
    }
    let mut bad = 0;
    for (token, commit, in_head) in planted {
        let h = sha256(token);
        match by_hash.get(h.as_str()) {
            None => {
                bad += 1;
                println!("  MISSING planted token {}…", &token[..4]);
            }
            Some(x) => {
                if x["first_commit"] != commit.as_str() || x["in_head"] != *in_head {
                    bad += 1;
                    println!(
                        "  WRONG provenance for {}…: got {} in_head={}, want {commit} in_head={in_head}",
                        &token[..4],
                        x["first_commit"],
                        x["in_head"]
                    );
                }
            }
        }
    }
    if !planted.is_empty() {
        println!(
            "       planted tokens: {} of {} found with the right introducing commit; {} secret(s) reported",
            planted.len() - bad,
            planted.len(),
            secrets.len()
        );
    }
    bad
}

fn cat_file(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch-all-objects", "--unordered", "--batch"]);
    c
}

/// The best wall time of `n` runs, with its CPU time, and the highest peak RSS of them.
fn best_of_runs(n: usize, mut f: impl FnMut() -> Measured) -> Measured {
    best_of(&(0..n.max(1)).map(|_| f()).collect::<Vec<_>>())
}

/// The best wall time of `runs`, with its CPU time, and the highest peak RSS of them.
fn best_of(runs: &[Measured]) -> Measured {
    let mut best = Measured {
        wall: Duration::MAX,
        cpu: 0.0,
        rss_kib: 0,
    };
    for &r in runs {
        if r.wall < best.wall {
            best.wall = r.wall;
            best.cpu = r.cpu;
        }
        best.rss_kib = best.rss_kib.max(r.rss_kib);
    }
    best
}

/// Wall time, CPU time (user + system) and peak RSS (KiB, the child's VmHWM), sampled until
/// it exits.
fn run_measured(mut c: Command) -> Measured {
    c.stdout(Stdio::null());
    let t = Instant::now();
    let mut child = c.spawn().expect("spawn");
    let s = common::sample(&mut child, t, Duration::from_millis(5));
    // Exit 2 is a scan that listed errors (git.git holds a deliberately damaged tar in its
    // test suite): timed all the same, and said.
    assert!(
        s.status.code().is_some_and(|c| c <= 2),
        "{c:?} failed: {}",
        s.status
    );
    if s.status.code() == Some(2) {
        println!("         (exit 2: the report lists errors)");
    }
    let cpu = s.cpu_ticks as f64 / 100.0;
    println!(
        "         ({:.2}s wall, ~{cpu:.2}s CPU: {:?})",
        s.wall.as_secs_f64(),
        c.get_program()
    );
    Measured {
        wall: s.wall,
        cpu,
        rss_kib: s.peak_kib,
    }
}

fn sha256(s: &str) -> String {
    applivery_leaks::finding::sha256_hex(s.as_bytes())
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
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "let", "value", "config", "return", "if", "else", "for", "item", "in", "self", "user",
    "request", "response", "build", "release", "upload", "version", "name", "path", "file",
    "error", "result", "map", "filter", "count", "index", "data", "buffer", "string", "number",
    "true", "false", "null", "import", "export", "function", "class", "struct", "impl", "match",
];

fn line(rng: &mut Rng) -> String {
    let indent = "    ".repeat(rng.below(4));
    let n = 3 + rng.below(9);
    let mut s = indent;
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len())]);
        if rng.below(7) == 0 {
            s.push_str(&format!("_{}", rng.below(1000)));
        }
    }
    s.push_str(if rng.below(3) == 0 { " {" } else { ";" });
    s
}

fn token(rng: &mut Rng) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    loop {
        let t: String = (0..24).map(|_| A[rng.below(A.len())] as char).collect();
        let up = t.bytes().any(|b| b.is_ascii_uppercase());
        let lo = t.bytes().any(|b| b.is_ascii_lowercase());
        let di = t.bytes().filter(|b| b.is_ascii_digit()).count() >= 2;
        if up && lo && di {
            return t;
        }
    }
}

/// Writes the fast-import stream, repacks, and records each planted token with the commit
/// that introduced it and whether HEAD still holds it.
fn build(a: &Args) {
    std::fs::create_dir_all(&a.dir).unwrap();
    let repo = a.dir.join("repo.git");
    let _ = std::fs::remove_dir_all(&repo);
    let ok = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&repo)
        .status()
        .unwrap();
    assert!(ok.success());
    let marks = a.dir.join("marks");
    let mut fi = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet"])
        .arg(format!("--export-marks={}", marks.display()))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = BufWriter::with_capacity(1 << 20, fi.stdin.take().unwrap());
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let dirs = [
        "src", "src/app", "src/core", "lib", "config", "scripts", "docs", "test",
    ];
    let mut files: Vec<(String, Vec<String>)> = (0..a.files)
        .map(|i| {
            let d = dirs[i % dirs.len()];
            let sub = i / 64;
            let name = format!(
                "{d}/m{sub}/file_{i}.{}",
                ["rs", "kt", "swift", "yml"][i % 4]
            );
            let n = 20 + rng.below(120);
            (name, (0..n).map(|_| line(&mut rng)).collect())
        })
        .collect();
    // Planted tokens: (token, file index, line index, planting commit, removal commit).
    let mut live: Vec<(String, usize, usize)> = Vec::new();
    let mut planted: Vec<(String, usize, Option<usize>)> = Vec::new();
    let plant_every = (a.commits / 40).max(5);
    let t0 = 1_600_000_000u64;
    for c in 1..=a.commits {
        let mut touched: Vec<usize> = if c == 1 {
            (0..a.files).collect()
        } else {
            (0..a.per_commit).map(|_| rng.below(a.files)).collect()
        };
        let mut msg = format!("change {c}: {}", line(&mut rng));
        if c > 1 && c % plant_every == 0 {
            let f = rng.below(a.files);
            let tok = token(&mut rng);
            let at = rng.below(files[f].1.len());
            files[f].1.insert(at, format!("APPLIVERY_APP_TOKEN={tok}"));
            live.push((tok.clone(), f, c));
            planted.push((tok, c, None));
            touched.push(f);
            msg = format!("configure upload {c}");
        }
        // Remove the oldest live token now and then; a few stay in HEAD.
        if c % plant_every == plant_every / 2 && live.len() > 1 && rng.below(4) != 0 {
            let (tok, f, _) = live.remove(0);
            files[f].1.retain(|l| !l.contains(&tok));
            touched.push(f);
            if let Some(p) = planted.iter_mut().find(|p| p.0 == tok) {
                p.2 = Some(c);
            }
        }
        for &f in &touched {
            if c == 1 {
                continue;
            }
            let lines = &mut files[f].1;
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(lines.len());
                if lines[at].contains("APPLIVERY") {
                    continue;
                }
                match rng.below(3) {
                    0 => lines.insert(at, line(&mut rng)),
                    1 if lines.len() > 10 => {
                        lines.remove(at);
                    }
                    _ => lines[at] = line(&mut rng),
                }
            }
        }
        let ts = t0 + c as u64 * 600;
        writeln!(w, "commit refs/heads/main\nmark :{c}").unwrap();
        writeln!(w, "author Dev {0} <dev{0}@example.com> {ts} +0000", c % 7).unwrap();
        writeln!(
            w,
            "committer Dev {0} <dev{0}@example.com> {ts} +0000",
            c % 7
        )
        .unwrap();
        writeln!(w, "data {}\n{msg}", msg.len()).unwrap();
        touched.sort_unstable();
        touched.dedup();
        for f in touched {
            let (name, lines) = &files[f];
            let mut body = lines.join("\n");
            body.push('\n');
            writeln!(w, "M 100644 inline {name}\ndata {}", body.len()).unwrap();
            w.write_all(body.as_bytes()).unwrap();
            writeln!(w).unwrap();
        }
        writeln!(w).unwrap();
    }
    drop(w);
    assert!(fi.wait().unwrap().success(), "fast-import failed");
    let ok = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args([
            "repack",
            "-a",
            "-d",
            "-f",
            "-q",
            "--window=10",
            "--depth=50",
        ])
        .status()
        .unwrap();
    assert!(ok.success(), "repack failed");
    let marks: HashMap<usize, String> = std::fs::read_to_string(&marks)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (m, id) = l.split_once(' ')?;
            Some((m.trim_start_matches(':').parse().ok()?, id.to_string()))
        })
        .collect();
    let mut out = String::new();
    for (tok, c, removed) in planted {
        out.push_str(&format!("{tok}\t{}\t{}\n", marks[&c], removed.is_none()));
    }
    std::fs::write(a.dir.join("planted.tsv"), out).unwrap();
}
