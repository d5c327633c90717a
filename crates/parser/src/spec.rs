//! The validated plan: defaults applied, references resolved, no spans.
//!
//! This is what the planner consumes. Spans live apart in [`SourceMap`], so later diagnostics
//! (a plan refused for a resource) can still point at the YAML line.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::diagnostic::Span;
use crate::keyword::{
    Keyword, OsType, RedisMethod, RedisStage, ResourceKind, ResumeMode, ServerStage, TaskType,
    TestMode,
};

/// A resource's address: `server.NAME` or `redis.NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
    /// Server or Redis.
    pub kind: ResourceKind,
    /// The entry name.
    pub name: String,
}

impl ResourceAddr {
    /// `server.NAME`.
    pub fn server(name: impl Into<String>) -> Self {
        ResourceAddr {
            kind: ResourceKind::Server,
            name: name.into(),
        }
    }
    /// `redis.NAME`.
    pub fn redis(name: impl Into<String>) -> Self {
        ResourceAddr {
            kind: ResourceKind::Redis,
            name: name.into(),
        }
    }
    /// Parses `server.NAME` / `redis.NAME` (no stage).
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, name) = s.split_once('.')?;
        let kind = ResourceKind::parse(kind)?;
        if name.is_empty() || name.contains(['.', '@']) {
            return None;
        }
        Some(ResourceAddr {
            kind,
            name: name.to_string(),
        })
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

impl Serialize for ResourceAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ResourceAddr::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a resource address")))
    }
}

/// A stage of either resource kind.
///
/// Ordered only within a kind: a server stage and a Redis stage are not comparable (every
/// comparison between them is false), so no code can rank one against the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// A server stage.
    Server(ServerStage),
    /// A Redis stage.
    Redis(RedisStage),
}

impl Stage {
    /// Parses a stage name valid for `kind`.
    pub fn parse(kind: ResourceKind, s: &str) -> Option<Self> {
        match kind {
            ResourceKind::Server => ServerStage::parse(s).map(Stage::Server),
            ResourceKind::Redis => RedisStage::parse(s).map(Stage::Redis),
        }
    }
    /// Position in its kind's order (0 = first stage).
    pub fn rank(self) -> usize {
        match self {
            Stage::Server(s) => ServerStage::ALL.iter().position(|(_, v)| *v == s),
            Stage::Redis(s) => RedisStage::ALL.iter().position(|(_, v)| *v == s),
        }
        .unwrap_or(0)
    }
    /// The earlier of two stages of one resource (a stage of another kind is never earlier).
    pub fn earlier(self, other: Stage) -> Stage {
        if other < self { other } else { self }
    }

    /// The stage's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Server(s) => s.as_str(),
            Stage::Redis(s) => s.as_str(),
        }
    }
}

impl PartialOrd for Stage {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Stage::Server(a), Stage::Server(b)) => Some(a.cmp(b)),
            (Stage::Redis(a), Stage::Redis(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Stage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Stage {
    /// Stage names are distinct across kinds, so a bare name identifies the kind.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Stage::parse(ResourceKind::Server, &s)
            .or_else(|| Stage::parse(ResourceKind::Redis, &s))
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a stage")))
    }
}

/// One edge of what a resource waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Dependency {
    /// The stage of this resource that waits; `None` means the whole resource (its first step).
    pub stage: Option<Stage>,
    /// The resource waited for.
    pub on: ResourceAddr,
    /// The stage waited for; `None` means the stage that resource declares.
    pub on_stage: Option<Stage>,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.stage {
            write!(f, "{s}: ")?;
        }
        write!(f, "{}", self.on)?;
        if let Some(s) = self.on_stage {
            write!(f, "@{s}")?;
        }
        Ok(())
    }
}

/// A validated plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// Plan name.
    pub name: String,
    /// Target account and region.
    pub cloud: CloudSpec,
    /// Server migrations, in file order.
    pub servers: Vec<ServerSpec>,
    /// Redis migrations, in file order.
    pub redis: Vec<RedisSpec>,
    /// Waves, in order.
    pub waves: Vec<WaveSpec>,
    /// Maintenance windows, in file order.
    pub windows: Vec<crate::WindowSpec>,
}

impl Spec {
    /// The Redis migrations whose data apply compares (stage `verified`): those that ask for
    /// it (`stage: verified`, a `verify:` section) or that something waits on at `@verified`.
    /// Elsewhere `stopped` passes through `verified` without a comparison.
    pub fn compared_redis(&self) -> Vec<&RedisSpec> {
        let verified = Some(Stage::Redis(RedisStage::Verified));
        let gated: std::collections::HashSet<&str> = self
            .servers
            .iter()
            .flat_map(|s| &s.depends_on)
            .chain(self.redis.iter().flat_map(|r| &r.depends_on))
            .filter(|d| d.on.kind == ResourceKind::Redis && d.on_stage == verified)
            .map(|d| d.on.name.as_str())
            .collect();
        self.redis
            .iter()
            .filter(|r| {
                r.verify.written
                    || r.stage == RedisStage::Verified
                    || gated.contains(r.name.as_str())
            })
            .collect()
    }
}

/// Target account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudSpec {
    /// Region code.
    pub region: String,
    /// Project id.
    pub project_id: String,
    /// Project name (defaults to the region code).
    pub project_name: String,
    /// Domain (account) id, when the plan gives it.
    pub domain_id: Option<String>,
    /// Enterprise project for new tasks.
    pub enterprise_project_id: Option<String>,
    /// The account's limits apply runs under.
    pub quotas: Quotas,
}

/// The account's limits on work running at once (`cloud.quotas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quotas {
    /// SMS migrations (RUNNING, SYNCING tasks) the account runs at once, whoever started
    /// them. Default [`Quotas::DEFAULT_SMS_CONCURRENT_MIGRATIONS`].
    pub sms_concurrent_migrations: u32,
}

impl Quotas {
    /// SMS's documented limit: 100 source servers migrated at the same time.
    pub const DEFAULT_SMS_CONCURRENT_MIGRATIONS: u32 = 100;
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            sms_concurrent_migrations: Self::DEFAULT_SMS_CONCURRENT_MIGRATIONS,
        }
    }
}

/// Which registered source server a migration reads from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceRef {
    /// By registered name.
    Name(String),
    /// By source server id.
    Id(String),
}

/// Where a server goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A new ECS created from this SMS template (name or id).
    Template(String),
    /// An existing ECS.
    Existing {
        /// ECS id.
        server_id: String,
        /// IP the source reaches it on.
        migration_ip: IpAddr,
    },
}

/// A server migration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerSpec {
    /// Entry name = SMS task name.
    pub name: String,
    /// The source server.
    pub source: SourceRef,
    /// Block or file copy.
    pub task_type: TaskType,
    /// OS family, if the plan says (else taken from the source server).
    pub os_type: Option<OsType>,
    /// Where it goes.
    pub target: Target,
    /// Mbit/s, 0 = unlimited.
    pub speed_limit: Option<u32>,
    /// Percent of speed limit that pauses the task.
    pub over_speed_threshold: Option<u32>,
    /// 0..2.
    pub priority: Option<u32>,
    /// Launch the target after the copy.
    pub start_target_server: Option<bool>,
    /// Continuous incremental sync.
    pub syncing: bool,
    /// Greatest age of the last finished copy or sync round at cutover, seconds.
    pub max_sync_age_seconds: Option<u32>,
    /// Use the target's public IP.
    pub use_public_ip: Option<bool>,
    /// Migrate over IPv6.
    pub use_ipv6: Option<bool>,
    /// SMS's own network check when the task starts (the create flag).
    pub start_network_check: Option<bool>,
    /// Consistency check after the copy; `Some(false)` while a check runs means `skip` it.
    pub consistency_check: Option<bool>,
    /// Migration drill (`need_migration_test`).
    pub migration_test: Option<bool>,
    /// Hold the replication or sync: pause a running task (`stop`), resume a paused one
    /// (`start`) once this is `false` again.
    pub paused: bool,
    /// Restart a failed task before blocking the server; `None` blocks at the first failure.
    pub on_failure: Option<OnFailure>,
    /// How stage `tested` is reached; `None` is an in-place test (SMS `test`).
    pub test: Option<TestSpec>,
    /// A network check (SMS `network_check`) that must pass before `start`.
    pub network_check: Option<NetworkCheck>,
    /// The maintenance window its irreversible steps wait for (`window:`).
    pub window: Option<String>,
    /// Desired stage.
    pub stage: ServerStage,
    /// What it waits for.
    pub depends_on: Vec<Dependency>,
}

/// What apply does when a server migration fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OnFailure {
    /// Restart the failed task at most this many times (1 to 10), then block the server.
    pub restart: u32,
}

/// How a server migration's test (stage `tested`) is run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestSpec {
    /// Launch the target itself (`test`) or a clone of it (`clone_test`).
    pub mode: TestMode,
    /// The SMS server template (name or id) the clone is created from; `Some` exactly when
    /// `mode` is [`TestMode::Clone`].
    pub template: Option<String>,
}

/// A network check before a server migration starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NetworkCheck {
    /// Lowest acceptable measured migration speed, in Mbit/s: finite, above 0, at most 10000.
    pub min_mbps: f64,
}

/// A Redis endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisEndpoint {
    /// A DCS instance or self-hosted addresses.
    pub instance: RedisInstance,
    /// Password reference.
    pub password: Option<SecretRef>,
}

/// A DCS instance or self-hosted addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisInstance {
    /// DCS instance id.
    Id(String),
    /// `host:port` list.
    Addrs(Vec<String>),
}

/// A reference to a secret held in the environment. Only the variable name is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SecretRef {
    /// Environment variable name.
    pub env: String,
}

/// Network for the DCS migration ECS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    /// VPC id.
    pub vpc_id: String,
    /// Subnet id.
    pub subnet_id: String,
    /// Security group id.
    pub security_group_id: String,
}

/// Keys compared per database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Samples {
    /// This many keys per database, drawn at random.
    Count(u32),
    /// Every key.
    All,
}

/// How stage `verified` compares a migration's source and target (`verify:`, defaults
/// applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifySpec {
    /// `verify:` is written (on the entry or in `defaults.redis`): the data is compared on
    /// the way to `stopped` too, not only for `stage: verified` or a dependency on it.
    pub written: bool,
    /// Keys compared per database.
    pub samples: Samples,
    /// How far the counts of keys without a TTL may differ: `N` keys or `P%`.
    pub key_tolerance: String,
    /// How far remaining TTLs may differ, seconds.
    pub ttl_tolerance_seconds: u32,
    /// Replication lag budget, seconds (incremental migrations only).
    pub lag_budget_seconds: Option<u32>,
    /// Budget of the whole check, seconds.
    pub time_budget_seconds: u32,
    /// `HOST:PORT` migplan uses for the source instead of the migration's.
    pub source_address: Option<String>,
    /// `HOST:PORT` migplan uses for the target instead of the migration's.
    pub target_address: Option<String>,
}

/// A Redis migration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedisSpec {
    /// Entry name = DCS migration task name.
    pub name: String,
    /// Task description.
    pub description: Option<String>,
    /// Full or incremental.
    pub method: RedisMethod,
    /// Auto or manual resume.
    pub resume_mode: ResumeMode,
    /// MB/s cap.
    pub bandwidth_limit_mb: Option<u32>,
    /// Migration ECS network.
    pub network: NetworkSpec,
    /// Source.
    pub source: RedisEndpoint,
    /// Target.
    pub target: RedisEndpoint,
    /// The maintenance window its irreversible steps wait for (`window:`).
    pub window: Option<String>,
    /// Desired stage.
    pub stage: RedisStage,
    /// How stage `verified` is measured.
    pub verify: VerifySpec,
    /// What it waits for.
    pub depends_on: Vec<Dependency>,
}

/// An ordered group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaveSpec {
    /// Wave name.
    pub name: String,
    /// Concurrency cap.
    pub max_parallel: Option<u32>,
    /// The maintenance window its members' irreversible steps wait for, unless a member
    /// names its own.
    pub window: Option<String>,
    /// Members.
    pub members: Vec<ResourceAddr>,
}

/// Where each resource and wave was declared in the plan file.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    /// Span of each resource's `name` value.
    pub resources: HashMap<ResourceAddr, Span>,
    /// Span of each wave's `name` value.
    pub waves: HashMap<String, Span>,
}
