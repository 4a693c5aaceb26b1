//! Pass 3 of a staged scan: which lines are new. A staged file is compared with its HEAD
//! version, or an added one with the deleted file it was renamed from (same blob, or at least
//! half of its lines), so moving a file does not make its old lines new. A copy is a new
//! occurrence and is reported.

use std::collections::HashMap;
use std::ops::Range;

use git2::{DiffOptions, Oid, Patch};

use super::super::git::objects::Objects;

/// Deleted files considered as the source of one added file that has findings.
const RENAME_CANDIDATES: usize = 64;

/// Deleted files, as sources an added file may have been renamed from. Each deleted file
/// is the source of one rename at most: a second added copy of it is a copy, and reported.
pub(super) struct Renames {
    /// Deleted blob ids, with how many deleted files hold each.
    deleted: HashMap<Oid, usize>,
    /// Sizes of the deleted blobs, read only when an added file has hits.
    sizes: Option<Vec<(Oid, u64)>>,
}

impl Renames {
    pub(super) fn new(deleted: impl Iterator<Item = Oid>) -> Renames {
        let mut map = HashMap::new();
        for oid in deleted {
            *map.entry(oid).or_insert(0) += 1;
        }
        Renames {
            deleted: map,
            sizes: None,
        }
    }

    /// Uses up a deleted file with exactly this content, if there is one left.
    pub(super) fn take(&mut self, oid: Oid) -> bool {
        match self.deleted.get_mut(&oid) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// The deleted blob `new` most resembles, with the lines that are new relative to it, if
    /// at least half of the lines are shared; that source is used up.
    pub(super) fn best(&mut self, objects: &Objects, new: &[u8]) -> Option<Vec<Range<u64>>> {
        if self.deleted.values().all(|&n| n == 0) {
            return None;
        }
        if self.sizes.is_none() {
            self.sizes = Some(
                self.deleted
                    .keys()
                    .map(|&o| (o, objects.header(o).map_or(0, |(n, _)| n as u64)))
                    .collect(),
            );
        }
        let size = new.len() as u64;
        let mut cands: Vec<(Oid, u64)> = self
            .sizes
            .iter()
            .flatten()
            .filter(|(o, _)| self.deleted.get(o).is_some_and(|&n| n > 0))
            .copied()
            .collect();
        cands.sort_by_key(|&(_, n)| n.abs_diff(size));
        let mut best: Option<(f64, Oid, Vec<Range<u64>>)> = None;
        for (oid, _) in cands.into_iter().take(RENAME_CANDIDATES) {
            let Ok(old) = objects.read(oid) else {
                continue;
            };
            if let Ok((added, sim)) = compare(old.data(), new) {
                if sim >= 0.5 && best.as_ref().is_none_or(|b| sim > b.0) {
                    best = Some((sim, oid, added));
                }
            }
        }
        let (_, oid, added) = best?;
        self.take(oid);
        Some(added)
    }
}

/// Line ranges (1-based, in `new`) that are added or modified compared with `old`, and how
/// similar the two are (shared lines / lines of the longer one). Lines whose only change is
/// trailing whitespace or the line ending (LF to CRLF) are not new.
pub(super) fn compare(
    old: &[u8],
    new: &[u8],
) -> std::result::Result<(Vec<Range<u64>>, f64), git2::Error> {
    let mut opts = DiffOptions::new();
    opts.context_lines(0)
        .interhunk_lines(0)
        .force_text(true)
        .ignore_whitespace_eol(true);
    // Buffers, not blobs: a blob diff looks up the file's gitattributes, which makes libgit2
    // load the whole index (~90 ms at 100k files) — the cost step 1 avoids.
    let patch = Patch::from_buffers(old, None, new, None, Some(&mut opts))?;
    let mut out = Vec::with_capacity(patch.num_hunks());
    let mut removed = 0u64;
    for i in 0..patch.num_hunks() {
        let (h, _) = patch.hunk(i)?;
        let start = u64::from(h.new_start());
        out.push(start..start + u64::from(h.new_lines()));
        removed += u64::from(h.old_lines());
    }
    let (a, b) = (lines(old), lines(new));
    let sim = if a.max(b) == 0 {
        1.0
    } else {
        a.saturating_sub(removed) as f64 / a.max(b) as f64
    };
    Ok((out, sim))
}

fn lines(b: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', b).count() as u64;
    n + u64::from(b.last().is_some_and(|&c| c != b'\n'))
}
