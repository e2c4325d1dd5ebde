//! Phase 3: evaluation in dependency order of locals, providers, resources (their instances
//! from [`super::expand`]) and outputs, against the globals (`var`, `local`, `data`, `path`, and
//! each resource type's table).

use indexmap::IndexMap;
use petgraph::Direction;

use super::{Block, Builder};
use crate::addr::{ConfigAddress, InstanceKey, Mode};
use crate::config::check::schema_of;
use crate::config::eval::{eval, Env};
use crate::config::model::{BodyDef, Expr, PROVIDER_SENSITIVE};
use crate::config::Value;
use crate::diag::Diagnostic;
use crate::graph::{Instance, OutputValue, ProviderConfig};
use crate::schema::{Attribute, BlockType, Nesting, Presence};

impl Builder<'_> {
    pub(super) fn init_globals(&mut self) {
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

    pub(super) fn env<'e>(&'e self, count_index: Option<i64>, each: Option<(&'e Value, &'e Value)>) -> Env<'e> {
        Env { globals: &self.globals, count_index, each, base_dir: &self.config.dir }
    }

    pub(super) fn eval_or_report(
        &mut self,
        expr: &Expr,
        count_index: Option<i64>,
        each: Option<(&Value, &Value)>,
    ) -> Value {
        let result = eval(expr, &self.env(count_index, each));
        match result {
            Ok(v) => v,
            Err(d) => {
                self.report(*d);
                Value::Unknown
            }
        }
    }

    pub(super) fn eval_local(&mut self, name: &str) {
        let Some(l) = self.config.module.locals.get(name) else { return };
        let v = self.eval_or_report(&l.expr, None, None);
        if let Some(Value::Map(locals)) = self.globals.get_mut("local") {
            locals.insert(name.to_string(), v);
        }
    }

    pub(super) fn eval_provider(&mut self, key: &str) -> ProviderConfig {
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

    pub(super) fn eval_output(&mut self, name: &str) -> Option<OutputValue> {
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

    pub(super) fn eval_resource(&mut self, addr: &ConfigAddress) -> Vec<Instance> {
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
            self.out.current_instance = (key != InstanceKey::None).then(|| addr.instance(key.clone()).to_string());
            let mut desired = self.eval_body("", &r.body, attrs, blocks, schema.is_some(), count_index, each);
            self.out.current_instance = None;
            // A resource with count or for_each must set such an attribute (the config check says so).
            if r.count.is_none() && r.for_each.is_none() {
                for a in attrs.iter().filter(|a| a.defaults_to_block_name) {
                    desired.entry(a.name.to_string()).or_insert_with(|| Value::String(addr.name.clone()));
                }
            }
            let inst_addr = addr.instance(key.clone());
            // Only a resource something refers to needs its expression value.
            if referenced {
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
            }
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
        let value = crate::graph::reference_value(r, objects, Value::Null);
        self.set_resource_value(addr, value);
        instances
    }

    pub(super) fn set_resource_value(&mut self, addr: &ConfigAddress, value: Value) {
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
                        self.out.report_in_instance(d, format!("\"{path}{name}\""), m);
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
