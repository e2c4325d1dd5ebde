//! PVE's value formats, written from the published schema's `format`/`typetext`/`pattern`/`enum`/
//! `minimum`/`maximum`: named formats (`dns-name`, `pve-tag-list`, `pve-poolid`...) and property
//! strings (`net0`, `scsi0`, `agent`...), parsed the way PVE's `parse_property_string` does, so a
//! wrong value gets PVE's message, e.g. `invalid format - format error\nnet0.tag: value must have a
//! minimum value of 1\n`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{LazyLock, Mutex};

use indexmap::IndexMap;
use regex::Regex;

use super::{check_at, Kind};

/// One key of a property string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Key {
    /// A typed key. The `default_key` is the one a bare value (`virtio` in `virtio,bridge=vmbr0`) fills.
    Value { kind: Kind, optional: bool, default_key: bool },
    /// Another name for a key (`volume` → `file`).
    Alias(&'static str),
    /// A key named after a value of `key_alias` that sets it and stands for `alias`: qemu's
    /// `virtio=<mac>` means `model=virtio,macaddr=<mac>`.
    NamedByValue { alias: &'static str, key_alias: &'static str },
}

/// A property string's keys, in groups so that formats can share them (the disk buses).
#[derive(Debug, PartialEq)]
pub struct PropFormat {
    pub groups: &'static [&'static [(&'static str, Key)]],
}

impl PropFormat {
    fn key(&self, name: &str) -> Option<(&'static str, Key)> {
        self.groups.iter().flat_map(|g| g.iter()).find(|(k, _)| *k == name).copied()
    }

    fn keys(&self) -> impl Iterator<Item = (&'static str, Key)> + '_ {
        self.groups.iter().flat_map(|g| g.iter()).copied()
    }
}

const fn opt(kind: Kind) -> Key {
    Key::Value { kind, optional: true, default_key: false }
}
const fn req(kind: Kind) -> Key {
    Key::Value { kind, optional: false, default_key: false }
}
/// The default key; PVE marks most of them required (`[file=]<volume>`), a few optional (`[[type=]...]`).
const fn dflt(kind: Kind, optional: bool) -> Key {
    Key::Value { kind, optional, default_key: true }
}

const BOOL: Kind = Kind::Bool;
const INT: Kind = Kind::Int { min: i64::MIN, max: i64::MAX };
const SECONDS: Kind = Kind::Int { min: 1, max: i64::MAX };
const NUM: Kind = Kind::Number;

/// Named PVE formats checked by code; their errors read `invalid format - <message>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    DnsName,
    TagList,
    ConfigIdList,
    PoolId,
    StorageId,
    StorageIdList,
    StoragePairList,
    NodeName,
    VolumeId,
    VolumeIdOrQmPath,
    VolumeIdOrAbsolutePath,
    MacAddr,
    BridgeId,
    Ipv4,
    Ipv6,
    Ipv4Config,
    Ipv6Config,
    Cidr,
    DiskSize,
    Urlencoded,
    LxcMpString,
    StartupOrder,
    BootDevList,
    HotplugFeatures,
    /// `pve-vm-cpu-conf`: a property string parsed by code, then the model checked.
    VmCpu,
    /// `pve-phys-bits`: 8-64 or `host`.
    PhysBits,
}

/// Runs a named format's check; the message is what follows `invalid format - `.
pub fn check_format(f: Format, v: &str) -> Result<(), String> {
    let bad = |msg: String| Err(msg + "\n");
    match f {
        Format::DnsName => {
            if dns_name(v) {
                Ok(())
            } else {
                bad("value does not look like a valid DNS name".into())
            }
        }
        Format::TagList => each(v, |t| {
            let ok = matches(r"[a-z0-9_][a-z0-9_\-+.]*", &t.to_ascii_lowercase());
            if ok {
                Ok(())
            } else {
                bad("invalid characters in tag".into())
            }
        }),
        Format::ConfigIdList => each(v, |id| {
            if matches(r"[a-zA-Z][a-zA-Z0-9_-]+", id) {
                Ok(())
            } else {
                bad(format!("invalid configuration ID '{id}'"))
            }
        }),
        Format::PoolId => {
            if v.split('/').count() > 3 {
                bad(format!("pool name '{v}' nested too deeply (max levels = 3)"))
            } else if matches(r"[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}", v) {
                Ok(())
            } else {
                bad(format!("pool name '{v}' contains illegal characters"))
            }
        }
        Format::StorageId => {
            if storage_id(v) {
                Ok(())
            } else {
                bad(format!("storage ID '{v}' contains illegal characters"))
            }
        }
        Format::StorageIdList => each(v, |id| check_format(Format::StorageId, id)),
        // pve-common's verify_storagepair_list is parse_idmap: each entry, then the whole map.
        Format::StoragePairList => {
            let (mut identity, mut default, mut sources) = (false, false, std::collections::BTreeSet::new());
            each(v, |entry| {
                if entry == "1" {
                    identity = true;
                    return Ok(());
                }
                if storage_id(entry) {
                    if std::mem::replace(&mut default, true) {
                        return bad("default target ID can only be provided once".into());
                    }
                    return Ok(());
                }
                match entry.split_once(':') {
                    Some((from, to)) if !from.is_empty() && !to.is_empty() => {
                        for id in [from, to] {
                            if !storage_id(id) {
                                return bad(format!(
                                    "entry '{entry}' contains invalid ID - storage ID '{id}' contains illegal characters\n"
                                ));
                            }
                        }
                        if !sources.insert(from.to_string()) {
                            return bad(format!("duplicate mapping for source '{from}'"));
                        }
                        Ok(())
                    }
                    _ => bad(format!("invalid map entry '{entry}'")),
                }
            })?;
            if identity && (default || !sources.is_empty()) {
                return bad("identity mapping cannot be combined with other mappings".into());
            }
            Ok(())
        }
        Format::NodeName => {
            if matches(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?", v) {
                Ok(())
            } else {
                bad("value does not look like a valid node name".into())
            }
        }
        Format::VolumeId => {
            if volume_id(v) {
                Ok(())
            } else {
                bad(format!("unable to parse volume ID '{v}'"))
            }
        }
        Format::VolumeIdOrQmPath if v == "none" || v == "cdrom" => Ok(()),
        Format::VolumeIdOrQmPath | Format::VolumeIdOrAbsolutePath => {
            if v.starts_with('/') || volume_id(v) {
                Ok(())
            } else {
                bad(format!("unable to parse volume ID '{v}'"))
            }
        }
        Format::MacAddr => {
            if matches(r"[a-fA-F0-9][02468aceACE](?::[a-fA-F0-9]{2}){5}", v) {
                Ok(())
            } else {
                bad("value does not look like a valid unicast MAC address".into())
            }
        }
        Format::BridgeId => {
            if matches(r"[-_.\w\d]+", v) {
                Ok(())
            } else {
                bad(format!("invalid bridge ID '{v}'"))
            }
        }
        Format::Ipv4 => match v.parse::<Ipv4Addr>() {
            Ok(_) => Ok(()),
            Err(_) => bad("value does not look like a valid IPv4 address".into()),
        },
        Format::Ipv6 => match v.parse::<Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => bad("value does not look like a valid IPv6 address".into()),
        },
        Format::Ipv4Config => {
            if matches!(v, "dhcp" | "manual") || cidr_v4(v) {
                Ok(())
            } else {
                bad("value does not look like a valid ipv4 network configuration".into())
            }
        }
        Format::Ipv6Config => {
            if matches!(v, "auto" | "dhcp" | "manual") || cidr_v6(v) {
                Ok(())
            } else {
                bad("value does not look like a valid ipv6 network configuration".into())
            }
        }
        Format::Cidr => {
            if cidr_v4(v) || cidr_v6(v) {
                Ok(())
            } else {
                bad("value does not look like a valid CIDR network".into())
            }
        }
        Format::DiskSize => {
            if matches(r"\d+(\.\d+)?[KMGT]?", v) {
                Ok(())
            } else {
                bad(format!("value '{v}' is not a valid disk size"))
            }
        }
        Format::Urlencoded => {
            if matches(r"[-%a-zA-Z0-9_.!~*'()]*", v) {
                Ok(())
            } else {
                bad(format!("invalid urlencoded string: {v}"))
            }
        }
        Format::LxcMpString => {
            let dotted = |s: &str| s == "." || s == "..";
            let parts: Vec<&str> = v.split('/').collect();
            // `/./`, `/../` inside, `/.` or `/..` at the end, `./` or `../` at the start
            let inner = parts.len() > 2 && parts[1..parts.len() - 1].iter().any(|p| dotted(p));
            let end = parts.len() > 1 && dotted(parts[parts.len() - 1]);
            let start = parts.len() > 1 && dotted(parts[0]);
            if inner || end || start {
                bad(format!("{v} contains illegal character sequences"))
            } else {
                Ok(())
            }
        }
        Format::StartupOrder => {
            let ok = !v.is_empty()
                && v.split(',')
                    .filter(|p| !p.trim().is_empty())
                    .all(|p| matches(r"(order=)?\d+", p) || matches(r"up=\d+", p) || matches(r"down=\d+", p));
            if ok {
                Ok(())
            } else {
                bad("unable to parse startup options".into())
            }
        }
        Format::BootDevList => {
            each(v, |dev| if boot_device(dev) { Ok(()) } else { bad(format!("invalid boot device '{dev}'")) })
        }
        Format::HotplugFeatures => {
            let list = match v {
                "1" => "network,disk,usb",
                "0" => "",
                other => other,
            };
            // PVE's parse_hotplug_features uses split_list: commas, semicolons and spaces.
            for feature in list.split([',', ';', ' ']) {
                if !matches!(feature, "" | "network" | "disk" | "cpu" | "memory" | "usb" | "cloudinit") {
                    return bad(format!("invalid hotplug feature '{feature}'"));
                }
            }
            Ok(())
        }
        Format::VmCpu => vm_cpu(v),
        Format::PhysBits => match v.parse::<u32>() {
            _ if v == "host" => Ok(()),
            Ok(8..=64) => Ok(()),
            _ => bad(format!("invalid phys-bits value '{v}'")),
        },
    }
}

/// PVE's list formats (`*-list`) split on `,`, `;` and whitespace and check each item.
fn each(v: &str, item: impl FnMut(&str) -> Result<(), String>) -> Result<(), String> {
    v.split(|c: char| c == ',' || c == ';' || c.is_whitespace() || c == '\0')
        .filter(|s| !s.is_empty())
        .try_for_each(item)
}

/// Whether `v` matches `pattern` as a whole (PVE anchors its patterns: `^...$`).
pub fn matches(pattern: &'static str, v: &str) -> bool {
    static CACHE: LazyLock<Mutex<HashMap<&'static str, Regex>>> = LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let re = cache
        .entry(pattern)
        .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).expect("the simulator's patterns are valid"));
    re.is_match(v)
}

fn dns_name(v: &str) -> bool {
    let label = r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?";
    !v.is_empty() && v.split('.').all(|l| matches(label, l))
}

fn storage_id(v: &str) -> bool {
    matches(r"[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]", v)
}

fn volume_id(v: &str) -> bool {
    v.split_once(':').is_some_and(|(store, rest)| storage_id(store) && !rest.is_empty())
}

fn cidr_v4(v: &str) -> bool {
    let Some((ip, mask)) = v.split_once('/') else { return false };
    ip.parse::<Ipv4Addr>().is_ok() && mask.parse::<u8>().is_ok_and(|m| (8..=32).contains(&m))
}

fn cidr_v6(v: &str) -> bool {
    let Some((ip, mask)) = v.split_once('/') else { return false };
    ip.parse::<Ipv6Addr>().is_ok() && mask.parse::<u8>().is_ok_and(|m| (8..=128).contains(&m))
}

/// A device `boot: order=` may name: a disk (not efidisk/tpmstate), a NIC, a USB or PCI device.
fn boot_device(dev: &str) -> bool {
    let base = dev.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &dev[base.len()..];
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return false;
    }
    let Ok(n) = digits.parse::<u32>() else { return false };
    let max = match base {
        "ide" => 3,
        "sata" => 5,
        "scsi" => 30,
        "virtio" => 15,
        "net" => 31,
        "usb" => 14,
        "hostpci" => 15,
        _ => return false,
    };
    n <= max
}

/// The CPU models PVE knows built in (QEMU's x86 models plus PVE's generic ones); anything
/// else must be a cluster-defined `custom-` model.
const CPU_MODELS: &[&str] = &[
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "coreduo",
    "core2duo",
    "Conroe",
    "Penryn",
    "Nehalem",
    "Nehalem-IBRS",
    "Westmere",
    "Westmere-IBRS",
    "SandyBridge",
    "SandyBridge-IBRS",
    "IvyBridge",
    "IvyBridge-IBRS",
    "Haswell",
    "Haswell-IBRS",
    "Haswell-noTSX",
    "Haswell-noTSX-IBRS",
    "Broadwell",
    "Broadwell-IBRS",
    "Broadwell-noTSX",
    "Broadwell-noTSX-IBRS",
    "Skylake-Client",
    "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS",
    "Skylake-Client-v4",
    "Skylake-Server",
    "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS",
    "Skylake-Server-v4",
    "Skylake-Server-v5",
    "Cascadelake-Server",
    "Cascadelake-Server-v2",
    "Cascadelake-Server-noTSX",
    "Cascadelake-Server-v4",
    "Cascadelake-Server-v5",
    "Cooperlake",
    "Cooperlake-v2",
    "KnightsMill",
    "Icelake-Client",
    "Icelake-Client-noTSX",
    "Icelake-Server",
    "Icelake-Server-noTSX",
    "Icelake-Server-v3",
    "Icelake-Server-v4",
    "Icelake-Server-v5",
    "Icelake-Server-v6",
    "SapphireRapids",
    "SapphireRapids-v2",
    "GraniteRapids",
    "athlon",
    "phenom",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "EPYC",
    "EPYC-IBPB",
    "EPYC-v3",
    "EPYC-v4",
    "EPYC-Rome",
    "EPYC-Rome-v2",
    "EPYC-Rome-v3",
    "EPYC-Rome-v4",
    "EPYC-Milan",
    "EPYC-Milan-v2",
    "EPYC-Genoa",
    "host",
    "kvm32",
    "kvm64",
    "qemu32",
    "qemu64",
    "max",
    "x86-64-v2",
    "x86-64-v2-AES",
    "x86-64-v3",
    "x86-64-v4",
];

static CPU: PropFormat = PropFormat {
    groups: &[&[
        ("cputype", dflt(Kind::Text, true)),
        ("flags", opt(Kind::Pattern(r"[+-][a-zA-Z0-9\-_.]+(;[+-][a-zA-Z0-9\-_.]+)*"))),
        ("guest-phys-bits", opt(Kind::Int { min: 32, max: 64 })),
        ("hidden", opt(BOOL)),
        ("hv-vendor-id", opt(Kind::Pattern(r"[a-zA-Z0-9]{1,12}"))),
        ("phys-bits", opt(Kind::Format(Format::PhysBits))),
        ("reported-model", opt(Kind::Text)),
    ]],
};

/// `pve-vm-cpu-conf`: the keys (errors named without the `cpu.` prefix: PVE parses it in code),
/// then the model must be built in or a `custom-` one, and `reported-model` is for custom models only.
fn vm_cpu(v: &str) -> Result<(), String> {
    let keys = parse(&CPU, "", v)?;
    let Some(model) = keys.get("cputype") else { return Err("CPU is missing cputype\n".into()) };
    if !model.starts_with("custom-") && !CPU_MODELS.contains(&model.as_str()) {
        return Err(format!("Built-in cputype '{model}' is not defined (missing 'custom-' prefix?)\n"));
    }
    if keys.contains_key("reported-model") {
        return Err("Property 'reported-model' not allowed in VM-specific CPU config.\n".into());
    }
    // The simulated cluster defines no custom CPU models (cpu-models.conf is empty).
    if let Some(custom) = model.strip_prefix("custom-") {
        return Err(format!("Custom cputype '{custom}' not found\n"));
    }
    // qemu-server's validate_vm_cpu_conf: a VM may only toggle these flags itself.
    const VM_FLAGS: &[&str] = &[
        "pcid",
        "spec-ctrl",
        "ibpb",
        "ssbd",
        "virt-ssbd",
        "amd-ssbd",
        "amd-no-ssb",
        "pdpe1gb",
        "md-clear",
        "hv-tlbflush",
        "hv-evmcs",
        "aes",
    ];
    if let Some(flags) = keys.get("flags") {
        for flag in flags.split(';').filter(|f| !f.is_empty()) {
            let name = flag.trim_start_matches(['+', '-']);
            if !VM_FLAGS.contains(&name) {
                return Err(format!("VM-specific CPU flags must be a subset of: {}\n", VM_FLAGS.join(", ")));
            }
        }
    }
    Ok(())
}

/// Checks a property string; `path` prefixes sub-key errors (`net0.tag`). The message is what
/// follows `invalid format - `.
pub fn check_props(f: &PropFormat, path: &str, v: &str) -> Result<(), String> {
    parse(f, path, v).map(|_| ())
}

/// PVE's `parse_property_string` followed by its `check_object`.
fn parse(f: &PropFormat, path: &str, v: &str) -> Result<IndexMap<&'static str, String>, String> {
    let mut res: IndexMap<&'static str, String> = IndexMap::new();
    let mut default_key: Option<&'static str> = None;
    for part in v.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some((k, val)) if !k.is_empty() && !val.is_empty() => {
                if res.contains_key(k) {
                    return Err(format!("duplicate key in comma-separated list property: {k}\n"));
                }
                let mut name = k;
                let mut key = f.key(k);
                match key {
                    Some((_, Key::Alias(target))) => {
                        name = target;
                        key = f.key(target);
                    }
                    Some((model_name, Key::NamedByValue { alias, key_alias })) => {
                        if res.contains_key(key_alias) {
                            return Err(format!("key alias '{key_alias}' is already defined\n"));
                        }
                        res.insert(static_name(f, key_alias), model_name.to_string());
                        name = alias;
                        key = f.key(alias);
                    }
                    _ => {}
                }
                let Some((static_key, _)) = key else {
                    return Err(format!("invalid key in comma-separated list property: {name}\n"));
                };
                res.insert(static_key, val.to_string());
            }
            None => {
                if let Some(d) = default_key {
                    return Err(format!("duplicate key in comma-separated list property: {d}\n"));
                }
                let Some((d, _)) = f.keys().find(|(_, k)| matches!(k, Key::Value { default_key: true, .. })) else {
                    return Err("value without key, but schema does not define a default key\n".into());
                };
                default_key = Some(d);
                if res.get(d).is_some_and(|x| !x.is_empty()) {
                    return Err(format!("duplicate key in comma-separated list property: {d}\n"));
                }
                res.insert(d, part.to_string());
            }
            Some(_) => return Err("missing key in comma-separated list property\n".into()),
        }
    }
    let mut errors: Vec<(String, String)> = Vec::new();
    for (name, key) in f.keys() {
        let Key::Value { kind, optional, .. } = key else { continue };
        let at = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        match res.get(name) {
            None if !optional => errors.push((at, "property is missing and it is not optional".into())),
            None => {}
            Some(val) => {
                if let Err(e) = check_at(kind, &at, val) {
                    errors.push((at, e));
                }
            }
        }
    }
    if errors.is_empty() {
        return Ok(res);
    }
    errors.sort();
    let mut msg = String::from("format error\n");
    for (at, e) in errors {
        msg.push_str(&format!("{at}: {e}\n"));
    }
    Err(msg)
}

/// The `'static` spelling of a key the format declares.
fn static_name(f: &PropFormat, name: &str) -> &'static str {
    f.key(name).map(|(k, _)| k).unwrap_or("model")
}

// ---------------------------------------------------------------------------------------------
// The property strings.

/// One key of a property string as the simulator checks it, for the conformance tests, which
/// compare it with the published schema.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRule {
    pub name: &'static str,
    /// `Some(target)` for an alias; `key_alias` for a key named after a value (`virtio=<mac>`).
    pub alias: Option<&'static str>,
    pub key_alias: Option<&'static str>,
    pub optional: bool,
    pub default_key: bool,
    /// The JSON-schema type: `boolean`, `integer`, `number` or `string`.
    pub ty: &'static str,
    pub one_of: Option<&'static [&'static str]>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
}

fn rule(name: &'static str, key: Key) -> KeyRule {
    let mut r = KeyRule {
        name,
        alias: None,
        key_alias: None,
        optional: true,
        default_key: false,
        ty: "string",
        one_of: None,
        minimum: None,
        maximum: None,
    };
    match key {
        Key::Alias(target) => r.alias = Some(target),
        Key::NamedByValue { alias, key_alias } => {
            r.alias = Some(alias);
            r.key_alias = Some(key_alias);
        }
        Key::Value { kind, optional, default_key } => {
            r.optional = optional;
            r.default_key = default_key;
            let kind = match kind {
                Kind::All(kinds) => kinds[0],
                k => k,
            };
            match kind {
                Kind::Bool => r.ty = "boolean",
                Kind::Int { min, max } => {
                    r.ty = "integer";
                    r.minimum = (min != i64::MIN).then_some(min);
                    r.maximum = (max != i64::MAX).then_some(max);
                }
                Kind::Number => r.ty = "number",
                Kind::NumberMin(min) => {
                    r.ty = "number";
                    r.minimum = Some(min);
                }
                Kind::NumberRange(min, max) => {
                    r.ty = "number";
                    r.minimum = Some(min);
                    r.maximum = Some(max);
                }
                Kind::Enum(values) => r.one_of = Some(values),
                _ => {}
            }
        }
    }
    r
}

/// The property strings the simulator checks key by key: (`qemu`|`lxc`, parameter as the schema
/// names it, its keys).
pub fn property_string_rules() -> Vec<(&'static str, &'static str, Vec<KeyRule>)> {
    let formats: [(&str, &str, &PropFormat); 18] = [
        ("qemu", "net[n]", &QEMU_NET),
        ("qemu", "scsi[n]", &SCSI),
        ("qemu", "virtio[n]", &VIRTIO),
        ("qemu", "sata[n]", &SATA),
        ("qemu", "ide[n]", &IDE),
        ("qemu", "efidisk0", &EFIDISK),
        ("qemu", "tpmstate0", &TPMSTATE),
        ("qemu", "unused[n]", &QEMU_UNUSED),
        ("qemu", "agent", &AGENT),
        ("qemu", "vga", &VGA),
        ("qemu", "machine", &MACHINE),
        ("qemu", "rng0", &RNG),
        ("lxc", "net[n]", &LXC_NET),
        ("lxc", "rootfs", &ROOTFS),
        ("lxc", "mp[n]", &MOUNTPOINT),
        ("lxc", "unused[n]", &LXC_UNUSED),
        ("lxc", "features", &FEATURES),
        // Named formats whose keys the schema does not list; checked against `typetext`.
        ("qemu", "boot", &BOOT),
    ];
    let mut out: Vec<_> =
        formats.iter().map(|(area, param, f)| (*area, *param, f.keys().map(|(n, k)| rule(n, k)).collect())).collect();
    out.push(("qemu", "cpu", CPU.keys().map(|(n, k)| rule(n, k)).collect()));
    out.push(("qemu", "ipconfig[n]", IPCONFIG.keys().map(|(n, k)| rule(n, k)).collect()));
    out
}

/// qemu NIC models (`net[n]` `model`, and each one a key standing for `macaddr`).
pub const NIC_MODELS: &[&str] = &[
    "e1000",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "e1000e",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "ne2k_pci",
    "pcnet",
    "rtl8139",
    "virtio",
    "vmxnet3",
];

const fn mac_of_model() -> Key {
    Key::NamedByValue { alias: "macaddr", key_alias: "model" }
}

/// qemu `net[n]`: `[model=]<enum> [,bridge=<bridge>] ... [,<model>=<macaddr>]`.
pub static QEMU_NET: PropFormat = PropFormat {
    groups: &[&[
        ("model", dflt(Kind::Enum(NIC_MODELS), false)),
        ("bridge", opt(Kind::Format(Format::BridgeId))),
        ("firewall", opt(BOOL)),
        ("link_down", opt(BOOL)),
        ("macaddr", opt(Kind::Format(Format::MacAddr))),
        ("mtu", opt(Kind::Int { min: 1, max: 65520 })),
        ("queues", opt(Kind::Int { min: 0, max: 64 })),
        ("rate", opt(Kind::NumberMin(0))),
        ("tag", opt(Kind::Int { min: 1, max: 4094 })),
        ("trunks", opt(Kind::Pattern(r"\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*"))),
        ("e1000", mac_of_model()),
        ("e1000-82540em", mac_of_model()),
        ("e1000-82544gc", mac_of_model()),
        ("e1000-82545em", mac_of_model()),
        ("e1000e", mac_of_model()),
        ("i82551", mac_of_model()),
        ("i82557b", mac_of_model()),
        ("i82559er", mac_of_model()),
        ("ne2k_isa", mac_of_model()),
        ("ne2k_pci", mac_of_model()),
        ("pcnet", mac_of_model()),
        ("rtl8139", mac_of_model()),
        ("virtio", mac_of_model()),
        ("vmxnet3", mac_of_model()),
    ]],
};

const DISK_FORMATS: &[&str] = &["raw", "qcow", "qed", "qcow2", "vmdk", "cloop"];

/// The keys every qemu disk bus has.
const DRIVE_COMMON: &[(&str, Key)] = &[
    ("file", dflt(Kind::Format(Format::VolumeIdOrQmPath), false)),
    ("volume", Key::Alias("file")),
    ("aio", opt(Kind::Enum(&["native", "threads", "io_uring"]))),
    ("backup", opt(BOOL)),
    ("bps", opt(INT)),
    ("bps_max_length", opt(SECONDS)),
    ("bps_rd", opt(INT)),
    ("bps_rd_length", Key::Alias("bps_rd_max_length")),
    ("bps_rd_max_length", opt(SECONDS)),
    ("bps_wr", opt(INT)),
    ("bps_wr_length", Key::Alias("bps_wr_max_length")),
    ("bps_wr_max_length", opt(SECONDS)),
    ("cache", opt(Kind::Enum(&["none", "writethrough", "writeback", "unsafe", "directsync"]))),
    ("detect_zeroes", opt(BOOL)),
    ("discard", opt(Kind::Enum(&["ignore", "on"]))),
    ("format", opt(Kind::Enum(DISK_FORMATS))),
    ("import-from", opt(Kind::Format(Format::VolumeIdOrAbsolutePath))),
    ("iops", opt(INT)),
    ("iops_max", opt(INT)),
    ("iops_max_length", opt(SECONDS)),
    ("iops_rd", opt(INT)),
    ("iops_rd_length", Key::Alias("iops_rd_max_length")),
    ("iops_rd_max", opt(INT)),
    ("iops_rd_max_length", opt(SECONDS)),
    ("iops_wr", opt(INT)),
    ("iops_wr_length", Key::Alias("iops_wr_max_length")),
    ("iops_wr_max", opt(INT)),
    ("iops_wr_max_length", opt(SECONDS)),
    ("mbps", opt(NUM)),
    ("mbps_max", opt(NUM)),
    ("mbps_rd", opt(NUM)),
    ("mbps_rd_max", opt(NUM)),
    ("mbps_wr", opt(NUM)),
    ("mbps_wr_max", opt(NUM)),
    ("media", opt(Kind::Enum(&["cdrom", "disk"]))),
    ("replicate", opt(BOOL)),
    ("rerror", opt(Kind::Enum(&["ignore", "report", "stop"]))),
    ("serial", opt(Kind::All(&[Kind::Format(Format::Urlencoded), Kind::MaxLen(60)]))),
    ("shared", opt(BOOL)),
    ("size", opt(Kind::Format(Format::DiskSize))),
    ("snapshot", opt(BOOL)),
    ("werror", opt(Kind::Enum(&["enospc", "ignore", "report", "stop"]))),
];
const IOTHREAD: (&str, Key) = ("iothread", opt(BOOL));
const RO: (&str, Key) = ("ro", opt(BOOL));
const SSD: (&str, Key) = ("ssd", opt(BOOL));
const WWN: (&str, Key) = ("wwn", opt(Kind::Pattern(r"(0x)[0-9a-fA-F]{16}")));

pub static SCSI: PropFormat = PropFormat {
    groups: &[
        DRIVE_COMMON,
        &[
            IOTHREAD,
            RO,
            SSD,
            WWN,
            ("product", opt(Kind::Pattern(r"[A-Za-z0-9\-_\s]{0,16}"))),
            ("queues", opt(Kind::Int { min: 2, max: i64::MAX })),
            ("scsiblock", opt(BOOL)),
            ("vendor", opt(Kind::Pattern(r"[A-Za-z0-9\-_\s]{0,8}"))),
        ],
    ],
};
pub static VIRTIO: PropFormat = PropFormat { groups: &[DRIVE_COMMON, &[IOTHREAD, RO]] };
pub static SATA: PropFormat = PropFormat { groups: &[DRIVE_COMMON, &[SSD, WWN]] };
pub static IDE: PropFormat = PropFormat {
    groups: &[
        DRIVE_COMMON,
        &[SSD, WWN, ("model", opt(Kind::All(&[Kind::Format(Format::Urlencoded), Kind::MaxLen(120)])))],
    ],
};

pub static EFIDISK: PropFormat = PropFormat {
    groups: &[&[
        ("file", dflt(Kind::Format(Format::VolumeIdOrQmPath), false)),
        ("volume", Key::Alias("file")),
        ("efitype", opt(Kind::Enum(&["2m", "4m"]))),
        ("format", opt(Kind::Enum(DISK_FORMATS))),
        ("import-from", opt(Kind::Format(Format::VolumeIdOrAbsolutePath))),
        ("ms-cert", opt(Kind::Enum(&["2011", "2023", "2023w", "2023k"]))),
        ("pre-enrolled-keys", opt(BOOL)),
        ("size", opt(Kind::Format(Format::DiskSize))),
    ]],
};

pub static TPMSTATE: PropFormat = PropFormat {
    groups: &[&[
        ("file", dflt(Kind::Format(Format::VolumeIdOrQmPath), false)),
        ("volume", Key::Alias("file")),
        ("format", opt(Kind::Enum(&["raw", "qcow2", "vmdk"]))),
        ("import-from", opt(Kind::Format(Format::VolumeIdOrAbsolutePath))),
        ("size", opt(Kind::Format(Format::DiskSize))),
        ("version", opt(Kind::Enum(&["v1.2", "v2.0"]))),
    ]],
};

pub static QEMU_UNUSED: PropFormat = PropFormat {
    groups: &[&[("file", dflt(Kind::Format(Format::VolumeIdOrQmPath), false)), ("volume", Key::Alias("file"))]],
};

pub static AGENT: PropFormat = PropFormat {
    groups: &[&[
        ("enabled", dflt(BOOL, false)),
        ("freeze-fs", opt(BOOL)),
        ("freeze-fs-on-backup", Key::Alias("freeze-fs")),
        ("guest-fsfreeze", Key::Alias("freeze-fs")),
        ("fstrim_cloned_disks", opt(BOOL)),
        ("type", opt(Kind::Enum(&["virtio", "isa"]))),
    ]],
};

pub static MACHINE: PropFormat = PropFormat {
    groups: &[&[
        (
            "type",
            dflt(
                Kind::Pattern(
                    r"(pc|pc(-i440fx)?-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|q35|pc-q35-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|virt(?:-\d+(\.\d+)+)?(\+pve\d+)?)",
                ),
                true,
            ),
        ),
        ("viommu", opt(Kind::Enum(&["intel", "virtio"]))),
        ("enable-s3", opt(BOOL)),
        ("enable-s4", opt(BOOL)),
        ("aw-bits", opt(Kind::NumberRange(32, 64))),
    ]],
};

pub static RNG: PropFormat = PropFormat {
    groups: &[&[
        ("source", dflt(Kind::Enum(&["/dev/urandom", "/dev/random", "/dev/hwrng"]), false)),
        ("max_bytes", opt(Kind::Int { min: 0, max: i64::MAX })),
        ("period", opt(Kind::Int { min: 0, max: i64::MAX })),
    ]],
};

pub static BOOT: PropFormat = PropFormat {
    groups: &[&[
        ("legacy", dflt(Kind::Pattern("[acdn]{1,4}"), true)),
        ("order", opt(Kind::Format(Format::BootDevList))),
    ]],
};

pub static VGA: PropFormat = PropFormat {
    groups: &[&[
        (
            "type",
            dflt(
                Kind::Enum(&[
                    "cirrus",
                    "qxl",
                    "qxl2",
                    "qxl3",
                    "qxl4",
                    "none",
                    "serial0",
                    "serial1",
                    "serial2",
                    "serial3",
                    "std",
                    "virtio",
                    "virtio-gl",
                    "vmware",
                ]),
                true,
            ),
        ),
        ("clipboard", opt(Kind::Enum(&["vnc"]))),
        ("memory", opt(Kind::Int { min: 4, max: 512 })),
    ]],
};

/// qemu `ipconfig[n]` (`pve-qm-ipconfig`).
pub static IPCONFIG: PropFormat = PropFormat {
    groups: &[&[
        ("gw", opt(Kind::Format(Format::Ipv4))),
        ("gw6", opt(Kind::Format(Format::Ipv6))),
        ("ip", opt(Kind::Format(Format::Ipv4Config))),
        ("ip6", opt(Kind::Format(Format::Ipv6Config))),
    ]],
};

/// lxc `net[n]`.
pub static LXC_NET: PropFormat = PropFormat {
    groups: &[&[
        ("name", req(Kind::Pattern(r"[-_.\w\d]+"))),
        ("bridge", opt(Kind::Pattern(r"[-_.\w\d]+"))),
        ("firewall", opt(BOOL)),
        ("gw", opt(Kind::Format(Format::Ipv4))),
        ("gw6", opt(Kind::Format(Format::Ipv6))),
        ("host-managed", opt(BOOL)),
        ("hwaddr", opt(Kind::Format(Format::MacAddr))),
        ("ip", opt(Kind::Format(Format::Ipv4Config))),
        ("ip6", opt(Kind::Format(Format::Ipv6Config))),
        ("link_down", opt(BOOL)),
        ("mtu", opt(Kind::Int { min: 64, max: 65535 })),
        ("rate", opt(NUM)),
        ("tag", opt(Kind::Int { min: 1, max: 4094 })),
        ("trunks", opt(Kind::Pattern(r"\d+(?:;\d+)*"))),
        ("type", opt(Kind::Enum(&["veth"]))),
    ]],
};

const MOUNT_OPTIONS: Kind =
    Kind::Pattern(r"(discard|lazytime|noatime|nodev|noexec|nosuid)(;(discard|lazytime|noatime|nodev|noexec|nosuid))*");

const LXC_VOLUME_COMMON: &[(&str, Key)] = &[
    ("volume", dflt(Kind::Format(Format::LxcMpString), false)),
    ("acl", opt(BOOL)),
    ("mountoptions", opt(MOUNT_OPTIONS)),
    ("quota", opt(BOOL)),
    ("replicate", opt(BOOL)),
    ("ro", opt(BOOL)),
    ("shared", opt(BOOL)),
    ("size", opt(Kind::Format(Format::DiskSize))),
];

pub static ROOTFS: PropFormat = PropFormat { groups: &[LXC_VOLUME_COMMON] };

pub static MOUNTPOINT: PropFormat = PropFormat {
    groups: &[
        LXC_VOLUME_COMMON,
        &[("mp", req(Kind::Format(Format::LxcMpString))), ("backup", opt(BOOL)), ("keepattrs", opt(BOOL))],
    ],
};

pub static LXC_UNUSED: PropFormat = PropFormat { groups: &[&[("volume", dflt(Kind::Text, false))]] };

pub static FEATURES: PropFormat = PropFormat {
    groups: &[&[
        ("force_rw_sys", opt(BOOL)),
        ("fuse", opt(BOOL)),
        ("keyctl", opt(BOOL)),
        ("mknod", opt(BOOL)),
        ("mount", opt(Kind::Pattern(r"[a-zA-Z0-9_; ]+"))),
        ("nesting", opt(BOOL)),
    ]],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_strings_parse_like_pve() {
        assert!(check_props(&QEMU_NET, "net0", "virtio,bridge=vmbr0").is_ok());
        assert!(check_props(&QEMU_NET, "net0", "e1000-82545em=BC:24:11:00:00:01,bridge=vmbr0,tag=5").is_ok());
        assert_eq!(
            check_props(&QEMU_NET, "net0", "virtio,tag=0").unwrap_err(),
            "format error\nnet0.tag: value must have a minimum value of 1\n"
        );
        assert_eq!(
            check_props(&QEMU_NET, "net0", "virtio,bogus=1").unwrap_err(),
            "invalid key in comma-separated list property: bogus\n"
        );
        assert_eq!(
            check_props(&QEMU_NET, "net0", "model=virtio,e1000=BC:24:11:00:00:01").unwrap_err(),
            "key alias 'model' is already defined\n"
        );
        assert_eq!(
            check_props(&QEMU_NET, "net0", "bridge=vmbr0").unwrap_err(),
            "format error\nnet0.model: property is missing and it is not optional\n"
        );
        assert_eq!(
            check_props(&SCSI, "scsi0", "local-lvm:8,local-lvm:9").unwrap_err(),
            "duplicate key in comma-separated list property: file\n"
        );
        assert_eq!(
            check_props(&SCSI, "scsi0", "local-lvm:8,ssd=").unwrap_err(),
            "missing key in comma-separated list property\n"
        );
        assert!(check_props(&SCSI, "scsi0", "volume=local-lvm:8,iothread=on,discard=on,ssd=1").is_ok());
        assert!(check_props(&VIRTIO, "virtio0", "local-lvm:8,ssd=1").is_err(), "virtio has no ssd");
    }

    #[test]
    fn named_formats() {
        assert!(check_format(Format::DnsName, "web-1.example.com").is_ok());
        assert!(check_format(Format::DnsName, "-web").is_err());
        assert!(check_format(Format::PoolId, "1bad").is_ok());
        assert!(check_format(Format::PoolId, "a/b/c").is_ok());
        assert!(check_format(Format::PoolId, "a/b/c/d").unwrap_err().contains("nested too deeply"));
        assert!(check_format(Format::ConfigIdList, "net0,scsi1;ide2 agent").is_ok());
        assert!(check_format(Format::ConfigIdList, "net0,0bad").is_err());
        assert!(check_format(Format::LxcMpString, "/mnt/data").is_ok());
        assert!(check_format(Format::LxcMpString, "/mnt/../etc").is_err());
        // parse_idmap: pairs and one default; `1` (identity) stands alone.
        assert!(check_format(Format::StoragePairList, "local-lvm:fast,local:fast,slow").is_ok());
        assert!(check_format(Format::StoragePairList, "1").is_ok());
        assert!(check_format(Format::StoragePairList, "local-lvm:fast,1").unwrap_err().contains("identity mapping"));
        assert!(check_format(Format::StoragePairList, "fast,slow").unwrap_err().contains("only be provided once"));
        assert!(check_format(Format::VmCpu, "x86-64-v2-AES,flags=+aes").is_ok());
        assert!(check_format(Format::VmCpu, "custom-mine").unwrap_err().contains("Custom cputype 'mine' not found"));
        assert!(check_format(Format::VmCpu, "host,flags=+avx2").unwrap_err().contains("must be a subset of"));
        assert!(check_format(Format::VmCpu, "Pentium9").unwrap_err().contains("Built-in cputype 'Pentium9'"));
    }
}
