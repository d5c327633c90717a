//! Discrete-event simulation of the [`Scheduler`] on made-up durations: the makespan figures of
//! the benchmark, with no runtime and no clock.
//!
//! [`simulate`] runs the real scheduler: at each event time it starts whatever `ready()` offers,
//! then jumps to the next completion. [`level_by_level`] is the baseline: every step of DAG
//! level k (longest chain of dependencies before it) must end before level k+1 starts, as a
//! naive "topological batches" runner would do. [`lower_bound`] is max(critical path, total
//! work / parallelism).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::schedule::{Node, NodeIx, Outcome, Scheduler, SchedulerOptions, StepState};

/// The makespan of running `nodes` (their `estimate` is the true duration) with the scheduler.
pub fn simulate(nodes: &[Node], opts: &SchedulerOptions) -> u64 {
    let run = Sim::new(Scheduler::new(nodes.to_vec(), opts.clone())).run();
    run.makespan.unwrap_or(run.stalled_at)
}

/// A service's request rate in the simulation: calls of one service are at least `spacing`
/// apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time between two calls of one service.
    pub spacing: u64,
}

/// A discrete-event run of the real [`Scheduler`] on estimated durations: at each instant it
/// starts whatever `ready()` offers, then jumps to the next end (of a step, or of a migration
/// outside the run that holds a slot of the quota). Used for the makespan figures, the
/// forecast of `plan`, and the ETA re-estimated during apply (from a scheduler mid-run).
#[derive(Debug)]
pub struct Sim {
    sched: Scheduler,
    now: u64,
    events: BinaryHeap<Reverse<(u64, Ev)>>,
    /// When each migration outside the run ends (`u64::MAX`: not on its own).
    outside: Vec<u64>,
    /// Per node: the service its calls go to (0 or 1) and how many calls it makes.
    calls: Vec<Option<(usize, u32)>>,
    rate: Option<Rate>,
    next_call: [u64; 2],
    run: SimRun,
    last_done: Option<NodeIx>,
    /// When the quota became full or free again: `(instant, full)`.
    full: Vec<(u64, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Node(NodeIx),
    Outside,
}

/// Where every step of a simulated run started and ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimRun {
    /// Start of each node (`None`: never started).
    pub start: Vec<Option<u64>>,
    /// End of each node.
    pub end: Vec<Option<u64>>,
    /// Nodes that waited for a slot of the quota at some point.
    pub queued: Vec<bool>,
    /// The step whose end let each node start (a dependency, or the one that freed a slot).
    pub cause: Vec<Option<NodeIx>>,
    /// The order nodes started in.
    pub order: Vec<NodeIx>,
    /// When the last step ended; `None` when some step never started (the quota is taken by
    /// migrations that do not end).
    pub makespan: Option<u64>,
    /// When the run could not go on (the last event).
    pub stalled_at: u64,
}

impl Sim {
    /// A run of `sched` from its current state (a fresh scheduler, or one mid-run whose
    /// running steps are then given with [`Sim::running`]).
    pub fn new(sched: Scheduler) -> Self {
        let n = sched.nodes().len();
        Sim {
            sched,
            now: 0,
            events: BinaryHeap::new(),
            outside: Vec::new(),
            calls: vec![None; n],
            rate: None,
            next_call: [0; 2],
            run: SimRun {
                start: vec![None; n],
                end: vec![None; n],
                queued: vec![false; n],
                cause: vec![None; n],
                order: Vec::new(),
                makespan: None,
                stalled_at: 0,
            },
            last_done: None,
            full: Vec::new(),
        }
    }

    /// Migrations outside the run that hold slots of the quota, by when each ends.
    pub fn outside(mut self, ends: Vec<u64>) -> Self {
        for &e in &ends {
            if e != u64::MAX {
                self.events.push(Reverse((e, Ev::Outside)));
            }
        }
        self.outside = ends;
        self
    }

    /// The calls each node makes, and the rate they are paced at.
    pub fn calls(mut self, calls: Vec<Option<(usize, u32)>>, rate: Option<Rate>) -> Self {
        self.calls = calls;
        self.rate = rate;
        self
    }

    /// A node that runs already (mid-run) and ends after `left`.
    pub fn running(mut self, ix: NodeIx, left: u64) -> Self {
        self.run.start[ix] = Some(0);
        self.events.push(Reverse((left, Ev::Node(ix))));
        self
    }

    /// Runs to the end (or to where nothing can move any more).
    pub fn run(mut self) -> SimRun {
        // Running nodes nobody gave an end to end after their estimate.
        let mut given = vec![false; self.sched.nodes().len()];
        for Reverse((_, e)) in &self.events {
            if let Ev::Node(ix) = e {
                given[*ix] = true;
            }
        }
        for (ix, given) in given.into_iter().enumerate() {
            if self.sched.state(ix) == StepState::Running && !given {
                self.run.start[ix] = Some(0);
                let d = self.sched.nodes()[ix].estimate;
                self.events.push(Reverse((d, Ev::Node(ix))));
            }
        }
        loop {
            let out = self.outside.iter().filter(|&&e| e > self.now).count();
            self.sched.set_outside(out);
            for ix in self.sched.ready() {
                self.begin(ix);
            }
            let full = self.sched.quota_full();
            if self.full.last().map_or(full, |&(_, f)| f) != full || self.full.is_empty() {
                self.full.push((self.now, full));
            }
            let Some(Reverse((t, ev))) = self.events.pop() else {
                break;
            };
            self.now = t;
            self.end(ev);
            // Everything else ending at the same instant before dispatching again.
            while let Some(Reverse((t2, ev2))) = self.events.peek().copied() {
                if t2 != t {
                    break;
                }
                self.events.pop();
                self.end(ev2);
            }
        }
        self.run.stalled_at = self.now;
        self.mark_queued();
        let all = (0..self.sched.nodes().len())
            .all(|i| !matches!(self.sched.state(i), StepState::Pending | StepState::Running));
        self.run.makespan = all.then_some(self.now);
        self.run
    }

    /// The copies that waited for a slot: ready (their dependencies ended) while the quota
    /// was full, and started later.
    fn mark_queued(&mut self) {
        let full_between = |from: u64, to: u64| {
            // The state at `from`, and any change to full before `to`.
            let at = self.full.partition_point(|&(t, _)| t <= from);
            let before = at.checked_sub(1).is_some_and(|i| self.full[i].1);
            before
                || self.full[at..]
                    .iter()
                    .take_while(|&&(t, _)| t < to)
                    .any(|&(_, f)| f)
        };
        let nodes = self.sched.nodes();
        // A barrier (never started) ends with the last of its dependencies; nodes come in
        // dependency order.
        let mut end: Vec<u64> = self.run.end.iter().map(|e| e.unwrap_or(0)).collect();
        for (ix, node) in nodes.iter().enumerate() {
            if node.free {
                end[ix] = node.deps.iter().map(|&d| end[d]).max().unwrap_or(0);
            }
        }
        for (ix, node) in nodes.iter().enumerate() {
            if !node.quota.starts() || node.resource.is_none() {
                continue;
            }
            let ready_at = node.deps.iter().map(|&d| end[d]).max().unwrap_or(0);
            let start = self.run.start[ix].unwrap_or(u64::MAX);
            self.run.queued[ix] = start > ready_at && full_between(ready_at, start);
        }
    }

    fn begin(&mut self, ix: NodeIx) {
        if !self.sched.start(ix) {
            return;
        }
        self.run.start[ix] = Some(self.now);
        self.run.order.push(ix);
        self.run.cause[ix] = self.last_done;
        let mut d = self.sched.nodes()[ix].estimate;
        if let (Some(rate), Some((svc, n))) = (self.rate, self.calls[ix]) {
            let slot = &mut self.next_call[svc.min(1)];
            let at = (*slot).max(self.now);
            *slot = at + rate.spacing * u64::from(n.max(1));
            d += at - self.now;
        }
        self.events.push(Reverse((self.now + d, Ev::Node(ix))));
    }

    fn end(&mut self, ev: Ev) {
        if let Ev::Node(ix) = ev {
            self.run.end[ix] = Some(self.now);
            self.sched.complete(ix, Outcome::Done);
            self.last_done = Some(ix);
        }
    }
}

/// The makespan of a level-by-level runner with at most `parallelism` steps at once
/// (shortest-index first inside a level; barriers take no time or slot).
pub fn level_by_level(nodes: &[Node], parallelism: Option<usize>) -> u64 {
    let levels = levels(nodes);
    let depth = levels.iter().copied().max().map_or(0, |m| m + 1);
    let mut total = 0u64;
    for l in 0..depth {
        let durations: Vec<u64> = (0..nodes.len())
            .filter(|&i| levels[i] == l && !nodes[i].free)
            .map(|i| nodes[i].estimate)
            .collect();
        total += list_schedule(&durations, parallelism);
    }
    total
}

/// max(critical path, total work / parallelism).
pub fn lower_bound(nodes: &[Node], parallelism: Option<usize>) -> u64 {
    let cp = critical_path(nodes);
    let work: u64 = nodes.iter().map(|n| n.estimate).sum();
    match parallelism {
        Some(p) if p > 0 => cp.max(work.div_ceil(p as u64)),
        _ => cp,
    }
}

/// The longest path through the DAG (sum of estimates).
pub fn critical_path(nodes: &[Node]) -> u64 {
    let s = Scheduler::new(nodes.to_vec(), SchedulerOptions::default());
    (0..nodes.len()).map(|i| s.priority(i)).max().unwrap_or(0)
}

/// Level of each node: 0 for roots, else 1 + max level of its dependencies.
fn levels(nodes: &[Node]) -> Vec<usize> {
    // Nodes of a plan are in topological order; generated DAGs too. Fall back to a fixpoint.
    let mut level = vec![0usize; nodes.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for (i, n) in nodes.iter().enumerate() {
            let l = n.deps.iter().map(|&d| level[d] + 1).max().unwrap_or(0);
            if l != level[i] {
                level[i] = l;
                changed = true;
            }
        }
    }
    level
}

fn list_schedule(durations: &[u64], parallelism: Option<usize>) -> u64 {
    let p = parallelism.unwrap_or(usize::MAX).max(1);
    if durations.len() <= p {
        return durations.iter().copied().max().unwrap_or(0);
    }
    let mut machines: BinaryHeap<Reverse<u64>> = (0..p).map(|_| Reverse(0)).collect();
    let mut end = 0;
    for &d in durations {
        let Reverse(free_at) = machines.pop().unwrap_or(Reverse(0));
        let t = free_at + d;
        end = end.max(t);
        machines.push(Reverse(t));
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(len: usize, d: u64, r: usize, base: usize) -> Vec<Node> {
        (0..len)
            .map(|k| {
                let deps: Vec<usize> = if k == 0 { vec![] } else { vec![base + k - 1] };
                Node::new(format!("c{r}.{k}"), &deps, d).resource(r)
            })
            .collect()
    }

    #[test]
    fn unbounded_makespan_is_the_critical_path() {
        let mut nodes = chain(3, 10, 0, 0);
        nodes.extend(chain(2, 40, 1, 3));
        let opts = SchedulerOptions::default();
        assert_eq!(critical_path(&nodes), 80);
        assert_eq!(simulate(&nodes, &opts), 80);
    }

    #[test]
    fn level_by_level_waits_for_the_slowest_of_each_level() {
        // chain A: 1, 100; chain B: 100, 1 → levels (1|100) then (100|1) = 200; best is 101.
        let nodes = vec![
            Node::new("a0", &[], 1).resource(0),
            Node::new("a1", &[0], 100).resource(0),
            Node::new("b0", &[], 100).resource(1),
            Node::new("b1", &[2], 1).resource(1),
        ];
        assert_eq!(level_by_level(&nodes, None), 200);
        assert_eq!(simulate(&nodes, &SchedulerOptions::default()), 101);
        assert_eq!(lower_bound(&nodes, None), 101);
    }

    #[test]
    fn bounded_parallelism_respects_the_work_bound() {
        let nodes: Vec<Node> = (0..10)
            .map(|i| Node::new(format!("n{i}"), &[], 10).resource(i))
            .collect();
        let opts = SchedulerOptions {
            parallelism: Some(3),
            ..SchedulerOptions::default()
        };
        assert_eq!(lower_bound(&nodes, Some(3)), 34);
        assert_eq!(simulate(&nodes, &opts), 40);
    }
}
