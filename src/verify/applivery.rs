//! What Applivery's answers mean. One read-only endpoint per kind of secret, and the verdict
//! read from the status AND the documented body together: a status alone cannot tell the
//! API from a proxy, a firewall or a captive portal standing in front of it, and a wrong
//! `revoked` makes a user ignore a working token. A live answer also says what the secret
//! opens (its blast radius), from the same single answer.

use serde_json::Value;

use super::schedule::{Outcome, Verdict};
use crate::finding::{ApiError, BlastRadius, VerifyStatus, Workspace};
use crate::net::{short, Answer};

/// Which check a rule's secrets get (`verifier = "…"` in a rule file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verifier {
    /// App API token: the Integrations API's builds list.
    App,
    /// Service Account token: the Workspace API's list of workspaces.
    ServiceAccount,
}

/// The verifier names a rule may give, besides `none`.
pub const VERIFIERS: &[&str] = &["applivery-app", "applivery-service-account", LEGACY];

/// The verifier name of legacy account API keys (before ~2019): nothing is sent for them.
pub const LEGACY: &str = "applivery-legacy";

/// Why a legacy key is never called revoked or live by a check.
pub const LEGACY_REASON: &str = "legacy account API key (40 hex, before 2019): the current \
     Applivery API is not its verifier, so it is not sent; revoke it in the dashboard \
     (account settings) to be sure";

/// Applivery's error code for a token it does not accept ("Invalid Token").
const INVALID_TOKEN: i64 = 4004;
/// Applivery's error code for a request without a token: we always send one, so something
/// between us and the API dropped the header.
const NO_TOKEN: i64 = 4002;
/// Workspaces listed in a blast radius; `total` still counts all of them.
const MAX_WORKSPACES: usize = 50;
/// Longest name or id kept from an answer.
const MAX_FIELD: usize = 128;

impl Verifier {
    pub fn from_name(name: &str) -> Option<Verifier> {
        match name {
            "applivery-app" => Some(Verifier::App),
            "applivery-service-account" => Some(Verifier::ServiceAccount),
            _ => None,
        }
    }

    /// The read-only endpoint, relative to the API base.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Verifier::App => "v1/integrations/builds",
            Verifier::ServiceAccount => "v1/organizations",
        }
    }

    /// What the endpoint does, for reasons.
    fn action(self) -> &'static str {
        match self {
            Verifier::App => "listing builds",
            Verifier::ServiceAccount => "listing workspaces",
        }
    }
}

/// The verdict on one answer.
pub(crate) fn judge(v: Verifier, answer: &Answer) -> Outcome {
    let code = answer.status;
    let body = answer.body.as_deref();
    let envelope = body.ok().and_then(envelope);
    let api_error = envelope.as_ref().and_then(api_error);
    let verdict = |status, reason: String| {
        Outcome::Done(Verdict {
            status,
            reason,
            http_status: Some(code),
            api_error: api_error.clone(),
            blast_radius: None,
        })
    };
    let unknown = |reason| verdict(VerifyStatus::Unknown, reason);
    let error_text = api_error
        .as_ref()
        .map(|e| format!(", Applivery error {} ({})", e.code, e.message))
        .unwrap_or_default();
    match code {
        200..=299 => {
            let Some(env) = envelope else {
                return unknown(match body {
                    Err(why) => format!("HTTP {code} but the body could not be read: {why}"),
                    Ok(_) => format!(
                        "HTTP {code} but not the Applivery API's JSON (captive portal or proxy?)"
                    ),
                });
            };
            let accepted = env.get("status") == Some(&Value::Bool(true));
            let error = env.get("error").is_some_and(|e| !e.is_null());
            if accepted && !error {
                let Outcome::Done(mut done) = verdict(
                    VerifyStatus::Live,
                    format!("HTTP {code}, the API accepted the token"),
                ) else {
                    unreachable!()
                };
                done.blast_radius = Some(blast_radius(v, env.get("data")));
                return Outcome::Done(done);
            }
            let said = match env.get("status") {
                Some(s) => short(&s.to_string()),
                None => "nothing".into(),
            };
            unknown(format!(
                "HTTP {code} but the API answered status {said}{}{error_text}",
                if accepted { " with an error" } else { "" }
            ))
        }
        401 | 403 => match &api_error {
            None => unknown(format!(
                "HTTP {code} without an Applivery error body: something other than the API \
                 answered (proxy, firewall, captive portal?)"
            )),
            Some(e) if e.code == INVALID_TOKEN => verdict(
                VerifyStatus::Revoked,
                format!("HTTP {code}{error_text}: the API does not accept the token"),
            ),
            Some(e) if e.code == NO_TOKEN => unknown(format!(
                "HTTP {code}{error_text}: the token did not reach the API (a proxy dropping \
                 the Authorization header?)"
            )),
            Some(_) if code == 403 => verdict(
                VerifyStatus::Live,
                format!(
                    "HTTP 403{error_text}: the token authenticated, but its scope does not \
                     include {}",
                    v.action()
                ),
            ),
            Some(_) => unknown(format!(
                "HTTP 401{error_text}: not the documented invalid-token answer"
            )),
        },
        429 => Outcome::Retry {
            reason: format!("HTTP {code} (rate limited)"),
            after: answer.retry_after,
            throttle: true,
            http_status: code,
        },
        500..=599 => Outcome::Retry {
            reason: format!("HTTP {code}"),
            after: answer.retry_after,
            throttle: false,
            http_status: code,
        },
        300..=399 => unknown(format!(
            "HTTP {code} redirect not followed (another host, or too many)"
        )),
        _ => unknown(format!("HTTP {code}{error_text}")),
    }
}

/// The body as a JSON object, or `None` if it is anything else (an HTML page, an array).
fn envelope(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// Applivery's error object: `"error": {"code": <integer>, "message": <string>}`.
fn api_error(env: &serde_json::Map<String, Value>) -> Option<ApiError> {
    let e = env.get("error")?.as_object()?;
    let code = e.get("code")?.as_i64()?;
    let message = e.get("message").and_then(Value::as_str).unwrap_or("");
    Some(ApiError {
        code,
        message: field(message),
    })
}

/// What a live secret opens, from the `data` of the answer that proved it live.
fn blast_radius(v: Verifier, data: Option<&Value>) -> BlastRadius {
    let items: &[Value] = data
        .and_then(|d| d.get("items"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let total = data
        .and_then(|d| d.get("totalDocs"))
        .and_then(Value::as_u64)
        .unwrap_or(items.len() as u64);
    match v {
        Verifier::App => {
            // Every build of the list belongs to the token's one app; the newest (first)
            // names it.
            let build = items.first();
            let app = build.and_then(|b| b.get("application"));
            let application_id = app
                .and_then(|a| a.as_str().or_else(|| text(a, &["id", "_id"])))
                .map(field);
            let plist = build.and_then(|b| b.pointer("/info/ios/plist"));
            let application_name = app
                .and_then(|a| text(a, &["name"]))
                .or_else(|| plist.and_then(|p| text(p, &["CFBundleDisplayName", "CFBundleName"])))
                .or_else(|| build.and_then(|b| b.pointer("/info/android/packageName")?.as_str()))
                .map(field);
            BlastRadius::App {
                application_id,
                application_name,
                builds: total,
            }
        }
        Verifier::ServiceAccount => BlastRadius::Workspaces {
            workspaces: items
                .iter()
                .take(MAX_WORKSPACES)
                .map(|w| Workspace {
                    id: field(text(w, &["id", "_id"]).unwrap_or("")),
                    name: field(text(w, &["name"]).unwrap_or("")),
                    slug: field(text(w, &["slug"]).unwrap_or("")),
                })
                .collect(),
            total,
        },
    }
}

/// The first of `keys` that holds a non-empty string.
fn text<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| v.get(*k)?.as_str().filter(|s| !s.trim().is_empty()))
}

/// A value from an answer, as kept in a report: one line, bounded.
fn field(s: &str) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > MAX_FIELD {
        let mut t: String = one.chars().take(MAX_FIELD).collect();
        t.push('…');
        t
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            headers: Vec::new(),
            body: Ok(body.as_bytes().to_vec()),
        }
    }

    fn verdict(v: Verifier, status: u16, body: &str) -> Verdict {
        match judge(v, &answer(status, body)) {
            Outcome::Done(d) => d,
            other => panic!("{other:?}"),
        }
    }

    const INVALID: &str = r#"{"status":false,"error":{"code":4004,"message":"Invalid Token"}}"#;

    #[test]
    fn the_documented_answers() {
        use VerifyStatus::*;
        let app = Verifier::App;
        let cases = [
            (200, r#"{"status":true,"data":{"items":[]}}"#, Live),
            (200, r#"{"status":false,"data":{"items":[]}}"#, Unknown),
            (
                200,
                r#"{"status":true,"error":{"code":1,"message":"x"}}"#,
                Unknown,
            ),
            (200, r#"{"ok":true}"#, Unknown),
            (200, r#"[{"status":true}]"#, Unknown),
            (200, r#"{"status":true"#, Unknown),
            (200, "<html>Welcome to the hotel wifi</html>", Unknown),
            (401, INVALID, Revoked),
            (403, INVALID, Revoked),
            (
                401,
                r#"{"status":false,"error":{"code":4002,"message":"No auth token"}}"#,
                Unknown,
            ),
            (
                401,
                r#"{"status":false,"error":{"code":9999,"message":"?"}}"#,
                Unknown,
            ),
            (
                403,
                r#"{"status":false,"error":{"code":4003,"message":"Forbidden"}}"#,
                Live,
            ),
            (401, "<html>401 Authorization Required</html>", Unknown),
            (403, "", Unknown),
            (403, r#"{"message":"Forbidden"}"#, Unknown),
            (404, "{}", Unknown),
        ];
        for (code, body, want) in cases {
            assert_eq!(verdict(app, code, body).status, want, "{code} {body}");
        }
        let v = verdict(
            app,
            403,
            r#"{"status":false,"error":{"code":4003,"message":"Forbidden"}}"#,
        );
        assert!(
            v.reason.contains("scope does not include listing builds"),
            "{}",
            v.reason
        );
        assert_eq!(
            v.api_error,
            Some(ApiError {
                code: 4003,
                message: "Forbidden".into()
            })
        );
        assert_eq!(v.http_status, Some(403));
        let v = verdict(app, 401, INVALID);
        assert_eq!(
            v.reason,
            "HTTP 401, Applivery error 4004 (Invalid Token): the API does not accept the token"
        );
    }

    #[test]
    fn retries_and_redirects() {
        let a = answer(429, "");
        assert!(matches!(
            judge(Verifier::App, &a),
            Outcome::Retry { throttle: true, .. }
        ));
        assert!(matches!(
            judge(Verifier::App, &answer(503, "down")),
            Outcome::Retry {
                throttle: false,
                http_status: 503,
                ..
            }
        ));
        let v = verdict(Verifier::App, 302, "");
        assert!(v.reason.contains("redirect not followed"));
    }

    #[test]
    fn blast_radius_of_an_app_token() {
        let body = r#"{"status":true,"data":{"totalDocs":42,"items":[
            {"id":"b1","application":"5f0c0ffee0c0ffee0c0ffee0",
             "info":{"ios":{"plist":{"CFBundleDisplayName":"Field Sales"}}}},
            {"id":"b2","application":"5f0c0ffee0c0ffee0c0ffee0"}]}}"#;
        let v = verdict(Verifier::App, 200, body);
        assert_eq!(
            v.blast_radius,
            Some(BlastRadius::App {
                application_id: Some("5f0c0ffee0c0ffee0c0ffee0".into()),
                application_name: Some("Field Sales".into()),
                builds: 42,
            })
        );
        // No total, an object for the application: count what is listed.
        let body = r#"{"status":true,"data":{"items":[{"application":{"id":"a1","name":"N"}}]}}"#;
        assert_eq!(
            verdict(Verifier::App, 200, body).blast_radius,
            Some(BlastRadius::App {
                application_id: Some("a1".into()),
                application_name: Some("N".into()),
                builds: 1,
            })
        );
        // An odd data shape does not turn a live token into anything else.
        let v = verdict(Verifier::App, 200, r#"{"status":true,"data":"?"}"#);
        assert_eq!(v.status, VerifyStatus::Live);
        assert_eq!(
            v.blast_radius,
            Some(BlastRadius::App {
                application_id: None,
                application_name: None,
                builds: 0
            })
        );
    }

    #[test]
    fn blast_radius_of_a_service_account() {
        let items: Vec<String> = (0..60)
            .map(|i| format!(r#"{{"id":"o{i}","name":"Org {i}","slug":"org-{i}"}}"#))
            .collect();
        let body = format!(
            r#"{{"status":true,"data":{{"items":[{}],"totalDocs":61}}}}"#,
            items.join(",")
        );
        let v = verdict(Verifier::ServiceAccount, 200, &body);
        let Some(BlastRadius::Workspaces { workspaces, total }) = v.blast_radius else {
            panic!("{v:?}")
        };
        assert_eq!(total, 61);
        assert_eq!(workspaces.len(), MAX_WORKSPACES);
        assert_eq!(
            workspaces[1],
            Workspace {
                id: "o1".into(),
                name: "Org 1".into(),
                slug: "org-1".into()
            }
        );
        let v = verdict(
            Verifier::ServiceAccount,
            403,
            r#"{"status":false,"error":{"code":4003,"message":"Forbidden"}}"#,
        );
        assert_eq!(v.status, VerifyStatus::Live);
        assert!(v.reason.contains("listing workspaces"), "{}", v.reason);
    }

    #[test]
    fn answer_fields_are_bounded() {
        let long = "n".repeat(10_000);
        let body = format!(
            r#"{{"status":false,"error":{{"code":4004,"message":"{long}\nsecond line"}}}}"#
        );
        let v = verdict(Verifier::App, 401, &body);
        let m = &v.api_error.unwrap().message;
        assert!(
            m.chars().count() <= MAX_FIELD + 1 && !m.contains('\n'),
            "{m}"
        );
    }
}
