//! Archives and build artefacts: APK, AAB, IPA, JAR, zip and tarballs built at test time
//! (`artefacts`), scanned by the real binary in trees, in history and in staged changes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::artefacts::*;
use crate::common::{bin, json_of, token, GitRepo};

/// Runs `dir` with JSON output and `--show-secrets`; returns the exit code and report.
fn scan_dir(root: &Path, extra: &[&str]) -> (i32, Value) {
    let out = bin()
        .arg("dir")
        .arg(root)
        .args(["--format", "json", "--show-secrets", "--no-config"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), json_of(&out.stdout))
}

/// Each finding's path, mapped to its secret.
fn found(report: &Value) -> BTreeMap<String, String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn reasons(report: &Value, list: &str) -> Vec<(String, String)> {
    let v = if list == "errors" {
        &report["errors"]
    } else {
        &report["summary"]["skipped"]
    };
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn write(dir: &Path, rel: &str, data: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// An APK as a release build leaves it: manifest, two DEX files, resource table, assets,
/// a native library, the Applivery SDK's classes, and an icon.
fn apk(t: &[String]) -> Vec<u8> {
    let manifest = axml(&Element {
        name: "manifest",
        attrs: vec![(false, "package", "com.example.demo")],
        children: vec![Element {
            name: "application",
            attrs: vec![(true, "name", ".DemoApp")],
            children: vec![Element {
                name: "meta-data",
                attrs: vec![
                    (true, "name", "com.applivery.APP_TOKEN"),
                    (true, "value", &t[0]),
                ],
                children: vec![],
            }],
        }],
    });
    let dex1 = dex(
        &[
            DexClass {
                name: "Lcom/example/demo/BuildConfig;",
                constants: vec![
                    ("APPLICATION_ID", "com.example.demo"),
                    ("APPLIVERY_TOKEN", &t[1]),
                ],
                stores: vec![],
                calls: vec![],
            },
            DexClass {
                name: "Lcom/example/demo/DemoApp;",
                constants: vec![],
                stores: vec![],
                calls: vec![("Lcom/applivery/applvsdklib/Applivery;", "init", &t[2])],
            },
        ],
        &["onCreate"],
    );
    let dex2 = dex(
        &[DexClass {
            name: "Lcom/example/demo/Settings;",
            constants: vec![],
            stores: vec![("appliveryToken", &t[3])],
            calls: vec![],
        }],
        &[],
    );
    let arsc = arsc(
        "com.example.demo",
        &[("app_name", "Demo"), ("applivery_app_token", &t[4])],
    );
    let json = format!("{{\"applivery\": {{\"appToken\": \"{}\"}}}}\n", t[5]);
    let so = native(&[
        "JNI_OnLoad",
        "Applivery SDK native bridge",
        &t[6],
        "libc.so.6",
    ]);
    zip_of(
        &[
            ("AndroidManifest.xml", &manifest),
            ("classes.dex", &dex1),
            ("classes2.dex", &dex2),
            ("resources.arsc", &arsc),
            ("assets/applivery.json", json.as_bytes()),
            ("lib/arm64-v8a/libnative.so", &so),
            ("res/drawable/icon.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        ],
        false,
    )
}

#[test]
fn apk_members_are_read_as_text_and_named_by_their_chain() {
    let t: Vec<String> = (0..7).map(|i| token(1200 + i)).collect();
    let dir = TempDir::new().unwrap();
    write(dir.path(), "build/outputs/app-release.apk", &apk(&t));
    let (code, r) = scan_dir(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    let apk = "build/outputs/app-release.apk!/";
    let want: BTreeMap<String, String> = [
        ("AndroidManifest.xml", 0),
        ("classes.dex", 1),
        ("classes.dex", 2),
        ("classes2.dex", 3),
        ("resources.arsc", 4),
        ("assets/applivery.json", 5),
        ("lib/arm64-v8a/libnative.so", 6),
    ]
    .iter()
    .map(|(m, i)| (format!("{apk}{m}"), t[*i].clone()))
    .collect();
    let got: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().into(),
                f["secret"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (path, secret) in &want {
        assert!(
            got.contains(&(path.clone(), secret.clone())),
            "{path} {secret} not in {got:?}"
        );
    }
    assert_eq!(got.len(), 7, "{got:?}");
    // The chain as structure, and the context as the detector saw it.
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["secret"] == t[1].as_str())
        .unwrap();
    assert_eq!(
        f["provenance"]["chain"],
        serde_json::json!(["build/outputs/app-release.apk", "classes.dex"])
    );
    assert_eq!(f["provenance"]["kind"], "file");
    assert!(f["context"]
        .as_str()
        .unwrap()
        .starts_with("BuildConfig.APPLIVERY_TOKEN = "));
    let m = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["secret"] == t[0].as_str())
        .unwrap();
    assert!(
        m["context"]
            .as_str()
            .unwrap()
            .contains("<meta-data android:name=\"com.applivery.APP_TOKEN\" android:value="),
        "{m}"
    );
    // Redacted everywhere without --show-secrets.
    let out = bin()
        .arg("dir")
        .arg(dir.path())
        .args(["--no-config"])
        .output()
        .unwrap();
    let all = [out.stdout, out.stderr].concat();
    let all = String::from_utf8_lossy(&all);
    for s in &t {
        assert!(!all.contains(s.as_str()), "{s} leaked");
    }
    // Archives off: the APK is one binary file again.
    let (code, r) = scan_dir(dir.path(), &["--no-archives"]);
    assert_eq!(
        (code, r["summary"]["binary_skipped"].as_u64()),
        (0, Some(1))
    );
    let (code, _) = scan_dir(dir.path(), &["--max-archive-depth", "0"]);
    assert_eq!(code, 0);
}

#[test]
fn ipa_info_plist_and_executable_with_the_sdk_framework() {
    let t = token(1300);
    let t2 = token(1301);
    let info = bplist(
        &[("CFBundleIdentifier", "com.example.demo")],
        Some(("Applivery", &[("AppToken", &t)])),
    );
    // The app's executable names the SDK's symbols it calls (here Swift's mangled
    // `Applivery.shared`): that is its own Applivery context.
    let exe = native(&[
        "_OBJC_CLASS_$_AppDelegate",
        &t2,
        "application:didFinishLaunching",
        "_$s9Applivery0A0C6sharedACvgZ",
    ]);
    let sdk = native(&["AppliverySDK", "https://api.applivery.io/v1/"]);
    let ipa = zip_of(
        &[
            ("Payload/Demo.app/Info.plist", &info),
            ("Payload/Demo.app/Demo", &exe),
            (
                "Payload/Demo.app/Frameworks/Applivery.framework/Applivery",
                &sdk,
            ),
        ],
        false,
    );
    let dir = TempDir::new().unwrap();
    write(dir.path(), "Demo.ipa", &ipa);
    let (code, r) = scan_dir(dir.path(), &[]);
    assert_eq!(code, 1);
    let got = found(&r);
    assert_eq!(
        got.get("Demo.ipa!/Payload/Demo.app/Info.plist"),
        Some(&t),
        "{got:?}"
    );
    assert_eq!(
        got.get("Demo.ipa!/Payload/Demo.app/Demo"),
        Some(&t2),
        "{got:?}"
    );
    assert_eq!(got.len(), 2);
}

#[test]
fn keyless_strings_of_native_code_need_the_binarys_own_applivery_context() {
    let t = token(1311);
    let identifiers = [
        "copyDirectoryToDirectory",
        "EVP_PKEY_get_attr_by_NID",
        "X509_REQ_get_X509_PUBKEY",
    ];
    let mut plain = vec!["_OBJC_CLASS_$_AppDelegate", t.as_str()];
    plain.extend(identifiers);
    let mut linked = plain.clone();
    linked.push("_$s9Applivery0A0C6sharedACvgZ");
    let sdk_dex = dex(
        &[DexClass {
            name: "Lcom/applivery/applvsdklib/Applivery;",
            constants: vec![],
            stores: vec![],
            calls: vec![],
        }],
        &[&t],
    );
    let dir = TempDir::new().unwrap();
    // No Applivery in the binary: a random-looking string is just a string, even beside
    // the SDK's classes; a DEX string table alone gives no string a meaning either.
    write(
        dir.path(),
        "plain.apk",
        &zip_of(
            &[
                ("classes.dex", &sdk_dex),
                ("lib/x86/libapp.so", &native(&plain)),
            ],
            false,
        ),
    );
    write(dir.path(), "bin/tool", &native(&plain));
    let (code, r) = scan_dir(dir.path(), &[]);
    assert_eq!(code, 0, "{r}");
    // A binary that calls the SDK: its generated-looking string is judged, its identifiers
    // are not.
    write(
        dir.path(),
        "linked.ipa",
        &zip_of(&[("Payload/A.app/A", &native(&linked))], false),
    );
    let (code, r) = scan_dir(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        found(&r),
        [("linked.ipa!/Payload/A.app/A".to_string(), t.clone())].into()
    );
    assert_eq!(r["findings"].as_array().unwrap().len(), 1, "{r}");
    let f = &r["findings"][0];
    assert_eq!(
        f["context"].as_str().unwrap(),
        format!("applivery-artefact-string = \"{t}\"")
    );
    assert_eq!(
        f["line"], 4,
        "the line of the string in the binary's rendered strings"
    );
}

#[test]
fn tarballs_compressed_streams_and_nested_archives() {
    let t: Vec<String> = (0..6).map(|i| token(1400 + i)).collect();
    let env = |i: usize| format!("APPLIVERY_APP_TOKEN={}\n", t[i]);
    let dir = TempDir::new().unwrap();
    let e0 = env(0);
    write(
        dir.path(),
        "a.tar.gz",
        &gzip(&tar_of(&[("cfg/.env", e0.as_bytes())])),
    );
    let e1 = env(1);
    write(
        dir.path(),
        "b.tar.bz2",
        &bzip2(&tar_of(&[("cfg/.env", e1.as_bytes())])),
    );
    let e2 = env(2);
    write(
        dir.path(),
        "c.tar.xz",
        &xz(&tar_of(&[("cfg/.env", e2.as_bytes())])),
    );
    let e3 = env(3);
    write(dir.path(), "config.env.gz", &gzip(e3.as_bytes()));
    // A JAR inside an AAB inside a tarball inside a zip.
    let e4 = env(4);
    let jar = zip_of(&[("META-INF/app.properties", e4.as_bytes())], false);
    let aab = zip_of(&[("base/lib/sdk.jar", &jar)], true);
    let tgz = gzip(&tar_of(&[("out/app.aab", &aab)]));
    write(
        dir.path(),
        "release.zip",
        &zip_of(&[("bundle.tgz", &tgz)], false),
    );
    let e5 = env(5);
    write(
        dir.path(),
        "plain.tar",
        &tar_of(&[("x/.env", e5.as_bytes())]),
    );
    let (code, r) = scan_dir(dir.path(), &[]);
    assert_eq!(code, 1, "{r}");
    let got = found(&r);
    let want: BTreeMap<String, String> = [
        ("a.tar.gz!/cfg/.env", 0),
        ("b.tar.bz2!/cfg/.env", 1),
        ("c.tar.xz!/cfg/.env", 2),
        ("config.env.gz!/config.env", 3),
        (
            "release.zip!/bundle.tgz!/out/app.aab!/base/lib/sdk.jar!/META-INF/app.properties",
            4,
        ),
        ("plain.tar!/x/.env", 5),
    ]
    .iter()
    .map(|(p, i)| (p.to_string(), t[*i].clone()))
    .collect();
    assert_eq!(got, want);
    // One level less: the JAR is listed as skipped, the rest is still read.
    let (_, r) = scan_dir(dir.path(), &["--max-archive-depth", "3"]);
    assert!(!found(&r).values().any(|s| s == &t[4]));
    assert!(
        reasons(&r, "skipped").contains(&(
            "release.zip!/bundle.tgz!/out/app.aab!/base/lib/sdk.jar".into(),
            "archive nested deeper than --max-archive-depth (3)".into()
        )),
        "{r}"
    );
    assert_eq!(found(&r).len(), 5);
}

/// Runs the binary with a deadline: a zip bomb must end, quickly, as a listed skip.
fn scan_bounded(root: &Path, extra: &[&str]) -> (i32, Value) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("applivery-leaks"));
    cmd.arg("dir")
        .arg(root)
        .args(["--format", "json", "--show-secrets", "--no-config"])
        .args(extra);
    let (code, stdout, stderr, _) = crate::common::run_with_deadline(cmd, 60);
    assert!(code >= 0, "killed: {stderr}");
    (code, json_of(stdout.as_bytes()))
}

/// A zip whose two directory entries share one member's data: the overlapping-file bomb.
fn overlapping(zip: &[u8]) -> Vec<u8> {
    let eocd = zip.len() - 22;
    assert_eq!(&zip[eocd..eocd + 4], b"PK\x05\x06");
    let cd_size = u32::from_le_bytes(zip[eocd + 12..eocd + 16].try_into().unwrap()) as usize;
    let cd = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let entry = zip[cd..cd + cd_size].to_vec();
    let mut copy = entry.clone();
    let name_at = 46;
    copy[name_at] = b'Z'; // another name, same data
    let mut out = zip[..cd + cd_size].to_vec();
    out.extend_from_slice(&copy);
    let mut end = zip[eocd..].to_vec();
    end[8..10].copy_from_slice(&2u16.to_le_bytes());
    end[10..12].copy_from_slice(&2u16.to_le_bytes());
    end[12..16].copy_from_slice(&((2 * cd_size) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

#[test]
fn zip_bombs_end_as_listed_skips() {
    let t = token(1500);
    let env = format!("APPLIVERY_APP_TOKEN={t}\n");
    let zeros = vec![0u8; 40 << 20];
    let dir = TempDir::new().unwrap();
    // High ratio, declared in the zip's directory; the token beside it is still found.
    write(
        dir.path(),
        "ratio.zip",
        &zip_of(
            &[("zeros.bin", &zeros), ("cfg/.env", env.as_bytes())],
            false,
        ),
    );
    // High ratio, found while decompressing a stream of text (binary content is left
    // after its first 8 KiB anyway).
    write(dir.path(), "zeros.txt.gz", &gzip(&vec![b'a'; 40 << 20]));
    // Overlapping members.
    write(
        dir.path(),
        "overlap.zip",
        &overlapping(&zip_of(&[("a.txt", b"hello hello hello")], false)),
    );
    // Many members.
    let names: Vec<String> = (0..300).map(|i| format!("m/{i}.txt")).collect();
    let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x\n"[..])).collect();
    write(dir.path(), "many.zip", &zip_of(&members, false));
    // Deep nesting: a zip in a zip, 12 deep, with the token at the bottom.
    let mut nested = zip_of(&[(".env", env.as_bytes())], false);
    for i in 0..12 {
        nested = zip_of(&[(&format!("level{i}.zip"), &nested)], false);
    }
    write(dir.path(), "deep.zip", &nested);
    let (code, r) = scan_bounded(dir.path(), &["--max-archive-members", "100"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(
        found(&r),
        [("ratio.zip!/cfg/.env".to_string(), t.clone())].into()
    );
    let skipped = reasons(&r, "skipped");
    let has = |path: &str, reason: &str| {
        skipped
            .iter()
            .any(|(p, why)| p == path && why.contains(reason))
    };
    assert!(
        has("ratio.zip!/zeros.bin", "compression ratio"),
        "{skipped:?}"
    );
    assert!(
        has(
            "zeros.txt.gz",
            "compression ratio over --max-archive-ratio (200:1)"
        ),
        "{skipped:?}"
    );
    assert!(
        has("overlap.zip", "zip members overlap (a zip bomb)"),
        "{skipped:?}"
    );
    assert!(
        has(
            "many.zip",
            "archive of 300 members, more than the limit of 100"
        ),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|(p, why)| p
            .starts_with("deep.zip!/level11.zip!/level10.zip!/level9.zip!/level8.zip")
            && why.contains("--max-archive-depth (4)")),
        "{skipped:?}"
    );
    assert!(reasons(&r, "errors").is_empty(), "{r}");

    // The total budget: a scan that may expand 1 MiB in all stops inside the archive.
    let (_, r) = scan_bounded(dir.path(), &["--max-archive-bytes", "1048576"]);
    assert!(
        reasons(&r, "skipped")
            .iter()
            .any(|(_, why)| why.contains("--max-archive-bytes (1048576 bytes)")),
        "{r}"
    );
    // And the member size.
    let (_, r) = scan_bounded(dir.path(), &["--max-member-size", "1000"]);
    assert!(reasons(&r, "skipped")
        .iter()
        .any(|(p, why)| p == "ratio.zip!/zeros.bin"
            && why.contains("larger than --max-member-size (1000 bytes)")));
}

#[test]
fn damaged_archives_are_errors_and_the_scan_goes_on() {
    let t = token(1600);
    let env = format!("APPLIVERY_APP_TOKEN={t}\n");
    let good = zip_of(
        &[("a/.env", env.as_bytes()), ("b/notes.txt", &[b'n'; 4000])],
        false,
    );
    let dir = TempDir::new().unwrap();
    write(dir.path(), "truncated.zip", &good[..good.len() / 2]);
    let mut corrupt = good.clone();
    // Damage the deflated data of the second member (its local header starts after the
    // first member's data): the CRC or the deflate stream fails.
    let second = memchr::memmem::find_iter(&corrupt, b"PK\x03\x04")
        .nth(1)
        .unwrap();
    for b in &mut corrupt[second + 43..second + 48] {
        *b ^= 0x5a;
    }
    write(dir.path(), "corrupt.zip", &corrupt);
    // Enough text after the token for several deflate blocks: the cut loses only the last.
    let pad: String = (0..40_000u32)
        .map(|i| format!("{:x}\n", i.wrapping_mul(2654435761)))
        .collect();
    let tgz = gzip(&tar_of(&[
        ("x/.env", env.as_bytes()),
        ("y/pad.txt", pad.as_bytes()),
    ]));
    write(dir.path(), "truncated.tar.gz", &tgz[..tgz.len() * 2 / 3]);
    let (code, r) = scan_dir(dir.path(), &[]);
    // The first member of each damaged archive still counts.
    assert_eq!(code, 1, "{r}");
    let got = found(&r);
    assert_eq!(got.get("corrupt.zip!/a/.env"), Some(&t), "{r}");
    assert_eq!(got.get("truncated.tar.gz!/x/.env"), Some(&t));
    let errors = reasons(&r, "errors");
    let has = |path: &str, reason: &str| {
        errors
            .iter()
            .any(|(p, why)| p == path && why.contains(reason))
    };
    assert!(has("truncated.zip", "damaged zip archive"), "{errors:?}");
    assert!(
        has("corrupt.zip!/b/notes.txt", "damaged zip member"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(p, why)| p.starts_with("truncated.tar.gz") && why.contains("damaged")),
        "{errors:?}"
    );
    // Alone, a damaged archive with nothing found fails closed: exit 2.
    let only = TempDir::new().unwrap();
    write(only.path(), "truncated.zip", &good[..good.len() / 2]);
    let out = bin()
        .arg("dir")
        .arg(only.path())
        .arg("--no-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated.zip: damaged zip archive"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_large_apk_is_read_through_the_file_not_into_memory() {
    let t = token(1700);
    // 12 MiB of incompressible bytes (stored), then a text member: over the 8 MiB chunk, so
    // `dir` hands the file to the seeking reader.
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let noise: Vec<u8> = (0..12 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let json = format!("{{\"appliveryToken\": \"{t}\"}}\n");
    let big = zip_of(
        &[
            ("assets/blob.bin", &noise),
            ("assets/config.json", json.as_bytes()),
        ],
        true,
    );
    let dir = TempDir::new().unwrap();
    write(dir.path(), "big.apk", &big);
    let (code, r) = scan_dir(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(found(&r).get("big.apk!/assets/config.json"), Some(&t));
    assert_eq!(r["summary"]["files_scanned"], 1);
}

#[test]
fn member_paths_can_be_excluded_allowed_and_ignored() {
    let t: Vec<String> = (0..3).map(|i| token(1800 + i)).collect();
    let a = format!("{{\"appliveryToken\": \"{}\"}}\n", t[0]);
    let b = format!("APPLIVERY_APP_TOKEN={}\n", t[1]);
    let c = format!("APPLIVERY_APP_TOKEN={} # applivery-leaks:allow\n", t[2]);
    let apk = zip_of(
        &[
            ("assets/config.json", a.as_bytes()),
            ("res/raw/env", b.as_bytes()),
            ("res/raw/allowed", c.as_bytes()),
        ],
        false,
    );
    let dir = TempDir::new().unwrap();
    write(dir.path(), "build/out/app.apk", &apk);
    let run = |extra: &[&str]| {
        let out = bin()
            .current_dir(dir.path())
            .args(["dir", ".", "--format", "json", "--show-secrets"])
            .args(extra)
            .output()
            .unwrap();
        json_of(&out.stdout)
    };
    let r = run(&["--no-config"]);
    assert_eq!(found(&r).len(), 2, "{r}");
    assert_eq!(r["summary"]["suppressed"]["inline"], 1);
    // --exclude names a member.
    let r = run(&["--no-config", "--exclude", "build/**/*.apk!/assets/**"]);
    assert_eq!(
        found(&r),
        [("build/out/app.apk!/res/raw/env".to_string(), t[1].clone())].into()
    );
    // So does the config's exclude.
    std::fs::write(
        dir.path().join(".applivery-leaks.toml"),
        "exclude = [\"build/**/*.apk!/res/raw/**\"]\n",
    )
    .unwrap();
    let r = run(&[]);
    assert_eq!(
        found(&r),
        [(
            "build/out/app.apk!/assets/config.json".to_string(),
            t[0].clone()
        )]
        .into()
    );
    // An ignore-file entry is the fingerprint of one member's finding.
    let fp = r["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(dir.path().join(".applivery-leaksignore"), format!("{fp}\n")).unwrap();
    let r = run(&[]);
    assert!(found(&r).is_empty(), "{r}");
    assert_eq!(r["summary"]["suppressed"]["ignore-file"], 1);
}

#[test]
fn an_apk_in_history_is_found_with_its_introducing_commit() {
    let t = token(1900);
    let json = format!("{{\"applivery\": {{\"token\": \"{t}\"}}}}\n");
    let mut repo = GitRepo::new();
    repo.write("README.md", "demo\n");
    repo.commit("init");
    repo.write(
        "dist/app.apk",
        zip_of(&[("assets/applivery.json", json.as_bytes())], false),
    );
    let introduced = repo.commit("add a build");
    repo.git(&["rm", "-q", "dist/app.apk"]);
    repo.commit("remove the build");
    let out = bin()
        .arg("git")
        .arg(&repo.path)
        .args(["--format", "json", "--show-secrets", "--no-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = json_of(&out.stdout);
    let f = &r["findings"][0];
    assert_eq!(f["path"], "dist/app.apk!/assets/applivery.json");
    assert_eq!(f["secret"], t.as_str());
    assert_eq!(f["commit"], introduced.as_str());
    assert_eq!(f["in_head"], false);
    assert_eq!(
        f["provenance"]["chain"],
        serde_json::json!(["dist/app.apk", "assets/applivery.json"])
    );
    assert_eq!(r["findings"].as_array().unwrap().len(), 1);

    // A damaged archive in history is an error named by its path and blob.
    repo.write("dist/broken.zip", &zip_of(&[("a", b"b")], false)[..20]);
    repo.commit("a broken zip");
    let out = bin()
        .arg("git")
        .arg(&repo.path)
        .args(["--format", "json", "--no-config"])
        .output()
        .unwrap();
    let r = json_of(&out.stdout);
    let errors = reasons(&r, "errors");
    assert!(
        errors
            .iter()
            .any(|(p, why)| p.starts_with("dist/broken.zip (blob ") && why.contains("damaged zip")),
        "{errors:?}"
    );
}

#[test]
fn a_staged_apk_is_scanned_member_by_member() {
    let t = token(1950);
    let env = format!("APPLIVERY_APP_TOKEN={t}\n");
    let mut repo = GitRepo::new();
    repo.write("README.md", "demo\n");
    repo.commit("init");
    repo.write("app.apk", zip_of(&[("assets/.env", env.as_bytes())], false));
    repo.git(&["add", "app.apk"]);
    let out = bin()
        .current_dir(&repo.path)
        .args([
            "staged",
            "--format",
            "json",
            "--show-secrets",
            "--no-config",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = json_of(&out.stdout);
    assert_eq!(found(&r), [("app.apk!/assets/.env".to_string(), t)].into());
}

#[test]
fn sarif_nests_members_as_artifacts_and_points_at_the_archive() {
    let t = token(1960);
    let json = format!("{{\"appliveryToken\": \"{t}\"}}\n");
    let inner = zip_of(&[("assets/config.json", json.as_bytes())], false);
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "dist/bundle.zip",
        &zip_of(&[("app.apk", &inner)], false),
    );
    let out = bin()
        .arg("dir")
        .arg(dir.path())
        .args(["--format", "sarif", "--no-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let s = json_of(&out.stdout);
    let run = &s["runs"][0];
    let arts = run["artifacts"].as_array().unwrap();
    let uri = |i: usize| arts[i]["location"]["uri"].as_str().unwrap().to_string();
    let member = arts
        .iter()
        .position(|a| {
            a["location"]["uri"]
                .as_str()
                .unwrap()
                .ends_with("config.json")
        })
        .expect("the member is an artifact");
    let parent = arts[member]["parentIndex"].as_u64().unwrap() as usize;
    assert!(uri(parent).ends_with("app.apk"), "{}", uri(parent));
    let outer = arts[parent]["parentIndex"].as_u64().unwrap() as usize;
    assert_eq!(uri(outer), "dist/bundle.zip");
    let loc = &run["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "dist/bundle.zip");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&t));
}

/// Every artefact kind the builders make, once.
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let t: Vec<String> = (0..7).map(|i| token(2000 + i)).collect();
    let env = format!("APPLIVERY_APP_TOKEN={}\n", t[0]);
    vec![
        ("apk", apk(&t)),
        (
            "dex",
            dex(
                &[DexClass {
                    name: "Lcom/example/BuildConfig;",
                    constants: vec![("APPLIVERY_TOKEN", &t[1])],
                    stores: vec![("OTHER", &t[2])],
                    calls: vec![("Lcom/applivery/sdk/Applivery;", "init", &t[3])],
                }],
                &["extra"],
            ),
        ),
        (
            "axml",
            axml(&Element {
                name: "manifest",
                attrs: vec![(true, "name", &t[4])],
                children: vec![],
            }),
        ),
        ("arsc", arsc("com.example", &[("applivery_token", &t[5])])),
        (
            "bplist",
            bplist(&[("AppliveryToken", &t[6])], Some(("X", &[("a", "b")]))),
        ),
        ("tgz", gzip(&tar_of(&[("a/.env", env.as_bytes())]))),
        ("tbz", bzip2(&tar_of(&[("a/.env", env.as_bytes())]))),
        ("txz", xz(&tar_of(&[("a/.env", env.as_bytes())]))),
    ]
}

#[test]
fn mutated_artefacts_never_panic_or_run_away() {
    use applivery_leaks::extract::{extract, Settings};
    let settings = Settings {
        max_member_size: 1 << 20,
        max_total: 4 << 20,
        max_members: 1000,
        ..Settings::default()
    };
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (_, data) in samples() {
        for round in 0..400 {
            let mut m = data.clone();
            match round % 4 {
                0 => m.truncate((next() as usize) % m.len()),
                1 => {
                    for _ in 0..1 + next() % 8 {
                        let i = (next() as usize) % m.len();
                        m[i] = next() as u8;
                    }
                }
                2 => {
                    // A 32-bit field set to an extreme: sizes, counts and offsets.
                    let i = (next() as usize) % m.len().saturating_sub(4).max(1);
                    let v = [0u32, 1, 0x7fff_ffff, u32::MAX][(next() % 4) as usize];
                    let end = (i + 4).min(m.len());
                    m[i..end].copy_from_slice(&v.to_le_bytes()[..end - i]);
                }
                _ => {
                    let i = (next() as usize) % m.len();
                    let n = (next() % 64) as usize;
                    m.splice(i..i, std::iter::repeat_n(next() as u8, n));
                }
            }
            let _ = extract(&settings, &m);
        }
    }
}

/// Writes one seed per fuzz target into `$APPLIVERY_LEAKS_FUZZ_SEEDS/<target>/`:
/// `APPLIVERY_LEAKS_FUZZ_SEEDS=fuzz/corpus cargo test --test it write_fuzz_seeds -- --ignored`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let Some(root) = std::env::var_os("APPLIVERY_LEAKS_FUZZ_SEEDS") else {
        return;
    };
    let root = std::path::PathBuf::from(root);
    for (name, data) in samples() {
        for target in ["extract", name] {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.seed")), &data).unwrap();
        }
    }
}
