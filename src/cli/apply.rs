//! `pmx apply [PLAN]` and `pmx destroy`: flags, approval and views; the work is in
//! `operation::apply`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use miette::miette;

use super::plan::{
    build_request, load_project, print_plan, print_preflight, print_problems, report_diagnostics, Format,
};
use super::state::StateOptions;
use super::{CmdResult, Global, VarArgs};
use crate::apply::{ApplyOptions, Reporter};
use crate::operation::plan::{self as op, PlanError};
use crate::plan::PlanMode;
use crate::render::apply as view;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan file saved by `pmx plan --out FILE`; without one, pmx plans and asks first.
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many changes run at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// At most N guests stopped or rebooted at once (a rolling change never takes a tier down).
    #[arg(long, value_name = "N")]
    pub max_disruptions: Option<usize>,
    /// Only these resources (and what they depend on), without a plan file.
    #[arg(long, value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Replace this resource even if nothing forces it, without a plan file.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateOptions,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Only these resources.
    #[arg(long, value_name = "ADDRESS")]
    pub target: Vec<String>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateOptions,
}

pub fn run(args: ApplyArgs, g: &Global) -> CmdResult {
    let opts = ApplyOptions {
        parallelism: args.parallelism.max(1),
        max_disruptions: args.max_disruptions.unwrap_or(usize::MAX).max(1),
    };
    let command = match &args.plan {
        Some(p) => format!("pmx apply {}", p.display()),
        None => "pmx apply".to_string(),
    };
    execute(
        g,
        &args.vars,
        &args.state,
        args.plan.as_ref(),
        PlanMode::Normal,
        &args.target,
        &args.replace,
        args.auto_approve,
        &opts,
        &command,
    )
}

pub fn destroy(args: DestroyArgs, g: &Global) -> CmdResult {
    let opts = ApplyOptions { parallelism: args.parallelism.max(1), ..ApplyOptions::default() };
    execute(
        g,
        &args.vars,
        &args.state,
        None,
        PlanMode::Destroy,
        &args.target,
        &[],
        args.auto_approve,
        &opts,
        "pmx destroy",
    )
}

#[allow(clippy::too_many_arguments)]
fn execute(
    g: &Global,
    vars: &VarArgs,
    state: &StateOptions,
    plan_file: Option<&PathBuf>,
    mode: PlanMode,
    target: &[String],
    replace: &[String],
    auto_approve: bool,
    opts: &ApplyOptions,
    command: &str,
) -> CmdResult {
    // A saved plan is read and checked before anything else is touched.
    let unverified = match plan_file {
        Some(path) => Some(crate::plan::file::read(&g.dir.join(path)).map_err(|e| miette!("{e}"))?),
        None => None,
    };
    if unverified.is_none() && !auto_approve && !std::io::stdin().is_terminal() {
        return Err(miette!(
            help = "pass --auto-approve, or apply a saved plan: pmx plan --out plan.out && pmx apply plan.out",
            "{command} needs approval, and standard input is not a terminal"
        ));
    }
    let project = load_project(g, vars)?;
    let (location, workspace) = state.resolve(g, project.state_settings())?;
    let mut store = crate::operation::open_store(&location, &workspace)?;
    store.lock(command, state.lock_timeout)?;
    let endpoints = project.clients()?;
    let runtime = crate::operation::runtime()?;
    if let Err(e) = crate::operation::plan::settle_open_intents(&mut store, &endpoints, &runtime) {
        return match e {
            PlanError::Other(e) => Err(e),
            PlanError::Diagnostics(d) => {
                report_diagnostics(g, &d);
                Err(miette!("recovery failed"))
            }
        };
    }
    let plan = match unverified {
        Some(u) => {
            let meta = store.meta()?;
            let key = store.plan_key()?;
            u.verify(&meta.workspace, &meta.lineage, &key).map_err(|e| miette!("{e}"))?
        }
        None => {
            let req = build_request(g, &project, mode, target, replace, opts.parallelism)?;
            let plan = match op::make(&project, &mut store, &endpoints, &req, &runtime) {
                Ok((plan, _)) => plan,
                Err(PlanError::Diagnostics(d)) => {
                    report_diagnostics(g, &d);
                    return Err(miette!("planning failed"));
                }
                Err(PlanError::Other(e)) => return Err(e),
            };
            print_plan(&plan, if g.json { Format::Json } else { Format::Human }, g);
            print_preflight(&plan, &project, g);
            if plan.is_blocked() {
                print_problems(&plan, g);
                return Ok(ExitCode::FAILURE);
            }
            if !plan.has_changes() {
                return Ok(ExitCode::SUCCESS);
            }
            if !auto_approve && !confirm(mode)? {
                eprintln!("Apply cancelled.");
                return Ok(ExitCode::FAILURE);
            }
            plan
        }
    };
    crate::operation::apply::check_fresh(&plan, &project, &mut store)?;
    if !plan.has_changes() {
        if !g.quiet && !g.json {
            println!("No changes. Nothing to apply.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let reporter: Arc<dyn Reporter> = if g.json {
        Arc::new(view::JsonReporter)
    } else if crate::render::stdout_is_terminal() && !g.quiet {
        Arc::new(view::LiveReporter::new(g.color))
    } else {
        Arc::new(view::LineReporter { color: g.color })
    };
    let report = crate::operation::apply::run(project, store, endpoints, plan, opts, reporter, &runtime, command)?;
    if g.json {
        crate::render::print_json(
            &serde_json::json!({"type": "apply_summary", "counts": report.counts(), "changes": report.results}),
        );
    } else {
        print!("{}", view::summary(&report, g.color));
    }
    Ok(if report.failed() > 0 || report.interrupted { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn confirm(mode: PlanMode) -> miette::Result<bool> {
    let what = if mode == PlanMode::Destroy { "destroy all the resources above" } else { "perform these actions" };
    print!("\nDo you want to {what}?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| miette!("cannot read the answer: {e}"))?;
    Ok(line.trim() == "yes")
}
