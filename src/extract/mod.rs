//! Extract: the stage between a source and the detector. A source yields blobs — bytes and
//! their provenance: a file, a git blob, standard input — and this stage turns one blob into
//! the texts the detector judges, each named by the chain of members that leads to it.
//!
//! A text blob is one text: itself. Otherwise the blob's first bytes say what it is, and:
//! - a container is opened and each member read the same way, nested up to
//!   `Settings::max_depth` (`containers`: zip, APK, AAB, IPA, JAR, tar, gzip, bzip2, xz);
//! - a binary format is rendered as text that keeps the context the detector needs:
//!   Android binary XML as `<meta-data android:name="…" android:value="…"/>` (`axml`),
//!   resource tables as `<string name="…">…</string>` (`arsc`), DEX files as their string
//!   table plus `Class.FIELD = "…"` and `Applivery.init(…, "…")` lines (`dex`), binary
//!   property lists as `<key>…</key><string>…</string>` (`bplist`), native code (ELF,
//!   Mach-O, Java classes) as its printable strings (`native`);
//! - anything else binary is counted and left.
//!
//! Every expanded byte is charged to the limits (`limits`); what a limit stops, and what is
//! damaged, is listed with its member chain — the scan of everything else goes on.
//!
//! A token compiled into native code stands alone among thousands of strings, with no key
//! beside it. Such a string is judged with the binary's own context instead: when the
//! binary mentions Applivery (the SDK's symbols, its hosts), each of its strings shaped
//! exactly like an App token (24 characters of `[A-Za-z0-9_-]`, a whole string) that also
//! looks generated rather than named (`native::looks_generated`) is shown to the detector as
//! `applivery-artefact-string = "…"`, which still has to pass its shape and entropy checks.
//!
//! Decoding a *value* (a base64 string under a key) is not done here: whether a value is a
//! token depends on the key that holds it, so the detector decodes values where it judges
//! them. Extract decodes *whole blobs*.

mod arsc;
mod axml;
mod bplist;
mod containers;
mod dex;
pub mod limits;
mod native;

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};

use crate::detect::Detector;
use crate::haystack::{self, Hit, Scanned, BINARY_PROBE, CHUNK};
pub use limits::Settings;
use limits::{Budget, Stop};

/// What a blob or member is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Dex,
    Axml,
    Arsc,
    Bplist,
    /// Native code or a Java class: read as its printable strings.
    Strings,
    Text,
    Binary,
}

/// One text the detector judges: the blob itself, or something found inside it.
#[derive(Debug)]
pub struct Text<'a> {
    /// Members from the blob to this text, outermost first; empty for the blob itself.
    pub members: Vec<String>,
    pub data: Cow<'a, [u8]>,
}

/// A part of a blob that was not read, with its member chain and why.
pub type Problem = (Vec<String>, String);

/// What a blob holds for the detector (the texts themselves, for tests and fuzzing; `scan`
/// runs the detector over them as they are produced instead of keeping them).
#[derive(Debug, Default)]
pub struct Extracted<'a> {
    pub texts: Vec<Text<'a>>,
    /// Nothing in the blob could be read as text.
    pub binary: bool,
    /// Parts not read because a limit stopped them.
    pub skipped: Vec<Problem>,
    /// Parts not read because they are damaged.
    pub errors: Vec<Problem>,
}

/// The texts of one blob held in memory.
pub fn extract<'a>(settings: &Settings, data: &'a [u8]) -> Extracted<'a> {
    if settings.max_depth == 0 || containers::sniff(probe(data)) == Kind::Text {
        let binary = haystack::is_binary(data);
        return Extracted {
            texts: if binary {
                Vec::new()
            } else {
                vec![Text {
                    members: Vec::new(),
                    data: Cow::Borrowed(data),
                }]
            },
            binary,
            ..Extracted::default()
        };
    }
    let budget = Budget::new(settings);
    let mut w = Walker::new(settings, &budget, b"", Sink::Collect(Vec::new()));
    w.bytes(&mut Vec::new(), 0, data);
    let opened = w.opened;
    let (out, texts) = w.finish();
    Extracted {
        texts,
        binary: !opened,
        skipped: out.skipped,
        errors: out.errors,
    }
}

/// What scanning one blob found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Bytes of the blob.
    pub bytes: u64,
    /// Nothing in it was text, and nothing in it could be opened.
    pub binary: bool,
    /// Hits in every text, each with the member chain of its text.
    pub hits: Vec<Hit>,
    /// Members a limit stopped (too large, too deep, too many, a zip bomb).
    pub skipped: Vec<Problem>,
    /// Members (or the blob itself) that are damaged: a truncated or corrupt archive.
    pub errors: Vec<Problem>,
}

/// Extracts the texts of a blob held in memory and runs the detector over each. `path` is
/// the blob's path: evidence for the detector (a member is judged under its own name), and
/// what member paths are matched against exclusion globs under (empty when unknown).
pub fn scan(det: &Detector, settings: &Settings, path: &[u8], data: &[u8]) -> Scan {
    let mut out = Scan {
        bytes: data.len() as u64,
        ..Scan::default()
    };
    if settings.max_depth == 0 || containers::sniff(probe(data)) == Kind::Text {
        match haystack::scan_slice(det, data, path) {
            Scanned::Text { hits, .. } => out.hits = hits,
            Scanned::Binary { .. } => out.binary = true,
        }
        return out;
    }
    let budget = Budget::new(settings);
    let mut w = Walker::new(settings, &budget, path, Sink::Detect(det));
    w.bytes(&mut Vec::new(), 0, data);
    let opened = w.opened;
    let (found, _) = w.finish();
    out.binary = !opened;
    out.hits = found.hits;
    out.skipped = found.skipped;
    out.errors = found.errors;
    out
}

/// Scans a file that may be too large to hold in memory, if it is something this stage
/// opens: a zip is read through the file itself (seeking to each member), streams front to
/// back. `None` means it is plain text or unknown binary: the caller reads it as before.
pub fn scan_file(
    det: &Detector,
    settings: &Settings,
    path: &[u8],
    file: &mut File,
) -> io::Result<Option<Scan>> {
    if settings.max_depth == 0 {
        return Ok(None);
    }
    use std::io::{Seek, SeekFrom};
    let mut head = Vec::with_capacity(BINARY_PROBE);
    file.by_ref()
        .take(BINARY_PROBE as u64)
        .read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    let kind = containers::sniff(&head);
    if matches!(kind, Kind::Text | Kind::Binary) {
        return Ok(None);
    }
    let len = file.metadata()?.len();
    let budget = Budget::new(settings);
    let mut w = Walker::new(settings, &budget, path, Sink::Detect(det));
    let mut chain = Vec::new();
    if kind == Kind::Zip {
        w.opened = true;
        w.zip(&mut *file, &mut chain, 0);
    } else if len > settings.max_member_size
        && !matches!(kind, Kind::Strings)
        && !containers::is_container(kind)
    {
        w.skip(
            &chain,
            format!(
                "{len} bytes, larger than --max-member-size ({} bytes)",
                settings.max_member_size
            ),
        );
    } else {
        let mut r = io::BufReader::with_capacity(1 << 16, &mut *file);
        let res = w.stream_as(&mut r, &mut chain, 0, None);
        w.finish_member(&chain, res, None, "file");
    }
    let opened = w.opened;
    let (found, _) = w.finish();
    Ok(Some(Scan {
        bytes: len,
        binary: !opened,
        hits: found.hits,
        skipped: found.skipped,
        errors: found.errors,
    }))
}

fn probe(data: &[u8]) -> &[u8] {
    &data[..data.len().min(BINARY_PROBE)]
}

/// Where texts go: to the detector, or into a list.
enum Sink<'a> {
    Detect(&'a Detector),
    Collect(Vec<Text<'static>>),
}

/// The walk over one blob: every member at every depth, charged to one budget.
pub(crate) struct Walker<'a> {
    settings: &'a Settings,
    budget: &'a Budget,
    /// The blob's path: evidence for the detector, and where exclusion globs start.
    path: &'a [u8],
    /// The same, as text.
    name: String,
    sink: Sink<'a>,
    found: Scan,
    /// Something was opened or rendered (the blob is not just "binary").
    opened: bool,
    buf: Vec<u8>,
    members_noted: bool,
}

impl<'a> Walker<'a> {
    fn new(settings: &'a Settings, budget: &'a Budget, path: &'a [u8], sink: Sink<'a>) -> Self {
        Walker {
            settings,
            budget,
            path,
            name: String::from_utf8_lossy(path).into_owned(),
            sink,
            found: Scan::default(),
            opened: false,
            buf: Vec::new(),
            members_noted: false,
        }
    }

    /// What the walk found, and the collected texts.
    fn finish(self) -> (Scan, Vec<Text<'static>>) {
        let texts = match self.sink {
            Sink::Collect(t) => t,
            Sink::Detect(_) => Vec::new(),
        };
        (self.found, texts)
    }

    /// Shows the token-shaped strings of a binary that mentions Applivery to the detector.
    fn judge(&mut self, chain: &[String], tokens: Vec<(u64, String)>) {
        for (line, s) in tokens {
            // Already found with its own key: once is enough.
            if self
                .found
                .hits
                .iter()
                .any(|h| h.secret == s && h.members == chain)
            {
                continue;
            }
            let text = format!("applivery-artefact-string = \"{s}\"\n");
            let path = self.text_path(chain);
            match &mut self.sink {
                Sink::Detect(det) => {
                    if let Scanned::Text { hits, .. } =
                        haystack::scan_slice(det, text.as_bytes(), &path)
                    {
                        for mut h in hits {
                            h.line = line;
                            h.end_line = line;
                            h.members = chain.to_vec();
                            self.found.hits.push(h);
                        }
                    }
                }
                Sink::Collect(texts) => texts.push(Text {
                    members: chain.to_vec(),
                    data: Cow::Owned(text.into_bytes()),
                }),
            }
        }
    }

    /// The path the detector judges a text under: the innermost member's name (its own
    /// file name says what it is: `assets/applivery.json`), or the blob's path.
    fn text_path(&self, chain: &[String]) -> Vec<u8> {
        match chain.last() {
            Some(m) => m.as_bytes().to_vec(),
            None => self.path.to_vec(),
        }
    }

    pub(crate) fn skip(&mut self, chain: &[String], reason: String) {
        self.found.skipped.push((chain.to_vec(), reason));
    }

    /// A damaged archive or member. While a limit is cutting a read short, what looks
    /// damaged further in is only cut: the limit's skip explains it.
    pub(crate) fn damaged(&mut self, chain: &[String], reason: String) {
        if !self.budget.cut.get() {
            self.found.errors.push((chain.to_vec(), reason));
        }
    }

    /// Counts one more member against the blob's limit; false once it is reached.
    fn take_member(&mut self, chain: &[String]) -> bool {
        let left = self.budget.members.get();
        if left == 0 {
            if !self.members_noted {
                self.members_noted = true;
                self.skip(
                    chain,
                    format!(
                        "more than {} members in this blob: the rest were not read",
                        self.settings.max_members
                    ),
                );
            }
            return false;
        }
        self.budget.members.set(left - 1);
        true
    }

    fn is_excluded(&self, chain: &[String]) -> bool {
        if self.settings.exclude.is_none() || self.name.is_empty() {
            return false;
        }
        let mut path = self.name.to_string();
        for m in chain {
            path.push_str(crate::provenance::MEMBER_SEPARATOR);
            path.push_str(m);
        }
        self.settings.excluded(&path)
    }

    /// Records how reading a member ended: a limit (skipped), an error (damaged), or fine.
    fn finish_member(
        &mut self,
        chain: &[String],
        res: io::Result<()>,
        stopped: Option<Stop>,
        what: &str,
    ) {
        if let Some(stop) = stopped {
            self.budget.cut.set(false);
            self.skip(chain, stop.reason());
        } else if let Err(e) = res {
            self.damaged(chain, format!("damaged {what}: {}", one_line(&e)));
        }
    }

    /// A text held in memory.
    fn text(&mut self, chain: &[String], data: &[u8]) {
        self.opened = true;
        let path = self.text_path(chain);
        match &mut self.sink {
            Sink::Detect(det) => {
                if let Scanned::Text { hits, .. } = haystack::scan_slice(det, data, &path) {
                    self.found.hits.extend(hits.into_iter().map(|mut h| {
                        h.members = chain.to_vec();
                        h
                    }));
                }
            }
            Sink::Collect(texts) => texts.push(Text {
                members: chain.to_vec(),
                data: Cow::Owned(data.to_vec()),
            }),
        }
    }

    /// A text read front to back, in bounded chunks; true if it mentions Applivery.
    fn text_stream(&mut self, chain: &[String], r: &mut dyn Read) -> io::Result<bool> {
        let path = self.text_path(chain);
        self.text_stream_as(chain, r, &path)
    }

    /// `text_stream`, judged as if at `path`.
    fn text_stream_as(
        &mut self,
        chain: &[String],
        r: &mut dyn Read,
        path: &[u8],
    ) -> io::Result<bool> {
        self.opened = true;
        let mut watch = Watch {
            inner: r,
            seen: false,
            tail: Vec::new(),
        };
        match &mut self.sink {
            Sink::Detect(det) => {
                let scanned =
                    haystack::scan_reader_chunked(det, &mut watch, path, &mut self.buf, CHUNK);
                if self.buf.capacity() > 4 * CHUNK {
                    self.buf = Vec::new();
                }
                if let Scanned::Text { hits, .. } = scanned? {
                    self.found.hits.extend(hits.into_iter().map(|mut h| {
                        h.members = chain.to_vec();
                        h
                    }));
                }
            }
            Sink::Collect(texts) => {
                let mut data = Vec::new();
                watch.read_to_end(&mut data)?;
                texts.push(Text {
                    members: chain.to_vec(),
                    data: Cow::Owned(data),
                });
            }
        }
        Ok(watch.seen)
    }

    /// A blob or member held in memory.
    fn bytes(&mut self, chain: &mut Vec<String>, depth: usize, data: &[u8]) {
        let kind = containers::sniff(probe(data));
        match kind {
            Kind::Zip if self.open(chain, depth) => self.zip(io::Cursor::new(data), chain, depth),
            Kind::Zip => {}
            Kind::Text => self.text(chain, data),
            Kind::Dex | Kind::Axml | Kind::Arsc | Kind::Bplist => self.format(kind, chain, data),
            Kind::Binary => {}
            _ => {
                let res = self.stream_as(&mut &data[..], chain, depth, None);
                self.finish_member(chain, res, None, "archive");
            }
        }
    }

    /// Whether a container at `depth` may be opened; lists it as skipped if not.
    fn open(&mut self, chain: &[String], depth: usize) -> bool {
        if depth >= self.settings.max_depth {
            self.skip(
                chain,
                format!(
                    "archive nested deeper than --max-archive-depth ({})",
                    self.settings.max_depth
                ),
            );
            return false;
        }
        self.opened = true;
        true
    }

    fn stream(
        &mut self,
        r: &mut dyn Read,
        chain: &mut Vec<String>,
        depth: usize,
    ) -> io::Result<()> {
        self.stream_as(r, chain, depth, None)
    }

    /// A blob or member read front to back; `name` names it in the chain unless it turns
    /// out to be a container (whose members name themselves).
    fn stream_as(
        &mut self,
        r: &mut dyn Read,
        chain: &mut Vec<String>,
        depth: usize,
        name: Option<String>,
    ) -> io::Result<()> {
        let mut head = Vec::with_capacity(BINARY_PROBE);
        r.take(BINARY_PROBE as u64).read_to_end(&mut head)?;
        let kind = containers::sniff(&head);
        let named = match name {
            Some(n) if !containers::is_container(kind) => {
                chain.push(n);
                true
            }
            _ => false,
        };
        let mut whole = io::Cursor::new(&head[..]).chain(r);
        let res = match kind {
            Kind::Zip | Kind::Dex | Kind::Axml | Kind::Arsc | Kind::Bplist => {
                if kind != Kind::Zip || self.open(chain, depth) {
                    let mut data = Vec::new();
                    whole.read_to_end(&mut data)?;
                    if kind == Kind::Zip {
                        self.zip(io::Cursor::new(&data[..]), chain, depth);
                    } else {
                        self.format(kind, chain, &data);
                    }
                }
                Ok(())
            }
            Kind::Tar => {
                if self.open(chain, depth) {
                    self.tar(&mut whole, chain, depth);
                }
                Ok(())
            }
            Kind::Gzip | Kind::Bzip2 | Kind::Xz => {
                if self.open(chain, depth) {
                    self.decompress(kind, &mut whole, chain, depth);
                }
                Ok(())
            }
            Kind::Strings => self.native(chain, &mut whole),
            Kind::Text => self.text_stream(chain, &mut whole).map(|_| ()),
            Kind::Binary => Ok(()),
        };
        if named {
            chain.pop();
        }
        res
    }

    /// A binary format held whole, rendered as text. A format that does not parse is read
    /// as its printable strings instead, so nothing in it goes unread.
    fn format(&mut self, kind: Kind, chain: &[String], data: &[u8]) {
        self.opened = true;
        let mut text = Vec::new();
        // DEX strings are judged where the code gives them a meaning (fields, Applivery
        // calls): its table alone is full of identifiers.
        let ok = match kind {
            Kind::Dex => dex::render(data, &mut text),
            Kind::Axml => axml::render(data, &mut text),
            Kind::Arsc => arsc::render(data, &mut text),
            _ => bplist::render(data, &mut text),
        };
        if ok.is_err() {
            let _ = self.native(chain, &mut &data[..]);
            return;
        }
        self.text(chain, &text);
    }

    /// Native code: its printable strings, one per line; if it mentions Applivery, its
    /// token-shaped strings are judged too.
    fn native(&mut self, chain: &[String], r: &mut dyn Read) -> io::Result<()> {
        let mut head = Vec::with_capacity(8);
        r.take(8).read_to_end(&mut head)?;
        let mut whole = io::Cursor::new(&head[..]).chain(r);
        let mut strings = native::Strings::new(&mut whole, &head);
        // A symbol table is no place for a secret, whatever the binary is called
        // (`Applivery.framework/Applivery` is full of 24-letter Swift symbols): its strings
        // are judged without the path's scope; a token compiled in stands alone and is
        // judged by the binary's own context below.
        let seen = self.text_stream_as(chain, &mut strings, b"")?;
        let tokens = std::mem::take(&mut strings.tokens);
        if seen {
            self.judge(chain, tokens);
        }
        Ok(())
    }
}

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/`): each parser of untrusted
/// bytes on its own, output discarded.
#[doc(hidden)]
pub mod fuzzing {
    pub fn dex(data: &[u8]) {
        let _ = super::dex::render(data, &mut Vec::new());
    }
    pub fn axml(data: &[u8]) {
        let _ = super::axml::render(data, &mut Vec::new());
    }
    pub fn arsc(data: &[u8]) {
        let _ = super::arsc::render(data, &mut Vec::new());
    }
    pub fn bplist(data: &[u8]) {
        let _ = super::bplist::render(data, &mut Vec::new());
    }
}

/// True if `data` mentions Applivery (any case).
pub(crate) fn mentions(data: &[u8]) -> bool {
    static RE: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::RegexBuilder::new("(?i)applivery")
            .unicode(false)
            .build()
            .expect("pattern compiles")
    })
    .is_match(data)
}

/// Passes bytes through and notes whether they mention Applivery.
struct Watch<'r> {
    inner: &'r mut dyn Read,
    seen: bool,
    /// The last bytes of the previous read: a mention may straddle two reads.
    tail: Vec<u8>,
}

impl Read for Watch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.seen && n > 0 {
            self.tail.extend_from_slice(&buf[..n.min(16)]);
            self.seen = mentions(&self.tail) || mentions(&buf[..n]);
            let keep = &buf[n.saturating_sub(8)..n];
            self.tail.clear();
            self.tail.extend_from_slice(keep);
        }
        Ok(n)
    }
}

/// An I/O error as one line, without Rust's `(os error N)`.
fn one_line(e: &io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::default_rules;

    #[test]
    fn a_text_blob_is_one_text_and_a_binary_one_none() {
        let s = Settings::default();
        let text = b"APPLIVERY_APP_TOKEN=Zk3qP9xVb2LmN7wQe4RtY6uA\n"; // applivery-leaks:allow
        let e = extract(&s, text);
        assert!(!e.binary);
        assert_eq!(e.texts.len(), 1);
        assert!(e.texts[0].members.is_empty());
        let mut bin = text.to_vec();
        bin.push(0);
        let e = extract(&s, &bin);
        assert!(e.binary && e.texts.is_empty());
        let det = Detector::new(default_rules()).unwrap();
        let found = scan(&det, &s, b"x", text);
        assert_eq!(found.hits.len(), 1);
        assert!(found.hits[0].members.is_empty());
    }

    #[test]
    fn watch_sees_a_mention_split_between_reads() {
        let data = b"xxxxxxxxxxxxxxxxxxxxAppli|very and more";
        let joined: Vec<u8> = data.iter().copied().filter(|&b| b != b'|').collect();
        let split = joined.iter().position(|&b| b == b'v').unwrap();
        let mut a = &joined[..split];
        let mut b = &joined[split..];
        let mut chained = (&mut a).chain(&mut b);
        let mut w = Watch {
            inner: &mut chained,
            seen: false,
            tail: Vec::new(),
        };
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = w.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert!(w.seen);
    }
}
