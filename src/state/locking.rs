//! The store's side of workspace locks (see [`super::lock`] for how a lock is held on each
//! backend): take, release, show and clear the lock, with an event for each.

use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::conn::AnyConnection;
use super::error::{Result, StateError};
use super::lock::{process_alive, release_advisory, try_advisory, HeldLock, LockInfo, POLL};
use super::model::*;
use super::rows::{event_row, LockRow};
use super::schema::*;
use super::store::Store;

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
        self.release_advisory()?;
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
        try_advisory(&mut self.conn, self.scope.workspace_id).map_err(|e| StateError::db(&self.location, e))
    }

    fn release_advisory(&mut self) -> Result<()> {
        release_advisory(&mut self.conn, self.scope.workspace_id).map_err(|e| StateError::db(&self.location, e))
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
