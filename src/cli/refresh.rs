//! `pmx refresh`: read the live cluster and bring the state store up to date with it.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use miette::{miette, IntoDiagnostic};
use owo_colors::OwoColorize;

use super::state::StateOptions;
use super::{CmdResult, Global, VarArgs};
use crate::config::{self, VarInputs};
use crate::proxmox::{ClientConfig, ProviderSettings, PveClient};
use crate::refresh;
use crate::state::{RunKind, RunOutcome};

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateOptions,
}

/// Provider settings and the configured state URL: from the project's `.pmx` files when there
/// are any (the default `provider "proxmox"` block), then `PMX_*` environment variables.
fn project_settings(
    args: &RefreshArgs,
    g: &Global,
) -> miette::Result<(ProviderSettings, Option<crate::config::model::StateSettings>)> {
    let has_config = config::config_files(&g.dir).map(|f| !f.is_empty()).unwrap_or(false);
    if !has_config {
        return Ok((ProviderSettings::default().with_env().into_diagnostic()?, None));
    }
    let inputs = VarInputs { cli: args.vars.inputs.clone(), ..VarInputs::default() };
    let (loaded, diags) = config::load(&g.dir, &inputs);
    let graph = loaded.filter(|_| !diags.has_errors()).map(|l| (crate::graph::build(&l), l));
    let (graph, loaded) = match graph {
        Some((Ok(graph), loaded)) => (graph, loaded),
        Some((Err(more), _)) => {
            let mut all = diags;
            all.extend(more);
            eprint!("{}", all.sorted().render(g.color_stderr));
            return Err(miette!("the configuration has errors; fix them before refreshing"));
        }
        None => {
            eprint!("{}", diags.sorted().render(g.color_stderr));
            return Err(miette!("the configuration has errors; fix them before refreshing"));
        }
    };
    let state_settings = loaded.module.settings.state.clone();
    let settings = match graph.providers.get("proxmox") {
        Some(p) => ProviderSettings::from_block(&p.attributes).into_diagnostic()?,
        None => ProviderSettings::default(),
    };
    Ok((settings.with_env().into_diagnostic()?, state_settings))
}

pub fn run(args: RefreshArgs, g: &Global) -> CmdResult {
    let (settings, configured_state) = project_settings(&args, g)?;
    let client_config = ClientConfig::from_settings(settings).into_diagnostic()?;
    let endpoint = client_config.endpoint.clone();
    let client = PveClient::new(client_config).into_diagnostic()?;

    let (location, workspace) = args.state.resolve(g, configured_state.as_ref())?;
    let mut store = crate::state::Store::open(&location, &workspace)?;
    store.lock("pmx refresh", args.state.lock_timeout)?;
    let before = store.meta()?.serial;
    let run = store.begin_run(RunKind::Refresh, "pmx refresh")?;

    let progress = spinner(g, &format!("Reading {endpoint}"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().into_diagnostic()?;
    let read = runtime.block_on(async {
        let version = client.version().await?;
        let live = refresh::read_cluster(&client).await?;
        Ok::<_, crate::proxmox::Error>((version, live))
    });
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    let (version, live) = match read {
        Ok(v) => v,
        Err(e) => {
            let _ = store.finish_run(run, RunOutcome::Failed, Some(serde_json::json!({"error": e.to_string()})));
            return Err(miette!("refresh failed: {e}"));
        }
    };

    let stored = store.find_all(None)?;
    let (changes, summary) = refresh::reconcile(&stored, live);
    let outcome = store.commit_changes(Some(run), changes)?;
    let after = if summary.discovered.is_empty() && summary.changed.is_empty() && summary.gone.is_empty() {
        before
    } else {
        outcome.serial
    };
    let counts = serde_json::json!({
        "discovered": summary.discovered.len(),
        "changed": summary.changed.len(),
        "gone": summary.gone.len(),
        "unchanged": summary.unchanged,
    });
    store.finish_run(run, RunOutcome::Succeeded, Some(counts.clone()))?;

    if g.json {
        crate::render::print_json(&serde_json::json!({
            "endpoint": endpoint,
            "pve_version": version.version,
            "state": location.to_string(),
            "workspace": workspace,
            "run_id": run,
            "serial_before": before,
            "serial_after": after,
            "counts": counts,
            "discovered": summary.discovered.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "changed": summary.changed.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "gone": summary.gone.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    if g.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    println!("Refreshed state from {endpoint} (Proxmox VE {})\n", version.version);
    let sign = |s: &'static str| -> String {
        match (g.color, s) {
            (false, _) => s.to_string(),
            (true, "+") => s.green().to_string(),
            (true, "~") => s.yellow().to_string(),
            (true, _) => s.red().to_string(),
        }
    };
    let width =
        summary.discovered.iter().chain(&summary.changed).chain(&summary.gone).map(|a| a.to_string().len()).max();
    let width = width.unwrap_or(0);
    for a in &summary.discovered {
        println!("  {} {:width$}  discovered", sign("+"), a.to_string());
    }
    for a in &summary.changed {
        println!("  {} {:width$}  changed outside pmx", sign("~"), a.to_string());
    }
    for a in &summary.gone {
        println!("  {} {:width$}  gone from the cluster", sign("-"), a.to_string());
    }
    if summary.discovered.len() + summary.changed.len() + summary.gone.len() > 0 {
        println!();
    }
    println!(
        "Refresh complete: {} discovered, {} changed, {} gone, {} unchanged. State serial {before} → {after} ({}, workspace {}).",
        summary.discovered.len(),
        summary.changed.len(),
        summary.gone.len(),
        summary.unchanged,
        location,
        workspace,
    );
    Ok(ExitCode::SUCCESS)
}

/// A spinner on stderr while reading the cluster, only for people at a terminal.
pub(super) fn spinner(g: &Global, message: &str) -> Option<indicatif::ProgressBar> {
    if g.quiet || g.json || !crate::render::stderr_is_terminal() {
        return None;
    }
    let p = indicatif::ProgressBar::new_spinner();
    p.set_message(message.to_string());
    p.enable_steady_tick(Duration::from_millis(100));
    Some(p)
}
