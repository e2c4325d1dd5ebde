//! Phase 1: every reference becomes an edge of the block-level graph (undeclared names are
//! reported with "did you mean"), then the graph's cycles are reported, each step with its span.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::{Block, Builder, ResourceRef, Why};
use crate::addr::{ConfigAddress, Mode};
use crate::config::check::schema_of;
use crate::config::model::{BodyDef, Expr};
use crate::config::suggest::{did_you_mean, did_you_mean_address};
use crate::diag::{Diagnostic, SourceFile};
use crate::graph::refs::{self, RefTarget, Reference};

impl Builder<'_> {
    pub(super) fn link_all(&mut self) {
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
                        self.undeclared(&me, &file, r.span, ("var", "variable"), n, m.variables.keys());
                    }
                }
                RefTarget::Local(n) => {
                    if m.locals.contains_key(n) {
                        self.edge(Block::Local(n.clone()), &me, file, r.span);
                    } else {
                        self.undeclared(&me, &file, r.span, ("local", "local value"), n, m.locals.keys());
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

    /// Reports a reference to an undeclared `var.NAME` or `local.NAME` (`prefix` and what it is
    /// called) in `me`, with "did you mean". It evaluates to unknown, and `me` is tainted.
    fn undeclared<'k>(
        &mut self,
        me: &Block,
        file: &Arc<SourceFile>,
        span: Range<usize>,
        (prefix, kind): (&str, &str),
        name: &str,
        names: impl Iterator<Item = &'k String>,
    ) {
        let mut d = Diagnostic::error(format!("reference to undeclared {kind} {prefix}.{name}"))
            .with_code("pmx::config::undeclared")
            .at(file, span, "not declared");
        if let Some(h) = did_you_mean(name, names.map(String::as_str)) {
            d = d.with_help(h);
        }
        self.report(d);
        self.tainted.insert(me.clone());
        self.missing.push(ConfigAddress { mode: Mode::Managed, type_name: prefix.into(), name: name.to_string() });
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

    /// Marks the blocks that hold or depend on a broken reference or a cycle.
    pub(super) fn taint(&mut self, cyclic: &[NodeIndex]) {
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
    pub(super) fn block_order(&mut self) -> (Vec<NodeIndex>, Vec<NodeIndex>) {
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
}
