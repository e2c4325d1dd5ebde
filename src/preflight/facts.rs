//! The live facts pre-flight checks need, read once per node or cluster (never per guest):
//! each node's storages with usage, its bridges, the token's permissions, the templates a
//! container names, the configs of clone sources, HA resources and node maintenance. What a
//! plan does not touch is not read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::future::join_all;
use serde_json::{Map, Value as Json};

use crate::plan::{Action, Plan, ResourceChange};
use crate::proxmox::models::{GuestKind, StorageEntry};
use crate::proxmox::{Params, PveClient};

/// One storage as a node sees it (`GET /nodes/{node}/storage`).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageFacts {
    pub plugin: String,
    pub content: BTreeSet<String>,
    pub enabled: bool,
    pub active: bool,
    pub shared: bool,
    pub total: u64,
    pub used: u64,
    pub avail: u64,
    /// Allocates as it is written (see `schema::pve::thin_provisioned`).
    pub thin: bool,
}

impl StorageFacts {
    fn of(e: &StorageEntry, config: Option<&StorageEntry>) -> StorageFacts {
        let sparse = config.and_then(|c| c.extra.get("sparse")).is_some_and(|v| v == 1 || v == "1" || v == true);
        let prealloc = config.and_then(|c| c.extra.get("preallocation")).and_then(Json::as_str);
        let plugin = e.storage_type.clone().or_else(|| config.and_then(|c| c.storage_type.clone())).unwrap_or_default();
        let total = e.total.unwrap_or(0);
        let used = e.used.unwrap_or(0);
        StorageFacts {
            thin: crate::schema::pve::thin_provisioned(&plugin, sparse, prealloc),
            plugin,
            content: e.content_types().into_iter().map(str::to_string).collect(),
            enabled: e.enabled.unwrap_or(true),
            active: e.active.unwrap_or(true),
            shared: e.shared.unwrap_or(false),
            total,
            used,
            avail: e.avail.unwrap_or(total.saturating_sub(used)),
        }
    }
}

/// The caller's effective privileges (`GET /access/permissions`), by ACL path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    pub paths: BTreeMap<String, BTreeSet<String>>,
}

impl Permissions {
    pub fn from_json(v: &Json) -> Permissions {
        let mut paths = BTreeMap::new();
        for (path, privs) in v.as_object().into_iter().flatten() {
            let set = privs.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
            paths.insert(path.clone(), set);
        }
        Permissions { paths }
    }

    /// The privileges at `path`: those of the nearest listed path at or above it (PVE lists
    /// every path that has an ACL, with what propagates to it already folded in).
    pub fn at(&self, path: &str) -> Option<&BTreeSet<String>> {
        let mut p = path.trim_end_matches('/').to_string();
        loop {
            if let Some(s) = self.paths.get(if p.is_empty() { "/" } else { &p }) {
                return Some(s);
            }
            if p.is_empty() {
                return None;
            }
            p.truncate(p.rfind('/').unwrap_or(0));
        }
    }

    pub fn has(&self, path: &str, privilege: &str) -> bool {
        self.at(path).is_some_and(|s| s.contains(privilege))
    }
}

/// What one cluster looks like to pre-flight, beyond the plan's cluster view.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Storages by node, for the nodes that get new disks or volumes.
    pub storages: HashMap<String, Result<BTreeMap<String, StorageFacts>, String>>,
    /// Bridges by node (`GET /nodes/{node}/network`), for nodes that get NICs.
    pub bridges: HashMap<String, Result<BTreeSet<String>, String>>,
    /// SDN VNets and their zones (`GET /cluster/sdn/vnets`): a NIC may name one instead of a
    /// node's bridge.
    pub vnets: BTreeMap<String, String>,
    /// `None` when they could not be read (the reason is in `permissions_error`).
    pub permissions: Option<Permissions>,
    pub permissions_error: Option<String>,
    /// Volumes of the `vztmpl` content by (node, storage), for the templates containers name.
    pub templates: HashMap<(String, String), Result<BTreeSet<String>, String>>,
    /// Configs of the guests that creates clone, by vmid.
    pub sources: HashMap<u32, Map<String, Json>>,
    /// Guests the HA manager manages (`GET /cluster/ha/resources`).
    pub ha: BTreeSet<u32>,
    /// Nodes in maintenance mode (`GET /cluster/ha/status/current`).
    pub maintenance: BTreeSet<String>,
    pub requests: usize,
}

/// What to read, from the changes a plan makes on one cluster.
#[derive(Debug, Default)]
pub struct Needs {
    pub storage_nodes: BTreeSet<String>,
    pub bridge_nodes: BTreeSet<String>,
    pub templates: BTreeSet<(String, String)>,
    pub sources: BTreeMap<u32, (String, GuestKind)>,
    pub permissions: bool,
}

fn str_at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// The node a change lands on (its `after`, else where it is now).
pub fn target_node(r: &ResourceChange) -> Option<String> {
    r.after.as_ref().and_then(|a| str_at(a, &["node"])).map(str::to_string).or_else(|| r.live.node.clone())
}

impl Needs {
    pub fn of(plan: &Plan, provider: &str, view: &crate::plan::ClusterView) -> Needs {
        let mut n = Needs::default();
        for r in plan.resource_changes.iter().filter(|r| r.provider == provider && r.is_change()) {
            n.permissions = true;
            let (Some(after), Some(node)) = (r.after.as_ref(), target_node(r)) else { continue };
            if !matches!(r.action, Action::Create | Action::Replace | Action::Update | Action::Import | Action::Move) {
                continue;
            }
            n.storage_nodes.insert(node.clone());
            n.bridge_nodes.insert(node.clone());
            if r.type_name == "container" {
                if let Some((storage, _)) = str_at(after, &["ostemplate"]).and_then(|t| t.split_once(':')) {
                    n.templates.insert((node.clone(), storage.to_string()));
                }
            }
            if matches!(r.action, Action::Create | Action::Replace) {
                if let Some(src) = after.get("clone").and_then(|c| c.get("source")).and_then(Json::as_u64) {
                    if let Some(g) = view.guest(src as u32) {
                        let kind = if g.kind == crate::proxmox::models::ResourceKind::Lxc {
                            GuestKind::Lxc
                        } else {
                            GuestKind::Qemu
                        };
                        if let Some(src_node) = &g.node {
                            n.storage_nodes.insert(src_node.clone());
                            n.sources.insert(src as u32, (src_node.clone(), kind));
                        }
                    }
                }
            }
        }
        n
    }
}

/// Reads the facts `needs` names, all at once. A read that fails is recorded, not fatal: the
/// check that needed it says so.
pub async fn read(client: &PveClient, needs: &Needs) -> Facts {
    let mut f = Facts::default();
    // The cluster's storage definitions say how each allocates (sparse, preallocation).
    let config: HashMap<String, StorageEntry> = if needs.storage_nodes.is_empty() {
        HashMap::new()
    } else {
        f.requests += 1;
        client.storages().await.unwrap_or_default().into_iter().map(|e| (e.storage.clone(), e)).collect()
    };
    let config = &config;
    let storages = join_all(needs.storage_nodes.iter().map(|node| async move {
        let r = client.node_storages(node, None).await;
        let of = |e: &StorageEntry| (e.storage.clone(), StorageFacts::of(e, config.get(&e.storage)));
        (node.clone(), r.map(|l| l.iter().map(of).collect()))
    }));
    let bridges = join_all(needs.bridge_nodes.iter().map(|node| async move {
        let path = format!("/nodes/{node}/network");
        let r: Result<Vec<Json>, _> = client.get(&path, &Params::new().set("type", "any_bridge")).await;
        let names = r.map(|l| l.iter().filter_map(|i| i.get("iface")?.as_str().map(str::to_string)).collect());
        (node.clone(), names)
    }));
    let templates = join_all(needs.templates.iter().map(|(node, storage)| async move {
        let r = client.storage_content(node, storage, Some("vztmpl")).await;
        ((node.clone(), storage.clone()), r.map(|l| l.into_iter().map(|c| c.volid).collect()))
    }));
    let sources = join_all(
        needs
            .sources
            .iter()
            .map(|(vmid, (node, kind))| async move { (*vmid, client.guest_config(node, kind, *vmid).await) }),
    );
    let permissions = async {
        if needs.permissions {
            Some(client.get::<Json>("/access/permissions", &Params::new()).await)
        } else {
            None
        }
    };
    let none = Params::new();
    let vnets = async {
        if needs.bridge_nodes.is_empty() {
            None
        } else {
            Some(client.get::<Vec<Json>>("/cluster/sdn/vnets", &none).await)
        }
    };
    let ha = client.get::<Vec<Json>>("/cluster/ha/resources", &none);
    let ha_status = client.get::<Vec<Json>>("/cluster/ha/status/current", &none);
    let (storages, bridges, templates, sources, permissions, ha, ha_status, vnets) =
        futures::join!(storages, bridges, templates, sources, permissions, ha, ha_status, vnets);
    if let Some(v) = vnets {
        f.requests += 1;
        // A cluster without SDN (or a token that may not see it) has none.
        f.vnets = v
            .unwrap_or_default()
            .iter()
            .filter_map(|v| Some((v.get("vnet")?.as_str()?.to_string(), v.get("zone")?.as_str()?.to_string())))
            .collect();
    }
    f.requests += storages.len() + bridges.len() + templates.len() + sources.len() + 2 + usize::from(needs.permissions);
    f.storages = storages.into_iter().map(|(n, r)| (n, r.map_err(|e| e.to_string()))).collect();
    f.bridges = bridges.into_iter().map(|(n, r)| (n, r.map_err(|e| e.to_string()))).collect();
    f.templates = templates.into_iter().map(|(k, r)| (k, r.map_err(|e| e.to_string()))).collect();
    f.sources = sources.into_iter().filter_map(|(v, r)| Some((v, r.ok()?.into_iter().collect()))).collect();
    match permissions {
        Some(Ok(p)) => f.permissions = Some(Permissions::from_json(&p)),
        Some(Err(e)) => f.permissions_error = Some(e.to_string()),
        None => {}
    }
    // HA is optional on a cluster (and answers nothing useful where it is not set up).
    for r in ha.unwrap_or_default() {
        let sid = r.get("sid").and_then(Json::as_str).unwrap_or("");
        if let Some(vmid) = sid.split_once(':').and_then(|(_, v)| v.parse().ok()).or_else(|| sid.parse().ok()) {
            f.ha.insert(vmid);
        }
    }
    for s in ha_status.unwrap_or_default() {
        let status = s.get("status").and_then(Json::as_str).unwrap_or("");
        if s.get("type").and_then(Json::as_str) == Some("lrm") && status.contains("maintenance") {
            if let Some(node) = s.get("node").and_then(Json::as_str) {
                f.maintenance.insert(node.to_string());
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_come_from_the_nearest_listed_path() {
        let p = Permissions::from_json(&serde_json::json!({
            "/": {"Sys.Audit": 1},
            "/vms": {"VM.Audit": 1, "VM.Allocate": 1},
            "/vms/100": {"VM.Audit": 1},
        }));
        assert!(p.has("/vms/101", "VM.Allocate"));
        assert!(!p.has("/vms/100", "VM.Allocate"), "a more specific ACL wins");
        assert!(p.has("/storage/local", "Sys.Audit"));
        assert!(!p.has("/storage/local", "Datastore.AllocateSpace"));
        assert!(Permissions::default().at("/vms").is_none());
    }
}
