//! The intent journal: apply's crash safety. Before each Proxmox write an intent row is
//! committed (durably: on SQLite with a full sync), the task's UPID is added once Proxmox names
//! it, and the row is closed when the change is committed to state. After a crash (SIGKILL,
//! power loss), the intents still open say what was half done, so the next plan or apply can
//! adopt, finish or free it.
//!
//! Each call is its own transaction, never part of a `commit_changes` batch: an intent must be
//! on disk before the write it announces, whatever happens to the rest.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::conn::AnyConnection;
use super::error::{Result, StateError};
use super::model::*;
use super::rows::IntentRow;
use super::schema::*;
use super::store::Store;
use crate::addr::ResourceAddress;

/// Which intents a query loads.
enum Which {
    All,
    Open,
    Id(String),
}

impl Store {
    /// Records that pmx is about to make a Proxmox write (`action`: `create`, `clone`,
    /// `update`, `delete`, `start`, …) and returns the intent's id. The row is committed before
    /// this returns.
    #[allow(clippy::too_many_arguments)]
    pub fn begin_intent(
        &mut self,
        run: Option<i64>,
        address: &ResourceAddress,
        cluster: &str,
        action: &str,
        vmid: Option<u32>,
        node: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<String> {
        if action.is_empty() {
            return Err(StateError::InvalidChange("an intent needs an action".into()));
        }
        let now = now_millis();
        let intent = Intent {
            id: uuid::Uuid::new_v4().to_string(),
            run_id: run,
            address: address.clone(),
            cluster: cluster.to_string(),
            action: action.to_string(),
            vmid,
            node: node.map(str::to_string),
            upid: None,
            state: IntentState::Pending,
            detail,
            reason: None,
            created_at: now,
            updated_at: now,
        };
        let ws = self.scope.workspace_id;
        let r = durably(&mut self.conn, |c| {
            c.transaction(|c| {
                let row = IntentRow::from_model(ws, last_seq(c, ws)? + 1, &intent);
                diesel::insert_into(intents::table).values(&row).execute(c)
            })
        });
        r.map_err(|e| self.db_err(e))?;
        tracing::debug!(id = %intent.id, %address, action, "intent recorded");
        Ok(intent.id)
    }

    /// Records the task Proxmox started for an intent. A started intent may be given a new UPID
    /// (the write was retried); a closed one may not.
    pub fn intent_started(&mut self, id: &str, upid: &str) -> Result<()> {
        self.move_intent(id, IntentState::Started, &[IntentState::Pending, IntentState::Started], Some(upid), None)
    }

    /// Closes an intent whose change is committed to state. Closing a done intent again is
    /// harmless; closing an abandoned one is refused.
    pub fn finish_intent(&mut self, id: &str) -> Result<()> {
        let from = [IntentState::Pending, IntentState::Started, IntentState::Done];
        self.move_intent(id, IntentState::Done, &from, None, None)
    }

    /// Closes an intent that will not complete (the write failed, or recovery found it never
    /// happened or undid it), saying why.
    pub fn abandon_intent(&mut self, id: &str, why: &str) -> Result<()> {
        let from = [IntentState::Pending, IntentState::Started, IntentState::Abandoned];
        self.move_intent(id, IntentState::Abandoned, &from, None, Some(why))
    }

    /// The intents not closed yet (pending or started), oldest first: after a crash, what
    /// was half done.
    pub fn open_intents(&mut self) -> Result<Vec<Intent>> {
        self.load_intents(Which::Open)
    }

    /// Every intent of the workspace, open or closed, oldest first.
    pub fn intents(&mut self) -> Result<Vec<Intent>> {
        self.load_intents(Which::All)
    }

    /// One intent by id.
    pub fn intent(&mut self, id: &str) -> Result<Option<Intent>> {
        Ok(self.load_intents(Which::Id(id.to_string()))?.into_iter().next())
    }

    fn load_intents(&mut self, which: Which) -> Result<Vec<Intent>> {
        let mut q = intents::table
            .filter(intents::workspace_id.eq(self.scope.workspace_id))
            .select(IntentRow::as_select())
            .order(intents::seq.asc())
            .into_boxed();
        q = match which {
            Which::All => q,
            Which::Open => {
                q.filter(intents::state.eq_any([IntentState::Pending.as_str(), IntentState::Started.as_str()]))
            }
            Which::Id(id) => q.filter(intents::id.eq(id)),
        };
        let rows: Vec<IntentRow> = q.load(&mut self.conn).map_err(|e| self.db_err(e))?;
        rows.into_iter().map(IntentRow::into_model).collect::<Result<_, _>>().map_err(|e| self.bad(e))
    }

    /// Moves an intent to `to` if it is in one of `allowed_from` (one conditional UPDATE, so
    /// two processes cannot both close it differently).
    fn move_intent(
        &mut self,
        id: &str,
        to: IntentState,
        allowed_from: &[IntentState],
        upid: Option<&str>,
        reason: Option<&str>,
    ) -> Result<()> {
        let now = now_millis();
        let ws = self.scope.workspace_id;
        let from: Vec<&str> = allowed_from.iter().map(|s| s.as_str()).collect();
        let update = |c: &mut AnyConnection| {
            let target = intents::table.find((ws, id)).filter(intents::state.eq_any(&from));
            let state = intents::state.eq(to.as_str());
            let at = intents::updated_at.eq(now);
            match (upid, reason) {
                (Some(upid), _) => diesel::update(target).set((state, intents::upid.eq(upid), at)).execute(c),
                (None, Some(why)) => diesel::update(target).set((state, intents::reason.eq(why), at)).execute(c),
                (None, None) => diesel::update(target).set((state, at)).execute(c),
            }
        };
        // The UPID is what recovery follows a running task by: as durable as the intent itself.
        let n = if to == IntentState::Started { durably(&mut self.conn, update) } else { update(&mut self.conn) };
        if n.map_err(|e| self.db_err(e))? == 1 {
            return Ok(());
        }
        Err(match self.intent(id)? {
            None => StateError::InvalidChange(format!("no intent {id} in workspace {:?}", self.scope.workspace)),
            Some(current) => StateError::InvalidChange(format!(
                "intent {id} ({} {}) is {}; it cannot become {to}",
                current.action, current.address, current.state
            )),
        })
    }
}

/// The highest `seq` of the workspace's journal (0 when empty).
pub(crate) fn last_seq(c: &mut AnyConnection, workspace_id: i64) -> QueryResult<i64> {
    let max: Option<i64> = intents::table
        .filter(intents::workspace_id.eq(workspace_id))
        .select(diesel::dsl::max(intents::seq))
        .first(c)?;
    Ok(max.unwrap_or(0))
}

/// Runs one write so that it survives a power loss once this returns. PostgreSQL commits
/// durably anyway; SQLite in WAL mode with `synchronous = NORMAL` (the store's setting) may lose
/// the last commits on power loss, so this write syncs the WAL (`synchronous = FULL`).
/// Losing a later commit (the change itself, a finish) is fine: WAL loses only a suffix, so the
/// intent is still there and still open.
fn durably<T>(conn: &mut AnyConnection, write: impl FnOnce(&mut AnyConnection) -> QueryResult<T>) -> QueryResult<T> {
    let sqlite = matches!(conn, AnyConnection::Sqlite(_));
    if sqlite {
        conn.batch_execute("PRAGMA synchronous = FULL;")?;
    }
    let result = write(conn);
    if sqlite {
        let restored = conn.batch_execute("PRAGMA synchronous = NORMAL;");
        if result.is_ok() {
            restored?;
        }
    }
    result
}
