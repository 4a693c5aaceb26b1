//! Builders of real build artefacts, written at test time per their published formats:
//! zips (the `zip` crate), tarballs (`tar`), gzip / bzip2 / xz streams, binary property
//! lists (`plist`), and — with no crate to write them — a minimal valid DEX file, Android
//! binary XML and a resource table. The benchmark (`examples/bench_archives.rs`) includes
//! this file too.
#![allow(dead_code)] // not every builder is used by every includer

use std::io::{Cursor, Write};

/// A zip of `(name, bytes)` members, deflated (or stored when `stored`).
pub fn zip_of(members: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if stored {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A tar of `(name, bytes)` members.
pub fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A binary property list of string `(key, value)` pairs, the last pairs nested in a
/// dictionary under `nested` when given.
pub fn bplist(pairs: &[(&str, &str)], nested: Option<(&str, &[(&str, &str)])>) -> Vec<u8> {
    let mut d = plist::Dictionary::new();
    for (k, v) in pairs {
        d.insert((*k).into(), (*v).into());
    }
    if let Some((name, inner)) = nested {
        let mut n = plist::Dictionary::new();
        for (k, v) in inner {
            n.insert((*k).into(), (*v).into());
        }
        d.insert(name.into(), plist::Value::Dictionary(n));
    }
    let mut out = Vec::new();
    plist::Value::Dictionary(d)
        .to_writer_binary(&mut out)
        .unwrap();
    out
}

fn u16le(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn uleb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// One class of a DEX file.
pub struct DexClass<'a> {
    /// Descriptor: `Lcom/example/BuildConfig;`.
    pub name: &'a str,
    /// `public static final String NAME = "value";` — initial values in `static_values`.
    pub constants: Vec<(&'a str, &'a str)>,
    /// Static fields assigned in `<clinit>`: `const-string v0, "value"; sput-object v0, NAME`.
    pub stores: Vec<(&'a str, &'a str)>,
    /// Calls in `<clinit>`: `const-string v0, "arg"; invoke-static {v0}, CLASS->METHOD(String)`.
    pub calls: Vec<(&'a str, &'a str, &'a str)>,
}

const STRING: &str = "Ljava/lang/String;";
const OBJECT: &str = "Ljava/lang/Object;";

/// A minimal valid DEX file (version 035) holding `classes`, plus `extra` strings in its
/// string table: header, sorted id tables, class data, static values, `<clinit>` code,
/// and the map list, with the Adler-32 checksum and SHA-1 signature filled in.
pub fn dex(classes: &[DexClass], extra: &[&str]) -> Vec<u8> {
    use std::collections::BTreeSet;
    // Strings and types.
    let mut strings: BTreeSet<String> = BTreeSet::new();
    let mut types: BTreeSet<String> = BTreeSet::new();
    for s in [STRING, OBJECT, "V", "VL", "<clinit>"] {
        strings.insert(s.into());
    }
    types.insert(STRING.into());
    types.insert(OBJECT.into());
    types.insert("V".into());
    for c in classes {
        strings.insert(c.name.into());
        types.insert(c.name.into());
        for (f, v) in c.constants.iter().chain(&c.stores) {
            strings.insert((*f).into());
            strings.insert((*v).into());
        }
        for (cls, m, a) in &c.calls {
            for s in [cls, m, a] {
                strings.insert((*s).into());
            }
            types.insert((*cls).into());
        }
    }
    for s in extra {
        strings.insert((*s).into());
    }
    let strings: Vec<String> = strings.into_iter().collect();
    let sidx = |s: &str| strings.iter().position(|x| x == s).unwrap() as u32;
    let mut types: Vec<String> = types.into_iter().collect();
    types.sort_by_key(|t| sidx(t));
    let tidx = |s: &str| types.iter().position(|x| x == s).unwrap() as u16;
    // Protos: ()V and (String)V, sorted by return type then parameters.
    let protos = [("V", false), ("VL", true)];
    // Fields and methods, sorted by (class, name, type/proto).
    let mut fields: Vec<(u16, u32, &str)> = Vec::new();
    let mut methods: Vec<(u16, u32, u16)> = Vec::new();
    for c in classes {
        for (f, _) in c.constants.iter().chain(&c.stores) {
            fields.push((tidx(c.name), sidx(f), c.name));
        }
        if !c.stores.is_empty() || !c.calls.is_empty() {
            methods.push((tidx(c.name), sidx("<clinit>"), 0));
        }
        for (cls, m, _) in &c.calls {
            methods.push((tidx(cls), sidx(m), 1));
        }
    }
    fields.sort();
    fields.dedup();
    methods.sort();
    methods.dedup();
    let fidx = |class: &str, name: &str| {
        fields
            .iter()
            .position(|f| f.0 == tidx(class) && f.1 == sidx(name))
            .unwrap() as u32
    };
    let midx = |class: &str, name: &str, proto: u16| {
        methods
            .iter()
            .position(|m| *m == (tidx(class), sidx(name), proto))
            .unwrap() as u32
    };
    let mut defs: Vec<&DexClass> = classes.iter().collect();
    defs.sort_by_key(|c| tidx(c.name));

    // Layout: header, id tables, then the data section.
    let n_str = strings.len();
    let string_ids = 0x70;
    let type_ids = string_ids + 4 * n_str;
    let proto_ids = type_ids + 4 * types.len();
    let field_ids = proto_ids + 12 * protos.len();
    let method_ids = field_ids + 8 * fields.len();
    let class_defs = method_ids + 8 * methods.len();
    let data_off = class_defs + 32 * defs.len();
    let mut data = Vec::new();
    let at = |data: &Vec<u8>| (data_off + data.len()) as u32;

    // Code items (4-aligned), one <clinit> per class that needs one.
    let mut code_offs = Vec::new();
    for c in &defs {
        if c.stores.is_empty() && c.calls.is_empty() {
            code_offs.push(0);
            continue;
        }
        pad4(&mut data);
        code_offs.push(at(&data));
        let mut insns: Vec<u16> = Vec::new();
        for (f, v) in &c.stores {
            insns.extend([0x001a, sidx(v) as u16, 0x0069, fidx(c.name, f) as u16]);
        }
        for (cls, m, a) in &c.calls {
            insns.extend([
                0x001a,
                sidx(a) as u16,
                0x1071,
                midx(cls, m, 1) as u16,
                0x0000,
            ]);
        }
        insns.push(0x000e);
        u16le(&mut data, 1); // registers
        u16le(&mut data, 0); // ins
        u16le(&mut data, if c.calls.is_empty() { 0 } else { 1 }); // outs
        u16le(&mut data, 0); // tries
        u32le(&mut data, 0); // debug info
        u32le(&mut data, insns.len() as u32);
        for i in insns {
            u16le(&mut data, i);
        }
    }
    let n_code = code_offs.iter().filter(|&&o| o != 0).count();
    // The parameter list of (String)V.
    pad4(&mut data);
    let type_list = at(&data);
    u32le(&mut data, 1);
    u16le(&mut data, tidx(STRING));
    // String data.
    let mut string_offs = Vec::new();
    for s in &strings {
        string_offs.push(at(&data));
        uleb(&mut data, s.encode_utf16().count() as u32);
        data.extend_from_slice(s.as_bytes());
        data.push(0);
    }
    // Class data, then static values (each kind of item contiguous, as the map list says).
    let mut class_data_offs = Vec::new();
    let mut statics_of = Vec::new();
    for (c, &code) in defs.iter().zip(&code_offs) {
        let mut statics: Vec<(u32, Option<&str>)> = c
            .constants
            .iter()
            .map(|(f, v)| (fidx(c.name, f), Some(*v)))
            .chain(c.stores.iter().map(|(f, _)| (fidx(c.name, f), None)))
            .collect();
        statics.sort();
        class_data_offs.push(at(&data));
        uleb(&mut data, statics.len() as u32);
        uleb(&mut data, 0);
        uleb(&mut data, u32::from(code != 0));
        uleb(&mut data, 0);
        let mut prev = 0;
        for (f, _) in &statics {
            uleb(&mut data, f - prev);
            uleb(&mut data, 0x19); // public static final
            prev = *f;
        }
        if code != 0 {
            uleb(&mut data, midx(c.name, "<clinit>", 0));
            uleb(&mut data, 0x10008); // static constructor
            uleb(&mut data, code);
        }
        statics_of.push(statics);
    }
    let mut static_offs = Vec::new();
    for statics in &statics_of {
        // Initial values up to the last constant (later ones default to null).
        match statics.iter().rposition(|s| s.1.is_some()) {
            Some(l) => {
                static_offs.push(at(&data));
                uleb(&mut data, l as u32 + 1);
                for (_, v) in &statics[..=l] {
                    match v {
                        Some(v) => {
                            data.push(0x17 | (3 << 5));
                            data.extend_from_slice(&sidx(v).to_le_bytes());
                        }
                        None => data.push(0x1e),
                    }
                }
            }
            None => static_offs.push(0),
        }
    }
    // The map list.
    pad4(&mut data);
    let map_off = at(&data);
    let mut items: Vec<(u16, u32, u32)> = vec![
        (0x0000, 1, 0),
        (0x0001, n_str as u32, string_ids as u32),
        (0x0002, types.len() as u32, type_ids as u32),
        (0x0003, protos.len() as u32, proto_ids as u32),
    ];
    if !fields.is_empty() {
        items.push((0x0004, fields.len() as u32, field_ids as u32));
    }
    if !methods.is_empty() {
        items.push((0x0005, methods.len() as u32, method_ids as u32));
    }
    if !defs.is_empty() {
        items.push((0x0006, defs.len() as u32, class_defs as u32));
    }
    if n_code > 0 {
        let first = *code_offs.iter().find(|&&o| o != 0).unwrap();
        items.push((0x2001, n_code as u32, first));
    }
    items.push((0x1001, 1, type_list));
    items.push((0x2002, n_str as u32, string_offs[0]));
    if !defs.is_empty() {
        items.push((0x2000, defs.len() as u32, class_data_offs[0]));
    }
    let n_static = static_offs.iter().filter(|&&o| o != 0).count();
    if n_static > 0 {
        let first = *static_offs.iter().find(|&&o| o != 0).unwrap();
        items.push((0x2005, n_static as u32, first));
    }
    items.push((0x1000, 1, map_off));
    u32le(&mut data, items.len() as u32);
    for (t, n, o) in items {
        u16le(&mut data, t);
        u16le(&mut data, 0);
        u32le(&mut data, n);
        u32le(&mut data, o);
    }
    pad4(&mut data);

    // Header and id tables.
    let total = data_off + data.len();
    let mut d = Vec::with_capacity(total);
    d.extend_from_slice(b"dex\n035\0");
    d.extend_from_slice(&[0; 24]); // checksum and signature, below
    for v in [total as u32, 0x70, 0x1234_5678, 0, 0, map_off] {
        u32le(&mut d, v);
    }
    for (n, o) in [
        (n_str, string_ids),
        (types.len(), type_ids),
        (protos.len(), proto_ids),
        (fields.len(), field_ids),
        (methods.len(), method_ids),
        (defs.len(), class_defs),
    ] {
        u32le(&mut d, n as u32);
        u32le(&mut d, if n == 0 { 0 } else { o as u32 });
    }
    u32le(&mut d, data.len() as u32);
    u32le(&mut d, data_off as u32);
    assert_eq!(d.len(), 0x70);
    for o in &string_offs {
        u32le(&mut d, *o);
    }
    for t in &types {
        u32le(&mut d, sidx(t));
    }
    for (shorty, param) in protos {
        u32le(&mut d, sidx(shorty));
        u32le(&mut d, tidx("V") as u32);
        u32le(&mut d, if param { type_list } else { 0 });
    }
    for (class, name, _) in &fields {
        u16le(&mut d, *class);
        u16le(&mut d, tidx(STRING));
        u32le(&mut d, *name);
    }
    for (class, name, proto) in &methods {
        u16le(&mut d, *class);
        u16le(&mut d, *proto);
        u32le(&mut d, *name);
    }
    for (i, c) in defs.iter().enumerate() {
        for v in [
            tidx(c.name) as u32,
            1, // public
            tidx(OBJECT) as u32,
            0,
            u32::MAX, // no source file
            0,
            class_data_offs[i],
            static_offs[i],
        ] {
            u32le(&mut d, v);
        }
    }
    assert_eq!(d.len(), data_off);
    d.extend_from_slice(&data);
    let sig = sha1(&d[32..]);
    d[12..32].copy_from_slice(&sig);
    let sum = adler32(&d[12..]);
    d[8..12].copy_from_slice(&sum.to_le_bytes());
    d
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// SHA-1 (FIPS 180-4), for the DEX signature field.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// A string pool chunk (`ResStringPool`): UTF-16 (binary XML) or UTF-8 (resource tables).
fn string_pool(strings: &[&str], utf8: bool) -> Vec<u8> {
    let mut body = Vec::new();
    let mut offsets = Vec::new();
    for s in strings {
        offsets.push(body.len() as u32);
        if utf8 {
            let n16 = s.encode_utf16().count();
            assert!(n16 < 0x80 && s.len() < 0x80, "short strings only");
            body.push(n16 as u8);
            body.push(s.len() as u8);
            body.extend_from_slice(s.as_bytes());
            body.push(0);
        } else {
            let units: Vec<u16> = s.encode_utf16().collect();
            u16le(&mut body, units.len() as u16);
            for u in units {
                u16le(&mut body, u);
            }
            u16le(&mut body, 0);
        }
    }
    pad4(&mut body);
    let header = 28;
    let start = header + 4 * strings.len();
    let mut c = Vec::new();
    u16le(&mut c, 0x0001);
    u16le(&mut c, header as u16);
    u32le(&mut c, (start + body.len()) as u32);
    u32le(&mut c, strings.len() as u32);
    u32le(&mut c, 0);
    u32le(&mut c, if utf8 { 0x100 } else { 0 });
    u32le(&mut c, start as u32);
    u32le(&mut c, 0);
    for o in offsets {
        u32le(&mut c, o);
    }
    c.extend_from_slice(&body);
    c
}

/// An element of binary XML: its name and `(android namespace?, name, value)` attributes;
/// children nest inside.
pub struct Element<'a> {
    pub name: &'a str,
    pub attrs: Vec<(bool, &'a str, &'a str)>,
    pub children: Vec<Element<'a>>,
}

const ANDROID_NS: &str = "http://schemas.android.com/apk/res/android";

/// Android binary XML (as aapt writes `AndroidManifest.xml`) for the tree under `root`,
/// with the android namespace declared and `android:name` / `android:value` mapped to
/// their framework resource ids.
pub fn axml(root: &Element) -> Vec<u8> {
    // Attribute names with resource ids come first, in resource-map order.
    let mut strings: Vec<String> = vec!["name".into(), "value".into()];
    let ids = [0x0101_0003u32, 0x0101_0024];
    fn collect(e: &Element, s: &mut Vec<String>) {
        for x in std::iter::once(e.name).chain(e.attrs.iter().flat_map(|a| [a.1, a.2])) {
            if !s.iter().any(|y| y == x) {
                s.push(x.into());
            }
        }
        for c in &e.children {
            collect(c, s);
        }
    }
    for s in ["android", ANDROID_NS] {
        strings.push(s.into());
    }
    collect(root, &mut strings);
    let idx = |s: &str| strings.iter().position(|x| x == s).unwrap() as u32;
    let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
    let mut body = string_pool(&refs, false);
    u16le(&mut body, 0x0180);
    u16le(&mut body, 8);
    u32le(&mut body, 8 + 4 * ids.len() as u32);
    for id in ids {
        u32le(&mut body, id);
    }
    let node = |out: &mut Vec<u8>, kind: u16, size: u32| {
        u16le(out, kind);
        u16le(out, 16);
        u32le(out, size);
        u32le(out, 1); // line
        u32le(out, u32::MAX); // comment
    };
    node(&mut body, 0x0100, 24);
    u32le(&mut body, idx("android"));
    u32le(&mut body, idx(ANDROID_NS));
    fn element(
        e: &Element,
        out: &mut Vec<u8>,
        idx: &dyn Fn(&str) -> u32,
        node: &dyn Fn(&mut Vec<u8>, u16, u32),
    ) {
        node(out, 0x0102, 36 + 20 * e.attrs.len() as u32);
        u32le(out, u32::MAX);
        u32le(out, idx(e.name));
        u16le(out, 20);
        u16le(out, 20);
        u16le(out, e.attrs.len() as u16);
        u16le(out, 0);
        u16le(out, 0);
        u16le(out, 0);
        for (android, name, value) in &e.attrs {
            u32le(out, if *android { idx(ANDROID_NS) } else { u32::MAX });
            u32le(out, idx(name));
            u32le(out, idx(value));
            u16le(out, 8);
            out.push(0);
            out.push(0x03);
            u32le(out, idx(value));
        }
        for c in &e.children {
            element(c, out, idx, node);
        }
        node(out, 0x0103, 24);
        u32le(out, u32::MAX);
        u32le(out, idx(e.name));
    }
    element(root, &mut body, &idx, &node);
    node(&mut body, 0x0101, 24);
    u32le(&mut body, idx("android"));
    u32le(&mut body, idx(ANDROID_NS));
    let mut out = Vec::new();
    u16le(&mut out, 0x0003);
    u16le(&mut out, 8);
    u32le(&mut out, 8 + body.len() as u32);
    out.extend_from_slice(&body);
    out
}

/// A resource table (`resources.arsc`) of one package with string resources
/// `(name, value)`, as `resValue "string", name, value` produces.
pub fn arsc(package: &str, strings: &[(&str, &str)]) -> Vec<u8> {
    let values: Vec<&str> = strings.iter().map(|s| s.1).collect();
    let keys: Vec<&str> = strings.iter().map(|s| s.0).collect();
    let global = string_pool(&values, true);
    let type_pool = string_pool(&["string"], true);
    let key_pool = string_pool(&keys, true);
    let n = strings.len() as u32;
    // typeSpec: flags per entry.
    let mut spec = Vec::new();
    u16le(&mut spec, 0x0202);
    u16le(&mut spec, 16);
    u32le(&mut spec, 16 + 4 * n);
    spec.push(1);
    spec.push(0);
    u16le(&mut spec, 0);
    u32le(&mut spec, n);
    for _ in 0..n {
        u32le(&mut spec, 0);
    }
    // type: the default configuration (a 64-byte ResTable_config of zeros but its size).
    let header = 20 + 64;
    let entries_start = header + 4 * n;
    let mut ty = Vec::new();
    u16le(&mut ty, 0x0201);
    u16le(&mut ty, header as u16);
    u32le(&mut ty, entries_start + 16 * n);
    ty.push(1);
    ty.push(0);
    u16le(&mut ty, 0);
    u32le(&mut ty, n);
    u32le(&mut ty, entries_start);
    u32le(&mut ty, 64);
    ty.extend_from_slice(&[0; 60]);
    for i in 0..n {
        u32le(&mut ty, 16 * i);
    }
    for i in 0..n {
        u16le(&mut ty, 8);
        u16le(&mut ty, 0);
        u32le(&mut ty, i);
        u16le(&mut ty, 8);
        ty.push(0);
        ty.push(0x03);
        u32le(&mut ty, i);
    }
    let pkg_header = 288u32;
    let mut pkg = Vec::new();
    u16le(&mut pkg, 0x0200);
    u16le(&mut pkg, pkg_header as u16);
    let size = pkg_header as usize + type_pool.len() + key_pool.len() + spec.len() + ty.len();
    u32le(&mut pkg, size as u32);
    u32le(&mut pkg, 0x7f);
    let mut name = [0u16; 128];
    for (i, u) in package.encode_utf16().take(127).enumerate() {
        name[i] = u;
    }
    for u in name {
        u16le(&mut pkg, u);
    }
    u32le(&mut pkg, pkg_header);
    u32le(&mut pkg, 1);
    u32le(&mut pkg, pkg_header + type_pool.len() as u32);
    u32le(&mut pkg, n);
    u32le(&mut pkg, 0);
    assert_eq!(pkg.len(), pkg_header as usize);
    pkg.extend_from_slice(&type_pool);
    pkg.extend_from_slice(&key_pool);
    pkg.extend_from_slice(&spec);
    pkg.extend_from_slice(&ty);
    let mut out = Vec::new();
    u16le(&mut out, 0x0002);
    u16le(&mut out, 12);
    u32le(&mut out, (12 + global.len() + pkg.len()) as u32);
    u32le(&mut out, 1);
    out.extend_from_slice(&global);
    out.extend_from_slice(&pkg);
    out
}

/// A minimal ELF-like blob: the ELF magic and `strings` laid out as a C string table.
pub fn native(strings: &[&str]) -> Vec<u8> {
    let mut out = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0".to_vec();
    out.extend_from_slice(&[0u8; 44]);
    for s in strings {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    out.extend_from_slice(&[0x90, 0xc3, 0x01, 0x02]);
    out
}
