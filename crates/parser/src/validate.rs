//! [`PlanDocument`] → [`Spec`]: defaults applied, then every semantic rule checked: names,
//! duplicates, impossible combinations, references, stages. Cycles are checked by
//! [`crate::cycles`] on the result.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::diagnostic::{Code, PlanDiagnostic, Span};
use crate::document::*;
use crate::excerpt::quote;
use crate::keyword::{
    Keyword, RedisMethod, RedisStage, ResourceKind, ResumeMode, ServerStage, TaskType, TestMode,
};
use crate::spec::*;
use crate::suggest::{closest, closest_within};
use crate::window::{TimeOfDay, Weekday, WindowSpec, check_timezone};

/// The validated spec, its source map, and every error found.
pub(crate) struct Resolved {
    pub spec: Spec,
    pub map: SourceMap,
    /// Span of each dependency entry, parallel to each resource's `depends_on`.
    pub dep_spans: HashMap<ResourceAddr, Vec<Span>>,
}

/// Takes the entry's own value, else the default.
fn pick<T: Clone>(own: &Option<Sp<T>>, default: Option<&Option<Sp<T>>>) -> Option<Sp<T>> {
    own.clone().or_else(|| default.and_then(|d| d.clone()))
}

fn value<T: Clone>(v: &Option<Sp<T>>) -> Option<T> {
    v.as_ref().map(|s| s.value.clone())
}

struct Ctx<'a> {
    errors: &'a mut Vec<PlanDiagnostic>,
}

impl Ctx<'_> {
    fn push(&mut self, d: PlanDiagnostic) {
        self.errors.push(d);
    }

    /// Names become SMS task names and DCS task names: letters (CJK too), digits, `_`, `-`,
    /// starting with a letter.
    fn check_name(&mut self, name: &Sp<String>, what: &str, min: usize, max: usize) {
        let n = name.value.chars().count();
        let bad_char = name
            .value
            .chars()
            .find(|c| !(c.is_alphanumeric() || *c == '_' || *c == '-'));
        let problem = if n < min || n > max {
            Some(format!(
                "is {n} characters long; {what} names are {min} to {max}"
            ))
        } else if let Some(c) = bad_char {
            Some(format!(
                "contains `{}`; use letters, digits, `_` and `-`",
                quote(c.encode_utf8(&mut [0; 4]))
            ))
        } else if !name.value.chars().next().is_some_and(char::is_alphabetic) {
            Some("must start with a letter".to_string())
        } else {
            None
        };
        if let Some(p) = problem {
            self.push(
                PlanDiagnostic::new(
                    Code::InvalidName,
                    format!("{what} name `{}` {p}", quote(&name.value)),
                    name.span,
                    "invalid name",
                )
                .with_help(format!(
                    "{what} names become cloud task names: {min} to {max} letters, digits, `_` or `-`, starting with a letter"
                )),
            );
        }
    }

    fn missing(&mut self, what: &str, at: Span, key: &str, help: &str) {
        self.push(
            PlanDiagnostic::new(
                Code::MissingField,
                format!("{what} has no `{key}`"),
                at,
                format!("`{key}` is required"),
            )
            .with_help(help.to_string()),
        );
    }
}

/// Remembers the first declaration of each name; reports later ones.
fn check_unique<'n>(
    ctx: &mut Ctx<'_>,
    seen: &mut HashMap<&'n str, Span>,
    name: &'n Sp<String>,
    what: &str,
) -> bool {
    if let Some(first) = seen.get(name.value.as_str()) {
        ctx.push(
            PlanDiagnostic::new(
                Code::DuplicateName,
                format!("two {what} entries are named `{}`", quote(&name.value)),
                name.span,
                "second declaration",
            )
            .with_related(*first, "first declared here")
            .with_help(format!(
                "{what} names identify cloud tasks, so each must be unique; rename one"
            )),
        );
        return false;
    }
    seen.insert(&name.value, name.span);
    true
}

pub(crate) fn resolve(doc: &PlanDocument, errors: &mut Vec<PlanDiagnostic>) -> Resolved {
    let mut ctx = Ctx { errors };
    ctx.check_name(&doc.name, "plan", 1, 64);
    let cloud = cloud(&mut ctx, &doc.cloud);
    let sdef = doc.defaults.as_ref().and_then(|d| d.servers.as_ref());
    let rdef = doc.defaults.as_ref().and_then(|d| d.redis.as_ref());

    let mut map = SourceMap::default();
    // Unique entries first: references and stages are checked against every declared entry,
    // even one whose other settings are wrong, so one mistake does not hide another.
    let mut seen = HashMap::new();
    let mut server_docs = Vec::with_capacity(doc.servers.len());
    for entry in &doc.servers {
        ctx.check_name(&entry.name, "server", 1, 64);
        if check_unique(&mut ctx, &mut seen, &entry.name, "server") {
            map.resources
                .insert(ResourceAddr::server(&entry.name.value), entry.name.span);
            server_docs.push(entry);
        }
    }
    let mut seen = HashMap::new();
    for name in &doc.undecodable_redis {
        if check_unique(&mut ctx, &mut seen, name, "redis") {
            map.resources
                .insert(ResourceAddr::redis(&name.value), name.span);
        }
    }
    let mut redis_docs = Vec::with_capacity(doc.redis.len());
    for entry in &doc.redis {
        ctx.check_name(&entry.name, "redis", 4, 64);
        if check_unique(&mut ctx, &mut seen, &entry.name, "redis") {
            map.resources
                .insert(ResourceAddr::redis(&entry.name.value), entry.name.span);
            redis_docs.push(entry);
        }
    }
    let desired: HashMap<ResourceAddr, Stage> = server_docs
        .iter()
        .filter_map(|e| {
            let st = pick(&e.settings.stage, sdef.map(|d| &d.stage))?;
            Some((ResourceAddr::server(&e.name.value), Stage::Server(st.value)))
        })
        .chain(redis_docs.iter().filter_map(|e| {
            let st = pick(&e.settings.stage, rdef.map(|d| &d.stage))?;
            Some((ResourceAddr::redis(&e.name.value), Stage::Redis(st.value)))
        }))
        .collect();
    let mut by_name = HashMap::with_capacity(map.resources.len());
    for a in map.resources.keys() {
        by_name.entry(a.name.as_str()).or_insert(a);
    }
    let refs = References {
        declared: &map.resources,
        by_name,
        desired: &desired,
        suggest_budget: std::cell::Cell::new(SUGGEST_BUDGET),
    };

    let windows = Windows::resolve(&mut ctx, &doc.windows);
    // A default's window is checked once, not once per entry that inherits it.
    let def_server_window = windows.reference(
        &mut ctx,
        sdef.and_then(|d| d.window.as_ref()),
        "`defaults.servers`",
    );
    let def_redis_window = windows.reference(
        &mut ctx,
        rdef.and_then(|d| d.window.as_ref()),
        "`defaults.redis`",
    );
    // Checked once here rather than once per entry that inherits it.
    let def_test = sdef
        .and_then(|d| d.test.as_ref())
        .map(|t| test_of(&mut ctx, "`defaults.servers`", t));
    let mut dep_spans = HashMap::new();
    let mut servers = Vec::with_capacity(server_docs.len());
    for entry in &server_docs {
        let me = ResourceAddr::server(&entry.name.value);
        let goal = desired.get(&me).copied();
        let (deps, spans) = refs.dependencies(&mut ctx, &me, goal, &entry.depends_on);
        if let Some(mut s) = server(&mut ctx, entry, sdef, def_test.as_ref()) {
            s.depends_on = deps;
            s.window = match &entry.settings.window {
                Some(_) => windows.reference(
                    &mut ctx,
                    entry.settings.window.as_ref(),
                    &format!("server `{}`", quote(&entry.name.value)),
                ),
                None => def_server_window.clone(),
            };
            dep_spans.insert(me, spans);
            servers.push(s);
        }
    }
    let mut redis = Vec::with_capacity(redis_docs.len());
    for entry in &redis_docs {
        let me = ResourceAddr::redis(&entry.name.value);
        let goal = desired.get(&me).copied();
        let (deps, spans) = refs.dependencies(&mut ctx, &me, goal, &entry.depends_on);
        if let Some(mut r) = redis_entry(&mut ctx, entry, rdef) {
            r.depends_on = deps;
            r.window = match &entry.settings.window {
                Some(_) => windows.reference(
                    &mut ctx,
                    entry.settings.window.as_ref(),
                    &format!("redis `{}`", quote(&entry.name.value)),
                ),
                None => def_redis_window.clone(),
            };
            dep_spans.insert(me, spans);
            redis.push(r);
        }
    }

    let mut wave_spans = HashMap::new();
    let waves = waves(&mut ctx, &doc.waves, &refs, &windows, &mut wave_spans);
    map.waves = wave_spans;
    Resolved {
        spec: Spec {
            name: doc.name.value.clone(),
            cloud,
            servers,
            redis,
            waves,
            windows: windows.specs,
        },
        map,
        dep_spans,
    }
}

fn cloud(ctx: &mut Ctx<'_>, c: &CloudSection) -> CloudSpec {
    let region = &c.region;
    let region_ok = !region.value.is_empty()
        && region
            .value
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
    if !region_ok {
        ctx.push(
            PlanDiagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a region code", quote(&region.value)),
                region.span,
                "not a region code",
            )
            .with_help("region codes look like `ap-southeast-3` or `cn-north-4`"),
        );
    }
    let pid = &c.project_id;
    if pid.value.len() != 32 || !pid.value.chars().all(|ch| ch.is_ascii_hexdigit()) {
        ctx.push(
            PlanDiagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a project id", quote(&pid.value)),
                pid.span,
                "expected 32 hexadecimal characters",
            )
            .with_help("find the project id for the region under My Credentials → API Credentials in the console"),
        );
    }
    CloudSpec {
        region: region.value.clone(),
        project_id: pid.value.to_ascii_lowercase(),
        project_name: value(&c.project_name).unwrap_or_else(|| region.value.clone()),
        domain_id: value(&c.domain_id),
        enterprise_project_id: value(&c.enterprise_project_id),
        quotas: Quotas {
            sms_concurrent_migrations: c
                .quotas
                .as_ref()
                .and_then(|q| q.value.sms_concurrent_migrations.as_ref())
                .map_or(Quotas::DEFAULT_SMS_CONCURRENT_MIGRATIONS, |n| n.value),
        },
    }
}

/// `def_test` is `defaults.servers.test`, checked once: `None` when not set, `Some(None)` when
/// invalid (already reported).
fn server(
    ctx: &mut Ctx<'_>,
    e: &ServerEntry,
    def: Option<&ServerSettings>,
    def_test: Option<&Option<Option<TestSpec>>>,
) -> Option<ServerSpec> {
    let what = format!("server `{}`", quote(&e.name.value));
    let s = &e.settings;
    let stage = pick(&s.stage, def.map(|d| &d.stage));
    let syncing = pick(&s.syncing, def.map(|d| &d.syncing));
    let target = pick(&s.target, def.map(|d| &d.target));
    let use_ipv6 = pick(&s.use_ipv6, def.map(|d| &d.use_ipv6));

    let written =
        |key: &str| s.written.contains(key) || def.is_some_and(|d| d.written.contains(key));
    if stage.is_none() && !written("stage") {
        ctx.missing(
            &what,
            e.name.span,
            "stage",
            "say how far it should get, e.g. `stage: replicated` (or set `defaults.servers.stage`); stages: `configured`, `replicated`, `synced`, `drilled`, `tested`, `cutover`, `cleared`",
        );
    }
    if let Some(st) = &stage
        && st.value == ServerStage::Synced
        && !syncing.as_ref().is_some_and(|s| s.value)
    {
        let mut d = PlanDiagnostic::new(
            Code::Conflict,
            format!("{what} asks for stage `synced` without continuous sync"),
            st.span,
            "needs `syncing: true`",
        )
        .with_help("an incremental sync round only happens when `syncing: true`; set it, or choose another stage");
        if let Some(sy) = &syncing {
            d = d.with_related(sy.span, "sync is turned off here");
        }
        ctx.push(d);
    }
    let max_sync_age = pick(
        &s.max_sync_age_seconds,
        def.map(|d| &d.max_sync_age_seconds),
    );
    if let Some(age) = &max_sync_age
        && !syncing.as_ref().is_some_and(|s| s.value)
    {
        let mut d = PlanDiagnostic::new(
            Code::Conflict,
            format!("{what} sets a sync age without continuous sync"),
            age.span,
            "needs `syncing: true`",
        )
        .with_help("a final sync round before the cutover needs `syncing: true`; set it, or remove `max_sync_age_seconds`");
        if let Some(sy) = &syncing {
            d = d.with_related(sy.span, "sync is turned off here");
        }
        ctx.push(d);
    }
    let migration_test = pick(&s.migration_test, def.map(|d| &d.migration_test));
    if let Some(st) = &stage
        && st.value == ServerStage::Drilled
        && !migration_test.as_ref().is_some_and(|m| m.value)
    {
        let mut d = PlanDiagnostic::new(
            Code::Conflict,
            format!("{what} asks for stage `drilled` without the migration drill"),
            st.span,
            "needs `migration_test: true`",
        )
        .with_help("the drill (SMS `migration_test`) only runs on a task created with `migration_test: true`; set it, or choose another stage");
        if let Some(m) = &migration_test {
            d = d.with_related(m.span, "the drill is turned off here");
        }
        ctx.push(d);
    }
    let target = match target {
        None if written("target") => None,
        None => {
            ctx.missing(
                &what,
                e.name.span,
                "target",
                "add `target: {template: NAME}` to create the target ECS from a template, or `target: {server_id: ID, migration_ip: IP}` for an existing ECS (or set `defaults.servers.target`)",
            );
            None
        }
        Some(t) => target_of(ctx, &what, &t, use_ipv6.as_ref()),
    };
    let speed_limit = pick(&s.speed_limit, def.map(|d| &d.speed_limit));
    // `None`: set but invalid (reported); `Some(None)`: not set.
    let test = match (&s.test, def_test) {
        (Some(t), _) => test_of(ctx, &what, t),
        (None, Some(d)) => d.clone(),
        (None, None) => Some(None),
    };
    let network_check = match pick(&s.network_check, def.map(|d| &d.network_check)) {
        None => Some(None),
        Some(n) => network_check_of(ctx, &what, &n, speed_limit.as_ref()),
    };
    let source = match &e.source {
        None => SourceRef::Name(e.name.value.clone()),
        Some(SourceDoc::Name(n)) => SourceRef::Name(n.value.clone()),
        Some(SourceDoc::Id(id)) => SourceRef::Id(id.value.clone()),
    };
    if let Some(SourceDoc::Name(n) | SourceDoc::Id(n)) = &e.source
        && n.value.trim().is_empty()
    {
        ctx.push(PlanDiagnostic::new(
            Code::InvalidValue,
            format!("{what} has an empty `source`"),
            n.span,
            "empty",
        ));
    }
    Some(ServerSpec {
        name: e.name.value.clone(),
        source,
        task_type: value(&pick(&s.task_type, def.map(|d| &d.task_type)))
            .unwrap_or(TaskType::MigrateBlock),
        os_type: value(&pick(&s.os_type, def.map(|d| &d.os_type))),
        target: target?,
        speed_limit: value(&speed_limit),
        over_speed_threshold: value(&pick(
            &s.over_speed_threshold,
            def.map(|d| &d.over_speed_threshold),
        )),
        priority: value(&pick(&s.priority, def.map(|d| &d.priority))),
        start_target_server: value(&pick(
            &s.start_target_server,
            def.map(|d| &d.start_target_server),
        )),
        syncing: value(&syncing).unwrap_or(false),
        max_sync_age_seconds: value(&max_sync_age),
        use_public_ip: value(&pick(&s.use_public_ip, def.map(|d| &d.use_public_ip))),
        use_ipv6: value(&use_ipv6),
        start_network_check: value(&pick(
            &s.start_network_check,
            def.map(|d| &d.start_network_check),
        )),
        consistency_check: value(&pick(
            &s.consistency_check,
            def.map(|d| &d.consistency_check),
        )),
        migration_test: value(&migration_test),
        paused: value(&pick(&s.paused, def.map(|d| &d.paused))).unwrap_or(false),
        on_failure: pick(&s.on_failure, def.map(|d| &d.on_failure)).map(|o| OnFailure {
            restart: o.value.restart.value,
        }),
        test: test?,
        network_check: network_check?,
        window: None,
        stage: stage?.value,
        depends_on: Vec::new(),
    })
}

/// `test`: `mode: clone` needs a template; `mode: in_place` takes none. `None` when invalid.
fn test_of(ctx: &mut Ctx<'_>, what: &str, t: &Sp<TestDoc>) -> Option<Option<TestSpec>> {
    let TestDoc { mode, template } = &t.value;
    match (mode.value, template) {
        (TestMode::Clone, None) => {
            ctx.push(
                PlanDiagnostic::new(
                    Code::MissingField,
                    format!("{what} tests on a clone but names no template for it"),
                    mode.span,
                    "needs `template`",
                )
                .with_help("SMS creates the clone from a server template: write `test: {mode: clone, template: NAME_OR_ID}`, or `mode: in_place` to launch the target itself"),
            );
            None
        }
        (TestMode::Clone, Some(tpl)) if tpl.value.trim().is_empty() => {
            ctx.push(
                PlanDiagnostic::new(
                    Code::InvalidValue,
                    format!("{what} has an empty test `template`"),
                    tpl.span,
                    "empty",
                )
                .with_help("name the SMS server template (name or id) the clone is created from"),
            );
            None
        }
        (TestMode::InPlace, Some(tpl)) => {
            ctx.push(
                PlanDiagnostic::new(
                    Code::Conflict,
                    format!("{what} tests in place but names a template for a clone"),
                    tpl.span,
                    "only used with `mode: clone`",
                )
                .with_related(mode.span, "the target itself is launched")
                .with_help("an in-place test launches the target server, so no template is used: remove `template`, or write `mode: clone` to test on a clone"),
            );
            None
        }
        (mode, tpl) => Some(Some(TestSpec {
            mode,
            template: tpl.as_ref().map(|t| t.value.clone()),
        })),
    }
}

/// `network_check`: a minimum above the task's own `speed_limit` could never be measured.
fn network_check_of(
    ctx: &mut Ctx<'_>,
    what: &str,
    n: &Sp<NetworkCheckDoc>,
    speed_limit: Option<&Sp<u32>>,
) -> Option<Option<NetworkCheck>> {
    let min = &n.value.min_mbps;
    if let Some(limit) = speed_limit
        && limit.value > 0
        && min.value > f64::from(limit.value)
    {
        ctx.push(
            PlanDiagnostic::new(
                Code::Conflict,
                format!(
                    "{what} requires {} Mbit/s from its network check but caps the task at {} Mbit/s",
                    min.value, limit.value
                ),
                min.span,
                "above `speed_limit`",
            )
            .with_related(limit.span, "the task's cap")
            .with_help("the task never migrates faster than `speed_limit`, so asking the network check for more can block `start` for good: lower `min_mbps` or raise `speed_limit`"),
        );
        return None;
    }
    Some(Some(NetworkCheck {
        min_mbps: min.value,
    }))
}

fn target_of(
    ctx: &mut Ctx<'_>,
    what: &str,
    t: &Sp<TargetDoc>,
    use_ipv6: Option<&Sp<bool>>,
) -> Option<Target> {
    let TargetDoc {
        template,
        server_id,
        migration_ip,
    } = &t.value;
    match (template, server_id) {
        (Some(tpl), Some(id)) => {
            ctx.push(
                PlanDiagnostic::new(
                    Code::Conflict,
                    format!("{what} has both a template and an existing server as target"),
                    id.span,
                    "existing server",
                )
                .with_related(tpl.span, "template")
                .with_help("choose one: `template` creates a new ECS, `server_id` migrates onto an existing one"),
            );
            None
        }
        (Some(tpl), None) => {
            if let Some(ip) = migration_ip {
                ctx.push(
                    PlanDiagnostic::new(
                        Code::Conflict,
                        format!("{what} sets `migration_ip` for a target created from a template"),
                        ip.span,
                        "only used with `server_id`",
                    )
                    .with_help("SMS assigns the address of a new ECS itself; remove `migration_ip`, or target an existing ECS with `server_id`"),
                );
                return None;
            }
            Some(Target::Template(tpl.value.clone()))
        }
        (None, Some(id)) => {
            let Some(ip) = migration_ip else {
                ctx.push(
                    PlanDiagnostic::new(
                        Code::Conflict,
                        format!("{what} targets an existing server without `migration_ip`"),
                        id.span,
                        "needs `migration_ip`",
                    )
                    .with_help("add `migration_ip: IP`, the address the source reaches the existing ECS on"),
                );
                return None;
            };
            let Ok(addr) = ip.value.parse::<IpAddr>() else {
                ctx.push(
                    PlanDiagnostic::new(
                        Code::InvalidValue,
                        format!("`{}` is not an IP address", quote(&ip.value)),
                        ip.span,
                        "not an IPv4 or IPv6 address",
                    )
                    .with_help("write an address like `192.168.0.10` or `fd00::10`"),
                );
                return None;
            };
            let wants_v6 = use_ipv6.is_some_and(|u| u.value);
            if addr.is_ipv6() != wants_v6 {
                let mut d = PlanDiagnostic::new(
                    Code::Conflict,
                    format!(
                        "{what} has an {} `migration_ip` but {}",
                        if addr.is_ipv6() { "IPv6" } else { "IPv4" },
                        if wants_v6 {
                            "`use_ipv6: true`"
                        } else {
                            "IPv6 is not enabled"
                        }
                    ),
                    ip.span,
                    "address family does not match `use_ipv6`",
                )
                .with_help("set `use_ipv6: true` for an IPv6 address, or give an IPv4 address");
                if let Some(u) = use_ipv6 {
                    d = d.with_related(u.span, "set here");
                }
                ctx.push(d);
                return None;
            }
            Some(Target::Existing {
                server_id: id.value.clone(),
                migration_ip: addr,
            })
        }
        (None, None) => {
            ctx.push(
                PlanDiagnostic::new(
                    Code::MissingField,
                    format!("{what} has an empty target"),
                    t.span,
                    "no `template` or `server_id`",
                )
                .with_help("write `{template: NAME}` or `{server_id: ID, migration_ip: IP}`"),
            );
            None
        }
    }
}

fn redis_entry(
    ctx: &mut Ctx<'_>,
    e: &RedisEntry,
    def: Option<&RedisSettings>,
) -> Option<RedisSpec> {
    let what = format!("redis `{}`", quote(&e.name.value));
    let s = &e.settings;
    let method = pick(&s.method, def.map(|d| &d.method));
    let stage = pick(&s.stage, def.map(|d| &d.stage));
    let network = pick(&s.network, def.map(|d| &d.network));
    let written =
        |key: &str| s.written.contains(key) || def.is_some_and(|d| d.written.contains(key));
    if method.is_none() && !written("method") {
        ctx.missing(&what, e.name.span, "method", "add `method: full` (one copy) or `method: incremental` (copy, then sync until stopped), or set `defaults.redis.method`");
    }
    if stage.is_none() && !written("stage") {
        ctx.missing(&what, e.name.span, "stage", "say how far it should get: `created`, `migrated`, `verified` or `stopped` (or set `defaults.redis.stage`)");
    }
    if network.is_none() && !written("network") {
        ctx.missing(&what, e.name.span, "network", "add `network: {vpc_id: ..., subnet_id: ..., security_group_id: ...}` for the migration ECS (or set `defaults.redis.network`)");
    }
    if let (Some(m), Some(st)) = (&method, &stage)
        && m.value == RedisMethod::Full
        && st.value == RedisStage::Stopped
    {
        ctx.push(
            PlanDiagnostic::new(
                Code::Conflict,
                format!("{what} is a full migration but asks for stage `stopped`"),
                st.span,
                "only incremental migrations are stopped",
            )
            .with_related(m.span, "full migration")
            .with_help("a full migration ends on its own once copied: use `stage: migrated`, or `method: incremental`"),
        );
    }
    let verify = verify_of(
        ctx,
        &what,
        pick(&s.verify, def.map(|d| &d.verify)).as_ref(),
        method.as_ref(),
    );
    let source = endpoint(ctx, &what, "source", &e.source);
    let target = endpoint(ctx, &what, "target", &e.target);
    if let (Some(a), Some(b)) = (&source, &target)
        && a.instance == b.instance
    {
        ctx.push(
            PlanDiagnostic::new(
                Code::Conflict,
                format!("{what} migrates an instance onto itself"),
                e.target.span,
                "same as the source",
            )
            .with_related(e.source.span, "source")
            .with_help("source and target must be different Redis instances"),
        );
    }
    Some(RedisSpec {
        name: e.name.value.clone(),
        description: value(&e.description),
        method: method?.value,
        resume_mode: value(&pick(&s.resume_mode, def.map(|d| &d.resume_mode)))
            .unwrap_or(ResumeMode::Auto),
        bandwidth_limit_mb: value(&pick(
            &s.bandwidth_limit_mb,
            def.map(|d| &d.bandwidth_limit_mb),
        )),
        network: network.map(|n| NetworkSpec {
            vpc_id: n.value.vpc_id.value,
            subnet_id: n.value.subnet_id.value,
            security_group_id: n.value.security_group_id.value,
        })?,
        source: source?,
        target: target?,
        window: None,
        stage: stage?.value,
        verify: verify?,
        depends_on: Vec::new(),
    })
}

/// `verify:` with defaults applied. A lag budget needs a replication to measure, and an
/// address override must be `HOST:PORT`.
fn verify_of(
    ctx: &mut Ctx<'_>,
    what: &str,
    v: Option<&Sp<VerifyDoc>>,
    method: Option<&Sp<RedisMethod>>,
) -> Option<VerifySpec> {
    let doc = v.map(|v| &v.value);
    let incremental = method.is_none_or(|m| m.value == RedisMethod::Incremental);
    if let (Some(lag), Some(m)) = (doc.and_then(|d| d.lag_budget_seconds.as_ref()), method)
        && m.value == RedisMethod::Full
    {
        ctx.push(
            PlanDiagnostic::new(
                Code::Conflict,
                format!("{what} is a full migration but sets a lag budget"),
                lag.span,
                "no replication to measure",
            )
            .with_related(m.span, "full migration")
            .with_help("a full migration copies once and does not follow the source: remove `lag_budget_seconds`, or use `method: incremental`"),
        );
        return None;
    }
    let mut ok = true;
    for (field, addr) in [
        (
            "source_address",
            doc.and_then(|d| d.source_address.as_ref()),
        ),
        (
            "target_address",
            doc.and_then(|d| d.target_address.as_ref()),
        ),
    ] {
        if let Some(a) = addr
            && !is_host_port(&a.value)
        {
            ok = false;
            ctx.push(
                PlanDiagnostic::new(
                    Code::InvalidValue,
                    format!("`{field}` is `{}`", quote(&a.value)),
                    a.span,
                    "not HOST:PORT",
                )
                .with_help("write the address migplan connects to as `HOST:PORT`, e.g. `redis.internal:6379` or `[fd00::5]:6379`"),
            );
        }
    }
    if !ok {
        return None;
    }
    let text = |f: Option<&Sp<String>>| f.map(|s| s.value.clone());
    Some(VerifySpec {
        written: doc.is_some(),
        samples: doc
            .and_then(|d| d.samples.as_ref())
            .map_or(Samples::Count(1000), |s| s.value),
        key_tolerance: text(doc.and_then(|d| d.key_tolerance.as_ref()))
            .unwrap_or_else(|| "0".into()),
        ttl_tolerance_seconds: doc
            .and_then(|d| d.ttl_tolerance_seconds.as_ref())
            .map_or(2, |s| s.value),
        lag_budget_seconds: incremental.then(|| {
            doc.and_then(|d| d.lag_budget_seconds.as_ref())
                .map_or(30, |s| s.value)
        }),
        time_budget_seconds: doc
            .and_then(|d| d.time_budget_seconds.as_ref())
            .map_or(300, |s| s.value),
        source_address: text(doc.and_then(|d| d.source_address.as_ref())),
        target_address: text(doc.and_then(|d| d.target_address.as_ref())),
    })
}

/// `HOST:PORT` (`[v6]:PORT`), port 1 to 65535.
fn is_host_port(s: &str) -> bool {
    let Some((host, port)) = s.trim().rsplit_once(':') else {
        return false;
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    !host.is_empty() && !host.contains([' ', '/']) && port.parse::<u16>().is_ok_and(|p| p > 0)
}

fn endpoint(
    ctx: &mut Ctx<'_>,
    what: &str,
    side: &str,
    ep: &Sp<EndpointDoc>,
) -> Option<RedisEndpoint> {
    let e = &ep.value;
    let password = e.password.as_ref().map(|p| SecretRef {
        env: p.value.env.value.clone(),
    });
    let instance = match (&e.instance_id, &e.addrs) {
        (Some(id), Some(addrs)) => {
            ctx.push(
                PlanDiagnostic::new(
                    Code::Conflict,
                    format!("{what} {side} has both `instance_id` and `addrs`"),
                    addrs.span,
                    "addresses",
                )
                .with_related(id.span, "instance id")
                .with_help("use `instance_id` for a DCS instance, `addrs` for a self-hosted Redis; not both"),
            );
            return None;
        }
        (Some(id), None) => RedisInstance::Id(id.value.clone()),
        (None, Some(addrs)) => {
            let mut ok = true;
            for a in &addrs.value.0 {
                if !valid_host_port(&a.value) {
                    ok = false;
                    ctx.push(
                        PlanDiagnostic::new(
                            Code::InvalidValue,
                            format!("`{}` is not a `host:port` address", quote(&a.value)),
                            a.span,
                            "expected `host:port`",
                        )
                        .with_help("write addresses like `10.0.0.1:6379`, separated by commas"),
                    );
                }
            }
            if addrs.value.0.is_empty() {
                ok = false;
                ctx.missing(
                    &format!("{what} {side}"),
                    addrs.span,
                    "addrs",
                    "list at least one `host:port`",
                );
            }
            if !ok {
                return None;
            }
            RedisInstance::Addrs(addrs.value.0.iter().map(|a| a.value.clone()).collect())
        }
        (None, None) => {
            ctx.push(
                PlanDiagnostic::new(
                    Code::MissingField,
                    format!("{what} {side} has no `instance_id` or `addrs`"),
                    ep.span,
                    "which Redis?",
                )
                .with_help("use `instance_id` for a DCS instance, `addrs: \"host:port\"` for a self-hosted Redis"),
            );
            return None;
        }
    };
    Some(RedisEndpoint { instance, password })
}

fn valid_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    !host.is_empty()
        && !host.contains(char::is_whitespace)
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// What references resolve against.
struct References<'a> {
    declared: &'a HashMap<ResourceAddr, Span>,
    /// Declared addresses by bare name, for "did you mean `server.NAME`?".
    by_name: HashMap<&'a str, &'a ResourceAddr>,
    desired: &'a HashMap<ResourceAddr, Stage>,
    /// Work left for "did you mean" among the plan's names (see [`closest_within`]).
    suggest_budget: std::cell::Cell<usize>,
}

/// Work spent at most on suggesting declared names for bad references, in character pairs
/// compared: plenty for the first hundreds of typos in a fleet plan, and linear beyond.
const SUGGEST_BUDGET: usize = 50_000_000;

/// An address for a message: quoted user text, bounded.
fn shown(addr: &ResourceAddr) -> String {
    quote(&addr.to_string())
}

impl References<'_> {
    /// Parses `server.NAME` / `redis.NAME[@STAGE]` and checks it names a declared resource.
    fn address(
        &self,
        ctx: &mut Ctx<'_>,
        text: &Sp<String>,
        allow_stage: bool,
    ) -> Option<(ResourceAddr, Option<Stage>)> {
        let (addr_text, stage_text) = match text.value.split_once('@') {
            Some((a, s)) => (a, Some(s)),
            None => (text.value.as_str(), None),
        };
        let Some((kind_text, name)) = addr_text.split_once('.') else {
            let guess = self
                .by_name
                .get(addr_text)
                .map(|a| format!("did you mean `{}`? ", shown(a)))
                .unwrap_or_default();
            ctx.push(
                PlanDiagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a resource address", quote(&text.value)),
                    text.span,
                    "expected `server.NAME` or `redis.NAME`",
                )
                .with_help(format!("{guess}addresses are `server.NAME` or `redis.NAME`, optionally followed by `@STAGE`")),
            );
            return None;
        };
        let Some(kind) = ResourceKind::parse(kind_text) else {
            let help = match closest(kind_text, ["server", "redis"]) {
                Some(k) => format!("did you mean `{k}.{}`?", quote(name)),
                None => "addresses start with `server.` or `redis.`".to_string(),
            };
            ctx.push(
                PlanDiagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "unknown resource kind `{}` in `{}`",
                        quote(kind_text),
                        quote(&text.value)
                    ),
                    text.span,
                    "unknown kind",
                )
                .with_help(help),
            );
            return None;
        };
        let addr = ResourceAddr {
            kind,
            name: name.to_string(),
        };
        if !self.declared.contains_key(&addr) {
            let same_kind = self
                .declared
                .keys()
                .filter(|a| a.kind == kind)
                .map(|a| a.name.as_str());
            let other = ResourceAddr {
                kind: if kind == ResourceKind::Server {
                    ResourceKind::Redis
                } else {
                    ResourceKind::Server
                },
                name: name.to_string(),
            };
            let mut budget = self.suggest_budget.get();
            let suggestion = closest_within(name, same_kind, &mut budget);
            self.suggest_budget.set(budget);
            let help = if let Some(n) = suggestion {
                format!("did you mean `{kind}.{}`?", quote(n))
            } else if self.declared.contains_key(&other) {
                format!(
                    "there is no {kind} entry `{}`, but there is `{}`",
                    quote(name),
                    shown(&other)
                )
            } else {
                format!(
                    "declare a {kind} entry named `{}`, or fix the reference",
                    quote(name)
                )
            };
            ctx.push(
                PlanDiagnostic::new(
                    Code::UnknownReference,
                    format!("`{}` is not declared in this plan", shown(&addr)),
                    text.span,
                    "no such resource",
                )
                .with_help(help),
            );
            return None;
        }
        let stage = match stage_text {
            None => None,
            Some(_) if !allow_stage => {
                ctx.push(
                    PlanDiagnostic::new(
                        Code::InvalidValue,
                        format!(
                            "wave members are whole resources; `{}` names a stage",
                            quote(&text.value)
                        ),
                        text.span,
                        "stage not allowed here",
                    )
                    .with_help(format!("write `{}`", shown(&addr))),
                );
                return None;
            }
            Some(st) => {
                let Some(stage) = Stage::parse(kind, st) else {
                    self.unknown_stage(ctx, kind, st, text.span);
                    return None;
                };
                if let Some(goal) = self.desired.get(&addr)
                    && stage.rank() > goal.rank()
                {
                    let decl = self.declared.get(&addr).copied().unwrap_or_default();
                    ctx.push(
                        PlanDiagnostic::new(
                            Code::Conflict,
                            format!(
                                "`{}` stops at stage `{goal}`, so `@{stage}` is never reached",
                                shown(&addr)
                            ),
                            text.span,
                            "this would wait forever",
                        )
                        .with_related(decl, format!("declared with stage `{goal}`"))
                        .with_help(format!(
                            "wait for `{}@{goal}` or an earlier stage, or raise its stage",
                            shown(&addr)
                        )),
                    );
                    return None;
                }
                Some(stage)
            }
        };
        Some((addr, stage))
    }

    fn unknown_stage(&self, ctx: &mut Ctx<'_>, kind: ResourceKind, st: &str, span: Span) {
        let (names, expected): (Vec<&str>, String) = match kind {
            ResourceKind::Server => (
                ServerStage::ALL.iter().map(|(k, _)| *k).collect(),
                ServerStage::expected(),
            ),
            ResourceKind::Redis => (
                RedisStage::ALL.iter().map(|(k, _)| *k).collect(),
                RedisStage::expected(),
            ),
        };
        let hint = closest(st, names)
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        ctx.push(
            PlanDiagnostic::new(
                Code::UnknownStage,
                format!("`{}` is not a {kind} stage", quote(st)),
                span,
                "unknown stage",
            )
            .with_help(format!("{hint}{kind} stages are {expected}")),
        );
    }

    fn dependencies(
        &self,
        ctx: &mut Ctx<'_>,
        me: &ResourceAddr,
        my_goal: Option<Stage>,
        docs: &[DependencyDoc],
    ) -> (Vec<Dependency>, Vec<Span>) {
        let mut deps = Vec::with_capacity(docs.len());
        let mut spans = Vec::with_capacity(docs.len());
        for d in docs {
            let stage = match &d.stage {
                None => None,
                Some(st) => match Stage::parse(me.kind, &st.value) {
                    None => {
                        self.unknown_stage(ctx, me.kind, &st.value, st.span);
                        continue;
                    }
                    Some(s) if my_goal.is_some_and(|g| s.rank() > g.rank()) => {
                        let my_goal = my_goal.map_or("", Stage::as_str);
                        ctx.push(
                            PlanDiagnostic::new(
                                Code::Conflict,
                                format!(
                                    "`{}` waits at stage `{s}` but only goes to `{my_goal}`",
                                    shown(me)
                                ),
                                st.span,
                                "this stage is never reached",
                            )
                            .with_help(format!(
                                "wait at `{my_goal}` or earlier, or raise this resource's stage"
                            )),
                        );
                        continue;
                    }
                    Some(s) => Some(s),
                },
            };
            let Some((on, on_stage)) = self.address(ctx, &d.on, true) else {
                continue;
            };
            deps.push(Dependency {
                stage,
                on,
                on_stage,
            });
            spans.push(d.on.span);
        }
        (deps, spans)
    }
}

fn waves(
    ctx: &mut Ctx<'_>,
    docs: &[WaveEntry],
    refs: &References<'_>,
    windows: &Windows,
    spans: &mut HashMap<String, Span>,
) -> Vec<WaveSpec> {
    let mut seen = HashMap::new();
    let mut member_of: HashMap<ResourceAddr, (String, Span)> = HashMap::new();
    let mut out = Vec::with_capacity(docs.len());
    for w in docs {
        ctx.check_name(&w.name, "wave", 1, 64);
        if !check_unique(ctx, &mut seen, &w.name, "wave") {
            continue;
        }
        spans.insert(w.name.value.clone(), w.name.span);
        let mut members = Vec::with_capacity(w.members.len());
        let mut here = HashSet::new();
        for m in &w.members {
            let Some((addr, _)) = refs.address(ctx, m, false) else {
                continue;
            };
            if let Some((other, first)) = member_of.get(&addr) {
                let what = if *other == w.name.value && here.contains(&addr) {
                    format!(
                        "`{}` is listed twice in wave `{}`",
                        shown(&addr),
                        quote(other)
                    )
                } else {
                    format!(
                        "`{}` is in two waves, `{}` and `{}`",
                        shown(&addr),
                        quote(other),
                        quote(&w.name.value)
                    )
                };
                ctx.push(
                    PlanDiagnostic::new(Code::Conflict, what, m.span, "listed again")
                        .with_related(*first, "first listed here")
                        .with_help("a resource belongs to at most one wave"),
                );
                continue;
            }
            member_of.insert(addr.clone(), (w.name.value.clone(), m.span));
            here.insert(addr.clone());
            members.push(addr);
        }
        out.push(WaveSpec {
            name: w.name.value.clone(),
            max_parallel: w.max_parallel.as_ref().map(|m| m.value),
            members,
            window: windows.reference(
                ctx,
                w.window.as_ref(),
                &format!("wave `{}`", quote(&w.name.value)),
            ),
        });
    }
    out
}

/// The plan's maintenance windows: the valid ones, and every declared name (a window with a
/// mistake is still declared, so references to it are not reported a second time).
struct Windows {
    specs: Vec<WindowSpec>,
    declared: Vec<String>,
}

impl Windows {
    fn resolve(ctx: &mut Ctx<'_>, docs: &[WindowEntry]) -> Windows {
        let mut seen = HashMap::new();
        let mut out = Windows {
            specs: Vec::with_capacity(docs.len()),
            declared: Vec::with_capacity(docs.len()),
        };
        for w in docs {
            ctx.check_name(&w.name, "window", 1, 64);
            if !check_unique(ctx, &mut seen, &w.name, "window") {
                continue;
            }
            out.declared.push(w.name.value.clone());
            let mut time = |t: &Sp<String>, which: &str| {
                let parsed = TimeOfDay::parse(&t.value);
                if parsed.is_none() {
                    ctx.push(
                        PlanDiagnostic::new(
                            Code::InvalidValue,
                            format!("`{}` is not a time of day", quote(&t.value)),
                            t.span,
                            "not HH:MM",
                        )
                        .with_help(format!("write the {which} time as `HH:MM` on a 24-hour clock, e.g. `01:00` or `23:30`")),
                    );
                }
                parsed
            };
            let (start, end) = (time(&w.start, "opening"), time(&w.end, "closing"));
            if let (Some(a), Some(b)) = (start, end)
                && a == b
            {
                ctx.push(
                    PlanDiagnostic::new(
                        Code::Conflict,
                        format!("window `{}` opens and closes at {a}", quote(&w.name.value)),
                        w.end.span,
                        "same as `start`",
                    )
                    .with_help("a window needs a length: give a closing time after the opening (a time before it closes on the next day)"),
                );
            }
            let tz_ok = match check_timezone(&w.timezone.value) {
                Ok(()) => true,
                Err(why) => {
                    ctx.push(
                        PlanDiagnostic::new(
                            Code::InvalidValue,
                            why,
                            w.timezone.span,
                            "unknown time zone",
                        )
                        .with_help(
                            "use an IANA name such as `Europe/Berlin`, `Asia/Singapore` or `UTC`",
                        ),
                    );
                    false
                }
            };
            let mut days: Vec<Weekday> = match &w.days {
                None => Weekday::ALL.iter().map(|(_, d)| *d).collect(),
                Some(list) => list.iter().map(|d| d.value).collect(),
            };
            if w.days.as_ref().is_some_and(|d| d.is_empty()) {
                ctx.push(
                    PlanDiagnostic::new(Code::InvalidValue, format!("window `{}` lists no days", quote(&w.name.value)), w.name.span, "never opens")
                        .with_help("list the days it opens on (`days: [sat, sun]`), or leave `days` out for every day"),
                );
            }
            days.sort_unstable();
            days.dedup();
            if let (Some(start), Some(end), true, false) = (start, end, tz_ok, days.is_empty()) {
                out.specs.push(WindowSpec {
                    name: w.name.value.clone(),
                    days,
                    start,
                    end,
                    timezone: w.timezone.value.clone(),
                });
            }
        }
        out
    }

    /// The window `r` names, checked to exist; `None` when it names none or an unknown one
    /// (reported).
    fn reference(&self, ctx: &mut Ctx<'_>, r: Option<&Sp<String>>, what: &str) -> Option<String> {
        let r = r?;
        if self.declared.contains(&r.value) {
            return Some(r.value.clone());
        }
        let help = match closest(&r.value, self.declared.iter().map(String::as_str)) {
            Some(n) => format!("did you mean `{n}`?"),
            None if self.declared.is_empty() => {
                "declare it under `windows:` (name, days, start, end, timezone)".into()
            }
            None => format!(
                "the plan's windows are {}",
                self.declared
                    .iter()
                    .map(|d| format!("`{}`", quote(d)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        ctx.push(
            PlanDiagnostic::new(
                Code::UnknownReference,
                format!(
                    "{what} names window `{}`, which the plan does not declare",
                    quote(&r.value)
                ),
                r.span,
                "unknown window",
            )
            .with_help(help),
        );
        None
    }
}
