//! The `migplan` binary: parses arguments, dispatches to a command, maps the outcome to an exit
//! code. Commands live in `commands/`; rendering lives in `render/`.

mod cli;
mod commands;
mod connect;
mod exit;
mod failure;
mod forecast;
mod journal;
mod live;
mod local_redis;
mod local_state;
mod lock;
mod render;
mod retries;
mod untrusted;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        // Usage errors exit 1 (clap's own default is 2, which is "changes present" here);
        // --help and --version print to stdout and exit 0.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return exit::ExitStatus::Success.into();
        }
        Err(e) => {
            let report = failure::Failure::new(
                failure::ErrorKind::Usage,
                miette::Report::msg(e.kind().as_str().unwrap_or("usage error").to_string()),
            );
            if cli::json_requested(std::env::args_os()) {
                // The whole of clap's text (which flag, what it expected) as the message.
                let mut out = failure::to_json(&report.into());
                out.error.message = render::clean_error_text(
                    e.render().to_string().trim().trim_start_matches("error: "),
                );
                render::print_error_json(&out);
            } else {
                let _ = e.print();
            }
            return exit::ExitStatus::Error.into();
        }
    };
    let json = args.json_output();
    match commands::run(args) {
        Ok(status) => status.into(),
        // A reader that went away (`| head`) is not an error: stop quietly, as ripgrep does.
        Err(report) if is_broken_pipe(&report) => exit::ExitStatus::Success.into(),
        Err(report) => {
            let (_, status) = failure::of(&report);
            if json {
                render::print_error_json(&failure::to_json(&report));
            } else {
                render::report_error(&report);
            }
            status.into()
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
