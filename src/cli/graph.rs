use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global, VarArgs};

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Only resource and data source instances.
    #[arg(long)]
    pub resources_only: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Prints the dependency graph as Graphviz DOT (or JSON with --json).
pub fn run(args: GraphArgs, g: &Global) -> CmdResult {
    // Like validate: a variable without a value is unknown, since the graph needs no secret.
    let inputs = crate::config::VarInputs { allow_missing: true, ..super::validate::var_inputs(&args.vars) };
    let (config, mut diags) = crate::config::load(&g.dir, &inputs);
    if let Some(config) = &config {
        diags.extend(structure_needs(config));
    }
    let graph = match config {
        Some(config) if !diags.has_errors() => match crate::graph::build(&config) {
            Ok(graph) => Some(graph),
            Err(more) => {
                diags.extend(more);
                None
            }
        },
        _ => None,
    };
    let Some(graph) = graph else {
        let diags = diags.sorted();
        if g.json {
            crate::render::print_json(&diags.to_json());
        } else {
            eprint!("{}", diags.render(g.color_stderr));
        }
        return Ok(ExitCode::FAILURE);
    };
    if !graph.warnings.is_empty() && !g.quiet {
        eprint!("{}", graph.warnings.render(g.color_stderr));
    }
    if g.json {
        crate::render::print_json(&crate::graph::render::json(&graph, args.resources_only));
    } else {
        print!("{}", crate::graph::render::dot(&graph, args.resources_only));
    }
    Ok(ExitCode::SUCCESS)
}

/// Variables without a value are fine for the graph, unless a `count` or `for_each` needs them:
/// then the graph would silently lack those instances, so say which variable to give.
fn structure_needs(config: &crate::config::LoadedConfig) -> crate::diag::Diagnostics {
    use crate::graph::refs::{collect, RefTarget};
    let mut out = crate::diag::Diagnostics::new();
    if config.unset_variables.is_empty() {
        return out;
    }
    for res in config.module.resources.values() {
        for (meta, expr) in [("count", &res.count), ("for_each", &res.for_each)] {
            let Some(expr) = expr else { continue };
            let (mut found, mut bad) = (Vec::new(), Vec::new());
            collect(&expr.expr, &mut found, &mut bad);
            for r in found {
                let RefTarget::Var(name) = &r.target else { continue };
                if !config.unset_variables.contains(name) {
                    continue;
                }
                out.push(
                    crate::diag::Diagnostic::error(format!(
                        "the {meta} of {} needs variable \"{name}\", which has no value",
                        res.addr
                    ))
                    .with_code("pmx::vars::missing")
                    .at(&expr.file, r.span.clone(), "no value")
                    .with_help(format!("pass --var {name}=VALUE, or set PMX_VAR_{name}")),
                );
            }
        }
    }
    out
}
