//! Findings held compactly until the report is written. A `Finding` is a dozen strings and
//! vectors (about a kilobyte with its hashes, context lines and evidence): a file with a
//! million findings held as `Finding`s took a gigabyte. A scan that can (`dir`) instead packs
//! each hit into bytes as the file's pass produces it — numbers as varints, each string once,
//! the path once per file — and the command layer turns the records back into `Finding`s
//! one at a time, in report order, as it writes them (`command/stream.rs`).
//!
//! Nothing is computed here that a `Finding` computes itself: unpacking builds the finding
//! with `Finding::located` (hash, fingerprint) from the same values the scan saw, so a report
//! written from packed findings is the report written from the findings.

use crate::finding::{Finding, Reason};
use crate::provenance::Provenance;

/// The findings of a scan, packed file by file.
#[derive(Debug, Clone, Default)]
pub struct Packed {
    /// Rule ids by the index records carry.
    rules: Vec<String>,
    files: Vec<PackedFile>,
    count: usize,
}

/// The findings of one blob: where it was seen, and its records.
#[derive(Debug, Clone)]
pub struct PackedFile {
    at: Provenance,
    /// The private-tenant hosts of the whole blob, for records that take them (a blob read in
    /// chunks knows them only at its end).
    hosts: Vec<String>,
    data: Vec<u8>,
    count: usize,
}

/// One hit as plain values: what a source hands over to be packed.
pub struct Parts<'a> {
    pub rule: usize,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub secret: &'a str,
    pub context: &'a str,
    pub context_redacted: &'a str,
    pub inline_allowed: bool,
    pub decoded: &'a [&'static str],
    /// Archive members from the blob to the text the hit is in.
    pub members: &'a [String],
    pub evidence: &'a [Reason],
    /// The hit's own tenant hosts; `None` takes the blob's ([`PackedFile::set_hosts`]).
    pub hosts: Option<&'a [String]>,
}

/// One packed hit, read back: its strings borrowed from the pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub rule: usize,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub inline_allowed: bool,
    pub secret: &'a str,
    pub context: &'a str,
    pub context_redacted: &'a str,
    pub decoded: Vec<&'a str>,
    pub members: Vec<&'a str>,
    /// Kind, text, line.
    pub evidence: Vec<(&'a str, &'a str, Option<u64>)>,
    /// `None`: the blob's hosts.
    pub hosts: Option<Vec<&'a str>>,
}

const INLINE: u8 = 1;
const OWN_HOSTS: u8 = 2;

impl PackedFile {
    pub fn new(at: Provenance) -> PackedFile {
        PackedFile {
            at,
            hosts: Vec::new(),
            data: Vec::new(),
            count: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn set_hosts(&mut self, hosts: Vec<String>) {
        self.hosts = hosts;
    }

    pub fn push(&mut self, p: &Parts) {
        let d = &mut self.data;
        varint(d, p.rule as u64);
        varint(d, p.line);
        varint(d, p.column);
        varint(d, p.end_line.wrapping_sub(p.line));
        varint(d, p.end_column);
        let flags = if p.inline_allowed { INLINE } else { 0 }
            | if p.hosts.is_some() { OWN_HOSTS } else { 0 };
        d.push(flags);
        for s in [p.secret, p.context, p.context_redacted] {
            string(d, s);
        }
        varint(d, p.decoded.len() as u64);
        for s in p.decoded {
            string(d, s);
        }
        varint(d, p.members.len() as u64);
        for s in p.members {
            string(d, s);
        }
        varint(d, p.evidence.len() as u64);
        for r in p.evidence {
            string(d, &r.kind);
            string(d, &r.text);
            varint(d, r.line.map_or(0, |l| l.saturating_add(1)));
        }
        if let Some(hosts) = p.hosts {
            varint(d, hosts.len() as u64);
            for s in hosts {
                string(d, s);
            }
        }
        self.count += 1;
    }

    /// The provenance of the blob (without the records' members).
    pub fn at(&self) -> &Provenance {
        &self.at
    }

    /// The records with their offsets, in the order they were packed.
    pub fn records(&self) -> impl Iterator<Item = (usize, Record<'_>)> {
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= self.data.len() {
                return None;
            }
            let offset = at;
            let r = read(&self.data, &mut at);
            Some((offset, r))
        })
    }

    /// Every record's secret, in order, read without the rest of the record: the set of
    /// every secret a report's contexts are redacted with is built from a million of them.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        let mut at = 0;
        std::iter::from_fn(move || (at < self.data.len()).then(|| skim(&self.data, &mut at)))
    }

    /// The record at `offset` (from [`PackedFile::records`]).
    pub fn record(&self, offset: usize) -> Record<'_> {
        let mut at = offset;
        read(&self.data, &mut at)
    }

    /// Where `r` was seen: the blob, inside the record's archive members.
    pub fn provenance(&self, r: &Record) -> Provenance {
        let mut p = self.at.clone();
        p.members.extend(r.members.iter().map(|m| m.to_string()));
        p
    }

    /// The finding `r` stands for, as `source::finding` makes it from the hit.
    pub fn finding(&self, r: &Record, rule_ids: &[String]) -> Finding {
        let rule = rule_ids.get(r.rule).map_or("", String::as_str);
        let mut f = Finding::located(
            rule,
            self.provenance(r),
            [r.line, r.column, r.end_line, r.end_column],
            r.secret.to_string(),
            r.context.to_string(),
            r.context_redacted.to_string(),
        );
        f.inline_allowed = r.inline_allowed;
        f.decoded = r.decoded.iter().map(|d| d.to_string()).collect();
        f.tenant_hosts = match &r.hosts {
            Some(h) => h.iter().map(|s| s.to_string()).collect(),
            None => self.hosts.clone(),
        };
        f.evidence = r
            .evidence
            .iter()
            .map(|&(kind, text, line)| Reason {
                kind: kind.to_string(),
                text: text.to_string(),
                line,
            })
            .collect();
        f
    }
}

impl Packed {
    /// An empty pack for the findings of `rules` (their ids, in the detector's order).
    pub fn new(rules: Vec<String>) -> Packed {
        Packed {
            rules,
            ..Packed::default()
        }
    }

    /// The rule ids, by the index records carry.
    pub fn rules(&self) -> &[String] {
        &self.rules
    }

    pub fn add(&mut self, file: PackedFile) {
        if !file.is_empty() {
            self.count += file.count;
            self.files.push(file);
        }
    }

    /// How many findings it holds.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn files(&self) -> &[PackedFile] {
        &self.files
    }

    /// Every finding, file by file in the order they were added, each file's in the order
    /// its hits were packed. A file's bytes are freed once its findings are made.
    pub fn unpack(self) -> Vec<Finding> {
        let mut out = Vec::with_capacity(self.count);
        for file in self.files {
            out.extend(file.records().map(|(_, r)| file.finding(&r, &self.rules)));
        }
        out
    }
}

fn varint(d: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        d.push((v as u8) | 0x80);
        v >>= 7;
    }
    d.push(v as u8);
}

fn string(d: &mut Vec<u8>, s: &str) {
    varint(d, s.len() as u64);
    d.extend_from_slice(s.as_bytes());
}

/// A number as `push` writes it (LEB128), `at` moved past it.
fn num(d: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = d.get(*at) {
        *at += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b < 0x80 {
            break;
        }
    }
    v
}

/// A text as `push` writes it (its length, then its bytes), `at` moved past it.
fn text<'a>(d: &'a [u8], at: &mut usize) -> &'a str {
    let n = num(d, at) as usize;
    let end = at.saturating_add(n).min(d.len());
    let s = std::str::from_utf8(&d[(*at).min(end)..end]).unwrap_or("");
    *at = end;
    s
}

/// Moves `at` past a text without reading it.
fn skip(d: &[u8], at: &mut usize) {
    let n = num(d, at) as usize;
    *at = at.saturating_add(n).min(d.len());
}

/// The secret of the record at `at`, with `at` moved past the record as `read` moves it:
/// the other texts are stepped over, neither checked as UTF-8 nor gathered in lists.
fn skim<'a>(d: &'a [u8], at: &mut usize) -> &'a str {
    for _ in 0..5 {
        num(d, at); // rule, line, column, end line, end column
    }
    let flags = d.get(*at).copied().unwrap_or(0);
    *at += 1;
    let secret = text(d, at);
    skip(d, at); // context
    skip(d, at); // context, redacted
    for _ in 0..2 {
        // decoded, members
        for _ in 0..num(d, at) {
            skip(d, at);
        }
    }
    for _ in 0..num(d, at) {
        // evidence: kind, text, line
        skip(d, at);
        skip(d, at);
        num(d, at);
    }
    if flags & OWN_HOSTS != 0 {
        for _ in 0..num(d, at) {
            skip(d, at);
        }
    }
    secret
}

/// Reads what `push` wrote. The pack is this module's own output, never outside input: a
/// short read gives zeros and empty strings rather than a panic.
fn read<'a>(d: &'a [u8], at: &mut usize) -> Record<'a> {
    let num = |at: &mut usize| num(d, at);
    let text = |at: &mut usize| text(d, at);
    let rule = num(at) as usize;
    let line = num(at);
    let column = num(at);
    let end_line = line.wrapping_add(num(at));
    let end_column = num(at);
    let flags = d.get(*at).copied().unwrap_or(0);
    *at += 1;
    let secret = text(at);
    let context = text(at);
    let context_redacted = text(at);
    let list = |at: &mut usize| -> Vec<&'a str> {
        let n = num(at);
        (0..n).map(|_| text(at)).collect()
    };
    let decoded = list(at);
    let members = list(at);
    let n = num(at);
    let evidence = (0..n)
        .map(|_| {
            let kind = text(at);
            let txt = text(at);
            let line = num(at).checked_sub(1);
            (kind, txt, line)
        })
        .collect();
    let hosts = (flags & OWN_HOSTS != 0).then(|| list(at));
    Record {
        rule,
        line,
        column,
        end_line,
        end_column,
        inline_allowed: flags & INLINE != 0,
        secret,
        context,
        context_redacted,
        decoded,
        members,
        evidence,
        hosts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_comes_back_as_it_was_made() {
        let evidence = vec![
            Reason {
                kind: "key".into(),
                text: "APPLIVERY_TOKEN".into(),
                line: Some(300),
            },
            Reason {
                kind: "path".into(),
                text: "the file's path names Applivery".into(),
                line: None,
            },
        ];
        let members = vec!["inner.zip".to_string(), "a/é.env".to_string()];
        let own = vec!["x.acme.applivery.io".to_string()];
        let mut file = PackedFile::new(Provenance::file("app.zip"));
        file.set_hosts(vec!["y.corp.applivery.io".into()]);
        let parts = |hosts, members: &'static [String]| Parts {
            rule: 1,
            line: 70_000,
            column: 3,
            end_line: 70_001,
            end_column: 9,
            secret: "Zk3qP9xVb2LmN7wQe4RtY6uA", // applivery-leaks:allow (a fake token)
            context: "t=Zk3qP9xVb2LmN7wQe4RtY6uA # applivery-leaks:allow",
            context_redacted: "t=Zk3q… # applivery-leaks:allow",
            inline_allowed: true,
            decoded: &["base64", "url"],
            members,
            evidence: &[],
            hosts,
        };
        let leaked_members: &'static [String] = Box::leak(members.into_boxed_slice());
        let mut p = parts(Some(&own[..]), leaked_members);
        p.evidence = &evidence;
        file.push(&p);
        file.push(&parts(None, &[]));
        let ids = vec!["a".to_string(), "applivery-app-token".to_string()];
        let got: Vec<Finding> = file
            .records()
            .map(|(_, r)| file.finding(&r, &ids))
            .collect();

        let mut want = Finding::located(
            "applivery-app-token",
            Provenance::file("app.zip")
                .member("inner.zip")
                .member("a/é.env"),
            [70_000, 3, 70_001, 9],
            p.secret.into(),
            p.context.into(),
            p.context_redacted.into(),
        );
        want.inline_allowed = true;
        want.decoded = vec!["base64".into(), "url".into()];
        want.tenant_hosts = own.clone();
        want.evidence = evidence.clone();
        assert_eq!(got[0], want);
        assert_eq!(got[1].path, "app.zip");
        assert_eq!(got[1].tenant_hosts, ["y.corp.applivery.io"]);
        assert!(got[1].evidence.is_empty());

        let offsets: Vec<usize> = file.records().map(|(o, _)| o).collect();
        assert_eq!(file.record(offsets[1]).secret, p.secret);
        let mut all = Packed::new(ids);
        all.add(file);
        all.add(PackedFile::new(Provenance::file("empty")));
        assert_eq!(all.len(), 2);
        assert_eq!(all.files().len(), 1);
        assert_eq!(all.unpack(), got);
    }

    #[test]
    fn secrets_are_skimmed_where_records_are_read() {
        let evidence = vec![Reason {
            kind: "key".into(),
            text: "APPLIVERY_TOKEN".into(),
            line: Some(3),
        }];
        let (members, own) = (
            vec!["a.zip".to_string()],
            vec!["h.applivery.io".to_string()],
        );
        let mut file = PackedFile::new(Provenance::file("app.zip"));
        // Every optional part present in one record or another: a skim that steps over one
        // wrongly reads the next secret out of step.
        let secrets = [
            "Zk3qP9xVb2LmN7wQe4RtY6uA", // applivery-leaks:allow (fake)
            "Bq7tW2nX9cLm4RvK8pZs3YhD", // applivery-leaks:allow (fake)
            "é-ü",
        ];
        for (i, secret) in secrets.iter().enumerate() {
            file.push(&Parts {
                rule: i,
                line: 1 << (7 * i),
                column: 2,
                end_line: 3,
                end_column: 4,
                secret,
                context: "x=…",
                context_redacted: "x=Zk3q…",
                inline_allowed: i == 1,
                decoded: if i == 0 { &["base64", "url"] } else { &[] },
                members: if i == 1 { &members } else { &[] },
                evidence: if i != 1 { &evidence } else { &[] },
                hosts: (i == 2).then_some(&own[..]),
            });
        }
        let read: Vec<&str> = file.records().map(|(_, r)| r.secret).collect();
        assert_eq!(read, secrets);
        assert_eq!(file.secrets().collect::<Vec<_>>(), secrets);
    }
}
