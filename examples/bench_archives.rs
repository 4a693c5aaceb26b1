//! Archive benchmark: a program that prints numbers, not a timed test (CI never runs it).
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example bench_archives -- [DIR]
//! ```
//!
//! It generates once (then reuses) under `DIR` (default `target/bench/archives`):
//! - `one/big.apk`, an APK-like artefact of about 200 MB: DEX files full of strings, native
//!   libraries (`lib/*/lib*.so`: binary with strings in it), incompressible images and
//!   sounds stored as they are, JSON assets, a manifest and a resource table, with fake
//!   tokens planted in an asset, a `BuildConfig` field and a native library;
//! - `small/small.apk`, the same recipe at about 20 MB;
//! - `tree/`, about 1 GiB holding 50 artefacts (APKs, IPAs, AABs, `.tar.gz` and `.zip`
//!   bundles of about 20 MB each, one token in each) plus ordinary source files.
//!
//! Then it runs the release binary on each (page cache warmed by a first run) with archives
//! opened and with `--no-archives` (the plain `dir` scan, which skips them as binary), and
//! prints wall time, throughput (input bytes / s), and peak RSS, and checks that every
//! planted token was found. Memory stays bounded by the limits (members held whole are at
//! most `--max-member-size`; everything else streams), not by the artefact's size: the
//! 200 MB and the 20 MB APK show it side by side.

#[path = "../tests/it/artefacts.rs"]
mod artefacts;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Rng;

use artefacts::{dex, native, DexClass};

const GENERATOR_VERSION: u32 = 2;

impl Rng {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
    fn word(&mut self) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
        let n = 3 + (self.next() % 9) as usize;
        (0..n)
            .map(|_| A[(self.next() % 26) as usize] as char)
            .collect()
    }
    /// A fake token: 24 base64url characters, upper and lower case and a digit.
    fn token(&mut self) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        loop {
            let t: String = (0..24)
                .map(|_| A[(self.next() % 62) as usize] as char)
                .collect();
            let has = |f: fn(&u8) -> bool| t.as_bytes().iter().any(f);
            let run = t
                .as_bytes()
                .windows(3)
                .any(|w| w[0] == w[1] && w[1] == w[2]);
            if has(u8::is_ascii_uppercase)
                && has(u8::is_ascii_lowercase)
                && has(u8::is_ascii_digit)
                && !run
            {
                return t;
            }
        }
    }
}

/// A zip written with fast deflate (level 1) for compressible members; `stored` ones as is.
fn zip_fast(members: &[(String, Vec<u8>, bool)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, stored) in members {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(if *stored {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            })
            .compression_level(if *stored { None } else { Some(1) })
            .large_file(data.len() > u32::MAX as usize / 2);
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Binary that looks like native code: mostly random, with runs of strings (symbol names,
/// messages, some 24-character identifiers that are not tokens).
fn native_blob(r: &mut Rng, size: usize, planted: Option<&str>) -> Vec<u8> {
    let mut strings: Vec<String> = Vec::new();
    for _ in 0..size / 2048 {
        strings.push(format!("_ZN{}{}E", r.word(), r.word()));
        strings.push(format!("{} {} {}", r.word(), r.word(), r.word()));
    }
    if let Some(t) = planted {
        strings.push("Applivery".into());
        strings.push(t.into());
    }
    let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
    let mut out = native(&refs);
    out.extend(r.bytes(size.saturating_sub(out.len())));
    out
}

/// The members of an APK-like artefact of about `size` bytes.
fn apk_members(r: &mut Rng, size: usize, tokens: &[String]) -> Vec<(String, Vec<u8>, bool)> {
    let mut m: Vec<(String, Vec<u8>, bool)> = Vec::new();
    let manifest = artefacts::axml(&artefacts::Element {
        name: "manifest",
        attrs: vec![(false, "package", "com.example.bench")],
        children: vec![],
    });
    m.push(("AndroidManifest.xml".into(), manifest, false));
    m.push((
        "resources.arsc".into(),
        artefacts::arsc("com.example.bench", &[("app_name", "Bench")]),
        true,
    ));
    // DEX: 15% of the size, in files of up to 8 MB, strings and a BuildConfig.
    let mut dex_budget = size * 15 / 100;
    let mut n = 0;
    while dex_budget > 0 {
        let words: Vec<String> = (0..dex_budget.min(8 << 20) / 40)
            .map(|i| format!("{}{}{}", r.word(), i, r.word()))
            .collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let constants = if n == 0 {
            vec![("APPLIVERY_TOKEN", tokens[0].as_str())]
        } else {
            vec![]
        };
        let d = dex(
            &[DexClass {
                name: "Lcom/example/bench/BuildConfig;",
                constants,
                stores: vec![],
                calls: vec![],
            }],
            &refs,
        );
        dex_budget = dex_budget.saturating_sub(d.len().max(1));
        let name = if n == 0 {
            "classes.dex".to_string()
        } else {
            format!("classes{}.dex", n + 1)
        };
        m.push((name, d, false));
        n += 1;
    }
    // Native libraries: 35%.
    for (i, abi) in ["arm64-v8a", "armeabi-v7a", "x86_64"].iter().enumerate() {
        let planted = (i == 0).then(|| tokens[1].as_str());
        m.push((
            format!("lib/{abi}/libapp.so"),
            native_blob(r, size * 35 / 300, planted),
            false,
        ));
    }
    // Images and sounds: 40%, stored.
    let media = size * 40 / 100;
    for i in 0..media / (2 << 20) {
        m.push((format!("res/raw/media{i}.ogg"), r.bytes(2 << 20), true));
    }
    // JSON assets: 10%.
    let mut text = String::new();
    while text.len() < size / 10 {
        text.push_str(&format!(
            "  \"{}\": \"{} {}\",\n",
            r.word(),
            r.word(),
            r.word()
        ));
    }
    m.push(("assets/data.json".into(), text.into_bytes(), false));
    m.push((
        "assets/applivery.json".into(),
        format!("{{\"applivery\": {{\"appToken\": \"{}\"}}}}\n", tokens[2]).into_bytes(),
        false,
    ));
    m
}

/// Generated inputs and the tokens planted in each (by path relative to the scan root).
struct Input {
    root: PathBuf,
    bytes: u64,
    planted: BTreeSet<(String, String)>,
}

fn generate(dir: &Path) -> Vec<(String, Input)> {
    let stamp = dir.join("stamp");
    let fresh =
        fs::read_to_string(&stamp).ok().as_deref() != Some(&format!("v{GENERATOR_VERSION}"));
    if fresh {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).unwrap();
        eprintln!("generating inputs in {} ...", dir.display());
    }
    let mut r = Rng(42);
    // Tokens come from their own generator: the inputs' contents are drawn only when they
    // are generated, and a reused tree must list the same tokens.
    let mut tr = Rng(7);
    let mut out = Vec::new();
    for (name, file, size) in [
        ("one", "big.apk", 200usize << 20),
        ("small", "small.apk", 20 << 20),
    ] {
        let root = dir.join(name);
        let tokens: Vec<String> = (0..3).map(|_| tr.token()).collect();
        if fresh {
            fs::create_dir_all(&root).unwrap();
            let members = apk_members(&mut r, size, &tokens);
            fs::write(root.join(file), zip_fast(&members)).unwrap();
        }
        let planted = [
            format!("{file}!/classes.dex"),
            format!("{file}!/lib/arm64-v8a/libapp.so"),
            format!("{file}!/assets/applivery.json"),
        ]
        .into_iter()
        .zip(tokens)
        .collect();
        out.push((
            name.to_string(),
            Input {
                bytes: size_of(&root),
                root,
                planted,
            },
        ));
    }
    // The tree: 50 artefacts of ~20 MB and ordinary files.
    let root = dir.join("tree");
    let mut planted = BTreeSet::new();
    for i in 0..50 {
        let tokens: Vec<String> = (0..3).map(|_| tr.token()).collect();
        let (path, inner) = match i % 5 {
            0 => (format!("android/build{i}/app-release.apk"), None),
            1 => (format!("ios/build{i}/App.ipa"), Some("Payload/App.app/")),
            2 => (format!("android/bundle{i}/app.aab"), Some("base/")),
            3 => (format!("dist/release{i}.zip"), Some("release/")),
            _ => (format!("dist/release{i}.tar.gz"), Some("release/")),
        };
        let p = inner.unwrap_or("");
        for (m, t) in [
            "classes.dex",
            "lib/arm64-v8a/libapp.so",
            "assets/applivery.json",
        ]
        .iter()
        .zip(&tokens)
        {
            planted.insert((format!("{path}!/{p}{m}"), t.clone()));
        }
        if fresh {
            let members = apk_members(&mut r, 20 << 20, &tokens);
            let prefixed: Vec<(String, Vec<u8>, bool)> = members
                .into_iter()
                .map(|(n, d, s)| (format!("{p}{n}"), d, s))
                .collect();
            let full = root.join(&path);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            let data = if path.ends_with(".tar.gz") {
                let mut b = tar::Builder::new(Vec::new());
                for (n, d, _) in &prefixed {
                    let mut h = tar::Header::new_gnu();
                    h.set_size(d.len() as u64);
                    h.set_mode(0o644);
                    h.set_cksum();
                    b.append_data(&mut h, n, &d[..]).unwrap();
                }
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&b.into_inner().unwrap()).unwrap();
                e.finish().unwrap()
            } else {
                zip_fast(&prefixed)
            };
            fs::write(full, data).unwrap();
        }
    }
    if fresh {
        for i in 0..2000 {
            let mut text = String::new();
            for _ in 0..200 {
                text.push_str(&format!("let {} = {}({});\n", r.word(), r.word(), r.word()));
            }
            let p = root.join(format!("src/m{}/f{i}.kt", i % 40));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        fs::write(&stamp, format!("v{GENERATOR_VERSION}")).unwrap();
    }
    out.push((
        "tree".into(),
        Input {
            bytes: size_of(&root),
            root,
            planted,
        },
    ));
    out
}

fn size_of(p: &Path) -> u64 {
    let mut n = 0;
    for e in fs::read_dir(p).unwrap().flatten() {
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            size_of(&e.path())
        } else {
            m.len()
        };
    }
    n
}

struct Run {
    wall: Duration,
    rss_kib: u64,
    stdout: Vec<u8>,
}

/// Runs the binary under `/usr/bin/time -f %M` (peak RSS in KiB).
fn run(bin: &Path, args: &[&str]) -> Run {
    let rss_file = std::env::temp_dir().join(format!("bench_archives_rss_{}", std::process::id()));
    let mut c = Command::new("/usr/bin/time");
    c.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(bin)
        .args(args);
    c.stdout(Stdio::piped()).stderr(Stdio::null());
    let started = Instant::now();
    let out = c.output().expect("/usr/bin/time runs");
    let wall = started.elapsed();
    let rss_kib = fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    let _ = fs::remove_file(&rss_file);
    Run {
        wall,
        rss_kib,
        stdout: out.stdout,
    }
}

fn found(stdout: &[u8]) -> BTreeSet<(String, String)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("fingerprint").is_some())
        .map(|v| {
            (
                v["path"].as_str().unwrap_or("").to_string(),
                v["secret"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench/archives"));
    let bin = PathBuf::from("target/release/applivery-leaks");
    assert!(bin.exists(), "build first: cargo build --release");
    let inputs = generate(&dir);
    println!("| input | mode | wall | throughput | peak RSS | planted found |");
    println!("|---|---|---|---|---|---|");
    for (name, input) in &inputs {
        let root = input.root.to_str().unwrap();
        for (mode, extra) in [
            ("archives (-j2)", &["-j", "2"][..]),
            ("archives (-j1)", &["-j", "1"][..]),
            (
                "--no-archives (plain dir)",
                &["-j", "2", "--no-archives"][..],
            ),
        ] {
            let mut args = vec![
                "dir",
                root,
                "--no-config",
                "--format",
                "jsonl",
                "--show-secrets",
            ];
            args.extend_from_slice(extra);
            let _ = run(&bin, &args); // warm the page cache
            let r = run(&bin, &args);
            let got = found(&r.stdout);
            let hit = input.planted.iter().filter(|p| got.contains(p)).count();
            let extra_found = got.iter().filter(|g| !input.planted.contains(g)).count();
            println!(
                "| {name} ({:.0} MB) | {mode} | {:.2} s | {:.0} MB/s | {:.1} MiB | {hit}/{}{} |",
                input.bytes as f64 / 1e6,
                r.wall.as_secs_f64(),
                input.bytes as f64 / 1e6 / r.wall.as_secs_f64(),
                r.rss_kib as f64 / 1024.0,
                input.planted.len(),
                if extra_found > 0 {
                    format!(", {extra_found} unexpected")
                } else {
                    String::new()
                }
            );
        }
    }
}
