//! The types the registry is made of.

use serde::Serialize;

/// The type of an attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "of")]
pub enum ValueType {
    String,
    Number,
    Bool,
    List(Box<ValueType>),
    Set(Box<ValueType>),
    Map(Box<ValueType>),
    Any,
}

/// Who supplies an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// The user must set it.
    Required,
    /// The user may set it; otherwise `default` (or Proxmox's own default) applies.
    Optional,
    /// Only Proxmox sets it (read back after apply: `vmid` when allocated, a MAC address...).
    Computed,
    /// The user may set it; when they don't, Proxmox picks and pmx reads it back.
    OptionalComputed,
}

/// How a change to an attribute lands on an existing guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    /// Applied in place, immediately, even while the guest runs (hot-plug, metadata).
    Live,
    /// Applied in place, but a running guest only picks it up after a reboot (PVE "pending").
    Reboot,
    /// Applied in place, but only while the guest is stopped (pmx stops and restarts it).
    Stopped,
    /// Cannot be changed: the resource is destroyed and created again.
    Replace,
    /// Only used when creating (passwords, SSH keys of a container); later changes are ignored.
    CreateOnly,
}

/// One attribute of a resource or a nested block.
#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    pub name: &'static str,
    #[serde(rename = "value_type")]
    pub ty: ValueType,
    pub presence: Presence,
    /// The default pmx assumes when unset (as JSON), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    pub sensitive: bool,
    pub update: UpdateMode,
    pub description: &'static str,
    /// The Proxmox API parameter this maps to, when it maps to one directly: `cores` (a
    /// parameter), `cpu.cputype` (key `cputype` of the property string `cpu`), or inside a slotted
    /// block `{slot}.bridge` (key `bridge` of the parameter the block's label names, e.g. `net0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pve_param: Option<&'static str>,
    /// Allowed values, for enumerations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<&'static str>>,
    /// Inclusive numeric range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<(f64, f64)>,
    /// A regular expression a string value must match (anchored). For a list or set, each
    /// element must match; the same holds for `one_of`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<&'static str>,
    /// The `hotplug` feature of a QEMU guest (`cpu`, `memory`, `network`, `disk`, `usb`,
    /// `cloudinit`) that decides how a change lands on a running guest: `Live` while the guest's
    /// `hotplug` includes it, `Reboot` otherwise. `update` gives the mode under PVE's default
    /// `hotplug = network,disk,usb`; use [`Attribute::update_mode`] to resolve it for a guest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotplug: Option<&'static str>,
    /// The Proxmox API call that carries a change to this attribute when it is not the guest's
    /// config update (`PUT /nodes/{node}/qemu/{vmid}/resize` for disk growth, `POST .../migrate`
    /// for a node change, `PUT /pools/{poolid}` for pool membership...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<ChangedBy>,
    /// When unset, the value is the block's name (`web` in `resource "pool" "web"`), for a
    /// resource without `count` or `for_each`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub defaults_to_block_name: bool,
    /// How Proxmox writes the value back, so that desired and live compare like with like.
    pub canon: Canon,
}

/// The Proxmox call that carries a change to an attribute when it is not the config update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChangedBy {
    pub call: Call,
    /// The endpoint, as the API schema names it: `PUT /nodes/{node}/qemu/{vmid}/resize`.
    pub endpoint: &'static str,
}

/// Kinds of calls besides the config update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// A node change: the guest migrates.
    Migrate,
    /// Disk growth.
    Resize,
    /// A disk or volume moves to another storage (or converts its format).
    MoveDisk,
    /// Pool membership.
    Pool,
    /// Start, shut down.
    Power,
}

/// How Proxmox rewrites a value it stores, per attribute. The codec decodes the live config
/// through it and compares desired with live in this canonical form, so that `32G` and
/// `32768M`, `1` and `true`, or `b;a` and `a;b` never show as a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "of")]
pub enum Canon {
    /// Kept as written.
    Text,
    /// A number; PVE sends numbers as numbers or strings.
    Number,
    /// A boolean; PVE writes `1`/`0` (and accepts `on`/`off`, `yes`/`no`).
    Bool,
    /// A boolean PVE keeps as a two-value enumeration: a disk's `discard` is `on` or `ignore`.
    Switch { on: &'static str, off: &'static str },
    /// A list in a separated string; order matters (`boot: order=scsi0;net0`).
    List(char),
    /// A set in a separated string; order does not matter (`hotplug: disk,network`).
    Set(char),
    /// Tags: PVE sorts them and accepts `;`, `,` and spaces between them; compared ignoring
    /// order and case.
    Tags,
    /// A size with a unit: `32G` equals `32768M`.
    Size,
    /// A MAC address: compared ignoring case.
    Mac,
    /// The storage of a volume id: `local-lvm:vm-100-disk-0` is storage `local-lvm`.
    VolumeStorage,
    /// A disk's image format: PVE writes `format=` only sometimes; otherwise the volume's name
    /// says it (`….qcow2`, `….vmdk`), and a block storage volume is `raw`.
    VolumeFormat,
    /// OpenSSH public keys, one per line, URL-encoded by PVE (`ssh-ed25519%20AAAA...`).
    SshKeys,
    /// A QEMU machine type: an unversioned `q35` or `pc` is met by a pinned version of the same
    /// family (`pc-q35-11.0+pve0`), which PVE writes for Windows guests at creation; a pinned
    /// version is compared exactly.
    MachineType,
    /// PVE never sends it back (`cipassword` reads as `**********`; a container's `ostemplate`
    /// is not kept in its config): compared with what pmx recorded when it last wrote it (a
    /// keyed hash for a sensitive value).
    WriteOnly,
}

impl Canon {
    /// The canonical form for a value type, when the attribute declares none.
    pub fn for_type(ty: &ValueType) -> Canon {
        match ty {
            ValueType::Number => Canon::Number,
            ValueType::Bool => Canon::Bool,
            ValueType::List(_) => Canon::List(','),
            ValueType::Set(_) => Canon::Set(','),
            _ => Canon::Text,
        }
    }
}

impl Attribute {
    /// Where the value goes in the Proxmox config: the parameter (with `{slot}` replaced by the
    /// block's label, e.g. `net0`) and, for a property string, the key inside it.
    /// `cpu.cputype` → (`cpu`, Some(`cputype`)); `{slot}.bridge` in `network "net1"` →
    /// (`net1`, Some(`bridge`)); `cores` → (`cores`, None).
    pub fn pve_target(&self, slot: Option<&str>) -> Option<(String, Option<&'static str>)> {
        let param = self.pve_param?;
        let (base, key) = match param.split_once('.') {
            Some((b, k)) => (b, Some(k)),
            None => (param, None),
        };
        let base = match (base, slot) {
            ("{slot}", Some(label)) => label.to_string(),
            ("{slot}", None) => return None,
            (b, _) => b.to_string(),
        };
        Some((base, key))
    }
}

/// PVE's default `hotplug` setting for QEMU guests.
pub const DEFAULT_HOTPLUG: &[&str] = &["network", "disk", "usb"];

impl Attribute {
    /// How a change lands on a guest whose `hotplug` features are `hotplug` (for attributes that
    /// depend on a hotplug feature; every other attribute returns `update` unchanged).
    pub fn update_mode(&self, hotplug: &[&str]) -> UpdateMode {
        match self.hotplug {
            Some(feature) if hotplug.contains(&feature) => UpdateMode::Live,
            Some(_) => UpdateMode::Reboot,
            None => self.update,
        }
    }
}

/// How often a nested block may appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Nesting {
    /// At most once, no label: `cpu { ... }`.
    Single,
    /// Any number, each labelled by its Proxmox slot: `disk "scsi0" { ... }`. The label must
    /// match `slot_pattern` (anchored regex) and be unique within the resource.
    Slotted { slot_pattern: &'static str, example: &'static str },
}

/// A nested block type.
#[derive(Debug, Clone, Serialize)]
pub struct BlockType {
    pub name: &'static str,
    pub nesting: Nesting,
    pub required: bool,
    pub description: &'static str,
    /// How a change anywhere in this block lands, unless an attribute says otherwise. For a
    /// slotted block this is also how adding or removing one lands.
    pub update: UpdateMode,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<BlockType>,
    /// The Proxmox property-string parameter(s) a block instance becomes. For a slotted block,
    /// the indexed parameters its label may name, `|`-separated (`scsi[n]|virtio[n]`); inside
    /// it, attributes name their key as `{slot}.key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pve_param: Option<&'static str>,
    /// Keys every instance's property string carries whatever the attributes say
    /// (`media=cdrom` makes an `ide2` drive a CD-ROM rather than a disk).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub fixed_keys: &'static [(&'static str, &'static str)],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaKind {
    Resource,
    Data,
}

/// A resource type (`vm`, `container`, `pool`) or a data source (`node`, `template`, `storage`).
#[derive(Debug, Clone, Serialize)]
pub struct ResourceType {
    pub name: &'static str,
    pub kind: SchemaKind,
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<BlockType>,
    /// Rules between attributes that no single attribute can state; check them with
    /// [`ResourceType::check_constraints`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// A short, complete `.pmx` example of its use, shown in the docs (tests validate it).
    pub example: &'static str,
}

/// A rule between attributes. `block` names the nested block the rule applies to (each
/// instance of it), or the resource's own body when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Constraint {
    /// Exactly one of the attributes must be set.
    ExactlyOneOf { block: Option<&'static str>, attributes: Vec<&'static str> },
    /// When `when` is set, `then` must be set too.
    Requires { block: Option<&'static str>, when: &'static str, then: &'static str },
    /// An attribute of a slotted block that only some slots support (`ssd` is not for virtio).
    OnlyInSlots { block: &'static str, attribute: &'static str, slots: &'static str },
}

impl ResourceType {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    pub fn block(&self, name: &str) -> Option<&BlockType> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

impl BlockType {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    pub fn block(&self, name: &str) -> Option<&BlockType> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

/// Every resource type and data source pmx knows.
#[derive(Debug, Clone, Serialize)]
pub struct Registry {
    pub resources: Vec<ResourceType>,
    pub data_sources: Vec<ResourceType>,
}

impl Registry {
    pub fn resource(&self, name: &str) -> Option<&ResourceType> {
        self.resources.iter().find(|r| r.name == name)
    }
    pub fn data_source(&self, name: &str) -> Option<&ResourceType> {
        self.data_sources.iter().find(|r| r.name == name)
    }
    /// Looks up `vm` (a resource type) or `data.template` (a data source).
    pub fn lookup(&self, qualified: &str) -> Option<&ResourceType> {
        match qualified.strip_prefix("data.") {
            Some(d) => self.data_source(d),
            None => self.resource(qualified),
        }
    }
    /// Every name `lookup` accepts: `vm`, ..., `data.template`, ...
    pub fn qualified_names(&self) -> Vec<String> {
        let resources = self.resources.iter().map(|r| r.name.to_string());
        resources.chain(self.data_sources.iter().map(|d| format!("data.{}", d.name))).collect()
    }
}

impl ResourceType {
    /// Dotted paths of every sensitive attribute (`cloud_init.password`), for redaction.
    pub fn sensitive_paths(&self) -> Vec<String> {
        fn walk(prefix: &str, attrs: &[Attribute], blocks: &[BlockType], out: &mut Vec<String>) {
            out.extend(attrs.iter().filter(|a| a.sensitive).map(|a| format!("{prefix}{}", a.name)));
            for b in blocks {
                walk(&format!("{prefix}{}.", b.name), &b.attributes, &b.blocks, out);
            }
        }
        let mut out = vec![];
        walk("", &self.attributes, &self.blocks, &mut out);
        out
    }

    /// `vm` for a resource type, `data.template` for a data source.
    pub fn qualified_name(&self) -> String {
        match self.kind {
            SchemaKind::Resource => self.name.to_string(),
            SchemaKind::Data => format!("data.{}", self.name),
        }
    }
}

impl std::fmt::Display for ValueType {
    /// The type as users write it in `variable` blocks: `string`, `list(string)`...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueType::String => f.write_str("string"),
            ValueType::Number => f.write_str("number"),
            ValueType::Bool => f.write_str("bool"),
            ValueType::List(t) => write!(f, "list({t})"),
            ValueType::Set(t) => write!(f, "set({t})"),
            ValueType::Map(t) => write!(f, "map({t})"),
            ValueType::Any => f.write_str("any"),
        }
    }
}

impl std::fmt::Display for UpdateMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpdateMode::Live => "live",
            UpdateMode::Reboot => "reboot",
            UpdateMode::Stopped => "stopped",
            UpdateMode::Replace => "replace",
            UpdateMode::CreateOnly => "create-only",
        })
    }
}

impl std::fmt::Display for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Presence::Required => "required",
            Presence::Optional => "optional",
            Presence::Computed => "computed",
            Presence::OptionalComputed => "optional, computed",
        })
    }
}
