//! Unit tests of the detector kept from its first version: the cases every later design
//! must still get right.

use super::decode::decode_base64;
use super::*;
use crate::rules::default_rules;

fn det() -> Detector {
    Detector::new(default_rules()).unwrap()
}

fn secrets(text: &str) -> Vec<String> {
    let d = det();
    d.detect(text.as_bytes(), b"")
        .into_iter()
        .map(|c| text[c.start..c.end].to_string())
        .collect()
}

const T: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA"; // obviously fake, correctly shaped (applivery-leaks:allow)

#[test]
fn service_account_token_assigned_in_env_file() {
    // The `=` before the value once kept the Service Account rule from matching.
    let sa = "Xk3qP9xVb2LmN7wQe4RtY6uAZk3qP9xVb2LmN7wQe4RtY6uA1b"; // applivery-leaks:allow
    assert_eq!(
        secrets(&format!("APPLIVERY_SERVICE_ACCOUNT_TOKEN={sa}\n")),
        vec![sa]
    );
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYSJ9.Xk3qP9xVb2LmN7wQe4RtY6uAZk3qP9x";
    assert_eq!(
        secrets(&format!(
            "# applivery service account sa@5f1a.iam.applivery.io\nAPPLIVERY_SA_TOKEN={jwt}\n"
        )),
        vec![jwt]
    );
}

#[test]
fn env_assignment() {
    assert_eq!(secrets(&format!("APPLIVERY_APP_TOKEN={T}\n")), vec![T]);
}

#[test]
fn token_at_start_and_end_of_file() {
    assert_eq!(secrets(&format!("{T} # applivery token")), vec![T]);
    assert_eq!(secrets(&format!("applivery_token: {T}")), vec![T]);
}

#[test]
fn crlf_lines() {
    assert_eq!(
        secrets(&format!("applivery:\r\n  app_token: \"{T}\"\r\n")),
        vec![T]
    );
}

#[test]
fn other_service_keys_are_not_reported() {
    assert!(secrets(&format!("# applivery\nGITHUB_TOKEN={T}\n")).is_empty());
    assert!(secrets(&format!("# applivery\nsentry.auth.token={T}\n")).is_empty());
}

#[test]
fn bearer_to_other_host_is_not_reported() {
    let s = format!(
        "# upload to applivery later\ncurl -H \"Authorization: Bearer {T}\" https://api.github.com/repos\n"
    );
    assert!(secrets(&s).is_empty());
    let s = format!(
        "curl -X POST https://upload.applivery.io/v1/integrations/builds \\\n  -H \"Authorization: Bearer {T}\" \\\n  -F build=@app.ipa\n"
    );
    assert_eq!(secrets(&s), vec![T]);
}

#[test]
fn identifiers_and_placeholders_are_not_secrets() {
    for v in [
        "YOUR_APPLIVERY_APP_TOKEN",
        "ApplicationTokenProvider",
        "xxxxxxxxxxxxxxxxxxxxxxxx",
        "5f1a2b3c4d5e6f7a8b9c0d1e",
        "APPLIVERY_TOKEN_RELEASE1",
        "my-applivery-token-value",
    ] {
        assert!(
            secrets(&format!("APPLIVERY_TOKEN={v}\n")).is_empty(),
            "{v} reported"
        );
    }
    assert!(secrets("APPLIVERY_TOKEN=${APPLIVERY_TOKEN_FOR_RELEASES}\n").is_empty());
    assert!(secrets("applivery_token: $APPLIVERY_API_TOKEN_PROD_X\n").is_empty());
}

#[test]
fn no_context_no_finding() {
    assert!(secrets(&format!("token = \"{T}\"\n")).is_empty());
}

#[test]
fn invalid_utf8_around_the_token() {
    let mut b = b"\xff\xfe applivery_token=".to_vec();
    b.extend_from_slice(T.as_bytes());
    b.extend_from_slice(b"\xff\n");
    let c = det().detect(&b, b"");
    assert_eq!(c.len(), 1);
    assert_eq!(&b[c[0].start..c[0].end], T.as_bytes());
}

#[test]
fn very_long_line() {
    let mut s = "a".repeat(1 << 20);
    s.push_str(&format!(" applivery.token={T} "));
    s.push_str(&"b".repeat(1 << 20));
    assert_eq!(secrets(&s), vec![T]);
}

#[test]
fn entropy_and_words() {
    assert!(shannon_entropy(b"aaaa") < 0.1);
    assert_eq!(
        split_words(b"appliveryAppToken"),
        vec!["applivery", "app", "token"]
    );
    assert_eq!(
        split_words(b"APPLIVERY_APP_TOKEN"),
        vec!["applivery", "app", "token"]
    );
    assert!(looks_random(T.as_bytes()));
    assert!(!looks_random(b"ApplicationTokenProvider"));
}

#[test]
fn parents_decide_for_generic_keys() {
    // Indentation: the innermost keyed parent names the service.
    assert_eq!(
        secrets(&format!("applivery:\n  upload:\n    token: {T}\n")),
        vec![T]
    );
    assert!(secrets(&format!("applivery:\n  x: 1\nsentry:\n  auth_token: {T}\n")).is_empty());
    // Brackets on one line (minified JSON).
    let ok = format!("{{\"applivery\":{{\"appToken\":\"{T}\"}}}}");
    assert_eq!(secrets(&ok), vec![T]);
    let foreign = format!("{{\"applivery\":{{}},\"sentry\":{{\"authToken\":\"{T}\"}}}}");
    assert!(secrets(&foreign).is_empty());
    // A block scalar's parent is not a key: the step name decides.
    let gha = format!(
        "      - name: Upload to Applivery\n        run: |\n          curl -H \"Authorization: Bearer {T}\" \"$URL\"\n"
    );
    assert_eq!(secrets(&gha), vec![T]);
    // A call of the SDK names it.
    assert_eq!(
        secrets(&format!("  Applivery.shared.start(token: \"{T}\")\n")),
        vec![T]
    );
}

#[test]
fn nearest_key_decides() {
    // Keys of other things next to applivery mentions.
    assert!(secrets(&format!(
        "x={{url:\"https://api.applivery.io\",nonce:\"{T}\"}}"
    ))
    .is_empty());
    // Arguments before the value do not hide the call that names it.
    assert_eq!(
        secrets(&format!("Applivery.init(this, \"{T}\", false)\n")),
        vec![T]
    );
}

#[test]
fn sections_bound_the_window() {
    let toml = format!("[applivery]\nid = 1\n\n[sentry]\ntoken = \"{T}\"\n");
    assert!(secrets(&toml).is_empty());
    let toml = format!("[applivery]\ntoken = \"{T}\"\n[sentry]\nx = 1\n");
    assert_eq!(secrets(&toml), vec![T]);
    let yaml = format!("name: applivery\n---\nkind: Secret\nstringData:\n  token: {T}\n");
    assert!(secrets(&yaml).is_empty());
}

#[test]
fn http_request_line_is_the_url() {
    let ok = format!("### applivery\nPOST https://upload.applivery.io/v1/integrations/builds\nAuthorization: Bearer {T}\n");
    assert_eq!(secrets(&ok), vec![T]);
    let other = format!("# applivery uploads are elsewhere\nGET https://api.github.com/user\nAuthorization: Bearer {T}\n");
    assert!(secrets(&other).is_empty());
}

#[test]
fn base64_values_are_decoded() {
    assert_eq!(decode_base64(b"aGVsbG8=").unwrap(), b"hello");
    assert_eq!(decode_base64(b"aGVsbG8K").unwrap(), b"hello");
    assert_eq!(decode_base64(b"aGVsbG8").unwrap(), b"hello");
    assert!(decode_base64(b"a").is_none());
    assert!(decode_base64(b"aGV*bG8=").is_none());
    // Kubernetes Secret data: the finding is at the base64 text, the secret is the token.
    let b64 = "WmszcVA5eFZiMkxtTjd3UWU0UnRZNnVB"; // base64 of T (applivery-leaks:allow)
    let text = format!("kind: Secret\ndata:\n  APPLIVERY_APP_TOKEN: {b64}\r\n");
    let d = det();
    let c = d.detect(text.as_bytes(), b"");
    assert_eq!(c.len(), 1);
    assert_eq!(&text[c[0].start..c[0].end], b64);
    assert_eq!(&*d.secret(&c[0], text.as_bytes()), T.as_bytes());
    // Base64 of a look-alike is still a look-alike.
    let text = "APPLIVERY_APP_TOKEN: eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\n"; // 24 x
    assert!(det().detect(text.as_bytes(), b"").is_empty());
}

#[test]
fn crlf_everywhere() {
    let s = format!(
        "curl -X POST https://upload.applivery.io/v1/integrations/builds \\\r\n  -H \"Authorization: Bearer {T}\" \\\r\n  -F build=@a.ipa\r\n"
    );
    assert_eq!(secrets(&s), vec![T]);
    let s = format!("<key>AppliveryAppToken</key>\r\n\t<string>{T}</string>\r\n");
    assert_eq!(secrets(&s), vec![T]);
}

#[test]
fn token_alone_at_start_or_end() {
    // At offset 0 and at the very end, named by the line above or a trailing comment.
    assert_eq!(secrets(&format!("{T}  # applivery app token\n")), vec![T]);
    assert_eq!(secrets(&format!("applivery_token:\n{T}")), vec![T]);
    assert!(secrets(T).is_empty());
}

#[test]
fn long_minified_line_with_many_candidates() {
    // 1 MiB of 24-character look-alikes on one line around one real leak.
    let mut s = String::from("var cfg={");
    for i in 0..40_000 {
        s.push_str(&format!(
            "k{i}:\"{}\",",
            &"AbCdEfGhIjKlMnOpQrStUvWxYz"[i % 3..i % 3 + 24]
        ));
    }
    s.push_str(&format!("appliveryToken:\"{T}\"}};"));
    assert_eq!(secrets(&s), vec![T]);
}

#[test]
fn keyword_regions_give_the_same_findings_as_whole_scans() {
    // The same rules without `keyword_near` scan the whole blob; with it, only regions
    // around "applivery". Findings must not differ.
    let whole_rules = crate::rules::DEFAULT_RULES.replace("keyword_near = true", "");
    let whole = Detector::new(crate::rules::parse_rules(&whole_rules, "t").unwrap()).unwrap();
    let near = det();
    let mut seed = 7u64;
    let mut text = String::new();
    for i in 0..3000 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let tok: String = (0..24)
            .map(|k| {
                b"AbCdEfGhJkMnPqRsTuVwXyZ0123456789_-aBcDeFgH"[((seed >> (k + 20)) % 43) as usize]
                    as char
            })
            .collect();
        match seed % 9 {
            0 => text.push_str(&format!("APPLIVERY_TOKEN={tok}\n")),
            1 => text.push_str(&format!("token: {tok}\n")),
            2 => text.push_str("# applivery\n"),
            3 => text.push_str(&"filler line of text without the word\n".repeat(60)),
            _ => text.push_str(&format!("let v{i} = \"{tok}\";\n")),
        }
    }
    let a = whole.detect(text.as_bytes(), b"");
    let b = near.detect(text.as_bytes(), b"");
    assert!(a.len() > 50, "{}", a.len());
    assert_eq!(a, b);
}

#[test]
fn random_structure_never_panics() {
    // Fragments that drive every branch of the context checks, shuffled into short blobs:
    // brackets, keys, continuations, CRLF, section breaks, request lines, URLs, tokens.
    const PARTS: &[&str] = &[
        "\n",
        "\r\n",
        "\r",
        " ",
        "  ",
        "\t",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "=",
        "\"",
        "'",
        "\\",
        "`",
        "^",
        ",",
        "- ",
        "---",
        "###",
        "[applivery]",
        "POST ",
        "GET ",
        "https://",
        "http://",
        "upload.applivery.io",
        "api.github.com",
        "/v1/x",
        "applivery",
        "APPLIVERY_TOKEN",
        "token",
        "Bearer ",
        "run: |",
        "sentry:",
        "value",
        "|",
        "\u{e9}",
        "\u{ff}",
        T,
        "WmszcVA5eFZiMkxtTjd3UWU0UnRZNnVB",
        "Cg==",
        "Zk3qP9xVb2LmN7wQe4RtY6uAZk3qP9xVb2LmN7wQe4Rt",
    ];
    let d = det();
    let mut seed = 0x1234_5678_9abc_def0u64;
    for round in 0..3000 {
        let mut blob = Vec::new();
        let n = 1 + round % 40;
        for _ in 0..n {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            blob.extend_from_slice(PARTS[(seed % PARTS.len() as u64) as usize].as_bytes());
            if seed.is_multiple_of(31) {
                blob.push(0xC3); // a cut UTF-8 sequence
            }
        }
        for c in d.detect(&blob, b"") {
            assert!(c.start < c.end && c.end <= blob.len());
            let _ = d.secret(&c, &blob);
        }
    }
}

#[test]
fn method_calls_and_type_annotations() {
    assert_eq!(
        secrets(&format!("applivery {{\n    appToken.set(\"{T}\")\n}}\n")),
        vec![T]
    );
    assert_eq!(secrets(&format!("applivery.setToken(\"{T}\")\n")), vec![T]);
    assert_eq!(
        secrets(&format!("APPLIVERY_TOKEN: str = \"{T}\"\n")),
        vec![T]
    );
    assert!(secrets(&format!("# applivery\nsentry.setToken(\"{T}\")\n")).is_empty());
    assert!(secrets(&format!("# applivery\nSentry.init(token: \"{T}\")\n")).is_empty());
}

#[test]
fn find_ci_finds_the_first_occurrence_in_any_case() {
    // Against the obvious search, on text where the needles' letters occur often, at the
    // ends, in mixed case, and overlapping themselves.
    let naive = |hay: &[u8], n: &[u8]| {
        (0..=hay.len().saturating_sub(n.len()))
            .find(|&i| hay.len() >= n.len() && hay[i..i + n.len()].eq_ignore_ascii_case(n))
    };
    let hays: &[&[u8]] = &[
        b"",
        b"k",
        b"token",
        b"TOKEN tok toke TokEn",
        b"tttkkk tokentoken",
        b"Bearer bearerbearer",
        b"AUTHORIZATION: x authorization",
        b"http://a https://b ://",
        b"applivery.io APPLIVERY AppLivery",
        b"xtokeN",
    ];
    let needles: &[&[u8]] = &[
        b"token",
        b"bearer",
        b"authorization",
        b"://",
        b"applivery",
        b"k",
        b"kk",
    ];
    for hay in hays {
        for n in needles {
            assert_eq!(
                text::find_ci(hay, n),
                naive(hay, n),
                "{:?} in {:?}",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(hay)
            );
        }
    }
}

#[test]
fn entropy_from_the_table_decides_as_the_logarithms_do() {
    // Values at and around the default minimum (3.0: eight letters equally often is exactly
    // 3 bits), drawn from small alphabets so that many land near it, and every length.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for n in 1..=600usize {
        for alphabet in [2u64, 7, 8, 9, 12, 16, 64] {
            let v: Vec<u8> = (0..n).map(|_| b'A' + (next() % alphabet) as u8).collect();
            for min in [2.5, 3.0, 3.5, 4.0] {
                assert_eq!(
                    secret::entropy_below(&v, min),
                    shannon_entropy(&v) < min,
                    "{n} {alphabet} {min}"
                );
            }
        }
    }
    let exact: Vec<u8> = b"ABCDEFGH".repeat(3);
    assert_eq!(
        secret::entropy_below(&exact, 3.0),
        shannon_entropy(&exact) < 3.0
    );
    assert!(secret::entropy_below(b"", 0.5));
}
