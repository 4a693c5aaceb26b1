use super::rules::pascal_case;
use super::*;

#[test]
fn paths_are_percent_encoded() {
    assert_eq!(
        encode_path("a b/ñ#%?:x.env"),
        "a%20b/%C3%B1%23%25%3F%3Ax.env"
    );
    assert_eq!(encode_path("src/main.rs"), "src/main.rs");
}

#[test]
fn dir_uri_is_absolute_and_ends_in_slash() {
    assert_eq!(dir_uri(Path::new("/tmp/a b")), "file:///tmp/a%20b/");
    assert_eq!(dir_uri(Path::new("/")), "file:///");
}

#[test]
fn names_and_sentences() {
    assert_eq!(pascal_case("applivery-app-token"), "AppliveryAppToken");
    assert_eq!(sentence("Token"), "Token.");
    assert_eq!(sentence("Token."), "Token.");
}

use crate::finding::{BlastRadius, Evidence, GitInfo, Verification};
use crate::report::{GitSummary, Problem, ScanKind};

const T1: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA";
const T2: &str = "Qw8rT5yU1iO3pA6sD9fG2hJk";

/// A history report with provenance and verification: the parts the binary cannot
/// produce until the `git` and `verify` commands exist.
fn git_report() -> Report {
    let mut r = Report::new(ScanKind::Git, PathBuf::from("/tmp/repo with space"));
    let commit = "0123456789abcdef0123456789abcdef01234567".to_string();
    for (i, (tok, status)) in [(T1, VerifyStatus::Live), (T2, VerifyStatus::Revoked)]
        .into_iter()
        .enumerate()
    {
        let mut f = Finding::new(
            "applivery-app-token",
            format!("config/app {i}.env"),
            3,
            21,
            3,
            45,
            tok.to_string(),
            format!("APPLIVERY_APP_TOKEN={tok}"),
        );
        f.git = Some(Box::new(GitInfo {
            commit: commit.clone(),
            author_name: "Dev".into(),
            author_email: "dev@example.com".into(),
            date: "2026-01-02T03:04:05Z".into(),
            summary: "Add CI".into(),
            commits: vec![commit.clone()],
            commit_count: 1,
            in_head: i == 0,
            last: None,
        }));
        f.verification = Some(Box::new(Verification {
            status,
            reason: "HTTP status".into(),
            checked_at: "2026-01-02T03:04:05Z".into(),
            evidence: Some(Evidence {
                endpoint: "https://api.applivery.io/v1/integrations/builds".into(),
                http_status: Some(200),
                api_error: None,
            }),
            blast_radius: (status == VerifyStatus::Live).then(|| BlastRadius::App {
                application_id: Some("5f0c0ffee0c0ffee0c0ffee0".into()),
                application_name: Some("Field Sales".into()),
                builds: 42,
            }),
        }));
        r.findings.push(f);
    }
    r.errors.push(Problem::new("deadbeef", "corrupt object"));
    r.warnings
        .push("shallow clone: history is truncated".into());
    r.summary.git = Some(GitSummary {
        commits: 3,
        blobs: 4,
        shallow: true,
        secrets: Vec::new(),
        head: Some(commit),
    });
    r
}

fn rules() -> Vec<Rule> {
    crate::rules::default_rules()
}

#[test]
fn history_results_carry_provenance_and_verification() {
    let v = serde_json::to_value(build(&git_report(), &rules(), false)).unwrap();
    let text = v.to_string();
    assert!(!text.contains(T1) && !text.contains(T2), "{text}");
    let run = &v["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "applivery-leaks/git/");
    let vcs = &run["versionControlProvenance"][0];
    assert_eq!(
        vcs["revisionId"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(vcs["repositoryUri"], "file:///tmp/repo%20with%20space/");
    let r0 = &run["results"][0];
    assert_eq!(r0["level"], "error");
    assert_eq!(r0["properties"]["commit"], vcs["revisionId"]);
    assert_eq!(r0["properties"]["in_head"], true);
    assert_eq!(r0["properties"]["commit_count"], 1);
    assert_eq!(r0["properties"]["verification"]["status"], "live");
    let v0 = &r0["properties"]["verification"];
    assert_eq!(v0["http_status"], 200);
    assert_eq!(
        v0["endpoint"],
        "https://api.applivery.io/v1/integrations/builds"
    );
    assert_eq!(v0["blast_radius"]["builds"], 42);
    assert_eq!(v0["blast_radius"]["application_name"], "Field Sales");
    assert!(
        r0["message"]["text"]
            .as_str()
            .unwrap()
            .contains("app 'Field Sales' (5f0c0ffee0c0ffee0c0ffee0), 42 build(s)"),
        "{}",
        r0["message"]["text"]
    );
    let loc = &r0["locations"][0];
    assert_eq!(
        loc["logicalLocations"][0]["fullyQualifiedName"],
        "0123456789abcdef0123456789abcdef01234567:config/app 0.env"
    );
    assert!(loc["message"]["text"]
        .as_str()
        .unwrap()
        .contains("0123456789ab"));
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "config/app%200.env"
    );
    assert_eq!(run["results"][1]["level"], "note");
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let levels: Vec<&str> = inv["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["error", "warning"]);
    // The context snippet is the finding's redacted line.
    for r in run["results"].as_array().unwrap() {
        let snip = r["locations"][0]["physicalLocation"]["contextRegion"]["snippet"]["text"]
            .as_str()
            .unwrap();
        assert!(
            snip.starts_with("APPLIVERY_APP_TOKEN=") && snip.ends_with('…'),
            "{snip}"
        );
    }
    // For the external validator (scripts/check-sarif.sh): write the sample out.
    if let Some(dir) = std::env::var_os("APPLIVERY_LEAKS_SARIF_SAMPLES") {
        let path = Path::new(&dir).join("git-sample.sarif");
        let mut f = std::fs::File::create(path).unwrap();
        let style = Style {
            format: crate::report::Format::Sarif,
            show_secrets: false,
            color: false,
        };
        write(&git_report(), &rules(), style, &mut f).unwrap();
    }
}

#[test]
fn show_secrets_puts_the_secret_in_snippet_and_properties() {
    let v = serde_json::to_value(build(&git_report(), &rules(), true)).unwrap();
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["properties"]["secret"], T1);
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["snippet"]["text"],
        T1
    );
}

#[test]
fn a_finding_without_position_has_no_region() {
    let mut r = Report::new(ScanKind::Verify, PathBuf::from("/"));
    r.findings.push(Finding::new(
        "applivery-app-token",
        crate::provenance::Provenance::new(crate::provenance::Origin::Argument(1)),
        0,
        0,
        0,
        0,
        T1.into(),
        String::new(),
    ));
    let v = serde_json::to_value(build(&r, &rules(), false)).unwrap();
    let pl = &v["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(pl["artifactLocation"]["uri"], "%3Cargument%201%3E");
    assert!(pl.get("region").is_none() && pl.get("contextRegion").is_none());
    assert_eq!(
        v["runs"][0]["automationDetails"]["id"],
        "applivery-leaks/verify/"
    );
}

/// Names in a result's chain (`a!/b!/c` is 3).
fn fq_depth(res: &serde_json::Value) -> usize {
    res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        .as_str()
        .unwrap()
        .split("!/")
        .count()
}

#[test]
fn archive_members_nest_as_artifacts_and_point_at_the_archive() {
    use crate::provenance::Provenance;
    let mut r = Report::new(ScanKind::Dir, PathBuf::from("/"));
    let apk = Provenance::file("build/app.apk");
    for (p, line) in [
        (apk.member("classes.dex"), 3),
        (apk.member("assets/inner.zip").member("config.json"), 7),
        (apk.member("assets/inner.zip").member("b.env"), 1),
    ] {
        r.findings.push(Finding::new(
            "applivery-app-token",
            p,
            line,
            5,
            line,
            29,
            T1.into(),
            String::new(),
        ));
    }
    let v = serde_json::to_value(build(&r, &rules(), false)).unwrap();
    let run = &v["runs"][0];
    let uris: Vec<(String, Option<i64>)> = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["location"]["uri"].as_str().unwrap().to_string(),
                a["parentIndex"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        uris,
        vec![
            ("build/app.apk".to_string(), None),
            ("classes.dex".to_string(), Some(0)),
            ("assets/inner.zip".to_string(), Some(0)),
            ("config.json".to_string(), Some(2)),
            ("b.env".to_string(), Some(2)),
        ]
    );
    for res in run["results"].as_array().unwrap() {
        let pl = &res["locations"][0]["physicalLocation"];
        assert_eq!(pl["artifactLocation"]["uri"], "build/app.apk");
        assert_eq!(pl["artifactLocation"]["index"], 0);
        // The archive as a whole: its first line, with the member's line in the message.
        assert_eq!(pl["region"], json!({"startLine": 1}));
        let msg = res["locations"][0]["message"]["text"].as_str().unwrap();
        assert!(msg.starts_with("Line "), "{msg}");
        if fq_depth(res) == 3 {
            assert!(msg.contains("' inside 'assets/inner.zip'"), "{msg}");
        }
        let fq = res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .unwrap();
        assert!(fq.starts_with("build/app.apk!/"), "{fq}");
    }
}
