//! Building the graph: references → block graph → cycles → evaluation in order → instance graph.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use indexmap::IndexMap;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::refs::{self, RefTarget, Reference};
use super::*;
use crate::addr::{ConfigAddress, InstanceKey, Mode};
use crate::config::check::{schema_of, ValueChecker};
use crate::config::eval::{eval, eval_in, Env};
use crate::config::model::{BodyDef, Expr, ResourceBlock, PROVIDER_SENSITIVE};
use crate::config::suggest::{did_you_mean, did_you_mean_address};
use crate::diag::{Diagnostic, SourceFile};
use crate::schema::{Attribute, BlockType, Nesting, Presence};

/// The most instances one `count` may make (a typo such as 1000000 must not run away).
const MAX_COUNT: u32 = 100_000;

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
    diags: Diagnostics,
    seen: HashSet<(String, String, usize, usize)>,
    blocks: DiGraph<Block, Why>,
    index: HashMap<Block, NodeIndex>,
    edge_set: HashSet<(NodeIndex, NodeIndex)>,
    /// Per resource block: its references to other resources.
    resource_refs: HashMap<ConfigAddress, Vec<ResourceRef>>,
    /// The instance keys of each expanded resource block, in order.
    expanded: HashMap<ConfigAddress, Vec<InstanceKey>>,
    globals: IndexMap<String, Value>,
    checker: ValueChecker,
    implicit_provider: bool,
    last_expand_failed: bool,
    /// Resource blocks whose expansion failed.
    failed: HashSet<ConfigAddress>,
    /// References to what is not declared (already reported): they evaluate to unknown, so
    /// the rest of the configuration is still checked.
    missing: Vec<ConfigAddress>,
    /// Blocks with a broken reference or in a cycle, and every block that depends on one: an
    /// unknown count / for_each there is the echo of a reported problem, not a new one.
    tainted: HashSet<Block>,
    /// Where the reference checks found problems: evaluation there only repeats them.
    reference_problems: HashSet<(String, usize)>,
    /// The instance (of a count / for_each resource) being evaluated, named in its problems.
    current_instance: Option<String>,
    /// A wrong value reported for an instance: the same problem in another instance is
    /// merged into it ("in vm.a[0] and 2 more instances"); one with another value is not.
    instance_problems: HashMap<(String, String, usize), InstanceProblem>,
}

/// A wrong value found in one or more instances of a resource.
struct InstanceProblem {
    /// Where in `diags`.
    index: usize,
    what: String,
    why: String,
    first: String,
    more: usize,
}

impl<'c> Builder<'c> {
    pub(super) fn new(config: &'c LoadedConfig, options: &'c BuildOptions) -> Self {
        Builder {
            config,
            options,
            diags: Diagnostics::new(),
            seen: HashSet::new(),
            blocks: DiGraph::new(),
            index: HashMap::new(),
            edge_set: HashSet::new(),
            resource_refs: HashMap::new(),
            expanded: HashMap::new(),
            globals: IndexMap::new(),
            checker: ValueChecker,
            implicit_provider: false,
            last_expand_failed: false,
            failed: HashSet::new(),
            missing: Vec::new(),
            tainted: HashSet::new(),
            reference_problems: HashSet::new(),
            current_instance: None,
            instance_problems: HashMap::new(),
        }
    }

    /// Adds a diagnostic once, however many instances hit the same problem.
    fn report(&mut self, d: Diagnostic) {
        let key = match &d.location {
            Some(l) => (d.message.clone(), l.file.name.clone(), l.span.start, l.span.end),
            None => (d.message.clone(), String::new(), 0, 0),
        };
        if let Some(l) = &d.location {
            if self.reference_problems.contains(&(l.file.name.clone(), l.span.start)) {
                return;
            }
        }
        if self.seen.insert(key) {
            self.diags.push(d);
        }
    }

    /// Reports a wrong value `why` of attribute `what`; inside an instance of a count /
    /// for_each resource, the message names the instance (merging the same problem of others).
    fn report_in_instance(&mut self, mut d: Diagnostic, what: String, why: String) {
        let Some(instance) = self.current_instance.clone() else { return self.report(d) };
        let Some(l) = &d.location else { return self.report(d) };
        if self.reference_problems.contains(&(l.file.name.clone(), l.span.start)) {
            return;
        }
        let key = (format!("{what}: {why}"), l.file.name.clone(), l.span.start);
        if let Some(p) = self.instance_problems.get_mut(&key) {
            p.more += 1;
            let s = if p.more == 1 { "" } else { "s" };
            self.diags.0[p.index].message =
                format!("invalid value for {} in {} and {} more instance{s}: {}", p.what, p.first, p.more, p.why);
            return;
        }
        d.message = format!("invalid value for {what} in {instance}: {why}");
        self.instance_problems
            .insert(key, InstanceProblem { index: self.diags.len(), what, why, first: instance, more: 0 });
        self.diags.push(d);
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
            self.implicit_provider = true;
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
        self.reference_problems = self
            .diags
            .errors()
            .filter_map(|d| d.location.as_ref().map(|l| (l.file.name.clone(), l.span.start)))
            .collect();
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
        if self.diags.has_errors() {
            return Err(self.diags.sorted());
        }
        // 5. The instance graph.
        let t1 = std::time::Instant::now();
        let (graph, node_order) = self.instance_graph(&mut instances);
        tracing::debug!("graph: instance graph in {:?}", t1.elapsed());
        let warnings = std::mem::take(&mut self.diags);
        Ok(ResourceGraph { graph, order: node_order, instances, providers, outputs, imports, warnings })
    }

    // ----- references ------------------------------------------------------------------

    fn link_all(&mut self) {
        let m = &self.config.module;
        for (name, l) in &m.locals {
            self.link_expr(Block::Local(name.clone()), &l.expr, false, false);
        }
        for (key, p) in &m.providers {
            for a in p.attributes.values() {
                self.link_expr(Block::Provider(key.clone()), &a.expr, false, false);
            }
        }
        for (name, v) in &m.variables {
            for val in &v.validations {
                // Conditions may only use the variable itself (and other variables).
                self.link_expr(Block::Variable(name.clone()), &val.condition, false, false);
                self.link_expr(Block::Variable(name.clone()), &val.error_message, false, false);
            }
        }
        for (addr, r) in &m.resources {
            let me = Block::Resource(addr.clone());
            let has_count = r.count.is_some();
            let has_each = r.for_each.is_some();
            for e in r.count.iter().chain(r.for_each.iter()) {
                self.link_expr(me.clone(), e, false, false);
            }
            self.link_body(&me, &r.body, has_count, has_each);
            for d in &r.depends_on {
                self.link_target(&me, &d.target, d.location.file.clone(), d.location.span.clone(), None);
            }
            let provider = match &r.provider {
                Some((key, loc)) => {
                    if !m.providers.contains_key(key) {
                        let mut d = Diagnostic::error(format!("provider {key} is not declared"))
                            .with_code("pmx::config::undeclared_provider")
                            .at(&loc.file, loc.span.clone(), "no such provider block");
                        d = d.with_help(match key.split_once('.') {
                            Some((_, alias)) => {
                                format!("declare it: provider \"proxmox\" {{ alias = \"{alias}\" ... }}")
                            }
                            None => "declare it: provider \"proxmox\" { ... }".to_string(),
                        });
                        self.report(d);
                        continue;
                    }
                    key.clone()
                }
                None => "proxmox".to_string(),
            };
            let from = self.node(Block::Provider(provider));
            let to = self.node(me);
            let why = Why { file: r.location.file.clone(), span: r.location.span.clone() };
            if self.edge_set.insert((from, to)) {
                self.blocks.add_edge(from, to, why);
            }
        }
        for (name, o) in &m.outputs {
            let me = Block::Output(name.clone());
            self.link_expr(me.clone(), &o.value, false, false);
            for d in &o.depends_on {
                self.link_target(&me, &d.target, d.location.file.clone(), d.location.span.clone(), None);
            }
        }
    }

    fn link_body(&mut self, me: &Block, body: &BodyDef, has_count: bool, has_each: bool) {
        for a in body.attributes.values() {
            self.link_expr(me.clone(), &a.expr, has_count, has_each);
        }
        for b in &body.blocks {
            self.link_body(me, &b.body, has_count, has_each);
        }
    }

    fn link_expr(&mut self, me: Block, expr: &Expr, has_count: bool, has_each: bool) {
        let mut found: Vec<Reference> = Vec::new();
        let mut bad = Vec::new();
        refs::collect(&expr.expr, &mut found, &mut bad);
        for b in bad {
            let mut d = Diagnostic::error(b.message).with_code("pmx::config::bad_reference").at(
                &expr.file,
                b.span,
                "invalid reference",
            );
            if let Some(h) = b.help {
                d = d.with_help(h);
            }
            self.report(d);
        }
        let m = &self.config.module;
        for r in found {
            let file = expr.file.clone();
            match &r.target {
                RefTarget::Var(n) => {
                    if m.variables.contains_key(n) {
                        if me != Block::Variable(n.clone()) {
                            self.edge(Block::Variable(n.clone()), &me, file, r.span);
                        }
                    } else {
                        self.undeclared(&file, r.span, &format!("var.{n}"), "variable", n, m.variables.keys());
                        self.tainted.insert(me.clone());
                        self.missing.push(ConfigAddress {
                            mode: Mode::Managed,
                            type_name: "var".into(),
                            name: n.clone(),
                        });
                    }
                }
                RefTarget::Local(n) => {
                    if m.locals.contains_key(n) {
                        self.edge(Block::Local(n.clone()), &me, file, r.span);
                    } else {
                        self.undeclared(&file, r.span, &format!("local.{n}"), "local value", n, m.locals.keys());
                        self.tainted.insert(me.clone());
                        self.missing.push(ConfigAddress {
                            mode: Mode::Managed,
                            type_name: "local".into(),
                            name: n.clone(),
                        });
                    }
                }
                RefTarget::Resource(addr) => {
                    let key = r.key.clone().map(|k| (k, file.clone()));
                    self.link_target(&me, addr, file, r.span, key);
                }
                RefTarget::CountIndex if !has_count => self.report(
                    Diagnostic::error("count.index is only available in a resource that sets count")
                        .with_code("pmx::config::bad_reference")
                        .at(&file, r.span, "no count here"),
                ),
                RefTarget::Each if !has_each => self.report(
                    Diagnostic::error("each.key and each.value are only available in a resource that sets for_each")
                        .with_code("pmx::config::bad_reference")
                        .at(&file, r.span, "no for_each here"),
                ),
                RefTarget::CountIndex | RefTarget::Each | RefTarget::Path => {}
            }
        }
    }

    fn link_target(
        &mut self,
        me: &Block,
        addr: &ConfigAddress,
        file: Arc<SourceFile>,
        span: Range<usize>,
        key: Option<(hcl_edit::expr::Expression, Arc<SourceFile>)>,
    ) {
        let m = &self.config.module;
        if m.resources.contains_key(addr) {
            self.edge(Block::Resource(addr.clone()), me, file, span);
            if let Block::Resource(mine) = me {
                self.resource_refs.entry(mine.clone()).or_default().push(ResourceRef { target: addr.clone(), key });
            }
            return;
        }
        let registry = crate::schema::registry();
        let type_known = schema_of(registry, addr.mode, &addr.type_name).is_some()
            || m.resources.keys().any(|a| a.mode == addr.mode && a.type_name == addr.type_name);
        if addr.mode == Mode::Managed && ["var", "local", "each", "count", "path"].contains(&addr.type_name.as_str()) {
            // `depends_on = [var.x]`: a name, not a resource.
            self.report(
                Diagnostic::error(format!("{addr} is not a resource: depends_on lists resources and data sources"))
                    .with_code("pmx::config::bad_reference")
                    .at(&file, span, "not a resource")
                    .with_help(format!("a reference to {addr} in an expression already orders what uses it")),
            );
            return;
        }
        let (message, label) = if type_known || addr.mode == Mode::Data {
            (format!("reference to undeclared resource {addr}"), "not declared")
        } else {
            (format!("unknown name \"{}\"", addr.type_name), "not a resource type, variable or local")
        };
        self.missing.push(addr.clone());
        self.tainted.insert(me.clone());
        let mut d = Diagnostic::error(message).with_code("pmx::config::undeclared").at(&file, span, label);
        if let Some(h) = did_you_mean_address(addr, m.resources.keys()) {
            d = d.with_help(h);
        } else if !type_known && addr.mode == Mode::Managed {
            d = d.with_help("references look like var.NAME, local.NAME, TYPE.NAME or data.TYPE.NAME");
        }
        self.report(d);
    }

    fn undeclared<'k>(
        &mut self,
        file: &Arc<SourceFile>,
        span: Range<usize>,
        shown: &str,
        kind: &str,
        name: &str,
        names: impl Iterator<Item = &'k String>,
    ) {
        let mut d = Diagnostic::error(format!("reference to undeclared {kind} {shown}"))
            .with_code("pmx::config::undeclared")
            .at(file, span, "not declared");
        if let Some(h) = did_you_mean(name, names.map(String::as_str)) {
            d = d.with_help(h);
        }
        self.report(d);
    }

    fn edge(&mut self, dep: Block, me: &Block, file: Arc<SourceFile>, span: Range<usize>) {
        let from = self.node(dep);
        let to = self.node(me.clone());
        // One edge per pair is enough; the first reference explains it. (A set, because
        // petgraph's find_edge scans every edge of a node that 10,000 blocks refer to.)
        if self.edge_set.insert((from, to)) {
            self.blocks.add_edge(from, to, Why { file, span });
        }
    }

    fn check_imports_and_moves(&mut self) {
        let m = &self.config.module;
        for i in &m.imports {
            if !m.resources.contains_key(&i.to.config) {
                let mut d = Diagnostic::error(format!("import target {} is not declared", i.to.config))
                    .with_code("pmx::config::undeclared")
                    .at(&i.to_at.file, i.to_at.span.clone(), "imports into a resource that does not exist")
                    .with_help("declare the resource block the guest should be imported into");
                if let Some(h) = did_you_mean_address(&i.to.config, m.resources.keys()) {
                    d = d.with_help(h);
                }
                self.report(d);
            }
        }
        let mut imported: HashMap<String, &crate::diag::Location> = HashMap::new();
        for i in &m.imports {
            let to = i.to.to_string();
            if let Some(first) = imported.get(&to) {
                self.report(
                    Diagnostic::error(format!("{to} is the target of two import blocks"))
                        .with_code("pmx::config::duplicate_import")
                        .at(&i.to_at.file, i.to_at.span.clone(), "imports into it again")
                        .with_related(Diagnostic::error("first import").at(&first.file, first.span.clone(), "first")),
                );
            } else {
                imported.insert(to, &i.to_at);
            }
        }
        for mv in &m.moved {
            if mv.from.config.mode != mv.to.config.mode || mv.from.config.type_name != mv.to.config.type_name {
                self.report(
                    Diagnostic::error(format!(
                        "moved: {} and {} are of different types; an object keeps its type",
                        mv.from, mv.to
                    ))
                    .with_code("pmx::config::moved")
                    .at(&mv.to_at.file, mv.to_at.span.clone(), "type changes")
                    .with_help("to replace it with another type, remove the old block and add the new one"),
                );
            }
            if !m.resources.contains_key(&mv.to.config) {
                self.report(
                    Diagnostic::error(format!("moved: the new address {} is not declared", mv.to.config))
                        .with_code("pmx::config::undeclared")
                        .at(&mv.to_at.file, mv.to_at.span.clone(), "moves to nowhere"),
                );
            }
            if mv.from.config == mv.to.config && mv.from.key == mv.to.key {
                self.report(
                    Diagnostic::error("moved: from and to are the same address").with_code("pmx::config::moved").at(
                        &mv.location.file,
                        mv.location.span.clone(),
                        "nothing moves",
                    ),
                );
            } else if mv.from.key == InstanceKey::None && m.resources.contains_key(&mv.from.config) {
                self.report(
                    Diagnostic::error(format!("moved: {} is still declared", mv.from.config))
                        .with_code("pmx::config::moved")
                        .at(&mv.from_at.file, mv.from_at.span.clone(), "the old address must be gone")
                        .with_help("remove or rename the old block"),
                );
            }
        }
    }

    // ----- cycles and order ------------------------------------------------------------

    /// Marks the blocks that hold or depend on a broken reference or a cycle.
    fn taint(&mut self, cyclic: &[NodeIndex]) {
        let mut queue: VecDeque<NodeIndex> = cyclic.iter().copied().collect();
        queue.extend(self.tainted.iter().filter_map(|b| self.index.get(b).copied()));
        let mut seen: HashSet<NodeIndex> = queue.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            self.tainted.insert(self.blocks[n].clone());
            for next in self.blocks.neighbors_directed(n, Direction::Outgoing) {
                if seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
    }

    /// The blocks in dependency order (the members of a cycle together, after what the cycle
    /// depends on) and the members of cycles, after reporting every cycle.
    fn block_order(&mut self) -> (Vec<NodeIndex>, Vec<NodeIndex>) {
        let sccs = petgraph::algo::tarjan_scc(&self.blocks);
        let mut cyclic = Vec::new();
        for scc in &sccs {
            let self_loop = scc.len() == 1 && self.edge_set.contains(&(scc[0], scc[0]));
            if scc.len() > 1 || self_loop {
                cyclic.extend(scc.iter().copied());
                self.report_cycle(scc);
            }
        }
        // tarjan_scc yields components dependents-first; reversed, dependencies come first.
        (sccs.into_iter().rev().flatten().collect(), cyclic)
    }

    fn report_cycle(&mut self, scc: &[NodeIndex]) {
        let members: HashSet<NodeIndex> = scc.iter().copied().collect();
        // Start at the member declared first, so the message is stable.
        let start = scc.iter().copied().min().unwrap_or(scc[0]);
        // Walk "refers to" (incoming edges: a node's dependencies) back to the start.
        let mut parent: HashMap<NodeIndex, (NodeIndex, petgraph::graph::EdgeIndex)> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut found = None;
        'bfs: while let Some(n) = queue.pop_front() {
            let mut deps: Vec<_> = self.blocks.edges_directed(n, Direction::Incoming).collect();
            deps.sort_by_key(|e| e.source());
            for e in deps {
                let dep = e.source();
                if !members.contains(&dep) {
                    continue;
                }
                if dep == start {
                    found = Some((n, e.id()));
                    break 'bfs;
                }
                if let std::collections::hash_map::Entry::Vacant(v) = parent.entry(dep) {
                    v.insert((n, e.id()));
                    queue.push_back(dep);
                }
            }
        }
        let Some((last, closing)) = found else { return };
        // Rebuild the path start -> ... -> last -> start as (referrer, edge) steps.
        let mut steps = vec![(last, closing)];
        let mut cur = last;
        while cur != start {
            let Some(&(prev, e)) = parent.get(&cur) else { break };
            steps.push((prev, e));
            cur = prev;
        }
        steps.reverse();
        let names: Vec<String> = steps
            .iter()
            .map(|(n, _)| self.blocks[*n].to_string())
            .chain(std::iter::once(self.blocks[start].to_string()))
            .collect();
        let describe = |i: usize| format!("{} refers to {}", names[i], names[i + 1]);
        let (_, first_edge) = steps[0];
        let why = self.blocks[first_edge].clone();
        let mut d = Diagnostic::error(format!("dependency cycle: {}", names.join(" → ")))
            .with_code("pmx::config::cycle")
            .at(&why.file, why.span, describe(0))
            .with_help("break the cycle: one of these references has to go");
        for (i, (_, e)) in steps.iter().enumerate().skip(1) {
            let why = &self.blocks[*e];
            d = d.with_related(Diagnostic::error(format!("step {}: {}", i + 1, describe(i))).at(
                &why.file,
                why.span.clone(),
                describe(i),
            ));
        }
        self.report(d);
    }

    // ----- evaluation ------------------------------------------------------------------

    fn init_globals(&mut self) {
        let c = self.config;
        self.globals.insert("var".into(), Value::Map(c.variables.clone()));
        self.globals.insert("local".into(), Value::Map(IndexMap::new()));
        self.globals.insert("data".into(), Value::Map(IndexMap::new()));
        let dir = c.dir.display().to_string();
        let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| ".".into());
        self.globals.insert(
            "path".into(),
            Value::Map(
                [
                    ("module".to_string(), Value::String(dir.clone())),
                    ("root".to_string(), Value::String(dir)),
                    ("cwd".to_string(), Value::String(cwd)),
                ]
                .into(),
            ),
        );
        for a in c.module.resources.keys() {
            let (table, name) = match a.mode {
                Mode::Managed => (&mut self.globals, a.type_name.clone()),
                Mode::Data => match self.globals.get_mut("data") {
                    Some(Value::Map(d)) => (d, a.type_name.clone()),
                    _ => continue,
                },
            };
            table.entry(name).or_insert_with(|| Value::Map(IndexMap::new()));
        }
        for a in self.missing.clone() {
            let table = match a.mode {
                Mode::Managed => Some(&mut self.globals),
                Mode::Data => match self.globals.get_mut("data") {
                    Some(Value::Map(d)) => Some(d),
                    _ => None,
                },
            };
            let Some(table) = table else { continue };
            if let Value::Map(t) = table.entry(a.type_name).or_insert_with(|| Value::Map(IndexMap::new())) {
                t.entry(a.name).or_insert(Value::Unknown);
            }
        }
    }

    fn env<'e>(&'e self, count_index: Option<i64>, each: Option<(&'e Value, &'e Value)>) -> Env<'e> {
        Env { globals: &self.globals, count_index, each, base_dir: &self.config.dir }
    }

    fn eval_or_report(&mut self, expr: &Expr, count_index: Option<i64>, each: Option<(&Value, &Value)>) -> Value {
        let result = eval(expr, &self.env(count_index, each));
        match result {
            Ok(v) => v,
            Err(d) => {
                self.report(*d);
                Value::Unknown
            }
        }
    }

    fn eval_local(&mut self, name: &str) {
        let Some(l) = self.config.module.locals.get(name) else { return };
        let v = self.eval_or_report(&l.expr, None, None);
        if let Some(Value::Map(locals)) = self.globals.get_mut("local") {
            locals.insert(name.to_string(), v);
        }
    }

    fn eval_provider(&mut self, key: &str) -> ProviderConfig {
        let Some(p) = self.config.module.providers.get(key) else {
            return ProviderConfig { key: key.to_string(), attributes: IndexMap::new(), location: None };
        };
        let mut attributes = IndexMap::new();
        for (name, a) in &p.attributes {
            let mut v = self.eval_or_report(&a.expr, None, None);
            if PROVIDER_SENSITIVE.contains(&name.as_str()) {
                v = v.mark_sensitive();
            }
            let expected = if name == "insecure" { TypeConstraintKind::Bool } else { TypeConstraintKind::String };
            match expected.check(v) {
                Ok(v) => {
                    attributes.insert(name.clone(), v);
                }
                Err(m) => {
                    self.report(
                        Diagnostic::error(format!("provider {key}: {name}: {m}"))
                            .with_code("pmx::config::wrong_type")
                            .at(&a.expr.file, a.expr.span(), "wrong type"),
                    )
                }
            }
        }
        ProviderConfig { key: key.to_string(), attributes, location: Some(p.location.clone()) }
    }

    fn eval_output(&mut self, name: &str) -> Option<OutputValue> {
        let o = self.config.module.outputs.get(name)?;
        let value = self.eval_or_report(&o.value, None, None);
        if value.is_sensitive() && !o.sensitive {
            self.report(
                Diagnostic::error(format!("output \"{name}\" shows a sensitive value"))
                    .with_code("pmx::config::sensitive_output")
                    .at(&o.value.file, o.value.span(), "refers to a sensitive value")
                    .with_help("add sensitive = true to the output to confirm it may be stored (it is never printed)"),
            );
        }
        let value = if o.sensitive { value.mark_sensitive() } else { value };
        Some(OutputValue { name: name.to_string(), value, sensitive: o.sensitive, description: o.description.clone() })
    }

    fn eval_imports(&mut self) -> Vec<ImportTarget> {
        let mut out = Vec::new();
        for i in &self.config.module.imports {
            let id = self.eval_or_report(&i.id, None, None);
            if let Some(keys) = self.expanded.get(&i.to.config) {
                if !keys.contains(&i.to.key) {
                    self.report(
                        Diagnostic::error(format!("import target {} does not exist", i.to))
                            .with_code("pmx::config::undeclared")
                            .at(&i.to_at.file, i.to_at.span.clone(), "no such instance")
                            .with_help(format!(
                                "{} has the instances: {}",
                                i.to.config,
                                keys.iter().map(|k| format!("{}{k}", i.to.config)).collect::<Vec<_>>().join(", ")
                            )),
                    );
                    continue;
                }
            }
            match id.clone().unmark().0 {
                Value::String(_) | Value::Unknown => {}
                other => self.report(
                    Diagnostic::error(format!("import id must be a string, not a {}", other.type_name()))
                        .with_code("pmx::config::wrong_type")
                        .at(&i.id.file, i.id.span(), "not a string"),
                ),
            }
            out.push(ImportTarget { to: i.to.clone(), id, location: i.location.clone() });
        }
        out
    }

    /// Whether an expression uses a variable that was deliberately left without a value
    /// (`pmx validate`): its unknown result is expected then, not an error.
    /// Also true for a resource whose own count / for_each already failed (reported once).
    fn uses_unset_variable(&self, expr: &Expr) -> bool {
        if self.config.unset_variables.is_empty() && self.failed.is_empty() && self.tainted.is_empty() {
            return false;
        }
        let (mut found, mut bad) = (Vec::new(), Vec::new());
        refs::collect(&expr.expr, &mut found, &mut bad);
        let missing =
            |type_name: &str, name: &str| self.missing.iter().any(|a| a.type_name == type_name && a.name == name);
        !bad.is_empty()
            || found.iter().any(|r| match &r.target {
                RefTarget::Var(n) => self.config.unset_variables.contains(n) || missing("var", n),
                RefTarget::Local(n) => self.tainted.contains(&Block::Local(n.clone())) || missing("local", n),
                RefTarget::Resource(a) => {
                    self.failed.contains(a)
                        || self.tainted.contains(&Block::Resource(a.clone()))
                        || self.missing.contains(a)
                }
                _ => false,
            })
    }

    /// Whether an expression surely makes a list or tuple rather than a set (a literal `[...]`, a
    /// `[for ...]`, a function that returns a list, a variable typed as a list), which for_each
    /// refuses like Terraform. Values that may be sets (locals, toset()) are let through.
    fn is_list_not_set(&self, e: &hcl_edit::expr::Expression) -> bool {
        use crate::config::types::TypeConstraint;
        use hcl_edit::expr::{Expression, TraversalOperator};
        const LIST_FUNCTIONS: &[&str] = &[
            "concat",
            "split",
            "keys",
            "values",
            "distinct",
            "sort",
            "compact",
            "flatten",
            "reverse",
            "slice",
            "range",
            "tolist",
            "formatlist",
            "regexall",
            "chunklist",
        ];
        match e {
            Expression::Array(_) => true,
            Expression::ForExpr(f) => f.key_expr.is_none(),
            Expression::Parenthesis(p) => self.is_list_not_set(p.inner()),
            Expression::FuncCall(f) => f.name.namespace.is_empty() && LIST_FUNCTIONS.contains(&f.name.name.as_str()),
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [op]) if v.as_str() == "var" => match op.value() {
                    TraversalOperator::GetAttr(name) => self
                        .config
                        .module
                        .variables
                        .get(name.as_str())
                        .is_some_and(|d| matches!(d.ty, TypeConstraint::List(_) | TypeConstraint::Tuple(_))),
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        }
    }

    /// The instance keys of a resource block, with each.value for for_each.
    /// `None` when count / for_each is invalid (reported) or deliberately unknown.
    fn expand(&mut self, r: &ResourceBlock) -> Option<Vec<(InstanceKey, Option<Value>)>> {
        for e in r.count.iter().chain(r.for_each.iter()) {
            match eval(e, &self.env(None, None)) {
                Ok(v) if !v.is_wholly_known() && self.uses_unset_variable(e) => return None,
                Ok(_) => {}
                Err(d) => {
                    self.report(*d);
                    return None;
                }
            }
        }
        let keys = self.expand_known(r);
        if keys.is_empty() && self.diags.has_errors() && self.last_expand_failed {
            return None;
        }
        Some(keys)
    }

    fn expand_known(&mut self, r: &ResourceBlock) -> Vec<(InstanceKey, Option<Value>)> {
        self.last_expand_failed = false;
        if let Some(count) = &r.count {
            let v = self.eval_or_report(count, None, None);
            // Like Terraform, a string that holds a number converts; the limits apply to the
            // number either way, so a count of "300000" cannot run away either.
            let number = match &v {
                Value::Number(n) => Some(*n),
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                _ => None,
            };
            let problem = match (&v, number) {
                (Value::Unknown, _) => Some("count depends on a value known only after apply".to_string()),
                (Value::Sensitive(_), _) => Some("count cannot be a sensitive value".to_string()),
                (_, Some(n)) if n.fract() != 0.0 => Some(format!("count must be a whole number, not {n}")),
                (_, Some(n)) if n < 0.0 => Some(format!("count cannot be negative ({n})")),
                (_, Some(n)) if n > MAX_COUNT as f64 => Some(format!("count {n} is too large (at most {MAX_COUNT})")),
                (_, Some(_)) => None,
                (Value::String(s), None) => Some(format!("count must be a number, not the string {s:?}")),
                (other, None) => Some(format!("count must be a number, not a {}", other.type_name())),
            };
            if let Some(p) = problem {
                let mut d = Diagnostic::error(format!("invalid count for {}: {p}", r.addr))
                    .with_code("pmx::config::count")
                    .at(&count.file, count.span(), "invalid count");
                if matches!(v, Value::Unknown) {
                    d = d.with_help("count must be known when planning: use variables, locals or literals");
                }
                self.report(d);
                self.last_expand_failed = true;
                return Vec::new();
            }
            let n = number.unwrap_or(0.0) as i64;
            return (0..n).map(|i| (InstanceKey::Int(i), None)).collect();
        }
        if let Some(fe) = &r.for_each {
            let v = self.eval_or_report(fe, None, None);
            let bad = |b: &mut Self, p: String, help: Option<&str>| {
                let mut d = Diagnostic::error(format!("invalid for_each for {}: {p}", r.addr))
                    .with_code("pmx::config::for_each")
                    .at(&fe.file, fe.span(), "invalid for_each");
                if let Some(h) = help {
                    d = d.with_help(h);
                }
                b.report(d);
                b.last_expand_failed = true;
                Vec::new()
            };
            return match v {
                Value::Unknown => bad(
                    self,
                    "its keys depend on values known only after apply".into(),
                    Some("for_each keys must be known when planning"),
                ),
                Value::Sensitive(_) => {
                    bad(self, "for_each cannot be a sensitive value (the keys would show in addresses)".into(), None)
                }
                Value::Map(m) if m.len() > MAX_COUNT as usize => {
                    bad(self, format!("for_each has {} keys; at most {MAX_COUNT} instances are allowed", m.len()), None)
                }
                Value::List(items) if items.len() > MAX_COUNT as usize => bad(
                    self,
                    format!("for_each has {} elements; at most {MAX_COUNT} instances are allowed", items.len()),
                    None,
                ),
                Value::Map(m) => {
                    if m.values().any(|v| matches!(v, Value::Sensitive(_))) {
                        return bad(self, "for_each cannot contain sensitive values".into(), None);
                    }
                    m.into_iter().map(|(k, v)| (InstanceKey::Str(k), Some(v))).collect()
                }
                Value::List(_) if self.is_list_not_set(&fe.expr) => bad(
                    self,
                    "for_each needs a map or a set of strings, and this is a list".into(),
                    Some("make it a set with toset(...), as in Terraform: for_each = toset([\"a\", \"b\"])"),
                ),
                Value::List(items) => {
                    let mut out: Vec<(InstanceKey, Option<Value>)> = Vec::with_capacity(items.len());
                    let mut seen = HashSet::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::String(s) => {
                                if !seen.insert(s.clone()) {
                                    return bad(
                                        self,
                                        format!("\"{s}\" appears twice"),
                                        Some("for_each keys must be unique: use toset() or remove the duplicate"),
                                    );
                                }
                                out.push((InstanceKey::Str(s.clone()), Some(Value::String(s))));
                            }
                            Value::Unknown => {
                                return bad(
                                    self,
                                    "an element is known only after apply".into(),
                                    Some("for_each keys must be known when planning"),
                                )
                            }
                            other => {
                                return bad(
                                    self,
                                    format!("a set of strings is needed, but an element is a {}", other.type_name()),
                                    Some("use a map, or a set of strings"),
                                )
                            }
                        }
                    }
                    out
                }
                other => {
                    bad(self, format!("for_each needs a map or a set of strings, not a {}", other.type_name()), None)
                }
            };
        }
        vec![(InstanceKey::None, None)]
    }

    fn eval_resource(&mut self, addr: &ConfigAddress) -> Vec<Instance> {
        let config = self.config;
        let Some(r) = config.module.resources.get(addr) else { return Vec::new() };
        let schema = schema_of(crate::schema::registry(), addr.mode, &addr.type_name);
        let Some(keys) = self.expand(r) else {
            // Unknown rather than empty, so that references to it do not fail again.
            self.expanded.insert(addr.clone(), Vec::new());
            self.failed.insert(addr.clone());
            self.set_resource_value(addr, Value::Unknown);
            return Vec::new();
        };
        self.expanded.insert(addr.clone(), keys.iter().map(|(k, _)| k.clone()).collect());
        let provider = r.provider.as_ref().map(|(k, _)| k.clone()).unwrap_or_else(|| "proxmox".to_string());
        // A block's outgoing edges lead to what refers to it.
        let referenced = self
            .index
            .get(&Block::Resource(addr.clone()))
            .is_some_and(|n| self.blocks.neighbors_directed(*n, Direction::Outgoing).next().is_some());
        let mut instances = Vec::with_capacity(keys.len());
        let mut objects: Vec<(InstanceKey, Value)> = Vec::with_capacity(keys.len());
        for (key, each_value) in keys {
            let count_index = match key {
                InstanceKey::Int(i) => Some(i),
                _ => None,
            };
            let each_key = match &key {
                InstanceKey::Str(s) => Some(Value::String(s.clone())),
                _ => None,
            };
            let each = match (&each_key, &each_value) {
                (Some(k), Some(v)) => Some((k, v)),
                _ => None,
            };
            let (attrs, blocks): (&[Attribute], &[BlockType]) = match schema {
                Some(s) => (&s.attributes, &s.blocks),
                None => (&[], &[]),
            };
            self.current_instance = (key != InstanceKey::None).then(|| addr.instance(key.clone()).to_string());
            let mut desired = self.eval_body("", &r.body, attrs, blocks, schema.is_some(), count_index, each);
            self.current_instance = None;
            // A resource with count or for_each must set such an attribute (the config check says so).
            if r.count.is_none() && r.for_each.is_none() {
                for a in attrs.iter().filter(|a| a.defaults_to_block_name) {
                    desired.entry(a.name.to_string()).or_insert_with(|| Value::String(addr.name.clone()));
                }
            }
            let inst_addr = addr.instance(key.clone());
            if !referenced {
                // Nothing refers to this resource: no need for its expression value.
                instances.push(Instance {
                    addr: inst_addr,
                    provider: provider.clone(),
                    attributes: desired,
                    depends_on: Vec::new(),
                    lifecycle: r.lifecycle.clone(),
                    location: r.location.clone(),
                });
                continue;
            }
            let mut object = object_of(&desired, attrs, blocks);
            if let Some(known) = self.options.known.get(&inst_addr) {
                for (k, v) in known {
                    match object.get(k) {
                        Some(Value::Unknown) | None => {
                            object.insert(k.clone(), v.clone());
                        }
                        _ => {}
                    }
                }
            }
            objects.push((key, Value::Map(object)));
            instances.push(Instance {
                addr: inst_addr,
                provider: provider.clone(),
                attributes: desired,
                depends_on: Vec::new(),
                lifecycle: r.lifecycle.clone(),
                location: r.location.clone(),
            });
        }
        // What `vm.web` means in expressions: a list with count, a map with for_each.
        let value = if r.count.is_some() {
            Value::List(objects.into_iter().map(|(_, v)| v).collect())
        } else if r.for_each.is_some() {
            Value::Map(
                objects
                    .into_iter()
                    .map(|(k, v)| match k {
                        InstanceKey::Str(s) => (s, v),
                        other => (other.to_string(), v),
                    })
                    .collect(),
            )
        } else {
            objects.pop().map(|(_, v)| v).unwrap_or(Value::Null)
        };
        self.set_resource_value(addr, value);
        instances
    }

    fn set_resource_value(&mut self, addr: &ConfigAddress, value: Value) {
        let table = match addr.mode {
            Mode::Managed => self.globals.get_mut(&addr.type_name),
            Mode::Data => match self.globals.get_mut("data") {
                Some(Value::Map(d)) => d.get_mut(&addr.type_name),
                _ => None,
            },
        };
        if let Some(Value::Map(t)) = table {
            t.insert(addr.name.clone(), value);
        }
    }

    /// Evaluates a body; `path` names it in messages (`disk.scsi0.`).
    #[allow(clippy::too_many_arguments)]
    fn eval_body(
        &mut self,
        path: &str,
        body: &BodyDef,
        attrs: &[Attribute],
        blocks: &[BlockType],
        checked: bool,
        count_index: Option<i64>,
        each: Option<(&Value, &Value)>,
    ) -> IndexMap<String, Value> {
        let mut out = IndexMap::with_capacity(body.attributes.len() + body.blocks.len());
        for (name, a) in &body.attributes {
            let v = self.eval_or_report(&a.expr, count_index, each);
            let v = match attrs.iter().find(|s| s.name == name) {
                Some(schema) => match self.checker.check(schema, v) {
                    Ok(v) if schema.sensitive => v.mark_sensitive(),
                    Ok(v) => v,
                    Err(p) => {
                        let m = p.message;
                        let d = Diagnostic::error(format!("invalid value for \"{path}{name}\": {m}"))
                            .with_code("pmx::config::wrong_type")
                            .at(&a.expr.file, a.expr.span(), p.label);
                        self.report_in_instance(d, format!("\"{path}{name}\""), m);
                        Value::Unknown
                    }
                },
                // Unknown attributes were reported by the schema check.
                None => v,
            };
            out.insert(name.clone(), v);
        }
        for b in &body.blocks {
            let Some(bs) = blocks.iter().find(|s| s.name == b.name) else {
                if !checked {
                    let inner = self.eval_body(path, &b.body, &[], &[], false, count_index, each);
                    out.insert(b.name.clone(), Value::Map(inner));
                }
                continue;
            };
            let inner_path = match &b.label {
                Some((l, _)) => format!("{path}{}.{l}.", b.name),
                None => format!("{path}{}.", b.name),
            };
            let inner =
                Value::Map(self.eval_body(&inner_path, &b.body, &bs.attributes, &bs.blocks, true, count_index, each));
            match (&bs.nesting, &b.label) {
                (Nesting::Single, _) => {
                    out.insert(b.name.clone(), inner);
                }
                (Nesting::Slotted { .. }, Some((label, _))) => {
                    if let Value::Map(slots) = out.entry(b.name.clone()).or_insert_with(|| Value::Map(IndexMap::new()))
                    {
                        slots.insert(label.clone(), inner);
                    }
                }
                (Nesting::Slotted { .. }, None) => {}
            }
        }
        out
    }

    // ----- the instance graph ----------------------------------------------------------

    fn instance_graph(
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

/// What a resource instance looks like to expressions: its desired attributes, plus the
/// schema's other attributes (unknown when Proxmox computes them, the default or null
/// otherwise) and `id`, known only after apply.
fn object_of(desired: &IndexMap<String, Value>, attrs: &[Attribute], blocks: &[BlockType]) -> IndexMap<String, Value> {
    let mut o = desired.clone();
    for a in attrs {
        if !o.contains_key(a.name) {
            let v = match (a.presence, &a.default) {
                (Presence::Computed | Presence::OptionalComputed, _) => Value::Unknown,
                (_, Some(d)) => Value::from_json(d),
                _ => Value::Null,
            };
            o.insert(a.name.to_string(), if a.sensitive { v.mark_sensitive() } else { v });
        }
    }
    for b in blocks {
        // A block that is written gets its defaults and computed attributes too
        // (`vm.a.disk["scsi0"].format`, `vm.a.cpu.sockets`); one left out is null (a slotted
        // block: no slots), as in Terraform.
        let v = match (&b.nesting, o.get(b.name).cloned()) {
            (Nesting::Single, Some(Value::Map(m))) => Value::Map(block_object_of(&m, b)),
            (Nesting::Slotted { .. }, Some(Value::Map(slots))) => Value::Map(
                slots
                    .into_iter()
                    .map(|(slot, v)| match v {
                        Value::Map(m) => (slot, Value::Map(block_object_of(&m, b))),
                        other => (slot, other),
                    })
                    .collect(),
            ),
            (_, Some(other)) => other,
            (Nesting::Single, None) => Value::Null,
            (Nesting::Slotted { .. }, None) => Value::Map(IndexMap::new()),
        };
        o.insert(b.name.to_string(), v);
    }
    o.entry("id".to_string()).or_insert(Value::Unknown);
    o
}

/// [`object_of`] for one nested block instance (no `id`).
fn block_object_of(desired: &IndexMap<String, Value>, b: &BlockType) -> IndexMap<String, Value> {
    let had_id = desired.contains_key("id") || b.attributes.iter().any(|a| a.name == "id");
    let mut o = object_of(desired, &b.attributes, &b.blocks);
    if !had_id {
        o.shift_remove("id");
    }
    o
}

/// The two types provider attributes have.
enum TypeConstraintKind {
    String,
    Bool,
}

impl TypeConstraintKind {
    fn check(&self, v: Value) -> Result<Value, String> {
        let t = match self {
            TypeConstraintKind::String => crate::config::types::TypeConstraint::String,
            TypeConstraintKind::Bool => crate::config::types::TypeConstraint::Bool,
        };
        crate::config::types::convert(v, &t)
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
