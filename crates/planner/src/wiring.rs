//! Wiring resources together: blocked dependencies propagate, then dependency, stage and wave
//! edges join the resources' chains into one [`StepGraph`].

use std::collections::{HashMap, VecDeque};

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
    pub(crate) deps: &'s [Dependency],
    /// Root of the blocked chain (itself when blocked for its own reasons).
    pub(crate) root: Option<ResourceAddr>,
}

impl Item<'_> {
    fn reached(&self, stage: Stage) -> bool {
        self.plan.current.reached().is_some_and(|r| r >= stage)
    }
    /// First step that moves it into `stage` or later (`None`: its first step).
    fn first_step_into(&self, stage: Option<Stage>) -> Option<&Step> {
        match stage {
            None => self.steps.first(),
            Some(s) if self.reached(s) => None,
            Some(s) => self
                .steps
                .iter()
                .find(|st| st.stage.is_some_and(|x| x >= s)),
        }
    }
    /// Last step that completes `stage` (or the stage before it, when `stage` is skipped).
    fn last_step_completing(&self, stage: Stage) -> Option<&Step> {
        self.steps
            .iter()
            .rev()
            .find(|st| st.stage.is_some_and(|x| x <= stage))
    }
}

/// Marks resources that wait (unsatisfied) on a blocked one as blocked too, naming the root
/// once. Processes resources in dependency order (the parser rejected cycles).
pub(crate) fn propagate_blocked(
    items: &mut [Item<'_>],
    pos: &HashMap<ResourceAddr, usize>,
    waves: &[(&str, Vec<usize>)],
) {
    let n = items.len();
    // Nodes 0..n are resources, n..n+waves are "wave k done" barriers.
    let total = n + waves.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut indeg = vec![0usize; total];
    let mut wave_of = vec![None; n];
    for (i, it) in items.iter().enumerate() {
        for d in it.deps {
            if let Some(&o) = pos.get(&d.on) {
                succ[o].push(i);
                indeg[i] += 1;
            }
        }
    }
    for (k, (_, members)) in waves.iter().enumerate() {
        for &m in members {
            wave_of[m] = Some(k);
            succ[m].push(n + k);
            indeg[n + k] += 1;
            if k > 0 {
                succ[n + k - 1].push(m);
                indeg[m] += 1;
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..total).filter(|i| indeg[*i] == 0).collect();
    let mut wave_root: Vec<Option<(ResourceAddr, ResourceAddr)>> = vec![None; waves.len()];
    while let Some(v) = queue.pop_front() {
        if v >= n {
            let k = v - n;
            wave_root[k] = waves[k].1.iter().find_map(|&m| {
                let it = &items[m];
                let done = it.reached(it.plan.desired);
                it.root
                    .clone()
                    .filter(|_| !done)
                    .map(|r| (it.plan.addr.clone(), r))
            });
        } else if items[v].root.is_none() {
            let mut reason = None;
            for d in items[v].deps {
                let Some(&o) = pos.get(&d.on) else { continue };
                let other = &items[o];
                let stage = d.on_stage.unwrap_or(other.plan.desired);
                if other.reached(stage) || d.stage.is_some_and(|s| items[v].reached(s)) {
                    continue;
                }
                if let Some(root) = &other.root {
                    reason = Some(BlockedReason::DependencyBlocked {
                        on: d.on.clone(),
                        root: root.clone(),
                    });
                } else if stage > other.plan.desired {
                    reason = Some(BlockedReason::DependencyUnreachable {
                        on: d.on.clone(),
                        stage,
                    });
                }
                if reason.is_some() {
                    break;
                }
            }
            if reason.is_none()
                && let Some(k) = wave_of[v].filter(|k| *k > 0)
                && let Some((on, root)) = &wave_root[k - 1]
            {
                reason = Some(BlockedReason::DependencyBlocked {
                    on: on.clone(),
                    root: root.clone(),
                });
            }
            if let Some(r) = reason {
                let root = match &r {
                    BlockedReason::DependencyBlocked { root, .. } => root.clone(),
                    _ => items[v].plan.addr.clone(),
                };
                let it = &mut items[v];
                it.plan.blocked.push(r.into());
                it.steps.clear();
                it.root = Some(root);
            }
        }
        for &s in &succ[v] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                queue.push_back(s);
            }
        }
    }
}

pub(crate) fn build_graph(
    items: &mut [Item<'_>],
    pos: &HashMap<ResourceAddr, usize>,
    waves: &[(&str, Vec<usize>)],
) -> Result<StepGraph, PlanError> {
    let mut b = StepGraphBuilder::new();
    for (i, it) in items.iter_mut().enumerate() {
        it.plan.steps = it.steps.iter().map(|s| s.id.clone()).collect();
        let mut prev = None;
        for (k, s) in it.steps.iter().enumerate() {
            let node = b.add_step(s.clone(), (i as u32 + 1, k as u32));
            if let Some(p) = prev {
                b.add_edge(p, node);
            }
            prev = Some(node);
        }
    }
    for it in items.iter() {
        for d in it.deps {
            let Some(&o) = pos.get(&d.on) else { continue };
            let other = &items[o];
            let stage = d.on_stage.unwrap_or(other.plan.desired);
            if other.reached(stage) {
                continue;
            }
            let (Some(mine), Some(theirs)) = (
                it.first_step_into(d.stage),
                other.last_step_completing(stage),
            ) else {
                continue;
            };
            if let (Some(to), Some(from)) = (b.node(&mine.id), b.node(&theirs.id)) {
                b.add_edge(from, to);
            }
        }
    }
    let pending = |k: usize| waves[k].1.iter().any(|&m| !items[m].steps.is_empty());
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
            if let Some(last) = items[m].steps.last().and_then(|s| b.node(&s.id)) {
                b.add_edge(last, barrier);
            }
        }
        for &m in &waves[k + 1].1 {
            if let Some(first) = items[m].steps.first().and_then(|s| b.node(&s.id)) {
                b.add_edge(barrier, first);
            }
        }
        prev_barrier = Some(barrier);
    }
    b.seal()
}
