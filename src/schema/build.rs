//! Small constructors that keep the registry's content readable: `string("name", "...")
//! .required().replace().pve("name")` instead of struct literals with a dozen fields.

use super::*;

fn attribute(name: &'static str, ty: ValueType, description: &'static str) -> Attribute {
    Attribute {
        name,
        presence: Presence::Optional,
        default: None,
        sensitive: false,
        update: UpdateMode::Live,
        description,
        pve_param: None,
        one_of: None,
        range: None,
        pattern: None,
        hotplug: None,
        changed_by: None,
        defaults_to_block_name: false,
        canon: Canon::for_type(&ty),
        ty,
    }
}

pub(super) fn string(name: &'static str, description: &'static str) -> Attribute {
    attribute(name, ValueType::String, description)
}

pub(super) fn number(name: &'static str, description: &'static str) -> Attribute {
    attribute(name, ValueType::Number, description)
}

pub(super) fn boolean(name: &'static str, description: &'static str) -> Attribute {
    attribute(name, ValueType::Bool, description)
}

pub(super) fn strings(name: &'static str, description: &'static str) -> Attribute {
    attribute(name, ValueType::List(Box::new(ValueType::String)), description)
}

/// Builder methods: each sets one property of the attribute.
impl Attribute {
    pub(super) fn required(self) -> Self {
        Attribute { presence: Presence::Required, ..self }
    }
    pub(super) fn computed(self) -> Self {
        Attribute { presence: Presence::Computed, ..self }
    }
    pub(super) fn defaults_to_block_name(self) -> Self {
        Attribute { defaults_to_block_name: true, ..self }
    }
    pub(super) fn optional_computed(self) -> Self {
        Attribute { presence: Presence::OptionalComputed, ..self }
    }
    pub(super) fn default(self, value: impl Into<serde_json::Value>) -> Self {
        Attribute { default: Some(value.into()), ..self }
    }
    pub(super) fn sensitive(self) -> Self {
        Attribute { sensitive: true, canon: Canon::WriteOnly, ..self }
    }
    pub(super) fn update(self, update: UpdateMode) -> Self {
        Attribute { update, ..self }
    }
    pub(super) fn reboot(self) -> Self {
        self.update(UpdateMode::Reboot)
    }
    pub(super) fn stopped(self) -> Self {
        self.update(UpdateMode::Stopped)
    }
    pub(super) fn replace(self) -> Self {
        self.update(UpdateMode::Replace)
    }
    pub(super) fn create_only(self) -> Self {
        self.update(UpdateMode::CreateOnly)
    }
    pub(super) fn pve(self, param: &'static str) -> Self {
        Attribute { pve_param: Some(param), ..self }
    }
    pub(super) fn one_of(self, values: &[&'static str]) -> Self {
        Attribute { one_of: Some(values.to_vec()), ..self }
    }
    pub(super) fn range(self, min: f64, max: f64) -> Self {
        Attribute { range: Some((min, max)), ..self }
    }
    pub(super) fn pattern(self, pattern: &'static str) -> Self {
        Attribute { pattern: Some(pattern), ..self }
    }
    /// Live while the guest's `hotplug` has `feature`, after a reboot otherwise.
    pub(super) fn hotplug(self, feature: &'static str) -> Self {
        let update = if DEFAULT_HOTPLUG.contains(&feature) { UpdateMode::Live } else { UpdateMode::Reboot };
        Attribute { hotplug: Some(feature), update, ..self }
    }
    /// How Proxmox writes the value back (when not the type's plain form).
    pub(super) fn canon(self, canon: Canon) -> Self {
        Attribute { canon, ..self }
    }
    pub(super) fn changed_by(self, call: Call, endpoint: &'static str) -> Self {
        Attribute { changed_by: Some(ChangedBy { call, endpoint }), ..self }
    }
}

/// A block that appears at most once: `cpu { ... }`.
pub(super) fn single(name: &'static str, description: &'static str, attributes: Vec<Attribute>) -> BlockType {
    BlockType {
        name,
        nesting: Nesting::Single,
        required: false,
        description,
        update: UpdateMode::Live,
        attributes,
        blocks: vec![],
        pve_param: None,
        fixed_keys: &[],
    }
}

/// A block labelled by its Proxmox slot: `disk "scsi0" { ... }`.
pub(super) fn slotted(
    name: &'static str,
    slot_pattern: &'static str,
    example: &'static str,
    description: &'static str,
    attributes: Vec<Attribute>,
) -> BlockType {
    BlockType { nesting: Nesting::Slotted { slot_pattern, example }, ..single(name, description, attributes) }
}

impl BlockType {
    pub(super) fn required(self) -> Self {
        BlockType { required: true, ..self }
    }
    pub(super) fn update(self, update: UpdateMode) -> Self {
        BlockType { update, ..self }
    }
    pub(super) fn pve(self, param: &'static str) -> Self {
        BlockType { pve_param: Some(param), ..self }
    }
    pub(super) fn fixed(self, keys: &'static [(&'static str, &'static str)]) -> Self {
        BlockType { fixed_keys: keys, ..self }
    }
}

/// Patterns shared by several resource types.
pub(super) mod patterns {
    /// PVE's `pve-tag`: letters, digits and `_-+.`, not starting with a sign or dot.
    pub const TAG: &str = r"^[A-Za-z0-9_][A-Za-z0-9_+.\-]*$";
    /// A DNS name (PVE's `dns-name`): dot-separated labels of letters, digits and inner dashes.
    pub const DNS_NAME: &str = r"^[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?)*$";
    /// A pool id, optionally nested up to three levels (`team/web`).
    pub const POOL_ID: &str = r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+){0,2}$";
    /// A storage id (PVE's `pve-storage-id`).
    pub const STORAGE_ID: &str = r"^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$";
    /// A node name.
    pub const NODE: &str = r"^[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?$";
    /// A disk size as PVE writes it: a number with an optional K, M, G or T suffix (G when none).
    pub const DISK_SIZE: &str = r"^\d+(\.\d+)?[KMGT]?$";
    pub const MAC: &str = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$";
    /// VLAN ids or ranges separated by `;` (`10;20-30`).
    pub const TRUNKS: &str = r"^\d+(-\d+)?(;\d+(-\d+)?)*$";
    /// A bridge name (`vmbr0`, `vnet1`).
    pub const BRIDGE: &str = r"^[A-Za-z0-9_.\-]+$";
    /// A volume id: `storage:path` (`local:iso/debian.iso`, `local-lvm:vm-100-disk-0`).
    pub const VOLUME: &str = r"^[A-Za-z][A-Za-z0-9\-_.]*:.+$";
}
