//! `pmx plan` and `pmx show`: flags and views; the work is in `operation::plan`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use miette::miette;

use super::state::StateOptions;
use super::{CmdResult, Global, VarArgs};
use crate::config::VarInputs;
use crate::operation::plan::{self as op, PlanError};
use crate::operation::{LoadError, Project};
use crate::plan::{Impact, Plan, PlanMode, PlanRequest};
use crate::render::plan as view;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Save the plan to this file, for `pmx apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan to destroy every managed resource.
    #[arg(long, conflicts_with = "refresh_only")]
    pub destroy: bool,
    /// Only record what changed outside pmx (drift); change nothing on the cluster.
    #[arg(long)]
    pub refresh_only: bool,
    /// Only these resources (and what they depend on), e.g. `vm.web[0]`.
    #[arg(long, value_name = "ADDRESS")]
    pub target: Vec<String>,
    /// Replace this resource even if nothing forces it.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Exit 1 when the plan has a change of this impact (comma-separated: reboot,stop,replace,destroy).
    #[arg(long, value_name = "IMPACTS", value_delimiter = ',')]
    pub fail_on: Vec<String>,
    /// Plan the changes that bring the managed resources back to what state recorded at this
    /// serial (see `pmx state history`).
    #[arg(long, value_name = "SERIAL", conflicts_with_all = ["destroy", "refresh_only"])]
    pub rollback_to: Option<i64>,
    /// For `import` blocks whose target is not declared, write the resource blocks to this new
    /// .pmx file in the project folder (as `pmx import` writes them), then plan the imports.
    #[arg(long, value_name = "FILE")]
    pub generate_config_out: Option<PathBuf>,
    /// How many guest configs are read at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Skip the pre-flight checks (what Proxmox would refuse at apply time; docs/preflight.md).
    #[arg(long)]
    pub no_preflight: bool,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateOptions,
}

/// Loads the project, printing every configuration problem.
pub fn load_project(g: &Global, vars: &VarArgs) -> miette::Result<Project> {
    let inputs = VarInputs { cli: vars.inputs.clone(), ..VarInputs::default() };
    match Project::load(&g.dir, &inputs) {
        Ok(p) => {
            if !p.warnings.is_empty() && !g.quiet && !g.json {
                eprint!("{}", p.warnings.clone().sorted().render(g.color_stderr));
            }
            Ok(p)
        }
        Err(LoadError::Config(diags)) => {
            report_diagnostics(g, &diags);
            Err(miette!("the configuration has errors; fix them and plan again"))
        }
        Err(LoadError::Other(e)) => Err(e),
    }
}

pub fn report_diagnostics(g: &Global, diags: &crate::diag::Diagnostics) {
    if g.json {
        crate::render::print_json(&diags.to_json());
    } else {
        eprint!("{}", diags.clone().sorted().render(g.color_stderr));
    }
}

/// The gate of `--fail-on`: impacts named by the user.
pub fn parse_fail_on(list: &[String]) -> miette::Result<Vec<Impact>> {
    list.iter()
        .map(|s| {
            Impact::parse(s.trim())
                .ok_or_else(|| miette!("--fail-on {s}: not an impact (use live, reboot, stop, replace or destroy)"))
        })
        .collect()
}

pub fn run(args: PlanArgs, g: &Global) -> CmdResult {
    let fail_on = parse_fail_on(&args.fail_on)?;
    if let Some(file) = &args.generate_config_out {
        let inputs = VarInputs { cli: args.vars.inputs.clone(), ..VarInputs::default() };
        let generated = crate::import::generate::generate_config(&g.dir, &inputs, &g.dir.join(file))?;
        if !generated.is_empty() && !g.quiet && !g.json {
            let list: Vec<String> = generated.iter().map(ToString::to_string).collect();
            eprintln!("Generated configuration for {} in {}: review it.", list.join(", "), file.display());
        }
    }
    let project = load_project(g, &args.vars)?;
    let mode = if args.rollback_to.is_some() {
        PlanMode::Rollback
    } else if args.destroy {
        PlanMode::Destroy
    } else if args.refresh_only {
        PlanMode::RefreshOnly
    } else {
        PlanMode::Normal
    };
    let mut req = build_request(g, &project, mode, &args.target, &args.replace, args.parallelism)?;
    req.preflight = !args.no_preflight;
    let (location, workspace) = args.state.resolve(g, project.state_settings())?;
    let mut store = crate::operation::open_store(&location, &workspace)?;
    if let Some(serial) = args.rollback_to {
        req.rollback = Some(crate::operation::plan::recorded_at(&mut store, serial)?);
    }
    let endpoints = project.clients()?;
    let runtime = crate::operation::runtime()?;
    let progress = super::refresh::spinner(g, "Refreshing the cluster");
    let made = op::make(&project, &mut store, &endpoints, &req, &runtime);
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let plan = match made {
        Ok((plan, _)) => plan,
        Err(PlanError::Diagnostics(d)) => {
            report_diagnostics(g, &d);
            return Err(miette!("planning failed"));
        }
        Err(PlanError::Other(e)) => return Err(e),
    };
    let format = if g.json { Format::Json } else { args.format };
    print_plan(&plan, format, g);
    print_preflight(&plan, &project, g);
    if plan.is_blocked() {
        print_problems(&plan, g);
        return Ok(ExitCode::FAILURE);
    }
    if let Some(out) = &args.out {
        // Relative to the project folder, as Terraform's -chdir makes it.
        let out = &g.dir.join(out);
        let key = store.plan_key()?;
        crate::plan::file::write(out, &plan, &key).map_err(|e| miette!("cannot write {}: {e}", out.display()))?;
        if format == Format::Human && !g.quiet {
            println!(
                "\nSaved the plan to: {}\n\nTo perform exactly these actions, run:\n    pmx apply {}",
                out.display(),
                out.display()
            );
        }
    } else if format == Format::Human && !g.quiet && plan.has_changes() {
        println!("\nNote: you didn't use --out to save this plan, so pmx can't guarantee to take exactly these actions if you run \"pmx apply\" now.");
    }
    if let Some(gate) = gate_hit(&plan, &fail_on) {
        eprintln!("Error: --fail-on {}: the plan has {}", gate.label(), describe_gate(&plan, gate));
        return Ok(ExitCode::FAILURE);
    }
    Ok(exit_code(&plan, args.detailed_exitcode))
}

pub fn build_request(
    g: &Global,
    project: &Project,
    mode: PlanMode,
    target: &[String],
    replace: &[String],
    parallelism: usize,
) -> miette::Result<PlanRequest> {
    let mut diags = crate::diag::Diagnostics::new();
    let targets = op::resolve_addresses(project, "target", target).unwrap_or_else(|d| {
        diags.extend(d);
        vec![]
    });
    let replace = op::resolve_addresses(project, "replace", replace).unwrap_or_else(|d| {
        diags.extend(d);
        vec![]
    });
    if diags.has_errors() {
        report_diagnostics(g, &diags);
        return Err(miette!("unknown resource address"));
    }
    Ok(PlanRequest { mode, targets, replace, parallelism: parallelism.max(1), rollback: None, preflight: true })
}

pub fn print_plan(plan: &Plan, format: Format, g: &Global) {
    match format {
        Format::Json => crate::render::print_json(&view::json(plan)),
        Format::Markdown => print!("{}", view::markdown(plan, view::MARKDOWN_LIMIT)),
        Format::Human if !g.quiet => print!("{}", view::human(plan, view::Style { color: g.color })),
        Format::Human => {}
    }
}

pub fn print_problems(plan: &Plan, g: &Global) {
    if g.json {
        return;
    }
    for p in &plan.problems {
        eprintln!("Error: {}: {}", p.address, p.message);
        if let Some(h) = &p.help {
            eprintln!("  help: {h}");
        }
    }
    let n = plan.problems.len() + plan.preflight.iter().filter(|f| f.blocks()).count();
    eprintln!("\nThis plan cannot be applied: {n} problem{}.", if n == 1 { "" } else { "s" });
}

/// Pre-flight findings on stderr, each pointing at its line of configuration, as `validate`
/// shows problems (the JSON and markdown views carry them in the plan itself).
pub fn print_preflight(plan: &Plan, project: &Project, g: &Global) {
    if g.json || plan.preflight.is_empty() {
        return;
    }
    let mut diags = crate::diag::Diagnostics::new();
    for f in &plan.preflight {
        diags.push(crate::preflight::spans::diagnostic(f, &project.loaded.module));
    }
    eprintln!("\nPre-flight: what Proxmox would refuse or you should know before applying");
    eprint!("{}", diags.render(g.color_stderr));
}

fn gate_hit(plan: &Plan, fail_on: &[Impact]) -> Option<Impact> {
    let present: Vec<Impact> = plan.resource_changes.iter().filter(|r| r.is_change()).map(|r| r.impact).collect();
    fail_on.iter().copied().filter(|i| present.contains(i)).max()
}

fn describe_gate(plan: &Plan, gate: Impact) -> String {
    let hits: Vec<&str> = plan
        .resource_changes
        .iter()
        .filter(|r| r.is_change() && r.impact == gate)
        .map(|r| r.address.as_str())
        .collect();
    format!("{} change{} of that impact ({})", hits.len(), if hits.len() == 1 { "" } else { "s" }, hits.join(", "))
}

pub fn exit_code(plan: &Plan, detailed: bool) -> ExitCode {
    if detailed && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file saved by `pmx plan --out FILE`.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// `pmx show plan.out`: the saved plan, in any view. It is displayed, not verified.
pub fn show(args: ShowArgs, g: &Global) -> CmdResult {
    let plan =
        crate::plan::file::read(&g.dir.join(&args.plan)).and_then(|u| u.unchecked()).map_err(|e| miette!("{e}"))?;
    let format = if g.json { Format::Json } else { args.format };
    print_plan(&plan, format, g);
    if format == Format::Human && !g.quiet {
        for f in &plan.preflight {
            let kind = if f.blocks() { "Error" } else { "Warning" };
            let at = f.at.as_ref().map(|a| format!(" ({a})")).unwrap_or_default();
            let ignored = if f.ignored { " [ignored by preflight_ignore]" } else { "" };
            println!("\n{kind}: {}: {} [{}]{ignored}{at}\n  {}", f.address, f.message, f.check, f.live);
            if let Some(h) = &f.help {
                println!("  help: {h}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
