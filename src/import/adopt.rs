//! `pmx state import ADDR ID`: record one existing guest (or pool) in state as managed under an
//! address the configuration declares, in one locked run, for scripts. What an `import` block
//! does through plan and apply, without a plan.

use std::time::Duration;

use miette::miette;
use serde_json::json;

use crate::addr::ResourceAddress;
use crate::operation::Project;
use crate::plan::Bookkeeping;
use crate::state::{Change, ChangeType, Origin, RunKind, RunOutcome, Store};

/// What was recorded.
#[derive(Debug)]
pub struct Adopted {
    pub address: ResourceAddress,
    /// `pve1/qemu/100`, or the pool's id.
    pub id: String,
    /// Options pmx leaves as they are.
    pub unmanaged: Vec<String>,
    /// Something the user should know (imported while locked).
    pub note: Option<String>,
}

/// Checks `address` against the configuration, with a "did you mean" when it is not there.
fn declared(project: &Project, text: &str) -> miette::Result<ResourceAddress> {
    let address: ResourceAddress = text
        .parse()
        .map_err(|e| miette!(help = "addresses look like vm.web, vm.web[0] or vm.db[\"a\"]", "{text}: {e}"))?;
    if project.graph.instances.contains_key(&address) {
        return Ok(address);
    }
    let instances: Vec<String> =
        project.graph.instances.keys().filter(|k| k.config == address.config).map(|k| k.to_string()).collect();
    if !instances.is_empty() {
        return Err(miette!(
            help = format!("it has the instances: {}", instances.join(", ")),
            "{address} is not one instance"
        ));
    }
    let configs: Vec<&crate::addr::ConfigAddress> = project.graph.instances.keys().map(|k| &k.config).collect();
    let help = crate::config::suggest::did_you_mean_address(&address.config, configs).unwrap_or_else(|| {
        format!("declare resource \"{}\" \"{}\" first", address.config.type_name, address.config.name)
    });
    Err(miette!(help = help, "{address} is not in the configuration"))
}

/// Records the guest `id` (`pve1/qemu/100`, `qemu/100`, `100`; a pool's id for a pool) as
/// `address_text`, which the configuration must declare. Refuses an address or a guest that
/// state already manages, and an id the cluster does not have.
pub fn state_import(
    project: &Project,
    store: &mut Store,
    address_text: &str,
    id: &str,
    lock_timeout: Duration,
) -> miette::Result<Adopted> {
    let address = declared(project, address_text)?;
    let provider =
        project.graph.instances.get(&address).map(|i| i.provider.clone()).unwrap_or_else(|| "proxmox".into());
    let endpoints = project.clients()?;
    let endpoint = endpoints.get(&provider).ok_or_else(|| miette!("no provider \"{provider}\""))?;
    let command = format!("pmx state import {address_text} {id}");
    store.lock(&command, lock_timeout)?;
    let run = store.begin_run(RunKind::Import, &command)?;
    let result = record(store, run, &address, id, &provider, endpoint);
    let outcome = if result.is_ok() { RunOutcome::Succeeded } else { RunOutcome::Failed };
    let detail = match &result {
        Ok(a) => json!({"imported": 1, "address": a.address.to_string(), "id": a.id}),
        Err(e) => json!({"error": e.to_string()}),
    };
    store.finish_run(run, outcome, Some(detail))?;
    let _ = store.unlock();
    result
}

fn record(
    store: &mut Store,
    run: i64,
    address: &ResourceAddress,
    id: &str,
    provider: &str,
    endpoint: &crate::operation::Endpoint,
) -> miette::Result<Adopted> {
    let stored = store.find_all(None)?;
    let managed: Vec<_> = stored
        .iter()
        .filter(|s| Bookkeeping::is_managed(s) && s.cluster.as_deref().unwrap_or("proxmox") == provider)
        .collect();
    if let Some(s) = managed.iter().find(|s| s.address == *address) {
        let what = s.identity.vmid.map(|v| format!(" (guest {v})")).unwrap_or_default();
        return Err(miette!(
            help = format!("`pmx state rm {address}` first to import another one into it"),
            "{address} is already managed{what}"
        ));
    }
    let type_name = address.config.type_name.as_str();
    let runtime = crate::operation::runtime()?;
    let vmid: Option<u32> = id.rsplit('/').next().and_then(|v| v.parse().ok());
    let vmids: Vec<u32> = if type_name == "pool" { vec![] } else { vmid.into_iter().collect() };
    let view = runtime
        .block_on(crate::plan::read::read_view(&endpoint.client, &vmids, 1))
        .map_err(|e| miette!("cannot read the cluster at {}: {e}", endpoint.url))?;
    let (change, unmanaged, note) = if type_name == "pool" {
        if let Some(s) = managed.iter().find(|s| {
            s.kind == crate::state::ResourceKind::Pool && s.attributes.get("id").and_then(|v| v.as_str()) == Some(id)
        }) {
            return Err(miette!("pool {id} is already managed as {}", s.address));
        }
        let p = view.pool(id).ok_or_else(|| miette!("no pool \"{id}\" on {}", endpoint.url))?;
        (super::pool_change(address.clone(), p, provider), vec![], None)
    } else {
        let r = super::generate::find_guest(type_name, id, &view)
            .map_err(|why| miette!("cannot import \"{id}\": {why}"))?;
        let vmid = r.vmid.unwrap_or_default();
        if let Some(s) = managed.iter().find(|s| s.identity.vmid == Some(vmid)) {
            return Err(miette!("guest {vmid} is already managed as {}", s.address));
        }
        let config = view.configs.get(&vmid).ok_or_else(|| miette!("cannot read the config of guest {vmid}"))?;
        let lock = config.get("lock").and_then(|v| v.as_str());
        if let Some(l) = lock.filter(|l| !super::lock_keeps_config(l)) {
            return Err(miette!("guest {vmid} is locked ({l}); import it when the lock is gone"));
        }
        let note =
            lock.map(|l| format!("imported while locked ({l}); pmx waits for the lock before it changes the guest"));
        let g = super::guest(r, config, &address.config.name, &Default::default(), provider)
            .ok_or_else(|| miette!("cannot adopt guest {vmid}"))?;
        let mut change = g.change;
        change.address = address.clone();
        (change, g.unmanaged, note)
    };
    let id = match (change.identity.node.as_deref(), change.identity.vmid) {
        (Some(node), Some(vmid)) => format!("{node}/{}/{vmid}", if type_name == "container" { "lxc" } else { "qemu" }),
        _ => id.to_string(),
    };
    // A record `pmx refresh` made of the same guest gives way to the managed one.
    let mut batch: Vec<Change> = stored
        .iter()
        .filter(|s| {
            s.origin == Origin::Discovered && s.identity.vmid.is_some() && s.identity.vmid == change.identity.vmid
        })
        .filter(|s| s.cluster.as_deref().unwrap_or("proxmox") == provider)
        .map(|s| {
            Change::new(ChangeType::Forgotten, s.kind, s.address.clone(), serde_json::Value::Null)
                .payload(json!({"source": "state import", "now": address.to_string()}))
        })
        .collect();
    batch.push(change.payload(json!({"source": "state import", "id": id})));
    store.commit_changes(Some(run), batch)?;
    Ok(Adopted { address: address.clone(), id, unmanaged, note })
}
