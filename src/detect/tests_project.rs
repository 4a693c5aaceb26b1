//! Unit tests of the cross-file step (`project.rs`) and of keys that say what a value is.
use super::*;
use crate::rules::default_rules;

fn det() -> Detector {
    Detector::new(default_rules()).unwrap()
}

/// The names `text` logs as used at Applivery sinks, as `qualifier.name` or `name`.
fn sinks(text: &str) -> Vec<String> {
    let d = det();
    d.detect(text.as_bytes(), b"");
    d.take_sink_names()
        .into_iter()
        .map(|n| {
            let name = String::from_utf8_lossy(&n.name).into_owned();
            match n.qualifier {
                Some(q) => format!("{}.{name}", String::from_utf8_lossy(&q)),
                None => name,
            }
        })
        .collect()
}

fn found_with(d: &Detector, text: &str, path: &str) -> Vec<String> {
    d.detect(text.as_bytes(), path.as_bytes())
        .iter()
        .map(|c| String::from_utf8_lossy(&d.secret(c, text.as_bytes())).into_owned())
        .collect()
}

const T: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA"; // applivery-leaks:allow

#[test]
fn names_at_applivery_sinks_are_logged() {
    assert_eq!(
        sinks("Applivery.shared.start(token: Keys.uploadToken, appStoreRelease: false)\n"),
        vec!["Keys.uploadToken"]
    );
    assert_eq!(
        sinks("        Applivery.init(this, BuildKeys.DISTRIBUTION, false)\n"),
        vec!["BuildKeys.DISTRIBUTION"]
    );
    assert_eq!(
        sinks(
            "await AppliveryFlutter.init(appToken: distributionToken, appStoreRelease: false);\n"
        ),
        vec!["distributionToken"]
    );
    assert_eq!(
        sinks("[[Applivery shared] startWithToken:AppSecrets.distribution appStoreRelease:NO];\n"),
        vec!["AppSecrets.distribution"]
    );
    assert_eq!(
        sinks(concat!(
            "const APPLIVERY_UPLOAD = \"https://upload.applivery.io/v1/integrations/builds\";\n",
            "const res = await fetch(APPLIVERY_UPLOAD, {\n",
            "  headers: { Authorization: `Bearer ${uploadKey}` },\n",
            "});\n"
        )),
        vec!["uploadKey"]
    );
    assert_eq!(
        sinks("applivery {\n    appToken = Secrets.QA_TOKEN\n}\n"),
        vec!["Secrets.QA_TOKEN"]
    );
}

#[test]
fn what_is_not_a_sink_name() {
    // Environment lookups, calls, literals, names defined in the same blob, a generic word
    // without a qualifier, a name that says Applivery (found by its keyword anyway).
    assert!(sinks("Applivery.init(this, System.getenv(\"TOKEN\"), false)\n").is_empty());
    assert!(
        sinks("Applivery.shared.start(token: ProcessInfo.processInfo.environment[\"T\"]!)\n")
            .is_empty()
    );
    assert!(sinks(&format!("Applivery.init(this, \"{T}\", false)\n")).is_empty());
    assert!(sinks(
        "let uploadToken = Bundle.main.object(forInfoDictionaryKey: \"T\")\nApplivery.shared.start(token: uploadToken, appStoreRelease: false)\n"
    )
    .is_empty());
    assert!(sinks("Applivery.shared.start(token: token, appStoreRelease: false)\n").is_empty());
    assert!(sinks("Applivery.init(this, BuildConfig.APPLIVERY_TOKEN, false)\n").is_empty());
    // Another SDK's call next to Applivery's is not an Applivery sink.
    assert!(sinks(concat!(
        "Applivery.shared.start(token: token, appStoreRelease: false)\n",
        "Instabug.start(withToken: Keys.crashReporting, invocationEvents: [.shake])\n",
    ))
    .is_empty());
    // A Bearer header sent to another host.
    assert!(sinks(concat!(
        "# upload to applivery later\n",
        "curl -H \"Authorization: Bearer $GH_TOKEN\" https://api.github.com/user\n",
    ))
    .is_empty());
    // A bare value after a token key is a value (YAML, .env), not a name; so is a token
    // written bare as an argument.
    assert!(sinks(&format!("APPLIVERY_APP_TOKEN={T}\n")).is_empty());
    assert!(sinks("applivery:\n  token: JLc1B-x\n").is_empty());
    assert!(sinks(&format!("Applivery.init(this, {T}, false)\n")).is_empty());
    // A template variable (`{{x}}`) belongs to the tool, not to the code.
    assert!(sinks("Authorization: Bearer {{appliveryKey2}}\n# applivery\n").is_empty());
}

#[test]
fn a_constant_used_at_a_sink_elsewhere_is_found_where_it_is_defined() {
    let d = det();
    let keys = format!("enum Keys {{\n    static let uploadToken = \"{T}\"\n}}\n");
    // Alone, the keys file says nothing about Applivery.
    assert!(found_with(&d, &keys, "Sources/Keys.swift").is_empty());
    assert!(!d.prefilter(keys.as_bytes(), b"Sources/Keys.swift"));
    d.detect(
        b"Applivery.shared.start(token: Keys.uploadToken, appStoreRelease: false)\n",
        b"",
    );
    let view = d.with_project(d.take_sink_names()).unwrap();
    assert!(view.prefilter(keys.as_bytes(), b"Sources/Keys.swift"));
    assert_eq!(found_with(&view, &keys, "Sources/Keys.swift"), vec![T]);
    // The qualifier must be named by the defining blob or its path.
    let other = format!("struct Cache {{\n    static let uploadToken = \"{T}\"\n}}\n");
    assert!(found_with(&view, &other, "Sources/Cache.swift").is_empty());
    // A blob that does not mention the name is not judged again.
    assert!(!view.prefilter(b"let x = 1\n", b"Sources/Keys.swift"));
}

#[test]
fn a_key_that_says_what_the_value_is_decides_against_it() {
    let d = det();
    for key in [
        "listener",
        "buildWriter",
        "index",
        "requestId",
        "lastRequest",
        "name",
    ] {
        let text = format!("applivery:\n  token: ${{APPLIVERY_TOKEN}}\n  {key}: {T}\n");
        assert!(found_with(&d, &text, "").is_empty(), "{key}");
    }
    // Keys made of neutral words, and keyless values, are judged by the scope as before.
    for key in ["value", "default", "prod", "token", "app_token"] {
        let text = format!("applivery:\n  {key}: {T}\n");
        assert_eq!(found_with(&d, &text, ""), vec![T], "{key}");
    }
    assert_eq!(
        found_with(&d, &format!("applivery:\n  targets:\n    - {T}\n"), ""),
        vec![T]
    );
    assert_eq!(
        found_with(&d, &format!("applivery:\n  tokens:\n    - {T}\n"), ""),
        vec![T]
    );
    // Another SDK's call beside Applivery's, written as one word or two.
    let sdks = format!(
        "Applivery.shared.start(token: t, appStoreRelease: false)\nOneSignal.initialize(\"{T}\", withLaunchOptions: o)\n"
    );
    assert!(found_with(&d, &sdks, "").is_empty());
}

#[test]
fn a_cross_file_pass_reads_the_files_of_the_language_that_uses_the_name() {
    let d = det();
    d.detect(
        b"Applivery.shared.start(token: Keys.uploadToken, appStoreRelease: false)\n",
        b"ios/AppDelegate.swift",
    );
    let view = d.with_project(d.take_sink_names()).unwrap();
    assert!(view.project_reads(b"ios/Keys.swift"));
    assert!(view.project_reads(b"ios/Config/Release.xcconfig"));
    assert!(!view.project_reads(b"android/Keys.kt"));
    assert!(!view.project_reads(b"web/dist/app.min.js"));
    // A `$VAR` in a script is defined in a .env, a CI file or another script.
    d.detect(
        b"curl https://upload.applivery.io/v1/integrations/builds -H \"Authorization: Bearer $UPLOAD_TOKEN\"\n",
        b"ci/upload.sh",
    );
    let view = d.with_project(d.take_sink_names()).unwrap();
    assert!(view.project_reads(b".env.qa"));
    assert!(view.project_reads(b"ci/vars.yml"));
    assert!(!view.project_reads(b"ios/Keys.swift"));
    // Without a project every file is read.
    assert!(d.project_reads(b"anything.bin"));
}
