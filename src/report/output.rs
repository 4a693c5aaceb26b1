//! Where a report goes when `--output` names a file, written so that nobody ever reads half a
//! report and no partial copy of one is left lying where a repository would pick it up.
//!
//! - A regular file, or a path that does not exist yet, is replaced atomically: the report is
//!   written to a file in the same directory (same filesystem, so the final `rename` is
//!   atomic) and renamed over the path when complete. The replaced file keeps its mode (and,
//!   for root, its owner); a new file gets the usual `0666 & ~umask`, or `0600` when it holds
//!   full secrets.
//! - The temporary file has no name while it is written: on Linux it is opened with
//!   `O_TMPFILE`, so no kill (not even `kill -9` or a power cut) can leave partial content
//!   behind; it gets a name only when complete. Where `O_TMPFILE` is not available, it is a
//!   file named `.git` inside a private (0700) directory `.applivery-leaks-*.tmp` beside the
//!   target: git never adds a path component named `.git`, so even a copy that survives a
//!   hard kill is not committed by `git add -A`. Ctrl-C, SIGTERM and SIGHUP remove it.
//! - Anything else that exists — `/dev/null`, a FIFO, a terminal — is written through, never
//!   replaced; a symbolic link is followed, so `-o link` updates what it points at.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use crate::sync::lock;

/// Writes what `fill` produces to `path`, as described in the module documentation.
/// `private` asks for mode 0600 when the file is new (the report holds full secrets).
pub fn write_file(
    path: &Path,
    private: bool,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let Some(meta) = meta else {
        return replace(path, None, private, fill);
    };
    if meta.file_type().is_symlink() {
        return match fs::metadata(path) {
            // Replace what the link points at, in its own directory; the link stays.
            Ok(_) => write_file(&fs::canonicalize(path)?, private, fill),
            // A dangling link: create its target through it, as `>` in a shell does.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut opts = OpenOptions::new();
                opts.write(true).create(true).truncate(true);
                new_file_mode(&mut opts, private);
                write_through(opts.open(path)?, fill)
            }
            Err(e) => Err(e),
        };
    }
    if meta.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    if meta.is_file() {
        return replace(path, Some(&meta), private, fill);
    }
    // A device, a FIFO or a socket: write to it; replacing `/dev/null` with a regular file
    // (what a rename over it does, as root) would break the machine.
    write_through(OpenOptions::new().write(true).open(path)?, fill)
}

/// Writes a file whose name the program chose itself, in a directory others may write to (a
/// sweep's `--output-dir` on a shared volume): whatever was planted at `path` — a symbolic
/// link, a FIFO, a device — is replaced by the new file, never followed or written through.
/// The report is written to a fresh name (`O_TMPFILE`, else `O_EXCL` in a new private
/// directory) and renamed over `path`, which replaces a link itself, not its target.
pub fn write_file_nofollow(
    path: &Path,
    private: bool,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let old = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => return Err(io::Error::other("is a directory")),
        Ok(m) if m.is_file() => Some(m),
        Ok(_) => None,
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    replace(path, old.as_ref(), private, fill)
}

fn write_through(
    file: File,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut w = io::BufWriter::new(file);
    fill(&mut w)?;
    w.flush()
}

#[cfg(unix)]
fn new_file_mode(opts: &mut OpenOptions, private: bool) {
    use std::os::unix::fs::OpenOptionsExt;
    opts.mode(if private { 0o600 } else { 0o666 });
}

#[cfg(not(unix))]
fn new_file_mode(_: &mut OpenOptions, _: bool) {}

/// Replaces `path` (a regular file described by `old`, or nothing) atomically.
fn replace(
    path: &Path,
    old: Option<&fs::Metadata>,
    private: bool,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    #[cfg(target_os = "linux")]
    if std::env::var_os("APPLIVERY_LEAKS_NO_TMPFILE").is_none() {
        if let Some(file) = unnamed::open(&dir, mode_for(old, private))? {
            let file = complete(file, old, fill)?;
            if old.is_none() {
                match unnamed::link(&file, path) {
                    Ok(()) => return Ok(()),
                    // Created meanwhile by someone else: replace it like any other file.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            let staging = Staging::new(&dir)?;
            unnamed::link(&file, &staging.file())?;
            return staging.finish(path);
        }
    }
    let staging = Staging::new(&dir)?;
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode_for(old, private));
    }
    complete(opts.open(staging.file())?, old, fill)?;
    staging.finish(path)
}

/// The mode to create the new file with (before the umask): the old file's, else the usual.
#[cfg(unix)]
fn mode_for(old: Option<&fs::Metadata>, private: bool) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    match old {
        Some(m) => m.permissions().mode() & 0o7777,
        None if private => 0o600,
        None => 0o666,
    }
}

#[cfg(not(unix))]
fn mode_for(_: Option<&fs::Metadata>, _: bool) -> u32 {
    0
}

/// Fills `file`, gives it the old file's exact mode and owner, and makes it durable.
fn complete(
    file: File,
    old: Option<&fs::Metadata>,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<File> {
    let mut w = io::BufWriter::new(file);
    if std::env::var_os("APPLIVERY_LEAKS_TEST_SLOW_WRITE").is_some() {
        fill(&mut Slow(&mut w, 0))?;
    } else {
        fill(&mut w)?;
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    if let Some(m) = old {
        // The umask applied at creation may have taken bits the old file had.
        file.set_permissions(m.permissions())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // Only root can give a file away; for anyone else this is a no-op or refused,
            // and the report is still written.
            let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
        }
    }
    file.sync_all()?;
    Ok(file)
}

/// A writer that pauses 2 ms after every 16 KiB: with `APPLIVERY_LEAKS_TEST_SLOW_WRITE` set,
/// the tests that interrupt a report while it is written (tests/it/hostile.rs) get a window
/// that a loaded machine cannot close before their signal arrives. Nothing else sets it.
struct Slow<W>(W, usize);

impl<W: Write> Write for Slow<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.0.write(b)?;
        self.1 += n;
        if self.1 >= 16 << 10 {
            self.1 = 0;
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A private directory beside the target that holds the complete report under the name
/// `.git` until it is renamed into place; removed on drop and on Ctrl-C / SIGTERM / SIGHUP.
struct Staging {
    dir: PathBuf,
}

/// Staging directories in use, for the signal handler to remove.
static STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl Staging {
    fn new(parent: &Path) -> io::Result<Staging> {
        cleanup_on_signals();
        let mut b = tempfile::Builder::new();
        b.prefix(".applivery-leaks-").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Private whatever the final file's mode: nobody else reads a partial report.
            b.permissions(fs::Permissions::from_mode(0o700));
        }
        let dir = b.tempdir_in(parent)?.keep();
        lock(&STAGING).push(dir.clone());
        Ok(Staging { dir })
    }

    fn file(&self) -> PathBuf {
        self.dir.join(".git")
    }

    fn finish(self, path: &Path) -> io::Result<()> {
        fs::rename(self.file(), path)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        lock(&STAGING).retain(|d| d != &self.dir);
    }
}

/// On Ctrl-C, SIGTERM or SIGHUP while a report is being written: remove the staging
/// directories, then die of the signal as if no handler were installed (so the shell sees
/// 130 for Ctrl-C). Installed the first time a report file is written; the handler runs on
/// an ordinary thread (signal-hook's self-pipe), where removing files is safe.
fn cleanup_on_signals() {
    #[cfg(unix)]
    {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return; // no handler: a Ctrl-C leaves at most the private staging directory
            };
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    for d in lock(&STAGING).iter() {
                        let _ = fs::remove_dir_all(d);
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                    std::process::exit(128 + sig);
                }
            });
        });
    }
}

/// Files without a name (`O_TMPFILE`), linked into the directory tree once complete.
/// Through rustix: std exposes neither flag, and the crate denies unsafe code.
#[cfg(target_os = "linux")]
mod unnamed {
    use std::fs::File;
    use std::io;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    use rustix::fs::{linkat, openat, AtFlags, Mode, OFlags, CWD};
    use rustix::io::Errno;

    /// An unnamed file in `dir`, or None where the filesystem (or kernel) has no `O_TMPFILE`
    /// or `/proc` is not mounted to link it later.
    pub fn open(dir: &Path, mode: u32) -> io::Result<Option<File>> {
        if !Path::new("/proc/self/fd").is_dir() {
            return Ok(None);
        }
        let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
        match openat(CWD, dir, flags, Mode::from_raw_mode(mode)) {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL | Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the unnamed `file` the name `to` (which must not exist).
    pub fn link(file: &File, to: &Path) -> io::Result<()> {
        let from = format!("/proc/self/fd/{}", file.as_raw_fd());
        linkat(CWD, from.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)?;
        Ok(())
    }
}
