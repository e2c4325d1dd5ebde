//! What may be written at a place in a `.pmx` file: the schema of a resource or data source
//! (from [`crate::schema::registry`]) or one of the language's own blocks (`variable`,
//! `lifecycle`, `provider`...). Completion and hover both ask this module.

use crate::schema::{self, BlockType, ResourceType};

use super::outline::Block;

/// An attribute of a language block: its name, type and meaning.
#[derive(Debug)]
pub struct LangAttr {
    pub name: &'static str,
    pub ty: &'static str,
    pub description: &'static str,
}

/// A block of the language itself, not of the schema.
#[derive(Debug)]
pub struct LangBlock {
    pub name: &'static str,
    /// How its labels are written (`"TYPE" "NAME"`), empty for none.
    pub labels: &'static str,
    pub description: &'static str,
    pub attributes: &'static [LangAttr],
    pub blocks: &'static [&'static LangBlock],
}

const fn attr(name: &'static str, ty: &'static str, description: &'static str) -> LangAttr {
    LangAttr { name, ty, description }
}

pub static VALIDATION: LangBlock = LangBlock {
    name: "validation",
    labels: "",
    description: "A rule the variable's value must follow; any number of them.",
    attributes: &[
        attr("condition", "bool", "Must be true for the value; refer to the variable as `var.NAME`."),
        attr("error_message", "string", "The message shown when the condition is false."),
    ],
    blocks: &[],
};

pub static STATE: LangBlock = LangBlock {
    name: "state",
    labels: "",
    description: "Where state lives: SQLite at `.pmx/state.db` by default, or PostgreSQL when a team shares it.",
    attributes: &[
        attr("url", "string", "`.pmx/state.db`, `sqlite://PATH` or `postgres://USER@HOST/DB`."),
        attr("workspace", "string", "The workspace inside the state store (`default` unless set)."),
    ],
    blocks: &[],
};

pub static LIFECYCLE: LangBlock = LangBlock {
    name: "lifecycle",
    labels: "",
    description: "How pmx treats changes to this resource.",
    attributes: &[
        attr("prevent_destroy", "bool", "Refuse any plan that destroys this object."),
        attr("create_before_destroy", "bool", "Build the replacement before destroying the old object."),
        attr(
            "ignore_changes",
            "list of attribute paths, or all",
            "Leave drift in these attributes alone: `[tags, memory.size, disk[\"scsi0\"].size]`, or `all`.",
        ),
        attr(
            "preflight_ignore",
            "list of pre-flight check names, or [\"all\"]",
            "Silence these pre-flight checks for this resource (`[\"capacity\"]`); findings are still shown, marked ignored. See docs/preflight.md.",
        ),
        attr(
            "max_disruptions",
            "number",
            "At most this many instances of this block stopped or rebooted at once during an apply (a rolling change).",
        ),
    ],
    blocks: &[],
};

/// The blocks allowed at the top level of a file (see [`crate::config::TOP_LEVEL_BLOCKS`]).
pub static TOP_LEVEL: &[&LangBlock] = &[
    &LangBlock {
        name: "pmx",
        labels: "",
        description: "Project settings: the pmx versions this configuration accepts and where state lives.",
        attributes: &[attr(
            "required_version",
            "string",
            "Version constraints such as `\">= 0.1, < 1\"` or `\"~> 0.1\"`; another pmx refuses the project.",
        )],
        blocks: &[&STATE],
    },
    &LangBlock {
        name: "provider",
        labels: "\"proxmox\"",
        description: "A cluster to talk to. Several clusters: give each an `alias` and pick one with `provider = proxmox.ALIAS`.",
        attributes: &[
            attr("endpoint", "string", "The API's URL, `https://pve1:8006` (also: PMX_ENDPOINT)."),
            attr("token_id", "string", "An API token, `USER@REALM!TOKENID` (also: PMX_TOKEN_ID)."),
            attr("token_secret", "string", "The token's secret (sensitive; also: PMX_TOKEN_SECRET)."),
            attr("username", "string", "A user for ticket login, `root@pam`, instead of a token."),
            attr("password", "string", "That user's password (sensitive)."),
            attr("fingerprint", "string", "The SHA-256 fingerprint that pins a self-signed certificate."),
            attr("ca_file", "string", "A CA certificate file to trust."),
            attr("insecure", "bool", "Skip TLS verification (tests only)."),
            attr("alias", "string", "Names this provider block, for `provider = proxmox.ALIAS` in resources."),
        ],
        blocks: &[],
    },
    &LangBlock {
        name: "variable",
        labels: "\"NAME\"",
        description: "An input, read as `var.NAME`. Its value comes from its default, `*.pmxvars` files, PMX_VAR_NAME, `--var-file` and `--var` (a later one wins).",
        attributes: &[
            attr("type", "type", "`string`, `number`, `bool`, `list(T)`, `set(T)`, `map(T)`, `object({...})`, `tuple([...])` or `any`."),
            attr("default", "any", "The value when none is given; without one the variable is required."),
            attr("description", "string", "What the variable is for."),
            attr("sensitive", "bool", "Never show the value in plans, output or errors."),
            attr("nullable", "bool", "Whether `null` is an accepted value (true unless set)."),
        ],
        blocks: &[&VALIDATION],
    },
    &LangBlock {
        name: "locals",
        labels: "",
        description: "Named values, read as `local.NAME`. Names are unique across every `locals` block.",
        attributes: &[],
        blocks: &[],
    },
    &LangBlock {
        name: "output",
        labels: "\"NAME\"",
        description: "A value shown after apply and kept in state.",
        attributes: &[
            attr("value", "any", "The value."),
            attr("description", "string", "What it is."),
            attr("sensitive", "bool", "Never show the value."),
            attr("depends_on", "list of addresses", "Resources to wait for beyond those the value refers to."),
        ],
        blocks: &[],
    },
    &LangBlock {
        name: "resource",
        labels: "\"TYPE\" \"NAME\"",
        description: "A managed object (`vm`, `container`, `pool`); its address is `TYPE.NAME`.",
        attributes: &[],
        blocks: &[],
    },
    &LangBlock {
        name: "data",
        labels: "\"TYPE\" \"NAME\"",
        description: "Something read from the cluster (`node`, `template`, `storage`); its address is `data.TYPE.NAME`.",
        attributes: &[],
        blocks: &[],
    },
    &LangBlock {
        name: "import",
        labels: "",
        description: "Adopts an existing object on the next apply.",
        attributes: &[
            attr("to", "address", "The resource to adopt it as: `vm.legacy`."),
            attr("id", "string", "The object in Proxmox: `NODE/qemu/VMID`, `NODE/lxc/VMID` or a pool id."),
        ],
        blocks: &[],
    },
    &LangBlock {
        name: "moved",
        labels: "",
        description: "Records a rename so state follows it instead of destroying and creating the object.",
        attributes: &[attr("from", "address", "The old address."), attr("to", "address", "The new address.")],
        blocks: &[],
    },
    &LangBlock {
        name: "removed",
        labels: "",
        description: "Stops managing a resource; with `lifecycle { destroy = false }` it stays on the cluster.",
        attributes: &[attr("from", "address", "The address to stop managing.")],
        blocks: &[],
    },
];

/// The meta-arguments of `resource` and `data` blocks (see [`crate::config::META_ARGUMENTS`]).
pub static META_ARGUMENTS: &[LangAttr] = &[
    attr("count", "number", "That many instances, `TYPE.NAME[0]`...; `count.index` is the instance's number."),
    attr(
        "for_each",
        "map or set of strings",
        "One instance per key, `TYPE.NAME[\"key\"]`; `each.key` and `each.value` inside.",
    ),
    attr("depends_on", "list of addresses", "Resources or data sources to wait for beyond those referred to."),
    attr("provider", "provider reference", "Which cluster: `proxmox.ALIAS` (the `alias` of a provider block)."),
];

/// What a block body allows.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The top level of a file.
    File,
    /// The body of a `resource` or `data` block.
    Resource(&'static ResourceType),
    /// A nested block of a resource or data source.
    Nested(&'static ResourceType, &'static BlockType),
    Lang(&'static LangBlock),
    /// `locals`: any name.
    Locals,
    /// Somewhere pmx does not know.
    Unknown,
}

/// The scope inside the innermost of `path` (outermost first; empty: the file).
pub fn scope_of(path: &[&Block]) -> Scope {
    let Some((first, rest)) = path.split_first() else { return Scope::File };
    let mut scope = match first.ident.text.as_str() {
        "resource" | "data" => {
            let registry = schema::registry();
            let type_name = first.labels.first().map_or("", |l| l.text.as_str());
            let rt = if first.ident.text == "resource" {
                registry.resource(type_name)
            } else {
                registry.data_source(type_name)
            };
            rt.map_or(Scope::Unknown, Scope::Resource)
        }
        "locals" => Scope::Locals,
        name => TOP_LEVEL.iter().find(|b| b.name == name).map_or(Scope::Unknown, |b| Scope::Lang(b)),
    };
    for block in rest {
        scope = child(scope, &block.ident.text);
    }
    scope
}

/// The scope of a nested block `name` inside `parent`.
pub fn child(parent: Scope, name: &str) -> Scope {
    match parent {
        Scope::Resource(rt) if name == "lifecycle" && rt.kind == schema::SchemaKind::Resource => {
            Scope::Lang(&LIFECYCLE)
        }
        Scope::Resource(rt) => rt.block(name).map_or(Scope::Unknown, |b| Scope::Nested(rt, b)),
        Scope::Nested(rt, b) => b.block(name).map_or(Scope::Unknown, |inner| Scope::Nested(rt, inner)),
        Scope::Lang(l) => l.blocks.iter().find(|b| b.name == name).map_or(Scope::Unknown, |b| Scope::Lang(b)),
        Scope::File => TOP_LEVEL.iter().find(|b| b.name == name).map_or(Scope::Unknown, |b| Scope::Lang(b)),
        Scope::Locals | Scope::Unknown => Scope::Unknown,
    }
}

/// An attribute allowed somewhere: from the schema or the language.
#[derive(Debug, Clone, Copy)]
pub enum AttrInfo {
    Schema(&'static ResourceType, &'static schema::Attribute),
    Lang(&'static LangAttr),
}

/// The attribute `name` in `scope`.
pub fn attribute(scope: Scope, name: &str) -> Option<AttrInfo> {
    match scope {
        Scope::Resource(rt) => rt
            .attribute(name)
            .map(|a| AttrInfo::Schema(rt, a))
            .or_else(|| META_ARGUMENTS.iter().find(|m| m.name == name).map(AttrInfo::Lang)),
        Scope::Nested(rt, b) => b.attribute(name).map(|a| AttrInfo::Schema(rt, a)),
        Scope::Lang(l) => l.attributes.iter().find(|a| a.name == name).map(AttrInfo::Lang),
        Scope::File | Scope::Locals | Scope::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::outline::Outline;
    use super::*;

    #[test]
    fn paths_resolve_to_schema_and_language_blocks() {
        let src = "resource \"vm\" \"a\" {\n  disk \"scsi0\" {\n  \n  }\n  lifecycle {\n  \n  }\n}\nvariable \"v\" {\n  validation {\n  \n  }\n}\n";
        let o = Outline::parse(src);
        let at = |needle: &str| scope_of(&o.blocks_at(src.find(needle).unwrap() + needle.len() + 1));
        assert!(matches!(at("disk \"scsi0\" {"), Scope::Nested(rt, b) if rt.name == "vm" && b.name == "disk"));
        assert!(matches!(at("lifecycle {"), Scope::Lang(l) if l.name == "lifecycle"));
        assert!(matches!(at("validation {"), Scope::Lang(l) if l.name == "validation"));
        let vm = scope_of(&o.blocks_at(src.find("lifecycle").unwrap()));
        assert!(attribute(vm, "cores").is_none(), "cores lives in the cpu block");
        assert!(matches!(attribute(vm, "count"), Some(AttrInfo::Lang(m)) if m.name == "count"));
        assert!(matches!(attribute(vm, "node"), Some(AttrInfo::Schema(_, a)) if a.name == "node"));
    }

    #[test]
    fn the_language_tables_match_the_loader() {
        let names: Vec<&str> = TOP_LEVEL.iter().map(|b| b.name).collect();
        assert_eq!(names, crate::config::TOP_LEVEL_BLOCKS);
        let provider = TOP_LEVEL.iter().find(|b| b.name == "provider").unwrap();
        let attrs: Vec<&str> = provider.attributes.iter().map(|a| a.name).collect();
        assert_eq!(attrs, crate::config::model::PROVIDER_ATTRIBUTES);
        let mut meta: Vec<&str> = META_ARGUMENTS.iter().map(|m| m.name).collect();
        meta.push(LIFECYCLE.name);
        assert_eq!(meta, crate::config::META_ARGUMENTS);
    }
}
