//! PVE property strings: `virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20` or
//! `local-lvm:vm-100-disk-0,size=32G`. The first item may be a bare value, which belongs to
//! the property's "default key" (`model` for a NIC's `virtio=MAC`, `file` for a disk).

use super::lenient::parse_bool;
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A parsed property string: keys in their original order. A bare leading value is stored
/// under `default_key`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyString {
    pub entries: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyStringError {
    #[error("property string item {0:?} has no key (only the first item may be a bare value)")]
    MissingKey(String),
    #[error("duplicate key {0:?} in property string")]
    DuplicateKey(String),
    #[error("empty key in property string item {0:?}")]
    EmptyKey(String),
}

impl PropertyString {
    /// Parses `s`. A first item without `=` is stored under `default_key` if one is given.
    pub fn parse(s: &str, default_key: Option<&str>) -> Result<Self, PropertyStringError> {
        let mut entries = IndexMap::new();
        for (i, item) in s.split(',').enumerate() {
            if item.is_empty() {
                continue;
            }
            let (k, v) = match item.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), v.to_string()),
                None => match (i, default_key) {
                    (0, Some(dk)) => (dk.to_string(), item.to_string()),
                    _ => return Err(PropertyStringError::MissingKey(item.to_string())),
                },
            };
            if k.is_empty() {
                return Err(PropertyStringError::EmptyKey(item.to_string()));
            }
            if entries.insert(k.clone(), v).is_some() {
                return Err(PropertyStringError::DuplicateKey(k));
            }
        }
        Ok(PropertyString { entries })
    }

    /// Renders back; `default_key`, if present, is written first as a bare value.
    pub fn render(&self, default_key: Option<&str>) -> String {
        let mut parts = Vec::with_capacity(self.entries.len());
        if let Some(dk) = default_key {
            if let Some(v) = self.entries.get(dk) {
                parts.push(v.clone());
            }
        }
        for (k, v) in &self.entries {
            if Some(k.as_str()) == default_key {
                continue;
            }
            parts.push(format!("{k}={v}"));
        }
        parts.join(",")
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(key.into(), value.into());
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.entries.shift_remove(key)
    }
}

/// A property string that does not parse into its typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropError {
    /// The config key it came from (`net0`), when known.
    pub key: Option<String>,
    pub value: String,
    pub message: String,
}

impl PropError {
    fn new(value: &str, message: impl Into<String>) -> Self {
        PropError { key: None, value: value.to_string(), message: message.into() }
    }

    pub fn in_key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }
}

impl fmt::Display for PropError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        write!(f, "{} (in {:?})", self.message, self.value)
    }
}

impl std::error::Error for PropError {}

/// Takes typed fields out of a parsed property string; what is left is `extra`.
struct Fields<'a> {
    source: &'a str,
    entries: IndexMap<String, String>,
}

impl<'a> Fields<'a> {
    fn parse(source: &'a str, default_key: Option<&str>) -> Result<Self, PropError> {
        let p = PropertyString::parse(source, default_key).map_err(|e| PropError::new(source, e.to_string()))?;
        Ok(Fields { source, entries: p.entries })
    }

    fn string(&mut self, key: &str) -> Option<String> {
        self.entries.shift_remove(key)
    }

    fn bool(&mut self, key: &str) -> Result<Option<bool>, PropError> {
        match self.entries.shift_remove(key) {
            None => Ok(None),
            Some(v) => parse_bool(&v)
                .map(Some)
                .ok_or_else(|| PropError::new(self.source, format!("{key}={v:?} is not a boolean (use 1 or 0)"))),
        }
    }

    fn num<T: FromStr>(&mut self, key: &str) -> Result<Option<T>, PropError> {
        match self.entries.shift_remove(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| PropError::new(self.source, format!("{key}={v:?} is not a valid number"))),
        }
    }

    fn extra(self) -> IndexMap<String, String> {
        self.entries
    }
}

/// Renders as PVE writes property strings: the bare default value first, then the required
/// keys, then every other key in alphabetical order; booleans as 1/0.
struct Render {
    first: Vec<String>,
    rest: BTreeMap<String, String>,
}

impl Render {
    fn new() -> Self {
        Render { first: Vec::new(), rest: BTreeMap::new() }
    }
    fn bare(&mut self, v: &str) {
        self.first.push(v.to_string());
    }
    fn first(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.first.push(format!("{k}={v}"));
        }
    }
    fn s(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.rest.insert(k.to_string(), v.clone());
        }
    }
    fn b(&mut self, k: &str, v: Option<bool>) {
        if let Some(v) = v {
            self.rest.insert(k.to_string(), if v { "1" } else { "0" }.to_string());
        }
    }
    fn n<T: fmt::Display>(&mut self, k: &str, v: &Option<T>) {
        if let Some(v) = v {
            self.rest.insert(k.to_string(), v.to_string());
        }
    }
    fn extra(&mut self, extra: &IndexMap<String, String>) {
        for (k, v) in extra {
            self.rest.insert(k.clone(), v.clone());
        }
    }
    fn finish(self) -> String {
        let mut parts = self.first;
        parts.extend(self.rest.into_iter().map(|(k, v)| format!("{k}={v}")));
        parts.join(",")
    }
}

/// The NIC models QEMU offers; in `net0` the model is the key of the MAC (`virtio=BC:..`).
pub const QEMU_NIC_MODELS: &[&str] = &[
    "virtio",
    "e1000",
    "e1000e",
    "rtl8139",
    "vmxnet3",
    "ne2k_pci",
    "pcnet",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
];

/// A QEMU network device, `netN`: `virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuNet {
    pub model: String,
    pub macaddr: Option<String>,
    pub bridge: Option<String>,
    pub tag: Option<u16>,
    pub firewall: Option<bool>,
    pub link_down: Option<bool>,
    pub mtu: Option<u32>,
    pub queues: Option<u32>,
    pub rate: Option<String>,
    pub trunks: Option<String>,
    pub extra: IndexMap<String, String>,
}

impl QemuNet {
    pub fn parse(s: &str) -> Result<Self, PropError> {
        let mut f = Fields::parse(s, Some("model"))?;
        let mut model = f.string("model");
        let mut macaddr = f.string("macaddr");
        if let Some(m) = QEMU_NIC_MODELS.iter().find(|m| f.entries.contains_key(**m)) {
            if model.is_some() {
                return Err(PropError::new(s, format!("both model= and {m}= given")));
            }
            let mac = f.string(m).unwrap_or_default();
            model = Some(m.to_string());
            if !mac.is_empty() {
                macaddr = Some(mac);
            }
        }
        let model = model.ok_or_else(|| PropError::new(s, "no NIC model (virtio, e1000, ...)"))?;
        if let Some(mac) = &macaddr {
            if !is_mac(mac) {
                return Err(PropError::new(s, format!("{mac:?} is not a MAC address")));
            }
        }
        Ok(QemuNet {
            model,
            macaddr,
            bridge: f.string("bridge"),
            tag: f.num("tag")?,
            firewall: f.bool("firewall")?,
            link_down: f.bool("link_down")?,
            mtu: f.num("mtu")?,
            queues: f.num("queues")?,
            rate: f.string("rate"),
            trunks: f.string("trunks"),
            extra: f.extra(),
        })
    }

    pub fn render(&self) -> String {
        let mut r = Render::new();
        match &self.macaddr {
            Some(mac) => r.first(&self.model, Some(mac)),
            None => r.bare(&self.model),
        }
        r.s("bridge", &self.bridge);
        r.n("tag", &self.tag);
        r.b("firewall", self.firewall);
        r.b("link_down", self.link_down);
        r.n("mtu", &self.mtu);
        r.n("queues", &self.queues);
        r.s("rate", &self.rate);
        r.s("trunks", &self.trunks);
        r.extra(&self.extra);
        r.finish()
    }
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A QEMU disk (`scsiN`, `virtioN`, `sataN`, `ideN`): `local-lvm:vm-100-disk-0,size=32G`.
/// On create, `file` may be `STORAGE:SIZE_GB` (`local-lvm:8`), which PVE allocates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuDisk {
    pub file: String,
    pub size: Option<String>,
    pub media: Option<String>,
    pub format: Option<String>,
    pub cache: Option<String>,
    pub discard: Option<String>,
    pub iothread: Option<bool>,
    pub ssd: Option<bool>,
    pub backup: Option<bool>,
    pub replicate: Option<bool>,
    pub extra: IndexMap<String, String>,
}

impl QemuDisk {
    pub fn parse(s: &str) -> Result<Self, PropError> {
        let mut f = Fields::parse(s, Some("file"))?;
        let file = f.string("file").ok_or_else(|| PropError::new(s, "no volume (file)"))?;
        if let Some(size) = f.entries.get("size") {
            if parse_size(size).is_none() {
                return Err(PropError::new(s, format!("size={size:?} is not a size like 32G")));
            }
        }
        Ok(QemuDisk {
            file,
            size: f.string("size"),
            media: f.string("media"),
            format: f.string("format"),
            cache: f.string("cache"),
            discard: f.string("discard"),
            iothread: f.bool("iothread")?,
            ssd: f.bool("ssd")?,
            backup: f.bool("backup")?,
            replicate: f.bool("replicate")?,
            extra: f.extra(),
        })
    }

    pub fn render(&self) -> String {
        let mut r = Render::new();
        r.bare(&self.file);
        r.s("size", &self.size);
        r.s("media", &self.media);
        r.s("format", &self.format);
        r.s("cache", &self.cache);
        r.s("discard", &self.discard);
        r.b("iothread", self.iothread);
        r.b("ssd", self.ssd);
        r.b("backup", self.backup);
        r.b("replicate", self.replicate);
        r.extra(&self.extra);
        r.finish()
    }

    /// The storage a volume lives on (`local-lvm` of `local-lvm:vm-100-disk-0`).
    pub fn storage(&self) -> Option<&str> {
        volume_storage(&self.file)
    }

    pub fn is_cdrom(&self) -> bool {
        self.media.as_deref() == Some("cdrom")
    }

    pub fn size_bytes(&self) -> Option<u64> {
        self.size.as_deref().and_then(parse_size)
    }
}

/// The storage part of a volume id; `None` for paths and `none`/`cdrom`.
pub fn volume_storage(volume: &str) -> Option<&str> {
    if volume.starts_with('/') {
        return None;
    }
    volume.split_once(':').map(|(s, _)| s).filter(|s| !s.is_empty())
}

/// Parses PVE sizes: `32G`, `512M`, `1T`, `100K`, plain bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'G' | 'g') => (&s[..i], 1 << 30),
        (i, 'T' | 't') => (&s[..i], 1 << 40),
        _ => (s, 1),
    };
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult);
    }
    let f: f64 = num.parse().ok()?;
    (f.is_finite() && f >= 0.0).then_some((f * mult as f64) as u64)
}

/// Renders bytes the way PVE writes disk sizes (largest exact unit).
pub fn render_size(bytes: u64) -> String {
    for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
        if bytes >= 1 << shift && bytes % (1u64 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Cloud-init network settings, `ipconfigN`: `ip=192.168.1.10/24,gw=192.168.1.1`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ipconfig {
    pub ip: Option<String>,
    pub gw: Option<String>,
    pub ip6: Option<String>,
    pub gw6: Option<String>,
    pub extra: IndexMap<String, String>,
}

impl Ipconfig {
    pub fn parse(s: &str) -> Result<Self, PropError> {
        let mut f = Fields::parse(s, None)?;
        let cfg = Ipconfig {
            ip: f.string("ip"),
            gw: f.string("gw"),
            ip6: f.string("ip6"),
            gw6: f.string("gw6"),
            extra: IndexMap::new(),
        };
        for (name, v) in [("ip", &cfg.ip), ("ip6", &cfg.ip6)] {
            if let Some(v) = v {
                let special = ["dhcp", "manual", "auto"].contains(&v.as_str());
                if !special && v.parse::<ipnet::IpNet>().is_err() {
                    return Err(PropError::new(s, format!("{name}={v:?} is not an address with prefix (CIDR)")));
                }
            }
        }
        Ok(Ipconfig { extra: f.extra(), ..cfg })
    }

    /// `ip, gw, ip6, gw6` in that order (as people write them and PVE keeps them).
    pub fn render(&self) -> String {
        let mut r = Render::new();
        r.first("ip", self.ip.as_deref());
        r.first("gw", self.gw.as_deref());
        r.first("ip6", self.ip6.as_deref());
        r.first("gw6", self.gw6.as_deref());
        r.extra(&self.extra);
        r.finish()
    }
}

/// A container network device, `netN`: `name=eth0,bridge=vmbr0,hwaddr=BC:..,ip=dhcp,type=veth`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LxcNet {
    pub name: String,
    pub bridge: Option<String>,
    pub hwaddr: Option<String>,
    pub ip: Option<String>,
    pub gw: Option<String>,
    pub ip6: Option<String>,
    pub gw6: Option<String>,
    pub tag: Option<u16>,
    pub firewall: Option<bool>,
    pub link_down: Option<bool>,
    pub mtu: Option<u32>,
    pub rate: Option<String>,
    pub net_type: Option<String>,
    pub extra: IndexMap<String, String>,
}

impl LxcNet {
    pub fn parse(s: &str) -> Result<Self, PropError> {
        let mut f = Fields::parse(s, None)?;
        let name = f.string("name").ok_or_else(|| PropError::new(s, "no interface name (name=eth0)"))?;
        if let Some(mac) = f.entries.get("hwaddr") {
            if !is_mac(mac) {
                return Err(PropError::new(s, format!("{mac:?} is not a MAC address")));
            }
        }
        Ok(LxcNet {
            name,
            bridge: f.string("bridge"),
            hwaddr: f.string("hwaddr"),
            ip: f.string("ip"),
            gw: f.string("gw"),
            ip6: f.string("ip6"),
            gw6: f.string("gw6"),
            tag: f.num("tag")?,
            firewall: f.bool("firewall")?,
            link_down: f.bool("link_down")?,
            mtu: f.num("mtu")?,
            rate: f.string("rate"),
            net_type: f.string("type"),
            extra: f.extra(),
        })
    }

    pub fn render(&self) -> String {
        let mut r = Render::new();
        r.first("name", Some(&self.name));
        r.s("bridge", &self.bridge);
        r.s("hwaddr", &self.hwaddr);
        r.s("ip", &self.ip);
        r.s("gw", &self.gw);
        r.s("ip6", &self.ip6);
        r.s("gw6", &self.gw6);
        r.n("tag", &self.tag);
        r.b("firewall", self.firewall);
        r.b("link_down", self.link_down);
        r.n("mtu", &self.mtu);
        r.s("rate", &self.rate);
        r.s("type", &self.net_type);
        r.extra(&self.extra);
        r.finish()
    }
}

/// A container volume: `rootfs` (`local-lvm:vm-101-disk-0,size=8G`) or a mount point `mpN`
/// (`local-lvm:vm-101-disk-1,mp=/data,backup=1,size=4G`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LxcMountPoint {
    pub volume: String,
    /// The path inside the container; required for `mpN`, absent for `rootfs`.
    pub mp: Option<String>,
    pub size: Option<String>,
    pub acl: Option<bool>,
    pub backup: Option<bool>,
    pub quota: Option<bool>,
    pub replicate: Option<bool>,
    pub ro: Option<bool>,
    pub shared: Option<bool>,
    pub mountoptions: Option<String>,
    pub extra: IndexMap<String, String>,
}

impl LxcMountPoint {
    fn parse_any(s: &str) -> Result<Self, PropError> {
        let mut f = Fields::parse(s, Some("volume"))?;
        let volume = f.string("volume").ok_or_else(|| PropError::new(s, "no volume"))?;
        if let Some(size) = f.entries.get("size") {
            if parse_size(size).is_none() {
                return Err(PropError::new(s, format!("size={size:?} is not a size like 8G")));
            }
        }
        Ok(LxcMountPoint {
            volume,
            mp: f.string("mp"),
            size: f.string("size"),
            acl: f.bool("acl")?,
            backup: f.bool("backup")?,
            quota: f.bool("quota")?,
            replicate: f.bool("replicate")?,
            ro: f.bool("ro")?,
            shared: f.bool("shared")?,
            mountoptions: f.string("mountoptions"),
            extra: f.extra(),
        })
    }

    pub fn parse_rootfs(s: &str) -> Result<Self, PropError> {
        Self::parse_any(s)
    }

    /// A mount point `mpN`: `mp=` is required.
    pub fn parse(s: &str) -> Result<Self, PropError> {
        let m = Self::parse_any(s)?;
        if m.mp.is_none() {
            return Err(PropError::new(s, "a mount point needs mp=/path"));
        }
        Ok(m)
    }

    pub fn render(&self) -> String {
        let mut r = Render::new();
        r.bare(&self.volume);
        r.first("mp", self.mp.as_deref());
        r.s("size", &self.size);
        r.b("acl", self.acl);
        r.b("backup", self.backup);
        r.b("quota", self.quota);
        r.b("replicate", self.replicate);
        r.b("ro", self.ro);
        r.b("shared", self.shared);
        r.s("mountoptions", &self.mountoptions);
        r.extra(&self.extra);
        r.finish()
    }

    pub fn storage(&self) -> Option<&str> {
        volume_storage(&self.volume)
    }

    pub fn size_bytes(&self) -> Option<u64> {
        self.size.as_deref().and_then(parse_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_round_trip() {
        let s = "local-lvm:vm-100-disk-0,size=32G,discard=on";
        let p = PropertyString::parse(s, Some("file")).unwrap();
        assert_eq!(p.get("file"), Some("local-lvm:vm-100-disk-0"));
        assert_eq!(p.get("size"), Some("32G"));
        assert_eq!(p.render(Some("file")), s);
    }

    #[test]
    fn nic_with_keyed_model() {
        let s = "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20";
        let p = PropertyString::parse(s, None).unwrap();
        assert_eq!(p.get("virtio"), Some("BC:24:11:00:00:01"));
        assert_eq!(p.render(None), s);
    }

    #[test]
    fn errors() {
        assert!(PropertyString::parse("a=1,b", None).is_err());
        assert!(PropertyString::parse("a=1,a=2", None).is_err());
        assert!(PropertyString::parse("=1", None).is_err());
    }

    fn round_trip<T, P, R>(s: &str, parse: P, render: R)
    where
        T: std::fmt::Debug,
        P: Fn(&str) -> Result<T, PropError>,
        R: Fn(&T) -> String,
    {
        let v = parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(render(&v), s, "{v:?}");
    }

    #[test]
    fn typed_round_trips_of_pve_written_strings() {
        for s in [
            "virtio=BC:24:11:2E:C5:4A,bridge=vmbr0",
            "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20",
            "e1000=BC:24:11:00:00:02,bridge=vmbr1,link_down=1,mtu=1500,queues=4,rate=12.5",
            "virtio,bridge=vmbr0",
        ] {
            round_trip(s, QemuNet::parse, QemuNet::render);
        }
        for s in [
            "local-lvm:vm-100-disk-0,size=32G",
            "local-lvm:vm-101-disk-0,cache=writeback,discard=on,iothread=1,size=32G,ssd=1",
            "local:iso/debian-12.iso,media=cdrom",
            "local-lvm:8",
            "none,media=cdrom",
            "local-lvm:vm-100-cloudinit,media=cdrom,size=4M",
        ] {
            round_trip(s, QemuDisk::parse, QemuDisk::render);
        }
        for s in ["ip=192.168.1.10/24,gw=192.168.1.1", "ip=dhcp", "ip=dhcp,ip6=auto", "ip6=fd00::5/64,gw6=fd00::1"] {
            round_trip(s, Ipconfig::parse, Ipconfig::render);
        }
        for s in [
            "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:2E:C5:7E,ip=dhcp,type=veth",
            "name=eth1,bridge=vmbr0,gw=10.0.0.1,ip=10.0.0.5/24,tag=30,type=veth",
        ] {
            round_trip(s, LxcNet::parse, LxcNet::render);
        }
        round_trip("local-lvm:vm-101-disk-0,size=8G", LxcMountPoint::parse_rootfs, LxcMountPoint::render);
        round_trip("local-lvm:vm-101-disk-1,mp=/data,backup=1,size=4G", LxcMountPoint::parse, LxcMountPoint::render);
    }

    #[test]
    fn typed_fields() {
        let n = QemuNet::parse("virtio=bc:24:11:00:00:01,bridge=vmbr0,tag=20,firewall=on").unwrap();
        assert_eq!(n.model, "virtio");
        assert_eq!(n.tag, Some(20));
        assert_eq!(n.firewall, Some(true));
        // booleans are normalised to 1/0 as PVE writes them
        assert_eq!(n.render(), "virtio=bc:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20");
        let n = QemuNet::parse("model=e1000,macaddr=BC:24:11:00:00:03,bridge=vmbr0").unwrap();
        assert_eq!(n.render(), "e1000=BC:24:11:00:00:03,bridge=vmbr0");
        let d = QemuDisk::parse("local-lvm:vm-100-disk-0,size=32G").unwrap();
        assert_eq!(d.storage(), Some("local-lvm"));
        assert_eq!(d.size_bytes(), Some(32 << 30));
        assert_eq!(QemuDisk::parse("/dev/sdb,size=1T").unwrap().storage(), None);
        let mut d = d;
        d.extra.insert("aio".into(), "native".into());
        assert_eq!(d.render(), "local-lvm:vm-100-disk-0,aio=native,size=32G");
    }

    #[test]
    fn typed_errors_say_what_is_wrong() {
        assert!(QemuNet::parse("bridge=vmbr0").unwrap_err().message.contains("no NIC model"));
        assert!(QemuNet::parse("virtio=zz,bridge=vmbr0").unwrap_err().message.contains("MAC"));
        assert!(QemuNet::parse("virtio,tag=abc").unwrap_err().message.contains("tag"));
        assert!(QemuDisk::parse("local-lvm:1,size=huge").unwrap_err().message.contains("size"));
        assert!(QemuDisk::parse("local-lvm:1,ssd=perhaps").unwrap_err().message.contains("ssd"));
        assert!(Ipconfig::parse("ip=300.1.1.1/24").unwrap_err().message.contains("ip="));
        assert!(LxcNet::parse("bridge=vmbr0").unwrap_err().message.contains("name"));
        assert!(LxcMountPoint::parse("local-lvm:4,size=4G").unwrap_err().message.contains("mp="));
        let e = QemuNet::parse("x=1").unwrap_err().in_key("net0");
        assert!(e.to_string().starts_with("net0: "), "{e}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("G"), None);
        assert_eq!(render_size(8 << 30), "8G");
        assert_eq!(render_size(1536 << 20), "1536M");
    }

    proptest::proptest! {
        #[test]
        fn qemu_net_render_parse_is_stable(tag in proptest::option::of(1u16..4095), fw in proptest::option::of(proptest::bool::ANY),
            bridge in "[a-z]{2,6}[0-9]") {
            let n = QemuNet { model: "virtio".into(), macaddr: Some("BC:24:11:AA:BB:CC".into()), bridge: Some(bridge),
                tag, firewall: fw, ..Default::default() };
            let back = QemuNet::parse(&n.render()).unwrap();
            proptest::prop_assert_eq!(back, n);
        }
    }
}
