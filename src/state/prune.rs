//! Snapshot retention: keep the last N versions of each resource and/or those younger than a
//! maximum age. The current version of a resource in state is never pruned. Events are an
//! append-only audit trail and are never pruned. Closed intents (done or abandoned) of the
//! apply journal follow the same rules per address; open ones are never pruned.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use diesel::prelude::*;
use serde::Serialize;

use super::error::{Result, StateError};
use super::model::*;
use super::rows::event_row;
use super::schema::*;
use super::store::Store;

/// Which snapshots to keep. With both limits, a snapshot goes when either says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep this many newest snapshots per address (at least 1).
    pub keep_last: Option<u32>,
    /// Drop snapshots older than this.
    pub max_age: Option<Duration>,
}

/// What `prune` did (or would do, on a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub examined: u64,
    pub deleted: u64,
    pub kept: u64,
    /// Closed intents (done or abandoned) deleted, or that would be.
    pub intents_deleted: u64,
    pub dry_run: bool,
}

impl Store {
    pub fn prune(&mut self, policy: RetentionPolicy, dry_run: bool) -> Result<PruneReport> {
        if policy.keep_last.is_none() && policy.max_age.is_none() {
            return Err(StateError::InvalidChange("prune needs --keep N and/or --max-age DURATION".into()));
        }
        if policy.keep_last == Some(0) {
            return Err(StateError::InvalidChange("--keep must be at least 1".into()));
        }
        let now = now_millis();
        let cutoff = policy.max_age.map(|d| now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
        let ws = self.scope.workspace_id;
        let all: Vec<(String, i64, i64)> = snapshots::table
            .filter(snapshots::workspace_id.eq(ws))
            .select((snapshots::address, snapshots::serial, snapshots::created_at))
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        let current: HashSet<(String, i64)> = resources::table
            .filter(resources::workspace_id.eq(ws))
            .select((resources::address, resources::serial))
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?
            .into_iter()
            .collect();

        let mut by_address: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for (address, serial, created_at) in all.iter().cloned() {
            by_address.entry(address).or_default().push((serial, created_at));
        }
        let mut doomed: Vec<(String, i64)> = Vec::new();
        for (address, mut versions) in by_address {
            versions.sort_by_key(|v| std::cmp::Reverse(v.0)); // newest first
            for (rank, (serial, created_at)) in versions.into_iter().enumerate() {
                let beyond_count = policy.keep_last.is_some_and(|n| rank >= n as usize);
                // Only what is younger than max_age survives: max_age 0 takes every old version, even one
                // written this millisecond.
                let too_old = cutoff.is_some_and(|c| created_at <= c);
                if (beyond_count || too_old) && !current.contains(&(address.clone(), serial)) {
                    doomed.push((address.clone(), serial));
                }
            }
        }
        let doomed_intents = self.prunable_intents(policy, cutoff)?;
        let report = PruneReport {
            examined: all.len() as u64,
            deleted: doomed.len() as u64,
            kept: (all.len() - doomed.len()) as u64,
            intents_deleted: doomed_intents.len() as u64,
            dry_run,
        };
        if dry_run || (doomed.is_empty() && doomed_intents.is_empty()) {
            return Ok(report);
        }
        let payload = serde_json::json!({
            "deleted": report.deleted,
            "intents_deleted": report.intents_deleted,
            "keep_last": policy.keep_last,
            "max_age_seconds": policy.max_age.map(|d| d.as_secs()),
        });
        self.transaction(|c, scope| {
            for (address, serial) in &doomed {
                diesel::delete(snapshots::table.find((scope.workspace_id, address, serial))).execute(c)?;
            }
            for id in &doomed_intents {
                diesel::delete(intents::table.find((scope.workspace_id, id))).execute(c)?;
            }
            let ev = event_row(scope, None, EventKind::SnapshotsPruned, None, None, Some(payload), now);
            diesel::insert_into(events::table).values(&ev).execute(c)?;
            Ok(())
        })?;
        Ok(report)
    }
}

impl Store {
    /// Ids of the closed intents the policy drops: per address, beyond the newest `keep_last`,
    /// or closed at or before the age cutoff.
    fn prunable_intents(&mut self, policy: RetentionPolicy, cutoff: Option<Millis>) -> Result<Vec<String>> {
        let closed = [IntentState::Done.as_str(), IntentState::Abandoned.as_str()];
        let rows: Vec<(String, String, i64, i64)> = intents::table
            .filter(intents::workspace_id.eq(self.scope.workspace_id))
            .filter(intents::state.eq_any(closed))
            .select((intents::id, intents::address, intents::seq, intents::updated_at))
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        let mut by_address: HashMap<String, Vec<(String, i64, i64)>> = HashMap::new();
        for (id, address, seq, updated_at) in rows {
            by_address.entry(address).or_default().push((id, seq, updated_at));
        }
        let mut doomed = Vec::new();
        for (_, mut intents) in by_address {
            intents.sort_by_key(|i| std::cmp::Reverse(i.1)); // newest first
            for (rank, (id, _, closed_at)) in intents.into_iter().enumerate() {
                let beyond_count = policy.keep_last.is_some_and(|n| rank >= n as usize);
                let too_old = cutoff.is_some_and(|c| closed_at <= c);
                if beyond_count || too_old {
                    doomed.push(id);
                }
            }
        }
        doomed.sort();
        Ok(doomed)
    }
}
