//! `pmx refresh`: read the live cluster and bring the state store up to date with it.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use miette::{miette, IntoDiagnostic};
use owo_colors::OwoColorize;

use super::state::StateOptions;
use super::{CmdResult, Global, VarArgs};
use indexmap::IndexMap;

use crate::config;
use crate::operation::Endpoint;
use crate::proxmox::ProviderSettings;
use crate::refresh;
use crate::state::{RunKind, RunOutcome};

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateOptions,
}

/// The clusters to read and the configured state settings: every provider block of the
/// project's `.pmx` files (then `PMX_*` environment variables), or the environment alone in a
/// folder without configuration.
fn endpoints(
    args: &RefreshArgs,
    g: &Global,
) -> miette::Result<(IndexMap<String, Endpoint>, Option<crate::config::model::StateSettings>)> {
    let has_config = config::config_files(&g.dir).map(|f| !f.is_empty()).unwrap_or(false);
    if !has_config {
        let settings = ProviderSettings::default().with_env().into_diagnostic()?;
        let mut out = IndexMap::new();
        out.insert(refresh::DEFAULT_CLUSTER.to_string(), Endpoint::new(refresh::DEFAULT_CLUSTER, settings)?);
        return Ok((out, None));
    }
    let project = match super::plan::load_project(g, &args.vars) {
        Ok(p) => p,
        Err(_) => return Err(miette!("the configuration has errors; fix them before refreshing")),
    };
    Ok((project.clients()?, project.state_settings().cloned()))
}

pub fn run(args: RefreshArgs, g: &Global) -> CmdResult {
    let (endpoints, configured_state) = endpoints(&args, g)?;
    let (location, workspace) = args.state.resolve(g, configured_state.as_ref())?;
    let mut store = crate::state::Store::open(&location, &workspace)?;
    store.lock("pmx refresh", args.state.lock_timeout)?;
    let before = store.meta()?.serial;
    let run = store.begin_run(RunKind::Refresh, "pmx refresh")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().into_diagnostic()?;

    let mut summary = refresh::RefreshSummary::default();
    let mut versions = Vec::new();
    let mut after = before;
    for (key, ep) in &endpoints {
        let progress = spinner(g, &format!("Reading {}", ep.url));
        let read = runtime.block_on(async {
            let version = ep.client.version().await?;
            let live = refresh::read_cluster_of(key, &ep.client).await?;
            Ok::<_, crate::proxmox::Error>((version, live))
        });
        if let Some(p) = &progress {
            p.finish_and_clear();
        }
        let (version, live) = match read {
            Ok(v) => v,
            Err(e) => {
                let _ = store.finish_run(run, RunOutcome::Failed, Some(serde_json::json!({"error": e.to_string()})));
                return Err(miette!("refresh failed at {}: {e}", ep.url));
            }
        };
        versions.push((ep.url.clone(), version.version));
        let stored = store.find_all(None)?;
        let (changes, s) = refresh::reconcile_in(key, &stored, live);
        let changed = !(s.discovered.is_empty() && s.changed.is_empty() && s.gone.is_empty());
        let outcome = store.commit_changes(Some(run), changes)?;
        if changed {
            after = outcome.serial;
        }
        summary.discovered.extend(s.discovered);
        summary.changed.extend(s.changed);
        summary.gone.extend(s.gone);
        summary.unchanged += s.unchanged;
    }
    let counts = serde_json::json!({
        "discovered": summary.discovered.len(),
        "changed": summary.changed.len(),
        "gone": summary.gone.len(),
        "unchanged": summary.unchanged,
    });
    store.finish_run(run, RunOutcome::Succeeded, Some(counts.clone()))?;
    let endpoint = versions.first().map(|(u, _)| u.clone()).unwrap_or_default();
    let pve_version = versions.first().map(|(_, v)| v.clone()).unwrap_or_default();

    if g.json {
        crate::render::print_json(&serde_json::json!({
            "endpoint": endpoint,
            "pve_version": pve_version,
            "clusters": versions.iter().map(|(u, v)| serde_json::json!({"endpoint": u, "pve_version": v})).collect::<Vec<_>>(),
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
    for (url, v) in &versions {
        println!("Refreshed state from {url} (Proxmox VE {v})");
    }
    println!();
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
