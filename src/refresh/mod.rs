//! Refresh: read the live cluster through the Proxmox client and reconcile the state store with
//! it. This is ADR-0002's discovery service: what is new is recorded as discovered, what changed
//! outside pmx gets a new snapshot, what vanished is recorded as deleted — each with its event,
//! all in one transaction.
//!
//! Two halves, so that the decision is testable without a cluster:
//! - [`read_cluster`] turns API answers into [`LiveResource`]s (the only async, networked part);
//! - [`reconcile`] compares them with what state holds and returns the [`Change`]s to commit.
//!
//! Addresses: a guest already in state (under any address, e.g. `vm.web[0]`) is matched by its
//! vmid and keeps its address; an unmanaged guest is recorded as `vm.discovered[VMID]` or
//! `container.discovered[VMID]`, stable across renames. Nodes are `data.node.NAME`, storages
//! `data.storage.NAME["NODE"]`, pools `pool.ID`.

use std::collections::{BTreeMap, HashMap};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value as Json};

use crate::addr::{ConfigAddress, InstanceKey, ResourceAddress};
use crate::proxmox::models::{ClusterResource, GuestKind, ResourceKind as PveKind};
use crate::proxmox::{Error as PveError, PveClient};
use crate::state::{Change, ChangeType, Identity, Origin, ResourceKind, StoredResource};

/// How many guest configs are read at once (the client adds its own per-node limit).
const CONFIG_READ_PARALLELISM: usize = 32;

/// One thing found on the cluster, in the shape state stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveResource {
    pub address: ResourceAddress,
    pub kind: ResourceKind,
    pub identity: Identity,
    pub digest: Option<String>,
    pub status: Option<String>,
    /// Stable attributes only: no counters (uptime, cpu load, memory in use) that would make
    /// every refresh look like a change.
    pub attributes: Json,
}

/// The address an unmanaged guest is recorded under.
pub fn discovered_address(kind: ResourceKind, vmid: u32) -> ResourceAddress {
    discovered_address_in(DEFAULT_CLUSTER, kind, vmid)
}

/// The provider key of the default cluster.
pub const DEFAULT_CLUSTER: &str = "proxmox";

/// The address an unmanaged guest of `cluster` is recorded under: `vm.discovered[100]` in the
/// default cluster, `vm.discovered["dc2/100"]` in `proxmox.dc2`, so that two clusters' vmids
/// never share an address.
pub fn discovered_address_in(cluster: &str, kind: ResourceKind, vmid: u32) -> ResourceAddress {
    let type_name = if kind == ResourceKind::Container { "container" } else { "vm" };
    let key = match alias_of(cluster) {
        None => InstanceKey::Int(i64::from(vmid)),
        Some(a) => InstanceKey::Str(format!("{a}/{vmid}")),
    };
    ConfigAddress::managed(type_name, "discovered").instance(key)
}

fn alias_of(cluster: &str) -> Option<&str> {
    cluster.strip_prefix("proxmox.")
}

/// An instance key naming `name` within `cluster` (the name alone in the default cluster).
fn keyed(cluster: &str, name: &str) -> InstanceKey {
    match alias_of(cluster) {
        None => InstanceKey::None,
        Some(a) => InstanceKey::Str(format!("{a}/{name}")),
    }
}

/// Reads nodes, storages, pools and every guest with its config, of the default cluster.
pub async fn read_cluster(client: &PveClient) -> Result<Vec<LiveResource>, PveError> {
    read_cluster_of(DEFAULT_CLUSTER, client).await
}

/// Reads nodes, storages, pools and every guest with its config, addressed within `cluster`.
pub async fn read_cluster_of(cluster: &str, client: &PveClient) -> Result<Vec<LiveResource>, PveError> {
    let resources = client.cluster_resources(None).await?;
    let mut live = Vec::new();
    let mut guests = Vec::new();
    for r in resources {
        match r.kind {
            PveKind::Node => live.push(node_resource(cluster, &r)),
            PveKind::Storage => live.extend(storage_resource(cluster, &r)),
            PveKind::Qemu => guests.push((GuestKind::Qemu, r)),
            PveKind::Lxc => guests.push((GuestKind::Lxc, r)),
            _ => {}
        }
    }
    let configs: Vec<Result<LiveResource, PveError>> = stream::iter(guests)
        .map(|(kind, r)| async move {
            let (Some(node), Some(vmid)) = (r.node.clone(), r.vmid) else {
                return Ok(None);
            };
            let config = client.guest_config(&node, &kind, vmid).await?;
            Ok(Some(guest_resource(cluster, kind, &node, vmid, &r, config.into_iter().collect())))
        })
        .buffer_unordered(CONFIG_READ_PARALLELISM)
        .filter_map(|r: Result<Option<LiveResource>, PveError>| async move { r.transpose() })
        .collect()
        .await;
    for c in configs {
        live.push(c?);
    }
    for pool in client.pools().await? {
        // A failed read is an error: recording the pool without its members would drop them.
        let members = client.pool(&pool.poolid).await?.members;
        let mut member_ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        member_ids.sort();
        live.push(LiveResource {
            address: match alias_of(cluster) {
                None => ConfigAddress::managed("pool", pool.poolid.clone()).instance(InstanceKey::None),
                Some(_) => ConfigAddress::managed("pool", "discovered").instance(keyed(cluster, &pool.poolid)),
            },
            kind: ResourceKind::Pool,
            identity: Identity::default(),
            digest: None,
            status: None,
            attributes: json!({"id": pool.poolid, "comment": pool.comment, "members": member_ids}),
        });
    }
    live.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(live)
}

fn node_resource(cluster: &str, r: &ClusterResource) -> LiveResource {
    let name = r.node.clone().unwrap_or_else(|| r.id.trim_start_matches("node/").to_string());
    LiveResource {
        address: ConfigAddress::data("node", name.clone())
            .instance(alias_of(cluster).map_or(InstanceKey::None, |a| InstanceKey::Str(a.to_string()))),
        kind: ResourceKind::Node,
        identity: Identity { node: Some(name.clone()), ..Identity::default() },
        digest: None,
        status: r.status.clone(),
        attributes: json!({"name": name, "maxcpu": r.maxcpu, "maxmem": r.maxmem, "maxdisk": r.maxdisk}),
    }
}

fn storage_resource(cluster: &str, r: &ClusterResource) -> Option<LiveResource> {
    let (node, storage) = (r.node.clone()?, r.storage.clone()?);
    let extra = |k: &str| r.extra.get(k).cloned().unwrap_or(Json::Null);
    let key = match alias_of(cluster) {
        None => InstanceKey::Str(node.clone()),
        Some(a) => InstanceKey::Str(format!("{a}/{node}")),
    };
    Some(LiveResource {
        address: ConfigAddress::data("storage", storage.clone()).instance(key),
        kind: ResourceKind::Storage,
        identity: Identity { node: Some(node.clone()), ..Identity::default() },
        digest: None,
        status: r.status.clone(),
        attributes: json!({
            "storage": storage,
            "node": node,
            "type": extra("plugintype"),
            "content": extra("content"),
            "shared": extra("shared"),
            "total": r.maxdisk,
        }),
    })
}

fn guest_resource(
    cluster: &str,
    kind: GuestKind,
    node: &str,
    vmid: u32,
    r: &ClusterResource,
    mut config: serde_json::Map<String, Json>,
) -> LiveResource {
    let digest = config.remove("digest").and_then(|d| d.as_str().map(str::to_string));
    let fingerprint = config
        .get("smbios1")
        .and_then(Json::as_str)
        .and_then(|s| s.split(',').find_map(|kv| kv.strip_prefix("uuid=")))
        .map(str::to_string);
    let state_kind = if kind == GuestKind::Lxc { ResourceKind::Container } else { ResourceKind::Vm };
    // The schema's shape, through the codec, as plan and apply record guests.
    let schema = crate::plan::schema_of(state_kind).expect("guests have a schema");
    let guest = crate::codec::LiveGuest {
        node: node.to_string(),
        vmid,
        pool: r.pool.clone(),
        running: r.status.as_deref() == Some("running"),
        template: r.template.unwrap_or(false),
        config,
    };
    let mut attributes = crate::codec::decode(schema, &guest);
    if guest.template {
        attributes.insert("template".into(), Json::Bool(true));
    }
    LiveResource {
        address: discovered_address_in(cluster, state_kind, vmid),
        kind: state_kind,
        identity: Identity { node: Some(node.to_string()), vmid: Some(vmid), fingerprint },
        digest,
        status: r.status.clone(),
        attributes: Json::Object(attributes),
    }
}

/// What a refresh found, by address.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RefreshSummary {
    pub discovered: Vec<ResourceAddress>,
    pub changed: Vec<ResourceAddress>,
    pub gone: Vec<ResourceAddress>,
    pub unchanged: usize,
}

/// Compares live resources with stored ones and returns the changes that bring state up to date.
/// Guests are matched by vmid (a managed guest keeps its address); the rest by address. Only the
/// kinds refresh reads are ever marked gone.
pub fn reconcile(stored: &[StoredResource], live: Vec<LiveResource>) -> (Vec<Change>, RefreshSummary) {
    reconcile_in(DEFAULT_CLUSTER, stored, live)
}

/// [`reconcile`] for one cluster: only what state holds of that cluster (or of no recorded
/// cluster, when it is the default one) is matched, kept or marked gone.
pub fn reconcile_in(
    cluster: &str,
    stored: &[StoredResource],
    live: Vec<LiveResource>,
) -> (Vec<Change>, RefreshSummary) {
    let ours = |s: &&StoredResource| match &s.cluster {
        Some(c) => c == cluster,
        None => cluster == DEFAULT_CLUSTER,
    };
    let stored: Vec<StoredResource> = stored.iter().filter(ours).cloned().collect();
    let stored = stored.as_slice();
    let by_vmid: HashMap<(ResourceKind, u32), &StoredResource> = stored
        .iter()
        .filter(|s| matches!(s.kind, ResourceKind::Vm | ResourceKind::Container))
        .filter_map(|s| s.identity.vmid.map(|v| ((s.kind, v), s)))
        .collect();
    let by_address: BTreeMap<&ResourceAddress, &StoredResource> = stored.iter().map(|s| (&s.address, s)).collect();

    let mut seen = std::collections::HashSet::new();
    let mut changes = Vec::new();
    let mut summary = RefreshSummary::default();
    for mut l in live {
        let existing = match l.identity.vmid {
            Some(vmid) => by_vmid.get(&(l.kind, vmid)).copied(),
            None => by_address.get(&l.address).copied(),
        };
        if let Some(s) = existing {
            l.address = s.address.clone();
            // pmx's bookkeeping (what it manages, hashes of secrets) is not on the cluster: keep it.
            if let (Some(book), Some(attrs)) = (s.attributes.get(crate::plan::PMX_META), l.attributes.as_object_mut()) {
                attrs.insert(crate::plan::PMX_META.to_string(), book.clone());
            }
            seen.insert(s.address.clone());
            let reused_vmid =
                matches!((&s.identity.fingerprint, &l.identity.fingerprint), (Some(a), Some(b)) if a != b);
            if s.attributes == l.attributes && s.digest == l.digest && s.status == l.status && !reused_vmid {
                summary.unchanged += 1;
                continue;
            }
            let payload = json!({
                "source": "refresh",
                "changed_outside_pmx": true,
                "changed_keys": changed_keys(&s.attributes, &l.attributes),
                "vmid_reused": reused_vmid,
            });
            summary.changed.push(l.address.clone());
            let (origin, cluster) = (s.origin, s.cluster.clone());
            let mut c = to_change(l, ChangeType::Discovered).payload(payload).origin(origin);
            if let Some(cl) = cluster {
                c = c.cluster(cl);
            }
            changes.push(c);
        } else {
            seen.insert(l.address.clone());
            summary.discovered.push(l.address.clone());
            // What refresh finds is never pmx's to destroy: discovered (or data), until imported.
            let origin =
                if l.address.config.mode == crate::addr::Mode::Data { Origin::Data } else { Origin::Discovered };
            changes.push(
                to_change(l, ChangeType::Discovered)
                    .payload(json!({"source": "refresh", "new": true}))
                    .origin(origin)
                    .cluster(cluster),
            );
        }
    }
    // Refresh reads every kind the store keeps, so whatever it did not see is gone.
    for s in stored {
        if !seen.contains(&s.address) {
            summary.gone.push(s.address.clone());
            changes.push(
                Change::deleted(s.kind, s.address.clone())
                    .payload(json!({"source": "refresh", "reason": "no longer on the cluster"})),
            );
        }
    }
    (changes, summary)
}

fn to_change(l: LiveResource, change: ChangeType) -> Change {
    let mut c = Change::new(change, l.kind, l.address, l.attributes);
    c.identity = l.identity;
    c.digest = l.digest;
    c.status = l.status;
    c
}

/// Top-level (and `config.*`) keys whose values differ, for the event payload.
fn changed_keys(old: &Json, new: &Json) -> Vec<String> {
    let mut keys = Vec::new();
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return keys;
    };
    for k in o.keys().chain(n.keys().filter(|k| !o.contains_key(*k))) {
        if o.get(k) == n.get(k) {
            continue;
        }
        match (o.get(k).and_then(Json::as_object), n.get(k).and_then(Json::as_object)) {
            (Some(_), Some(_)) => keys.extend(changed_keys(&o[k], &n[k]).into_iter().map(|sub| format!("{k}.{sub}"))),
            _ => keys.push(k.clone()),
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(addr: &str, kind: ResourceKind, vmid: Option<u32>, attributes: Json) -> StoredResource {
        StoredResource {
            address: addr.parse().unwrap(),
            kind,
            identity: Identity { node: Some("pve1".into()), vmid, fingerprint: None },
            digest: None,
            status: None,
            serial: 1,
            created_at: 0,
            updated_at: 0,
            attributes,
            cluster: None,
            origin: Default::default(),
        }
    }

    fn live(addr: &str, kind: ResourceKind, vmid: Option<u32>, attributes: Json) -> LiveResource {
        LiveResource {
            address: addr.parse().unwrap(),
            kind,
            identity: Identity { node: Some("pve1".into()), vmid, fingerprint: None },
            digest: None,
            status: None,
            attributes,
        }
    }

    #[test]
    fn new_changed_gone_and_unchanged() {
        let stored = vec![
            stored("pool.a", ResourceKind::Pool, None, json!({"comment": "x"})),
            stored("pool.b", ResourceKind::Pool, None, json!({"comment": "y"})),
            stored("vm.web[0]", ResourceKind::Vm, Some(100), json!({"config": {"cores": 1}})),
        ];
        let live = vec![
            live("pool.a", ResourceKind::Pool, None, json!({"comment": "x"})),
            live("vm.discovered[100]", ResourceKind::Vm, Some(100), json!({"config": {"cores": 2}})),
            live("vm.discovered[101]", ResourceKind::Vm, Some(101), json!({})),
        ];
        let (changes, summary) = reconcile(&stored, live);
        assert_eq!(summary.unchanged, 1);
        assert_eq!(summary.changed, vec!["vm.web[0]".parse::<ResourceAddress>().unwrap()], "matched by vmid");
        assert_eq!(summary.discovered, vec!["vm.discovered[101]".parse::<ResourceAddress>().unwrap()]);
        assert_eq!(summary.gone, vec!["pool.b".parse::<ResourceAddress>().unwrap()]);
        assert_eq!(changes.len(), 3);
        let changed = changes.iter().find(|c| c.address.to_string() == "vm.web[0]").unwrap();
        assert_eq!(changed.payload.as_ref().unwrap()["changed_keys"], json!(["config.cores"]));
        assert!(changes.iter().any(|c| c.change == ChangeType::Deleted && c.address.to_string() == "pool.b"));
    }

    #[test]
    fn reused_vmid_is_a_change_even_with_equal_attributes() {
        let mut s = stored("vm.discovered[100]", ResourceKind::Vm, Some(100), json!({}));
        s.identity.fingerprint = Some("uuid-a".into());
        let mut l = live("vm.discovered[100]", ResourceKind::Vm, Some(100), json!({}));
        l.identity.fingerprint = Some("uuid-b".into());
        let (changes, summary) = reconcile(&[s], vec![l]);
        assert_eq!(summary.changed.len(), 1);
        assert_eq!(changes[0].payload.as_ref().unwrap()["vmid_reused"], json!(true));
    }

    #[test]
    fn discovered_addresses_are_stable_by_vmid() {
        assert_eq!(discovered_address(ResourceKind::Container, 105).to_string(), "container.discovered[105]");
        assert_eq!(discovered_address(ResourceKind::Vm, 9000).to_string(), "vm.discovered[9000]");
    }
}
