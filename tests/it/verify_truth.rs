//! Verification tells the truth (issue 10): a verdict rests on Applivery's documented answer
//! — status AND error body — never on a status alone; a scoped token is live; Service Account
//! tokens are checked against the workspace list; a live secret's blast radius is shown in
//! every format, and nothing the API echoes brings the token back into a report.

use crate::api::{
    service_account_token, tokens, Role, Server, APP_ID, APP_NAME, BUILDS, BUILDS_PATH, WORKSPACES,
    WORKSPACES_PATH,
};
use crate::common::*;
use crate::report::{assert_valid, schema};

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `verify --format json` with `input` on stdin against `api`.
fn verify(api: &Server, input: &str) -> (Value, String) {
    let out = bin()
        .args(["verify", "--format", "json", "--api-url", &api.url()])
        .args(["--verify-rps", "200", "--verify-timeout", "2"])
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    (json_of(&out.stdout), all_output(&out))
}

fn scan(dir: &Path, api: &Server, format: &str) -> (Value, String) {
    let out = bin()
        .arg("dir")
        .arg(dir)
        .args(["--no-config", "--verify", "--format", format])
        .args(["--api-url", &api.url(), "--verify-rps", "200"])
        .output()
        .unwrap();
    let all = all_output(&out);
    let v = if format == "text" {
        Value::Null
    } else {
        json_of(&out.stdout)
    };
    (v, all)
}

/// The verification of the finding at `line` of stdin.
fn at_line(v: &Value, line: u64) -> Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["line"] == line)
        .unwrap_or_else(|| panic!("no finding on line {line}: {v}"))["verification"]
        .clone()
}

#[test]
fn a_scoped_token_is_live_with_the_reason() {
    let tok = &tokens(1, 0x7e57_0001)[0];
    let api = Server::start(HashMap::from([(tok.clone(), Role::Scoped)]));
    let (v, all) = verify(&api, &format!("{tok}\n"));
    let ver = at_line(&v, 1);
    assert_eq!(ver["status"], "live", "{all}");
    assert!(
        ver["reason"]
            .as_str()
            .unwrap()
            .contains("the token authenticated, but its scope does not include listing builds"),
        "{ver}"
    );
    assert_eq!(ver["http_status"], 403);
    assert_eq!(
        ver["api_error"],
        json!({"code": 4003, "message": "Insufficient scope"})
    );
    assert_eq!(ver["endpoint"], format!("http://{}{BUILDS_PATH}", api.addr));
    assert!(!all.contains(tok.as_str()), "{all}");
}

#[test]
fn only_the_documented_invalid_token_error_makes_a_token_revoked() {
    let roles = [
        Role::Invalid,
        Role::ProxyUnauthorized,
        Role::WafForbidden,
        Role::StatusFalse,
    ];
    let toks = tokens(roles.len(), 0x7e57_0002);
    let api = Server::start(toks.iter().cloned().zip(roles).collect());
    let (v, all) = verify(&api, &toks.join("\n"));
    assert_valid(&schema(), &v);
    let revoked = at_line(&v, 1);
    assert_eq!(revoked["status"], "revoked", "{all}");
    assert_eq!(revoked["http_status"], 401);
    assert_eq!(
        revoked["api_error"],
        json!({"code": 4004, "message": "Invalid Token"})
    );
    let expect = [
        (2, 401, "without an Applivery error body"),
        (3, 403, "without an Applivery error body"),
        (4, 200, "the API answered status false"),
    ];
    for (line, code, reason) in expect {
        let ver = at_line(&v, line);
        assert_eq!(ver["status"], "unknown", "line {line}: {ver}");
        assert_eq!(ver["http_status"], code, "line {line}: {ver}");
        assert!(ver.get("api_error").is_none(), "line {line}: {ver}");
        assert!(
            ver["reason"].as_str().unwrap().contains(reason),
            "line {line}: {ver}"
        );
    }
    for t in &toks {
        assert_eq!(api.count(t), 1);
    }
    api.assert_tokens_only_in_authorization(&toks);
    assert!(toks.iter().all(|t| !all.contains(t.as_str())), "{all}");
}

/// A deploy file of the kind Service Account tokens hide in.
fn deploy_file(dir: &Path, name: &str, token: &str) {
    write(
        dir,
        name,
        &format!(
            "# Applivery Workspace API (service account ci@6500.iam.applivery.io)\n\
             applivery:\n  service_account_token: \"{token}\"\n"
        ),
    );
}

#[test]
fn service_accounts_are_checked_against_the_workspace_list() {
    let sa: Vec<String> = (0..3)
        .map(|i| service_account_token(0x7e57_0100 + i))
        .collect();
    let api = Server::start(HashMap::from([
        (sa[0].clone(), Role::Live),
        (sa[1].clone(), Role::Invalid),
        (sa[2].clone(), Role::Scoped),
    ]));
    let d = tempfile::tempdir().unwrap();
    for (i, t) in sa.iter().enumerate() {
        deploy_file(d.path(), &format!("env{i}/deploy.yml"), t);
    }
    let (v, all) = scan(d.path(), &api, "json");
    let by_path: HashMap<String, Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["rule"], "applivery-service-account-token", "{f}");
            (
                f["path"].as_str().unwrap().to_string(),
                f["verification"].clone(),
            )
        })
        .collect();
    assert_eq!(by_path.len(), 3, "{all}");
    let live = &by_path["env0/deploy.yml"];
    assert_eq!(live["status"], "live", "{live}");
    assert_eq!(live["http_status"], 200);
    let listed: Vec<Value> = WORKSPACES
        .iter()
        .map(|(id, name, slug)| json!({"id": id, "name": name, "slug": slug}))
        .collect();
    assert_eq!(
        live["blast_radius"],
        json!({"kind": "workspaces", "workspaces": listed, "total": 2})
    );
    assert_valid(&schema(), &v);
    let revoked = &by_path["env1/deploy.yml"];
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    assert_eq!(revoked["api_error"]["code"], 4004);
    let scoped = &by_path["env2/deploy.yml"];
    assert_eq!(scoped["status"], "live", "{scoped}");
    assert!(
        scoped["reason"]
            .as_str()
            .unwrap()
            .contains("scope does not include listing workspaces"),
        "{scoped}"
    );
    // One request per token, to the workspace list, token in the header only.
    assert_eq!(api.requests().len(), 3);
    for r in api.requests() {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("GET", WORKSPACES_PATH)
        );
    }
    for t in &sa {
        assert_eq!(api.count(t), 1);
        assert!(!all.contains(t.as_str()), "{all}");
    }
    api.assert_tokens_only_in_authorization(&sa);
    // The `verify` command tells a Service Account token by its shape.
    let (v, all) = verify(&api, &format!("{}\n", sa[0]));
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "applivery-service-account-token", "{all}");
    assert_eq!(f["verification"]["status"], "live");
    assert_eq!(f["verification"]["blast_radius"]["total"], 2);
    assert_eq!(api.requests().last().unwrap().path, WORKSPACES_PATH);
}

#[test]
fn blast_radius_in_every_format_and_free_of_secrets() {
    let toks = tokens(2, 0x7e57_0003);
    let (tok, echoing) = (&toks[0], &toks[1]);
    let api = Server::start(HashMap::from([
        (tok.clone(), Role::Live),
        (echoing.clone(), Role::LiveEchoing),
    ]));
    let d = tempfile::tempdir().unwrap();
    write(d.path(), ".env", &format!("APPLIVERY_APP_TOKEN={tok}\n"));
    write(
        d.path(),
        "ci/upload.sh",
        &format!("curl -H \"Authorization: Bearer {echoing}\" https://api.applivery.io/v1/integrations/builds\n"),
    );
    let (v, all) = scan(d.path(), &api, "json");
    let f: HashMap<String, Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["verification"].clone(),
            )
        })
        .collect();
    assert_eq!(
        f[".env"]["blast_radius"],
        json!({"kind": "app", "application_id": APP_ID, "application_name": APP_NAME, "builds": BUILDS}),
        "{all}"
    );
    assert_valid(&schema(), &v);
    // The answer put the token into the application name: the report shows it redacted.
    let echoed = &f["ci/upload.sh"]["blast_radius"]["application_name"];
    assert_eq!(echoed, &json!(format!("Leaky {}…", &echoing[..4])), "{all}");

    let (_, text) = scan(d.path(), &api, "text");
    assert!(
        text.contains(&format!(
            "blast radius: app '{APP_NAME}' ({APP_ID}), {BUILDS} build(s) it can download"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("GET http://{}{BUILDS_PATH}", api.addr)),
        "{text}"
    );
    let (sarif, _) = scan(d.path(), &api, "sarif");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let props: Vec<&Value> = results
        .iter()
        .map(|r| &r["properties"]["verification"]["blast_radius"])
        .collect();
    assert!(props.iter().all(|b| b["builds"] == BUILDS), "{sarif}");
    let (jsonl, _) = {
        let out = bin()
            .arg("dir")
            .arg(d.path())
            .args(["--no-config", "--verify", "--format", "jsonl"])
            .args(["--api-url", &api.url(), "--verify-rps", "200"])
            .output()
            .unwrap();
        (String::from_utf8_lossy(&out.stdout).into_owned(), ())
    };
    assert!(jsonl.contains(r#""blast_radius":{"kind":"app""#), "{jsonl}");
    for out in [&all, &text, &sarif.to_string(), &jsonl] {
        for t in &toks {
            assert!(!out.contains(t.as_str()), "token in output:\n{out}");
        }
    }
    api.assert_tokens_only_in_authorization(&toks);
    // Four scans, each token once per scan.
    assert_eq!((api.count(tok), api.count(echoing)), (4, 4));
}
