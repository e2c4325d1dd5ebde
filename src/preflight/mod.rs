//! Pre-flight: what Proxmox would refuse at apply time, found at plan time. [`facts::read`]
//! is the networked part (once per node or cluster, never per guest); [`check`] is pure: the
//! plan, the cluster view and the facts in, findings out. `apply` runs both again before it
//! starts, so a saved plan that has become impossible is refused whole.
//!
//! Every check is listed in [`CHECKS`] and documented in `docs/preflight.md`.

pub mod checks;
pub mod facts;
pub mod spans;

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::operation::Endpoint;
use crate::plan::{ClusterView, Finding, Plan};
pub use facts::{Facts, Needs};

/// Every check, by the name `lifecycle { preflight_ignore = [...] }` uses, with what it catches.
pub const CHECKS: &[(&str, &str)] = &[
    ("node", "the target node exists and is online; a node in maintenance is a warning"),
    ("clone", "a clone Proxmox can make: linked clones of templates only, without a storage, on the template's node when its disks are local"),
    ("storage", "the storage exists on the target node, is enabled and holds the content the volume needs"),
    ("capacity", "new disks and growth fit the storage's free space (a warning on thin storages)"),
    ("bridge", "every NIC's bridge exists on the target node"),
    ("cpu", "cores × sockets within the node's CPUs"),
    ("memory", "memory within the node's memory (a warning above what is free)"),
    ("ostemplate", "the container's template is on the target node's storage"),
    ("pool", "the pool exists or is created by this plan"),
    ("permissions", "the API token holds every privilege the plan's operations need"),
    ("name", "no two guests with the same name (a warning)"),
    ("ha", "guests the HA manager manages (a warning: it may move or restart them)"),
];

pub fn is_check(name: &str) -> bool {
    name == "all" || CHECKS.iter().any(|(n, _)| *n == name)
}

/// Reads every cluster's facts for `plan`, in parallel.
pub async fn read_facts(
    endpoints: &IndexMap<String, Endpoint>,
    views: &HashMap<String, ClusterView>,
    plan: &Plan,
) -> HashMap<String, Facts> {
    let empty = ClusterView::default();
    let reads = endpoints.iter().map(|(key, e)| {
        let needs = Needs::of(plan, key, views.get(key).unwrap_or(&empty));
        async move { (key.clone(), facts::read(&e.client, &needs).await) }
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

/// Every finding of `plan` against the clusters, each resource's silenced checks marked.
pub fn check(plan: &Plan, views: &HashMap<String, ClusterView>, facts: &HashMap<String, Facts>) -> Vec<Finding> {
    let empty_view = ClusterView::default();
    let empty_facts = Facts::default();
    let mut out =
        checks::run(plan, &|p| views.get(p).unwrap_or(&empty_view), &|p| facts.get(p).unwrap_or(&empty_facts));
    let ignores: HashMap<&str, &Vec<String>> =
        plan.resource_changes.iter().map(|r| (r.address.as_str(), &r.preflight_ignore)).collect();
    for f in &mut out {
        if let Some(list) = ignores.get(f.address.as_str()) {
            f.ignored = list.iter().any(|c| c == &f.check || c == "all");
        }
    }
    out
}
