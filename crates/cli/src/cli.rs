//! Command-line arguments as parsed (clap). Resolution into settings happens in the commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Declarative migration plans for Huawei Cloud SMS (servers) and DCS (Redis).
#[derive(Debug, Parser)]
#[command(name = "migplan", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check plan files offline: syntax, fields, values, references, cycles.
    ///
    /// Exits 0 when every file is valid, 1 when any has an error.
    Validate {
        /// Plan files to check.
        #[arg(required = true, value_name = "PLAN")]
        plans: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
        format: DiagnosticFormat,
    },
    /// Print the JSON Schema of the plan format.
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// Diagnostics with source excerpts (graphical on a terminal, plain text otherwise).
    Human,
    /// One JSON document: files, diagnostics with line, column, code and message.
    Json,
}
