//! A plan end to end: check the requested addresses, read every cluster, decide. Shared by
//! `pmx plan`, `pmx apply` without a plan file and `pmx destroy`.

use std::collections::HashMap;

use indexmap::IndexMap;
use miette::miette;

use super::{Endpoint, Project};
use crate::addr::ResourceAddress;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::{self, ClusterView, Plan, PlanRequest};
use crate::state::Store;

/// Why no plan came out.
pub enum PlanError {
    /// The configuration, a data source, an address: every problem, with its place.
    Diagnostics(Diagnostics),
    Other(miette::Report),
}

impl From<miette::Report> for PlanError {
    fn from(e: miette::Report) -> Self {
        PlanError::Other(e)
    }
}

impl From<crate::state::StateError> for PlanError {
    fn from(e: crate::state::StateError) -> Self {
        PlanError::Other(e.into())
    }
}

/// Parses `--target`/`--replace` addresses against the graph, every bad one reported with a
/// "did you mean".
pub fn resolve_addresses(project: &Project, flag: &str, raw: &[String]) -> Result<Vec<ResourceAddress>, Diagnostics> {
    let mut out = Vec::new();
    let mut diags = Diagnostics::new();
    let known: Vec<&ResourceAddress> = project.graph.instances.keys().collect();
    for r in raw {
        match r.parse::<ResourceAddress>() {
            Ok(a) => {
                let matches =
                    known.iter().any(|k| **k == a || (a.key == crate::addr::InstanceKey::None && k.config == a.config));
                if matches {
                    out.push(a);
                } else {
                    let mut d = Diagnostic::error(format!("--{flag} {r}: no such resource in the configuration"))
                        .with_code("pmx::plan::unknown_address");
                    if let Some(help) = crate::config::suggest::did_you_mean_instance(&a, known.iter().copied()) {
                        d = d.with_help(help);
                    }
                    diags.push(d);
                }
            }
            Err(e) => diags.push(Diagnostic::error(format!("--{flag} {r}: {e}")).with_code("pmx::plan::bad_address")),
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// Reads the clusters and decides the plan. Nothing is written to state.
pub fn make(
    project: &Project,
    store: &mut Store,
    endpoints: &IndexMap<String, Endpoint>,
    req: &PlanRequest,
    runtime: &tokio::runtime::Runtime,
) -> Result<(Plan, HashMap<String, ClusterView>), PlanError> {
    settle_open_intents(store, endpoints, runtime)?;
    let meta = store.meta()?;
    let key = store.plan_key()?;
    let t = std::time::Instant::now();
    let stored = store.find_all(None)?;
    tracing::info!(resources = stored.len(), elapsed_ms = t.elapsed().as_millis() as u64, "state read");
    let t = std::time::Instant::now();
    let views = runtime
        .block_on(plan::read(endpoints, &stored, &plan::import_vmids(project), req.parallelism))
        .map_err(|(url, e)| PlanError::Other(miette!("cannot read the cluster at {url}: {e}")))?;
    let requests: usize = views.values().map(|v| v.requests).sum();
    let read_ms = t.elapsed().as_millis() as u64;
    tracing::info!(
        requests,
        elapsed_ms = read_ms,
        per_second = (requests as f64 * 1000.0 / read_ms.max(1) as f64) as u64,
        "cluster read"
    );
    let t = std::time::Instant::now();
    let mut plan = plan::decide(project, &stored, &views, &meta, &key, req).map_err(PlanError::Diagnostics)?;
    tracing::info!(elapsed_ms = t.elapsed().as_millis() as u64, "plan decided");
    plan.endpoints = endpoints.iter().map(|(k, e)| (k.clone(), e.url.clone())).collect();
    for r in &mut plan.resource_changes {
        if let Some(i) = r.address.parse().ok().and_then(|a: ResourceAddress| project.graph.instances.get(&a)) {
            r.preflight_ignore = i.lifecycle.preflight_ignore.clone();
            r.max_disruptions = i.lifecycle.max_disruptions;
        }
    }
    plan.preflight_skipped = !req.preflight;
    if req.preflight {
        let t = std::time::Instant::now();
        let facts = runtime.block_on(crate::preflight::read_facts(endpoints, &views, &plan));
        plan.preflight = crate::preflight::check(&plan, &views, &facts);
        crate::preflight::spans::place(&mut plan.preflight, &project.loaded.module);
        tracing::info!(
            findings = plan.preflight.len(),
            requests = facts.values().map(|f| f.requests).sum::<usize>(),
            elapsed_ms = t.elapsed().as_millis() as u64,
            "pre-flight checked"
        );
    }
    Ok((plan, views))
}

/// Settles what a killed apply left half done (see `apply::recover`), when no other pmx holds
/// the workspace: open intents of a running apply are not half done. Says what it did on stderr.
pub fn settle_open_intents(
    store: &mut Store,
    endpoints: &IndexMap<String, Endpoint>,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), PlanError> {
    if store.open_intents()?.is_empty() && !store.has_own_reservations()? {
        return Ok(());
    }
    let held = store.held_lock().is_some();
    if !held && store.lock("pmx recovery", std::time::Duration::ZERO).is_err() {
        eprintln!("Note: another pmx holds the workspace; its unfinished changes are left to it.");
        return Ok(());
    }
    let result = crate::apply::recover::recover(store, endpoints, runtime);
    // Reservations no intent names: a kill between reserving a vmid and writing its intent.
    if result.is_ok() {
        for (cluster, vmid) in store.release_orphan_reservations().unwrap_or_default() {
            eprintln!("Recovered: vmid {vmid} on {cluster} was reserved by an interrupted apply that never used it; it is freed.");
        }
    }
    if !held {
        let _ = store.unlock();
    }
    let r = result.map_err(|e| PlanError::Other(miette!("cannot settle what an interrupted apply left: {e}")))?;
    for a in &r.adopted {
        eprintln!("Recovered: {a} was created by an interrupted apply; it is now recorded in state.");
    }
    for a in &r.freed {
        eprintln!("Recovered: {a} was never created by an interrupted apply; its vmid reservation is freed.");
    }
    if !r.settled.is_empty() {
        eprintln!(
            "Recovered: {} unfinished change(s) of an interrupted apply; this plan reads them again.",
            r.settled.len()
        );
    }
    Ok(())
}

/// The attributes of every resource as state recorded them at `serial` (the latest snapshot at
/// or before it), by address; resources that did not exist then are absent.
pub fn recorded_at(
    store: &mut Store,
    serial: i64,
) -> miette::Result<std::collections::BTreeMap<String, serde_json::Value>> {
    let meta = store.meta()?;
    if serial < 0 || serial > meta.serial {
        return Err(miette!("--rollback-to {serial}: the state's serials run from 0 to {}", meta.serial));
    }
    let mut addresses: Vec<crate::addr::ResourceAddress> =
        store.find_all(None)?.into_iter().map(|s| s.address).collect();
    for e in store.history(None, None)? {
        if let Some(a) = e.address.clone() {
            if !addresses.contains(&a) {
                addresses.push(a);
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    for a in addresses {
        let versions = store.snapshots(&a)?;
        let then = versions.iter().filter(|v| v.serial <= serial).max_by_key(|v| v.serial);
        if let Some(v) = then {
            let managed = v.origin == crate::state::Origin::Managed
                && v.attributes.as_ref().is_some_and(|a| a.get(crate::plan::PMX_META).is_some());
            if let (Some(attrs), false, true) = (&v.attributes, v.change.removes(), managed) {
                out.insert(a.to_string(), attrs.clone());
            }
        }
    }
    Ok(out)
}
