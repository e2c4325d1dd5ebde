//! Checking resource and data blocks against the schema registry: unknown types, attributes
//! and nested blocks (with "did you mean"), missing required attributes, slot labels, and the
//! checks of known values (type, one_of, range, pattern).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::model::{BodyDef, ResourceBlock};
use super::suggest::did_you_mean;
use super::types::{convert, TypeConstraint};
use super::{Value, META_ARGUMENTS};
use crate::addr::Mode;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::schema::{pattern_matches, Attribute, BlockType, Nesting, Presence, Registry, ResourceType};

/// The schema of a resource or data block, if its type exists.
pub fn schema_of<'r>(registry: &'r Registry, mode: Mode, type_name: &str) -> Option<&'r ResourceType> {
    match mode {
        Mode::Managed => registry.resource(type_name),
        Mode::Data => registry.data_source(type_name),
    }
}

/// Structural checks of one block; returns false when its type is unknown.
pub fn check_resource(registry: &Registry, res: &ResourceBlock, diags: &mut Diagnostics) -> bool {
    let addr = &res.addr;
    let Some(schema) = schema_of(registry, addr.mode, &addr.type_name) else {
        let (kw, names): (&str, Vec<&str>) = match addr.mode {
            Mode::Managed => ("resource", registry.resources.iter().map(|r| r.name).collect()),
            Mode::Data => ("data source", registry.data_sources.iter().map(|r| r.name).collect()),
        };
        let mut d = Diagnostic::error(format!("unknown {kw} type \"{}\"", addr.type_name))
            .with_code("pmx::config::unknown_type")
            .at(&res.location.file, res.location.span.clone(), format!("no such {kw} type"));
        d = d.with_help(match did_you_mean(&addr.type_name, names.iter().copied()) {
            Some(h) => h,
            None => format!("{kw} types are: {}", names.join(", ")),
        });
        diags.push(d);
        return false;
    };
    let what = addr.to_string();
    for (i, path) in res.lifecycle.ignore_changes.iter().enumerate() {
        let first = path.split(['.', '[']).next().unwrap_or(path);
        let known = schema.attributes.iter().any(|a| a.name == first) || schema.blocks.iter().any(|b| b.name == first);
        if !known {
            let at = res.lifecycle.ignore_changes_at.get(i).unwrap_or(&res.location);
            let names = schema.attributes.iter().map(|a| a.name).chain(schema.blocks.iter().map(|b| b.name));
            let mut d = Diagnostic::error(format!("ignore_changes of {what} names unknown attribute \"{first}\""))
                .with_code("pmx::config::unknown_attribute")
                .at(&at.file, at.span.clone(), "not an attribute of this resource");
            if let Some(h) = did_you_mean(first, names) {
                d = d.with_help(h);
            }
            diags.push(d);
        }
    }
    check_body(
        &res.location.file,
        &what,
        res.location.span.clone(),
        &res.body,
        &schema.attributes,
        &schema.blocks,
        true,
        diags,
    );
    check_constraints(schema, res, &what, diags);
    check_named_instances(schema, res, &what, diags);
    true
}

/// An attribute that defaults to the block's name (a pool's `id`) cannot default with `count` or
/// `for_each`: every instance would get the same name.
fn check_named_instances(schema: &ResourceType, res: &ResourceBlock, what: &str, diags: &mut Diagnostics) {
    let (meta, index) = match (&res.count, &res.for_each) {
        (Some(_), _) => ("count", "count.index"),
        (None, Some(_)) => ("for_each", "each.key"),
        (None, None) => return,
    };
    for a in schema.attributes.iter().filter(|a| a.defaults_to_block_name) {
        if res.body.attributes.contains_key(a.name) {
            continue;
        }
        diags.push(
            Diagnostic::error(format!("{what} uses {meta}: set \"{}\"", a.name))
                .with_code("pmx::config::missing_attribute")
                .at(&res.location.file, res.location.span.clone(), format!("{} must be set here", a.name))
                .with_help(format!(
                    "\"{}\" defaults to the block's name only without count or for_each, since every instance \
                     needs its own; for example {} = \"{}-${{{index}}}\"",
                    a.name, a.name, res.addr.name
                )),
        );
    }
}

impl crate::schema::ConfigBody for BodyDef {
    fn has(&self, attribute: &str) -> bool {
        self.attributes.contains_key(attribute)
    }
    fn each_block(&self, name: &str, f: &mut dyn FnMut(Option<&str>, &dyn crate::schema::ConfigBody)) {
        for b in self.blocks.iter().filter(|b| b.name == name) {
            f(b.label.as_ref().map(|(l, _)| l.as_str()), &b.body);
        }
    }
}

/// The schema's cross-attribute rules (exactly one of, requires, slot-only attributes), each
/// reported at the attributes involved or, when none is set, at the block that lacks them.
fn check_constraints(schema: &ResourceType, res: &ResourceBlock, what: &str, diags: &mut Diagnostics) {
    for v in schema.check_constraints(&res.body) {
        let (body, block_loc) = match &v.block {
            None => (&res.body, &res.location),
            Some((name, label)) => {
                let found = res
                    .body
                    .blocks
                    .iter()
                    .find(|b| b.name == *name && b.label.as_ref().map(|(l, _)| l.as_str()) == label.as_deref());
                match found {
                    Some(b) => (&b.body, &b.location),
                    None => (&res.body, &res.location),
                }
            }
        };
        let mut d = Diagnostic::error(format!("{what}: {}", v.message)).with_code("pmx::config::constraint");
        let mut set = v.attributes.iter().filter_map(|a| body.attributes.get(*a));
        match set.next() {
            Some(first) => {
                d = d.at(&first.expr.file, first.key_span.clone(), "set here");
                for more in set {
                    d = d.with_label(more.key_span.clone(), "and here");
                }
            }
            None => d = d.at(&block_loc.file, block_loc.span.clone(), "in this block"),
        }
        diags.push(d);
    }
}

#[allow(clippy::too_many_arguments)]
fn check_body(
    file: &Arc<SourceFile>,
    what: &str,
    header: Range<usize>,
    body: &BodyDef,
    attributes: &[Attribute],
    blocks: &[BlockType],
    top_level: bool,
    diags: &mut Diagnostics,
) {
    for a in body.attributes.values() {
        let file = &a.expr.file;
        match attributes.iter().find(|s| s.name == a.name) {
            Some(s) if s.presence == Presence::Computed => diags.push(
                Diagnostic::error(format!("\"{}\" of {what} is set by Proxmox and cannot be configured", a.name))
                    .with_code("pmx::config::computed_attribute")
                    .at(file, a.key_span.clone(), "read-only attribute"),
            ),
            Some(_) => {}
            None => {
                let mut d = Diagnostic::error(format!("unknown attribute \"{}\" in {what}", a.name))
                    .with_code("pmx::config::unknown_attribute")
                    .at(file, a.key_span.clone(), "not an attribute of this block");
                if blocks.iter().any(|b| b.name == a.name) {
                    d = d.with_help(format!("{} is a block: write {} {{ ... }}", a.name, a.name));
                } else {
                    let mut names: Vec<&str> =
                        attributes.iter().filter(|s| s.presence != Presence::Computed).map(|s| s.name).collect();
                    if top_level {
                        names.extend(META_ARGUMENTS.iter().filter(|m| **m != "lifecycle"));
                    }
                    if let Some(h) = did_you_mean(&a.name, names) {
                        d = d.with_help(h);
                    }
                }
                diags.push(d);
            }
        }
    }
    for s in attributes.iter().filter(|s| s.presence == Presence::Required) {
        if !body.attributes.contains_key(s.name) {
            diags.push(
                Diagnostic::error(format!("missing required attribute \"{}\" in {what}", s.name))
                    .with_code("pmx::config::missing_attribute")
                    .at(file, header.clone(), format!("{} must be set here", s.name))
                    .with_help(format!("{}: {}", s.name, s.description)),
            );
        }
    }
    let mut seen_single: HashMap<&str, Range<usize>> = HashMap::new();
    let mut seen_slots: HashMap<(&str, &str), Range<usize>> = HashMap::new();
    for b in &body.blocks {
        let bfile = &b.location.file;
        let Some(bs) = blocks.iter().find(|s| s.name == b.name) else {
            let mut d = Diagnostic::error(format!("unknown block \"{}\" in {what}", b.name))
                .with_code("pmx::config::unknown_block")
                .at(bfile, b.location.span.clone(), "not a block of this resource");
            if b.name == "lifecycle" {
                d = d.with_help("lifecycle belongs directly inside a resource block");
            } else if attributes.iter().any(|a| a.name == b.name) {
                d = d.with_help(format!("{} is an attribute: write {} = ...", b.name, b.name));
            } else {
                let mut names: Vec<&str> = blocks.iter().map(|s| s.name).collect();
                if top_level {
                    names.push("lifecycle");
                }
                if let Some(h) = did_you_mean(&b.name, names) {
                    d = d.with_help(h);
                }
            }
            diags.push(d);
            continue;
        };
        let inner_what = match &b.label {
            Some((l, _)) => format!("{what}: {} \"{l}\"", b.name),
            None => format!("{what}: {}", b.name),
        };
        match (&bs.nesting, &b.label) {
            (Nesting::Single, Some((_, span))) => {
                diags.push(
                    Diagnostic::error(format!("block \"{}\" takes no label", b.name))
                        .with_code("pmx::config::labels")
                        .at(bfile, span.clone(), "unexpected label")
                        .with_help(format!("write {} {{ ... }}", b.name)),
                );
            }
            (Nesting::Single, None) => {
                if let Some(first) = seen_single.get(bs.name) {
                    diags.push(
                        Diagnostic::error(format!("block \"{}\" may appear only once in {what}", b.name))
                            .with_code("pmx::config::duplicate_block")
                            .at(bfile, b.location.span.clone(), "again here")
                            .with_related(Diagnostic::error("first here").at(bfile, first.clone(), "first block")),
                    );
                } else {
                    seen_single.insert(bs.name, b.location.span.clone());
                }
            }
            (Nesting::Slotted { example, .. }, None) => {
                diags.push(
                    Diagnostic::error(format!("block \"{}\" needs a slot label", b.name))
                        .with_code("pmx::config::slot")
                        .at(bfile, b.location.span.clone(), "no slot")
                        .with_help(format!("write {} \"{example}\" {{ ... }}", b.name)),
                );
            }
            (Nesting::Slotted { slot_pattern, example }, Some((label, span))) => {
                let matches = pattern_matches(slot_pattern, label).unwrap_or(true);
                if !matches {
                    diags.push(
                        Diagnostic::error(format!("invalid slot \"{label}\" for {}", b.name))
                            .with_code("pmx::config::slot")
                            .at(bfile, span.clone(), format!("does not match {slot_pattern}"))
                            .with_help(format!("slots look like \"{example}\"")),
                    );
                } else if let Some(first) = seen_slots.get(&(bs.name, label.as_str())) {
                    diags.push(
                        Diagnostic::error(format!("slot {} \"{label}\" is declared twice in {what}", b.name))
                            .with_code("pmx::config::duplicate_slot")
                            .at(bfile, span.clone(), "declared again here")
                            .with_related(Diagnostic::error("first declared here").at(bfile, first.clone(), "first")),
                    );
                } else {
                    seen_slots.insert((bs.name, label.as_str()), span.clone());
                }
            }
        }
        check_body(bfile, &inner_what, b.location.span.clone(), &b.body, &bs.attributes, &bs.blocks, false, diags);
    }
    for bs in blocks.iter().filter(|b| b.required) {
        if !body.blocks.iter().any(|b| b.name == bs.name) {
            diags.push(
                Diagnostic::error(format!("missing required block \"{}\" in {what}", bs.name))
                    .with_code("pmx::config::missing_block")
                    .at(file, header.clone(), format!("{} {{ ... }} must be set here", bs.name)),
            );
        }
    }
}

/// Checks of known values against the schema.
#[derive(Default)]
pub struct ValueChecker;

impl ValueChecker {
    /// Converts a value to the attribute's type and checks its constraints. Unknown values
    /// pass; sensitive ones are never quoted in the message.
    pub fn check(&mut self, attr: &Attribute, value: Value) -> Result<Value, String> {
        let ty: TypeConstraint = (&attr.ty).into();
        let value = convert(value, &ty)?;
        let sensitive = value.is_sensitive();
        let show = |v: &Value| if sensitive { "(sensitive value)".to_string() } else { v.to_string() };
        let plain = match &value {
            Value::Sensitive(v) => v.as_ref(),
            v => v,
        };
        if let (Some(one_of), Value::String(s)) = (&attr.one_of, plain) {
            if !one_of.contains(&s.as_str()) {
                let mut msg = format!("{} is not one of: {}", show(plain), one_of.join(", "));
                if !sensitive {
                    if let Some(h) = did_you_mean(s, one_of.iter().copied()) {
                        msg.push_str(&format!(" ({h})"));
                    }
                }
                return Err(msg);
            }
        }
        if let (Some((lo, hi)), Value::Number(n)) = (attr.range, plain) {
            if *n < lo || *n > hi {
                return Err(format!(
                    "{} is out of range {}..{}",
                    show(plain),
                    super::eval::number_to_string(lo),
                    super::eval::number_to_string(hi)
                ));
            }
        }
        if let (Some(pattern), Value::String(s)) = (attr.pattern, plain) {
            if pattern_matches(pattern, s) == Some(false) {
                return Err(format!("{} does not match the pattern {pattern}", show(plain)));
            }
        }
        Ok(value)
    }
}
