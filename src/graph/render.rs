//! `pmx graph` output: Graphviz DOT and JSON. Arrows point from a node to what it depends on,
//! as in `terraform graph`.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write;

use petgraph::graph::NodeIndex;
use petgraph::Direction;

use super::{GraphNode, ResourceGraph};

/// The edges to show, as (dependent, dependency) pairs. With `resources_only`, non-resource
/// nodes are left out and a resource is linked to the resources it reaches through them.
fn shown_edges(g: &ResourceGraph, resources_only: bool) -> (Vec<NodeIndex>, BTreeSet<(NodeIndex, NodeIndex)>) {
    let graph = &g.graph;
    let nodes: Vec<NodeIndex> =
        g.order.iter().copied().filter(|n| !resources_only || graph[*n].is_resource()).collect();
    let mut edges = BTreeSet::new();
    for &n in &nodes {
        if !resources_only {
            for d in graph.neighbors_directed(n, Direction::Incoming) {
                edges.insert((n, d));
            }
            continue;
        }
        // Walk dependencies through locals, variables and providers to the next resources.
        let mut stack: Vec<NodeIndex> = graph.neighbors_directed(n, Direction::Incoming).collect();
        let mut seen: HashSet<NodeIndex> = HashSet::new();
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            if graph[d].is_resource() {
                edges.insert((n, d));
            } else {
                stack.extend(graph.neighbors_directed(d, Direction::Incoming));
            }
        }
    }
    (nodes, edges)
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Graphviz DOT.
pub fn dot(g: &ResourceGraph, resources_only: bool) -> String {
    let (nodes, edges) = shown_edges(g, resources_only);
    let mut out = String::from("digraph pmx {\n  compound = \"true\";\n  newrank = \"true\";\n  rankdir = \"RL\";\n");
    for &n in &nodes {
        let node = &g.graph[n];
        let shape = match node {
            GraphNode::Instance(_) => "box",
            GraphNode::Provider(_) => "diamond",
            GraphNode::Variable(_) | GraphNode::Local(_) => "note",
            GraphNode::Output(_) => "oval",
        };
        let _ = writeln!(
            out,
            "  {} [label = {}, shape = \"{shape}\"];",
            quote(&node.to_string()),
            quote(&node.to_string())
        );
    }
    for (from, to) in &edges {
        let _ = writeln!(out, "  {} -> {};", quote(&g.graph[*from].to_string()), quote(&g.graph[*to].to_string()));
    }
    out.push_str("}\n");
    out
}

/// The same graph as JSON: nodes (in dependency order) and edges (`from` depends on `to`).
pub fn json(g: &ResourceGraph, resources_only: bool) -> serde_json::Value {
    let (nodes, edges) = shown_edges(g, resources_only);
    serde_json::json!({
        "nodes": nodes.iter().map(|n| {
            let node = &g.graph[*n];
            serde_json::json!({"id": node.to_string(), "kind": node.kind()})
        }).collect::<Vec<_>>(),
        "edges": edges.iter().map(|(a, b)| {
            serde_json::json!({"from": g.graph[*a].to_string(), "to": g.graph[*b].to_string()})
        }).collect::<Vec<_>>(),
    })
}
