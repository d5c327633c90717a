//! [`plan`]: spec + live snapshot → resources, blocked reasons, step DAG → [`Plan`].

use std::collections::{HashMap, VecDeque};

use migplan_parser::{
    Dependency, RedisSpec, RedisStage, ResourceAddr, ResourceKind, ServerSpec, ServerStage,
    SourceRef, Spec, Stage, Target, TestMode,
};

use migplan_wire::sms::{SourceState, TaskState};

use crate::blocked::{Blocked, BlockedReason, RestartCount};
use crate::chain::{RedisChainInput, ServerChainInput, redis_steps, server_steps};
use crate::current::{
    Current, NetworkResult, Unreadable, consistency_check_running, kbps, redis_current,
    restarts_recorded, server_current,
};
use crate::diff::{Change, FieldDiff, redis_diffs, server_diffs, unified};
use crate::error::PlanError;
use crate::fingerprint::{FingerprintInputs, redis_inputs, server_inputs};
use crate::forecast::QuotaPlan;
use crate::gates::{apply_windows, drop_served_checks};
use crate::identity::{RedisIdentity, ServerIdentity, Side};
use crate::plan::{FORMAT_VERSION, Plan, PlanOptions, ResourcePlan, Summary, WavePlan};
use crate::snapshot::{LiveIndex, LiveSnapshot, Match};
use crate::step::Step;
use crate::step::StepClass;
use crate::wiring::{Item, build_graph, propagate_blocked};

/// Plans `spec` against `live`. Pure: no I/O, no clock.
///
/// Resources are matched to live objects by name; each gets its current stage, field diffs,
/// blocked reasons and a chain of steps; dependencies and waves become edges of one DAG whose
/// deterministic topological order is [`Plan::steps`].
pub fn plan(spec: &Spec, live: &LiveSnapshot, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let keep = select(spec, &opts.targets)?;
    // The stage each kept resource is planned to: its own, or (under --target) only as far as
    // what was targeted needs it. `None`: not kept.
    let goal = |a: &ResourceAddr, own: Stage| match &keep {
        None => Some(own),
        Some(k) => k.get(a).map(|&need| need.earlier(own)),
    };
    let ix = LiveIndex::new(live);
    let mut items: Vec<Item<'_>> = Vec::new();
    for s in &spec.servers {
        if let Some(Stage::Server(stage)) =
            goal(&ResourceAddr::server(&s.name), Stage::Server(s.stage))
        {
            items.push(plan_server(s, stage, &ix));
        }
    }
    let compared: std::collections::HashSet<&str> = spec
        .compared_redis()
        .into_iter()
        .map(|r| r.name.as_str())
        .collect();
    for r in &spec.redis {
        if let Some(Stage::Redis(stage)) =
            goal(&ResourceAddr::redis(&r.name), Stage::Redis(r.stage))
        {
            let verify = compared
                .contains(r.name.as_str())
                .then(|| crate::kinds::Verify::of(r));
            items.push(plan_redis(r, stage, verify, &ix, &opts.unset_secrets));
        }
    }
    let pos: HashMap<ResourceAddr, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.plan.addr.clone(), i))
        .collect();
    let waves: Vec<(&str, Vec<usize>)> = spec
        .waves
        .iter()
        .map(|w| {
            let members = w
                .members
                .iter()
                .filter_map(|m| pos.get(m).copied())
                .collect();
            (w.name.as_str(), members)
        })
        .collect();
    let wave_plans = spec
        .waves
        .iter()
        .zip(&waves)
        .map(|(w, (_, members))| WavePlan {
            name: w.name.clone(),
            members: members
                .iter()
                .map(|&i| items[i].plan.addr.clone())
                .collect(),
            max_parallel: w.max_parallel,
        })
        .collect();
    drop_served_checks(&mut items, &pos);
    apply_windows(spec, &mut items, opts.now);
    propagate_blocked(&mut items, &pos, &waves);
    let graph = build_graph(&mut items, &pos, &waves)?;
    let steps = graph.into_steps();
    let resources: Vec<ResourcePlan> = items.into_iter().map(|i| i.plan).collect();
    let summary = Summary::of(&resources, &steps);
    // The quota counts every migration in the account; this plan's are the tasks its servers
    // matched (by live id: a same-named task of another machine is not this plan's).
    let has_servers = resources.iter().any(|r| r.kind == ResourceKind::Server);
    let ours: Vec<String> = resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Server)
        .filter_map(|r| r.live_id.clone())
        .collect();
    Ok(Plan {
        format_version: FORMAT_VERSION,
        name: spec.name.clone(),
        targets: opts.targets.clone(),
        resources,
        steps,
        waves: wave_plans,
        summary,
        planned_at: (!spec.windows.is_empty())
            .then(|| opts.now.map(|t| t.to_string()))
            .flatten(),
        quota: has_servers.then(|| {
            QuotaPlan::of(
                spec.cloud.quotas.sms_concurrent_migrations,
                live,
                ours.iter().map(String::as_str),
            )
        }),
        forecast: None,
    })
}

/// What `--target` keeps: each targeted resource at its own stage, and each resource they
/// need (transitively) only up to the stage needed: the stage a dependency names, the stage
/// its resource declares for a whole-resource dependency, every member of an earlier wave at
/// its stage. A dependency that only a stage beyond what is kept waits for is not followed,
/// and nothing is kept because it depends on a target. `None`: no targeting, everything.
fn select(
    spec: &Spec,
    targets: &[ResourceAddr],
) -> Result<Option<HashMap<ResourceAddr, Stage>>, PlanError> {
    if targets.is_empty() {
        return Ok(None);
    }
    let mut own: HashMap<ResourceAddr, (Stage, &[Dependency])> = HashMap::new();
    for s in &spec.servers {
        own.insert(
            ResourceAddr::server(&s.name),
            (Stage::Server(s.stage), &s.depends_on),
        );
    }
    for r in &spec.redis {
        own.insert(
            ResourceAddr::redis(&r.name),
            (Stage::Redis(r.stage), &r.depends_on),
        );
    }
    let mut wave_of: HashMap<&ResourceAddr, usize> = HashMap::new();
    for (k, w) in spec.waves.iter().enumerate() {
        for m in &w.members {
            wave_of.insert(m, k);
        }
    }
    let mut need: HashMap<ResourceAddr, Stage> = HashMap::new();
    let mut queue: VecDeque<(ResourceAddr, Stage)> = VecDeque::new();
    for t in targets {
        let Some(&(stage, _)) = own.get(t) else {
            return Err(PlanError::UnknownTarget {
                addr: t.to_string(),
            });
        };
        queue.push_back((t.clone(), stage));
    }
    // A worklist over (resource, stage needed): a resource is revisited only when a higher
    // stage of it is needed, so this ends after at most (stages × resources) visits.
    while let Some((a, want)) = queue.pop_front() {
        let Some(&(declared, deps)) = own.get(&a) else {
            continue;
        };
        let want = want.earlier(declared);
        if need.get(&a).is_some_and(|&had| had >= want) {
            continue;
        }
        need.insert(a.clone(), want);
        for d in deps {
            if d.stage.is_some_and(|waiting| waiting > want) {
                continue; // only a stage this plan does not reach waits for it
            }
            let Some(&(on_declared, _)) = own.get(&d.on) else {
                continue;
            };
            queue.push_back((d.on.clone(), d.on_stage.unwrap_or(on_declared)));
        }
        if let Some(&k) = wave_of.get(&a)
            && k > 0
        {
            for m in &spec.waves[k - 1].members {
                if let Some(&(stage, _)) = own.get(m) {
                    queue.push_back((m.clone(), stage));
                }
            }
        }
    }
    Ok(Some(need))
}

/// The dependencies that matter to a resource planned up to `goal`: those of its whole chain
/// and of the stages it reaches (a dependency of a later stage waits for nothing planned).
fn deps_up_to(deps: &[Dependency], goal: Stage) -> Vec<&Dependency> {
    deps.iter()
        .filter(|d| d.stage.is_none_or(|s| s <= goal))
        .collect()
}

fn source_text(s: &SourceRef) -> String {
    match s {
        SourceRef::Name(n) => n.clone(),
        SourceRef::Id(id) => format!("id {id}"),
    }
}

/// Blocked reasons every kind shares: live state and direction.
///
/// `restarted`: the restarts `on_failure` made of a failed copy, said with its block.
fn state_reasons(
    current: &Current,
    desired: Stage,
    restarted: Option<RestartCount>,
    out: &mut Vec<Blocked>,
) {
    match current {
        Current::Failed {
            state,
            error,
            reached,
        } if reached.is_none_or(|r| r < desired) => out.push(
            BlockedReason::NeedsRestart {
                state: state.clone(),
                error: error.clone(),
                restarted,
            }
            .into(),
        ),
        Current::Busy { state } => out.push(
            BlockedReason::Busy {
                state: state.clone(),
            }
            .into(),
        ),
        Current::Unknown { state } => out.push(
            BlockedReason::UnknownState {
                state: state.clone(),
            }
            .into(),
        ),
        _ => {}
    }
    if let Some(r) = current.reached()
        && r > desired
    {
        out.push(BlockedReason::Backward { live: r, desired }.into());
    }
}

fn forbidden_reason(diffs: &[FieldDiff], out: &mut Vec<Blocked>) {
    let fields: Vec<String> = diffs
        .iter()
        .filter(|d| matches!(d.change, Change::Forbidden { .. }))
        .map(|d| d.field.clone())
        .collect();
    if !fields.is_empty() {
        out.push(BlockedReason::ForbiddenChange { fields }.into());
    }
}

/// A template a step needs: missing or ambiguous blocks the resource.
fn template_reasons<T>(name: &str, m: &Match<'_, T>, out: &mut Vec<Blocked>) {
    match m {
        Match::None => out.push(
            BlockedReason::TemplateNotFound {
                template: name.to_string(),
            }
            .into(),
        ),
        Match::Ambiguous(_) => {
            ambiguous("template", name, m, out);
        }
        Match::One(_) => {}
    }
}

fn ambiguous<T>(what: &str, name: &str, m: &Match<'_, T>, out: &mut Vec<Blocked>) -> bool {
    if let Match::Ambiguous(ids) = m {
        out.push(
            BlockedReason::Ambiguous {
                what: what.into(),
                name: name.into(),
                ids: ids.clone(),
            }
            .into(),
        );
        return true;
    }
    false
}

fn resource_plan(
    (addr, kind, live_id): (ResourceAddr, ResourceKind, Option<String>),
    current: Current,
    desired: Stage,
    diffs: Vec<FieldDiff>,
    blocked: Vec<Blocked>,
    inputs: FingerprintInputs,
) -> ResourcePlan {
    ResourcePlan {
        addr,
        kind,
        live_id,
        current,
        desired,
        diff_text: unified(&diffs),
        diffs,
        steps: Vec::new(),
        blocked,
        fingerprint: inputs.digest(),
        fingerprint_inputs: inputs.0,
        network_check: None,
        eta_seconds: None,
        queue: None,
    }
}

/// A resource whose same-named task migrates something else: blocked for that reason alone,
/// with no live id (apply never gets to act on it). A task of another source says nothing
/// about this entry (no stage, no diffs); a task of this source with another target is this
/// machine's migration, so its stage and diffs are shown.
fn mismatched<'s>(base: Item<'s>, reason: BlockedReason, side: Side) -> Item<'s> {
    let mut plan = base.plan;
    if side == Side::Source {
        plan.current = Current::Unreadable {
            why: Unreadable::OtherSource,
        };
        plan.diffs.clear();
        plan.diff_text.clear();
    }
    plan.live_id = None;
    plan.blocked = vec![reason.into()];
    Item {
        root: Some(plan.addr.clone()),
        plan,
        steps: Vec::new(),
        deps: base.deps,
        blocked_from: None,
    }
}

fn plan_server<'s>(spec: &'s ServerSpec, goal: ServerStage, ix: &LiveIndex<'_>) -> Item<'s> {
    let addr = ResourceAddr::server(&spec.name);
    let desired = Stage::Server(goal);
    let mut blocked = Vec::new();
    let task_m = ix.task(&spec.name);
    let is_ambiguous = ambiguous("SMS task", &spec.name, &task_m, &mut blocked);
    let task = task_m.one();
    let mismatch = task.and_then(|t| ServerIdentity::of(spec, ix).check(t));
    let source_m = ix.source(&spec.source);
    let source = source_m.one();
    let template = match &spec.target {
        Target::Template(t) => Some((t, ix.template(t))),
        Target::Existing { .. } => None,
    };
    let template_id = template
        .as_ref()
        .and_then(|(_, m)| m.one())
        .and_then(|t| t.id.clone());
    let current = if is_ambiguous {
        Current::Unreadable {
            why: Unreadable::Ambiguous,
        }
    } else {
        server_current(task, source)
    };
    let diffs = server_diffs(spec, task, source, template_id.as_deref());
    // Pausing (ABORTING) is what a held server does, not something to wait out.
    let pausing = matches!(&current, Current::Busy { state } if state == "ABORTING");
    // `on_failure: {restart: N}`: a failed full copy is restarted while the task's history
    // records fewer than N restarts; then it blocks as without it, saying so.
    let restarts = spec
        .on_failure
        .map(|f| (f.restart, task.map_or(0, restarts_recorded)));
    let copy_failed = task.is_some_and(|t| t.state == Some(TaskState::MigrateFail));
    let restartable = copy_failed && restarts.is_some_and(|(limit, done)| done < limit);
    let held = spec.paused && pausing;
    if !(held || restartable) {
        let restarted = restarts
            .filter(|_| copy_failed)
            .map(|(limit, done)| RestartCount { done, limit });
        state_reasons(&current, desired, restarted, &mut blocked);
    }
    forbidden_reason(&diffs, &mut blocked);
    let updates: Vec<(String, String)> = diffs
        .iter()
        .filter(|d| matches!(d.change, Change::InPlace { .. }))
        .filter_map(|d| Some((d.field.clone(), d.after.clone()?)))
        .collect();
    // `test: {mode: clone, template}`: the template the clone is made from.
    let clone_template = spec
        .test
        .as_ref()
        .filter(|t| t.mode == TestMode::Clone)
        .and_then(|t| t.template.as_ref())
        .map(|t| (t, ix.template(t)));
    // `network_check`: the live result of the last check, if any.
    let network = task.and_then(NetworkResult::of);
    let mut steps = Vec::new();
    if blocked.is_empty() {
        let input = ServerChainInput {
            clone_from: clone_template
                .as_ref()
                .map(|(_, m)| m.one().and_then(|t| t.id.clone())),
            task_id: task.map(|t| t.id.clone()),
            source_id: source.map(|s| s.id.clone()),
            template_id: template_id.clone(),
            updates,
            syncing: spec.syncing,
            paused: spec.paused,
            migration_test: spec.migration_test == Some(true),
            reset_source: task.is_none()
                && source.is_some_and(|s| s.state == Some(SourceState::Error)),
            restarts,
            skip_check: spec.consistency_check == Some(false)
                && task.is_some_and(consistency_check_running),
            consistency_gate: spec.consistency_check == Some(true),
            max_sync_age: spec.max_sync_age_seconds.filter(|_| spec.syncing),
            network_gate: spec
                .network_check
                .as_ref()
                .map(|n| (kbps(n.min_mbps), network.is_some())),
        };
        steps = server_steps(&addr, &current, goal, &input);
    }
    if !steps.is_empty() {
        match &source_m {
            Match::None => blocked.push(
                BlockedReason::SourceNotRegistered {
                    source: source_text(&spec.source),
                }
                .into(),
            ),
            Match::Ambiguous(_) => {
                ambiguous(
                    "source server",
                    &source_text(&spec.source),
                    &source_m,
                    &mut blocked,
                );
            }
            Match::One(s) if s.connected == Some(false) => blocked.push(
                BlockedReason::SourceDisconnected {
                    source_id: s.id.clone(),
                }
                .into(),
            ),
            Match::One(_) => {}
        }
        let creates = steps.first().map(Step::class) == Some(StepClass::Create);
        if let (true, Some((name, m))) = (creates, &template) {
            template_reasons(name, m, &mut blocked);
        }
        // A start held by a live check below the minimum: blocked with the figures.
        if let (Some(n), Some(r)) = (&spec.network_check, &network)
            && r.speed_kbps() < kbps(n.min_mbps)
            && steps.iter().any(|s| s.precondition.needs_network_speed())
        {
            blocked.push(
                BlockedReason::NetworkTooSlow {
                    measured: r.to_string(),
                    min_mbps: n.min_mbps.to_string(),
                }
                .into(),
            );
        }
        let tests = steps
            .iter()
            .any(|s| s.stage == Some(Stage::Server(ServerStage::Tested)));
        if let (true, Some((name, m))) = (tests, &clone_template) {
            template_reasons(name, m, &mut blocked);
        }
        if !blocked.is_empty() {
            steps.clear();
        }
    }
    let root = (!blocked.is_empty()).then(|| addr.clone());
    let mut plan = resource_plan(
        (addr, ResourceKind::Server, task.map(|t| t.id.clone())),
        current,
        desired,
        diffs,
        blocked,
        server_inputs(spec, ix),
    );
    if spec.network_check.is_some() {
        plan.network_check = network.as_ref().map(ToString::to_string);
    }
    let item = Item {
        plan,
        steps,
        deps: deps_up_to(&spec.depends_on, desired),
        root,
        blocked_from: None,
    };
    match mismatch {
        Some(m) => mismatched(item, m.reason("SMS task", &spec.name), m.side),
        None => item,
    }
}

fn plan_redis<'s>(
    spec: &'s RedisSpec,
    goal: RedisStage,
    verify: Option<crate::kinds::Verify>,
    ix: &LiveIndex<'_>,
    unset_secrets: &std::collections::BTreeSet<String>,
) -> Item<'s> {
    let addr = ResourceAddr::redis(&spec.name);
    let desired = Stage::Redis(goal);
    let mut blocked = Vec::new();
    let m = ix.migration(&spec.name);
    let is_ambiguous = ambiguous("DCS migration task", &spec.name, &m, &mut blocked);
    let task = m.one();
    let mismatch = task.and_then(|t| RedisIdentity::of(spec).check(t));
    let current = if is_ambiguous {
        Current::Unreadable {
            why: Unreadable::Ambiguous,
        }
    } else {
        redis_current(task, spec.method)
    };
    let configured = !matches!(current, Current::Absent | Current::Exists { .. });
    let diffs = redis_diffs(spec, task, configured);
    state_reasons(&current, desired, None, &mut blocked);
    forbidden_reason(&diffs, &mut blocked);
    let steps = if blocked.is_empty() {
        let input = RedisChainInput {
            task_id: task.map(|t| t.task_id.clone()),
            method: spec.method,
            update_resume_mode: diffs
                .iter()
                .any(|d| d.field == "resume_mode" && matches!(d.change, Change::InPlace { .. })),
            verify,
        };
        redis_steps(&addr, &current, goal, &input)
    } else {
        Vec::new()
    };
    // A step that sends the passwords cannot run without them: blocked now, naming the
    // variables, rather than refused half-way through an apply.
    let unset: Vec<String> = [&spec.source, &spec.target]
        .into_iter()
        .filter_map(|e| e.password.as_ref())
        .map(|p| p.env.clone())
        .filter(|v| unset_secrets.contains(v))
        .collect();
    let steps = if !unset.is_empty() && steps.iter().any(|s| s.kind.spec().sends_secrets()) {
        blocked.push(BlockedReason::SecretUnset { vars: unset }.into());
        Vec::new()
    } else {
        steps
    };
    let root = (!blocked.is_empty()).then(|| addr.clone());
    let plan = resource_plan(
        (addr, ResourceKind::Redis, task.map(|t| t.task_id.clone())),
        current,
        desired,
        diffs,
        blocked,
        redis_inputs(spec, ix),
    );
    let item = Item {
        plan,
        steps,
        deps: deps_up_to(&spec.depends_on, desired),
        root,
        blocked_from: None,
    };
    match mismatch {
        Some(m) => mismatched(item, m.reason("DCS migration task", &spec.name), m.side),
        None => item,
    }
}
