//! Request bodies built from the spec: what a step sends. Secrets are resolved here, at the
//! moment a body is built, through the caller's [`SecretSource`]; they never leave the body.

use std::collections::HashMap;
use std::sync::Arc;

use migplan_parser::{
    CloudSpec, Keyword, RedisEndpoint, RedisInstance, RedisMethod, RedisSpec, ServerSpec, Spec,
    Target,
};
use migplan_wire::dcs::{
    ConfigInstance, ConfigureTaskRequest, CreateOnlineTaskRequest, MigrationMethod, ResumeMode,
};
use migplan_wire::sms::{
    CreateTaskRequest, OsType, SourceServerRef, TargetServerSpec, TaskType, UpdateTaskRequest,
};
use migplan_wire::value::{BandwidthMb, Redacted};

use crate::event::StepError;

/// Looks a secret up by environment variable name (the process environment in the CLI, a map
/// in tests). Never logged.
pub type SecretSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The spec's entries by name.
#[derive(Debug, Clone)]
pub(crate) struct SpecIndex {
    /// Cloud section.
    pub cloud: CloudSpec,
    servers: HashMap<String, ServerSpec>,
    redis: HashMap<String, RedisSpec>,
}

impl SpecIndex {
    /// Indexes a spec.
    pub(crate) fn new(spec: &Spec) -> Self {
        SpecIndex {
            cloud: spec.cloud.clone(),
            servers: spec
                .servers
                .iter()
                .map(|s| (s.name.clone(), s.clone()))
                .collect(),
            redis: spec
                .redis
                .iter()
                .map(|r| (r.name.clone(), r.clone()))
                .collect(),
        }
    }

    /// A server entry.
    pub(crate) fn server(&self, name: &str) -> Option<&ServerSpec> {
        self.servers.get(name)
    }

    /// A Redis entry.
    pub(crate) fn redis(&self, name: &str) -> Option<&RedisSpec> {
        self.redis.get(name)
    }
}

/// `POST /v3/tasks` for a server entry.
pub fn create_task(
    s: &ServerSpec,
    cloud: &CloudSpec,
    source_id: &str,
    template_id: Option<&str>,
) -> CreateTaskRequest {
    let (vm_id, migration_ip, exist) = match &s.target {
        Target::Template(_) => (String::new(), None, false),
        Target::Existing {
            server_id,
            migration_ip,
        } => (server_id.clone(), Some(migration_ip.to_string()), true),
    };
    CreateTaskRequest {
        name: s.name.clone(),
        task_type: TaskType::parse(s.task_type.as_str()),
        os_type: s.os_type.map(|o| OsType::parse(o.as_str())),
        source_server: SourceServerRef {
            id: source_id.to_owned(),
        },
        target_server: TargetServerSpec {
            name: s.name.clone(),
            vm_id,
            ..TargetServerSpec::default()
        },
        region_name: cloud.region.clone(),
        region_id: cloud.region.clone(),
        project_name: cloud.project_name.clone(),
        project_id: cloud.project_id.clone(),
        priority: s.priority.map(|p| p as i32),
        start_target_server: s.start_target_server,
        auto_start: Some(false),
        migration_ip,
        vm_template_id: template_id.map(str::to_owned),
        clonevm_template_id: None,
        use_public_ip: s.use_public_ip,
        use_ipv6: s.use_ipv6,
        syncing: Some(s.syncing),
        exist_server: Some(exist),
        start_network_check: s.start_network_check,
        speed_limit: s.speed_limit.map(|l| l as i32),
        over_speed_threshold: s.over_speed_threshold.map(f64::from),
        is_need_consistency_check: s.consistency_check,
        need_migration_test: s.migration_test,
        enterprise_project_id: cloud.enterprise_project_id.clone(),
    }
}

/// `PUT /v3/tasks/{task_id}` for the fields the plan changes in place.
pub(crate) fn update_task(fields: &[(String, String)]) -> Result<UpdateTaskRequest, StepError> {
    let mut u = UpdateTaskRequest::default();
    let bad = |f: &str, v: &str| StepError::new(format!("cannot send {f} = {v}"));
    for (f, v) in fields {
        match f.as_str() {
            "speed_limit" => u.speed_limit = Some(v.parse().map_err(|_| bad(f, v))?),
            "priority" => u.priority = Some(v.parse().map_err(|_| bad(f, v))?),
            "start_target_server" => {
                u.start_target_server = Some(v.parse().map_err(|_| bad(f, v))?)
            }
            "type" => u.task_type = Some(TaskType::parse(v)),
            "os_type" => u.os_type = Some(OsType::parse(v)),
            "target.template" => u.vm_template_id = Some(v.clone()),
            "target.migration_ip" => u.migration_ip = Some(v.clone()),
            "target.server_id" => u.exist_server = Some(true),
            other => {
                return Err(StepError::new(format!(
                    "the field {other} cannot be changed in place"
                )));
            }
        }
    }
    Ok(u)
}

/// `POST /v2/{project_id}/migration/instance` for a Redis entry.
pub(crate) fn create_migration(r: &RedisSpec) -> CreateOnlineTaskRequest {
    CreateOnlineTaskRequest {
        name: r.name.clone(),
        description: r.description.clone(),
        vpc_id: r.network.vpc_id.clone(),
        subnet_id: r.network.subnet_id.clone(),
        security_group_id: r.network.security_group_id.clone(),
    }
}

fn instance(
    e: &RedisEndpoint,
    which: &str,
    secrets: &SecretSource,
) -> Result<ConfigInstance, StepError> {
    let (id, addrs) = match &e.instance {
        RedisInstance::Id(id) => (Some(id.clone()), None),
        RedisInstance::Addrs(a) => (None, Some(a.join(","))),
    };
    let password = match &e.password {
        None => None,
        Some(r) => Some(Redacted::new(secrets(&r.env).ok_or_else(|| {
            StepError::new(format!(
                "the {which} password is read from the environment variable {}, which is not set",
                r.env
            ))
        })?)),
    };
    Ok(ConfigInstance {
        id,
        addrs,
        password,
    })
}

/// `POST /v2/{project_id}/migration/{task_id}/task` for a Redis entry (passwords resolved now).
pub(crate) fn configure(
    r: &RedisSpec,
    secrets: &SecretSource,
) -> Result<ConfigureTaskRequest, StepError> {
    Ok(ConfigureTaskRequest {
        migration_method: match r.method {
            RedisMethod::Full => MigrationMethod::FullAmount,
            RedisMethod::Incremental => MigrationMethod::Incremental,
        },
        resume_mode: resume_mode(r),
        bandwidth_limit_mb: r.bandwidth_limit_mb.map(BandwidthMb),
        source_instance: instance(&r.source, "source", secrets)?,
        target_instance: instance(&r.target, "target", secrets)?,
    })
}

/// The entry's resume mode in wire form.
pub(crate) fn resume_mode(r: &RedisSpec) -> ResumeMode {
    ResumeMode::parse(r.resume_mode.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "version: 1\nname: t\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
servers:\n  - {name: web-01, target: {template: tpl}, speed_limit: 100, priority: 2, stage: replicated}\n\
redis:\n  - name: sessions\n    method: incremental\n    network: {vpc_id: v, subnet_id: n, security_group_id: g}\n    source: {addrs: [\"10.0.0.1:6379\", \"10.0.0.2:6379\"], password: {env: SRC_PW}}\n    target: {instance_id: i-1}\n    stage: migrated\n";

    fn spec() -> Spec {
        migplan_parser::parse("t.yaml", PLAN).expect("valid").spec
    }

    #[test]
    fn create_task_carries_every_field_the_plan_compares() {
        let spec = spec();
        let ix = SpecIndex::new(&spec);
        let s = ix.server("web-01").expect("server");
        let req = create_task(s, &ix.cloud, "src-1", Some("tpl-id"));
        assert_eq!(req.name, "web-01");
        assert_eq!(req.source_server.id, "src-1");
        assert_eq!(req.vm_template_id.as_deref(), Some("tpl-id"));
        assert_eq!(req.speed_limit, Some(100));
        assert_eq!(req.priority, Some(2));
        assert_eq!(req.syncing, Some(false));
        assert_eq!(req.auto_start, Some(false));
        assert_eq!(req.region_id, "ap-southeast-3");
        assert_eq!(req.exist_server, Some(false));
    }

    #[test]
    fn configure_resolves_passwords_only_from_the_secret_source() {
        let spec = spec();
        let ix = SpecIndex::new(&spec);
        let r = ix.redis("sessions").expect("redis");
        let none: SecretSource = Arc::new(|_| None);
        let err = configure(r, &none).expect_err("missing secret");
        assert!(err.message.contains("SRC_PW"), "{err}");
        let some: SecretSource = Arc::new(|k| (k == "SRC_PW").then(|| "pw-123".to_string()));
        let req = configure(r, &some).expect("body");
        assert_eq!(
            req.source_instance.addrs.as_deref(),
            Some("10.0.0.1:6379,10.0.0.2:6379")
        );
        assert_eq!(
            req.source_instance.password.as_ref().map(Redacted::expose),
            Some("pw-123")
        );
        assert!(!format!("{req:?}").contains("pw-123"));
        assert_eq!(req.target_instance.id.as_deref(), Some("i-1"));
        assert_eq!(req.migration_method, MigrationMethod::Incremental);
    }

    #[test]
    fn update_task_maps_plan_fields() {
        let u = update_task(&[("speed_limit".into(), "300".into())]).expect("ok");
        assert_eq!(u.speed_limit, Some(300));
        assert!(update_task(&[("syncing".into(), "true".into())]).is_err());
    }
}
