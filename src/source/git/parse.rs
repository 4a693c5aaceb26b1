//! Parsers of raw commit, tag and tree objects: only the fields the sweep uses, from bytes
//! an attacker may have written. Each returns `None` (or stops early) on damage instead of
//! panicking; `fuzz/` has a target for each.

use git2::Oid;

/// The fields of a commit the sweep uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit<'d> {
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// Committer time, seconds since the epoch (orders the walk of a range).
    pub time: i64,
    /// The raw `author` value: `Name <email> 1700000000 +0200`.
    pub author: Option<&'d [u8]>,
    pub message: &'d [u8],
}

/// Parses a raw commit. `None` if it names no valid tree.
pub fn commit(data: &[u8]) -> Option<Commit<'_>> {
    let (header, message) = split_message(data);
    let mut tree = None;
    let mut parents = Vec::new();
    let mut author = None;
    let mut time = 0;
    for line in header.split(|&b| b == b'\n') {
        if let Some(hex) = line.strip_prefix(b"tree ") {
            tree = hex_oid(hex);
        } else if let Some(hex) = line.strip_prefix(b"parent ") {
            parents.extend(hex_oid(hex));
        } else if let Some(a) = line.strip_prefix(b"author ") {
            author = Some(a);
        } else if let Some(c) = line.strip_prefix(b"committer ") {
            time = signature_time(c).map_or(0, |(t, _)| t);
        }
    }
    Some(Commit {
        tree: tree?,
        parents,
        time,
        author,
        message,
    })
}

/// The fields of an annotated tag the sweep uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'d> {
    pub target: Oid,
    pub name: &'d [u8],
    pub tagger: Option<&'d [u8]>,
    pub message: &'d [u8],
}

/// Parses a raw annotated tag. `None` if it names no valid target.
pub fn tag(data: &[u8]) -> Option<Tag<'_>> {
    let (header, message) = split_message(data);
    let mut target = None;
    let mut name: &[u8] = b"";
    let mut tagger = None;
    for line in header.split(|&b| b == b'\n') {
        if let Some(hex) = line.strip_prefix(b"object ") {
            target = hex_oid(hex);
        } else if let Some(n) = line.strip_prefix(b"tag ") {
            name = n;
        } else if let Some(t) = line.strip_prefix(b"tagger ") {
            tagger = Some(t);
        }
    }
    Some(Tag {
        target: target?,
        name,
        tagger,
        message,
    })
}

/// A signature `Name <email> 1700000000 +0200`: name, email, time and offset in minutes.
pub fn signature(raw: &[u8]) -> (String, String, Option<(i64, i64)>) {
    let lt = memchr::memchr(b'<', raw);
    let gt = memchr::memrchr(b'>', raw);
    match (lt, gt) {
        (Some(l), Some(g)) if l < g => (
            String::from_utf8_lossy(raw[..l].trim_ascii()).into_owned(),
            String::from_utf8_lossy(&raw[l + 1..g]).into_owned(),
            signature_time(raw),
        ),
        _ => (
            String::from_utf8_lossy(raw.trim_ascii()).into_owned(),
            String::new(),
            None,
        ),
    }
}

/// The time and zone offset (minutes) at the end of a signature.
fn signature_time(raw: &[u8]) -> Option<(i64, i64)> {
    let after = match memchr::memrchr(b'>', raw) {
        Some(g) => &raw[g + 1..],
        None => raw,
    };
    let mut parts = after.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let secs: i64 = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let zone = parts.next().unwrap_or(b"+0000");
    let sign = match zone.first() {
        Some(b'-') => -1,
        _ => 1,
    };
    let digits = zone.get(1..5).filter(|d| d.iter().all(u8::is_ascii_digit));
    let offset = digits.map_or(0, |d| {
        let n = |i: usize| i64::from(d[i] - b'0');
        sign * ((n(0) * 10 + n(1)) * 60 + n(2) * 10 + n(3))
    });
    Some((secs, offset))
}

fn split_message(data: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memmem::find(data, b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &data[data.len()..]),
    }
}

fn hex_oid(hex: &[u8]) -> Option<Oid> {
    let hex = std::str::from_utf8(hex).ok()?;
    if hex.len() != 40 {
        return None;
    }
    Oid::from_str(hex).ok()
}

/// What a tree entry points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tree,
    Blob,
    Submodule,
}

/// One entry of a raw tree object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'d> {
    pub mode: Mode,
    /// The mode as written (`0o100644`, `0o120000`, ...); 0 if it is not octal.
    pub bits: u32,
    pub name: &'d [u8],
    /// The raw 20-byte id.
    pub id: &'d [u8; 20],
}

/// Iterates the entries of a raw tree object (`<octal mode> <name>\0<20-byte id>`...). Stops
/// at the first damage; `damaged()` then tells (entries before the damage were yielded).
pub struct Entries<'d> {
    data: &'d [u8],
    damaged: bool,
}

pub fn entries(data: &[u8]) -> Entries<'_> {
    Entries {
        data,
        damaged: false,
    }
}

impl Entries<'_> {
    pub fn damaged(&self) -> bool {
        self.damaged
    }

    /// The bytes not parsed yet: the next entry starts this far from the end of the data.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }
}

impl<'d> Iterator for Entries<'d> {
    type Item = Entry<'d>;

    fn next(&mut self) -> Option<Entry<'d>> {
        let data = self.data;
        if data.is_empty() {
            return None;
        }
        let parsed = (|| {
            let sp = memchr::memchr(b' ', data)?;
            let mode = &data[..sp];
            let rest = &data[sp + 1..];
            let nul = memchr::memchr(0, rest)?;
            let id: &[u8; 20] = rest.get(nul + 1..nul + 21)?.try_into().ok()?;
            let bits = mode
                .iter()
                .try_fold(0u32, |n, &d| match d {
                    b'0'..=b'7' => n.checked_mul(8).map(|n| n + u32::from(d - b'0')),
                    _ => None,
                })
                .unwrap_or(0);
            let mode = match mode {
                b"40000" | b"040000" => Mode::Tree,
                b"160000" => Mode::Submodule,
                _ => Mode::Blob,
            };
            Some((
                Entry {
                    mode,
                    bits,
                    name: &rest[..nul],
                    id,
                },
                &rest[nul + 21..],
            ))
        })();
        match parsed {
            Some((e, rest)) => {
                self.data = rest;
                Some(e)
            }
            None => {
                self.damaged = true;
                self.data = &[];
                None
            }
        }
    }
}

/// The first line of a message, trimmed.
pub fn first_line(message: &[u8]) -> String {
    let s = String::from_utf8_lossy(message);
    s.trim_start()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_parse() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 1111111111111111111111111111111111111111\n\
parent 2222222222222222222222222222222222222222\n\
author A U Thor <a@example.com> 1700000000 +0200\n\
committer C O Mitter <c@example.com> 1700000100 -0530\n\
\n\
Subject line\n\nbody\n";
        let c = commit(raw).unwrap();
        assert_eq!(
            c.tree.to_string(),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
        assert_eq!(c.parents.len(), 2);
        assert_eq!(c.time, 1_700_000_100);
        assert_eq!(c.message, b"Subject line\n\nbody\n");
        let (name, email, when) = signature(c.author.unwrap());
        assert_eq!(
            (name.as_str(), email.as_str(), when),
            ("A U Thor", "a@example.com", Some((1_700_000_000, 120)))
        );
        assert_eq!(signature(b"C <c> 5 -0530").2, Some((5, -330)));
        assert!(commit(b"parent 1111111111111111111111111111111111111111\n").is_none());
        assert!(commit(b"tree 4b825dc6\n\nshort id").is_none());
    }

    #[test]
    fn tags_parse() {
        let raw = b"object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\n\
tagger T <t@x> 1 +0000\n\nrelease\n";
        let t = tag(raw).unwrap();
        assert_eq!(t.name, b"v1");
        assert_eq!(t.message, b"release\n");
        assert!(tag(b"type commit\n").is_none());
    }

    #[test]
    fn tree_entries_parse() {
        let mut raw = Vec::new();
        raw.extend_from_slice(b"100644 a.txt\0");
        raw.extend_from_slice(&[1u8; 20]);
        raw.extend_from_slice(b"40000 dir\0");
        raw.extend_from_slice(&[2u8; 20]);
        raw.extend_from_slice(b"160000 sub\0");
        raw.extend_from_slice(&[3u8; 20]);
        let got: Vec<_> = entries(&raw).map(|e| (e.mode, e.name.to_vec())).collect();
        let bits: Vec<u32> = entries(&raw).map(|e| e.bits).collect();
        assert_eq!(bits, [0o100644, 0o40000, 0o160000]);
        assert_eq!(
            got,
            vec![
                (Mode::Blob, b"a.txt".to_vec()),
                (Mode::Tree, b"dir".to_vec()),
                (Mode::Submodule, b"sub".to_vec())
            ]
        );
        let mut it = entries(b"100644 broken");
        assert!(it.next().is_none());
        assert!(it.damaged());
        raw.truncate(raw.len() - 3);
        let mut it = entries(&raw);
        assert_eq!(it.by_ref().count(), 2);
        assert!(it.damaged());
    }
}
