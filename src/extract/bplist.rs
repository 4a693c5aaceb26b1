//! Binary property lists (`bplist00`: an IPA's `Info.plist`, `GoogleService-Info.plist`,
//! settings bundles) rendered as the XML plist text the detector already reads:
//! `<key>AppliveryToken</key>` on one line, `<string>…</string>` on the next, nested
//! dictionaries indented. The `plist` crate reads the format; its event stream is rendered
//! here without building the whole value, and with a cap on output, because a hostile list
//! can share one object from many places and so expand exponentially.

use std::io::Cursor;
use std::io::Write as _;

use plist::stream::{BinaryReader, Event};

/// Rendered text larger than this many times the input is cut (shared objects).
const MAX_EXPANSION: usize = 64;

pub(crate) fn render(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let cap = data.len().saturating_mul(MAX_EXPANSION).max(1 << 20);
    // Per open collection: is it a dictionary, and is the next item a key?
    let mut stack: Vec<(bool, bool)> = Vec::new();
    for event in BinaryReader::new(Cursor::new(data)) {
        let event = event.map_err(|e| e.to_string())?;
        if out.len() > cap {
            return Ok(());
        }
        let depth = stack.len();
        let key_expected = matches!(stack.last(), Some((true, true)));
        if let Some((true, next_is_key)) = stack.last_mut() {
            if !matches!(event, Event::EndCollection) {
                *next_is_key = !*next_is_key;
            }
        }
        let pad = "  ".repeat(depth.min(64));
        let w = &mut *out;
        let line = |w: &mut Vec<u8>, tag: &str, v: &str| {
            let _ = writeln!(w, "{pad}<{tag}>{}</{tag}>", escape(v));
        };
        match event {
            Event::String(s) if key_expected => line(w, "key", &s),
            Event::String(s) => line(w, "string", &s),
            Event::StartDictionary(_) => {
                let _ = writeln!(w, "{pad}<dict>");
                stack.push((true, true));
            }
            Event::StartArray(_) => {
                let _ = writeln!(w, "{pad}<array>");
                stack.push((false, false));
            }
            Event::EndCollection => {
                let was_dict = stack.pop().is_some_and(|(d, _)| d);
                let pad = "  ".repeat(stack.len().min(64));
                let _ = writeln!(w, "{pad}</{}>", if was_dict { "dict" } else { "array" });
            }
            Event::Boolean(b) => {
                let _ = writeln!(w, "{pad}<{b}/>");
            }
            Event::Integer(i) => line(w, "integer", &i.to_string()),
            Event::Real(r) => line(w, "real", &r.to_string()),
            // Dates hold no tokens, and the crate's formatter panics on a year out of its
            // range (found by fuzzing): the value is left out.
            Event::Date(_) => {
                let _ = writeln!(w, "{pad}<date/>");
            }
            // Data may hold text (an embedded config): shown as text when it is.
            Event::Data(d) => match std::str::from_utf8(&d) {
                Ok(s) if !crate::haystack::is_binary(d.as_ref()) => line(w, "data", s),
                _ => line(w, "data", &format!("{} bytes", d.len())),
            },
            Event::Uid(u) => line(w, "uid", &u.get().to_string()),
            _ => {}
        }
    }
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keys_above_values() {
        let mut d = plist::Dictionary::new();
        d.insert("CFBundleName".into(), "Demo".into());
        let mut inner = plist::Dictionary::new();
        inner.insert("AppliveryToken".into(), "Zk3qP9xVb2LmN7wQe4RtY6uA".into()); // applivery-leaks:allow
        inner.insert("Enabled".into(), true.into());
        d.insert("Applivery".into(), plist::Value::Dictionary(inner));
        let mut bin = Vec::new();
        plist::Value::Dictionary(d)
            .to_writer_binary(&mut bin)
            .unwrap();
        let mut out = Vec::new();
        render(&bin, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "    <key>AppliveryToken</key>\n    <string>Zk3qP9xVb2LmN7wQe4RtY6uA</string>\n" // applivery-leaks:allow
            ),
            "{text}"
        );
        assert!(text.contains("<key>CFBundleName</key>\n  <string>Demo</string>"));
        assert!(render(&bin[..bin.len() - 5], &mut Vec::new()).is_err());
    }

    /// Found by `cargo fuzz run bplist`: a date whose year the crate cannot format.
    #[test]
    fn a_date_out_of_range_is_no_panic() {
        const CRASH: &[u8] = &[
            0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30, 0xd2, 0x01, 0x02, 0x03, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0x21, 0x65, 0x00, 0x00, 0x01, 0x3b, 0x00, 0x00, 0x00,
            0x33, 0xc2, 0x49, 0x29, 0x48, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48,
            0x31, 0x6e, 0x73, 0x68, 0x4c, 0x77, 0x43, 0x71, 0x73, 0x70, 0x43, 0x70, 0x68, 0x43,
            0x54, 0xd1, 0x78, 0x06, 0x51, 0x61, 0x51, 0x62, 0x08, 0x1c, 0x39, 0x1c, 0x08, 0x3b,
            0x0d, 0x1c, 0x3e, 0x39, 0x3c, 0x3e, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x40,
        ];
        let _ = render(CRASH, &mut Vec::new());
    }
}
