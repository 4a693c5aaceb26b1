//! The keyword prefilter: one literal search for every rule's keywords and their base64
//! forms. A blob without a keyword (and outside an Applivery scope) costs this search alone;
//! its hits are where the rule regexes run (`engine.rs`) and what the context engine weighs.

use anyhow::{bail, Result};

use crate::rules::Rule;

/// The keyword search of a rule set.
pub(super) struct Keywords {
    /// One alternation of every rule's keywords, ASCII case-insensitive, then their base64
    /// forms. The regex engine's literal search (SIMD "Teddy" over the case variants of the
    /// keywords' prefixes, as in ripgrep) runs at memory speed; an Aho-Corasick automaton with
    /// ASCII case folding falls back to a rare-byte prefilter that ran at a third of it.
    regex: Option<regex::bytes::Regex>,
    /// Per alternative: the keyword it stands for (index into `keywords`), and its base64
    /// form (empty for the keyword itself).
    patterns: Vec<(usize, Vec<u8>)>,
    /// The lower-cased keywords.
    keywords: Vec<String>,
    /// For each keyword, the rules it activates.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords run on every blob.
    pub(super) always: Vec<usize>,
}

/// A keyword occurrence.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hit {
    pub start: usize,
    pub end: usize,
    pub keyword: usize,
    /// Found in base64 form: the text around it is encoded.
    pub encoded: bool,
}

impl Keywords {
    pub(super) fn new(rules: &[Rule]) -> Result<Keywords> {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i);
            }
            for k in &r.keywords {
                let k = k.to_ascii_lowercase();
                match keywords.iter().position(|p| p == &k) {
                    Some(p) => keyword_rules[p].push(i),
                    None => {
                        keywords.push(k);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let mut alternatives = Vec::new();
        let mut patterns = Vec::new();
        for (ki, k) in keywords.iter().enumerate() {
            alternatives.push(regex::escape(k));
            patterns.push((ki, Vec::new()));
        }
        for (ki, k) in keywords.iter().enumerate() {
            for form in base64_forms(k) {
                alternatives.push(format!("(?-i:{})", regex::escape(&form)));
                patterns.push((ki, form.into_bytes()));
            }
        }
        let regex = if alternatives.is_empty() {
            None
        } else {
            match regex::bytes::RegexBuilder::new(&format!("(?i){}", alternatives.join("|")))
                .unicode(false)
                .size_limit(64 << 20)
                .build()
            {
                Ok(r) => Some(r),
                Err(e) => {
                    // Name the rule (and its file) with the most keywords: the likely culprit.
                    let r = rules.iter().max_by_key(|r| r.keywords.len());
                    let (origin, id) = r.map_or(("", ""), |r| (r.origin.as_str(), r.id.as_str()));
                    bail!(
                        "{origin}: rule '{id}': keywords: too many or too long to search ({})",
                        e.to_string()
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
            }
        };
        Ok(Keywords {
            regex,
            patterns,
            keywords,
            keyword_rules,
            always,
        })
    }

    pub(super) fn any(&self, hay: &[u8]) -> bool {
        !self.always.is_empty() || self.regex.as_ref().is_some_and(|k| k.is_match(hay))
    }

    /// Every keyword occurrence, in order.
    pub(super) fn hits(&self, hay: &[u8]) -> Vec<Hit> {
        let Some(re) = &self.regex else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in re.find_iter(hay) {
            let found = m.as_bytes();
            // A plain search does not say which alternative matched; the text does.
            let plain = self
                .keywords
                .iter()
                .position(|k| k.as_bytes().eq_ignore_ascii_case(found));
            let (keyword, encoded) = match plain {
                Some(k) => (k, false),
                None => (
                    self.patterns
                        .iter()
                        .find(|(_, form)| form.as_slice() == found)
                        .map_or(0, |p| p.0),
                    true,
                ),
            };
            out.push(Hit {
                start: m.start(),
                end: m.end(),
                keyword,
                encoded,
            });
        }
        out
    }

    pub(super) fn rules_of(&self, keyword: usize) -> &[usize] {
        &self.keyword_rules[keyword]
    }
}

/// The base64 forms of `keyword` at each of the three alignments, in lower, capitalised and
/// upper case (and URL-safe): the characters fully determined by the keyword's bytes.
pub(super) fn base64_forms(keyword: &str) -> Vec<String> {
    const STD: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out: Vec<String> = Vec::new();
    let lower = keyword.to_ascii_lowercase();
    let mut cap = lower.clone();
    if let Some(f) = cap.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    for variant in [lower.clone(), cap, keyword.to_ascii_uppercase()] {
        let k = variant.as_bytes();
        if k.len() < 6 {
            continue;
        }
        for off in 0..3usize {
            let mut bytes = vec![0u8; off];
            bytes.extend_from_slice(k);
            let bits = bytes.len() * 8;
            let mut form = String::new();
            let mut j = 0;
            while 6 * j + 6 <= bits {
                if 6 * j >= 8 * off {
                    let mut v = 0u32;
                    for b in 0..6 {
                        let bit = 6 * j + b;
                        let byte = bytes[bit / 8];
                        v = (v << 1) | ((byte >> (7 - bit % 8)) & 1) as u32;
                    }
                    form.push(STD[v as usize] as char);
                }
                j += 1;
            }
            if form.len() >= 6 && !out.contains(&form) {
                let url = form.replace('+', "-").replace('/', "_");
                out.push(form);
                if !out.contains(&url) {
                    out.push(url);
                }
            }
        }
    }
    out
}
