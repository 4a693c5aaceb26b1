//! Mirrors of remote repositories in a cache directory, made and refreshed by the user's own
//! `git` program, so their credential helpers, ssh config and proxies work as for any clone.
//! The first sweep of a repository is `git clone --mirror` (every ref); later sweeps fetch
//! what changed (`git fetch --prune` of every ref), so a rerun costs little.
//!
//! A URL's credential never lands on disk or on screen: the mirror's configured URL is the
//! one without it (later fetches name the URL on the command line), and `git`'s own
//! messages pass through `repo::redact` before anyone sees them. `git` never prompts
//! (`GIT_TERMINAL_PROMPT=0`), and a clone or fetch that takes longer than its timeout is
//! killed with everything it started.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::repo::{self, Repo};

/// How to call git.
#[derive(Debug, Clone)]
pub struct Git {
    /// The program (`git`, found on PATH, unless `APPLIVERY_LEAKS_GIT` names another).
    pub program: PathBuf,
    pub timeout: Duration,
}

impl Git {
    pub fn new(timeout: Duration) -> Git {
        Git {
            program: std::env::var_os("APPLIVERY_LEAKS_GIT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("git")),
            timeout,
        }
    }

    /// The mirror of `url` in `cache`, cloned or brought up to date. The error is one line,
    /// without the URL's credential.
    pub fn mirror(&self, repo: &Repo, url: &str, cache: &Path) -> Result<PathBuf, String> {
        std::fs::create_dir_all(cache)
            .map_err(|e| format!("cannot create the cache {}: {e}", cache.display()))?;
        let dir = cache.join(format!("{}.git", repo.file_name()));
        if dir.join("HEAD").is_file() {
            self.run(
                Some(&dir),
                &[
                    "fetch",
                    "--prune",
                    "--quiet",
                    "--no-write-fetch-head",
                    "--",
                    url,
                    "+refs/*:refs/*",
                ],
            )
            .map_err(|e| format!("git fetch failed: {e}"))?;
            return Ok(dir);
        }
        // Clone beside the final place and rename: an interrupted clone never looks like a
        // mirror to the next run.
        let tmp = cache.join(format!(
            ".partial-{}-{}",
            repo.file_name(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        let tmp_s = tmp.to_string_lossy().into_owned();
        let cloned = self
            .run(None, &["clone", "--mirror", "--quiet", "--", url, &tmp_s])
            .map_err(|e| format!("git clone failed: {e}"));
        if let Err(e) = cloned {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let clean = repo::redact(url);
        if clean != url {
            // The credential stays on the command line of each fetch, never in the config.
            self.run(Some(&tmp), &["config", "remote.origin.url", &clean])
                .map_err(|e| format!("git config failed: {e}"))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            format!("cannot move the clone into the cache: {e}")
        })?;
        Ok(dir)
    }

    /// Runs git in `dir`; the error is git's last message line (redacted) or why it ended.
    fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<(), String> {
        let mut cmd = Command::new(&self.program);
        if let Some(d) = dir {
            cmd.arg("-C").arg(d);
        }
        cmd.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt as _;
            // Its own process group, so a timeout ends the ssh or remote helper it started.
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|e| {
            format!(
                "cannot run {}: {}",
                self.program.display(),
                crate::report::io_reason(&e)
            )
        })?;
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            // Bounded: a flood of progress output must not fill memory.
            let _ = (&mut stderr).take(1 << 20).read_to_end(&mut buf);
            let mut sink = [0u8; 8192];
            while matches!(stderr.read(&mut sink), Ok(n) if n > 0) {}
            buf
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if started.elapsed() >= self.timeout => {
                    kill_group(&mut child);
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(crate::report::io_reason(&e)),
            }
        };
        let err = reader.join().unwrap_or_default();
        match status {
            None => Err(format!("timed out after {} s", self.timeout.as_secs())),
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(last_line(&err).unwrap_or_else(|| format!("git exited with {s}"))),
        }
    }
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // `kill -KILL -- -PGID`: the group started above, whose id is the child's.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last meaningful line git wrote, redacted and cut to one short line.
fn last_line(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("hint:"))?;
    let line = repo::redact(line);
    let line: String = line.chars().filter(|c| !c.is_control()).take(300).collect();
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_messages_are_redacted_to_one_line() {
        let e = b"Cloning...\nfatal: unable to access 'https://u:hunter2@h/x/': 403\nhint: x\n";
        assert_eq!(
            last_line(e).unwrap(),
            "fatal: unable to access 'https://h/x/': 403"
        );
        assert_eq!(last_line(b"\n\n"), None);
    }
}
