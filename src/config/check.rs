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
        let at = res.lifecycle.ignore_changes_at.get(i).unwrap_or(&res.location);
        if let Some((message, label, help)) = check_ignore_path(path, &schema.attributes, &schema.blocks, &res.body) {
            let mut d = Diagnostic::error(format!("ignore_changes of {what}: {message}"))
                .with_code("pmx::config::unknown_attribute")
                .at(&at.file, at.span.clone(), label);
            if path == "all" {
                d = d.with_help("to ignore every attribute, write ignore_changes = all (without brackets)");
            } else if let Some(h) = help {
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
    // A slot label is a Proxmox parameter (`scsi0`, `ide2`, `net0`): one per guest, whatever
    // the block type (`disk "scsi0"` and `cdrom "scsi0"` cannot both have it).
    let mut seen_slots: HashMap<&str, (&str, Range<usize>)> = HashMap::new();
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
                } else if let Some((first_block, first)) = seen_slots.get(label.as_str()) {
                    let message = if *first_block == bs.name {
                        format!("slot {} \"{label}\" is declared twice in {what}", b.name)
                    } else {
                        format!("Proxmox slot \"{label}\" is used by both {first_block} and {} in {what}", b.name)
                    };
                    diags.push(
                        Diagnostic::error(message)
                            .with_code("pmx::config::duplicate_slot")
                            .at(bfile, span.clone(), "declared again here")
                            .with_related(Diagnostic::error("first declared here").at(bfile, first.clone(), "first")),
                    );
                } else {
                    seen_slots.insert(label.as_str(), (bs.name, span.clone()));
                }
            }
        }
        check_body(bfile, &inner_what, b.location.span.clone(), &b.body, &bs.attributes, &bs.blocks, false, diags);
    }
    // A single block with a `drive` (cloud_init) takes that slot too, `ide2` unless it says.
    for b in &body.blocks {
        let Some(drive) =
            blocks.iter().find(|s| s.name == b.name).and_then(|s| s.attributes.iter().find(|a| a.name == "drive"))
        else {
            continue;
        };
        let (slot, span) = match b.body.attributes.get("drive") {
            Some(a) => match &a.expr.expr {
                hcl_edit::expr::Expression::String(s) => (s.value().to_string(), a.expr.span()),
                _ => continue,
            },
            None => match drive.default.as_ref().and_then(|d| d.as_str()) {
                Some(d) => (d.to_string(), b.location.span.clone()),
                None => continue,
            },
        };
        if let Some((other, first)) = seen_slots.get(slot.as_str()) {
            diags.push(
                Diagnostic::error(format!("Proxmox slot \"{slot}\" is used by both {other} and {} in {what}", b.name))
                    .with_code("pmx::config::duplicate_slot")
                    .at(&b.location.file, span, format!("{} uses drive {slot}", b.name))
                    .with_related(Diagnostic::error("the slot is declared here").at(
                        &b.location.file,
                        first.clone(),
                        "here",
                    ))
                    .with_help(format!("give {} another drive, e.g. drive = \"ide3\"", b.name)),
            );
        }
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

/// Checks an `ignore_changes` path (`memory.size`, `disk["scsi0"].size`, `tags`) against the
/// schema, as deep as it goes: (message, label, help) for the first wrong step.
fn check_ignore_path(
    path: &str,
    attributes: &[Attribute],
    blocks: &[BlockType],
    body: &BodyDef,
) -> Option<(String, String, Option<String>)> {
    let mut steps = ignore_path_steps(path)?;
    let first = steps.remove(0);
    let Step::Name(name) = first else {
        return Some(("a path starts with an attribute name".into(), "not an attribute name".into(), None));
    };
    if attributes.iter().any(|a| a.name == name) {
        // An attribute; an index into a list or map value is not checked further.
        return match steps.first() {
            Some(Step::Name(n)) => {
                Some((format!("\"{name}\" is an attribute, it has no \"{n}\""), "no such attribute".into(), None))
            }
            _ => None,
        };
    }
    let Some(b) = blocks.iter().find(|b| b.name == name) else {
        let names = attributes.iter().map(|a| a.name).chain(blocks.iter().map(|b| b.name));
        return Some((
            format!("unknown attribute \"{name}\""),
            "not an attribute of this block".into(),
            did_you_mean(&name, names),
        ));
    };
    let mut rest = steps.as_slice();
    let mut inner_body = body.blocks.iter().find(|d| d.name == name).map(|d| &d.body);
    if let Nesting::Slotted { slot_pattern, example } = &b.nesting {
        match rest.first() {
            Some(Step::Key(slot)) => {
                if pattern_matches(slot_pattern, slot) == Some(false) {
                    return Some((
                        format!("invalid slot \"{slot}\" for {name}"),
                        format!("does not match {slot_pattern}"),
                        Some(format!("slots look like \"{example}\"")),
                    ));
                }
                let declared =
                    body.blocks.iter().find(|d| d.name == name && d.label.as_ref().is_some_and(|(l, _)| l == slot));
                if declared.is_none() {
                    return Some((
                        format!("{name} \"{slot}\" is not declared in this resource"),
                        "no such slot".into(),
                        None,
                    ));
                }
                inner_body = declared.map(|d| &d.body);
                rest = &rest[1..];
            }
            Some(Step::Name(n)) => {
                return Some((
                    format!("{name} is a slotted block: name the slot first, as in {name}[\"{example}\"].{n}"),
                    "slot missing".into(),
                    None,
                ))
            }
            None => return None,
        }
    }
    match rest.first() {
        None => None,
        Some(Step::Key(k)) => Some((format!("block {name} takes no index [\"{k}\"]"), "not indexable".into(), None)),
        Some(Step::Name(_)) => {
            let empty = BodyDef::default();
            let sub: Vec<String> = rest.iter().map(Step::to_string).collect();
            let sub = sub.join("").trim_start_matches('.').to_string();
            check_ignore_path(&sub, &b.attributes, &b.blocks, inner_body.unwrap_or(&empty))
                .map(|(m, l, h)| (format!("{m} (in {name})"), l, h))
        }
    }
}

enum Step {
    Name(String),
    Key(String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Name(n) => write!(f, ".{n}"),
            Step::Key(k) => write!(f, "[\"{k}\"]"),
        }
    }
}

/// `disk["scsi0"].size` as [Name(disk), Key(scsi0), Name(size)]; None when it does not read as
/// a path (decoding already took it as written).
fn ignore_path_steps(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            steps.push(Step::Key(r[..end].trim().trim_matches('"').to_string()));
            rest = &r[end + 1..];
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Name(r[..end].to_string()));
            rest = &r[end..];
        }
    }
    (!steps.is_empty()).then_some(steps)
}

/// The number attributes Proxmox takes as decimals (CPU time limits, bandwidth in MB/s); every
/// other number of the schema (ids, counts, sizes, VLAN tags...) must be whole.
pub const FRACTIONAL_NUMBERS: &[&str] = &["limit", "cpulimit", "rate"];

/// Checks of known values against the schema.
#[derive(Default)]
pub struct ValueChecker;

impl ValueChecker {
    /// Converts a value to the attribute's type and checks its constraints. Unknown values
    /// pass; sensitive ones are never quoted in the message.
    pub fn check(&mut self, attr: &Attribute, value: Value) -> Result<Value, ValueProblem> {
        let ty: TypeConstraint = (&attr.ty).into();
        let value = convert(value, &ty).map_err(|m| problem(m, format!("expected {ty}")))?;
        let sensitive = value.is_sensitive();
        let show = |v: &Value| if sensitive { "(sensitive value)".to_string() } else { v.to_string() };
        let plain = match &value {
            Value::Sensitive(v) => v.as_ref(),
            v => v,
        };
        // A list or set of strings: each element meets `one_of` and `pattern`.
        let strings: Vec<(&str, bool)> = match plain {
            Value::String(s) => vec![(s.as_str(), sensitive)],
            Value::List(items) => {
                items.iter().filter_map(|i| i.as_str().map(|s| (s, sensitive || i.is_sensitive()))).collect()
            }
            _ => Vec::new(),
        };
        let element = if matches!(plain, Value::List(_)) { "element " } else { "" };
        let quote = |s: &str, hidden: bool| {
            if hidden {
                "(sensitive value)".to_string()
            } else {
                Value::String(s.into()).to_string()
            }
        };
        if let Some(one_of) = &attr.one_of {
            for &(s, hidden) in &strings {
                if !one_of.contains(&s) {
                    let mut msg = format!("{element}{} is not one of: {}", quote(s, hidden), one_of.join(", "));
                    if !hidden {
                        if let Some(h) = did_you_mean(s, one_of.iter().copied()) {
                            msg.push_str(&format!(" ({h})"));
                        }
                    }
                    return Err(problem(msg, "not one of the allowed values"));
                }
            }
        }
        if let Value::Number(n) = plain {
            if n.fract() != 0.0 && !FRACTIONAL_NUMBERS.contains(&attr.name) {
                return Err(problem(format!("{} is not a whole number", show(plain)), "not a whole number"));
            }
        }
        if let (Some((lo, hi)), Value::Number(n)) = (attr.range, plain) {
            if *n < lo || *n > hi {
                let range = format!("{}..{}", super::eval::number_to_string(lo), super::eval::number_to_string(hi));
                return Err(problem(
                    format!("{} is out of range {range}", show(plain)),
                    format!("out of range {range}"),
                ));
            }
        }
        if let Some(pattern) = attr.pattern {
            for &(s, hidden) in &strings {
                if pattern_matches(pattern, s) == Some(false) {
                    return Err(problem(
                        format!("{element}{} does not match the pattern {pattern}", quote(s, hidden)),
                        "does not match the pattern",
                    ));
                }
            }
        }
        Ok(value)
    }
}

/// What is wrong with a value: the message, and the label under it in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueProblem {
    pub message: String,
    pub label: String,
}

fn problem(message: impl Into<String>, label: impl Into<String>) -> ValueProblem {
    ValueProblem { message: message.into(), label: label.into() }
}
