//! Decoding parsed files into the typed [`Module`]: the top-level blocks, their labels and
//! attributes, meta-arguments, duplicates. Schema checks of resource bodies are in `check.rs`.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, Body, Structure};
use hcl_edit::Span;

use super::eval::{eval, Env};
use super::model::*;
use super::suggest::did_you_mean;
use super::syntax::ParsedFile;
use super::types::parse_type;
use super::{Value, META_ARGUMENTS, TOP_LEVEL_BLOCKS};
use crate::addr::{ConfigAddress, InstanceKey, Mode, ResourceAddress};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile};

/// Decodes every file into one module, collecting every problem.
/// Files are taken one at a time, so a caller that parses lazily keeps only one syntax tree in
/// memory (10,000 blocks of syntax tree weigh several times their decoded form).
pub fn decode(files: impl IntoIterator<Item = ParsedFile>, base_dir: &Path, diags: &mut Diagnostics) -> Module {
    let mut d = Decoder { module: Module::default(), diags, base_dir };
    for f in files {
        d.file(f);
    }
    d.module
}

struct Decoder<'a> {
    module: Module,
    diags: &'a mut Diagnostics,
    base_dir: &'a Path,
}

fn span_of(e: &impl Span) -> Range<usize> {
    e.span().unwrap_or(0..0)
}

/// `resource "vm" "web"`: from the block name to the end of its last label.
fn header_span(block: &Block) -> Range<usize> {
    let start = span_of(&block.ident).start;
    let end = block.labels.last().map(|l| span_of(l).end).unwrap_or_else(|| span_of(&block.ident).end);
    start..end.max(start)
}

fn err(file: &Arc<SourceFile>, span: Range<usize>, code: &str, message: String, label: &str) -> Diagnostic {
    Diagnostic::error(message).with_code(format!("pmx::config::{code}")).at(file, span, label)
}

/// What an unknown name in a body was written as.
#[derive(Clone, Copy, PartialEq)]
enum Unknown {
    Attribute,
    Block,
}

/// An unknown attribute or block in `kind`: when it is the other one (`cpu = ...` for the
/// block), the help says how to write it; otherwise "did you mean" among its own sort.
fn unknown(
    file: &Arc<SourceFile>,
    span: Range<usize>,
    kind: &str,
    name: &str,
    written_as: Unknown,
    attrs: &[&str],
    blocks: &[&str],
) -> Diagnostic {
    let (code, what, label, own, other, help) = match written_as {
        Unknown::Attribute => (
            "unknown_attribute",
            "attribute",
            format!("not an attribute of {kind}"),
            attrs,
            blocks,
            format!("{name} is a block: write {name} {{ ... }}"),
        ),
        Unknown::Block => (
            "unknown_block",
            "block",
            format!("not a block of {kind}"),
            blocks,
            attrs,
            format!("{name} is an attribute: write {name} = ..."),
        ),
    };
    let d = err(file, span, code, format!("unknown {what} \"{name}\" in {kind}"), &label);
    if other.contains(&name) {
        return d.with_help(help);
    }
    match did_you_mean(name, own.iter().copied()) {
        Some(h) => d.with_help(h),
        None => d,
    }
}

impl Decoder<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn file(&mut self, f: ParsedFile) {
        let file = f.source;
        for structure in f.body.into_iter() {
            match structure {
                Structure::Attribute(a) => {
                    let span = span_of(&a.key);
                    let mut d = err(
                        &file,
                        span,
                        "unexpected_attribute",
                        format!("unexpected attribute \"{}\" at the top level", a.key.as_str()),
                        "only blocks belong here",
                    );
                    d = d.with_help("put it inside a block, e.g. locals { ... } or variable \"...\" { default = ... }");
                    self.push(d);
                }
                Structure::Block(b) => self.top_block(&file, b),
            }
        }
    }

    /// Checks the label count; returns the labels when right.
    fn labels(&mut self, file: &Arc<SourceFile>, b: &Block, names: &[&str]) -> Option<Vec<(String, Range<usize>)>> {
        let labels: Vec<(String, Range<usize>)> =
            b.labels.iter().map(|l| (l.as_str().to_string(), span_of(l))).collect();
        if labels.len() == names.len() {
            return Some(labels);
        }
        let kind = b.ident.as_str();
        let expected = if names.is_empty() {
            format!("{kind} {{ ... }} takes no labels")
        } else {
            format!(
                "{kind} takes {} label{}: {kind} {} {{ ... }}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(" ")
            )
        };
        self.push(err(
            file,
            header_span(b),
            "labels",
            format!("wrong number of labels on {kind} block: {} given", labels.len()),
            &expected,
        ));
        None
    }

    fn top_block(&mut self, file: &Arc<SourceFile>, b: Block) {
        let kind = b.ident.as_str().to_string();
        match kind.as_str() {
            "pmx" => self.settings(file, b),
            "provider" => self.provider(file, b),
            "variable" => self.variable(file, b),
            "locals" => self.locals(file, b),
            "output" => self.output(file, b),
            "resource" => self.resource(file, b, Mode::Managed),
            "data" => self.resource(file, b, Mode::Data),
            "import" => self.import(file, b),
            "moved" => self.moved(file, b),
            "removed" => self.removed(file, b),
            other => {
                let mut d = err(
                    file,
                    span_of(&b.ident),
                    "unknown_block",
                    format!("unknown block type \"{other}\""),
                    "not a top-level block",
                );
                d = d.with_help(match did_you_mean(other, TOP_LEVEL_BLOCKS.iter().copied()) {
                    Some(h) => h,
                    None => format!("top-level blocks are: {}", TOP_LEVEL_BLOCKS.join(", ")),
                });
                self.push(d);
            }
        }
    }

    /// Splits a body into attributes and blocks, reporting anything not in the allowed lists
    /// and attributes given twice.
    fn split(
        &mut self,
        file: &Arc<SourceFile>,
        kind: &str,
        body: Body,
        attrs: &[&str],
        blocks: &[&str],
    ) -> (Vec<Attribute>, Vec<Block>) {
        let mut out_attrs: Vec<Attribute> = Vec::new();
        let mut out_blocks = Vec::new();
        for s in body.into_iter() {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.as_str();
                    if !attrs.contains(&name) {
                        let d = unknown(file, span_of(&a.key), kind, name, Unknown::Attribute, attrs, blocks);
                        self.push(d);
                    } else if let Some(first) = out_attrs.iter().find(|x| x.key.as_str() == name) {
                        let first_span = span_of(&first.key);
                        self.push(duplicate_attribute(file, name, span_of(&a.key), first_span));
                    } else {
                        out_attrs.push(a);
                    }
                }
                Structure::Block(b) => {
                    let name = b.ident.as_str();
                    if !blocks.contains(&name) {
                        let d = unknown(file, span_of(&b.ident), kind, name, Unknown::Block, attrs, blocks);
                        self.push(d);
                    } else {
                        out_blocks.push(b);
                    }
                }
            }
        }
        (out_attrs, out_blocks)
    }

    /// Evaluates an expression that may not refer to anything (settings, flags).
    fn literal(&mut self, file: &Arc<SourceFile>, a: &Attribute) -> Option<Value> {
        let expr = Expr::new(a.value.clone(), file);
        match eval(&expr, &Env::empty(self.base_dir)) {
            Ok(v) => Some(v),
            Err(mut d) => {
                d.message = format!("{} (\"{}\" must be a literal value here)", d.message, a.key.as_str());
                self.push(*d);
                None
            }
        }
    }

    fn literal_string(&mut self, file: &Arc<SourceFile>, a: &Attribute) -> Option<String> {
        match self.literal(file, a)?.unmark().0 {
            Value::String(s) => Some(s),
            other => {
                self.push(wrong_type(file, a, "string", &other));
                None
            }
        }
    }

    fn literal_bool(&mut self, file: &Arc<SourceFile>, a: &Attribute) -> Option<bool> {
        match self.literal(file, a)?.unmark().0 {
            Value::Bool(b) => Some(b),
            Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            other => {
                self.push(wrong_type(file, a, "bool", &other));
                None
            }
        }
    }

    fn settings(&mut self, file: &Arc<SourceFile>, b: Block) {
        if self.labels(file, &b, &[]).is_none() {
            return;
        }
        if let Some(prev) = &self.module.settings.location {
            self.push(duplicate(file, "pmx block", header_span(&b), prev));
            return;
        }
        let header = header_span(&b);
        let (attrs, blocks) = self.split(file, "pmx", b.body, &["required_version"], &["state"]);
        let mut settings = Settings { location: Some(Location::new(file, header)), ..Settings::default() };
        for a in &attrs {
            settings.required_version = self.literal_string(file, a);
        }
        for sb in blocks {
            if self.labels(file, &sb, &[]).is_none() {
                continue;
            }
            if settings.state.is_some() {
                self.push(err(file, header_span(&sb), "duplicate", "more than one state block".into(), "again here"));
                continue;
            }
            let loc = Location::new(file, header_span(&sb));
            let (attrs, _) = self.split(file, "state", sb.body, &["url", "workspace"], &[]);
            let mut state = StateSettings { location: Some(loc), ..StateSettings::default() };
            for a in &attrs {
                let v = self.literal_string(file, a);
                match a.key.as_str() {
                    "url" => state.url = v,
                    _ => state.workspace = v,
                }
            }
            settings.state = Some(state);
        }
        self.module.settings = settings;
    }

    fn provider(&mut self, file: &Arc<SourceFile>, b: Block) {
        let Some(labels) = self.labels(file, &b, &["proxmox"]) else { return };
        let (name, name_span) = &labels[0];
        if name != "proxmox" {
            let mut d = err(
                file,
                name_span.clone(),
                "unknown_provider",
                format!("unknown provider \"{name}\""),
                "pmx speaks to Proxmox VE only",
            );
            d = d.with_help("write provider \"proxmox\" { ... } (use alias = \"...\" for several clusters)");
            self.push(d);
            return;
        }
        let location = Location::new(file, header_span(&b));
        let (attrs, _) = self.split(file, "provider \"proxmox\"", b.body, super::model::PROVIDER_ATTRIBUTES, &[]);
        let mut provider = ProviderBlock { name: name.clone(), alias: None, attributes: Default::default(), location };
        for a in attrs {
            if a.key.as_str() == "alias" {
                provider.alias = self.literal_string(file, &a);
                continue;
            }
            let key_span = span_of(&a.key);
            let name = a.key.as_str().to_string();
            provider.attributes.insert(name.clone(), AttrDef { name, expr: Expr::new(a.value, file), key_span });
        }
        let key = provider.key();
        if let Some(prev) = self.module.providers.get(&key) {
            let mut d =
                duplicate(file, &format!("provider {key}"), header_span_loc(&provider.location), &prev.location);
            d = d.with_help("give the second one an alias: alias = \"dc2\", and use provider = proxmox.dc2");
            self.push(d);
            return;
        }
        self.module.providers.insert(key, provider);
    }

    fn variable(&mut self, file: &Arc<SourceFile>, b: Block) {
        let Some(labels) = self.labels(file, &b, &["name"]) else { return };
        let (name, name_span) = labels[0].clone();
        let location = Location::new(file, name_span.clone());
        if let Some(prev) = self.module.variables.get(&name) {
            let loc = prev.location.clone();
            self.push(duplicate(file, &format!("variable \"{name}\""), name_span, &loc));
            return;
        }
        if is_reserved_variable_name(&name) {
            self.push(err(
                file,
                name_span.clone(),
                "reserved_name",
                format!("\"{name}\" is reserved and cannot be a variable name"),
                "reserved",
            ));
        }
        let (attrs, blocks) = self.split(
            file,
            &format!("variable \"{name}\""),
            b.body,
            &["type", "default", "description", "sensitive", "nullable"],
            &["validation"],
        );
        let mut var = VariableBlock {
            name: name.clone(),
            ty: super::types::TypeConstraint::Any,
            default: None,
            description: None,
            sensitive: false,
            nullable: true,
            validations: Vec::new(),
            location,
        };
        for a in attrs {
            match a.key.as_str() {
                "type" => match parse_type(&a.value) {
                    Ok(t) => var.ty = t,
                    Err(m) => {
                        self.push(err(file, span_of(&a.value), "type", format!("invalid type: {m}"), "not a type"))
                    }
                },
                "default" => var.default = Some(Expr::new(a.value, file)),
                "description" => var.description = self.literal_string(file, &a),
                "sensitive" => var.sensitive = self.literal_bool(file, &a).unwrap_or(false),
                _ => var.nullable = self.literal_bool(file, &a).unwrap_or(true),
            }
        }
        for vb in blocks {
            if self.labels(file, &vb, &[]).is_none() {
                continue;
            }
            let header = header_span(&vb);
            let (attrs, _) = self.split(file, "validation", vb.body, &["condition", "error_message"], &[]);
            let mut condition = None;
            let mut message = None;
            for a in attrs {
                let e = Expr::new(a.value, file);
                if a.key.as_str() == "condition" {
                    condition = Some(e);
                } else {
                    message = Some(e);
                }
            }
            match (condition, message) {
                (Some(condition), Some(error_message)) => var.validations.push(Validation { condition, error_message }),
                (c, _) => {
                    let missing = if c.is_none() { "condition" } else { "error_message" };
                    self.push(missing_attr(file, header, missing, "validation"));
                }
            }
        }
        self.module.variables.insert(name, var);
    }

    fn locals(&mut self, file: &Arc<SourceFile>, b: Block) {
        if self.labels(file, &b, &[]).is_none() {
            return;
        }
        for s in b.body.into_iter() {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.as_str().to_string();
                    let span = span_of(&a.key);
                    if let Some(prev) = self.module.locals.get(&name) {
                        let loc = prev.location.clone();
                        self.push(duplicate(file, &format!("local.{name}"), span, &loc));
                        continue;
                    }
                    let location = Location::new(file, span);
                    self.module
                        .locals
                        .insert(name.clone(), LocalDef { name, expr: Expr::new(a.value, file), location });
                }
                Structure::Block(nb) => self.push(err(
                    file,
                    span_of(&nb.ident),
                    "unknown_block",
                    format!("unexpected block \"{}\" in locals", nb.ident.as_str()),
                    "locals holds only attributes",
                )),
            }
        }
    }

    fn output(&mut self, file: &Arc<SourceFile>, b: Block) {
        let Some(labels) = self.labels(file, &b, &["name"]) else { return };
        let (name, name_span) = labels[0].clone();
        if let Some(prev) = self.module.outputs.get(&name) {
            let loc = prev.location.clone();
            self.push(duplicate(file, &format!("output \"{name}\""), name_span, &loc));
            return;
        }
        let header = header_span(&b);
        let (attrs, _) = self.split(
            file,
            &format!("output \"{name}\""),
            b.body,
            &["value", "sensitive", "description", "depends_on"],
            &[],
        );
        let mut value = None;
        let mut out_sensitive = false;
        let mut description = None;
        let mut depends_on = Vec::new();
        for a in attrs {
            match a.key.as_str() {
                "value" => value = Some(Expr::new(a.value, file)),
                "sensitive" => out_sensitive = self.literal_bool(file, &a).unwrap_or(false),
                "description" => description = self.literal_string(file, &a),
                _ => depends_on = self.depends_on(file, &a),
            }
        }
        let Some(value) = value else {
            self.push(missing_attr(file, header, "value", &format!("output \"{name}\"")));
            return;
        };
        let location = Location::new(file, name_span);
        self.module.outputs.insert(
            name.clone(),
            OutputBlock { name, value, sensitive: out_sensitive, description, depends_on, location },
        );
    }

    /// `depends_on = [vm.web, data.template.x]`: static references to whole resources.
    fn depends_on(&mut self, file: &Arc<SourceFile>, a: &Attribute) -> Vec<DependsOn> {
        let Expression::Array(items) = &a.value else {
            self.push(err(
                file,
                span_of(&a.value),
                "depends_on",
                "depends_on must be a list of resources".into(),
                "not a list",
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let span = span_of(item);
            let text = file.text.get(span.clone()).unwrap_or("").trim();
            match text.parse::<ResourceAddress>() {
                Ok(addr) if addr.key == InstanceKey::None => {
                    out.push(DependsOn { target: addr.config, location: Location::new(file, span) })
                }
                _ => self.push(
                    err(
                        file,
                        span,
                        "depends_on",
                        format!("depends_on entries must name a resource, not {text:?}"),
                        "not a resource",
                    )
                    .with_help("write TYPE.NAME or data.TYPE.NAME, e.g. depends_on = [pool.web]"),
                ),
            }
        }
        out
    }

    fn resource(&mut self, file: &Arc<SourceFile>, b: Block, mode: Mode) {
        let Some(labels) = self.labels(file, &b, &["type", "name"]) else { return };
        let (type_name, type_span) = labels[0].clone();
        let (name, name_span) = labels[1].clone();
        let kw = if mode == Mode::Data { "data" } else { "resource" };
        for (label, span) in [(&type_name, &type_span), (&name, &name_span)] {
            if !is_identifier(label) {
                self.push(
                    err(
                        file,
                        span.clone(),
                        "invalid_name",
                        format!("invalid {kw} label {label:?}"),
                        "not an identifier",
                    )
                    .with_help("use letters, digits, '_' and '-', starting with a letter or '_'"),
                );
                return;
            }
        }
        let addr = ConfigAddress { mode, type_name: type_name.clone(), name: name.clone() };
        let location = Location::new(file, header_span(&b));
        if let Some(prev) = self.module.resources.get(&addr) {
            let loc = prev.location.clone();
            self.push(
                duplicate(file, &addr.to_string(), header_span(&b), &loc).with_code("pmx::config::duplicate_address"),
            );
            return;
        }
        let mut res = ResourceBlock {
            addr: addr.clone(),
            count: None,
            for_each: None,
            depends_on: Vec::new(),
            provider: None,
            lifecycle: Lifecycle::default(),
            body: BodyDef::default(),
            location,
        };
        for s in b.body.into_iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.as_str().to_string();
                    let key_span = span_of(&a.key);
                    match key.as_str() {
                        "count" => res.count = Some(Expr::new(a.value, file)),
                        "for_each" => res.for_each = Some(Expr::new(a.value, file)),
                        "depends_on" => res.depends_on = self.depends_on(file, &a),
                        "provider" => res.provider = self.provider_ref(file, &a),
                        _ => {
                            if let Some(first) = res.body.attributes.get(&key) {
                                let first_span = first.key_span.clone();
                                self.push(duplicate_attribute(file, &key, key_span, first_span));
                                continue;
                            }
                            res.body
                                .attributes
                                .insert(key.clone(), AttrDef { name: key, expr: Expr::new(a.value, file), key_span });
                        }
                    }
                }
                Structure::Block(nb) if nb.ident.as_str() == "lifecycle" && mode == Mode::Managed => {
                    if self.labels(file, &nb, &[]).is_some() {
                        res.lifecycle = self.lifecycle(file, nb);
                    }
                }
                Structure::Block(nb) => {
                    let def = nested_block(file, nb);
                    res.body.blocks.push(def);
                }
            }
        }
        if let (Some(_), Some(fe)) = (&res.count, &res.for_each) {
            self.push(
                err(
                    file,
                    fe.span(),
                    "count_and_for_each",
                    format!("{addr} sets both count and for_each"),
                    "for_each here",
                )
                .with_help("use one of them"),
            );
        }
        self.module.resources.insert(addr, res);
    }

    fn provider_ref(&mut self, file: &Arc<SourceFile>, a: &Attribute) -> Option<(String, Location)> {
        let span = span_of(&a.value);
        let text = file.text.get(span.clone()).unwrap_or("").trim().to_string();
        let ok = text == "proxmox" || text.strip_prefix("proxmox.").is_some_and(is_identifier);
        if ok {
            Some((text, Location::new(file, span)))
        } else {
            self.push(
                err(file, span, "provider_ref", format!("invalid provider reference {text:?}"), "not a provider")
                    .with_help("write provider = proxmox.ALIAS (no quotes)"),
            );
            None
        }
    }

    fn lifecycle(&mut self, file: &Arc<SourceFile>, b: Block) -> Lifecycle {
        let (attrs, _) = self.split(
            file,
            "lifecycle",
            b.body,
            &["prevent_destroy", "create_before_destroy", "ignore_changes", "preflight_ignore", "max_disruptions"],
            &[],
        );
        let mut l = Lifecycle::default();
        for a in attrs {
            match a.key.as_str() {
                "prevent_destroy" => l.prevent_destroy = self.literal_bool(file, &a).unwrap_or(false),
                "create_before_destroy" => l.create_before_destroy = self.literal_bool(file, &a).unwrap_or(false),
                "preflight_ignore" => l.preflight_ignore = self.preflight_ignore(file, &a),
                "max_disruptions" => match self.literal(file, &a).map(|v| v.unmark().0) {
                    Some(Value::Number(n)) if n.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&n) => {
                        l.max_disruptions = Some(n as u32);
                    }
                    Some(_) => self.push(err(
                        file,
                        span_of(&a.value),
                        "max_disruptions",
                        "max_disruptions must be a whole number of at least 1".into(),
                        "not a count",
                    )),
                    None => {}
                },
                _ => match &a.value {
                    Expression::Variable(v) if v.as_str() == "all" => l.ignore_all_changes = true,
                    Expression::Array(items) => {
                        for item in items.iter() {
                            let span = span_of(item);
                            let text = file.text.get(span.clone()).unwrap_or("").trim().trim_matches('"');
                            if text.is_empty() || text.contains(char::is_whitespace) {
                                self.push(err(
                                    file,
                                    span,
                                    "ignore_changes",
                                    "ignore_changes entries must be attribute names".into(),
                                    "not an attribute name",
                                ));
                            } else {
                                l.ignore_changes.push(text.to_string());
                                l.ignore_changes_at.push(Location::new(file, span));
                            }
                        }
                    }
                    other => self.push(err(
                        file,
                        span_of(other),
                        "ignore_changes",
                        "ignore_changes must be a list of attribute names, or all".into(),
                        "not a list",
                    )),
                },
            }
        }
        l
    }

    /// `preflight_ignore = ["capacity", "bridge"]`: names of pre-flight checks, or `"all"`.
    fn preflight_ignore(&mut self, file: &Arc<SourceFile>, a: &Attribute) -> Vec<String> {
        let Expression::Array(items) = &a.value else {
            self.push(err(
                file,
                span_of(&a.value),
                "preflight_ignore",
                "preflight_ignore must be a list of check names".into(),
                "not a list",
            ));
            return vec![];
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let span = span_of(item);
            let name = file.text.get(span.clone()).unwrap_or("").trim().trim_matches('"').to_string();
            if crate::preflight::is_check(&name) {
                out.push(name);
                continue;
            }
            let names: Vec<&str> = crate::preflight::CHECKS.iter().map(|(n, _)| *n).collect();
            let mut d =
                err(file, span, "preflight_ignore", format!("{name:?} is not a pre-flight check"), "unknown check");
            d = d.with_help(
                crate::config::suggest::did_you_mean(&name, names.iter().copied())
                    .unwrap_or_else(|| format!("the checks: {}, or all", names.join(", "))),
            );
            self.push(d);
        }
        out
    }

    fn import(&mut self, file: &Arc<SourceFile>, b: Block) {
        if self.labels(file, &b, &[]).is_none() {
            return;
        }
        let header = header_span(&b);
        let (attrs, _) = self.split(file, "import", b.body, &["to", "id"], &[]);
        let mut to = None;
        let mut to_written = false;
        let mut to_at = Location::new(file, header.clone());
        let mut id = None;
        for a in attrs {
            if a.key.as_str() == "to" {
                to_written = true;
                to_at = Location::new(file, span_of(&a.value));
                to = self.static_address(file, &a);
            } else {
                id = Some(Expr::new(a.value, file));
            }
        }
        if !to_written {
            self.push(missing_attr(file, header.clone(), "to", "import"));
        }
        match (to, id) {
            (Some(to), Some(id)) => {
                self.module.imports.push(ImportBlock { to, id, location: Location::new(file, header), to_at })
            }
            (_, None) => self.push(missing_attr(file, header, "id", "import")),
            // A bad `to` was reported where it is written.
            (None, Some(_)) => {}
        }
    }

    fn moved(&mut self, file: &Arc<SourceFile>, b: Block) {
        if self.labels(file, &b, &[]).is_none() {
            return;
        }
        let header = header_span(&b);
        let (attrs, _) = self.split(file, "moved", b.body, &["from", "to"], &[]);
        let mut from = None;
        let mut to = None;
        let mut from_at = Location::new(file, header.clone());
        let mut to_at = Location::new(file, header.clone());
        let mut seen = Vec::new();
        for a in attrs {
            seen.push(a.key.as_str().to_string());
            let addr = self.static_address(file, &a);
            let at = Location::new(file, span_of(&a.value));
            if a.key.as_str() == "from" {
                from = addr;
                from_at = at;
            } else {
                to = addr;
                to_at = at;
            }
        }
        match (from, to) {
            (Some(from), Some(to)) => {
                self.module.moved.push(MovedBlock { from, to, location: Location::new(file, header), from_at, to_at })
            }
            _ => {
                for required in ["from", "to"] {
                    if !seen.iter().any(|s| s == required) {
                        self.push(missing_attr(file, header.clone(), required, "moved"));
                    }
                }
            }
        }
    }

    fn removed(&mut self, file: &Arc<SourceFile>, b: Block) {
        if self.labels(file, &b, &[]).is_none() {
            return;
        }
        let header = header_span(&b);
        let (attrs, blocks) = self.split(file, "removed", b.body, &["from"], &["lifecycle"]);
        let mut from = None;
        let mut from_at = Location::new(file, header.clone());
        for a in attrs {
            from = self.static_address(file, &a);
            from_at = Location::new(file, span_of(&a.value));
        }
        let mut destroy = true;
        for lb in blocks {
            let (la, _) = self.split(file, "removed lifecycle", lb.body, &["destroy"], &[]);
            for a in la {
                let span = span_of(&a.value);
                match file.text.get(span.clone()).unwrap_or("").trim() {
                    "true" => destroy = true,
                    "false" => destroy = false,
                    _ => self.push(err(
                        file,
                        span,
                        "wrong_type",
                        "destroy must be true or false".to_string(),
                        "not a bool",
                    )),
                }
            }
        }
        match from {
            Some(from) => {
                self.module.removed.push(RemovedBlock { from, destroy, location: Location::new(file, header), from_at })
            }
            None => self.push(missing_attr(file, header, "from", "removed")),
        }
    }

    fn static_address(&mut self, file: &Arc<SourceFile>, a: &Attribute) -> Option<ResourceAddress> {
        let span = span_of(&a.value);
        let text = file.text.get(span.clone()).unwrap_or("").trim();
        match text.parse::<ResourceAddress>() {
            Ok(addr) => Some(addr),
            Err(e) => {
                self.push(
                    err(file, span, "address", format!("{} is not a resource address", a.key.as_str()), e.reason)
                        .with_help("write it without quotes: vm.web, vm.web[0] or vm.db[\"a\"]"),
                );
                None
            }
        }
    }
}

fn header_span_loc(l: &Location) -> Range<usize> {
    l.span.clone()
}

/// A nested block inside a resource body, kept as written; `check.rs` validates it.
fn nested_block(file: &Arc<SourceFile>, b: Block) -> BlockDef {
    let header = header_span(&b);
    let label = b.labels.first().map(|l| (l.as_str().to_string(), span_of(l)));
    let name = b.ident.as_str().to_string();
    let mut body = BodyDef::default();
    let extra_labels = b.labels.len() > 1;
    for s in b.body.into_iter() {
        match s {
            Structure::Attribute(a) => {
                let key = a.key.as_str().to_string();
                let key_span = span_of(&a.key);
                // Duplicates inside nested blocks are reported by the schema check.
                body.attributes.entry(key.clone()).or_insert(AttrDef {
                    name: key,
                    expr: Expr::new(a.value, file),
                    key_span,
                });
            }
            Structure::Block(nb) => body.blocks.push(nested_block(file, nb)),
        }
    }
    let mut def = BlockDef { name, label, body, location: Location::new(file, header) };
    if extra_labels {
        // Keep only the first label; the schema check reports the header.
        def.label = def.label.map(|(l, s)| (l, s.start..def.location.span.end));
    }
    def
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_reserved_variable_name(name: &str) -> bool {
    META_ARGUMENTS.contains(&name) || matches!(name, "source" | "version" | "providers" | "locals")
}

fn wrong_type(file: &Arc<SourceFile>, a: &Attribute, expected: &str, got: &Value) -> Diagnostic {
    err(
        file,
        span_of(&a.value),
        "wrong_type",
        format!("\"{}\" must be a {expected}, not a {}", a.key.as_str(), got.type_name()),
        &format!("expected a {expected}"),
    )
}

fn missing_attr(file: &Arc<SourceFile>, span: Range<usize>, name: &str, kind: &str) -> Diagnostic {
    err(
        file,
        span,
        "missing_attribute",
        format!("missing required attribute \"{name}\" in {kind}"),
        &format!("{name} must be set here"),
    )
}

fn duplicate(file: &Arc<SourceFile>, what: &str, span: Range<usize>, first: &Location) -> Diagnostic {
    err(file, span, "duplicate", format!("{what} is declared twice"), "declared again here").with_related(
        Diagnostic::error(format!("{what} first declared here")).at(
            &first.file,
            first.span.clone(),
            "first declaration",
        ),
    )
}

fn duplicate_attribute(file: &Arc<SourceFile>, name: &str, span: Range<usize>, first: Range<usize>) -> Diagnostic {
    err(file, span, "duplicate_attribute", format!("attribute \"{name}\" is set twice"), "set again here")
        .with_related(Diagnostic::error(format!("\"{name}\" first set here")).at(file, first, "first set here"))
}
