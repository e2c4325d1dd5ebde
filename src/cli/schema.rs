//! `pmx schema`: the resource schema as JSON (the default) or as the Markdown reference pages.

use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global};
use crate::schema::{docs, BlockType, Registry, ResourceType};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Only this resource type, data source or block (e.g. `vm`, `data.template`, `vm.disk`).
    pub name: Option<String>,
    /// Print the Markdown reference (as in docs/resources) instead of JSON.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
}

pub fn run(args: SchemaArgs, _g: &Global) -> CmdResult {
    let registry = crate::schema::registry();
    if let Some((rt, block)) = args.name.as_deref().and_then(|n| find_block(registry, n)) {
        if args.markdown {
            print!("{}", docs::block_markdown(block, rt.kind));
        } else {
            let json = serde_json::to_value(block).map_err(|e| miette::miette!("cannot encode the schema: {e}"))?;
            crate::render::print_json(&json);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let selected: Vec<&ResourceType> = match &args.name {
        None => registry.resources.iter().chain(&registry.data_sources).collect(),
        Some(name) => vec![find(registry, name)?],
    };
    if args.markdown {
        let pages: Vec<String> = selected.iter().map(|rt| docs::markdown(rt)).collect();
        print!("{}", pages.join("\n"));
        return Ok(ExitCode::SUCCESS);
    }
    let json = match (&args.name, selected.first()) {
        (Some(_), Some(rt)) => serde_json::to_value(rt),
        _ => serde_json::to_value(registry),
    }
    .map_err(|e| miette::miette!("cannot encode the schema: {e}"))?;
    crate::render::print_json(&json);
    Ok(ExitCode::SUCCESS)
}

/// `vm.disk`: a nested block of a resource type (block names never clash with `data.`).
fn find_block<'r>(registry: &'r Registry, name: &str) -> Option<(&'r ResourceType, &'r BlockType)> {
    let (type_name, block) = name.split_once('.')?;
    let rt = registry.resource(type_name)?;
    Some((rt, rt.block(block)?))
}

/// Finds `vm` or `data.template`; otherwise an error naming the closest known names.
fn find<'r>(registry: &'r Registry, name: &str) -> miette::Result<&'r ResourceType> {
    if let Some(rt) = registry.lookup(name) {
        return Ok(rt);
    }
    let known = registry.qualified_names();
    if let Some((type_name, block)) = name.split_once('.') {
        if let Some(rt) = registry.resource(type_name) {
            // Compare the block's name only: every candidate shares the `vm.` prefix.
            let blocks: Vec<&str> = rt.blocks.iter().map(|b| b.name).collect();
            let known: Vec<String> = blocks.iter().map(|b| format!("{type_name}.{b}")).collect();
            let found = crate::config::suggest::closest(block, blocks.iter().copied());
            let help = help(found.map(|b| format!("{type_name}.{b}")), &known);
            return Err(miette::miette!(help = help, "`{type_name}` has no block named `{block}`"));
        }
    }
    let help = help(suggestion(name, &known).map(str::to_string), &known);
    Err(miette::miette!(help = help, "no resource type or data source named `{name}`"))
}

/// `did you mean "x"? Known: …`, or the known names alone.
fn help(found: Option<String>, known: &[String]) -> String {
    match found {
        Some(s) => format!("{} Known: {}", crate::config::suggest::hint(s), known.join(", ")),
        None => format!("known: {}", known.join(", ")),
    }
}

/// The known name closest to `name`: the same name as a data source (`template` →
/// `data.template`), or a likely typo.
fn suggestion<'k>(name: &str, known: &'k [String]) -> Option<&'k str> {
    if let Some(exact) = known.iter().find(|k| k.strip_prefix("data.") == Some(name)) {
        return Some(exact);
    }
    crate::config::suggest::closest(name, known.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        crate::schema::registry().qualified_names()
    }

    #[test]
    fn suggests_close_names_and_data_prefixes() {
        let known = known();
        assert_eq!(suggestion("vn", &known), Some("vm"));
        assert_eq!(suggestion("containr", &known), Some("container"));
        assert_eq!(suggestion("template", &known), Some("data.template"));
        assert_eq!(suggestion("data.templat", &known), Some("data.template"));
        assert_eq!(suggestion("firewall", &known), None);
    }

    #[test]
    fn unknown_names_are_errors_with_help() {
        let err = find(crate::schema::registry(), "containr").expect_err("unknown");
        let help = err.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(err.to_string().contains("`containr`"), "{err}");
        assert!(help.contains("did you mean \"container\"?"), "{help}");
    }
}
