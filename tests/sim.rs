//! The simulator over real sockets with a real HTTP client, split by subject. Each rule that
//! follows PVE names the PVE source function it comes from.

#[path = "sim/support.rs"]
mod support;

#[path = "sim/wire.rs"]
mod wire;

#[path = "sim/guests.rs"]
mod guests;

#[path = "sim/conformance.rs"]
mod conformance;

#[path = "sim/formats.rs"]
mod formats;

#[path = "sim/pending.rs"]
mod pending;

#[path = "sim/locks.rs"]
mod locks;

#[path = "sim/validation.rs"]
mod validation;

#[path = "sim/lxc.rs"]
mod lxc;

#[path = "sim/pools.rs"]
mod pools;

#[path = "sim/access.rs"]
mod access;

#[path = "sim/errors.rs"]
mod errors;

#[path = "sim/profile.rs"]
mod profile;

#[path = "sim/migrate.rs"]
mod migrate;

#[path = "sim/disks.rs"]
mod disks;

#[path = "sim/written.rs"]
mod written;

#[path = "sim/resources.rs"]
mod resources;

#[path = "sim/facts.rs"]
mod facts;
