//! Where `plan` and `apply` talk to: the real cloud (endpoints and credentials from flags and
//! environment) or, with `--local`, an in-process emulator on an ephemeral loopback port with the
//! plan's sources registered and its templates created, as agents and admins would have done.

use std::collections::BTreeSet;

use miette::{IntoDiagnostic, WrapErr};
use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, RunningEmulator};
use migplan_parser::{SourceRef, Spec, Target};

/// Connection flags shared by `plan`, `apply` and `status`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Use a local in-process emulator instead of the cloud (the plan's sources are registered
    /// and its templates created automatically).
    #[arg(long)]
    pub local: bool,
    /// SMS endpoint (default: from the plan's region).
    #[arg(long, env = "MIGPLAN_SMS_ENDPOINT", value_name = "URL")]
    pub sms_endpoint: Option<String>,
    /// DCS endpoint (default: from the plan's region).
    #[arg(long, env = "MIGPLAN_DCS_ENDPOINT", value_name = "URL")]
    pub dcs_endpoint: Option<String>,
}

/// A connected target: the clients, and the emulator kept alive while `--local` is in use.
pub struct Connection {
    pub cloud: Cloud,
    /// Human description of the target, shown in every output.
    pub target: String,
    /// What apply locks: the project, region and canonical endpoints (see
    /// `CloudConfig::target_identity`). `None` for `--local`, whose emulator is private to
    /// this process, so there is nothing another run could race on.
    pub lock_identity: Option<String>,
    pub emulator: Option<RunningEmulator>,
}

impl Connection {
    pub async fn close(self) {
        if let Some(e) = self.emulator {
            let _ = e.shutdown().await;
        }
    }
}

pub async fn connect(spec: &Spec, args: &ConnectArgs) -> miette::Result<Connection> {
    if args.local {
        return connect_local(spec).await;
    }
    let mut cfg = CloudConfig::from_process_env(&spec.cloud.region)
        .into_diagnostic()
        .wrap_err("cannot configure the cloud connection (use --local to try the plan against the local emulator)")?
        .with_project_id(spec.cloud.project_id.clone());
    if let Some(d) = &spec.cloud.domain_id {
        cfg = cfg.with_domain_id(d.clone());
    }
    let cfg = cfg
        .with_endpoints(args.sms_endpoint.as_deref(), args.dcs_endpoint.as_deref())
        .into_diagnostic()?;
    let target = format!(
        "{} (SMS {}, DCS {})",
        spec.cloud.region, cfg.sms_endpoint, cfg.dcs_endpoint
    );
    let cloud = Cloud::new(&cfg).into_diagnostic()?;
    Ok(Connection {
        cloud,
        target,
        lock_identity: Some(cfg.target_identity()),
        emulator: None,
    })
}

async fn connect_local(spec: &Spec) -> miette::Result<Connection> {
    // Throwaway credentials: the emulator only lives as long as this process.
    let ak = format!("LOCAL{}", uuid::Uuid::new_v4().simple());
    let sk = uuid::Uuid::new_v4().simple().to_string();
    let mut emu_cfg = EmulatorConfig::new(ak.clone(), sk.clone());
    emu_cfg.time_scale = 1000.0;
    // The plan's sources (by name, or under the id the plan gives) and templates, as agents and
    // admins would have registered them. A seed file is the one way to fix a source's id.
    let seed_path = std::env::temp_dir().join(format!(
        "migplan-local-seed-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&seed_path, local_seed(spec).to_string())
        .into_diagnostic()
        .wrap_err("cannot write the local emulator's seed file")?;
    emu_cfg.seed = Some(seed_path.clone());
    let started = RunningEmulator::start(emu_cfg).await;
    let _ = std::fs::remove_file(&seed_path);
    let emulator = started
        .into_diagnostic()
        .wrap_err("cannot start the local emulator")?;
    let cfg = CloudConfig::local(&emulator.base_url(), Auth::aksk(ak, sk))
        .into_diagnostic()?
        .with_project_id(spec.cloud.project_id.clone());
    let cloud = Cloud::new(&cfg).into_diagnostic()?;
    let target = format!(
        "the local emulator at {} (--local; nothing in the cloud is touched)",
        emulator.base_url()
    );
    Ok(Connection {
        cloud,
        target,
        lock_identity: None,
        emulator: Some(emulator),
    })
}

/// The environment variables the plan names for secrets (Redis passwords) that are unset or
/// empty here: names only, for the planner to block on. Values are never read into the plan.
pub fn unset_secrets(spec: &Spec) -> std::collections::BTreeSet<String> {
    spec.redis
        .iter()
        .flat_map(|r| [&r.source, &r.target])
        .filter_map(|e| e.password.as_ref())
        .map(|p| p.env.clone())
        .filter(|name| std::env::var_os(name).is_none_or(|v| v.is_empty()))
        .collect()
}

/// Seed of the local emulator: one source per server (by name, or named after the entry under
/// the id the plan gives), with the plan's OS type, and every template the plan names (targets
/// and clone-test templates).
fn local_seed(spec: &Spec) -> serde_json::Value {
    let mut seen = BTreeSet::new();
    let sources: Vec<serde_json::Value> = spec
        .servers
        .iter()
        .filter_map(|s| {
            let (name, id) = match &s.source {
                SourceRef::Name(n) => (n.clone(), None),
                SourceRef::Id(id) => (s.name.clone(), Some(id.clone())),
            };
            seen.insert(name.clone()).then(|| {
                let mut v = serde_json::json!({ "name": name });
                if let Some(id) = id {
                    v["id"] = id.into();
                }
                if let Some(os) = s.os_type {
                    v["os_type"] = os.to_string().into();
                }
                v
            })
        })
        .collect();
    // Target templates, and the templates clone tests launch from.
    let templates: BTreeSet<&str> = spec
        .servers
        .iter()
        .flat_map(|s| {
            let target = match &s.target {
                Target::Template(t) => Some(t.as_str()),
                Target::Existing { .. } => None,
            };
            let clone = s.test.as_ref().and_then(|t| t.template.as_deref());
            target.into_iter().chain(clone)
        })
        .collect();
    let templates: Vec<serde_json::Value> = templates
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "name": t,
                "is_template": true,
                "region": spec.cloud.region,
                "projectid": spec.cloud.project_id,
            })
        })
        .collect();
    serde_json::json!({ "sources": sources, "templates": templates })
}
