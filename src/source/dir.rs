//! Working trees and files: a parallel walk (the `ignore` crate, as in ripgrep) that honours
//! .gitignore / .ignore / global excludes, scans hidden files (`.env`, `.github/` are where
//! tokens live), never enters `.git/`, and accounts for every path it does not scan.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Result};
use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

use crate::detect::Detector;
use crate::finding::Finding;
use crate::haystack::{scan_reader, scan_reader_each, Scanned, CHUNK};
use crate::packed::{Packed, PackedFile};
use crate::provenance::Provenance;
use crate::report::{Problem, Report, ScanKind};

pub struct DirOptions {
    pub paths: Vec<PathBuf>,
    pub no_ignore: bool,
    pub follow_symlinks: bool,
    pub max_file_size: Option<u64>,
    /// Gitignore-style globs of paths not to scan (relative to the root).
    pub exclude: Vec<String>,
    /// How archives are opened (their members matched against `exclude` too).
    pub archives: crate::extract::Settings,
    pub threads: usize,
    /// Draw a progress line on stderr (files and bytes read so far).
    pub progress: bool,
    /// Count the files .gitignore kept out (a second walk, names only) for the note that
    /// says so; a quiet run that scanned something does without.
    pub count_ignored: bool,
}

/// The directory reported paths are relative to: the one directory given, else the current
/// directory.
pub fn scan_root(paths: &[PathBuf]) -> PathBuf {
    if paths.len() == 1 && paths[0].is_dir() {
        paths[0].clone()
    } else {
        PathBuf::from(".")
    }
}

#[derive(Default)]
struct Shared {
    /// With several paths given, the files already visited (canonical paths): `dir .
    /// ./upload.sh` names upload.sh twice, and it is scanned and reported once.
    seen: Option<Mutex<HashSet<PathBuf>>>,
    findings: Mutex<Vec<Finding>>,
    /// With `pack` (the first look): the findings, packed file by file, and `findings`
    /// stays empty; the second look, rare, makes `Finding`s to compare with the first's.
    pack: bool,
    packed: Mutex<Packed>,
    errors: Mutex<Vec<Problem>>,
    skipped: Mutex<Vec<Problem>>,
    files: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
    /// Entries the walk handed over that are not directories (read or not).
    entries: AtomicU64,
    /// The progress line (hidden unless asked for).
    progress: Option<indicatif::ProgressBar>,
}

pub fn scan(det: &Detector, opts: &DirOptions) -> Result<Report> {
    let started = Instant::now();
    let root = scan_root(&opts.paths);
    let mut report = Report::new(ScanKind::Dir, root.clone());
    let shared = Shared {
        seen: (opts.paths.len() > 1).then(Mutex::default),
        progress: opts.progress.then(progress_line),
        pack: true,
        packed: Mutex::new(Packed::new(
            det.rules().iter().map(|r| r.id.clone()).collect(),
        )),
        ..Shared::default()
    };

    let mut walk = WalkBuilder::new(&opts.paths[0]);
    for p in &opts.paths[1..] {
        walk.add(p);
    }
    crate::haystack::set_parallel_chunks(opts.threads);
    let honour = !opts.no_ignore;
    walk.hidden(false)
        .ignore(honour)
        .git_ignore(honour)
        .git_global(honour)
        .git_exclude(honour)
        .parents(honour)
        .require_git(false)
        .follow_links(opts.follow_symlinks)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    if !opts.exclude.is_empty() {
        let mut ob = OverrideBuilder::new(&root);
        for g in &opts.exclude {
            if let Err(e) = ob.add(&format!("!{g}")) {
                bail!("invalid exclude glob '{g}': {e}");
            }
        }
        walk.overrides(ob.build()?);
    }

    // Names logged by an earlier scan with this detector are not this tree's.
    det.take_sink_names();
    walk_files(&walk, det, opts, &root, &shared);
    let mut findings = crate::sync::into_inner(shared.findings);
    let mut packed = crate::sync::into_inner(shared.packed);
    // A constant used at an Applivery sink in one file and defined in another: the files
    // that could define such a name are judged again, knowing it (detect/project.rs). This
    // costs nothing unless a file of the tree had such a sink.
    let names = det.take_sink_names();
    if !names.is_empty() {
        let view = det.with_project(names)?;
        let again = Shared {
            seen: (opts.paths.len() > 1).then(Mutex::default),
            ..Shared::default()
        };
        walk_files(&walk, &view, opts, &root, &again);
        let more = crate::sync::into_inner(again.findings);
        if !more.is_empty() {
            // Rare (a sink in one file, its constant in another): compared with the first
            // look's findings as findings.
            findings.extend(std::mem::take(&mut packed).unpack());
            super::add_new(&mut findings, more);
        }
    }

    report.findings = findings;
    if !packed.is_empty() {
        report.packed = Some(packed);
    }
    report.errors = crate::sync::into_inner(shared.errors);
    report.summary.skipped = crate::sync::into_inner(shared.skipped);
    report.summary.files = shared.files.into_inner();
    report.summary.bytes = shared.bytes.into_inner();
    report.summary.binary = shared.binary.into_inner();
    if let Some(pb) = &shared.progress {
        pb.finish_and_clear();
    }
    // Counted when the note will be shown, or when nothing was scanned (then the count is
    // what the error line says).
    if honour && (opts.count_ignored || report.summary.files == 0) {
        report.summary.ignored = ignored(&walk, shared.entries.into_inner());
    }
    report.summary.duration = started.elapsed();
    report.sort();
    Ok(report)
}

/// A spinner with the files and bytes read so far, on stderr (a terminal: the caller asks
/// only then), redrawn at most a few times a second whatever the rate of files.
fn progress_line() -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
    pb.set_style(
        ProgressStyle::with_template("{spinner} scanned {pos} file(s), {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message("0.0 MiB");
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// How many files .gitignore, .ignore and git's excludes kept out of the walk: the same walk
/// with them off (names only, nothing read) counts `walked` plus those.
fn ignored(walk: &WalkBuilder, walked: u64) -> u64 {
    let mut all = walk.clone();
    all.ignore(false)
        .git_ignore(false)
        .git_global(false)
        .git_exclude(false)
        .parents(false);
    let n = AtomicU64::new(0);
    all.build_parallel().run(|| {
        Box::new(|entry| {
            if let Ok(e) = entry {
                if e.file_type().is_some_and(|t| !t.is_dir()) {
                    n.fetch_add(1, Ordering::Relaxed);
                }
            }
            WalkState::Continue
        })
    });
    n.into_inner().saturating_sub(walked)
}

/// Walks the tree in parallel and scans every file with `det` into `shared` (in a
/// cross-file pass, every file it could define a name in: `Detector::project_reads`).
fn walk_files(walk: &WalkBuilder, det: &Detector, opts: &DirOptions, root: &Path, shared: &Shared) {
    walk.build_parallel().run(|| {
        let mut buf = Vec::new();
        Box::new(move |entry| {
            match entry {
                Err(err) => {
                    let (path, reason) = walk_error(&err);
                    crate::sync::lock(&shared.errors).push(Problem::new(path, reason));
                }
                // A cross-file pass reads only files that could define a name it knows.
                Ok(ent) if !det.project_reads(ent.path().as_os_str().as_encoded_bytes()) => {}
                Ok(ent) => visit(det, opts, root, &ent, shared, &mut buf),
            }
            WalkState::Continue
        })
    });
}

/// Reported path: relative to the root, `/` separators, no leading `./`.
pub fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    let s = s.trim_start_matches("./");
    if s.is_empty() {
        path.to_string_lossy().into_owned()
    } else {
        s.to_string()
    }
}

fn walk_error(err: &ignore::Error) -> (String, String) {
    fn inner(err: &ignore::Error, path: Option<&Path>) -> (String, String) {
        match err {
            ignore::Error::WithPath { path, err } => inner(err, Some(path)),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                inner(err, path)
            }
            ignore::Error::Loop { child, .. } => (
                child.to_string_lossy().into_owned(),
                "symbolic link loop".into(),
            ),
            ignore::Error::Io(e) => {
                let p = path
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let reason = if e.kind() == std::io::ErrorKind::NotFound
                    && path.is_some_and(|p| p.symlink_metadata().is_ok())
                {
                    "broken symbolic link".to_string()
                } else {
                    crate::report::io_reason(e)
                };
                (p, reason)
            }
            other => (
                path.map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                other.to_string(),
            ),
        }
    }
    inner(err, None)
}

fn visit(
    det: &Detector,
    opts: &DirOptions,
    root: &Path,
    ent: &ignore::DirEntry,
    shared: &Shared,
    buf: &mut Vec<u8>,
) {
    let path = ent.path();
    let shown = display_path(root, path);
    let Some(ft) = ent.file_type() else { return };
    if ft.is_dir() {
        return;
    }
    shared.entries.fetch_add(1, Ordering::Relaxed);
    // A symlink named on the command line is followed, as the user asked for it by name.
    if ft.is_symlink() && ent.depth() > 0 {
        crate::sync::lock(&shared.skipped).push(Problem::new(
            shown,
            "symbolic link not followed (use --follow-symlinks)",
        ));
        return;
    }
    // A path named on the command line is what the user asked for: it is read if it can be
    // (a FIFO, `<(cmd)`), and if it cannot be scanned that is an error, not a skip.
    let named = ent.depth() == 0;
    // A regular file (the directory entry says so) is opened and asked its size through the
    // open file: one lookup of its path instead of two. Anything else is looked at first, so
    // a FIFO is opened only when named.
    let mut opened = None;
    let looked = if ft.is_file() {
        File::open(path).and_then(|f| {
            let m = f.metadata()?;
            opened = Some(f);
            Ok(m)
        })
    } else {
        std::fs::metadata(path)
    };
    let meta = match looked {
        Ok(m) => m,
        Err(e) => {
            let reason = if e.kind() == std::io::ErrorKind::NotFound && ft.is_symlink() {
                "broken symbolic link".to_string()
            } else {
                crate::report::io_reason(&e)
            };
            crate::sync::lock(&shared.errors).push(Problem::new(shown, reason));
            return;
        }
    };
    if meta.is_dir() {
        return;
    }
    if let Some(seen) = &shared.seen {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if !crate::sync::lock(seen).insert(key) {
            return;
        }
    }
    if !meta.is_file() {
        let kind = special_kind(&meta);
        if named && kind == "fifo" {
            // Streamed like standard input: a pipe has no size to check against a limit, and
            // cannot be read twice to open it as an archive.
            let scanned = File::open(path)
                .and_then(|f| scan_reader(det, f, shown.as_bytes(), buf))
                .map(from_stream);
            record(det, shared, shown, scanned, None, named);
            return;
        }
        let problem = Problem::new(shown, format!("not a regular file ({kind})"));
        if named {
            crate::sync::lock(&shared.errors).push(problem);
        } else {
            crate::sync::lock(&shared.skipped).push(problem);
        }
        return;
    }
    if let Some(max) = opts.max_file_size {
        if meta.len() > max {
            crate::sync::lock(&shared.skipped).push(Problem::new(
                shown,
                format!("larger than --max-file-size ({} > {max} bytes)", meta.len()),
            ));
            return;
        }
    }
    let file = match opened {
        Some(f) => Ok(f),
        None => File::open(path),
    };
    let mut pack = shared
        .pack
        .then(|| PackedFile::new(Provenance::file(shown.as_str())));
    let scanned = file.and_then(|mut f| {
        if meta.len() <= CHUNK as u64 {
            let n = read_whole(&mut f, meta.len() as usize, buf)?;
            Ok(crate::extract::scan(
                det,
                &opts.archives,
                shown.as_bytes(),
                &buf[..n],
            ))
        } else {
            // An archive is read through the file (a zip seeks to each member); anything
            // else streams in chunks.
            match crate::extract::scan_file(det, &opts.archives, shown.as_bytes(), &mut f)? {
                Some(s) => Ok(s),
                None => match pack.as_mut() {
                    // Each chunk's hits are packed as they are located.
                    Some(p) => {
                        let mut each = |hits: &mut Vec<crate::haystack::Hit>| {
                            for h in hits.drain(..) {
                                super::pack(p, &h, false);
                            }
                        };
                        let s = scan_reader_each(det, f, shown.as_bytes(), buf, &mut each)?;
                        p.set_hosts(s.hosts);
                        Ok(crate::extract::Scan {
                            bytes: s.bytes,
                            binary: s.binary,
                            ..Default::default()
                        })
                    }
                    None => scan_reader(det, f, shown.as_bytes(), buf).map(from_stream),
                },
            }
        }
    });
    if let Some(p) = pack.filter(|p| !p.is_empty()) {
        crate::sync::lock(&shared.packed).add(p);
    }
    record(det, shared, shown, scanned, Some(meta.len()), named);
    if buf.capacity() > 4 * CHUNK {
        *buf = Vec::new();
    }
}

fn from_stream(s: Scanned) -> crate::extract::Scan {
    match s {
        Scanned::Text { bytes, hits } => crate::extract::Scan {
            bytes,
            hits,
            ..Default::default()
        },
        Scanned::Binary { bytes } => crate::extract::Scan {
            bytes,
            binary: true,
            ..Default::default()
        },
    }
}

/// Accounts for one scanned file: its findings, or why it was not scanned. `size` is the
/// file's size when known (a binary file is not read to the end).
fn record(
    det: &Detector,
    shared: &Shared,
    shown: String,
    scanned: std::io::Result<crate::extract::Scan>,
    size: Option<u64>,
    named: bool,
) {
    match scanned {
        Ok(s) => {
            let at = Provenance::file(shown.as_str());
            if s.binary {
                shared.binary.fetch_add(1, Ordering::Relaxed);
                shared
                    .bytes
                    .fetch_add(size.unwrap_or(s.bytes), Ordering::Relaxed);
                if named {
                    // Counted is not enough for a file the user named: say it was not scanned.
                    crate::sync::lock(&shared.skipped).push(Problem::new(
                        shown.as_str(),
                        "binary data (NUL byte in the first 8 KiB), not scanned",
                    ));
                }
            } else {
                let n = shared.files.fetch_add(1, Ordering::Relaxed) + 1;
                let b = shared.bytes.fetch_add(s.bytes, Ordering::Relaxed) + s.bytes;
                if let Some(pb) = &shared.progress {
                    // `inc` is an atomic add and draws at the target's rate; the size is
                    // formatted only now and then.
                    pb.inc(1);
                    if n % 512 == 1 {
                        pb.set_message(format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)));
                    }
                }
            }
            if !s.skipped.is_empty() {
                let mut sk = crate::sync::lock(&shared.skipped);
                for (members, reason) in s.skipped {
                    sk.push(Problem::new(super::member_path(&at, members), reason));
                }
            }
            if !s.errors.is_empty() {
                let mut er = crate::sync::lock(&shared.errors);
                for (members, reason) in s.errors {
                    er.push(Problem::new(super::member_path(&at, members), reason));
                }
            }
            if !s.hits.is_empty() && shared.pack {
                let mut p = PackedFile::new(at);
                for h in &s.hits {
                    super::pack(&mut p, h, true);
                }
                drop(s.hits);
                crate::sync::lock(&shared.packed).add(p);
            } else if !s.hits.is_empty() {
                // Made outside the lock: the other walkers keep going meanwhile.
                let found = super::findings(det, &at, s.hits);
                let mut fs = crate::sync::lock(&shared.findings);
                if fs.is_empty() {
                    *fs = found;
                } else {
                    fs.extend(found);
                }
            }
        }
        Err(e) => crate::sync::lock(&shared.errors)
            .push(Problem::new(shown, crate::report::io_reason(&e))),
    }
}

/// Reads `f` to its end into `buf` and returns how many bytes it holds. `buf` keeps its
/// length between files, so its bytes are zeroed once, not for every file; `len` (the size
/// the walk saw) sizes it, so a file costs two reads, the second one seeing its end.
/// (`File::read_to_end` would first ask the kernel for the file's size and position again.)
fn read_whole(f: &mut File, len: usize, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.len() <= len {
        buf.resize(len + 1, 0);
    }
    let mut n = 0;
    loop {
        match f.read(&mut buf[n..]) {
            Ok(0) => return Ok(n),
            Ok(k) => {
                n += k;
                if n == buf.len() {
                    // The file grew since the walk saw it.
                    buf.resize(2 * n, 0);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(unix)]
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::Metadata) -> &'static str {
    "special file"
}
