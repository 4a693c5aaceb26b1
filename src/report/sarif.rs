//! SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

use std::io::{self, Write};

use super::{Report, Style};
use crate::rules::Rule;

pub fn write(report: &Report, rules: &[Rule], style: Style, out: &mut dyn Write) -> io::Result<()> {
    // Placeholder until the SARIF writer lands: JSON keeps the pipeline usable.
    super::json::write(report, rules, style, out)
}
