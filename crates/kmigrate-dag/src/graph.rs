//! The step graph: built mutably by a [`GraphBuilder`], then sealed into an immutable
//! [`StepGraph`] once it is known to be acyclic.

use std::collections::HashMap;

use petgraph::Direction;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::step::{Step, StepId};

/// Errors found while sealing a graph. These are internal errors (a bug in compilation), not
/// user errors: a valid plan always compiles to an acyclic graph.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    #[error("the step graph has a cycle through {}; cut one of these dependencies: {}",
        .steps.join(", "),
        .edges.iter().map(|(a, b)| format!("{a} -> {b}")).collect::<Vec<_>>().join(", "))]
    Cycle {
        /// The steps on the cycle, in a stable order.
        steps: Vec<String>,
        /// The dependency edges (dependency -> dependent) among those steps.
        edges: Vec<(String, String)>,
    },
    #[error("step {0} is defined twice")]
    DuplicateStep(String),
    #[error("step {dependent} depends on {dependency}, which does not exist")]
    MissingDependency { dependent: String, dependency: String },
}

/// Collects steps and dependencies. Consumed by [`GraphBuilder::seal`].
#[derive(Default)]
pub struct GraphBuilder {
    graph: DiGraph<Step, ()>,
    index: HashMap<StepId, NodeIndex>,
    errors: Vec<GraphError>,
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn contains(&self, id: &StepId) -> bool {
        self.index.contains_key(id)
    }

    pub fn add(&mut self, step: Step) {
        if self.index.contains_key(&step.id) {
            self.errors.push(GraphError::DuplicateStep(step.id.to_string()));
            return;
        }
        let id = step.id.clone();
        let ix = self.graph.add_node(step);
        self.index.insert(id, ix);
    }

    /// Declares that `dependent` may only start once `dependency` is done. Both steps must have
    /// been added already. Declaring the same dependency twice is harmless but wasteful.
    pub fn depend(&mut self, dependent: &StepId, dependency: &StepId) {
        match (self.index.get(dependency), self.index.get(dependent)) {
            (Some(&a), Some(&b)) => {
                self.graph.add_edge(a, b, ());
            }
            _ => self.errors.push(GraphError::MissingDependency {
                dependent: dependent.to_string(),
                dependency: dependency.to_string(),
            }),
        }
    }

    /// Rejects cycles and freezes the graph.
    pub fn seal(self) -> Result<StepGraph, GraphError> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        let order = stable_topological_order(&self.graph).ok_or_else(|| cycle_error(&self.graph))?;
        let mut rank = vec![0; order.len()];
        for (pos, ix) in order.iter().enumerate() {
            rank[ix.index()] = pos;
        }
        Ok(StepGraph { graph: self.graph, index: self.index, order, rank })
    }
}

/// Kahn's algorithm, always taking the ready step that comes first in the procedure (by kind),
/// then in plan order, so that listings read like the operators' page. `None` on a cycle.
fn stable_topological_order(graph: &DiGraph<Step, ()>) -> Option<Vec<NodeIndex>> {
    let mut indegree: Vec<usize> =
        graph.node_indices().map(|n| graph.neighbors_directed(n, Direction::Incoming).count()).collect();
    let key = |n: NodeIndex| Reverse((graph[n].id.kind, n.index()));
    let mut ready: BinaryHeap<_> =
        graph.node_indices().filter(|n| indegree[n.index()] == 0).map(key).collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(Reverse((_, ix))) = ready.pop() {
        let n = NodeIndex::new(ix);
        order.push(n);
        for m in graph.neighbors_directed(n, Direction::Outgoing) {
            indegree[m.index()] -= 1;
            if indegree[m.index()] == 0 {
                ready.push(key(m));
            }
        }
    }
    (order.len() == graph.node_count()).then_some(order)
}

fn cycle_error(graph: &DiGraph<Step, ()>) -> GraphError {
    let scc = tarjan_scc(graph)
        .into_iter()
        .find(|c| c.len() > 1 || graph.contains_edge(c[0], c[0]))
        .expect("toposort failed, so a cycle exists");
    let mut steps: Vec<String> = scc.iter().map(|&ix| graph[ix].id.to_string()).collect();
    steps.sort();
    let mut edges: Vec<(String, String)> = graph
        .edge_indices()
        .filter_map(|e| graph.edge_endpoints(e))
        .filter(|(a, b)| scc.contains(a) && scc.contains(b))
        .map(|(a, b)| (graph[a].id.to_string(), graph[b].id.to_string()))
        .collect();
    edges.sort();
    GraphError::Cycle { steps, edges }
}

/// An immutable, acyclic graph of steps. Edges point from a dependency to its dependents.
///
/// There is no way to mutate a sealed graph: to change the steps, compile a new one.
#[derive(Debug)]
pub struct StepGraph {
    graph: DiGraph<Step, ()>,
    index: HashMap<StepId, NodeIndex>,
    order: Vec<NodeIndex>,
    /// `rank[node.index()]` is the node's position in `order`.
    rank: Vec<usize>,
}

impl StepGraph {
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    pub fn get(&self, id: &StepId) -> Option<&Step> {
        self.index.get(id).map(|&ix| &self.graph[ix])
    }

    /// Every step in a topological order (dependencies first); ties keep insertion order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.order.iter().map(|&ix| &self.graph[ix])
    }

    /// The steps `id` waits for.
    pub fn dependencies(&self, id: &StepId) -> Vec<&Step> {
        self.neighbors(id, Direction::Incoming)
    }

    /// The steps waiting for `id`.
    pub fn dependents(&self, id: &StepId) -> Vec<&Step> {
        self.neighbors(id, Direction::Outgoing)
    }

    /// Every dependency edge as (dependency, dependent), in a stable order.
    pub fn edges(&self) -> Vec<(&StepId, &StepId)> {
        let mut out: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| (&self.graph[a].id, &self.graph[b].id))
            .collect();
        out.sort_by_key(|(a, b)| (self.rank(a), self.rank(b)));
        out
    }

    /// The step's position in [`StepGraph::steps`].
    pub fn rank(&self, id: &StepId) -> usize {
        self.index.get(id).map_or(usize::MAX, |ix| self.rank[ix.index()])
    }

    fn neighbors(&self, id: &StepId, dir: Direction) -> Vec<&Step> {
        let Some(&ix) = self.index.get(id) else { return Vec::new() };
        let mut out: Vec<&Step> = self.graph.neighbors_directed(ix, dir).map(|n| &self.graph[n]).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::StepKind;

    fn step(id: StepId) -> Step {
        Step { id, definition: serde_json::Value::Null }
    }

    #[test]
    fn a_cycle_is_reported_with_its_steps_and_edges() {
        let mut b = GraphBuilder::new();
        for id in [StepId::preflight(), StepId::cutover(), StepId::drain("g"), StepId::verify()] {
            b.add(step(id));
        }
        b.depend(&StepId::cutover(), &StepId::preflight());
        b.depend(&StepId::drain("g"), &StepId::cutover());
        b.depend(&StepId::cutover(), &StepId::drain("g"));
        b.depend(&StepId::verify(), &StepId::drain("g"));
        let err = b.seal().unwrap_err();
        assert_eq!(
            err,
            GraphError::Cycle {
                steps: vec!["cutover".into(), "drain:g".into()],
                edges: vec![("cutover".into(), "drain:g".into()), ("drain:g".into(), "cutover".into())],
            }
        );
        assert!(err.to_string().contains("cut one of these dependencies: cutover -> drain:g"));
    }

    #[test]
    fn sealing_rejects_duplicates_and_dangling_edges() {
        let mut b = GraphBuilder::new();
        b.add(step(StepId::preflight()));
        b.add(step(StepId::preflight()));
        assert_eq!(b.seal().unwrap_err(), GraphError::DuplicateStep("preflight".into()));

        let mut b = GraphBuilder::new();
        b.add(step(StepId::verify()));
        b.depend(&StepId::verify(), &StepId::with_subject(StepKind::Topic, "t"));
        assert!(matches!(b.seal().unwrap_err(), GraphError::MissingDependency { .. }));
        let mut b = GraphBuilder::new();
        b.add(step(StepId::verify()));
        b.depend(&StepId::with_subject(StepKind::Topic, "t"), &StepId::verify());
        assert!(matches!(b.seal().unwrap_err(), GraphError::MissingDependency { .. }));
    }
}
