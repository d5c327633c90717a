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
    /// Show what applying the plan would do: read live state, diff, steps. Never writes.
    ///
    /// Exit codes: 0 success; 1 error; with --detailed-exitcode, 0 no changes, 2 changes
    /// present, 3 something blocked.
    Plan(PlanArgs),
    /// Render a saved plan (from `plan --out FILE`).
    Show(ShowArgs),
    /// Print the step graph of a plan (as planned from scratch) as DOT or mermaid.
    Graph(GraphArgs),
    /// Print the JSON Schema of the plan format.
    Schema,
    /// Run the local SMS v3 + DCS v2 emulator until Ctrl-C.
    ///
    /// Serves `/v3/...` (SMS) and `/v2/{project_id}/...` (DCS) on one address, with AK/SK
    /// signature or token checking, state machines on a virtual clock, fault injection, and
    /// admin endpoints under `/_emulator/` (stats, request log, reset).
    Emulator(EmulatorArgs),
}

#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8980")]
    pub listen: std::net::SocketAddr,
    /// Access key clients sign with.
    #[arg(long, env = "MIGPLAN_EMULATOR_AK")]
    pub access_key: String,
    /// Secret key clients sign with.
    #[arg(long, env = "MIGPLAN_EMULATOR_SK", hide_env_values = true)]
    pub secret_key: String,
    /// Also accept this IAM token in `X-Auth-Token`.
    #[arg(long, env = "MIGPLAN_EMULATOR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Simulated seconds per real second (1000 makes an hour of replication take 3.6 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Source servers (and other state) to start with; see the emulator docs for the format.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Faults to inject, e.g. `latency=20ms,throttle=0.1,error=0.1,drop=0.1,seed=42`.
    #[arg(long, value_name = "SPEC")]
    pub fault: Option<String>,
    /// Save state to this file on shutdown and load it on start.
    #[arg(long, value_name = "FILE")]
    pub persist: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// Diagnostics with source excerpts (graphical on a terminal, plain text otherwise).
    Human,
    /// One JSON document: files, diagnostics with line, column, code and message.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Exit 2 when there are changes, 3 when something is blocked, 0 when nothing changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Only plan these resources (and what they depend on). Repeatable.
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Save the plan, with fingerprints of the live state it used, for a later `apply`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print to stderr where the time went (parse, refresh, plan, render), the API requests per
    /// route, and peak memory, as one JSON line.
    #[arg(long)]
    pub timings: bool,
    #[command(flatten)]
    pub connect: crate::connect::ConnectArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-style text (colour on a terminal, `NO_COLOR` respected).
    Human,
    /// Versioned JSON, described by schemas/plan-output.schema.json.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The saved plan file.
    #[arg(value_name = "SAVED")]
    pub saved: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
}
