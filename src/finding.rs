//! A finding is what users see: which rule matched, where, the secret (redacted unless asked
//! otherwise), its hash, a fingerprint that survives unrelated edits, and — depending on the
//! source and options — git provenance and the verification result.

use sha2::{Digest, Sha256};

use crate::provenance::Provenance;

/// Where in git a secret was found (history scans); filled only for blobs that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitInfo {
    /// The commit that first introduced the blob (oldest in topological order).
    pub commit: String,
    pub author_name: String,
    pub author_email: String,
    /// RFC 3339 author date of `commit`.
    pub date: String,
    /// First line of the commit message.
    pub summary: String,
    /// Every commit that carries this secret at this path, oldest first (may be capped;
    /// `commit_count` is exact).
    pub commits: Vec<String>,
    pub commit_count: usize,
    /// Still present at HEAD of the default branch.
    pub in_head: bool,
    /// The newest commit that carries it (in walk order), when known.
    pub last: Option<CommitRef>,
}

/// A commit, with who made it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRef {
    pub commit: String,
    pub author_name: String,
    pub author_email: String,
    /// RFC 3339 author date.
    pub date: String,
}

/// Result of asking the Applivery API about a secret: the verdict, and the evidence it rests
/// on, so a reader can judge it without running the check again. Nothing here holds the
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub status: VerifyStatus,
    pub reason: String,
    /// RFC 3339 time of the check.
    pub checked_at: String,
    /// What the API answered, when a request was sent (none for "no verifier", a token not
    /// sent, or a check the deadline cut off before it started).
    pub evidence: Option<Evidence>,
    /// What a live secret opens, as the same answer shows it.
    pub blast_radius: Option<BlastRadius>,
}

impl Verification {
    /// A verdict reached without asking the API.
    pub fn unsent(status: VerifyStatus, reason: impl Into<String>, checked_at: String) -> Self {
        Verification {
            status,
            reason: reason.into(),
            checked_at,
            evidence: None,
            blast_radius: None,
        }
    }
}

/// The request a verdict rests on and what came back: never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The URL asked (`https://api.applivery.io/v1/integrations/builds`).
    pub endpoint: String,
    /// The HTTP status of the last answer; none when no answer came (timeout, refused).
    pub http_status: Option<u16>,
    /// The Applivery error object of the answer, if it carried one.
    pub api_error: Option<ApiError>,
}

/// Applivery's documented error body: `{"status": false, "error": {"code": 4004,
/// "message": "Invalid Token"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: i64,
    pub message: String,
}

/// What an attacker holding a live secret can reach: metadata from the one answer the
/// check already received, never build content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlastRadius {
    /// An App API token opens one app: its builds can be listed and downloaded.
    App {
        application_id: Option<String>,
        application_name: Option<String>,
        /// Builds the token can download (the list's total, else the items listed).
        builds: u64,
    },
    /// A Service Account token opens whole workspaces.
    Workspaces {
        /// The workspaces listed (at most the first page, capped).
        workspaces: Vec<Workspace>,
        /// All the workspaces the token reaches (the list's total, else those listed).
        total: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VerifyStatus {
    Live,
    Revoked,
    Unknown,
}

impl VerifyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Live => "live",
            VerifyStatus::Revoked => "revoked",
            VerifyStatus::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// Where it was seen.
    pub provenance: Provenance,
    /// `provenance.path()`: the file path relative to the scan root with `/` separators
    /// (`app.apk!/classes.dex` inside an archive), or a bracketed label for what has no path
    /// (`<commit-message>`). Reports print it; fingerprints and suppressions key on it.
    pub path: String,
    /// 1-based; columns count Unicode code points; `end_column` is one past the secret's
    /// last character (as in SARIF).
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    /// The full secret. Reports print `redact(secret)` unless `--show-secrets`.
    pub secret: String,
    pub secret_sha256: String,
    pub fingerprint: String,
    /// The line that holds the secret (raw; reports redact it).
    pub context: String,
    /// `context` with every secret on it redacted, made where the secrets' positions are
    /// known: what reports print unless `--show-secrets`.
    pub context_redacted: String,
    /// Boxed: most findings of a large scan have neither, and a finding stays small.
    pub git: Option<Box<GitInfo>>,
    pub verification: Option<Box<Verification>>,
    /// The line carries an inline allow marker (`applivery-leaks:allow`, `gitleaks:allow`).
    pub inline_allowed: bool,
    /// How the text at the location was decoded into the secret, outermost first (`base64`,
    /// `url`, `escape`, `concatenation`, `continuation`); empty when written as is.
    pub decoded: Vec<String>,
    /// Private-tenant Applivery hosts (`*.<tenant>.applivery.io`) named in the same blob:
    /// the only hosts besides the configured API that verification may send this secret to.
    pub tenant_hosts: Vec<String>,
    /// What decided that the value is a credential (the key, the call, the host, the block,
    /// the path, the flow from a constant), strongest first.
    pub evidence: Vec<Reason>,
}

/// One piece of the evidence behind a finding: its kind (`key`, `call`, `host`, `block`,
/// `section`, `command`, `path`, `flow`, `nearby`, `decoded`), the text that is the evidence
/// (secrets redacted), and its line when it is in the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub kind: String,
    pub text: String,
    pub line: Option<u64>,
}

impl Finding {
    /// Builds a finding; computes the hash and the fingerprint.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rule: &str,
        provenance: impl Into<Provenance>,
        line: u64,
        column: u64,
        end_line: u64,
        end_column: u64,
        secret: String,
        context: String,
    ) -> Finding {
        let context_redacted = context.replace(&secret, &redact(&secret));
        Finding::located(
            rule,
            provenance.into(),
            [line, column, end_line, end_column],
            secret,
            context,
            context_redacted,
        )
    }

    /// [`Finding::new`] for a secret whose context was already redacted where it was found
    /// (with every other secret on its line): no second pass over the line.
    pub fn located(
        rule: &str,
        provenance: Provenance,
        [line, column, end_line, end_column]: [u64; 4],
        secret: String,
        context: String,
        context_redacted: String,
    ) -> Finding {
        let path = provenance.path();
        let secret_sha256 = sha256_hex(secret.as_bytes());
        let fingerprint = fingerprint(rule, &path, &secret_sha256);
        Finding {
            rule: rule.to_string(),
            provenance,
            path,
            line,
            column,
            end_line,
            end_column,
            secret,
            secret_sha256,
            fingerprint,
            context_redacted,
            context,
            git: None,
            verification: None,
            inline_allowed: false,
            decoded: Vec::new(),
            tenant_hosts: Vec::new(),
            evidence: Vec::new(),
        }
    }

    /// Files the finding under `repository` (a sweep of many). The fingerprint stays what a
    /// scan of that repository alone computes, so the repository's ignore file and a
    /// baseline from a single-repository scan keep working in a sweep; reports and `merge`
    /// tell the same file in two repositories apart by the repository itself.
    pub fn set_repository(&mut self, repository: &str) {
        self.provenance.repository = Some(repository.to_string());
    }

    /// The secret as reports show it.
    pub fn shown_secret(&self, show: bool) -> String {
        if show {
            self.secret.clone()
        } else {
            redact(&self.secret)
        }
    }

    /// The context line as reports show it: the secret replaced by its redacted form.
    pub fn shown_context(&self, show: bool) -> &str {
        if show {
            &self.context
        } else {
            &self.context_redacted
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex, two digits a byte. A table, not `format!` per byte: a file with a million
/// findings hashes two million times, and formatting cost more than hashing.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Rule + path + secret hash: stable when unrelated lines move, and the same in `dir`,
/// `staged` and `git` scans of the same file content. Two copies of one token in one file
/// share a fingerprint: they are one problem with one fix.
pub fn fingerprint(rule: &str, path: &str, secret_sha256: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        rule.as_bytes(),
        b"\0",
        path.as_bytes(),
        b"\0",
        secret_sha256.as_bytes(),
    ] {
        h.update(part);
    }
    hex(&h.finalize()[..16])
}

/// A line of text with every run of 16 or more token characters redacted: what a message may
/// show of a line that may hold a secret.
pub fn redact_line(line: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push_str(&redact(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in line.chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '+' | '/' | '=') {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// First four characters, then `…`: enough to tell tokens apart, useless to an attacker.
pub fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_all_but_four() {
        assert_eq!(redact("Zk3qP9xVb2LmN7wQe4RtY6uA"), "Zk3q…");
        assert_eq!(redact("ab"), "ab…");
    }

    #[test]
    fn hashes_are_the_published_ones() {
        // Baselines and ignore files written by earlier versions key on these exact strings.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let sha = sha256_hex(b"abcd");
        assert_eq!(
            sha,
            "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
        );
        assert_eq!(
            fingerprint("r", "p", &sha),
            "83868c7ee4a83fade7ed71ddb0338d39"
        );
    }

    #[test]
    fn fingerprint_ignores_line_but_not_token() {
        let a = Finding::new("r", "p", 1, 1, 1, 5, "abcd".into(), "x".into());
        let b = Finding::new("r", "p", 9, 3, 9, 7, "abcd".into(), "y".into());
        let c = Finding::new("r", "p", 1, 1, 1, 5, "abce".into(), "x".into());
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_eq!(a.fingerprint.len(), 32);
    }

    #[test]
    fn context_is_redacted() {
        let f = Finding::new(
            "r",
            "p",
            1,
            1,
            1,
            5,
            "SECRETVALUE".into(),
            "t=SECRETVALUE".into(),
        );
        assert_eq!(f.shown_context(false), "t=SECR…");
        assert_eq!(f.shown_context(true), "t=SECRETVALUE");
    }
}
