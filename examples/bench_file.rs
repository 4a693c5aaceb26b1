//! One-file benchmark: how time and memory grow with the number of findings in ONE file (a
//! program that prints numbers, not a test; CI never runs it).
//!
//! ```sh
//! cargo build --release --example bench_file
//! target/release/examples/bench_file [--dir DIR] [--bin BIN] [--only lines|oneline]
//!     [--format jsonl|json] [COUNT ...]
//! ```
//!
//! For each COUNT (default: 100000 200000 1000000) it writes — once, then reuses — two files
//! under DIR (default `target/bench-file`) holding COUNT fake tokens each:
//! - `lines-<COUNT>.env`: one `APPLIVERY_APP_TOKEN_<i>=<token>` per line (a dump of `.env`
//!   files, a CI log);
//! - `oneline-<COUNT>.json`: the same assignments as one JSON object on a single line (a
//!   minified bundle), where every finding shares one line.
//!
//! Then it runs `BIN dir --format FORMAT FILE` (default BIN: target/release/applivery-leaks,
//! FORMAT: jsonl) and prints wall time, peak RSS, and findings reported against tokens planted. Linear cost
//! shows as constant time per finding across counts. Tokens are drawn uniformly from
//! [A-Za-z0-9] by a fixed-seed generator: never real.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Rng;

fn main() {
    let mut dir = PathBuf::from("target/bench-file");
    let mut bin = PathBuf::from("target/release/applivery-leaks");
    let mut counts = Vec::new();
    let mut only: Option<String> = None;
    let mut format = String::from("jsonl");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next().expect("--dir DIR").into(),
            "--bin" => bin = args.next().expect("--bin BIN").into(),
            "--only" => only = Some(args.next().expect("--only lines|oneline")),
            "--format" => format = args.next().expect("--format json|jsonl"),
            n => counts.push(n.parse::<usize>().expect("COUNT is a number")),
        }
    }
    if counts.is_empty() {
        counts = vec![100_000, 200_000, 1_000_000];
    }
    fs::create_dir_all(&dir).unwrap();
    assert!(format == "json" || format == "jsonl", "--format json|jsonl");
    println!("binary: {} (--format {format})", bin.display());
    println!(
        "{:<24} {:>9} {:>10} {:>10} {:>12} {:>10}",
        "file", "MiB", "wall s", "µs/find", "peak RSS MiB", "found"
    );
    for &n in &counts {
        for (name, one_line) in [
            (format!("lines-{n}.env"), false),
            (format!("oneline-{n}.json"), true),
        ] {
            if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
                continue;
            }
            let path = dir.join(&name);
            if !path.exists() {
                generate(&path, n, one_line);
            }
            let size = fs::metadata(&path).unwrap().len();
            let (wall, rss_kib, found) = measure(&bin, &path, &format);
            println!(
                "{:<24} {:>9.1} {:>10.2} {:>10.2} {:>12.0} {:>10}",
                name,
                size as f64 / (1 << 20) as f64,
                wall.as_secs_f64(),
                wall.as_secs_f64() * 1e6 / n as f64,
                rss_kib as f64 / 1024.0,
                format!("{found}/{n}"),
            );
        }
    }
}

impl Rng {
    fn token(&mut self) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..24)
            .map(|_| A[(self.next() % A.len() as u64) as usize] as char)
            .collect()
    }
}

fn generate(path: &Path, n: usize, one_line: bool) {
    let tmp = path.with_extension("partial");
    let mut w = BufWriter::new(fs::File::create(&tmp).unwrap());
    let mut rng = Rng(n as u64);
    if one_line {
        w.write_all(b"{").unwrap();
    }
    for i in 0..n {
        let t = rng.token();
        if one_line {
            let sep = if i + 1 < n { "," } else { "" };
            write!(w, "\"APPLIVERY_APP_TOKEN_{i}\":\"{t}\"{sep}").unwrap();
        } else {
            writeln!(w, "APPLIVERY_APP_TOKEN_{i}={t}").unwrap();
        }
    }
    if one_line {
        w.write_all(b"}\n").unwrap();
    }
    w.into_inner().unwrap().sync_all().unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// Wall time, peak RSS in KiB (the child's VmHWM, sampled until it exits) and the number of
/// findings in the JSONL report.
fn measure(bin: &Path, file: &Path, format: &str) -> (Duration, u64, usize) {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["dir", "--format", format, "--no-config"])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let out = child.stdout.take().unwrap();
    // Counted as bytes, one reused line buffer, no UTF-8 check: on two cores this thread
    // competes with the scan it measures, and a String per line of a 565 MB report cost it
    // about half a second of CPU.
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut r = std::io::BufReader::with_capacity(1 << 20, out);
        let (mut line, mut found) = (Vec::new(), 0);
        let key = memchr::memmem::Finder::new(b"\"fingerprint\"");
        while r.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            found += usize::from(key.find(&line).is_some());
            line.clear();
        }
        found
    });
    let s = common::sample(&mut child, started, Duration::from_millis(5));
    assert!(
        s.status.code().is_some_and(|c| c <= 1),
        "scan failed: {}",
        s.status
    );
    (s.wall, s.peak_kib, reader.join().unwrap())
}
