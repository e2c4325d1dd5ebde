//! The state store: what pmx manages, every version of it, and who changed it.
//!
//! Diesel over SQLite (default, `.pmx/state.db`) or PostgreSQL (shared by a team), one code
//! path for both (`AnyConnection`, a diesel `MultiConnection`), migrations embedded per backend
//! (`migrations/sqlite`, `migrations/postgres`) and applied on open. Design: ADR-0002
//! (repositories per kind, a snapshot per change, an append-only event trail).
//!
//! # Using it (plan / apply / import / refresh)
//!
//! ```no_run
//! use pmx::state::*;
//! # fn main() -> pmx::state::Result<()> {
//! let location = StateLocation::parse("postgres://pmx@db/state", std::path::Path::new("."))?;
//! let mut store = Store::open(&location, "prod")?;
//! store.lock("pmx apply plan.out", std::time::Duration::from_secs(30))?; // held until drop/unlock
//! let meta = store.meta()?;                                   // lineage + serial: plan staleness
//! let run = store.begin_run(RunKind::Apply, "pmx apply plan.out")?;
//! let web: pmx::addr::ResourceAddress = "vm.web[0]".parse().unwrap();
//! let vmid = store.reserve_vmid("proxmox", &web, 100..1_000_000, std::time::Duration::from_secs(600))?;
//! let intent = store.begin_intent(Some(run), &web, "proxmox", "create", Some(vmid), Some("pve1"),
//!     serde_json::json!({}))?;                                // durable before the Proxmox write
//! store.intent_started(&intent, "UPID:pve1:...")?;            // once Proxmox names the task
//! store.commit_changes(Some(run), vec![
//!     Change::new(ChangeType::Created, ResourceKind::Vm, web.clone(), serde_json::json!({"name": "web-0"}))
//!         .cluster("proxmox").node("pve1").vmid(vmid).fingerprint("smbios-uuid").digest("abc123"),
//! ])?;                                                        // rows + snapshots + events, atomically
//! store.finish_intent(&intent)?;
//! store.release_vmid("proxmox", vmid)?;                       // state now holds the vmid
//! store.finish_run(run, RunOutcome::Succeeded, Some(serde_json::json!({"created": 1})))?;
//! let vm = store.vms().find_by_id(&web)?;                     // typed repositories per kind
//! # let _ = (meta, vm); Ok(()) }
//! ```
//!
//! - `Store`: open, `meta`, `list`/`get`/`require`/`find_all`, `commit_changes` (a batch in one
//!   transaction, one serial bump), `move_resource`, `snapshots`/`snapshot_at`/`history`,
//!   `begin_run`/`finish_run`/`record_event`/`events`, `lock`/`unlock`/`force_unlock`,
//!   `reserve_vmid`/`release_vmid`, `find_by_vmid_in_cluster`, `prune`, `pull`/`push`.
//! - The intent journal (`intents.rs`, apply's crash safety): `begin_intent` (committed, and
//!   synced on SQLite, before it returns), `intent_started` (the UPID), `finish_intent`,
//!   `abandon_intent`, `open_intents` (what a crash left half done, oldest first).
//! - Repositories: `vms()`, `containers()`, `pools()`, `nodes()`, `storages()` (find_all,
//!   find_by_id, create, update, delete, find_by_node, find_by_status; guests also
//!   find_by_vmid, find_by_fingerprint), and `tasks()` (UPIDs pmx ran).
//! - Tables: a resource row holds identity (address, kind, cluster, origin, node, vmid,
//!   fingerprint, digest, status) and the serial of its latest snapshot; the snapshot holds the attributes, so the
//!   current version is stored once. Events leave user/host to their run when they have one.
//! - Locks: PostgreSQL session advisory lock (+ a row naming the holder); SQLite a lock row,
//!   stale when its pid is gone from this host. Writers are expected to hold the lock; the store
//!   does not force it, so library callers (tests, tools) can choose.
//! - Identity is per cluster (the provider key, `proxmox.dc2`): a (cluster, vmid) is one guest,
//!   held by at most one address (a unique index; `commit_changes` names the holder). Rows from
//!   before schema 2 have no cluster and count as on every cluster. Origin (`managed`,
//!   `discovered`, `data`) defaults from the address (`Origin::for_address`).
//! - Times are Unix milliseconds (`Millis`); `format_millis` renders them.

/// The state schema this pmx writes; a database declaring a higher one is refused.
pub const SCHEMA_VERSION: i64 = 2;

mod commit;
mod conn;
pub mod error;
mod export;
mod history;
mod intents;
mod journal;
pub mod location;
pub mod lock;
mod locking;
pub mod model;
mod prune;
pub mod repo;
mod rows;
mod schema;
mod secrets;
mod store;
mod vmid;

pub use conn::AnyConnection;
pub use error::{Result, StateError};
pub use export::{PushReport, StateExport};
pub use history::TimelineEntry;
pub use journal::EventFilter;
pub use location::{redact_url, StateLocation};
pub use lock::LockInfo;
pub use model::*;
pub use prune::{PruneReport, RetentionPolicy};
pub use repo::{
    ContainerRepository, NodeRepository, PoolRepository, Repository, ResourceData, StorageRepository, TaskRepository,
    VmRepository,
};
pub use store::{Store, DEFAULT_WORKSPACE};
pub use vmid::VmidReservation;
