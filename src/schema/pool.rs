//! `pool`: a resource pool (POST /pools, PUT /pools/{poolid}).

use super::build::{patterns, string};
use super::*;

pub fn pool() -> ResourceType {
    ResourceType {
        name: "pool",
        kind: SchemaKind::Resource,
        description: "A resource pool: a named group of guests and storages, the unit of permissions in Proxmox. \
                      Guests join a pool through their own `pool` attribute.",
        attributes: vec![
            string(
                "id",
                "The pool's name; `parent/child` nests pools (up to three levels). When unset, the block's \
                 name is used (`web` in `resource \"pool\" \"web\"`); a pool with `count` or `for_each` must \
                 set it, so that each instance gets its own.",
            )
            .defaults_to_block_name()
            .pattern(patterns::POOL_ID)
            .replace()
            .pve("poolid"),
            string("comment", "Free text shown in the web interface.").pve("comment"),
        ],
        blocks: vec![],
        constraints: vec![],
        example: r#"resource "pool" "web" {
  id      = "web"
  comment = "web tier"
}
"#,
    }
}
