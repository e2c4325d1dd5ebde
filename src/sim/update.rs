//! A config update (`PUT`/`POST …/config`) as PVE 9.2 carries it out: qemu-server's
//! `$update_vm_api` and pve-container's `update_pct_config`. Every change is first written to
//! `[PENDING]`; `cleanup_pending` then drops what equals the current value; a stopped guest
//! applies the pending section (`vmconfig_apply_pending`), a running one hot-plugs what it can
//! (`vmconfig_hotplug_pending`, see [`super::hotplug`]).

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::guest_config::{disk_volid, is_disk_key, is_unused_key, list, next_unused_key, prepare, PrepareOptions};
use super::hotplug::{self, Plug};
use super::model::{Cluster, Guest, GuestKind};
use super::params::{flag, Params};
use super::wire::ApiError;

/// Parameters that steer an update rather than set a config key.
const CONTROL: &[&str] = &["delete", "revert", "digest", "skiplock", "force", "background_delay", "node", "vmid"];

fn who(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "CT",
    }
}

fn updates_of(params: &Params) -> BTreeMap<String, String> {
    params.iter().filter(|(k, _)| !CONTROL.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `delete`, with qemu's `cdrom` alias for `ide2` (`$update_vm_api`).
fn deletes_of(kind: GuestKind, params: &Params) -> Vec<String> {
    list(params.get("delete"))
        .into_iter()
        .map(|k| if kind == GuestKind::Qemu && k == "cdrom" { "ide2".to_string() } else { k })
        .collect()
}

/// The checks PVE makes on the request alone, before it looks at the config (400s, in PVE's
/// order): the `force` → `delete` schema requirement, root-only `skiplock`, then each `revert`
/// and `delete` key (unknown options, a key both set and deleted or reverted).
pub fn check_request(kind: GuestKind, params: &Params, is_root: bool) -> Result<(), ApiError> {
    // PVE::JSONSchema::check_object: `force` has `requires => 'delete'`.
    if kind == GuestKind::Qemu && params.contains_key("force") && !params.contains_key("delete") {
        return Err(ApiError::param("delete", "missing property - 'force' requires this property"));
    }
    if kind == GuestKind::Qemu && flag(params, "skiplock").unwrap_or(false) && !is_root {
        return Err(ApiError::param("skiplock", "Only root may use this option."));
    }
    let updates = updates_of(params);
    let reverts = list(params.get("revert"));
    let deletes = deletes_of(kind, params);
    if kind == GuestKind::Qemu && deletes.is_empty() && reverts.is_empty() && updates.is_empty() {
        return Err(ApiError::server("no options specified"));
    }
    let exists = |k: &str| super::routes::option_exists(kind, k);
    for k in &reverts {
        if !exists(k) {
            return Err(ApiError::param("revert", format!("unknown option '{k}'")));
        }
        if updates.contains_key(k) {
            return Err(match kind {
                GuestKind::Qemu => {
                    ApiError::param("delete", format!("you can't use '-{k}' and -revert {k}' at the same time"))
                }
                GuestKind::Lxc => {
                    ApiError::param("revert", format!("you can't use '-{k}' and '-revert {k}' at the same time"))
                }
            });
        }
    }
    for k in &deletes {
        if kind == GuestKind::Lxc && !exists(k) {
            return Err(ApiError::param("delete", format!("unknown option '{k}'")));
        }
        if updates.contains_key(k) {
            return Err(ApiError::param("delete", format!("you can't use '-{k}' and -delete {k}' at the same time")));
        }
        if reverts.contains(k) {
            return Err(match kind {
                GuestKind::Qemu => {
                    ApiError::param("revert", format!("you can't use '-delete {k}' and -revert {k}' at the same time"))
                }
                GuestKind::Lxc => {
                    ApiError::param("delete", format!("you can't use '-delete {k}' and '-revert {k}' at the same time"))
                }
            });
        }
        if !exists(k) {
            return Err(ApiError::param("delete", format!("unknown option '{k}'")));
        }
    }
    Ok(())
}

/// qemu-server's `$load_and_check_config`, which runs once before the config lock is taken (so
/// a locked VM is refused at once) and again under it: the digest, the config `lock` unless
/// `skiplock`, and the balloon target against memory.
pub fn qemu_config_checks(g: &Guest, params: &Params) -> Result<(), ApiError> {
    // qemu-server's PVE::Tools::assert_if_modified words a stale digest its own way.
    if let Some(d) = params.get("digest") {
        if *d != super::guest_config::digest(g) {
            return Err(ApiError::server("checksum mismatch (file change by other user?)"));
        }
    }
    if let Some(lock) = g.config.get("lock") {
        if !flag(params, "skiplock").unwrap_or(false) {
            return Err(ApiError::server(format!("VM is locked ({lock})")));
        }
    }
    let memory = params.get("memory").or_else(|| g.pending.get("memory")).or_else(|| g.config.get("memory"));
    if params.contains_key("memory") || params.contains_key("balloon") {
        // get_current_memory: `[current=]N`, default 512.
        let maxmem: u64 = memory
            .map(|m| m.strip_prefix("current=").unwrap_or(m).split(',').next().unwrap_or("512").to_string())
            .and_then(|m| m.parse().ok())
            .unwrap_or(512);
        let balloon = params.get("balloon").or_else(|| g.pending.get("balloon")).or_else(|| g.config.get("balloon"));
        if balloon.and_then(|b| b.parse::<u64>().ok()).is_some_and(|b| b > 0 && b > maxmem) {
            return Err(ApiError::server("balloon value too large (must be smaller than assigned memory)"));
        }
    }
    Ok(())
}

/// The devices of a `boot` value's `order=` (a legacy `cdn` or `legacy=` has none).
fn boot_order(value: Option<&String>) -> Vec<String> {
    let Some(v) = value else { return Vec::new() };
    let order = v.split(',').find_map(|p| p.strip_prefix("order=")).unwrap_or("");
    order.split([';', ',', ' ']).filter(|d| !d.is_empty()).map(str::to_string).collect()
}

fn print_boot_order(devs: &[String]) -> String {
    format!("order={}", devs.join(";"))
}

/// Whether `vmid` owns `volid` (`vm_is_volid_owner`): its name carries the guest's id.
fn owns(vmid: u32, volid: &str) -> bool {
    let name = volid.split_once(':').map_or(volid, |x| x.1);
    let leaf = name.rsplit('/').next().unwrap_or(name);
    ["vm", "base", "subvol"].iter().any(|p| leaf.starts_with(&format!("{p}-{vmid}-")))
}

/// `vmconfig_register_unused_drive`: a cloud-init drive is freed, a CD-ROM forgotten, a disk
/// the guest owns kept as `unusedN` (once, and never while another key still uses it).
fn register_unused(g: &mut Guest, value: &str, freed: &mut Vec<String>) {
    let Some(volid) = disk_volid(g.kind, value) else { return };
    if g.kind == GuestKind::Qemu && hotplug::is_cloudinit(value) {
        freed.push(volid);
        return;
    }
    if g.kind == GuestKind::Qemu && hotplug::is_cdrom(value) {
        return;
    }
    if !owns(g.vmid, &volid) {
        return;
    }
    let kind = g.kind;
    let in_use = g.config.iter().chain(g.pending.iter()).any(|(k, v)| {
        (is_unused_key(k) && v == &volid) || (is_disk_key(kind, k) && disk_volid(kind, v).as_deref() == Some(&volid))
    });
    if !in_use {
        let key = next_unused_key(g);
        g.config.insert(key, volid);
    }
}

/// `cleanup_pending` (pve-guest-common AbstractConfig): drops pending values equal to the
/// current ones and pending deletes of keys that are not set.
pub fn cleanup_pending(g: &mut Guest) {
    let config = &g.config;
    g.pending.retain(|k, v| config.get(k) != Some(v));
    g.pending_delete.retain(|k| config.contains_key(k));
    let deletes = &g.pending_delete;
    g.pending_force.retain(|k| deletes.contains(k));
}

/// Deletes `key` from the config as the apply and hotplug code do: a disk becomes `unusedN`
/// (or is freed when the delete was forced), an unused volume is freed.
fn commit_delete(g: &mut Guest, key: &str, freed: &mut Vec<String>) {
    let forced = g.pending_force.remove(key);
    g.pending_delete.remove(key);
    let Some(old) = g.config.remove(key) else { return };
    if is_unused_key(key) {
        if owns(g.vmid, &old) {
            freed.push(old);
        }
    } else if is_disk_key(g.kind, key) {
        match disk_volid(g.kind, &old) {
            Some(volid) if forced && !hotplug::is_cdrom(&old) => {
                if owns(g.vmid, &volid) {
                    freed.push(volid);
                }
            }
            _ => register_unused(g, &old, freed),
        }
    }
}

/// Sets `key` from pending into the config; a disk whose volume changes leaves the old one as
/// `unusedN`.
fn commit_set(g: &mut Guest, key: &str, freed: &mut Vec<String>) {
    let Some(value) = g.pending.remove(key) else { return };
    let old = if is_disk_key(g.kind, key) { g.config.get(key).cloned() } else { None };
    g.config.insert(key.to_string(), value.clone());
    if let Some(old) = old {
        if disk_volid(g.kind, &old) != disk_volid(g.kind, &value) {
            register_unused(g, &old, freed);
        }
    }
}

/// `vmconfig_apply_pending`, over every pending change (start, stop, shutdown, reboot, and a
/// qemu config write to a stopped VM).
pub fn apply_all_pending(g: &mut Guest, freed: &mut Vec<String>) {
    for k in g.pending_delete.clone() {
        commit_delete(g, &k, freed);
    }
    cleanup_pending(g);
    for k in g.pending.keys().cloned().collect::<Vec<_>>() {
        commit_set(g, &k, freed);
    }
}

/// pve-container's `vmconfig_apply_pending` for a stopped CT: only the keys this request touched.
fn apply_selected_pending(g: &mut Guest, selection: &BTreeSet<String>, freed: &mut Vec<String>) {
    for k in g.pending_delete.clone() {
        if selection.contains(&k) {
            commit_delete(g, &k, freed);
        }
    }
    cleanup_pending(g);
    for k in g.pending.keys().cloned().collect::<Vec<_>>() {
        if selection.contains(&k) {
            commit_set(g, &k, freed);
        }
    }
}

/// `vmconfig_hotplug_pending` for a running guest: what it takes at once leaves `[PENDING]`;
/// failures come back per key.
fn hotplug_pending(
    g: &mut Guest,
    selection: &BTreeSet<String>,
    freed: &mut Vec<String>,
    errors: &mut IndexMap<String, String>,
) {
    let kind = g.kind;
    // qemu commits its fast-plug options whatever the request touched; LXC only the touched ones.
    for k in g.pending.keys().cloned().collect::<Vec<_>>() {
        let fast = match kind {
            GuestKind::Qemu => hotplug::qemu_fast_plug(&k),
            GuestKind::Lxc => hotplug::lxc_fast_plug(&k) && selection.contains(&k),
        };
        if fast {
            commit_set(g, &k, freed);
        }
    }
    for k in g.pending_delete.clone() {
        if !selection.contains(&k) {
            continue;
        }
        let plug = match kind {
            GuestKind::Qemu => hotplug::qemu_delete(&g.config, &k),
            GuestKind::Lxc => hotplug::lxc_delete(&k),
        };
        match plug {
            Plug::Now => commit_delete(g, &k, freed),
            Plug::Later => {}
            Plug::Fails(m) => {
                errors.insert(k, m);
            }
        }
    }
    for k in g.pending.keys().cloned().collect::<Vec<_>>() {
        if !selection.contains(&k) {
            continue;
        }
        let plug = match kind {
            GuestKind::Qemu => hotplug::qemu_set(&g.config, &k, &g.pending[&k]),
            GuestKind::Lxc => hotplug::lxc_set(&g.config, &k),
        };
        match plug {
            Plug::Now => commit_set(g, &k, freed),
            Plug::Later => {}
            Plug::Fails(m) => {
                let m = match kind {
                    GuestKind::Qemu => m,
                    GuestKind::Lxc => format!("unable to hotplug {k}: {m}"),
                };
                errors.insert(k, m);
            }
        }
    }
}

/// Applies a verified config update to guest `vmid` (the caller has run [`check_request`] and
/// holds the config lock).
pub fn apply_update(
    cluster: &mut Cluster,
    vmid: u32,
    params: &Params,
    mac: &mut dyn FnMut() -> String,
) -> Result<(), ApiError> {
    let g = cluster.guests.get(&vmid).ok_or_else(|| ApiError::server(format!("VM {vmid} does not exist")))?;
    let kind = g.kind;
    let node = g.node.clone();
    match kind {
        GuestKind::Qemu => qemu_config_checks(g, params)?,
        GuestKind::Lxc => {
            // API2/LXC/Config.pm update_vm: check_lock, then assert_if_modified, under the lock.
            if let Some(lock) = g.config.get("lock") {
                return Err(ApiError::server(format!("CT is locked ({lock})")));
            }
            super::guest_config::check_digest(params.get("digest").map(String::as_str), g)?;
        }
    }
    let mut updates = updates_of(params);
    let mut deletes = deletes_of(kind, params);
    let reverts = list(params.get("revert"));
    if kind == GuestKind::Qemu {
        // $load_and_check_config: reverting a key sets it back to its current value (which
        // cleanup_pending then drops), or deletes a value that only exists in pending.
        for k in &reverts {
            if let Some(current) = g.config.get(k) {
                updates.insert(k.clone(), current.clone());
            } else if g.pending.contains_key(k) {
                deletes.push(k.clone());
            }
        }
    }
    let protected = g.config.get("protection").is_some_and(|p| p == "1");
    for k in &deletes {
        if !g.config.contains_key(k) && !g.pending.contains_key(k) {
            continue; // PVE only warns: "cannot delete 'k' - not set in current configuration!"
        }
        match kind {
            GuestKind::Qemu if protected && is_unused_key(k) => {
                let vol = g.config.get(k).or(g.pending.get(k)).cloned().unwrap_or_default();
                return Err(ApiError::server(format!("can't remove unused disk '{vol}' - protection mode enabled")));
            }
            GuestKind::Qemu if protected && is_disk_key(kind, k) => {
                return Err(ApiError::server(format!("can't remove drive '{k}' - protection mode enabled")));
            }
            GuestKind::Lxc if matches!(k.as_str(), "memory" | "rootfs" | "ostype") => {
                return Err(ApiError::server(format!("unable to delete required option '{k}'")));
            }
            GuestKind::Lxc if k == "unprivileged" => {
                return Err(ApiError::server(format!("unable to delete read-only option: '{k}'")));
            }
            GuestKind::Lxc if protected && (is_unused_key(k) || is_disk_key(kind, k)) => {
                return Err(ApiError::server(format!("can't remove CT {vmid} drive '{k}' - protection mode enabled")));
            }
            _ => {}
        }
    }
    if kind == GuestKind::Lxc {
        if updates.contains_key("unprivileged") {
            return Err(ApiError::server("unable to modify read-only option: 'unprivileged'"));
        }
        if protected {
            if let Some(k) = updates.keys().find(|k| is_disk_key(kind, k)) {
                return Err(ApiError::server(format!("can't update CT {vmid} drive '{k}' - protection mode enabled")));
            }
        }
    }
    if kind == GuestKind::Qemu {
        // A new boot order may only name devices that exist and are not being deleted.
        if let Some(boot) = updates.get("boot") {
            for dev in boot_order(Some(boot)) {
                let exists = g.config.contains_key(&dev) || g.pending.contains_key(&dev) || updates.contains_key(&dev);
                if !exists || deletes.contains(&dev) {
                    return Err(ApiError::server(format!("invalid bootorder: device '{dev}' does not exist'")));
                }
            }
        }
    }
    let prepared = prepare(cluster, kind, &node, vmid, &updates, mac, PrepareOptions::default())
        .map_err(|(k, m)| ApiError::param(&k, m))?;
    for vol in &prepared.new_volumes {
        if let Err(m) = cluster.add_volume(&node, vol.clone()) {
            for added in &prepared.new_volumes {
                cluster.remove_volume(&node, &added.volid);
            }
            return Err(ApiError::server(m));
        }
    }
    let Some(g) = cluster.guests.get_mut(&vmid) else {
        return Err(ApiError::server(format!("{} {vmid} does not exist", who(kind))));
    };
    let force = flag(params, "force").unwrap_or(false);
    let mut freed = Vec::new();
    let mut modified: BTreeSet<String> = BTreeSet::new();
    let mut bootorder = if kind == GuestKind::Qemu { boot_order(g.config.get("boot")) } else { Vec::new() };
    let had_bootorder = !bootorder.is_empty();

    if kind == GuestKind::Lxc {
        for k in &reverts {
            g.pending.remove(k);
            g.pending_delete.remove(k);
            g.pending_force.remove(k);
        }
    }
    for k in &deletes {
        if !g.config.contains_key(k) && !g.pending.contains_key(k) {
            continue;
        }
        modified.insert(k.clone());
        let pending_value = g.pending.remove(k);
        if kind == GuestKind::Qemu {
            if bootorder.contains(k) {
                bootorder.retain(|d| d != k);
                g.pending.insert("boot".into(), print_boot_order(&bootorder));
                modified.insert("boot".into());
            }
            if is_unused_key(k) {
                // try_deallocate_drive: an unused volume goes at once.
                if let Some(vol) = g.config.remove(k) {
                    if owns(vmid, &vol) {
                        freed.push(vol);
                    }
                }
                continue;
            }
            if k == "tags" {
                g.config.remove(k);
                continue;
            }
            if is_disk_key(kind, k) {
                if let Some(v) = pending_value {
                    register_unused(g, &v, &mut freed);
                }
            }
        }
        g.pending_delete.insert(k.clone());
        if force && kind == GuestKind::Qemu {
            g.pending_force.insert(k.clone());
        } else {
            g.pending_force.remove(k);
        }
    }
    for (k, v) in prepared.set {
        modified.insert(k.clone());
        if kind == GuestKind::Qemu {
            if g.pending.get(&k) == Some(&v) {
                continue;
            }
            if is_disk_key(kind, &k) {
                if let Some(old) = g.pending.get(&k).cloned() {
                    if disk_volid(kind, &old) != disk_volid(kind, &v) {
                        register_unused(g, &old, &mut freed);
                    }
                }
                // New CD-ROMs join an explicit boot order.
                if had_bootorder && hotplug::is_cdrom(&v) && !bootorder.contains(&k) {
                    bootorder.push(k.clone());
                    g.pending.insert("boot".into(), print_boot_order(&bootorder));
                    modified.insert("boot".into());
                }
            }
            if k == "cipassword" {
                // Written straight to the config, never to pending.
                g.config.insert(k.clone(), v);
                g.pending_delete.remove(&k);
                continue;
            }
            if k == "boot" && g.config.contains_key("bootdisk") && !boot_order(Some(&v)).is_empty() {
                g.pending_delete.insert("bootdisk".into());
            }
        }
        g.pending.insert(k.clone(), v);
        g.pending_delete.remove(&k);
        g.pending_force.remove(&k);
    }
    cleanup_pending(g);
    let mut errors = IndexMap::new();
    if g.running() {
        hotplug_pending(g, &modified, &mut freed, &mut errors);
    } else if kind == GuestKind::Qemu {
        apply_all_pending(g, &mut freed);
    } else {
        apply_selected_pending(g, &modified, &mut freed);
    }
    for volid in freed {
        cluster.remove_volume(&node, &volid);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::params(errors))
    }
}

/// Applies every pending change of `vmid` and frees what that releases (start, stop, shutdown
/// and reboot: qemu-server's `vm_start_nolock` and `vm_stop_cleanup`, pve-container's
/// `vm_start` and its post-stop hook).
pub fn apply_pending(cluster: &mut Cluster, vmid: u32) {
    let mut freed = Vec::new();
    let Some(g) = cluster.guests.get_mut(&vmid) else { return };
    let node = g.node.clone();
    apply_all_pending(g, &mut freed);
    for volid in freed {
        cluster.remove_volume(&node, &volid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_orders_parse_and_print() {
        assert_eq!(boot_order(Some(&"order=scsi0;ide2;net0".to_string())), ["scsi0", "ide2", "net0"]);
        assert_eq!(print_boot_order(&["scsi0".into(), "net0".into()]), "order=scsi0;net0");
        assert!(owns(100, "local-lvm:vm-100-disk-0"));
        assert!(owns(101, "local-lvm:base-9000-disk-0/vm-101-disk-0"));
        assert!(!owns(100, "local-lvm:vm-1000-disk-0"));
    }
}
