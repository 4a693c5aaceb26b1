//! A haystack is one blob being scanned: a file, a git blob, standard input. This module feeds
//! it to the detector — whole when it is small, in overlapping chunks when it is large, so a
//! 2 GiB file needs no more memory than one chunk — and turns byte offsets into lines and
//! columns (`locate.rs`). Binary blobs (a NUL byte in the first 8 KiB) are recognised and not scanned.

use std::io::{self, Read};

use rayon::prelude::*;

use crate::detect::Detector;
use crate::utf16::{self, Utf16};

mod locate;
use locate::{chars, locate};

/// How much of a blob is read at once.
pub const CHUNK: usize = 8 << 20;
/// How long one blob streamed in chunks may take before it is reported as not fully scanned
/// (`--blob-timeout`), in milliseconds; 0 for no limit. Detection is linear in the input
/// whatever it holds, so this is a last line of defence: a blob that exceeds it is an error
/// (exit 2), never a clean result.
static BLOB_BUDGET_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(300_000);

/// Sets the budget of one streamed blob (`--blob-timeout`); zero removes it.
pub fn set_blob_budget(budget: std::time::Duration) {
    BLOB_BUDGET_MS.store(
        budget.as_millis().min(u128::from(u64::MAX)) as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// Chunks of one large blob located at once (`dir -j`); one until a command says more.
static PARALLEL_CHUNKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

/// Lets a large blob's chunks be located `threads` at a time (at most
/// [`MAX_PARALLEL_CHUNKS`]), on rayon's threads: `dir` passes its `--threads`.
pub fn set_parallel_chunks(threads: usize) {
    PARALLEL_CHUNKS.store(
        threads.clamp(1, MAX_PARALLEL_CHUNKS),
        std::sync::atomic::Ordering::Relaxed,
    );
}

fn blob_budget() -> Option<std::time::Duration> {
    match BLOB_BUDGET_MS.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        ms => Some(std::time::Duration::from_millis(ms)),
    }
}

/// A NUL byte within this prefix marks a binary blob.
pub const BINARY_PROBE: usize = 8 << 10;
/// Context lines longer than this are cut around the secret.
const CONTEXT_MAX: usize = 160;

/// A secret found in a haystack, located for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: usize,
    pub secret: String,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub context: String,
    /// `context` with every candidate secret on the line redacted — this one and any other,
    /// as matched (a base64-encoded token is redacted as written, not as decoded).
    pub context_redacted: String,
    /// The secret's line carries an inline allow marker.
    pub inline_allowed: bool,
    /// How the text was decoded into the secret (`base64`, `url`, …), outermost first.
    pub decoded: Vec<&'static str>,
    /// Private-tenant Applivery hosts named anywhere in the blob (see [`tenant_hosts`]).
    pub tenant_hosts: Vec<String>,
    /// The archive members from the blob to the text the hit is in (`extract`); empty when
    /// it is in the blob itself.
    pub members: Vec<String>,
    /// What decided that the value is a credential.
    pub evidence: Vec<crate::finding::Reason>,
}

/// Markers that, anywhere on a secret's line, mark it as deliberately allowed.
pub const INLINE_MARKERS: &[&[u8]] = &[b"applivery-leaks:allow", b"gitleaks:allow"];

#[derive(Debug, PartialEq, Eq)]
pub enum Scanned {
    Text { bytes: u64, hits: Vec<Hit> },
    Binary { bytes: u64 },
}

/// What the first bytes of a blob say it holds.
enum Kind {
    Text,
    Utf16(Utf16),
    Binary,
}

fn kind(data: &[u8]) -> Kind {
    let probe = &data[..data.len().min(BINARY_PROBE)];
    if let Some(enc) = utf16::sniff(probe) {
        Kind::Utf16(enc)
    } else if memchr::memchr(0, probe).is_some() {
        Kind::Binary
    } else {
        Kind::Text
    }
}

/// True for a blob the detector does not read: a NUL byte in the first 8 KiB, and not UTF-16
/// text (which is decoded and scanned).
pub fn is_binary(data: &[u8]) -> bool {
    matches!(kind(data), Kind::Binary)
}

/// Scans a blob held in memory; `path` (relative to the scan root, empty if unknown) is
/// evidence too: `ci/applivery.sh` is about Applivery whatever it says.
pub fn scan_slice(det: &Detector, data: &[u8], path: &[u8]) -> Scanned {
    match kind(data) {
        Kind::Binary => Scanned::Binary {
            bytes: data.len() as u64,
        },
        Kind::Utf16(enc) => match scan_text(det, &utf16::decode(data, enc), path) {
            Scanned::Text { hits, .. } => Scanned::Text {
                bytes: data.len() as u64,
                hits,
            },
            // A NUL character in the decoded text.
            Scanned::Binary { .. } => Scanned::Binary {
                bytes: data.len() as u64,
            },
        },
        Kind::Text => scan_text(det, data, path),
    }
}

/// Scans text (UTF-8 or anything ASCII-compatible) held in memory.
fn scan_text(det: &Detector, data: &[u8], path: &[u8]) -> Scanned {
    if is_binary(data) {
        return Scanned::Binary {
            bytes: data.len() as u64,
        };
    }
    let mut hits = Vec::new();
    if det.prefilter(data, path) {
        locate(det, data, path, (1, 0), 0, data.len(), &mut hits);
    }
    if !hits.is_empty() {
        let mut hosts = Vec::new();
        tenant_hosts(data, &mut hosts);
        give_hosts(&mut hits, hosts);
    }
    Scanned::Text {
        bytes: data.len() as u64,
        hits,
    }
}

/// Scans a stream in chunks of `CHUNK` bytes that overlap by twice the detector's margin,
/// so a secret (with its context) that straddles a boundary is seen whole exactly once.
/// `buf` is reused between calls to avoid an allocation per file.
pub fn scan_reader<R: Read>(
    det: &Detector,
    mut r: R,
    path: &[u8],
    buf: &mut Vec<u8>,
) -> io::Result<Scanned> {
    scan_reader_chunked(det, &mut r, path, buf, CHUNK)
}

pub fn scan_reader_chunked<R: Read + ?Sized>(
    det: &Detector,
    r: &mut R,
    path: &[u8],
    buf: &mut Vec<u8>,
    chunk: usize,
) -> io::Result<Scanned> {
    let mut all = Vec::new();
    let s = stream_chunked(det, r, path, buf, chunk, &mut |hits| all.append(hits))?;
    Ok(if s.binary {
        Scanned::Binary { bytes: s.bytes }
    } else {
        give_hosts(&mut all, s.hosts);
        Scanned::Text {
            bytes: s.bytes,
            hits: all,
        }
    })
}

/// What [`scan_reader_each`] read: how much, whether it was binary, and the blob's
/// private-tenant hosts (which belong to every hit it handed over).
#[derive(Debug, Default)]
pub struct Streamed {
    pub bytes: u64,
    pub binary: bool,
    pub hosts: Vec<String>,
}

/// [`scan_reader`], handing each chunk's hits to `each` (which takes them out of the vector)
/// as soon as they are located: a file with a million findings never holds a million hits.
/// Their `tenant_hosts` are empty; the blob's are in the result.
pub fn scan_reader_each<R: Read>(
    det: &Detector,
    mut r: R,
    path: &[u8],
    buf: &mut Vec<u8>,
    each: &mut dyn FnMut(&mut Vec<Hit>),
) -> io::Result<Streamed> {
    stream_chunked(det, &mut r, path, buf, CHUNK, each)
}

fn stream_chunked<R: Read + ?Sized>(
    det: &Detector,
    r: &mut R,
    path: &[u8],
    buf: &mut Vec<u8>,
    chunk: usize,
    each: &mut dyn FnMut(&mut Vec<Hit>),
) -> io::Result<Streamed> {
    let margin = det.margin();
    // Chunks read but not yet located, with their data: a large blob's chunks are located
    // on every thread, a few at a time (at most `parallel` chunks held at once), and smaller,
    // so the hits of the chunks in flight (a kilobyte each until packed) take no more memory
    // than one chunk's did.
    let parallel = PARALLEL_CHUNKS.load(std::sync::atomic::Ordering::Relaxed);
    let mut pending: Vec<(Window, Vec<u8>)> = Vec::new();
    let chunk = if parallel > 1 { chunk / 4 } else { chunk };
    let chunk = chunk.max(4 * margin);
    // `buf[..filled]` holds data; the rest of `buf` is initialised scratch space kept from
    // earlier blobs, so reading never zeroes memory again (zeroing 8 MiB for every stdin scan
    // or large file cost more than the scan of a small input).
    let mut filled = 0;
    let mut total: u64 = 0;
    let mut base_line: u64 = 1;
    // Characters of the buffer's first line that were in earlier chunks (a line longer than
    // a chunk), so columns count from the real start of the line.
    let mut base_column: u64 = 0;
    let mut report_from = 0;
    let mut had_hits = false;
    let mut hosts = Vec::new();
    let mut first = true;
    let started = std::time::Instant::now();
    let budget = blob_budget();
    loop {
        if let Some(b) = budget.filter(|b| started.elapsed() > *b) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "not fully scanned: over the {}s budget for one blob (--blob-timeout) after {total} bytes",
                    b.as_secs_f64()
                ),
            ));
        }
        let want = chunk + 2 * margin;
        let eof = fill(r, buf, &mut filled, want, &mut total)?;
        let data = &buf[..filled];
        if first {
            first = false;
            match kind(data) {
                Kind::Text => {}
                // Stop here: reading the rest of a 500 MB archive only to count it is waste.
                // `bytes` is what was read; a caller that knows the size reports that.
                Kind::Binary => {
                    return Ok(Streamed {
                        bytes: total,
                        binary: true,
                        hosts: Vec::new(),
                    })
                }
                Kind::Utf16(enc) => {
                    // Start again on the decoded stream: what was read, then the rest.
                    let head = io::Cursor::new(data.to_vec());
                    let mut decoded = utf16::Decoder::new(head.chain(r), enc);
                    let scanned = stream_chunked(
                        det,
                        &mut decoded as &mut dyn Read,
                        path,
                        &mut Vec::new(),
                        chunk,
                        each,
                    )?;
                    return Ok(Streamed {
                        bytes: decoded.raw_bytes,
                        ..scanned
                    });
                }
            }
        }
        let report_to = if eof { filled } else { filled - margin };
        let window = Window {
            at: (base_line, base_column),
            from: report_from,
            to: report_to,
        };
        if parallel <= 1 || (eof && pending.is_empty()) {
            // A blob of one chunk, the common case, or one thread: located in place.
            let located = window.located(det, data, path);
            had_hits |= hand_over(located, data, &mut hosts, each);
        } else {
            pending.push((window, data.to_vec()));
            if eof || pending.len() >= parallel {
                // The chunks' detection on every thread; their hits handed over in order.
                let located: Vec<Option<Vec<Hit>>> = pending
                    .par_iter()
                    .map(|(w, d)| w.located(det, d, path))
                    .collect();
                for ((_, d), located) in pending.drain(..).zip(located) {
                    had_hits |= hand_over(located, &d, &mut hosts, each);
                }
            }
        }
        if eof {
            break;
        }
        let keep_from = filled - 2 * margin;
        base_line += memchr::memchr_iter(b'\n', &data[..keep_from]).count() as u64;
        base_column = match memchr::memrchr(b'\n', &data[..keep_from]) {
            Some(p) => chars(&data[p + 1..keep_from]),
            None => base_column + chars(&data[..keep_from]),
        };
        buf.copy_within(keep_from..filled, 0);
        filled -= keep_from;
        report_from = report_to - keep_from;
    }
    if !had_hits {
        hosts.clear();
    }
    Ok(Streamed {
        bytes: total,
        binary: false,
        hosts,
    })
}

/// Chunks of one blob located at once: each holds a copy of its data (8 MiB and margins).
const MAX_PARALLEL_CHUNKS: usize = 8;

/// Where a chunk is in its blob: the line and column its data starts at, and the offsets
/// of the data whose candidates it reports (the rest is margin, another chunk's).
struct Window {
    at: (u64, u64),
    from: usize,
    to: usize,
}

impl Window {
    /// The chunk's hits; `None` if the prefilter rules out any secret in it.
    fn located(&self, det: &Detector, data: &[u8], path: &[u8]) -> Option<Vec<Hit>> {
        if !det.prefilter(data, path) {
            return None;
        }
        let mut hits = Vec::new();
        locate(det, data, path, self.at, self.from, self.to, &mut hits);
        Some(hits)
    }
}

/// Hands a chunk's hits over. Every chunk that could hold a secret could name a host; which
/// of them matter is known only at the end, when it is known whether the blob had hits.
fn hand_over(
    located: Option<Vec<Hit>>,
    data: &[u8],
    hosts: &mut Vec<String>,
    each: &mut dyn FnMut(&mut Vec<Hit>),
) -> bool {
    let Some(mut hits) = located else {
        return false;
    };
    tenant_hosts(data, hosts);
    if hits.is_empty() {
        return false;
    }
    each(&mut hits);
    true
}

/// At most this many tenant hosts are kept per blob: a file naming thousands of them must
/// not turn into thousands of requests per secret.
pub const MAX_TENANT_HOSTS: usize = 4;

/// Appends to `out` the private-tenant Applivery hosts (`<name>.<tenant>.applivery.io`) named
/// in `data`: lower-cased, distinct, in order of first appearance, at most
/// [`MAX_TENANT_HOSTS`]. Verification may check a secret of this blob against that tenant's
/// API; it never takes any other host from scanned content, so a hostile repository cannot
/// make the scanner send tokens to a server of its choosing.
pub fn tenant_hosts(data: &[u8], out: &mut Vec<String>) {
    static DOMAIN: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static HOST: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    // The host pattern starts with a character class, so the regex engine has no literal
    // to skip ahead with and walks every byte of the blob; the domain is a literal. Find it
    // first, then read the host that ends there (at most 8 labels of 63 characters).
    let domain = DOMAIN.get_or_init(|| {
        regex::bytes::Regex::new(r"(?i-u)applivery\.io").expect("domain pattern compiles")
    });
    let re = HOST.get_or_init(|| {
        regex::bytes::Regex::new(r"(?i-u)(?:[a-z0-9-]{1,63}\.){2,8}applivery\.io")
            .expect("tenant host pattern compiles")
    });
    let label = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    for d in domain.find_iter(data) {
        let lo = d.start().saturating_sub(8 * 64);
        let Some(m) = re
            .find_iter(&data[lo..d.end()])
            .find(|m| lo + m.end() == d.end())
        else {
            continue;
        };
        let (start, end) = (lo + m.start(), d.end());
        if out.len() >= MAX_TENANT_HOSTS {
            return;
        }
        // `x.acme.applivery.io.evil.example` is a host under evil.example, not Applivery's;
        // a sentence's full stop after the host is fine.
        let rest = &data[end..];
        let longer = match rest {
            [b, ..] if label(*b) => true,
            [b'.', b, ..] if label(*b) => true,
            _ => false,
        };
        if longer || (start > 0 && label(data[start - 1])) {
            continue;
        }
        let host = String::from_utf8_lossy(&data[start..end]).to_ascii_lowercase();
        if !out.contains(&host) {
            out.push(host);
        }
    }
}

fn give_hosts(hits: &mut [Hit], hosts: Vec<String>) {
    if hosts.is_empty() {
        return;
    }
    for h in hits.iter_mut() {
        h.tenant_hosts = hosts.clone();
    }
}

/// Reads until `buf[..filled]` holds `want` bytes or the stream ends; returns true at end of
/// stream. `buf` grows geometrically from 64 KiB, so a small input touches little memory.
fn fill<R: Read + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    want: usize,
    total: &mut u64,
) -> io::Result<bool> {
    while *filled < want {
        if buf.len() <= *filled {
            let grown = (buf.len() * 2).max(64 << 10).min(want);
            buf.resize(grown, 0);
        }
        let end = buf.len().min(want);
        match r.read(&mut buf[*filled..end]) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                *filled += n;
                *total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests;
