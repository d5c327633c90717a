//! Executor figures (no pass/fail):
//!
//! 1. Makespan of generated DAGs (chains, wide fans, waves) with emulated step durations, run
//!    through the real [`Scheduler`] in a discrete-event simulation (no clock): divided by the
//!    critical path (unbounded parallelism) or by max(critical path, total work / parallelism)
//!    (bounded), beside a level-by-level runner as the baseline.
//! 2. API calls per poll interval while N tasks replicate, against the in-process emulator
//!    over HTTP with the real executor: the shared poller lists all tasks once per interval
//!    (pages of 200), instead of one call per waiting task.
//!
//! Run: `cargo bench -p migplan-executor --bench schedule`.
#![allow(clippy::print_stdout)] // a bench prints its figures

use std::sync::{Arc, Mutex};
use std::time::Duration;

use migplan_cloud::{Auth, Cloud, CloudConfig};
use migplan_emulator::{EmulatorConfig, RunningEmulator};
use migplan_executor::schedule::{Node, SchedulerOptions};
use migplan_executor::simulate::{critical_path, level_by_level, lower_bound, simulate};
use migplan_executor::{Apply, ApplyOptions, Event, EventSink, Interrupt};
use migplan_planner::{LiveSnapshot, PlanOptions};
use migplan_wire::sms::{ListSourcesQuery, ListTasksQuery, ListTemplatesQuery};

/// xorshift64*: deterministic figures without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A server chain from nothing to `tested`: create, start, wait for the copy, test. The copy is
/// the disk bytes at the speed limit plus the fixed subtasks (the emulator's model).
fn server_chain(
    nodes: &mut Vec<Node>,
    rng: &mut Rng,
    r: usize,
    wave: Option<usize>,
    after: &[usize],
) -> usize {
    let gib = rng.range(5, 200);
    let mbit = [50u64, 100, 200, 1000][rng.range(0, 3) as usize];
    let copy = 240 + gib * 8 * 1024 / mbit;
    let push = |nodes: &mut Vec<Node>, name: &str, deps: &[usize], d: u64| {
        let mut n = Node::new(format!("server.s{r}#{name}"), deps, d).resource(r);
        n.wave = wave;
        nodes.push(n);
        nodes.len() - 1
    };
    let c = push(nodes, "create", after, 1);
    let s = push(nodes, "start", &[c], 1);
    let w = push(nodes, "wait.replicated", &[s], copy);
    push(nodes, "test", &[w], 61)
}

fn chains(rng: &mut Rng, n: usize, cross: usize) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut ends = Vec::new();
    for r in 0..n {
        // Some chains wait for an earlier chain to finish (depends_on a whole resource).
        let after: Vec<usize> = if r > 0 && (r as u64) < (cross as u64) * 3 && rng.range(0, 2) == 0
        {
            vec![ends[rng.range(0, r as u64 - 1) as usize]]
        } else {
            vec![]
        };
        ends.push(server_chain(&mut nodes, rng, r, None, &after));
    }
    nodes
}

fn wide_fan(rng: &mut Rng, n: usize) -> Vec<Node> {
    // One database replicates first; n web servers each start after it; a Redis stop waits for
    // every web server (fan-out, then fan-in).
    let mut nodes = Vec::new();
    let db = server_chain(&mut nodes, rng, 0, None, &[]);
    let mut ends = Vec::new();
    for r in 1..=n {
        ends.push(server_chain(&mut nodes, rng, r, None, &[db]));
    }
    let redis = n + 1;
    nodes.push(Node::new("redis.sessions#stop", &ends, 11).resource(redis));
    let stop = nodes.len() - 1;
    nodes.push(Node::new("redis.sessions#wait.stopped", &[stop], 10).resource(redis));
    nodes
}

fn waves(rng: &mut Rng, waves: usize, per: usize) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut barrier: Option<usize> = None;
    let mut r = 0;
    for w in 0..waves {
        let mut ends = Vec::new();
        for _ in 0..per {
            let after: Vec<usize> = barrier.into_iter().collect();
            ends.push(server_chain(&mut nodes, rng, r, Some(w), &after));
            r += 1;
        }
        if w + 1 < waves {
            let mut deps = ends.clone();
            deps.extend(barrier);
            nodes.push(Node::new(format!("wave.w{w}#barrier"), &deps, 0).free());
            barrier = Some(nodes.len() - 1);
        }
    }
    nodes
}

/// With wave caps, each wave needs max(its longest chain, its work / cap); waves run in turn.
fn capped_bound(nodes: &[Node], cap: u64) -> u64 {
    let waves = nodes
        .iter()
        .filter_map(|n| n.wave)
        .max()
        .map_or(0, |m| m + 1);
    (0..waves)
        .map(|w| {
            let members: Vec<&Node> = nodes.iter().filter(|n| n.wave == Some(w)).collect();
            let mut per_resource = std::collections::HashMap::new();
            for n in &members {
                *per_resource.entry(n.resource).or_insert(0u64) += n.estimate;
            }
            let longest = per_resource.values().copied().max().unwrap_or(0);
            let work: u64 = per_resource.values().sum();
            longest.max(work.div_ceil(cap))
        })
        .sum()
}

fn row(name: &str, nodes: &[Node], parallelism: Option<usize>, caps: Vec<Option<u32>>) {
    let cp = critical_path(nodes);
    let cap = caps.iter().flatten().copied().min();
    let lb = match cap {
        Some(c) => lower_bound(nodes, parallelism).max(capped_bound(nodes, u64::from(c))),
        None => lower_bound(nodes, parallelism),
    };
    let opts = SchedulerOptions {
        parallelism,
        wave_caps: caps,
        ..SchedulerOptions::default()
    };
    let ours = simulate(nodes, &opts);
    // A level holds at most one step per member, so a cap of c members is c slots per level.
    let base = level_by_level(
        nodes,
        match (parallelism, cap) {
            (Some(p), Some(c)) => Some(p.min(c as usize)),
            (None, Some(c)) => Some(c as usize),
            (p, None) => p,
        },
    );
    let p = parallelism.map_or("∞".to_string(), |p| p.to_string());
    println!(
        "{name:<28} {:>6} {p:>5} {cp:>9} {lb:>9} {ours:>9} {:>7.3} {base:>9} {:>7.3}",
        nodes.len(),
        ours as f64 / lb as f64,
        base as f64 / lb as f64,
    );
}

fn makespans() {
    println!("## Makespan (virtual seconds) — ours = longest-remaining-path list scheduling");
    println!(
        "{:<28} {:>6} {:>5} {:>9} {:>9} {:>9} {:>7} {:>9} {:>7}",
        "DAG", "steps", "par", "crit.path", "bound", "ours", "ours/lb", "level", "lvl/lb"
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let c = chains(&mut rng, 500, 100);
    let f = wide_fan(&mut rng, 1000);
    let w = waves(&mut rng, 5, 200);
    for p in [None, Some(50), Some(10)] {
        row("chains 500 (+deps)", &c, p, vec![]);
    }
    for p in [None, Some(100), Some(10)] {
        row("wide fan 1→1000→1", &f, p, vec![]);
    }
    for p in [None, Some(50), Some(10)] {
        row("waves 5×200", &w, p, vec![]);
    }
    row("waves 5×200, max_parallel 25", &w, None, vec![Some(25); 5]);
    row(
        "waves 5×200, max_parallel 25",
        &w,
        Some(50),
        vec![Some(25); 5],
    );
    println!();
    println!(
        "bound = critical path when unbounded, else max(critical path, total work / parallelism);"
    );
    println!("with wave caps, also the sum over waves of max(longest member, wave work / cap).");
}

/// An instant and the SMS list requests made by then.
type Mark = Option<(std::time::Instant, u64)>;

/// Records the instant every wait step is waiting, and the SMS list requests then and at the end.
struct Watch {
    cloud: Cloud,
    waits: usize,
    seen: Mutex<(usize, Mark, Mark)>,
}

const LIST: &str = "SMS GET /v3/tasks";

impl EventSink for Watch {
    fn on_event(&self, event: &Event) {
        let Ok(mut s) = self.seen.lock() else { return };
        match event {
            Event::StepWaiting { step, .. } if step.contains("#wait.") => {
                s.0 += 1;
                if s.0 == self.waits {
                    s.1 = Some((
                        std::time::Instant::now(),
                        self.cloud.stats().route(LIST).requests,
                    ));
                }
            }
            Event::ApplySummary(_) => {
                s.2 = Some((
                    std::time::Instant::now(),
                    self.cloud.stats().route(LIST).requests,
                ));
            }
            _ => {}
        }
    }
}

async fn calls_per_interval(n: usize, interval: Duration, measure: Duration) -> (f64, f64) {
    let mut cfg = EmulatorConfig::new("AK", "SK");
    cfg.time_scale = 1.0; // nothing finishes while we measure
    let emu = RunningEmulator::start(cfg).await.expect("emulator");
    let mut yaml = String::from(
        "version: 1\nname: bench\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\nservers:\n",
    );
    for i in 0..n {
        let name = format!("srv-{i:05}");
        emu.register_source_named(&name).expect("source");
        yaml.push_str(&format!(
            "  - {{name: {name}, target: {{template: tpl}}, stage: replicated}}\n"
        ));
    }
    let spec = migplan_parser::parse("bench.yaml", &yaml)
        .expect("valid")
        .spec;
    let ccfg = CloudConfig::local(&emu.base_url(), Auth::aksk("AK", "SK"))
        .expect("config")
        .with_project_id(spec.cloud.project_id.clone());
    let cloud = Cloud::new(&ccfg).expect("cloud");
    let tpl = migplan_wire::sms::Template {
        name: "tpl".into(),
        is_template: Some(true),
        ..Default::default()
    };
    cloud.sms().create_template(&tpl).await.expect("template");
    let (qs, qt, ql) = (
        ListSourcesQuery::default(),
        ListTasksQuery::default(),
        ListTemplatesQuery::default(),
    );
    let (sources, tasks, templates, migrations) = tokio::try_join!(
        cloud.sms().list_all_sources(&qs),
        cloud.sms().list_all_tasks(&qt),
        cloud.sms().list_all_templates(&ql),
        cloud.dcs().list_all_tasks(None),
    )
    .expect("snapshot");
    let live = LiveSnapshot {
        sources,
        tasks,
        templates,
        migrations,
    };
    let plan = migplan_planner::plan(&spec, &live, &PlanOptions::default()).expect("plan");
    let options = ApplyOptions {
        parallelism: n,
        poll_interval: interval,
        requests_per_second: 0.0,
        ..ApplyOptions::default()
    };
    let watch = Watch {
        cloud: cloud.clone(),
        waits: n,
        seen: Mutex::new((0, None, None)),
    };
    // Stop waiting `measure` after everything waits: a deadline on the whole run.
    let interrupt = Interrupt::default();
    let stop = interrupt.stop.clone();
    let apply = Apply {
        cloud: &cloud,
        spec: &spec,
        plan: &plan,
        live: &live,
        options: &options,
        secrets: Arc::new(|_| None),
    };
    let run = apply.run(&watch, &interrupt);
    tokio::pin!(run);
    let summary = loop {
        tokio::select! {
            s = &mut run => break s.expect("runs"),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                let since = watch.seen.lock().ok().and_then(|s| s.1.map(|(t, _)| t));
                if since.is_some_and(|t| t.elapsed() >= measure) {
                    stop.cancel();
                }
            }
        }
    };
    let _ = summary;
    let (start, end) = {
        let s = watch.seen.lock().expect("lock");
        (s.1, s.2)
    };
    let ((t0, r0), (t1, r1)) = (start.expect("all waiting"), end.expect("ended"));
    let intervals = (t1 - t0).as_secs_f64() / interval.as_secs_f64();
    let per_interval = (r1 - r0) as f64 / intervals;
    let _ = emu.shutdown().await;
    (per_interval, intervals)
}

fn main() {
    makespans();
    println!();
    println!(
        "## API calls per poll interval while N tasks replicate (interval 200 ms, 3 s measured)"
    );
    println!(
        "{:>6} {:>22} {:>22} {:>10}",
        "N", "list requests/interval", "per-task polling", "intervals"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for n in [10usize, 100, 1000] {
        let (per, intervals) = rt.block_on(calls_per_interval(
            n,
            Duration::from_millis(200),
            Duration::from_secs(3),
        ));
        println!("{n:>6} {per:>22.2} {n:>22} {intervals:>10.1}");
    }
    println!();
    println!(
        "Each interval is one paged walk of GET /v3/tasks (200 per page): ceil(N/200) requests, whatever the number of waiting steps."
    );
}
