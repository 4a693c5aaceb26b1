//! What every match of a rule regex needs: a run of bytes of one class. A rule regex is
//! usually a delimiter, the secret as a repetition of one class (`[A-Za-z0-9_-]{24}`), and a
//! delimiter; no match can lie anywhere but around a run of at least that many bytes of the
//! class. Code in which every file names Applivery has few such runs and megabytes between
//! them: the engine runs the regex only in windows around them, and finds the matches a
//! search of the whole region finds (`detect::engine`).
//!
//! Derived from the pattern's syntax, never assumed: a pattern of another shape (the secret
//! inside an alternation, an unbounded prefix, a class beyond ASCII) has no `Runs` and is
//! searched whole.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Runs shorter than this are everywhere in code: a window per run would cost more than the
/// search it saves.
const MIN_WORTH: usize = 8;

/// Every match holds `min` consecutive bytes of `class` (the start of the secret), begins at
/// most `before` bytes before them and ends at most `after` bytes after the run they lie in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runs {
    class: [bool; 256],
    pub min: usize,
    pub before: usize,
    pub after: usize,
}

impl Runs {
    /// The runs of `pattern` (compiled as rule regexes are: bytes, no Unicode classes) whose
    /// secret is the capture group `group`, if its shape lets them be known.
    pub fn of(pattern: &str, group: &str) -> Option<Runs> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()?;
        let parts: &[Hir] = match hir.kind() {
            HirKind::Concat(parts) => parts,
            _ => std::slice::from_ref(&hir),
        };
        let at = parts.iter().position(|p| is_group(p, group))?;
        let HirKind::Capture(cap) = parts[at].kind() else {
            return None;
        };
        // The secret starts with the repetition of one class.
        let inner: &[Hir] = match cap.sub.kind() {
            HirKind::Concat(inner) => inner,
            _ => std::slice::from_ref(&*cap.sub),
        };
        let (first, rest) = inner.split_first()?;
        let HirKind::Repetition(rep) = first.kind() else {
            return None;
        };
        let class = byte_class(&rep.sub)?;
        let min = rep.min as usize;
        if min < MIN_WORTH {
            return None;
        }
        let before = max_len(&parts[..at])?;
        let after = max_len(rest)?.checked_add(max_len(&parts[at + 1..])?)?;
        Some(Runs {
            class,
            min,
            before,
            after,
        })
    }

    /// Windows of `hay[from..to]` that hold every match a search of it finds: around each
    /// maximal run of the class at least `min` long, `before` bytes before it and `after`
    /// (and one more: the match must end before the window does) after it, merged where
    /// they meet.
    pub fn windows(&self, hay: &[u8], from: usize, to: usize) -> Vec<(usize, usize)> {
        let hay = &hay[..to];
        let m = self.min;
        let is = |i: usize| self.class[hay[i] as usize];
        let mut out: Vec<(usize, usize)> = Vec::new();
        // `i` is where a run may start: `from`, or just after a byte outside the class. Most
        // bytes are never read: a run of `m` starting in `i..=p` must hold `p`, so a byte
        // outside the class there skips them all, and one inside sends the search back
        // only as far as the nearest byte outside it.
        let mut i = from;
        while i + m <= to {
            let p = i + m - 1;
            if !is(p) {
                i = p + 1;
                continue;
            }
            let mut j = p;
            while j > i && is(j - 1) {
                j -= 1;
            }
            if j > i {
                i = j;
                continue;
            }
            // `hay[i..=p]` is in the class: a run of at least `m` starts at `i`.
            let mut e = p + 1;
            while e < to && is(e) {
                e += 1;
            }
            let ws = i.saturating_sub(self.before).max(from);
            let we = e.saturating_add(self.after).saturating_add(1).min(to);
            match out.last_mut() {
                Some(last) if ws <= last.1 => last.1 = last.1.max(we),
                _ => out.push((ws, we)),
            }
            i = e + 1;
        }
        out
    }
}

fn is_group(h: &Hir, name: &str) -> bool {
    matches!(h.kind(), HirKind::Capture(c) if c.name.as_deref() == Some(name))
}

/// The longest text a sequence of expressions can match, if it is bounded.
fn max_len(parts: &[Hir]) -> Option<usize> {
    parts.iter().try_fold(0usize, |sum, p| {
        sum.checked_add(p.properties().maximum_len()?)
    })
}

/// The bytes a class matches, when it is a class of bytes (or of ASCII characters).
fn byte_class(h: &Hir) -> Option<[bool; 256]> {
    let HirKind::Class(class) = h.kind() else {
        return None;
    };
    let mut set = [false; 256];
    match class {
        Class::Bytes(b) => {
            for r in b.ranges() {
                for x in r.start()..=r.end() {
                    set[x as usize] = true;
                }
            }
        }
        Class::Unicode(u) => {
            for r in u.ranges() {
                if r.end() as u32 > 0x7f {
                    return None;
                }
                for x in r.start() as u8..=r.end() as u8 {
                    set[x as usize] = true;
                }
            }
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rules_shapes_are_known() {
        let app = Runs::of(
            r"(?:^|[^A-Za-z0-9_\-$%{.+/])(?P<secret>[A-Za-z0-9_-]{24})(?:[^A-Za-z0-9_\-+/]|$)",
            "secret",
        )
        .unwrap();
        assert_eq!((app.min, app.before, app.after), (24, 1, 1));
        assert!(app.class[b'_' as usize] && !app.class[b'.' as usize]);
        let sa = Runs::of(
            r"(?:^|[^A-Za-z0-9_\-$%{.+/~])(?P<secret>[A-Za-z0-9_\-.~+/]{32,512}={0,2})(?:[^A-Za-z0-9_\-.~+/=]|$)",
            "secret",
        )
        .unwrap();
        assert_eq!((sa.min, sa.before, sa.after), (32, 1, 3));
        let legacy = Runs::of(r"(?i)key=(?P<secret>[0-9a-f]{40})\b", "secret").unwrap();
        assert!(legacy.class[b'F' as usize], "(?i) folds into the class");
        assert_eq!((legacy.before, legacy.after), (4, 0));
    }

    #[test]
    fn shapes_it_cannot_bound_have_none() {
        for p in [
            r"token\s*=\s*(?P<secret>[a-z]{30})", // an unbounded prefix
            r"(?:a|(?P<secret>[a-z]{30}))",       // the secret inside an alternation
            r"(?P<secret>[a-z]{30})?x",           // an optional secret
            r"x(?P<secret>ab[a-z]{30})",          // the secret does not start with the run
            r"(?P<secret>[a-z]{4})",              // runs too short to be worth it
            r"(?P<secret>[a-z]{30}).*",           // an unbounded suffix
            r"(?P<other>[a-z]{30})",              // no group of that name
        ] {
            assert_eq!(Runs::of(p, "secret"), None, "{p}");
        }
    }

    #[test]
    fn windows_surround_the_long_runs_and_merge() {
        let r = Runs::of(r"(?:^|[^a-z])(?P<secret>[a-z]{8})(?:[^a-z]|$)", "secret").unwrap();
        let hay = b"ab cdefghijkl mn opqrstuvwx.yz";
        assert_eq!(r.windows(hay, 0, hay.len()), vec![(2, 15), (16, 29)]);
        // Windows that meet are one.
        assert_eq!(r.windows(b"abcdefgh.ijklmnop", 0, 17), vec![(0, 17)]);
        // A run cut by the region's end is still a run.
        assert_eq!(r.windows(hay, 0, 12), vec![(2, 12)]);
        assert_eq!(r.windows(hay, 14, hay.len()), vec![(16, 29)]);
    }

    /// Every maximal run read byte by byte: what the skipping search must find.
    fn plain(r: &Runs, hay: &[u8], from: usize, to: usize) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut i = from;
        while i < to {
            let s = i;
            while i < to && r.class[hay[i] as usize] {
                i += 1;
            }
            if i - s >= r.min {
                let (ws, we) = (
                    s.saturating_sub(r.before).max(from),
                    (i + r.after + 1).min(to),
                );
                match out.last_mut() {
                    Some(l) if ws <= l.1 => l.1 = l.1.max(we),
                    _ => out.push((ws, we)),
                }
            }
            i += 1;
        }
        out
    }

    #[test]
    fn the_skipping_search_finds_every_run() {
        let r = Runs::of(r"(?:^|[^a-c])(?P<secret>[a-c]{8,20})(?:[^a-c]|$)", "secret").unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..3000 {
            let mut next = || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            // Mostly class bytes, so that runs of every length near 8 occur.
            let len = 1 + (next() % 120) as usize;
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    if next() % 9 == 0 {
                        b' '
                    } else {
                        b"abc"[(next() % 3) as usize]
                    }
                })
                .collect();
            let from = (next() % len as u64) as usize;
            let to = from + (next() % (len - from + 1) as u64) as usize;
            assert_eq!(
                r.windows(&hay, from, to),
                plain(&r, &hay, from, to),
                "round {round}"
            );
        }
    }
}
