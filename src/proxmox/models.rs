//! Typed models of PVE's answers. Common fields are typed (leniently: see `lenient`); every
//! other field is kept in `extra`, so nothing PVE sends is lost.

use super::lenient::{opt_bool, opt_f64, opt_i64, opt_string, opt_u32, opt_u64, req_string, req_u32, vec_or_null};
use super::propstring::{Ipconfig, LxcMountPoint, LxcNet, PropError, QemuDisk, QemuNet};
use crate::lenient_enum;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

pub type Extra = IndexMap<String, Json>;

lenient_enum! {
    /// The `type` of a `/cluster/resources` entry.
    pub enum ResourceKind {
        Qemu => "qemu", Lxc => "lxc", Node => "node", Storage => "storage", Pool => "pool",
        Sdn => "sdn", Network => "network", OpenVz => "openvz",
    }
}

lenient_enum! {
    /// A guest's run state (`status` of a guest).
    pub enum GuestState { Running => "running", Stopped => "stopped", Paused => "paused", Suspended => "suspended" }
}

lenient_enum! {
    pub enum NodeState { Online => "online", Offline => "offline" }
}

lenient_enum! {
    /// A task's `status`: `running` or `stopped` (then `exitstatus` tells how it ended).
    pub enum TaskState { Running => "running", Stopped => "stopped" }
}

lenient_enum! {
    pub enum GuestKind { Qemu => "qemu", Lxc => "lxc" }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct VersionInfo {
    #[serde(deserialize_with = "req_string")]
    pub version: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub release: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub repoid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NodeEntry {
    pub node: String,
    #[serde(default)]
    pub status: Option<NodeState>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub cpu: Option<f64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub maxcpu: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub mem: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub maxmem: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub disk: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub maxdisk: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub ssl_fingerprint: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /nodes/{node}/status`: a few typed figures, the rest in `extra`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NodeStatus {
    #[serde(default, deserialize_with = "opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub cpu: Option<f64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub pveversion: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub kversion: Option<String>,
    #[serde(default)]
    pub memory: Option<MemoryFigures>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct MemoryFigures {
    #[serde(default, deserialize_with = "opt_u64")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub used: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub free: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An entry of `/cluster/resources` (and a pool member, which has the same shape).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ClusterResource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ResourceKind,
    #[serde(default, deserialize_with = "opt_string")]
    pub node: Option<String>,
    #[serde(default, deserialize_with = "opt_u32")]
    pub vmid: Option<u32>,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub template: Option<bool>,
    #[serde(default, deserialize_with = "opt_string")]
    pub pool: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub storage: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub maxcpu: Option<f64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub maxmem: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub maxdisk: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub disk: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /storage` (cluster storage config) and `GET /nodes/{node}/storage` (with usage).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct StorageEntry {
    pub storage: String,
    #[serde(rename = "type", default, deserialize_with = "opt_string")]
    pub storage_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub shared: Option<bool>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub used: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub avail: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl StorageEntry {
    /// The content types (`images`, `rootdir`, `iso`, ...).
    pub fn content_types(&self) -> Vec<&str> {
        self.content.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
    }
}

/// `GET /nodes/{node}/storage/{storage}/content`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct StorageContent {
    pub volid: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub format: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "opt_u32")]
    pub vmid: Option<u32>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub ctime: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /pools` entry (members only with `?poolid=` on newer PVE, or inline on older).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Pool {
    pub poolid: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub members: Vec<ClusterResource>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /nodes/{node}/tasks/{upid}/status`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskStatus {
    #[serde(default, deserialize_with = "opt_string")]
    pub upid: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub node: Option<String>,
    pub status: TaskState,
    #[serde(default, deserialize_with = "opt_string")]
    pub exitstatus: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "opt_string")]
    pub task_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub starttime: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a stopped task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskExit {
    Ok,
    /// `WARNINGS: N`: the task did its job but logged N warnings.
    Warnings(u32),
    Failed(String),
}

impl TaskExit {
    pub fn from_exitstatus(s: &str) -> TaskExit {
        let s = s.trim();
        if s == "OK" {
            return TaskExit::Ok;
        }
        if let Some(n) = s.strip_prefix("WARNINGS:") {
            if let Ok(n) = n.trim().parse() {
                return TaskExit::Warnings(n);
            }
        }
        TaskExit::Failed(s.to_string())
    }

    pub fn is_success(&self) -> bool {
        !matches!(self, TaskExit::Failed(_))
    }
}

/// One line of `GET /nodes/{node}/tasks/{upid}/log`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskLogLine {
    #[serde(default, deserialize_with = "opt_u64")]
    pub n: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub t: Option<String>,
}

/// An entry of `GET /nodes/{node}/qemu` or `/lxc`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct GuestEntry {
    #[serde(deserialize_with = "req_u32")]
    pub vmid: u32,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<GuestState>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub template: Option<bool>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub cpus: Option<f64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub maxmem: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub maxdisk: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub uptime: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct GuestStatus {
    pub status: GuestState,
    #[serde(default, deserialize_with = "opt_u32")]
    pub vmid: Option<u32>,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub qmpstatus: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub lock: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub template: Option<bool>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub uptime: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Numbered keys (`net0`, `scsi1`, ...) of a config's `extra`, parsed by `parse`.
fn numbered<T>(
    extra: &Extra,
    prefix: &str,
    parse: impl Fn(&str) -> Result<T, PropError>,
) -> Result<BTreeMap<u32, T>, PropError> {
    let mut out = BTreeMap::new();
    for (k, v) in extra {
        let Some(n) = k.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Some(s) = v.as_str() else { continue };
        out.insert(n, parse(s).map_err(|e| e.in_key(k))?);
    }
    Ok(out)
}

/// `GET /nodes/{node}/qemu/{vmid}/config`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
pub struct QemuConfig {
    #[serde(default, deserialize_with = "opt_string")]
    pub digest: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub cores: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub sockets: Option<u64>,
    /// MiB. PVE 8 may write `memory: current=2048`; that is read as 2048.
    #[serde(default, deserialize_with = "memory_mib")]
    pub memory: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub balloon: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub cpu: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub ostype: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub boot: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub scsihw: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub agent: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub onboot: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub template: Option<bool>,
    #[serde(default, deserialize_with = "opt_string")]
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub ciuser: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub sshkeys: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub lock: Option<String>,
    /// Everything else: `net0`, `scsi0`, `ipconfig0`, `numa0`, `hostpci0`, ...
    #[serde(flatten)]
    pub extra: Extra,
}

impl QemuConfig {
    pub fn nets(&self) -> Result<BTreeMap<u32, QemuNet>, PropError> {
        numbered(&self.extra, "net", QemuNet::parse)
    }

    /// Disks of one bus: `scsi`, `virtio`, `sata` or `ide`.
    pub fn disks(&self, bus: &str) -> Result<BTreeMap<u32, QemuDisk>, PropError> {
        numbered(&self.extra, bus, QemuDisk::parse)
    }

    pub fn ipconfigs(&self) -> Result<BTreeMap<u32, Ipconfig>, PropError> {
        numbered(&self.extra, "ipconfig", Ipconfig::parse)
    }

    pub fn tag_list(&self) -> Vec<&str> {
        split_tags(self.tags.as_deref())
    }
}

/// `GET /nodes/{node}/lxc/{vmid}/config`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
pub struct LxcConfig {
    #[serde(default, deserialize_with = "opt_string")]
    pub digest: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub hostname: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub cores: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub memory: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub swap: Option<u64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub ostype: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub arch: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub rootfs: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub unprivileged: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub onboot: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub template: Option<bool>,
    #[serde(default, deserialize_with = "opt_string")]
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub lock: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl LxcConfig {
    pub fn nets(&self) -> Result<BTreeMap<u32, LxcNet>, PropError> {
        numbered(&self.extra, "net", LxcNet::parse)
    }

    pub fn rootfs(&self) -> Result<Option<LxcMountPoint>, PropError> {
        self.rootfs.as_deref().map(|s| LxcMountPoint::parse_rootfs(s).map_err(|e| e.in_key("rootfs"))).transpose()
    }

    pub fn mountpoints(&self) -> Result<BTreeMap<u32, LxcMountPoint>, PropError> {
        numbered(&self.extra, "mp", LxcMountPoint::parse)
    }

    pub fn tag_list(&self) -> Vec<&str> {
        split_tags(self.tags.as_deref())
    }
}

fn split_tags(tags: Option<&str>) -> Vec<&str> {
    tags.unwrap_or("").split([';', ',', ' ']).map(str::trim).filter(|s| !s.is_empty()).collect()
}

fn memory_mib<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(s) = opt_string(d)? else { return Ok(None) };
    let v = s.strip_prefix("current=").unwrap_or(&s);
    let v = v.split(',').next().unwrap_or(v);
    v.trim().parse().map(Some).map_err(|_| serde::de::Error::custom(format!("memory: expected MiB, got {s:?}")))
}

/// An entry of `GET /nodes/{node}/{qemu|lxc}/{vmid}/pending`: `value` is the current value,
/// `pending` the value that applies on the next reboot, `delete` a pending removal.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct PendingEntry {
    pub key: String,
    #[serde(default)]
    pub value: Option<Json>,
    #[serde(default)]
    pub pending: Option<Json>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub delete: Option<bool>,
}

impl PendingEntry {
    pub fn is_pending(&self) -> bool {
        self.pending.is_some() || self.delete == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_config_fixture_shape() {
        let json = r#"{"digest":"abc","name":"matt","vmid":101,"cores":"2","memory":"current=2048",
            "onboot":"1","scsi0":"local-lvm:vm-101-disk-0,size=32G","net0":"virtio=BC:24:11:2E:C5:4A,bridge=vmbr0",
            "ipconfig0":"ip=192.168.1.10/24,gw=192.168.1.1","ide2":"local:iso/debian-12.iso,media=cdrom",
            "tags":"production;webserver"}"#;
        let c: QemuConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.cores, Some(2));
        assert_eq!(c.memory, Some(2048));
        assert_eq!(c.onboot, Some(true));
        assert_eq!(c.extra.get("vmid"), Some(&Json::from(101)));
        let nets = c.nets().unwrap();
        assert_eq!(nets[&0].macaddr.as_deref(), Some("BC:24:11:2E:C5:4A"));
        assert_eq!(c.disks("scsi").unwrap()[&0].size.as_deref(), Some("32G"));
        assert_eq!(c.disks("ide").unwrap()[&2].media.as_deref(), Some("cdrom"));
        assert_eq!(c.ipconfigs().unwrap()[&0].gw.as_deref(), Some("192.168.1.1"));
        assert_eq!(c.tag_list(), vec!["production", "webserver"]);
        // Round trip through serde keeps the unknown fields.
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["ide2"], "local:iso/debian-12.iso,media=cdrom");
    }

    #[test]
    fn cluster_resource_unknown_kind_kept() {
        let r: ClusterResource =
            serde_json::from_str(r#"{"id":"x/1","type":"quantum","vmid":"100","template":1}"#).unwrap();
        assert_eq!(r.kind, ResourceKind::Unknown("quantum".into()));
        assert_eq!(r.vmid, Some(100));
        assert_eq!(r.template, Some(true));
    }

    #[test]
    fn task_exit_statuses() {
        assert_eq!(TaskExit::from_exitstatus("OK"), TaskExit::Ok);
        assert_eq!(TaskExit::from_exitstatus("WARNINGS: 3"), TaskExit::Warnings(3));
        assert!(TaskExit::from_exitstatus("WARNINGS: 3").is_success());
        assert!(!TaskExit::from_exitstatus("command 'qm start' failed").is_success());
    }

    #[test]
    fn lxc_config_fixture_shape() {
        let json = r#"{"hostname":"ct","memory":1024,"swap":"256","rootfs":"local-lvm:vm-101-disk-0,size=8G",
            "net0":"name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:2E:C5:7E,ip=dhcp,type=veth",
            "mp0":"local-lvm:vm-101-disk-1,mp=/data,size=4G","unprivileged":1}"#;
        let c: LxcConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.swap, Some(256));
        assert_eq!(c.rootfs().unwrap().unwrap().size.as_deref(), Some("8G"));
        assert_eq!(c.nets().unwrap()[&0].ip.as_deref(), Some("dhcp"));
        assert_eq!(c.mountpoints().unwrap()[&0].mp.as_deref(), Some("/data"));
    }
}
