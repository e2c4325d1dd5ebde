//! Guest operations beyond the lifecycle: clone, convert to template, resize, move a disk, migrate.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::super::guest_config::{self, disk_size, disk_volid, is_disk_key, next_unused_key, with_size, with_volume};
use super::super::model::{now, Guest, GuestKind, PowerState, Volume};
use super::super::seed::make_template;
use super::super::state::Sim;
use super::super::wire::{ApiError, ApiResult};
use super::guests::remove_guest;
use super::{find_guest, lock_sync, spawn_task, Ctx, TaskPlan};

fn who(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "CT",
    }
}

pub fn clone(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    let newid: u32 = ctx.param("newid").and_then(|v| v.parse().ok()).unwrap_or(0);
    let sim = ctx.sim.clone();
    let mut c = sim.write();
    let src = find_guest(&c, &node, kind, vmid)?.clone();
    if c.guests.contains_key(&newid) {
        return Err(ApiError::server(format!("unable to create {} {newid}: config file already exists", who(kind))));
    }
    let target = ctx.param("target").unwrap_or(&node).to_string();
    if !c.nodes.contains_key(&target) {
        return Err(ApiError::server(format!("no such cluster node '{target}'")));
    }
    super::privileges::check_clone_perms(ctx, &c, &src)?;
    if let Some(lock) = src.config.get("lock") {
        return Err(ApiError::server(format!("{} is locked ({lock})", who(kind))));
    }
    let source_running = src.running();
    let full = ctx.flag("full").unwrap_or(!src.is_template());
    if !full && !src.is_template() {
        return Err(ApiError::server(
            "Linked clone feature is not supported for non-template guests - use a full clone",
        ));
    }
    for param in ["storage", "format"] {
        if !full && ctx.param(param).is_some() {
            return Err(ApiError::server(format!("parameter '{param}' not allowed for linked clones")));
        }
    }
    // clone_vm: the target storage must be enabled here and on the target node, be shared for
    // another node, and (qemu) hold VM images.
    if let Some(sid) = ctx.param("storage") {
        let def = super::super::storage::check_enabled(&c, sid, None).map_err(ApiError::server)?;
        if target != node {
            super::super::storage::check_enabled(&c, sid, Some(&target)).map_err(ApiError::server)?;
            if !def.shared {
                return Err(ApiError::server(format!("can't clone to non-shared storage '{sid}'")));
            }
        }
        if kind == GuestKind::Qemu && !def.supports("images") {
            return Err(ApiError::param("storage", format!("storage '{sid}' does not support vm images")));
        }
    }
    let disks: Vec<(String, String)> = src
        .config
        .iter()
        .filter(|(k, _)| is_disk_key(kind, k))
        .filter_map(|(k, v)| disk_volid(kind, v).map(|vol| (k.clone(), vol)))
        .collect();
    if target != node {
        for (_, vol) in &disks {
            let storage = vol.split(':').next().unwrap_or_default();
            if !c.storages.get(storage).is_some_and(|s| s.shared) {
                return Err(ApiError::server(format!(
                    "can't clone {} to node '{target}' ({} uses local storage)",
                    who(kind),
                    who(kind)
                )));
            }
        }
    }
    let mut config: BTreeMap<String, String> = src
        .config
        .iter()
        .filter(|(k, _)| !k.starts_with("unused") && !matches!(k.as_str(), "template" | "lock"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let name_key = if kind == GuestKind::Qemu { "name" } else { "hostname" };
    match ctx.param(name_key) {
        Some(n) => {
            config.insert(name_key.into(), n.to_string());
        }
        None if kind == GuestKind::Qemu => {
            let old = src.config.get("name").cloned().unwrap_or_else(|| vmid.to_string());
            config.insert("name".into(), format!("Copy-of-VM-{old}"));
        }
        None => {}
    }
    if let Some(d) = ctx.param("description") {
        config.insert("description".into(), d.to_string());
    }
    for (k, v) in config.iter_mut() {
        if k.starts_with("net") && k[3..].chars().all(|ch| ch.is_ascii_digit()) {
            let mut ps = crate::proxmox::propstring::PropertyString::parse(v, Some("model")).unwrap_or_default();
            let new_mac = sim.mac();
            match kind {
                GuestKind::Qemu => {
                    for model in ps.entries.keys().cloned().collect::<Vec<_>>() {
                        if ps.get(&model).is_some_and(|m| m.len() == 17 && m.contains(':')) {
                            ps.set(model, new_mac.clone());
                        }
                    }
                    *v = ps.render(None);
                }
                GuestKind::Lxc => {
                    ps.set("hwaddr", new_mac);
                    *v = ps.render(None);
                }
            }
        }
    }
    if kind == GuestKind::Qemu {
        // clone_vm copies everything else (`meta` included), gives smbios1 a new uuid keeping
        // its other fields (print_smbios1 writes them sorted), and a new vmgenid only when the
        // source has one.
        let old = config.get("smbios1").cloned().unwrap_or_default();
        let mut fields: BTreeMap<String, String> =
            old.split(',').filter_map(|f| f.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        fields.insert("uuid".into(), sim.uuid());
        let smbios1: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        config.insert("smbios1".into(), smbios1.join(","));
        if config.contains_key("vmgenid") {
            config.insert("vmgenid".into(), sim.uuid());
        }
    }
    let mut new_vols = Vec::new();
    let mut reserved = BTreeSet::new();
    for (key, vol) in &disks {
        let old_value = config.get(key).cloned().unwrap_or_default();
        let size = c.volume(&node, vol).map(|v| v.size).or_else(|| disk_size(kind, &old_value)).unwrap_or(0);
        // A full copy takes on a thin target what its source takes.
        let written = c.volume(&node, vol).map(|v| v.allocated()).unwrap_or(size);
        let src_storage = vol.split(':').next().unwrap_or_default().to_string();
        let (new_volid, counted) = if vol.contains("cloudinit") {
            let storage = ctx.param("storage").unwrap_or(&src_storage).to_string();
            (format!("{storage}:vm-{newid}-cloudinit"), 4 << 20)
        } else if full {
            let storage = ctx.param("storage").unwrap_or(&src_storage).to_string();
            if !c.storages.contains_key(&storage) {
                return Err(ApiError::server(format!("storage '{storage}' does not exist")));
            }
            (c.next_disk_name(&target, &storage, newid, &reserved), size)
        } else {
            let base_name = vol.split(':').nth(1).unwrap_or_default();
            let n = c.next_disk_name(&target, &src_storage, newid, &reserved);
            let leaf = n.split(':').nth(1).unwrap_or_default().to_string();
            (format!("{src_storage}:{base_name}/{leaf}"), 0)
        };
        reserved.insert(new_volid.clone());
        config.insert(key.clone(), with_volume(kind, &old_value, &new_volid));
        let content = if kind == GuestKind::Lxc { "rootdir" } else { "images" };
        new_vols.push(Volume {
            volid: new_volid,
            size: counted,
            format: "raw".into(),
            content: content.into(),
            vmid: Some(newid),
            ctime: now(),
            written: Some(if full { written } else { 0 }),
        });
    }
    let mut added: Vec<String> = Vec::new();
    for v in &new_vols {
        if let Err(m) = c.add_volume(&target, v.clone()) {
            for a in &added {
                c.remove_volume(&target, a);
            }
            // clone_vm allocates the copies inside its worker: the task fails.
            drop(c);
            let task_kind = if kind == GuestKind::Qemu { "qmclone" } else { "vzclone" };
            let upid = super::failing_task(ctx, node, task_kind, kind, vmid, format!("clone failed: {m}"));
            return Ok(json!(upid));
        }
        added.push(v.volid.clone());
    }
    // Linked clones take no space of their own until written; their size still reads back.
    for (key, vol) in disks.iter().filter(|(_, vol)| !vol.contains("cloudinit")) {
        if let (Some(v), Some(old)) = (config.get(key).cloned(), c.volume(&node, vol).map(|v| v.size)) {
            config.insert(key.clone(), with_size(kind, &v, old));
        }
    }
    // qemu-server's clone_vm locks the new VM `clone`; pve-container's locks the new CT `create`
    // and its source `disk` for the whole clone, so a second clone of the same CT is refused.
    config.insert("lock".into(), if kind == GuestKind::Qemu { "clone" } else { "create" }.into());
    if kind == GuestKind::Lxc {
        if let Some(s) = c.guests.get_mut(&vmid) {
            s.config.insert("lock".into(), "disk".into());
        }
    }
    c.guests.insert(
        newid,
        Guest {
            vmid: newid,
            kind,
            node: target.clone(),
            config,
            pending: BTreeMap::new(),
            pending_delete: BTreeSet::new(),
            pending_force: BTreeSet::new(),
            state: PowerState::Stopped,
            started_at: None,
            pool: ctx.param("pool").map(str::to_string),
        },
    );
    drop(c);
    let logs: Vec<String> = added
        .iter()
        .map(|v| format!("create {} volume {v}", if full { "full clone of" } else { "linked clone" }))
        .collect();
    let work: super::Work = Box::new(move |sim: &Sim, upid: &str| {
        for l in &logs {
            sim.tasks.log(upid, l.clone());
        }
        let mut c = sim.write();
        if kind == GuestKind::Lxc {
            unlock(&mut c, vmid, "disk");
        }
        let g = c.guests.get_mut(&newid).ok_or_else(|| format!("{} {newid} vanished during clone", who(kind)))?;
        g.config.remove("lock");
        Ok(0)
    });
    let cleanup: super::Cleanup = Box::new(move |sim: &Sim| {
        if kind == GuestKind::Lxc {
            unlock(&mut sim.write(), vmid, "disk");
        }
        remove_guest(sim, newid)
    });
    let task_kind = if kind == GuestKind::Qemu { "qmclone" } else { "vzclone" };
    let upid = spawn_task(
        ctx,
        TaskPlan {
            node,
            kind: task_kind,
            id: vmid.to_string(),
            // Like qemu-server's clone_vm: a stopped source is flock-ed shared, so several clones
            // of one template run side by side; a running one exclusively. A container source
            // is guarded by its `lock: disk` instead.
            locks: if source_running && kind == GuestKind::Qemu {
                vec![(kind, vmid), (kind, newid)]
            } else {
                vec![(kind, newid)]
            },
            shared_locks: if source_running || kind == GuestKind::Lxc { vec![] } else { vec![(kind, vmid)] },
            work,
            cleanup: Some(cleanup),
        },
    );
    Ok(json!(upid))
}

/// Removes a config lock this simulator set, if it is still that lock.
pub(super) fn unlock(c: &mut super::super::model::Cluster, vmid: u32, lock: &str) {
    if let Some(g) = c.guests.get_mut(&vmid) {
        if g.config.get("lock").is_some_and(|l| l == lock) {
            g.config.remove("lock");
        }
    }
}

fn templatable(sim: &Sim, node: &str, kind: GuestKind, vmid: u32) -> Result<(), ApiError> {
    let c = sim.read();
    let g = find_guest(&c, node, kind, vmid)?;
    if g.running() {
        return Err(ApiError::server(format!(
            "you can't convert a {} to template if {} is running",
            who(kind),
            who(kind)
        )));
    }
    if g.is_template() {
        return Err(ApiError::server(format!("{} {vmid} is already a template", who(kind))));
    }
    Ok(())
}

fn to_template(sim: &Sim, vmid: u32) {
    let mut c = sim.write();
    if let Some(mut g) = c.guests.remove(&vmid) {
        make_template(&mut c, &mut g);
        c.guests.insert(vmid, g);
    }
}

pub async fn template(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    templatable(&ctx.sim, &node, kind, vmid)?;
    match kind {
        GuestKind::Lxc => {
            let _guard = lock_sync(ctx, kind, vmid).await?;
            to_template(&ctx.sim, vmid);
            ctx.sim.save_state_file();
            Ok(Value::Null)
        }
        GuestKind::Qemu => {
            let work: super::Work = Box::new(move |sim: &Sim, _upid: &str| {
                to_template(sim, vmid);
                Ok(0)
            });
            let upid = spawn_task(ctx, TaskPlan::on_guest(node, "qmtemplate", kind, vmid, work));
            Ok(json!(upid))
        }
    }
}

/// `POST .../qemu/{vmid}/move_disk` and `.../lxc/{vmid}/move_volume`: copies a disk to another
/// storage of the same node. The old volume stays as `unusedN` unless `delete=1`, as in PVE.
pub fn move_disk(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    let (disk_param, target_param) = match kind {
        GuestKind::Qemu => ("disk", "target-disk"),
        GuestKind::Lxc => ("volume", "target-volume"),
    };
    let disk = ctx.param(disk_param).unwrap_or("").to_string();
    if ctx.param("target-vmid").is_some() || ctx.param(target_param).is_some() {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            format!("moving a disk to another guest ({target_param}/target-vmid) is not simulated"),
        ));
    }
    let storage = ctx
        .param("storage")
        .ok_or_else(|| ApiError::param("storage", "either set 'storage' or 'target-vmid', but not both"))?
        .to_string();
    let delete = ctx.flag("delete").unwrap_or(false);
    let (old_volid, old_value, size, written) = {
        let c = ctx.sim.read();
        let g = find_guest(&c, &node, kind, vmid)?;
        guest_config::check_digest(ctx.param("digest"), g)?;
        if kind == GuestKind::Lxc && g.running() {
            return Err(ApiError::server("cannot move volumes of a running container"));
        }
        if let Some(lock) = g.config.get("lock") {
            return Err(ApiError::server(format!("VM is locked ({lock})")));
        }
        let value = g
            .config
            .get(&disk)
            .filter(|_| is_disk_key(kind, &disk))
            .ok_or_else(|| ApiError::server(format!("disk '{disk}' does not exist")))?
            .clone();
        let old_volid =
            disk_volid(kind, &value).ok_or_else(|| ApiError::server(format!("disk '{disk}' has no volume to move")))?;
        let (old_storage, _) = old_volid.split_once(':').unwrap_or_default();
        if old_storage == storage {
            return Err(ApiError::server("you can't move to the same storage with same format"));
        }
        let def = c
            .storages
            .get(&storage)
            .filter(|s| s.on_node(&node))
            .ok_or_else(|| ApiError::server(format!("storage '{storage}' does not exist")))?;
        let content = if kind == GuestKind::Lxc { "rootdir" } else { "images" };
        if !def.supports(content) {
            return Err(ApiError::server(format!("storage '{storage}' does not support content-type '{content}'")));
        }
        let size = c.volume(&node, &old_volid).map(|v| v.size).or_else(|| disk_size(kind, &value)).unwrap_or(0);
        // The copy takes what the source takes; a thick target that lacks the room fails the
        // task (the storage plugin's allocation does, inside the worker).
        let written = c.volume(&node, &old_volid).map(|v| v.allocated()).unwrap_or(size);
        (old_volid, value, size, written)
    };
    let work: super::Work = Box::new(move |sim: &Sim, upid: &str| {
        let mut c = sim.write();
        let new_volid = c.next_disk_name(&node, &storage, vmid, &BTreeSet::new());
        let content = if kind == GuestKind::Lxc { "rootdir" } else { "images" };
        c.add_volume(
            &node,
            Volume {
                volid: new_volid.clone(),
                size,
                format: "raw".to_string(),
                content: content.to_string(),
                vmid: Some(vmid),
                ctime: now(),
                written: Some(written),
            },
        )?;
        sim.tasks.log(upid, format!("moving disk '{old_volid}' to '{new_volid}'"));
        {
            let g = c.guests.get_mut(&vmid).ok_or_else(|| format!("{} {vmid} does not exist", who(kind)))?;
            g.config.insert(disk.clone(), with_volume(kind, &old_value, &new_volid));
            if !delete {
                let unused = next_unused_key(g);
                g.config.insert(unused, old_volid.clone());
            }
        }
        if delete {
            c.remove_volume(&node, &old_volid);
            sim.tasks.log(upid, format!("removing volume '{old_volid}'"));
        }
        sim.tasks.log(upid, format!("{disk}: moved to {new_volid}"));
        Ok(0)
    });
    let task_kind = match kind {
        GuestKind::Qemu => "qmmove",
        GuestKind::Lxc => "move_volume",
    };
    let upid = spawn_task(ctx, TaskPlan::on_guest(ctx.node()?.to_string(), task_kind, kind, vmid, work));
    Ok(json!(upid))
}
