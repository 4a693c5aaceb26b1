//! `git` over many repositories: the list (arguments, `--repos-from`, GitHub organisations,
//! GitLab groups), this process's shard of it, then each repository in turn — mirrored if
//! remote, swept by `source::git` exactly as a single one, filed under its identity,
//! suppressed and verified, and written to `--output-dir` as it finishes — and finally one
//! report of them all. A repository that fails is listed with its reason and the sweep goes
//! on; the exit code stays fail-closed.
//!
//! Resuming: a repository's report in `--output-dir` records a digest of its refs and of
//! the options that shape a report; when both are unchanged the report is taken as it is.

use std::collections::HashMap;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Format, GitArgs};
use crate::command::output::{emit, exit_code, tell};
use crate::command::project::Project;
use crate::detect::Detector;
use crate::finding::{sha256_hex, Finding, Verification};
use crate::report::{
    self, escape_control, load, merge, Problem, RepoOutcome, Report, Repositories, ScanKind, Style,
};
use crate::source;
use crate::sweep::enumerate::{self, Api, Filter};
use crate::sweep::mirror::Git;
use crate::sweep::repo::{self, Location, Repo};
use crate::sweep::shard::Shard;

/// True if `git` was asked for more than one local repository: several, a remote URL, or
/// any option of a sweep. A plain `git [REPO]` stays the single-repository sweep.
pub fn is_sweep(a: &GitArgs) -> bool {
    if a.repos.len() > 1 || a.sweep.any() {
        return true;
    }
    let cwd = Path::new("/");
    a.repos.iter().any(|p| {
        p.to_str().is_some_and(|s| {
            matches!(
                Repo::parse(s, cwd).map(|r| r.location),
                Ok(Location::Remote(_))
            )
        })
    })
}

pub fn run(a: &GitArgs) -> Result<u8> {
    let started = Instant::now();
    let quiet = a.scan.quiet;
    if a.scan.report_unused {
        bail!("--report-unused works on one repository, not on a sweep of many");
    }
    // A report directory that cannot be written fails now, not after the listing and the
    // first clone.
    if !a.sweep.list_repos {
        if let Some(d) = &a.sweep.output_dir {
            std::fs::create_dir_all(d)
                .with_context(|| format!("cannot create --output-dir {}", d.display()))?;
            crate::command::output::check_dir(d).map_err(|e| {
                anyhow!(
                    "cannot write reports to --output-dir {}: {}",
                    escape_control(&d.display().to_string()),
                    crate::report::io_reason(&e)
                )
            })?;
        }
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let shard = shard(a)?;
    let all = gather(a, &cwd)?;
    let total = all.len();
    let repos: Vec<Repo> = match shard {
        Some((s, _)) => all
            .into_iter()
            .filter(|r| s.contains(&r.identity))
            .collect(),
        None => all,
    };
    if a.sweep.list_repos {
        let stdout = io::stdout();
        let mut out = io::BufWriter::new(stdout.lock());
        for r in &repos {
            let at = match &r.location {
                Location::Local(p) => p.display().to_string(),
                Location::Remote(u) => repo::redact(u),
            };
            writeln!(
                out,
                "{}\t{}",
                escape_control(&r.identity),
                escape_control(&at)
            )?;
        }
        out.flush()?;
        return Ok(crate::command::output::EXIT_CLEAN);
    }
    if !quiet {
        match shard {
            Some((s, from)) => eprintln!(
                "applivery-leaks: shard {s} (from {from}): {} of {total} {}",
                repos.len(),
                repositories(total)
            ),
            None => eprintln!("applivery-leaks: {total} {}", repositories(total)),
        }
    }

    let project = Project::load(&a.scan, &cwd)?;
    let det = Detector::new(crate::command::project::rules_of(
        &project.config,
        &a.scan.rules,
    )?)?;
    let needs_cache = repos
        .iter()
        .any(|r| matches!(r.location, Location::Remote(_)));
    let cache = if needs_cache {
        Some(cache_dir(a)?)
    } else {
        None
    };
    let mut sweep = Sweep {
        a,
        det: &det,
        project: &project,
        git: Git::new(Duration::from_secs(a.sweep.fetch_timeout.max(1))),
        cache,
        key: options_key(a, &det),
        verdicts: HashMap::new(),
    };
    let bar = Bar::new(repos.len(), !quiet && io::stderr().is_terminal());
    let mut parts = Vec::with_capacity(repos.len());
    for r in &repos {
        bar.start(&r.identity);
        let part = sweep
            .one(r)
            .unwrap_or_else(|reason| failed(r, &reason, &cwd));
        parts.push(part);
        bar.done();
    }
    bar.finish();
    let mut report = merge::combine(ScanKind::Git, cwd, parts);
    let repos_summary = report
        .summary
        .repositories
        .get_or_insert_with(Repositories::default);
    repos_summary.shard = shard.map(|(s, _)| s.to_string());
    report.summary.duration = started.elapsed();
    report.sarif_category = a.scan.sarif_category.clone();
    tell(&report, quiet);
    let format = a
        .scan
        .format
        .or(project.config.format)
        .unwrap_or(Format::Text);
    emit(
        &report,
        det.rules(),
        format,
        a.scan.show_secrets,
        a.scan.output.as_ref(),
    )?;
    Ok(exit_code(&report, a.scan.verify.fail_on))
}

fn repositories(n: usize) -> &'static str {
    if n == 1 {
        "repository"
    } else {
        "repositories"
    }
}

/// The shard to sweep: `--shard`, else the scheduler's environment.
fn shard(a: &GitArgs) -> Result<Option<(Shard, &'static str)>> {
    if let Some(s) = &a.sweep.shard {
        let s = Shard::parse(s).map_err(|e| anyhow!("--shard: {}", escape_control(&e)))?;
        return Ok(Some((s, "--shard")));
    }
    Shard::from_env(|k| std::env::var(k).ok(), a.sweep.shard_count)
        .map_err(|e| anyhow!("{}", escape_control(&e)))
}

/// Every repository asked for, once each (by identity), in the order given.
fn gather(a: &GitArgs, cwd: &Path) -> Result<Vec<Repo>> {
    let mut out: Vec<Repo> = Vec::new();
    let parse = |spec: &str| Repo::parse(spec, cwd).map_err(|e| escape_control(&repo::redact(&e)));
    for p in &a.repos {
        out.push(match p.to_str() {
            Some(s) => parse(s).map_err(|e| anyhow!("{e}"))?,
            None => {
                // Not UTF-8: only a local path can be that.
                let path = cwd.join(p);
                Repo {
                    identity: path.to_string_lossy().into_owned(),
                    location: Location::Local(path),
                }
            }
        });
    }
    for file in &a.sweep.repos_from {
        let (name, lines) = read_list(file)?;
        for (n, line) in lines.iter().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            out.push(parse(t).map_err(|e| anyhow!("{name}:{}: {e}", n + 1))?);
        }
    }
    let filter = Filter {
        skip_archived: a.sweep.skip_archived,
        skip_forks: a.sweep.skip_forks,
    };
    for org in &a.sweep.github_org {
        let mut api = Api::new(&a.sweep.github_api_url, std::env::var("GITHUB_TOKEN").ok());
        api.clone_hosts.clone_from(&a.sweep.allow_clone_host);
        out.extend(enumerate::github(&api, org, filter).map_err(|e| anyhow!("{e}"))?);
    }
    for group in &a.sweep.gitlab_group {
        let mut api = Api::new(&a.sweep.gitlab_url, std::env::var("GITLAB_TOKEN").ok());
        api.clone_hosts.clone_from(&a.sweep.allow_clone_host);
        out.extend(enumerate::gitlab(&api, group, filter).map_err(|e| anyhow!("{e}"))?);
    }
    let named_none = a.repos.is_empty()
        && a.sweep.repos_from.is_empty()
        && a.sweep.github_org.is_empty()
        && a.sweep.gitlab_group.is_empty();
    if named_none {
        out.push(parse(".").map_err(|e| anyhow!("{e}"))?);
    }
    // One repository named twice (`acme/r.git` and `acme/x/../../acme/r.git`, a link to
    // it, its `.git`) is swept once: local paths compare by where they really are.
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| {
        let key = match &r.location {
            Location::Local(p) => std::fs::canonicalize(p)
                .map(|c| {
                    let c = c.to_string_lossy().into_owned();
                    c.strip_suffix("/.git").map(str::to_string).unwrap_or(c)
                })
                .unwrap_or_else(|_| r.identity.clone()),
            Location::Remote(_) => r.identity.clone(),
        };
        seen.insert(key)
    });
    if out.is_empty() {
        bail!("no repositories to sweep: the repositories, lists, organisations and groups given name none");
    }
    Ok(out)
}

/// The lines of a repository list (`-`: standard input), and its name for messages.
fn read_list(file: &Path) -> Result<(String, Vec<String>)> {
    let name = escape_control(&file.display().to_string());
    let lines: io::Result<Vec<String>> = if file.as_os_str() == "-" {
        io::stdin().lock().lines().collect()
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| anyhow!("--repos-from {name}: {}", crate::report::io_reason(&e)))?;
        io::BufReader::new(f).lines().collect()
    };
    let lines =
        lines.map_err(|e| anyhow!("--repos-from {name}: {}", crate::report::io_reason(&e)))?;
    Ok((name, lines))
}

fn cache_dir(a: &GitArgs) -> Result<PathBuf> {
    if let Some(c) = &a.sweep.cache {
        return Ok(c.clone());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    match base {
        Some(b) => Ok(b.join("applivery-leaks").join("repos")),
        None => bail!("no cache directory for remote repositories: pass --cache DIR"),
    }
}

/// A digest of everything besides the refs that shapes a repository's report: the version,
/// the rules, and the options. A report made with other ones is not reused.
fn options_key(a: &GitArgs, det: &Detector) -> String {
    let rules: Vec<String> = det.rules().iter().map(|r| format!("{r:?}")).collect();
    sha256_hex(
        format!(
            "{}\n{:?}\n{:?}\n{:?}\n{:?}\n{}\n{}\n{}\n{:?}\n{}",
            env!("CARGO_PKG_VERSION"),
            a.include_unreachable,
            a.since,
            a.range,
            a.max_file_size,
            a.scan.no_suppress,
            a.scan.show_secrets,
            a.scan.verify.verify,
            a.scan.verify.api_url,
            rules.join("\n")
        )
        .as_bytes(),
    )
}

/// The report of a repository that could not be swept.
fn failed(r: &Repo, reason: &str, cwd: &Path) -> Report {
    let reason = escape_control(&repo::redact(reason));
    let mut report = Report::new(ScanKind::Git, cwd.to_path_buf());
    report.errors.push(Problem {
        repository: Some(r.identity.clone()),
        path: r.identity.clone(),
        reason: reason.clone(),
    });
    report.summary.repositories = Some(Repositories {
        list: vec![RepoOutcome {
            repository: r.identity.clone(),
            status: "failed".into(),
            findings: 0,
            commits: 0,
            refs: None,
            head: None,
            reason: Some(reason),
        }],
        shard: None,
    });
    report
}

struct Sweep<'a> {
    a: &'a GitArgs,
    det: &'a Detector,
    project: &'a Project,
    git: Git,
    cache: Option<PathBuf>,
    key: String,
    /// Verdicts of this run by (rule, secret): a token in many repositories is sent once.
    verdicts: HashMap<(String, String), Verification>,
}

impl Sweep<'_> {
    /// One repository's report, or why it could not be swept.
    fn one(&mut self, r: &Repo) -> Result<Report, String> {
        let path = match &r.location {
            Location::Local(p) => p.clone(),
            Location::Remote(url) => {
                let cache = self
                    .cache
                    .as_ref()
                    .expect("a cache for remote repositories");
                self.git.mirror(r, url, cache)?
            }
        };
        let refs = crate::sweep::refs_state(&path).map_err(|e| {
            if path.exists() {
                format!("not a readable git repository: {e}")
            } else {
                "no such file or directory".to_string()
            }
        })?;
        let state = sha256_hex(format!("{}\n{refs}", self.key).as_bytes());
        let file = self
            .a
            .sweep
            .output_dir
            .as_ref()
            .map(|d| d.join(format!("{}.json", r.file_name())));
        if let Some(prev) = file.as_deref().and_then(|f| resumable(f, r, &state)) {
            return Ok(prev);
        }
        let a = self.a;
        let opts = source::git::GitOptions {
            repo: path,
            include_unreachable: a.include_unreachable,
            since: a.since.clone(),
            range: a.range.clone(),
            max_file_size: a.max_file_size,
            archives: crate::command::project::archive_settings(&a.archives, &[])
                .map_err(|e| e.to_string())?,
            threads: a
                .scan
                .threads
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            progress: false,
            push: None,
            object_dirs: Vec::new(),
        };
        let mut report =
            source::git::scan(self.det, &opts).map_err(|e| format!("{e:#}").replace('\n', " "))?;
        stamp(&mut report, &r.identity);
        self.project.suppress(&mut report, &a.scan);
        self.verify(&mut report.findings)
            .map_err(|e| format!("{e:#}"))?;
        if !a.scan.show_secrets {
            report.redact_names();
        }
        let g = report.summary.git.as_ref();
        report.summary.repositories = Some(Repositories {
            list: vec![RepoOutcome {
                repository: r.identity.clone(),
                status: "scanned".into(),
                findings: report.findings.len() as u64,
                commits: g.map_or(0, |g| g.commits),
                refs: Some(state),
                head: g.and_then(|g| g.head.clone()),
                reason: None,
            }],
            shard: None,
        });
        report.sort();
        if let Some(f) = &file {
            let style = Style {
                format: Format::Json,
                show_secrets: a.scan.show_secrets,
                color: false,
            };
            let private = a.scan.show_secrets;
            report::output::write_file_nofollow(f, private, |w| {
                report::write(&report, self.det.rules(), style, w)
            })
            .map_err(|e| {
                format!(
                    "cannot write its report to {}: {}",
                    f.display(),
                    crate::report::io_reason(&e)
                )
            })?;
        }
        Ok(report)
    }

    /// `--verify`, checking each (rule, secret) once per run however many repositories hold it.
    fn verify(&mut self, findings: &mut Vec<Finding>) -> Result<()> {
        let opts = &self.a.scan.verify;
        if !opts.verify || findings.is_empty() {
            return Ok(());
        }
        let key = |f: &Finding| (f.rule.clone(), f.secret.clone());
        let (mut todo, mut done): (Vec<Finding>, Vec<Finding>) = std::mem::take(findings)
            .into_iter()
            .partition(|f| !self.verdicts.contains_key(&key(f)));
        for f in &mut done {
            f.verification = self.verdicts.get(&key(f)).cloned().map(Box::new);
        }
        crate::command::verify::findings(&mut todo, self.det.rules(), opts, self.a.scan.quiet)?;
        for f in &todo {
            if let Some(v) = &f.verification {
                self.verdicts.insert(key(f), (**v).clone());
            }
        }
        done.extend(todo);
        *findings = done;
        Ok(())
    }
}

/// The report an earlier run wrote for this repository, if its refs and options are the
/// same and it read everything.
fn resumable(file: &Path, r: &Repo, state: &str) -> Option<Report> {
    if !file.is_file() {
        return None;
    }
    let mut prev = load::load(file).ok()?;
    let repos = prev.summary.repositories.as_mut()?;
    let [o] = repos.list.as_mut_slice() else {
        return None;
    };
    if o.repository != r.identity || o.refs.as_deref() != Some(state) || !prev.errors.is_empty() {
        return None;
    }
    o.status = "resumed".into();
    Some(prev)
}

/// Files everything of a repository's report under its identity.
fn stamp(report: &mut Report, identity: &str) {
    for f in &mut report.findings {
        f.set_repository(identity);
    }
    for p in report.errors.iter_mut().chain(&mut report.summary.skipped) {
        p.repository = Some(identity.to_string());
    }
    for w in &mut report.warnings {
        *w = format!("{identity}: {w}");
    }
    if let Some(g) = report.summary.git.as_mut() {
        for s in &mut g.secrets {
            s.repositories = vec![identity.to_string()];
            for r in s.exposure.iter_mut().flat_map(|e| &mut e.refs) {
                r.repository = Some(identity.to_string());
            }
        }
    }
}

/// Repositories done / total, the current one, elapsed and time left, on a terminal only.
struct Bar {
    pb: ProgressBar,
}

impl Bar {
    fn new(total: usize, on: bool) -> Bar {
        if !on {
            return Bar {
                pb: ProgressBar::hidden(),
            };
        }
        let pb = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "{pos}/{len} repositories [{bar:24}] {elapsed} elapsed, ~{eta} left  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.enable_steady_tick(Duration::from_millis(250));
        Bar { pb }
    }

    fn start(&self, identity: &str) {
        let shown: String = escape_control(identity).chars().take(60).collect();
        self.pb.set_message(shown);
    }

    fn done(&self) {
        self.pb.inc(1);
    }

    fn finish(&self) {
        self.pb.finish_and_clear();
    }
}
