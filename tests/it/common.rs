//! Helpers shared by the integration tests: the binary under test, files, JSON, fake tokens.
#![allow(dead_code)] // not every helper is used by every module

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// The binary, with no API override from the environment and no colour.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("applivery-leaks").unwrap();
    c.env_remove("APPLIVERY_API_URL").env("NO_COLOR", "1");
    c
}

/// Writes `text` to `dir/rel`, creating parent directories.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

pub fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// Correctly shaped fake tokens (24 base64url characters, mixed case and digits) from a
/// fixed-seed PRNG: deterministic, never a real token.
pub fn token(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    loop {
        let t: String = (0..24)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
            })
            .collect();
        let has = |f: fn(&char) -> bool| t.chars().any(|c| f(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
        {
            return t;
        }
    }
}
