//! Converts the default rules (`rules/applivery.toml`, their source and what users read) to
//! JSON for the binary: deserialising JSON takes a third of the time TOML does, and every
//! pre-commit run loads the default rules at start-up. A rule file that is not valid TOML
//! fails the build here; `rules::tests` checks that both forms read the same.

use std::path::Path;

fn main() {
    let source = "rules/applivery.toml";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("rules/applivery.toml is readable");
    let value: toml::Value = match toml::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!("{source} is not valid TOML: {e}"),
    };
    let json = serde_json::to_string(&value).expect("TOML values convert to JSON");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("default-rules.json"), json).expect("OUT_DIR is writable");
}
