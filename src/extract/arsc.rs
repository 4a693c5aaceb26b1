//! Resource tables (`resources.arsc` in an APK), per the published `ResTable` chunk format:
//! every string-typed resource rendered as `<string name="applivery_token">…</string>`
//! (`resValue "string", …` in Gradle ends up here), then every string of the global pool,
//! each in a section of its own (after `---`) so neighbours are read as neither its key nor
//! its owner. Fuzzed as
//! `fuzz/fuzz_targets/arsc.rs`.

use std::io::Write as _;

use super::axml::{chunks, escape, u16_at, u32_at, value, Pool, RES_STRING_POOL};

const RES_TABLE_PACKAGE: u16 = 0x0200;
const RES_TABLE_TYPE: u16 = 0x0201;
const FLAG_SPARSE: u8 = 0x01;
const FLAG_OFFSET16: u8 = 0x02;
const ENTRY_COMPLEX: u16 = 0x0001;
const ENTRY_COMPACT: u16 = 0x0008;
const MAX_EXPANSION: usize = 16;

pub(crate) fn render(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if u16_at(data, 0) != Some(0x0002) {
        return Err("not a resource table".into());
    }
    let header = u16_at(data, 2).unwrap_or(0) as usize;
    let cap = data.len().saturating_mul(MAX_EXPANSION).max(1 << 20);
    let mut global = Pool::empty();
    let mut any = false;
    for c in chunks(data, header) {
        any = true;
        match c.kind {
            RES_STRING_POOL => global = Pool::new(&c).ok_or("damaged string pool")?,
            RES_TABLE_PACKAGE => package(&c, &global, out, cap),
            _ => {}
        }
    }
    if !any {
        return Err("no chunks".into());
    }
    for i in 0..global.len() as u32 {
        if out.len() > cap {
            break;
        }
        if let Some(s) = global.get(i) {
            out.extend_from_slice(b"---\n");
            out.extend_from_slice(s.as_bytes());
            out.push(b'\n');
        }
    }
    Ok(())
}

fn package<'a>(c: &super::axml::Chunk<'a>, global: &Pool, out: &mut Vec<u8>, cap: usize) {
    let d = c.data;
    let (Some(type_strings), Some(key_strings)) = (u32_at(d, 268), u32_at(d, 276)) else {
        return;
    };
    let mut types: Pool<'a> = Pool::empty();
    let mut keys: Pool<'a> = Pool::empty();
    for ch in chunks(d, c.header) {
        if out.len() > cap {
            return;
        }
        let at = ch.data.as_ptr() as usize - d.as_ptr() as usize;
        match ch.kind {
            RES_STRING_POOL if at == type_strings as usize => {
                types = Pool::new(&ch).unwrap_or_else(Pool::empty)
            }
            RES_STRING_POOL if at == key_strings as usize => {
                keys = Pool::new(&ch).unwrap_or_else(Pool::empty)
            }
            RES_TABLE_TYPE => table_type(&ch, &types, &keys, global, out),
            _ => {}
        }
    }
}

/// One `ResTable_type` chunk: the entries of one type in one configuration.
fn table_type(c: &super::axml::Chunk, types: &Pool, keys: &Pool, global: &Pool, out: &mut Vec<u8>) {
    let d = c.data;
    let (Some(&id), Some(&flags), Some(count), Some(entries)) =
        (d.get(8), d.get(9), u32_at(d, 12), u32_at(d, 16))
    else {
        return;
    };
    let type_name = types
        .get(u32::from(id).saturating_sub(1))
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "resource".into());
    let count = (count as usize).min(1 << 20);
    let entries = entries as usize;
    for i in 0..count {
        let offset = if flags & FLAG_SPARSE != 0 {
            u16_at(d, c.header + 4 * i + 2).map(|o| o as usize * 4)
        } else if flags & FLAG_OFFSET16 != 0 {
            u16_at(d, c.header + 2 * i)
                .filter(|&o| o != 0xffff)
                .map(|o| o as usize * 4)
        } else {
            u32_at(d, c.header + 4 * i)
                .filter(|&o| o != u32::MAX)
                .map(|o| o as usize)
        };
        let Some(offset) = offset else {
            if u32_at(d, c.header + 4 * i).is_none() {
                return;
            }
            continue;
        };
        let at = entries.saturating_add(offset);
        let (Some(size), Some(eflags)) = (u16_at(d, at), u16_at(d, at + 2)) else {
            continue;
        };
        let (key, kind, data) = if eflags & ENTRY_COMPACT != 0 {
            (size as u32, (eflags >> 8) as u8, u32_at(d, at + 4))
        } else if eflags & ENTRY_COMPLEX != 0 {
            continue;
        } else {
            let v = at + size as usize;
            (
                u32_at(d, at + 4).unwrap_or(u32::MAX),
                d.get(v + 3).copied().unwrap_or(0),
                u32_at(d, v + 4),
            )
        };
        let (Some(data), Some(name)) = (data, keys.get(key)) else {
            continue;
        };
        if kind != 0x03 {
            continue;
        }
        let _ = writeln!(
            out,
            "<{type_name} name=\"{}\">{}</{type_name}>",
            escape(&name),
            escape(&value(global, kind, data))
        );
    }
}
