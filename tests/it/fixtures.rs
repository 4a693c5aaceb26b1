//! The fixtures are the detector's contract: `fixtures/` holds realistic files for every place
//! Applivery tokens hide, with hard negatives next to them, and `fixtures/expected.json`
//! lists every finding the default rules must make there. This test scans the directory with
//! the real binary and compares exactly: each expected finding is reported, nothing else is.
//!
//! Expected findings name their token by id (`t07`: token 7 of 24 characters, `s01`: token 1
//! of 48) from the fixed-seed generator below, which `fixtures/gen_tokens.py` mirrors. So every
//! secret in the fixtures provably comes from the generator, never from a real account.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fake token number `index` of `len` characters; mixes upper and lower case.
fn token(index: u64, len: usize) -> String {
    let mut state = 0x5EED_A991_1FE5u64
        .wrapping_add(index.wrapping_mul(1_000_003))
        .wrapping_add(len as u64);
    loop {
        let t: String = (0..len)
            .map(|_| ALPHABET[(splitmix64(&mut state) & 63) as usize] as char)
            .collect();
        if t.bytes().any(|b| b.is_ascii_uppercase()) && t.bytes().any(|b| b.is_ascii_lowercase()) {
            return t;
        }
    }
}

/// `t07` → token 7 of 24 characters; `s01` → token 1 of 48.
fn token_by_id(id: &str) -> String {
    let (len, n) = match id.split_at(1) {
        ("t", n) => (24, n),
        ("s", n) => (48, n),
        _ => panic!("token id '{id}' must be t<N> or s<N>"),
    };
    token(n.parse().expect("token id number"), len)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expect {
    path: String,
    line: u64,
    column: u64,
    end_line: u64,
    end_column: u64,
    rule: String,
    secret: String,
}

impl Expect {
    fn show(&self) -> String {
        format!(
            "{}:{}:{}-{}:{} {}",
            self.path, self.line, self.column, self.end_line, self.end_column, self.rule
        )
    }
}

fn id_of(secret: &str) -> Option<String> {
    (0..200)
        .map(|i| format!("t{i:02}"))
        .chain((0..50).map(|i| format!("s{i:02}")))
        .find(|id| token_by_id(id) == secret)
}

#[test]
fn generator_matches_the_python_script() {
    // The first tokens printed by `python3 fixtures/gen_tokens.py` and `... 48 1`.
    assert_eq!(token_by_id("t00"), "9aGP5bkgPWcZ6jgep_QJkIAP");
    assert_eq!(token_by_id("t39"), "txajghhpy3ayNLRvcM8iolQV");
    assert_eq!(
        token_by_id("s00"),
        "sQ5YIpGoSqEUuUd3xElqqM5mlp1rtSz4zxFy3wKvMybMtCwL"
    );
}

#[test]
fn fixtures_give_exactly_the_expected_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("fixtures/expected.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).expect("fixtures/expected.json is JSON");
    let expected: BTreeSet<Expect> = doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| Expect {
            path: f["path"].as_str().unwrap().to_string(),
            line: f["line"].as_u64().unwrap(),
            column: f["column"].as_u64().unwrap(),
            end_line: f["end_line"].as_u64().unwrap(),
            end_column: f["end_column"].as_u64().unwrap(),
            rule: f["rule"].as_str().unwrap().to_string(),
            secret: token_by_id(f["token"].as_str().unwrap()),
        })
        .collect();

    // --no-config: the project config excludes fixtures/ from the self-scan.
    // --no-ignore: `.env` files must be scanned even if an ignore file lists them.
    let out = Command::cargo_bin("applivery-leaks")
        .unwrap()
        .current_dir(root)
        .args([
            "dir",
            "fixtures",
            "--no-config",
            "--no-ignore",
            "--format",
            "json",
            "--show-secrets",
            "--no-suppress",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        report["errors"].as_array().map(Vec::len),
        Some(0),
        "unreadable fixtures: {}",
        report["errors"]
    );
    let got: BTreeSet<Expect> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Expect {
            path: f["path"].as_str().unwrap().to_string(),
            line: f["line"].as_u64().unwrap(),
            column: f["column"].as_u64().unwrap(),
            end_line: f["end_line"].as_u64().unwrap(),
            end_column: f["end_column"].as_u64().unwrap(),
            rule: f["rule"].as_str().unwrap().to_string(),
            secret: f["secret"].as_str().unwrap().to_string(),
        })
        .collect();

    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut msg = String::from("fixtures/expected.json and the scan disagree\n");
        if !missing.is_empty() {
            msg.push_str(&format!(
                "\nMISSED ({}): expected but not reported (false negatives, or moved):\n",
                missing.len()
            ));
            for m in &missing {
                let id = id_of(&m.secret).unwrap_or_default();
                msg.push_str(&format!("  - {} token {id}\n", m.show()));
            }
        }
        if !extra.is_empty() {
            msg.push_str(&format!(
                "\nUNEXPECTED ({}): reported but not expected (false positives, or new fixtures):\n",
                extra.len()
            ));
            for x in &extra {
                let id = id_of(&x.secret);
                msg.push_str(&format!(
                    "  + {} secret {}…{}\n",
                    x.show(),
                    &x.secret[..4.min(x.secret.len())],
                    id.as_deref()
                        .map_or(String::new(), |i| format!(" (token {i})"))
                ));
                if let Some(id) = id {
                    msg.push_str(&format!(
                        "    if intended, add: {{\"path\": {:?}, \"line\": {}, \"column\": {}, \"end_line\": {}, \"end_column\": {}, \"rule\": {:?}, \"token\": {:?}}}\n",
                        x.path, x.line, x.column, x.end_line, x.end_column, x.rule, id
                    ));
                } else {
                    msg.push_str("    not from the token generator: a look-alike the rules should not report\n");
                }
            }
        }
        panic!("{msg}");
    }
    assert_eq!(
        out.status.code(),
        Some(1),
        "findings must exit 1; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
