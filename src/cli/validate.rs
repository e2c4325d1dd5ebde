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
            // Everything the graph finds too (wrong values, references, cycles), so that one run
            // shows every problem; a place already reported is not reported twice.
            if let Err(more) = crate::graph::build(&config) {
                let seen: std::collections::HashSet<_> = diags.iter().map(place_of).collect();
                diags.extend(Diagnostics(more.into_iter().filter(|d| !seen.contains(&place_of(d))).collect()));
            }
        }
    }
    diags.sorted()
}

/// Where a diagnostic points (file and span), to tell a repeat of an already reported problem.
fn place_of(d: &crate::diag::Diagnostic) -> Option<(String, usize, usize)> {
    d.location.as_ref().map(|l| (l.file.name.clone(), l.span.start, l.span.end))
}

/// The variable inputs for the config loader (PMX_VAR_* come from the environment).
pub(super) fn var_inputs(v: &VarArgs) -> crate::config::VarInputs {
    crate::config::VarInputs { cli: v.inputs.clone(), env: None, allow_missing: false }
}
