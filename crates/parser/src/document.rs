//! The plan file as written: format version 1, before defaults are applied and references checked.
//!
//! These types are the single source of the JSON Schema (`migplan schema`): the decoder fills
//! them field by field from the YAML tree, and the schema is derived from them, so editors and
//! the validator agree. Values that later checks point at carry their [`Sp`] span.

use std::borrow::Cow;
use std::collections::BTreeSet;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::diagnostic::Span;
use crate::keyword::{
    Keyword, OsType, RedisMethod, RedisStage, ResumeMode, ServerStage, TaskType, TestMode,
};
use crate::spec::Samples;

/// A value and the span of YAML text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Sp<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> Self {
        Sp { value, span }
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A migration plan (format version 1).
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields, title = "migplan plan")]
pub struct PlanDocument {
    /// Plan format version; only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: Sp<u32>,
    /// Name of the plan (letters, digits, `_`, `-`; 1 to 64 characters). Part of the apply lock.
    #[schemars(length(min = 1, max = 64))]
    pub name: Sp<String>,
    /// Where the migration happens.
    pub cloud: CloudSection,
    /// Settings every server or Redis entry inherits unless it sets its own.
    #[schemars(default)]
    pub defaults: Option<Defaults>,
    /// Servers to move with SMS, one SMS task each (named after the entry).
    #[schemars(default)]
    pub servers: Vec<ServerEntry>,
    /// Redis data to move with DCS online migration, one migration task each.
    #[schemars(default)]
    pub redis: Vec<RedisEntry>,
    /// Ordered groups: every member of a wave waits until every member of the previous wave
    /// reached its stage.
    #[schemars(default)]
    pub waves: Vec<WaveEntry>,
    /// Maintenance windows: irreversible steps (cutover, clear, stopping a sync) of the
    /// resources that name one start only while it is open.
    #[schemars(default)]
    pub windows: Vec<WindowEntry>,
    /// Names of Redis entries that could not be decoded; they still count as declared, so
    /// references to them are not reported a second time.
    #[schemars(skip)]
    pub undecodable_redis: Vec<Sp<String>>,
}

/// The cloud account and region the plan targets.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CloudSection {
    /// Region code, e.g. `ap-southeast-3`.
    pub region: Sp<String>,
    /// Project id in that region (32 hexadecimal characters).
    #[schemars(regex(pattern = r"^[0-9a-f]{32}$"))]
    pub project_id: Sp<String>,
    /// Project name sent to SMS as `project_name`; defaults to the region code.
    #[schemars(default)]
    pub project_name: Option<Sp<String>>,
    /// Account (domain) id sent to SMS as `X-Domain-Id`; else `HW_DOMAIN_ID` from the environment.
    #[schemars(default)]
    pub domain_id: Option<Sp<String>>,
    /// Enterprise project for new SMS tasks.
    #[schemars(default)]
    pub enterprise_project_id: Option<Sp<String>>,
    /// The account's limits that apply runs under (the service refuses, or silently queues,
    /// work beyond them).
    #[schemars(default)]
    pub quotas: Option<Sp<QuotasDoc>>,
}

/// The account's limits on work running at once.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QuotasDoc {
    /// SMS migrations (full copies and sync rounds) the account runs at once, counting tasks
    /// that are not this plan's (1 to 10000, default 100: SMS migrates at most 100 source
    /// servers at the same time). Apply starts a copy only while fewer run.
    #[schemars(range(min = 1, max = 10000), default)]
    pub sms_concurrent_migrations: Option<Sp<u32>>,
}

/// Inherited settings.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Defaults {
    /// Settings for every entry of `servers`.
    #[schemars(default)]
    pub servers: Option<ServerSettings>,
    /// Settings for every entry of `redis`.
    #[schemars(default)]
    pub redis: Option<RedisSettings>,
}

/// Server settings an entry may inherit from `defaults.servers`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServerSettings {
    /// Block- or file-level copy. Default `MIGRATE_BLOCK`.
    #[schemars(rename = "type", default)]
    pub task_type: Option<Sp<TaskType>>,
    /// OS family; taken from the registered source server when omitted.
    #[schemars(default)]
    pub os_type: Option<Sp<OsType>>,
    /// Where the server goes: `{template: NAME_OR_ID}` to create a new ECS from a template, or
    /// `{server_id: ID, migration_ip: IP}` for an existing ECS.
    #[schemars(default)]
    pub target: Option<Sp<TargetDoc>>,
    /// Bandwidth cap in Mbit/s (0 = unlimited).
    #[schemars(range(min = 0, max = 1000), default)]
    pub speed_limit: Option<Sp<u32>>,
    /// Pause the task when real speed exceeds this percentage of `speed_limit` (10 to 100).
    #[schemars(range(min = 10, max = 100), default)]
    pub over_speed_threshold: Option<Sp<u32>>,
    /// Task priority: 0 low, 1 standard, 2 high.
    #[schemars(range(min = 0, max = 2), default)]
    pub priority: Option<Sp<u32>>,
    /// Launch the target server once the copy is done.
    #[schemars(default)]
    pub start_target_server: Option<Sp<bool>>,
    /// Keep syncing incrementally after the full copy (needed for stage `synced`).
    #[schemars(default)]
    pub syncing: Option<Sp<bool>>,
    /// With `syncing: true`: the greatest age, in seconds, of the last finished copy or sync
    /// round when the cutover starts (60 to 604800). An older one gets a final sync round
    /// first, so the data the target lacks at cutover is at most this old.
    #[schemars(range(min = 60, max = 604800), default)]
    pub max_sync_age_seconds: Option<Sp<u32>>,
    /// Reach the target over its public IP.
    #[schemars(default)]
    pub use_public_ip: Option<Sp<bool>>,
    /// Migrate over IPv6.
    #[schemars(default)]
    pub use_ipv6: Option<Sp<bool>>,
    /// Ask SMS to check the network when the task starts (the task's `start_network_check`
    /// flag). Independent of `network_check`, which migplan runs and reads itself.
    #[schemars(default)]
    pub start_network_check: Option<Sp<bool>>,
    /// Run a consistency check after the copy. Turning it off while a check runs makes apply
    /// skip that check (`skip`).
    #[schemars(default)]
    pub consistency_check: Option<Sp<bool>>,
    /// Enable the migration drill (the task's `need_migration_test`).
    #[schemars(default)]
    pub migration_test: Option<Sp<bool>>,
    /// Hold the replication or sync: apply pauses a running task (`stop`); removing it (or
    /// `false`) resumes a paused one (`start`). Default `false`.
    #[schemars(default)]
    pub paused: Option<Sp<bool>>,
    /// What apply does when the task fails: `{restart: N}` restarts it at most N times (1 to
    /// 10) before the server is blocked. Without it, a failure blocks the server at once.
    #[schemars(default)]
    pub on_failure: Option<Sp<OnFailureDoc>>,
    /// How stage `tested` is reached: `{mode: in_place}` launches the target (default), `{mode:
    /// clone, template: NAME_OR_ID}` launches a clone from a template and leaves the target alone.
    #[schemars(default)]
    pub test: Option<Sp<TestDoc>>,
    /// Check the network before starting the task (SMS `network_check`): a measured migration
    /// speed below `min_mbps` blocks `start`.
    #[schemars(default)]
    pub network_check: Option<Sp<NetworkCheckDoc>>,
    /// How far this server should get.
    #[schemars(default)]
    pub stage: Option<Sp<ServerStage>>,
    /// The maintenance window (a `windows` entry's name) its irreversible steps wait for.
    #[schemars(default)]
    pub window: Option<Sp<String>>,
    /// Keys written in the file, valid or not: a key written with a bad value is reported for
    /// its value, never again as missing.
    #[schemars(skip)]
    pub written: BTreeSet<String>,
}

/// One server to migrate.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServerEntry {
    /// Entry name; also the SMS task name (letters, digits, `_`, `-`; 1 to 64 characters).
    #[schemars(length(min = 1, max = 64))]
    pub name: Sp<String>,
    /// The source server the SMS agent registered: its name, or `{id: ...}`. Defaults to `name`.
    #[schemars(default)]
    pub source: Option<SourceDoc>,
    /// What this server waits for.
    #[schemars(default)]
    pub depends_on: Vec<DependencyDoc>,
    /// Task settings (inherited from `defaults.servers` when omitted).
    #[schemars(flatten)]
    pub settings: ServerSettings,
}

/// Redis settings an entry may inherit from `defaults.redis`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RedisSettings {
    /// `full` (one copy) or `incremental` (copy, then sync until stopped).
    #[schemars(default)]
    pub method: Option<Sp<RedisMethod>>,
    /// What DCS does when the connection breaks. Default `auto`.
    #[schemars(default)]
    pub resume_mode: Option<Sp<ResumeMode>>,
    /// Bandwidth cap in MB/s (1 to 10240).
    #[schemars(range(min = 1, max = 10240), default)]
    pub bandwidth_limit_mb: Option<Sp<u32>>,
    /// The VPC, subnet and security group for the migration ECS DCS creates.
    #[schemars(default)]
    pub network: Option<Sp<NetworkDoc>>,
    /// How far this migration should get.
    #[schemars(default)]
    pub stage: Option<Sp<RedisStage>>,
    /// The maintenance window (a `windows` entry's name) its irreversible steps wait for.
    #[schemars(default)]
    pub window: Option<Sp<String>>,
    /// How stage `verified` compares source and target.
    #[schemars(default)]
    pub verify: Option<Sp<VerifyDoc>>,
    /// Keys written in the file, valid or not (see [`ServerSettings::written`]).
    #[schemars(skip)]
    pub written: BTreeSet<String>,
}

/// How stage `verified` measures that the target holds the source's data.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VerifyDoc {
    /// Keys compared per database: a count (1 to 1000000, default 1000) or `all`.
    #[schemars(default, with = "Option<SamplesDoc>")]
    pub samples: Option<Sp<Samples>>,
    /// How far the counts of keys without a TTL may differ: a number of keys, or a
    /// percentage of the source's count such as `0.5%`. Default 0 (equal).
    #[schemars(default, with = "Option<KeyToleranceDoc>")]
    pub key_tolerance: Option<Sp<String>>,
    /// How far a key's remaining TTL may differ, in seconds (0 to 3600, default 2).
    #[schemars(range(max = 3600), default)]
    pub ttl_tolerance_seconds: Option<Sp<u32>>,
    /// Incremental migrations: a marker key written to the source must show on the target
    /// within this many seconds (1 to 3600, default 30).
    #[schemars(range(min = 1, max = 3600), default)]
    pub lag_budget_seconds: Option<Sp<u32>>,
    /// The whole check's budget in seconds; past it the result is inconclusive (1 to 86400,
    /// default 300).
    #[schemars(range(min = 1, max = 86400), default)]
    pub time_budget_seconds: Option<Sp<u32>>,
    /// `HOST:PORT` migplan connects to for the source, where it sees the instance under
    /// another name than the migration does.
    #[schemars(default)]
    pub source_address: Option<Sp<String>>,
    /// `HOST:PORT` migplan connects to for the target (see `source_address`).
    #[schemars(default)]
    pub target_address: Option<Sp<String>>,
}

/// Schema of `samples`: a count or `all`.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum SamplesDoc {
    Count(#[schemars(range(min = 1, max = 1000000))] u32),
    All(AllDoc),
}

/// The word `all`.
#[derive(JsonSchema)]
#[allow(dead_code)]
enum AllDoc {
    #[serde(rename = "all")]
    All,
}

/// Schema of `key_tolerance`: a key count or a percentage.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum KeyToleranceDoc {
    Keys(u32),
    Percent(#[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?%$"))] String),
}

/// One Redis data migration.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RedisEntry {
    /// Entry name; also the DCS migration task name (letters, digits, `_`, `-`; 4 to 64 characters).
    #[schemars(length(min = 4, max = 64))]
    pub name: Sp<String>,
    /// Free text stored on the migration task.
    #[schemars(length(max = 200), default)]
    pub description: Option<Sp<String>>,
    /// Where the data comes from.
    pub source: Sp<EndpointDoc>,
    /// Where the data goes.
    pub target: Sp<EndpointDoc>,
    /// What this migration waits for.
    #[schemars(default)]
    pub depends_on: Vec<DependencyDoc>,
    /// Migration settings (inherited from `defaults.redis` when omitted).
    #[schemars(flatten)]
    pub settings: RedisSettings,
}

/// An ordered group of resources with an optional concurrency cap.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WaveEntry {
    /// Wave name.
    #[schemars(length(min = 1, max = 64))]
    pub name: Sp<String>,
    /// At most this many members are being worked on at once.
    #[schemars(range(min = 1), default)]
    pub max_parallel: Option<Sp<u32>>,
    /// Resource addresses (`server.NAME`, `redis.NAME`).
    pub members: Vec<Sp<String>>,
    /// The maintenance window (a `windows` entry's name) the members' irreversible steps wait
    /// for, unless a member names its own.
    #[schemars(default)]
    pub window: Option<Sp<String>>,
}

/// A maintenance window: opens on `days` at `start`, closes at `end` (on the next day when
/// `end` is at or before `start`), in `timezone`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WindowEntry {
    /// Window name, referred to by `window:`.
    #[schemars(length(min = 1, max = 64))]
    pub name: Sp<String>,
    /// Days it opens on (`mon` … `sun`); every day when omitted.
    #[schemars(default)]
    pub days: Option<Vec<Sp<crate::window::Weekday>>>,
    /// Opening time, `HH:MM` (24-hour clock).
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: Sp<String>,
    /// Closing time, `HH:MM`; at or before `start`, it is on the next day.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub end: Sp<String>,
    /// IANA time zone name, e.g. `Europe/Berlin` or `UTC`; daylight saving time applies.
    pub timezone: Sp<String>,
}

/// The target of a server migration.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TargetDoc {
    /// Name or id of an SMS server template; SMS creates the target ECS from it.
    #[schemars(default)]
    pub template: Option<Sp<String>>,
    /// Id of an existing ECS to migrate onto.
    #[schemars(default)]
    pub server_id: Option<Sp<String>>,
    /// IP the source reaches the existing ECS on (required with `server_id`).
    #[schemars(default)]
    pub migration_ip: Option<Sp<String>>,
}

/// What apply does when a server migration fails.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct OnFailureDoc {
    /// Restart the failed task at most this many times (1 to 10), then block the server.
    #[schemars(range(min = 1, max = 10))]
    pub restart: Sp<u32>,
}

/// How a server migration's test (stage `tested`) is run.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TestDoc {
    /// `in_place` launches the target server (SMS `test`); `clone` launches a clone of it from
    /// `template` (SMS `clone_test`), leaving the target alone.
    pub mode: Sp<TestMode>,
    /// Name or id of the SMS server template the clone is created from (`mode: clone` only).
    #[schemars(default)]
    pub template: Option<Sp<String>>,
}

/// A network check before a server migration starts.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NetworkCheckDoc {
    /// Lowest acceptable migration speed the check measures, in Mbit/s (above 0, at most 10000).
    #[schemars(range(max = 10000), extend("exclusiveMinimum" = 0))]
    pub min_mbps: Sp<f64>,
}

/// The network for a DCS migration.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NetworkDoc {
    /// VPC id.
    pub vpc_id: Sp<String>,
    /// Subnet (network) id.
    pub subnet_id: Sp<String>,
    /// Security group id.
    pub security_group_id: Sp<String>,
}

/// A Redis endpoint: a DCS instance (`instance_id`) or self-hosted addresses (`addrs`).
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EndpointDoc {
    /// DCS instance id.
    #[schemars(default)]
    pub instance_id: Option<Sp<String>>,
    /// `host:port` addresses, as one comma-separated string or a list.
    #[schemars(default)]
    pub addrs: Option<Sp<AddrsDoc>>,
    /// Password, as a reference: `{env: VAR}`.
    #[schemars(default)]
    pub password: Option<Sp<SecretDoc>>,
}

/// `host:port` addresses.
#[derive(Debug, Clone)]
pub struct AddrsDoc(pub Vec<Sp<String>>);

impl JsonSchema for AddrsDoc {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Addrs")
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`host:port` addresses: one comma-separated string or a list.",
            "oneOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" }, "minItems": 1 }
            ]
        })
    }
}

/// A reference to a secret; the value is read from the environment when a request is sent.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SecretDoc {
    /// Environment variable holding the secret.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub env: Sp<String>,
}

/// The source server of a server migration: registered name, or `{id}`.
#[derive(Debug, Clone)]
pub enum SourceDoc {
    /// Registered name.
    Name(Sp<String>),
    /// Source server id.
    Id(Sp<String>),
}

impl JsonSchema for SourceDoc {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Source")
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The source server the SMS agent registered: its name, or `{id: ...}`.",
            "oneOf": [
                { "type": "string", "minLength": 1 },
                {
                    "type": "object",
                    "properties": { "id": { "type": "string", "minLength": 1 } },
                    "required": ["id"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// One `depends_on` entry: `ADDR`, `ADDR@STAGE`, or `{MY_STAGE: ADDR[@STAGE]}`.
#[derive(Debug, Clone)]
pub struct DependencyDoc {
    /// The stage of this resource that waits (map form); `None` means the whole resource waits.
    pub stage: Option<Sp<String>>,
    /// What it waits for: `server.NAME` or `redis.NAME`, optionally `@STAGE`.
    pub on: Sp<String>,
}

const ADDR_PATTERN: &str = r"^(server|redis)\.[^.@\s]+(@[a-z_]+)?$";

impl JsonSchema for DependencyDoc {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Dependency")
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let stages: Vec<&str> = ServerStage::ALL
            .iter()
            .map(|(k, _)| *k)
            .chain(RedisStage::ALL.iter().map(|(k, _)| *k))
            .collect();
        json_schema!({
            "description": "`server.NAME` or `redis.NAME` (the whole resource waits until it reached its stage), `ADDR@STAGE` (waits until that stage), or `{MY_STAGE: ADDR[@STAGE]}` (only this resource's stage MY_STAGE waits).",
            "oneOf": [
                { "type": "string", "pattern": ADDR_PATTERN },
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "propertyNames": { "enum": stages },
                    "additionalProperties": { "type": "string", "pattern": ADDR_PATTERN }
                }
            ]
        })
    }
}
