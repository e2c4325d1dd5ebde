//! The refresh a plan makes: one `/cluster/resources` for where every guest lives, one
//! `/pools`, then the configs of the guests pmx manages only, a bounded number at once (the
//! client adds its per-node limit). Never the guest agent.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use crate::config::Value;
use crate::proxmox::models::{ClusterResource, GuestKind, Pool, ResourceKind as PveKind};
use crate::proxmox::{Error as PveError, PveClient};

/// Decoded guests by resource type and vmid.
pub type DecodedGuests = HashMap<(&'static str, u32), Map<String, Json>>;

/// What one cluster looks like at plan time.
#[derive(Debug, Default)]
pub struct ClusterView {
    pub resources: Vec<ClusterResource>,
    pub pools: Vec<Pool>,
    /// Configs of the guests read, by vmid.
    pub configs: HashMap<u32, Map<String, Json>>,
    /// API requests made.
    pub requests: usize,
    /// Guests decoded so far, by resource type and vmid (a plan looks at each several times).
    pub decoded: std::sync::Mutex<DecodedGuests>,
    /// Where each guest is in `resources`, by vmid.
    by_vmid: HashMap<u32, usize>,
}

impl Clone for ClusterView {
    fn clone(&self) -> Self {
        ClusterView {
            resources: self.resources.clone(),
            pools: self.pools.clone(),
            configs: self.configs.clone(),
            requests: self.requests,
            decoded: std::sync::Mutex::new(self.decoded.lock().map(|d| d.clone()).unwrap_or_default()),
            by_vmid: self.by_vmid.clone(),
        }
    }
}

impl ClusterView {
    /// A view of `resources` and `pools`, with no configs read yet.
    pub fn new(resources: Vec<ClusterResource>, pools: Vec<Pool>) -> ClusterView {
        let by_vmid = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.kind, PveKind::Qemu | PveKind::Lxc))
            .filter_map(|(i, r)| Some((r.vmid?, i)))
            .collect();
        ClusterView { resources, pools, by_vmid, ..ClusterView::default() }
    }

    pub fn guest(&self, vmid: u32) -> Option<&ClusterResource> {
        self.by_vmid.get(&vmid).and_then(|i| self.resources.get(*i))
    }

    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.poolid == id)
    }
}

/// Reads the cluster: resources, pools, then the configs of the guests `vmids` names that exist,
/// from the node each is on now. (Fetching configs from the recorded node while the listing is
/// read was measured slower: the 10,000-entry listing and the configs compete for the server.)
pub async fn read_view(client: &PveClient, vmids: &[u32], parallelism: usize) -> Result<ClusterView, PveError> {
    let (resources, pools) = futures::try_join!(client.cluster_resources(None), client.pools())?;
    let mut view = ClusterView::new(resources, pools);
    view.requests = 2;
    let todo: Vec<(String, GuestKind, u32)> = vmids
        .iter()
        .filter_map(|v| {
            let r = view.guest(*v)?;
            let kind = if r.kind == PveKind::Lxc { GuestKind::Lxc } else { GuestKind::Qemu };
            Some((r.node.clone()?, kind, *v))
        })
        .collect();
    view.requests += todo.len();
    type Read = Result<(u32, Map<String, Json>), PveError>;
    let configs: Vec<Read> = stream::iter(todo)
        .map(|(node, kind, vmid)| async move { Ok((vmid, client.guest_config_object(&node, &kind, vmid).await?)) })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    for c in configs {
        match c {
            Ok((vmid, config)) => {
                view.configs.insert(vmid, config);
            }
            // Deleted between the two reads: planned as gone.
            Err(e) if e.status() == Some(500) && e.to_string().contains("does not exist") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(view)
}

/// The attributes of a data source instance, read from the cluster view; `Err` says why
/// nothing (or too much) matched.
pub fn read_data(
    type_name: &str,
    query: &IndexMap<String, Value>,
    view: &ClusterView,
) -> Result<IndexMap<String, Value>, String> {
    let s = |k: &str| query.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |k: &str| query.get(k).and_then(Value::as_i64);
    let mut out = IndexMap::new();
    match type_name {
        "template" => {
            let found: Vec<&ClusterResource> = view
                .resources
                .iter()
                .filter(|r| matches!(r.kind, PveKind::Qemu) && r.template == Some(true))
                .filter(|r| s("name").is_none_or(|want| r.name.as_deref() == Some(want.as_str())))
                .filter(|r| n("vmid").is_none_or(|want| r.vmid.map(i64::from) == Some(want)))
                .filter(|r| s("node").is_none_or(|want| r.node.as_deref() == Some(want.as_str())))
                .collect();
            let what =
                s("name").map(|n| format!("named \"{n}\"")).or_else(|| n("vmid").map(|v| format!("with vmid {v}")));
            let what = what.unwrap_or_default();
            let r = match found.as_slice() {
                [one] => *one,
                [] => {
                    let names: Vec<String> = view
                        .resources
                        .iter()
                        .filter(|r| r.template == Some(true))
                        .filter_map(|r| Some(format!("{} ({})", r.name.clone()?, r.vmid?)))
                        .collect();
                    let known = if names.is_empty() {
                        "the cluster has no templates".to_string()
                    } else {
                        format!("templates on the cluster: {}", names.join(", "))
                    };
                    return Err(format!("no template {what} ({known})"));
                }
                many => {
                    let nodes: Vec<String> = many.iter().filter_map(|r| r.node.clone()).collect();
                    return Err(format!(
                        "{} templates {what} (on {}); set `node` to pick one",
                        many.len(),
                        nodes.join(", ")
                    ));
                }
            };
            out.insert("name".into(), r.name.clone().map(Value::String).unwrap_or(Value::Null));
            out.insert("vmid".into(), r.vmid.map(|v| Value::Number(f64::from(v))).unwrap_or(Value::Null));
            out.insert("node".into(), r.node.clone().map(Value::String).unwrap_or(Value::Null));
            let tags = r.tags.clone().unwrap_or_default();
            out.insert(
                "tags".into(),
                Value::List(
                    tags.split([';', ',', ' ']).filter(|t| !t.is_empty()).map(|t| Value::String(t.into())).collect(),
                ),
            );
            out.insert("disk_size".into(), r.maxdisk.map(|d| Value::Number(d as f64)).unwrap_or(Value::Null));
        }
        "node" => {
            let name = s("name").unwrap_or_default();
            let r = view
                .resources
                .iter()
                .find(|r| r.kind == PveKind::Node && r.node.as_deref() == Some(name.as_str()))
                .ok_or_else(|| {
                    let nodes: Vec<String> = view
                        .resources
                        .iter()
                        .filter(|r| r.kind == PveKind::Node)
                        .filter_map(|r| r.node.clone())
                        .collect();
                    format!("no node \"{name}\" in the cluster (nodes: {})", nodes.join(", "))
                })?;
            let num = |v: Option<f64>| v.map(Value::Number).unwrap_or(Value::Null);
            out.insert("name".into(), Value::String(name));
            out.insert("status".into(), r.status.clone().map(Value::String).unwrap_or(Value::Null));
            out.insert("cpu".into(), num(r.extra.get("cpu").and_then(Json::as_f64)));
            out.insert("maxcpu".into(), num(r.maxcpu));
            out.insert("memory".into(), num(r.extra.get("mem").and_then(Json::as_f64)));
            out.insert("maxmemory".into(), num(r.maxmem.map(|m| m as f64)));
            out.insert("uptime".into(), num(r.extra.get("uptime").and_then(Json::as_f64)));
            out.insert("ssl_fingerprint".into(), Value::Null);
        }
        "storage" => {
            let (node, name) = (s("node").unwrap_or_default(), s("name").unwrap_or_default());
            let r = view
                .resources
                .iter()
                .find(|r| {
                    r.kind == PveKind::Storage
                        && r.node.as_deref() == Some(node.as_str())
                        && r.storage.as_deref() == Some(name.as_str())
                })
                .ok_or_else(|| format!("no storage \"{name}\" on node \"{node}\""))?;
            let total = r.maxdisk.unwrap_or(0) as f64;
            let used = r.disk.unwrap_or(0) as f64;
            let extra = |k: &str| r.extra.get(k).cloned().unwrap_or(Json::Null);
            out.insert("node".into(), Value::String(node));
            out.insert("name".into(), Value::String(name));
            out.insert("type".into(), Value::from_json(&extra("plugintype")));
            let content = extra("content");
            out.insert(
                "content".into(),
                Value::List(
                    content
                        .as_str()
                        .unwrap_or("")
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(|c| Value::String(c.into()))
                        .collect(),
                ),
            );
            out.insert("total".into(), Value::Number(total));
            out.insert("used".into(), Value::Number(used));
            out.insert("available".into(), Value::Number((total - used).max(0.0)));
            let shared = extra("shared");
            out.insert("shared".into(), Value::Bool(shared.as_i64() == Some(1) || shared.as_bool() == Some(true)));
            out.insert("active".into(), Value::Bool(r.status.as_deref() == Some("available")));
            out.insert("enabled".into(), Value::Bool(r.status.as_deref() != Some("disabled")));
        }
        other => return Err(format!("data source \"{other}\" cannot be read")),
    }
    Ok(out)
}
