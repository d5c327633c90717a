//! The `migplan` binary: parses arguments, dispatches to a command, maps the outcome to an exit
//! code. Commands live in `commands/`; rendering lives in `render/`.

mod cli;
mod commands;
mod connect;
mod exit;
mod live;
mod lock;
mod render;
mod untrusted;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        // Usage errors exit 1 (clap's own default is 2, which is "changes present" here);
        // --help and --version print to stdout and exit 0.
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::ExitStatus::Error.into()
            } else {
                exit::ExitStatus::Success.into()
            };
        }
    };
    match commands::run(args) {
        Ok(status) => status.into(),
        Err(report) => {
            render::report_error(&report);
            exit::ExitStatus::Error.into()
        }
    }
}
