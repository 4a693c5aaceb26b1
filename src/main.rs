#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = applivery_leaks::cli::Cli::parse();
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
