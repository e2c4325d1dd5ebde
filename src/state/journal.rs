//! Runs and the audit trail: who did what, when, and how it ended.

use std::collections::HashMap;

use diesel::prelude::*;

use super::error::Result;
use super::model::*;
use super::rows::*;
use super::schema::*;
use super::store::Store;
use crate::addr::ResourceAddress;

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events at or after this time.
    pub since: Option<Millis>,
    pub kind: Option<EventKind>,
    pub address: Option<ResourceAddress>,
    pub run_id: Option<i64>,
    /// At most this many, the newest (returned oldest first).
    pub limit: Option<i64>,
}

impl Store {
    /// Starts a run; ReconciliationStarted is recorded for apply, import and refresh.
    pub fn begin_run(&mut self, kind: RunKind, command: &str) -> Result<i64> {
        let now = now_millis();
        let actor = self.scope.actor.clone();
        let row = NewRun {
            workspace_id: self.scope.workspace_id,
            kind: kind.as_str().to_string(),
            command: command.to_string(),
            user_name: actor.user,
            host: actor.host,
            pid: i64::from(actor.pid),
            started_at: now,
            finished_at: None,
            outcome: RunOutcome::Running.as_str().to_string(),
            counts: None,
        };
        let id = self.transaction(|c, scope| {
            let id: i64 = diesel::insert_into(runs::table).values(&row).returning(runs::id).get_result(c)?;
            if reconciles(kind) {
                let payload = serde_json::json!({"kind": kind, "command": command});
                let ev = event_row(scope, Some(id), EventKind::ReconciliationStarted, None, None, Some(payload), now);
                diesel::insert_into(events::table).values(&ev).execute(c)?;
            }
            Ok(id)
        })?;
        Ok(id)
    }

    /// Ends a run with its outcome and counts; ReconciliationCompleted (and ApplyFailed for a
    /// failed apply) goes into the trail.
    pub fn finish_run(&mut self, run: i64, outcome: RunOutcome, counts: Option<serde_json::Value>) -> Result<()> {
        let now = now_millis();
        let kind = self.run(run)?.kind;
        self.transaction(|c, scope| {
            diesel::update(runs::table.find(run).filter(runs::workspace_id.eq(scope.workspace_id)))
                .set((
                    runs::finished_at.eq(Some(now)),
                    runs::outcome.eq(outcome.as_str()),
                    runs::counts.eq(counts.as_ref().map(|c| c.to_string())),
                ))
                .execute(c)?;
            let payload = serde_json::json!({"outcome": outcome, "counts": counts});
            if reconciles(kind) {
                let ev = event_row(
                    scope,
                    Some(run),
                    EventKind::ReconciliationCompleted,
                    None,
                    None,
                    Some(payload.clone()),
                    now,
                );
                diesel::insert_into(events::table).values(&ev).execute(c)?;
            }
            if kind == RunKind::Apply && outcome == RunOutcome::Failed {
                let ev = event_row(scope, Some(run), EventKind::ApplyFailed, None, None, Some(payload), now);
                diesel::insert_into(events::table).values(&ev).execute(c)?;
            }
            Ok(())
        })
    }

    /// One run of this workspace.
    pub fn run(&mut self, id: i64) -> Result<Run> {
        let row: RunRow = runs::table
            .find(id)
            .filter(runs::workspace_id.eq(self.scope.workspace_id))
            .select(RunRow::as_select())
            .first(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        row.into_model().map_err(|e| self.bad(e))
    }

    /// The latest runs, newest first.
    pub fn runs(&mut self, limit: i64) -> Result<Vec<Run>> {
        let rows: Vec<RunRow> = runs::table
            .filter(runs::workspace_id.eq(self.scope.workspace_id))
            .order(runs::id.desc())
            .limit(limit)
            .select(RunRow::as_select())
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        rows.into_iter().map(RunRow::into_model).collect::<Result<_, _>>().map_err(|e| self.bad(e))
    }

    /// Appends one event to the trail (e.g. PlanSaved with the plan's hash in the payload).
    pub fn record_event(
        &mut self,
        run: Option<i64>,
        kind: EventKind,
        address: Option<&ResourceAddress>,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        let ev = event_row(&self.scope, run, kind, address.map(|a| a.to_string()), None, payload, now_millis());
        diesel::insert_into(events::table).values(&ev).execute(&mut self.conn).map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Events matching `filter`, oldest first, with user and host filled in from their run.
    pub fn events(&mut self, filter: &EventFilter) -> Result<Vec<Event>> {
        let mut query = events::table
            .filter(events::workspace_id.eq(self.scope.workspace_id))
            .select(EventRow::as_select())
            .order(events::id.desc())
            .into_boxed();
        if let Some(since) = filter.since {
            query = query.filter(events::created_at.ge(since));
        }
        if let Some(kind) = filter.kind {
            query = query.filter(events::kind.eq(kind.as_str()));
        }
        if let Some(address) = &filter.address {
            query = query.filter(events::address.eq(address.to_string()));
        }
        if let Some(run) = filter.run_id {
            query = query.filter(events::run_id.eq(run));
        }
        if let Some(limit) = filter.limit {
            query = query.limit(limit);
        }
        let mut rows: Vec<EventRow> = query.load(&mut self.conn).map_err(|e| self.db_err(e))?;
        rows.reverse();
        self.resolve_events(rows)
    }

    pub(crate) fn resolve_events(&mut self, rows: Vec<EventRow>) -> Result<Vec<Event>> {
        let mut run_ids: Vec<i64> = rows.iter().filter_map(|r| r.run_id).collect();
        run_ids.sort_unstable();
        run_ids.dedup();
        let mut runs_by_id = HashMap::new();
        for id in run_ids {
            let row: Option<RunRow> = runs::table
                .find(id)
                .select(RunRow::as_select())
                .first(&mut self.conn)
                .optional()
                .map_err(|e| self.db_err(e))?;
            if let Some(row) = row {
                runs_by_id.insert(id, row);
            }
        }
        rows.into_iter()
            .map(|r| {
                let run = r.run_id.and_then(|id| runs_by_id.get(&id));
                r.into_model(run)
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.bad(e))
    }
}

fn reconciles(kind: RunKind) -> bool {
    matches!(kind, RunKind::Apply | RunKind::Import | RunKind::Refresh)
}
