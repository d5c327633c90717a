//! [`StepGraph`]: the sealed DAG of steps (the weight of each node is the [`Step`] itself),
//! with its topological order and DOT / mermaid output for `migplan graph`.

use std::fmt::Write;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::error::PlanError;
use crate::step::Step;
use crate::step_graph_builder::StepGraphBuilder;

/// A sealed, acyclic step graph in a deterministic topological order.
#[derive(Debug, Clone)]
pub struct StepGraph {
    graph: DiGraph<Step, ()>,
    order: Vec<NodeIndex>,
}

impl StepGraph {
    pub(crate) fn from_parts(graph: DiGraph<Step, ()>, order: Vec<NodeIndex>) -> Self {
        StepGraph { graph, order }
    }

    /// Rebuilds the graph of a plan's steps (their `depends_on`), keeping their order as the
    /// tie-breaker. Unknown dependency ids are ignored.
    pub fn from_steps(steps: &[Step]) -> Result<StepGraph, PlanError> {
        let mut b = StepGraphBuilder::new();
        let nodes: Vec<NodeIndex> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| b.add_step(s.clone(), (i as u32, 0)))
            .collect();
        for (s, to) in steps.iter().zip(&nodes) {
            for d in &s.depends_on {
                if let Some(from) = b.node(d) {
                    b.add_edge(from, *to);
                }
            }
        }
        b.seal()
    }

    /// Number of steps (barriers included).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when there are no steps.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Steps in topological order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.order.iter().map(|i| &self.graph[*i])
    }

    /// The underlying petgraph graph (node weight = step).
    pub fn graph(&self) -> &DiGraph<Step, ()> {
        &self.graph
    }

    /// Steps in topological order, owned.
    pub fn into_steps(self) -> Vec<Step> {
        // Move the weights out once, then pick them in order (no placeholder per step).
        let (nodes, _) = self.graph.into_nodes_edges();
        let mut slots: Vec<Option<Step>> = nodes.into_iter().map(|n| Some(n.weight)).collect();
        self.order
            .iter()
            .filter_map(|i| slots.get_mut(i.index()).and_then(Option::take))
            .collect()
    }

    fn node_label(step: &Step) -> String {
        match &step.resource {
            Some(r) => format!("{} {r}: {}", step.symbol, step.label),
            None => format!("{} {}", step.symbol, step.label),
        }
    }

    /// Graphviz DOT, nodes in topological order, edges sorted.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph plan {\n  rankdir=LR;\n  node [shape=box];\n");
        for i in &self.order {
            let s = &self.graph[*i];
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\"];",
                s.id,
                Self::node_label(s).replace('"', "\\\"")
            );
        }
        for (a, b) in self.sorted_edges() {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\";",
                self.graph[a].id, self.graph[b].id
            );
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart, nodes `n0..` in topological order.
    pub fn to_mermaid(&self) -> String {
        let mut pos = vec![0usize; self.graph.node_count()];
        for (k, i) in self.order.iter().enumerate() {
            pos[i.index()] = k;
        }
        let mut out = String::from("flowchart LR\n");
        for (k, i) in self.order.iter().enumerate() {
            let label = Self::node_label(&self.graph[*i]).replace('"', "#quot;");
            let _ = writeln!(out, "  n{k}[\"{label}\"]");
        }
        for (a, b) in self.sorted_edges() {
            let _ = writeln!(out, "  n{} --> n{}", pos[a.index()], pos[b.index()]);
        }
        out
    }

    fn sorted_edges(&self) -> Vec<(NodeIndex, NodeIndex)> {
        let mut pos = vec![0usize; self.graph.node_count()];
        for (k, i) in self.order.iter().enumerate() {
            pos[i.index()] = k;
        }
        let mut edges: Vec<(NodeIndex, NodeIndex)> = self
            .graph
            .edge_references()
            .map(|e| (e.source(), e.target()))
            .collect();
        edges.sort_by_key(|(a, b)| (pos[a.index()], pos[b.index()]));
        edges
    }
}
