//! [`finish`](super::finish::finish) for a report whose findings are packed (`dir`), in a
//! format written one finding at a time (JSON Lines): the findings are put in report order
//! as small keys, suppressed by key, and unpacked one at a time as they are written, so a
//! file with a million findings never holds a million `Finding`s.
//!
//! It does what `finish` does, in the same order and with the same result, byte for byte:
//! every secret found (suppressed or not) is redacted from every context line; suppression
//! counts what it hides; the order is path, line, column, rule; paths, errors and warnings
//! are redacted with the secrets of the findings kept; the exit code follows. What it cannot
//! do without holding every finding — verification — makes `finish` unpack them instead.

use std::collections::HashMap;

use anyhow::Result;
use rayon::prelude::*;

use crate::cli::{FailOn, Format, ScanArgs};
use crate::command::output::{
    exit_code_failing, nothing_scanned, say_written_count, write_with, EXIT_CLEAN, EXIT_ERROR,
};
use crate::command::project::Project;
use crate::finding::{fingerprint, sha256_hex};
use crate::packed::{Packed, PackedFile, Record};
use crate::provenance::Provenance;
use crate::redact::Known;
use crate::report::{json, Report};
use crate::rules::Rule;

/// Whether `finish` can write `report` as it unpacks its findings.
pub(crate) fn can_stream(report: &Report, scan: &ScanArgs, format: Format) -> bool {
    report.packed.is_some()
        && report.findings.is_empty()
        && format == Format::Jsonl
        && !scan.verify.verify
}

/// A finding's place in the report's order, and where its record is.
struct Key {
    /// Index into [`Order::paths`], which are ranked: comparing indices compares paths.
    path: u32,
    line: u64,
    column: u64,
    /// The rule id's rank among the ids.
    rule: u32,
    file: u32,
    offset: usize,
}

/// The packed findings in report order: (path, line, column, rule), then as packed.
struct Order {
    keys: Vec<Key>,
    /// Every distinct path (a file, or a member inside it), sorted, with the file it is in
    /// and a record at it (to rebuild its provenance).
    paths: Vec<(String, u32, usize)>,
}

impl Order {
    fn new(packed: &Packed) -> Order {
        let mut ids: Vec<&str> = packed.rules().iter().map(String::as_str).collect();
        ids.sort_unstable();
        let rank: Vec<u32> = packed
            .rules()
            .iter()
            .map(|id| ids.partition_point(|x| x < &id.as_str()) as u32)
            .collect();
        let mut paths: Vec<(String, u32, usize)> = Vec::new();
        let mut keys = Vec::with_capacity(packed.len());
        for (fi, file) in packed.files().iter().enumerate() {
            let own = file.at().path();
            let mut own_index = None;
            let mut members: HashMap<String, u32> = HashMap::new();
            for (offset, r) in file.records() {
                let path = if r.members.is_empty() {
                    *own_index.get_or_insert_with(|| {
                        paths.push((own.clone(), fi as u32, offset));
                        paths.len() as u32 - 1
                    })
                } else {
                    let p = file.provenance(&r).path();
                    *members.entry(p).or_insert_with_key(|p| {
                        paths.push((p.clone(), fi as u32, offset));
                        paths.len() as u32 - 1
                    })
                };
                keys.push(Key {
                    path,
                    line: r.line,
                    column: r.column,
                    rule: rank.get(r.rule).copied().unwrap_or(u32::MAX),
                    file: fi as u32,
                    offset,
                });
            }
        }
        // Rank the paths, then renumber the keys by rank.
        let mut by_name: Vec<u32> = (0..paths.len() as u32).collect();
        by_name.sort_by(|&a, &b| paths[a as usize].0.cmp(&paths[b as usize].0));
        let mut rank_of = vec![0u32; paths.len()];
        for (rank, &i) in by_name.iter().enumerate() {
            rank_of[i as usize] = rank as u32;
        }
        for k in &mut keys {
            k.path = rank_of[k.path as usize];
        }
        let mut slots: Vec<Option<(String, u32, usize)>> = paths.into_iter().map(Some).collect();
        let paths = by_name
            .iter()
            .filter_map(|&i| slots[i as usize].take())
            .collect();
        keys.sort_by(|a, b| {
            (a.path, a.line, a.column, a.rule, a.file, a.offset)
                .cmp(&(b.path, b.line, b.column, b.rule, b.file, b.offset))
        });
        Order { keys, paths }
    }
}

/// Finishes a report whose findings are packed ([`can_stream`]): see the module's comment.
pub(crate) fn finish(
    mut report: Report,
    rules: &[Rule],
    project: &Project,
    scan: &ScanArgs,
    format: Format,
) -> Result<u8> {
    let Some(packed) = report.packed.take() else {
        return Ok(EXIT_ERROR);
    };
    report.sarif_category = scan.sarif_category.clone();
    report.explain = scan.explain;
    // The order and the set of every secret found (which every context is redacted with)
    // are two passes over the pack, independent: on two threads unless `-j 1`.
    let (mut order, every) = if scan.threads == Some(1) {
        (Order::new(&packed), every_secret(&packed))
    } else {
        rayon::join(|| Order::new(&packed), || every_secret(&packed))
    };
    let file = |k: &Key| &packed.files()[k.file as usize];
    let rule_id = |r: &Record| packed.rules().get(r.rule).map_or("", String::as_str);

    // Suppression, by key.
    let mut filter = project.filter(scan.no_suppress, scan.report_unused);
    let fingerprints = filter.needs_fingerprints();
    order.keys.retain(|k| {
        let r = file(k).record(k.offset);
        let path = &order.paths[k.path as usize].0;
        let rule = rule_id(&r);
        let fp = fingerprints.then(|| fingerprint(rule, path, &sha256_hex(r.secret.as_bytes())));
        filter.keep(path, rule, r.secret, r.inline_allowed, fp.as_deref())
    });
    filter.finish(&mut report);
    report.sort();
    nothing_scanned(&mut report);

    // Names: the secrets of the findings kept, redacted from paths and the report's names.
    // Contexts: every secret found, suppressed or not (as `redact_known` does before
    // suppression). When nothing was suppressed the two sets are one.
    let mut shown: Vec<Option<(String, Provenance)>> = vec![None; order.paths.len()];
    if !scan.show_secrets {
        let kept;
        let names: &Known = if order.keys.len() == packed.len() {
            &every
        } else {
            let mut k = Known::with_capacity(order.keys.len());
            for key in &order.keys {
                k.insert(file(key).record(key.offset).secret.as_bytes());
            }
            kept = k;
            &kept
        };
        report.redact_names_in(names);
        if !names.is_empty() {
            for k in &order.keys {
                let slot = &mut shown[k.path as usize];
                if slot.is_none() {
                    *slot = Some(renamed(&order.paths[k.path as usize], &packed, names));
                }
            }
        }
    }
    crate::command::output::tell_all(&report, scan.quiet);
    let review_fails = project.tell_changes(&mut report, scan.quiet);
    let count = order.keys.len();
    let written = write_with(
        format,
        scan.show_secrets,
        scan.output.as_ref(),
        |style, out| {
            // Each finding unpacked, redacted and serialised on every thread (one with
            // `-j 1`), a part at a time, and the parts written in order.
            let part = |keys: &[Key]| -> std::io::Result<Vec<u8>> {
                let (mut line, mut buf) = (Vec::new(), Vec::new());
                for k in keys {
                    let pf: &PackedFile = file(k);
                    let r = pf.record(k.offset);
                    let mut f = pf.finding(&r, packed.rules());
                    if let Some(c) = every.redact_in(&f.context_redacted) {
                        f.context_redacted = c;
                    }
                    if let Some((path, provenance)) = &shown[k.path as usize] {
                        f.path = path.clone();
                        f.provenance = provenance.clone();
                    }
                    json::write_line(&f, rules, style.show_secrets, &mut line, &mut buf)?;
                }
                Ok(buf)
            };
            for batch in order.keys.chunks(WRITE_BATCH) {
                let parts: Vec<std::io::Result<Vec<u8>>> = if scan.threads == Some(1) {
                    batch.chunks(WRITE_PART).map(part).collect()
                } else {
                    batch.par_chunks(WRITE_PART).map(part).collect()
                };
                for p in parts {
                    out.write_all(&p?)?;
                }
            }
            Ok(())
        },
    )?;
    say_written_count(&report, count, written, scan.quiet);
    let failing = count > 0 && matches!(scan.verify.fail_on, FailOn::Any);
    let mut code = exit_code_failing(&report, failing);
    if review_fails && code == EXIT_CLEAN {
        code = EXIT_ERROR;
    }
    Ok(code)
}

/// Findings written per batch, in parts of `WRITE_PART` made on every thread: a batch's
/// lines (a few MiB) are held at once, never the whole report.
const WRITE_BATCH: usize = 16_384;
const WRITE_PART: usize = 512;

/// Every secret of the pack, as the set of their fingerprints (`Known`).
fn every_secret(packed: &Packed) -> Known {
    let mut known = Known::with_capacity(packed.len());
    for f in packed.files() {
        for secret in f.secrets() {
            known.insert(secret.as_bytes());
        }
    }
    known
}

/// A path and its provenance as reports show them: every known secret in them redacted.
fn renamed(
    &(ref path, file, offset): &(String, u32, usize),
    packed: &Packed,
    known: &Known,
) -> (String, Provenance) {
    let pf = &packed.files()[file as usize];
    let mut provenance = pf.provenance(&pf.record(offset));
    let f = |s: &str| known.redact_in(s);
    provenance.rename(&f);
    (f(path).unwrap_or_else(|| path.clone()), provenance)
}
