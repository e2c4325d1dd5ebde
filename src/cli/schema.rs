use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Only this resource type or data source (e.g. `vm`, `data.template`).
    pub name: Option<String>,
}

pub fn run(args: SchemaArgs, _g: &Global) -> CmdResult {
    let registry = crate::schema::registry();
    let json = match &args.name {
        None => serde_json::to_value(registry).map_err(|e| miette::miette!("{e}"))?,
        Some(n) => {
            let found = match n.strip_prefix("data.") {
                Some(d) => registry.data_source(d),
                None => registry.resource(n),
            };
            let Some(found) = found else {
                return Err(miette::miette!("no resource type or data source named {n:?}"));
            };
            serde_json::to_value(found).map_err(|e| miette::miette!("{e}"))?
        }
    };
    crate::render::print_json(&json);
    Ok(ExitCode::SUCCESS)
}
