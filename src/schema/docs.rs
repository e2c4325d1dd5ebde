//! Documents generated from the registry, so that they cannot drift from it:
//! `docs/resources/<type>.md`, `docs/data-sources/<name>.md` and `grammar/schema.json`.
//! `tests/schema.rs` regenerates them and fails when the files in the repository differ.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::*;

/// How to refresh the generated files, quoted in each of them and in the drift test.
pub const REFRESH_COMMAND: &str = "PMX_UPDATE_DOCS=1 cargo test --test schema";

/// Every generated file: its path relative to the repository root, and its content.
pub fn generated_files(registry: &Registry) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> =
        registry.resources.iter().chain(&registry.data_sources).map(|rt| (doc_path(rt), markdown(rt))).collect();
    files.push((PathBuf::from("docs/resources/README.md"), index(registry)));
    files.push((PathBuf::from("grammar/schema.json"), schema_json(registry)));
    files
}

/// `docs/resources/README.md`: every resource type and data source, one line each.
pub fn index(registry: &Registry) -> String {
    let mut out = String::from("# Resource types and data sources\n\n");
    let _ =
        writeln!(out, "<!-- Generated from the registry in src/schema; do not edit. Refresh: {REFRESH_COMMAND} -->\n");
    out.push_str(
        "Every page lists each attribute's type, whether it is required, its default, how a change to it \
                  lands on Proxmox (live, after a reboot, while stopped, or by replacement) and the Proxmox \
                  parameter it maps to. `pmx schema` prints the same as JSON.\n\n## Resources\n\n",
    );
    for rt in &registry.resources {
        let _ = writeln!(out, "- [`{}`]({}.md): {}", rt.name, rt.name, first_sentence(rt.description));
    }
    out.push_str("\n## Data sources\n\n");
    for ds in &registry.data_sources {
        let _ =
            writeln!(out, "- [`data.{}`](../data-sources/{}.md): {}", ds.name, ds.name, first_sentence(ds.description));
    }
    out
}

fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}

/// `docs/resources/vm.md` or `docs/data-sources/template.md`.
pub fn doc_path(rt: &ResourceType) -> PathBuf {
    match rt.kind {
        SchemaKind::Resource => PathBuf::from(format!("docs/resources/{}.md", rt.name)),
        SchemaKind::Data => PathBuf::from(format!("docs/data-sources/{}.md", rt.name)),
    }
}

/// The registry as JSON (what `pmx schema` prints), with a note saying where it comes from.
pub fn schema_json(registry: &Registry) -> String {
    let mut value = serde_json::Map::new();
    value.insert(
        "$comment".into(),
        format!("Generated from the registry in src/schema (`pmx schema`); do not edit. Refresh: {REFRESH_COMMAND}")
            .into(),
    );
    if let Ok(serde_json::Value::Object(body)) = serde_json::to_value(registry) {
        value.extend(body);
    }
    let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(value)).unwrap_or_default();
    text.push('\n');
    text
}

/// The reference page of one resource type or data source.
pub fn markdown(rt: &ResourceType) -> String {
    let mut out = String::new();
    let what = match rt.kind {
        SchemaKind::Resource => "resource",
        SchemaKind::Data => "data source",
    };
    let _ = writeln!(out, "# `{}` ({what})\n", rt.qualified_name());
    let _ = writeln!(
        out,
        "<!-- Generated from the registry in src/schema (`pmx schema --markdown {}`); do not edit. \
         Refresh: {REFRESH_COMMAND} -->\n",
        rt.qualified_name()
    );
    let _ = writeln!(out, "{}\n", rt.description);
    let _ = writeln!(out, "## Example\n\n```hcl\n{}```\n", rt.example);
    let _ = writeln!(out, "## Attributes\n");
    attribute_table(&mut out, &rt.attributes, rt.kind);
    if !rt.blocks.is_empty() {
        out.push_str("\n## Blocks\n");
    }
    for block in &rt.blocks {
        block_section(&mut out, block, rt.kind, 3);
    }
    if !rt.constraints.is_empty() {
        out.push_str("\n## Rules\n\n");
        for rule in &rt.constraints {
            let _ = writeln!(out, "- {rule}");
        }
    }
    if rt.kind == SchemaKind::Resource {
        out.push_str(UPDATE_LEGEND);
    }
    out
}

const UPDATE_LEGEND: &str = "\n## How changes land\n\n\
- **live**: changed in place, immediately, even while the guest runs.\n\
- **reboot**: changed in place; a running guest picks it up at its next reboot (Proxmox keeps it pending).\n\
- **stopped**: changed in place while the guest is stopped (pmx shuts it down and starts it again).\n\
- **replace**: cannot be changed in place: the resource is destroyed and created again.\n\
- **create-only**: used when creating; later changes are ignored.\n\
- **hotplug `x`**: live while the guest's `hotplug` includes `x`, reboot otherwise.\n";

/// The reference section of one nested block (`pmx schema --markdown vm.disk`).
pub fn block_markdown(block: &BlockType, kind: SchemaKind) -> String {
    let mut out = String::new();
    block_section(&mut out, block, kind, 1);
    out.trim_start().to_string()
}

fn block_section(out: &mut String, block: &BlockType, kind: SchemaKind, level: usize) {
    let hashes = "#".repeat(level);
    let header = match &block.nesting {
        Nesting::Single => format!("`{}`", block.name),
        Nesting::Slotted { example, .. } => format!("`{} \"<slot>\"`", block.name).replace("<slot>", example),
    };
    let _ = writeln!(out, "\n{hashes} Block {header}\n");
    let _ = writeln!(out, "{}\n", block.description);
    let mut facts = vec![if block.required { "required".to_string() } else { "optional".to_string() }];
    if let Nesting::Slotted { slot_pattern, .. } = &block.nesting {
        facts.push(format!("any number, each labelled by a slot matching `{}`", escape(slot_pattern)));
    } else {
        facts.push("at most once".to_string());
    }
    if kind == SchemaKind::Resource {
        facts.push(format!("changes land: {}", block.update));
    }
    if let Some(p) = block.pve_param {
        facts.push(format!("Proxmox: `{}`", escape(p)));
    }
    let _ = writeln!(out, "{}.\n", capitalize(&facts.join("; ")));
    attribute_table(out, &block.attributes, kind);
    for nested in &block.blocks {
        block_section(out, nested, kind, level + 1);
    }
}

fn attribute_table(out: &mut String, attributes: &[Attribute], kind: SchemaKind) {
    if attributes.is_empty() {
        out.push_str("None.\n");
        return;
    }
    match kind {
        SchemaKind::Resource => {
            out.push_str("| Name | Type | Presence | Default | On change | Proxmox | Allowed | Description |\n");
            out.push_str("|---|---|---|---|---|---|---|---|\n");
        }
        SchemaKind::Data => {
            out.push_str("| Name | Type | Presence | Proxmox | Allowed | Description |\n");
            out.push_str("|---|---|---|---|---|---|\n");
        }
    }
    for group in group_numbered(attributes) {
        let a = group.first;
        let name = match group.last {
            Some(last) => format!("`{}` … `{}`", a.name, last.name),
            None => format!("`{}`", a.name),
        };
        let mut presence = a.presence.to_string();
        if a.sensitive {
            presence.push_str(", sensitive");
        }
        let default = a.default.as_ref().map(|d| format!("`{}`", escape(&d.to_string()))).unwrap_or_default();
        let mut change = a.update.to_string();
        if let Some(feature) = a.hotplug {
            change = format!("hotplug `{feature}`");
        }
        if let Some(call) = a.changed_by.map(|c| c.endpoint) {
            let _ = write!(change, " (`{}`)", escape(call));
        }
        let pve = a.pve_param.map(|p| format!("`{}`", escape(p))).unwrap_or_default();
        let allowed = allowed(a);
        let description = escape(a.description);
        let _ = match kind {
            SchemaKind::Resource => writeln!(
                out,
                "| {name} | {} | {presence} | {default} | {change} | {pve} | {allowed} | {description} |",
                a.ty
            ),
            SchemaKind::Data => writeln!(out, "| {name} | {} | {presence} | {pve} | {allowed} | {description} |", a.ty),
        };
    }
}

fn allowed(a: &Attribute) -> String {
    let mut parts = vec![];
    if let Some(values) = &a.one_of {
        parts.push(values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "));
    }
    if let Some((min, max)) = a.range {
        parts.push(format!("{min} to {max}"));
    }
    if let Some(p) = a.pattern {
        parts.push(format!("matches `{}`", escape(p)));
    }
    parts.join("; ")
}

/// A run of attributes that differ only by a trailing number (`ipconfig0` .. `ipconfig31`),
/// shown as one row.
struct Group<'a> {
    first: &'a Attribute,
    last: Option<&'a Attribute>,
}

fn group_numbered(attributes: &[Attribute]) -> Vec<Group<'_>> {
    let stem = |a: &Attribute| {
        let s = a.name.trim_end_matches(|c: char| c.is_ascii_digit());
        (s.len() < a.name.len()).then_some(s)
    };
    let mut groups: Vec<Group> = vec![];
    for a in attributes {
        if let Some(g) = groups.last_mut() {
            let same = stem(a).is_some()
                && stem(a) == stem(g.first)
                && a.description == g.first.description
                && a.ty == g.first.ty;
            if same {
                g.last = Some(a);
                continue;
            }
        }
        groups.push(Group { first: a, last: None });
    }
    groups
}

/// Makes text safe inside a Markdown table cell.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_attributes_share_one_row() {
        let page = markdown(registry().resource("vm").expect("vm"));
        assert!(page.contains("`ipconfig0` … `ipconfig31`"), "{page}");
        assert!(!page.contains("| `ipconfig5` |"));
    }

    #[test]
    fn regex_alternation_is_escaped_in_tables() {
        let page = markdown(registry().resource("vm").expect("vm"));
        let row = page.lines().find(|l| l.starts_with("| `bios` |")).expect("bios row");
        assert_eq!(row.matches(" | ").count() + 2, 9, "{row}");
        assert!(page.contains(r"scsi[n]\|virtio[n]"));
    }

    #[test]
    fn every_type_gets_a_file_and_the_json_says_it_is_generated() {
        let files = generated_files(registry());
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        for expected in ["docs/resources/vm.md", "docs/resources/container.md", "docs/resources/pool.md"] {
            assert!(names.iter().any(|n| n == expected), "{names:?}");
        }
        assert!(names.iter().any(|n| n == "docs/data-sources/template.md"));
        let json = &files.iter().find(|(p, _)| p.ends_with("schema.json")).expect("schema.json").1;
        let parsed: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
        assert!(parsed["$comment"].as_str().is_some_and(|c| c.contains(REFRESH_COMMAND)));
        assert_eq!(parsed["resources"][0]["name"], "vm");
    }
}
