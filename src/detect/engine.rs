//! The cheap passes after the keyword prefilter (`keywords.rs`): the regions around keyword
//! occurrences where rule regexes run, the regex runs themselves, the decoding pass, and the
//! final merge of overlapping candidates.

use super::context::{self, Outer};
use super::{decode, Candidate, Detector, MAX_DEPTH};

/// Extra bytes around keyword regions, longer than any match (a secret of at most 512
/// characters and its delimiters), so a regex started at a region's edge is back in step with
/// a whole-blob scan before it reaches a secret that a keyword can vouch for: rule regexes
/// need a delimiter before the secret, so a scan that starts inside a run of secret
/// characters skips to the run's end, as a whole-blob scan that matched the run would.
const REGION_SLACK: usize = 1024;

/// One pass of the detector over `hay` (a blob, or a value decoded from one at `depth`).
/// `project` holds the names that other blobs of the project use at Applivery sinks and
/// that `hay` may define; `path` is where the blob is (for the sinks it logs).
pub(super) fn detect(
    det: &Detector,
    hay: &[u8],
    outer: Outer,
    depth: usize,
    project: &[Vec<u8>],
    path: &[u8],
) -> Vec<Candidate> {
    let hits = det.keywords.hits(hay);
    let whole = outer.ours();
    if hits.is_empty() && !whole && det.keywords.always.is_empty() && project.is_empty() {
        return Vec::new();
    }
    if depth == 0 && !hits.is_empty() {
        super::project::log_sinks(det, hay, &hits, path);
    }
    let flow = context::Flow::new(hay, &hits, project);
    let mut out = Vec::new();
    let mut all_regions: Vec<(usize, usize)> = Vec::new();
    for (ri, rule) in det.rules.iter().enumerate() {
        let mine: Vec<(usize, usize)> = hits
            .iter()
            .filter(|h| !h.encoded && det.keywords.rules_of(h.keyword).contains(&ri))
            .map(|h| (h.start, h.end))
            .collect();
        let near = rule.context.as_ref().filter(|c| c.keyword_near);
        let regions: Vec<(usize, usize)> = if rule.keywords.is_empty() || whole {
            vec![(0, hay.len())]
        } else if mine.is_empty() && flow.anchors.is_empty() {
            continue;
        } else if let Some(ctx) = near {
            // The keyword must be within `max_distance` of the secret: run the regex only
            // on the regions around keyword occurrences (and where a value named at an
            // Applivery sink is defined); a megabyte bundle that mentions the keyword once
            // costs a few kilobytes of regex.
            let reach = ctx.max_distance + REGION_SLACK;
            let mut spots: Vec<(usize, usize)> = mine.clone();
            spots.extend(flow.anchors.iter().copied());
            spots.sort_unstable();
            merge_regions(&spots, reach, hay.len())
        } else {
            vec![(0, hay.len())]
        };
        for &(rs, re) in &regions {
            run_rule(det, ri, hay, rs, re, &mine, &flow, outer, &mut out);
        }
        all_regions.extend(regions);
    }
    let encoded: Vec<(usize, usize)> = hits
        .iter()
        .filter(|h| h.encoded)
        .map(|h| (h.start, h.end))
        .collect();
    // Base64 of a keyword is evidence too: values encoded once more sit next to it.
    all_regions.extend(merge_regions(&encoded, REGION_SLACK, hay.len()));
    all_regions.sort_unstable();
    let all_regions = merge_regions(&all_regions, 0, hay.len());
    if depth < MAX_DEPTH {
        let ctx = decode::Pass {
            det,
            hay,
            outer,
            depth,
            flow: &flow,
            hits: &hits,
            rescan: detect,
        };
        ctx.run(&all_regions, &encoded, &mut out);
    }
    merge(out)
}

/// Spans `(start, end)` widened by `reach` on each side and merged where they overlap.
fn merge_regions(spots: &[(usize, usize)], reach: usize, len: usize) -> Vec<(usize, usize)> {
    let mut regions: Vec<(usize, usize)> = Vec::new();
    for &(s, e) in spots {
        let (rs, re) = (s.saturating_sub(reach), (e + reach).min(len));
        match regions.last_mut() {
            Some(last) if rs <= last.1 => last.1 = last.1.max(re),
            _ => regions.push((rs, re)),
        }
    }
    regions
}

/// Runs rule `ri` over `hay[from..to]` (the regex sees `to` as the end of input; the checks
/// see all of `hay`). `hits` are the rule's keyword occurrences.
#[allow(clippy::too_many_arguments)]
fn run_rule(
    det: &Detector,
    ri: usize,
    hay: &[u8],
    from: usize,
    to: usize,
    hits: &[(usize, usize)],
    flow: &context::Flow,
    outer: Outer,
    out: &mut Vec<Candidate>,
) {
    let rule = &det.rules[ri];
    // Where the rule's shape says every match lies (around long runs of its secret's
    // class), only there; else the whole region. Either way the same matches, in order.
    let windows = match rule.runs() {
        Some(runs) => runs.windows(hay, from, to),
        None => vec![(from, to)],
    };
    each_secret(rule, hay, from, &windows, |s, e| {
        let secret = &hay[s..e];
        let (secret, decoded): (Vec<u8>, Vec<&'static str>) = match rule.secret.decode {
            crate::rules::Decode::None => (Vec::new(), Vec::new()),
            crate::rules::Decode::Base64 => match decode::decode_base64(secret) {
                Some(d) => (d, vec!["base64"]),
                None => return,
            },
        };
        let value = if decoded.is_empty() {
            &hay[s..e]
        } else {
            &secret[..]
        };
        let judge = context::Judge {
            det,
            ri,
            hay,
            outer,
            flow,
            hits,
        };
        if let Some(evidence) = judge.accept(s, e, value) {
            out.push(Candidate {
                rule: ri,
                start: s,
                end: e,
                secret: (!decoded.is_empty()).then_some(secret),
                decoded,
                evidence,
            });
        }
    });
}

/// Calls `found(start, end)` for each secret the rule's regex matches, searching from `from`
/// leftmost first, each search in one of `windows` (sorted, apart) with its end as the end
/// of input, and resuming right after the secret, not after the whole match: rule regexes
/// often consume one delimiter after the secret that may start the next candidate.
fn each_secret(
    rule: &crate::rules::Rule,
    hay: &[u8],
    from: usize,
    windows: &[(usize, usize)],
    mut found: impl FnMut(usize, usize),
) {
    let mut locs = rule.regex.capture_locations();
    let mut at = from;
    for &(ws, we) in windows {
        if we < at {
            continue;
        }
        at = at.max(ws);
        let region = &hay[..we];
        while at <= region.len() {
            let Some(m) = rule.regex.captures_read_at(&mut locs, region, at) else {
                break;
            };
            let Some((s, e)) = locs.get(rule.secret_group()) else {
                // The secret group is optional in this regex and did not take part.
                at = if m.end() > m.start() {
                    m.end()
                } else {
                    m.end() + 1
                };
                continue;
            };
            at = if e > m.start() { e } else { m.end() + 1 };
            found(s, e);
        }
    }
}

/// Sorted by position; of candidates of different rules that overlap, the rule listed first
/// wins; candidates of one rule at one span with different secrets (a decoded document that
/// holds two tokens) are all kept.
fn merge(mut out: Vec<Candidate>) -> Vec<Candidate> {
    out.sort_by_key(|c| (c.start, c.rule, c.end));
    out.dedup();
    let mut kept: Vec<Candidate> = Vec::with_capacity(out.len());
    for c in out {
        match kept.last() {
            Some(k) if c.start < k.end && c.rule != k.rule => {
                if c.rule < k.rule {
                    // A lower rule index at an overlapping later start: replace.
                    let k_rule = k.rule;
                    kept.retain(|x| !(x.rule == k_rule && x.end > c.start));
                    kept.push(c);
                }
            }
            Some(k) if c.start < k.end && (c.start, c.end) != (k.start, k.end) => {
                // The same rule overlapping itself (a decoded span and a plain one): the
                // first wins.
            }
            _ => kept.push(c),
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::default_rules;

    /// Text of the kinds rule regexes meet: tokens, identifiers, hex, paths, keys and
    /// delimiters, drawn at random.
    fn text(seed: &mut u64, len: usize) -> Vec<u8> {
        let mut next = |n: u64| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed % n
        };
        const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const PUNCT: &[u8] = b" \n=:\"'./~+$%{}()[],;#=\t";
        let mut out = Vec::new();
        while out.len() < len {
            match next(6) {
                0 | 1 => {
                    let n = 16 + next(40) as usize;
                    out.extend((0..n).map(|_| ALPHA[next(64) as usize]));
                }
                2 => {
                    let n = 36 + next(8) as usize;
                    out.extend((0..n).map(|_| b"0123456789abcdef"[next(16) as usize]));
                }
                3 => out.extend_from_slice(b"applivery/token/"),
                _ => {
                    let n = 1 + next(3) as usize;
                    out.extend((0..n).map(|_| PUNCT[next(PUNCT.len() as u64) as usize]));
                }
            }
        }
        out
    }

    #[test]
    fn windows_around_runs_find_what_the_whole_region_finds() {
        let rules = default_rules();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut compared = 0;
        for round in 0..400 {
            let hay = text(&mut seed, 200 + round * 7);
            let (from, to) = (round % 13, hay.len() - round % 5);
            for rule in &rules {
                let runs = rule.runs().expect("the default rules' shapes are known");
                let mut whole = Vec::new();
                each_secret(rule, &hay, from, &[(from, to)], |s, e| whole.push((s, e)));
                let mut windowed = Vec::new();
                let windows = runs.windows(&hay, from, to);
                each_secret(rule, &hay, from, &windows, |s, e| windowed.push((s, e)));
                assert_eq!(windowed, whole, "round {round}, rule {}", rule.id);
                compared += whole.len();
            }
        }
        assert!(
            compared > 1000,
            "the text must give the regexes matches: {compared}"
        );
    }
}
