//! Benchmark of precision on real code (issue 18, point 1; a program you run by hand, not a
//! test: it needs the repositories, or the network to clone them).
//!
//! Scans the full history of every repository of the development set with the released
//! binary (`applivery-leaks git --no-config --format jsonl`), groups the findings of each
//! repository by secret (`secret_sha256`) and prints every distinct value with its rule, the
//! redacted secret, where it was first seen and its `evidence` (when the report has it),
//! marked EXPECTED or UNEXPECTED against `examples/precision/expected.tsv`, the known real
//! credentials (SHA-256 only, never the value). Then, per set: expected found, expected
//! missed, unexpected values, total findings. Exit status 0 only when every expected value is
//! found and nothing else is reported.
//!
//! ```text
//! cargo build --release
//! cargo run --release --example bench_precision -- [DIR]    # DIR: default target/precision
//! cargo run --release --example bench_precision -- /work/.mirror --repo applivery/applivery-store
//! ```
//! A repository `owner/name` is used as found in DIR: `owner+name.git`, `owner+name/repo` or
//! `owner+name` (bare or not); else the development set's are cloned with
//! `git clone --mirror` into `DIR/owner+name.git`. Repositories of the "extra" set (other
//! public projects that integrate Applivery) are scanned when present, never cloned.
//! Options: `--bin PATH` (default target/release/applivery-leaks), `--expected FILE`,
//! `--repo OWNER/NAME` (repeatable: only these), `--no-clone`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

const DEVELOPMENT: &[&str] = &[
    "applivery/applivery-android-sdk",
    "applivery/applivery-ios-sdk",
    "applivery/applivery-ios-sample-app",
    "applivery/applivery-android-sample-app",
    "applivery/applivery-cordova-sample",
    "applivery/applivery-android-gradle-plugin",
    "applivery/applivery-mdm-scripts",
    "applivery/applivery-store",
    "applivery/docs-front",
    "applivery/express-api-skeleton",
    "applivery/fastlane-plugin-applivery",
    "applivery/steps-applivery-android-deploy",
    "applivery/steps-applivery-ios-deploy",
    "fastlane-community/fastlane-plugin-applivery",
];

const EXTRA: &[&str] = &[
    "raulcnadal/applivery-soar",
    "raulcnadal/applivery-soar-agent-windows",
    "fSergio101/appliveryPocs",
    "antoniomp17/AppliveryTest",
    "oskarko/Applivery",
    "pmargom/appliverytestpmg",
];

struct Args {
    dir: PathBuf,
    bin: PathBuf,
    expected: PathBuf,
    only: Vec<String>,
    clone: bool,
}

fn args() -> Args {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut a = Args {
        dir: target.join("precision"),
        bin: target.join("release").join("applivery-leaks"),
        expected: root.join("examples/precision/expected.tsv"),
        only: Vec::new(),
        clone: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = |what: &str| {
            it.next()
                .unwrap_or_else(|| die(&format!("{what} needs a value")))
        };
        match x.as_str() {
            "--bin" => a.bin = val("--bin").into(),
            "--expected" => a.expected = val("--expected").into(),
            "--repo" => a.only.push(val("--repo")),
            "--no-clone" => a.clone = false,
            "-h" | "--help" => {
                println!(
                    "usage: bench_precision [--bin PATH] [--expected FILE] [--repo OWNER/NAME]... [--no-clone] [DIR]"
                );
                std::process::exit(0);
            }
            d if d.starts_with('-') => die(&format!("unknown option {d}")),
            d => a.dir = d.into(),
        }
    }
    if !a.bin.is_file() {
        die(&format!(
            "no binary at {} (cargo build --release, or --bin)",
            a.bin.display()
        ));
    }
    a
}

fn die(msg: &str) -> ! {
    eprintln!("bench_precision: {msg}");
    std::process::exit(2)
}

/// One known real credential.
struct Expected {
    rule: String,
    note: String,
}

/// `(repository, sha256)` → the expected credential.
fn read_expected(path: &Path) -> BTreeMap<(String, String), Expected> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| die(&format!("cannot read {}: {e}", path.display())));
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let ok = f.len() == 4
            && f[0].len() == 64
            && f[0]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            die(&format!(
                "{}:{}: want sha256<TAB>owner/name<TAB>rule<TAB>note",
                path.display(),
                i + 1
            ));
        }
        let e = Expected {
            rule: f[2].into(),
            note: f[3].into(),
        };
        out.insert((f[1].to_string(), f[0].to_string()), e);
    }
    out
}

/// An existing clone of `repo` in `dir`, in any of the layouts.
fn find_clone(dir: &Path, repo: &str) -> Option<PathBuf> {
    let flat = repo.replace('/', "+");
    [
        dir.join(format!("{flat}.git")),
        dir.join(&flat).join("repo"),
        dir.join(&flat),
    ]
    .into_iter()
    .find(|p| p.join("HEAD").is_file() || p.join(".git").exists())
}

fn clone(dir: &Path, repo: &str) -> Result<PathBuf, String> {
    let into = dir.join(format!("{}.git", repo.replace('/', "+")));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    eprintln!("cloning {repo} into {}", into.display());
    let st = Command::new("git")
        .args(["clone", "--quiet", "--mirror"])
        .arg(format!("https://github.com/{repo}.git"))
        .arg(&into)
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if st.success() {
        Ok(into)
    } else {
        Err(format!("git clone --mirror {repo} failed ({st})"))
    }
}

/// The findings of one distinct secret in one repository.
struct Seen {
    rule: String,
    secret: String,
    first: String,
    first_date: String,
    findings: usize,
    evidence: Option<Value>,
}

#[derive(Default)]
struct Tally {
    repos: usize,
    found: usize,
    missed: usize,
    unexpected: usize,
    findings: usize,
    errors: usize,
}

fn main() {
    let a = args();
    let expected = read_expected(&a.expected);
    let pick = |set: &[&'static str]| -> Vec<&'static str> {
        set.iter()
            .copied()
            .filter(|r| a.only.is_empty() || a.only.iter().any(|o| o == r))
            .collect()
    };
    let mut failed = false;
    for (label, set, required) in [
        ("development set", pick(DEVELOPMENT), true),
        ("extra set (present only)", pick(EXTRA), false),
    ] {
        if set.is_empty() {
            continue;
        }
        println!("==== {label}\n");
        let mut t = Tally::default();
        for repo in set {
            let path = match find_clone(&a.dir, repo) {
                Some(p) => p,
                None if required && a.clone => match clone(&a.dir, repo) {
                    Ok(p) => p,
                    Err(e) => {
                        println!("## {repo}: ERROR {e}\n");
                        t.errors += 1;
                        continue;
                    }
                },
                None if required => {
                    println!(
                        "## {repo}: ERROR no clone in {} (--no-clone)\n",
                        a.dir.display()
                    );
                    t.errors += 1;
                    continue;
                }
                None => continue,
            };
            scan_repo(&a, repo, &path, &expected, &mut t);
        }
        println!(
            "==== {label}: {} repositories; expected found {} / expected missed {} / unexpected values {} / total findings {}{}\n",
            t.repos,
            t.found,
            t.missed,
            t.unexpected,
            t.findings,
            if t.errors > 0 {
                format!(" / ERRORS {}", t.errors)
            } else {
                String::new()
            }
        );
        failed |= t.missed > 0 || t.unexpected > 0 || t.errors > 0;
    }
    std::process::exit(i32::from(failed));
}

fn scan_repo(
    a: &Args,
    repo: &str,
    path: &Path,
    expected: &BTreeMap<(String, String), Expected>,
    t: &mut Tally,
) {
    let started = Instant::now();
    let out = Command::new(&a.bin)
        .args(["git", "--no-config", "--format", "jsonl", "--quiet"])
        .arg(path)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => die(&format!("cannot run {}: {e}", a.bin.display())),
    };
    let secs = started.elapsed().as_secs_f64();
    // 0: nothing found, 1: findings; anything else is an error.
    if !matches!(out.status.code(), Some(0 | 1)) {
        let err = String::from_utf8_lossy(&out.stderr);
        println!(
            "## {repo}: ERROR {} ({})\n",
            err.lines().next().unwrap_or("no message"),
            out.status
        );
        t.errors += 1;
        return;
    }
    t.repos += 1;
    let mut values: HashMap<String, Seen> = HashMap::new();
    let mut n = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            println!(
                "   unparsable line: {}",
                line.chars().take(120).collect::<String>()
            );
            t.errors += 1;
            continue;
        };
        let (Some(sha), Some(rule)) = (v["secret_sha256"].as_str(), v["rule"].as_str()) else {
            continue; // not a finding
        };
        n += 1;
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let at = format!("{}:{}", s("path"), v["line"].as_u64().unwrap_or(0));
        let date = s("date");
        let e = values.entry(sha.to_string()).or_insert_with(|| Seen {
            rule: rule.into(),
            secret: s("secret"),
            first: at.clone(),
            first_date: date.clone(),
            findings: 0,
            evidence: v.get("evidence").cloned(),
        });
        e.findings += 1;
        if !date.is_empty() && (e.first_date.is_empty() || date < e.first_date) {
            e.first = at;
            e.first_date = date;
            e.evidence = v.get("evidence").cloned().or(e.evidence.take());
        }
    }
    t.findings += n;
    let here: Vec<(&String, &Expected)> = expected
        .iter()
        .filter(|((r, _), _)| r == repo)
        .map(|((_, sha), e)| (sha, e))
        .collect();
    let found = here
        .iter()
        .filter(|(sha, _)| values.contains_key(*sha))
        .count();
    let unexpected = values
        .keys()
        .filter(|sha| !here.iter().any(|(s, _)| s == sha))
        .count();
    println!(
        "## {repo}  ({n} findings, {} values; expected {found}/{}, unexpected {unexpected}; {secs:.1} s)",
        values.len(),
        here.len()
    );
    let mut sorted: Vec<(&String, &Seen)> = values.iter().collect();
    sorted.sort_by(|x, y| (x.1.first_date.as_str(), x.0).cmp(&(y.1.first_date.as_str(), y.0)));
    for (sha, v) in sorted {
        let exp = here.iter().find(|(s, _)| *s == sha).map(|(_, e)| e);
        let mark = if exp.is_some() {
            "EXPECTED  "
        } else {
            "UNEXPECTED"
        };
        println!(
            "   {mark} {:<32} {:<26} {} ({} finding{}) sha256 {}",
            v.rule,
            v.secret,
            v.first,
            v.findings,
            if v.findings == 1 { "" } else { "s" },
            &sha[..12]
        );
        if let Some(e) = exp {
            if e.rule != v.rule {
                println!("              expected rule {}: {}", e.rule, e.note);
            }
        }
        match v.evidence.as_ref().and_then(Value::as_array) {
            Some(ev) => {
                for x in ev {
                    println!(
                        "              evidence {:<12} line {:<5} {}",
                        x["kind"].as_str().unwrap_or("?"),
                        x["line"].as_u64().map_or("-".into(), |l| l.to_string()),
                        x["text"].as_str().unwrap_or("")
                    );
                }
            }
            None => println!("              (no evidence in the report)"),
        }
    }
    for (sha, e) in &here {
        if !values.contains_key(*sha) {
            println!(
                "   MISSED     {:<32} sha256 {}  {}",
                e.rule,
                &sha[..12],
                e.note
            );
        }
    }
    println!();
    t.found += found;
    t.missed += here.len() - found;
    t.unexpected += unexpected;
}
