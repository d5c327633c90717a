//! `migplan completions SHELL`: the completion script clap_complete generates from the same
//! argument definitions the binary parses, so it never lists a flag that does not exist.

use std::io::Write;

use clap::CommandFactory;
use miette::IntoDiagnostic;

use crate::cli::{Cli, Shell};
use crate::exit::ExitStatus;

pub fn run(shell: Shell) -> miette::Result<ExitStatus> {
    let mut script = Vec::new();
    let mut command = Cli::command();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(generator, &mut command, "migplan", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script).into_diagnostic()?;
    out.flush().into_diagnostic()?;
    Ok(ExitStatus::Success)
}
