//! The simulated cluster: nodes, storages and their volumes, guests, pools. Serialisable, so
//! `--state-file` can persist it as is.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    Qemu,
    Lxc,
}

impl GuestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
        }
    }

    /// The file PVE locks while changing a guest's config.
    pub fn lock_path(self, vmid: u32) -> String {
        match self {
            GuestKind::Qemu => format!("/var/lock/qemu-server/lock-{vmid}.conf"),
            GuestKind::Lxc => format!("/run/lock/lxc/pve-config-{vmid}.lock"),
        }
    }

    /// The config file path as PVE names it in messages.
    pub fn conf_path(self, node: &str, vmid: u32) -> String {
        match self {
            GuestKind::Qemu => format!("nodes/{node}/qemu-server/{vmid}.conf"),
            GuestKind::Lxc => format!("nodes/{node}/lxc/{vmid}.conf"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    pub nodes: BTreeMap<String, Node>,
    pub storages: BTreeMap<String, StorageDef>,
    pub guests: BTreeMap<u32, Guest>,
    pub pools: BTreeMap<String, Pool>,
    /// Users, tokens, roles and ACLs (`user.cfg`).
    #[serde(default)]
    pub access: super::access::Access,
    /// HA-managed guests (`ha/resources.cfg`), by service id (`vm:100`, `ct:200`).
    #[serde(default)]
    pub ha: BTreeMap<String, HaResource>,
}

/// One entry of `ha/resources.cfg`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HaResource {
    /// Requested state: `started`, `stopped`, `enabled`, `disabled`, `ignored`.
    pub state: String,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub max_restart: Option<u32>,
    #[serde(default)]
    pub max_relocate: Option<u32>,
    #[serde(default)]
    pub failback: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    pub cpus: u32,
    /// Bytes.
    pub memory: u64,
    /// Root filesystem size, bytes.
    pub disk: u64,
    pub bridges: Vec<String>,
    /// Unix time the node "booted", for uptime.
    pub boot_time: i64,
    /// In HA maintenance mode (`ha-manager crm-command node-maintenance enable`).
    #[serde(default)]
    pub maintenance: bool,
    /// Volumes per storage id (node-local view; shared storages are listed on every node).
    pub volumes: BTreeMap<String, BTreeMap<String, Volume>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StorageDef {
    pub id: String,
    /// `dir`, `lvmthin`, `lvm`, `zfspool`, `nfs`, ...
    pub plugintype: String,
    pub content: Vec<String>,
    pub shared: bool,
    /// Capacity in bytes (per node for local storages).
    pub capacity: u64,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub vgname: Option<String>,
    #[serde(default)]
    pub thinpool: Option<String>,
    /// Restricted to these nodes (None = all).
    #[serde(default)]
    pub nodes: Option<Vec<String>>,
    /// `disable` in storage.cfg: listed, but nothing can be allocated on it.
    #[serde(default)]
    pub disable: bool,
    /// zfspool `sparse`: volumes without a reservation (thin); pve-storage's default is off.
    #[serde(default)]
    pub sparse: bool,
    /// Directory storages' `preallocation` (`off`, `metadata`, `falloc`, `full`).
    #[serde(default)]
    pub preallocation: Option<String>,
    /// Bytes in use by data the simulator does not model (ISOs, backups, other files), per node.
    #[serde(default)]
    pub baseline_used: u64,
}

impl StorageDef {
    pub fn supports(&self, content: &str) -> bool {
        self.content.iter().any(|c| c == content)
    }

    pub fn on_node(&self, node: &str) -> bool {
        self.nodes.as_ref().is_none_or(|ns| ns.iter().any(|n| n == node))
    }

    /// Whether volumes are files (`100/vm-100-disk-0.raw`) rather than block devices.
    pub fn is_file_based(&self) -> bool {
        matches!(self.plugintype.as_str(), "dir" | "nfs" | "cifs" | "cephfs" | "btrfs")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    /// `local-lvm:vm-100-disk-0`.
    pub volid: String,
    pub size: u64,
    pub format: String,
    /// `images`, `rootdir`, `iso`, `vztmpl`, `backup`, `snippets`.
    pub content: String,
    pub vmid: Option<u32>,
    pub ctime: i64,
    /// Bytes the volume takes on its storage: on a thin storage only what was written (a new
    /// volume: 0), None = its whole size (thick storages, seeded disks).
    #[serde(default)]
    pub written: Option<u64>,
}

impl Volume {
    /// The space it takes on its storage.
    pub fn allocated(&self) -> u64 {
        self.written.map_or(self.size, |w| w.min(self.size))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    Running,
    Stopped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Guest {
    pub vmid: u32,
    pub kind: GuestKind,
    pub node: String,
    /// The config as PVE stores it: raw string values.
    pub config: BTreeMap<String, String>,
    #[serde(default)]
    pub pending: BTreeMap<String, String>,
    #[serde(default)]
    pub pending_delete: BTreeSet<String>,
    /// Pending deletes that were forced (`delete: !key` in PVE's `[PENDING]`): a forced disk
    /// delete frees the volume instead of keeping it as `unusedN`.
    #[serde(default)]
    pub pending_force: BTreeSet<String>,
    pub state: PowerState,
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub pool: Option<String>,
}

impl Guest {
    pub fn is_template(&self) -> bool {
        self.config.get("template").is_some_and(|v| v == "1")
    }

    pub fn name(&self) -> Option<&str> {
        let key = match self.kind {
            GuestKind::Qemu => "name",
            GuestKind::Lxc => "hostname",
        };
        self.config.get(key).map(String::as_str)
    }

    pub fn running(&self) -> bool {
        self.state == PowerState::Running
    }

    pub fn cpus(&self) -> u64 {
        let cores: u64 = self.config.get("cores").and_then(|v| v.parse().ok()).unwrap_or(1);
        match self.kind {
            GuestKind::Qemu => cores * self.config.get("sockets").and_then(|v| v.parse().ok()).unwrap_or(1),
            GuestKind::Lxc => cores,
        }
    }

    /// Memory in bytes (qemu `memory` may be `current=N`).
    pub fn maxmem(&self) -> u64 {
        let raw = self.config.get("memory").map(String::as_str).unwrap_or("512");
        let mib: u64 =
            raw.strip_prefix("current=").unwrap_or(raw).split(',').next().unwrap_or("512").parse().unwrap_or(512);
        mib << 20
    }

    pub fn uptime(&self, now: i64) -> i64 {
        match (self.state, self.started_at) {
            (PowerState::Running, Some(t)) => (now - t).max(0),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pool {
    pub id: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub storage: BTreeSet<String>,
}

/// The QEMU PVE 9.2 ships (pve-qemu-kvm 11.0): `creation-qemu` in new VMs' `meta`,
/// `running-qemu`, and the version a Windows guest's machine type is pinned to.
pub const QEMU_VERSION: &str = "11.0.0";

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Cluster {
    /// Bytes in use on a storage of a node: its baseline and what its volumes take (on thin
    /// storages only what was written, so a thin storage can hold more than its size).
    pub fn storage_used(&self, node: &str, storage: &str) -> u64 {
        let baseline = self.storages.get(storage).map_or(0, |s| s.baseline_used);
        let volumes: u64 = self
            .nodes
            .get(node)
            .and_then(|n| n.volumes.get(storage))
            .map(|v| v.values().map(Volume::allocated).sum())
            .unwrap_or(0);
        baseline.saturating_add(volumes)
    }

    /// Finds a volume by volid on `node`.
    pub fn volume(&self, node: &str, volid: &str) -> Option<&Volume> {
        let (storage, _) = volid.split_once(':')?;
        self.nodes.get(node)?.volumes.get(storage)?.get(volid)
    }

    pub fn remove_volume(&mut self, node: &str, volid: &str) -> Option<Volume> {
        let (storage, _) = volid.split_once(':')?;
        self.nodes.get_mut(node)?.volumes.get_mut(storage)?.remove(volid)
    }

    /// Checks capacity and records a new volume.
    pub fn add_volume(&mut self, node: &str, vol: Volume) -> Result<(), String> {
        self.add_volume_checked(node, vol, true)
    }

    /// Records a volume; `check_capacity` = false lets seeding add thousands of volumes without
    /// summing the storage each time (it checks the totals once at the end). A thick storage
    /// refuses a volume that does not fit, with its plugin's message; a thin one takes it and
    /// counts only what is written (a new volume: nothing, a copy: what its source took).
    pub fn add_volume_checked(&mut self, node: &str, mut vol: Volume, check_capacity: bool) -> Result<(), String> {
        let storage = vol.volid.split_once(':').map(|(s, _)| s.to_string()).unwrap_or_default();
        let def = self.storages.get(&storage).ok_or_else(|| format!("storage '{storage}' does not exist"))?;
        if check_capacity {
            super::storage::check_enabled(self, &storage, Some(node))?;
            if def.is_thin() {
                vol.written.get_or_insert(0);
            } else {
                vol.written = None;
                let used = self.storage_used(node, &storage);
                if used.saturating_add(vol.size) > def.capacity {
                    return Err(super::storage::out_of_space(
                        def,
                        &vol.volid,
                        vol.size,
                        def.capacity.saturating_sub(used),
                    ));
                }
            }
        }
        let n = self.nodes.get_mut(node).ok_or_else(|| format!("no such node '{node}'"))?;
        n.volumes.entry(storage).or_default().insert(vol.volid.clone(), vol);
        Ok(())
    }

    /// The next `vm-<vmid>-disk-<n>` name free on `storage` of `node`.
    pub fn next_disk_name(&self, node: &str, storage: &str, vmid: u32, reserved: &BTreeSet<String>) -> String {
        let file_based = self.storages.get(storage).is_some_and(|s| s.is_file_based());
        for n in 0.. {
            let name = if file_based {
                format!("{storage}:{vmid}/vm-{vmid}-disk-{n}.raw")
            } else {
                format!("{storage}:vm-{vmid}-disk-{n}")
            };
            let base = format!("{storage}:base-{vmid}-disk-{n}");
            if self.volume(node, &name).is_none() && self.volume(node, &base).is_none() && !reserved.contains(&name) {
                return name;
            }
        }
        unreachable!("the disk index range is unbounded")
    }

    pub fn next_free_vmid(&self) -> u32 {
        let mut id = 100;
        for &used in self.guests.keys() {
            if used < id {
                continue;
            }
            if used == id {
                id += 1;
            } else {
                break;
            }
        }
        id
    }
}

/// `8G`, `512M`, `1.50G`: sizes the way PVE writes them in configs.
pub fn size_string(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (mult, unit) in UNITS {
        if bytes >= mult && bytes % mult == 0 {
            return format!("{}{unit}", bytes / mult);
        }
    }
    if bytes >= 1 << 30 {
        return format!("{}M", bytes >> 20);
    }
    format!("{bytes}")
}

pub fn human_size(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_render_like_pve() {
        assert_eq!(size_string(8 << 30), "8G");
        assert_eq!(size_string(512 << 20), "512M");
        assert_eq!(size_string((8 << 30) + (512 << 20)), "8704M");
        assert_eq!(size_string(1 << 40), "1T");
    }
}
