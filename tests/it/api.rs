//! A stand-in for the Applivery API on 127.0.0.1, run by the tests: a real HTTP/1.1 server
//! that answers like Applivery documents it — the builds list for App API tokens, the
//! workspace list for Service Account tokens, `{"status": false, "error": {"code": 4004,
//! "message": "Invalid Token"}}` for a token it does not know, 4002 when no token came — and
//! like the things that stand in front of it (proxies, WAFs, captive portals) and the ways it
//! fails. It keeps every request as received, so tests can assert on exactly what was sent.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the fake API treats a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Valid everywhere: 200 with the list.
    Live,
    /// Valid only on requests for this host (a private tenant's token); elsewhere 4004.
    LiveAt(&'static str),
    /// Valid, but its scope does not include the endpoint: 403 with an Applivery error.
    Scoped,
    /// 401 with the documented invalid-token error (also what unknown tokens get).
    Invalid,
    /// 401 from something in front of the API: an HTML page, no Applivery error.
    ProxyUnauthorized,
    /// 403 from a web application firewall: plain text, no Applivery error.
    WafForbidden,
    /// 200 whose body says `"status": false`.
    StatusFalse,
    /// 200 with an HTML page (captive portal).
    Html,
    /// Live, and the answer echoes the token inside the application name.
    LiveEchoing,
    /// 429 with `Retry-After: 1`, then 200.
    RateLimited,
    /// 500, then 200.
    Flaky,
    /// 503 forever.
    Down,
    /// Never answers.
    Hang,
    /// 302 to another host.
    Redirect,
}

pub const APP_ID: &str = "5f0c0ffee0c0ffee0c0ffee0";
pub const APP_NAME: &str = "Field Sales";
pub const BUILDS: u64 = 42;
pub const WORKSPACES: [(&str, &str, &str); 2] = [
    ("650000000000000000000001", "Acme", "acme"),
    ("650000000000000000000002", "Acme QA", "acme-qa"),
];
pub const BUILDS_PATH: &str = "/v1/integrations/builds";
pub const WORKSPACES_PATH: &str = "/v1/organizations";

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The `Host` header, without the port.
    pub host: String,
    pub auth: Option<String>,
    pub user_agent: Option<String>,
    /// The request line and every header line, exactly as received.
    pub raw: String,
}

/// The server: one thread per connection, `Connection: close` on every answer.
pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    pub connections: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(roles: HashMap<String, Role>) -> Server {
        Server::with_redirect(roles, None)
    }

    /// `Role::Redirect` sends clients to `redirect_to`.
    pub fn with_redirect(roles: HashMap<String, Role>, redirect_to: Option<SocketAddr>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            roles,
            seen: Mutex::default(),
            requests: requests.clone(),
            in_flight: in_flight.clone(),
            redirect_to,
        });
        {
            let (connections, max_in_flight) = (connections.clone(), max_in_flight.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max_in_flight.fetch_max(now, Ordering::SeqCst);
                    let shared = shared.clone();
                    thread::spawn(move || shared.handle(conn));
                }
            });
        }
        Server {
            addr,
            requests,
            connections,
            max_in_flight,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests that carried `token`.
    pub fn count(&self, token: &str) -> usize {
        let want = format!("Bearer {token}");
        self.requests()
            .iter()
            .filter(|r| r.auth.as_deref() == Some(want.as_str()))
            .count()
    }

    /// Every request carried its token in the `Authorization` header and nowhere else: not in
    /// the path, not in another header.
    pub fn assert_tokens_only_in_authorization(&self, tokens: &[String]) {
        for r in self.requests() {
            for line in r.raw.lines() {
                let is_auth = line.to_ascii_lowercase().starts_with("authorization:");
                for t in tokens {
                    if line.contains(t.as_str()) {
                        assert!(is_auth, "token outside the Authorization header: {line}");
                        assert_eq!(line, format!("authorization: Bearer {t}"), "{line}");
                    }
                }
            }
        }
    }
}

struct Shared {
    roles: HashMap<String, Role>,
    /// Requests per token so far, for roles that change their answer.
    seen: Mutex<HashMap<String, usize>>,
    requests: Arc<Mutex<Vec<Request>>>,
    in_flight: Arc<AtomicUsize>,
    redirect_to: Option<SocketAddr>,
}

const INVALID: &str = r#"{"status":false,"error":{"code":4004,"message":"Invalid Token"}}"#;
const NO_TOKEN: &str = r#"{"status":false,"error":{"code":4002,"message":"No auth token"}}"#;
const SCOPE: &str = r#"{"status":false,"error":{"code":4003,"message":"Insufficient scope"}}"#;

fn builds(name: &str) -> String {
    format!(
        r#"{{"status":true,"data":{{"items":[
            {{"id":"b1","application":"{APP_ID}","versionName":"2.3.1","os":"ios",
              "info":{{"ios":{{"plist":{{"CFBundleDisplayName":"{name}"}}}}}}}},
            {{"id":"b2","application":"{APP_ID}","versionName":"2.3.0","os":"android",
              "info":{{"android":{{"packageName":"com.acme.sales"}}}}}}],
            "totalDocs":{BUILDS},"limit":2,"page":1}}}}"#
    )
}

fn workspaces() -> String {
    let items: Vec<String> = WORKSPACES
        .iter()
        .map(|(id, name, slug)| format!(r#"{{"id":"{id}","name":"{name}","slug":"{slug}"}}"#))
        .collect();
    format!(
        r#"{{"status":true,"data":{{"items":[{}],"totalDocs":{}}}}}"#,
        items.join(","),
        WORKSPACES.len()
    )
}

impl Shared {
    fn handle(&self, conn: TcpStream) {
        conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut reader = BufReader::new(&conn);
        let mut raw = String::new();
        let mut first = String::new();
        if reader.read_line(&mut first).unwrap_or(0) == 0 {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        raw.push_str(&first);
        let method = first.split_whitespace().next().unwrap_or("").to_string();
        let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
        let (mut auth, mut user_agent, mut host) = (None, None, String::new());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            raw.push_str(&line);
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.trim().to_string();
            match name.to_ascii_lowercase().as_str() {
                "authorization" => auth = Some(value),
                "user-agent" => user_agent = Some(value),
                "host" => host = value.split(':').next().unwrap_or("").to_string(),
                _ => {}
            }
        }
        self.requests.lock().unwrap().push(Request {
            method,
            path: path.clone(),
            host: host.clone(),
            auth: auth.clone(),
            user_agent,
            raw,
        });
        let reply = self.reply(&path, &host, auth.as_deref());
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut conn = &conn;
        match reply {
            None => thread::sleep(Duration::from_secs(3)),
            Some((code, headers, body)) => {
                let mut head = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                if !headers.iter().any(|h| h.starts_with("Content-Type")) {
                    head.push_str("Content-Type: application/json\r\n");
                }
                for h in headers {
                    head.push_str(&h);
                    head.push_str("\r\n");
                }
                head.push_str("\r\n");
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(body.as_bytes());
                let _ = conn.flush();
            }
        }
    }

    /// Status, extra headers and body; `None` to never answer.
    fn reply(
        &self,
        path: &str,
        host: &str,
        auth: Option<&str>,
    ) -> Option<(u16, Vec<String>, String)> {
        let json = |code: u16, body: &str| Some((code, vec![], body.to_string()));
        let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) else {
            return json(401, NO_TOKEN);
        };
        let live = |name: &str| match path {
            BUILDS_PATH => json(200, &builds(name)),
            WORKSPACES_PATH => json(200, &workspaces()),
            _ => json(
                404,
                r#"{"status":false,"error":{"code":3001,"message":"Not found"}}"#,
            ),
        };
        let nth = {
            let mut s = self.seen.lock().unwrap();
            let n = s.entry(token.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        match self.roles.get(token).copied().unwrap_or(Role::Invalid) {
            Role::Live => live(APP_NAME),
            Role::LiveAt(h) if h == host => live(APP_NAME),
            Role::LiveAt(_) | Role::Invalid => json(401, INVALID),
            Role::LiveEchoing => live(&format!("Leaky {token}")),
            Role::Scoped => json(403, SCOPE),
            Role::ProxyUnauthorized => Some((
                401,
                vec!["Content-Type: text/html".into()],
                "<html><body><h1>401 Authorization Required</h1>nginx</body></html>".into(),
            )),
            Role::WafForbidden => Some((
                403,
                vec!["Content-Type: text/plain".into()],
                "Request blocked by the web application firewall".into(),
            )),
            Role::StatusFalse => json(200, r#"{"status":false,"data":{"items":[]}}"#),
            Role::Html => Some((
                200,
                vec!["Content-Type: text/html".into()],
                "<html><body>Welcome! Accept the terms to get online.</body></html>".into(),
            )),
            Role::RateLimited if nth == 1 => Some((
                429,
                vec!["Retry-After: 1".into()],
                r#"{"status":false}"#.into(),
            )),
            Role::Flaky if nth == 1 => Some((500, vec![], "oops".into())),
            Role::RateLimited | Role::Flaky => live(APP_NAME),
            Role::Down => Some((503, vec![], "down".into())),
            Role::Hang => None,
            Role::Redirect => Some((
                302,
                vec![format!(
                    "Location: http://localhost:{}{BUILDS_PATH}",
                    self.redirect_to.map_or(9, |a| a.port())
                )],
                String::new(),
            )),
        }
    }
}

/// Fake tokens from a fixed-seed PRNG: 24 base64url characters drawn uniformly.
pub fn tokens(n: usize, seed: u64) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // Spread the seed so neighbouring seeds give unrelated tokens (xorshift needs it odd).
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            (0..24)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ALPHABET[(state % 64) as usize] as char
                })
                .collect()
        })
        .collect()
}

/// A fake Service Account token: 40 base64url characters drawn uniformly.
pub fn service_account_token(seed: u64) -> String {
    tokens(2, seed).concat()[..40].to_string()
}
