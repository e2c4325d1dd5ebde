//! Reading a cluster for `pmx import`: `/cluster/resources` and `/pools` once, then the config
//! of every guest, a bounded number at once. Unlike a plan's read, a node that does not answer
//! does not end the run: its guests are left out and the node is named, so the rest of the
//! cluster can be adopted now and that node later.

use std::collections::BTreeSet;
use std::sync::Mutex;

use futures::stream::{self, StreamExt};
use serde_json::{Map, Value as Json};

use crate::plan::ClusterView;
use crate::proxmox::models::{ClusterResource, GuestKind, ResourceKind as PveKind};
use crate::proxmox::{Error as PveError, PveClient};

/// The cluster as import sees it.
#[derive(Debug, Default)]
pub struct Discovered {
    pub view: ClusterView,
    /// Nodes whose guests could not be read (pveproxy answered 595 or 596 for them).
    pub unreachable: BTreeSet<String>,
}

/// Whether an error means the node itself is out of reach: pveproxy could not forward to it
/// (595 refused, 596 timed out). A failure to reach the endpoint itself still ends the run.
fn node_down(e: &PveError) -> bool {
    matches!(e.status(), Some(595 | 596))
}

/// Reads the cluster, and the configs of the guests (not templates) that `wanted` selects.
pub async fn discover(
    client: &PveClient,
    parallelism: usize,
    wanted: impl Fn(&ClusterResource) -> bool,
) -> Result<Discovered, PveError> {
    let (resources, pools) = futures::try_join!(client.cluster_resources(None), client.pools())?;
    let todo: Vec<(String, GuestKind, u32)> = resources
        .iter()
        .filter(|r| matches!(r.kind, PveKind::Qemu | PveKind::Lxc) && r.template != Some(true) && wanted(r))
        .filter_map(|r| {
            let kind = if r.kind == PveKind::Lxc { GuestKind::Lxc } else { GuestKind::Qemu };
            Some((r.node.clone()?, kind, r.vmid?))
        })
        .collect();
    let mut view = ClusterView::new(resources, pools);
    view.requests = 2 + todo.len();
    // Once a node is known down, its other guests are not asked for (each could wait out
    // pveproxy's 30 s proxy timeout).
    let down: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let is_down = |node: &str| down.lock().map(|d| d.contains(node)).unwrap_or(false);
    type Read = Result<Option<(u32, Map<String, Json>)>, PveError>;
    let reads: Vec<Read> = stream::iter(todo)
        .map(|(node, kind, vmid)| {
            let (down, is_down) = (&down, &is_down);
            async move {
                if is_down(&node) {
                    return Ok(None);
                }
                match client.guest_config(&node, &kind, vmid).await {
                    Ok(c) => Ok(Some((vmid, c.into_iter().collect()))),
                    Err(e) if node_down(&e) => {
                        if let Ok(mut d) = down.lock() {
                            d.insert(node);
                        }
                        Ok(None)
                    }
                    // Deleted between the two reads: nothing to adopt.
                    Err(e) if e.status() == Some(500) && e.to_string().contains("does not exist") => Ok(None),
                    Err(e) => Err(e),
                }
            }
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    for r in reads {
        if let Some((vmid, config)) = r? {
            view.configs.insert(vmid, config);
        }
    }
    let unreachable = down.into_inner().unwrap_or_default();
    Ok(Discovered { view, unreachable })
}
