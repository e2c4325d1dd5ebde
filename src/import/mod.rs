//! `pmx import`: adopt an existing cluster. Pure: a cluster view in, `.pmx` text and state
//! changes out (the CLI reads the cluster and writes both).
//!
//! Guests are written through the codec in the schema's shape, leaving out what equals
//! Proxmox's default; templates become `data "template"` lookups; pools become resources and
//! guests refer to them (`pool = pool.web.id`). What the API never returns (passwords, a
//! container's template) is left out, or written with `ignore_changes` and a comment, so it
//! never forces a change. The next plan is empty.

pub mod adopt;
pub mod discover;
pub mod generate;
pub mod unmanaged;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{json, Map, Value as Json};

use crate::codec::{self, LiveGuest};
use crate::plan::{managed_paths, ClusterView, PMX_META};
use crate::proxmox::models::{ClusterResource, ResourceKind as PveKind};
use crate::schema::{registry, Attribute, BlockType, Canon, Nesting, ResourceType};
use crate::state::{Change, ChangeType, Origin, ResourceKind};

/// Which guests to adopt.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub nodes: Vec<String>,
    pub pools: Vec<String>,
    pub vmids: Vec<u32>,
    pub tags: Vec<String>,
    /// A glob on the name (`web-*`).
    pub name: Option<String>,
}

impl Filter {
    pub fn matches(&self, r: &ClusterResource) -> bool {
        let node_ok = self.nodes.is_empty() || r.node.as_ref().is_some_and(|n| self.nodes.contains(n));
        let pool_ok = self.pools.is_empty() || r.pool.as_ref().is_some_and(|p| self.pools.contains(p));
        let vmid_ok = self.vmids.is_empty() || r.vmid.is_some_and(|v| self.vmids.contains(&v));
        let tags: Vec<String> = r
            .tags
            .as_deref()
            .unwrap_or("")
            .split([';', ',', ' '])
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect();
        let tag_ok = self.tags.is_empty() || self.tags.iter().any(|t| tags.contains(&t.to_lowercase()));
        let name_ok = self.name.as_deref().is_none_or(|g| glob(g, r.name.as_deref().unwrap_or("")));
        node_ok && pool_ok && vmid_ok && tag_ok && name_ok
    }
}

/// `*` and `?` globbing.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(&p, &t)
}

/// How generated files are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One file, `imported.pmx`.
    None,
    Node,
    Pool,
}

/// What an import produces.
#[derive(Debug, Default)]
pub struct Imported {
    /// File name → text (not yet formatted).
    pub files: BTreeMap<String, String>,
    /// One state change per adopted resource.
    pub changes: Vec<Change>,
    /// Guests left out, with why.
    pub skipped: Vec<(String, String)>,
    /// Guests adopted with something to say (imported while locked).
    pub notes: Vec<(String, String)>,
    /// Options pmx leaves alone, by the address of the guest that has them.
    pub unmanaged: Vec<(String, Vec<String>)>,
}

/// A valid, unique resource name for a guest or pool name.
fn identifier(raw: &str, taken: &mut HashSet<String>, fallback: &str) -> String {
    let mut s: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_lowercase() } else { '_' }).collect();
    s = s.trim_matches('_').to_string();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s = format!("{fallback}{}", if s.is_empty() { String::new() } else { format!("_{s}") });
    }
    let mut name = s.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{s}_{n}");
        n += 1;
    }
    name
}

/// An HCL literal for a JSON value.
fn literal(v: &Json) -> String {
    match v {
        Json::String(s) => {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            quoted.replace("${", "$${").replace("%{", "%%{")
        }
        Json::Array(items) => format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", ")),
        Json::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Whether `v` is what Proxmox uses anyway when the attribute is unset.
fn is_default(a: &Attribute, v: &Json) -> bool {
    a.default.as_ref().is_some_and(|d| codec::same(a, v, d))
}

fn body(out: &mut String, indent: usize, attrs: &[Attribute], decoded: &Map<String, Json>, skip: &[&str]) {
    let pad = " ".repeat(indent);
    for a in attrs {
        if skip.contains(&a.name) || a.canon == Canon::WriteOnly || a.pve_param.is_none() && a.changed_by.is_none() {
            continue;
        }
        let Some(v) = decoded.get(a.name) else { continue };
        if is_default(a, v) {
            continue;
        }
        let _ = writeln!(out, "{pad}{} = {}", a.name, literal(v));
    }
}

fn blocks(out: &mut String, bts: &[BlockType], decoded: &Map<String, Json>) {
    for b in bts {
        let Some(v) = decoded.get(b.name).and_then(Json::as_object) else { continue };
        match b.nesting {
            Nesting::Single => {
                let mut inner = String::new();
                body(&mut inner, 4, &b.attributes, v, &[]);
                if !inner.is_empty() {
                    let _ = writeln!(out, "\n  {} {{\n{inner}  }}", b.name);
                }
            }
            Nesting::Slotted { .. } => {
                for (slot, sv) in v {
                    let Some(sv) = sv.as_object() else { continue };
                    let mut inner = String::new();
                    // An existing volume (a mount point's `volume`) names its storage already.
                    let skip: Vec<&str> = if b.attribute("volume").is_some() && sv.contains_key("volume") {
                        b.attributes.iter().filter(|a| a.canon == Canon::VolumeStorage).map(|a| a.name).collect()
                    } else {
                        vec![]
                    };
                    body(&mut inner, 4, &b.attributes, sv, &skip);
                    let _ = writeln!(out, "\n  {} \"{slot}\" {{\n{inner}  }}", b.name);
                }
            }
        }
    }
}

/// What the project and its state hold already.
#[derive(Debug, Default)]
pub struct Known {
    /// Guests state manages.
    pub vmids: HashSet<u32>,
    /// Pools state manages: pool id → resource name.
    pub pools: HashMap<String, String>,
    /// Resource names in use (configuration and state): generated names avoid them.
    pub names: HashSet<String>,
}

/// Decides what to write and record for the guests of `view` that `filter` selects and that
/// state does not manage yet; guests on `unreachable` nodes are skipped with a note.
pub fn decide(
    view: &ClusterView,
    filter: &Filter,
    known: &Known,
    unreachable: &BTreeSet<String>,
    provider: &str,
    group: GroupBy,
) -> Imported {
    let (managed_vmids, managed_pools) = (&known.vmids, &known.pools);
    let mut out = Imported::default();
    let mut taken: HashSet<String> = known.names.clone();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let file_of = |node: &str, pool: Option<&str>| match group {
        GroupBy::None => "imported.pmx".to_string(),
        GroupBy::Node => format!("node-{node}.pmx"),
        GroupBy::Pool => format!("pool-{}.pmx", pool.unwrap_or("none")),
    };
    let mut head = String::from("# Adopted by `pmx import`: what Proxmox holds, minus its defaults.\n");
    if provider != "proxmox" {
        let _ = writeln!(head, "# Cluster: provider {provider}.");
    }
    // Pools.
    // Pools state already manages keep their names: guests refer to them.
    let mut pool_names: HashMap<String, String> = managed_pools.clone();
    taken.extend(managed_pools.values().cloned());
    let mut pools_text = String::new();
    for p in &view.pools {
        if (!filter.pools.is_empty() && !filter.pools.contains(&p.poolid)) || managed_pools.contains_key(&p.poolid) {
            continue;
        }
        let name = identifier(&p.poolid, &mut taken, "pool");
        let _ = writeln!(pools_text, "\nresource \"pool\" \"{name}\" {{\n  id = {}", literal(&json!(p.poolid)));
        if let Some(c) = p.comment.as_ref().filter(|c| !c.is_empty()) {
            let _ = writeln!(pools_text, "  comment = {}", literal(&json!(c)));
        }
        pools_text.push_str("}\n");
        if let Ok(address) = format!("pool.{name}").parse() {
            out.changes.push(pool_change(address, p, provider));
        }
        pool_names.insert(p.poolid.clone(), name);
    }
    // Templates: looked up, not managed.
    let mut templates: HashMap<u32, String> = HashMap::new();
    let mut tmpl_text = String::new();
    for r in view.resources.iter().filter(|r| r.kind == PveKind::Qemu && r.template == Some(true)) {
        let (Some(vmid), Some(n)) = (r.vmid, r.name.as_ref()) else { continue };
        let name = identifier(n, &mut taken, "template");
        let _ = writeln!(tmpl_text, "\ndata \"template\" \"{name}\" {{\n  vmid = {vmid}\n}}");
        templates.insert(vmid, name);
    }
    let mut guests: Vec<&ClusterResource> = view
        .resources
        .iter()
        .filter(|r| matches!(r.kind, PveKind::Qemu | PveKind::Lxc) && r.template != Some(true))
        .collect();
    guests.sort_by_key(|r| r.vmid);
    for r in guests {
        let (Some(vmid), Some(node)) = (r.vmid, r.node.clone()) else { continue };
        if !filter.matches(r) {
            continue;
        }
        let label = guest_label(r);
        if managed_vmids.contains(&vmid) {
            out.skipped.push((label, "already managed".into()));
            continue;
        }
        let Some(config) = view.configs.get(&vmid) else {
            let why = if unreachable.contains(&node) {
                format!("node {node} did not answer: import it again when the node is back")
            } else {
                "its config could not be read".into()
            };
            out.skipped.push((label, why));
            continue;
        };
        let lock = config.get("lock").and_then(Json::as_str);
        if let Some(lock) = lock.filter(|l| !lock_keeps_config(l)) {
            out.skipped.push((label, format!("locked ({lock}): import it again when the lock is gone")));
            continue;
        }
        let type_name = if r.kind == PveKind::Lxc { "container" } else { "vm" };
        let base = r.name.clone().unwrap_or_else(|| format!("{type_name}_{vmid}"));
        let name = identifier(&base, &mut taken, type_name);
        let Some(g) = guest(r, config, &name, &pool_names, provider) else { continue };
        if let Some(lock) = lock {
            out.notes.push((
                label.clone(),
                format!("imported while locked ({lock}); pmx waits for the lock before it changes the guest"),
            ));
        }
        if !g.unmanaged.is_empty() {
            out.unmanaged.push((g.change.address.to_string(), g.unmanaged.clone()));
        }
        files.entry(file_of(&node, r.pool.as_deref())).or_default().push_str(&g.text);
        out.changes.push(g.change);
    }
    let shared = format!("{head}{pools_text}{tmpl_text}");
    match group {
        GroupBy::None => {
            let body = files.remove("imported.pmx").unwrap_or_default();
            out.files.insert("imported.pmx".into(), format!("{shared}{body}"));
        }
        _ => {
            out.files.insert("imported.pmx".into(), shared);
            out.files.extend(files);
        }
    }
    out
}

/// `vm 100 (web)`: a guest as messages name it.
fn guest_label(r: &ClusterResource) -> String {
    let kind = if r.kind == PveKind::Lxc { "container" } else { "vm" };
    format!("{kind} {} ({})", r.vmid.unwrap_or_default(), r.name.clone().unwrap_or_default())
}

/// Whether a guest under this config lock can be adopted as it is. A backup, a snapshot or a
/// suspend leaves the configuration as it is (and a nightly backup can hold the lock for hours,
/// so skipping would make adoption flaky); a create, clone, migration, rollback or disk move is
/// rewriting the config or moving the guest, so what import would record is about to be wrong.
pub fn lock_keeps_config(lock: &str) -> bool {
    matches!(lock, "backup" | "snapshot" | "snapshot-delete" | "suspending" | "suspended" | "mounted" | "fstrim")
}

/// One adopted guest: its resource block, its state change and the options pmx leaves alone.
pub struct AdoptedGuest {
    pub text: String,
    pub change: Change,
    pub unmanaged: Vec<String>,
}

/// The resource block and state change that adopt the guest `r` (with its raw `config`) as
/// `TYPE.name`. Pools named in `pool_names` are referred to, others written as literals.
pub fn guest(
    r: &ClusterResource,
    config: &Map<String, Json>,
    name: &str,
    pool_names: &HashMap<String, String>,
    provider: &str,
) -> Option<AdoptedGuest> {
    let (vmid, node) = (r.vmid?, r.node.clone()?);
    let (type_name, kind) =
        if r.kind == PveKind::Lxc { ("container", ResourceKind::Container) } else { ("vm", ResourceKind::Vm) };
    let rt: &ResourceType = registry().resource(type_name)?;
    let live = LiveGuest {
        node: node.clone(),
        vmid,
        pool: r.pool.clone(),
        running: r.status.as_deref() == Some("running"),
        template: false,
        config: config.clone(),
    };
    let decoded = codec::decode(rt, &live);
    let unmanaged = unmanaged::unmanaged(rt, config);
    let mut text = format!("\nresource \"{type_name}\" \"{name}\" {{\n");
    if !unmanaged.is_empty() {
        // Kept as Proxmox has them: plan compares and writes only what the schema models.
        let _ = writeln!(text, "  # not managed by pmx: {}", unmanaged.join(", "));
    }
    let _ = writeln!(text, "  node = {}", literal(&json!(node)));
    let _ = writeln!(text, "  vmid = {vmid}");
    if let Some(p) = &r.pool {
        match pool_names.get(p) {
            Some(pn) => {
                let _ = writeln!(text, "  pool = pool.{pn}.id");
            }
            None => {
                let _ = writeln!(text, "  pool = {}", literal(&json!(p)));
            }
        }
    }
    let _ = writeln!(text, "  started = {}", live.running);
    body(&mut text, 2, &rt.attributes, &decoded, &["node", "vmid", "pool", "started"]);
    let mut ignore: Vec<&str> = Vec::new();
    if type_name == "container" {
        // PVE does not keep the template a container was made from.
        let _ = writeln!(
            text,
            "  # Proxmox does not record the template this container was created from.\n  ostemplate = \"local:vztmpl/unknown.tar.zst\""
        );
        ignore.push("ostemplate");
    }
    if config.get("cipassword").is_some() {
        text.push_str("  # The cloud-init password is never returned by the API: set it here to manage it.\n");
        ignore.push("cloud_init.password");
    }
    blocks(&mut text, &rt.blocks, &decoded);
    if !ignore.is_empty() {
        let _ = writeln!(text, "\n  lifecycle {{\n    ignore_changes = [{}]\n  }}", ignore.join(", "));
    }
    text.push_str("}\n");
    // The written configuration, to record what it manages.
    let mut desired = decoded.clone();
    desired.retain(|k, _| k != "template");
    let mut attrs = decoded;
    attrs.insert(PMX_META.into(), bookkeeping(provider, &desired));
    let mut change =
        Change::new(ChangeType::Imported, kind, format!("{type_name}.{name}").parse().ok()?, Json::Object(attrs))
            .node(node)
            .vmid(vmid)
            .status(if live.running { "running" } else { "stopped" })
            .cluster(provider)
            .origin(Origin::Managed)
            .payload(json!({"source": "import"}));
    if let Some(f) = crate::plan::fingerprint_of(config) {
        change = change.fingerprint(f);
    }
    if let Some(d) = config.get("digest").and_then(Json::as_str) {
        change = change.digest(d);
    }
    Some(AdoptedGuest { text, change, unmanaged })
}

/// The state change that adopts the pool `p` as `address`.
pub fn pool_change(address: crate::addr::ResourceAddress, p: &crate::proxmox::models::Pool, provider: &str) -> Change {
    let mut attrs = Map::new();
    attrs.insert("id".into(), json!(p.poolid));
    if let Some(c) = p.comment.as_ref().filter(|c| !c.is_empty()) {
        attrs.insert("comment".into(), json!(c));
    }
    let desired = attrs.clone();
    attrs.insert(PMX_META.into(), bookkeeping(provider, &desired));
    Change::new(ChangeType::Imported, ResourceKind::Pool, address, Json::Object(attrs))
        .cluster(provider)
        .origin(Origin::Managed)
        .payload(json!({"source": "import"}))
}

fn bookkeeping(provider: &str, desired: &Map<String, Json>) -> Json {
    json!({"provider": provider, "origin": "managed", "managed": managed_paths(desired), "secrets": {}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_unique_identifiers() {
        let mut taken = HashSet::new();
        assert_eq!(identifier("Web-01.example", &mut taken, "vm"), "web_01_example");
        assert_eq!(identifier("web-01.example", &mut taken, "vm"), "web_01_example_2");
        assert_eq!(identifier("9lives", &mut taken, "vm"), "vm_9lives");
        assert_eq!(identifier("", &mut taken, "vm"), "vm");
    }

    #[test]
    fn globs_and_literals() {
        assert!(glob("web-*", "web-12"));
        assert!(!glob("web-?", "web-12"));
        assert_eq!(literal(&json!("a${b}")), "\"a$${b}\"");
        assert_eq!(literal(&json!(["x", 2])), "[\"x\", 2]");
    }
}
