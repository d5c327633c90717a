//! The `migplan` binary: parses arguments, dispatches to a command, maps the outcome to an exit
//! code. Commands live in `commands/`; rendering lives in `render/`.

mod cli;
mod commands;
mod connect;
mod exit;
mod journal;
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
        // A reader that went away (`| head`) is not an error: stop quietly, as ripgrep does.
        Err(report) if is_broken_pipe(&report) => exit::ExitStatus::Success.into(),
        Err(report) => {
            render::report_error(&report);
            exit::ExitStatus::Error.into()
        }
    }
}

/// Whether the error is, or was caused by, writing to a closed pipe. The `io::Error` itself is
/// hidden inside miette's `into_diagnostic` wrapper, so the OS error number it prints is what
/// can be checked (EPIPE is 32 on Linux, macOS and the BSDs).
fn is_broken_pipe(report: &miette::Report) -> bool {
    report.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.to_string().ends_with("(os error 32)")
    })
}
