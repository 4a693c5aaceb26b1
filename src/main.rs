#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

fn main() -> ExitCode {
    let cli = match applivery_leaks::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return bad_usage(&e),
    };
    match applivery_leaks::run::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // No special case for a closed pipe: the report writers end quietly there and
            // keep the exit code the findings deserve; anything else is an error (2).
            applivery_leaks::run::say(format_args!("{}", applivery_leaks::run::error_line(&err)));
            ExitCode::from(2)
        }
    }
}

/// A command line clap refuses: one line, in the shape of every other error (help and
/// version requests are printed as clap prints them).
fn bad_usage(e: &clap::Error) -> ExitCode {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let msg = first.strip_prefix("error: ").unwrap_or(first);
    let hint = if matches!(
        e.kind(),
        ErrorKind::InvalidSubcommand | ErrorKind::UnknownArgument
    ) {
        " (--help lists what is accepted)"
    } else {
        ""
    };
    applivery_leaks::run::say(format_args!(
        "applivery-leaks: error: {}{hint}",
        applivery_leaks::report::escape_control(msg)
    ));
    ExitCode::from(2)
}
