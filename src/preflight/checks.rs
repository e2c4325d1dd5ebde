//! The checks themselves, one function each, over one change at a time (capacity sums up over
//! the whole plan). Pure: the plan, the cluster view and the facts in, findings out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value as Json};

use super::facts::{target_node, Facts, StorageFacts};
use crate::plan::{Action, ClusterView, Finding, Plan, ResourceChange, Severity, Via};
use crate::proxmox::models::{ClusterResource, ResourceKind as PveKind};
use crate::schema::privileges as privs;
use crate::schema::pve;

type ViewOf<'a> = dyn Fn(&str) -> &'a ClusterView + 'a;
type FactsOf<'a> = dyn Fn(&str) -> &'a Facts + 'a;

const MIB: u64 = 1 << 20;
const GIB: f64 = (1u64 << 30) as f64;

fn gib(bytes: u64) -> String {
    let g = bytes as f64 / GIB;
    if g >= 10.0 {
        format!("{g:.0} GiB")
    } else {
        format!("{g:.1} GiB")
    }
}

fn pth(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = items.into_iter().map(|i| i.as_ref().to_string()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// One change under check, with what most checks need.
struct Subject<'a> {
    r: &'a ResourceChange,
    after: &'a Map<String, Json>,
    view: &'a ClusterView,
    facts: &'a Facts,
    node: Option<String>,
    /// Created (or created again): everything about it is new.
    fresh: bool,
    /// Moves to another node: everything node-bound is checked again there.
    migrates: bool,
}

impl Subject<'_> {
    fn finding(&self, check: &str, severity: Severity, path: Vec<String>, message: String, live: String) -> Finding {
        Finding {
            check: check.into(),
            severity,
            address: self.r.address.clone(),
            path,
            message,
            live,
            help: None,
            ignored: false,
            at: None,
        }
    }

    /// Whether the value at `path` is new on the cluster: the guest is, it moves, or the change
    /// touches the path (or a block above it).
    fn touches(&self, path: &[&str]) -> bool {
        self.fresh
            || self.migrates
            || self.r.changes.iter().any(|c| {
                let n = c.path.len().min(path.len());
                c.path.iter().take(n).map(String::as_str).eq(path.iter().take(n).copied())
            })
    }

    fn str_at(&self, path: &[&str]) -> Option<&str> {
        at(self.after, path)?.as_str()
    }

    fn ignores(&self, check: &str) -> bool {
        self.r.preflight_ignore.iter().any(|c| c == check || c == "all")
    }
}

fn at<'a>(m: &'a Map<String, Json>, path: &[&str]) -> Option<&'a Json> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(m.get(*first)?, |v, k| v.get(k))
}

fn slots<'a>(m: &'a Map<String, Json>, block: &str) -> Vec<(&'a str, &'a Map<String, Json>)> {
    m.get(block)
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_object()?)))
        .collect()
}

fn node_row<'a>(view: &'a ClusterView, node: &str) -> Option<&'a ClusterResource> {
    view.resources.iter().find(|r| r.kind == PveKind::Node && r.node.as_deref() == Some(node))
}

fn num(v: Option<&Json>) -> Option<u64> {
    v.and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
}

/// A volume a change allocates (or needs to exist on a storage).
struct Volume {
    path: Vec<String>,
    storage: String,
    /// Bytes newly allocated on `node`'s `storage`.
    bytes: u64,
    content: &'static str,
    node: String,
}

/// Everything one change does, as checks see it.
pub fn run(plan: &Plan, view_of: &ViewOf<'_>, facts_of: &FactsOf<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut usage: BTreeMap<(String, String), Usage> = BTreeMap::new();
    let created_pools: BTreeSet<&str> = plan
        .resource_changes
        .iter()
        .filter(|r| r.type_name == "pool" && !matches!(r.action, Action::Delete | Action::Forget))
        .filter_map(|r| r.after.as_ref()?.get("id")?.as_str())
        .collect();
    let mut names: HashMap<(String, String), Vec<String>> = HashMap::new();
    for r in plan.resource_changes.iter().filter(|r| r.mode == "managed") {
        let view = view_of(&r.provider);
        let facts = facts_of(&r.provider);
        permissions(r, view, facts, &mut out);
        if !matches!(r.type_name.as_str(), "vm" | "container") {
            continue;
        }
        let Some(after) = r.after.as_ref().and_then(Json::as_object) else { continue };
        if r.action == Action::Delete || r.action == Action::Forget {
            continue;
        }
        let name_key = if r.type_name == "vm" { "name" } else { "hostname" };
        if let Some(name) = after.get(name_key).and_then(Json::as_str) {
            names.entry((r.provider.clone(), name.to_string())).or_default().push(r.address.clone());
        }
        if !r.is_change() {
            continue;
        }
        let fresh = matches!(r.action, Action::Create | Action::Replace);
        let migrates = r.changes.iter().any(|c| c.via == Via::Migrate);
        let subject = Subject { r, after, view, facts, node: target_node(r), fresh, migrates };
        if !node(&subject, &mut out) {
            continue;
        }
        clone(&subject, &mut out);
        let volumes = volumes(&subject);
        storage(&subject, &volumes, &mut out);
        // A resource that silences the check does not count against the storage; where only
        // its share overflows it, the finding is still shown (silenced) on it.
        let ignoring = subject.ignores("capacity");
        for v in &volumes {
            let key = storage_key(&subject, &v.node, &v.storage);
            let u = usage.entry(key).or_default();
            if v.bytes > 0 {
                if !ignoring {
                    u.bytes += v.bytes;
                }
                u.all += v.bytes;
                u.by.push((v.bytes, r.address.clone(), v.path.clone(), ignoring));
                u.node = v.node.clone();
                u.provider = r.provider.clone();
            }
        }
        bridges(&subject, &mut out);
        cpu_and_memory(&subject, &mut out);
        ostemplate(&subject, &mut out);
        pool(&subject, &created_pools, &mut out);
        ha(&subject, &mut out);
    }
    capacity(&usage, facts_of, &mut out);
    duplicate_names(plan, view_of, &names, &mut out);
    out
}

// ---- node ------------------------------------------------------------------------------------

/// The target node exists and is online; `false` when node-bound checks cannot go on.
fn node(s: &Subject<'_>, out: &mut Vec<Finding>) -> bool {
    let Some(node) = &s.node else { return false };
    if !s.touches(&["node"]) {
        return node_row(s.view, node).is_some();
    }
    let nodes: Vec<&str> =
        s.view.resources.iter().filter(|r| r.kind == PveKind::Node).filter_map(|r| r.node.as_deref()).collect();
    match node_row(s.view, node) {
        None => {
            let mut f = s.finding(
                "node",
                Severity::Error,
                pth(&["node"]),
                format!("node \"{node}\" is not part of the cluster"),
                format!("the cluster's nodes: {}", list(&nodes)),
            );
            f.help = crate::config::suggest::did_you_mean(node, nodes.iter().copied())
                .or_else(|| Some("set node to one of the cluster's nodes".into()));
            out.push(f);
            false
        }
        Some(row) if row.status.as_deref().is_some_and(|st| st != "online") => {
            let mut f = s.finding(
                "node",
                Severity::Error,
                pth(&["node"]),
                format!("node \"{node}\" is {}", row.status.as_deref().unwrap_or("not online")),
                format!("/cluster/resources says node/{node} is {}", row.status.as_deref().unwrap_or("unknown")),
            );
            f.help = Some("wait for the node to come back, or place the guest on an online node".into());
            out.push(f);
            false
        }
        Some(_) => {
            if s.facts.maintenance.contains(node) {
                let mut f = s.finding(
                    "node",
                    Severity::Warning,
                    pth(&["node"]),
                    format!("node \"{node}\" is in maintenance mode"),
                    format!("the HA manager reports {node} in maintenance"),
                );
                f.help = Some("guests placed there are moved away by HA or not started until maintenance ends".into());
                out.push(f);
            }
            true
        }
    }
}

// ---- clone -----------------------------------------------------------------------------------

/// The disks of a guest config: slot, storage and size in bytes (CD-ROMs and cloud-init drives
/// left out).
fn config_disks(config: &Map<String, Json>) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for (key, value) in config {
        let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
        let is_disk = (base != key && matches!(base, "scsi" | "virtio" | "sata" | "ide" | "mp"))
            || matches!(key.as_str(), "efidisk0" | "tpmstate0" | "rootfs");
        let Some(text) = value.as_str() else { continue };
        if !is_disk || text.contains("media=cdrom") || text.contains("cloudinit") {
            continue;
        }
        let volume = text.split(',').next().unwrap_or("");
        let Some((storage, _)) = volume.split_once(':') else { continue };
        let size = text
            .split(',')
            .find_map(|kv| kv.strip_prefix("size="))
            .and_then(crate::proxmox::propstring::parse_size)
            .unwrap_or(0);
        out.push((key.clone(), storage.to_string(), size));
    }
    out
}

fn source_of<'a>(s: &Subject<'a>) -> Option<(u32, &'a ClusterResource)> {
    let src = num(at(s.after, &["clone", "source"]))? as u32;
    Some((src, s.view.guest(src)?))
}

fn clone(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if !s.fresh {
        return;
    }
    let Some((src, row)) = source_of(s) else { return };
    let full = at(s.after, &["clone", "full"]).and_then(Json::as_bool).unwrap_or(true);
    let template = row.template == Some(true);
    if !full && !template {
        let mut f = s.finding(
            "clone",
            Severity::Error,
            pth(&["clone", "full"]),
            format!("a linked clone needs a template, and guest {src} is not one"),
            format!(
                "Proxmox: \"Linked clone feature is not supported for non-template guests\" ({src} is a plain guest)"
            ),
        );
        f.help = Some("make a full clone (full = true), or convert the source to a template".into());
        out.push(f);
    }
    if !full && s.str_at(&["clone", "storage"]).is_some() {
        let mut f = s.finding(
            "clone",
            Severity::Error,
            pth(&["clone", "storage"]),
            "a linked clone cannot name a storage: its disks stay on the template's".into(),
            "Proxmox: \"parameter 'storage' not allowed for linked clones\"".into(),
        );
        f.help = Some("remove storage, or make a full clone (full = true)".into());
        out.push(f);
    }
    let (Some(node), Some(src_node)) = (&s.node, &row.node) else { return };
    if full || node == src_node {
        return;
    }
    // A full clone from local storage is made on the template's node and migrated (apply
    // does that); a linked clone cannot move off its base.
    let Some(config) = s.facts.sources.get(&src) else { return };
    let local: Vec<String> = config_disks(config)
        .into_iter()
        .filter(|(_, storage, _)| storage_facts(s.facts, src_node, storage).is_some_and(|f| !f.shared))
        .map(|(slot, storage, _)| format!("{slot} on {storage}"))
        .collect();
    if !local.is_empty() {
        let mut f = s.finding(
            "clone",
            Severity::Error,
            pth(&["node"]),
            format!("a linked clone of {src} cannot be made on {node}: the template's disks are on {src_node}'s local storage"),
            format!("Proxmox: \"can't clone VM to node '{node}' (VM uses local storage)\"; {}", list(&local)),
        );
        f.help = Some(format!("place the clone on {src_node}, or make a full clone (full = true), which pmx makes on {src_node} and migrates"));
        out.push(f);
    }
}

// ---- storage and capacity --------------------------------------------------------------------

fn storage_facts<'a>(facts: &'a Facts, node: &str, storage: &str) -> Option<&'a StorageFacts> {
    facts.storages.get(node)?.as_ref().ok()?.get(storage)
}

fn size_of(v: Option<&Json>) -> u64 {
    v.and_then(Json::as_str).and_then(crate::codec::size_bytes).unwrap_or(0)
}

/// The volumes a change allocates or moves onto a storage.
fn volumes(s: &Subject<'_>) -> Vec<Volume> {
    let Some(node) = s.node.clone() else { return vec![] };
    let content = pve::content_for(&s.r.type_name);
    let mut out = Vec::new();
    let mut push = |path: Vec<String>, storage: &str, bytes: u64, node: &str| {
        out.push(Volume { path, storage: storage.to_string(), bytes, content, node: node.to_string() });
    };
    let before = s.r.before.as_ref().and_then(Json::as_object);
    let before_size = |block: &str, slot: Option<&str>| -> u64 {
        let Some(b) = before else { return 0 };
        match slot {
            Some(slot) => size_of(at(b, &[block, slot, "size"])),
            None => size_of(at(b, &[block, "size"])),
        }
    };
    // What a clone brings: the source's disks, copied (full) or shared (linked).
    let mut cloned: HashMap<String, (String, u64)> = HashMap::new();
    if s.fresh {
        if let Some((src, row)) = source_of(s) {
            let full = at(s.after, &["clone", "full"]).and_then(Json::as_bool).unwrap_or(true);
            let target = s.str_at(&["clone", "storage"]).map(str::to_string);
            let src_node = row.node.clone().unwrap_or_default();
            for (slot, storage, size) in s.facts.sources.get(&src).map(config_disks).unwrap_or_default() {
                let storage = if full { target.clone().unwrap_or(storage) } else { storage };
                let bytes = if full { size } else { 0 };
                let local = storage_facts(s.facts, &src_node, &storage).is_some_and(|f| !f.shared);
                if full && local && src_node != node {
                    // Made on the template's node first, then migrated here.
                    push(pth(&["clone", "source"]), &storage, bytes, &src_node);
                }
                push(pth(&["clone", if target.is_some() { "storage" } else { "source" }]), &storage, bytes, &node);
                cloned.insert(slot, (storage, size));
            }
        }
    }
    let blocks: &[&str] = if s.r.type_name == "vm" { &["disk"] } else { &["mountpoint"] };
    for block in blocks {
        for (slot, disk) in slots(s.after, block) {
            let Some(storage) = disk.get("storage").and_then(Json::as_str) else { continue };
            let size = size_of(disk.get("size"));
            let path = |leaf: &str| pth(&[block, slot, leaf]);
            if let Some((from, had)) = cloned.get(slot) {
                if from != storage {
                    push(path("storage"), storage, size.max(*had), &node);
                } else if size > *had {
                    push(path("size"), storage, size - had, &node);
                }
            } else if s.touches(&[block, slot, "storage"])
                && (s.fresh
                    || s.migrates
                    || before_size(block, Some(slot)) == 0
                    || s.r
                        .changes
                        .iter()
                        .any(|c| c.via == Via::MoveDisk && c.path.get(1).map(String::as_str) == Some(slot)))
            {
                push(path("storage"), storage, size, &node);
            } else if s.touches(&[block, slot, "size"]) {
                push(path("size"), storage, size.saturating_sub(before_size(block, Some(slot))), &node);
            }
        }
    }
    if s.r.type_name == "container" {
        if let Some(storage) = s.str_at(&["rootfs", "storage"]) {
            let size = at(s.after, &["rootfs", "size"]).map_or(4 << 30, |v| size_of(Some(v)));
            if s.fresh
                || s.migrates
                || s.r
                    .changes
                    .iter()
                    .any(|c| c.via == Via::MoveDisk && c.path.first().map(String::as_str) == Some("rootfs"))
            {
                push(pth(&["rootfs", "storage"]), storage, size, &node);
            } else if s.touches(&["rootfs", "size"]) {
                push(pth(&["rootfs", "size"]), storage, size.saturating_sub(before_size("rootfs", None)), &node);
            }
        }
    } else {
        if let Some(storage) = s.str_at(&["efi_disk", "storage"]) {
            if s.touches(&["efi_disk", "storage"]) {
                push(pth(&["efi_disk", "storage"]), storage, 4 * MIB, &node);
            }
        }
        if let Some(storage) = s.str_at(&["cloud_init", "storage"]) {
            if s.touches(&["cloud_init", "storage"]) {
                push(pth(&["cloud_init", "storage"]), storage, 4 * MIB, &node);
            }
        }
        if let Some(storage) = s.str_at(&["clone", "storage"]).filter(|_| s.fresh) {
            push(pth(&["clone", "storage"]), storage, 0, &node);
        }
    }
    out
}

/// Each storage a volume lands on exists on its node, is enabled and takes the content.
fn storage(s: &Subject<'_>, volumes: &[Volume], out: &mut Vec<Finding>) {
    let mut seen = BTreeSet::new();
    for v in volumes {
        if !seen.insert((v.node.clone(), v.storage.clone(), v.path.clone())) {
            continue;
        }
        let Some(Ok(on_node)) = s.facts.storages.get(&v.node) else { continue };
        let Some(f) = on_node.get(&v.storage) else {
            let names: Vec<&String> = on_node.keys().collect();
            let mut finding = s.finding(
                "storage",
                Severity::Error,
                v.path.clone(),
                format!("storage \"{}\" does not exist on {}", v.storage, v.node),
                format!("{}'s storages: {}", v.node, list(&names)),
            );
            finding.help = crate::config::suggest::did_you_mean(&v.storage, names.iter().map(|n| n.as_str()))
                .or_else(|| Some(format!("use a storage that {} has", v.node)));
            out.push(finding);
            continue;
        };
        if !f.enabled {
            let mut finding = s.finding(
                "storage",
                Severity::Error,
                v.path.clone(),
                format!("storage \"{}\" is disabled", v.storage),
                format!("Proxmox: \"storage '{}' is disabled\"", v.storage),
            );
            finding.help = Some("enable it (Datacenter → Storage), or use another storage".into());
            out.push(finding);
        } else if !f.content.contains(v.content) {
            let what = if v.content == "rootdir" { "container volumes" } else { "VM disks" };
            let mut finding = s.finding(
                "storage",
                Severity::Error,
                v.path.clone(),
                format!("storage \"{}\" does not hold {what} (content \"{}\")", v.storage, v.content),
                format!("{} on {} holds: {}", v.storage, v.node, list(&f.content)),
            );
            finding.help = Some(format!("add \"{}\" to the storage's content, or use another storage", v.content));
            out.push(finding);
        }
    }
}

/// Space a plan allocates on one storage (of one node, or shared).
#[derive(Default)]
struct Usage {
    /// Bytes of the resources that do not silence the check.
    bytes: u64,
    /// Bytes of all.
    all: u64,
    /// (bytes, address, path, silences the check) of each contributor.
    by: Vec<(u64, String, Vec<String>, bool)>,
    node: String,
    provider: String,
}

fn storage_key(s: &Subject<'_>, node: &str, storage: &str) -> (String, String) {
    let shared = storage_facts(s.facts, node, storage).is_some_and(|f| f.shared);
    let scope = if shared { String::new() } else { node.to_string() };
    (format!("{}|{scope}", s.r.provider), storage.to_string())
}

fn capacity(usage: &BTreeMap<(String, String), Usage>, facts_of: &FactsOf<'_>, out: &mut Vec<Finding>) {
    for ((_, storage), u) in usage {
        if u.all == 0 {
            continue;
        }
        let facts = facts_of(&u.provider);
        let Some(f) = storage_facts(facts, &u.node, storage) else { continue };
        if u.all <= f.avail {
            continue;
        }
        let thin = f.thin;
        // Blamed: the biggest contributor that counts, or (only silenced ones overflow) the
        // biggest silenced one.
        let counted_overflow = u.bytes > f.avail;
        let mut by: Vec<_> = u.by.iter().filter(|b| b.3 != counted_overflow).cloned().collect();
        by.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let Some((_, address, path, _)) = by.first().cloned() else { continue };
        let total = if counted_overflow { u.bytes } else { u.all };
        let others = u.by.iter().map(|b| b.1.as_str()).collect::<BTreeSet<_>>().len().saturating_sub(1);
        let place = if f.shared { format!("{storage} (shared)") } else { format!("{storage} on {}", u.node) };
        let (severity, message) = if thin {
            (
                Severity::Warning,
                format!("the plan over-commits {place}: {} of new disks, {} free", gib(total), gib(f.avail)),
            )
        } else {
            (Severity::Error, format!("the plan needs {} on {place}, which has {} free", gib(u.bytes), gib(f.avail)))
        };
        out.push(Finding {
            check: "capacity".into(),
            severity,
            address,
            path,
            message,
            live: format!(
                "{place}: {} of {} used, {} free ({}, {}){}",
                gib(f.used),
                gib(f.total),
                gib(f.avail),
                f.plugin,
                if thin { "thin: over-commit is allowed" } else { "thick: space is allocated at once" },
                if others > 0 {
                    format!("; {others} other resource(s) of this plan also allocate there")
                } else {
                    String::new()
                }
            ),
            help: Some(if thin {
                "make sure the guests will not fill their disks, or free space first".into()
            } else {
                "free space, grow the storage, or put the disks on another storage".into()
            }),
            ignored: false,
            at: None,
        });
    }
}

// ---- network, cpu, memory, template, pool, ha ----------------------------------------------------

fn bridges(s: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(node) = &s.node else { return };
    let Some(Ok(known)) = s.facts.bridges.get(node) else { return };
    for (slot, nic) in slots(s.after, "network") {
        let Some(bridge) = nic.get("bridge").and_then(Json::as_str) else { continue };
        if known.contains(bridge) || s.facts.vnets.contains_key(bridge) || !s.touches(&["network", slot, "bridge"]) {
            continue;
        }
        let mut f = s.finding(
            "bridge",
            Severity::Error,
            pth(&["network", slot, "bridge"]),
            format!("bridge \"{bridge}\" does not exist on {node}"),
            format!("{node}'s bridges: {}", list(known)),
        );
        f.help = crate::config::suggest::did_you_mean(bridge, known.iter().map(String::as_str))
            .or_else(|| Some(format!("use one of {node}'s bridges, or create {bridge} there")));
        out.push(f);
    }
}

fn cpu_and_memory(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if s.r.type_name != "vm" {
        return;
    }
    let Some(node) = &s.node else { return };
    let Some(row) = node_row(s.view, node) else { return };
    let cores = num(at(s.after, &["cpu", "cores"])).unwrap_or(1);
    let sockets = num(at(s.after, &["cpu", "sockets"])).unwrap_or(1);
    if let Some(max) = row.maxcpu.map(|m| m as u64) {
        let which = if s.touches(&["cpu", "sockets"]) && !s.touches(&["cpu", "cores"]) { "sockets" } else { "cores" };
        if cores * sockets > max && (s.touches(&["cpu", "cores"]) || s.touches(&["cpu", "sockets"])) {
            let mut f = s.finding(
                "cpu",
                Severity::Error,
                pth(&["cpu", which]),
                format!("{cores} cores × {sockets} sockets = {} vCPUs, more than {node}'s {max} CPUs", cores * sockets),
                format!("Proxmox refuses to start it: \"MAX {max} vcpus allowed per VM on this node\""),
            );
            f.help = Some(format!("at most {max} vCPUs on {node}, or place the guest on a bigger node"));
            out.push(f);
        }
    }
    if !s.touches(&["memory", "size"]) {
        return;
    }
    let mib = num(at(s.after, &["memory", "size"])).unwrap_or(512);
    let bytes = mib * MIB;
    let Some(max) = row.maxmem else { return };
    let used = num(row.extra.get("mem")).unwrap_or(0);
    let started = s.after.get("started").and_then(Json::as_bool).unwrap_or(true);
    if bytes > max {
        let mut f = s.finding(
            "memory",
            Severity::Error,
            pth(&["memory", "size"]),
            format!("{mib} MiB of memory is more than {node} has ({} MiB)", max / MIB),
            format!("node/{node}: {} MiB in all, {} MiB in use", max / MIB, used / MIB),
        );
        f.help = Some(format!("at most {} MiB on {node}, or place the guest on a bigger node", max / MIB));
        out.push(f);
    } else if started && bytes > max.saturating_sub(used) {
        let mut f = s.finding(
            "memory",
            Severity::Warning,
            pth(&["memory", "size"]),
            format!("{mib} MiB of memory is more than {node} has free ({} MiB)", max.saturating_sub(used) / MIB),
            format!("node/{node}: {} MiB in all, {} MiB in use", max / MIB, used / MIB),
        );
        f.help = Some("the guest may fail to start, or push the node into swap".into());
        out.push(f);
    }
}

fn ostemplate(s: &Subject<'_>, out: &mut Vec<Finding>) {
    if s.r.type_name != "container" || !s.fresh {
        return;
    }
    let (Some(node), Some(template)) = (&s.node, s.str_at(&["ostemplate"])) else { return };
    let Some((storage, _)) = template.split_once(':') else { return };
    if let Some(f) = storage_facts(s.facts, node, storage) {
        if !f.content.contains("vztmpl") {
            let mut finding = s.finding(
                "storage",
                Severity::Error,
                pth(&["ostemplate"]),
                format!("storage \"{storage}\" does not hold container templates (content \"vztmpl\")"),
                format!("{storage} on {node} holds: {}", list(&f.content)),
            );
            finding.help = Some("download the template to a storage that holds vztmpl".into());
            out.push(finding);
            return;
        }
    }
    let Some(Ok(present)) = s.facts.templates.get(&(node.clone(), storage.to_string())) else { return };
    if present.contains(template) {
        return;
    }
    let mut f = s.finding(
        "ostemplate",
        Severity::Error,
        pth(&["ostemplate"]),
        format!("template \"{template}\" is not on {node}'s storage {storage}"),
        format!("Proxmox: \"volume '{template}' does not exist\"; {storage} on {node} holds: {}", list(present)),
    );
    f.help = crate::config::suggest::did_you_mean(template, present.iter().map(String::as_str)).or_else(|| {
        Some(format!("download it first: pveam download {storage} {}", template.rsplit('/').next().unwrap_or(template)))
    });
    out.push(f);
}

fn pool(s: &Subject<'_>, created: &BTreeSet<&str>, out: &mut Vec<Finding>) {
    let Some(pool) = s.str_at(&["pool"]) else { return };
    if !s.touches(&["pool"]) || created.contains(pool) || s.view.pool(pool).is_some() {
        return;
    }
    let pools: Vec<&str> = s.view.pools.iter().map(|p| p.poolid.as_str()).collect();
    let mut f = s.finding(
        "pool",
        Severity::Error,
        pth(&["pool"]),
        format!("pool \"{pool}\" does not exist, and this configuration does not create it"),
        format!("Proxmox: \"pool '{pool}' does not exist\"; the cluster's pools: {}", list(&pools)),
    );
    f.help = crate::config::suggest::did_you_mean(pool, pools.iter().copied())
        .or_else(|| Some(format!("add resource \"pool\" \"{pool}\" {{ id = \"{pool}\" }}, or use an existing pool")));
    out.push(f);
}

fn ha(s: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(vmid) = s.r.live.vmid.or_else(|| num(s.after.get("vmid")).map(|v| v as u32)) else { return };
    if !s.facts.ha.contains(&vmid) || s.fresh {
        return;
    }
    let mut f = s.finding(
        "ha",
        Severity::Warning,
        vec![],
        format!("guest {vmid} is managed by HA"),
        format!("/cluster/ha/resources lists vm:{vmid}"),
    );
    f.help = Some("the HA manager may move, stop or restart it while the change lands; plan again afterwards".into());
    out.push(f);
}

fn duplicate_names(
    plan: &Plan,
    view_of: &ViewOf<'_>,
    names: &HashMap<(String, String), Vec<String>>,
    out: &mut Vec<Finding>,
) {
    let mut sorted: Vec<(&(String, String), &Vec<String>)> = names.iter().collect();
    sorted.sort();
    // The guests on each cluster by name, once (not one scan per name).
    let mut live: HashMap<(&str, &str), Vec<&ClusterResource>> = HashMap::new();
    for provider in names.keys().map(|(p, _)| p.as_str()).collect::<BTreeSet<_>>() {
        for r in view_of(provider).resources.iter().filter(|r| matches!(r.kind, PveKind::Qemu | PveKind::Lxc)) {
            if let Some(n) = r.name.as_deref() {
                live.entry((provider, n)).or_default().push(r);
            }
        }
    }
    let by_vmid: HashMap<u32, &ResourceChange> =
        plan.resource_changes.iter().filter_map(|r| Some((r.live.vmid?, r))).collect();
    let by_address: HashMap<&str, &ResourceChange> =
        plan.resource_changes.iter().map(|r| (r.address.as_str(), r)).collect();
    for ((provider, name), addresses) in sorted {
        let own: BTreeSet<u32> =
            addresses.iter().filter_map(|a| by_address.get(a.as_str())).filter_map(|r| r.live.vmid).collect();
        let others: Vec<String> = live
            .get(&(provider.as_str(), name.as_str()))
            .into_iter()
            .flatten()
            .filter(|r| r.vmid.is_some_and(|v| !own.contains(&v)))
            .filter(|r| r.vmid.and_then(|v| by_vmid.get(&v)).is_none_or(|c| c.action != Action::Delete))
            .map(|r| format!("{} on {}", r.vmid.unwrap_or(0), r.node.as_deref().unwrap_or("?")))
            .collect();
        if addresses.len() < 2 && others.is_empty() {
            continue;
        }
        for address in addresses {
            let r = by_address.get(address.as_str()).copied();
            if !r.is_some_and(|r| {
                matches!(r.action, Action::Create | Action::Replace)
                    || r.changes.iter().any(|c| c.path.first().is_some_and(|p| p == "name" || p == "hostname"))
            }) {
                continue;
            }
            let key = if r.is_some_and(|r| r.type_name == "container") { "hostname" } else { "name" };
            let twins: Vec<&String> = addresses.iter().filter(|a| *a != address).collect();
            out.push(Finding {
                check: "name".into(),
                severity: Severity::Warning,
                address: address.clone(),
                path: vec![key.into()],
                message: format!("another guest is also named \"{name}\""),
                live: [
                    (!twins.is_empty()).then(|| format!("in this configuration: {}", list(&twins))),
                    (!others.is_empty()).then(|| format!("on the cluster: {}", list(&others))),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "),
                help: Some("Proxmox allows it, but names that are not unique confuse people and name lookups".into()),
                ignored: false,
                at: None,
            });
        }
    }
}

// ---- permissions -----------------------------------------------------------------------------

/// One privilege an operation needs, on any of `paths`.
struct Need {
    operation: String,
    privilege: &'static str,
    paths: Vec<String>,
    path: Vec<String>,
}

fn permissions(r: &ResourceChange, view: &ClusterView, facts: &Facts, out: &mut Vec<Finding>) {
    if !r.is_change() || matches!(r.action, Action::Forget | Action::Move) && r.changes.is_empty() {
        return;
    }
    let Some(perms) = &facts.permissions else { return };
    let needs = needs_of(r, view, &facts.vnets);
    let mut seen = BTreeSet::new();
    for n in needs {
        if n.paths.iter().any(|p| perms.has(p, n.privilege)) {
            continue;
        }
        if !seen.insert((n.privilege, n.paths.clone())) {
            continue;
        }
        out.push(Finding {
            check: "permissions".into(),
            severity: Severity::Error,
            address: r.address.clone(),
            path: n.path,
            message: format!("{} needs {} on {}", n.operation, n.privilege, n.paths.join(" or ")),
            live: format!(
                "the API token's privileges on {}: {}",
                n.paths[0],
                perms.at(&n.paths[0]).map(list).unwrap_or_else(|| "none".into())
            ),
            help: Some(format!(
                "grant a role with {} on {} to the token (pveum acl modify {} --tokens <token> --roles <role>)",
                n.privilege, n.paths[0], n.paths[0]
            )),
            ignored: false,
            at: None,
        });
    }
}

fn needs_of(r: &ResourceChange, view: &ClusterView, vnets: &BTreeMap<String, String>) -> Vec<Need> {
    // A NIC on a node's bridge needs SDN.Use on the local zone's entry; on a VNet, on its zone's.
    let bridge_path = |bridge: &str| match vnets.get(bridge) {
        Some(zone) => format!("/sdn/zones/{zone}/{bridge}"),
        None => privs::bridge_path(bridge),
    };
    let mut out = Vec::new();
    let after = r.after.as_ref().and_then(Json::as_object);
    let mut need = |operation: &str, privilege: &'static str, paths: Vec<String>, path: Vec<String>| {
        out.push(Need { operation: operation.to_string(), privilege, paths, path });
    };
    if r.type_name == "pool" {
        let id =
            after.and_then(|a| a.get("id")?.as_str()).or_else(|| r.before.as_ref()?.get("id")?.as_str()).unwrap_or("");
        need(&format!("{} pool {id}", verb(r.action)), privs::POOL_ALLOCATE, vec![format!("/pool/{id}")], vec![]);
        return out;
    }
    if !matches!(r.type_name.as_str(), "vm" | "container") {
        return out;
    }
    let vmid = r.live.vmid.or_else(|| after.and_then(|a| num(a.get("vmid"))).map(|v| v as u32));
    let vm_path = vmid.map_or("/vms".to_string(), |v| format!("/vms/{v}"));
    let pool = after.and_then(|a| a.get("pool")?.as_str()).map(|p| format!("/pool/{p}"));
    let live_pool = vmid.and_then(|v| view.guest(v)?.pool.clone()).map(|p| format!("/pool/{p}"));
    let on_guest = |paths: &mut Vec<String>| {
        if let Some(p) = &live_pool {
            paths.push(p.clone());
        }
    };
    let mut guest_paths = vec![vm_path.clone()];
    on_guest(&mut guest_paths);
    let what = if r.type_name == "vm" { "VM" } else { "container" };
    match r.action {
        Action::Delete => {
            need(&format!("destroying {what} {}", vmid.unwrap_or(0)), privs::ALLOCATE, guest_paths.clone(), vec![]);
            if r.live.running {
                need("stopping it first", privs::POWER, guest_paths, vec![]);
            }
            return out;
        }
        Action::Create | Action::Replace => {
            let Some(after) = after else { return out };
            let mut alloc = vec![vm_path.clone()];
            if let Some(p) = &pool {
                alloc.push(p.clone());
            }
            if let Some(src) = num(at(after, &["clone", "source"])) {
                let mut src_paths = vec![format!("/vms/{src}")];
                if let Some(p) = view.guest(src as u32).and_then(|g| g.pool.clone()) {
                    src_paths.push(format!("/pool/{p}"));
                }
                need(&format!("cloning {src}"), privs::CLONE, src_paths, pth(&["clone", "source"]));
                need(
                    &format!("creating the clone of {src}"),
                    privs::ALLOCATE,
                    alloc.clone(),
                    pth(&["clone", "source"]),
                );
            } else {
                need(&format!("creating the {what}"), privs::ALLOCATE, alloc.clone(), vec![]);
            }
            if r.action == Action::Replace {
                need(&format!("destroying the old {what}"), privs::ALLOCATE, guest_paths.clone(), vec![]);
            }
            for (key, group, path) in config_keys(&r.type_name, after) {
                let p = alloc.clone();
                for privilege in group {
                    need(&format!("setting {key}"), privilege, p.clone(), path.clone());
                }
            }
            for (storage, path) in storages_of(&r.type_name, after) {
                need(
                    &format!("allocating a volume on {storage}"),
                    privs::SPACE,
                    vec![format!("/storage/{storage}")],
                    path,
                );
            }
            for (slot, bridge) in bridges_of(after) {
                need(
                    &format!("attaching {slot} to {bridge}"),
                    privs::SDN_USE,
                    vec![bridge_path(&bridge)],
                    pth(&["network", &slot, "bridge"]),
                );
            }
            if after.get("started").and_then(Json::as_bool).unwrap_or(true) {
                need(&format!("starting the {what}"), privs::POWER, alloc, pth(&["started"]));
            }
            return out;
        }
        _ => {}
    }
    let Some(after) = after else { return out };
    for c in &r.changes {
        let path = c.path.clone();
        match c.via {
            Via::Migrate => need("migrating it", privs::MIGRATE, guest_paths.clone(), path),
            Via::Power => need("starting or shutting it down", privs::POWER, guest_paths.clone(), path),
            Via::Pool => {
                if let Some(p) = after.get("pool").and_then(Json::as_str) {
                    need(
                        &format!("adding it to pool {p}"),
                        privs::POOL_ALLOCATE,
                        vec![format!("/pool/{p}")],
                        path.clone(),
                    );
                }
                if let Some(p) = r.before.as_ref().and_then(|b| b.get("pool")?.as_str()) {
                    need(&format!("taking it out of pool {p}"), privs::POOL_ALLOCATE, vec![format!("/pool/{p}")], path);
                }
            }
            Via::Resize | Via::MoveDisk => {
                need("changing a disk", privs::CONFIG_DISK, guest_paths.clone(), path.clone());
                let storage = at(
                    after,
                    &path.iter().take(path.len().min(2)).map(String::as_str).chain(["storage"]).collect::<Vec<_>>(),
                )
                .and_then(Json::as_str)
                .map(str::to_string);
                if let Some(storage) = storage {
                    need(
                        &format!("allocating space on {storage}"),
                        privs::SPACE,
                        vec![format!("/storage/{storage}")],
                        path,
                    );
                }
            }
            Via::Config => {
                for (key, group) in change_keys(&r.type_name, &c.path) {
                    for privilege in group {
                        need(&format!("changing {key}"), privilege, guest_paths.clone(), path.clone());
                    }
                }
                if c.path.first().is_some_and(|p| p == "network") && c.path.len() <= 3 {
                    if let Some(slot) = c.path.get(1) {
                        if let Some(bridge) = at(after, &["network", slot, "bridge"]).and_then(Json::as_str) {
                            need(
                                &format!("attaching {slot} to {bridge}"),
                                privs::SDN_USE,
                                vec![bridge_path(bridge)],
                                pth(&["network", slot, "bridge"]),
                            );
                        }
                    }
                }
                if c.path.len() <= 2 && matches!(c.path.first().map(String::as_str), Some("disk" | "mountpoint")) {
                    if let Some(storage) =
                        at(after, &c.path.iter().map(String::as_str).chain(["storage"]).collect::<Vec<_>>())
                            .and_then(Json::as_str)
                    {
                        need(
                            &format!("allocating a volume on {storage}"),
                            privs::SPACE,
                            vec![format!("/storage/{storage}")],
                            path,
                        );
                    }
                }
            }
            Via::Replace | Via::Resource => {}
        }
        if matches!(c.impact, crate::plan::Impact::Reboot | crate::plan::Impact::Stop) && r.live.running {
            need("rebooting it for the change", privs::POWER, guest_paths.clone(), c.path.clone());
        }
    }
    out
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create | Action::Import => "creating",
        Action::Delete => "destroying",
        Action::Replace => "replacing",
        _ => "changing",
    }
}

/// The config keys a change path sets, with the privileges each needs.
fn change_keys(type_name: &str, path: &[String]) -> Vec<(String, &'static [&'static str])> {
    let Some(first) = path.first() else { return vec![] };
    let key = match first.as_str() {
        "disk" | "network" | "mountpoint" | "cdrom" | "serial" => path.get(1).cloned().unwrap_or_else(|| first.clone()),
        "cpu" => path.get(1).map_or("cores".into(), |k| {
            if k == "type" {
                "cpu".into()
            } else {
                k.replace("limit", "cpulimit").replace("units", "cpuunits")
            }
        }),
        "memory" => path.get(1).map_or("memory".into(), |k| if k == "size" { "memory".into() } else { k.clone() }),
        "cloud_init" => path.get(1).map_or("ciuser".into(), |k| match k.as_str() {
            "user" => "ciuser".into(),
            "password" => "cipassword".into(),
            "ssh_keys" => "sshkeys".into(),
            "upgrade" => "ciupgrade".into(),
            "type" => "citype".into(),
            other => other.to_string(),
        }),
        "efi_disk" => "efidisk0".into(),
        "rootfs" => "rootfs".into(),
        "features" => "features".into(),
        "name" | "hostname" | "description" | "tags" | "onboot" | "protection" | "startup" => first.clone(),
        "started" | "pool" | "node" => return vec![],
        other => other.to_string(),
    };
    if key == "cdrom" || path.first().is_some_and(|p| p == "cdrom") {
        return vec![(key, &["VM.Config.CDROM"])];
    }
    vec![(key.clone(), privs::config_key(type_name, &key))]
}

/// The keys a create sets (from the desired attributes), with their privileges and paths.
fn config_keys(type_name: &str, after: &Map<String, Json>) -> Vec<(String, &'static [&'static str], Vec<String>)> {
    let mut out = Vec::new();
    for (k, v) in after {
        if matches!(
            k.as_str(),
            "node"
                | "vmid"
                | "pool"
                | "started"
                | "clone"
                | "ostemplate"
                | "arch"
                | "unprivileged"
                | "password"
                | "ssh_public_keys"
        ) || v.is_null()
        {
            continue;
        }
        match v {
            Json::Object(inner) if matches!(k.as_str(), "disk" | "network" | "mountpoint" | "cdrom" | "serial") => {
                for slot in inner.keys() {
                    for (key, group) in change_keys(type_name, &[k.clone(), slot.clone()]) {
                        out.push((key, group, vec![k.clone(), slot.clone()]));
                    }
                }
            }
            Json::Object(inner) => {
                for leaf in inner.keys() {
                    for (key, group) in change_keys(type_name, &[k.clone(), leaf.clone()]) {
                        out.push((key, group, vec![k.clone(), leaf.clone()]));
                    }
                }
            }
            _ => {
                for (key, group) in change_keys(type_name, std::slice::from_ref(k)) {
                    out.push((key, group, vec![k.clone()]));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn storages_of(type_name: &str, after: &Map<String, Json>) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let blocks: &[&str] = if type_name == "vm" { &["disk"] } else { &["mountpoint"] };
    for block in blocks {
        for (slot, d) in slots(after, block) {
            if let Some(st) = d.get("storage").and_then(Json::as_str) {
                out.push((st.to_string(), pth(&[block, slot, "storage"])));
            }
        }
    }
    for path in [&["rootfs", "storage"][..], &["efi_disk", "storage"], &["clone", "storage"]] {
        if let Some(st) = at(after, path).and_then(Json::as_str) {
            out.push((st.to_string(), pth(path)));
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn bridges_of(after: &Map<String, Json>) -> Vec<(String, String)> {
    slots(after, "network")
        .into_iter()
        .filter_map(|(slot, nic)| Some((slot.to_string(), nic.get("bridge")?.as_str()?.to_string())))
        .collect()
}
