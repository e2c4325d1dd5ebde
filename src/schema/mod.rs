//! The resource schema: one registry, in code, of every resource type and data source, their
//! attributes and nested blocks, and how a change to each lands on Proxmox. The config loader
//! validates against it, the diff uses it to classify changes, `pmx schema` prints it, and
//! `docs/resources/*.md`, `docs/data-sources/*.md` and `grammar/schema.json` are generated from it.

mod types;

pub use types::*;

mod build;
mod constraints;
mod container;
mod data;
pub mod docs;
mod pool;
mod registry;
mod vm;

pub use constraints::{ConfigBody, Violation};
pub use registry::registry;
