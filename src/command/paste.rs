//! What a user pastes into `verify`: a token alone, or the line it came from — `.env`
//! (`KEY=token`, `export KEY="token"`), YAML (`key: token`, `- KEY=token`), JSON
//! (`"key": "token",`), PowerShell (`$env:KEY = "token"`), an HTTP header
//! (`Authorization: Bearer token`). The token is taken out of the line, or the line is
//! refused with a reason: a line that is not a token is never sent, so it can never come
//! back "revoked". Reasons describe the line, never repeat it.

use std::sync::OnceLock;

use regex::Regex;

/// The kinds of Applivery token a pasted value can be, told apart by shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 24 characters of `[A-Za-z0-9_-]` (18 random bytes, base64url).
    App,
    /// 32 to 512 characters of base64 / base64url / JWT characters.
    ServiceAccount,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Pasted<'a> {
    /// Blank, or a comment.
    Skip,
    /// The token, and its byte offset in the line.
    Token {
        at: usize,
        token: &'a str,
        kind: Kind,
    },
    /// Not sent, and why.
    Refused(String),
}

/// The token in one pasted line.
pub fn token(line: &str) -> Pasted<'_> {
    let line = line.trim_end_matches(['\r', '\n']);
    // A byte-order mark (Windows editors, PowerShell redirection) is not part of a token.
    let start = if line.starts_with('\u{feff}') { 3 } else { 0 };
    let (at, s) = trimmed(line, start, line.len());
    if s.is_empty() || s.starts_with('#') || s.starts_with("//") {
        return Pasted::Skip;
    }
    if let Some(kind) = kind_of(s) {
        return Pasted::Token { at, token: s, kind };
    }
    static KEY: OnceLock<Regex> = OnceLock::new();
    let key = KEY.get_or_init(|| {
        Regex::new(
            r#"^(?:-\s+)?(?:(?i:export|set)\s+)?(?:\$(?i:env):)?["']?[A-Za-z_][A-Za-z0-9_.\-]*["']?\s*[=:]\s*"#,
        )
        .expect("key pattern compiles")
    });
    let (mut at, mut v) = match key.find(s) {
        Some(m) => (at + m.end(), &s[m.end()..]),
        None => (at, s),
    };
    // The value: quoted, or up to a trailing comment; then without a `Bearer ` scheme.
    v = v.trim_end().trim_end_matches([',', ';']).trim_end();
    if let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
        match v[1..].find(q) {
            Some(end) => {
                at += 1;
                v = &v[1..1 + end];
            }
            None => return Pasted::Refused("an opening quote without its closing one".into()),
        }
    } else if let Some(i) = v.find(" #") {
        v = v[..i].trim_end();
    }
    if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
        let rest = v[7..].trim_start();
        at += v.len() - rest.len();
        v = rest;
    }
    let (off, t) = trimmed(v, 0, v.len());
    at += off;
    if let Some(kind) = kind_of(t) {
        return Pasted::Token { at, token: t, kind };
    }
    Pasted::Refused(why_not(t))
}

/// `s[from..to]` without surrounding whitespace, and where that starts.
fn trimmed(s: &str, from: usize, to: usize) -> (usize, &str) {
    let part = &s[from..to];
    let t = part.trim_start();
    (from + part.len() - t.len(), t.trim_end())
}

/// The kind of token `s` is shaped like, if any.
pub fn kind_of(s: &str) -> Option<Kind> {
    let app = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if s.len() == 24 && s.bytes().all(app) {
        return Some(Kind::App);
    }
    let body = s.trim_end_matches('=');
    let sa = |b: u8| app(b) || matches!(b, b'.' | b'~' | b'+' | b'/');
    let padding = s.len() - body.len();
    if (32..=512).contains(&s.len()) && padding <= 2 && body.bytes().all(sa) {
        return Some(Kind::ServiceAccount);
    }
    None
}

fn why_not(v: &str) -> String {
    let placeholder = ["${", "$(", "{{", "<", "%"]
        .iter()
        .any(|p| v.starts_with(p));
    if v.is_empty() {
        "no value after the key".into()
    } else if placeholder {
        "a placeholder, not a token".into()
    } else if v.chars().any(char::is_whitespace) {
        "not a token, nor a KEY=token, key: token or Bearer token line".into()
    } else {
        format!(
            "not an Applivery token: {} characters; an App API token is 24 characters of \
             A-Z a-z 0-9 _ -, a Service Account token 32 to 512 base64 or JWT characters",
            v.chars().count()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA";

    fn got(line: &str) -> Option<(usize, &str)> {
        match token(line) {
            Pasted::Token { at, token, .. } => {
                assert_eq!(&line[at..at + token.len()], token, "{line}");
                Some((at, token))
            }
            _ => None,
        }
    }

    #[test]
    fn tokens_come_out_of_the_lines_they_were_pasted_with() {
        for line in [
            T.to_string(),
            format!("  {T}  "),
            format!("\u{feff}{T}"),
            format!("APPLIVERY_APP_TOKEN={T}"),
            format!("APPLIVERY_APP_TOKEN = {T}\r\n"),
            format!("export APPLIVERY_APP_TOKEN=\"{T}\""),
            format!("export APPLIVERY_APP_TOKEN='{T}' # prod"),
            format!("APPLIVERY_APP_TOKEN={T} # prod"),
            format!("appToken: {T}"),
            format!("  app_token: \"{T}\""),
            format!("- APPLIVERY_TOKEN={T}"),
            format!("\"appToken\": \"{T}\","),
            format!("Authorization: Bearer {T}"),
            format!("Bearer {T}"),
            format!("bearer  {T}"),
            format!("$env:APPLIVERY_TOKEN = \"{T}\""),
            format!("set APPLIVERY_TOKEN={T}"),
            format!("\u{feff}APPLIVERY_APP_TOKEN={T}"),
        ] {
            assert_eq!(got(&line).map(|x| x.1), Some(T), "{line:?}");
        }
        assert_eq!(got(&format!("X={T}")), Some((2, T)));
    }

    #[test]
    fn service_account_shapes() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYUBvcmcifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        let b64 = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ==";
        for t in [jwt, b64, &"ab12".repeat(10)] {
            assert!(
                matches!(
                    token(t),
                    Pasted::Token {
                        kind: Kind::ServiceAccount,
                        ..
                    }
                ),
                "{t}"
            );
        }
        assert!(matches!(
            token(&format!("APPLIVERY_SA_TOKEN={b64}")),
            Pasted::Token { kind: Kind::ServiceAccount, token, .. } if token == b64
        ));
    }

    #[test]
    fn what_is_not_a_token_is_refused_without_being_repeated() {
        let unclosed = format!("APPLIVERY_APP_TOKEN=\"{T}");
        for line in [
            "APPLIVERY_APP_TOKEN=",
            "APPLIVERY_APP_TOKEN=${APPLIVERY_APP_TOKEN}",
            "token: <your token>",
            "please rotate the token we leaked",
            "hunter2",
            &unclosed,
            &T[..23],
        ] {
            match token(line) {
                Pasted::Refused(why) => {
                    assert!(!why.contains("hunter2") && !why.contains("Zk3q"), "{why}");
                    assert!(!why.contains('\n'));
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        for blank in ["", "   ", "# a comment", "\u{feff}", "// note"] {
            assert_eq!(token(blank), Pasted::Skip, "{blank:?}");
        }
    }
}
