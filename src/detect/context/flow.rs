//! Values defined in one place and used at an Applivery sink in another: `Bearer "+uploadToken`
//! names `uploadToken`, and the constant assigned that name anywhere in the blob is an
//! Applivery value whatever its own key says.

use rustc_hash::FxHashSet;

use super::super::keywords::Hit;
use super::super::text::{is_key, is_word_byte, line_bounds_near, LINE_LIMIT};

/// Values named at an Applivery sink — `Bearer "+uploadToken`, `token: Secrets.key` — on the
/// lines around a keyword: a constant assigned one of these names anywhere in the blob is
/// an Applivery value.
pub(crate) struct Flow {
    names: FxHashSet<Vec<u8>>,
    /// A compiled search for each name, when there are few.
    finders: Option<Vec<memchr::memmem::Finder<'static>>>,
    /// Those of the names that another blob of the project uses at an Applivery sink (a
    /// strict reading of a call's arguments and headers, unlike the words after `token` and
    /// `bearer` gathered here).
    project: FxHashSet<Vec<u8>>,
    /// Where those names are defined (`uploadToken = …`): regions the rules must run in.
    pub(crate) anchors: Vec<(usize, usize)>,
}

/// Up to this many names, each is searched on its own (see `Flow::new`).
const FEW_NAMES: usize = 16;

/// Words around a sink that are never the name of a value.
const NOT_NAMES: &[&str] = &[
    "bearer",
    "authorization",
    "auth",
    "self",
    "this",
    "string",
    "let",
    "var",
    "val",
    "const",
    "new",
    "null",
    "nil",
    "true",
    "false",
    "env",
    "process",
    "http",
    "https",
    "str",
    "format",
    "header",
    "headers",
    "value",
    "content",
    "type",
    "application",
    "json",
];

impl Flow {
    /// The names used at sinks around `hits`, and `project`: names used at Applivery sinks
    /// in other blobs.
    pub(crate) fn new(hay: &[u8], hits: &[Hit], project: &[Vec<u8>]) -> Flow {
        let mut names: FxHashSet<Vec<u8>> = project.iter().cloned().collect();
        // Every byte is read for sink names once: `hay[..done]` has been, and a hit on the
        // line of the previous one has the same window. Text dense in the keyword (a line
        // of `applivery applivery …`) costs time linear in its size.
        let mut done = 0;
        let mut line_end = 0;
        // The previous hit's window end and how many lines below its line it reached: the
        // next hit a few lines further down extends it by as many lines, instead of walking
        // fifteen lines again.
        let mut window: Option<(usize, usize)> = None;
        for h in hits.iter().filter(|h| !h.encoded) {
            if h.start < line_end {
                continue;
            }
            let (ls, le) = line_bounds_near(hay, h.start, h.end, LINE_LIMIT);
            let (mut a, mut b) = (ls, le);
            for _ in 0..15 {
                if a == 0 || h.start - a > 4096 || a <= done {
                    break;
                }
                a = line_bounds_near(hay, a - 1, a - 1, LINE_LIMIT).0;
            }
            let mut lines = 15;
            if let Some((pb, below)) = window {
                let between = memchr::memchr_iter(b'\n', &hay[line_end.min(le)..le]).count();
                if pb >= le && between <= below {
                    b = pb;
                    lines = 15 - (below - between);
                }
            }
            line_end = le;
            let mut walked = 0;
            for _ in 0..lines {
                if b >= hay.len() || b - h.end > 4096 {
                    break;
                }
                let next = (b + 1).min(hay.len());
                b = line_bounds_near(hay, next, next, LINE_LIMIT).1;
                walked += 1;
            }
            // Lines below this hit's line that the window now reaches.
            let reached = match window {
                Some(_) if lines < 15 => 15 - lines + walked,
                _ => walked,
            };
            window = Some((b, reached));
            let mut at = a.max(done);
            while at < b {
                let (s, e) = line_bounds_near(hay, at, at, LINE_LIMIT);
                sink_names(&hay[s.max(at)..e], &mut names);
                at = e + 1;
            }
            done = done.max(at);
        }
        let mut anchors = Vec::new();
        // The first 64 occurrences of each name, as one search per name would find them
        // (leftmost, not overlapping each other), in one pass over the blob for all names:
        // a file of a hundred thousand `token = <value>` lines has as many names, and a
        // pass per name was quadratic in its findings.
        //
        // Only a name that occurs somewhere as a whole word followed by `=` or `:` can be an
        // anchor, and a whole word made of word bytes is a maximal run of them (a `.` ends
        // it): one walk over the runs finds those names, and only they (with any name a run
        // cannot hold) are searched, counted over every occurrence as before. Building the
        // automaton for every name cost more than the rest of detection on a `.env` dump of
        // a million tokens, each one a name after `TOKEN`, none of them defined.
        // With a few names (the common case) every one is searched: the walk below costs a
        // pass over the whole blob, more than those searches.
        let list: Vec<&[u8]> = if names.len() <= FEW_NAMES {
            names.iter().map(Vec::as_slice).collect()
        } else {
            words_before_keys(hay, &names)
        };
        let mut taken = vec![(0u8, 0usize); list.len()];
        let mut anchor = |n: &[u8], p: usize| {
            let after = &hay[p + n.len()..(p + n.len() + 8).min(hay.len())];
            let whole = (p == 0 || !is_word_byte(hay[p - 1]) || hay[p - 1] == b'.')
                && !after.first().is_some_and(|&b| is_word_byte(b) && b != b'.');
            if whole && is_key(after) {
                anchors.push((p, p + n.len()));
            }
        };
        // A few names (the common case, even in code that names Applivery on every line):
        // a SIMD substring search per name, many times faster than an automaton's scan and
        // with nothing to build. Many names (a file of a hundred thousand `token = <value>`
        // lines): the plain NFA, built in one pass and searched once, since a faster
        // automaton would not repay its construction.
        let ac = (list.len() > FEW_NAMES)
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                    .build(&list)
                    .ok()
            })
            .flatten();
        match ac {
            Some(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    let (count, end) = &mut taken[m.pattern().as_usize()];
                    if *count < 64 && m.start() >= *end {
                        *count += 1;
                        *end = m.end();
                        anchor(list[m.pattern().as_usize()], m.start());
                    }
                }
            }
            None => {
                for n in &list {
                    for p in memchr::memmem::find_iter(hay, n).take(64) {
                        anchor(n, p);
                    }
                }
            }
        }
        anchors.sort_unstable();
        // Asked of the lines before every candidate: built once per blob, not per question.
        let finders = (names.len() <= FEW_NAMES).then(|| {
            names
                .iter()
                .map(|n| memchr::memmem::Finder::new(n).into_owned())
                .collect()
        });
        Flow {
            names,
            finders,
            project: project.iter().cloned().collect(),
            anchors,
        }
    }

    /// True if one of the names occurs in `text` (a cheap test before `has`).
    pub(super) fn named_in(&self, text: &[u8]) -> bool {
        if self.names.is_empty() {
            return false;
        }
        match &self.finders {
            Some(f) => f.iter().any(|f| f.find(text).is_some()),
            None => self
                .names
                .iter()
                .any(|n| memchr::memmem::find(text, n).is_some()),
        }
    }

    /// True if another blob of the project uses `name` at an Applivery sink.
    pub(super) fn project_has(&self, name: &[u8]) -> bool {
        self.project.contains(name)
    }

    pub(super) fn has(&self, name: &[u8]) -> bool {
        !name.is_empty() && self.names.contains(name)
    }
}

/// The identifiers that follow a secret-like word on a line (`"Bearer "+uploadToken`,
/// `Bearer \(Self.key)`, `token: Secrets.key`, `bearer_auth(TOKEN)`); the last segment of a
/// dotted name.
fn sink_names(line: &[u8], out: &mut FxHashSet<Vec<u8>>) {
    const SINKS: &[&[u8]] = &[b"bearer", b"token", b"authorization"];
    for sink in SINKS {
        let mut from = 0;
        while let Some(p) = super::super::text::find_ci(&line[from..], sink) {
            let start = from + p + sink.len();
            from = start;
            let end = (start + 48).min(line.len());
            let mut i = start;
            let mut taken = 0;
            while i < end && taken < 2 {
                if is_word_byte(line[i]) {
                    let ws = i;
                    while i < end && (is_word_byte(line[i])) {
                        i += 1;
                    }
                    let word = &line[ws..i];
                    // A quoted word is a string (`"token": …`), a tag is markup: no variable.
                    let quoted = ws > 0
                        && (matches!(line[ws - 1], b'"' | b'\'' | b'<' | b'/')
                            && matches!(line.get(i), Some(b'"' | b'\'' | b'>')));
                    if quoted {
                        taken += 1;
                        continue;
                    }
                    let last = word.rsplit(|&b| b == b'.').next().unwrap_or(word);
                    if last.len() >= 2
                        && last.iter().any(u8::is_ascii_alphabetic)
                        && !NOT_NAMES
                            .iter()
                            .any(|n| n.as_bytes().eq_ignore_ascii_case(last))
                        && !line[ws.saturating_sub(1)..ws].starts_with(b"-")
                    {
                        out.insert(last.to_vec());
                    }
                    taken += 1;
                } else {
                    i += 1;
                }
            }
        }
    }
}

/// The names that occur in `hay` as a whole word followed by `=` or `:` (and any name a run
/// of word bytes cannot hold), in one walk over the runs of word bytes.
fn words_before_keys<'n>(hay: &[u8], names: &'n FxHashSet<Vec<u8>>) -> Vec<&'n [u8]> {
    let in_run = |b: u8| is_word_byte(b) && b != b'.';
    let mut wanted: FxHashSet<&[u8]> = names
        .iter()
        .filter(|n| !n.iter().all(|&b| in_run(b)))
        .map(Vec::as_slice)
        .collect();
    let longest = names.iter().map(Vec::len).max().unwrap_or(0);
    let mut i = 0;
    while i < hay.len() {
        if !in_run(hay[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < hay.len() && in_run(hay[i]) {
            i += 1;
        }
        if i - s <= longest {
            if let Some(n) = names.get(&hay[s..i]) {
                if is_key(&hay[i..(i + 8).min(hay.len())]) {
                    wanted.insert(n);
                }
            }
        }
    }
    names
        .iter()
        .map(Vec::as_slice)
        .filter(|n| wanted.contains(n))
        .collect()
}
