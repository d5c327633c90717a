//! One module per subcommand; each returns the exit status it decided.

mod apply;
mod completions;
mod emulator;
mod graph;
pub mod history;
pub mod plan;
mod schema;
mod show;
mod status;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

pub fn run(cli: Cli) -> miette::Result<ExitStatus> {
    match cli.command {
        Command::Validate { plans, format } => validate::run(&plans, format),
        Command::Plan(args) => plan::run(args),
        Command::Show(args) => show::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Status(args) => status::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Schema { which } => schema::run(which),
        Command::Completions { shell } => completions::run(shell),
        Command::History(args) => history::run(args),
        Command::Emulator(args) => emulator::run(args),
    }
}

/// The async runtime the commands that talk HTTP (or serve it) run on.
pub(crate) fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    use miette::IntoDiagnostic;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()
}
