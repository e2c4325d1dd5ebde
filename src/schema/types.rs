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
    /// The Proxmox API parameter this maps to, when it maps to one directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pve_param: Option<&'static str>,
    /// Allowed values, for enumerations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<&'static str>>,
    /// Inclusive numeric range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<(f64, f64)>,
    /// A regular expression a string value must match (anchored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<&'static str>,
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
    /// How a change anywhere in this block lands, unless an attribute says otherwise.
    pub update: UpdateMode,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<BlockType>,
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
}
