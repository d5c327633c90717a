//! [`StepGraphBuilder`]: collects steps and edges, then [`StepGraphBuilder::seal`]s them into a
//! [`StepGraph`] in a deterministic topological order (Kahn, ties broken by file order).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::PlanError;
use crate::step::{Step, StepId};
use crate::step_graph::StepGraph;

/// Ordering key of a step among the ready ones: (resource position in the file, step position
/// in its chain). Smaller runs first.
pub type Priority = (u32, u32);

/// A step graph under construction. Only [`StepGraph`] (sealed) reaches the executor.
#[derive(Debug, Default)]
pub struct StepGraphBuilder {
    graph: DiGraph<Step, ()>,
    priority: Vec<Priority>,
    index: HashMap<StepId, NodeIndex>,
    edges: HashSet<(NodeIndex, NodeIndex)>,
}

impl StepGraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a step; a step with the same id is added once.
    pub fn add_step(&mut self, step: Step, priority: Priority) -> NodeIndex {
        if let Some(ix) = self.index.get(&step.id) {
            return *ix;
        }
        let id = step.id.clone();
        let ix = self.graph.add_node(step);
        self.priority.push(priority);
        self.index.insert(id, ix);
        ix
    }

    /// The node of a step id.
    pub fn node(&self, id: &StepId) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    /// `to` waits for `from`. Duplicate edges are ignored.
    pub fn add_edge(&mut self, from: NodeIndex, to: NodeIndex) {
        if from != to && self.edges.insert((from, to)) {
            self.graph.add_edge(from, to, ());
        }
    }

    /// Orders the graph topologically and fills each step's `depends_on`. A cycle is an error
    /// naming the steps on it.
    pub fn seal(self) -> Result<StepGraph, PlanError> {
        let StepGraphBuilder {
            mut graph,
            priority,
            ..
        } = self;
        let n = graph.node_count();
        let mut indegree: Vec<usize> = (0..n)
            .map(|i| {
                graph
                    .neighbors_directed(NodeIndex::new(i), Direction::Incoming)
                    .count()
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<(Priority, usize)>> = (0..n)
            .filter(|i| indegree[*i] == 0)
            .map(|i| Reverse((priority[i], i)))
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((_, i))) = ready.pop() {
            order.push(NodeIndex::new(i));
            for m in graph.neighbors_directed(NodeIndex::new(i), Direction::Outgoing) {
                let j = m.index();
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.push(Reverse((priority[j], j)));
                }
            }
        }
        if order.len() < n {
            return Err(PlanError::Cycle {
                cycle: find_cycle(&graph),
            });
        }
        for i in 0..n {
            let ix = NodeIndex::new(i);
            let mut deps: Vec<StepId> = graph
                .neighbors_directed(ix, Direction::Incoming)
                .map(|p| graph[p].id.clone())
                .collect();
            deps.sort();
            graph[ix].depends_on = deps;
        }
        Ok(StepGraph::from_parts(graph, order))
    }
}

fn find_cycle(graph: &DiGraph<Step, ()>) -> Vec<String> {
    let sccs = petgraph::algo::tarjan_scc(graph);
    let Some(scc) = sccs.into_iter().find(|c| c.len() > 1) else {
        return Vec::new();
    };
    let mut labels: Vec<String> = scc.iter().map(|i| graph[*i].id.to_string()).collect();
    labels.sort();
    if let Some(first) = labels.first().cloned() {
        labels.push(first);
    }
    labels
}
