//! One module per subcommand; each returns the exit status it decided.

mod emulator;
mod schema;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

pub fn run(cli: Cli) -> miette::Result<ExitStatus> {
    match cli.command {
        Command::Validate { plans, format } => validate::run(&plans, format),
        Command::Schema => schema::run(),
        Command::Emulator(args) => emulator::run(args),
    }
}
