//! An apply end to end: refuse a stale plan, lock the workspace, read the clusters again for the
//! values the configuration references, run the changes, record the run. Shared by
//! `pmx apply PLAN`, `pmx apply` (plan + approve) and `pmx destroy`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use miette::miette;
use serde_json::json;

use super::{Endpoint, Project};
use crate::apply::{self, ApplyOptions, ApplyReport, Ctx, Reporter};
use crate::plan::{self, Plan};
use crate::state::{RunKind, RunOutcome, Store};

/// Why the plan is not applied at all.
pub fn check_fresh(plan: &Plan, project: &Project, store: &mut Store) -> miette::Result<()> {
    let meta = store.meta()?;
    if plan.workspace != meta.workspace || plan.lineage != meta.lineage {
        return Err(miette!("the plan was made for workspace \"{}\" of another state; plan again", plan.workspace));
    }
    if plan.serial != meta.serial {
        return Err(miette!(
            help = "run `pmx plan --out FILE` again and review the new plan",
            "the plan is stale: state has changed since it was made (serial {} then, {} now)",
            plan.serial,
            meta.serial
        ));
    }
    let key = store.plan_key()?;
    if project.config_hash(&key) != plan.config_hash {
        return Err(miette!(
            help = "apply the plan with the configuration and variables it was made from, or plan again",
            "the configuration or its variable values changed since the plan was made"
        ));
    }
    if plan.is_blocked() {
        return Err(miette!("the plan has problems and cannot be applied"));
    }
    Ok(())
}

/// Runs a verified plan. The store must already hold the workspace lock.
#[allow(clippy::too_many_arguments)]
pub fn run(
    project: Project,
    store: Store,
    endpoints: IndexMap<String, Endpoint>,
    plan: Plan,
    opts: &ApplyOptions,
    reporter: Arc<dyn Reporter>,
    runtime: &tokio::runtime::Runtime,
    command: &str,
) -> miette::Result<ApplyReport> {
    let mut store = store;
    if plan.mode == crate::plan::PlanMode::RefreshOnly {
        return record_refresh(&mut store, &endpoints, runtime, command);
    }
    let key = store.plan_key()?;
    let stored = store.find_all(None)?;
    let views = runtime
        .block_on(plan::read(&endpoints, &stored, &plan::import_vmids(&project), opts.parallelism))
        .map_err(|(url, e)| miette!("cannot read the cluster at {url}: {e}"))?;
    let known = plan::known_values(&project, &stored, &views).map_err(|d| {
        let first = d.errors().next().map(|e| e.message.clone()).unwrap_or_default();
        miette!("the configuration no longer evaluates against the cluster: {first}")
    })?;
    recheck(&plan, &endpoints, &views, runtime)?;
    // The run's start and end are the trail's ReconciliationStarted / ReconciliationCompleted.
    let run = store.begin_run(RunKind::Apply, command)?;
    let store = Arc::new(Mutex::new(store));
    let ctx = Arc::new(Ctx::new(project, plan, endpoints, store.clone(), run, key, views, known, opts));
    let report = runtime.block_on(async {
        let cancelled = ctx.cancelled.clone();
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancelled.store(true, Ordering::SeqCst);
                eprintln!("\nInterrupt received: no new changes start; waiting for the running ones (Ctrl-C again to leave now).");
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("Leaving now; the next plan or apply picks up what was half done.");
                    std::process::exit(130);
                }
            }
        });
        let report = apply::run(ctx.clone(), opts, reporter).await;
        watcher.abort();
        report
    });
    let mut store = store.lock().map_err(|_| miette!("state store lock poisoned"))?;
    let (calls, retries) = ctx.endpoints.values().map(|e| e.client.stats()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let counts = report.metrics(calls, retries);
    let outcome = if report.failed() > 0 || report.interrupted { RunOutcome::Failed } else { RunOutcome::Succeeded };
    store.finish_run(run, outcome, Some(json!({"counts": counts, "changes": report.results})))?;
    let _ = store.unlock();
    Ok(report)
}

/// Pre-flight again, against the clusters as they are now: a saved plan whose facts no longer
/// hold (the space was taken, a privilege revoked) is refused whole, before any change.
fn recheck(
    plan: &Plan,
    endpoints: &IndexMap<String, Endpoint>,
    views: &std::collections::HashMap<String, plan::ClusterView>,
    runtime: &tokio::runtime::Runtime,
) -> miette::Result<()> {
    if plan.preflight_skipped || !plan.has_changes() {
        return Ok(());
    }
    let facts = runtime.block_on(crate::preflight::read_facts(endpoints, views, plan));
    let now: Vec<String> = crate::preflight::check(plan, views, &facts)
        .into_iter()
        .filter(|f| f.blocks())
        .map(|f| format!("  {} [{}]: {} ({})", f.address, f.check, f.message, f.live))
        .collect();
    if now.is_empty() {
        return Ok(());
    }
    Err(miette!(
        help = "plan again: the cluster changed since the plan was made",
        "pre-flight: the plan can no longer be applied, nothing was changed:\n{}",
        now.join("\n")
    ))
}

/// Applying a `--refresh-only` plan: record what the clusters hold now, as `pmx refresh` does
/// (snapshots and events), changing nothing on them.
fn record_refresh(
    store: &mut Store,
    endpoints: &IndexMap<String, Endpoint>,
    runtime: &tokio::runtime::Runtime,
    command: &str,
) -> miette::Result<ApplyReport> {
    let run = store.begin_run(RunKind::Refresh, command)?;
    let started = std::time::Instant::now();
    let mut results = Vec::new();
    for (key, ep) in endpoints {
        let live = match runtime.block_on(crate::refresh::read_cluster_of(key, &ep.client)) {
            Ok(l) => l,
            Err(e) => {
                let _ = store.finish_run(run, RunOutcome::Failed, Some(json!({"error": e.to_string()})));
                return Err(miette!("cannot read the cluster at {}: {e}", ep.url));
            }
        };
        let stored = store.find_all(None)?;
        let (changes, summary) = crate::refresh::reconcile_in(key, &stored, live);
        store.commit_changes(Some(run), changes)?;
        for a in summary.changed.iter().chain(&summary.discovered).chain(&summary.gone) {
            results.push(crate::apply::ChangeResult {
                address: a.to_string(),
                action: crate::plan::Action::Update,
                outcome: crate::apply::Outcome::Applied,
                elapsed_ms: 0,
            });
        }
    }
    let report = ApplyReport { results, elapsed_ms: started.elapsed().as_millis(), interrupted: false };
    store.finish_run(run, RunOutcome::Succeeded, Some(report.counts()))?;
    let _ = store.unlock();
    Ok(report)
}
