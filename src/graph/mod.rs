//! The dependency graph (petgraph): a node per resource instance, data source, variable,
//! local, output and provider; edges from references and `depends_on`.
//!
//! # Public API (used by `plan`, `apply`, `pmx graph`)
//!
//! - [`build`] (or [`build_with`] to supply attribute values already known from state or a
//!   refresh) takes a [`LoadedConfig`](crate::config::LoadedConfig) and:
//!   1. finds every reference of every block ([`refs`]), reporting undeclared names with
//!      "did you mean";
//!   2. builds the block-level graph and reports every cycle, each step with its span;
//!   3. evaluates the blocks in dependency order: locals, providers, data sources and
//!      resources (expanding `count` / `for_each` into instances such as `vm.web[0]`,
//!      `vm.db["a"]`), outputs. A value that exists only after apply is `Value::Unknown`;
//!   4. links instances into the instance graph and orders it topologically.
//! - The result, [`ResourceGraph`], holds the petgraph graph (edge = "must come before"),
//!   the topological order, the evaluated desired attributes of every instance
//!   ([`Instance::attributes`], unknowns included, sensitive values marked), providers,
//!   outputs and import blocks. Errors come back as [`Diagnostics`], all at once.
//! - [`render::dot`] and [`render::json`] print it (`pmx graph`).

mod build;
pub mod refs;
pub mod render;

use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::addr::ResourceAddress;
use crate::config::model::Lifecycle;
use crate::config::{LoadedConfig, Value};
use crate::diag::{Diagnostics, Location};

/// A node of the instance graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GraphNode {
    Variable(String),
    Local(String),
    /// `proxmox` or `proxmox.ALIAS`.
    Provider(String),
    Instance(ResourceAddress),
    Output(String),
}

impl GraphNode {
    pub fn kind(&self) -> &'static str {
        match self {
            GraphNode::Variable(_) => "variable",
            GraphNode::Local(_) => "local",
            GraphNode::Provider(_) => "provider",
            GraphNode::Instance(a) if a.config.mode == crate::addr::Mode::Data => "data",
            GraphNode::Instance(_) => "resource",
            GraphNode::Output(_) => "output",
        }
    }

    pub fn is_resource(&self) -> bool {
        matches!(self, GraphNode::Instance(_))
    }
}

impl fmt::Display for GraphNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphNode::Variable(n) => write!(f, "var.{n}"),
            GraphNode::Local(n) => write!(f, "local.{n}"),
            GraphNode::Provider(n) => write!(f, "provider.{n}"),
            GraphNode::Instance(a) => write!(f, "{a}"),
            GraphNode::Output(n) => write!(f, "output.{n}"),
        }
    }
}

/// One resource or data source instance, evaluated.
#[derive(Debug, Clone)]
pub struct Instance {
    pub addr: ResourceAddress,
    /// The provider configuration it uses (`proxmox`, `proxmox.dc2`).
    pub provider: String,
    /// The desired attributes as written (evaluated): nested single blocks are maps, slotted
    /// blocks are maps keyed by slot (`disk = { scsi0 = { ... } }`). Unset attributes are
    /// absent; values known only after apply are `Unknown`; sensitive values are marked.
    pub attributes: IndexMap<String, Value>,
    /// The instances this one depends on (references and `depends_on`).
    pub depends_on: Vec<ResourceAddress>,
    pub lifecycle: Lifecycle,
    /// The block header in the source.
    pub location: Location,
}

/// An evaluated provider block.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub key: String,
    /// Credentials are marked sensitive.
    pub attributes: IndexMap<String, Value>,
    /// `None` for the implicit provider (configured from `PMX_*` environment variables).
    pub location: Option<Location>,
}

#[derive(Debug, Clone)]
pub struct OutputValue {
    pub name: String,
    pub value: Value,
    pub sensitive: bool,
    pub description: Option<String>,
}

/// An `import` block, evaluated.
#[derive(Debug, Clone)]
pub struct ImportTarget {
    pub to: ResourceAddress,
    pub id: Value,
    pub location: Location,
}

/// Everything later stages need, in dependency order.
#[derive(Debug)]
pub struct ResourceGraph {
    /// Edge `a -> b`: `a` must be evaluated / created before `b` (b depends on a).
    pub graph: DiGraph<GraphNode, ()>,
    /// Every node, dependencies first.
    pub order: Vec<NodeIndex>,
    /// Every instance, in topological order.
    pub instances: IndexMap<ResourceAddress, Instance>,
    pub providers: IndexMap<String, ProviderConfig>,
    pub outputs: IndexMap<String, OutputValue>,
    pub imports: Vec<ImportTarget>,
    /// Warnings found while building (errors make [`build`] fail instead).
    pub warnings: Diagnostics,
}

/// Values supplied by later stages: attributes already known for an instance (from state or
/// a refresh of the live cluster). They fill in what the configuration leaves unknown.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub known: HashMap<ResourceAddress, IndexMap<String, Value>>,
}

/// Builds and evaluates the graph of a loaded configuration.
pub fn build(config: &LoadedConfig) -> Result<ResourceGraph, Diagnostics> {
    build_with(config, &BuildOptions::default())
}

/// [`build`], with attribute values known from elsewhere.
pub fn build_with(config: &LoadedConfig, options: &BuildOptions) -> Result<ResourceGraph, Diagnostics> {
    build::Builder::new(config, options).run()
}

#[cfg(test)]
mod tests;

/// What a resource block means in expressions, from its instances' objects: a list with
/// `count`, a map by key with `for_each`, else its one object (`none` when it has none).
pub fn reference_value(
    block: &crate::config::model::ResourceBlock,
    objects: Vec<(crate::addr::InstanceKey, Value)>,
    none: Value,
) -> Value {
    if block.count.is_some() {
        Value::List(objects.into_iter().map(|(_, v)| v).collect())
    } else if block.for_each.is_some() {
        Value::Map(
            objects
                .into_iter()
                .map(|(k, v)| match k {
                    crate::addr::InstanceKey::Str(s) => (s, v),
                    other => (other.to_string(), v),
                })
                .collect(),
        )
    } else {
        objects.into_iter().last().map(|(_, v)| v).unwrap_or(none)
    }
}
