//! Hover: for an attribute or block, the schema's description, type, default, how a change
//! lands ("changing this reboots the guest") and the Proxmox parameter it maps to; for a
//! reference, what it names and its value as written; for a function, its signature.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use super::index::{symbol_of, Folder, Symbol};
use super::outline::{Block, Item};
use super::position::{Encoding, LineIndex};
use super::scope::{self, AttrInfo, LangAttr, Scope};
use crate::schema::{self, Attribute, BlockType, Nesting, SchemaKind, UpdateMode};

pub fn hover(folder: &Folder, file: usize, offset: usize, encoding: Encoding) -> Option<Hover> {
    let source = folder.files.get(file)?;
    let outline = &source.outline;
    let (markdown, span) = if let Some((reference, part)) = outline.reference_at(offset) {
        (reference_markdown(folder, reference, part)?, reference.parts[part].span.clone())
    } else if let Some(call) = outline.calls.iter().find(|c| c.span.start <= offset && offset <= c.span.end) {
        let spec = crate::config::functions::specs().iter().find(|s| s.name == call.text)?;
        (format!("```hcl\n{}\n```\n{}", spec.signature, spec.summary), call.span.clone())
    } else {
        let (path, item) = outline.item_at(offset)?;
        match item {
            Item::Key(a) => {
                let scope = scope::scope_of(&path);
                let slot = path.last().and_then(|b| b.labels.first()).map(|l| l.text.as_str());
                let md = match scope::attribute(scope, &a.name.text)? {
                    AttrInfo::Schema(_, attr) => attribute_markdown(attr, slot),
                    AttrInfo::Lang(l) => lang_markdown(l),
                };
                (md, a.name.span.clone())
            }
            Item::Ident(b) => (block_ident_markdown(&path, b)?, b.ident.span.clone()),
            Item::Label(b, i) => (label_markdown(folder, file, &path, b, i)?, b.labels[i].span.clone()),
        }
    };
    let range = LineIndex::new(&source.text, encoding).range(&span);
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
        range: Some(range),
    })
}

/// How a change to an attribute lands, in words.
pub fn update_text(a: &Attribute) -> String {
    let mut text = match (a.hotplug, a.update) {
        (Some(feature), _) => format!(
            "applied live while the guest's `hotplug` includes `{feature}`; otherwise changing this reboots the guest \
             (a running guest picks it up at its next reboot)"
        ),
        (None, UpdateMode::Live) => "applied live, even while the guest runs".to_string(),
        (None, UpdateMode::Reboot) => {
            "changing this reboots the guest: a running guest picks it up at its next reboot (Proxmox keeps it pending)"
                .to_string()
        }
        (None, UpdateMode::Stopped) => {
            "changing this stops the guest: pmx shuts it down, changes it and starts it again".to_string()
        }
        (None, UpdateMode::Replace) => {
            "changing this replaces the resource: it is destroyed and created again".to_string()
        }
        (None, UpdateMode::CreateOnly) => "only used when creating; later changes are ignored".to_string(),
    };
    if let Some(call) = a.changed_by.map(|c| c.endpoint) {
        text.push_str(&format!(" (through `{call}`)"));
    }
    text
}

/// The hover of a schema attribute; `slot` is the label of its block (`net1`), if any.
pub fn attribute_markdown(a: &Attribute, slot: Option<&str>) -> String {
    let mut head = format!("**`{}`** · `{}` · {}", a.name, a.ty, a.presence);
    if let Some(d) = &a.default {
        head.push_str(&format!(" · default `{d}`"));
    }
    if a.defaults_to_block_name {
        head.push_str(" · defaults to the block's name");
    }
    let mut out = format!("{head}\n\n{}\n", a.description);
    let mut facts = Vec::new();
    if a.presence != schema::Presence::Computed {
        facts.push(format!("**On change**: {}", update_text(a)));
    }
    if let Some(param) = a.pve_param {
        let target = match a.pve_target(slot) {
            Some((param, Some(key))) => format!("`{param}` (key `{key}` of the property string)"),
            Some((param, None)) => format!("`{param}`"),
            None => format!("`{param}` (`{{slot}}` is the block's label)"),
        };
        facts.push(format!("**Proxmox**: {target}"));
    }
    if let Some(values) = &a.one_of {
        facts.push(format!("**Allowed**: {}", values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")));
    }
    if let Some((min, max)) = a.range {
        facts.push(format!("**Range**: {min} to {max}"));
    }
    if let Some(p) = a.pattern {
        facts.push(format!("**Pattern**: `{p}`"));
    }
    if a.sensitive {
        facts.push("**Sensitive**: never shown in plans, output or errors".to_string());
    }
    for f in facts {
        out.push_str(&format!("\n- {f}"));
    }
    out
}

/// The hover of a schema block.
pub fn block_markdown(b: &BlockType) -> String {
    let header = match &b.nesting {
        Nesting::Single => format!("**`{}`** block", b.name),
        Nesting::Slotted { example, .. } => {
            format!("**`{} \"{example}\"`** block, labelled by its Proxmox slot", b.name)
        }
    };
    let mut out = format!("{header}{}\n\n{}\n", if b.required { " · required" } else { "" }, b.description);
    if let Nesting::Slotted { slot_pattern, .. } = &b.nesting {
        out.push_str(&format!("\n- **Slots**: `{slot_pattern}`"));
    }
    out.push_str(&format!("\n- **Changes land**: {}", b.update));
    if let Some(p) = b.pve_param {
        out.push_str(&format!("\n- **Proxmox**: `{p}`"));
    }
    out
}

fn lang_markdown(a: &LangAttr) -> String {
    format!("**`{}`** · {}\n\n{}", a.name, a.ty, a.description)
}

fn type_markdown(rt: &schema::ResourceType) -> String {
    let what = if rt.kind == SchemaKind::Data { "data source" } else { "resource type" };
    format!("**`{}`** ({what})\n\n{}", rt.qualified_name(), rt.description)
}

fn block_ident_markdown(path: &[&Block], b: &Block) -> Option<String> {
    match scope::child(scope::scope_of(path), &b.ident.text) {
        Scope::Nested(_, bt) => Some(block_markdown(bt)),
        Scope::Lang(l) => Some(format!("**`{}`** {}\n\n{}", l.name, l.labels, l.description)),
        Scope::Locals => scope::TOP_LEVEL.iter().find(|l| l.name == "locals").map(|l| l.description.to_string()),
        _ => None,
    }
}

fn label_markdown(folder: &Folder, file: usize, path: &[&Block], b: &Block, i: usize) -> Option<String> {
    let registry = schema::registry();
    let type_of = || match b.ident.text.as_str() {
        "resource" => registry.resource(&b.labels.first()?.text),
        "data" => registry.data_source(&b.labels.first()?.text),
        _ => None,
    };
    match (path.is_empty(), b.ident.text.as_str(), i) {
        (true, "resource" | "data", 0) => type_of().map(type_markdown),
        (true, _, _) => {
            let (symbol, _) = folder.symbol_at(file, b.labels[i].span.start)?;
            symbol_markdown(folder, &symbol)
        }
        (false, _, 0) => {
            // A slot label: the Proxmox parameter it names.
            let scope = scope::child(scope::scope_of(path), &b.ident.text);
            let Scope::Nested(_, bt) = scope else { return None };
            Some(format!(
                "**`{}`**: the Proxmox parameter `{}` of this guest\n\n{}",
                b.labels[0].text, b.labels[0].text, bt.description
            ))
        }
        _ => None,
    }
}

fn reference_markdown(folder: &Folder, reference: &super::outline::Reference, part: usize) -> Option<String> {
    let texts: Vec<&str> = reference.parts.iter().map(|p| p.text.as_str()).collect();
    match texts.first().copied()? {
        "count" => return Some("`count.index`: the number of this instance (from 0)".into()),
        "each" => return Some("`each.key` / `each.value`: the key and value of this `for_each` instance".into()),
        "path" => {
            return Some(
                "`path.module`: the folder of the configuration; `path.root`: the same; `path.cwd`: the working folder"
                    .into(),
            )
        }
        _ => {}
    }
    let (symbol, name_part) = symbol_of(reference)?;
    if part <= name_part {
        return symbol_markdown(folder, &symbol);
    }
    // An attribute of a resource or data source: `vm.web.vmid`.
    let Symbol::Resource(addr) = &symbol else { return None };
    let rt = schema::registry().lookup(&match addr.mode {
        crate::addr::Mode::Data => format!("data.{}", addr.type_name),
        crate::addr::Mode::Managed => addr.type_name.clone(),
    })?;
    let name = texts.get(name_part + 1)?;
    if part == name_part + 1 {
        if let Some(a) = rt.attribute(name) {
            return Some(attribute_markdown(a, None));
        }
        return rt.block(name).map(block_markdown);
    }
    None
}

/// What a declared symbol is: its kind, where it is declared and its value as written.
fn symbol_markdown(folder: &Folder, symbol: &Symbol) -> Option<String> {
    let Some(d) = folder.declaration(symbol) else {
        return Some(format!("`{symbol}` is not declared in this folder"));
    };
    let source = &folder.files[d.file];
    let (line, _) = line_col(&source.text, d.name.span.start);
    let file_name = source.path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let attr = |name: &str| {
        d.block.attributes.iter().find(|a| a.name.text == name).map(|a| source.text[a.value.clone()].trim())
    };
    let mut out = match symbol {
        Symbol::Variable(n) => {
            let mut s = format!("**`var.{n}`** (variable)");
            if let Some(t) = attr("type") {
                s.push_str(&format!(" · `{t}`"));
            }
            if let Some(desc) = attr("description") {
                s.push_str(&format!("\n\n{}", desc.trim_matches('"')));
            }
            if attr("sensitive") == Some("true") {
                s.push_str("\n\n- **Sensitive**: its value is never shown");
            } else if let Some(default) = attr("default") {
                s.push_str(&format!("\n\n- **Default**: `{}`", default.replace('`', "'")));
            } else {
                s.push_str("\n\n- **Required**: it has no default");
            }
            s
        }
        Symbol::Local(n) => {
            let value = d.value.as_ref().map_or("", |v| source.text[v.clone()].trim());
            format!("**`local.{n}`** (local value)\n\n```hcl\n{n} = {value}\n```")
        }
        Symbol::Resource(addr) => {
            let qualified = match addr.mode {
                crate::addr::Mode::Data => format!("data.{}", addr.type_name),
                crate::addr::Mode::Managed => addr.type_name.clone(),
            };
            let mut s = format!("**`{addr}`**");
            if let Some(rt) = schema::registry().lookup(&qualified) {
                let what = if rt.kind == SchemaKind::Data { "data source" } else { "resource" };
                s.push_str(&format!(
                    " ({what} `{}`)\n\n{}",
                    rt.qualified_name(),
                    super::completion::first_sentence(rt.description)
                ));
            }
            if let Some(c) = attr("count") {
                s.push_str(&format!("\n\n- **count**: `{c}` (instances `{addr}[0]`...)"));
            }
            if let Some(f) = attr("for_each") {
                s.push_str(&format!("\n\n- **for_each**: `{f}` (instances `{addr}[\"key\"]`)"));
            }
            s
        }
        Symbol::Output(n) => {
            let value = attr("value").unwrap_or("");
            format!("**`{n}`** (output)\n\n```hcl\nvalue = {value}\n```")
        }
    };
    out.push_str(&format!("\n\n*Declared in {file_name}:{line}*"));
    Some(out)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::*;

    fn hover_at(main: &str) -> Option<String> {
        let offset = main.find('|').expect("a cursor");
        let text = main.replacen('|', "", 1);
        let folder = Folder::load(Path::new("/p"), &HashMap::from([(PathBuf::from("/p/main.pmx"), text)]));
        let h = hover(&folder, 0, offset, Encoding::Utf8)?;
        match h.contents {
            HoverContents::Markup(m) => Some(m.value),
            _ => None,
        }
    }

    #[test]
    fn attributes_say_how_changes_land_and_where_they_go() {
        let cores = hover_at("resource \"vm\" \"a\" {\n  cpu {\n    co|res = 2\n  }\n}\n").expect("hover");
        assert!(cores.contains("reboots the guest"), "{cores}");
        assert!(cores.contains("**Proxmox**: `cores`"), "{cores}");
        let bridge = hover_at("resource \"vm\" \"a\" {\n  network \"net1\" {\n    bri|dge = \"vmbr0\"\n  }\n}\n")
            .expect("hover");
        assert!(bridge.contains("`net1` (key `bridge`"), "{bridge}");
        let vmid = hover_at("resource \"vm\" \"a\" {\n  vm|id = 100\n}\n").expect("hover");
        assert!(vmid.contains("destroyed and created again"), "{vmid}");
        let count = hover_at("resource \"vm\" \"a\" {\n  cou|nt = 2\n}\n").expect("hover");
        assert!(count.contains("instances"), "{count}");
    }

    #[test]
    fn references_blocks_types_and_functions() {
        let src = "variable \"size\" {\n  default = 32\n  description = \"Disk size.\"\n}\nlocals {\n  a = upp|er(var.size)\n}\n";
        assert!(hover_at(src).expect("hover").contains("upper(string)"));
        let src = "variable \"size\" {\n  default = 32\n  description = \"Disk size.\"\n}\nlocals {\n  a = upper(var.si|ze)\n}\n";
        let h = hover_at(src).expect("hover");
        assert!(h.contains("Disk size.") && h.contains("`32`") && h.contains("main.pmx:1"), "{h}");
        let disk = hover_at("resource \"vm\" \"a\" {\n  di|sk \"scsi0\" {}\n}\n").expect("hover");
        assert!(disk.contains("slot"), "{disk}");
        let ty = hover_at("resource \"v|m\" \"a\" {}\n").expect("hover");
        assert!(ty.contains("resource type"), "{ty}");
    }
}
