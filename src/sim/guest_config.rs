//! Guest configs as PVE keeps them: the config text and its SHA-1 `digest`, normalisation of
//! written values (generated MACs, allocated disks), pending changes for running guests, and the
//! JSON types PVE gives each key.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::model::{now, size_string, Cluster, Guest, GuestKind, Volume};
use super::params::parse_size;
use crate::proxmox::propstring::PropertyString;

/// Keys whose JSON value is a number: PVE's `check_type` numifies `integer` and `boolean`
/// options; `number` ones (`cpulimit`, `migrate_downtime`) are only regex-checked, so JSON::XS
/// sends the string they were written as.
fn numeric_key(kind: GuestKind, key: &str) -> bool {
    let common = matches!(key, "cores" | "cpuunits" | "onboot" | "template" | "protection");
    common
        || match kind {
            GuestKind::Qemu => matches!(
                key,
                "sockets"
                    | "vcpus"
                    | "balloon"
                    | "shares"
                    | "numa"
                    | "acpi"
                    | "kvm"
                    | "tablet"
                    | "localtime"
                    | "reboot"
                    | "freeze"
                    | "autostart"
                    | "keephugepages"
                    | "ciupgrade"
                    | "migrate_speed"
            ),
            GuestKind::Lxc => matches!(key, "memory" | "swap" | "unprivileged" | "console" | "tty" | "debug"),
        }
}

/// A config value as JSON: numbers where PVE sends numbers, strings otherwise.
pub fn value_json(kind: GuestKind, key: &str, value: &str) -> Value {
    if numeric_key(kind, key) {
        if let Ok(i) = value.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(f) = value.parse::<f64>() {
            return Value::from(f);
        }
    }
    Value::String(value.to_string())
}

/// The config file text (`key: value` lines, a `[PENDING]` section), which the digest hashes.
pub fn conf_text(g: &Guest) -> String {
    let mut out = String::new();
    if let Some(d) = g.config.get("description") {
        for line in d.lines() {
            out.push('#');
            out.push_str(line);
            out.push('\n');
        }
    }
    for (k, v) in &g.config {
        if k != "description" {
            out.push_str(&format!("{k}: {v}\n"));
        }
    }
    if !g.pending.is_empty() || !g.pending_delete.is_empty() {
        out.push_str("\n[PENDING]\n");
        for (k, v) in &g.pending {
            out.push_str(&format!("{k}: {v}\n"));
        }
        if !g.pending_delete.is_empty() {
            // print_pending_delete: a forced delete is written `!key`.
            let keys: Vec<String> = g
                .pending_delete
                .iter()
                .map(|k| if g.pending_force.contains(k) { format!("!{k}") } else { k.clone() })
                .collect();
            out.push_str(&format!("delete: {}\n", keys.join(",")));
        }
    }
    out
}

/// SHA-1 of the config text, hex, like PVE's `digest`.
pub fn digest(g: &Guest) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, conf_text(g).as_bytes());
    hex::encode(d.as_ref())
}

/// `GET .../config`: pending values applied unless `current`.
pub fn config_json(g: &Guest, current: bool) -> Value {
    let mut m = Map::new();
    let mut merged: BTreeMap<&str, &str> = g.config.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if !current {
        for (k, v) in &g.pending {
            merged.insert(k, v);
        }
        for k in &g.pending_delete {
            merged.remove(k.as_str());
        }
    }
    for (k, v) in merged {
        m.insert(k.to_string(), value_json(g.kind, k, v));
    }
    mask_secrets(&mut m);
    m.insert("digest".into(), Value::String(digest(g)));
    Value::Object(m)
}

/// A write that names the `digest` it read fails, as in PVE, when the config changed since.
pub fn check_digest(given: Option<&str>, g: &Guest) -> Result<(), super::wire::ApiError> {
    match given {
        Some(d) if d != digest(g) => Err(super::wire::ApiError::server(
            "detected modified configuration - file changed by other user? Try again.",
        )),
        _ => Ok(()),
    }
}

/// PVE never returns the cloud-init password: `vm_config` shows it as ten asterisks.
fn mask_secrets(m: &mut Map<String, Value>) {
    if let Some(v) = m.get_mut("cipassword") {
        *v = Value::String("**********".into());
    }
}

/// PVE's get_unique_tags (default tag style): split on `,`, `;` and spaces, lower-case, sort,
/// drop duplicates, join with `;`.
pub fn normalize_tags(raw: &str) -> String {
    let mut tags: Vec<String> =
        raw.split([',', ';', ' ']).filter(|t| !t.is_empty()).map(|t| t.to_lowercase()).collect();
    tags.sort();
    tags.dedup();
    tags.join(";")
}

/// `GET .../pending`: every key with its current value, pending value and delete flag.
pub fn pending_json(g: &Guest) -> Value {
    let keys: BTreeSet<&String> = g.config.keys().chain(g.pending.keys()).chain(g.pending_delete.iter()).collect();
    let mut rows = Vec::new();
    // config_with_pending_array walks the loaded config hash, which holds the digest too.
    let digest_row = json!({"key": "digest", "value": digest(g)});
    let mut digest_row = Some(digest_row);
    for k in keys {
        if k.as_str() > "digest" {
            rows.extend(digest_row.take());
        }
        let mut row = Map::new();
        row.insert("key".into(), Value::String(k.clone()));
        let shown = |v: &String| match k.as_str() {
            "cipassword" => Value::String("**********".into()),
            _ => value_json(g.kind, k, v),
        };
        if let Some(v) = g.config.get(k) {
            row.insert("value".into(), shown(v));
        }
        if let Some(v) = g.pending.get(k) {
            row.insert("pending".into(), shown(v));
        }
        if g.pending_delete.contains(k) {
            // config_with_pending_array: 2 for a forced delete.
            row.insert("delete".into(), Value::from(if g.pending_force.contains(k) { 2 } else { 1 }));
        }
        rows.push(Value::Object(row));
    }
    rows.extend(digest_row);
    Value::Array(rows)
}

pub fn is_disk_key(kind: GuestKind, key: &str) -> bool {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    match kind {
        GuestKind::Qemu => {
            matches!(base, "ide" | "sata" | "scsi" | "virtio") && base.len() < key.len()
                || key == "efidisk0"
                || key == "tpmstate0"
        }
        GuestKind::Lxc => key == "rootfs" || (base == "mp" && base.len() < key.len()),
    }
}

pub fn is_unused_key(key: &str) -> bool {
    key.strip_prefix("unused").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

pub fn is_net_key(key: &str) -> bool {
    key.strip_prefix("net").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// The qemu NIC models, shared with parameter verification.
use super::params::NIC_MODELS;

/// Renders a property string with its leading key first and the rest sorted, as PVE prints them.
fn render_sorted(ps: &PropertyString, first: &[&str]) -> String {
    let mut parts = Vec::new();
    for f in first {
        if let Some(v) = ps.get(f) {
            parts.push(format!("{f}={v}"));
        }
    }
    let mut rest: Vec<_> = ps.entries.iter().filter(|(k, _)| !first.contains(&k.as_str())).collect();
    rest.sort();
    parts.extend(rest.into_iter().map(|(k, v)| format!("{k}={v}")));
    parts.join(",")
}

/// Normalises a NIC: a MAC is generated where none is given.
pub fn normalise_net(kind: GuestKind, value: &str, mac: impl FnOnce() -> String) -> Result<String, String> {
    match kind {
        GuestKind::Qemu => {
            let mut ps = PropertyString::parse(value, Some("model")).map_err(|e| format!("invalid format - {e}"))?;
            let mut model_mac: Option<(String, Option<String>)> = None;
            if let Some(m) = ps.remove("model") {
                let mac = ps.remove("macaddr");
                model_mac = Some((m, mac));
            }
            for m in NIC_MODELS {
                if let Some(mac) = ps.remove(m) {
                    model_mac = Some(((*m).to_string(), Some(mac)));
                }
            }
            let Some((model, given)) = model_mac else {
                return Err("invalid format - format error\nnet: property is missing and it is not optional".into());
            };
            if !NIC_MODELS.contains(&model.as_str()) {
                return Err(format!("invalid format - value '{model}' does not have a value in the enumeration"));
            }
            let mac = given.map(|m| m.to_ascii_uppercase()).unwrap_or_else(mac);
            let rest = render_sorted(&ps, &[]);
            Ok(if rest.is_empty() { format!("{model}={mac}") } else { format!("{model}={mac},{rest}") })
        }
        GuestKind::Lxc => {
            let mut ps = PropertyString::parse(value, None).map_err(|e| format!("invalid format - {e}"))?;
            if ps.get("name").is_none() {
                return Err("invalid format - format error\nname: property is missing and it is not optional".into());
            }
            if ps.get("hwaddr").is_none() {
                ps.set("hwaddr", mac());
            }
            if ps.get("type").is_none() {
                ps.set("type", "veth");
            }
            Ok(render_sorted(&ps, &["name"]))
        }
    }
}

/// Disk allocation requested by a config value like `local-lvm:8`.
#[derive(Debug)]
pub struct DiskRequest {
    pub storage: String,
    pub size: u64,
    /// `STORAGE:cloudinit`: the cloud-init drive, `vm-<vmid>-cloudinit`.
    pub cloudinit: bool,
}

fn disk_default_key(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "file",
        GuestKind::Lxc => "volume",
    }
}

/// Parses a disk value; a `STORAGE:SIZE` file asks for a new volume. (A bare `SIZE` never gets
/// here: PVE's parameter check wants a volume ID, `STORAGE:…`, for a VM disk.)
pub fn disk_request(kind: GuestKind, key: &str, value: &str) -> Result<(PropertyString, Option<DiskRequest>), String> {
    let dk = disk_default_key(kind);
    let ps = PropertyString::parse(value, Some(dk)).map_err(|e| format!("invalid format - {e}"))?;
    let Some(file) = ps.get(dk).map(str::to_string) else { return Err(format!("invalid format - missing {dk}")) };
    let Some((storage, rest)) = file.split_once(':') else { return Ok((ps, None)) };
    let fixed = match key {
        "efidisk0" => Some(4u64 << 20),
        "tpmstate0" => Some(4 << 20),
        _ => None,
    };
    if rest == "cloudinit" {
        return Ok((ps, Some(DiskRequest { storage: storage.to_string(), size: 4 << 20, cloudinit: true })));
    }
    let is_number = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.');
    if !is_number {
        return Ok((ps, None));
    }
    let gib: f64 = rest.parse().map_err(|_| format!("invalid format - bad size '{rest}'"))?;
    let size = fixed.unwrap_or((gib * (1u64 << 30) as f64) as u64);
    match (ps.get("import-from").is_some(), size == 0 && fixed.is_none()) {
        (true, false) => {
            Err("'import-from' requires special syntax - use <storage ID>:0,import-from=<source>".to_string())
        }
        (false, true) => Err(format!("invalid size '{rest}' for new volume")),
        // The size of an import comes from its source.
        _ => Ok((ps, Some(DiskRequest { storage: storage.to_string(), size, cloudinit: false }))),
    }
}

/// What qemu-server's create_vm writes as `boot` when none is given (get_default_bootdevices):
/// the first hard disk, the first CD-ROM (cloud-init drives count), then the first NIC, disks in
/// qemu-server's valid_drive_names order (ide, scsi, virtio, sata). None when there is none.
pub fn default_boot_order(config: &BTreeMap<String, String>) -> Option<String> {
    let mut drives: Vec<&String> = config
        .keys()
        .filter(|k| is_disk_key(GuestKind::Qemu, k) && !k.starts_with("efidisk") && !k.starts_with("tpmstate"))
        .collect();
    drives.sort_by_key(|k| boot_rank(k));
    let is_cdrom = |k: &&String| config[*k].contains("media=cdrom") || config[*k].contains("cloudinit");
    let mut order: Vec<String> = Vec::new();
    order.extend(drives.iter().find(|k| !is_cdrom(k)).map(|k| k.to_string()));
    order.extend(drives.iter().find(|k| is_cdrom(k)).map(|k| k.to_string()));
    let mut nets: Vec<&String> = config.keys().filter(|k| is_net_key(k)).collect();
    nets.sort_by_key(|k| k[3..].parse::<u32>().unwrap_or(u32::MAX));
    order.extend(nets.first().map(|k| k.to_string()));
    (!order.is_empty()).then(|| format!("order={}", order.join(";")))
}

/// The disk PVE reports sizes for (`bootdisk_size`): the first disk of the boot order, else the
/// legacy `bootdisk`; for a guest with neither, the first hard disk in drive order.
pub fn boot_disk(config: &BTreeMap<String, String>) -> Option<&String> {
    let usable = |k: &str| {
        config
            .get(k)
            .filter(|v| is_disk_key(GuestKind::Qemu, k) && !v.contains("media=cdrom") && !v.contains("cloudinit"))
    };
    if let Some(boot) = config.get("boot") {
        let order = boot.strip_prefix("order=").unwrap_or(boot);
        if let Some(v) = order.split(';').find_map(|d| usable(d.trim())) {
            return Some(v);
        }
    }
    if let Some(v) = config.get("bootdisk").and_then(|d| usable(d)) {
        return Some(v);
    }
    let mut drives: Vec<&String> = config
        .keys()
        .filter(|k| usable(k).is_some() && !k.starts_with("efidisk") && !k.starts_with("tpmstate"))
        .collect();
    drives.sort_by_key(|k| boot_rank(k));
    drives.first().and_then(|k| config.get(*k))
}

/// qemu-server's valid_drive_names order, which picks default boot devices.
fn boot_rank(key: &str) -> (u8, u32) {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let index = key[base.len()..].parse().unwrap_or(0);
    let rank = match base {
        "ide" => 0,
        "scsi" => 1,
        "virtio" => 2,
        "sata" => 3,
        _ => 4,
    };
    (rank, index)
}

fn drive_order(key: &str) -> (u8, u32) {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let index = key[base.len()..].parse().unwrap_or(0);
    let rank = match base {
        "rootfs" => 0,
        "ide" => 1,
        "sata" => 2,
        "scsi" => 3,
        "virtio" => 4,
        "efidisk" => 5,
        "tpmstate" => 6,
        "mp" => 7,
        _ => 8,
    };
    (rank, index)
}

/// What a guest needs from the cluster to take a config change.
pub struct Prepared {
    /// Final key → value to set (normalised).
    pub set: BTreeMap<String, String>,
    pub new_volumes: Vec<Volume>,
}

/// How [`prepare`] treats disks.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrepareOptions {
    /// Seeding from a cluster file: a named volume that does not exist yet is created rather
    /// than refused.
    pub adopt_missing_volumes: bool,
}

/// Normalises `updates` for guest `vmid` on `node`, allocating volume names (not yet recorded).
pub fn prepare(
    cluster: &Cluster,
    kind: GuestKind,
    node: &str,
    vmid: u32,
    updates: &BTreeMap<String, String>,
    mac: &mut dyn FnMut() -> String,
    opts: PrepareOptions,
) -> Result<Prepared, (String, String)> {
    let mut set = BTreeMap::new();
    let mut new_volumes = Vec::new();
    let mut reserved = BTreeSet::new();
    // Volumes are named in the order PVE allocates them: a VM's disks by config key (efidisk0
    // before scsi0, as qemu-server's create_disks walks them), a container's rootfs before its mps.
    let mut ordered: Vec<(&String, &String)> = updates.iter().collect();
    if kind == GuestKind::Lxc {
        ordered.sort_by_key(|(k, _)| drive_order(k));
    }
    for (key, value) in ordered {
        let err = |m: String| (key.clone(), m);
        let v = if key.as_str() == "tags" {
            normalize_tags(value)
        } else if key.as_str() == "description" {
            // Written as `#` comment lines; parse_vm_config / parse_pct_config strip the
            // trailing whitespace (`s/\s+$//`) when the file is read back.
            value.trim_end().to_string()
        } else if is_net_key(key) {
            normalise_net(kind, value, &mut *mac).map_err(err)?
        } else if is_disk_key(kind, key) {
            let (mut ps, req) = disk_request(kind, key, value).map_err(err)?;
            if let Some(mut req) = req {
                if let Some(source) = ps.get("import-from").map(str::to_string) {
                    match cluster.volume(node, &source) {
                        Some(vol) => req.size = vol.size.max(1 << 20),
                        None => return Err(err(format!("cannot import from '{source}' - volume does not exist"))),
                    }
                }
                let content = if kind == GuestKind::Lxc { "rootdir" } else { "images" };
                let def = cluster
                    .storages
                    .get(&req.storage)
                    .ok_or_else(|| err(format!("storage '{}' does not exist", req.storage)))?;
                if !def.on_node(node) {
                    return Err(err(format!("storage '{}' is not available on node '{node}'", req.storage)));
                }
                if !def.supports(content) {
                    let what = if content == "images" { "vm images" } else { "container directories" };
                    return Err(err(format!("storage '{}' does not support {what}", req.storage)));
                }
                let volid = if req.cloudinit && def.is_file_based() {
                    format!("{}:{vmid}/vm-{vmid}-cloudinit.qcow2", req.storage)
                } else if req.cloudinit {
                    format!("{}:vm-{vmid}-cloudinit", req.storage)
                } else {
                    cluster.next_disk_name(node, &req.storage, vmid, &reserved)
                };
                reserved.insert(volid.clone());
                let format = if req.cloudinit && def.is_file_based() { "qcow2" } else { "raw" };
                new_volumes.push(Volume {
                    volid: volid.clone(),
                    size: req.size,
                    format: format.into(),
                    content: content.into(),
                    vmid: Some(vmid),
                    ctime: now(),
                    written: None,
                });
                ps.set(disk_default_key(kind), volid);
                ps.remove("import-from");
                // qemu-server's create_disks: "delete $disk->{format}; # no longer needed".
                ps.remove("format");
                if req.cloudinit {
                    ps.set("media", "cdrom");
                } else {
                    ps.set("size", size_string(req.size));
                }
            } else if let Some(file) = ps.get(disk_default_key(kind)).map(str::to_string) {
                if let Some(vol) = cluster.volume(node, &file) {
                    if ps.get("size").is_none() && vol.content != "iso" {
                        ps.set("size", size_string(vol.size));
                    }
                    if file.contains(":iso/") && ps.get("media").is_none() {
                        ps.set("media", "cdrom");
                    }
                } else if file.contains(':') && opts.adopt_missing_volumes {
                    let size = ps.get("size").and_then(parse_size).map_or(0, |(b, _)| b);
                    let content = if kind == GuestKind::Lxc { "rootdir" } else { "images" };
                    new_volumes.push(Volume {
                        volid: file.clone(),
                        size,
                        format: "raw".into(),
                        content: content.into(),
                        vmid: Some(vmid),
                        ctime: now(),
                        written: None,
                    });
                } else if file.contains(':') {
                    // PVE asks the storage for the volume's size, which fails for a volume that
                    // is not there.
                    return Err(err(format!("volume '{file}' does not exist")));
                }
            }
            render_sorted_disk(&ps, disk_default_key(kind))
        } else {
            value.clone()
        };
        set.insert(key.clone(), v);
    }
    Ok(Prepared { set, new_volumes })
}

fn render_sorted_disk(ps: &PropertyString, dk: &str) -> String {
    let mut out = ps.get(dk).unwrap_or_default().to_string();
    let mut rest: Vec<_> = ps.entries.iter().filter(|(k, _)| k.as_str() != dk).collect();
    rest.sort();
    for (k, v) in rest {
        out.push_str(&format!(",{k}={v}"));
    }
    out
}

/// The volume a disk value refers to (`local-lvm:vm-100-disk-0,size=8G` → `local-lvm:vm-100-disk-0`).
pub fn disk_volid(kind: GuestKind, value: &str) -> Option<String> {
    let ps = PropertyString::parse(value, Some(disk_default_key(kind))).ok()?;
    let f = ps.get(disk_default_key(kind))?;
    if f == "none" || f == "cdrom" || !f.contains(':') || f.contains(":iso/") {
        return None;
    }
    Some(f.to_string())
}

/// Every volume a guest's config references (disks and unused).
pub fn guest_volumes(g: &Guest) -> Vec<(String, String)> {
    g.config
        .iter()
        .chain(g.pending.iter())
        .filter(|(k, _)| is_disk_key(g.kind, k) || is_unused_key(k))
        .filter_map(|(k, v)| {
            let volid = if is_unused_key(k) { Some(v.clone()) } else { disk_volid(g.kind, v) };
            volid.map(|vid| (k.clone(), vid))
        })
        .collect()
}

pub fn next_unused_key(g: &Guest) -> String {
    (0..)
        .map(|i| format!("unused{i}"))
        .find(|k| !g.config.contains_key(k) && !g.pending.contains_key(k))
        .unwrap_or_default()
}

/// `a,b;c d` → [a, b, c, d] (PVE accepts several separators in `delete`).
pub fn list(v: Option<&String>) -> Vec<String> {
    v.map(|s| s.split([',', ';', ' ']).filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default()
}

/// The size of a disk value in bytes.
pub fn disk_size(kind: GuestKind, value: &str) -> Option<u64> {
    let ps = PropertyString::parse(value, Some(disk_default_key(kind))).ok()?;
    parse_size(ps.get("size")?).map(|(b, _)| b)
}

/// Replaces the `size=` of a disk value.
pub fn with_size(kind: GuestKind, value: &str, bytes: u64) -> String {
    match PropertyString::parse(value, Some(disk_default_key(kind))) {
        Ok(mut ps) => {
            ps.set("size", size_string(bytes));
            render_sorted_disk(&ps, disk_default_key(kind))
        }
        Err(_) => value.to_string(),
    }
}

/// Replaces the volume of a disk value.
pub fn with_volume(kind: GuestKind, value: &str, volid: &str) -> String {
    match PropertyString::parse(value, Some(disk_default_key(kind))) {
        Ok(mut ps) => {
            ps.set(disk_default_key(kind), volid);
            render_sorted_disk(&ps, disk_default_key(kind))
        }
        Err(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets_gain_a_mac() {
        let got = normalise_net(GuestKind::Qemu, "virtio,bridge=vmbr0", || "BC:24:11:00:00:01".into()).unwrap();
        assert_eq!(got, "virtio=BC:24:11:00:00:01,bridge=vmbr0");
        let kept =
            normalise_net(GuestKind::Qemu, "bridge=vmbr0,tag=20,virtio=bc:24:11:aa:bb:cc", || unreachable!()).unwrap();
        assert_eq!(kept, "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,tag=20");
        let ct =
            normalise_net(GuestKind::Lxc, "name=eth0,bridge=vmbr0,ip=dhcp", || "BC:24:11:00:00:02".into()).unwrap();
        assert_eq!(ct, "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02,ip=dhcp,type=veth");
        assert!(normalise_net(GuestKind::Qemu, "bridge=vmbr0", String::new).is_err());
    }

    #[test]
    fn disk_requests() {
        let (_, req) = disk_request(GuestKind::Qemu, "scsi0", "local-lvm:8,iothread=1").unwrap();
        let req = req.unwrap();
        assert_eq!((req.storage.as_str(), req.size), ("local-lvm", 8 << 30));
        let (_, none) = disk_request(GuestKind::Qemu, "scsi0", "local-lvm:vm-100-disk-0,size=8G").unwrap();
        let import = disk_request(GuestKind::Qemu, "scsi0", "local-lvm:8,import-from=local:iso/x.img");
        assert!(import.unwrap_err().contains("requires special syntax"));
        assert!(none.is_none());
    }
}
