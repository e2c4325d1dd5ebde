//! `pmx console`'s scope: what an expression typed at the console can refer to, and its
//! evaluation. The scope is the project's variables (as plan takes them), its locals, its
//! resources and data sources as the configuration describes them, and what the state store
//! knows about each resource (`vm.web.vmid` once applied; unknown where the state has nothing).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use super::{LoadError, Project};
use crate::addr::{InstanceKey, Mode, ResourceAddress};
use crate::config::eval::{eval, eval_in, Env};
use crate::config::{self, LoadedConfig, Value, VarInputs};
use crate::diag::{Diagnostic, SourceFile};
use crate::graph::refs::{self, RefTarget};
use crate::graph::{BuildOptions, GraphNode, ResourceGraph};
use crate::schema::{Attribute, BlockType, Nesting, Presence, ResourceType};
use crate::state::StoredResource;

/// The names an expression at the console resolves against.
pub struct ConsoleScope {
    dir: PathBuf,
    globals: IndexMap<String, Value>,
    /// What is declared (for the undeclared-reference check): `None` outside a project.
    declared: Option<Declared>,
}

struct Declared {
    variables: Vec<String>,
    locals: Vec<String>,
    resources: Vec<crate::addr::ConfigAddress>,
}

impl ConsoleScope {
    /// The scope of the project in `dir`. A folder without `.pmx` files gives an empty scope
    /// (functions and literals only), as `terraform console` does; a configuration with errors
    /// is refused with every problem.
    pub fn load(dir: &Path, inputs: &VarInputs, stored: &[StoredResource]) -> Result<ConsoleScope, LoadError> {
        if config::config_files(dir).map_or(true, |f| f.is_empty()) {
            return Ok(ConsoleScope { dir: dir.to_path_buf(), globals: path_globals(dir), declared: None });
        }
        let project = Project::load(dir, inputs)?;
        let known = known_from_state(&project.graph, stored);
        let graph = project.rebuild(&BuildOptions { known: known.clone() }).map_err(LoadError::Config)?;
        let mut globals = path_globals(&project.loaded.dir);
        globals.insert("var".into(), Value::Map(project.loaded.variables.clone()));
        add_resources(&mut globals, &project.loaded, &graph, &known);
        add_locals(&mut globals, &project.loaded, &graph);
        let module = &project.loaded.module;
        let declared = Declared {
            variables: module.variables.keys().cloned().collect(),
            locals: module.locals.keys().cloned().collect(),
            resources: module.resources.keys().cloned().collect(),
        };
        Ok(ConsoleScope { dir: project.loaded.dir.clone(), globals, declared: Some(declared) })
    }

    /// Evaluates one expression. A syntax error, a reference to something not declared and an
    /// evaluation error each come back as a diagnostic pointing into the expression's text.
    pub fn eval(&self, text: &str) -> Result<Value, Box<Diagnostic>> {
        let file = SourceFile::new("<console>", "<console>", text);
        let expr = parse(text, &file)?;
        self.check_references(&expr, &file)?;
        let env = Env { globals: &self.globals, count_index: None, each: None, base_dir: &self.dir };
        eval_in(&expr, &file, &env)
    }

    /// Terraform's console refuses a reference to an undeclared variable, local or resource
    /// before evaluating (so `try(local.nope, 1)` is an error, not `1`).
    fn check_references(
        &self,
        expr: &hcl_edit::expr::Expression,
        file: &Arc<SourceFile>,
    ) -> Result<(), Box<Diagnostic>> {
        let mut found = Vec::new();
        let mut bad = Vec::new();
        refs::collect(expr, &mut found, &mut bad);
        if let Some(b) = bad.into_iter().next() {
            let mut d =
                Diagnostic::error(b.message.clone()).with_code("pmx::console::reference").at(file, b.span, b.message);
            if let Some(h) = b.help {
                d = d.with_help(h);
            }
            return Err(Box::new(d));
        }
        let empty = Declared { variables: Vec::new(), locals: Vec::new(), resources: Vec::new() };
        let declared = self.declared.as_ref().unwrap_or(&empty);
        for r in found {
            let missing = match &r.target {
                RefTarget::Var(n) => (!declared.variables.contains(n)).then(|| format!("variable \"{n}\"")),
                RefTarget::Local(n) => (!declared.locals.contains(n)).then(|| format!("local value \"{n}\"")),
                RefTarget::Resource(a) => (!declared.resources.contains(a)).then(|| format!("{a}")),
                RefTarget::CountIndex | RefTarget::Each => Some("count and each (only inside a resource block)".into()),
                RefTarget::Path => None,
            };
            if let Some(what) = missing {
                return Err(Box::new(
                    Diagnostic::error(format!("reference to undeclared {what}"))
                        .with_code("pmx::console::undeclared")
                        .at(file, r.span, "not declared in this project"),
                ));
            }
        }
        Ok(())
    }
}

fn parse(text: &str, file: &Arc<SourceFile>) -> Result<hcl_edit::expr::Expression, Box<Diagnostic>> {
    hcl_edit::parser::parse_expr(text).map_err(|e| {
        let offset = floor_boundary(text, e.location().offset());
        let end = text[offset..].chars().next().map_or(offset, |c| offset + c.len_utf8());
        let message = e.message().trim().to_string();
        let first = message.lines().next().unwrap_or("").to_string();
        Box::new(Diagnostic::error(format!("syntax error: {first}")).with_code("pmx::console::syntax").at(
            file,
            offset..end,
            message,
        ))
    })
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn path_globals(dir: &Path) -> IndexMap<String, Value> {
    let dir = dir.display().to_string();
    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| ".".into());
    let path: IndexMap<String, Value> = [
        ("module".to_string(), Value::String(dir.clone())),
        ("root".to_string(), Value::String(dir)),
        ("cwd".to_string(), Value::String(cwd)),
    ]
    .into();
    [
        ("path".to_string(), Value::Map(path)),
        ("var".to_string(), Value::Map(IndexMap::new())),
        ("local".to_string(), Value::Map(IndexMap::new())),
        ("data".to_string(), Value::Map(IndexMap::new())),
    ]
    .into()
}

/// The attributes the state holds for each configured instance (its recorded attributes, plus
/// its node and vmid), marked sensitive where the schema says so.
fn known_from_state(
    graph: &ResourceGraph,
    stored: &[StoredResource],
) -> std::collections::HashMap<ResourceAddress, IndexMap<String, Value>> {
    let mut known = std::collections::HashMap::new();
    for s in stored {
        if !graph.instances.contains_key(&s.address) {
            continue;
        }
        let mut values: IndexMap<String, Value> = match &s.attributes {
            serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect(),
            _ => IndexMap::new(),
        };
        if let Some(vmid) = s.identity.vmid {
            values.entry("vmid".into()).or_insert(Value::Number(f64::from(vmid)));
        }
        if let Some(node) = &s.identity.node {
            values.entry("node".into()).or_insert(Value::String(node.clone()));
        }
        if let Some(rt) = crate::schema::registry().resource(&s.address.config.type_name) {
            mark_sensitive(&mut values, &rt.attributes, &rt.blocks);
        }
        known.insert(s.address.clone(), values);
    }
    known
}

/// Marks the schema's sensitive attributes, in nested and slotted blocks too
/// (`cloud_init.password`), so a secret the state holds never prints.
fn mark_sensitive(values: &mut IndexMap<String, Value>, attrs: &[Attribute], blocks: &[BlockType]) {
    for a in attrs.iter().filter(|a| a.sensitive) {
        if let Some(v) = values.get_mut(a.name) {
            *v = std::mem::replace(v, Value::Null).mark_sensitive();
        }
    }
    for b in blocks {
        let Some(Value::Map(m)) = values.get_mut(b.name) else { continue };
        match b.nesting {
            Nesting::Single => mark_sensitive(m, &b.attributes, &b.blocks),
            Nesting::Slotted { .. } => {
                for slot in m.values_mut() {
                    if let Value::Map(inner) = slot {
                        mark_sensitive(inner, &b.attributes, &b.blocks);
                    }
                }
            }
        }
    }
}

/// What `vm.web` means: the object of its only instance, a list with `count`, a map with
/// `for_each`; data sources under `data.`.
fn add_resources(
    globals: &mut IndexMap<String, Value>,
    loaded: &LoadedConfig,
    graph: &ResourceGraph,
    known: &std::collections::HashMap<ResourceAddress, IndexMap<String, Value>>,
) {
    let registry = crate::schema::registry();
    for (addr, block) in &loaded.module.resources {
        let schema = match addr.mode {
            Mode::Managed => registry.resource(&addr.type_name),
            Mode::Data => registry.data_source(&addr.type_name),
        };
        let objects: Vec<(InstanceKey, Value)> = graph
            .instances
            .values()
            .filter(|i| i.addr.config == *addr)
            .map(|i| (i.addr.key.clone(), Value::Map(object_of(&i.attributes, schema, known.get(&i.addr)))))
            .collect();
        let value = crate::graph::reference_value(block, objects, Value::Unknown);
        let table = match addr.mode {
            Mode::Managed => Some(globals.entry(addr.type_name.clone()).or_insert_with(|| Value::Map(IndexMap::new()))),
            Mode::Data => match globals.get_mut("data") {
                Some(Value::Map(d)) => {
                    Some(d.entry(addr.type_name.clone()).or_insert_with(|| Value::Map(IndexMap::new())))
                }
                _ => None,
            },
        };
        if let Some(Value::Map(t)) = table {
            t.insert(addr.name.clone(), value);
        }
    }
}

/// An instance as expressions see it: the attributes written, then the schema's defaults
/// (computed ones unknown), then what the state knows filling in the unknowns.
fn object_of(
    desired: &IndexMap<String, Value>,
    schema: Option<&ResourceType>,
    known: Option<&IndexMap<String, Value>>,
) -> IndexMap<String, Value> {
    let mut o = desired.clone();
    for a in schema.map_or(&[][..], |s| &s.attributes[..]) {
        if !o.contains_key(a.name) {
            let v = match (a.presence, &a.default) {
                (Presence::Computed | Presence::OptionalComputed, _) => Value::Unknown,
                (_, Some(d)) => Value::from_json(d),
                _ => Value::Null,
            };
            o.insert(a.name.to_string(), if a.sensitive { v.mark_sensitive() } else { v });
        }
    }
    o.entry("id".to_string()).or_insert(Value::Unknown);
    for (k, v) in known.into_iter().flatten() {
        if matches!(o.get(k), None | Some(Value::Unknown)) {
            o.insert(k.clone(), v.clone());
        }
    }
    o
}

/// Locals in dependency order (the graph's), each against everything before it.
fn add_locals(globals: &mut IndexMap<String, Value>, loaded: &LoadedConfig, graph: &ResourceGraph) {
    for node in &graph.order {
        let GraphNode::Local(name) = &graph.graph[*node] else { continue };
        let Some(def) = loaded.module.locals.get(name) else { continue };
        let value = {
            let env = Env { globals, count_index: None, each: None, base_dir: &loaded.dir };
            eval(&def.expr, &env).unwrap_or(Value::Unknown)
        };
        if let Some(Value::Map(locals)) = globals.get_mut("local") {
            locals.insert(name.clone(), value);
        }
    }
    // Locals the order does not reach (none in a valid project) are unknown rather than absent.
    if let Some(Value::Map(locals)) = globals.get_mut("local") {
        for name in loaded.module.locals.keys() {
            locals.entry(name.clone()).or_insert(Value::Unknown);
        }
    }
}
