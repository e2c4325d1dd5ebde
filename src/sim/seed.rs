//! Building the cluster: the built-in default (a fresh 3-node PVE install) or a `--cluster`
//! seed file, both in the same JSON format (documented in docs/simulator.md).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::json;

use super::access::{normalize_path, Access, AclEntry, Group, Token, UgKind, User, BUILTIN_ROLES, VALID_PRIVS};
use super::guest_config::{self, guest_volumes};
use super::model::{now, Cluster, Guest, GuestKind, Node, Pool, PowerState, StorageDef, Volume};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    #[serde(default = "default_name")]
    name: String,
    nodes: Vec<NodeSpec>,
    #[serde(default)]
    storages: Vec<StorageSpec>,
    #[serde(default)]
    templates: Vec<TemplateSpec>,
    #[serde(default)]
    guests: Vec<GuestSpec>,
    #[serde(default)]
    pools: Vec<PoolSpec>,
    #[serde(default)]
    users: Vec<UserSpec>,
    #[serde(default)]
    groups: Vec<GroupSpec>,
    #[serde(default)]
    roles: Vec<RoleSpec>,
    #[serde(default)]
    acl: Vec<AclSpec>,
    #[serde(default)]
    ha: Vec<HaSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HaSpec {
    /// `vm:100`, `ct:200`, or a bare VMID.
    sid: String,
    #[serde(default = "default_ha_state")]
    state: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    max_restart: Option<u32>,
    #[serde(default)]
    max_relocate: Option<u32>,
    #[serde(default)]
    failback: Option<bool>,
}

fn default_ha_state() -> String {
    "started".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    userid: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default = "default_true")]
    enable: bool,
    #[serde(default)]
    expire: i64,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    firstname: Option<String>,
    #[serde(default)]
    lastname: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    tokens: Vec<TokenSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSpec {
    id: String,
    secret: String,
    /// PVE's default for a new token: privilege separation on.
    #[serde(default = "default_true")]
    privsep: bool,
    #[serde(default)]
    expire: i64,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    groupid: String,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    roleid: String,
    privs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AclSpec {
    path: String,
    role: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default = "default_true")]
    propagate: bool,
}

fn default_true() -> bool {
    true
}

fn default_name() -> String {
    "pmx-sim".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeSpec {
    name: String,
    #[serde(default = "default_cpus")]
    cpus: u32,
    #[serde(default = "default_memory")]
    memory_gib: u64,
    #[serde(default = "default_disk")]
    disk_gib: u64,
    #[serde(default = "default_bridges")]
    bridges: Vec<String>,
    /// In HA maintenance mode.
    #[serde(default)]
    maintenance: bool,
}

fn default_cpus() -> u32 {
    8
}
fn default_memory() -> u64 {
    64
}
fn default_disk() -> u64 {
    100
}
fn default_bridges() -> Vec<String> {
    vec!["vmbr0".into()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSpec {
    id: String,
    #[serde(rename = "type")]
    plugintype: String,
    content: Vec<String>,
    capacity_gib: u64,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    vgname: Option<String>,
    #[serde(default)]
    thinpool: Option<String>,
    #[serde(default)]
    nodes: Option<Vec<String>>,
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    sparse: bool,
    #[serde(default)]
    preallocation: Option<String>,
    /// Space taken by data outside the simulated volumes, per node.
    #[serde(default)]
    used_gib: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateSpec {
    /// `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst` or an ISO `local:iso/x.iso`.
    volid: String,
    #[serde(default = "default_template_size")]
    size_mib: u64,
    /// Nodes holding it (default: every node that has the storage).
    #[serde(default)]
    nodes: Option<Vec<String>>,
}

fn default_template_size() -> u64 {
    126
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuestSpec {
    vmid: u32,
    #[serde(rename = "type")]
    kind: GuestKind,
    node: String,
    #[serde(default)]
    running: bool,
    /// Converted to a template after creation (disks become `base-<vmid>-disk-N`).
    #[serde(default)]
    template: bool,
    #[serde(default)]
    pool: Option<String>,
    /// Config keys as given to the create API (`scsi0 = "local-lvm:8"` allocates a disk).
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolSpec {
    poolid: String,
    #[serde(default)]
    comment: Option<String>,
}

const GIB: u64 = 1 << 30;

/// The built-in cluster, in the seed-file format.
pub fn default_cluster_json() -> String {
    let v = json!({
        "name": "pmx-sim",
        "nodes": [
            {"name": "pve1", "cpus": 16, "memory_gib": 128, "disk_gib": 100, "bridges": ["vmbr0"]},
            {"name": "pve2", "cpus": 16, "memory_gib": 128, "disk_gib": 100, "bridges": ["vmbr0"]},
            {"name": "pve3", "cpus": 16, "memory_gib": 128, "disk_gib": 100, "bridges": ["vmbr0"]}
        ],
        "storages": [
            {"id": "local", "type": "dir", "path": "/var/lib/vz",
             "content": ["iso", "vztmpl", "backup", "snippets"], "capacity_gib": 100},
            {"id": "local-lvm", "type": "lvmthin", "vgname": "pve", "thinpool": "data",
             "content": ["images", "rootdir"], "capacity_gib": 1024}
        ],
        "templates": [
            {"volid": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "size_mib": 126}
        ],
        "guests": [
            {"vmid": 9000, "type": "qemu", "node": "pve1", "template": true, "config": {
                "name": "debian-12-cloud",
                "description": "Debian 12 (bookworm) generic cloud image, cloud-init ready",
                "ostype": "l26", "cores": 2, "memory": "2048", "scsihw": "virtio-scsi-pci",
                "scsi0": "local-lvm:3,discard=on", "ide2": "local-lvm:cloudinit",
                "net0": "virtio,bridge=vmbr0", "serial0": "socket", "vga": "serial0",
                "boot": "order=scsi0", "agent": "1", "ciuser": "debian", "ipconfig0": "ip=dhcp"
            }}
        ],
        "pools": []
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        other => other.to_string(),
    }
}

/// Builds a cluster from seed-file text.
pub fn build(text: &str, mac: &mut dyn FnMut() -> String) -> Result<Cluster, String> {
    let file: ClusterFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if file.nodes.is_empty() {
        return Err("a cluster needs at least one node".into());
    }
    let boot = now() - 3 * 24 * 3600;
    let mut c = Cluster {
        name: file.name,
        nodes: BTreeMap::new(),
        storages: BTreeMap::new(),
        guests: BTreeMap::new(),
        pools: BTreeMap::new(),
        access: build_access(file.users, file.groups, file.roles, file.acl)?,
        ha: BTreeMap::new(),
    };
    for n in file.nodes {
        if c.nodes.contains_key(&n.name) {
            return Err(format!("node {:?} appears twice", n.name));
        }
        c.nodes.insert(
            n.name.clone(),
            Node {
                name: n.name,
                cpus: n.cpus,
                memory: n.memory_gib * GIB,
                disk: n.disk_gib * GIB,
                bridges: n.bridges,
                boot_time: boot,
                maintenance: n.maintenance,
                volumes: BTreeMap::new(),
            },
        );
    }
    for s in file.storages {
        c.storages.insert(
            s.id.clone(),
            StorageDef {
                id: s.id,
                plugintype: s.plugintype,
                content: s.content,
                shared: s.shared,
                capacity: s.capacity_gib * GIB,
                path: s.path,
                vgname: s.vgname,
                thinpool: s.thinpool,
                nodes: s.nodes,
                disable: s.disable,
                sparse: s.sparse,
                preallocation: s.preallocation,
                baseline_used: s.used_gib * GIB,
            },
        );
    }
    for t in file.templates {
        let (storage, name) =
            t.volid.split_once(':').ok_or_else(|| format!("template {:?}: expected STORAGE:PATH", t.volid))?;
        let content = name.split('/').next().unwrap_or("vztmpl").to_string();
        let def =
            c.storages.get(storage).ok_or_else(|| format!("template {:?}: no storage {storage:?}", t.volid))?.clone();
        let nodes: Vec<String> = match &t.nodes {
            Some(ns) => ns.clone(),
            None => c.nodes.keys().filter(|n| def.on_node(n)).cloned().collect(),
        };
        for node in nodes {
            let vol = Volume {
                volid: t.volid.clone(),
                size: t.size_mib << 20,
                format: if content == "iso" { "iso".into() } else { "tzst".into() },
                content: content.clone(),
                vmid: None,
                ctime: boot,
                written: None,
            };
            c.add_volume_checked(&node, vol, false).map_err(|e| format!("template {:?}: {e}", t.volid))?;
        }
    }
    for p in file.pools {
        c.pools.insert(p.poolid.clone(), Pool { id: p.poolid, comment: p.comment, storage: BTreeSet::new() });
    }
    for g in file.guests {
        if c.guests.contains_key(&g.vmid) {
            return Err(format!("guest {} appears twice", g.vmid));
        }
        if !c.nodes.contains_key(&g.node) {
            return Err(format!("guest {}: no node {:?}", g.vmid, g.node));
        }
        if let Some(p) = &g.pool {
            if !c.pools.contains_key(p) {
                return Err(format!("guest {}: no pool {p:?}", g.vmid));
            }
        }
        let updates: BTreeMap<String, String> = g.config.iter().map(|(k, v)| (k.clone(), scalar(v))).collect();
        let adopt = guest_config::PrepareOptions { adopt_missing_volumes: true };
        let prepared = guest_config::prepare(&c, g.kind, &g.node, g.vmid, &updates, mac, adopt)
            .map_err(|(k, m)| format!("guest {} {k}: {m}", g.vmid))?;
        for vol in prepared.new_volumes {
            c.add_volume_checked(&g.node, vol, false).map_err(|e| format!("guest {}: {e}", g.vmid))?;
        }
        let mut guest = Guest {
            vmid: g.vmid,
            kind: g.kind,
            node: g.node.clone(),
            config: prepared.set,
            pending: BTreeMap::new(),
            pending_delete: BTreeSet::new(),
            pending_force: BTreeSet::new(),
            state: if g.running && !g.template { PowerState::Running } else { PowerState::Stopped },
            started_at: if g.running { Some(boot + 60) } else { None },
            pool: g.pool,
        };
        if g.kind == GuestKind::Qemu {
            guest.config.entry("smbios1".into()).or_insert_with(|| format!("uuid={}", pseudo_uuid(g.vmid, 1)));
            guest.config.entry("vmgenid".into()).or_insert_with(|| pseudo_uuid(g.vmid, 2));
            guest
                .config
                .entry("meta".into())
                .or_insert_with(|| format!("creation-qemu={},ctime={boot}", super::model::QEMU_VERSION));
        }
        if g.template {
            make_template(&mut c, &mut guest);
        }
        c.guests.insert(g.vmid, guest);
    }
    for h in file.ha {
        // A bare VMID stands for its guest (`vm:` or `ct:` by the guest's type).
        let (ty, id) = match h.sid.split_once(':') {
            Some((t, id)) => (t.to_string(), id.to_string()),
            None => {
                let kind = h.sid.parse::<u32>().ok().and_then(|v| c.guests.get(&v)).map(|g| g.kind);
                (if kind == Some(GuestKind::Lxc) { "ct" } else { "vm" }.to_string(), h.sid.clone())
            }
        };
        let vmid: u32 = id.parse().map_err(|_| format!("ha {:?}: expected vm:<vmid> or ct:<vmid>", h.sid))?;
        let want = match ty.as_str() {
            "vm" => GuestKind::Qemu,
            "ct" => GuestKind::Lxc,
            _ => return Err(format!("ha {:?}: the type must be vm or ct", h.sid)),
        };
        if c.guests.get(&vmid).map(|g| g.kind) != Some(want) {
            return Err(format!("ha {:?}: no {} {vmid} in guests", h.sid, if ty == "vm" { "VM" } else { "CT" }));
        }
        if !["started", "stopped", "enabled", "disabled", "ignored"].contains(&h.state.as_str()) {
            return Err(format!(
                "ha {:?}: state {:?} is not one of started, stopped, enabled, disabled, ignored",
                h.sid, h.state
            ));
        }
        let res = super::model::HaResource {
            state: h.state,
            group: h.group,
            comment: h.comment,
            max_restart: h.max_restart,
            max_relocate: h.max_relocate,
            failback: h.failback,
        };
        c.ha.insert(format!("{ty}:{vmid}"), res);
    }
    for node in c.nodes.keys() {
        for s in c.storages.values() {
            let used = c.storage_used(node, &s.id);
            if used > s.capacity {
                return Err(format!(
                    "storage '{}' on node '{node}' holds {} but its capacity is {}",
                    s.id,
                    super::model::human_size(used),
                    super::model::human_size(s.capacity)
                ));
            }
        }
    }
    Ok(c)
}

/// The `user.cfg` part: users with their tokens, groups, custom roles and ACL entries, each
/// reference checked (PVE's parser warns and drops what the simulator refuses with a reason).
fn build_access(
    users: Vec<UserSpec>,
    groups: Vec<GroupSpec>,
    roles: Vec<RoleSpec>,
    acl: Vec<AclSpec>,
) -> Result<Access, String> {
    let mut a = Access::default();
    for g in groups {
        a.groups.insert(g.groupid, Group { members: BTreeSet::new(), comment: g.comment });
    }
    for r in roles {
        if BUILTIN_ROLES.contains_key(&r.roleid) {
            return Err(format!("role {:?} is built in and cannot be redefined", r.roleid));
        }
        if let Some(bad) = r.privs.iter().find(|p| !VALID_PRIVS.contains(p.as_str())) {
            return Err(format!("role {:?}: invalid privilege '{bad}'", r.roleid));
        }
        a.roles.insert(r.roleid, r.privs.into_iter().collect());
    }
    for u in users {
        if !u.userid.contains('@') || u.userid.contains('!') {
            return Err(format!("user {:?}: expected NAME@REALM", u.userid));
        }
        for g in &u.groups {
            a.groups
                .get_mut(g)
                .ok_or_else(|| format!("user {:?}: no group {g:?}", u.userid))?
                .members
                .insert(u.userid.clone());
        }
        let tokens = u
            .tokens
            .into_iter()
            .map(|t| (t.id, Token { secret: t.secret, privsep: t.privsep, expire: t.expire, comment: t.comment }))
            .collect();
        let user = User {
            enable: u.enable,
            expire: u.expire,
            comment: u.comment,
            email: u.email,
            firstname: u.firstname,
            lastname: u.lastname,
            password: u.password,
            tokens,
        };
        a.users.insert(u.userid, user);
    }
    for e in acl {
        if a.role_privs(&e.role).is_none() {
            return Err(format!("acl on {:?}: no role {:?}", e.path, e.role));
        }
        let (kind, ugid) = match (e.user, e.group, e.token) {
            (Some(u), None, None) => (UgKind::User, u),
            (None, Some(g), None) => (UgKind::Group, g),
            (None, None, Some(t)) => (UgKind::Token, t),
            _ => return Err(format!("acl on {:?}: name exactly one of user, group or token", e.path)),
        };
        let known = match kind {
            UgKind::User => a.users.contains_key(&ugid) || ugid == "root@pam",
            UgKind::Group => a.groups.contains_key(&ugid),
            UgKind::Token => a.token(&ugid).is_some(),
        };
        if !known {
            return Err(format!("acl on {:?}: no {} {ugid:?}", e.path, kind.as_str()));
        }
        a.acl.push(AclEntry { path: normalize_path(&e.path), kind, ugid, roleid: e.role, propagate: e.propagate });
    }
    Ok(a)
}

fn pseudo_uuid(vmid: u32, salt: u32) -> String {
    let n = (u128::from(vmid) << 64) | (u128::from(salt) << 32) | 0x5eed;
    uuid::Builder::from_random_bytes(n.to_be_bytes()).into_uuid().to_string()
}

/// Converts a guest to a template: disks are renamed `base-<vmid>-disk-N`, `template: 1`.
pub fn make_template(c: &mut Cluster, g: &mut Guest) {
    for (key, volid) in guest_volumes(g) {
        if !volid.contains("-disk-") || key.starts_with("unused") {
            continue;
        }
        let based = volid.replacen("vm-", "base-", 1);
        if let Some(mut vol) = c.remove_volume(&g.node, &volid) {
            vol.volid = based.clone();
            let node = g.node.clone();
            let storage = based.split(':').next().unwrap_or_default().to_string();
            if let Some(n) = c.nodes.get_mut(&node) {
                n.volumes.entry(storage).or_default().insert(based.clone(), vol);
            }
        }
        if let Some(v) = g.config.get(&key).cloned() {
            g.config.insert(key, guest_config::with_volume(g.kind, &v, &based));
        }
    }
    g.config.insert("template".into(), "1".into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cluster_builds() {
        let mut n = 0;
        let mut mac = || {
            n += 1;
            format!("BC:24:11:00:00:{n:02X}")
        };
        let c = build(&default_cluster_json(), &mut mac).unwrap();
        assert_eq!(c.nodes.keys().collect::<Vec<_>>(), ["pve1", "pve2", "pve3"]);
        let t = &c.guests[&9000];
        assert!(t.is_template());
        assert_eq!(t.config["scsi0"], "local-lvm:base-9000-disk-0,discard=on,size=3G");
        assert_eq!(t.config["net0"], "virtio=BC:24:11:00:00:01,bridge=vmbr0");
        assert!(c.volume("pve2", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst").is_some());
    }

    #[test]
    fn bad_seed_files_say_why() {
        let mut mac = || String::from("BC:24:11:00:00:01");
        let full = r#"{"nodes": [{"name": "a"}], "storages": [{"id": "s", "type": "lvmthin", "content": ["images"], "capacity_gib": 1}],
            "guests": [{"vmid": 100, "type": "qemu", "node": "a", "config": {"scsi0": "s:2"}}]}"#;
        assert!(build(full, &mut mac).unwrap_err().contains("capacity"));
        assert!(build("{\"nodes\": []}", &mut mac).unwrap_err().contains("at least one node"));
        assert!(build("{\"nodes\": [{\"name\": \"a\"}], \"bogus\": 1}", &mut mac).unwrap_err().contains("bogus"));
    }
}
