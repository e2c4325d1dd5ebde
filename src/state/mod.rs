//! The state store: diesel repositories on SQLite and PostgreSQL, snapshots, events, runs,
//! locks and VMID reservations.
pub const SCHEMA_VERSION: i64 = 1;
