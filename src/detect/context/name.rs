//! The name of a value: the key, call or header word before it, else the key on the line
//! above, else a trailing comment — and what that name says about whose value it is.

use super::super::text::{
    indentation, is_key, is_word_byte, line_bounds_near, line_key, split_words, starts_line,
    LINE_LIMIT,
};
use super::super::{PREVIOUS_LINE_MAX, SIGNAL_LOOKBACK};
use super::{has_words, names_owner, Class, Judge};
use crate::rules::Context;

impl Judge<'_> {
    pub(super) fn classify(&self, ctx: &Context, w: &[u8]) -> Class {
        let parts = split_words(w);
        let secretish = |p: &String| {
            !self.names().contains(p)
                && ctx
                    .signal
                    .as_ref()
                    .is_some_and(|r| r.is_match(p.as_bytes()))
        };
        let not_secret = parts.iter().any(|p| ctx.not_secret_words.contains(p));
        let any_secret = parts.iter().any(secretish);
        if self.mentions(w) {
            return if not_secret && !any_secret {
                Class::NotSecret
            } else {
                Class::Ours
            };
        }
        if names_owner(&parts, |w| ctx.other_owners.contains(w)) {
            return Class::Foreign;
        }
        if not_secret {
            // `cacheKey`, `tokenHash`, `appId`: a key of something that is no secret.
            return Class::NotSecret;
        }
        let unknown = parts.iter().any(|p| {
            p.len() > 1
                && !ctx.generic_key_words.contains(p)
                && !secretish(p)
                && !p
                    .strip_suffix('s')
                    .is_some_and(|q| ctx.generic_key_words.contains(q))
        });
        match (unknown, any_secret) {
            (false, true) => Class::Generic,
            (false, false) => Class::Neutral,
            (true, true) => Class::Qualified,
            (true, false) => Class::Other,
        }
    }

    /// The name of the value and where that name is: on its line, else the line above, else
    /// a trailing comment.
    pub(super) fn name(
        &self,
        ctx: &Context,
        s: usize,
        e: usize,
        ls: usize,
        le: usize,
    ) -> (Option<Class>, Option<(usize, usize)>) {
        let hay = self.hay;
        let from = ls.max(s.saturating_sub(SIGNAL_LOOKBACK));
        let (mut class, mut key) = self.naming(ctx, from, s);
        if matches!(class, None | Some(Class::Neutral)) {
            // A trailing comment (`<token>  # applivery upload token`): a comment, after
            // the value's closing quote or comma, that names Applivery and a credential.
            // Prose after a value (`… and fooBar methods to AppliverySDK`) is no comment.
            let after = &hay[e..le.min(e + SIGNAL_LOOKBACK).max(e)];
            let lead = after
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b',' | b';' | b')'))
                .count();
            let comment = &after[lead..];
            let marked = [&b"#"[..], b"//", b"/*", b"--", b"<!--", b";"]
                .iter()
                .any(|m| comment.starts_with(m));
            if marked && self.mentions(comment) && self.credential(ctx, comment) {
                return (Some(Class::Ours), Some((e + lead, e + after.len())));
            }
            // The key on the line above (`<key>AppliveryAppToken</key>` over `<string>`,
            // `- name: appliveryToken` over `value: …`, `TOKEN =` over a literal).
            if ls > 0 && starts_line(hay, ls) {
                let (ps, pe) = line_bounds_near(hay, ls - 1, ls - 1, LINE_LIMIT);
                let ps = ps.max(pe.saturating_sub(PREVIOUS_LINE_MAX));
                let (c, k) = self.naming(ctx, ps, pe);
                let decisive = matches!(
                    c,
                    Some(Class::Ours | Class::Foreign | Class::NotSecret | Class::Generic)
                );
                if decisive || (class.is_none() && c.is_some() && !has_words(&hay[ls..s])) {
                    class = c;
                    key = k;
                }
            }
        }
        // A neutral key (`default:`, `value:`) holds what its parent names: a GitHub Actions
        // input `token:` over `  default: …`, a `password:` block over `  value: …`.
        if class == Some(Class::Neutral) && key.is_some_and(|(a, _)| a >= ls) {
            if let Some((c, k)) = self.parent_key(ctx, ls) {
                if matches!(
                    c,
                    Class::Ours | Class::Foreign | Class::NotSecret | Class::Generic
                ) {
                    class = Some(c);
                    key = Some(k);
                }
            }
        }
        (class, key)
    }

    /// The key of the nearest less-indented line above `ls` that opens a block (`token:`),
    /// with what it says.
    fn parent_key(&self, ctx: &Context, ls: usize) -> Option<(Class, (usize, usize))> {
        let hay = self.hay;
        let (_, le) = line_bounds_near(hay, ls, ls, LINE_LIMIT);
        let indent = indentation(&hay[ls..le]);
        let mut at = ls;
        for _ in 0..ctx.lines_before {
            if indent == 0 || at == 0 || !starts_line(hay, at) {
                return None;
            }
            let (ps, pe) = line_bounds_near(hay, at - 1, at - 1, LINE_LIMIT);
            at = ps;
            let line = &hay[ps..pe];
            if line.iter().all(u8::is_ascii_whitespace) || indentation(line) >= indent {
                continue;
            }
            let t = line.trim_ascii_end();
            let k = line_key(t).filter(|_| t.ends_with(b":"))?;
            let a = ps + memchr::memmem::find(line, k)?;
            return Some((self.classify(ctx, k), (a, a + k.len())));
        }
        None
    }

    /// Looks at the words in `from..to`, last first, for the name of what follows. A
    /// secret-like or owner-naming word decides; a neutral key (`value=`, `default:`) is
    /// passed over; another key (`description:`) names the value as something else.
    pub(super) fn naming(
        &self,
        ctx: &Context,
        from: usize,
        to: usize,
    ) -> (Option<Class>, Option<(usize, usize)>) {
        let hay = self.hay;
        let mut i = to;
        let mut neutral: Option<(usize, usize)> = None;
        while i > from {
            if !is_word_byte(hay[i - 1]) {
                i -= 1;
                continue;
            }
            let end = i;
            while i > from && is_word_byte(hay[i - 1]) {
                i -= 1;
            }
            let w = &hay[i..end];
            if !w.iter().any(u8::is_ascii_alphabetic) {
                continue;
            }
            // A closing tag (`</key>`) names nothing; nor does markup around a value
            // (`<code>…</code>`, `<td>…`): it says how the value is shown, not what it is.
            if i >= 2 && &hay[i - 2..i] == b"</" {
                continue;
            }
            if i > 0 && hay[i - 1] == b'<' && is_markup(w) {
                continue;
            }
            // A flag attribute of the element around the value (`<Value
            // ProtectInMemory="True">`, `translatable="false"`) describes it, not names it.
            if is_flag(&hay[end..to]) {
                continue;
            }
            let class = self.classify(ctx, w);
            let keyed = is_key(&hay[end..to])
                || hay.get(end) == Some(&b'(')
                || (hay.get(end) == Some(&b'>') && i > 0 && hay[i - 1] == b'<');
            match class {
                // The service named in prose (`uploads to Applivery X`), not as a key, a
                // call or with a word for a credential, does not name the value: it is only
                // a mention nearby.
                Class::Ours if !keyed && !self.credential(ctx, w) => {}
                Class::Ours | Class::Foreign | Class::NotSecret | Class::Generic => {
                    return (Some(class), Some((i, end)));
                }
                Class::Neutral => {
                    if keyed && neutral.is_none() {
                        neutral = Some((i, end));
                    }
                }
                Class::Qualified | Class::Other => {
                    if keyed && !(class == Class::Other && hay.get(end) == Some(&b'(')) {
                        return (Some(class), Some((i, end)));
                    }
                }
            }
        }
        match neutral {
            Some(k) => (Some(Class::Neutral), Some(k)),
            None => (None, None),
        }
    }
}

/// HTML elements that hold text: a value between them is shown, not named.
const MARKUP: &[&str] = &[
    "a",
    "b",
    "i",
    "u",
    "p",
    "em",
    "tt",
    "dd",
    "dt",
    "li",
    "td",
    "th",
    "code",
    "pre",
    "kbd",
    "samp",
    "span",
    "div",
    "strong",
    "mark",
    "small",
    "font",
    "blockquote",
    "var",
    "cite",
];

fn is_markup(w: &[u8]) -> bool {
    w.len() <= 10 && MARKUP.iter().any(|m| m.as_bytes().eq_ignore_ascii_case(w))
}

/// True if the text after a word makes it an attribute set to a boolean (`="True"`,
/// `='false'`, `=yes`).
fn is_flag(after: &[u8]) -> bool {
    let Some(v) = after.strip_prefix(b"=") else {
        return false;
    };
    let v = v.strip_prefix(b"\"").or(v.strip_prefix(b"'")).unwrap_or(v);
    let n = v.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let word = &v[..n];
    ["true", "false", "yes", "no"]
        .iter()
        .any(|f| f.as_bytes().eq_ignore_ascii_case(word))
        && !v
            .get(n)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}
