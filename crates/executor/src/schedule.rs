//! [`Scheduler`]: which step may start now. Synchronous data, no runtime, no clock.
//!
//! The scheduler knows the DAG (nodes and their dependencies), an estimated duration per node,
//! and the limits; the driver tells it what started ([`Scheduler::start`]) and how it ended
//! ([`Scheduler::complete`]). It answers [`Scheduler::ready`]: the steps that may start now,
//! heading the longest remaining path first.
//!
//! Limits, all enforced by `ready()`:
//! - `parallelism`: steps in flight (a call or a wait; barriers are free);
//! - one step per resource at a time (at most one mutating call per resource is in flight);
//! - wave caps: a wave with `max_parallel: N` has at most N members *active* (a member is
//!   active from its first step's start until its last step ends);
//! - the SMS quota (`quota`): a step that begins a migration ([`QuotaUse::Starts`]: a `start`,
//!   a sync round, a `restart`) starts only while the migrations running, this run's and the
//!   account's others ([`Scheduler::set_outside`], from the driver's polls), are fewer than
//!   the quota. Its resource holds the slot until a step that ends the migration ends (the
//!   wait for the copy), or the resource has nothing left; a resource whose chain begins by
//!   waiting for a copy already running holds one from the start. Copies waiting for a slot
//!   are admitted in the queue's order, longest remaining path first;
//! - after a failure under `fail_fast`, or after [`Scheduler::stop`], nothing new starts.
//!
//! A failed step marks its transitive dependents [`StepState::Skipped`] (naming the root
//! failure once); independent chains go on. A step that ended [`Outcome::InProgress`] (its
//! wait was cut by `--wait-timeout` or Ctrl-C) keeps its slot and its dependents stay
//! pending: the next run re-attaches to it.
//!
//! ```
//! use migplan_executor::schedule::{Node, Outcome, Scheduler, SchedulerOptions};
//! // a → b, and c independent; c is longer, so it heads the queue.
//! let nodes = vec![
//!     Node::new("a", &[], 10).resource(0),
//!     Node::new("b", &[0], 10).resource(0),
//!     Node::new("c", &[], 30).resource(1),
//! ];
//! let mut s = Scheduler::new(nodes, SchedulerOptions::default());
//! assert_eq!(s.ready(), vec![2, 0]);
//! s.start(2);
//! s.start(0);
//! s.complete(0, Outcome::Done);
//! assert_eq!(s.ready(), vec![1]);
//! ```

use std::cmp::Reverse;
use std::collections::BTreeSet;

pub use migplan_planner::QuotaUse;

/// Index of a node (its position in the node list).
pub type NodeIx = usize;

/// One step as the scheduler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Name for messages (the step id).
    pub name: String,
    /// Nodes that must be done first.
    pub deps: Vec<NodeIx>,
    /// Resource index (steps of one resource never run at the same time).
    pub resource: Option<usize>,
    /// Wave index of its resource.
    pub wave: Option<usize>,
    /// Estimated duration, in (virtual) seconds. Orders the ready queue.
    pub estimate: u64,
    /// A node that takes no slot and completes as soon as it is ready (a wave barrier).
    pub free: bool,
    /// What it does to the SMS quota (begins or ends a migration).
    pub quota: QuotaUse,
}

impl Node {
    /// A node with dependencies and an estimate.
    pub fn new(name: impl Into<String>, deps: &[NodeIx], estimate: u64) -> Self {
        Node {
            name: name.into(),
            deps: deps.to_vec(),
            resource: None,
            wave: None,
            estimate,
            free: false,
            quota: QuotaUse::None,
        }
    }
    /// Sets the resource.
    pub fn resource(mut self, r: usize) -> Self {
        self.resource = Some(r);
        self
    }
    /// Sets the wave.
    pub fn wave(mut self, w: usize) -> Self {
        self.wave = Some(w);
        self
    }
    /// Marks it free (a barrier).
    pub fn free(mut self) -> Self {
        self.free = true;
        self
    }
    /// Sets what it does to the SMS quota.
    pub fn quota(mut self, q: QuotaUse) -> Self {
        self.quota = q;
        self
    }
}

/// Limits and policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// Steps in flight at most (`None` = unbounded).
    pub parallelism: Option<usize>,
    /// `max_parallel` per wave index (`None` = no cap).
    pub wave_caps: Vec<Option<u32>>,
    /// Stop starting anything after the first failure.
    pub fail_fast: bool,
    /// SMS migrations running at once at most, this run's and the account's others (`None`:
    /// no quota).
    pub quota: Option<usize>,
}

/// How a started step ended, as far as scheduling is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Its postcondition holds.
    Done,
    /// It failed; dependents are skipped.
    Failed,
    /// Its call (if any) was made but its postcondition was not reached before the run
    /// stopped watching (wait timeout, Ctrl-C). Keeps its slot; dependents stay pending.
    InProgress,
    /// Not started: its maintenance window closed. Dependents are not run either; not a
    /// failure (no fail-fast).
    Held,
    /// Refused for the SMS quota (a migration began outside the run since the driver last
    /// counted): it frees its slot and waits for one again, as if never started.
    Requeue,
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Not started yet.
    Pending,
    /// Started, not ended.
    Running,
    /// Ended with its postcondition reached.
    Done,
    /// Failed.
    Failed,
    /// Still running in the cloud; this run stopped watching it.
    InProgress,
    /// Not started: its maintenance window closed.
    Held,
    /// Not run because `because` failed (the root failure, named once).
    Skipped {
        /// The failed step.
        because: NodeIx,
    },
}

/// Why nothing new starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `--fail-fast` after this step failed.
    FailFast(NodeIx),
    /// Interrupted (Ctrl-C) or stopped by the driver.
    Stopped,
}

/// The pure scheduler. See the module docs.
#[derive(Debug, Clone)]
pub struct Scheduler {
    nodes: Vec<Node>,
    succ: Vec<Vec<NodeIx>>,
    deps_left: Vec<usize>,
    state: Vec<StepState>,
    priority: Vec<u64>,
    /// Ready steps that begin no migration, best first.
    ready: BTreeSet<(Reverse<u64>, NodeIx)>,
    /// Ready steps that begin a migration (they need a slot of the quota), best first: kept
    /// apart so that a full quota costs nothing to skip, however long its queue.
    ready_quota: BTreeSet<(Reverse<u64>, NodeIx)>,
    running: usize,
    resource_busy: Vec<bool>,
    resource_left: Vec<usize>,
    resource_started: Vec<bool>,
    wave_active: Vec<u32>,
    /// Resources holding a slot of the quota.
    holds: Vec<bool>,
    /// How many do.
    held: usize,
    /// Migrations running in the account that no resource of this run holds.
    outside: usize,
    /// Changes each time a slot is taken or freed.
    quota_epoch: u64,
    opts: SchedulerOptions,
    stop: Option<Stop>,
}

impl Scheduler {
    /// A scheduler over `nodes` (dependencies must point at valid indices and form a DAG; a
    /// node whose dependency never completes simply never becomes ready).
    pub fn new(nodes: Vec<Node>, opts: SchedulerOptions) -> Self {
        let n = nodes.len();
        let mut succ = vec![Vec::new(); n];
        let mut deps_left = vec![0; n];
        for (i, node) in nodes.iter().enumerate() {
            for &d in &node.deps {
                if d < n && d != i {
                    succ[d].push(i);
                    deps_left[i] += 1;
                }
            }
        }
        let priority = longest_remaining(&nodes, &succ);
        let resources = nodes
            .iter()
            .filter_map(|n| n.resource)
            .max()
            .map_or(0, |m| m + 1);
        let mut resource_left = vec![0; resources];
        for node in &nodes {
            if let Some(r) = node.resource {
                resource_left[r] += 1;
            }
        }
        let waves = nodes
            .iter()
            .filter_map(|n| n.wave)
            .max()
            .map_or(0, |m| m + 1)
            .max(opts.wave_caps.len());
        // A resource whose first step on the quota ends a migration (it waits for a copy that
        // runs already) holds a slot from the start.
        let mut holds = vec![false; resources];
        let mut seen = vec![false; resources];
        for node in &nodes {
            if let Some(r) = node.resource
                && node.quota != QuotaUse::None
                && !std::mem::replace(&mut seen[r], true)
            {
                holds[r] = !node.quota.starts();
            }
        }
        let held = holds.iter().filter(|h| **h).count();
        let mut s = Scheduler {
            nodes,
            succ,
            deps_left,
            state: vec![StepState::Pending; n],
            priority,
            ready: BTreeSet::new(),
            ready_quota: BTreeSet::new(),
            running: 0,
            resource_busy: vec![false; resources],
            resource_left,
            resource_started: vec![false; resources],
            wave_active: vec![0; waves],
            holds,
            held,
            outside: 0,
            quota_epoch: 0,
            opts,
            stop: None,
        };
        let roots: Vec<NodeIx> = (0..n).filter(|&i| s.deps_left[i] == 0).collect();
        for i in roots {
            s.make_ready(i);
        }
        s
    }

    /// The nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Longest remaining path from each node (its own estimate included).
    pub fn priority(&self, ix: NodeIx) -> u64 {
        self.priority[ix]
    }

    /// A node's state.
    pub fn state(&self, ix: NodeIx) -> StepState {
        self.state[ix]
    }

    /// Every node's state.
    pub fn states(&self) -> &[StepState] {
        &self.state
    }

    /// Why nothing new starts, if so.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop
    }

    /// Steps started and not ended.
    pub fn running(&self) -> usize {
        self.state
            .iter()
            .filter(|s| **s == StepState::Running)
            .count()
    }

    /// Tells how many migrations run in the account that no resource of this run holds (the
    /// driver counts them in each poll).
    pub fn set_outside(&mut self, n: usize) {
        self.outside = n;
    }

    /// Migrations running that no resource of this run holds.
    pub fn outside(&self) -> usize {
        self.outside
    }

    /// Slots of the quota this run's resources hold.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Whether resource `r` holds a slot of the quota.
    pub fn holds(&self, r: usize) -> bool {
        self.holds.get(r).copied().unwrap_or(false)
    }

    /// Whether a migration may begin now: fewer than the quota run (always, without one).
    fn quota_free(&self, admitted: usize) -> bool {
        self.opts
            .quota
            .is_none_or(|q| self.held + self.outside + admitted < q)
    }

    /// Whether `ix` needs a slot of the quota it does not have.
    fn needs_slot(&self, ix: NodeIx) -> bool {
        let node = &self.nodes[ix];
        node.quota.starts() && node.resource.is_some_and(|r| !self.holds[r])
    }

    /// Whether every slot of the quota is taken (never, without a quota).
    pub fn quota_full(&self) -> bool {
        !self.quota_free(0)
    }

    /// Changes each time one of this run's resources takes or frees a slot (the driver
    /// counts the migrations outside again then).
    pub fn quota_epoch(&self) -> u64 {
        self.quota_epoch
    }

    /// How many steps are ready but for the quota: they begin a migration and every slot is
    /// taken. The driver watches the polls while there are any (a slot frees when a
    /// migration ends, ours or not).
    pub fn waiting_for_quota(&self) -> usize {
        if self.stop.is_some() || !self.quota_full() {
            return 0;
        }
        self.ready_quota.len()
    }

    /// The steps ready but for the quota, in the order they will be admitted.
    pub fn quota_queue(&self) -> impl Iterator<Item = NodeIx> + '_ {
        let full = self.stop.is_none() && self.quota_full();
        self.ready_quota
            .iter()
            .map(|&(_, ix)| ix)
            .filter(move |&ix| full && self.needs_slot(ix))
    }

    /// The ready set a step belongs in.
    fn ready_set(&mut self, ix: NodeIx) -> &mut BTreeSet<(Reverse<u64>, NodeIx)> {
        if self.nodes[ix].quota.starts() {
            &mut self.ready_quota
        } else {
            &mut self.ready
        }
    }

    fn enqueue(&mut self, ix: NodeIx) {
        let key = (Reverse(self.priority[ix]), ix);
        self.ready_set(ix).insert(key);
    }

    fn dequeue(&mut self, ix: NodeIx) -> bool {
        let key = (Reverse(self.priority[ix]), ix);
        self.ready_set(ix).remove(&key)
    }

    /// Stops dispatching (Ctrl-C): `ready()` is empty from now on.
    pub fn stop(&mut self) {
        self.stop.get_or_insert(Stop::Stopped);
    }

    /// The steps that may start now, best first, within every limit. Starting all of them
    /// (in order) is allowed.
    pub fn ready(&self) -> Vec<NodeIx> {
        if self.stop.is_some() {
            return Vec::new();
        }
        let mut slots = self
            .opts
            .parallelism
            .map(|p| p.saturating_sub(self.running));
        let mut out = Vec::new();
        let mut taken_resources: Vec<usize> = Vec::new();
        let mut extra_active = vec![0u32; self.wave_active.len()];
        let mut admitted = 0usize;
        // Both ready sets in one order, best first; the quota's only while a slot is free.
        let mut plain = self.ready.iter().peekable();
        let mut copies = self.ready_quota.iter().peekable();
        loop {
            if slots == Some(0) {
                break;
            }
            let open = self.quota_free(admitted);
            let next = match (plain.peek(), copies.peek().filter(|_| open)) {
                (Some(a), Some(b)) if b < a => copies.next(),
                (Some(_), _) => plain.next(),
                (None, Some(_)) => copies.next(),
                (None, None) => None,
            };
            let Some(&(_, ix)) = next else { break };
            let node = &self.nodes[ix];
            if let Some(r) = node.resource {
                if self.resource_busy[r] || taken_resources.contains(&r) {
                    continue;
                }
                let wave = (!self.resource_started[r])
                    .then_some(node.wave)
                    .flatten()
                    .filter(|w| matches!(self.opts.wave_caps.get(*w), Some(Some(_))));
                if let Some(w) = wave
                    && let Some(Some(cap)) = self.opts.wave_caps.get(w)
                    && self.wave_active[w] + extra_active[w] >= *cap
                {
                    continue;
                }
                let slot = self.needs_slot(ix);
                if slot && !self.quota_free(admitted) {
                    continue;
                }
                if let Some(w) = wave {
                    extra_active[w] += 1;
                }
                admitted += usize::from(slot);
                taken_resources.push(r);
            }
            out.push(ix);
            if let Some(s) = slots.as_mut() {
                *s -= 1;
            }
        }
        out
    }

    /// Marks a ready step started. Returns false (and does nothing) when it is not ready.
    pub fn start(&mut self, ix: NodeIx) -> bool {
        if self.stop.is_some() {
            return false;
        }
        if !self.dequeue(ix) {
            return false;
        }
        self.state[ix] = StepState::Running;
        self.running += 1;
        if self.needs_slot(ix)
            && let Some(r) = self.nodes[ix].resource
        {
            self.holds[r] = true;
            self.held += 1;
            self.quota_epoch += 1;
        }
        if let Some(r) = self.nodes[ix].resource {
            self.resource_busy[r] = true;
            if !self.resource_started[r] {
                self.resource_started[r] = true;
                if let Some(w) = self.nodes[ix].wave {
                    self.wave_active[w] += 1;
                }
            }
        }
        true
    }

    /// Records how a started step ended. Returns the steps newly skipped because of it.
    pub fn complete(&mut self, ix: NodeIx, outcome: Outcome) -> Vec<NodeIx> {
        if self.state[ix] != StepState::Running {
            return Vec::new();
        }
        // The migration ended (its wait ended, however), or never began (its start failed
        // or was held): the slot is free. A step cut short keeps it.
        let quota = self.nodes[ix].quota;
        let ended = match outcome {
            Outcome::InProgress => false,
            Outcome::Done => quota.ends(),
            Outcome::Failed | Outcome::Held | Outcome::Requeue => quota != QuotaUse::None,
        };
        if ended && let Some(r) = self.nodes[ix].resource {
            self.release(r);
        }
        match outcome {
            Outcome::InProgress => {
                // Keeps its slot, its resource and its wave membership.
                self.state[ix] = StepState::InProgress;
                Vec::new()
            }
            Outcome::Requeue => {
                // Pending and ready again; its resource stays started (wave membership).
                self.state[ix] = StepState::Pending;
                self.running -= 1;
                if let Some(r) = self.nodes[ix].resource {
                    self.resource_busy[r] = false;
                }
                self.enqueue(ix);
                Vec::new()
            }
            Outcome::Done => {
                self.end(ix, StepState::Done);
                for s in self.succ[ix].clone() {
                    self.deps_left[s] -= 1;
                    if self.deps_left[s] == 0 && self.state[s] == StepState::Pending {
                        self.make_ready(s);
                    }
                }
                Vec::new()
            }
            Outcome::Held => {
                self.end(ix, StepState::Held);
                self.skip_dependents(ix)
            }
            Outcome::Failed => {
                // Stop first, then mark: nothing can be dispatched in between.
                if self.opts.fail_fast {
                    self.stop.get_or_insert(Stop::FailFast(ix));
                }
                self.end(ix, StepState::Failed);
                self.skip_dependents(ix)
            }
        }
    }

    /// True when nothing is running and nothing more can start.
    pub fn is_finished(&self) -> bool {
        self.running() == 0 && self.ready().is_empty()
    }

    /// For a pending step, the first dependency that is not done (what it waits for).
    pub fn waiting_on(&self, ix: NodeIx) -> Option<NodeIx> {
        self.nodes[ix]
            .deps
            .iter()
            .copied()
            .find(|&d| self.state[d] != StepState::Done)
    }

    fn end(&mut self, ix: NodeIx, state: StepState) {
        self.state[ix] = state;
        self.running -= 1;
        if let Some(r) = self.nodes[ix].resource {
            self.resource_busy[r] = false;
            self.resource_done_one(r, ix);
        }
    }

    /// Frees resource `r`'s slot of the quota, if it holds one.
    fn release(&mut self, r: usize) {
        if std::mem::replace(&mut self.holds[r], false) {
            self.held -= 1;
            self.quota_epoch += 1;
        }
    }

    fn resource_done_one(&mut self, r: usize, ix: NodeIx) {
        self.resource_left[r] = self.resource_left[r].saturating_sub(1);
        if self.resource_left[r] == 0 {
            self.release(r);
        }
        if self.resource_left[r] == 0
            && self.resource_started[r]
            && let Some(w) = self.nodes[ix].wave
        {
            self.wave_active[w] = self.wave_active[w].saturating_sub(1);
        }
    }

    fn skip_dependents(&mut self, root: NodeIx) -> Vec<NodeIx> {
        let mut skipped = Vec::new();
        let mut stack = self.succ[root].clone();
        while let Some(s) = stack.pop() {
            if self.state[s] != StepState::Pending {
                continue;
            }
            self.dequeue(s);
            self.state[s] = StepState::Skipped { because: root };
            if let Some(r) = self.nodes[s].resource {
                self.resource_done_one(r, s);
            }
            skipped.push(s);
            stack.extend(self.succ[s].iter().copied());
        }
        skipped.sort_unstable();
        skipped
    }

    /// Makes a node ready; a free node completes at once (and may release others).
    fn make_ready(&mut self, ix: NodeIx) {
        let mut work = vec![ix];
        while let Some(i) = work.pop() {
            if !self.nodes[i].free {
                self.enqueue(i);
                continue;
            }
            self.state[i] = StepState::Done;
            for &s in &self.succ[i] {
                self.deps_left[s] -= 1;
                if self.deps_left[s] == 0 && self.state[s] == StepState::Pending {
                    work.push(s);
                }
            }
        }
    }
}

/// Longest path from each node to a sink, its own estimate included (reverse topological
/// order by Kahn's algorithm; nodes on a cycle, which a sealed plan never has, get their own
/// estimate).
fn longest_remaining(nodes: &[Node], succ: &[Vec<NodeIx>]) -> Vec<u64> {
    let n = nodes.len();
    let mut out_left: Vec<usize> = succ.iter().map(Vec::len).collect();
    let mut preds: Vec<Vec<NodeIx>> = vec![Vec::new(); n];
    for (i, ss) in succ.iter().enumerate() {
        for &s in ss {
            preds[s].push(i);
        }
    }
    let mut prio: Vec<u64> = nodes.iter().map(|x| x.estimate).collect();
    let mut stack: Vec<NodeIx> = (0..n).filter(|&i| out_left[i] == 0).collect();
    while let Some(i) = stack.pop() {
        let best = succ[i].iter().map(|&s| prio[s]).max().unwrap_or(0);
        prio[i] = nodes[i].estimate.saturating_add(best);
        for &p in &preds[i] {
            out_left[p] -= 1;
            if out_left[p] == 0 {
                stack.push(p);
            }
        }
    }
    prio
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(parallelism: Option<usize>) -> SchedulerOptions {
        SchedulerOptions {
            parallelism,
            ..SchedulerOptions::default()
        }
    }

    /// Starts everything ready and returns it.
    fn dispatch(s: &mut Scheduler) -> Vec<NodeIx> {
        let r = s.ready();
        for &i in &r {
            assert!(s.start(i));
        }
        r
    }

    #[test]
    fn longest_remaining_path_heads_the_queue() {
        //  a(5) → b(5)        c(20)     d(1) → e(30)
        let nodes = vec![
            Node::new("a", &[], 5).resource(0),
            Node::new("b", &[0], 5).resource(0),
            Node::new("c", &[], 20).resource(1),
            Node::new("d", &[], 1).resource(2),
            Node::new("e", &[3], 30).resource(2),
        ];
        let s = Scheduler::new(nodes, opts(None));
        assert_eq!(s.priority(3), 31);
        assert_eq!(s.priority(0), 10);
        assert_eq!(s.ready(), vec![3, 2, 0]);
    }

    #[test]
    fn a_step_starts_only_when_every_dependency_is_done() {
        //  a ─┐
        //     ├→ c
        //  b ─┘
        let nodes = vec![
            Node::new("a", &[], 1),
            Node::new("b", &[], 1),
            Node::new("c", &[0, 1], 1),
        ];
        let mut s = Scheduler::new(nodes, opts(None));
        assert_eq!(dispatch(&mut s), vec![0, 1]);
        s.complete(0, Outcome::Done);
        assert!(s.ready().is_empty());
        s.complete(1, Outcome::Done);
        assert_eq!(s.ready(), vec![2]);
    }

    #[test]
    fn parallelism_bounds_steps_in_flight() {
        let nodes = (0..5)
            .map(|i| Node::new(format!("n{i}"), &[], 10).resource(i))
            .collect();
        let mut s = Scheduler::new(nodes, opts(Some(2)));
        assert_eq!(dispatch(&mut s), vec![0, 1]);
        assert!(s.ready().is_empty());
        s.complete(1, Outcome::Done);
        assert_eq!(dispatch(&mut s), vec![2]);
    }

    #[test]
    fn failure_skips_transitive_dependents_and_independent_chains_go_on() {
        //  a → b → c      d → e
        //       ↘ f
        let nodes = vec![
            Node::new("a", &[], 1).resource(0),
            Node::new("b", &[0], 1).resource(0),
            Node::new("c", &[1], 1).resource(0),
            Node::new("d", &[], 1).resource(1),
            Node::new("e", &[3], 1).resource(1),
            Node::new("f", &[1], 1).resource(2),
        ];
        let mut s = Scheduler::new(nodes, opts(None));
        assert_eq!(dispatch(&mut s), vec![0, 3]);
        assert!(s.complete(0, Outcome::Failed) == vec![1, 2, 5]);
        assert_eq!(s.state(2), StepState::Skipped { because: 0 });
        assert_eq!(s.state(5), StepState::Skipped { because: 0 });
        s.complete(3, Outcome::Done);
        assert_eq!(dispatch(&mut s), vec![4]);
        s.complete(4, Outcome::Done);
        assert!(s.is_finished());
    }

    #[test]
    fn fail_fast_stops_dispatching_everything() {
        let nodes = vec![
            Node::new("a", &[], 1).resource(0),
            Node::new("b", &[], 1).resource(1),
            Node::new("c", &[1], 1).resource(1),
            Node::new("d", &[], 1).resource(2),
        ];
        let mut s = Scheduler::new(
            nodes,
            SchedulerOptions {
                parallelism: Some(2),
                fail_fast: true,
                ..SchedulerOptions::default()
            },
        );
        assert_eq!(dispatch(&mut s), vec![1, 0]);
        s.complete(0, Outcome::Failed);
        assert_eq!(s.stopped(), Some(Stop::FailFast(0)));
        assert!(s.ready().is_empty(), "d must not start");
        // The in-flight step still ends normally.
        s.complete(1, Outcome::Done);
        assert!(s.ready().is_empty());
        assert_eq!(s.state(2), StepState::Pending);
        assert_eq!(s.state(3), StepState::Pending);
        assert!(s.is_finished());
    }

    #[test]
    fn one_step_per_resource_at_a_time() {
        // Two independent steps of the same resource (no edge between them).
        let nodes = vec![
            Node::new("x", &[], 5).resource(0),
            Node::new("y", &[], 4).resource(0),
            Node::new("z", &[], 1).resource(1),
        ];
        let mut s = Scheduler::new(nodes, opts(None));
        assert_eq!(dispatch(&mut s), vec![0, 2]);
        s.complete(0, Outcome::Done);
        assert_eq!(dispatch(&mut s), vec![1]);
    }

    #[test]
    fn wave_cap_counts_members_that_are_active() {
        // Three members of wave 0 (cap 2), each a two-step chain; one outside.
        let mut nodes = Vec::new();
        for r in 0..3 {
            let first = nodes.len();
            nodes.push(Node::new(format!("r{r}.a"), &[], 10).resource(r).wave(0));
            nodes.push(
                Node::new(format!("r{r}.b"), &[first], 10)
                    .resource(r)
                    .wave(0),
            );
        }
        nodes.push(Node::new("other", &[], 1).resource(3));
        let mut s = Scheduler::new(
            nodes,
            SchedulerOptions {
                wave_caps: vec![Some(2)],
                ..SchedulerOptions::default()
            },
        );
        assert_eq!(dispatch(&mut s), vec![0, 2, 6]);
        // r0 between its steps is still active: r2 may not start.
        s.complete(0, Outcome::Done);
        assert_eq!(dispatch(&mut s), vec![1]);
        s.complete(1, Outcome::Done);
        // r0 is finished: r2 may start.
        assert_eq!(dispatch(&mut s), vec![4]);
    }

    #[test]
    fn a_failed_member_frees_its_wave_slot() {
        let nodes = vec![
            Node::new("a1", &[], 1).resource(0).wave(0),
            Node::new("a2", &[0], 1).resource(0).wave(0),
            Node::new("b1", &[], 1).resource(1).wave(0),
        ];
        let mut s = Scheduler::new(
            nodes,
            SchedulerOptions {
                wave_caps: vec![Some(1)],
                ..SchedulerOptions::default()
            },
        );
        assert_eq!(dispatch(&mut s), vec![0]);
        s.complete(0, Outcome::Failed);
        assert_eq!(dispatch(&mut s), vec![2]);
    }

    #[test]
    fn barriers_complete_at_once_and_take_no_slot() {
        //  a ─→ |barrier| ─→ b
        //  c ─↗
        let nodes = vec![
            Node::new("a", &[], 1).resource(0),
            Node::new("c", &[], 1).resource(1),
            Node::new("barrier", &[0, 1], 0).free(),
            Node::new("b", &[2], 1).resource(2),
        ];
        let mut s = Scheduler::new(nodes, opts(Some(2)));
        assert_eq!(dispatch(&mut s), vec![0, 1]);
        s.complete(0, Outcome::Done);
        s.complete(1, Outcome::Done);
        assert_eq!(s.state(2), StepState::Done);
        assert_eq!(s.ready(), vec![3]);
    }

    #[test]
    fn in_progress_keeps_its_slot_and_holds_its_dependents() {
        let nodes = vec![
            Node::new("wait", &[], 100).resource(0),
            Node::new("test", &[0], 1).resource(0),
            Node::new("other", &[], 1).resource(1),
        ];
        let mut s = Scheduler::new(nodes, opts(Some(1)));
        assert_eq!(dispatch(&mut s), vec![0]);
        s.complete(0, Outcome::InProgress);
        assert_eq!(s.state(0), StepState::InProgress);
        assert!(s.ready().is_empty(), "the slot stays taken");
        assert_eq!(s.waiting_on(1), Some(0));
        assert!(s.is_finished());
    }

    #[test]
    fn stop_means_nothing_new() {
        let nodes = vec![Node::new("a", &[], 1), Node::new("b", &[], 1)];
        let mut s = Scheduler::new(nodes, opts(None));
        s.start(0);
        s.stop();
        assert!(s.ready().is_empty());
        assert!(!s.start(1));
        s.complete(0, Outcome::Done);
        assert!(s.is_finished());
    }

    #[test]
    fn completing_twice_or_a_step_never_started_is_ignored() {
        let nodes = vec![Node::new("a", &[], 1), Node::new("b", &[0], 1)];
        let mut s = Scheduler::new(nodes, opts(None));
        assert!(s.complete(1, Outcome::Done).is_empty());
        assert_eq!(s.state(1), StepState::Pending);
        s.start(0);
        s.complete(0, Outcome::Done);
        s.complete(0, Outcome::Failed);
        assert_eq!(s.state(0), StepState::Done);
        assert_eq!(s.ready(), vec![1]);
    }

    /// Server `r`: create (no quota), start (begins a migration), wait (ends it), test.
    fn copy_chain(nodes: &mut Vec<Node>, r: usize, copy: u64) {
        let b = nodes.len();
        nodes.push(Node::new(format!("s{r}#create"), &[], 1).resource(r));
        nodes.push(
            Node::new(format!("s{r}#start"), &[b], 1)
                .resource(r)
                .quota(QuotaUse::Starts),
        );
        nodes.push(
            Node::new(format!("s{r}#wait.replicated"), &[b + 1], copy)
                .resource(r)
                .quota(QuotaUse::Ends),
        );
        nodes.push(Node::new(format!("s{r}#test"), &[b + 2], 1).resource(r));
    }

    fn quota(q: usize) -> SchedulerOptions {
        SchedulerOptions {
            quota: Some(q),
            ..SchedulerOptions::default()
        }
    }

    fn names(s: &Scheduler, ixs: &[NodeIx]) -> Vec<String> {
        ixs.iter().map(|&i| s.nodes()[i].name.clone()).collect()
    }

    /// Starts everything ready and returns the names.
    fn dispatch_names(s: &mut Scheduler) -> Vec<String> {
        let ixs = dispatch(s);
        names(s, &ixs)
    }

    #[test]
    fn the_quota_admits_copies_only_while_slots_are_free_and_frees_them_when_copies_end() {
        let mut nodes = Vec::new();
        for r in 0..4 {
            copy_chain(&mut nodes, r, 100 + r as u64);
        }
        let mut s = Scheduler::new(nodes, quota(2));
        // Creates are not copies: all four go.
        let creates = dispatch(&mut s);
        assert_eq!(creates.len(), 4);
        for ix in creates {
            s.complete(ix, Outcome::Done);
        }
        // Two starts, by the longest remaining path (s3 then s2); s1 and s0 queue.
        let starts = dispatch(&mut s);
        assert_eq!(names(&s, &starts), ["s3#start", "s2#start"]);
        assert_eq!(s.held(), 2);
        assert_eq!(s.waiting_for_quota(), 2);
        for ix in starts {
            s.complete(ix, Outcome::Done);
        }
        // The started copies' waits run; the slots stay taken until they end.
        let waits = dispatch(&mut s);
        assert_eq!(
            names(&s, &waits),
            ["s3#wait.replicated", "s2#wait.replicated"]
        );
        assert!(s.ready().is_empty());
        s.complete(waits[1], Outcome::Done);
        assert_eq!(s.held(), 1);
        // One slot free: s1 (longer than s0) is admitted, and s2's test goes on.
        assert_eq!(dispatch_names(&mut s), ["s1#start", "s2#test"]);
        assert_eq!(s.waiting_for_quota(), 1);
    }

    #[test]
    fn migrations_outside_the_run_take_slots_too() {
        let mut nodes = Vec::new();
        for r in 0..3 {
            copy_chain(&mut nodes, r, 100);
        }
        let mut s = Scheduler::new(nodes, quota(3));
        s.set_outside(2);
        for ix in dispatch(&mut s) {
            s.complete(ix, Outcome::Done);
        }
        assert_eq!(dispatch(&mut s).len(), 1, "3 - 2 running elsewhere");
        s.set_outside(3);
        assert_eq!(s.waiting_for_quota(), 2);
        assert!(s.ready().is_empty(), "over the quota: nothing begins");
        s.set_outside(0);
        assert_eq!(s.ready().len(), 2);
    }

    #[test]
    fn a_copy_already_running_holds_its_slot_from_the_start() {
        // s0 re-attaches to a running copy (its chain begins with the wait); s1 starts one.
        let mut nodes = vec![
            Node::new("s0#wait.replicated", &[], 50)
                .resource(0)
                .quota(QuotaUse::Ends),
        ];
        let b = nodes.len();
        nodes.push(
            Node::new("s1#start", &[], 1)
                .resource(1)
                .quota(QuotaUse::Starts),
        );
        nodes.push(
            Node::new("s1#wait.replicated", &[b], 50)
                .resource(1)
                .quota(QuotaUse::Ends),
        );
        let mut s = Scheduler::new(nodes, quota(1));
        assert!(s.holds(0) && !s.holds(1));
        assert_eq!(dispatch_names(&mut s), ["s0#wait.replicated"]);
        assert_eq!(s.waiting_for_quota(), 1);
        s.complete(0, Outcome::Done);
        assert_eq!(dispatch_names(&mut s), ["s1#start"]);
    }

    #[test]
    fn a_failed_start_or_a_skipped_copy_frees_its_slot() {
        let mut nodes = Vec::new();
        for r in 0..2 {
            copy_chain(&mut nodes, r, 100);
        }
        let mut s = Scheduler::new(nodes, quota(1));
        for ix in dispatch(&mut s) {
            s.complete(ix, Outcome::Done);
        }
        let start = dispatch(&mut s);
        assert_eq!(start.len(), 1);
        s.complete(start[0], Outcome::Failed);
        assert_eq!(s.held(), 0, "the refused start holds nothing");
        let next = dispatch(&mut s);
        assert_eq!(next.len(), 1);
        s.complete(next[0], Outcome::Done);
        let wait = dispatch(&mut s);
        s.complete(wait[0], Outcome::Failed);
        assert_eq!(s.held(), 0, "a copy that failed frees its slot");
    }

    #[test]
    fn a_wait_cut_short_keeps_its_slot() {
        let mut nodes = Vec::new();
        copy_chain(&mut nodes, 0, 100);
        copy_chain(&mut nodes, 1, 100);
        let mut s = Scheduler::new(nodes, quota(1));
        for ix in dispatch(&mut s) {
            s.complete(ix, Outcome::Done);
        }
        let start = dispatch(&mut s);
        s.complete(start[0], Outcome::Done);
        let wait = dispatch(&mut s);
        s.complete(wait[0], Outcome::InProgress);
        assert_eq!(s.held(), 1);
        assert_eq!(s.waiting_for_quota(), 1);
        assert!(s.ready().is_empty());
    }

    #[test]
    fn a_simulated_fleet_never_runs_more_copies_than_the_quota() {
        // 60 copies under a quota of 20 with 3 running elsewhere that end at t=150.
        let mut nodes = Vec::new();
        for r in 0..60 {
            copy_chain(&mut nodes, r, 100 + (r as u64 * 7) % 90);
        }
        let mut s = Scheduler::new(nodes.clone(), quota(20));
        let mut now = 0u64;
        let mut outside = 3usize;
        s.set_outside(outside);
        let mut ends: Vec<(u64, NodeIx)> = Vec::new();
        let mut peak = 0;
        loop {
            if now >= 150 && outside > 0 {
                outside = 0;
                s.set_outside(0);
            }
            for ix in s.ready() {
                assert!(s.start(ix));
                ends.push((now + nodes[ix].estimate, ix));
            }
            peak = peak.max(s.held() + s.outside());
            assert!(
                s.held() + s.outside() <= 20,
                "at {now}: {} + {}",
                s.held(),
                s.outside()
            );
            ends.sort_unstable();
            let Some((t, ix)) = (!ends.is_empty()).then(|| ends.remove(0)) else {
                if outside > 0 {
                    now = 150;
                    continue;
                }
                break;
            };
            now = t;
            s.complete(ix, Outcome::Done);
        }
        assert_eq!(peak, 20);
        assert!(s.states().iter().all(|st| *st == StepState::Done));
    }

    #[test]
    fn a_start_refused_for_the_quota_frees_its_slot_and_queues_again() {
        let mut nodes = Vec::new();
        copy_chain(&mut nodes, 0, 100);
        let mut s = Scheduler::new(nodes, quota(1));
        for ix in dispatch(&mut s) {
            s.complete(ix, Outcome::Done);
        }
        let start = dispatch(&mut s);
        assert_eq!(s.held(), 1);
        // Someone else's migration began between two polls: refused.
        s.set_outside(1);
        assert!(s.complete(start[0], Outcome::Requeue).is_empty());
        assert_eq!((s.held(), s.state(start[0])), (0, StepState::Pending));
        assert_eq!(s.waiting_for_quota(), 1);
        assert!(s.ready().is_empty());
        s.set_outside(0);
        assert_eq!(dispatch(&mut s), start, "sent again once a slot is free");
    }
}
