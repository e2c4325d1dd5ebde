//! Phase 5: the instance graph. Each block becomes one node or one per instance; an edge
//! between resources links only the instances a reference indexes (`vm.b[count.index]`).

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::{Block, Builder, ResourceRef};
use crate::addr::{ConfigAddress, InstanceKey, ResourceAddress};
use crate::config::eval::{eval_in, Env};
use crate::config::Value;
use crate::graph::{GraphNode, Instance};

impl Builder<'_> {
    pub(super) fn instance_graph(
        &mut self,
        instances: &mut IndexMap<ResourceAddress, Instance>,
    ) -> (DiGraph<GraphNode, ()>, Vec<NodeIndex>) {
        let mut g: DiGraph<GraphNode, ()> = DiGraph::new();
        // Nodes of each block: one, or one per instance.
        let mut nodes_of: HashMap<NodeIndex, Vec<NodeIndex>> = HashMap::new();
        let mut instance_node: HashMap<ResourceAddress, NodeIndex> = HashMap::new();
        for b in self.blocks.node_indices() {
            let ns = match &self.blocks[b] {
                Block::Variable(n) => vec![g.add_node(GraphNode::Variable(n.clone()))],
                Block::Local(n) => vec![g.add_node(GraphNode::Local(n.clone()))],
                Block::Provider(n) => vec![g.add_node(GraphNode::Provider(n.clone()))],
                Block::Output(n) => vec![g.add_node(GraphNode::Output(n.clone()))],
                Block::Resource(a) => self
                    .expanded
                    .get(a)
                    .map(|keys| {
                        keys.iter()
                            .map(|k| {
                                let addr = a.instance(k.clone());
                                let n = g.add_node(GraphNode::Instance(addr.clone()));
                                instance_node.insert(addr, n);
                                n
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            nodes_of.insert(b, ns);
        }
        let mut edges: Vec<(NodeIndex, NodeIndex)> = Vec::new();
        for e in self.blocks.edge_references() {
            let (dep, me) = (e.source(), e.target());
            let dep_nodes = &nodes_of[&dep];
            let my_nodes = &nodes_of[&me];
            match (&self.blocks[dep], &self.blocks[me]) {
                (Block::Resource(target), Block::Resource(mine)) => {
                    for &n in my_nodes {
                        let GraphNode::Instance(my_addr) = &g[n] else { continue };
                        for d in self.instance_deps(mine, my_addr, target, dep_nodes, &g, &instance_node) {
                            edges.push((d, n));
                        }
                    }
                }
                _ => {
                    for &d in dep_nodes {
                        for &n in my_nodes {
                            edges.push((d, n));
                        }
                    }
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        for (a, b) in edges {
            g.add_edge(a, b, ());
        }
        // Direct resource dependencies of each instance, for later stages.
        for inst in instances.values_mut() {
            if let Some(&n) = instance_node.get(&inst.addr) {
                let mut deps: Vec<ResourceAddress> = g
                    .neighbors_directed(n, Direction::Incoming)
                    .filter_map(|d| match &g[d] {
                        GraphNode::Instance(a) => Some(a.clone()),
                        _ => None,
                    })
                    .collect();
                deps.sort();
                inst.depends_on = deps;
            }
        }
        let order = stable_toposort(&g);
        // Instances in the same order.
        let mut by_addr: HashMap<ResourceAddress, Instance> = instances.drain(..).collect();
        let mut ordered = IndexMap::with_capacity(by_addr.len());
        for n in &order {
            if let GraphNode::Instance(a) = &g[*n] {
                if let Some(inst) = by_addr.remove(a) {
                    ordered.insert(a.clone(), inst);
                }
            }
        }
        *instances = ordered;
        (g, order)
    }

    /// The instances of `target` that instance `my_addr` of `mine` depends on: the one its
    /// reference indexes (`vm.b[count.index]`) when that is known, else all of them.
    fn instance_deps(
        &self,
        mine: &ConfigAddress,
        my_addr: &ResourceAddress,
        target: &ConfigAddress,
        dep_nodes: &[NodeIndex],
        _g: &DiGraph<GraphNode, ()>,
        instance_node: &HashMap<ResourceAddress, NodeIndex>,
    ) -> Vec<NodeIndex> {
        let Some(rs) = self.resource_refs.get(mine) else { return dep_nodes.to_vec() };
        let refs: Vec<&ResourceRef> = rs.iter().filter(|r| &r.target == target).collect();
        if refs.is_empty() || refs.iter().any(|r| r.key.is_none()) {
            return dep_nodes.to_vec();
        }
        let count_index = match my_addr.key {
            InstanceKey::Int(i) => Some(i),
            _ => None,
        };
        let each_key = match &my_addr.key {
            InstanceKey::Str(s) => Some(Value::String(s.clone())),
            _ => None,
        };
        let mut out = Vec::new();
        for r in refs {
            let Some((expr, file)) = &r.key else { continue };
            let env = Env {
                globals: &self.globals,
                count_index,
                each: each_key.as_ref().map(|k| (k, &Value::Unknown)),
                base_dir: &self.config.dir,
            };
            let key = match eval_in(expr, file, &env).map(|v| v.unmark().0) {
                Ok(Value::Number(n)) if n.fract() == 0.0 => InstanceKey::Int(n as i64),
                Ok(Value::String(s)) => InstanceKey::Str(s),
                _ => return dep_nodes.to_vec(),
            };
            match instance_node.get(&target.instance(key)) {
                Some(&n) => out.push(n),
                None => return dep_nodes.to_vec(),
            }
        }
        out
    }
}

/// Kahn's algorithm, always taking the ready node declared first: dependencies come first and
/// otherwise the configuration's own order is kept (`vm.web[0]` before `vm.web[1]`).
fn stable_toposort<N, E>(g: &DiGraph<N, E>) -> Vec<NodeIndex> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut indegree: Vec<usize> =
        g.node_indices().map(|n| g.neighbors_directed(n, Direction::Incoming).count()).collect();
    let mut ready: BinaryHeap<Reverse<NodeIndex>> =
        g.node_indices().filter(|n| indegree[n.index()] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(g.node_count());
    while let Some(Reverse(n)) = ready.pop() {
        order.push(n);
        for m in g.neighbors_directed(n, Direction::Outgoing) {
            indegree[m.index()] -= 1;
            if indegree[m.index()] == 0 {
                ready.push(Reverse(m));
            }
        }
    }
    if order.len() < g.node_count() {
        // Cannot happen after the block-level cycle check; keep every node anyway.
        let seen: HashSet<NodeIndex> = order.iter().copied().collect();
        order.extend(g.node_indices().filter(|n| !seen.contains(n)));
    }
    order
}
