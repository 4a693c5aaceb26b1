//! The post-processing every scan shares, after its source has made a report: suppression,
//! the notes on stderr, verification, the report in its format, and the exit code. Here,
//! in the command layer, so that commands built on a scan (`pre-receive`, sweeps) call it
//! without reaching back up to `run.rs`.

use anyhow::Result;

use crate::cli::{Format, ScanArgs};
use crate::command::output::{
    exit_code, nothing_scanned, say_written, tell_all, write_report, EXIT_CLEAN, EXIT_ERROR,
};
use crate::command::project::Project;
use crate::report::Report;
use crate::rules::Rule;

/// Post-processing shared by every scan: report, then exit code.
pub fn finish(report: Report, rules: &[Rule], project: &Project, scan: &ScanArgs) -> Result<u8> {
    let format = scan
        .format
        .or(project.config.format)
        .unwrap_or(Format::Text);
    if crate::command::stream::can_stream(&report, scan, format) {
        return crate::command::stream::finish(report, rules, project, scan, format);
    }
    finish_with(report, rules, project, scan, |_, _| {})
}

/// [`finish`], then `after` with the final report and exit code.
pub fn finish_with(
    mut report: Report,
    rules: &[Rule],
    project: &Project,
    scan: &ScanArgs,
    after: impl FnOnce(&Report, u8),
) -> Result<u8> {
    let cfg = &project.config;
    if let Some(packed) = report.packed.take() {
        report.findings.extend(packed.unpack());
    }
    report.sarif_category = scan.sarif_category.clone();
    report.explain = scan.explain;
    project.suppress(&mut report, scan);
    report.sort();
    nothing_scanned(&mut report);
    if !scan.show_secrets {
        report.redact_names();
    }
    tell_all(&report, scan.quiet);
    let review_fails = project.tell_changes(&mut report, scan.quiet);
    crate::command::verify::findings(&mut report.findings, rules, &scan.verify, scan.quiet)?;
    let format = scan.format.or(cfg.format).unwrap_or(Format::Text);
    // A pre-commit hook is silent on a clean commit when asked to be.
    let silent = scan.quiet
        && report.kind == crate::report::ScanKind::Staged
        && format == Format::Text
        && report.findings.is_empty()
        && report.errors.is_empty()
        && !review_fails
        && scan.output.as_ref().is_none_or(|o| o.as_os_str() == "-");
    if silent {
        return Ok(exit_code(&report, scan.verify.fail_on));
    }
    let written = write_report(
        &report,
        rules,
        format,
        scan.show_secrets,
        scan.output.as_ref(),
    )?;
    say_written(&report, written, scan.quiet);
    let mut code = exit_code(&report, scan.verify.fail_on);
    if review_fails && code == EXIT_CLEAN {
        code = EXIT_ERROR;
    }
    after(&report, code);
    Ok(code)
}
