//! What only `root@pam` may do, and checks PVE makes on request values before anything else:
//! an API token is never root@pam, even `root@pam!pmx`, so these fail for tokens as they do on
//! a real cluster (the bpg provider documents each of them).

use axum::http::StatusCode;

use super::super::access::perm_error;
use super::super::model::{Cluster, Guest, GuestKind};
use super::super::params::Params;
use super::super::wire::ApiError;
use super::Ctx;

pub fn is_root(ctx: &Ctx) -> bool {
    ctx.who.as_ref().is_some_and(|w| w.user == "root@pam" && w.tokenid.is_none())
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, message)
}

/// Checks a create or config update of a guest (`existing` for an update).
pub fn check_guest_write(ctx: &Ctx, kind: GuestKind, params: &Params) -> Result<(), ApiError> {
    if let Some(keys) = params.get("sshkeys") {
        validate_ssh_keys(keys)?;
    }
    if let Some(keys) = params.get("ssh-public-keys") {
        validate_ssh_keys(keys)?;
    }
    if is_root(ctx) {
        return Ok(());
    }
    for (key, value) in params {
        let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
        match (kind, base) {
            (GuestKind::Qemu, "args") => return Err(ApiError::server(format!("only root can set '{key}' config"))),
            (GuestKind::Qemu, "hostpci") if !value.starts_with("mapping=") => {
                return Err(ApiError::server(format!("only root can set '{key}' config for non-mapped devices")));
            }
            (GuestKind::Qemu, "ide" | "sata" | "scsi" | "virtio") | (GuestKind::Lxc, "mp" | "rootfs") => {
                let file = value.split(',').next().unwrap_or("");
                let file = file.strip_prefix("file=").or_else(|| file.strip_prefix("volume=")).unwrap_or(file);
                if file.starts_with('/') {
                    return Err(forbidden("Only root can pass arbitrary filesystem paths."));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// PVE's validate_ssh_public_keys (after URL-decoding `sshkeys`): every non-empty line must be a
/// public key `ssh-keygen -l` accepts.
fn validate_ssh_keys(encoded: &str) -> Result<(), ApiError> {
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned();
    const TYPES: &[&str] = &[
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        // An authorized_keys line may start with options: find the key type.
        let ok = words.iter().position(|w| TYPES.contains(w)).is_some_and(|i| {
            words.get(i + 1).is_some_and(|b64| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b64).is_ok_and(|bytes| bytes.len() > 16)
            })
        });
        if !ok {
            return Err(ApiError::server("SSH public key validation error"));
        }
    }
    Ok(())
}

/// qemu-server's option groups for `$check_vm_modify_config_perm`: which privilege a key needs.
fn qemu_key_privs(key: &str) -> Option<&'static [&'static str]> {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    Some(match key {
        "cores" | "cpu" | "cpulimit" | "cpuunits" | "numa" | "smp" | "sockets" | "vcpus" | "affinity" => {
            &["VM.Config.CPU"]
        }
        "memory" | "balloon" | "shares" | "allow-ksm" | "hugepages" | "keephugepages" => &["VM.Config.Memory"],
        "acpi" | "hotplug" | "kvm" | "machine" | "scsihw" | "smbios1" | "tablet" | "vga" | "watchdog" | "audio0"
        | "rng0" | "spice_enhancements" | "ivshmem" | "amd-sev" | "intel-tdx" => &["VM.Config.HWType"],
        "agent" | "autostart" | "bios" | "description" | "keyboard" | "localtime" | "migrate_downtime"
        | "migrate_speed" | "name" | "onboot" | "ostype" | "protection" | "reboot" | "startdate" | "startup"
        | "tdf" | "template" | "vmgenid" => &["VM.Config.Options"],
        "freeze" => &["VM.PowerMgmt"],
        "boot" | "bootdisk" | "vmstatestorage" => &["VM.Config.Disk"],
        "cicustom" | "cipassword" | "citype" | "ciuser" | "ciupgrade" | "nameserver" | "searchdomain" | "sshkeys" => {
            &["VM.Config.Cloudinit", "VM.Config.Network"]
        }
        _ => match base {
            "numa" => &["VM.Config.CPU"],
            "net" => &["VM.Config.Network"],
            "ipconfig" => &["VM.Config.Cloudinit", "VM.Config.Network"],
            "virtiofs" => &["VM.Config.HWType"],
            _ => return None,
        },
    })
}

fn is_qemu_drive(key: &str) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    base != key && matches!(base, "ide" | "sata" | "scsi" | "virtio") || matches!(key, "efidisk0" | "tpmstate0")
}

/// `check_vm_perm`: the pool's ACL (quietly) or the guest's.
fn vm_perm(ctx: &Ctx, c: &Cluster, vmid: u32, pool: Option<&str>, privs: &[&str]) -> Result<(), ApiError> {
    let any = privs.len() > 1;
    if let Some(p) = pool {
        if ctx.has(c, &format!("/pool/{p}"), privs, any) {
            return Ok(());
        }
    }
    ctx.check(c, &format!("/vms/{vmid}"), privs, any)
}

/// `check_pool_exist`: a missing pool is a permission failure in PVE, for everyone.
pub fn check_pool_exist(c: &Cluster, pool: Option<&str>) -> Result<(), ApiError> {
    match pool {
        Some(p) if !c.pools.contains_key(p) => Err(perm_error(Some(&format!("pool '{p}' does not exist")))),
        _ => Ok(()),
    }
}

/// `VM.Allocate` on the new guest or on its pool, else a bare "Permission check failed"
/// (qemu-server's and pve-container's create_vm).
fn check_allocate(ctx: &Ctx, c: &Cluster, vmid: u32, pool: Option<&str>) -> Result<(), ApiError> {
    if ctx.has(c, &format!("/vms/{vmid}"), &["VM.Allocate"], false)
        || pool.is_some_and(|p| ctx.has(c, &format!("/pool/{p}"), &["VM.Allocate"], false))
    {
        return Ok(());
    }
    Err(perm_error(None))
}

/// `PVE::Storage::check_volume_access` for an existing volume a guest is given.
fn check_volume_access(ctx: &Ctx, c: &Cluster, vmid: u32, volid: &str) -> Result<(), ApiError> {
    let Some((sid, name)) = volid.split_once(':') else { return Ok(()) };
    if ctx.has(c, &format!("/storage/{sid}"), &["Datastore.Allocate"], false) {
        return Ok(());
    }
    if name.starts_with("iso/") || name.starts_with("vztmpl/") || name.starts_with("import/") {
        return ctx.check(c, &format!("/storage/{sid}"), &["Datastore.AllocateSpace", "Datastore.Audit"], true);
    }
    let owner: Option<u32> =
        name.split(['/', '-']).find_map(|p| p.parse().ok()).filter(|_| name.contains("vm-") || name.contains("base-"));
    match owner {
        Some(o) if o == vmid => ctx.check(c, &format!("/storage/{sid}"), &["Datastore.AllocateSpace"], false),
        Some(o) => ctx.check(c, &format!("/vms/{o}"), &["VM.Config.Disk"], false),
        None => ctx.check(c, &format!("/storage/{sid}"), &["Datastore.Allocate"], false),
    }
}

/// `$check_storage_access`: new disks need `Datastore.AllocateSpace` on their storage, existing
/// volumes `check_volume_access`; CD-ROM `none`, `cdrom` and cloud-init drives are not checked here.
fn check_disk_storage(
    ctx: &Ctx,
    c: &Cluster,
    vmid: u32,
    value: &str,
    default_storage: Option<&str>,
) -> Result<(), ApiError> {
    let file = value.split(',').next().unwrap_or("");
    let file = file.strip_prefix("file=").or_else(|| file.strip_prefix("volume=")).unwrap_or(file);
    if file.is_empty() || file == "none" || file == "cdrom" || file == "cloudinit" || file.ends_with(":cloudinit") {
        return Ok(());
    }
    let (sid, rest) = match file.split_once(':') {
        Some((s, r)) => (Some(s), r),
        None => (default_storage, file),
    };
    if rest.parse::<f64>().is_ok() {
        if let Some(sid) = sid {
            ctx.check(c, &format!("/storage/{sid}"), &["Datastore.AllocateSpace"], false)?;
        }
        return Ok(());
    }
    if file.starts_with('/') {
        return Ok(());
    }
    check_volume_access(ctx, c, vmid, file)
}

/// `check_bridge_access` / `check_vnet_access`: a NIC's bridge needs `SDN.Use` on
/// `/sdn/zones/localnetwork/<bridge>` (or on its VLAN below it).
fn check_bridge(ctx: &Ctx, c: &Cluster, value: &str) -> Result<(), ApiError> {
    let field = |name: &str| value.split(',').find_map(|p| p.strip_prefix(name).map(str::to_string));
    let Some(bridge) = field("bridge=") else { return Ok(()) };
    let path = format!("/sdn/zones/localnetwork/{bridge}");
    if let Some(tag) = field("tag=") {
        if ctx.has(c, &format!("{path}/{tag}"), &["SDN.Use"], true) {
            return Ok(());
        }
    }
    ctx.check(c, &path, &["SDN.Use"], true)
}

/// The privilege checks of a qemu create (`create_vm`) or config update (`$update_vm_api`):
/// allocation, storage access, per-key privileges, serial/USB devices and bridges.
pub fn check_qemu_perms(ctx: &Ctx, c: &Cluster, vmid: u32, params: &Params, create: bool) -> Result<(), ApiError> {
    if is_root(ctx) {
        return Ok(());
    }
    let pool = if create { ctx.param("pool") } else { None };
    if create {
        if let Some(s) = ctx.param("storage") {
            ctx.check(c, &format!("/storage/{s}"), &["Datastore.AllocateSpace"], false)?;
        }
        check_allocate(ctx, c, vmid, pool)?;
    }
    const SKIP: &[&str] = &[
        "node",
        "vmid",
        "pool",
        "start",
        "storage",
        "archive",
        "unique",
        "live-restore",
        "ha-managed",
        "bwlimit",
        "import-working-storage",
        "force",
        "digest",
        "skiplock",
        "delete",
        "revert",
        "background_delay",
    ];
    let deletes: Vec<String> = super::super::guest_config::list(params.get("delete"));
    for (key, value) in params {
        if SKIP.contains(&key.as_str()) {
            continue;
        }
        if is_qemu_drive(key) {
            check_disk_storage(ctx, c, vmid, value, ctx.param("storage"))?;
            if !create {
                let cdrom = value.contains("media=cdrom") || value.split(',').next() == Some("none");
                vm_perm(ctx, c, vmid, None, if cdrom { &["VM.Config.CDROM"] } else { &["VM.Config.Disk"] })?;
            }
            continue;
        }
        let base = key.trim_end_matches(|ch: char| ch.is_ascii_digit());
        match base {
            "unused" | "tags" | "cdrom" | "hostpci" => continue,
            "serial" if key != base => {
                if value != "socket" {
                    return Err(ApiError::server(format!("only root can set '{key}' config for real devices")));
                }
                vm_perm(ctx, c, vmid, pool, &["VM.Config.HWType"])?;
                continue;
            }
            "usb" if key != base => {
                vm_perm(ctx, c, vmid, pool, &["VM.Config.HWType"])?;
                let host = value
                    .split(',')
                    .find_map(|p| p.strip_prefix("host="))
                    .or_else(|| value.split(',').next().filter(|f| !f.contains('=') && !f.is_empty()));
                if host.is_some_and(|h| !h.eq_ignore_ascii_case("spice")) {
                    return Err(ApiError::server(format!("only root can set '{key}' config for real devices")));
                }
                continue;
            }
            _ => {}
        }
        match qemu_key_privs(key) {
            Some(privs) => vm_perm(ctx, c, vmid, pool, privs)?,
            // "catches args, lock, etc."
            None => return Err(ApiError::server(format!("only root can set '{key}' config"))),
        }
        if key == "startup" {
            ctx.check(c, "/", &["Sys.Modify"], false)?;
        }
        if base == "net" && key != base {
            check_bridge(ctx, c, value)?;
        }
    }
    for key in &deletes {
        if is_qemu_drive(key) || key.starts_with("unused") {
            vm_perm(ctx, c, vmid, None, &["VM.Config.Disk"])?;
        } else if let Some(privs) = qemu_key_privs(key) {
            vm_perm(ctx, c, vmid, None, privs)?;
        } else if !matches!(key.trim_end_matches(|ch: char| ch.is_ascii_digit()), "serial" | "usb" | "hostpci" | "tags")
        {
            return Err(ApiError::server(format!("only root can set '{key}' config")));
        }
    }
    Ok(())
}

/// pve-container's create_vm and `check_ct_modify_config_perm`.
pub fn check_lxc_perms(ctx: &Ctx, c: &Cluster, vmid: u32, params: &Params, create: bool) -> Result<(), ApiError> {
    if is_root(ctx) {
        return Ok(());
    }
    let pool = if create { ctx.param("pool") } else { None };
    if create {
        check_allocate(ctx, c, vmid, pool)?;
        let storage = ctx.param("storage").unwrap_or("local");
        ctx.check(c, &format!("/storage/{storage}"), &["Datastore.AllocateSpace"], false)?;
        if let Some(t) = ctx.param("ostemplate") {
            check_volume_access(ctx, c, vmid, t)?;
        }
        let privileged = ctx.param("unprivileged").and_then(super::super::params::parse_bool) == Some(false);
        if privileged {
            ctx.check(c, "/", &["Sys.Modify"], false)?;
        }
    }
    const SKIP: &[&str] = &[
        "node",
        "vmid",
        "pool",
        "start",
        "storage",
        "unique",
        "ha-managed",
        "bwlimit",
        "force",
        "digest",
        "delete",
        "revert",
        "ostemplate",
        "password",
        "ssh-public-keys",
        "restore",
        "ignore-unpack-errors",
        "unprivileged",
    ];
    let deletes: Vec<String> = super::super::guest_config::list(params.get("delete"));
    let keys =
        params.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).chain(deletes.iter().map(|k| (k.as_str(), None)));
    for (key, value) in keys {
        if SKIP.contains(&key) {
            continue;
        }
        let base = key.trim_end_matches(|ch: char| ch.is_ascii_digit());
        match base {
            "cores" | "cpuunits" | "cpulimit" => vm_perm(ctx, c, vmid, pool, &["VM.Config.CPU"])?,
            "memory" | "swap" => vm_perm(ctx, c, vmid, pool, &["VM.Config.Memory"])?,
            "rootfs" | "mp" => {
                vm_perm(ctx, c, vmid, pool, &["VM.Config.Disk"])?;
                if let Some(v) = value {
                    check_disk_storage(ctx, c, vmid, v, ctx.param("storage").or(Some("local")))?;
                }
            }
            "net" => {
                vm_perm(ctx, c, vmid, pool, &["VM.Config.Network"])?;
                if let Some(v) = value {
                    check_bridge(ctx, c, v)?;
                }
            }
            "nameserver" | "searchdomain" | "hostname" => vm_perm(ctx, c, vmid, pool, &["VM.Config.Network"])?,
            "dev" => {
                return Err(forbidden(
                    "Permission check failed (configuring device passthrough is only allowed for root@pam)",
                ))
            }
            "hookscript" => {
                return Err(forbidden("Permission check failed (changing the hookscript is only allowed for root@pam)"))
            }
            "features" => check_features(ctx, c, vmid, pool, create, value)?,
            "unused" | "tags" => {}
            _ => vm_perm(ctx, c, vmid, pool, &["VM.Config.Options"])?,
        }
    }
    Ok(())
}

/// pve-container's `check_ct_modify_config_perm` for `features`: refused on a privileged
/// container; otherwise the flags that change are compared with the current ones (all of them
/// on a new container or a delete) and any flag but `nesting` is root@pam's, while a change
/// of `nesting` alone needs `VM.Allocate`. Both refusals are `raise_perm_exc`s (403
/// "Permission check failed (...)").
fn check_features(
    ctx: &Ctx,
    c: &Cluster,
    vmid: u32,
    pool: Option<&str>,
    create: bool,
    new: Option<&str>,
) -> Result<(), ApiError> {
    let existing = if create { None } else { c.guests.get(&vmid) };
    // On create `unprivileged` defaults to 1 (PVE 9); an existing CT has what it has.
    let unprivileged = match existing {
        Some(g) => g.config.get("unprivileged").is_some_and(|v| v == "1"),
        None => ctx.param("unprivileged").and_then(super::super::params::parse_bool) != Some(false),
    };
    if !unprivileged {
        return Err(perm_error(Some("changing feature flags for privileged container is only allowed for root@pam")));
    }
    let parse = |text: &str| -> std::collections::BTreeMap<String, String> {
        text.split(',')
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let truthy = |v: Option<&String>| v.is_some_and(|v| super::super::params::parse_bool(v) == Some(true));
    // A set of flags judged on its own: nesting alone (and on), or anything else.
    let judge = |f: &std::collections::BTreeMap<String, String>| {
        if f.len() == 1 && truthy(f.get("nesting")) {
            (true, false)
        } else {
            (false, !f.is_empty())
        }
    };
    let old = existing.and_then(|g| g.config.get("features")).filter(|v| !v.is_empty()).map(|v| parse(v));
    let (nesting_changed, other_changed) = match (new, old) {
        (Some(new), Some(old)) => {
            let new = parse(new);
            let mut changed = (false, false);
            for key in old.keys().chain(new.keys()) {
                if old.get(key) != new.get(key) {
                    if key == "nesting" {
                        changed.0 = true;
                    } else {
                        changed.1 = true;
                    }
                }
            }
            changed
        }
        (Some(new), None) => judge(&parse(new)),
        (None, old) => judge(&old.unwrap_or_default()),
    };
    if other_changed {
        return Err(perm_error(Some("changing feature flags (except nesting) is only allowed for root@pam")));
    }
    if nesting_changed {
        vm_perm(ctx, c, vmid, pool, &["VM.Allocate"])?;
    }
    Ok(())
}

/// Clone's checks past the declared ones: the pool exists, and `Datastore.AllocateSpace` on
/// each disk's target storage (`$check_storage_access_clone`).
pub fn check_clone_perms(ctx: &Ctx, c: &Cluster, src: &Guest) -> Result<(), ApiError> {
    check_pool_exist(c, ctx.param("pool"))?;
    if is_root(ctx) {
        return Ok(());
    }
    for (key, volid) in super::super::guest_config::guest_volumes(src) {
        if key.starts_with("unused") {
            continue;
        }
        let cdrom = src.config.get(&key).is_some_and(|v| v.contains("media=cdrom"));
        if cdrom {
            continue;
        }
        let sid = ctx.param("storage").unwrap_or_else(|| volid.split(':').next().unwrap_or(""));
        ctx.check(c, &format!("/storage/{sid}"), &["Datastore.AllocateSpace"], false)?;
    }
    Ok(())
}

/// Migration to other storages needs `Datastore.AllocateSpace` on each (`$check_storage_access_migrate`).
pub fn check_migrate_perms(ctx: &Ctx, c: &Cluster) -> Result<(), ApiError> {
    let map = ctx.param("targetstorage").or(ctx.param("target-storage")).unwrap_or("");
    for pair in map.split(',').filter(|p| !p.is_empty() && *p != "1") {
        let dest = pair.rsplit(':').next().unwrap_or(pair);
        ctx.check(c, &format!("/storage/{dest}"), &["Datastore.AllocateSpace"], false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_ssh_keys;

    #[test]
    fn ssh_keys_are_checked_like_ssh_keygen() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@example";
        assert!(validate_ssh_keys(key).is_ok());
        assert!(validate_ssh_keys(&key.replace(' ', "%20")).is_ok(), "URL-encoded, as PVE receives them");
        assert!(validate_ssh_keys("not a key").is_err());
        assert!(validate_ssh_keys("ssh-ed25519 !!!notbase64").is_err());
    }
}
