//! What a killed apply left half done, found from the intent journal and settled before the
//! next plan or apply: a guest created but not recorded is adopted (when Proxmox shows it is
//! the one pmx was creating), a task still running is waited for, and a vmid reserved for a
//! guest that never came is freed. Like a finalizer's state machine: each open intent moves to
//! `done` or `abandoned`, never stays open.
//!
//! Only a process holding the workspace lock recovers: an open intent of an apply that is
//! still running is not half done.

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use crate::codec::{self, LiveGuest};
use crate::operation::Endpoint;
use crate::plan::{self, Bookkeeping, PMX_META};
use crate::proxmox::models::{GuestKind, ResourceKind as PveKind};
use crate::state::{Change, ChangeType, Intent, Origin, Store};

/// What recovery did, for the views.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Recovery {
    /// Guests found on the cluster and recorded in state.
    pub adopted: Vec<String>,
    /// Intents closed: their write was done (or is superseded by the next plan's refresh).
    pub settled: Vec<String>,
    /// Reservations freed: the guest never came.
    pub freed: Vec<String>,
}

impl Recovery {
    pub fn is_empty(&self) -> bool {
        self.adopted.is_empty() && self.settled.is_empty() && self.freed.is_empty()
    }
}

/// What the cluster says about one open intent.
enum Finding {
    /// The guest the intent was creating exists: its raw config, node and power state.
    Created { config: Map<String, Json>, node: String, running: bool, pool: Option<String> },
    /// A guest holds the vmid, but nothing shows pmx made it.
    Foreign(String),
    /// Nothing holds the vmid: the create never happened.
    Absent,
    /// Not a create: the next plan's refresh reads whatever happened.
    Superseded,
}

async fn look(ep: &Endpoint, intent: &Intent) -> Result<Finding, String> {
    let client = &ep.client;
    if let Some(raw) = &intent.upid {
        if let Ok(upid) = raw.parse::<crate::proxmox::tasks::Upid>() {
            // Let a task that is still running finish first; its outcome is read below.
            let _ = client.wait(&upid).await;
        }
    }
    let creating = matches!(intent.action.as_str(), "create" | "clone");
    if !creating {
        return Ok(Finding::Superseded);
    }
    if intent.address.config.type_name == "pool" {
        let id = intent.detail.get("poolid").and_then(Json::as_str).unwrap_or_default().to_string();
        let pools = client.pools().await.map_err(|e| e.to_string())?;
        return Ok(if pools.iter().any(|p| p.poolid == id) {
            Finding::Created { config: Map::new(), node: String::new(), running: false, pool: Some(id) }
        } else {
            Finding::Absent
        });
    }
    let Some(vmid) = intent.vmid else { return Ok(Finding::Absent) };
    let resources = client.cluster_resources(Some("vm")).await.map_err(|e| e.to_string())?;
    let Some(r) = resources.iter().find(|r| r.vmid == Some(vmid)) else { return Ok(Finding::Absent) };
    let node = r.node.clone().unwrap_or_default();
    let kind = if r.kind == PveKind::Lxc { GuestKind::Lxc } else { GuestKind::Qemu };
    let config: Map<String, Json> =
        client.guest_config(&node, &kind, vmid).await.map_err(|e| e.to_string())?.into_iter().collect();
    // The proof that this is pmx's guest: the vmid pmx reserved and checked free before the
    // intent, holding the name it was given and, for a VM pmx created, a creation time after
    // the intent was written (qemu-server's create_vm stamps `meta: ctime=`; a clone copies
    // its source's `meta`, so a clone is proven by the vmid and the name alone, as a container).
    let name_key = if kind == GuestKind::Lxc { "hostname" } else { "name" };
    let want_name = intent.detail.get("name").and_then(Json::as_str);
    let has_name = config.get(name_key).and_then(Json::as_str);
    let name_ok = want_name.is_none_or(|w| Some(w) == has_name);
    let ctime = config
        .get("meta")
        .and_then(Json::as_str)
        .and_then(|m| m.split(',').find_map(|kv| kv.strip_prefix("ctime=")))
        .and_then(|t| t.parse::<i64>().ok());
    let time_ok = match (kind, ctime) {
        (GuestKind::Lxc, _) => true,
        _ if intent.action == "clone" => true,
        (_, Some(t)) => t + 60 >= intent.created_at / 1000,
        (_, None) => false,
    };
    if name_ok && time_ok {
        Ok(Finding::Created { config, node, running: r.status.as_deref() == Some("running"), pool: r.pool.clone() })
    } else {
        Ok(Finding::Foreign(has_name.unwrap_or("unnamed").to_string()))
    }
}

/// Settles every open intent. The store must hold the workspace lock.
pub fn recover(
    store: &mut Store,
    endpoints: &IndexMap<String, Endpoint>,
    runtime: &tokio::runtime::Runtime,
) -> Result<Recovery, String> {
    let intents = store.open_intents().map_err(|e| e.to_string())?;
    let mut out = Recovery::default();
    for intent in intents {
        let Some(ep) = endpoints.get(&intent.cluster) else {
            // A cluster this configuration no longer names: leave it for a run that does.
            continue;
        };
        let finding = runtime.block_on(look(ep, &intent))?;
        let addr = intent.address.to_string();
        let in_state = store.get(&intent.address).map_err(|e| e.to_string())?;
        match finding {
            Finding::Created { config, node, running, pool } => {
                let already = in_state.as_ref().is_some_and(|s| s.identity.vmid == intent.vmid);
                if !already {
                    let change = adoption(&intent, config, node, running, pool, in_state.is_some());
                    store.commit_changes(None, vec![change]).map_err(|e| e.to_string())?;
                    out.adopted.push(addr.clone());
                } else {
                    out.settled.push(addr.clone());
                }
                store.finish_intent(&intent.id).map_err(|e| e.to_string())?;
                if let Some(v) = intent.vmid {
                    let _ = store.release_vmid(&intent.cluster, v);
                }
            }
            Finding::Foreign(name) => {
                store
                    .abandon_intent(&intent.id, &format!("vmid taken by \"{name}\", which pmx cannot prove it created"))
                    .map_err(|e| e.to_string())?;
                if let Some(v) = intent.vmid {
                    let _ = store.release_vmid(&intent.cluster, v);
                }
                out.freed.push(addr);
            }
            Finding::Absent => {
                store.abandon_intent(&intent.id, "never created").map_err(|e| e.to_string())?;
                if let Some(v) = intent.vmid {
                    let _ = store.release_vmid(&intent.cluster, v);
                }
                out.freed.push(addr);
            }
            Finding::Superseded => {
                store.finish_intent(&intent.id).map_err(|e| e.to_string())?;
                out.settled.push(addr);
            }
        }
    }
    Ok(out)
}

/// The state record of a guest (or pool) found created by a killed apply.
fn adoption(
    intent: &Intent,
    config: Map<String, Json>,
    node: String,
    running: bool,
    pool: Option<String>,
    replace: bool,
) -> Change {
    let type_name = intent.address.config.type_name.as_str();
    let kind = plan::kind_of(type_name).unwrap_or(crate::state::ResourceKind::Vm);
    let book = Bookkeeping { provider: intent.cluster.clone(), origin: "managed".into(), ..Bookkeeping::default() };
    let ct = if replace { ChangeType::Replaced } else { ChangeType::Created };
    let payload = json!({"source": "recovery", "intent": intent.id, "action": intent.action});
    if type_name == "pool" {
        let mut m = Map::new();
        m.insert("id".into(), Json::String(pool.unwrap_or_default()));
        m.insert(PMX_META.into(), serde_json::to_value(&book).unwrap_or(Json::Null));
        return Change::new(ct, kind, intent.address.clone(), Json::Object(m))
            .cluster(intent.cluster.clone())
            .origin(Origin::Managed)
            .payload(payload);
    }
    let rt = plan::schema_of(kind).expect("guest schema");
    let vmid = intent.vmid.unwrap_or_default();
    let fingerprint = plan::fingerprint_of(&config);
    let digest = config.get("digest").and_then(Json::as_str).map(str::to_string);
    let guest = LiveGuest { node: node.clone(), vmid, pool, running, template: false, config };
    let mut attrs = codec::decode(rt, &guest);
    attrs.insert(PMX_META.into(), serde_json::to_value(&book).unwrap_or(Json::Null));
    let mut c = Change::new(ct, kind, intent.address.clone(), Json::Object(attrs))
        .node(node)
        .vmid(vmid)
        .status(if running { "running" } else { "stopped" })
        .cluster(intent.cluster.clone())
        .origin(Origin::Managed)
        .payload(payload);
    if let Some(f) = fingerprint {
        c = c.fingerprint(f);
    }
    if let Some(d) = digest {
        c = c.digest(d);
    }
    c
}
