//! The registry's content. (Placeholder: the schema work fills in vm, container and the data
//! sources from the PVE API; `pool` is complete.)

use std::sync::OnceLock;

use super::*;

fn attr(
    name: &'static str,
    ty: ValueType,
    presence: Presence,
    update: UpdateMode,
    description: &'static str,
) -> Attribute {
    Attribute {
        name,
        ty,
        presence,
        default: None,
        sensitive: false,
        update,
        description,
        pve_param: None,
        one_of: None,
        range: None,
        pattern: None,
    }
}

pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        resources: vec![
            ResourceType {
                name: "pool",
                kind: SchemaKind::Resource,
                description: "A resource pool: a named group of guests and storages.",
                attributes: vec![
                    Attribute {
                        pve_param: Some("poolid"),
                        pattern: Some(r"^[A-Za-z0-9\-_]+$"),
                        ..attr("id", ValueType::String, Presence::Required, UpdateMode::Replace, "The pool's name.")
                    },
                    Attribute {
                        pve_param: Some("comment"),
                        ..attr("comment", ValueType::String, Presence::Optional, UpdateMode::Live, "Free text.")
                    },
                ],
                blocks: vec![],
            },
            ResourceType {
                name: "vm",
                kind: SchemaKind::Resource,
                description: "A QEMU virtual machine.",
                attributes: vec![
                    attr("node", ValueType::String, Presence::Required, UpdateMode::Replace, "The node."),
                    attr("vmid", ValueType::Number, Presence::OptionalComputed, UpdateMode::Replace, "The VM id."),
                    attr("name", ValueType::String, Presence::Optional, UpdateMode::Live, "The name."),
                    attr(
                        "tags",
                        ValueType::List(Box::new(ValueType::String)),
                        Presence::Optional,
                        UpdateMode::Live,
                        "Tags.",
                    ),
                    attr("pool", ValueType::String, Presence::Optional, UpdateMode::Live, "Pool."),
                    attr("started", ValueType::Bool, Presence::Optional, UpdateMode::Live, "Running."),
                ],
                blocks: vec![BlockType {
                    name: "disk",
                    nesting: Nesting::Slotted { slot_pattern: r"^(scsi|virtio|sata|ide)\d+$", example: "scsi0" },
                    required: false,
                    description: "A disk.",
                    update: UpdateMode::Live,
                    attributes: vec![
                        attr("storage", ValueType::String, Presence::Required, UpdateMode::Replace, "Storage."),
                        attr("size", ValueType::String, Presence::Required, UpdateMode::Live, "Size."),
                    ],
                    blocks: vec![],
                }],
            },
        ],
        data_sources: vec![ResourceType {
            name: "template",
            kind: SchemaKind::Data,
            description: "Finds a VM template by name or vmid.",
            attributes: vec![
                attr("name", ValueType::String, Presence::Optional, UpdateMode::Live, "Template name."),
                attr("vmid", ValueType::Number, Presence::OptionalComputed, UpdateMode::Live, "Template vmid."),
            ],
            blocks: vec![],
        }],
    })
}
