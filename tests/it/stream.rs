//! `dir --format jsonl` writes its findings as it unpacks them (`command/stream.rs`), while
//! every other format holds them all first. Both must say the same thing: the JSONL lines
//! are the JSON report's findings, in the same order, redacted the same way, suppressed the
//! same way, with the same exit code and the same line on stderr.

use crate::artefacts::zip_of;
use crate::common::*;

use std::fs;
use std::path::Path;

use serde_json::Value;

/// A tree where each thing the report does after the scan shows: findings in several files
/// and in an archive member, several on one file's lines, one secret in the context of a
/// finding in another file, a secret in a directory's name, an inline marker; with `big`, a
/// file larger than one chunk (its hits are packed chunk by chunk).
fn tree(big: bool) -> (tempfile::TempDir, Vec<String>) {
    let d = tempfile::tempdir().unwrap();
    let t: Vec<String> = (11..=19).map(token).collect();
    write(
        d.path(),
        "a.env",
        &format!(
            "APPLIVERY_APP_TOKEN_2={}\nAPPLIVERY_APP_TOKEN={} # GITHUB_TOKEN={}\n",
            t[1], t[0], t[2]
        ),
    );
    write(d.path(), "b.env", &env_line(&t[2]));
    write(d.path(), &format!("cfg_{}/c.env", t[3]), &env_line(&t[3]));
    write(
        d.path(),
        "d.env",
        &format!("APPLIVERY_APP_TOKEN={} # applivery-leaks:allow\n", t[4]),
    );
    let zip = zip_of(
        &[
            ("conf/app.env", env_line(&t[5]).as_bytes()),
            ("z.env", env_line(&t[6]).as_bytes()),
        ],
        false,
    );
    fs::write(d.path().join("bundle.zip"), zip).unwrap();
    if !big {
        return (d, t);
    }
    let filler = "# nothing here, only words to fill the chunk with\n".repeat(100_000);
    write(
        d.path(),
        "big/dump.env",
        &format!(
            "{}{filler}{}{filler}{}",
            env_line(&t[7]),
            env_line(&t[8]),
            env_line(&t[0])
        ),
    );
    assert!(fs::metadata(d.path().join("big/dump.env")).unwrap().len() > 9 << 20);
    (d, t)
}

fn run(dir: &Path, format: &str, extra: &[&str]) -> (i32, Vec<u8>, String) {
    let out = bin()
        .arg("dir")
        .arg(dir)
        .args(["--no-config", "--format", format])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap(), out.stdout, err)
}

/// The JSON report's findings as JSONL would write them.
fn as_lines(json: &[u8]) -> Vec<Value> {
    let v = json_of(json);
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f["schema_version"] = v["schema_version"].clone();
            f
        })
        .collect()
}

fn lines(jsonl: &[u8]) -> Vec<Value> {
    String::from_utf8(jsonl.to_vec())
        .unwrap()
        .lines()
        .map(|l| json_of(l.as_bytes()))
        .collect()
}

/// The JSONL and JSON reports of `d` with `extra`: the same findings, exit code and stderr.
fn same(d: &Path, extra: &[&str]) -> Vec<Value> {
    let (code_json, json, err_json) = run(d, "json", extra);
    let (code_lines, jsonl, err_lines) = run(d, "jsonl", extra);
    let want = as_lines(&json);
    assert_eq!(lines(&jsonl), want, "{extra:?}");
    assert_eq!(code_lines, code_json, "{extra:?}");
    assert_eq!(err_lines, err_json, "{extra:?}");
    want
}

#[test]
fn jsonl_written_as_unpacked_is_the_json_report() {
    let (d, t) = tree(false);
    let ignore = tempfile::tempdir().unwrap();
    // A baseline that accepts b.env's finding, and an entry that matches nothing.
    let (_, json, _) = run(d.path(), "json", &[]);
    let all = as_lines(&json);
    let b = all.iter().find(|f| f["path"] == "b.env").unwrap();
    let baseline = ignore.path().join("baseline.jsonl");
    fs::write(
        &baseline,
        format!(
            "{{\"fingerprint\":\"{}\"}}\n{{\"fingerprint\":\"{}\"}}\n",
            b["fingerprint"].as_str().unwrap(),
            "0123456789abcdef0123456789abcdef"
        ),
    )
    .unwrap();
    let base = baseline.to_str().unwrap();
    let report = ignore.path().join("out.jsonl");
    let out = report.to_str().unwrap();
    for extra in [
        &[][..],
        &["--show-secrets"][..],
        &["--baseline", base, "--report-unused"][..],
        &["--no-suppress"][..],
        &["--threads", "1"][..],
    ] {
        let want = same(d.path(), extra);
        assert!(want.len() >= 5, "{extra:?}: {want:#?}");
        if !extra.contains(&"--show-secrets") {
            let text = serde_json::to_string(&want).unwrap();
            for s in &t[..7] {
                assert!(!text.contains(s.as_str()), "{extra:?}: {s} in {text}");
            }
        }
        // To a file: the same lines, and the same summary on stderr.
        let with_output = [extra, &["--output", out]].concat();
        let (code_json, _, err_json_file) = run(d.path(), "json", &with_output);
        let (code_file, _, err_file) = run(d.path(), "jsonl", &with_output);
        assert_eq!(code_file, code_json);
        assert!(err_file.contains("finding(s)"), "{err_file}");
        assert_eq!(err_file, err_json_file);
        assert_eq!(lines(&fs::read(&report).unwrap()), want, "{extra:?}");
        assert_eq!(code_file, if want.is_empty() { 0 } else { 1 });
    }
    // What the comparison rests on: the cross-file copy, the directory's name and the inline
    // marker are each handled.
    let (_, jsonl, _) = run(d.path(), "jsonl", &[]);
    let got = lines(&jsonl);
    let a = got
        .iter()
        .find(|f| f["path"] == "a.env" && f["line"] == 2)
        .unwrap();
    assert_eq!(
        a["context"],
        format!(
            "APPLIVERY_APP_TOKEN={}… # GITHUB_TOKEN={}…",
            &t[0][..4],
            &t[2][..4]
        )
    );
    assert!(got
        .iter()
        .any(|f| f["path"] == format!("cfg_{}…/c.env", &t[3][..4])));
    assert!(!got.iter().any(|f| f["path"] == "d.env"));
    assert!(got.iter().any(|f| f["path"] == "bundle.zip!/conf/app.env"));
}

#[test]
fn a_file_read_in_chunks_is_packed_chunk_by_chunk() {
    let (d, _) = tree(true);
    same(d.path(), &["--show-secrets"]);
    let got = same(d.path(), &[]);
    let big: Vec<u64> = got
        .iter()
        .filter(|f| f["path"] == "big/dump.env")
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(big, [1, 100_002, 200_003]);
}

#[test]
fn jsonl_of_nothing_found_is_empty_and_clean() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.txt", "nothing\n");
    let (code, out, _) = run(d.path(), "jsonl", &[]);
    assert_eq!((code, out.len()), (0, 0));
    // Everything found is allowed: no line, exit 0.
    write(
        d.path(),
        "b.env",
        &format!("APPLIVERY_APP_TOKEN={} # gitleaks:allow\n", token(3)),
    );
    let (code, out, _) = run(d.path(), "jsonl", &[]);
    assert_eq!((code, out.len()), (0, 0));
    let (code, out, _) = run(d.path(), "jsonl", &["--no-suppress"]);
    assert_eq!((code, lines(&out).len()), (1, 1));
}

/// A file of several chunks is located on several threads at once (`haystack`: chunks of a
/// quarter of the size, a few in flight) and must say exactly what one thread says: every
/// planted token, on its line, in order, whatever chunk boundary it lies near.
#[test]
fn a_large_file_located_on_several_threads_says_what_one_thread_says() {
    let d = tempfile::tempdir().unwrap();
    let filler = "# nothing here, only words to fill the file with, line after line\n";
    let mut text = String::new();
    let mut planted = Vec::new();
    let mut line = 1u64;
    // About 9.5 MiB: tokens every ~4 KiB, so every chunk boundary has tokens near it.
    for i in 0..2400 {
        for _ in 0..(50 + i % 23) {
            text.push_str(filler);
            line += 1;
        }
        text.push_str(&env_line(&token(1000 + i as u64)));
        planted.push(line);
        line += 1;
    }
    write(d.path(), "dump.env", &text);
    assert!(text.len() > 9 << 20, "{} bytes", text.len());
    let (code1, one, err1) = run(d.path(), "jsonl", &["-j1"]);
    let (code4, four, err4) = run(d.path(), "jsonl", &["-j4"]);
    assert_eq!((code1, code4), (1, 1), "{err1}{err4}");
    assert_eq!(err1, err4);
    let found: Vec<u64> = lines(&four)
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(found, planted);
    assert!(one == four, "-j1 and -j4 reports differ");
}
