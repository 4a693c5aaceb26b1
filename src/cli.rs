//! Command-line definitions only: what the user can type. Behaviour lives elsewhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  applivery-leaks dir                         scan the current directory
  applivery-leaks dir --format sarif --output leaks.sarif .
  applivery-leaks git --format json           sweep every commit of the repository here
  applivery-leaks git --since origin/main     only what this branch adds (pull requests)
  applivery-leaks git --github-org ACME --output-dir sweep/   every repository of an organisation
  applivery-leaks merge shard-*.json --format html -o incident.html
  applivery-leaks remediate sweep.json --out remediation/   purge, revoke and re-check steps
  applivery-leaks staged                      pre-commit: scan what is about to be committed
  applivery-leaks pre-receive --server-config /etc/applivery-leaks/server.toml   server hook
  cat tokens.txt | applivery-leaks verify     which tokens still work?
  applivery-leaks rules                       list the active rules
  applivery-leaks rules check my-rules.toml   run a rule file's examples

Exit codes: 0 no findings, 1 findings, 2 error (or nothing could be read).";

#[derive(Debug, Parser)]
#[command(
    name = "applivery-leaks",
    version,
    about = "Find Applivery API tokens in working trees, staged changes and git history",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan directories and files (default: the current directory).
    Dir(DirArgs),
    /// Scan every blob and message in a repository's history — or in many repositories
    /// (paths, URLs, GitHub organisations, GitLab groups).
    Git(Box<GitArgs>),
    /// Scan the changes staged for the next commit (pre-commit hook).
    Staged(StagedArgs),
    /// Server side: a pre-receive hook. Reads the `<old> <new> <ref>` lines git gives it and
    /// rejects a push that adds an Applivery token (docs/push.md).
    PreReceive(PreReceiveArgs),
    /// Client side: a pre-push hook. Reads the `<local ref> <local sha> <remote ref>
    /// <remote sha>` lines git gives it and blocks a push that would send a token.
    PrePush(PrePushArgs),
    /// Combine JSON reports (shards, per-repository reports) into one report.
    Merge(MergeArgs),
    /// Scan standard input.
    Stdin(StdinArgs),
    /// Ask the Applivery API whether tokens still work.
    ///
    /// Tokens are read one per line from standard input, or taken from arguments. Prefer
    /// standard input: arguments are saved in shell history and visible to other users in
    /// the process list.
    Verify(VerifyArgs),
    /// Write a remediation pack for a history sweep's JSON report: replace-text.txt for
    /// git filter-repo, the purge commands, revoke.md (per token, live first), recheck.sh.
    ///
    /// Full tokens are read again from the repository at the commit and path the report
    /// names, so the report itself can stay redacted. Only replace-text.txt holds them
    /// (mode 0600): delete it once the history is purged.
    Remediate(RemediateArgs),
    /// After revoking and purging: tell per token of a JSON report whether it is still in
    /// the repository's history (and where) or purged, and with --verify whether it is
    /// still live or revoked. Exit 0 when every token is purged (and proven revoked with
    /// --verify), 1 otherwise.
    Recheck(Box<RecheckArgs>),
    /// List the active rules, or check their examples (`rules check [FILE]`).
    Rules(RulesArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

pub use crate::report::Format;

/// Parses `--format` into the report's own type, listing the names in help and completions.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Format::ALL.iter().map(|f| f.name()))
        .map(|s: String| Format::parse(&s).expect("a listed format name"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 for any finding.
    Any,
    /// Exit 1 only for findings verified live (needs --verify).
    Live,
}

/// Which rules are active.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Add the rules in FILE (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in Applivery rules.
    #[arg(long)]
    pub no_default_rules: bool,
    /// Project config file (default: .applivery-leaks.toml at the scan root, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore the project config file even if present.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
}

/// Options every scan shares.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format (default: text, or the project config's `format`).
    #[arg(long, value_parser = format_parser())]
    pub format: Option<Format>,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads of `dir` and `git` (default: number of CPUs; at most 8 per CPU are
    /// used); `staged` and `stdin` scan one input each.
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Print secrets in full instead of redacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Print nothing on stderr but errors; no progress.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Report only findings not in this previous JSON report.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Show every finding: ignore the config's exclude, disable and placeholders, inline
    /// markers, the ignore file and the baseline (each is still read and checked).
    #[arg(long)]
    pub no_suppress: bool,
    /// List ignore-file and baseline entries that matched nothing.
    #[arg(long)]
    pub report_unused: bool,
    /// SARIF category (`runAutomationDetails.id` before its last `/`); default
    /// `applivery-leaks/<command>`. Give each SARIF upload of one commit its own.
    #[arg(long, value_name = "CATEGORY", value_parser = sarif_category)]
    pub sarif_category: Option<String>,
    /// Print the evidence that decided each finding (the key, the call, the host, the
    /// block, the path) in the text report; JSON, SARIF and HTML always carry it.
    #[arg(long)]
    pub explain: bool,
    /// Report a file or stream that takes longer than SECS to scan as not fully scanned
    /// (exit 2) instead of waiting for it; 0 for no limit.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub blob_timeout: u64,
    #[command(flatten)]
    pub verify: VerifyOptions,
}

/// A category is a path-like id; an empty one, or one with whitespace or control characters,
/// is a typo that would silently merge or split code-scanning alerts.
fn sarif_category(s: &str) -> Result<String, String> {
    let t = s.trim_end_matches('/');
    if t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "expected a non-empty category without spaces, e.g. applivery-leaks/dir".into(),
        );
    }
    Ok(t.to_string())
}

/// Options of live verification.
#[derive(Debug, Clone, Args)]
pub struct VerifyOptions {
    /// Ask the Applivery API whether each secret still works (sends each token once). The
    /// `verify` command always does; there the flag changes nothing.
    #[arg(long)]
    pub verify: bool,
    /// Send every check to this API base only (plain http only for loopback hosts).
    /// Default: https://api.applivery.io, plus the private-tenant API of any
    /// *.<tenant>.applivery.io host named in a secret's file.
    #[arg(long, env = "APPLIVERY_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// Requests in flight at once (1-64).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub verify_concurrency: usize,
    /// Requests per second at most (0.1-1000).
    #[arg(long, value_name = "N", default_value_t = 5.0)]
    pub verify_rps: f64,
    /// Timeout of one request, in seconds (0.1-300).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub verify_timeout: f64,
    /// Which findings make the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Any)]
    pub fail_on: FailOn,
}

#[derive(Debug, Clone, Args)]
pub struct DirArgs {
    /// Directories or files to scan.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Also scan files that .gitignore / .ignore exclude.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links.
    #[arg(long, short = 'L')]
    pub follow_symlinks: bool,
    /// Skip files larger than BYTES (they are reported as skipped).
    #[arg(long, value_name = "BYTES", value_parser = parse_max_file_size)]
    pub max_file_size: Option<u64>,
    /// Skip paths matching this gitignore-style glob (repeatable); a member of an archive
    /// is named by its chain (`build/**/*.apk!/assets/**`).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub archives: ArchiveArgs,
}

/// How archives and build artefacts (APK, AAB, IPA, JAR, zip, tar, gzip, bzip2, xz) are
/// opened; docs/archives.md explains each limit.
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    /// Open archives nested up to N deep (1: the archive itself, not archives inside it);
    /// 0 turns archives and binary formats off.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u8).range(0..=32))]
    pub max_archive_depth: u8,
    /// Do not open archives or read binary formats (as --max-archive-depth 0).
    #[arg(long)]
    pub no_archives: bool,
    /// Skip an archive member that expands to more than BYTES.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_member_size: u64,
    /// Stop reading an archive once its members have expanded to BYTES in all.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_archive_bytes: u64,
    /// Skip a member that expands to more than N times its compressed size (past 1 MiB).
    #[arg(long, value_name = "N", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_archive_ratio: u64,
    /// Read at most N members of one archive, and of all archives in one file together.
    #[arg(long, value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_archive_members: u64,
}

#[derive(Debug, Clone, Args)]
pub struct GitArgs {
    /// Repositories: local paths (work tree or bare) or remote URLs (https://, ssh://,
    /// git://, user@host:path); default: the current directory.
    #[arg(value_name = "REPO")]
    pub repos: Vec<PathBuf>,
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Also scan objects no ref reaches (dangling blobs of rewritten history).
    #[arg(long, conflicts_with_all = ["since", "range"])]
    pub include_unreachable: bool,
    /// Only scan what commits not reachable from REV introduced.
    #[arg(long, value_name = "REV", conflicts_with = "range")]
    pub since: Option<String>,
    /// Only scan what the commits in A..B introduced.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Skip blobs larger than BYTES (they are reported as skipped).
    #[arg(long, value_name = "BYTES", value_parser = parse_max_file_size)]
    pub max_file_size: Option<u64>,
    #[command(flatten)]
    pub archives: ArchiveArgs,
    #[command(flatten)]
    pub sweep: SweepArgs,
}

/// Options of a sweep of many repositories (`git` with several REPOs, remote URLs, or any
/// of these).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Many repositories")]
pub struct SweepArgs {
    /// Read repositories (paths or URLs) from FILE, one per line (`#` comments); `-` reads
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub repos_from: Vec<PathBuf>,
    /// Every repository of this GitHub organisation (token: GITHUB_TOKEN). Repeatable.
    #[arg(long, value_name = "ORG")]
    pub github_org: Vec<String>,
    /// GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, value_name = "URL", default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// Every project of this GitLab group and its subgroups (token: GITLAB_TOKEN).
    /// Repeatable.
    #[arg(long, value_name = "GROUP")]
    pub gitlab_group: Vec<String>,
    /// GitLab's address (self-managed: https://gitlab.example.com).
    #[arg(long, value_name = "URL", default_value = "https://gitlab.com")]
    pub gitlab_url: String,
    /// Also accept clone URLs on HOST from an organisation or group listing (repeatable);
    /// by default only the API's own host (github.com for api.github.com) is accepted.
    #[arg(long, value_name = "HOST")]
    pub allow_clone_host: Vec<String>,
    /// Leave out archived repositories of an organisation or group.
    #[arg(long)]
    pub skip_archived: bool,
    /// Leave out forks of an organisation or group.
    #[arg(long)]
    pub skip_forks: bool,
    /// Where remote repositories are mirrored and fetched again on later runs (default:
    /// $XDG_CACHE_HOME/applivery-leaks/repos or ~/.cache/applivery-leaks/repos).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Give up on a clone or fetch after SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub fetch_timeout: u64,
    /// Sweep only shard K of N (1-based), chosen by a stable hash of each repository's
    /// identity. Default from JOB_COMPLETION_INDEX (with --shard-count) or
    /// CI_NODE_INDEX/CI_NODE_TOTAL when set.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Number of shards when the shard comes from JOB_COMPLETION_INDEX (Kubernetes Indexed
    /// Job); also APPLIVERY_LEAKS_SHARD_COUNT.
    #[arg(long, value_name = "N", env = "APPLIVERY_LEAKS_SHARD_COUNT")]
    pub shard_count: Option<u32>,
    /// Write one JSON report per repository into DIR as each finishes; a rerun skips
    /// repositories whose report is there and whose refs have not moved.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Print the repositories the sweep would cover (after sharding) and exit.
    #[arg(long)]
    pub list_repos: bool,
}

impl SweepArgs {
    /// True if any option asks for a sweep of many repositories.
    pub fn any(&self) -> bool {
        !self.repos_from.is_empty()
            || !self.github_org.is_empty()
            || !self.gitlab_group.is_empty()
            || self.shard.is_some()
            || self.output_dir.is_some()
            || self.list_repos
    }
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// JSON reports of `dir`, `git` or sweeps (shards, per-repository reports); `-` reads
    /// one from standard input.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_parser = format_parser(), default_value_t = Format::Json)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full (only where the reports hold them in full).
    #[arg(long)]
    pub show_secrets: bool,
    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// SARIF category (see `git --help`).
    #[arg(long, value_name = "CATEGORY", value_parser = sarif_category)]
    pub sarif_category: Option<String>,
    /// Which findings make the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Any)]
    pub fail_on: FailOn,
}

#[derive(Debug, Clone, Args)]
pub struct RemediateArgs {
    /// The JSON report of a history sweep (`git --format json`), redacted or not.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The directory to write the pack into (created; files in it are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The repository the report was made from (its tokens are read again from it).
    #[arg(long, value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub archives: ArchiveArgs,
    /// Print nothing on stderr but errors and the warning about replace-text.txt.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RecheckArgs {
    /// The JSON report of the sweep made before the clean-up.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The repository to sweep again (after `git filter-repo`).
    #[arg(long, value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// The pack's replace-text.txt: full tokens for --verify once they are purged from the
    /// repository (tokens still in history are read from it).
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// Also count objects no ref reaches (dangling blobs the rewrite left behind).
    #[arg(long)]
    pub include_unreachable: bool,
    /// Output format: text, or json (one object per token).
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub archives: ArchiveArgs,
    #[command(flatten)]
    pub verify: VerifyOptions,
    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StagedArgs {
    /// Repository; default: the current directory.
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    #[command(flatten)]
    pub scan: ScanArgs,
    #[command(flatten)]
    pub archives: ArchiveArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PreReceiveArgs {
    /// The server's config (TOML: timeout, on_timeout, bypass, audit log, a pinned project
    /// config; docs/push.md). Repositories cannot override it.
    #[arg(long, value_name = "FILE", env = "APPLIVERY_LEAKS_SERVER_CONFIG")]
    pub server_config: Option<PathBuf>,
    /// Reject the push (or accept it, if the server config says `on_timeout = "accept"`)
    /// when the scan takes longer than SECS seconds (default 4, or the server config's).
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<f64>,
    /// List at most N findings in the rejection (default 10, or the server config's); the
    /// rest are counted.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_findings: Option<u64>,
    /// The repository (git runs the hook in it with GIT_DIR set).
    #[arg(long, value_name = "DIR", env = "GIT_DIR", default_value = ".")]
    pub git_dir: PathBuf,
    /// Worker threads (default: number of CPUs, or the server config's `threads`).
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Args)]
pub struct PrePushArgs {
    /// The remote's name, as git passes it to the hook (its remote-tracking refs are what
    /// the remote already has).
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,
    /// The remote's URL, as git passes it (unused).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub scan: ScanArgs,
    #[command(flatten)]
    pub archives: ArchiveArgs,
}

/// Seconds of a hook's budget: more than none, less than an hour.
pub fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if (0.01..=3600.0).contains(&t) => Ok(t),
        Ok(_) => Err(format!("{s} is not between 0.01 and 3600 seconds")),
        Err(_) => Err(format!("'{s}' is not a number of seconds")),
    }
}

#[derive(Debug, Clone, Args)]
pub struct StdinArgs {
    /// Name to report as the path of standard input.
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    pub label: String,
    #[command(flatten)]
    pub scan: ScanArgs,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Tokens to check (prefer standard input: arguments land in shell history).
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// Output format.
    #[arg(long, value_parser = format_parser(), default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE (atomically).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print tokens in full instead of redacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub verify: VerifyOptions,
}

#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: Option<RulesAction>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format (text or json).
    #[arg(long, value_parser = format_parser(), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RulesAction {
    /// Run every rule's `examples` (each must be found) and `negative_examples` (none may
    /// be): the rules in FILE, else the active rules. Exit 1 if an example fails.
    Check {
        /// A rule file to check on its own.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write `applivery-leaks.1` and one page per command (`applivery-leaks-dir.1`, …) into DIR
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// More threads than this is a typo, not a plan (a thousand threads on two CPUs spend
/// their time waking each other up).
pub const MAX_THREADS: usize = 1024;

fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    if n > MAX_THREADS {
        return Err(format!("{n} is more than {MAX_THREADS}"));
    }
    Ok(n)
}

fn parse_max_file_size(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("0 would skip every file; give at least 1 byte".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a number of bytes")),
    }
}
