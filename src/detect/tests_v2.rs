//! Unit tests of detection v2.
use super::*;
use crate::rules::default_rules;

fn det() -> Detector {
    Detector::new(default_rules()).unwrap()
}

fn found(text: &str, path: &str) -> Vec<String> {
    let d = det();
    d.detect(text.as_bytes(), path.as_bytes())
        .iter()
        .map(|c| String::from_utf8_lossy(&d.secret(c, text.as_bytes())).into_owned())
        .collect()
}

#[test]
fn path_is_evidence() {
    let t = "Zk3qP9xVb2LmN7wQe4RtY6uA";
    // The text never says whose token it is; the path does.
    assert_eq!(
        found(
            &format!("{{\"token\": \"{t}\"}}\n"),
            "rn-app/applivery.json"
        ),
        vec![t]
    );
    assert!(found(&format!("{{\"token\": \"{t}\"}}\n"), "rn-app/app.json").is_empty());
    // Another owner named in the file still wins.
    assert!(found(
        &format!("sentry:\n  auth_token: {t}\n"),
        "tools/applivery/config.yml"
    )
    .is_empty());
}

#[test]
fn inverted_burden_within_an_applivery_scope() {
    let t = "Zk3qP9xVb2LmN7wQe4RtY6uA"; // applivery-leaks:allow
                                        // A value with no name is reported only where the structure is about a credential: a
                                        // list under a credential key of an Applivery block, a section about its token.
    assert_eq!(
        found(&format!("- kind: applivery\n  targets:\n    - {t}\n"), ""),
        vec![t]
    );
    assert_eq!(
        found(&format!("## Applivery token\n\n```\n{t}\n```\n"), ""),
        vec![t]
    );
    // Not merely because Applivery is named around it (issue 18): a section about
    // Applivery, a command that mentions it, a nearby line.
    assert!(found(&format!("echo 'applivery upload' {t}\n"), "").is_empty());
    assert!(found(&format!("## Applivery\n\n```\n{t}\n```\n"), "").is_empty());
    // Objective-C message sends are judged by their receiver.
    assert_eq!(
        found(
            &format!("[[Applivery shared] startWithToken:@\"{t}\" appStoreRelease:NO];\n"),
            ""
        ),
        vec![t]
    );
    assert!(found(
        &format!("// applivery below\n[Instabug startWithToken:@\"{t}\" invocationEvents:0];\n"),
        ""
    )
    .is_empty());
    // The nearest owner named above decides for a generic key.
    assert!(found(
        &format!("# applivery\nAPP_TOKEN=x1\n# sentry\nAUTH_TOKEN={t}\n"),
        ""
    )
    .is_empty());
}

#[test]
fn decoded_values_keep_their_place_and_say_how() {
    let d = det();
    let t = "Zk3qP9xVb2LmN7wQe4RtY6uA"; // applivery-leaks:allow
    let b64 = "WmszcVA5eFZiMkxtTjd3UWU0UnRZNnVB"; // base64 of t (applivery-leaks:allow)
    let text = format!("applivery:\n  tokenBase64: {b64}\n");
    let c = d.detect(text.as_bytes(), b"");
    assert_eq!(c.len(), 1);
    assert_eq!(&text[c[0].start..c[0].end], b64);
    assert_eq!(c[0].decoded, vec!["base64"]);
    assert_eq!(&*d.secret(&c[0], text.as_bytes()), t.as_bytes());
    // A value split by a continuation inside quotes, and one built from literals.
    let text = format!(
        "curl https://upload.applivery.io/v1 -H \"Authorization: Bearer {}\\\n{}\"\n",
        &t[..10],
        &t[10..]
    );
    let c = d.detect(text.as_bytes(), b"");
    assert_eq!(c.len(), 1, "{text}");
    assert_eq!(c[0].decoded, vec!["continuation"]);
    let text = format!("String APPLIVERY = \"{}\" + \"{}\";\n", &t[..12], &t[12..]);
    let c = d.detect(text.as_bytes(), b"");
    assert_eq!(c[0].decoded, vec!["concatenation"]);
    assert_eq!(&*d.secret(&c[0], text.as_bytes()), t.as_bytes());
}

#[test]
fn obvious_fakes_are_never_tokens() {
    for v in [
        "aBcDeFgHiJkLmNoPqRsTuVwX",
        "AAAAAAAAAAAAAAAAAAAAAAAA",
        "abcdefghijklmnopqrstuvwx",
        "your_applivery_app_token",
        "abcd1234abcd1234abcd1234",
        "64f1c2a9e4b0d8a7c3f21b92",
    ] {
        assert!(
            found(&format!("APPLIVERY_TOKEN={v}\n"), "").is_empty(),
            "{v}"
        );
    }
}

#[test]
fn evidence_kinds_match_the_rule_file_names() {
    let names: Vec<&str> = EvidenceKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names, crate::rules::EVIDENCE_KINDS);
}

#[test]
fn each_finding_says_what_decided_it() {
    let d = det();
    let t = "Zk3qP9xVb2LmN7wQe4RtY6uA"; // applivery-leaks:allow
    let kinds = |text: &str, path: &str| -> Vec<&'static str> {
        let c = d.detect(text.as_bytes(), path.as_bytes());
        assert_eq!(c.len(), 1, "{text}");
        c[0].evidence.iter().map(|e| e.kind.as_str()).collect()
    };
    assert_eq!(kinds(&format!("APPLIVERY_APP_TOKEN={t}\n"), ""), ["key"]);
    assert_eq!(
        kinds(
            &format!("curl https://api.applivery.io/v1/integrations/builds -H \"Authorization: Bearer {t}\"\n"),
            ""
        ),
        ["key", "host"]
    );
    assert_eq!(
        kinds(&format!("Applivery.shared.start(token: \"{t}\")\n"), ""),
        ["key", "call"]
    );
    assert_eq!(
        kinds(&format!("token={t}\n"), "ci/applivery.properties"),
        ["key", "path"]
    );
    assert_eq!(
        kinds(&format!("applivery:\n  upload:\n    token: {t}\n"), ""),
        ["key", "block"]
    );
    // The evidence's text is the name, never the value.
    let c = d.detect(format!("APPLIVERY_APP_TOKEN={t}\n").as_bytes(), b"");
    assert_eq!(c[0].evidence[0].text, "APPLIVERY_APP_TOKEN");
    assert_eq!(c[0].evidence[0].at, Some(0));
}

#[test]
fn prose_commit_messages_and_declarations_name_no_credential() {
    let d = det();
    for text in [
        "Introduce enableCrashReportUploads and disableCrashReportUpload methods to AppliverySDK\n",
        "public final class FeedbackCoordinator: NSObject, FeedbackComposerDelegate {} // Applivery\n",
        "import { WorkspaceInviteDialogBox } from \"../applivery/workspace\";\n",
        "![distribution-audience-ui](https://www.applivery.com/a.png \"distribution-audience-ui | Applivery\")\n",
        // A Slack token whose workspace is named like the company (applivery-leaks:allow).
        "notifications:\n  slack: applivery-team:wNvbRdPcjj2lRZETkxHu3VEn#builds\n", // applivery-leaks:allow
    ] {
        assert!(d.detect(text.as_bytes(), b"").is_empty(), "{text}");
    }
}
