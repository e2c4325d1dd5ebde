//! Parameter verification the way PVE's JSONSchema does it: unknown parameters, missing required
//! ones and values of the wrong type all answer `400 Parameter verification failed.` with an
//! `errors` map naming each parameter.

use indexmap::IndexMap;

use super::routes::{Area, Route};
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
    Bool,
    Enum(&'static [&'static str]),
    /// `[current=]<MiB>` (qemu `memory` since PVE 8.3).
    QemuMemory,
    /// `[+]<size>[KMGT]`.
    DiskSize,
    NodeName,
    ConfigId,
    Text,
}

const VMID: Kind = Kind::Int { min: 100, max: 999_999_999 };

/// The kind of parameter `name` in an endpoint of `area`.
pub fn kind_of(name: &str, area: Area) -> Kind {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    match (area, name) {
        (Area::Pool, "delete" | "allow-move") => return Kind::Bool,
        (Area::Pool, "type") => return Kind::Enum(&["qemu", "lxc", "storage"]),
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
        (Area::Qemu, "memory") => return Kind::QemuMemory,
        (Area::Resources, "type") => return Kind::Enum(&["vm", "storage", "node", "sdn"]),
        _ => {}
    }
    if base != name && matches!(base, "unused" | "numa" | "usb" | "serial" | "parallel") {
        return Kind::Text;
    }
    match name {
        "vmid" | "newid" => VMID,
        "node" | "target" => Kind::NodeName,
        "storage" | "poolid" | "pool" | "targetstorage" | "target-storage" | "vmstatestorage" => Kind::ConfigId,
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
        Kind::DiskSize => {
            if parse_size(value).is_some() {
                Ok(())
            } else {
                Err("value does not match the regex pattern".into())
            }
        }
        Kind::NodeName => {
            let ok = !value.is_empty()
                && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
            if ok {
                Ok(())
            } else {
                Err("invalid format - value does not look like a valid node name".into())
            }
        }
        Kind::ConfigId => {
            let ok = value.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if ok {
                Ok(())
            } else {
                Err(format!("invalid format - invalid configuration ID '{value}'"))
            }
        }
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
    if route.params.contains(&name) || route.path_params().any(|p| p == name) {
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
    route.params.contains(&indexed.as_str()) && index <= max_index(base)
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
        if let Err(msg) = check(kind_of(name, route.area), value) {
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
