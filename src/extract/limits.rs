//! Limits: what keeps opening archives bounded in memory and time, whatever a hostile
//! artefact claims. Every byte that comes out of a decompressor passes through a [`Bounded`]
//! reader that charges it to the member's size limit, the blob's total budget and the
//! member's compression ratio, and stops the read — with the reason — the moment one is
//! exceeded. A zip bomb therefore ends as a listed skip after a bounded amount of work, never
//! as memory exhaustion or a hang.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::Arc;

/// How far extraction goes. A plain struct: the command layer fills it from its flags.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Containers opened inside each other, counting the outermost one: 1 opens an APK but
    /// not the archives inside it. 0 turns archives and binary formats off (a binary blob is
    /// skipped as binary, as before archives were opened).
    pub max_depth: usize,
    /// Bytes one member may expand to. Members that must be held whole (DEX, binary XML,
    /// resource tables, property lists, nested zips) are held in memory up to this size.
    pub max_member_size: u64,
    /// Bytes all members of one blob (at every depth) may expand to together.
    pub max_total: u64,
    /// Expanded bytes per compressed byte of one member, checked once it is past
    /// [`RATIO_FLOOR`] (a small file of spaces compresses very well and is harmless).
    pub max_ratio: u64,
    /// Members of one archive, and members held by one blob at every depth together.
    pub max_members: u64,
    /// Member paths not to read: the `--exclude` and config `exclude` globs, matched
    /// against the full path (`build/app.apk!/assets/x.json`).
    pub exclude: Option<Arc<ignore::gitignore::Gitignore>>,
}

pub const DEFAULT_MAX_DEPTH: usize = 4;
pub const DEFAULT_MAX_MEMBER_SIZE: u64 = 256 << 20;
pub const DEFAULT_MAX_TOTAL: u64 = 4 << 30;
pub const DEFAULT_MAX_RATIO: u64 = 200;
pub const DEFAULT_MAX_MEMBERS: u64 = 100_000;
/// Below this many expanded bytes the ratio is not checked.
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_depth: DEFAULT_MAX_DEPTH,
            max_member_size: DEFAULT_MAX_MEMBER_SIZE,
            max_total: DEFAULT_MAX_TOTAL,
            max_ratio: DEFAULT_MAX_RATIO,
            max_members: DEFAULT_MAX_MEMBERS,
            exclude: None,
        }
    }
}

impl Settings {
    /// Nothing is opened: blobs are text or binary, as before archives were read.
    pub fn off() -> Settings {
        Settings {
            max_depth: 0,
            ..Settings::default()
        }
    }

    /// Builds the exclusion matcher from gitignore-style globs anchored at the scan root.
    pub fn with_exclude(mut self, globs: &[String]) -> Result<Settings, String> {
        if globs.is_empty() {
            return Ok(self);
        }
        let mut b = ignore::gitignore::GitignoreBuilder::new(".");
        for g in globs {
            b.add_line(None, g)
                .map_err(|e| format!("invalid exclude glob '{g}': {e}"))?;
        }
        self.exclude = Some(Arc::new(b.build().map_err(|e| e.to_string())?));
        Ok(self)
    }

    /// True if the member at `path` (outer path and member chain joined by `!/`) is
    /// excluded.
    pub(crate) fn excluded(&self, path: &str) -> bool {
        let Some(gi) = &self.exclude else {
            return false;
        };
        let p = std::path::Path::new(path);
        !p.has_root() && gi.matched_path_or_any_parents(p, false).is_ignore()
    }
}

/// Why a read stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The member is larger than `max_member_size`.
    Member(u64),
    /// The blob's members together passed `max_total`.
    Total(u64),
    /// The member expands more than `max_ratio` times its compressed size.
    Ratio(u64),
}

impl Stop {
    pub fn reason(&self) -> String {
        match self {
            Stop::Member(max) => {
                format!("member larger than --max-member-size ({max} bytes)")
            }
            Stop::Total(max) => format!(
                "archive expands to more than --max-archive-bytes ({max} bytes); \
                 the members after this one were not read"
            ),
            Stop::Ratio(max) => format!(
                "compression ratio over --max-archive-ratio ({max}:1): a zip bomb or \
                 padding, not read further"
            ),
        }
    }
}

/// What one blob may still expand to, shared by every member at every depth.
#[derive(Debug)]
pub struct Budget {
    pub remaining: Cell<u64>,
    pub members: Cell<u64>,
    pub exhausted: Cell<bool>,
    /// A limit is cutting a read short right now: errors further in are its consequence.
    pub cut: Cell<bool>,
}

impl Budget {
    pub fn new(s: &Settings) -> Budget {
        Budget {
            remaining: Cell::new(s.max_total),
            members: Cell::new(s.max_members),
            exhausted: Cell::new(false),
            cut: Cell::new(false),
        }
    }
}

/// A reader of one member's expanded bytes that enforces the limits. `compressed` counts
/// the bytes the decompressor has taken from its input so far (or is the member's stored
/// compressed size), so the ratio is measured, not taken from headers.
pub struct Bounded<'b, R> {
    inner: R,
    budget: &'b Budget,
    settings_total: u64,
    max_member: u64,
    max_ratio: u64,
    compressed: Compressed,
    /// Whether the bytes count against the blob's total: true where they are expanded
    /// (a zip member, a gzip stream), false for a view of bytes already counted (a tar
    /// member inside a counted stream, or inside a file that is its own size).
    charge: bool,
    read: u64,
    /// Set when a limit stopped the read; the caller lists the member as skipped.
    pub stopped: Option<Stop>,
}

/// How many compressed bytes are behind a member's expanded ones.
#[derive(Clone)]
pub enum Compressed {
    /// Stored in the archive's directory (zip).
    Known(u64),
    /// Counted as the decompressor reads its input (gzip, bzip2, xz streams).
    Counted(Rc<Cell<u64>>),
    /// Not compressed (tar members, text): no ratio to check.
    Plain,
}

impl<'b, R: Read> Bounded<'b, R> {
    /// A member's bytes: limited to `max_member_size`, charged to the total.
    pub fn member(inner: R, budget: &'b Budget, s: &Settings, compressed: Compressed) -> Self {
        Bounded {
            inner,
            budget,
            settings_total: s.max_total,
            max_member: s.max_member_size,
            max_ratio: s.max_ratio,
            compressed,
            charge: true,
            read: 0,
            stopped: None,
        }
    }

    /// A decompressed stream that holds a container (`.tar.gz`): charged to the total and
    /// checked for its ratio, but as large as the total allows.
    pub fn layer(inner: R, budget: &'b Budget, s: &Settings, compressed: Compressed) -> Self {
        Bounded {
            max_member: u64::MAX,
            ..Bounded::member(inner, budget, s, compressed)
        }
    }

    /// A member of a tar stream whose bytes the stream already counted.
    pub fn view(inner: R, budget: &'b Budget, s: &Settings) -> Self {
        Bounded {
            charge: false,
            ..Bounded::member(inner, budget, s, Compressed::Plain)
        }
    }

    /// Expanded bytes read so far.
    pub fn count(&self) -> u64 {
        self.read
    }
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stopped.is_some() {
            return Ok(0);
        }
        // Never ask for more than any limit allows, so the overshoot is zero.
        let left_member = self.max_member.saturating_sub(self.read);
        let left_total = if self.charge {
            self.budget.remaining.get()
        } else {
            u64::MAX
        };
        let want = (buf.len() as u64).min(left_member).min(left_total) as usize;
        if want == 0 {
            // Is there more? One byte tells whether a limit, not the end, stops us.
            let mut probe = [0u8; 1];
            if buf.is_empty() || self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.budget.cut.set(true);
            self.stopped = Some(if left_member == 0 {
                Stop::Member(self.max_member)
            } else {
                self.budget.exhausted.set(true);
                Stop::Total(self.settings_total)
            });
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.charge {
            self.budget
                .remaining
                .set(self.budget.remaining.get() - n as u64);
        }
        let compressed = match &self.compressed {
            Compressed::Known(c) => Some(*c),
            Compressed::Counted(c) => Some(c.get()),
            Compressed::Plain => None,
        };
        if let Some(c) = compressed {
            if self.read > RATIO_FLOOR && self.read > c.max(1).saturating_mul(self.max_ratio) {
                self.budget.cut.set(true);
                self.stopped = Some(Stop::Ratio(self.max_ratio));
                // What was read is scanned; nothing after it is produced.
                return Ok(n);
            }
        }
        Ok(n)
    }
}

/// Counts the bytes a decompressor takes from its input.
pub struct Counting<R> {
    pub inner: R,
    pub count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: io::BufRead> io::BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.count.set(self.count.get() + n as u64);
        self.inner.consume(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_stop_reads_with_their_reason() {
        let s = Settings {
            max_member_size: 10,
            ..Settings::default()
        };
        let budget = Budget::new(&s);
        let mut r = Bounded::member(&[7u8; 100][..], &budget, &s, Compressed::Plain);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 10);
        assert_eq!(r.stopped, Some(Stop::Member(10)));

        // Exactly at the limit is not over it.
        let mut r = Bounded::member(&[7u8; 10][..], &budget, &s, Compressed::Plain);
        r.read_to_end(&mut Vec::new()).unwrap();
        assert_eq!(r.stopped, None);

        let s = Settings {
            max_total: 15,
            ..Settings::default()
        };
        let budget = Budget::new(&s);
        let mut a = Bounded::member(&[1u8; 10][..], &budget, &s, Compressed::Plain);
        a.read_to_end(&mut Vec::new()).unwrap();
        let mut b = Bounded::member(&[1u8; 10][..], &budget, &s, Compressed::Plain);
        let mut out = Vec::new();
        b.read_to_end(&mut out).unwrap();
        assert_eq!((out.len(), b.stopped.clone()), (5, Some(Stop::Total(15))));
        assert!(budget.exhausted.get());

        let s = Settings::default();
        let budget = Budget::new(&s);
        let zeros = vec![0u8; 3 << 20];
        let mut r = Bounded::member(&zeros[..], &budget, &s, Compressed::Known(1000));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(r.stopped, Some(Stop::Ratio(DEFAULT_MAX_RATIO)));
        assert!(out.len() < 3 << 20);
    }
}
