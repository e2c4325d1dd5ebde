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
    let (config, mut diags) = crate::config::load(&g.dir, &super::validate::var_inputs(&args.vars));
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
