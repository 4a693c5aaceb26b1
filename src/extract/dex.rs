//! DEX files (`classes*.dex` in an APK or AAB), per the published Dalvik executable format,
//! rendered for the detector in two parts:
//! 1. the places a string is given a meaning: a static field's initial value
//!    (`BuildConfig.APPLIVERY_TOKEN = "…"`, from `static_values`), a string stored into a
//!    field in code (`const-string` then `sput-object` / `iput-object`), and a string passed
//!    to a method of an Applivery class or named for Applivery
//!    (`com.applivery.sdk.Applivery.init(…, "…", …)`) — one line each;
//! 2. the string table, each string in a section of its own (after a `---` line): the
//!    table is sorted, so a string's neighbours say nothing about it, and the section break
//!    keeps the detector from reading one as the key or the owner of the next.
//!
//! No maintained crate reads DEX for this; the parser is small, checks every offset
//! against the file, and is fuzzed (`fuzz/fuzz_targets/dex.rs`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write as _;

/// Instructions a `const-string` stays associated with its register.
const WINDOW: usize = 12;
/// Rendered text at most this many times the input (plus a floor).
const MAX_EXPANSION: usize = 4;

struct Dex<'a> {
    d: &'a [u8],
    strings: (usize, usize),
    types: (usize, usize),
    fields: (usize, usize),
    methods: (usize, usize),
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    d.get(o..o.checked_add(2)?)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    d.get(o..o.checked_add(4)?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads an unsigned LEB128 (at most 5 bytes) at `*o`.
fn uleb(d: &[u8], o: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    for i in 0..5 {
        let b = *d.get(*o)?;
        *o += 1;
        v |= ((b & 0x7f) as u32) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl<'a> Dex<'a> {
    fn parse(d: &'a [u8]) -> Result<Dex<'a>, String> {
        if d.len() < 0x70 || &d[..4] != b"dex\n" {
            return Err("not a DEX file".into());
        }
        let table = |o: usize, item: usize| -> Result<(usize, usize), String> {
            let n = u32_at(d, o).unwrap_or(0) as usize;
            let off = u32_at(d, o + 4).unwrap_or(0) as usize;
            if n.checked_mul(item)
                .and_then(|b| b.checked_add(off))
                .is_none_or(|end| end > d.len())
            {
                return Err("DEX table outside the file".into());
            }
            Ok((n, off))
        };
        Ok(Dex {
            d,
            strings: table(0x38, 4)?,
            types: table(0x40, 4)?,
            fields: table(0x50, 8)?,
            methods: table(0x58, 8)?,
        })
    }

    fn string(&self, i: usize) -> Option<Cow<'a, str>> {
        if i >= self.strings.0 {
            return None;
        }
        let mut o = u32_at(self.d, self.strings.1 + 4 * i)? as usize;
        uleb(self.d, &mut o)?;
        let rest = self.d.get(o..)?;
        let end = memchr::memchr(0, rest)?;
        Some(String::from_utf8_lossy(&rest[..end]))
    }

    fn type_name(&self, i: usize) -> Option<Cow<'a, str>> {
        if i >= self.types.0 {
            return None;
        }
        self.string(u32_at(self.d, self.types.1 + 4 * i)? as usize)
    }

    /// Class descriptor and name of a field or method id.
    fn member(&self, table: (usize, usize), i: usize) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
        if i >= table.0 {
            return None;
        }
        let o = table.1 + 8 * i;
        let class = self.type_name(u16_at(self.d, o)? as usize)?;
        let name = self.string(u32_at(self.d, o + 4)? as usize)?;
        Some((class, name))
    }
}

/// `Lcom/example/BuildConfig;` → `com.example.BuildConfig`.
fn dotted(desc: &str) -> String {
    desc.trim_start_matches('L')
        .trim_end_matches(';')
        .replace('/', ".")
}

/// `Lcom/example/BuildConfig;` → `BuildConfig`.
fn simple(desc: &str) -> String {
    let d = dotted(desc);
    d.rsplit('.').next().unwrap_or(&d).to_string()
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders `data` into `out`.
pub(crate) fn render(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let dex = Dex::parse(data)?;
    let cap = data.len().saturating_mul(MAX_EXPANSION).max(1 << 20);
    let (classes, class_off) = {
        let n = u32_at(data, 0x60).unwrap_or(0) as usize;
        let off = u32_at(data, 0x64).unwrap_or(0) as usize;
        if n.checked_mul(32)
            .and_then(|b| b.checked_add(off))
            .is_none_or(|e| e > data.len())
        {
            return Err("DEX class table outside the file".into());
        }
        (n, off)
    };
    for c in 0..classes {
        if out.len() > cap {
            break;
        }
        let o = class_off + 32 * c;
        let class_data = u32_at(data, o + 24).unwrap_or(0) as usize;
        let static_values = u32_at(data, o + 28).unwrap_or(0) as usize;
        if class_data != 0 {
            class(&dex, class_data, static_values, out, cap);
        }
    }
    // Each string of the table is a section of its own (`---`): the table is sorted, so a
    // neighbour is neither a string's key nor its owner.
    for i in 0..dex.strings.0 {
        if out.len() > cap {
            break;
        }
        let Some(s) = dex.string(i) else { continue };
        out.extend_from_slice(b"---\n");
        out.extend_from_slice(s.as_bytes());
        out.push(b'\n');
    }
    Ok(())
}

/// One class: static initial values, then the code of each method.
fn class(dex: &Dex, at: usize, static_values: usize, out: &mut Vec<u8>, cap: usize) {
    let d = dex.d;
    let mut o = at;
    let Some(counts) = (|| {
        Some([
            uleb(d, &mut o)?,
            uleb(d, &mut o)?,
            uleb(d, &mut o)?,
            uleb(d, &mut o)?,
        ])
    })() else {
        return;
    };
    let [statics, instances, direct, virtuals] = counts.map(|c| c as usize);
    let mut static_fields = Vec::new();
    let mut idx = 0usize;
    for i in 0..statics + instances {
        let (Some(diff), Some(_flags)) = (uleb(d, &mut o), uleb(d, &mut o)) else {
            return;
        };
        idx = idx.saturating_add(diff as usize);
        if i == statics {
            idx = diff as usize;
        }
        if i < statics && static_fields.len() < 1 << 16 {
            static_fields.push(idx);
        }
    }
    if static_values != 0 {
        let mut v = static_values;
        if let Some(n) = uleb(d, &mut v) {
            for &field in static_fields.iter().take(n as usize) {
                let Some(value) = encoded_value(d, &mut v, 0) else {
                    break;
                };
                if let (Some(s), Some((cls, name))) = (
                    value.and_then(|i| dex.string(i)),
                    dex.member(dex.fields, field),
                ) {
                    let _ = writeln!(out, "{}.{} = \"{}\"", simple(&cls), name, quote(&s));
                }
            }
        }
    }
    let mut midx = 0usize;
    for i in 0..direct + virtuals {
        if out.len() > cap {
            return;
        }
        let (Some(diff), Some(_flags), Some(code)) =
            (uleb(d, &mut o), uleb(d, &mut o), uleb(d, &mut o))
        else {
            return;
        };
        midx = if i == direct {
            diff as usize
        } else {
            midx.saturating_add(diff as usize)
        };
        if code != 0 {
            code_item(dex, code as usize, out);
        }
    }
}

/// Reads one encoded_value at `*o`; returns the string index if it is a string.
fn encoded_value(d: &[u8], o: &mut usize, depth: usize) -> Option<Option<usize>> {
    if depth > 16 {
        return None;
    }
    let b = *d.get(*o)?;
    *o += 1;
    let (kind, arg) = (b & 0x1f, (b >> 5) as usize);
    match kind {
        0x00 | 0x02 | 0x03 | 0x04 | 0x06 | 0x10 | 0x11 | 0x15..=0x1b => {
            let bytes = d.get(*o..*o + arg + 1)?;
            *o += arg + 1;
            if kind == 0x17 && arg < 4 {
                let mut v = 0usize;
                for (i, &x) in bytes.iter().enumerate() {
                    v |= (x as usize) << (8 * i);
                }
                return Some(Some(v));
            }
            Some(None)
        }
        0x1c => {
            let n = uleb(d, o)?;
            for _ in 0..n {
                encoded_value(d, o, depth + 1)?;
            }
            Some(None)
        }
        0x1d => {
            uleb(d, o)?;
            let n = uleb(d, o)?;
            for _ in 0..n {
                uleb(d, o)?;
                encoded_value(d, o, depth + 1)?;
            }
            Some(None)
        }
        0x1e | 0x1f => Some(None),
        _ => None,
    }
}

/// Width in 16-bit code units of an instruction with opcode `op` (Dalvik bytecode formats).
fn width(op: u8) -> usize {
    match op {
        0x00 | 0x01 | 0x04 | 0x07 | 0x0a..=0x12 | 0x1d | 0x1e | 0x21 | 0x27 | 0x28 => 1,
        0x3e..=0x43 | 0x73 | 0x79 | 0x7a | 0x7b..=0x8f | 0xb0..=0xcf | 0xe3..=0xf9 => 1,
        0x02 | 0x05 | 0x08 | 0x13 | 0x15 | 0x16 | 0x19 | 0x1a | 0x1c | 0x1f | 0x20 => 2,
        0x22 | 0x23 | 0x29 | 0x2d..=0x3d | 0x44..=0x6d | 0x90..=0xaf | 0xd0..=0xe2 => 2,
        0xfe | 0xff => 2,
        0x03 | 0x06 | 0x09 | 0x14 | 0x17 | 0x1b | 0x24..=0x26 | 0x2a..=0x2c => 3,
        0x6e..=0x72 | 0x74..=0x78 | 0xfc | 0xfd => 3,
        0xfa | 0xfb => 4,
        0x18 => 5,
    }
}

/// Walks one method's instructions, remembering which register holds which string.
fn code_item(dex: &Dex, at: usize, out: &mut Vec<u8>) {
    let d = dex.d;
    let Some(n) = u32_at(d, at + 12) else { return };
    let start = at + 16;
    let Some(end) = (n as usize)
        .checked_mul(2)
        .and_then(|b| b.checked_add(start))
        .filter(|&e| e <= d.len())
    else {
        return;
    };
    let unit = |i: usize| u16_at(d, start + 2 * i).unwrap_or(0);
    let units = (end - start) / 2;
    // Register -> (string index, instruction count when loaded).
    let mut regs: HashMap<u32, (usize, usize)> = HashMap::new();
    let mut pc = 0usize;
    let mut count = 0usize;
    while pc < units {
        let u = unit(pc);
        let op = (u & 0xff) as u8;
        let hi = (u >> 8) as usize;
        count += 1;
        let recent = |regs: &HashMap<u32, (usize, usize)>, r: u32| {
            regs.get(&r)
                .filter(|&&(_, at)| count - at <= WINDOW)
                .map(|&(s, _)| s)
        };
        match op {
            0x00 if hi != 0 => {
                // Payloads of switch and array instructions.
                let size = |i| unit(pc + i) as usize;
                pc += match hi {
                    1 => size(1) * 2 + 4,
                    2 => size(1) * 4 + 2,
                    3 => {
                        let n = size(2) | (size(3) << 16);
                        n.saturating_mul(size(1)).div_ceil(2) + 4
                    }
                    _ => 1,
                };
                continue;
            }
            0x1a => {
                regs.insert(hi as u32, (unit(pc + 1) as usize, count));
            }
            0x1b => {
                let s = unit(pc + 1) as usize | ((unit(pc + 2) as usize) << 16);
                regs.insert(hi as u32, (s, count));
            }
            // sput-object vAA, field; iput-object vA, vB, field.
            0x69 | 0x5b => {
                let (reg, field) = if op == 0x69 {
                    (hi as u32, unit(pc + 1) as usize)
                } else {
                    ((hi & 0xf) as u32, unit(pc + 1) as usize)
                };
                if let Some(s) = recent(&regs, reg).and_then(|s| dex.string(s)) {
                    if let Some((cls, name)) = dex.member(dex.fields, field) {
                        let _ = writeln!(out, "{}.{} = \"{}\"", simple(&cls), name, quote(&s));
                    }
                }
            }
            0x6e..=0x72 | 0x74..=0x78 => {
                let method = unit(pc + 1) as usize;
                let args: Vec<u32> = if op <= 0x72 {
                    let n = (hi >> 4).min(5);
                    let w = unit(pc + 2) as u32;
                    let all = [
                        w & 0xf,
                        (w >> 4) & 0xf,
                        (w >> 8) & 0xf,
                        (w >> 12) & 0xf,
                        hi as u32 & 0xf,
                    ];
                    all[..n].to_vec()
                } else {
                    let first = unit(pc + 2) as u32;
                    (first..first + hi as u32).collect()
                };
                let strings: Vec<Option<Cow<str>>> = args
                    .iter()
                    .map(|&r| recent(&regs, r).and_then(|s| dex.string(s)))
                    .collect();
                if strings.iter().any(Option::is_some) {
                    if let Some((cls, name)) = dex.member(dex.methods, method) {
                        if super::mentions(cls.as_bytes()) || super::mentions(name.as_bytes()) {
                            let shown: Vec<String> = strings
                                .iter()
                                .map(|s| match s {
                                    Some(s) => format!("\"{}\"", quote(s)),
                                    None => "…".into(),
                                })
                                .collect();
                            let _ =
                                writeln!(out, "{}.{}({})", dotted(&cls), name, shown.join(", "));
                        }
                    }
                }
            }
            _ => {}
        }
        pc += width(op);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_cover_every_opcode_and_tables_are_checked() {
        for op in 0..=255u8 {
            assert!((1..=5).contains(&width(op)));
        }
        let mut d = vec![0u8; 0x70];
        d[..8].copy_from_slice(b"dex\n035\0");
        d[0x38..0x3c].copy_from_slice(&1000u32.to_le_bytes());
        assert!(Dex::parse(&d).is_err());
        assert!(render(b"dex\n035\0", &mut Vec::new()).is_err());
    }
}
