//! Parameter verification the way PVE's JSONSchema does it: unknown parameters, missing required
//! ones and values of the wrong type all answer `400 Parameter verification failed.` with an
//! `errors` map naming each parameter. Values follow PVE's formats (`formats`): property strings
//! key by key, named formats such as `dns-name` or `pve-poolid`, patterns and lengths.

mod formats;

use indexmap::IndexMap;

use formats::{check_format, check_props, PropFormat};
pub use formats::{property_string_rules, Format, KeyRule, NIC_MODELS};

use super::routes::{Area, Handler, Route};
use super::wire::ApiError;

/// Request parameters (query string or form body), in arrival order.
pub type Params = IndexMap<String, String>;

/// The value kinds the simulator checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    Number,
    /// A number with a minimum (qemu `net[n]` `rate`).
    NumberMin(i64),
    /// A number within a range (qemu `machine` `aw-bits`).
    NumberRange(i64, i64),
    Bool,
    Enum(&'static [&'static str]),
    /// `[current=]<MiB>` (qemu `memory` since PVE 8.3).
    QemuMemory,
    /// `[+]<size>[KMGT]`.
    DiskSize,
    NodeName,
    /// A PVE regex `pattern`, matched as a whole.
    Pattern(&'static str),
    /// A `maxLength`.
    MaxLen(usize),
    /// A named PVE format (`dns-name`, `pve-poolid`...).
    Format(Format),
    /// A property string with typed keys (`net[n]`, `scsi[n]`...).
    Props(&'static PropFormat),
    /// Several constraints, checked in order (`hostname`: dns-name and at most 255 characters).
    All(&'static [Kind]),
    Text,
}

const VMID: Kind = Kind::Int { min: 100, max: 999_999_999 };

/// The kind of parameter `name` in `route`: the few names whose format depends on the endpoint,
/// then [`kind_of`].
pub fn kind_in(route: &Route, name: &str) -> Kind {
    match (route.handler, name) {
        // `delete` lists config keys to remove; elsewhere (move_disk, pools) it is a boolean.
        (Handler::ConfigPut(_) | Handler::ConfigPostAsync, "delete") => Kind::Format(Format::ConfigIdList),
        // Clones take any description, and a hostname without the config's 255-character limit.
        (Handler::Clone(_), "description") => Kind::Text,
        (Handler::Clone(_), "hostname") => Kind::Format(Format::DnsName),
        _ => kind_of(name, route.area),
    }
}

/// The kind of parameter `name` in an endpoint of `area`.
pub fn kind_of(name: &str, area: Area) -> Kind {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let indexed = base != name;
    match (area, name) {
        (Area::Pool, "delete" | "allow-move") => return Kind::Bool,
        (Area::Pool, "type") => return Kind::Enum(&["qemu", "lxc", "storage"]),
        (Area::Pool, "storage") => return Kind::Format(Format::StorageIdList),
        (Area::Lxc, "memory") => return Kind::Int { min: 16, max: i64::MAX },
        (Area::Lxc, "swap") => return Kind::Int { min: 0, max: i64::MAX },
        (Area::Lxc, "ostype") => {
            return Kind::Enum(&[
                "debian",
                "devuan",
                "ubuntu",
                "centos",
                "fedora",
                "opensuse",
                "archlinux",
                "alpine",
                "gentoo",
                "nixos",
                "unmanaged",
            ])
        }
        (Area::Lxc, "cores") => return Kind::Int { min: 1, max: 8192 },
        (Area::Lxc, "cpuunits") => return Kind::Int { min: 0, max: 500000 },
        (Area::Lxc, "rootfs") => return Kind::Props(&formats::ROOTFS),
        (Area::Lxc, "features") => return Kind::Props(&formats::FEATURES),
        (Area::Lxc, "hostname") => return Kind::All(&[Kind::Format(Format::DnsName), Kind::MaxLen(255)]),
        (Area::Qemu, "memory") => return Kind::QemuMemory,
        (Area::Resources, "type") => return Kind::Enum(&["vm", "storage", "node", "sdn"]),
        (Area::Ha, "type") => return Kind::Enum(&["ct", "vm"]),
        (Area::Qemu, "agent") => return Kind::Props(&formats::AGENT),
        (Area::Qemu, "boot") => return Kind::Props(&formats::BOOT),
        (Area::Qemu, "cpu") => return Kind::Format(Format::VmCpu),
        (Area::Qemu, "vga") => return Kind::Props(&formats::VGA),
        (Area::Qemu, "machine") => return Kind::Props(&formats::MACHINE),
        (Area::Qemu, "rng0") => return Kind::Props(&formats::RNG),
        (Area::Qemu, "efidisk0") => return Kind::Props(&formats::EFIDISK),
        (Area::Qemu, "tpmstate0") => return Kind::Props(&formats::TPMSTATE),
        (Area::Qemu, "hotplug") => return Kind::Format(Format::HotplugFeatures),
        (Area::Qemu, "bootdisk") => return Kind::Pattern(r"(ide|sata|scsi|virtio)\d+"),
        (Area::Qemu, "vmgenid") => {
            return Kind::Pattern(r"(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])")
        }
        (Area::Qemu, "startdate") => return Kind::Pattern(r"(now|\d{4}-\d{1,2}-\d{1,2}(T\d{1,2}:\d{1,2}:\d{1,2})?)"),
        (Area::Qemu, "hugepages") => return Kind::Enum(&["any", "2", "1024"]),
        (Area::Qemu, "smp") => return Kind::Int { min: 1, max: i64::MAX },
        (Area::Qemu, "name") => return Kind::Format(Format::DnsName),
        (Area::Qemu, "migration_network") => return Kind::Format(Format::Cidr),
        (Area::Qemu, "nets-host-mtu") => return Kind::Pattern(r"net\d+=\d+(,net\d+=\d+)*"),
        (Area::Qemu, "migration_type") => return Kind::Enum(&["secure", "insecure"]),
        (Area::Qemu, "stateuri") => return Kind::MaxLen(128),
        (Area::Qemu, "keyboard") => {
            return Kind::Enum(&[
                "de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu", "is", "it",
                "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl", "tr",
            ])
        }
        _ => {}
    }
    if indexed {
        match (area, base) {
            (Area::Qemu, "net") => return Kind::Props(&formats::QEMU_NET),
            (Area::Qemu, "scsi") => return Kind::Props(&formats::SCSI),
            (Area::Qemu, "virtio") => return Kind::Props(&formats::VIRTIO),
            (Area::Qemu, "sata") => return Kind::Props(&formats::SATA),
            (Area::Qemu, "ide") => return Kind::Props(&formats::IDE),
            (Area::Qemu, "ipconfig") => return Kind::Props(&formats::IPCONFIG),
            (Area::Qemu, "unused") => return Kind::Props(&formats::QEMU_UNUSED),
            (Area::Lxc, "net") => return Kind::Props(&formats::LXC_NET),
            (Area::Lxc, "mp") => return Kind::Props(&formats::MOUNTPOINT),
            (Area::Lxc, "unused") => return Kind::Props(&formats::LXC_UNUSED),
            (Area::Qemu, "serial") => return Kind::Pattern(r"(/dev/.+|socket)"),
            (Area::Qemu, "parallel") => return Kind::Pattern(r"/dev/parport\d+|/dev/usb/lp\d+"),
            _ => {}
        }
    }
    if indexed && matches!(base, "unused" | "numa" | "usb" | "serial" | "parallel") {
        return Kind::Text;
    }
    match name {
        "vmid" | "newid" => VMID,
        "node" | "target" => Kind::NodeName,
        "storage" | "vmstatestorage" | "import-working-storage" => Kind::Format(Format::StorageId),
        "targetstorage" | "target-storage" => Kind::Format(Format::StoragePairList),
        "poolid" | "pool" => Kind::Format(Format::PoolId),
        "userid" => Kind::Pattern(r"[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+(?:![A-Za-z][A-Za-z0-9.\-_]+)?"),
        "tags" => Kind::Format(Format::TagList),
        "revert" => Kind::Format(Format::ConfigIdList),
        "digest" | "target-digest" => Kind::MaxLen(40),
        "startup" => Kind::Format(Format::StartupOrder),
        "description" => Kind::MaxLen(8192),
        "hookscript" => Kind::Format(Format::VolumeId),
        "cores" | "sockets" => Kind::Int { min: 1, max: 4096 },
        "vcpus" => Kind::Int { min: 1, max: 4096 },
        "balloon" => Kind::Int { min: 0, max: i64::MAX },
        "shares" => Kind::Int { min: 0, max: 50000 },
        "cpuunits" => Kind::Int { min: 1, max: 262144 },
        "cpulimit" => Kind::Number,
        "timeout" | "bwlimit" | "migrate_speed" => Kind::Int { min: 0, max: i64::MAX },
        "background_delay" => Kind::Int { min: 1, max: 30 },
        "start" | "limit" | "since" | "until" => Kind::Int { min: 0, max: i64::MAX },
        "tty" => Kind::Int { min: 0, max: 6 },
        "migrate_downtime" => Kind::Number,
        "full"
        | "delete"
        | "force"
        | "purge"
        | "destroy-unreferenced-disks"
        | "skiplock"
        | "onboot"
        | "protection"
        | "template"
        | "numa"
        | "acpi"
        | "kvm"
        | "tablet"
        | "localtime"
        | "reboot"
        | "freeze"
        | "autostart"
        | "unique"
        | "online"
        | "with-local-disks"
        | "restart"
        | "keepActive"
        | "forceStop"
        | "overrule-shutdown"
        | "unprivileged"
        | "console"
        | "debug"
        | "ha-managed"
        | "current"
        | "enabled"
        | "errors"
        | "ciupgrade"
        | "keephugepages"
        | "live-restore"
        | "ignore-unpack-errors"
        | "new-format"
        | "download"
        | "with-conntrack-state"
        | "nets-host-mtu"
        | "force-cpu-dummy" => Kind::Bool,
        "bios" => Kind::Enum(&["seabios", "ovmf"]),
        "ostype" => Kind::Enum(&[
            "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris",
        ]),
        "scsihw" => Kind::Enum(&["lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"]),
        "format" => Kind::Enum(&["raw", "qcow2", "vmdk", "subvol", "iso", "tgz"]),
        "citype" => Kind::Enum(&["configdrive2", "nocloud", "opennebula"]),
        "arch" => Kind::Enum(&["x86_64", "aarch64", "amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"]),
        "cmode" => Kind::Enum(&["shell", "console", "tty"]),
        "statusfilter" | "typefilter" | "userfilter" | "source" => Kind::Text,
        "size" => Kind::DiskSize,
        _ => Kind::Text,
    }
}

/// Checks one value against its kind; the message is PVE's.
pub fn check(kind: Kind, value: &str) -> Result<(), String> {
    check_at(kind, "", value)
}

/// [`check`] for the parameter (or property-string key) at `path`, which names nested errors.
fn check_at(kind: Kind, path: &str, value: &str) -> Result<(), String> {
    match kind {
        Kind::Int { min, max } => {
            let n: i64 = value.trim().parse().map_err(|_| format!("type check ('integer') failed - got '{value}'"))?;
            if n < min {
                return Err(format!("value must have a minimum value of {min}"));
            }
            if n > max {
                return Err(format!("value must have a maximum value of {max}"));
            }
            Ok(())
        }
        Kind::NumberMin(min) => {
            check(Kind::Number, value)?;
            if value.trim().parse::<f64>().is_ok_and(|n| n < min as f64) {
                return Err(format!("value must have a minimum value of {min}"));
            }
            Ok(())
        }
        Kind::NumberRange(min, max) => {
            check(Kind::NumberMin(min), value)?;
            if value.trim().parse::<f64>().is_ok_and(|n| n > max as f64) {
                return Err(format!("value must have a maximum value of {max}"));
            }
            Ok(())
        }
        Kind::Number => {
            value.trim().parse::<f64>().map(|_| ()).map_err(|_| format!("type check ('number') failed - got '{value}'"))
        }
        Kind::Bool => {
            parse_bool(value).map(|_| ()).ok_or_else(|| format!("type check ('boolean') failed - got '{value}'"))
        }
        Kind::Enum(values) => {
            if values.contains(&value) {
                Ok(())
            } else {
                Err(format!("value '{value}' does not have a value in the enumeration '{}'", values.join(", ")))
            }
        }
        Kind::QemuMemory => {
            let n = value.strip_prefix("current=").unwrap_or(value);
            match n.parse::<u64>() {
                Ok(v) if v >= 16 => Ok(()),
                Ok(_) => Err("current: value must have a minimum value of 16".into()),
                Err(_) => Err(format!("value does not match the regex pattern - got '{value}'")),
            }
        }
        // qemu-server/pve-container resize_vm: `\+?\d+(\.\d+)?[KMGT]?` (upper-case units only).
        Kind::DiskSize => {
            if formats::matches(r"\+?\d+(\.\d+)?[KMGT]?", value) {
                Ok(())
            } else {
                Err("value does not match the regex pattern".into())
            }
        }
        Kind::NodeName => check_at(Kind::Format(Format::NodeName), path, value),
        Kind::Pattern(p) => {
            if formats::matches(p, value) {
                Ok(())
            } else {
                Err("value does not match the regex pattern".into())
            }
        }
        Kind::MaxLen(n) => {
            if value.chars().count() > n {
                Err(format!("value may only be {n} characters long"))
            } else {
                Ok(())
            }
        }
        Kind::Format(f) => check_format(f, value).map_err(|e| format!("invalid format - {e}")),
        Kind::Props(f) => check_props(f, path, value).map_err(|e| format!("invalid format - {e}")),
        Kind::All(kinds) => kinds.iter().try_for_each(|k| check_at(*k, path, value)),
        Kind::Text => Ok(()),
    }
}

/// PVE booleans: 1/on/yes/true and 0/off/no/false, any case.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// `[+]N[KMGT]` (default unit G for disk sizes given bare) → (bytes, is_relative).
pub fn parse_size(v: &str) -> Option<(u64, bool)> {
    let (rel, rest) = match v.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, v),
    };
    let (num, mult) = match rest.chars().last()? {
        'K' | 'k' => (&rest[..rest.len() - 1], 1u64 << 10),
        'M' | 'm' => (&rest[..rest.len() - 1], 1 << 20),
        'G' | 'g' => (&rest[..rest.len() - 1], 1 << 30),
        'T' | 't' => (&rest[..rest.len() - 1], 1 << 40),
        c if c.is_ascii_digit() => (rest, 1),
        _ => return None,
    };
    let n: f64 = num.parse().ok()?;
    if n.is_nan() || n < 0.0 || !n.is_finite() {
        return None;
    }
    Some(((n * mult as f64) as u64, rel))
}

/// Whether `name` is one of the declared names (`net[n]` covers `net0`..).
pub fn declared(route: &Route, name: &str) -> bool {
    route.path_params().any(|p| p == name) || declared_in(route.params, name)
}

/// Whether `name` is in `names`, where `net[n]` covers `net0`, `net1`, ... up to PVE's maximum.
pub fn declared_in(names: &[&str], name: &str) -> bool {
    if names.contains(&name) {
        return true;
    }
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if base.len() == name.len() || base.is_empty() {
        return false;
    }
    let Ok(index) = name[base.len()..].parse::<u32>() else { return false };
    if name[base.len()..].starts_with('0') && index != 0 {
        return false;
    }
    let indexed = format!("{base}[n]");
    names.contains(&indexed.as_str()) && index <= max_index(base)
}

fn max_index(base: &str) -> u32 {
    match base {
        "ide" => 3,
        "sata" => 5,
        "scsi" => 30,
        "virtio" => 15,
        "net" | "ipconfig" => 31,
        "numa" => 7,
        "serial" | "parallel" => 3,
        "usb" => 14,
        "hostpci" => 15,
        "virtiofs" => 9,
        _ => 255,
    }
}

/// Verifies `params` against the route: every error at once, like PVE.
pub fn verify(route: &Route, params: &Params) -> Result<(), ApiError> {
    let mut errors = IndexMap::new();
    for (name, value) in params {
        if !declared(route, name) {
            errors.insert(
                name.clone(),
                "property is not defined in schema and the schema does not allow additional properties".to_string(),
            );
            continue;
        }
        if let Err(msg) = check_at(kind_in(route, name), name, value) {
            errors.insert(name.clone(), msg);
        }
    }
    for req in route.required {
        if !params.contains_key(*req) {
            errors.insert((*req).to_string(), "property is missing and it is not optional".to_string());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::params(errors))
    }
}

/// Reads a boolean parameter that has already been verified.
pub fn flag(params: &Params, name: &str) -> Option<bool> {
    params.get(name).and_then(|v| parse_bool(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_bools_check_like_pve() {
        assert_eq!(check(VMID, "abc").unwrap_err(), "type check ('integer') failed - got 'abc'");
        assert_eq!(check(VMID, "99").unwrap_err(), "value must have a minimum value of 100");
        assert!(check(VMID, "100").is_ok());
        assert!(check(Kind::Bool, "1").is_ok());
        assert!(check(Kind::Bool, "true").is_ok());
        assert!(check(Kind::Bool, "maybe").is_err());
        assert!(check(Kind::Enum(&["a", "b"]), "c").unwrap_err().contains("'a, b'"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8G"), Some((8 << 30, false)));
        assert_eq!(parse_size("+512M"), Some((512 << 20, true)));
        assert_eq!(parse_size("1.5G"), Some(((1.5 * (1u64 << 30) as f64) as u64, false)));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1G"), None);
    }
}
