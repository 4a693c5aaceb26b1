//! How a command ends: the report written where the user asked (a file, a device, standard
//! output), what could not be read told on stderr, and the exit code (0 clean, 1 findings, 2
//! an error or nothing readable).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::{FailOn, Format};
use crate::report::{self, Report, ScanKind, Style};
use crate::rules::Rule;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Tells on stderr what could not be read (always) and the warnings (unless quiet).
pub fn tell(report: &Report, quiet: bool) {
    for e in &report.errors {
        say(format_args!(
            "applivery-leaks: error: {}: {}",
            report::escape_control(&e.place()),
            report::escape_control(&e.reason)
        ));
    }
    if !quiet {
        for w in &report.warnings {
            say(format_args!(
                "applivery-leaks: warning: {}",
                report::escape_control(w)
            ));
        }
    }
}

/// Writes the report to `output` (standard output when None or `-`). A reader that stops
/// early (`| head`, a FIFO's reader gone) ends the output, not the run: the exit code still
/// says what was found.
pub fn emit(
    report: &Report,
    rules: &[Rule],
    format: Format,
    show_secrets: bool,
    output: Option<&PathBuf>,
) -> Result<()> {
    write_report(report, rules, format, show_secrets, output).map(|_| ())
}

/// Checks, before any scanning, that a report can be written to `output`: a mistyped
/// directory must not cost a whole sweep and then fail naming an internal temporary file.
/// A new file's directory must exist and take a new file (probed with a file created and
/// removed at once); an existing path must not be a directory.
pub fn check_output(output: Option<&PathBuf>) -> Result<()> {
    let Some(path) = output.filter(|p| p.as_os_str() != "-") else {
        return Ok(());
    };
    let shown = report::escape_control(&path.display().to_string());
    if path.is_dir() {
        anyhow::bail!("cannot write report to {shown}: is a directory");
    }
    if path.exists() {
        // A file, a device, a FIFO or a link to one: written (or replaced) at the end.
        return Ok(());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    check_dir(&dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot write report to {shown}: {}: {}",
            report::escape_control(&dir.display().to_string()),
            report::io_reason(&e)
        )
    })
}

/// Whether a new file can be created in `dir`.
pub fn check_dir(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".applivery-leaks-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

/// What a finished scan tells on stderr before its report: what could not be read, the
/// warnings, and how many files .gitignore kept out.
pub(crate) fn tell_all(report: &Report, quiet: bool) {
    tell(report, quiet);
    let ignored = report.summary.ignored;
    if ignored > 0 && report.summary.files > 0 && !quiet {
        say(format_args!(
            "applivery-leaks: note: {ignored} file(s) ignored by .gitignore or .ignore were not \
             scanned (--no-ignore scans them)"
        ));
    }
}

/// With the report in a file, one line on stderr says what it holds, unless `quiet`: a CI
/// log otherwise shows nothing but an exit code.
pub(crate) fn say_written(report: &Report, written: Option<&Path>, quiet: bool) {
    say_written_count(report, report.findings.len(), written, quiet);
}

/// [`say_written`] for a report whose `findings` (`count` of them) were written as they
/// were unpacked, not held.
pub(crate) fn say_written_count(
    report: &Report,
    count: usize,
    written: Option<&Path>,
    quiet: bool,
) {
    if let (Some(path), false) = (written, quiet) {
        say(format_args!(
            "{}",
            report::text::summary_line_count(report, count, &path.display().to_string())
        ));
    }
}

/// [`emit`]; returns the file the report went to, if it went to one.
pub(crate) fn write_report<'p>(
    report: &Report,
    rules: &[Rule],
    format: Format,
    show_secrets: bool,
    output: Option<&'p PathBuf>,
) -> Result<Option<&'p Path>> {
    write_with(format, show_secrets, output, |style, w| {
        report::write(report, rules, style, w)
    })
}

/// [`write_report`] with what is written given by `fill` (a report written as its findings
/// are unpacked, `command/stream.rs`).
pub(crate) fn write_with(
    format: Format,
    show_secrets: bool,
    output: Option<&PathBuf>,
    fill: impl FnOnce(Style, &mut dyn Write) -> io::Result<()>,
) -> Result<Option<&Path>> {
    let file = output
        .map(PathBuf::as_path)
        .filter(|p| *p != Path::new("-"));
    let written = match file {
        Some(path) => {
            let style = Style {
                format,
                show_secrets,
                color: false,
            };
            report::output::write_file(path, show_secrets, |w| fill(style, w))
                .map_err(|e| (e, format!("cannot write report to {}", path.display())))
        }
        None => {
            let stdout = io::stdout();
            let color = format == Format::Text
                && stdout.is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            let style = Style {
                format,
                show_secrets,
                color,
            };
            let mut out = io::BufWriter::new(stdout.lock());
            fill(style, &mut out)
                .and_then(|()| out.flush())
                .map_err(|e| (e, "cannot write report to standard output".to_string()))
        }
    };
    match written {
        Ok(()) => Ok(file),
        Err((e, _)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(None),
        Err((e, what)) => Err(anyhow::Error::new(e).context(what)),
    }
}

/// How an error that ends a run is printed: one line, whatever a hostile file put into it.
/// Messages echo what they reject (a glob, a rule's field), and a TOML string can hold a
/// newline or an escape sequence; control characters are shown escaped.
pub fn error_line(err: &anyhow::Error) -> String {
    format!(
        "applivery-leaks: error: {}",
        report::escape_control(&format!("{err:#}"))
    )
}

/// Writes a line to standard error. A closed stderr must not turn a finding into a crash
/// (`eprintln!` panics when it cannot write), so errors are ignored.
pub fn say(line: std::fmt::Arguments) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// A scan that read nothing it was asked to — an empty directory, everything excluded or
/// gitignored or skipped (`--max-file-size 1`, a FIFO, a binary file named alone), binary
/// data on standard input — is an error, so a gate fails closed instead of passing on
/// nothing. History scans are not judged here: a range with no new blob is a real answer.
pub(crate) fn nothing_scanned(report: &mut Report) {
    let s = &report.summary;
    if s.files > 0 || !report.errors.is_empty() {
        return;
    }
    if matches!(report.kind, ScanKind::Dir | ScanKind::Git) && s.skipped.len() == 1 {
        // One input, skipped: name it rather than the scan root (`dir zero.bin`).
        let only = &s.skipped[0];
        let reason = format!("nothing was scanned: {}", only.reason);
        let place = only.path.clone();
        report.errors.push(report::Problem::new(place, reason));
        return;
    }
    let reason = match report.kind {
        ScanKind::Dir if !s.skipped.is_empty() => format!(
            "nothing was scanned: all {} input(s) were skipped",
            s.skipped.len()
        ),
        ScanKind::Dir if s.ignored > 0 => format!(
            "nothing was scanned: all {} file(s) are ignored by .gitignore or .ignore \
             (--no-ignore scans them)",
            s.ignored
        ),
        // Binary files were looked at and judged: a tree of images is not "nothing".
        ScanKind::Dir if s.binary == 0 => "nothing was scanned: no files (an empty \
                                           directory, or every file excluded)"
            .to_string(),
        ScanKind::Git if !s.skipped.is_empty() => format!(
            "nothing was scanned: all {} input(s) were skipped",
            s.skipped.len()
        ),
        ScanKind::Stdin if s.binary > 0 => {
            "nothing was scanned: standard input is binary data (NUL byte in the first 8 KiB)"
                .to_string()
        }
        _ => return,
    };
    let place = match report.kind {
        ScanKind::Stdin => "standard input".to_string(),
        _ => report.root.display().to_string(),
    };
    report.errors.push(report::Problem::new(place, reason));
}

/// 1 if anything that should fail the build was found; else 2 if some input could not be
/// read (a gate must fail closed, not pass because it saw nothing); else 0.
pub fn exit_code(report: &Report, fail_on: FailOn) -> u8 {
    let failing = report.findings.iter().any(|f| match fail_on {
        FailOn::Any => true,
        FailOn::Live => f
            .verification
            .as_ref()
            .is_some_and(|v| v.status == crate::finding::VerifyStatus::Live),
    });
    exit_code_failing(report, failing)
}

/// [`exit_code`] once it is known whether a finding fails the build.
pub(crate) fn exit_code_failing(report: &Report, failing: bool) -> u8 {
    if failing {
        EXIT_FINDINGS
    } else if !report.errors.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}
