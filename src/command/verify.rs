//! Verification at the command layer: the verification flags checked and turned into
//! `verify::Settings` (one-line errors, exit 2, before any scanning), the progress display,
//! the `--verify` step of a scan, and the `verify` command's report — tokens read from what
//! the user pasted. `verify` does the network part and knows none of this.

use std::io::{self, BufRead, IsTerminal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::paste::{self, Kind, Pasted};
use crate::cli::{Command, FailOn, VerifyArgs, VerifyOptions};
use crate::finding::{Finding, VerifyStatus};
use crate::provenance::{Origin, Provenance};
use crate::report::{escape_control, Problem, Report, ScanKind};
use crate::rules::Rule;
use crate::verify::{self, Api, Limits, Settings, Verifier};

/// The test seam (see `verify::Settings::loopback` and docs/verify.md): when set, every
/// Applivery host is answered by this loopback address over plain http.
pub const LOOPBACK_ENV: &str = "APPLIVERY_LEAKS_TEST_LOOPBACK";

/// The rules the `verify` command files its tokens under, by shape.
const APP_RULE: &str = "applivery-app-token";
const SERVICE_ACCOUNT_RULE: &str = "applivery-service-account-token";

/// Checks the verification flags of `cmd` before any scanning starts, so an hour-long
/// history sweep does not fail at the end on a mistyped URL or a rate that never ends.
pub fn check(cmd: &Command) -> Result<()> {
    let opts = match cmd {
        Command::Dir(a) => &a.scan.verify,
        Command::Git(a) => &a.scan.verify,
        Command::Staged(a) => &a.scan.verify,
        Command::PrePush(a) => &a.scan.verify,
        Command::Stdin(a) => &a.scan.verify,
        Command::Verify(a) => return settings(&a.verify).map(drop),
        Command::Recheck(a) => &a.verify,
        Command::Rules(_)
        | Command::Merge(_)
        | Command::Remediate(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::PreReceive(_) => return Ok(()),
    };
    if opts.fail_on == FailOn::Live && !opts.verify {
        // Nothing unverified is live: without --verify this gate could never fail.
        bail!("--fail-on live needs --verify (without it no finding is verified, so none is live and the scan would always pass)");
    }
    if opts.verify {
        settings(opts)?;
    }
    Ok(())
}

/// A number as a message shows it: `1e308`, not its 309 digits.
fn short_number(x: f64) -> String {
    let a = x.abs();
    if a.is_finite() && a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// The flags as verification settings; every problem is a one-line error.
pub fn settings(opts: &VerifyOptions) -> Result<Settings> {
    let api = match &opts.api_url {
        None => Api::Applivery,
        Some(u) => Api::Given(
            verify::api_base(u).map_err(|e| anyhow!("--api-url: {}", escape_control(&e)))?,
        ),
    };
    let (c, r, t) = (&verify::CONCURRENCY, &verify::RPS, &verify::TIMEOUT_SECS);
    if !c.contains(&opts.verify_concurrency) {
        bail!(
            "--verify-concurrency must be between {} and {} (got {})",
            c.start(),
            c.end(),
            opts.verify_concurrency
        );
    }
    // `contains` is false for NaN, so a NaN rate or timeout is refused too.
    if !r.contains(&opts.verify_rps) {
        bail!(
            "--verify-rps must be between {} and {} requests per second (got {})",
            r.start(),
            r.end(),
            short_number(opts.verify_rps)
        );
    }
    if !t.contains(&opts.verify_timeout) {
        bail!(
            "--verify-timeout must be between {} and {} seconds (got {})",
            t.start(),
            t.end(),
            short_number(opts.verify_timeout)
        );
    }
    let loopback = match std::env::var_os(LOOPBACK_ENV) {
        None => None,
        Some(v) => {
            let v = v.to_str().unwrap_or("");
            Some(verify::loopback(v).map_err(|e| anyhow!("{LOOPBACK_ENV} {e}"))?)
        }
    };
    Ok(Settings {
        api,
        limits: Limits {
            concurrency: opts.verify_concurrency,
            interval: Duration::from_secs_f64(1.0 / opts.verify_rps),
            timeout: Duration::from_secs_f64(opts.verify_timeout),
        },
        loopback,
    })
}

/// The `--verify` step of a scan: with the flag, asks the API about every unique secret of
/// `findings` and records the result on each; without it, does nothing — no connection is
/// ever opened.
pub fn findings(
    findings: &mut [Finding],
    rules: &[Rule],
    opts: &VerifyOptions,
    quiet: bool,
) -> Result<()> {
    if !opts.verify || findings.is_empty() {
        return Ok(());
    }
    let settings = settings(opts)?;
    let verifier_of = |id: &str| {
        let r = rules.iter().find(|r| r.id == id)?;
        Verifier::from_name(r.verifier.as_deref()?)
    };
    run_with_progress(findings, &verifier_of, &settings, quiet)?;
    // Legacy account API keys: no current endpoint verifies them, and a 401 from today's API
    // would say nothing about them. Unknown, with that reason, never "revoked".
    for f in findings.iter_mut() {
        let legacy = rules
            .iter()
            .any(|r| r.id == f.rule && r.verifier.as_deref() == Some(verify::LEGACY));
        let live = f
            .verification
            .as_ref()
            .is_some_and(|v| v.status == crate::finding::VerifyStatus::Live);
        if legacy && !live {
            f.verification = Some(Box::new(crate::finding::Verification::unsent(
                crate::finding::VerifyStatus::Unknown,
                verify::LEGACY_REASON,
                crate::time::rfc3339(std::time::SystemTime::now()),
            )));
        }
    }
    Ok(())
}

fn run_with_progress(
    findings: &mut [Finding],
    verifier_of: &dyn Fn(&str) -> Option<Verifier>,
    settings: &Settings,
    quiet: bool,
) -> Result<()> {
    if let (Some(addr), false) = (settings.loopback, quiet) {
        eprintln!(
            "applivery-leaks: warning: {LOOPBACK_ENV} is set: Applivery hosts are answered by \
             {addr} (a test seam)"
        );
    }
    if quiet || !io::stderr().is_terminal() {
        return verify::verify(findings, verifier_of, settings, &verify::Silent);
    }
    let bar = Bar::new();
    let r = verify::verify(findings, verifier_of, settings, &bar);
    bar.pb.finish_and_clear();
    r
}

/// A progress bar on stderr: 1,000 tokens at the default rate take minutes, and minutes of
/// silence look like a hang.
struct Bar {
    pb: ProgressBar,
    /// live, revoked, unknown
    counts: [AtomicU64; 3],
}

impl Bar {
    fn new() -> Bar {
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template(
                "verifying {pos}/{len} [{bar:24}] {msg}, {elapsed} elapsed, ~{eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Bar {
            pb,
            counts: Default::default(),
        }
    }

    fn message(&self) -> String {
        let [l, r, u] = &self.counts;
        format!(
            "{} live, {} revoked, {} unknown",
            l.load(Ordering::Relaxed),
            r.load(Ordering::Relaxed),
            u.load(Ordering::Relaxed)
        )
    }
}

impl verify::Progress for Bar {
    fn start(&self, checks: usize) {
        self.pb.set_length(checks as u64);
        self.pb.set_message(self.message());
        self.pb.tick();
    }

    fn checked(&self, status: VerifyStatus) {
        let i = match status {
            VerifyStatus::Live => 0,
            VerifyStatus::Revoked => 1,
            VerifyStatus::Unknown => 2,
        };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.pb.set_message(self.message());
        self.pb.inc(1);
    }
}

/// The `verify` command's report: tokens from the arguments, or one per line on standard
/// input (blank lines and `#` comments skipped; a pasted `KEY=token` line gives its token),
/// each a finding so every output format works. A line that holds no token is an error of
/// the run, never a request. Problems are told on stderr here; writing the report and the
/// exit code are the caller's, as for every command.
pub fn report(a: &VerifyArgs) -> Result<Report> {
    let settings = settings(&a.verify)?;
    let started = Instant::now();
    let mut report = Report::new(
        ScanKind::Verify,
        std::env::current_dir().unwrap_or_default(),
    );
    if !a.tokens.is_empty() {
        for (i, t) in a.tokens.iter().enumerate() {
            take(
                &mut report,
                Provenance::new(Origin::Argument(i + 1)),
                None,
                t,
            );
        }
    } else {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            bail!("no tokens given: pipe them one per line on standard input (or pass them as arguments)");
        }
        for (n, line) in lines(stdin.lock())?.iter().enumerate() {
            take(
                &mut report,
                Provenance::new(Origin::VerifyInput),
                Some(n as u64 + 1),
                line,
            );
        }
    }
    if report.findings.is_empty() && report.errors.is_empty() {
        // `jq … | applivery-leaks verify --fail-on live` fed nothing by a failing `jq` must
        // not report success.
        bail!("no tokens given: standard input held none (nothing was verified)");
    }
    let verifier_of = |rule: &str| match rule {
        APP_RULE => Some(Verifier::App),
        SERVICE_ACCOUNT_RULE => Some(Verifier::ServiceAccount),
        _ => None,
    };
    run_with_progress(&mut report.findings, &verifier_of, &settings, a.quiet)?;
    report.summary.duration = started.elapsed();
    report.sort();
    for e in &report.errors {
        eprintln!(
            "applivery-leaks: error: {}: {}",
            escape_control(&e.path),
            escape_control(&e.reason)
        );
    }
    if !a.quiet {
        for w in &report.warnings {
            eprintln!("applivery-leaks: warning: {}", escape_control(w));
        }
    }
    Ok(report)
}

/// Standard input as lines of text. UTF-16 with a byte-order mark (what PowerShell's `>`
/// writes) is decoded; other bytes that are not UTF-8 stay in their line, which is then
/// refused as not a token rather than sent.
fn lines(mut r: impl BufRead) -> Result<Vec<String>> {
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).map_err(|e| {
        anyhow!(
            "cannot read standard input: {}",
            crate::report::io_reason(&e)
        )
    })?;
    let utf16 = |be: bool| {
        let units = bytes[2..].chunks(2).map(|c| {
            let pair = [c[0], *c.get(1).unwrap_or(&0)];
            if be {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            }
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>()
    };
    let text = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => utf16(false),
        Some([0xFE, 0xFF]) => utf16(true),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Ok(text.lines().map(str::to_string).collect())
}

/// Files one pasted line under `path` (and `line`, for stdin): a finding for its token, an
/// error for a line that holds none.
fn take(report: &mut Report, provenance: Provenance, line: Option<u64>, text: &str) {
    let path = provenance.path();
    let (at, token, kind) = match paste::token(text) {
        Pasted::Skip => return,
        Pasted::Token { at, token, kind } => (at, token, kind),
        Pasted::Refused(why) => {
            let place = match line {
                Some(n) => format!("{path}:{n}"),
                None => path,
            };
            report
                .errors
                .push(Problem::new(place, format!("not sent: {why}")));
            return;
        }
    };
    let rule = match kind {
        Kind::App => APP_RULE,
        Kind::ServiceAccount => SERVICE_ACCOUNT_RULE,
    };
    // Columns count characters of the line as the user sees it: without a byte-order mark.
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let column = text[bom..at].chars().count() as u64 + 1;
    let end = column + token.chars().count() as u64;
    let n = line.unwrap_or(1);
    let context = text[bom..].trim_end_matches(['\r', '\n']).to_string();
    report.findings.push(Finding::new(
        rule,
        provenance,
        n,
        column,
        n,
        end,
        token.to_string(),
        context,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_input_is_decoded() {
        let mut le = vec![0xFF, 0xFE];
        for u in "abc\r\ndef\n".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(lines(&le[..]).unwrap(), ["abc", "def"]);
        let mut be = vec![0xFE, 0xFF];
        for u in "x\ny".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(lines(&be[..]).unwrap(), ["x", "y"]);
        assert_eq!(lines(&b"a\xffb\nc"[..]).unwrap(), ["a\u{fffd}b", "c"]);
    }
}
