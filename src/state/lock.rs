//! Workspace locks: one writer per workspace for the whole of a command.
//!
//! PostgreSQL: a session-level advisory lock (it dies with the connection, so a crashed holder
//! never leaves the workspace locked); the `locks` row only names the holder for messages.
//! SQLite: the `locks` row is the lock (its primary key admits one holder); a row whose process
//! is gone from this host is stale and is taken over, and `pmx state unlock ID` clears any.
//!
//! This file holds the lock types and the backend primitives; it depends on nothing above the
//! connection, so the store can hold a [`HeldLock`] and `locking.rs` can drive it.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use serde::Serialize;

use super::conn::AnyConnection;
use super::model::*;
use super::rows::LockRow;

/// How often a waiting process looks again.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// Advisory-lock keys of workspaces live in this namespace (high 32 bits: "pmx\0").
const PG_LOCK_NAMESPACE: i64 = 0x706d_7800 << 32;

/// Who holds (or held) a workspace lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    pub id: String,
    pub workspace: String,
    pub user: String,
    pub host: String,
    pub pid: i64,
    pub command: String,
    pub acquired_at: Millis,
}

impl LockInfo {
    pub(crate) fn from_row(row: LockRow, workspace: &str) -> Self {
        LockInfo {
            id: row.lock_id,
            workspace: workspace.to_string(),
            user: row.user_name,
            host: row.host,
            pid: row.pid,
            command: row.command,
            acquired_at: row.acquired_at,
        }
    }

    /// "alice@host1 (pid 42) running `pmx state rm vm.a` since 2026-…Z"
    pub fn describe(&self) -> String {
        format!(
            "{}@{} (pid {}) running `{}` since {}",
            self.user,
            self.host,
            self.pid,
            self.command,
            format_millis(self.acquired_at)
        )
    }
}

/// The lock this store holds.
#[derive(Debug, Clone)]
pub(crate) struct HeldLock {
    pub info: LockInfo,
}

#[derive(QueryableByName)]
struct Acquired {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

/// Takes the workspace's advisory lock if it is free (PostgreSQL); true on SQLite, where the
/// `locks` row is the lock.
pub(crate) fn try_advisory(conn: &mut AnyConnection, workspace_id: i64) -> QueryResult<bool> {
    let AnyConnection::Postgresql(pg) = conn else { return Ok(true) };
    diesel::sql_query("SELECT pg_try_advisory_lock($1) AS ok")
        .bind::<BigInt, _>(PG_LOCK_NAMESPACE | workspace_id)
        .get_result::<Acquired>(pg)
        .map(|a| a.ok)
}

/// Releases the workspace's advisory lock (PostgreSQL; nothing to do on SQLite).
pub(crate) fn release_advisory(conn: &mut AnyConnection, workspace_id: i64) -> QueryResult<()> {
    let AnyConnection::Postgresql(pg) = conn else { return Ok(()) };
    diesel::sql_query("SELECT pg_advisory_unlock($1) AS ok")
        .bind::<BigInt, _>(PG_LOCK_NAMESPACE | workspace_id)
        .get_result::<Acquired>(pg)
        .map(|_| ())
}

/// Whether a process with this pid exists on this host.
pub(crate) fn process_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks whether the process exists; it sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
