//! Report formats through the real binary: JSON and JSONL validate against the shipped JSON
//! Schema, SARIF has what code scanning needs (and never the secret), text escapes terminal
//! control characters, and `--output` writes atomically.

use crate::common::*;

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

fn parse(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(out)))
}

pub(crate) fn schema() -> Value {
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/report.schema.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The schema of one JSONL line: the same document, rooted at `$defs/jsonl_line`.
fn line_schema() -> Value {
    let s = schema();
    json!({
        "$schema": s["$schema"],
        "$id": s["$id"],
        "$defs": s["$defs"],
        "$ref": "#/$defs/jsonl_line",
    })
}

fn errors_of(schema: &Value, doc: &Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).expect("schema compiles");
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

pub(crate) fn assert_valid(schema: &Value, doc: &Value) {
    let errs = errors_of(schema, doc);
    assert!(errs.is_empty(), "schema errors: {errs:#?}\nin {doc:#}");
}

/// A tree with several findings in awkward places, a binary file and a file over the size
/// limit: every part of the report is populated.
fn tree() -> (tempfile::TempDir, Vec<String>) {
    let d = tempfile::tempdir().unwrap();
    let toks: Vec<String> = (1..=3).map(token).collect();
    write(
        d.path(),
        ".env",
        &format!("# deploy\nAPPLIVERY_APP_TOKEN={}\n", toks[0]),
    );
    write(
        d.path(),
        "dir with space/ñandú #1%.env",
        &format!("APPLIVERY_APP_TOKEN={}\n", toks[1]),
    );
    write(
        d.path(),
        ".github/workflows/ci.yml",
        &format!(
            "jobs:\n  upload:\n    env:\n      APPLIVERY_TOKEN: \"{}\"\n    steps:\n      - run: curl https://upload.applivery.io/v1/integrations/builds\n",
            toks[2]
        ),
    );
    write(d.path(), "README.md", "Nothing to see here.\n");
    fs::write(d.path().join("image.bin"), b"\x89PNG\0\0\0applivery").unwrap();
    write(
        d.path(),
        "big/huge.txt",
        &format!("APPLIVERY_APP_TOKEN={}\n{}", toks[0], "x".repeat(10_000)),
    );
    (d, toks)
}

fn scan(dir: &Path, format: &str, extra: &[&str]) -> (i32, Vec<u8>, Vec<u8>) {
    let out = bin()
        .arg("dir")
        .arg(dir)
        .args(["--no-config", "--format", format, "--max-file-size", "5000"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), out.stdout, out.stderr)
}

#[test]
fn json_report_validates_against_schema() {
    let (d, _) = tree();
    for extra in [&[][..], &["--show-secrets"][..]] {
        let (code, out, _) = scan(d.path(), "json", extra);
        assert_eq!(code, 1);
        let v = parse(&out);
        assert_eq!(v["findings"].as_array().unwrap().len(), 3, "{v:#}");
        assert!(!v["summary"]["skipped"].as_array().unwrap().is_empty());
        assert_eq!(v["summary"]["binary_skipped"], 1);
        assert_valid(&schema(), &v);
    }
}

#[test]
fn json_report_with_errors_validates() {
    let (d, _) = tree();
    let missing = d.path().join("gone.env");
    std::os::unix::fs::symlink(d.path().join("nowhere"), &missing).unwrap();
    let out = bin()
        .arg("dir")
        .arg(d.path().join(".env"))
        .arg(&missing)
        .args(["--no-config", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = parse(&out.stdout);
    assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{v:#}");
    assert_valid(&schema(), &v);
}

#[test]
fn jsonl_lines_validate() {
    let (d, toks) = tree();
    let (code, out, _) = scan(d.path(), "jsonl", &[]);
    assert_eq!(code, 1);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let ls = line_schema();
    for l in lines {
        assert_valid(&ls, &parse(l.as_bytes()));
    }
    for t in &toks {
        assert!(!text.contains(t.as_str()));
    }
}

/// A named change that makes a report invalid.
type Mutation = (&'static str, Box<dyn Fn(&mut Value)>);

/// The schema must catch the mistakes it exists for, not accept anything.
#[test]
fn schema_rejects_malformed_reports() {
    let (d, _) = tree();
    let (_, out, _) = scan(d.path(), "json", &[]);
    let good = parse(&out);
    let s = schema();
    assert_valid(&s, &good);

    let mutations: Vec<Mutation> = vec![
        (
            "missing fingerprint",
            Box::new(|v| {
                v["findings"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("fingerprint");
            }),
        ),
        (
            "line as string",
            Box::new(|v| v["findings"][0]["line"] = json!("2")),
        ),
        (
            "line zero",
            Box::new(|v| v["findings"][0]["line"] = json!(0)),
        ),
        (
            "unknown finding field",
            Box::new(|v| v["findings"][0]["secrte"] = json!("x")),
        ),
        (
            "bad verification status",
            Box::new(|v| {
                v["findings"][0]["verification"] =
                    json!({"status": "alive", "reason": "", "checked_at": "2026-01-01T00:00:00Z"})
            }),
        ),
        (
            "commit without provenance",
            Box::new(|v| v["findings"][0]["commit"] = json!("a".repeat(40))),
        ),
        (
            "short sha256",
            Box::new(|v| v["findings"][0]["secret_sha256"] = json!("abc")),
        ),
        (
            "wrong schema_version",
            Box::new(|v| v["schema_version"] = json!(2)),
        ),
        ("unknown scan kind", Box::new(|v| v["scan"] = json!("disk"))),
        (
            "missing summary field",
            Box::new(|v| {
                v["summary"]
                    .as_object_mut()
                    .unwrap()
                    .remove("files_scanned");
            }),
        ),
        (
            "error without reason",
            Box::new(|v| v["errors"] = json!([{"path": "x"}])),
        ),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(
            !errors_of(&s, &bad).is_empty(),
            "schema accepted a report with {what}"
        );
    }

    // The fields later features add are described and accepted.
    let mut full = good.clone();
    let f = &mut full["findings"][0];
    f["commit"] = json!("0123456789abcdef0123456789abcdef01234567");
    f["author"] = json!("Dev");
    f["email"] = json!("dev@example.com");
    f["date"] = json!("2026-01-02T03:04:05Z");
    f["commit_summary"] = json!("Add CI");
    f["commits"] = json!(["0123456789abcdef0123456789abcdef01234567"]);
    f["commit_count"] = json!(1);
    f["in_head"] = json!(true);
    f["verification"] =
        json!({"status": "live", "reason": "HTTP 200", "checked_at": "2026-01-02T03:04:05Z"});
    full["summary"]["verification"] = json!({"live": 1, "revoked": 0, "unknown": 0});
    full["summary"]["git"] = json!({
        "commits_walked": 3, "blobs_scanned": 5, "shallow": false,
        "head": "0123456789abcdef0123456789abcdef01234567",
        "secrets": [{
            "rule": "applivery-app-token", "secret": "Zk3q…",
            "secret_sha256": "0".repeat(64),
            "first_commit": "0123456789abcdef0123456789abcdef01234567",
            "first_path": ".env", "first_date": "2026-01-02T03:04:05Z",
            "author": "Dev", "in_head": true, "commit_count": 1
        }]
    });
    assert_valid(&s, &full);
}

fn sarif_of(out: &[u8]) -> (Value, String) {
    let text = String::from_utf8(out.to_vec()).unwrap();
    (parse(out), text)
}

fn non_empty(v: &Value, what: &str) {
    assert!(
        v.as_str().is_some_and(|s| !s.trim().is_empty()),
        "{what} is empty: {v}"
    );
}

#[test]
fn sarif_has_what_code_scanning_needs() {
    let (d, toks) = tree();
    let (code, out, _) = scan(d.path(), "sarif", &[]);
    assert_eq!(code, 1);
    let (v, text) = sarif_of(&out);
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["automationDetails"]["id"], "applivery-leaks/dir/");
    assert_eq!(run["columnKind"], "unicodeCodePoints");

    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "applivery-leaks");
    non_empty(&driver["version"], "driver.version");
    non_empty(&driver["semanticVersion"], "driver.semanticVersion");
    non_empty(&driver["informationUri"], "driver.informationUri");

    // Only the rules that fired: the default set has more than one rule, only one fires.
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{rules:#?}");
    let rule = &rules[0];
    assert_eq!(rule["id"], "applivery-app-token");
    non_empty(&rule["name"], "rule.name");
    non_empty(&rule["shortDescription"]["text"], "shortDescription");
    non_empty(&rule["fullDescription"]["text"], "fullDescription");
    non_empty(&rule["help"]["text"], "help.text");
    non_empty(&rule["help"]["markdown"], "help.markdown");
    let help = rule["help"]["markdown"].as_str().unwrap().to_lowercase();
    assert!(help.contains("revoke"), "help says how to revoke: {help}");
    non_empty(&rule["helpUri"], "helpUri");
    assert_eq!(rule["defaultConfiguration"]["level"], "error");
    let props = &rule["properties"];
    assert!(props["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("security")));
    non_empty(&props["precision"], "precision");
    let sev: f64 = props["security-severity"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..=10.0).contains(&sev));

    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        assert_eq!(r["ruleId"], "applivery-app-token");
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(r["level"], "error");
        let msg = r["message"]["text"].as_str().unwrap();
        assert!(msg.ends_with('.'));
        let pl = &r["locations"][0]["physicalLocation"];
        assert_eq!(pl["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = pl["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/') && !uri.contains(' '), "{uri}");
        for k in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(pl["region"][k].as_u64().unwrap() >= 1, "region.{k}");
        }
        let fp = r["partialFingerprints"]["applivery-leaks/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fp.len(), 32);
        assert_eq!(r["partialFingerprints"]["primaryLocationLineHash"], fp);
        assert_eq!(r["properties"]["secret_sha256"].as_str().unwrap().len(), 64);
        assert!(r["properties"].get("secret").is_none());
    }
    // The .env finding: line 2, columns 21..45.
    let env = results
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ".env")
        .unwrap();
    let region = &env["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (
            region["startLine"].as_u64(),
            region["startColumn"].as_u64(),
            region["endLine"].as_u64(),
            region["endColumn"].as_u64()
        ),
        (Some(2), Some(21), Some(2), Some(45))
    );
    for t in &toks {
        assert!(!text.contains(t.as_str()), "SARIF leaks a secret");
    }
}

#[test]
fn sarif_shows_secrets_only_when_asked() {
    let (d, toks) = tree();
    let (_, out, _) = scan(d.path(), "sarif", &["--show-secrets"]);
    let (v, text) = sarif_of(&out);
    assert!(text.contains(toks[0].as_str()));
    let r = &v["runs"][0]["results"][0];
    assert!(r["properties"]["secret"].is_string());
}

#[test]
fn sarif_uris_are_percent_encoded() {
    let (d, _) = tree();
    let (_, out, _) = scan(d.path(), "sarif", &[]);
    let (v, _) = sarif_of(&out);
    let uris: Vec<&str> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        uris.contains(&"dir%20with%20space/%C3%B1and%C3%BA%20%231%25.env"),
        "{uris:?}"
    );
    let base = v["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    let root = fs::canonicalize(d.path()).unwrap();
    assert_eq!(base, format!("file://{}/", root.display()));
}

#[test]
fn sarif_lists_unread_inputs_as_notifications() {
    let (d, _) = tree();
    let dangling = d.path().join("dangling.env");
    std::os::unix::fs::symlink(d.path().join("nowhere"), &dangling).unwrap();
    let out = bin()
        .arg("dir")
        .arg(&dangling)
        .args(["--no-config", "--format", "sarif"])
        .output()
        .unwrap();
    // Nothing found and something unread: fail closed.
    assert_eq!(out.status.code(), Some(2));
    let (v, _) = sarif_of(&out.stdout);
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    let errors: Vec<&Value> = notes.iter().filter(|n| n["level"] == "error").collect();
    assert_eq!(errors.len(), 1, "{notes:#?}");
    let msg = errors[0]["message"]["text"].as_str().unwrap();
    assert!(msg.contains("dangling.env"), "{msg}");
    assert_eq!(v["runs"][0]["results"], json!([]));
    assert_eq!(v["runs"][0]["tool"]["driver"]["rules"], json!([]));

    // A clean, fully read scan succeeds and has no notifications of level error.
    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "a.txt", "hello\n");
    let out = bin()
        .arg("dir")
        .arg(clean.path())
        .args(["--no-config", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (v, _) = sarif_of(&out.stdout);
    assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn sarif_category_names_the_command() {
    let t = token(7);
    let out = bin()
        .args(["stdin", "--no-config", "--format", "sarif"])
        .write_stdin(format!("APPLIVERY_APP_TOKEN={t}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (v, text) = sarif_of(&out.stdout);
    assert_eq!(
        v["runs"][0]["automationDetails"]["id"],
        "applivery-leaks/stdin/"
    );
    assert!(!text.contains(t.as_str()));
}

#[test]
fn text_escapes_control_characters() {
    let d = tempfile::tempdir().unwrap();
    let t = token(11);
    let name = "evil\x1b[31mred\x07.env";
    fs::write(
        d.path().join(name),
        format!("APPLIVERY_APP_TOKEN={t} # \x1b]0;pwned\x07\r\n"),
    )
    .unwrap();
    let out = bin()
        .arg("dir")
        .arg(d.path())
        .args(["--no-config", "--format", "text"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for c in ['\x1b', '\x07', '\r'] {
        assert!(
            !text.contains(c),
            "raw control character {c:?} in text output: {text:?}"
        );
    }
    assert!(text.contains("evil\\u{1b}[31mred\\u{7}.env"), "{text}");
    assert!(!text.contains(t.as_str()));
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn output_file_is_written_atomically() {
    let (d, toks) = tree();
    let outdir = tempfile::tempdir().unwrap();
    for (format, name) in [("json", "r.json"), ("sarif", "r.sarif"), ("text", "r.txt")] {
        let path = outdir.path().join(name);
        // An old report is replaced as a whole, never appended to or truncated mid-way.
        fs::write(&path, "stale").unwrap();
        let out = bin()
            .arg("dir")
            .arg(d.path())
            .args(["--no-config", "--max-file-size", "5000", "--format", format])
            .arg("--output")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "report went to stdout too");
        let written = fs::read(&path).unwrap();
        match format {
            "json" => assert_valid(&schema(), &parse(&written)),
            "sarif" => assert_eq!(parse(&written)["version"], "2.1.0"),
            _ => assert!(String::from_utf8_lossy(&written).contains("finding(s)")),
        }
        for t in &toks {
            assert!(!String::from_utf8_lossy(&written).contains(t.as_str()));
        }
    }
    let mut names = leftovers(outdir.path());
    names.sort();
    assert_eq!(
        names,
        ["r.json", "r.sarif", "r.txt"],
        "temporary files left"
    );

    // An unwritable destination is a one-line error and exit 2, and leaves nothing behind.
    let missing = outdir.path().join("no/such/dir/r.json");
    let out = bin()
        .arg("dir")
        .arg(d.path())
        .args(["--no-config", "--format", "json", "--output"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write report"), "{err}");
    assert_eq!(leftovers(outdir.path()).len(), 3);
}

/// The OASIS SARIF 2.1.0 schema (tests/data, vendored: the validator's own check skips logs
/// it cannot deserialize), with formats asserted: every `uri` must be a valid URI, so an
/// unencoded space or `#` fails here.
fn assert_valid_sarif(doc: &Value) {
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("SARIF schema compiles");
    let errs: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errs.is_empty(), "SARIF schema errors: {errs:#?}");
}

#[test]
fn sarif_matches_the_official_schema() {
    let (d, _) = tree();
    let dangling = d.path().join("dangling.env");
    std::os::unix::fs::symlink(d.path().join("nowhere"), &dangling).unwrap();
    for extra in [&[][..], &["--show-secrets"][..]] {
        let (_, out, _) = scan(d.path(), "sarif", extra);
        assert_valid_sarif(&parse(&out));
    }
    let out = bin()
        .arg("dir")
        .arg(d.path().join(".env"))
        .arg(&dangling)
        .args(["--no-config", "--format", "sarif"])
        .output()
        .unwrap();
    let v = parse(&out.stdout);
    assert_eq!(
        v["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["level"],
        "error"
    );
    assert_valid_sarif(&v);
    let out = bin()
        .args(["stdin", "--no-config", "--format", "sarif"])
        .write_stdin(format!("APPLIVERY_APP_TOKEN={}\n", token(3)))
        .output()
        .unwrap();
    assert_valid_sarif(&parse(&out.stdout));

    // The schema check itself bites: an unencoded URI and a bad level are rejected.
    let (_, out, _) = scan(d.path(), "sarif", &[]);
    let mut bad = parse(&out);
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("a b#c");
    bad["runs"][0]["results"][1]["level"] = json!("fatal");
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let paths: Vec<String> = v
        .iter_errors(&bad)
        .map(|e| e.instance_path.to_string())
        .collect();
    assert!(paths.iter().any(|p| p.ends_with("/uri")), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with("/level")), "{paths:?}");
}

/// History findings (provenance, verification) through the library until the `git` and
/// `verify` commands exist in this branch.
#[test]
fn sarif_of_a_history_scan_matches_the_official_schema() {
    use applivery_leaks::finding::{Finding, GitInfo, Verification, VerifyStatus};
    use applivery_leaks::report::{GitSummary, Report, ScanKind};

    let t = token(5);
    let commit = "89abcdef0123456789abcdef0123456789abcdef".to_string();
    let mut r = Report::new(ScanKind::Git, std::env::temp_dir().join("repo ñ#"));
    let mut f = Finding::new(
        "applivery-app-token",
        "ci/ñandú #1.env",
        1,
        21,
        1,
        45,
        t.clone(),
        format!("APPLIVERY_APP_TOKEN={t}"),
    );
    f.git = Some(Box::new(GitInfo {
        commit: commit.clone(),
        author_name: "Dev".into(),
        author_email: "dev@example.com".into(),
        date: "2026-01-02T03:04:05+01:00".into(),
        summary: "Add CI".into(),
        commits: vec![commit.clone()],
        commit_count: 1,
        in_head: false,
        last: None,
    }));
    f.verification = Some(Box::new(Verification {
        status: VerifyStatus::Live,
        reason: "HTTP 200".into(),
        checked_at: "2026-01-02T03:04:05Z".into(),
        evidence: Some(applivery_leaks::finding::Evidence {
            endpoint: "https://api.applivery.io/v1/integrations/builds".into(),
            http_status: Some(200),
            api_error: None,
        }),
        blast_radius: Some(applivery_leaks::finding::BlastRadius::App {
            application_id: Some("5f0c0ffee0c0ffee0c0ffee0".into()),
            application_name: None,
            builds: 3,
        }),
    }));
    r.findings.push(f);
    r.summary.git = Some(GitSummary {
        commits: 1,
        blobs: 1,
        shallow: false,
        secrets: Vec::new(),
        head: Some(commit),
    });
    let rules = applivery_leaks::rules::default_rules();
    let v = serde_json::to_value(applivery_leaks::report::sarif::build(&r, &rules, false)).unwrap();
    assert_valid_sarif(&v);
    assert!(!v.to_string().contains(t.as_str()));
    let run = &v["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "applivery-leaks/git/");
    assert_eq!(run["results"][0]["level"], "error");
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "ci/%C3%B1and%C3%BA%20%231.env"
    );
}

/// Two tokens on one line: the context shown for each finding must not leak the other.
#[test]
fn context_redacts_every_secret_on_the_line() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (token(21), token(22));
    write(
        d.path(),
        ".env",
        &format!("APPLIVERY_APP_TOKEN={a} APPLIVERY_TOKEN={b}\n"),
    );
    for format in ["text", "json", "jsonl", "sarif"] {
        let (code, out, err) = scan(d.path(), format, &[]);
        assert_eq!(code, 1);
        let all = String::from_utf8_lossy(&[out, err].concat()).into_owned();
        assert!(
            all.matches('…').count() >= 4,
            "{format}: expected both findings: {all}"
        );
        assert!(
            !all.contains(a.as_str()) && !all.contains(b.as_str()),
            "{format} leaks a secret through the context line: {all}"
        );
    }
}

/// One file with twenty thousand findings (a `.env` dump, comments and indentation in
/// between): every token is reported once, in order, at its own line and columns, in JSONL
/// and in the JSON document. Findings stream out of the per-file pass in batches; a
/// finding lost, repeated or shifted by one between batches shows here.
#[test]
fn many_findings_in_one_file_are_all_reported_in_place() {
    const N: usize = 20_000;
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut planted = Vec::with_capacity(N);
    let mut line = 0u64;
    for k in 0..N {
        if k % 3 == 0 {
            text.push_str(&format!("# block {k}\n"));
            line += 1;
        }
        let t = token(1_000_000 + k as u64);
        let indent = " ".repeat(k % 4);
        text.push_str(&format!("{indent}APPLIVERY_APP_TOKEN_{k}={t}\n"));
        line += 1;
        let column = (indent.len() + format!("APPLIVERY_APP_TOKEN_{k}=").len() + 1) as u64;
        planted.push((t, line, column));
    }
    write(d.path(), "dump.env", &text);
    let out = bin()
        .arg("dir")
        .arg(d.path())
        .args(["--no-config", "--format", "jsonl", "--show-secrets"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| parse(l.as_bytes()))
        .collect();
    assert_eq!(lines.len(), N, "one finding per planted token");
    for (f, (t, line, column)) in lines.iter().zip(&planted) {
        assert_eq!(f["secret"], json!(t), "{f}");
        assert_eq!(f["line"], json!(line), "{f}");
        assert_eq!(f["end_line"], json!(line), "{f}");
        assert_eq!(f["column"], json!(column), "{f}");
        assert_eq!(f["end_column"], json!(column + 24), "{f}");
        assert_eq!(f["path"], json!("dump.env"), "{f}");
    }
    let out = bin()
        .arg("dir")
        .arg(d.path())
        .args(["--no-config", "--format", "json"])
        .output()
        .unwrap();
    let v = parse(&out.stdout);
    let found = v["findings"].as_array().unwrap();
    assert_eq!(found.len(), N);
    assert_eq!(v["summary"]["findings"], json!(N));
    let last = &found[N - 1];
    assert_eq!(last["line"], json!(planted[N - 1].1));
    let t = &planted[N - 1].0;
    assert_eq!(last["secret"], json!(format!("{}…", &t[..4])));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(t.as_str()));
}
