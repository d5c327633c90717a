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

use crate::schedule::{Node, NodeIx, Outcome, Scheduler, SchedulerOptions};

/// The makespan of running `nodes` (their `estimate` is the true duration) with the scheduler.
pub fn simulate(nodes: &[Node], opts: &SchedulerOptions) -> u64 {
    let mut s = Scheduler::new(nodes.to_vec(), opts.clone());
    let mut now = 0u64;
    let mut events: BinaryHeap<Reverse<(u64, NodeIx)>> = BinaryHeap::new();
    loop {
        for ix in s.ready() {
            s.start(ix);
            events.push(Reverse((now + nodes[ix].estimate, ix)));
        }
        let Some(Reverse((t, ix))) = events.pop() else {
            break;
        };
        now = t;
        s.complete(ix, Outcome::Done);
        // Complete everything else ending at the same instant before dispatching again.
        while let Some(Reverse((t2, ix2))) = events.peek().copied() {
            if t2 != now {
                break;
            }
            events.pop();
            s.complete(ix2, Outcome::Done);
        }
    }
    now
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
