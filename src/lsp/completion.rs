//! Completion: block types and labels, the attributes and nested blocks of each schema type
//! (with type, default and description), allowed values, free slot labels, references
//! (`var.`, `local.`, `pool.`, `data.template.`, `vm.web.`) and function names.

use std::sync::OnceLock;

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, InsertTextFormat, MarkupContent, MarkupKind,
    TextEdit,
};
use regex::Regex;

use super::index::{Folder, Symbol};
use super::lexer::{lex, Kind};
use super::outline::{Attribute, Block};
use super::position::{Encoding, LineIndex};
use super::scope::{self, AttrInfo, LangAttr, Scope};
use crate::schema::{self, Nesting, Presence, ResourceType, ValueType};

/// What the client accepts.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub snippets: bool,
    pub encoding: Encoding,
}

/// One completion to offer: what it is and what replaces `range`.
struct Item {
    label: String,
    kind: CompletionItemKind,
    detail: Option<String>,
    doc: Option<String>,
    insert: String,
    /// The same with snippet placeholders, when it has any.
    snippet: Option<String>,
    sort: u8,
}

impl Item {
    fn new(label: impl Into<String>, kind: CompletionItemKind) -> Item {
        let label = label.into();
        Item { insert: label.clone(), label, kind, detail: None, doc: None, snippet: None, sort: 5 }
    }
    fn detail(mut self, d: impl Into<String>) -> Item {
        self.detail = Some(d.into());
        self
    }
    fn doc(mut self, d: impl Into<String>) -> Item {
        let d = d.into();
        if !d.is_empty() {
            self.doc = Some(d);
        }
        self
    }
    fn insert(mut self, plain: impl Into<String>, snippet: impl Into<String>) -> Item {
        self.insert = plain.into();
        self.snippet = Some(snippet.into());
        self
    }
    fn sort(mut self, s: u8) -> Item {
        self.sort = s;
        self
    }
}

/// The completions at `offset` of file `file`.
pub fn complete(folder: &Folder, file: usize, offset: usize, options: Options) -> Vec<CompletionItem> {
    let Some(source) = folder.files.get(file) else { return Vec::new() };
    let text = source.text.as_str();
    let offset = offset.min(text.len());
    let outline = &source.outline;
    let path = outline.blocks_at(offset);
    let scope = scope::scope_of(&path);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..offset];

    let (items, replace) = if let Some((ident, labels, partial)) = label_context(line) {
        (label_items(scope, path.last().copied(), &ident, labels), offset - partial.len()..offset)
    } else if let Some(attr) = outline.attribute_value_at(offset).filter(|a| offset >= a.value.start) {
        let info = scope::attribute(scope, &attr.name.text);
        match string_literal_start(text, offset) {
            Some(start) => (string_items(info), start..offset),
            None => {
                let word_start = offset - text[..offset].bytes().rev().take_while(|c| is_ref_char(*c)).count();
                let word = &text[word_start..offset];
                let last = word.rsplit('.').next().unwrap_or("");
                (expression_items(folder, &path, attr, info, word), offset - last.len()..offset)
            }
        }
    } else {
        let ident_len = text[..offset].bytes().rev().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
        let before = text[line_start..offset - ident_len].trim_end_matches([' ', '\t']);
        if before.is_empty() || before.ends_with('{') || before.ends_with(',') {
            (key_items(scope, path.last().copied()), offset - ident_len..offset)
        } else {
            (Vec::new(), offset..offset)
        }
    };
    let index = LineIndex::new(text, options.encoding);
    let range = index.range(&replace);
    items.into_iter().map(|item| to_lsp(item, range, options.snippets)).collect()
}

fn to_lsp(item: Item, range: lsp_types::Range, snippets: bool) -> CompletionItem {
    let (new_text, format) = match (item.snippet, snippets) {
        (Some(s), true) => (s, InsertTextFormat::SNIPPET),
        _ => (item.insert, InsertTextFormat::PLAIN_TEXT),
    };
    CompletionItem {
        sort_text: Some(format!("{}{}", item.sort, item.label)),
        filter_text: Some(item.label.clone()),
        label: item.label,
        kind: Some(item.kind),
        detail: item.detail,
        documentation: item
            .doc
            .map(|value| Documentation::MarkupContent(MarkupContent { kind: MarkupKind::Markdown, value })),
        insert_text_format: Some(format),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
        ..Default::default()
    }
}

fn is_ref_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.'
}

/// In a block header, inside a label's quotes: the block type, how many labels come before,
/// and the label typed so far.
fn label_context(line: &str) -> Option<(String, usize, String)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"^\s*([A-Za-z_][A-Za-z0-9_-]*)((?:\s+"[^"]*")*)\s+"([^"]*)$"#).expect("valid regex")
    });
    let caps = re.captures(line)?;
    let labels = caps[2].matches('"').count() / 2;
    Some((caps[1].to_string(), labels, caps[3].to_string()))
}

/// Where the literal text of the string holding `offset` starts, if `offset` is inside one
/// (not inside an interpolation of it).
fn string_literal_start(text: &str, offset: usize) -> Option<usize> {
    let mut stack: Vec<Kind> = Vec::new();
    let mut literal_start = 0;
    for t in lex(text) {
        if t.span.start >= offset {
            break;
        }
        if t.span.end > offset {
            return (t.kind == Kind::StrText).then_some(t.span.start);
        }
        match t.kind {
            Kind::QuoteOpen | Kind::InterpOpen | Kind::DirectiveOpen | Kind::HeredocOpen => stack.push(t.kind),
            Kind::QuoteClose | Kind::InterpClose | Kind::HeredocClose => {
                stack.pop();
            }
            Kind::Newline => stack.retain(|k| *k == Kind::HeredocOpen),
            _ => {}
        }
        if matches!(t.kind, Kind::QuoteOpen | Kind::InterpClose) {
            literal_start = t.span.end;
        }
    }
    (stack.last() == Some(&Kind::QuoteOpen)).then_some(literal_start)
}

fn label_items(scope: Scope, block: Option<&Block>, ident: &str, labels: usize) -> Vec<Item> {
    let registry = schema::registry();
    let types = |list: &'static [ResourceType], kind| -> Vec<Item> {
        list.iter()
            .map(|rt| Item::new(rt.name, kind).detail(first_sentence(rt.description)).doc(rt.description))
            .collect()
    };
    match (scope, ident, labels) {
        (Scope::File, "resource", 0) => types(&registry.resources, CompletionItemKind::CLASS),
        (Scope::File, "data", 0) => types(&registry.data_sources, CompletionItemKind::STRUCT),
        (Scope::File, "provider", 0) => vec![Item::new("proxmox", CompletionItemKind::MODULE).detail("Proxmox VE")],
        (Scope::Resource(_) | Scope::Nested(..), _, 0) => {
            let Scope::Nested(_, nested) = scope::child(scope, ident) else { return Vec::new() };
            let Nesting::Slotted { slot_pattern, .. } = &nested.nesting else { return Vec::new() };
            let used: Vec<&str> = block
                .map(|b| b.blocks.iter().flat_map(|b| b.labels.first()).map(|l| l.text.as_str()).collect())
                .unwrap_or_default();
            free_slots(slot_pattern, nested.pve_param.unwrap_or(""), &used)
                .into_iter()
                .enumerate()
                .map(|(i, slot)| {
                    Item::new(slot, CompletionItemKind::ENUM_MEMBER)
                        .detail(format!("a free {} slot", nested.name))
                        .sort(i.min(9) as u8)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The lowest free slot of each kind a slotted block's label may name (`scsi1`, `virtio0`...).
pub fn free_slots(pattern: &'static str, params: &str, used: &[&str]) -> Vec<String> {
    params
        .split('|')
        .filter_map(|p| p.strip_suffix("[n]"))
        .filter_map(|prefix| {
            (0..=255)
                .map(|n| format!("{prefix}{n}"))
                .find(|slot| !used.contains(&slot.as_str()) && schema::pattern_matches(pattern, slot) == Some(true))
        })
        .collect()
}

fn string_items(info: Option<AttrInfo>) -> Vec<Item> {
    let Some(AttrInfo::Schema(_, a)) = info else { return Vec::new() };
    let default = a.default.as_ref().and_then(|d| d.as_str());
    a.one_of
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, v)| {
            let item = Item::new(*v, CompletionItemKind::ENUM_MEMBER).sort(if Some(*v) == default { 0 } else { 1 });
            if Some(*v) == default {
                item.detail("default")
            } else {
                item.sort(1 + (i.min(8) as u8))
            }
        })
        .collect()
}

fn expression_items(
    folder: &Folder,
    path: &[&Block],
    attr: &Attribute,
    info: Option<AttrInfo>,
    word: &str,
) -> Vec<Item> {
    let segments: Vec<&str> = word.split('.').collect();
    let registry = schema::registry();
    let declared = folder.declarations();
    let resources_of = |mode_data: bool, type_name: &str| -> Vec<Item> {
        declared
            .iter()
            .filter_map(|d| match &d.symbol {
                Symbol::Resource(a) if (a.mode == crate::addr::Mode::Data) == mode_data && a.type_name == type_name => {
                    Some(Item::new(&a.name, CompletionItemKind::VARIABLE).detail(a.to_string()))
                }
                _ => None,
            })
            .collect()
    };
    let attributes_of = |rt: &ResourceType| -> Vec<Item> {
        rt.attributes
            .iter()
            .map(|a| {
                Item::new(a.name, CompletionItemKind::FIELD)
                    .detail(format!("{} ({})", a.ty, a.presence))
                    .doc(a.description)
            })
            .collect()
    };
    match segments.as_slice() {
        [_] => bare_items(path, info, registry),
        ["var", _] => declared
            .iter()
            .filter_map(|d| match &d.symbol {
                Symbol::Variable(n) => {
                    let source = &folder.files[d.file];
                    let attr_text = |name: &str| {
                        d.block
                            .attributes
                            .iter()
                            .find(|a| a.name.text == name)
                            .map(|a| source.text[a.value.clone()].trim())
                    };
                    let mut detail = attr_text("type").unwrap_or("any").to_string();
                    if let Some(default) = attr_text("default") {
                        detail.push_str(&format!(" = {}", shorten(default)));
                    }
                    let doc = attr_text("description").map(|t| t.trim_matches('"').to_string()).unwrap_or_default();
                    Some(Item::new(n, CompletionItemKind::VARIABLE).detail(detail).doc(doc))
                }
                _ => None,
            })
            .collect(),
        ["local", _] => declared
            .iter()
            .filter_map(|d| match (&d.symbol, &d.value) {
                (Symbol::Local(n), Some(v)) if n != &attr.name.text || !in_locals(path) => {
                    let text = folder.files[d.file].text[v.clone()].trim();
                    Some(Item::new(n, CompletionItemKind::CONSTANT).detail(shorten(text)))
                }
                _ => None,
            })
            .collect(),
        ["data", _] => registry
            .data_sources
            .iter()
            .map(|rt| Item::new(rt.name, CompletionItemKind::STRUCT).detail(first_sentence(rt.description)))
            .collect(),
        ["data", t, _] => resources_of(true, t),
        ["data", t, _, _] => registry.data_source(t).map(attributes_of).unwrap_or_default(),
        ["count", _] => vec![Item::new("index", CompletionItemKind::PROPERTY).detail("this instance's number")],
        ["each", _] => vec![
            Item::new("key", CompletionItemKind::PROPERTY).detail("this instance's key"),
            Item::new("value", CompletionItemKind::PROPERTY).detail("this instance's value"),
        ],
        ["path", _] => ["module", "root", "cwd"].iter().map(|p| Item::new(*p, CompletionItemKind::PROPERTY)).collect(),
        ["proxmox", _] => folder
            .files
            .iter()
            .flat_map(|f| f.outline.blocks.iter().filter(|b| b.ident.text == "provider").map(move |b| (f, b)))
            .filter_map(|(f, b)| b.attributes.iter().find(|a| a.name.text == "alias").map(|a| (f, a)))
            .map(|(f, a)| {
                Item::new(f.text[a.value.clone()].trim().trim_matches('"'), CompletionItemKind::MODULE)
                    .detail("provider alias")
            })
            .collect(),
        [t, _] if registry.resource(t).is_some() => resources_of(false, t),
        [t, _, _] => registry.resource(t).map(attributes_of).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn in_locals(path: &[&Block]) -> bool {
    path.first().is_some_and(|b| b.ident.text == "locals")
}

/// A value's first word: allowed values, literals, reference roots and functions.
fn bare_items(path: &[&Block], info: Option<AttrInfo>, registry: &schema::Registry) -> Vec<Item> {
    let mut items = Vec::new();
    if let Some(AttrInfo::Schema(_, a)) = info {
        for v in a.one_of.iter().flatten() {
            let quoted = format!("\"{v}\"");
            items.push(Item::new(quoted, CompletionItemKind::ENUM_MEMBER).sort(0));
        }
        if a.ty == ValueType::Bool {
            items.push(Item::new("true", CompletionItemKind::KEYWORD).sort(0));
            items.push(Item::new("false", CompletionItemKind::KEYWORD).sort(0));
        }
    }
    let roots = [
        ("var", "an input variable: var.NAME"),
        ("local", "a local value: local.NAME"),
        ("data", "a data source: data.TYPE.NAME"),
        ("path", "path.module, path.root, path.cwd"),
    ];
    for (root, detail) in roots {
        items.push(Item::new(root, CompletionItemKind::MODULE).detail(detail).sort(2));
    }
    let in_resource = path.first().is_some_and(|b| matches!(b.ident.text.as_str(), "resource" | "data"));
    let has = |name: &str| path.first().is_some_and(|b| b.attributes.iter().any(|a| a.name.text == name));
    if in_resource && has("count") {
        items.push(Item::new("count", CompletionItemKind::MODULE).detail("count.index").sort(1));
    }
    if in_resource && has("for_each") {
        items.push(Item::new("each", CompletionItemKind::MODULE).detail("each.key, each.value").sort(1));
    }
    for rt in &registry.resources {
        items.push(Item::new(rt.name, CompletionItemKind::CLASS).detail(format!("{}.NAME", rt.name)).sort(3));
    }
    for f in crate::config::functions::specs() {
        items.push(
            Item::new(f.name, CompletionItemKind::FUNCTION)
                .detail(f.signature)
                .doc(f.summary)
                .insert(format!("{}(", f.name), format!("{}($1)", f.name))
                .sort(4),
        );
    }
    for lit in ["true", "false", "null"] {
        if !items.iter().any(|i| i.label == lit) {
            items.push(Item::new(lit, CompletionItemKind::KEYWORD).sort(5));
        }
    }
    items
}

/// The attributes and blocks that may be written in `scope`, less those `block` already has.
fn key_items(scope: Scope, block: Option<&Block>) -> Vec<Item> {
    let set = |name: &str| block.is_some_and(|b| b.attributes.iter().any(|a| a.name.text == name));
    let has_block = |name: &str| block.is_some_and(|b| b.blocks.iter().any(|x| x.ident.text == name));
    let mut items = Vec::new();
    let schema_attrs = |items: &mut Vec<Item>, attrs: &'static [schema::Attribute]| {
        for a in attrs.iter().filter(|a| a.presence != Presence::Computed && !set(a.name)) {
            items.push(schema_attribute_item(a));
        }
    };
    let schema_blocks = |items: &mut Vec<Item>, blocks: &'static [schema::BlockType], used: &[&str]| {
        for b in blocks {
            if b.nesting == Nesting::Single && has_block(b.name) {
                continue;
            }
            items.push(schema_block_item(b, used));
        }
    };
    let used_slots: Vec<&str> = block
        .map(|b| b.blocks.iter().flat_map(|x| x.labels.first()).map(|l| l.text.as_str()).collect())
        .unwrap_or_default();
    match scope {
        Scope::File => {
            for b in scope::TOP_LEVEL {
                let (plain, snippet) = match b.name {
                    "resource" => ("resource \"".to_string(), "resource \"$1\" \"$2\" {\n  $0\n}".to_string()),
                    "data" => ("data \"".to_string(), "data \"$1\" \"$2\" {\n  $0\n}".to_string()),
                    "provider" => ("provider \"proxmox\" {".to_string(), "provider \"proxmox\" {\n  $0\n}".to_string()),
                    "variable" | "output" => (format!("{} \"", b.name), format!("{} \"$1\" {{\n  $0\n}}", b.name)),
                    name => (format!("{name} {{"), format!("{name} {{\n  $0\n}}")),
                };
                items.push(
                    Item::new(b.name, CompletionItemKind::KEYWORD)
                        .detail(format!("{} {}", b.name, b.labels).trim_end().to_string())
                        .doc(b.description)
                        .insert(plain, snippet),
                );
            }
        }
        Scope::Resource(rt) => {
            schema_attrs(&mut items, &rt.attributes);
            schema_blocks(&mut items, &rt.blocks, &used_slots);
            for m in scope::META_ARGUMENTS.iter().filter(|m| !set(m.name)) {
                items.push(lang_attribute_item(m).sort(7));
            }
            if rt.kind == schema::SchemaKind::Resource && !has_block("lifecycle") {
                items.push(lang_block_item(&scope::LIFECYCLE).sort(8));
            }
        }
        Scope::Nested(_, b) => {
            schema_attrs(&mut items, &b.attributes);
            schema_blocks(&mut items, &b.blocks, &used_slots);
        }
        Scope::Lang(l) => {
            for a in l.attributes.iter().filter(|a| !set(a.name)) {
                items.push(lang_attribute_item(a));
            }
            for b in l.blocks {
                items.push(lang_block_item(b));
            }
        }
        Scope::Locals | Scope::Unknown => {}
    }
    items
}

fn schema_attribute_item(a: &'static schema::Attribute) -> Item {
    let mut detail = format!("{} ({})", a.ty, a.presence);
    if let Some(d) = &a.default {
        detail.push_str(&format!(" = {d}"));
    }
    let value = match (&a.one_of, &a.ty) {
        (Some(values), _) => format!("\"${{1|{}|}}\"", values.join(",")),
        (None, ValueType::String) => "\"$1\"".to_string(),
        (None, ValueType::Bool) => "${1|true,false|}".to_string(),
        (None, ValueType::List(_) | ValueType::Set(_)) => "[$1]".to_string(),
        (None, ValueType::Map(_)) => "{$1}".to_string(),
        (None, _) => "$1".to_string(),
    };
    Item::new(a.name, CompletionItemKind::PROPERTY)
        .detail(detail)
        .doc(super::hover::attribute_markdown(a, None))
        .insert(format!("{} = ", a.name), format!("{} = {value}", a.name))
        .sort(if a.presence == Presence::Required { 0 } else { 1 })
}

fn schema_block_item(b: &'static schema::BlockType, used: &[&str]) -> Item {
    let (plain, snippet) = match &b.nesting {
        Nesting::Single => (format!("{} {{", b.name), format!("{} {{\n  $0\n}}", b.name)),
        Nesting::Slotted { slot_pattern, example } => {
            let slot = free_slots(slot_pattern, b.pve_param.unwrap_or(""), used).into_iter().next();
            let slot = slot.unwrap_or_else(|| example.to_string());
            (format!("{} \"{slot}\" {{", b.name), format!("{} \"${{1:{slot}}}\" {{\n  $0\n}}", b.name))
        }
    };
    let detail = match &b.nesting {
        Nesting::Single => "block".to_string(),
        Nesting::Slotted { example, .. } => format!("block, labelled by its slot (\"{example}\")"),
    };
    Item::new(b.name, CompletionItemKind::STRUCT)
        .detail(if b.required { format!("{detail}, required") } else { detail })
        .doc(super::hover::block_markdown(b))
        .insert(plain, snippet)
        .sort(if b.required { 2 } else { 3 })
}

fn lang_attribute_item(a: &'static LangAttr) -> Item {
    Item::new(a.name, CompletionItemKind::PROPERTY)
        .detail(a.ty)
        .doc(a.description)
        .insert(format!("{} = ", a.name), format!("{} = $0", a.name))
        .sort(1)
}

fn lang_block_item(b: &'static scope::LangBlock) -> Item {
    Item::new(b.name, CompletionItemKind::STRUCT)
        .detail("block")
        .doc(b.description)
        .insert(format!("{} {{", b.name), format!("{} {{\n  $0\n}}", b.name))
        .sort(3)
}

pub fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}

fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(59).collect::<String>())
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::*;

    const OPTIONS: Options = Options { snippets: true, encoding: Encoding::Utf8 };

    /// The labels offered where `|` is in `main.pmx` (with `other` beside it in the folder).
    fn labels_at(main: &str, other: &str) -> Vec<String> {
        let offset = main.find('|').expect("a cursor");
        let text = main.replacen('|', "", 1);
        let buffers =
            HashMap::from([(PathBuf::from("/p/main.pmx"), text), (PathBuf::from("/p/other.pmx"), other.to_string())]);
        let folder = Folder::load(Path::new("/p"), &buffers);
        let file = folder.file(Path::new("/p/main.pmx")).expect("main");
        complete(&folder, file, offset, OPTIONS).into_iter().map(|c| c.label).collect()
    }

    #[test]
    fn block_types_and_resource_types() {
        let top = labels_at("|", "");
        assert!(["resource", "data", "variable", "locals"].iter().all(|k| top.contains(&k.to_string())), "{top:?}");
        assert_eq!(labels_at("resource \"|", ""), ["vm", "container", "pool"]);
        assert_eq!(labels_at("data \"t|\" \"x\" {}", ""), ["node", "template", "storage"]);
    }

    #[test]
    fn attributes_and_blocks_of_a_type_less_those_set() {
        let got = labels_at("resource \"vm\" \"a\" {\n  node = \"pve\"\n  |\n}\n", "");
        assert!(got.contains(&"name".to_string()) && got.contains(&"cpu".to_string()), "{got:?}");
        assert!(got.contains(&"count".to_string()) && got.contains(&"lifecycle".to_string()), "{got:?}");
        assert!(!got.contains(&"node".to_string()), "node is set already");
        let cpu = labels_at("resource \"vm\" \"a\" {\n  cpu {\n    co|\n  }\n}\n", "");
        assert!(cpu.contains(&"cores".to_string()) && !cpu.contains(&"name".to_string()), "{cpu:?}");
        let one_line = labels_at("resource \"vm\" \"a\" {\n  cpu { cores = 2, | }\n}\n", "");
        assert!(one_line.contains(&"sockets".to_string()) && !one_line.contains(&"cores".to_string()), "{one_line:?}");
    }

    #[test]
    fn slots_offered_are_free() {
        let got = labels_at("resource \"vm\" \"a\" {\n  disk \"scsi0\" {}\n  disk \"|\n}\n", "");
        assert_eq!(got, ["scsi1", "virtio0", "sata0", "ide0"]);
    }

    #[test]
    fn allowed_values_in_strings_and_as_values() {
        let got = labels_at("resource \"vm\" \"a\" {\n  network \"net0\" {\n    model = \"|\"\n  }\n}\n", "");
        assert!(got.contains(&"virtio".to_string()) && got.contains(&"e1000".to_string()), "{got:?}");
        let got = labels_at("resource \"vm\" \"a\" {\n  network \"net0\" {\n    model = |\n  }\n}\n", "");
        assert!(got.contains(&"\"virtio\"".to_string()) && got.contains(&"upper".to_string()), "{got:?}");
    }

    #[test]
    fn references_across_the_folder() {
        let other = "variable \"size\" {\n  type = number\n}\nresource \"pool\" \"web\" {}\nlocals {\n  tags = []\n}\ndata \"template\" \"deb\" {\n  name = \"d\"\n}\n";
        assert_eq!(labels_at("locals {\n  a = var.|\n}\n", other), ["size"]);
        assert_eq!(labels_at("locals {\n  a = local.|\n}\n", other), ["tags"]);
        assert_eq!(labels_at("locals {\n  a = pool.|\n}\n", other), ["web"]);
        assert_eq!(labels_at("locals {\n  a = \"${data.template.|}\"\n}\n", other), ["deb"]);
        let attrs = labels_at("locals {\n  a = pool.web.|\n}\n", other);
        assert!(attrs.contains(&"id".to_string()), "{attrs:?}");
    }
}
