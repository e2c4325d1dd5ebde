//! `PUT .../resize`, as qemu-server's `resize_vm` (every check inside the `resize` worker, an
//! unchanged size a silent no-op) and pve-container's `resize_vm` (checks before the worker,
//! an unchanged size refused) do it. Sizes follow `\+?\d+(\.\d+)?[KMGT]?`: a bare number is
//! bytes, `+` grows by the amount.

use serde_json::json;

use super::super::guest_config::{self, disk_volid, is_disk_key, with_size};
use super::super::model::{human_size, GuestKind};
use super::super::params::parse_size;
use super::super::state::Sim;
use super::super::storage;
use super::super::wire::{ApiError, ApiResult};
use super::{find_guest, spawn_task, Ctx, TaskPlan};

/// qemu-server's `valid_drive_names`, the `disk` enum of `resize_vm`.
fn qemu_drive_names() -> Vec<String> {
    let bus = |name: &'static str, n: u32| (0..n).map(move |i| format!("{name}{i}"));
    bus("ide", 4)
        .chain(bus("scsi", 31))
        .chain(bus("virtio", 16))
        .chain(bus("sata", 6))
        .chain(["efidisk0".to_string(), "tpmstate0".to_string()])
        .collect()
}

/// pve-container's `valid_volume_keys`.
fn lxc_volume_keys() -> Vec<String> {
    std::iter::once("rootfs".to_string()).chain((0..256).map(|i| format!("mp{i}"))).collect()
}

pub fn resize(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    let disk = ctx.param("disk").unwrap_or("").to_string();
    let names = match kind {
        GuestKind::Qemu => qemu_drive_names(),
        GuestKind::Lxc => lxc_volume_keys(),
    };
    if !names.contains(&disk) {
        return Err(ApiError::param(
            "disk",
            format!("value '{disk}' does not have a value in the enumeration '{}'", names.join(", ")),
        ));
    }
    let size_text = ctx.param("size").unwrap_or("").to_string();
    let (amount, relative) =
        parse_size(&size_text).ok_or_else(|| ApiError::param("size", "value does not match the regex pattern"))?;
    let digest = ctx.param("digest").map(str::to_string);
    match kind {
        GuestKind::Lxc => {
            // Before the worker, under the config lock: digest, shrink, unchanged size.
            let c = ctx.sim.read();
            let g = find_guest(&c, &node, kind, vmid)?;
            if let Some(lock) = g.config.get("lock") {
                return Err(ApiError::server(format!("CT is locked ({lock})")));
            }
            guest_config::check_digest(digest.as_deref(), g)?;
            let value = g.config.get(&disk).ok_or_else(|| ApiError::server(format!("no such mount point '{disk}'")))?;
            let volid = disk_volid(kind, value)
                .ok_or_else(|| ApiError::server(format!("disk '{disk}' has no associated volume")))?;
            let current = c.volume(&node, &volid).map(|v| v.size).or_else(|| guest_config::disk_size(kind, value));
            let current = current.unwrap_or(0);
            let new_size = if relative { current + amount } else { amount };
            if new_size < current {
                return Err(ApiError::server("unable to shrink disk size"));
            }
            if new_size == current {
                return Err(ApiError::server("disk is already at specified size"));
            }
        }
        GuestKind::Qemu => {
            find_guest(&ctx.sim.read(), &node, kind, vmid)?;
        }
    }
    let work: super::Work =
        Box::new(move |sim: &Sim, upid: &str| grow(sim, upid, kind, vmid, &disk, &size_text, digest));
    let upid = spawn_task(ctx, TaskPlan::on_guest(node, "resize", kind, vmid, work));
    Ok(json!(upid))
}

/// The worker: qemu-server's `$updatefn` (its checks, in its order), then the storage's resize.
fn grow(
    sim: &Sim,
    upid: &str,
    kind: GuestKind,
    vmid: u32,
    disk: &str,
    size_text: &str,
    digest: Option<String>,
) -> Result<usize, String> {
    let mut c = sim.write();
    let g = c.guests.get(&vmid).ok_or_else(|| format!("{} {vmid} does not exist", kind.as_str()))?;
    let node = g.node.clone();
    if kind == GuestKind::Qemu {
        if digest.as_deref().is_some_and(|d| d != guest_config::digest(g)) {
            return Err("checksum missmatch (file change by other user?)".into());
        }
        if let Some(lock) = g.config.get("lock") {
            return Err(format!("VM is locked ({lock})"));
        }
    }
    let value = g
        .config
        .get(disk)
        .filter(|_| is_disk_key(kind, disk))
        .ok_or_else(|| format!("disk '{disk}' does not exist"))?;
    if kind == GuestKind::Qemu && super::super::hotplug::is_cdrom(value) {
        return Err("you can't resize a cdrom".into());
    }
    let volid = disk_volid(kind, value).ok_or_else(|| format!("disk '{disk}' has no associated volume"))?;
    let value = value.clone();
    let (amount, relative) = parse_size(size_text).ok_or("internal error")?;
    let vol = c.volume(&node, &volid).cloned();
    let current = vol.as_ref().map(|v| v.size).or_else(|| guest_config::disk_size(kind, &value)).unwrap_or(0);
    let new_size = if relative { current + amount } else { amount };
    if new_size < current {
        return Err("shrinking disks is not supported".into());
    }
    if new_size == current {
        return Ok(0);
    }
    let sid = volid.split_once(':').map(|(s, _)| s.to_string()).unwrap_or_default();
    let def = storage::check_enabled(&c, &sid, Some(&node))?.clone();
    // A thick storage must hold the growth; a thin one over-commits.
    if !def.is_thin() {
        let free = def.capacity.saturating_sub(c.storage_used(&node, &sid));
        if new_size - current > free {
            return Err(storage::resize_out_of_space(&def, &volid, new_size - current, free));
        }
    }
    if let Some(v) = c.nodes.get_mut(&node).and_then(|n| n.volumes.get_mut(&sid)).and_then(|m| m.get_mut(&volid)) {
        v.size = new_size;
    }
    if let Some(g) = c.guests.get_mut(&vmid) {
        g.config.insert(disk.to_string(), with_size(kind, &value, new_size));
    }
    sim.tasks.log(upid, format!("  Size of logical volume {volid} changed to {}.", human_size(new_size)));
    Ok(0)
}
