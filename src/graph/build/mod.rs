//! Building the graph, in phases that each have a file:
//! 1. [`link`]: references become edges of the block-level graph, and its cycles are reported;
//! 2. [`imports`]: `import` and `moved` blocks are checked against the declared resources;
//! 3. [`eval`]: the blocks are evaluated in dependency order;
//! 4. [`expand`]: `count` / `for_each` make a resource's instances (part of evaluation);
//! 5. [`instances`]: the instance graph, linked and ordered.
//!
//! [`Builder`] holds what the phases share; [`Builder::run`] calls them in order. Every phase
//! reports through [`report`], which keeps each problem once.

mod eval;
mod expand;
mod imports;
mod instances;
mod link;
mod report;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};

use super::*;
use crate::addr::{ConfigAddress, InstanceKey};
use crate::config::check::ValueChecker;
use crate::diag::{Diagnostic, SourceFile};
use report::Reporter;

/// A block of the configuration: the nodes of the first, block-level graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Block {
    Variable(String),
    Local(String),
    Provider(String),
    Resource(ConfigAddress),
    Output(String),
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Block::Variable(n) => write!(f, "var.{n}"),
            Block::Local(n) => write!(f, "local.{n}"),
            Block::Provider(n) => write!(f, "provider.{n}"),
            Block::Resource(a) => write!(f, "{a}"),
            Block::Output(n) => write!(f, "output.{n}"),
        }
    }
}

/// Where a block refers to another (the edge's reason, shown in cycle errors).
#[derive(Debug, Clone)]
struct Why {
    file: Arc<SourceFile>,
    span: Range<usize>,
}

/// A resolved reference of a resource to another resource, kept to link instances precisely.
struct ResourceRef {
    target: ConfigAddress,
    key: Option<(hcl_edit::expr::Expression, Arc<SourceFile>)>,
}

pub(super) struct Builder<'c> {
    config: &'c LoadedConfig,
    options: &'c BuildOptions,
    /// Every problem found, each once.
    out: Reporter,
    blocks: DiGraph<Block, Why>,
    index: HashMap<Block, NodeIndex>,
    edge_set: HashSet<(NodeIndex, NodeIndex)>,
    /// Per resource block: its references to other resources.
    resource_refs: HashMap<ConfigAddress, Vec<ResourceRef>>,
    /// The instance keys of each expanded resource block, in order.
    expanded: HashMap<ConfigAddress, Vec<InstanceKey>>,
    globals: IndexMap<String, Value>,
    checker: ValueChecker,
    /// Resource blocks whose expansion failed.
    failed: HashSet<ConfigAddress>,
    /// References to what is not declared (already reported): they evaluate to unknown, so
    /// the rest of the configuration is still checked.
    missing: Vec<ConfigAddress>,
    /// Blocks with a broken reference or in a cycle, and every block that depends on one: an
    /// unknown count / for_each there is the echo of a reported problem, not a new one.
    tainted: HashSet<Block>,
}

impl<'c> Builder<'c> {
    pub(super) fn new(config: &'c LoadedConfig, options: &'c BuildOptions) -> Self {
        Builder {
            config,
            options,
            out: Reporter::default(),
            blocks: DiGraph::new(),
            index: HashMap::new(),
            edge_set: HashSet::new(),
            resource_refs: HashMap::new(),
            expanded: HashMap::new(),
            globals: IndexMap::new(),
            checker: ValueChecker,
            failed: HashSet::new(),
            missing: Vec::new(),
            tainted: HashSet::new(),
        }
    }

    fn report(&mut self, d: Diagnostic) {
        self.out.report(d);
    }

    fn node(&mut self, b: Block) -> NodeIndex {
        if let Some(i) = self.index.get(&b) {
            return *i;
        }
        let i = self.blocks.add_node(b.clone());
        self.index.insert(b, i);
        i
    }

    pub(super) fn run(mut self) -> Result<ResourceGraph, Diagnostics> {
        let m = &self.config.module;
        // 1. One node per block, in declaration order (keeps output stable).
        for n in m.variables.keys() {
            self.node(Block::Variable(n.clone()));
        }
        for n in m.locals.keys() {
            self.node(Block::Local(n.clone()));
        }
        for k in m.providers.keys() {
            self.node(Block::Provider(k.clone()));
        }
        if !m.resources.is_empty() && !m.providers.contains_key("proxmox") {
            // Resources without a provider block use one configured from PMX_* variables.
            self.node(Block::Provider("proxmox".into()));
        }
        for a in m.resources.keys() {
            self.node(Block::Resource(a.clone()));
        }
        for n in m.outputs.keys() {
            self.node(Block::Output(n.clone()));
        }
        // 2. Edges from references.
        self.link_all();
        self.check_imports_and_moves();
        self.out.mark_reference_problems();
        // 3. Cycles. They are reported, and evaluation goes on (the blocks of a cycle see each
        // other as unknown), so that one run shows every problem; so do broken references.
        let (order, cyclic) = self.block_order();
        self.taint(&cyclic);
        let t0 = std::time::Instant::now();
        // 4. Evaluate in order.
        let mut instances: IndexMap<ResourceAddress, Instance> = IndexMap::new();
        let mut providers = IndexMap::new();
        let mut outputs = IndexMap::new();
        self.init_globals();
        for b in cyclic {
            match self.blocks[b].clone() {
                Block::Local(n) => {
                    if let Some(Value::Map(locals)) = self.globals.get_mut("local") {
                        locals.insert(n, Value::Unknown);
                    }
                }
                Block::Resource(a) => self.set_resource_value(&a, Value::Unknown),
                _ => {}
            }
        }
        for b in order {
            match self.blocks[b].clone() {
                Block::Variable(_) => {}
                Block::Local(n) => self.eval_local(&n),
                Block::Provider(k) => {
                    let p = self.eval_provider(&k);
                    providers.insert(k, p);
                }
                Block::Resource(a) => {
                    for inst in self.eval_resource(&a) {
                        instances.insert(inst.addr.clone(), inst);
                    }
                }
                Block::Output(n) => {
                    if let Some(o) = self.eval_output(&n) {
                        outputs.insert(n, o);
                    }
                }
            }
        }
        tracing::debug!("graph: evaluated in {:?}", t0.elapsed());
        let imports = self.eval_imports();
        if self.out.diags.has_errors() {
            return Err(self.out.diags.sorted());
        }
        // 5. The instance graph.
        let t1 = std::time::Instant::now();
        let (graph, node_order) = self.instance_graph(&mut instances);
        tracing::debug!("graph: instance graph in {:?}", t1.elapsed());
        let warnings = std::mem::take(&mut self.out.diags);
        Ok(ResourceGraph { graph, order: node_order, instances, providers, outputs, imports, warnings })
    }
}
