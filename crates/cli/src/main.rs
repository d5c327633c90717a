//! The `migplan` binary: parses arguments, dispatches to a command, maps the outcome to an exit
//! code. Commands live in `commands/`; rendering lives in `render/`.

mod cli;
mod commands;
mod connect;
mod exit;
mod live;
mod lock;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(status) => status.into(),
        Err(report) => {
            render::report_error(&report);
            exit::ExitStatus::Error.into()
        }
    }
}
