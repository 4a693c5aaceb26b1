//! Pass 3 of a sweep: read every unique blob once, in pack order, and run it through the
//! detector, on the pool's threads (each with its own repository handle: a `git2::Odb` is
//! not `Sync`). Only hits, errors and counts leave a worker; blob contents never outlive
//! their scan.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use git2::Oid;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::graph::Graph;
use super::objects::{id, Id, Objects, Store};
use super::walk::BATCH;
use crate::detect::Detector;
use crate::haystack::Hit;

/// What the blob scan found.
#[derive(Default)]
pub(crate) struct Blobs {
    pub hits: FxHashMap<Id, Vec<Hit>>,
    pub errors: Vec<(Oid, String)>,
    /// Blobs over `--max-file-size`, with their size.
    pub skipped: Vec<(Oid, u64)>,
    /// Archive members a limit stopped or that are damaged, by blob.
    pub members: Vec<MemberProblem>,
    pub text: u64,
    pub binary: u64,
    pub bytes: u64,
}

impl Blobs {
    /// Takes the hits of a second look at the same blobs (`Detector::with_project`) that the
    /// first one did not have; its errors and counts were counted the first time.
    pub(crate) fn add_new(&mut self, again: Blobs) {
        for (blob, hits) in again.hits {
            let known = self.hits.entry(blob).or_default();
            for h in hits {
                if !known.contains(&h) {
                    known.push(h);
                }
            }
        }
    }

    fn absorb(&mut self, other: Blobs) {
        self.hits.extend(other.hits);
        self.errors.extend(other.errors);
        self.skipped.extend(other.skipped);
        self.members.extend(other.members);
        self.text += other.text;
        self.binary += other.binary;
        self.bytes += other.bytes;
    }
}

/// A member of an archive blob that was not read: skipped by a limit, or damaged.
pub(crate) struct MemberProblem {
    pub oid: Oid,
    pub members: Vec<String>,
    pub reason: String,
    pub damaged: bool,
}

/// Scans `blobs` with `det`.
pub(crate) fn blobs(
    det: &Detector,
    store: &Store,
    graph: &Graph,
    (max_size, archives): (Option<u64>, &crate::extract::Settings),
    pool: &rayon::ThreadPool,
    progress: &ProgressBar,
) -> Blobs {
    // Blob indexes in pack order (looked up and sorted on every thread: 35-70 ms on git.git's
    // 165k blobs on one).
    let order: Vec<usize> = pool.install(|| {
        let mut keyed: Vec<(u32, u64, usize)> = graph
            .blobs()
            .par_iter()
            .enumerate()
            .map(|(i, &b)| {
                let (p, o) = super::packs::key(&store.packs, b);
                (p, o, i)
            })
            .collect();
        keyed.par_sort_unstable();
        keyed.into_par_iter().map(|k| k.2).collect()
    });

    progress.set_length(order.len() as u64);
    progress.set_position(0);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} scanning blobs [{bar:30}] {human_pos}/{human_len} {msg} ({eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let total = Mutex::new(Blobs::default());
    let bytes_done = AtomicU64::new(0);
    let found = AtomicU64::new(0);
    let started = Instant::now();
    pool.install(|| {
        // Every batch a task of its own. Left to itself, rayon splits the range a few times
        // and a worker then walks its piece alone: blobs cost unevenly along the pack, and on
        // git.git one of two workers finished 1.3 s before the other, idle.
        order.par_chunks(BATCH).with_max_len(1).for_each(|chunk| {
            let mut out = Blobs::default();
            let scanned = store.with_own_objects(|objects| {
                for &b in chunk {
                    let (oid, path) = (graph.blobs()[b], graph.judged_path(b));
                    scan_blob(det, objects, oid, path, (max_size, archives), &mut out);
                }
            });
            // Fail closed: every blob of the chunk is listed as unread.
            if let Err(e) = scanned {
                out.errors
                    .extend(chunk.iter().map(|&b| (graph.blobs()[b], e.clone())));
            }
            bytes_done.fetch_add(out.bytes, Ordering::Relaxed);
            found.fetch_add(out.hits.len() as u64, Ordering::Relaxed);
            if !progress.is_hidden() {
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                progress.inc(chunk.len() as u64);
                progress.set_message(format!(
                    "{:.0} MB/s, {} blob(s) with findings",
                    bytes_done.load(Ordering::Relaxed) as f64 / 1e6 / secs,
                    found.load(Ordering::Relaxed)
                ));
            }
            crate::sync::lock(&total).absorb(out);
        });
    });
    crate::sync::into_inner(total)
}

fn scan_blob(
    det: &Detector,
    objects: &Objects,
    oid: Oid,
    path: &[u8],
    (max, archives): (Option<u64>, &crate::extract::Settings),
    out: &mut Blobs,
) {
    if let Some(max) = max {
        match objects.header(oid) {
            Ok((size, _)) if size as u64 > max => {
                out.skipped.push((oid, size as u64));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                out.errors.push((oid, e));
                return;
            }
        }
    }
    let obj = match objects.read(oid) {
        Ok(o) => o,
        Err(e) => {
            out.errors.push((oid, e));
            return;
        }
    };
    // The path the blob is judged under is the first of its paths that is evidence; a
    // blob is read once for all its paths, so member exclusions apply to findings later.
    let s = crate::extract::scan(det, archives, path, obj.data());
    for (list, damaged) in [(s.skipped, false), (s.errors, true)] {
        out.members
            .extend(list.into_iter().map(|(members, reason)| MemberProblem {
                oid,
                members,
                reason,
                damaged,
            }));
    }
    out.bytes += s.bytes;
    if s.binary {
        out.binary += 1;
    } else {
        out.text += 1;
    }
    if !s.hits.is_empty() {
        out.hits.insert(id(oid), s.hits);
    }
}
