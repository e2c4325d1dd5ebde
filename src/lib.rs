//! pmx: declarative infrastructure for Proxmox VE.
//!
//! The modules follow the pipeline: `config` (the `.pmx` language) → `graph` (dependency order)
//! → refresh → diff → plan → apply, with `proxmox` (API client), `sim` (the built-in PVE
//! simulator), `state` (the state store) and `render` (human and JSON output) beside it.
//! See `docs/architecture.md`.

pub mod addr;
pub mod apply;
pub mod cli;
pub mod codec;
pub mod config;
pub mod diag;
pub mod graph;
pub mod import;
pub mod lsp;
pub mod operation;
pub mod plan;
pub mod preflight;
pub mod proxmox;
pub mod refresh;
pub mod render;
pub mod schema;
pub mod sim;
pub mod state;
