//! Push-time gates: `pre-receive` on the server, `pre-push` on the client.
//!
//! The server hook scans exactly what a push adds, one pushed ref after another: the history
//! sweep (`source::git`) with the ref's new object as its tip and, hidden, every ref the
//! repository already has plus the refs scanned before it in the same push. Objects are read
//! where git keeps them while the hook runs, in its quarantine directory; the hook never
//! clones and never opens the repository without it. The scan runs on its own thread and the
//! budget (`--timeout`) is kept by the main thread, which answers when it runs out.

pub mod message;
pub mod server;

use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use git2::Oid;

use super::output::{say, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use super::project::Project;
use crate::cli::{PrePushArgs, PreReceiveArgs};
use crate::config::{Config, CONFIG_FILE};
use crate::detect::Detector;
use crate::finding::Finding;
use crate::report::{escape_control as esc, Problem};
use crate::source::git::{self as git, GitOptions, PushRoots};
use crate::suppress;
use message::{RefFindings, Side};
use server::{OnTimeout, Server};

/// The push option that asks for a bypass: `git push -o applivery-leaks.skip="reason"`.
pub const SKIP_OPTION: &str = "applivery-leaks.skip";
const DEFAULT_TIMEOUT: f64 = 4.0;
const DEFAULT_MAX_FINDINGS: u64 = 10;
const IGNORE_FILE: &str = ".applivery-leaksignore";

/// One `<old> <new> <ref>` line.
#[derive(Debug, Clone)]
pub struct Update {
    pub old: String,
    pub new: String,
    pub refname: String,
}

fn is_zero(id: &str) -> bool {
    id.bytes().all(|b| b == b'0')
}

fn parse_id(s: &str, line: &str) -> Result<Oid> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("SHA-256 repositories are not supported yet: {line}");
    }
    if s.len() != 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("expected '<old> <new> <ref>' from git, got: {}", esc(line));
    }
    Oid::from_str(s).map_err(|_| anyhow!("bad object id in: {}", esc(line)))
}

/// Parses the hook's standard input: one update per line.
pub fn parse_updates(input: &str) -> Result<Vec<Update>> {
    let mut out = Vec::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [old, new, refname] = parts[..] else {
            bail!("expected '<old> <new> <ref>' from git, got: {}", esc(line));
        };
        parse_id(old, line)?;
        parse_id(new, line)?;
        out.push(Update {
            old: old.to_string(),
            new: new.to_string(),
            refname: refname.to_string(),
        });
    }
    Ok(out)
}

/// The push options git hands the hook (`GIT_PUSH_OPTION_COUNT`, `GIT_PUSH_OPTION_<n>`).
fn push_options() -> Vec<String> {
    let n: usize = std::env::var("GIT_PUSH_OPTION_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (0..n.min(1000))
        .filter_map(|i| std::env::var(format!("GIT_PUSH_OPTION_{i}")).ok())
        .collect()
}

/// The bypass asked for, if any: its reason (empty when none was given).
fn skip_requested(options: &[String]) -> Option<String> {
    options.iter().rev().find_map(|o| {
        if o == SKIP_OPTION {
            Some(String::new())
        } else {
            o.strip_prefix(SKIP_OPTION)
                .and_then(|r| r.strip_prefix('='))
                .map(|r| r.trim().to_string())
        }
    })
}

/// The object directories git's quarantine adds while a pre-receive hook runs: the
/// directory the push's objects wait in, and the alternates (the repository's own objects,
/// which it reads anyway). Relative paths are taken from the current directory, as git does.
pub fn quarantine_dirs() -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let abs = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            cwd.join(p)
        }
    };
    let mut dirs = Vec::new();
    for key in ["GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"] {
        if let Ok(v) = std::env::var(key) {
            if !v.is_empty() {
                dirs.push(abs(&v));
            }
        }
    }
    if let Ok(v) = std::env::var("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
        dirs.extend(split_alternates(&v).iter().map(|s| abs(s)));
    }
    let mut unique: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let key = d.canonicalize().unwrap_or_else(|_| d.clone());
        if !unique
            .iter()
            .any(|u| u.canonicalize().unwrap_or_else(|_| u.clone()) == key)
        {
            unique.push(d);
        }
    }
    unique
}

/// `GIT_ALTERNATE_OBJECT_DIRECTORIES`: `:`-separated; an entry may be double-quoted with C
/// escapes (git quotes paths that hold a `:`).
fn split_alternates(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = v.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if cur.is_empty() && !quoted => quoted = true,
            '"' if quoted => quoted = false,
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
            }
            ':' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What the scan of one pushed ref found, after suppression.
struct Scanned {
    update: Update,
    findings: Vec<Finding>,
    errors: Vec<Problem>,
}

/// Everything the scanning thread needs, as plain values.
struct Job {
    repo: PathBuf,
    object_dirs: Vec<PathBuf>,
    threads: usize,
    updates: Vec<Update>,
    server: Server,
}

/// The repository's own suppression files in a pushed commit (`.applivery-leaks.toml`,
/// `.applivery-leaksignore`), when the server lets them count.
type RepoFiles = (Option<String>, Option<String>);

fn repo_files(job: &Job, tip: Oid) -> Result<RepoFiles> {
    if !job.server.repository_files {
        return Ok((None, None));
    }
    let read = |path: &str| -> Result<Option<String>> {
        let bytes = git::file_at(&job.repo, &job.object_dirs, tip, path)?;
        Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    let config = match &job.server.config {
        Some(_) => None, // pinned: the repository's is not read
        None => read(CONFIG_FILE)?,
    };
    Ok((config, read(IGNORE_FILE)?))
}

/// The project (config, ignore entries, baseline) pushed refs are judged with.
fn project_for(job: &Job, files: &RepoFiles) -> Result<Project> {
    let s = &job.server;
    let config = match (&s.config, &files.0) {
        (Some(pinned), _) => Config::load(pinned)?,
        // Rule files a pushed config names would have to be read from the pushed tree too;
        // only the server's own config may add rules.
        (None, Some(text)) => {
            let c = Config::parse(text, Path::new(CONFIG_FILE))?;
            if !c.rules.is_empty() {
                bail!(
                    "{CONFIG_FILE} in the pushed commit names rule files; a pre-receive hook \
                     takes extra rules only from the server's config"
                );
            }
            c
        }
        (None, None) => Config::default(),
    };
    let mut ignore = match &s.ignore {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read ignore file {}", p.display()))?;
            suppress::parse_ignore(&text, &p.display().to_string())?
        }
        None => Vec::new(),
    };
    if let Some(text) = &files.1 {
        ignore.extend(suppress::parse_ignore(text, IGNORE_FILE)?);
    }
    let baseline = match &s.baseline {
        Some(b) => suppress::load_baseline(b)?,
        None => Vec::new(),
    };
    Ok(Project::from_parts(config, ignore, baseline))
}

/// Scans what the push adds. Refs whose commits carry the same suppression files (usually
/// all of them) are scanned together, in one sweep with all their tips: a push of a
/// thousand tags is one walk, not a thousand. Groups scanned earlier hide their history from
/// later ones. Each finding is then filed under the first ref of its group that reaches it.
fn scan_push(job: &Job) -> Result<Vec<Scanned>> {
    let mut groups: Vec<(RepoFiles, Vec<(&Update, Oid)>)> = Vec::new();
    for u in &job.updates {
        if is_zero(&u.new) {
            continue; // a deletion adds nothing
        }
        let new = Oid::from_str(&u.new).expect("checked when parsed");
        let files = repo_files(job, new)
            .with_context(|| format!("{}: the repository's config files", u.refname))?;
        match groups.iter_mut().find(|g| g.0 == files) {
            Some(g) => g.1.push((u, new)),
            None => groups.push((files, vec![(u, new)])),
        }
    }
    let mut done: Vec<Oid> = Vec::new();
    let mut out = Vec::new();
    for (files, refs) in &groups {
        let project = project_for(job, files)
            .with_context(|| format!("{}: the project config", refs[0].0.refname))?;
        let det = Detector::new(project.config.load_rules(&[], true)?)?;
        let tips: Vec<Oid> = refs.iter().map(|r| r.1).collect();
        let opts = GitOptions {
            repo: job.repo.clone(),
            include_unreachable: false,
            since: None,
            range: None,
            max_file_size: None,
            archives: crate::extract::Settings::default()
                .with_exclude(&[])
                .map_err(anyhow::Error::msg)?,
            threads: job.threads,
            progress: false,
            push: Some(PushRoots {
                tips: tips.clone(),
                hidden: done.clone(),
                hide_refs: Some(String::new()),
            }),
            object_dirs: job.object_dirs.clone(),
        };
        let mut report = git::scan(&det, &opts)?;
        project.suppress_with(&mut report, false, false);
        report.sort();
        let mut scanned: Vec<Scanned> = refs
            .iter()
            .map(|(u, _)| Scanned {
                update: (*u).clone(),
                findings: Vec::new(),
                errors: Vec::new(),
            })
            .collect();
        scanned[0].errors = report.errors;
        let mut whose = git::Reach::new(&job.repo, &job.object_dirs, &tips)?;
        for f in report.findings {
            let k = owner(&f, &scanned, &mut whose);
            scanned[k].findings.push(f);
        }
        out.extend(scanned);
        done.extend(tips);
    }
    Ok(out)
}

/// Which ref of a group a finding belongs to: the tag whose message holds it, else the
/// first ref whose tip reaches the commit that introduced it (the first ref, if none does).
fn owner(f: &Finding, refs: &[Scanned], reach: &mut git::Reach) -> usize {
    if let crate::provenance::Origin::TagMessage(name) = &f.provenance.origin {
        let want = format!("refs/tags/{name}");
        if let Some(k) = refs.iter().position(|s| s.update.refname == want) {
            return k;
        }
    }
    f.git
        .as_ref()
        .and_then(|g| Oid::from_str(&g.commit).ok())
        .and_then(|c| reach.first_reaching(c))
        .unwrap_or(0)
}

/// `applivery-leaks pre-receive`.
pub fn pre_receive(a: &PreReceiveArgs) -> Result<u8> {
    let started = Instant::now();
    let server = Server::load(a.server_config.as_deref())?;
    let timeout = a.timeout.or(server.timeout).unwrap_or(DEFAULT_TIMEOUT);
    let max = a
        .max_findings
        .or(server.max_findings)
        .unwrap_or(DEFAULT_MAX_FINDINGS) as usize;
    let web = std::env::var("GL_PROTOCOL").is_ok_and(|p| p == "web");
    let mut input = String::new();
    io::stdin()
        .lock()
        .read_to_string_capped(&mut input)
        .context("cannot read the pushed refs from standard input")?;
    let updates = parse_updates(&input)?;
    let skip = skip_requested(&push_options());
    let threads = a
        .threads
        .or(server.threads)
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let job = Job {
        repo: a.git_dir.clone(),
        object_dirs: quarantine_dirs(),
        threads,
        updates: updates.clone(),
        server: server.clone(),
    };

    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("applivery-leaks-push".into())
        .spawn(move || {
            let _ = tx.send(scan_push(&job));
        })
        .map_err(|e| anyhow!("cannot start the scan: {e}"))?;
    let budget = Duration::from_secs_f64(timeout).saturating_sub(started.elapsed());
    let result = match rx.recv_timeout(budget) {
        Ok(r) => r,
        // The scanning thread is left running: returning ends the process.
        Err(mpsc::RecvTimeoutError::Timeout) => return timed_out(&server, &updates, timeout, web),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            drop(worker.join());
            bail!("the scan stopped early");
        }
    };
    let _ = worker.join();
    let scanned = result?;

    let errors: Vec<&Problem> = scanned.iter().flat_map(|s| &s.errors).collect();
    let skip_allowed = matches!(&skip, Some(r) if server.allow_skip && !r.is_empty());
    if !errors.is_empty() && !skip_allowed {
        // Fail closed: what could not be read was not checked.
        let mut m = String::from(
            "applivery-leaks: push rejected: part of it could not be read whole (an object, or \
             an archive inside one), so it was not fully checked for Applivery tokens:\n",
        );
        for e in errors.iter().take(max) {
            m.push_str(&format!("  {}: {}\n", esc(&e.place()), esc(&e.reason)));
        }
        if errors.len() > max {
            m.push_str(&format!("  … and {} more\n", errors.len() - max));
        }
        m.push_str(if server.allow_skip {
            "If that is expected (a deliberately damaged test file), push with \
             `git push -o applivery-leaks.skip=\"why\"` (written to the audit log).\n"
        } else {
            "If that is expected (a deliberately damaged test file), ask this server's \
             administrators.\n"
        });
        say(format_args!("{}", m.trim_end()));
        return Ok(EXIT_ERROR);
    }
    let found: Vec<&Scanned> = scanned
        .iter()
        .filter(|s| !s.findings.is_empty() || !s.errors.is_empty())
        .collect();
    if found.is_empty() {
        if skip.is_some() {
            say(format_args!(
                "applivery-leaks: no Applivery token in this push; {SKIP_OPTION} was not needed"
            ));
        }
        return Ok(EXIT_CLEAN);
    }
    let refs: Vec<RefFindings> = found
        .iter()
        .map(|s| RefFindings {
            refname: &s.update.refname,
            findings: &s.findings,
        })
        .collect();
    let side = if server.allow_skip {
        Side::ServerSkipAllowed
    } else {
        Side::ServerNoSkip
    };
    match skip {
        Some(reason) if server.allow_skip && !reason.is_empty() => {
            bypass(&server, &found, &reason)?;
            let n: usize = found.iter().map(|s| s.findings.len()).sum();
            let unread = if errors.is_empty() {
                String::new()
            } else {
                format!(" and {} part(s) not read whole", errors.len())
            };
            say(format_args!(
                "applivery-leaks: push accepted with {n} Applivery token(s){unread} by \
                 {SKIP_OPTION} (reason: {}); written to the audit log. Revoke any real token \
                 in the Applivery dashboard.",
                esc(&reason)
            ));
            Ok(EXIT_CLEAN)
        }
        Some(reason) => {
            let why = if !server.allow_skip {
                "this server does not allow bypasses"
            } else if reason.is_empty() {
                "a bypass needs a reason: -o applivery-leaks.skip=\"why\""
            } else {
                unreachable!("handled above")
            };
            let m = message::rejection(&refs, max, side, web);
            say(format_args!(
                "applivery-leaks: {SKIP_OPTION} refused: {why}\n{}",
                m.trim_end()
            ));
            Ok(EXIT_FINDINGS)
        }
        None => {
            let m = message::rejection(&refs, max, side, web);
            say(format_args!("{}", m.trim_end()));
            Ok(EXIT_FINDINGS)
        }
    }
}

/// One audit line per ref let through by a bypass: who, what, why, and the findings'
/// fingerprints — never a secret, not even redacted.
fn bypass(server: &Server, found: &[&Scanned], reason: &str) -> Result<()> {
    let log = server
        .audit_log
        .as_ref()
        .ok_or_else(|| anyhow!("no audit log configured"))?;
    for s in found {
        let findings: Vec<serde_json::Value> = s
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "fingerprint": f.fingerprint,
                    "rule": f.rule,
                    "path": f.path,
                    "line": f.line,
                    "commit": f.git.as_ref().map(|g| g.commit.clone()),
                })
            })
            .collect();
        server::audit(
            log,
            &serde_json::json!({
                "time": crate::time::rfc3339(std::time::SystemTime::now()),
                "event": "skip",
                "repository": repository_name(),
                "ref": s.update.refname,
                "old": s.update.old,
                "new": s.update.new,
                "pusher": server::pusher(),
                "reason": reason,
                "findings": findings,
                "unreadable": s.errors.iter().map(|e| e.place()).collect::<Vec<_>>(),
            }),
        )?;
    }
    Ok(())
}

/// The repository, for the audit log: GitLab's project path, else the directory.
fn repository_name() -> String {
    if let Ok(p) = std::env::var("GL_PROJECT_PATH") {
        return p;
    }
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default()
}

/// The budget ran out: reject, or accept as the server config says (and log it).
fn timed_out(server: &Server, updates: &[Update], timeout: f64, web: bool) -> Result<u8> {
    if server.on_timeout == OnTimeout::Accept {
        let log = server
            .audit_log
            .as_ref()
            .ok_or_else(|| anyhow!("no audit log configured"))?;
        let refs: Vec<serde_json::Value> = updates
            .iter()
            .map(|u| serde_json::json!({"ref": u.refname, "old": u.old, "new": u.new}))
            .collect();
        server::audit(
            log,
            &serde_json::json!({
                "time": crate::time::rfc3339(std::time::SystemTime::now()),
                "event": "timeout-accepted",
                "repository": repository_name(),
                "pusher": server::pusher(),
                "timeout_seconds": timeout,
                "refs": refs,
            }),
        )?;
        say(format_args!(
            "applivery-leaks: warning: the secret scan did not finish within {timeout} s; the \
             push is accepted unscanned (on_timeout = \"accept\" in the server config) and \
             written to the audit log"
        ));
        return Ok(EXIT_CLEAN);
    }
    say(format_args!(
        "{}",
        message::timeout(timeout, web).trim_end()
    ));
    Ok(EXIT_FINDINGS)
}

/// Reads standard input whole, refusing more than a push could sensibly send (a hostile or
/// broken caller must not exhaust memory).
trait ReadCapped {
    fn read_to_string_capped(&mut self, out: &mut String) -> io::Result<()>;
}

impl<R: io::Read> ReadCapped for R {
    fn read_to_string_capped(&mut self, out: &mut String) -> io::Result<()> {
        const CAP: u64 = 64 << 20;
        let n = self.take(CAP + 1).read_to_string(out)?;
        if n as u64 > CAP {
            return Err(io::Error::other("more than 64 MiB of ref updates"));
        }
        Ok(())
    }
}

/// One `<local ref> <local sha> <remote ref> <remote sha>` line of a pre-push hook.
#[derive(Debug, Clone)]
struct Outgoing {
    local_sha: Oid,
    remote_sha: Option<Oid>,
}

fn parse_outgoing(input: &str) -> Result<Vec<Outgoing>> {
    let mut out = Vec::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote] = parts[..] else {
            bail!(
                "expected '<local ref> <local sha> <remote ref> <remote sha>' from git, got: {}",
                esc(line)
            );
        };
        let local_id = parse_id(local, line)?;
        let remote_id = parse_id(remote, line)?;
        if is_zero(local) {
            continue; // a deletion sends nothing
        }
        out.push(Outgoing {
            local_sha: local_id,
            remote_sha: (!is_zero(remote)).then_some(remote_id),
        });
    }
    Ok(out)
}

/// What a pre-push hook sends, from git's standard input or, under the pre-commit
/// framework (which keeps standard input to itself), from its `PRE_COMMIT_*` variables.
fn outgoing(repo: &git2::Repository) -> Result<(Vec<Outgoing>, Option<String>)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let remote = env("PRE_COMMIT_REMOTE_NAME");
    if let Some(to) = env("PRE_COMMIT_TO_REF") {
        let resolve = |s: &str| {
            repo.revparse_single(s)
                .map(|o| o.id())
                .map_err(|e| anyhow!("cannot resolve {s}: {}", e.message()))
        };
        let from = env("PRE_COMMIT_FROM_REF")
            .filter(|f| !is_zero(f))
            .map(|f| resolve(&f))
            .transpose()?;
        return Ok((
            vec![Outgoing {
                local_sha: resolve(&to)?,
                remote_sha: from,
            }],
            remote,
        ));
    }
    if remote.is_some() {
        // The whole branch is new to the remote (pre-commit passes no range then).
        if let Some(local) = env("PRE_COMMIT_LOCAL_BRANCH") {
            let oid = repo
                .revparse_single(&local)
                .map(|o| o.id())
                .map_err(|e| anyhow!("cannot resolve {local}: {}", e.message()))?;
            return Ok((
                vec![Outgoing {
                    local_sha: oid,
                    remote_sha: None,
                }],
                remote,
            ));
        }
    }
    let mut input = String::new();
    if !io::stdin().is_terminal() {
        io::stdin()
            .lock()
            .read_to_string_capped(&mut input)
            .context("cannot read the refs being pushed from standard input")?;
    }
    Ok((parse_outgoing(&input)?, None))
}

/// `applivery-leaks pre-push [REMOTE] [URL]`.
pub fn pre_push(a: &PrePushArgs) -> Result<u8> {
    let repo_path = PathBuf::from(".");
    let repo = git2::Repository::discover(&repo_path)
        .map_err(|e| anyhow!("not in a git repository: {}", e.message()))?;
    let (out, env_remote) = outgoing(&repo)?;
    let remote = a.remote.clone().or(env_remote);
    if out.is_empty() {
        return Ok(EXIT_CLEAN);
    }
    let root = git::scan_root(&repo_path)?;
    let project = Project::load(&a.scan, &root)?;
    let det = Detector::new(super::project::rules_of(&project.config, &a.scan.rules)?)?;
    let opts = GitOptions {
        repo: repo_path,
        include_unreachable: false,
        since: None,
        range: None,
        max_file_size: None,
        archives: super::project::archive_settings(&a.archives, &[])?,
        threads: super::project::threads(&a.scan),
        progress: false,
        push: Some(PushRoots {
            tips: out.iter().map(|o| o.local_sha).collect(),
            hidden: out.iter().filter_map(|o| o.remote_sha).collect(),
            // What the remote is known to have: its remote-tracking refs. Pushing to a URL
            // (no remote name) hides only the remote's commit of each ref.
            hide_refs: remote
                .filter(|r| !r.contains("://") && !r.contains(':'))
                .map(|r| format!("refs/remotes/{r}/")),
        }),
        object_dirs: Vec::new(),
    };
    let report = git::scan(&det, &opts)?;
    let web = false;
    crate::command::finish::finish_with(report, det.rules(), &project, &a.scan, |report, code| {
        if code == EXIT_FINDINGS && !a.scan.quiet {
            let refs = [RefFindings {
                refname: "commits to push",
                findings: &report.findings,
            }];
            let m = message::rejection(&refs, DEFAULT_MAX_FINDINGS as usize, Side::Client, web);
            let _ = io::stderr().lock().write_all(format!("\n{m}").as_bytes());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_parse_and_mistakes_fail() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let u = parse_updates(&format!("{z} {a} refs/heads/x\n{a} {z} refs/heads/y\n")).unwrap();
        assert_eq!(u.len(), 2);
        assert!(is_zero(&u[0].old) && is_zero(&u[1].new));
        assert!(parse_updates("nonsense\n").is_err());
        assert!(parse_updates(&format!("{a} zz refs/heads/x\n")).is_err());
        let e = parse_updates(&format!(
            "{} {} refs/heads/x",
            "b".repeat(64),
            "c".repeat(64)
        ));
        assert!(e.unwrap_err().to_string().contains("SHA-256"));
    }

    #[test]
    fn skip_option_and_reason() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(skip_requested(&o(&[])), None);
        assert_eq!(skip_requested(&o(&["ci.skip"])), None);
        assert_eq!(
            skip_requested(&o(&["applivery-leaks.skip=test fixture"])),
            Some("test fixture".into())
        );
        assert_eq!(
            skip_requested(&o(&["applivery-leaks.skip"])),
            Some(String::new())
        );
        assert_eq!(skip_requested(&o(&["applivery-leaks.skipper=x"])), None);
    }

    #[test]
    fn alternates_split_like_git() {
        assert_eq!(split_alternates("/a:/b"), vec!["/a", "/b"]);
        assert_eq!(split_alternates("\"/a:b\":/c"), vec!["/a:b", "/c"]);
        assert_eq!(split_alternates(""), Vec::<String>::new());
    }
}
