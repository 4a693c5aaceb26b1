//! Benchmark of word-likeness (issue 18, point 2; a program that prints numbers, not a test).
//!
//! Measures `applivery_leaks::detect::is_word_like` on both sides:
//! - (a) the share of uniformly random 24-character base64url tokens it calls word-like
//!   (goal: at most 1 in 100,000; default sample 10 million, seeded);
//! - (b) the share of real names of 16–64 characters it does *not* call word-like (goal: at
//!   most 1 in 1,000): identifiers, member chains, file paths and Markdown heading slugs
//!   harvested from the crate sources under `~/.cargo/registry/src` (libgit2-sys's vendored C
//!   counted apart) and from any directory given on the command line (e.g. a git.git checkout).
//!
//! and prints the margin (`word_margin`, in bits) quantiles of both sides, the rates per
//! length bucket, per kind and per case style, and examples of names not called word-like.
//!
//! ```text
//! cargo build --release --example bench_wordlike
//! target/release/examples/bench_wordlike                       # 10M tokens, crate sources
//! target/release/examples/bench_wordlike --random 1000000 /path/to/git   # + a checkout
//! ```
//! Options: `--random N` (tokens), `--seed S`, `--examples N` (names shown, default 30).
//! The `#[ignore]`d test `wordlike::rates_within_goals` (scripts/check-wordlike.sh) is the
//! bounded CI form.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use applivery_leaks::detect::{is_word_like, word_margin, WORD_THRESHOLD};
use rayon::prelude::*;

mod common;

use common::wordlike::{crate_sources, harvest, random_margins, Source};

const RANDOM_GOAL: f64 = 1e-5;
const NAME_GOAL: f64 = 1e-3;

struct Args {
    random: u64,
    seed: u64,
    examples: usize,
    extra: Vec<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        random: 10_000_000,
        seed: 0x5EED_0018,
        examples: 30,
        extra: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut num = |what: &str| -> u64 {
            let v = it
                .next()
                .unwrap_or_else(|| die(&format!("{what} needs a value")));
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| die(&format!("{what}: not a number: {v}")))
        };
        match x.as_str() {
            "--random" => a.random = num("--random"),
            "--seed" => a.seed = num("--seed"),
            "--examples" => a.examples = num("--examples") as usize,
            "-h" | "--help" => {
                println!("usage: bench_wordlike [--random N] [--seed S] [--examples N] [DIR]...");
                std::process::exit(0);
            }
            d if d.starts_with('-') => die(&format!("unknown option {d}")),
            d => {
                let p = PathBuf::from(d);
                if !p.is_dir() {
                    die(&format!("not a directory: {d}"));
                }
                a.extra.push(p);
            }
        }
    }
    a
}

fn die(msg: &str) -> ! {
    eprintln!("bench_wordlike: {msg}");
    std::process::exit(2)
}

fn main() {
    let a = args();
    println!("word-likeness: threshold {WORD_THRESHOLD} bits\n");

    // (a) Random tokens.
    let t = Instant::now();
    let (mut margins, hits) = random_margins(a.random, a.seed);
    let secs = t.elapsed().as_secs_f64();
    let rate = hits.len() as f64 / a.random as f64;
    println!(
        "(a) random 24-char base64url tokens called word-like: {} of {} = {} (goal <= 1e-5: {}) [{secs:.1} s]",
        hits.len(),
        a.random,
        sci(rate),
        verdict(rate <= RANDOM_GOAL),
    );
    margins.sort_by(f32::total_cmp);
    quantiles("    margin quantiles (random)", &margins);
    for h in hits.iter().take(10) {
        println!(
            "    word-like: {h}  margin {:.1}",
            word_margin(h.as_bytes())
        );
    }
    drop(margins);

    // (b) Names.
    let t = Instant::now();
    let mut sources = crate_sources();
    for d in &a.extra {
        sources.push(Source {
            label: d.display().to_string(),
            roots: vec![d.clone()],
        });
    }
    let h = harvest(&sources);
    println!("\nnames harvested in {:.1} s:", t.elapsed().as_secs_f64());
    for c in &h.counts {
        println!(
            "    {:>9} distinct ({:>9} new) from {:>7} files  {}",
            c.distinct, c.new, c.files, c.label
        );
    }
    println!("    {:>9} distinct in all", h.names.len());
    if h.names.is_empty() {
        die("no names harvested: no crate sources and no directory given");
    }

    let judged: Vec<(f32, bool)> = h
        .names
        .par_iter()
        .map(|n| (word_margin(&n.text) as f32, is_word_like(&n.text)))
        .collect();
    let missed = judged.iter().filter(|j| !j.1).count();
    let rate = missed as f64 / h.names.len() as f64;
    println!(
        "\n(b) names of 16-64 chars NOT called word-like: {missed} of {} = {} (goal <= 1e-3: {})",
        h.names.len(),
        sci(rate),
        verdict(rate <= NAME_GOAL),
    );
    let mut sorted: Vec<f32> = judged.iter().map(|j| j.0).collect();
    sorted.sort_by(f32::total_cmp);
    quantiles("    margin quantiles (names)", &sorted);

    let table = |title: &str, key: &dyn Fn(usize) -> String| {
        let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (i, j) in judged.iter().enumerate() {
            let e = by.entry(key(i)).or_default();
            e.0 += 1;
            e.1 += usize::from(!j.1);
        }
        println!("\n    {title}:");
        for (k, (n, miss)) in by {
            println!(
                "      {k:<28} {miss:>7} of {n:>9} not word-like = {}",
                sci(miss as f64 / n as f64)
            );
        }
    };
    table("by length", &|i| bucket(h.names[i].text.len()).to_string());
    table("by kind", &|i| h.names[i].kind.label().to_string());
    table("by case style", &|i| style(&h.names[i].text).to_string());
    table("by source", &|i| h.counts[h.names[i].source].label.clone());

    // Examples: spread evenly over the misses ordered by margin, the worst first.
    let mut misses: Vec<usize> = (0..judged.len()).filter(|&i| !judged[i].1).collect();
    misses.sort_by(|&x, &y| judged[x].0.total_cmp(&judged[y].0));
    let k = a.examples.min(misses.len());
    println!("\n    {k} of the {} names not called word-like (worst first, then spread to the threshold):", misses.len());
    for s in 0..k {
        let i = misses[if k == 1 {
            0
        } else {
            s * (misses.len() - 1) / (k - 1)
        }];
        let n = &h.names[i];
        println!(
            "      {:>7.1}  {:<13} {}",
            judged[i].0,
            n.kind.label(),
            String::from_utf8_lossy(&n.text)
        );
    }
}

fn bucket(len: usize) -> &'static str {
    match len {
        ..=23 => "16-23",
        24 => "24",
        25..=31 => "25-31",
        _ => "32-64",
    }
}

/// The case style of a name, as the issue lists them.
fn style(t: &[u8]) -> &'static str {
    let has = |f: fn(&u8) -> bool| t.iter().any(f);
    if t.contains(&b'/') {
        "slash-joined (path)"
    } else if t.contains(&b'.') || t.windows(2).any(|w| w == b"->") {
        "dotted / arrow chain"
    } else if t.contains(&b'-') {
        "kebab-case"
    } else if !has(u8::is_ascii_uppercase) {
        "lower / snake_case"
    } else if !has(u8::is_ascii_lowercase) {
        "SCREAMING_SNAKE"
    } else if t.contains(&b'_') {
        "mixed with _"
    } else if t[0].is_ascii_lowercase() {
        "camelCase"
    } else {
        "PascalCase"
    }
}

fn quantiles(title: &str, sorted: &[f32]) {
    let n = sorted.len();
    if n == 0 {
        return;
    }
    let q = |p: f64| sorted[((p * (n - 1) as f64).round() as usize).min(n - 1)];
    let ps = [
        (0.0, "min"),
        (1e-5, "p0.001"),
        (1e-4, "p0.01"),
        (1e-3, "p0.1"),
        (0.01, "p1"),
        (0.1, "p10"),
        (0.5, "p50"),
        (0.9, "p90"),
        (0.99, "p99"),
        (0.999, "p99.9"),
        (0.9999, "p99.99"),
        (0.99999, "p99.999"),
        (1.0, "max"),
    ];
    println!("{title}:");
    let cells: Vec<String> = ps
        .iter()
        .filter(|&&(p, _)| {
            p == 0.0 || p == 1.0 || p * n as f64 >= 1.0 && (1.0 - p) * n as f64 >= 1.0
        })
        .map(|&(p, label)| format!("{label}:{:.1}", q(p)))
        .collect();
    for line in cells.chunks(7) {
        println!("      {}", line.join("  "));
    }
}

fn sci(r: f64) -> String {
    if r == 0.0 {
        "0".into()
    } else {
        format!("{r:.2e} (1 in {:.0})", 1.0 / r)
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}
