//! Runs an emulator until Ctrl-C (used by `tests/sdk/run.sh`).
//!
//! ```text
//! cargo run -p migplan-emulator --example serve -- --listen 127.0.0.1:0 --access-key AK --secret-key SK \
//!     [--token T] [--security-token T] [--time-scale N] [--seed FILE] [--fault SPEC] [--persist FILE] [--page-limit-max N] [--no-date-skew]
//! ```
//!
//! Prints `MIGPLAN_EMULATOR_URL=http://ADDR` on stdout once listening.

use migplan_emulator::{EmulatorConfig, RunningEmulator};
use std::io::Write;

fn usage(msg: &str) -> String {
    format!(
        "{msg}\nusage: serve --access-key AK --secret-key SK [--listen ADDR] [--token T] [--security-token T] [--time-scale N] [--seed FILE] [--fault SPEC] [--persist FILE] [--page-limit-max N] [--no-date-skew]"
    )
}

fn parse(args: Vec<String>) -> Result<EmulatorConfig, String> {
    let mut cfg = EmulatorConfig::new("", "");
    let (mut ak, mut sk) = (None, None);
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--no-date-skew" {
            cfg.check_date_skew = false;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| usage(&format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--listen" => cfg.listen = value.parse().map_err(|_| usage("bad --listen address"))?,
            "--access-key" => ak = Some(value),
            "--secret-key" => sk = Some(value),
            "--token" => cfg.token = Some(value),
            "--security-token" => cfg.security_token = Some(value),
            "--time-scale" => {
                cfg.time_scale = value.parse().map_err(|_| usage("bad --time-scale"))?
            }
            "--seed" => cfg.seed = Some(value.into()),
            "--fault" => {
                cfg.faults = value
                    .parse()
                    .map_err(|e| usage(&format!("bad --fault: {e}")))?
            }
            "--persist" => cfg.persist = Some(value.into()),
            "--page-limit-max" => {
                cfg.page_limit_max = Some(value.parse().map_err(|_| usage("bad --page-limit-max"))?)
            }
            other => return Err(usage(&format!("unknown flag {other}"))),
        }
    }
    match (ak, sk) {
        (Some(ak), Some(sk)) => cfg.credentials = vec![(ak, sk)],
        _ if cfg.token.is_some() => cfg.credentials.clear(),
        _ => return Err(usage("--access-key and --secret-key are required")),
    }
    Ok(cfg)
}

#[tokio::main]
#[allow(clippy::print_stdout, clippy::print_stderr)]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cfg = match parse(std::env::args().skip(1).collect()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let emu = match RunningEmulator::start(cfg).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("MIGPLAN_EMULATOR_URL={}", emu.base_url());
    let _ = std::io::stdout().flush();
    match emu.run_until_ctrl_c().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
