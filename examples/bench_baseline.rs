//! Baseline benchmark: how long loading a `--baseline` of N fingerprints takes (a program
//! that prints numbers, not a test; CI never runs it). A monorepo that adopts the scanner on a
//! noisy history accepts its findings as a baseline of this size.
//!
//! ```sh
//! cargo build --release --example bench_baseline
//! target/release/examples/bench_baseline [--dir DIR] [--bin BIN] [COUNT ...]
//! ```
//!
//! For each COUNT (default: 10000 30000 100000 300000) it writes — once, then reuses — a JSON
//! report `baseline-<COUNT>.json` under DIR (default `target/bench-baseline`) holding COUNT
//! random fingerprints, one finding per line as `--format json` writes them, and runs
//! `BIN dir --baseline FILE CLEAN_DIR` (default BIN: target/release/applivery-leaks) on a
//! directory with one clean file, so the time is the baseline's. Linear cost shows as constant
//! µs per fingerprint across counts.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Rng;

fn main() {
    let mut dir = PathBuf::from("target/bench-baseline");
    let mut bin = PathBuf::from("target/release/applivery-leaks");
    let mut counts = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next().expect("--dir DIR").into(),
            "--bin" => bin = args.next().expect("--bin BIN").into(),
            n => counts.push(n.parse::<usize>().expect("COUNT is a number")),
        }
    }
    if counts.is_empty() {
        counts = vec![10_000, 30_000, 100_000, 300_000];
    }
    let clean = dir.join("clean");
    fs::create_dir_all(&clean).unwrap();
    fs::write(clean.join("README.md"), "nothing to see here\n").unwrap();
    println!("binary: {}", bin.display());
    println!(
        "{:<24} {:>9} {:>10} {:>10} {:>12}",
        "baseline", "MiB", "wall s", "µs/entry", "peak RSS MiB"
    );
    for &n in &counts {
        let file = dir.join(format!("baseline-{n}.json"));
        if !file.exists() {
            write_baseline(&file, n);
        }
        let size = fs::metadata(&file).unwrap().len();
        let started = Instant::now();
        let mut child = Command::new(&bin)
            .args(["dir", "--no-config", "-q", "--format", "json", "--baseline"])
            .arg(&file)
            .arg(&clean)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the scanner");
        let s = common::sample(&mut child, started, Duration::from_millis(5));
        assert_eq!(s.status.code(), Some(0), "a clean scan exits 0");
        println!(
            "{:<24} {:>9.1} {:>10.3} {:>10.2} {:>12.1}",
            file.file_name().unwrap().to_string_lossy(),
            size as f64 / (1 << 20) as f64,
            s.wall.as_secs_f64(),
            s.wall.as_secs_f64() * 1e6 / n as f64,
            s.peak_kib as f64 / 1024.0
        );
    }
}

/// A JSON report with `n` findings, each with a random fingerprint and the fields a real one
/// has around it, so the parse reads what a real baseline holds.
fn write_baseline(path: &PathBuf, n: usize) {
    let mut rng = Rng(0xba5e_11e5 ^ n as u64);
    let mut w = BufWriter::new(fs::File::create(path).unwrap());
    writeln!(w, "{{\n  \"version\": \"1\",\n  \"findings\": [").unwrap();
    for i in 0..n {
        let fp = format!("{:016x}{:016x}", rng.next(), rng.next());
        let sep = if i + 1 == n { "" } else { "," };
        writeln!(
            w,
            "    {{\"rule\": \"applivery-app-token\", \"path\": \"src/f{i}.env\", \"line\": 1, \
             \"secret\": \"abcd…\", \"fingerprint\": \"{fp}\"}}{sep}"
        )
        .unwrap();
    }
    writeln!(w, "  ]\n}}").unwrap();
    w.flush().unwrap();
}
