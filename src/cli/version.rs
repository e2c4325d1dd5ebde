use std::process::ExitCode;

use super::{CmdResult, Global};

pub fn run(g: &Global) -> CmdResult {
    let version = env!("CARGO_PKG_VERSION");
    if g.json {
        crate::render::print_json(&serde_json::json!({
            "version": version,
            "state_schema": crate::state::SCHEMA_VERSION,
        }));
    } else {
        println!("pmx {version}");
    }
    Ok(ExitCode::SUCCESS)
}
