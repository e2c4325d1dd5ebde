//! History: the snapshots of a resource (or the workspace) and the events around them, as one
//! timeline.

use diesel::prelude::*;
use serde::Serialize;

use super::error::Result;
use super::journal::EventFilter;
use super::model::*;
use super::rows::*;
use super::schema::*;
use super::store::Store;
use crate::addr::ResourceAddress;

/// One line of `pmx state history`: a snapshot (with who wrote it) or another event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub at: Millis,
    /// `snapshot` or `event`.
    pub entry: &'static str,
    /// The change type of a snapshot, or the kind of an event.
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<ResourceAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    pub user: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    /// Orders entries written in the same millisecond: the id of the (folded) event.
    #[serde(skip)]
    pub seq: i64,
}

impl Store {
    /// Snapshots of one resource, oldest first (attributes included).
    pub fn snapshots(&mut self, address: &ResourceAddress) -> Result<Vec<Snapshot>> {
        let rows: Vec<SnapshotRow> = snapshots::table
            .filter(snapshots::workspace_id.eq(self.scope.workspace_id))
            .filter(snapshots::address.eq(address.to_string()))
            .order(snapshots::serial.asc())
            .select(SnapshotRow::as_select())
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        rows.into_iter().map(SnapshotRow::into_model).collect::<Result<_, _>>().map_err(|e| self.bad(e))
    }

    /// One version of a resource: the snapshot written at `serial`.
    pub fn snapshot_at(&mut self, address: &ResourceAddress, serial: i64) -> Result<Option<Snapshot>> {
        let row: Option<SnapshotRow> = snapshots::table
            .find((self.scope.workspace_id, address.to_string(), serial))
            .select(SnapshotRow::as_select())
            .first(&mut self.conn)
            .optional()
            .map_err(|e| self.db_err(e))?;
        row.map(SnapshotRow::into_model).transpose().map_err(|e| self.bad(e))
    }

    /// The timeline of one resource, or of the whole workspace: each snapshot once (the event
    /// that accompanied it supplies who and why), plus every other event. Oldest first.
    pub fn history(&mut self, address: Option<&ResourceAddress>, limit: Option<i64>) -> Result<Vec<TimelineEntry>> {
        let mut snaps = snapshots::table
            .filter(snapshots::workspace_id.eq(self.scope.workspace_id))
            .select((
                snapshots::address,
                snapshots::serial,
                snapshots::change,
                snapshots::run_id,
                snapshots::created_at,
            ))
            .order(snapshots::created_at.desc())
            .into_boxed();
        if let Some(a) = address {
            snaps = snaps.filter(snapshots::address.eq(a.to_string()));
        }
        if let Some(limit) = limit {
            snaps = snaps.limit(limit);
        }
        let snaps: Vec<(String, i64, String, Option<i64>, i64)> =
            snaps.load(&mut self.conn).map_err(|e| self.db_err(e))?;
        let events = self.events(&EventFilter { address: address.cloned(), limit, ..Default::default() })?;

        // Resource-change events are folded into their snapshot entry.
        let mut by_key = std::collections::HashMap::new();
        let mut out = Vec::new();
        for ev in events {
            let is_change_event = ev.serial.is_some() && ev.address.is_some();
            if is_change_event {
                by_key.insert((ev.address.as_ref().map(|a| a.to_string()), ev.serial), ev);
            } else {
                out.push(TimelineEntry {
                    at: ev.created_at,
                    entry: "event",
                    what: ev.kind.to_string(),
                    address: ev.address,
                    serial: ev.serial,
                    run_id: ev.run_id,
                    user: ev.user,
                    host: ev.host,
                    payload: ev.payload,
                    seq: ev.id,
                });
            }
        }
        let mut runs: std::collections::HashMap<i64, Option<(String, String)>> = std::collections::HashMap::new();
        for (addr, serial, change, run_id, at) in snaps {
            let ev = by_key.remove(&(Some(addr.clone()), Some(serial)));
            // A snapshot without its own event (the source side of a move) takes who from its run.
            let from_run = match (&ev, run_id) {
                (None, Some(id)) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = runs.entry(id) {
                        slot.insert(self.run(id).ok().map(|r| (r.user, r.host)));
                    }
                    runs.get(&id).cloned().flatten()
                }
                _ => None,
            };
            out.push(TimelineEntry {
                at,
                entry: "snapshot",
                what: change,
                address: Some(parse_address(&addr).map_err(|e| self.bad(e))?),
                serial: Some(serial),
                run_id,
                user: ev
                    .as_ref()
                    .map(|e| e.user.clone())
                    .or_else(|| from_run.as_ref().map(|w| w.0.clone()))
                    .unwrap_or_default(),
                host: ev
                    .as_ref()
                    .map(|e| e.host.clone())
                    .or_else(|| from_run.as_ref().map(|w| w.1.clone()))
                    .unwrap_or_default(),
                seq: ev.as_ref().map(|e| e.id).unwrap_or(i64::MAX),
                payload: ev.and_then(|e| e.payload),
            });
        }
        out.sort_by_key(|e| (e.at, e.seq));
        if let Some(limit) = limit.and_then(|l| usize::try_from(l).ok()) {
            let skip = out.len().saturating_sub(limit);
            out.drain(..skip);
        }
        Ok(out)
    }
}
