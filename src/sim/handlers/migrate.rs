//! Migration to another node, as qemu-server's `migrate_vm` (`PVE::API2::Qemu`) with
//! `PVE::QemuMigrate`, and pve-container's `migrate_vm` (`PVE::API2::LXC`) with
//! `PVE::LXC::Migrate`, both run by pve-guest-common's `PVE::AbstractMigrate::migrate`: what the
//! API refuses at once, what the migration task aborts on, and how `targetstorage` maps volumes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::super::guest_config::{self, with_volume};
use super::super::model::{Cluster, Guest, GuestKind};
use super::super::state::Sim;
use super::super::storage;
use super::super::wire::{ApiError, ApiResult};
use super::{find_guest, spawn_task, Ctx, TaskPlan};

/// A `targetstorage` map as pve-common's `parse_idmap` reads it (the parameter's format has
/// already refused malformed ones): `1` keeps every storage, `src:dst` pairs map one storage
/// each, a bare id is the default for the rest.
#[derive(Debug, Default, Clone)]
pub struct StorageMap {
    identity: bool,
    default: Option<String>,
    entries: BTreeMap<String, String>,
}

impl StorageMap {
    pub fn parse(text: &str) -> StorageMap {
        let mut map = StorageMap::default();
        for entry in text.split([',', ';', ' ', '\0']).filter(|e| !e.is_empty()) {
            if entry == "1" {
                map.identity = true;
            } else if let Some((from, to)) = entry.split_once(':') {
                map.entries.insert(from.to_string(), to.to_string());
            } else {
                map.default = Some(entry.to_string());
            }
        }
        map
    }

    /// pve-common's `map_id`: an entry, else the default, else the same storage.
    pub fn map<'a>(&'a self, sid: &'a str) -> &'a str {
        if self.identity {
            return sid;
        }
        self.entries.get(sid).or(self.default.as_ref()).map(String::as_str).unwrap_or(sid)
    }

    /// The storages a migration may write to (each must be checked on the target node).
    fn targets(&self) -> BTreeSet<&str> {
        self.entries.values().chain(self.default.iter()).map(String::as_str).collect()
    }
}

pub fn migrate(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    let target = ctx.param("target").unwrap_or("").to_string();
    let online = ctx.flag("online").unwrap_or(false);
    let restart = ctx.flag("restart").unwrap_or(false);
    let map_param = if kind == GuestKind::Qemu { "targetstorage" } else { "target-storage" };
    let map = ctx.param(map_param).map(StorageMap::parse).unwrap_or_default();
    {
        let c = ctx.sim.read();
        let g = find_guest(&c, &node, kind, vmid)?;
        super::privileges::check_migrate_perms(ctx, &c)?;
        // migrate_vm: `raise_param_exc({ target => "target is local node." })`.
        if target == node {
            return Err(ApiError::param("target", "target is local node."));
        }
        if !c.nodes.contains_key(&target) {
            return Err(ApiError::server(format!("no such cluster node '{target}'")));
        }
        if g.running() {
            match kind {
                GuestKind::Qemu if !online => {
                    return Err(ApiError::server("can't migrate running VM without --online"));
                }
                GuestKind::Lxc if !online && !restart => {
                    return Err(ApiError::server("can't migrate running container without --online or --restart"));
                }
                _ => {}
            }
        }
        if let Some(lock) = g.config.get("lock") {
            let who = if kind == GuestKind::Qemu { "VM" } else { "CT" };
            return Err(ApiError::server(format!("{who} is locked ({lock})")));
        }
        // $check_storage_access_migrate: each storage the map names, on the target node.
        for sid in map.targets() {
            let def = storage::check_enabled(&c, sid, Some(&target)).map_err(ApiError::server)?;
            let (content, what) = match kind {
                GuestKind::Qemu => ("images", "vm images"),
                GuestKind::Lxc => ("rootdir", "CT rootdirs"),
            };
            if !def.supports(content) {
                return Err(ApiError::server(format!("storage '{sid}' does not support {what}")));
            }
        }
    }
    let with_local_disks = ctx.flag("with-local-disks").unwrap_or(false);
    let source = node.clone();
    let work: super::Work = Box::new(move |sim: &Sim, upid: &str| {
        let started = std::time::Instant::now();
        let duration = || {
            let secs = started.elapsed().as_secs();
            format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
        };
        let log = |level: &str, msg: &str| {
            let at = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
            let prefix = match level {
                "err" => "ERROR: ",
                "warn" => "WARN: ",
                _ => "",
            };
            for line in msg.trim_end().lines() {
                sim.tasks.log(upid, format!("{at} {prefix}{line}"));
            }
        };
        // AbstractMigrate::migrate: the reason goes to the log, the task dies "migration aborted".
        let abort = |phase1: bool, why: &str| {
            if phase1 {
                log("err", why);
                log("info", "aborting phase 1 - cleanup resources");
            }
            log("err", &format!("migration aborted (duration {}): {why}", duration()));
            "migration aborted".to_string()
        };
        let mut c = sim.write();
        let g = c.guests.get(&vmid).cloned().ok_or_else(|| format!("{} {vmid} does not exist", kind.as_str()))?;
        // PVE::LXC::Migrate::prepare: a running container moves only by restarting.
        if kind == GuestKind::Lxc && g.running() && online {
            return Err(abort(false, "lxc live migration is currently not implemented"));
        }
        if let Err(why) = prepare_storages(&c, &g, &target, &map) {
            return Err(abort(false, &why));
        }
        log("info", &format!("starting migration of {} {vmid} to node '{target}'", who(kind)));
        let volumes = match scan_local_volumes(&c, &g, &map, with_local_disks, &log) {
            Ok(v) => v,
            Err(why) => return Err(abort(true, &format!("Problem found while scanning volumes - {why}"))),
        };
        let mut moved: Vec<(String, String)> = Vec::new();
        let mut config = g.config.clone();
        for (key, volid, dest) in volumes {
            let Some(mut vol) = c.remove_volume(&source, &volid) else { continue };
            let new_volid = migrated_volid(&c, &target, &volid, &dest, vmid);
            vol.volid = new_volid.clone();
            if let Err(e) = c.add_volume(&target, vol.clone()) {
                vol.volid = volid.clone();
                let _ = c.add_volume(&source, vol);
                for (v, back) in moved {
                    if let Some(mut mv) = c.remove_volume(&target, &v) {
                        mv.volid = back;
                        let _ = c.add_volume(&source, mv);
                    }
                }
                return Err(abort(true, &e));
            }
            if let Some(v) = config.get(&key).cloned() {
                let nv = if key.starts_with("unused") { new_volid.clone() } else { with_volume(kind, &v, &new_volid) };
                config.insert(key.clone(), nv);
            }
            log("info", &format!("volume '{volid}' is '{new_volid}' on the target"));
            moved.push((new_volid, volid));
        }
        if let Some(g) = c.guests.get_mut(&vmid) {
            config.remove("lock");
            g.config = config;
            g.node = target.clone();
            if kind == GuestKind::Lxc && restart && g.running() {
                // Restart mode: shut down here, started again on the target.
                log("info", &format!("shutdown CT {vmid}, migrate, and start it on node '{target}'"));
            }
        }
        log("info", &format!("migration finished successfully (duration {})", duration()));
        Ok(0)
    });
    // QemuMigrate / PVE::LXC::Migrate: the config carries `lock: migrate` until the migration
    // ends, either way.
    if let Some(g) = ctx.sim.write().guests.get_mut(&vmid) {
        g.config.insert("lock".into(), "migrate".into());
    }
    let cleanup: super::Cleanup = Box::new(move |sim: &Sim| super::ops::unlock(&mut sim.write(), vmid, "migrate"));
    let task_kind = if kind == GuestKind::Qemu { "qmigrate" } else { "vzmigrate" };
    let upid =
        spawn_task(ctx, TaskPlan { cleanup: Some(cleanup), ..TaskPlan::on_guest(node, task_kind, kind, vmid, work) });
    Ok(json!(upid))
}

fn who(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "CT",
    }
}

/// `prepare` (QemuMigrate's `target_storage_check_available`, LXC::Migrate's storage checks):
/// every storage a volume lands on must be enabled on the target and hold the content.
fn prepare_storages(c: &Cluster, g: &Guest, target: &str, map: &StorageMap) -> Result<(), String> {
    for (_, volid) in guest_config::guest_volumes(g) {
        let Some((sid, _)) = volid.split_once(':') else { continue };
        let scfg = storage::check_enabled(c, sid, None)?;
        let dest = if scfg.shared { sid } else { map.map(sid) };
        let tcfg = storage::check_enabled(c, dest, Some(target))?;
        let content = if g.kind == GuestKind::Qemu { "images" } else { "rootdir" };
        if !tcfg.supports(content) {
            return Err(format!("{volid}: content type '{content}' is not available on storage '{dest}'"));
        }
    }
    Ok(())
}

/// QemuMigrate's `scan_local_volumes`: the local volumes to copy (key, volid, target storage),
/// or why the migration cannot go on. Per-volume problems are logged as warnings first and the
/// migration dies "can't migrate VM - check log", as PVE does; a linked clone on local storage
/// dies with its own message afterwards.
fn scan_local_volumes(
    c: &Cluster,
    g: &Guest,
    map: &StorageMap,
    with_local_disks: bool,
    log: &dyn Fn(&str, &str),
) -> Result<Vec<(String, String, String)>, String> {
    let shared = |sid: &str| c.storages.get(sid).is_some_and(|s| s.shared);
    let mut volume_errors: BTreeMap<String, String> = BTreeMap::new();
    let mut other_errors: Vec<String> = Vec::new();
    let mut local: Vec<(String, String, String)> = Vec::new();
    let mut drives: Vec<(String, String, bool)> = Vec::new();
    if g.kind == GuestKind::Qemu {
        for (key, value) in g.config.iter().filter(|(k, _)| guest_config::is_disk_key(GuestKind::Qemu, k)) {
            let ps = crate::proxmox::propstring::PropertyString::parse(value, Some("file")).unwrap_or_default();
            let file = ps.get("file").unwrap_or_default().to_string();
            let cdrom = super::super::hotplug::is_cdrom(value);
            drives.push((key.clone(), file, cdrom));
        }
    }
    for (key, volid) in guest_config::guest_volumes(g) {
        if !drives.iter().any(|(k, _, _)| *k == key) {
            drives.push((key, volid, false));
        }
    }
    for (key, file, cdrom) in drives {
        if cdrom && file == "cdrom" {
            other_errors.push("can't migrate local cdrom drive".to_string());
            continue;
        }
        if file == "none" || file.is_empty() {
            continue;
        }
        let Some((sid, _)) = file.split_once(':') else { continue };
        if shared(sid) {
            continue;
        }
        let attached = !key.starts_with("unused");
        if cdrom && !file.contains("cloudinit") {
            volume_errors.insert(file.clone(), "local cdrom image".to_string());
            continue;
        }
        if g.kind == GuestKind::Qemu && attached && g.running() && !with_local_disks && !file.contains("cloudinit") {
            volume_errors
                .insert(file.clone(), "can't live migrate attached local disks without with-local-disks option".into());
        }
        // volume_is_base_and_used: a template's base volume that linked clones still use.
        if let Some((_, name)) = file.split_once(':') {
            if name.starts_with("base-") && !name.contains('/') && is_base_used(c, g, &file) {
                volume_errors.insert(file.clone(), "referenced by linked clone(s)".into());
            }
        }
        local.push((key, file.clone(), map.map(sid).to_string()));
    }
    for (_, volid, _) in &local {
        let what = if volid.contains("cloudinit") { "found generated disk" } else { "found local disk" };
        log("info", &format!("{what} '{volid}'"));
    }
    for (volid, msg) in &volume_errors {
        log("warn", &format!("can't migrate local disk '{volid}': {msg}"));
    }
    for msg in &other_errors {
        log("warn", msg);
    }
    if !volume_errors.is_empty() || !other_errors.is_empty() {
        return Err("can't migrate VM - check log".into());
    }
    for (_, volid, _) in &local {
        let (sid, name) = volid.split_once(':').unwrap_or_default();
        let plugin = c.storages.get(sid).map(|s| s.plugintype.as_str()).unwrap_or_default();
        if !matches!(plugin, "dir" | "btrfs" | "zfspool" | "lvmthin" | "lvm") {
            return Err(format!("can't migrate '{volid}' - storage type '{plugin}' not supported"));
        }
        // A linked clone on local storage: its base cannot follow it. (PVE's die has no
        // newline, so Perl appends " at .../QemuMigrate.pm line N."; the simulator leaves it out.)
        if let Some((base, _)) = name.split_once('/').filter(|(b, _)| b.starts_with("base-")) {
            return Err(format!("can't migrate '{volid}' as it's a clone of '{base}'"));
        }
    }
    Ok(local)
}

/// Whether another guest's volume is a linked clone of `base` (`sid:base-N-disk-0/vm-M-disk-0`).
fn is_base_used(c: &Cluster, owner: &Guest, base: &str) -> bool {
    let prefix = format!("{base}/");
    c.guests
        .values()
        .filter(|o| o.vmid != owner.vmid)
        .any(|o| guest_config::guest_volumes(o).iter().any(|(_, v)| v.starts_with(&prefix)))
}

/// The volume id a migrated volume gets: the same name on the target storage when it fits
/// there (PVE's `storage_migrate` keeps the volume name), else the next free disk name of that
/// storage (`allow_rename`, and a file name on a directory storage becomes an LV name on LVM).
fn migrated_volid(c: &Cluster, target: &str, volid: &str, dest: &str, vmid: u32) -> String {
    let (sid, name) = volid.split_once(':').unwrap_or_default();
    let same_layout = c.storages.get(sid).map(|s| s.is_file_based()) == c.storages.get(dest).map(|s| s.is_file_based());
    let candidate = format!("{dest}:{name}");
    if same_layout && c.volume(target, &candidate).is_none() {
        return candidate;
    }
    if name.contains("cloudinit") {
        return candidate;
    }
    c.next_disk_name(target, dest, vmid, &BTreeSet::new())
}
