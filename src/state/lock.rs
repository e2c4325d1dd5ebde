//! Workspace locks: one writer per workspace for the whole of a command.
//!
//! PostgreSQL: a session-level advisory lock (it dies with the connection, so a crashed holder
//! never leaves the workspace locked); the `locks` row only names the holder for messages.
//! SQLite: the `locks` row is the lock (its primary key admits one holder); a row whose process
//! is gone from this host is stale and is taken over, and `pmx state unlock ID` clears any.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use serde::Serialize;

use super::commit::event_row;
use super::conn::AnyConnection;
use super::error::{Result, StateError};
use super::model::*;
use super::rows::LockRow;
use super::schema::*;
use super::store::Store;

/// How often a waiting process looks again.
const POLL: Duration = Duration::from_millis(100);

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
    fn from_row(row: LockRow, workspace: &str) -> Self {
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

impl Store {
    /// Takes the workspace's exclusive lock for `command`, waiting up to `timeout` for another
    /// holder. Fails naming the holder. Held until `unlock` or until the store is dropped.
    pub fn lock(&mut self, command: &str, timeout: Duration) -> Result<LockInfo> {
        if let Some(held) = &self.lock {
            return Ok(held.info.clone());
        }
        let started = Instant::now();
        let mut last_holder: Option<LockInfo> = None;
        loop {
            match self.try_lock(command)? {
                Ok(info) => {
                    self.lock = Some(HeldLock { info: info.clone() });
                    let payload = serde_json::json!({"lock_id": info.id, "command": command});
                    self.record_event(None, EventKind::LockAcquired, None, Some(payload))?;
                    return Ok(info);
                }
                Err(holder) => {
                    if let Some(h) = &holder {
                        if self.is_stale(h) {
                            self.break_lock(h, "its process is gone")?;
                            continue;
                        }
                    }
                    last_holder = holder.or(last_holder);
                }
            }
            let waited = started.elapsed();
            if waited >= timeout {
                let (who, id) = match &last_holder {
                    Some(h) => (h.describe(), h.id.clone()),
                    None => ("another PostgreSQL session".to_string(), "ID".to_string()),
                };
                return Err(StateError::Locked(
                    format!(
                        "workspace {:?} is locked by {who} (lock ID {id}); gave up after {:.1}s",
                        self.scope.workspace,
                        waited.as_secs_f64()
                    ),
                    id,
                ));
            }
            if waited.is_zero() || last_holder.is_some() {
                tracing::info!(holder = ?last_holder.as_ref().map(LockInfo::describe), "waiting for the workspace lock");
            }
            std::thread::sleep(POLL.min(timeout - waited));
        }
    }

    /// Releases the lock this store holds (a no-op when it holds none).
    pub fn unlock(&mut self) -> Result<()> {
        let Some(held) = self.lock.take() else { return Ok(()) };
        let ws = self.scope.workspace_id;
        diesel::delete(locks::table.find(ws).filter(locks::lock_id.eq(&held.info.id)))
            .execute(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        if let AnyConnection::Postgresql(pg) = &mut self.conn {
            diesel::sql_query("SELECT pg_advisory_unlock($1) AS ok")
                .bind::<BigInt, _>(PG_LOCK_NAMESPACE | ws)
                .get_result::<Acquired>(pg)
                .map_err(|e| StateError::db(&self.location, e))?;
        }
        let payload = serde_json::json!({"lock_id": held.info.id});
        self.record_event(None, EventKind::LockReleased, None, Some(payload))
    }

    /// The lock this store holds, if any.
    pub fn held_lock(&self) -> Option<&LockInfo> {
        self.lock.as_ref().map(|h| &h.info)
    }

    /// Who holds the workspace now, as far as the `locks` table says.
    pub fn lock_holder(&mut self) -> Result<Option<LockInfo>> {
        let row: Option<LockRow> = locks::table
            .find(self.scope.workspace_id)
            .select(LockRow::as_select())
            .first(&mut self.conn)
            .optional()
            .map_err(|e| self.db_err(e))?;
        Ok(row.map(|r| LockInfo::from_row(r, &self.scope.workspace)))
    }

    /// `pmx state unlock ID`: clears the lock with this ID. On PostgreSQL a lock whose session
    /// is still alive cannot be cleared (it ends with that process); only its stale record can.
    pub fn force_unlock(&mut self, id: &str) -> Result<LockInfo> {
        let holder = self.lock_holder()?;
        let Some(holder) = holder.filter(|h| h.id == id) else {
            let detail = match self.lock_holder()? {
                Some(h) => format!("; the lock held now is {} ({})", h.id, h.describe()),
                None => "; the workspace is not locked".to_string(),
            };
            return Err(StateError::NoSuchLock { id: id.to_string(), workspace: self.scope.workspace.clone(), detail });
        };
        if self.conn_is_postgres() {
            match self.try_advisory()? {
                true => self.release_advisory()?,
                false => {
                    return Err(StateError::NoSuchLock {
                        id: id.to_string(),
                        workspace: self.scope.workspace.clone(),
                        detail: format!(
                            " that can be cleared: it is held by a live PostgreSQL session, {}; it ends when that process exits",
                            holder.describe()
                        ),
                    })
                }
            }
        }
        self.break_lock(&holder, "cleared by pmx state unlock")?;
        Ok(holder)
    }

    fn conn_is_postgres(&self) -> bool {
        matches!(self.conn, AnyConnection::Postgresql(_))
    }

    /// One attempt: Ok(Ok(info)) when taken; Ok(Err(holder)) when someone else has it.
    fn try_lock(&mut self, command: &str) -> Result<Result<LockInfo, Option<LockInfo>>> {
        let actor = self.scope.actor.clone();
        let row = LockRow {
            workspace_id: self.scope.workspace_id,
            lock_id: uuid::Uuid::new_v4().to_string(),
            user_name: actor.user,
            host: actor.host,
            pid: i64::from(actor.pid),
            command: command.to_string(),
            acquired_at: now_millis(),
        };
        let info = LockInfo::from_row(row.clone(), &self.scope.workspace);
        if self.conn_is_postgres() {
            if !self.try_advisory()? {
                return Ok(Err(self.lock_holder()?));
            }
            // We hold the advisory lock: any row left is a dead session's; replace it.
            self.transaction(|c, scope| {
                diesel::delete(locks::table.find(scope.workspace_id)).execute(c)?;
                diesel::insert_into(locks::table).values(&row).execute(c)?;
                Ok(())
            })?;
            return Ok(Ok(info));
        }
        match diesel::insert_into(locks::table).values(&row).execute(&mut self.conn) {
            Ok(_) => Ok(Ok(info)),
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                Ok(Err(self.lock_holder()?))
            }
            Err(e) => Err(self.db_err(e)),
        }
    }

    fn try_advisory(&mut self) -> Result<bool> {
        let key = PG_LOCK_NAMESPACE | self.scope.workspace_id;
        let AnyConnection::Postgresql(pg) = &mut self.conn else { return Ok(true) };
        let r = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS ok")
            .bind::<BigInt, _>(key)
            .get_result::<Acquired>(pg);
        r.map(|a| a.ok).map_err(|e| StateError::db(&self.location, e))
    }

    fn release_advisory(&mut self) -> Result<()> {
        let key = PG_LOCK_NAMESPACE | self.scope.workspace_id;
        let AnyConnection::Postgresql(pg) = &mut self.conn else { return Ok(()) };
        let r =
            diesel::sql_query("SELECT pg_advisory_unlock($1) AS ok").bind::<BigInt, _>(key).get_result::<Acquired>(pg);
        r.map(|_| ()).map_err(|e| StateError::db(&self.location, e))
    }

    /// A SQLite lock row is stale when its holder ran on this host and that process is gone.
    /// (On PostgreSQL the advisory lock itself tells; rows never block.)
    fn is_stale(&self, holder: &LockInfo) -> bool {
        !self.conn_is_postgres() && holder.host == self.scope.actor.host && !process_alive(holder.pid)
    }

    fn break_lock(&mut self, holder: &LockInfo, why: &str) -> Result<()> {
        tracing::warn!(lock = %holder.id, holder = %holder.describe(), "breaking workspace lock: {why}");
        let now = now_millis();
        let holder = holder.clone();
        let why = why.to_string();
        self.transaction(|c, scope| {
            diesel::delete(locks::table.find(scope.workspace_id).filter(locks::lock_id.eq(&holder.id))).execute(c)?;
            let payload = serde_json::json!({"lock_id": holder.id, "holder": holder, "reason": why});
            let ev = event_row(scope, None, EventKind::LockBroken, None, None, Some(payload), now);
            diesel::insert_into(events::table).values(&ev).execute(c)?;
            Ok(())
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.lock.is_some() {
            if let Err(e) = self.unlock() {
                tracing::warn!("could not release the workspace lock: {e}");
            }
        }
    }
}

/// Whether a process with this pid exists on this host.
fn process_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks whether the process exists; it sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
