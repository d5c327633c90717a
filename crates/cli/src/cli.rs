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

impl Cli {
    /// Whether the command prints JSON: its errors are then JSON too.
    pub fn json_output(&self) -> bool {
        match &self.command {
            Command::Validate { format, .. } => *format == DiagnosticFormat::Json,
            Command::Plan(a) => a.format == PlanFormat::Json,
            Command::Show(a) => a.format == PlanFormat::Json,
            Command::Apply(a) => a.format == ApplyFormat::Json,
            Command::Status(a) => a.format == StatusFormat::Json,
            Command::History(a) => a.format == crate::commands::history::HistoryFormat::Json,
            Command::Graph(_)
            | Command::Schema { .. }
            | Command::Completions { .. }
            | Command::Emulator(_) => false,
        }
    }
}

/// Whether the raw arguments ask for `--format json`, for a usage error found before they
/// could be parsed.
pub fn json_requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--format=json" || (a == "--format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
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
    /// Apply a plan: plan it (or check a saved plan is still fresh), then make the calls, in
    /// dependency order, concurrently, waiting on long-running states through shared polls.
    ///
    /// Exit codes: 0 every resource reached its stage; 1 error or a failed step; 3 something is
    /// blocked (a person must act); 4 the saved plan is stale or edited; 5 still in progress
    /// after --wait-timeout (run again to continue).
    Apply(ApplyArgs),
    /// Show each resource's current stage against its desired stage, with progress.
    ///
    /// Exit codes: 0 every resource is at its desired stage; 1 error; 3 what remains is
    /// blocked; 5 work is still in progress.
    Status(StatusArgs),
    /// Show the recorded runs of a plan, newest first, with their steps, from the run journal
    /// on PostgreSQL (`--lock-url` / `MIGPLAN_LOCK_URL`).
    History(crate::commands::history::HistoryArgs),
    /// Print the step graph of a plan (as planned from scratch) as DOT or mermaid.
    Graph(GraphArgs),
    /// Print a JSON Schema: of the plan format (the default), or of a command's JSON output.
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value_t = SchemaName::Plan)]
        which: SchemaName,
    },
    /// Print a shell completion script (bash, zsh, fish) to stdout.
    ///
    /// bash: `migplan completions bash > ~/.local/share/bash-completion/completions/migplan`
    ///
    /// zsh: `migplan completions zsh > "${fpath[1]}/_migplan"`
    ///
    /// fish: `migplan completions fish > ~/.config/fish/completions/migplan.fish`
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Run the local SMS v3 + DCS v2 emulator until Ctrl-C.
    ///
    /// Serves `/v3/...` (SMS) and `/v2/{project_id}/...` (DCS) on one address, with AK/SK
    /// signature or token checking, state machines on a virtual clock, fault injection, and
    /// admin endpoints under `/_emulator/` (stats, request log, reset).
    Emulator(EmulatorArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaName {
    /// The plan file format (schemas/plan.schema.json).
    Plan,
    /// `status --format json` (schemas/status.schema.json).
    Status,
    /// `validate --format json` (schemas/validate.schema.json).
    Validate,
    /// An error under `--format json`, any command (schemas/error.schema.json).
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
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
    /// Make the AK/SK temporary credentials: require this security token in
    /// `X-Security-Token` (signed) on every AK/SK request, as for `HW_SECURITY_TOKEN`.
    #[arg(long, env = "MIGPLAN_EMULATOR_SECURITY_TOKEN", hide_env_values = true)]
    pub security_token: Option<String>,
    /// Simulated seconds per real second (1000 makes an hour of replication take 3.6 s).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale)]
    pub time_scale: f64,
    /// Source servers (and other state) to start with; see the emulator docs for the format.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Faults to inject, e.g. `latency=20ms,throttle=0.1,error=0.1,drop=0.1,seed=42`;
    /// `ratelimit=N` answers 429 (with `Retry-After`) past N requests per second per service.
    #[arg(long, value_name = "SPEC")]
    pub fault: Option<String>,
    /// Save state to this file on shutdown and load it on start.
    #[arg(long, value_name = "FILE")]
    pub persist: Option<PathBuf>,
    /// A DCS instance id that stands for a real Redis server (repeatable): migrations between
    /// such servers (or loopback `addrs`) copy the data for real.
    #[arg(long = "redis-instance", value_name = "ID=HOST:PORT")]
    pub redis_instances: Vec<migplan_emulator::RedisInstance>,
    /// SMS migrations the account may run at once (tasks RUNNING, SYNCING or SKIPPING); a
    /// `start` or `restart` past it is refused with 403 `SMS.1003`. Default: no cap.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub sms_migration_quota: Option<u32>,
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
    pub forecast: ForecastArgs,
    #[command(flatten)]
    pub connect: crate::connect::ConnectArgs,
}

/// What `plan`'s forecast assumes about the apply it forecasts: apply's own flags.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Forecast (the apply it assumes)")]
pub struct ForecastArgs {
    /// Steps (and API calls) in flight at most, as `apply --parallelism`.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub parallelism: u32,
    /// Apply's `--wait-timeout`: the forecast says where that apply detaches (the next run
    /// continues).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub wait_timeout: Option<std::time::Duration>,
    /// Apply's `--poll-interval` [default: 10s, 200ms with --local].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub poll_interval: Option<std::time::Duration>,
    /// Apply's `--rate-limit`: the ceiling of each service's request rate (0: not paced); the
    /// forecast assumes apply's pace reaches it.
    #[arg(long, value_name = "N", default_value_t = 100.0, value_parser = parse_rate)]
    pub rate_limit: f64,
    /// No forecast: skip it, and the reads of each source's disks it needs.
    #[arg(long)]
    pub no_forecast: bool,
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

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A plan file (planned now, shown, confirmed) or a saved plan from `plan --out`.
    #[arg(value_name = "PLAN|SAVED")]
    pub plan: PathBuf,
    /// Apply without asking (for CI). Without it, apply asks on a terminal and refuses when
    /// there is none.
    #[arg(long)]
    pub auto_approve: bool,
    /// Steps (and API calls) in flight at most.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub parallelism: u32,
    /// Stop waiting after this long (e.g. `20m`), exit 5 with what is still in progress; the
    /// next run picks up. Without it, apply waits until every resource reaches its stage.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub wait_timeout: Option<std::time::Duration>,
    /// Time between two task listings of one service while something waits [default: 10s,
    /// 200ms with --local].
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub poll_interval: Option<std::time::Duration>,
    /// Output: progress bars or timestamped lines (human), or one JSON event per line.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    pub format: ApplyFormat,
    /// Stop starting steps after the first failure (default: only its dependents stop).
    #[arg(long)]
    pub fail_fast: bool,
    /// Wait this long for another apply of the same plan and target to finish (with --local:
    /// for another --local command on the same plan's kept world, at least 10s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
    /// Lock on PostgreSQL instead of a local file, and journal the run there
    /// (`postgres://USER@HOST/DB?sslmode=require`): excludes applies on other machines (CI).
    #[arg(long, value_name = "URL", env = crate::journal::ENV_LOCK_URL, hide_env_values = true)]
    pub lock_url: Option<String>,
    /// Ceiling of each service's request rate, per second (0: requests are not paced). Under
    /// it the rate adapts: it starts at 10/s, grows while requests are accepted, drops to 0.9 ×
    /// what the gateway accepted in the last second on a throttling answer (429), and waits
    /// out its `Retry-After`.
    #[arg(long, value_name = "N", default_value_t = 100.0, value_parser = parse_rate)]
    pub rate_limit: f64,
    /// Print to stderr, at the end, the time taken, the API requests per route and each
    /// service's request pace (requests, 429s, rate at the end, peak, lowest) as one JSON line.
    #[arg(long)]
    pub timings: bool,
    /// Only apply these resources (and what they depend on); plan files only. Repeatable.
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    #[command(flatten)]
    pub connect: crate::connect::ConnectArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    /// Progress bars on a terminal, timestamped lines otherwise.
    Human,
    /// JSON Lines: one event per line (`apply_start`, `step_started`, ..., `apply_summary`).
    Json,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    #[command(flatten)]
    pub forecast: ForecastArgs,
    #[command(flatten)]
    pub connect: crate::connect::ConnectArgs,
}

/// A request rate: a finite number from 0 (no limit) to 100,000 per second.
fn parse_rate(s: &str) -> Result<f64, String> {
    bounded_number(s, 0.0, 100_000.0, "requests per second")
}

/// A time scale: simulated seconds per real second, above 0 and at most 1,000,000.
fn parse_time_scale(s: &str) -> Result<f64, String> {
    bounded_number(
        s,
        f64::MIN_POSITIVE,
        1_000_000.0,
        "simulated seconds per second",
    )
    .map_err(|e| format!("{e} (above 0)"))
}

fn bounded_number(s: &str, min: f64, max: f64, what: &str) -> Result<f64, String> {
    let shown: String = s.trim().chars().take(40).collect();
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("`{shown}` is not a number of {what} up to {max}")),
    }
}

/// The longest duration a flag takes. Longer is a typo (or an attack on the arithmetic), not a
/// wait anyone means; keeping far below `Instant`'s range also rules out overflow downstream.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// A table: resource, current stage, desired stage, progress or why it is blocked.
    Human,
    /// One JSON document: the plan name, the target, and per resource its stages and progress.
    Json,
}

/// The longest network timeout a flag takes: an attempt left waiting longer is a typo.
pub const MAX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// A network timeout (`--connect-timeout`, `--request-timeout`): a duration above 0 and at
/// most [`MAX_TIMEOUT`].
pub fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    let shown: String = s.trim().chars().take(40).collect();
    if d.is_zero() {
        return Err(format!(
            "`{shown}` is no time at all: a timeout is above 0 (e.g. 10s)"
        ));
    }
    if d > MAX_TIMEOUT {
        return Err(format!(
            "`{shown}` is longer than the maximum timeout of 1h"
        ));
    }
    Ok(d)
}

/// `90s`, `20m`, `1h30m`, `250ms`, `2d`, or a bare number of seconds; at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let shown: String = s.chars().take(40).collect();
    let too_long = || format!("`{shown}` is longer than the maximum of 366d");
    let seconds = |v: f64| -> Result<std::time::Duration, String> {
        if !v.is_finite() || v < 0.0 {
            return Err(format!(
                "`{shown}` is not a duration (e.g. 30s, 20m, 1h30m)"
            ));
        }
        if v > MAX_DURATION.as_secs_f64() {
            return Err(too_long());
        }
        Ok(std::time::Duration::from_secs_f64(v))
    };
    if let Ok(secs) = s.parse::<f64>() {
        return seconds(secs);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = std::time::Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{shown}`: a number needs a unit (ms, s, m, h, d)"))?;
        let (num, tail) = rest.split_at(n);
        let u = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(u);
        let v: f64 = num
            .parse()
            .map_err(|_| format!("`{shown}` is not a duration (e.g. 30s, 20m, 1h30m)"))?;
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => {
                let unit: String = unit.chars().take(10).collect();
                return Err(format!("`{shown}`: unknown unit `{unit}` (ms, s, m, h, d)"));
            }
        };
        total = total
            .checked_add(seconds(v * scale)?)
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(too_long)?;
        rest = next;
    }
    Ok(total)
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn huge_durations_are_refused_not_overflowed() {
        for huge in [
            "99999999999999999d",
            "213503982334601d",
            "1e300",
            "366d1s",
            "200d200d",
            "inf",
            "NaN",
            "-5",
        ] {
            let err = parse_duration(huge).expect_err(huge);
            assert!(!err.is_empty(), "{huge}");
        }
        assert_eq!(parse_duration("366d"), Ok(super::MAX_DURATION));
    }

    #[test]
    fn timeouts_are_above_zero_and_at_most_an_hour() {
        use super::parse_timeout;
        assert_eq!(parse_timeout("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["0", "0s", "1h1s", "2d", "-1", "soon", ""] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}
