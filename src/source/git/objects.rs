//! Reading a repository's objects, and parsing the raw ones the sweep needs (commits, tags,
//! trees, pack indexes). Everything here reads bytes an attacker may have written, so every
//! parser takes a slice and returns `None` or an error on damage — never a panic — and each
//! has a fuzz target.
//!
//! Loose objects are inflated here, not by libgit2: the libgit2 this crate bundles loops
//! forever on a truncated loose object (libgit2 issues 7342, fixed upstream after the bundled
//! 1.9 release) and writes out of bounds on one whose body is longer than its header says
//! (issue 7177). A loose object that is damaged in either way is an error of ours, within
//! microseconds, and libgit2 never sees it. Packed objects are libgit2's.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid};
use rustc_hash::FxHashSet;

/// An object id as a plain value: compared inline and hashed cheaply (`Oid`'s `==` is a call
/// into libgit2, and SipHash's flood resistance buys nothing on SHA-1 ids).
pub(crate) type Id = [u8; 20];

pub(crate) fn id(o: Oid) -> Id {
    let mut i = [0; 20];
    i.copy_from_slice(o.as_bytes());
    i
}

pub(crate) fn oid(i: &Id) -> Oid {
    Oid::from_bytes(i).expect("20 bytes are an object id")
}

/// The four kinds of git object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl Kind {
    fn from_git2(t: ObjectType) -> Option<Kind> {
        match t {
            ObjectType::Commit => Some(Kind::Commit),
            ObjectType::Tree => Some(Kind::Tree),
            ObjectType::Blob => Some(Kind::Blob),
            ObjectType::Tag => Some(Kind::Tag),
            _ => None,
        }
    }

    fn from_name(n: &[u8]) -> Option<Kind> {
        match n {
            b"commit" => Some(Kind::Commit),
            b"tree" => Some(Kind::Tree),
            b"blob" => Some(Kind::Blob),
            b"tag" => Some(Kind::Tag),
            _ => None,
        }
    }
}

/// The directories loose objects live in: the repository's own and its alternates'.
#[derive(Debug, Clone)]
pub(crate) struct LooseDirs(Vec<PathBuf>);

impl LooseDirs {
    /// `objects` and every directory `objects/info/alternates` names (one level, as git).
    pub(crate) fn new(objects: &Path) -> LooseDirs {
        let mut dirs = vec![objects.to_path_buf()];
        if let Ok(text) = std::fs::read_to_string(objects.join("info/alternates")) {
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let p = Path::new(line);
                dirs.push(if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    objects.join(p)
                });
            }
        }
        LooseDirs(dirs)
    }

    /// These directories, then those of `extra` (each with its own alternates).
    pub(crate) fn with(mut self, extra: &[PathBuf]) -> LooseDirs {
        for dir in extra {
            for d in LooseDirs::new(dir).0 {
                if !self.0.contains(&d) {
                    self.0.push(d);
                }
            }
        }
        self
    }

    fn path_in(dir: &Path, oid: Oid) -> PathBuf {
        let hex = oid.to_string();
        dir.join(&hex[..2]).join(&hex[2..])
    }

    /// Where the loose copy of `oid` is, if there is one.
    fn find(&self, oid: Oid) -> Option<PathBuf> {
        self.0
            .iter()
            .map(|d| Self::path_in(d, oid))
            .find(|p| p.is_file())
    }

    /// Every loose object id (a sweep reads so many objects that one directory listing beats
    /// a `stat` per read).
    pub(crate) fn list(&self) -> FxHashSet<Id> {
        let mut out = FxHashSet::default();
        for dir in &self.0 {
            let Ok(fans) = std::fs::read_dir(dir) else {
                continue;
            };
            for fan in fans.flatten() {
                let name = fan.file_name();
                let Some(prefix) = name.to_str().filter(|n| is_hex(n, 2)) else {
                    continue;
                };
                let Ok(files) = std::fs::read_dir(fan.path()) else {
                    continue;
                };
                for f in files.flatten() {
                    let rest = f.file_name();
                    if let Some(rest) = rest.to_str().filter(|n| is_hex(n, 38)) {
                        if let Ok(o) = Oid::from_str(&format!("{prefix}{rest}")) {
                            out.insert(id(o));
                        }
                    }
                }
            }
        }
        out
    }
}

impl LooseDirs {
    /// The first loose object that does not inflate whole, for paths where libgit2 reads
    /// objects itself and would hang on it.
    pub(crate) fn first_damaged(&self) -> Option<(Oid, String)> {
        let mut ids: Vec<Id> = self.list().into_iter().collect();
        ids.sort_unstable();
        ids.into_iter().find_map(|i| {
            let o = oid(&i);
            let p = self.find(o)?;
            read_loose(&p).err().map(|e| (o, e))
        })
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses the header of an inflated loose object (`blob 123\0`): kind, size and where the
/// body starts.
pub fn parse_loose_header(data: &[u8]) -> Option<(Kind, usize, usize)> {
    let nul = memchr::memchr(0, &data[..data.len().min(64)])?;
    let header = &data[..nul];
    let sp = memchr::memchr(b' ', header)?;
    let kind = Kind::from_name(&header[..sp])?;
    let digits = &header[sp + 1..];
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((kind, size, nul + 1))
}

/// Inflates a loose object (zlib stream) and checks it whole: the header parses, the body is
/// exactly as long as the header says, and the stream ends properly. A truncated or padded
/// object is an error naming what is wrong.
pub fn inflate_loose(compressed: impl Read) -> Result<(Kind, Vec<u8>), String> {
    let mut z = flate2::read::ZlibDecoder::new(compressed);
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < head.len() {
        match z.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(inflate_reason(&e)),
        }
        if memchr::memchr(0, &head[..n]).is_some() {
            break;
        }
    }
    let (kind, size, body_at) =
        parse_loose_header(&head[..n]).ok_or("damaged loose object (no valid header)")?;
    let mut body = Vec::with_capacity(size.min(1 << 20));
    body.extend_from_slice(&head[body_at..n]);
    // One byte more than declared tells a padded object from a complete one.
    let want = (size as u64 + 1).saturating_sub(body.len() as u64);
    z.by_ref()
        .take(want)
        .read_to_end(&mut body)
        .map_err(|e| inflate_reason(&e))?;
    if body.len() < size {
        return Err(format!(
            "truncated loose object ({} of {size} bytes)",
            body.len()
        ));
    }
    if body.len() > size {
        return Err(format!(
            "damaged loose object (longer than the {size} bytes its header declares)"
        ));
    }
    Ok((kind, body))
}

fn inflate_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "truncated loose object".into(),
        _ => format!("damaged loose object ({e})"),
    }
}

/// Reads a loose object file.
fn read_loose(path: &Path) -> Result<(Kind, Vec<u8>), String> {
    let f = File::open(path).map_err(|e| crate::report::io_reason(&e))?;
    inflate_loose(io::BufReader::new(f))
}

/// An object read from the repository.
pub(crate) enum Object<'r> {
    Packed(git2::OdbObject<'r>),
    Loose(Kind, Vec<u8>),
}

impl Object<'_> {
    pub(crate) fn data(&self) -> &[u8] {
        match self {
            Object::Packed(o) => o.data(),
            Object::Loose(_, d) => d,
        }
    }

    pub(crate) fn kind(&self) -> Option<Kind> {
        match self {
            Object::Packed(o) => Kind::from_git2(o.kind()),
            Object::Loose(k, _) => Some(*k),
        }
    }
}

impl AsRef<[u8]> for Object<'_> {
    fn as_ref(&self) -> &[u8] {
        self.data()
    }
}

/// Which objects are loose: listed once (a history sweep), or looked up per read (a staged
/// scan reads a handful of objects and must not list a directory of thousands).
#[derive(Clone, Copy)]
pub(crate) enum Loose<'a> {
    Listed(&'a FxHashSet<Id>, &'a LooseDirs),
    Probed(&'a LooseDirs),
}

/// A reader of one repository's objects, for one thread (`git2::Odb` is not `Sync`: every
/// worker opens its own repository handle and makes its own reader).
pub(crate) struct Objects<'r> {
    odb: git2::Odb<'r>,
    loose: Loose<'r>,
}

impl<'r> Objects<'r> {
    pub(crate) fn new(repo: &'r git2::Repository, loose: Loose<'r>) -> Result<Objects<'r>, String> {
        let odb = repo
            .odb()
            .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
        Ok(Objects { odb, loose })
    }

    fn loose_path(&self, oid: Oid) -> Option<PathBuf> {
        match self.loose {
            Loose::Listed(set, dirs) => {
                if set.contains(&id(oid)) {
                    dirs.find(oid)
                } else {
                    None
                }
            }
            Loose::Probed(dirs) => dirs.find(oid),
        }
    }

    /// Reads one object; a missing or damaged one is an error with a one-line reason.
    pub(crate) fn read(&self, oid: Oid) -> Result<Object<'_>, String> {
        if let Some(p) = self.loose_path(oid) {
            let (kind, data) = read_loose(&p)?;
            return Ok(Object::Loose(kind, data));
        }
        self.odb
            .read(oid)
            .map(Object::Packed)
            .map_err(|e| e.message().to_string())
    }

    /// Size and kind of an object, without inflating a packed one.
    pub(crate) fn header(&self, oid: Oid) -> Result<(usize, Kind), String> {
        if let Some(p) = self.loose_path(oid) {
            let (kind, data) = read_loose(&p)?;
            return Ok((data.len(), kind));
        }
        match self.odb.read_header(oid) {
            Ok((size, t)) => match Kind::from_git2(t) {
                Some(k) => Ok((size, k)),
                None => Err("unknown object type".into()),
            },
            Err(e) => Err(e.message().to_string()),
        }
    }

    /// Every object id in the database (loose and packed, duplicates possible).
    pub(crate) fn all_ids(&self) -> Result<Vec<Oid>, String> {
        let mut all = Vec::new();
        self.odb
            .foreach(|o| {
                all.push(*o);
                true
            })
            .map_err(|e| e.message().to_string())?;
        Ok(all)
    }
}

/// The directories of `dirs` that are not `repo`'s own object directory: git names it among
/// a quarantine's alternates (`GIT_ALTERNATE_OBJECT_DIRECTORIES`), and it is read anyway.
pub(crate) fn beyond(repo: &git2::Repository, dirs: &[PathBuf]) -> Vec<PathBuf> {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let own = canon(&repo.commondir().join("objects"));
    dirs.iter().filter(|d| canon(d) != own).cloned().collect()
}

/// Makes `repo`'s handle read objects from `dirs` too (as alternates): the quarantine
/// directory where a push's objects wait while the pre-receive hook runs. libgit2 reads
/// `GIT_OBJECT_DIRECTORY` only when a repository is opened from the environment, and every
/// worker opens its own handle; the directories are passed down as values instead.
pub(crate) fn add_object_dirs(repo: &git2::Repository, dirs: &[PathBuf]) -> Result<(), String> {
    if dirs.is_empty() {
        return Ok(());
    }
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    for d in dirs {
        let s = d
            .to_str()
            .ok_or_else(|| format!("object directory {} is not UTF-8", d.display()))?;
        odb.add_disk_alternate(s)
            .map_err(|e| format!("cannot read objects in {}: {}", d.display(), e.message()))?;
    }
    Ok(())
}

/// Gives handle `k` of a store pack readers of its own. libgit2 keeps one reader per pack
/// file for the whole process, found by the pack's path, and finding an object's offset in
/// it holds that reader's lock: the blob pass's workers, each with its own handle, waited
/// on one another there (futex calls were 4% of a sweep's CPU on two threads). A handle
/// that names the objects directory `objects/./.` (one `/.` per handle) reads the same
/// files through readers of its own, each with its own cache of delta bases and windows.
/// A directory whose path is not UTF-8 keeps the shared readers.
fn own_packs(repo: &git2::Repository, k: usize) -> Result<(), String> {
    let objects = repo.commondir().join("objects");
    let Some(dir) = objects.to_str() else {
        return Ok(());
    };
    let spelled = format!("{}{}", dir.trim_end_matches('/'), "/.".repeat(k + 1));
    let fail = |e: git2::Error| format!("cannot open the object database: {}", e.message());
    let odb = git2::Odb::new().map_err(fail)?;
    odb.add_disk_alternate(&spelled).map_err(fail)?;
    repo.set_odb(&odb).map_err(fail)
}

/// What every worker of a sweep shares to open its own reader: the repository, the object
/// directories besides its own (git's quarantine during a push), which objects are loose, and
/// the pack order.
pub(crate) struct Store {
    /// Tells this store's handles from another sweep's on the same thread.
    id: u64,
    git_dir: PathBuf,
    extra: Vec<PathBuf>,
    loose_dirs: LooseDirs,
    loose: FxHashSet<Id>,
    pub packs: Vec<super::packs::PackIndex>,
    /// Handles with pack readers of their own opened so far (see `own_packs`).
    handles: std::sync::atomic::AtomicUsize,
}

impl Store {
    /// Lists the loose objects and reads the pack indexes of `repo` and of the object
    /// directories in `extra` (which `repo`'s handle must already read: [`add_object_dirs`]).
    ///
    /// `pack_order`: read the repository's own pack indexes to order reads (a sweep reads
    /// much of them). A push into a quarantine reads few of the repository's objects: only
    /// the quarantine's packs, where the pushed objects are, are worth reading then
    /// (git.git's index is 24 MB).
    pub(crate) fn new(repo: &git2::Repository, extra: &[PathBuf], pack_order: bool) -> Store {
        let objects = repo.commondir().join("objects");
        let loose_dirs = LooseDirs::new(&objects).with(extra);
        let mut packs = if pack_order {
            super::packs::load(&objects)
        } else {
            Vec::new()
        };
        for dir in extra {
            packs.extend(super::packs::load(dir));
        }
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Store {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            git_dir: repo.path().to_path_buf(),
            extra: extra.to_vec(),
            loose: loose_dirs.list(),
            packs,
            loose_dirs,
            handles: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// A repository handle for one worker, reading the same object directories.
    pub(crate) fn open(&self) -> Result<git2::Repository, String> {
        self.open_handle(false)
    }

    /// A handle; `own`: with pack readers of its own (`own_packs`).
    fn open_handle(&self, own: bool) -> Result<git2::Repository, String> {
        let repo = git2::Repository::open(&self.git_dir)
            .map_err(|e| format!("cannot open the repository: {}", e.message()))?;
        if own {
            let k = self
                .handles
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            own_packs(&repo, k)?;
        }
        add_object_dirs(&repo, &self.extra)?;
        Ok(repo)
    }

    pub(crate) fn loose(&self) -> Loose<'_> {
        Loose::Listed(&self.loose, &self.loose_dirs)
    }

    /// Runs `f` with this thread's reader of the store, opened on the thread's first call
    /// and kept until the thread ends (a worker of a sweep's pool): opening a repository
    /// reads its config, which cost 2.5% of a sweep when done for every batch of objects.
    /// `f` must not call this again.
    pub(crate) fn with_objects<R>(&self, f: impl FnOnce(&Objects) -> R) -> Result<R, String> {
        self.with_handle(&SHARED, false, f)
    }

    /// [`Store::with_objects`] through pack readers of the thread's own (`own_packs`): for
    /// the blob pass, where workers read far apart in the pack. (The tree pass keeps the
    /// shared readers: versions of a directory are deltas of one another, and a base one
    /// worker inflated serves the other; on readers of their own it was 8% slower.)
    pub(crate) fn with_own_objects<R>(&self, f: impl FnOnce(&Objects) -> R) -> Result<R, String> {
        self.with_handle(&OWN, true, f)
    }

    fn with_handle<R>(
        &self,
        handle: &'static std::thread::LocalKey<Handle>,
        own: bool,
        f: impl FnOnce(&Objects) -> R,
    ) -> Result<R, String> {
        handle.with(|h| {
            let mut h = h.borrow_mut();
            let repo = match &mut *h {
                Some((id, repo)) if *id == self.id => repo,
                slot => &mut slot.insert((self.id, self.open_handle(own)?)).1,
            };
            let objects = Objects::new(repo, self.loose())?;
            Ok(f(&objects))
        })
    }
}

/// A thread's repository handle for one store (by the store's id).
type Handle = std::cell::RefCell<Option<(u64, git2::Repository)>>;

thread_local! {
    static SHARED: Handle = const { std::cell::RefCell::new(None) };
    static OWN: Handle = const { std::cell::RefCell::new(None) };
}
