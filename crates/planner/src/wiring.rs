//! Wiring resources together: blocked dependencies propagate, then dependency, stage and wave
//! edges join the resources' chains into one [`StepGraph`].

use std::collections::{HashMap, VecDeque};

use petgraph::graph::NodeIndex;

use migplan_parser::{Dependency, ResourceAddr, Stage};

use crate::blocked::BlockedReason;
use crate::error::PlanError;
use crate::plan::ResourcePlan;
use crate::step::Step;
use crate::step_graph::StepGraph;
use crate::step_graph_builder::StepGraphBuilder;

/// One resource while planning: its plan, its steps, and what it waits for.
pub(crate) struct Item<'s> {
    pub(crate) plan: ResourcePlan,
    pub(crate) steps: Vec<Step>,
    pub(crate) deps: Vec<&'s Dependency>,
    /// Root of the blocked chain (itself when blocked for its own reasons).
    pub(crate) root: Option<ResourceAddr>,
    /// With `root`: the first stage that cannot be reached (`None`: none can; the whole
    /// resource is blocked).
    pub(crate) blocked_from: Option<Stage>,
}

impl Item<'_> {
    pub(crate) fn reached(&self, stage: Stage) -> bool {
        self.plan.current.reached().is_some_and(|r| r >= stage)
    }

    /// Drops its steps into `stage` and beyond; earlier ones go ahead.
    pub(crate) fn drop_steps_from(&mut self, stage: Stage) {
        let keep = self
            .steps
            .iter()
            .position(|st| st.stage.is_some_and(|x| x >= stage));
        self.steps.truncate(keep.unwrap_or(self.steps.len()));
    }

    /// Whether a block keeps it from reaching `stage` in this run.
    fn blocked_before(&self, stage: Stage) -> bool {
        self.root.is_some() && self.blocked_from.is_none_or(|from| from <= stage)
    }
}

/// Marks resources that wait (unsatisfied) on a blocked one as blocked too, naming the root
/// once.
///
/// A worklist, not a topological walk: stage-level waits can loop at resource level (web-01's
/// cutover waits for sessions@migrated while sessions' stop waits for web-01), which is valid,
/// and every resource on such a loop must still be checked. Each resource is checked once, and
/// again whenever something it waits for (a dependency, or the wave before its own) becomes
/// blocked; a resource is blocked at most once, so the work is linear in the edges.
pub(crate) fn propagate_blocked(
    items: &mut [Item<'_>],
    pos: &HashMap<ResourceAddr, usize>,
    waves: &[(&str, Vec<usize>)],
) {
    let n = items.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, it) in items.iter().enumerate() {
        for d in &it.deps {
            if let Some(&o) = pos.get(&d.on) {
                dependents[o].push(i);
            }
        }
    }
    let mut wave_of = vec![None; n];
    for (k, (_, members)) in waves.iter().enumerate() {
        for &m in members {
            wave_of[m] = Some(k);
        }
    }
    let mut wave_root: Vec<Option<(ResourceAddr, ResourceAddr)>> =
        waves.iter().map(|(_, m)| wave_blocker(items, m)).collect();
    let mut queue: VecDeque<usize> = (0..n).collect();
    let mut queued = vec![true; n];
    while let Some(v) = queue.pop_front() {
        queued[v] = false;
        if items[v].root.is_some() && items[v].blocked_from.is_none() {
            continue; // already blocked as a whole
        }
        let wave = || {
            let k = wave_of[v].filter(|k| *k > 0)?;
            let (on, root) = wave_root[k - 1].clone()?;
            Some(BlockedReason::DependencyBlocked {
                on,
                root,
                from: None,
            })
        };
        let Some(reason) = wave().or_else(|| blocked_by(items, pos, v)) else {
            continue;
        };
        let (root, from) = match &reason {
            BlockedReason::DependencyBlocked { root, from, .. } => (root.clone(), *from),
            _ => (items[v].plan.addr.clone(), None),
        };
        let it = &mut items[v];
        // A block only ever moves earlier (a later one changes nothing already planned).
        if it.root.is_some()
            && it
                .blocked_from
                .is_some_and(|f| from.is_some_and(|n| n >= f))
        {
            continue;
        }
        it.plan
            .blocked
            .retain(|b| !matches!(b.reason, BlockedReason::DependencyBlocked { .. }));
        it.plan.blocked.push(reason.into());
        match from {
            // Steps into the waiting stage and beyond are dropped; earlier ones go ahead.
            Some(stage) => it.drop_steps_from(stage),
            None => it.steps.clear(),
        }
        it.root = Some(root);
        it.blocked_from = from;
        // Whoever waits for v, and (if v's wave just became blocked) the next wave, look again.
        let mut again = dependents[v].clone();
        if let Some(k) = wave_of[v]
            && wave_root[k].is_none()
        {
            wave_root[k] = wave_blocker(items, &waves[k].1);
            if wave_root[k].is_some()
                && let Some((_, next)) = waves.get(k + 1)
            {
                again.extend(next);
            }
        }
        for s in again {
            if !queued[s] {
                queued[s] = true;
                queue.push_back(s);
            }
        }
    }
}

/// Why resource `v` cannot proceed because of a dependency, if it cannot: the earliest of its
/// waits that can never be satisfied in this run (a whole-resource wait counts as earliest).
fn blocked_by(
    items: &[Item<'_>],
    pos: &HashMap<ResourceAddr, usize>,
    v: usize,
) -> Option<BlockedReason> {
    let mut found: Option<BlockedReason> = None;
    let earliest = |r: &Option<BlockedReason>| match r {
        Some(BlockedReason::DependencyBlocked { from, .. }) => *from,
        _ => None,
    };
    for d in &items[v].deps {
        let Some(&o) = pos.get(&d.on) else { continue };
        let other = &items[o];
        let stage = d.on_stage.unwrap_or(other.plan.desired);
        if other.reached(stage) || d.stage.is_some_and(|s| items[v].reached(s)) {
            continue;
        }
        if stage > other.plan.desired {
            return Some(BlockedReason::DependencyUnreachable {
                on: d.on.clone(),
                stage,
            });
        }
        if other.blocked_before(stage)
            && let Some(root) = &other.root
        {
            let better = match (&found, d.stage) {
                (None, _) => true,
                (Some(_), None) => earliest(&found).is_some(),
                (Some(_), Some(s)) => earliest(&found).is_some_and(|f| s < f),
            };
            if better {
                found = Some(BlockedReason::DependencyBlocked {
                    on: d.on.clone(),
                    root: root.clone(),
                    from: d.stage,
                });
            }
        }
    }
    found
}

/// The first member of a wave that is blocked and not yet done, with its root cause: the next
/// wave cannot start while it stands.
fn wave_blocker(items: &[Item<'_>], members: &[usize]) -> Option<(ResourceAddr, ResourceAddr)> {
    members.iter().find_map(|&m| {
        let it = &items[m];
        let stuck = it.blocked_before(it.plan.desired) && !it.reached(it.plan.desired);
        it.root
            .clone()
            .filter(|_| stuck)
            .map(|r| (it.plan.addr.clone(), r))
    })
}

pub(crate) fn build_graph(
    items: &mut [Item<'_>],
    pos: &HashMap<ResourceAddr, usize>,
    waves: &[(&str, Vec<usize>)],
) -> Result<StepGraph, PlanError> {
    let mut b = StepGraphBuilder::new();
    // Steps move into the graph (no copies at fleet scale); each resource keeps the stage and
    // node of every step of its chain for the wiring below.
    let mut chains: Vec<Vec<(Option<Stage>, NodeIndex)>> = Vec::with_capacity(items.len());
    for (i, it) in items.iter_mut().enumerate() {
        it.plan.steps = it.steps.iter().map(|s| s.id.clone()).collect();
        let mut chain: Vec<(Option<Stage>, NodeIndex)> = Vec::with_capacity(it.steps.len());
        for (k, s) in std::mem::take(&mut it.steps).into_iter().enumerate() {
            let stage = s.stage;
            let node = b.add_step(s, (i as u32 + 1, k as u32));
            if let Some(&(_, prev)) = chain.last() {
                b.add_edge(prev, node);
            }
            chain.push((stage, node));
        }
        chains.push(chain);
    }
    for (i, it) in items.iter().enumerate() {
        for d in &it.deps {
            let Some(&o) = pos.get(&d.on) else { continue };
            let other = &items[o];
            let stage = d.on_stage.unwrap_or(other.plan.desired);
            if other.reached(stage) {
                continue;
            }
            // Mine: the first step that moves me into the waiting stage (or my first step).
            let mine = match d.stage {
                None => chains[i].first(),
                Some(s) if it.reached(s) => None,
                Some(s) => chains[i].iter().find(|(st, _)| st.is_some_and(|x| x >= s)),
            };
            // Theirs: the last step that completes the stage waited for (or the one before it,
            // when that stage is skipped).
            let theirs = chains[o]
                .iter()
                .rev()
                .find(|(st, _)| st.is_some_and(|x| x <= stage));
            if let (Some(&(_, to)), Some(&(_, from))) = (mine, theirs) {
                b.add_edge(from, to);
            }
        }
    }
    let pending = |k: usize| waves[k].1.iter().any(|&m| !chains[m].is_empty());
    let mut prev_barrier = None;
    let mut pending_before = false;
    for k in 0..waves.len().saturating_sub(1) {
        pending_before |= pending(k);
        let pending_after = (k + 1..waves.len()).any(pending);
        if !(pending_before && pending_after) {
            continue;
        }
        let barrier = b.add_step(Step::barrier(waves[k].0, waves[k + 1].0), (0, k as u32));
        if let Some(p) = prev_barrier {
            b.add_edge(p, barrier);
        }
        for &m in &waves[k].1 {
            if let Some(&(_, last)) = chains[m].last() {
                b.add_edge(last, barrier);
            }
        }
        for &m in &waves[k + 1].1 {
            if let Some(&(_, first)) = chains[m].first() {
                b.add_edge(barrier, first);
            }
        }
        prev_barrier = Some(barrier);
    }
    b.seal()
}
