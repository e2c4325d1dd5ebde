//! Data sources: read-only lookups in the live cluster. Their `pve_param`s name fields of the
//! API's answers (GET /nodes, GET /nodes/{node}/storage, GET /cluster/resources).

use super::build::patterns;
use super::build::{boolean, number, string, strings};
use super::*;

fn data(
    name: &'static str,
    description: &'static str,
    example: &'static str,
    attributes: Vec<Attribute>,
) -> ResourceType {
    ResourceType { name, kind: SchemaKind::Data, description, attributes, blocks: vec![], constraints: vec![], example }
}

pub fn node() -> ResourceType {
    data(
        "node",
        "A cluster node and its current status (from GET /nodes).",
        r#"data "node" "pve1" {
  name = "pve1"
}

output "pve1_online" {
  value = data.node.pve1.status == "online"
}
"#,
        vec![
            string("name", "The node's name: `pve1`.").required().pattern(patterns::NODE).pve("node"),
            string("status", "`online`, `offline` or `unknown`.").computed().pve("status"),
            number("cpu", "CPU usage, as a fraction of `maxcpu` (0 to 1).").computed().pve("cpu"),
            number("maxcpu", "Logical CPUs.").computed().pve("maxcpu"),
            number("memory", "Memory in use, bytes.").computed().pve("mem"),
            number("maxmemory", "Memory installed, bytes.").computed().pve("maxmem"),
            number("uptime", "Seconds since the node booted.").computed().pve("uptime"),
            string(
                "ssl_fingerprint",
                "SHA-256 fingerprint of the node's certificate (for `provider { fingerprint }`).",
            )
            .computed()
            .pve("ssl_fingerprint"),
        ],
    )
}

pub fn template() -> ResourceType {
    let lookup = data(
        "template",
        "Finds a VM template by name or vmid (from GET /cluster/resources), typically to clone it. Exactly one of \
         `name` and `vmid` must be set; a name that matches several templates is an error unless `node` narrows it.",
        r#"data "template" "debian12" {
  name = "debian-12-cloud"
}

resource "vm" "app" {
  node = "pve1"

  clone {
    source = data.template.debian12.vmid
  }
}
"#,
        vec![
            string("name", "The template's name: `debian-12-cloud`.").optional_computed().pve("name"),
            number("vmid", "The template's vmid.").optional_computed().range(100.0, 999_999_999.0).pve("vmid"),
            string("node", "Only look on this node; computed as the node that holds the template.")
                .optional_computed()
                .pattern(patterns::NODE)
                .pve("node"),
            strings("tags", "The template's tags.").computed().canon(Canon::Tags).pve("tags"),
            number("disk_size", "Size of the template's boot disk, bytes.").computed().pve("maxdisk"),
        ],
    );
    ResourceType {
        constraints: vec![Constraint::ExactlyOneOf { block: None, attributes: vec!["name", "vmid"] }],
        ..lookup
    }
}

pub fn storage() -> ResourceType {
    data(
        "storage",
        "A storage as one node sees it, with its capacity (from GET /nodes/{node}/storage).",
        r#"data "storage" "thin" {
  node = "pve1"
  name = "local-lvm"
}

output "free_gib" {
  value = floor(data.storage.thin.available / 1073741824)
}
"#,
        vec![
            string("node", "The node to ask.").required().pattern(patterns::NODE),
            string("name", "The storage id: `local-lvm`.").required().pattern(patterns::STORAGE_ID).pve("storage"),
            string("type", "The storage type: `dir`, `lvmthin`, `zfspool`, `nfs`, `rbd`...").computed().pve("type"),
            strings(
                "content",
                "What it may hold: `images`, `rootdir`, `iso`, `vztmpl`, `backup`, `snippets`, `import`.",
            )
            .computed()
            .pve("content"),
            number("total", "Capacity, bytes.").computed().pve("total"),
            number("used", "Used, bytes.").computed().pve("used"),
            number("available", "Free, bytes.").computed().pve("avail"),
            boolean("shared", "Reachable from every node.").computed().pve("shared"),
            boolean("active", "Currently usable.").computed().pve("active"),
            boolean("enabled", "Enabled in the storage configuration.").computed().pve("enabled"),
        ],
    )
}
