//! Text dense in the keyword (issue 17, point 5): how fast one core scans inputs where
//! `applivery` is everywhere — a program that prints MB/s, not a test; CI never runs it (the
//! bounded linearity test is `tests/it/dense.rs`).
//!
//! ```sh
//! cargo build --release --example bench_dense
//! target/release/examples/bench_dense [--bin BIN] [MB ...]     # default 10 50
//! ```
//!
//! For each size and each shape it writes the input once under `target/bench-dense/` and runs
//! `BIN stdin --no-config -q < FILE` (one blob, one thread) three times, printing the best
//! wall time, MB/s and peak RSS. Shapes: one line of `applivery ` repeated (a keyword every
//! 10 bytes), `hello world applivery config` lines, and SDK-like code that names Applivery on
//! every line next to 24-letter identifiers. Linear cost shows as constant MB/s across sizes.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

fn main() {
    let mut bin = PathBuf::from("target/release/applivery-leaks");
    let mut sizes: Vec<usize> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = PathBuf::from(args.next().expect("--bin BIN")),
            n => sizes.push(n.parse().expect("a size in MB")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![10, 50];
    }
    let dir = PathBuf::from("target/bench-dense");
    fs::create_dir_all(&dir).expect("create target/bench-dense");
    let shapes: [(&str, &str); 3] = [
        ("one line", "applivery "),
        ("keyword lines", "hello world applivery config\n"),
        (
            "SDK code",
            "    Applivery.shared.feedbackCoordinator = FeedbackComposerDelegate(screen: ScreenRecordingIndicator.shared)\n",
        ),
    ];
    println!(
        "{:<14} {:>6} {:>9} {:>9} {:>10}",
        "shape", "MB", "best s", "MB/s", "peak MiB"
    );
    for &mb in &sizes {
        for (name, unit) in shapes {
            let path = dir.join(format!("{}-{mb}mb.txt", name.replace(' ', "-")));
            let len = mb * 1_000_000;
            let want = (len / unit.len() * unit.len()) as u64;
            if fs::metadata(&path).map(|m| m.len()).ok() != Some(want) {
                fs::write(&path, unit.repeat(len / unit.len())).expect("write input");
            }
            let bytes = fs::metadata(&path).expect("input").len() as f64;
            let mut best = Duration::MAX;
            let mut peak = 0;
            for _ in 0..3 {
                let input = fs::File::open(&path).expect("open input");
                let started = Instant::now();
                let mut child = Command::new(&bin)
                    .args(["stdin", "--no-config", "-q"])
                    .stdin(input)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("run the binary (cargo build --release first)");
                let s = common::sample(&mut child, started, Duration::from_millis(20));
                best = best.min(s.wall);
                peak = peak.max(s.peak_kib);
            }
            println!(
                "{name:<14} {mb:>6} {:>9.2} {:>9.1} {:>10.1}",
                best.as_secs_f64(),
                bytes / 1e6 / best.as_secs_f64(),
                peak as f64 / 1024.0
            );
        }
    }
}
