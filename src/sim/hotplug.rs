//! Which changes a running guest takes at once and which wait in `[PENDING]` until it is
//! restarted, decided as PVE 9.2 decides it: qemu-server's `vmconfig_hotplug_pending` (with
//! `vmconfig_update_net`, `vmconfig_update_disk` and `vmconfig_update_agent`) and
//! pve-container's `PVE::LXC::Config::vmconfig_hotplug_pending`. A qemu guest's own `hotplug`
//! option decides what its devices may do.

use std::collections::BTreeMap;

use super::guest_config::{is_disk_key, is_net_key, is_unused_key};
use crate::proxmox::propstring::PropertyString;

/// What happens to one pending change on a running guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plug {
    /// Applied to the running guest and the config at once.
    Now,
    /// Stays in `[PENDING]` (PVE's `die "skip\n"`).
    Later,
    /// The hotplug itself fails: PVE answers 400 with this text for the key.
    Fails(String),
}

/// A qemu guest's `hotplug` option, parsed as `parse_hotplug_features` does: unset and `1` mean
/// `network,disk,usb`, `0` means nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Features {
    pub network: bool,
    pub disk: bool,
    pub cpu: bool,
    pub memory: bool,
    pub usb: bool,
}

pub fn features(config: &BTreeMap<String, String>) -> Features {
    let raw = config.get("hotplug").map(String::as_str).unwrap_or("1");
    let list = if raw == "1" { "network,disk,usb" } else { raw };
    let mut f = Features::default();
    for item in list.split(',') {
        match item.trim() {
            "network" => f.network = true,
            "disk" => f.disk = true,
            "cpu" => f.cpu = true,
            "memory" => f.memory = true,
            "usb" => f.usb = true,
            _ => {}
        }
    }
    f
}

/// qemu-server's `$fast_plug_option`, plus every cloud-init option (`$confdesc_cloudinit`): the
/// keys committed first, whatever the request touched.
pub fn qemu_fast_plug(key: &str) -> bool {
    matches!(
        key,
        "description"
            | "hookscript"
            | "lock"
            | "migrate_downtime"
            | "migrate_speed"
            | "name"
            | "onboot"
            | "protection"
            | "shares"
            | "startup"
            | "tags"
            | "vmstatestorage"
            | "cicustom"
            | "cipassword"
            | "citype"
            | "ciupgrade"
            | "ciuser"
            | "nameserver"
            | "searchdomain"
            | "sshkeys"
    ) || indexed(key, "ipconfig")
}

/// pve-container's `$LXC_FASTPLUG_OPTIONS`.
pub fn lxc_fast_plug(key: &str) -> bool {
    matches!(
        key,
        "description" | "onboot" | "startup" | "protection" | "hostname" | "hookscript" | "cores" | "tags" | "lock"
    )
}

fn indexed(key: &str, base: &str) -> bool {
    key.strip_prefix(base).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn ps(value: &str, default_key: &str) -> PropertyString {
    PropertyString::parse(value, Some(default_key)).unwrap_or_default()
}

/// qemu-server's `windows_version`: 0 for non-Windows.
fn windows_version(ostype: Option<&str>) -> u32 {
    match ostype.unwrap_or("") {
        "wxp" | "w2k" | "w2k3" => 5,
        "w2k8" | "wvista" => 6,
        "win7" => 7,
        "win8" => 8,
        "win10" => 10,
        "win11" => 11,
        _ => 0,
    }
}

/// USB hotplug needs the feature, machine version 7.1 or later (a pinned `pc-…-X.Y` machine,
/// else the running QEMU, which PVE 9.2 ships newer) and ostype l26 or Windows after 7.
fn usb_hotplug(config: &BTreeMap<String, String>, f: Features) -> bool {
    let machine_ok = match config.get("machine").and_then(|m| pinned_version(m)) {
        Some((major, minor)) => (major, minor) >= (7, 1),
        None => true,
    };
    let ostype = config.get("ostype").map(String::as_str);
    f.usb && machine_ok && (ostype == Some("l26") || windows_version(ostype) > 7)
}

fn pinned_version(machine: &str) -> Option<(u32, u32)> {
    let ty = machine.split(',').next()?.trim_start_matches("type=");
    let tail = ty.rsplit('-').next()?;
    let tail = tail.split('+').next()?;
    let (a, b) = tail.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

pub fn is_cloudinit(value: &str) -> bool {
    let file = ps(value, "file").get("file").unwrap_or_default().to_string();
    file.rsplit('/').next().unwrap_or(&file).split(':').next_back().is_some_and(|v| v.contains("-cloudinit"))
}

pub fn is_cdrom(value: &str) -> bool {
    let p = ps(value, "file");
    p.get("media") == Some("cdrom") || matches!(p.get("file"), Some("none" | "cdrom")) || is_cloudinit(value)
}

/// A pending qemu value for `key` on a running VM (qemu-server's `vmconfig_hotplug_pending`,
/// add/change half). `config` is the current config.
pub fn qemu_set(config: &BTreeMap<String, String>, key: &str, value: &str) -> Plug {
    let f = features(config);
    let when = |hot: bool| if hot { Plug::Now } else { Plug::Later };
    if qemu_fast_plug(key) {
        return Plug::Now;
    }
    match key {
        "hotplug" => {
            let old = config.get("hotplug").map(String::as_str).unwrap_or("");
            let touches = |s: &str| s.contains("memory") || s.contains("cpu");
            when(!touches(value) && !touches(old))
        }
        "tablet" => when(f.usb),
        "vcpus" => when(f.cpu),
        "balloon" => {
            // Switching the balloon device on or off is not hot-pluggable; a new target is.
            let enabled = |v: Option<&str>| v.is_none_or(|b| b != "0");
            when(enabled(config.get("balloon").map(String::as_str)) == enabled(Some(value)))
        }
        "memory" => when(f.memory),
        "cpuunits" | "cpulimit" => Plug::Now,
        "agent" => agent_change(config.get("agent").map(String::as_str), value),
        k if indexed(k, "usb") => when(usb_hotplug(config, f)),
        k if is_net_key(k) => net_change(config.get(k).map(String::as_str), value, f.network),
        k if is_disk_key(super::model::GuestKind::Qemu, k) => {
            if k == "efidisk0" || k == "tpmstate0" {
                return Plug::Later;
            }
            if is_cloudinit(value) {
                return Plug::Now;
            }
            disk_change(k, config.get(k).map(String::as_str), value, f.disk)
        }
        _ => Plug::Later,
    }
}

/// A pending qemu delete of `key` on a running VM (the delete half).
pub fn qemu_delete(config: &BTreeMap<String, String>, key: &str) -> Plug {
    let f = features(config);
    let when = |hot: bool| if hot { Plug::Now } else { Plug::Later };
    match key {
        "hotplug" => {
            let old = config.get("hotplug").map(String::as_str).unwrap_or("");
            when(!(old.contains("cpu") || old.contains("memory")))
        }
        "tablet" => when(f.usb),
        "vcpus" => when(f.cpu),
        "balloon" => when(config.get("balloon").is_none_or(|b| b != "0")),
        "memory" => when(f.memory),
        "cpuunits" | "cpulimit" => Plug::Now,
        k if indexed(k, "usb") => when(usb_hotplug(config, f)),
        k if qemu_fast_plug(k) => Plug::Now,
        k if is_net_key(k) => when(f.network),
        k if is_disk_key(super::model::GuestKind::Qemu, k) => {
            let never = ["efidisk", "ide", "sata", "tpmstate"].iter().any(|b| k.starts_with(b));
            when(f.disk && !never)
        }
        _ => Plug::Later,
    }
}

/// `vmconfig_update_net`: bridge, tag, trunks, firewall, rate and link_down change live; a new
/// model, MAC, queue count or MTU (or a NIC that is new) needs network hotplug.
fn net_change(old: Option<&str>, new: &str, hotplug: bool) -> Plug {
    let Some(old) = old else { return if hotplug { Plug::Now } else { Plug::Later } };
    let (o, n) = (net_parts(old), net_parts(new));
    let replug = o.model != n.model
        || o.mac != n.mac
        || o.rest.get("queues") != n.rest.get("queues")
        || o.rest.get("mtu") != n.rest.get("mtu")
        || o.rest.get("bridge").is_none()
        || n.rest.get("bridge").is_none();
    if replug && !hotplug {
        Plug::Later
    } else {
        Plug::Now
    }
}

struct Net {
    model: Option<String>,
    mac: Option<String>,
    rest: PropertyString,
}

fn net_parts(value: &str) -> Net {
    let mut p = PropertyString::parse(value, Some("model")).unwrap_or_default();
    let mut model = p.remove("model");
    let mut mac = p.remove("macaddr");
    for m in super::params::NIC_MODELS {
        if let Some(v) = p.remove(m) {
            model = Some((*m).to_string());
            mac = Some(v.to_ascii_uppercase());
        }
    }
    Net { model, mac, rest: p }
}

/// `vmconfig_update_disk`: a CD-ROM changes its medium live; a disk that keeps its volume takes
/// throttling live but not aio, discard, iothread, queues, product, cache, ssd, vendor or ro; a
/// new volume (or a new disk) needs disk hotplug, and new ide/sata disks never plug live.
fn disk_change(key: &str, old: Option<&str>, new: &str, hotplug: bool) -> Plug {
    let n = ps(new, "file");
    if let Some(old_value) = old {
        let o = ps(old_value, "file");
        if n.get("media").unwrap_or("disk") != o.get("media").unwrap_or("disk") {
            return Plug::Fails("hotplug problem - unable to change media type".into());
        }
        if is_cdrom(old_value) {
            return Plug::Now;
        }
        if n.get("file") != o.get("file") {
            return if hotplug { Plug::Now } else { Plug::Later };
        }
        const COLD: &[&str] = &["aio", "discard", "iothread", "queues", "product", "cache", "ssd", "vendor", "ro"];
        return if COLD.iter().any(|k| n.get(k) != o.get(k)) { Plug::Later } else { Plug::Now };
    }
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    if hotplug && base != "ide" && base != "sata" {
        Plug::Now
    } else {
        Plug::Later
    }
}

/// `vmconfig_update_agent`: only `fstrim_cloned_disks` changes live, and only on a VM that has
/// the option at all.
fn agent_change(old: Option<&str>, new: &str) -> Plug {
    let Some(old) = old else { return Plug::Later };
    let norm = |v: &str| {
        let mut p = ps(v, "enabled");
        p.remove("fstrim_cloned_disks");
        let mut e: Vec<(String, String)> = p.entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        e.sort();
        e
    };
    if norm(old) == norm(new) {
        Plug::Now
    } else {
        Plug::Later
    }
}

/// A pending LXC value on a running container: cpulimit, cpuunits, memory, swap and NICs change
/// live, and new mount points and devices are hot-plugged; existing ones wait.
pub fn lxc_set(config: &BTreeMap<String, String>, key: &str) -> Plug {
    if lxc_fast_plug(key) || matches!(key, "cpulimit" | "cpuunits" | "memory" | "swap") || is_net_key(key) {
        return Plug::Now;
    }
    if (indexed(key, "mp") || indexed(key, "dev")) && !config.contains_key(key) {
        return Plug::Now;
    }
    Plug::Later
}

/// A pending LXC delete on a running container.
pub fn lxc_delete(key: &str) -> Plug {
    if lxc_fast_plug(key) || is_unused_key(key) || matches!(key, "swap" | "cpulimit" | "cpuunits") || is_net_key(key) {
        Plug::Now
    } else {
        Plug::Later
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn hotplug_option_decides_devices() {
        let default = conf(&[]);
        assert_eq!(qemu_set(&default, "memory", "4096"), Plug::Later);
        assert_eq!(qemu_set(&default, "scsi1", "local-lvm:vm-100-disk-1,size=1G"), Plug::Now);
        assert_eq!(qemu_set(&default, "sata1", "local-lvm:vm-100-disk-1,size=1G"), Plug::Later);
        let off = conf(&[("hotplug", "0")]);
        assert_eq!(qemu_set(&off, "net1", "virtio=BC:24:11:00:00:01,bridge=vmbr0"), Plug::Later);
        let mem = conf(&[("hotplug", "network,disk,cpu,memory")]);
        assert_eq!(qemu_set(&mem, "memory", "4096"), Plug::Now);
        assert_eq!(qemu_set(&mem, "vcpus", "2"), Plug::Now);
    }

    #[test]
    fn disk_options_and_nics() {
        let c = conf(&[
            ("scsi0", "local-lvm:vm-100-disk-0,size=8G"),
            ("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0"),
            ("hotplug", "0"),
        ]);
        assert_eq!(qemu_set(&c, "scsi0", "local-lvm:vm-100-disk-0,discard=on,size=8G"), Plug::Later);
        assert_eq!(qemu_set(&c, "scsi0", "local-lvm:vm-100-disk-0,mbps_rd=100,size=8G"), Plug::Now);
        assert_eq!(qemu_set(&c, "net0", "virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=5"), Plug::Now);
        assert_eq!(qemu_set(&c, "net0", "e1000=BC:24:11:00:00:01,bridge=vmbr0"), Plug::Later);
        assert_eq!(pinned_version("pc-i440fx-6.2+pve1"), Some((6, 2)));
    }
}
