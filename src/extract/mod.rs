//! Extract: the stage between a source and the detector. A source yields blobs — bytes and
//! their provenance: a file, a git blob, standard input — and this stage turns one blob into
//! the texts the detector judges, each named by the chain of members that leads to it.
//!
//! Today a blob is one text: itself, when it is text; a binary blob yields none. This is
//! where the next kinds of content go, each as a `Text` with its member chain: the members of
//! archives (zip, APK, IPA, tar, gzip …, nested), binary property lists, DEX string tables,
//! Android binary XML. Sources do not change when a kind is added: they call `scan` and turn
//! each hit's `members` into `Provenance::member`s.
//!
//! Decoding a *value* (a base64 string under a key, URL-encoding, JSON escapes) is not done
//! here: whether a value is a token depends on the key that holds it, so the detector decodes
//! values where it judges them. Extract decodes *whole blobs*.

use std::borrow::Cow;

use crate::detect::Detector;
use crate::haystack::{self, Hit, Scanned};

/// One text the detector judges: the blob itself, or something found inside it.
#[derive(Debug)]
pub struct Text<'a> {
    /// Members from the blob to this text, outermost first; empty for the blob itself.
    pub members: Vec<String>,
    pub data: Cow<'a, [u8]>,
}

/// What a blob holds for the detector.
#[derive(Debug, Default)]
pub struct Extracted<'a> {
    pub texts: Vec<Text<'a>>,
    /// Nothing in the blob could be read as text.
    pub binary: bool,
    /// Parts of the blob not read, with their member chain and why.
    pub skipped: Vec<(Vec<String>, String)>,
}

/// The texts of one blob.
pub fn extract(data: &[u8]) -> Extracted<'_> {
    if haystack::is_binary(data) {
        return Extracted {
            binary: true,
            ..Extracted::default()
        };
    }
    Extracted {
        texts: vec![Text {
            members: Vec::new(),
            data: Cow::Borrowed(data),
        }],
        ..Extracted::default()
    }
}

/// What scanning one blob found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Bytes of the blob.
    pub bytes: u64,
    /// Nothing in it was text.
    pub binary: bool,
    /// Hits in every text, each with the member chain of its text.
    pub hits: Vec<Hit>,
    pub skipped: Vec<(Vec<String>, String)>,
}

/// Extracts the texts of a blob held in memory and runs the detector over each.
pub fn scan(det: &Detector, data: &[u8], path: &[u8]) -> Scan {
    let ex = extract(data);
    let mut out = Scan {
        bytes: data.len() as u64,
        binary: ex.binary,
        hits: Vec::new(),
        skipped: ex.skipped,
    };
    for t in ex.texts {
        if let Scanned::Text { hits, .. } = haystack::scan_slice(det, &t.data, path) {
            out.hits.extend(hits.into_iter().map(|mut h| {
                h.members = t.members.clone();
                h
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::default_rules;

    #[test]
    fn a_text_blob_is_one_text_and_a_binary_one_none() {
        let text = b"APPLIVERY_APP_TOKEN=Zk3qP9xVb2LmN7wQe4RtY6uA\n"; // applivery-leaks:allow
        let e = extract(text);
        assert!(!e.binary);
        assert_eq!(e.texts.len(), 1);
        assert!(e.texts[0].members.is_empty());
        let mut bin = text.to_vec();
        bin.push(0);
        let e = extract(&bin);
        assert!(e.binary && e.texts.is_empty());
        let det = Detector::new(default_rules()).unwrap();
        let s = scan(&det, text, b"");
        assert_eq!(s.hits.len(), 1);
        assert!(s.hits[0].members.is_empty());
    }
}
