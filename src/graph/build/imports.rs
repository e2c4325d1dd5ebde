//! Phase 2: `import` and `moved` blocks name declared resources, once each; after evaluation,
//! the import targets (an instance that exists, a string id).

use std::collections::HashMap;

use super::Builder;
use crate::addr::InstanceKey;
use crate::config::suggest::did_you_mean_address;
use crate::config::Value;
use crate::diag::Diagnostic;
use crate::graph::ImportTarget;

impl Builder<'_> {
    pub(super) fn check_imports_and_moves(&mut self) {
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

    pub(super) fn eval_imports(&mut self) -> Vec<ImportTarget> {
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
}
