//! `migplan emulator`: the local SMS v3 + DCS v2 server, in the foreground until Ctrl-C.

use std::io::Write;

use miette::{IntoDiagnostic, WrapErr};
use migplan_emulator::{EmulatorConfig, FaultSpec, RunningEmulator};

use crate::cli::EmulatorArgs;
use crate::exit::ExitStatus;

pub fn run(args: EmulatorArgs) -> miette::Result<ExitStatus> {
    let mut cfg = EmulatorConfig::new(args.access_key, args.secret_key);
    cfg.listen = args.listen;
    cfg.token = args.token;
    cfg.security_token = args.security_token;
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        miette::bail!(
            "--time-scale must be a positive number, got {}",
            args.time_scale
        );
    }
    cfg.time_scale = args.time_scale;
    cfg.seed = args.seed;
    cfg.persist = args.persist;
    cfg.redis_instances = args.redis_instances;
    cfg.sms_migration_quota = args.sms_migration_quota;
    if let Some(spec) = args.fault {
        cfg.faults = spec
            .parse::<FaultSpec>()
            .into_diagnostic()
            .wrap_err("invalid --fault")?;
    }
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let emulator = RunningEmulator::start(cfg)
            .await
            .into_diagnostic()
            .wrap_err("cannot start the emulator")?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "migplan emulator listening on {}", emulator.base_url()).into_diagnostic()?;
            writeln!(out, "  SMS v3: {0}/v3/...   DCS v2: {0}/v2/{{project_id}}/...   admin: {0}/_emulator/stats", emulator.base_url()).into_diagnostic()?;
            writeln!(out, "Press Ctrl-C to stop.").into_diagnostic()?;
            out.flush().into_diagnostic()?;
        }
        emulator.run_until_ctrl_c().await.into_diagnostic()
    })?;
    Ok(ExitStatus::Success)
}
