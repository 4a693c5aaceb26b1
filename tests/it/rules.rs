//! Rule files: `rules check` runs each rule's examples, and no rule file can crash the binary —
//! every mistake is one line naming the file and the rule, with exit code 2.

use crate::common::{bin, token, write};

#[test]
fn default_rules_pass_their_own_examples() {
    let out = bin()
        .args(["rules", "--no-config", "check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(", 0 failed"), "{stdout}");
}

#[test]
fn a_failing_example_exits_1_and_names_file_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(91);
    let t2 = token(92);
    write(
        dir.path(),
        "acme.toml",
        &format!(
            r#"
[[rules]]
id = "acme-token"
description = "ACME token"
keywords = ["acme"]
regex = '''acme_token=(?P<secret>[A-Za-z0-9]{{24}})'''
examples = ["acme_token={t}", "ACME token is {t2}"]
negative_examples = ["acme_token={t2}"]
"#
        ),
    );
    let out = bin()
        .args(["rules", "check"])
        .arg(dir.path().join("acme.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 2, "{stdout}");
    assert!(fails
        .iter()
        .all(|l| l.contains("acme.toml") && l.contains("'acme-token'")));
    // The output names examples without printing their secrets.
    assert!(!stdout.contains(&t2), "{stdout}");
    assert!(stdout.contains("3 example(s), 2 failed"), "{stdout}");
}

#[test]
fn sixty_thousand_keywords_are_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let words: Vec<String> = (0..60_000).map(|i| format!("\"kw{i:05}\"")).collect();
    write(
        dir.path(),
        "big.toml",
        &format!(
            "[[rules]]\nid = \"big\"\ndescription = \"d\"\nkeywords = [{}]\nregex = '''(?P<secret>x{{24}})'''\n",
            words.join(",")
        ),
    );
    write(dir.path(), "src/a.txt", "nothing here\n");
    for args in [
        vec!["rules", "check", "big.toml"],
        vec!["dir", "src", "--no-config", "--rules", "big.toml"],
        vec!["rules", "--no-config", "--rules", "big.toml"],
    ] {
        let out = bin().current_dir(dir.path()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("big.toml") && stderr.contains("'big'"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_unknown_shared_context_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "r.toml",
        "[[rules]]\nid = \"x\"\ndescription = \"d\"\nkeywords = [\"x\"]\nregex = '''(?P<secret>x{24})'''\n[rules.context]\nuse = \"nope\"\n",
    );
    let out = bin()
        .current_dir(dir.path())
        .args(["rules", "check", "r.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("r.toml: rule 'x': context.use names no [contexts.nope]"),
        "{stderr}"
    );
}

#[test]
fn the_path_given_to_stdin_is_evidence() {
    // `--label` names the path the text is judged under.
    let t = token(93);
    let text = format!("{{\"token\": \"{t}\"}}\n");
    let out = bin()
        .args([
            "stdin",
            "--no-config",
            "--format",
            "json",
            "--label",
            "mobile/applivery.json",
        ])
        .write_stdin(text.clone())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args(["stdin", "--no-config", "--label", "mobile/app.json"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}
