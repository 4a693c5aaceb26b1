//! Hostile inputs and the promises a security gate makes (issue 8): bounded options, exit
//! codes that survive a closed pipe, inputs named on the command line that are read or
//! reported, UTF-16, report files written to devices, FIFOs and links, interrupted writes
//! that leave nothing behind, and — the test everything else leans on — no planted token in
//! any output channel of any command and format.

use crate::common::*;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Std, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("applivery-leaks")
}

/// Runs the binary in `dir`.
fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

/// Runs the binary in `dir`, killing it (and failing the test) if it runs past `secs`: a
/// regression to a hang must fail, not hold CI until its time limit.
fn run_bounded(dir: &Path, args: &[&str], secs: u64) -> Output {
    let mut child = Std::new(bin_path())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("APPLIVERY_API_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{args:?} still running after {secs} s");
        }
        thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn env_line(t: &str) -> String {
    format!("APPLIVERY_APP_TOKEN={t}\n")
}

/// A git repository in a temporary directory, with no user or system config.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args)
    }
}

fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Std::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["-c", "core.autocrlf=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn mkfifo(path: &Path) {
    let ok = Std::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// The one line of an error, without clap's "For more information" hint.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

// ---- item 2: numeric options are bounded ----

#[test]
fn threads_and_file_sizes_are_bounded_with_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.env", &env_line(&token(201)));
    for (args, want) in [
        (&["-j", "5000"][..], "--threads"),
        (&["--threads=-3"][..], "--threads"),
        (&["-j", "many"][..], "--threads"),
        (&["--max-file-size", "0"][..], "--max-file-size"),
        (&["--max-file-size", "ten"][..], "--max-file-size"),
    ] {
        let o = run_bounded(d.path(), &[&["dir"][..], args, &["."]].concat(), 30);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert!(
            e.lines().count() == 1
                && first_line(&e).starts_with("applivery-leaks: error:")
                && first_line(&e).contains(want),
            "{args:?}: {e}"
        );
        assert!(!e.contains("panicked"), "{e}");
    }
    // Within the bound but past 8 per CPU: lowered, said once, and the scan runs.
    let o = run_bounded(d.path(), &["dir", "-j", "1024", "."], 60);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--threads 1024 lowered to"),
        "{}",
        stderr(&o)
    );
    // The same for git.
    let r = Repo::new();
    fs::write(r.path().join("a.env"), env_line(&token(202))).unwrap();
    r.git(&["add", "."]);
    r.git(&["commit", "-qm", "one"]);
    let o = run_bounded(r.path(), &["git", "-j", "5000"], 30);
    assert_eq!(o.status.code(), Some(2));
    let o = run(r.path(), &["git", "--max-file-size", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_error_echoing_a_hostile_file_is_one_plain_line() {
    // Found by fuzzing: a TOML string with `\n` (or an escape sequence) in a rejected glob
    // or rule field was echoed raw, breaking the one-line error over several lines.
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".applivery-leaks.toml",
        "exclude = [\"a{b\\nFAKE LINE\\u001b[31m\"]\n",
    );
    write(d.path(), "a.txt", "hello\n");
    let o = run(d.path(), &["dir", "."]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("applivery-leaks: error: ") && e.contains("\\n"),
        "{e}"
    );
    assert!(!e.contains('\u{1b}'), "{e}");
}

// ---- item 3: a closed pipe keeps the exit code ----

/// Runs the binary with stdout a pipe whose reader is gone before anything is written.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut child = Std::new(bin_path())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap(), err)
}

#[test]
fn a_closed_pipe_keeps_the_exit_code_of_findings_and_of_errors() {
    let d = tempfile::tempdir().unwrap();
    // Far more output than a pipe holds, so writing must fail with EPIPE.
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("APPLIVERY_APP_TOKEN_{i}={}\n", token(1000 + i)));
    }
    write(d.path(), "many.env", &text);
    for format in ["text", "json", "jsonl", "sarif"] {
        let (status, err) = with_closed_stdout(d.path(), &["dir", "--format", format, "."]);
        assert_eq!(status.code(), Some(1), "{format}: {err}");
        assert!(!err.contains("panicked") && !err.contains("error"), "{err}");
    }
    // `rules | head` is a clean end.
    let (status, _) = with_closed_stdout(d.path(), &["rules"]);
    assert_eq!(status.code(), Some(0));

    // Nothing found but inputs unreadable: still 2, not 0.
    let e = tempfile::tempdir().unwrap();
    for i in 0..2000 {
        std::os::unix::fs::symlink(
            format!("missing-{i}"),
            e.path().join(format!("dangling-{i}")),
        )
        .unwrap();
    }
    write(e.path(), "clean.txt", "nothing here\n");
    let (status, err) = with_closed_stdout(e.path(), &["dir", "-L", "--format", "json", "."]);
    assert_eq!(status.code(), Some(2), "{}", first_line(&err));
    assert!(!err.contains("panicked"), "{err}");
}

// ---- item 4: what the user names is read, or the run fails ----

#[test]
fn a_fifo_or_process_substitution_named_explicitly_is_read() {
    let d = tempfile::tempdir().unwrap();
    let t = token(211);
    let fifo = d.path().join("pipe.env");
    mkfifo(&fifo);
    let writer = {
        let (fifo, line) = (fifo.clone(), env_line(&t));
        thread::spawn(move || fs::write(fifo, line).unwrap())
    };
    let o = run_bounded(d.path(), &["dir", "--format", "json", "pipe.env"], 60);
    if !writer.is_finished() {
        // Nobody read the FIFO (the bug this tests): unblock the writer before failing.
        let _ = fs::read(&fifo);
    }
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json_of(&o.stdout);
    assert_eq!(v["findings"][0]["path"], "pipe.env");
    assert_eq!(v["findings"][0]["line"], 1);

    // `dir <(cmd)`, as a shell runs it.
    let script = format!(
        "exec {} dir --format json <(printf 'APPLIVERY_APP_TOKEN=%s\\n' {t})",
        bin_path().display()
    );
    let o = Std::new("bash")
        .args(["-c", &script])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json_of(&o.stdout)["findings"].as_array().unwrap().len(), 1);

    // A FIFO found while walking a directory is still skipped (nobody may ever write it).
    let o = run(d.path(), &["dir", "--format", "json", "."]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "only a skipped FIFO: nothing scanned"
    );
    let v = json_of(&o.stdout);
    assert!(v["summary"]["skipped"].to_string().contains("fifo"), "{v}");
}

#[test]
fn a_run_that_scanned_nothing_it_was_asked_to_fails() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.env", &env_line(&token(221)));
    write(d.path(), "b.txt", "plain words\n");
    let o = run(
        d.path(),
        &["dir", "--max-file-size", "1", "--format", "json", "."],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing was scanned"), "{}", stderr(&o));
    let v = json_of(&o.stdout);
    assert!(v["errors"].to_string().contains("nothing was scanned"));
    // A device named on the command line cannot be scanned: an error, not a skip.
    let o = run(d.path(), &["dir", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("character device"), "{}", stderr(&o));
    // A binary file named alone is reported, and the run fails.
    fs::write(d.path().join("app.bin"), b"\x7fELF\x00\x00\x01").unwrap();
    let o = run(d.path(), &["dir", "--format", "json", "app.bin"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(json_of(&o.stdout)["summary"]["skipped"]
        .to_string()
        .contains("binary"));
    // git: every blob skipped.
    let r = Repo::new();
    fs::write(r.path().join("a.env"), env_line(&token(222))).unwrap();
    r.git(&["add", "."]);
    r.git(&["commit", "-qm", "one"]);
    let o = run(r.path(), &["git", "--max-file-size", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend(if big_endian {
            [0xFE, 0xFF]
        } else {
            [0xFF, 0xFE]
        });
    }
    for u in text.encode_utf16() {
        out.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

#[test]
fn utf16_with_and_without_a_byte_order_mark_is_scanned_with_lines_and_columns() {
    let d = tempfile::tempdir().unwrap();
    let t = token(231);
    // PowerShell, as Windows PowerShell 5 saves it; an accented letter and an emoji before
    // the token on its line count as one column each.
    let text = format!("# déploiement 😀\r\nWrite-Host 'ok'\r\n$é😀 = '{t}' # APPLIVERY_TOKEN\r\n");
    let want_column = 8; // `$é😀 = '` is 7 characters
    for (big, bom) in [(false, true), (true, true), (false, false), (true, false)] {
        let name = format!("deploy-{big}-{bom}.ps1");
        fs::write(d.path().join(&name), utf16(&text, big, bom)).unwrap();
        let o = run(d.path(), &["dir", "--format", "json", &name]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let v = json_of(&o.stdout);
        let f = &v["findings"][0];
        assert_eq!(
            (f["line"].as_u64(), f["column"].as_u64()),
            (Some(3), Some(want_column)),
            "{name}: {v}"
        );
        assert_eq!(v["summary"]["binary_skipped"], 0, "{name}");
        // Standard input too.
        let o = bin()
            .args(["stdin", "--format", "json"])
            .write_stdin(utf16(&text, big, bom))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "stdin {name}");
        assert_eq!(json_of(&o.stdout)["findings"][0]["line"], 3);
    }
    // A large UTF-16 file, read in chunks: the token past the first chunk is found.
    let big = format!("{}{}", "# filler line\r\n".repeat(700_000), text);
    fs::write(d.path().join("big.ps1"), utf16(&big, false, true)).unwrap();
    let o = run(d.path(), &["dir", "--format", "json", "big.ps1"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_of(&o.stdout)["findings"][0]["line"], 700_003);
    // NUL bytes that are not UTF-16 still mean binary.
    let mut bin_data = vec![0u8, 0, 1, 2, 0, 7, 0, 0, 0, 3];
    bin_data.extend(env_line(&t).bytes());
    fs::write(d.path().join("data.bin"), bin_data).unwrap();
    write(d.path(), "other.txt", "text\n");
    let o = run(
        d.path(),
        &["dir", "--format", "json", "data.bin", "other.txt"],
    );
    let v = json_of(&o.stdout);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["summary"]["binary_skipped"], 1);
}

// ---- item 5: every copy of a found secret is redacted ----

#[test]
fn a_second_copy_under_another_key_is_redacted() {
    let d = tempfile::tempdir().unwrap();
    let t = token(241);
    write(
        d.path(),
        "a.env",
        &format!("APPLIVERY_APP_TOKEN={t} BACKUP_TOKEN={t}\n"),
    );
    let o = run(d.path(), &["dir", "."]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let shown = format!("APPLIVERY_APP_TOKEN={0}… BACKUP_TOKEN={0}…", &t[..4]);
    assert!(out.contains(&shown), "{out}");
    assert!(!out.contains(&t[4..]), "{out}");
}

// ---- item 7: an interrupted report write leaves nothing behind ----

/// Writes a file with `n` tokens and runs `dir --format json -o out/report.json` on it until
/// the report is being written, then sends `signal`. Returns the exit status, or None when
/// the run finished before it could be caught writing.
fn interrupt_while_writing(
    root: &Path,
    n: usize,
    signal: &str,
    named_fallback: bool,
) -> Option<ExitStatus> {
    let input = root.join("in");
    let out = root.join("out");
    let _ = fs::remove_dir_all(&input);
    fs::create_dir_all(&input).unwrap();
    fs::create_dir_all(&out).unwrap();
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "APPLIVERY_APP_TOKEN_{i}={}\n",
            token(5000 + i as u64)
        ));
    }
    fs::write(input.join("many.env"), text).unwrap();
    // A command started in the background by a non-interactive shell (as .ci/run starts
    // its checks) inherits SIGINT ignored, and so would the scanner: `env` (coreutils)
    // gives it the default action back, as a terminal's Ctrl-C finds it, and execs it
    // (same pid).
    let mut cmd = Std::new("env");
    cmd.arg("--default-signal=INT")
        .arg(bin_path())
        .args(["dir", "--format", "json", "--show-secrets", "-o"])
        .arg(out.join("report.json"))
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if named_fallback {
        cmd.env("APPLIVERY_LEAKS_NO_TMPFILE", "1");
    }
    // The write pauses every 16 KiB: a loaded machine (CI runs checks side by side) must
    // not finish it before the signal is delivered.
    cmd.env("APPLIVERY_LEAKS_TEST_SLOW_WRITE", "1");
    let mut child = cmd.spawn().unwrap();
    let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let writing = |child: &mut Child| -> Option<bool> {
        if child.try_wait().unwrap().is_some() {
            return Some(false);
        }
        if named_fallback {
            let staged = fs::read_dir(&out).unwrap().flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(".applivery-leaks-") && e.path().join(".git").exists()
            });
            return staged.then_some(true);
        }
        // An O_TMPFILE file shows as `<dir>/#<inode> (deleted)` among the open files.
        let prefix = format!("{}/#", out.display());
        let open = fs::read_dir(&fds).ok()?.flatten().any(|e| {
            fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with(&prefix))
        });
        open.then_some(true)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match writing(&mut child) {
            Some(true) => break,
            Some(false) => return None,
            None if Instant::now() > deadline => panic!("never saw the report being written"),
            None => thread::sleep(Duration::from_micros(200)),
        }
    }
    let ok = Std::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = child.wait().unwrap();
    // Caught only just before the end: the report was complete and in place.
    if status.code().is_some() {
        return None;
    }
    Some(status)
}

/// What is left in `dir`, hidden files and directories included.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn ctrl_c_while_writing_a_report_leaves_nothing_behind() {
    for named_fallback in [false, true] {
        let root = tempfile::tempdir().unwrap();
        let mut n = 4000;
        let status = loop {
            if let Some(s) = interrupt_while_writing(root.path(), n, "-INT", named_fallback) {
                break s;
            }
            let _ = fs::remove_dir_all(root.path().join("out"));
            n *= 2;
            assert!(n <= 64_000, "the report write was never caught");
        };
        assert_eq!(status.signal(), Some(2), "died of SIGINT");
        let out = root.path().join("out");
        let left = leftovers(&out);
        assert!(
            left.is_empty() || left == ["report.json"],
            "fallback {named_fallback}: {left:?}"
        );
        if !left.is_empty() {
            // Interrupted after the rename: the report is whole.
            let v: Value = serde_json::from_slice(&fs::read(out.join("report.json")).unwrap())
                .expect("a complete report");
            assert!(v["findings"].is_array());
        }
    }
}

#[test]
fn a_hard_kill_while_writing_leaves_nothing_git_would_commit() {
    for named_fallback in [false, true] {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let mut n = 4000;
        loop {
            fs::create_dir_all(&out).unwrap();
            git_in(&out, &["init", "-q"]);
            if interrupt_while_writing(root.path(), n, "-KILL", named_fallback).is_some() {
                break;
            }
            fs::remove_dir_all(&out).unwrap();
            n *= 2;
            assert!(n <= 64_000, "the report write was never caught");
        }
        let left: Vec<String> = leftovers(&out)
            .into_iter()
            .filter(|n| n != ".git")
            .collect();
        if named_fallback {
            // The private staging directory may survive a kill -9, holding a partial
            // report named `.git`, which git never adds.
            assert!(left.len() <= 1, "{left:?}");
            if let Some(d) = left.first() {
                assert!(d.starts_with(".applivery-leaks-") && d.ends_with(".tmp"));
                let mode = fs::metadata(out.join(d)).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "private to its owner");
            }
        } else {
            assert!(left.is_empty(), "an unnamed file leaves nothing: {left:?}");
        }
        git_in(&out, &["add", "-A"]);
        let status = git_in(&out, &["status", "--porcelain", "--ignored"]);
        assert_eq!(status, "", "git sees a leftover: {status}");
    }
}

// ---- item 8: report destinations ----

#[test]
fn reports_go_through_devices_fifos_and_links_and_dash_is_stdout() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    write(&src, "a.env", &env_line(&token(251)));

    // A symbolic link: its target is replaced, the link stays.
    fs::write(d.path().join("real.json"), "old").unwrap();
    std::os::unix::fs::symlink("real.json", d.path().join("link.json")).unwrap();
    let o = run(
        d.path(),
        &["dir", "--format", "json", "-o", "link.json", "src"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(fs::symlink_metadata(d.path().join("link.json"))
        .unwrap()
        .file_type()
        .is_symlink());
    let v = json_of(&fs::read(d.path().join("real.json")).unwrap());
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);

    // A FIFO: written through, still a FIFO.
    let fifo = d.path().join("report.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        thread::spawn(move || fs::read(fifo).unwrap())
    };
    let o = run(
        d.path(),
        &["dir", "--format", "json", "-o", "report.fifo", "src"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = reader.join().unwrap();
    assert_eq!(json_of(&got)["findings"].as_array().unwrap().len(), 1);
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    // A character device: a private copy of /dev/null (mknod needs root; skipped without).
    // Never the machine's own /dev/null: a regression would replace it for everyone.
    let null = d.path().join("null");
    let made = Std::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let o = run(d.path(), &["dir", "-o", "null", "src"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(fs::metadata(&null).unwrap().file_type().is_char_device());
    } else {
        eprintln!("mknod not permitted: the device case is not tested here");
    }

    // `-o -` is standard output, not a file named `-`.
    let o = run(d.path(), &["dir", "--format", "json", "-o", "-", "src"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_of(&o.stdout)["findings"].as_array().unwrap().len(), 1);
    assert!(!d.path().join("-").exists());

    // A directory is a clear one-line error.
    let o = run(d.path(), &["dir", "-o", "src", "src"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot write report to src"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_replaced_report_keeps_its_mode_and_a_new_one_follows_the_umask() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "src/a.env", &env_line(&token(261)));
    let kept = d.path().join("kept.json");
    fs::write(&kept, "old").unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o640)).unwrap();
    let script = |args: &str| {
        let o = Std::new("sh")
            .args([
                "-c",
                &format!("umask 022; exec {} dir {args} src", bin_path().display()),
            ])
            .current_dir(d.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    };
    let mode = |p: &str| fs::metadata(d.path().join(p)).unwrap().permissions().mode() & 0o777;
    script("-o kept.json");
    assert_eq!(mode("kept.json"), 0o640);
    assert_ne!(fs::read_to_string(&kept).unwrap(), "old");
    script("-o new.txt");
    assert_eq!(mode("new.txt"), 0o644);
    // A new report that holds full secrets is private.
    script("--show-secrets -o secrets.txt");
    assert_eq!(mode("secrets.txt"), 0o600);
    // Same with the named fallback.
    let o = Std::new("sh")
        .args([
            "-c",
            &format!(
                "umask 022; APPLIVERY_LEAKS_NO_TMPFILE=1 exec {} dir -o new2.txt src",
                bin_path().display()
            ),
        ])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(mode("new2.txt"), 0o644);
    assert_eq!(leftovers(d.path()).len(), 5, "{:?}", leftovers(d.path()));
}

// ---- item 9: a one-line summary with --output ----

/// A loopback stand-in for the Applivery API: `live` answers 200, anything else 401 4004.
fn fake_api(live: String) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(&conn);
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    auth = line;
                }
            }
            let (status, body) = if auth.contains(&live) {
                ("200 OK", r#"{"status":true,"data":{"items":[]}}"#)
            } else {
                (
                    "401 Unauthorized",
                    r#"{"status":false,"error":{"code":4004,"message":"Invalid Token"}}"#,
                )
            };
            let _ = write!(
                &conn,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn output_prints_a_one_line_summary_unless_quiet() {
    let d = tempfile::tempdir().unwrap();
    let (live, revoked) = (token(271), token(272));
    write(
        d.path(),
        "a.env",
        &format!(
            "{}{}",
            env_line(&live),
            env_line(&revoked).replace("APP_", "")
        ),
    );
    let o = run(d.path(), &["dir", "-o", "r.json", "--format", "json", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(o.stdout, b"");
    assert_eq!(
        stderr(&o),
        "applivery-leaks: 2 finding(s); report written to r.json\n"
    );
    let o = run(d.path(), &["dir", "-q", "-o", "r.json", "."]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "");
    // With verification: live and revoked counts.
    let api = fake_api(live.clone());
    let o = run(
        d.path(),
        &[
            "dir",
            "--verify",
            "--api-url",
            &api,
            "-o",
            "r.sarif",
            "--format",
            "sarif",
            ".",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let last = stderr(&o).lines().last().unwrap_or("").to_string();
    assert_eq!(
        last,
        "applivery-leaks: 2 finding(s) (1 live, 1 revoked, 0 unknown); report written to r.sarif"
    );
}

// ---- item 10: many findings in one file ----

#[test]
fn many_findings_on_one_line_are_all_located() {
    // Linear time is measured by examples/bench_file; this checks the one-pass locator
    // gets every column right on a long line, across chunk boundaries.
    let d = tempfile::tempdir().unwrap();
    let mut line = String::from("{");
    let mut want = Vec::new();
    for i in 0..3000 {
        let t = token(20_000 + i);
        let item = format!("\"APPLIVERY_APP_TOKEN_{i}\":\"{t}\",");
        want.push((line.chars().count() + item.find(&t).unwrap() + 1, t));
        line.push_str(&item);
    }
    line.push_str("\"end\":1}\n");
    write(d.path(), "bundle.json", &line);
    let o = run(
        d.path(),
        &["dir", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json_of(&o.stdout);
    let got: Vec<(usize, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["column"].as_u64().unwrap() as usize,
                f["secret"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The detector may pass over a token it judges a word; every finding is placed right.
    assert!(got.len() > 2900, "{}", got.len());
    for g in &got {
        assert!(want.contains(g), "misplaced: {g:?}");
    }
}

// ---- item 12: overlapping paths ----

#[test]
fn overlapping_paths_are_scanned_once() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "upload.sh", &env_line(&token(281)));
    write(d.path(), "sub/b.env", &env_line(&token(282)));
    let o = run(
        d.path(),
        &[
            "dir",
            "--format",
            "json",
            ".",
            "./upload.sh",
            "upload.sh",
            "sub",
            "sub/b.env",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json_of(&o.stdout);
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["sub/b.env", "upload.sh"], "{v}");
    assert_eq!(v["summary"]["files_scanned"], 2);
}

// ---- item 13: the documented pre-commit hook works as written ----

#[test]
fn the_documented_local_pre_commit_hook_blocks_a_token() {
    // scripts/check-pre-commit.sh runs the documented config with the real pre-commit
    // framework; here, the hook's `entry` from the docs runs as git runs a hook.
    let docs = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/staged.md"))
        .or_else(|_| fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")))
        .unwrap();
    let block = docs
        .split("```yaml")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .find(|b| b.contains("repo: local"))
        .expect("a `repo: local` pre-commit example in the docs");
    assert!(!block.contains("rev:"), "a local hook names no revision");
    let entry = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("entry:"))
        .expect("an entry")
        .trim()
        .to_string();
    assert_eq!(entry, "applivery-leaks staged");
    let r = Repo::new();
    fs::write(r.path().join(".env"), env_line(&token(291))).unwrap();
    r.git(&["add", ".env"]);
    let mut args = entry.split_whitespace().skip(1);
    let o = run(r.path(), &[args.next().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("commit blocked"), "{}", stderr(&o));
}

// ---- item 14: text reports say what to do next ----

#[test]
fn text_reports_end_with_the_next_steps() {
    let r = Repo::new();
    fs::write(r.path().join("a.env"), env_line(&token(301))).unwrap();
    r.git(&["add", "."]);
    r.git(&["commit", "-qm", "one"]);
    for cmd in ["dir", "git"] {
        let o = run(r.path(), &[cmd]);
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        let tail: Vec<&str> = out.lines().rev().take(4).collect();
        let tail = tail.join("\n");
        for want in [
            "revoke",
            "Applivery",
            "--verify",
            "applivery-leaks:allow",
            "--baseline",
        ] {
            assert!(tail.contains(want), "{cmd}: no '{want}' at the end:\n{out}");
        }
    }
    // Nothing found: no advice.
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "clean.txt", "nothing\n");
    let o = run(d.path(), &["dir", "."]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stdout(&o).contains("revoke"));
}

// ---- every output channel, every format: no planted token ----

/// Every window of 10 characters of each secret: finding any of them in an output means
/// more than the redacted prefix was shown.
fn assert_no_secret(secrets: &[String], what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for s in secrets {
        for i in 0..=s.len() - 10 {
            let w = &s[i..i + 10];
            assert!(
                !text.contains(w),
                "{what} shows '{w}' of a planted secret:\n{text}"
            );
        }
    }
}

/// Every file under `dir` except `keep` (the planted inputs), for leftovers.
fn files_under(dir: &Path, keep: &[&str], out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if keep.contains(&name.as_str()) || name == ".git" && p.is_dir() {
            continue;
        }
        if p.is_dir() {
            files_under(&p, keep, out);
        } else {
            out.push(p);
        }
    }
}

/// Every report format.
const FORMATS: [&str; 8] = [
    "text", "json", "jsonl", "sarif", "github", "gitlab", "html", "markdown",
];

#[test]
fn no_planted_token_reaches_any_output_channel() {
    let t: Vec<String> = (0..10).map(|i| token(400 + i)).collect();
    let b64 = base64(&t[4]);
    let mut secrets = t.clone();
    secrets.push(b64.clone());
    // Tokens that are also names (issue 17): a file, a directory and an archive member
    // named with the token they hold.
    let named_file = format!("applivery/{}.env", t[7]);
    let named_dir = format!("cfg_{}", t[8]);
    let in_named_dir = format!("{named_dir}/x.env");
    let member = format!("applivery/{}/app.env", t[9]);
    let zip = crate::artefacts::zip_of(&[(member.as_str(), env_line(&t[9]).as_bytes())], false);
    let inputs: Vec<(&str, String)> = vec![
        (named_file.as_str(), env_line(&t[7])),
        (in_named_dir.as_str(), env_line(&t[8])),
        (
            "a.env",
            // A second copy under another key; a copy of a token found in another file; a
            // copy of a token whose own finding is allowed.
            format!(
                "APPLIVERY_APP_TOKEN={0} BACKUP_TOKEN={0}\nmirror={3} APPLIVERY_TOKEN_2={1}\n\
                 copy={6} APPLIVERY_TOKEN_3={2}\nAPPLIVERY_TOKEN_4={6} # applivery-leaks:allow\n{4:.0}{5:.0}",
                t[0],
                t[1],
                t[2],
                t[3],
                t[4],
                t[5],
                t[6]
            )
            .replace("\u{0}", ""),
        ),
        ("b.env", format!("APPLIVERY_APP_TOKEN={}\n", t[3])),
        (
            "secret.yaml",
            format!(
                "kind: Secret\nmetadata:\n  name: applivery\ndata:\n  APPLIVERY_APP_TOKEN: {b64}\n  OTHER: {b64}\n"
            ),
        ),
        (
            "long.js",
            format!(
                "const applivery_token = '{0}'; {1}old = '{0}'; {2}\n",
                t[5],
                "x".repeat(70),
                "tail ".repeat(40)
            ),
        ),
    ];
    let mut keep: Vec<&str> = inputs
        .iter()
        .map(|(n, _)| n.rsplit('/').next().unwrap())
        .collect();
    keep.push("x.zip");
    let r = Repo::new();
    for (name, text) in &inputs {
        let p = r.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    fs::write(r.path().join("x.zip"), &zip).unwrap();
    r.git(&["add", "."]);

    let mut checked = 0;
    let mut check = |what: String, o: &Output| {
        assert_no_secret(&secrets, &format!("{what} stdout"), &o.stdout);
        assert_no_secret(&secrets, &format!("{what} stderr"), &o.stderr);
        checked += 1;
    };
    for format in FORMATS {
        // Staged (and, in text, the "commit blocked" message on stderr).
        let o = run(r.path(), &["staged", "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        if format == "text" {
            assert!(stderr(&o).contains("commit blocked"));
        }
        check(format!("staged {format}"), &o);
        // Working tree, to stdout and to a report file.
        let o = run(r.path(), &["dir", "--format", format, "."]);
        assert_eq!(o.status.code(), Some(1));
        check(format!("dir {format}"), &o);
        for fallback in [false, true] {
            let out = tempfile::tempdir().unwrap();
            let report = out.path().join(format!("report.{format}"));
            let mut c = bin();
            c.current_dir(r.path())
                .args(["dir", "--format", format, "-o"])
                .arg(&report)
                .arg(".");
            if fallback {
                c.env("APPLIVERY_LEAKS_NO_TMPFILE", "1");
            }
            let o = c.output().unwrap();
            assert_eq!(o.status.code(), Some(1));
            check(format!("dir -o {format}"), &o);
            let mut files = Vec::new();
            files_under(out.path(), &[], &mut files);
            assert_eq!(files, std::slice::from_ref(&report), "nothing else is left");
            assert_no_secret(&secrets, "report file", &fs::read(&report).unwrap());
        }
        // Standard input: a.env alone, where the copy of t[3] has no finding of its own
        // (b.env holds that), so only the others are secrets the scan knows.
        let o = bin()
            .args(["stdin", "--format", format])
            .write_stdin(inputs[2].1.clone())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        let known = [t[0].clone(), t[1].clone(), t[2].clone(), t[6].clone()];
        assert_no_secret(&known, &format!("stdin {format} stdout"), &o.stdout);
        assert_no_secret(&known, &format!("stdin {format} stderr"), &o.stderr);
    }
    // History.
    r.git(&["commit", "-qm", "add configuration"]);
    for format in FORMATS {
        let o = run(r.path(), &["git", "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        check(format!("git {format}"), &o);
    }
    assert_eq!(checked, FORMATS.len() * 5);
    // No file appeared in the repository but the planted ones.
    let mut files = Vec::new();
    files_under(r.path(), &keep, &mut files);
    assert!(files.is_empty(), "{files:?}");
    // The secrets really are planted: --show-secrets prints them.
    let o = run(r.path(), &["dir", "--show-secrets", "--no-suppress", "."]);
    let out = stdout(&o);
    assert!(out.contains(&member) && out.contains(&named_file), "{out}");
    for s in &t {
        assert!(out.contains(s.as_str()), "{s} not found at all:\n{out}");
    }
}

fn base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
