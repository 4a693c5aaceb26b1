//! Standard input as one blob, scanned in bounded chunks like any large file.

use std::io;
use std::time::Instant;

use crate::detect::Detector;
use crate::haystack::{scan_reader, Scanned};
use crate::provenance::{Origin, Provenance};
use crate::report::{Problem, Report, ScanKind};

pub fn scan(det: &Detector, label: &str) -> Report {
    let started = Instant::now();
    let mut report = Report::new(ScanKind::Stdin, std::env::current_dir().unwrap_or_default());
    let mut buf = Vec::new();
    // The label is the path the text is judged under (`--label ci/applivery.sh`).
    let path = if label == "<stdin>" { "" } else { label };
    match scan_reader(det, io::stdin().lock(), path.as_bytes(), &mut buf) {
        Ok(Scanned::Text { bytes, hits }) => {
            report.summary.files = 1;
            report.summary.bytes = bytes;
            let at = Provenance::new(Origin::Stdin(label.to_string()));
            report.findings = super::findings(det, &at, hits);
        }
        Ok(Scanned::Binary { bytes }) => {
            report.summary.bytes = bytes;
            report.summary.binary = 1;
            report.summary.skipped.push(Problem::new(
                label,
                "binary data (NUL byte in the first 8 KiB)",
            ));
        }
        Err(e) => report
            .errors
            .push(Problem::new(label, crate::report::io_reason(&e))),
    }
    report.summary.duration = started.elapsed();
    report
}
