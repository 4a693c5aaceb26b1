//! Android binary XML (`AndroidManifest.xml` and `res/**/*.xml` inside an APK), per the
//! published `ResXMLTree` chunk format, rendered back as XML text: one element per line,
//! with its attributes, indented by depth — so `<meta-data android:name="applivery.token"
//! android:value="…"/>` keeps the key that names the value. The string pool reader here is
//! shared with resource tables (`arsc`). No maintained crate does this; the parser checks
//! every offset and is fuzzed (`fuzz/fuzz_targets/axml.rs`).

use std::borrow::Cow;
use std::io::Write as _;

pub(crate) const RES_STRING_POOL: u16 = 0x0001;
const RES_XML_RESOURCE_MAP: u16 = 0x0180;
const RES_XML_START_NAMESPACE: u16 = 0x0100;
const RES_XML_START_ELEMENT: u16 = 0x0102;
const RES_XML_END_ELEMENT: u16 = 0x0103;
const RES_XML_CDATA: u16 = 0x0104;
const ANDROID_NS: &str = "http://schemas.android.com/apk/res/android";
/// Rendered text at most this many times the input (plus a floor).
const MAX_EXPANSION: usize = 16;

pub(crate) fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    d.get(o..o.checked_add(2)?)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

pub(crate) fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    d.get(o..o.checked_add(4)?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A chunk: its type, header size, and its bytes (header included).
pub(crate) struct Chunk<'a> {
    pub kind: u16,
    pub header: usize,
    pub data: &'a [u8],
}

/// The chunks laid end to end in `d[from..]`.
pub(crate) fn chunks(d: &[u8], from: usize) -> impl Iterator<Item = Chunk<'_>> {
    let mut at = from;
    std::iter::from_fn(move || {
        let kind = u16_at(d, at)?;
        let header = u16_at(d, at + 2)? as usize;
        let size = u32_at(d, at + 4)? as usize;
        if size < 8 || header < 8 || header > size {
            return None;
        }
        let data = d.get(at..at.checked_add(size)?)?;
        at += size;
        Some(Chunk { kind, header, data })
    })
}

/// A string pool chunk (`ResStringPool`), read lazily.
pub(crate) struct Pool<'a> {
    data: &'a [u8],
    count: usize,
    utf8: bool,
    strings_start: usize,
    /// Where the offsets of the strings start (the chunk's header size).
    offsets: usize,
}

impl<'a> Pool<'a> {
    pub fn new(c: &Chunk<'a>) -> Option<Pool<'a>> {
        let d = c.data;
        let count = u32_at(d, 8)? as usize;
        let flags = u32_at(d, 16)?;
        let strings_start = u32_at(d, 20)? as usize;
        if count.checked_mul(4)?.checked_add(c.header)? > d.len() {
            return None;
        }
        Some(Pool {
            data: d,
            count,
            utf8: flags & 0x100 != 0,
            strings_start,
            offsets: c.header,
        })
    }

    pub fn empty() -> Pool<'a> {
        Pool {
            data: &[],
            count: 0,
            utf8: true,
            strings_start: 0,
            offsets: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    /// String `i`, or None when `i` is out of range or the string is damaged.
    pub fn get(&self, i: u32) -> Option<Cow<'a, str>> {
        let i = i as usize;
        if i >= self.count {
            return None;
        }
        let d = self.data;
        let off = u32_at(d, self.offsets + 4 * i)? as usize;
        let mut o = self.strings_start.checked_add(off)?;
        if self.utf8 {
            // UTF-16 length, then UTF-8 length, each one or two bytes.
            let len8 = |o: &mut usize| -> Option<usize> {
                let a = *d.get(*o)? as usize;
                *o += 1;
                if a & 0x80 != 0 {
                    let b = *d.get(*o)? as usize;
                    *o += 1;
                    Some(((a & 0x7f) << 8) | b)
                } else {
                    Some(a)
                }
            };
            len8(&mut o)?;
            let n = len8(&mut o)?;
            Some(String::from_utf8_lossy(d.get(o..o.checked_add(n)?)?))
        } else {
            let mut n = u16_at(d, o)? as usize;
            o += 2;
            if n & 0x8000 != 0 {
                n = ((n & 0x7fff) << 16) | u16_at(d, o)? as usize;
                o += 2;
            }
            let bytes = d.get(o..o.checked_add(n.checked_mul(2)?)?)?;
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect();
            Some(Cow::Owned(String::from_utf16_lossy(&units)))
        }
    }
}

/// A typed value (`Res_value`) as text, with strings looked up in `pool`.
pub(crate) fn value(pool: &Pool, kind: u8, data: u32) -> String {
    match kind {
        0x03 => pool.get(data).map(|s| s.into_owned()).unwrap_or_default(),
        0x01 | 0x07 => format!("@0x{data:08x}"),
        0x02 => format!("?0x{data:08x}"),
        0x10 => (data as i32).to_string(),
        0x11 => format!("0x{data:x}"),
        0x12 => (data != 0).to_string(),
        0x1c..=0x1f => format!("#{data:08x}"),
        _ => format!("0x{data:08x}"),
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
}

/// Names of the framework attributes that matter here, for files whose attribute names
/// were stripped (only the resource id is left).
fn framework_attribute(id: u32) -> Option<&'static str> {
    match id {
        0x0101_0003 => Some("name"),
        0x0101_0024 => Some("value"),
        0x0101_0025 => Some("resource"),
        _ => None,
    }
}

pub(crate) fn render(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if u16_at(data, 0) != Some(0x0003) {
        return Err("not Android binary XML".into());
    }
    let cap = data.len().saturating_mul(MAX_EXPANSION).max(1 << 20);
    let mut pool = Pool::empty();
    let mut ids: Vec<u32> = Vec::new();
    let mut prefixes: Vec<(u32, String)> = Vec::new();
    let mut depth = 0usize;
    let mut any = false;
    for c in chunks(data, 8) {
        if out.len() > cap {
            break;
        }
        any = true;
        let d = c.data;
        let ext = c.header;
        match c.kind {
            RES_STRING_POOL => {
                pool = Pool::new(&c).ok_or("damaged string pool")?;
            }
            RES_XML_RESOURCE_MAP => {
                ids = d[c.header..]
                    .chunks_exact(4)
                    .take(1 << 16)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
            }
            RES_XML_START_NAMESPACE => {
                let (Some(prefix), Some(uri)) = (u32_at(d, ext), u32_at(d, ext + 4)) else {
                    continue;
                };
                let p = pool.get(prefix).map(|s| s.into_owned()).unwrap_or_default();
                if prefixes.len() < 256 {
                    prefixes.push((uri, p));
                }
            }
            RES_XML_START_ELEMENT => {
                let name = u32_at(d, ext + 4)
                    .and_then(|n| pool.get(n))
                    .unwrap_or_default();
                let start = u16_at(d, ext + 8).unwrap_or(0) as usize;
                let size = u16_at(d, ext + 10).unwrap_or(0) as usize;
                let count = u16_at(d, ext + 12).unwrap_or(0) as usize;
                let _ = write!(out, "{}<{}", "  ".repeat(depth.min(64)), name);
                for a in 0..count {
                    let at = ext + start + a * size.max(20);
                    let (Some(ns), Some(n), Some(raw), Some(kind), Some(v)) = (
                        u32_at(d, at),
                        u32_at(d, at + 4),
                        u32_at(d, at + 8),
                        d.get(at + 15).copied(),
                        u32_at(d, at + 16),
                    ) else {
                        break;
                    };
                    let mut attr = pool.get(n).map(|s| s.into_owned()).unwrap_or_default();
                    if attr.is_empty() {
                        let id = ids.get(n as usize).copied().unwrap_or(0);
                        attr = framework_attribute(id)
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("attr_0x{id:08x}"));
                    }
                    let prefix = prefixes
                        .iter()
                        .rev()
                        .find(|(uri, _)| *uri == ns)
                        .map(|(_, p)| p.clone())
                        .or_else(|| {
                            (pool.get(ns).as_deref() == Some(ANDROID_NS)).then(|| "android".into())
                        });
                    let shown = match pool.get(raw) {
                        Some(s) if raw != u32::MAX => s.into_owned(),
                        _ => value(&pool, kind, v),
                    };
                    match prefix {
                        Some(p) if !p.is_empty() => {
                            let _ = write!(out, " {p}:{attr}=\"{}\"", escape(&shown));
                        }
                        _ => {
                            let _ = write!(out, " {attr}=\"{}\"", escape(&shown));
                        }
                    }
                }
                out.extend_from_slice(b">\n");
                depth += 1;
            }
            RES_XML_END_ELEMENT => {
                depth = depth.saturating_sub(1);
                let name = u32_at(d, ext + 4)
                    .and_then(|n| pool.get(n))
                    .unwrap_or_default();
                let _ = writeln!(out, "{}</{}>", "  ".repeat(depth.min(64)), name);
            }
            RES_XML_CDATA => {
                if let Some(s) = u32_at(d, ext).and_then(|n| pool.get(n)) {
                    let _ = writeln!(out, "{}{}", "  ".repeat(depth.min(64)), escape(&s));
                }
            }
            _ => {}
        }
    }
    if !any {
        return Err("no chunks".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        assert!(render(b"\x03\x00\x08\x00", &mut Vec::new()).is_err());
        let mut d = b"\x03\x00\x08\x00\x20\x00\x00\x00".to_vec();
        d.extend_from_slice(&[0x01, 0x00, 0x1c, 0x00, 0xff, 0xff, 0, 0]);
        d.extend_from_slice(&[0xff; 16]);
        assert!(render(&d, &mut Vec::new()).is_err());
    }
}
