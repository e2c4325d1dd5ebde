use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global, VarArgs};
use crate::diag::Diagnostics;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Loads, checks and evaluates the configuration; reports every problem at once.
pub fn run(args: ValidateArgs, g: &Global) -> CmdResult {
    let diags = check(&g.dir, &args.vars);
    if g.json {
        crate::render::print_json(&diags.to_json());
    } else {
        if !diags.is_empty() {
            eprint!("{}", diags.render(g.color_stderr));
        }
        if !diags.has_errors() && !g.quiet {
            println!("Success! The configuration is valid.");
        }
    }
    Ok(if diags.has_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Every diagnostic of loading and graphing the configuration in `dir`, sorted.
pub fn check(dir: &std::path::Path, vars: &VarArgs) -> Diagnostics {
    let (config, mut diags) =
        crate::config::load(dir, &crate::config::VarInputs { allow_missing: true, ..var_inputs(vars) });
    if let Some(config) = config {
        if !diags.has_errors() {
            match crate::graph::build(&config) {
                Ok(graph) => diags.extend(graph.warnings),
                Err(more) => diags.extend(more),
            }
        } else {
            // Reference and cycle problems are worth reporting next to schema problems.
            if let Err(more) = crate::graph::build(&config) {
                diags.extend(Diagnostics(more.into_iter().filter(is_graph_level).collect()));
            }
        }
    }
    diags.sorted()
}

/// Problems the graph finds that do not depend on values already reported as broken.
fn is_graph_level(d: &crate::diag::Diagnostic) -> bool {
    matches!(
        d.code.as_deref(),
        Some(
            "pmx::config::undeclared"
                | "pmx::config::cycle"
                | "pmx::config::bad_reference"
                | "pmx::config::undeclared_provider"
        )
    )
}

/// The variable inputs for the config loader (PMX_VAR_* come from the environment).
pub(super) fn var_inputs(v: &VarArgs) -> crate::config::VarInputs {
    crate::config::VarInputs { cli: v.inputs.clone(), env: None, allow_missing: false }
}
