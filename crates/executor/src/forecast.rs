//! The forecast: how long apply takes, per resource and for the whole plan, computed by running
//! the real [`Scheduler`] on the estimator's durations ([`crate::estimate`]) in a
//! discrete-event simulation ([`Sim`]): dependencies, waves and their caps, `--parallelism`,
//! the SMS quota (with the migrations running elsewhere, each ending when its live progress
//! says) and the request rate all act as they do in apply. Pure: no clock, no I/O. Times are
//! in the cloud's clock from the start of apply.
//!
//! [`attach`] fills a plan's `forecast` and its resources' `eta_seconds` and `queue`;
//! [`Eta`] re-estimates the end during apply from the scheduler's state and the latest poll.

use std::collections::HashMap;

use migplan_parser::{ResourceAddr, Spec};
use migplan_planner::{
    Assumptions, CriticalStep, Detach, Forecast, LiveSnapshot, Plan, QueuePlace, Service, Step,
    StepClass, StepId, is_migrating,
};
use migplan_wire::sms::Task;

use crate::driver::{ExecError, nodes_with, quota_of};
use crate::estimate::{COPY_FIXED_MS, DEFAULT_BYTES, Estimator, LINK_MBIT};
use crate::request::SpecIndex;
use crate::run_state::resource_names;
use crate::schedule::{Node, NodeIx, Scheduler, SchedulerOptions};
use crate::simulate::{Rate, Sim, SimRun};

/// What the forecast assumes about the run.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastOptions {
    /// `--parallelism`.
    pub parallelism: usize,
    /// Requests per second of the cloud's clock per service (`<= 0`: no limit).
    pub requests_per_second: f64,
    /// Time between two polls of a service, in milliseconds of the cloud's clock.
    pub poll_interval_ms: u64,
    /// `--wait-timeout`, in milliseconds of the cloud's clock.
    pub wait_timeout_ms: Option<u64>,
    /// The cloud's time now, for `finish_at`.
    pub now: Option<jiff::Timestamp>,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        ForecastOptions {
            parallelism: 10,
            requests_per_second: 20.0,
            poll_interval_ms: crate::driver::DEFAULT_POLL_MS,
            wait_timeout_ms: None,
            now: None,
        }
    }
}

/// A resource's part of the forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceForecast {
    /// The resource.
    pub addr: ResourceAddr,
    /// When it reaches its desired stage.
    pub eta_seconds: Option<u64>,
    /// Its place in the queue for the SMS quota, when its copy waits for a slot.
    pub queue: Option<QueuePlace>,
}

/// A plan's forecast, whole and per resource.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanForecast {
    /// The whole plan.
    pub forecast: Forecast,
    /// Per resource with steps, in plan order.
    pub resources: Vec<ResourceForecast>,
}

/// Page size of the task lists the pollers walk (requests per poll = tasks / this).
const PAGE: usize = 200;

fn secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// The calls a step makes, per service (0 SMS, 1 DCS), for the request rate.
fn calls_of(step: &Step) -> Option<(usize, u32)> {
    let svc = match step.call().service()? {
        Service::Sms => 0,
        Service::Dcs => 1,
    };
    let n = match step.class() {
        StepClass::Create => 3,
        StepClass::Update | StepClass::Action => 1,
        StepClass::Wait | StepClass::Check | StepClass::Barrier => 0,
    };
    (n > 0).then_some((svc, n))
}

/// The spacing of one service's calls at `rps`, less what the polls of `tasks` use.
fn rate(rps: f64, tasks: usize, poll_ms: u64) -> Option<Rate> {
    if rps <= 0.0 || !rps.is_finite() {
        return None;
    }
    let polls = tasks.div_ceil(PAGE).max(1) as f64 * 1000.0 / poll_ms.max(1) as f64;
    let left = (rps - polls).max(rps / 10.0);
    Some(Rate {
        spacing: (1000.0 / left).ceil() as u64,
    })
}

/// When each migration running outside the run's slots ends: live tasks migrating that no
/// resource of `sched` holds a slot for, at what their progress says is left.
fn outside_ends(
    sched: &Scheduler,
    names: &[Option<String>],
    tasks: &[Task],
    est: &Estimator<'_>,
    spec: &SpecIndex,
) -> Vec<u64> {
    let held: std::collections::HashSet<&str> = names
        .iter()
        .enumerate()
        .filter(|(r, _)| sched.holds(*r))
        .filter_map(|(_, n)| n.as_deref())
        .collect();
    tasks
        .iter()
        .filter(|t| is_migrating(t.state.as_ref()) && !held.contains(t.name.as_str()))
        .map(|t| {
            est.remaining_ms(t, spec.server(&t.name)).unwrap_or(
                // Not ours and nothing said: half a default copy.
                (COPY_FIXED_MS + (DEFAULT_BYTES as f64 / (LINK_MBIT * 125.0)) as u64) / 2,
            )
        })
        .collect()
}

/// The simulation of a plan, with what it needs to be read back.
struct Simulated {
    nodes: Vec<Node>,
    run: SimRun,
}

fn simulate_plan(
    plan: &Plan,
    spec: &Spec,
    live: &LiveSnapshot,
    opts: &ForecastOptions,
) -> Result<Simulated, ExecError> {
    let (nodes, wave_caps) = nodes_with(plan, spec, live, opts.poll_interval_ms)?;
    let sched = Scheduler::new(
        nodes.clone(),
        SchedulerOptions {
            parallelism: Some(opts.parallelism.max(1)),
            wave_caps,
            fail_fast: false,
            quota: quota_of(plan),
        },
    );
    let specix = SpecIndex::new(spec);
    let est = Estimator::new(&specix, live, opts.poll_interval_ms);
    let resource_of: Vec<Option<usize>> = nodes.iter().map(|n| n.resource).collect();
    let names = resource_names(plan, &resource_of);
    let outside = if plan.quota.is_some() {
        outside_ends(&sched, &names, &live.tasks, &est, &specix)
    } else {
        Vec::new()
    };
    let calls = plan.steps.iter().map(calls_of).collect();
    let tasks = live.tasks.len() + plan.resources.len();
    let run = Sim::new(sched)
        .outside(outside)
        .calls(
            calls,
            rate(opts.requests_per_second, tasks, opts.poll_interval_ms),
        )
        .run();
    Ok(Simulated { nodes, run })
}

impl Simulated {
    /// A node's end; a barrier (never started: it completes with its dependencies) ends with
    /// the last of them.
    fn end_of(&self, ix: NodeIx) -> Option<u64> {
        if let Some(e) = self.run.end[ix] {
            return Some(e);
        }
        let node = &self.nodes[ix];
        if !node.free {
            return None;
        }
        node.deps
            .iter()
            .map(|&d| self.end_of(d))
            .try_fold(0u64, |m, e| e.map(|e| m.max(e)))
    }

    /// The steps the end waits on, first to last (barriers passed through, not shown).
    fn critical_path(&self, plan: &Plan) -> Vec<CriticalStep> {
        let Some(last) = (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].free)
            .filter_map(|i| self.run.end[i].map(|e| (e, i)))
            .max()
            .map(|(_, i)| i)
        else {
            return Vec::new();
        };
        let mut path = Vec::new();
        let mut cur = Some(last);
        let mut guard = 0;
        while let Some(ix) = cur.take() {
            guard += 1;
            if guard > self.nodes.len() + 1 {
                break;
            }
            let node = &self.nodes[ix];
            let start = if node.free {
                self.end_of(ix)
            } else {
                self.run.start[ix]
            };
            let Some(start) = start else { break };
            let dep = node
                .deps
                .iter()
                .filter_map(|&d| self.end_of(d).map(|e| (e, d)))
                .max();
            // It started when its last dependency ended, or later: when the step that freed
            // what it waited for (a slot of the quota, of --parallelism or of its wave) ended.
            let (next, waited) = match dep {
                Some((e, d)) if e >= start => (Some(d), None),
                _ if start > 0 && !node.free => {
                    let why = if self.run.queued[ix] {
                        "quota"
                    } else {
                        "parallelism or wave cap"
                    };
                    (self.run.cause[ix], Some(why.to_string()))
                }
                _ => (None, None),
            };
            if !node.free {
                path.push(CriticalStep {
                    step: plan.steps[ix].id.clone(),
                    label: plan.steps[ix].label.clone(),
                    start_seconds: start / 1000,
                    end_seconds: self.run.end[ix].map_or(start / 1000, secs),
                    waited_for: waited,
                });
            }
            cur = next;
        }
        path.reverse();
        path
    }
}

/// The forecast of `plan` (made from `live` for `spec`).
pub fn forecast(
    plan: &Plan,
    spec: &Spec,
    live: &LiveSnapshot,
    opts: &ForecastOptions,
) -> Result<PlanForecast, ExecError> {
    let sim = simulate_plan(plan, spec, live, opts)?;
    let run = &sim.run;
    let makespan = run.makespan;
    // Queue places: the copies that waited for a slot, in the order they started.
    let mut queue: HashMap<&ResourceAddr, QueuePlace> = HashMap::new();
    let mut place = 0u32;
    for &ix in &run.order {
        if !(run.queued[ix] && sim.nodes[ix].quota.starts()) {
            continue;
        }
        let Some(addr) = plan.steps[ix].resource.as_ref() else {
            continue;
        };
        if queue.contains_key(addr) {
            continue;
        }
        place += 1;
        queue.insert(
            addr,
            QueuePlace {
                place,
                expected_start_seconds: run.start[ix].map_or(0, |s| s / 1000),
            },
        );
    }
    // Copies that never got a slot queue after the rest.
    for (ix, step) in plan.steps.iter().enumerate() {
        if run.queued[ix]
            && run.start[ix].is_none()
            && let Some(addr) = step.resource.as_ref()
            && !queue.contains_key(addr)
        {
            place += 1;
            queue.insert(
                addr,
                QueuePlace {
                    place,
                    expected_start_seconds: u64::MAX / 1000,
                },
            );
        }
    }
    let index: HashMap<&StepId, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.id, i))
        .collect();
    let resources = plan
        .resources
        .iter()
        .filter(|r| !r.steps.is_empty())
        .map(|r| {
            let ends: Option<u64> = r
                .steps
                .iter()
                .filter_map(|id| index.get(id))
                .map(|&ix| run.end[ix])
                .try_fold(0u64, |m, e| e.map(|e| m.max(e)));
            ResourceForecast {
                addr: r.addr.clone(),
                eta_seconds: ends.map(secs),
                queue: queue.get(&r.addr).copied(),
            }
        })
        .collect();
    let detach = opts.wait_timeout_ms.and_then(|t| {
        let end = makespan.unwrap_or(u64::MAX);
        (end > t).then(|| {
            let mut in_progress = Vec::new();
            let mut longer = Vec::new();
            for (ix, step) in plan.steps.iter().enumerate() {
                if sim.nodes[ix].free {
                    continue;
                }
                let (Some(s), e) = (run.start[ix], run.end[ix].unwrap_or(u64::MAX)) else {
                    continue;
                };
                if s < t && t < e {
                    in_progress.push(step.id.clone());
                }
                if e.saturating_sub(s) > t {
                    longer.push(step.id.clone());
                }
            }
            Detach {
                at_seconds: t / 1000,
                in_progress,
                longer_than_timeout: longer,
                runs: u32::try_from(end.div_ceil(t.max(1))).unwrap_or(u32::MAX),
                job_limit: false,
            }
        })
    });
    let finish_at = match (opts.now, makespan) {
        (Some(now), Some(ms)) => {
            let ms = i64::try_from(ms).unwrap_or(i64::MAX);
            now.checked_add(jiff::SignedDuration::from_millis(ms))
                .ok()
                .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        }
        _ => None,
    };
    let forecast = Forecast {
        makespan_seconds: makespan.map(secs),
        finish_at,
        critical_path: sim.critical_path(plan),
        queued: place,
        assumptions: Assumptions {
            parallelism: u32::try_from(opts.parallelism).unwrap_or(u32::MAX),
            requests_per_second: (opts.requests_per_second > 0.0)
                .then_some(opts.requests_per_second),
            poll_interval_seconds: opts.poll_interval_ms as f64 / 1000.0,
            quota: plan.quota,
        },
        detach,
    };
    Ok(PlanForecast {
        forecast,
        resources,
    })
}

/// Fills `plan.forecast` and each resource's `eta_seconds` and `queue`.
pub fn attach(
    plan: &mut Plan,
    spec: &Spec,
    live: &LiveSnapshot,
    opts: &ForecastOptions,
) -> Result<(), ExecError> {
    let f = forecast(plan, spec, live, opts)?;
    let by_addr: HashMap<ResourceAddr, ResourceForecast> = f
        .resources
        .into_iter()
        .map(|r| (r.addr.clone(), r))
        .collect();
    for r in &mut plan.resources {
        if let Some(rf) = by_addr.get(&r.addr) {
            r.eta_seconds = rf.eta_seconds;
            r.queue = rf.queue;
        }
    }
    plan.forecast = Some(f.forecast);
    Ok(())
}

/// What a re-estimate during apply reads: the run's scheduler as it stands and the latest
/// poll of the SMS tasks.
pub(crate) struct Midrun<'a> {
    pub plan: &'a Plan,
    pub spec: &'a SpecIndex,
    /// The snapshot the plan was made from (the sources' sizes).
    pub live: &'a LiveSnapshot,
    /// The latest SMS poll.
    pub tasks: &'a [Task],
    pub sched: &'a Scheduler,
    /// The task name of each scheduler resource.
    pub names: &'a [Option<String>],
    /// Milliseconds of the cloud's clock since each running step started.
    pub elapsed_ms: &'a dyn Fn(NodeIx) -> u64,
    pub poll_ms: u64,
    pub requests_per_second: f64,
}

/// Milliseconds of the cloud's clock until the run's last step ends, from where it stands:
/// running copies at what their live progress leaves, other running steps at their estimate
/// less the time they ran, the rest as planned. `None`: it cannot end on its own.
pub(crate) fn eta_ms(m: &Midrun<'_>) -> Option<u64> {
    let est = Estimator::new(m.spec, m.live, m.poll_ms);
    let by_name: HashMap<&str, &Task> = m.tasks.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut sim = Sim::new(m.sched.clone());
    for (ix, node) in m.sched.nodes().iter().enumerate() {
        if m.sched.state(ix) != crate::schedule::StepState::Running {
            continue;
        }
        let step = &m.plan.steps[ix];
        let live_left = step
            .resource
            .as_ref()
            .filter(|_| step.class() == StepClass::Wait && node.quota.ends())
            .and_then(|r| by_name.get(r.name.as_str()))
            .filter(|t| is_migrating(t.state.as_ref()))
            .and_then(|t| est.remaining_ms(t, m.spec.server(&t.name)))
            .map(|left| left + m.poll_ms / 2);
        let left = live_left.unwrap_or_else(|| node.estimate.saturating_sub((m.elapsed_ms)(ix)));
        sim = sim.running(ix, left);
    }
    let outside = if m.plan.quota.is_some() {
        outside_ends(m.sched, m.names, m.tasks, &est, m.spec)
    } else {
        Vec::new()
    };
    let calls = m.plan.steps.iter().map(calls_of).collect();
    let tasks = m.tasks.len().max(m.plan.resources.len());
    sim.outside(outside)
        .calls(calls, rate(m.requests_per_second, tasks, m.poll_ms))
        .run()
        .makespan
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_planner::PlanOptions;
    use migplan_wire::sms::{ServerDisk, SourceServer, TaskState, Template};

    const GIB: i64 = 1 << 30;

    fn spec(quota: u32, servers: &str) -> Spec {
        let text = format!(
            "version: 1\nname: f\ncloud: {{region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef, quotas: {{sms_concurrent_migrations: {quota}}}}}\n{servers}"
        );
        migplan_parser::parse("f.yaml", &text).expect("valid").spec
    }

    fn fleet(n: usize, stage: &str) -> String {
        let mut s = String::from("servers:\n");
        for i in 0..n {
            s.push_str(&format!(
                "  - {{name: s{i}, target: {{template: tpl}}, stage: {stage}}}\n"
            ));
        }
        s
    }

    /// Sources with 10 GiB used of 40 GiB (as the list says it: no disks) plus their detail.
    fn live(n: usize) -> LiveSnapshot {
        LiveSnapshot {
            sources: (0..n)
                .map(|i| SourceServer {
                    id: format!("src-{i}"),
                    name: Some(format!("s{i}")),
                    connected: Some(true),
                    totalsize: Some(40 * GIB),
                    disks: Some(vec![ServerDisk {
                        size: 40 * GIB,
                        used_size: Some(10 * GIB),
                        ..ServerDisk::default()
                    }]),
                    ..SourceServer::default()
                })
                .collect(),
            templates: vec![Template {
                id: Some("tpl".into()),
                name: "tpl".into(),
                ..Template::default()
            }],
            ..LiveSnapshot::default()
        }
    }

    fn opts() -> ForecastOptions {
        ForecastOptions {
            parallelism: 1000,
            requests_per_second: 0.0,
            poll_interval_ms: 10_000,
            wait_timeout_ms: None,
            now: None,
        }
    }

    fn run(spec: &Spec, live: &LiveSnapshot, o: &ForecastOptions) -> (Plan, PlanForecast) {
        let plan = migplan_planner::plan(spec, live, &PlanOptions::default()).expect("plan");
        let f = forecast(&plan, spec, live, o).expect("forecast");
        (plan, f)
    }

    /// create (3 calls), start (a fresh read after the create, the call, a poll), the copy
    /// (220 s fixed + 10 GiB at 1000 Mbit/s, and a poll), test (call, 60 s, a poll).
    const ONE_CHAIN_MS: u64 = 600 + (5_000 + 200 + 5_000) + (220_000 + 85_900 + 5_000) + 65_200;

    #[test]
    fn one_server_takes_its_steps_in_a_row() {
        let s = spec(100, &fleet(1, "tested"));
        let (_, f) = run(&s, &live(1), &opts());
        assert_eq!(
            f.forecast.makespan_seconds,
            Some(ONE_CHAIN_MS.div_ceil(1000))
        );
        assert_eq!(f.resources[0].eta_seconds, f.forecast.makespan_seconds);
        assert_eq!(f.forecast.queued, 0);
        let path: Vec<&str> = f
            .forecast
            .critical_path
            .iter()
            .map(|c| c.step.0.as_str())
            .collect();
        assert_eq!(
            path,
            [
                "server.s0#create",
                "server.s0#start",
                "server.s0#wait.replicated",
                "server.s0#test"
            ]
        );
    }

    #[test]
    fn a_quota_bound_fleet_queues_in_generations() {
        // 6 equal servers, 2 at once: three generations of copies; 4 wait, in order.
        let s = spec(2, &fleet(6, "replicated"));
        let (_, f) = run(&s, &live(6), &opts());
        let copy = 220_000 + 85_900 + 5_000;
        let one = 600 + 10_200 + copy;
        let makespan = f.forecast.makespan_seconds.expect("ends");
        assert!(
            makespan >= (one + 2 * (copy + 10_200)) / 1000
                && makespan <= (one + 2 * (copy + 20_000)) / 1000,
            "{makespan}"
        );
        assert_eq!(f.forecast.queued, 4);
        let mut places: Vec<(u32, u64)> = f
            .resources
            .iter()
            .filter_map(|r| r.queue.map(|q| (q.place, q.expected_start_seconds)))
            .collect();
        places.sort_unstable();
        assert_eq!(places.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(places.windows(2).all(|w| w[0].1 <= w[1].1), "{places:?}");
        assert!(places[0].1 >= (copy / 1000), "{places:?}");
        assert!(
            f.forecast
                .critical_path
                .iter()
                .any(|c| c.waited_for.as_deref() == Some("quota")),
            "{:#?}",
            f.forecast.critical_path
        );
    }

    #[test]
    fn migrations_running_elsewhere_hold_slots_until_they_end() {
        let s = spec(1, &fleet(1, "replicated"));
        let mut l = live(1);
        l.tasks.push(Task {
            id: "other".into(),
            name: "not-in-the-plan".into(),
            state: Some(TaskState::Running),
            remain_seconds: Some(1000),
            ..Task::default()
        });
        let (plan, f) = run(&s, &l, &opts());
        assert_eq!(plan.quota.map(|q| q.sms_running_elsewhere), Some(1));
        let q = f.resources[0].queue.expect("queued behind the other one");
        assert_eq!((q.place, q.expected_start_seconds), (1, 1000));
        // Nothing said about its end: half a default copy is assumed.
        l.tasks[0].remain_seconds = None;
        l.tasks[0].sub_tasks.clear();
        let (_, f) = run(&s, &l, &opts());
        assert!(f.forecast.makespan_seconds.is_some(), "half a default copy");
    }

    #[test]
    fn the_request_rate_spaces_the_calls() {
        // 100 creates at 2 requests per second (3 calls each): the last create waits ~150 s.
        let s = spec(100, &fleet(100, "configured"));
        let slow = ForecastOptions {
            requests_per_second: 2.0,
            ..opts()
        };
        let (_, fast) = run(&s, &live(100), &opts());
        let (_, f) = run(&s, &live(100), &slow);
        assert_eq!(fast.forecast.makespan_seconds, Some(1));
        let m = f.forecast.makespan_seconds.expect("ends");
        assert!((140..=170).contains(&m), "{m}");
    }

    #[test]
    fn a_wait_timeout_shorter_than_the_run_detaches_naming_what_runs() {
        let s = spec(100, &fleet(2, "tested"));
        let o = ForecastOptions {
            wait_timeout_ms: Some(60_000),
            now: Some("2026-12-05T12:00:00Z".parse().expect("time")),
            ..opts()
        };
        let (_, f) = run(&s, &live(2), &o);
        let d = f.forecast.detach.expect("detaches");
        assert_eq!(d.at_seconds, 60);
        let ids: Vec<&str> = d.in_progress.iter().map(|i| i.0.as_str()).collect();
        assert_eq!(
            ids,
            ["server.s0#wait.replicated", "server.s1#wait.replicated"]
        );
        assert_eq!(d.longer_than_timeout.len(), 4, "{d:?}");
        assert_eq!(d.runs, 7, "{d:?}");
        assert_eq!(
            f.forecast.finish_at.as_deref(),
            Some("2026-12-05T12:06:27Z")
        );
    }
}
