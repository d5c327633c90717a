//! Dependency cycles, spelled out.
//!
//! Each resource is a chain of stage nodes (`server.a@configured → … → server.a@cutover`); a
//! dependency adds an edge from the stage waited for to the stage that waits; a wave adds a
//! barrier node between its members' last stages and the next wave's first stages. A cycle in
//! this graph is a set of waits that can never all finish. Stage granularity matters: `a`'s
//! cutover may wait for `b@migrated` while `b` waits for all of `a` only if that is circular.

use std::collections::{HashMap, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::diagnostic::{Code, PlanDiagnostic, Span};
use crate::excerpt::quote;
use crate::spec::{Dependency, ResourceAddr, SourceMap, Spec, Stage};

#[derive(Debug, Clone)]
enum NodeKind {
    Stage(ResourceAddr),
    Wave(String),
}

#[derive(Debug, Clone)]
enum Edge {
    /// Next stage of the same resource.
    Chain,
    /// A `depends_on` entry of `waiter`, written at `span`.
    Depends {
        waiter: ResourceAddr,
        dep: Dependency,
        span: Span,
    },
    /// Wave ordering.
    Wave,
}

struct Chains {
    graph: DiGraph<NodeKind, Edge>,
    /// First and last stage node of each resource.
    ends: HashMap<ResourceAddr, (NodeIndex, NodeIndex)>,
    /// Stage nodes by (resource, stage).
    stages: HashMap<(ResourceAddr, Stage), NodeIndex>,
}

impl Chains {
    fn add_chain(&mut self, addr: ResourceAddr, stages: impl Iterator<Item = Stage>) {
        let mut first = None;
        let mut prev: Option<NodeIndex> = None;
        for s in stages {
            let n = self.graph.add_node(NodeKind::Stage(addr.clone()));
            self.stages.insert((addr.clone(), s), n);
            if let Some(p) = prev {
                self.graph.add_edge(p, n, Edge::Chain);
            }
            first.get_or_insert(n);
            prev = Some(n);
        }
        if let (Some(f), Some(l)) = (first, prev) {
            self.ends.insert(addr, (f, l));
        }
    }
}

/// Reports every dependency cycle in the spec, one diagnostic per cycle.
pub(crate) fn find_cycles(
    spec: &Spec,
    dep_spans: &HashMap<ResourceAddr, Vec<Span>>,
    map: &SourceMap,
) -> Vec<PlanDiagnostic> {
    let mut c = Chains {
        graph: DiGraph::new(),
        ends: HashMap::new(),
        stages: HashMap::new(),
    };
    for s in &spec.servers {
        c.add_chain(
            ResourceAddr::server(&s.name),
            s.stage.path().map(Stage::Server),
        );
    }
    for r in &spec.redis {
        c.add_chain(
            ResourceAddr::redis(&r.name),
            r.stage.path().map(Stage::Redis),
        );
    }
    let deps = spec
        .servers
        .iter()
        .map(|s| (ResourceAddr::server(&s.name), &s.depends_on))
        .chain(
            spec.redis
                .iter()
                .map(|r| (ResourceAddr::redis(&r.name), &r.depends_on)),
        );
    for (waiter, list) in deps {
        let spans = dep_spans.get(&waiter).map(Vec::as_slice).unwrap_or(&[]);
        for (dep, span) in list.iter().zip(spans) {
            let Some(&(first, _)) = c.ends.get(&waiter) else {
                continue;
            };
            let to = dep
                .stage
                .and_then(|s| c.stages.get(&(waiter.clone(), s)).copied())
                .unwrap_or(first);
            let from = match dep.on_stage {
                Some(s) => c.stages.get(&(dep.on.clone(), s)).copied(),
                None => c.ends.get(&dep.on).map(|e| e.1),
            };
            if let Some(from) = from {
                c.graph.add_edge(
                    from,
                    to,
                    Edge::Depends {
                        waiter: waiter.clone(),
                        dep: dep.clone(),
                        span: *span,
                    },
                );
            }
        }
    }
    let mut previous: Option<NodeIndex> = None;
    for w in &spec.waves {
        let barrier = c.graph.add_node(NodeKind::Wave(w.name.clone()));
        for m in &w.members {
            let Some(&(first, last)) = c.ends.get(m) else {
                continue;
            };
            c.graph.add_edge(last, barrier, Edge::Wave);
            if let Some(p) = previous {
                c.graph.add_edge(p, first, Edge::Wave);
            }
        }
        previous = Some(barrier);
    }

    let mut out = Vec::new();
    for scc in tarjan_scc(&c.graph) {
        // One node is a cycle only with an edge to itself: a resource whose stage waits for
        // that same stage of itself (`{replicated: server.x}` on `x`).
        let self_loop = scc.len() == 1 && c.graph.edges(scc[0]).any(|e| e.target() == scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        if let Some(d) = describe_cycle(&c.graph, &scc, map) {
            out.push(d);
        }
    }
    out
}

/// Steps of a cycle shown in its message: each name bounded, and a long cycle shortened to its
/// first and last steps.
fn cycle_words(words: &[String]) -> String {
    const HEAD: usize = 6;
    const TAIL: usize = 4;
    let shown = |w: &String| {
        if w.starts_with("wave `") {
            w.clone()
        } else {
            quote(w)
        }
    };
    if words.len() <= HEAD + TAIL + 1 {
        return words.iter().map(shown).collect::<Vec<_>>().join(" → ");
    }
    let mut parts: Vec<String> = words[..HEAD].iter().map(shown).collect();
    parts.push(format!("… ({} more) …", words.len() - HEAD - TAIL));
    parts.extend(words[words.len() - TAIL..].iter().map(shown));
    parts.join(" → ")
}

/// Finds one concrete cycle inside a strongly connected component and renders it as a chain of
/// waits: `server.a → redis.b@migrated → server.a` reads "a waits for b@migrated, which waits
/// for a".
fn describe_cycle(
    g: &DiGraph<NodeKind, Edge>,
    scc: &[NodeIndex],
    map: &SourceMap,
) -> Option<PlanDiagnostic> {
    let inside: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
    // Start at the target of a dependency edge, so the cycle begins at a resource that waits.
    // Only the component's own edges are looked at, so many small cycles stay linear.
    let start_edge = scc
        .iter()
        .flat_map(|&n| g.edges(n))
        .filter(|e| inside.contains(&e.target()))
        .filter(|e| matches!(e.weight(), Edge::Depends { .. }))
        .min_by_key(|e| match e.weight() {
            Edge::Depends { span, .. } => span.offset,
            _ => usize::MAX,
        })?;
    let start = start_edge.target();
    // BFS from start back to start within the component, then read the edges on the path.
    let mut parent: HashMap<NodeIndex, petgraph::graph::EdgeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    while let Some(n) = queue.pop_front() {
        for e in g.edges(n) {
            let t = e.target();
            if !inside.contains(&t) {
                continue;
            }
            if t == start {
                closing = Some(e.id());
                queue.clear();
                break;
            }
            if let std::collections::hash_map::Entry::Vacant(v) = parent.entry(t) {
                v.insert(e.id());
                queue.push_back(t);
            }
        }
    }
    let mut path = vec![closing?];
    let mut n = g.edge_endpoints(path[0])?.0;
    while n != start {
        let e = *parent.get(&n)?;
        path.push(e);
        n = g.edge_endpoints(e)?.0;
    }
    // `path` runs backwards from start (waiter) along "waits for" edges.
    let mut words: Vec<String> = Vec::new();
    let mut labels: Vec<(Span, String)> = Vec::new();
    let node_name = |n: NodeIndex| match &g[n] {
        NodeKind::Stage(a) => a.to_string(),
        NodeKind::Wave(w) => format!("wave `{}`", quote(w)),
    };
    words.push(node_name(start));
    for e in &path {
        let (from, _) = g.edge_endpoints(*e)?;
        match &g[*e] {
            Edge::Chain => {}
            Edge::Depends { waiter, dep, span } => {
                let on = match dep.on_stage {
                    Some(s) => format!("{}@{s}", dep.on),
                    None => dep.on.to_string(),
                };
                let at = dep.stage.map(|s| format!(" at `{s}`")).unwrap_or_default();
                labels.push((
                    *span,
                    format!(
                        "`{}`{at} waits for `{}`",
                        quote(&waiter.to_string()),
                        quote(&on)
                    ),
                ));
                words.push(on);
            }
            Edge::Wave => {
                if let NodeKind::Wave(name) = &g[from]
                    && let Some(span) = map.waves.get(name)
                {
                    labels.push((
                        *span,
                        format!(
                            "wave `{}` must finish before the next wave starts",
                            quote(name)
                        ),
                    ));
                }
                let w = node_name(from);
                if words.last() != Some(&w) {
                    words.push(w);
                }
            }
        }
    }
    // Close the loop on the starting resource's name, as users think of it.
    if let NodeKind::Stage(a) = &g[start] {
        let name = a.to_string();
        let last_resource = words.last().map(|w| w.split('@').next().unwrap_or(w));
        if last_resource != Some(name.as_str()) {
            words.push(name);
        }
    }
    let (primary, note) = labels.first().cloned()?;
    let mut d = PlanDiagnostic::new(
        Code::Cycle,
        format!("dependency cycle: {}", cycle_words(&words)),
        primary,
        note,
    )
    .with_help("these resources wait for each other, so none of them can proceed; remove or narrow one dependency (e.g. wait for an earlier stage)");
    for (span, note) in labels.into_iter().skip(1) {
        d = d.with_related(span, note);
    }
    Some(d)
}
