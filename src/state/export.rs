//! `pmx state pull` / `push`: a workspace as one JSON document, to back it up or to move it
//! between SQLite and PostgreSQL.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::commit::bump_serial;
use super::conn::on_backend;
use super::error::{Result, StateError};
use super::model::*;
use super::rows::*;
use super::schema::*;
use super::store::{Store, TxError};
use super::SCHEMA_VERSION;

pub const EXPORT_FORMAT: &str = "pmx-state";
/// 2: resources and snapshots carry `cluster` and `origin`; the intent journal comes along.
/// Version 1 exports still load (origins then follow from the addresses, as migration 2 does).
pub const EXPORT_FORMAT_VERSION: u32 = 2;

/// A whole workspace: current resources and their full history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateExport {
    pub format: String,
    pub format_version: u32,
    pub schema_version: i64,
    pub pmx_version: String,
    pub workspace: String,
    pub lineage: String,
    pub serial: i64,
    pub exported_at: Millis,
    pub resources: Vec<StoredResource>,
    #[serde(default)]
    pub snapshots: Vec<Snapshot>,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub runs: Vec<Run>,
    #[serde(default)]
    pub tasks: Vec<TaskRecord>,
    #[serde(default)]
    pub intents: Vec<Intent>,
}

/// What `push` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    pub resources: u64,
    pub snapshots: u64,
    pub events: u64,
    pub runs: u64,
    /// Intent journal entries copied (those whose id the workspace did not have).
    pub intents: u64,
    /// Serial of the workspace after the push.
    pub serial: i64,
    /// Whether history (events, runs) came along: only into an empty workspace.
    pub history_copied: bool,
}

impl StateExport {
    /// Reads and checks an export; `source_name` names it in errors.
    pub fn from_json(text: &str, source_name: &str) -> Result<StateExport> {
        let err = |reason: String, help: Option<String>| StateError::Push {
            source_name: source_name.to_string(),
            reason,
            help,
        };
        let mut export: StateExport = serde_json::from_str(text).map_err(|e| {
            err(format!("not a pmx state export: {e}"), Some("make it with `pmx state pull > FILE`".into()))
        })?;
        if export.format != EXPORT_FORMAT {
            return Err(err(format!("format is {:?}, expected {EXPORT_FORMAT:?}", export.format), None));
        }
        if export.format_version > EXPORT_FORMAT_VERSION || export.schema_version > SCHEMA_VERSION {
            return Err(err(
                format!(
                    "it was written by a newer pmx ({}, state schema {}); this pmx understands schema {SCHEMA_VERSION}",
                    export.pmx_version, export.schema_version
                ),
                Some("upgrade pmx".into()),
            ));
        }
        if export.format_version < 2 {
            for r in &mut export.resources {
                r.origin = Origin::for_address(&r.address);
            }
            for s in &mut export.snapshots {
                s.origin = Origin::for_address(&s.address);
            }
        }
        Ok(export)
    }
}

impl Store {
    /// Exports this workspace.
    pub fn pull(&mut self) -> Result<StateExport> {
        let meta = self.meta()?;
        let resources = self.find_all(None)?;
        let ws = self.scope.workspace_id;
        let snaps: Vec<SnapshotRow> = snapshots::table
            .filter(snapshots::workspace_id.eq(ws))
            .order((snapshots::serial.asc(), snapshots::address.asc()))
            .select(SnapshotRow::as_select())
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        let snapshots =
            snaps.into_iter().map(SnapshotRow::into_model).collect::<Result<Vec<_>, _>>().map_err(|e| self.bad(e))?;
        let events = self.events(&super::journal::EventFilter::default())?;
        let mut runs = self.runs(i64::MAX)?;
        runs.reverse();
        let tasks = self.tasks().find_all()?;
        let intents = self.intents()?;
        Ok(StateExport {
            format: EXPORT_FORMAT.into(),
            format_version: EXPORT_FORMAT_VERSION,
            schema_version: SCHEMA_VERSION,
            pmx_version: env!("CARGO_PKG_VERSION").into(),
            workspace: meta.workspace,
            lineage: meta.lineage,
            serial: meta.serial,
            exported_at: now_millis(),
            resources,
            snapshots,
            events,
            runs,
            tasks,
            intents,
        })
    }

    /// Loads an export into this workspace, in one transaction.
    ///
    /// Into an empty workspace everything comes along (lineage, serial, history). Over existing
    /// state the export must be of the same lineage and newer, unless `force`; then resources
    /// and snapshots are replaced, the events and runs already here stay (the trail is
    /// append-only), and the serial still moves forward so plans made before are stale.
    pub fn push(&mut self, export: &StateExport, force: bool) -> Result<PushReport> {
        let meta = self.meta()?;
        let resource_count = self.list(None)?.len();
        let empty = meta.serial == 0 && resource_count == 0;
        let refuse = |reason: String| StateError::Push {
            source_name: format!("workspace {:?}", meta.workspace),
            reason,
            help: Some("pass --force to replace the state anyway".into()),
        };
        if !empty && !force {
            if export.lineage != meta.lineage {
                return Err(refuse(format!(
                    "the export's lineage {} differs from the workspace's {}: it is another state",
                    export.lineage, meta.lineage
                )));
            }
            if export.serial <= meta.serial {
                return Err(refuse(format!(
                    "the export (serial {}) is not newer than the workspace (serial {})",
                    export.serial, meta.serial
                )));
            }
        }
        let now = now_millis();
        self.transaction(|c, scope| {
            let ws = scope.workspace_id;
            let current_serial = bump_serial(c, scope)?;
            diesel::delete(resources::table.filter(resources::workspace_id.eq(ws))).execute(c)?;
            diesel::delete(snapshots::table.filter(snapshots::workspace_id.eq(ws))).execute(c)?;
            diesel::delete(tasks::table.filter(tasks::workspace_id.eq(ws))).execute(c)?;

            // Runs get new ids here; snapshots, events and tasks follow them.
            let mut run_ids: HashMap<i64, i64> = HashMap::new();
            if empty {
                for run in &export.runs {
                    let row = NewRun {
                        workspace_id: ws,
                        kind: run.kind.as_str().into(),
                        command: run.command.clone(),
                        user_name: run.user.clone(),
                        host: run.host.clone(),
                        pid: run.pid,
                        started_at: run.started_at,
                        finished_at: run.finished_at,
                        outcome: run.outcome.as_str().into(),
                        counts: run.counts.as_ref().map(|c| c.to_string()),
                    };
                    let id: i64 = diesel::insert_into(runs::table).values(&row).returning(runs::id).get_result(c)?;
                    run_ids.insert(run.id, id);
                }
            }
            let map_run = |r: Option<i64>| r.and_then(|r| run_ids.get(&r).copied());

            let mut snap_rows: Vec<SnapshotRow> = export
                .snapshots
                .iter()
                .map(|s| SnapshotRow {
                    workspace_id: ws,
                    address: s.address.to_string(),
                    serial: s.serial,
                    change: s.change.as_str().into(),
                    kind: s.kind.as_str().into(),
                    run_id: map_run(s.run_id),
                    created_at: s.created_at,
                    node: s.identity.node.clone(),
                    vmid: s.identity.vmid.map(i64::from),
                    fingerprint: s.identity.fingerprint.clone(),
                    digest: s.digest.clone(),
                    status: s.status.clone(),
                    attributes: s.attributes.as_ref().map(|a| a.to_string()),
                    cluster: s.cluster.clone(),
                    origin: s.origin.as_str().into(),
                })
                .collect();
            let have: HashSet<(String, i64)> = snap_rows.iter().map(|s| (s.address.clone(), s.serial)).collect();
            let mut res_rows = Vec::with_capacity(export.resources.len());
            for r in &export.resources {
                let row = ResourceRow {
                    workspace_id: ws,
                    address: r.address.to_string(),
                    kind: r.kind.as_str().into(),
                    node: r.identity.node.clone(),
                    vmid: r.identity.vmid.map(i64::from),
                    fingerprint: r.identity.fingerprint.clone(),
                    digest: r.digest.clone(),
                    status: r.status.clone(),
                    serial: r.serial,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    cluster: r.cluster.clone(),
                    origin: r.origin.as_str().into(),
                };
                // A resource's attributes live in its snapshot; an export without history
                // still carries them on the resource.
                if !have.contains(&(row.address.clone(), row.serial)) {
                    let attrs = Some(r.attributes.to_string());
                    snap_rows.push(snapshot_row(scope, &row, None, ChangeType::Imported, attrs, now));
                }
                res_rows.push(row);
            }
            for chunk in res_rows.chunks(1000) {
                on_backend!(&mut *c, |b| diesel::insert_into(resources::table).values(chunk).execute(b))?;
            }
            for chunk in snap_rows.chunks(1000) {
                on_backend!(&mut *c, |b| diesel::insert_into(snapshots::table).values(chunk).execute(b))?;
            }
            let mut event_count = 0;
            if empty {
                let rows: Vec<NewEvent> = export
                    .events
                    .iter()
                    .map(|e| NewEvent {
                        workspace_id: ws,
                        run_id: map_run(e.run_id),
                        kind: e.kind.as_str().into(),
                        address: e.address.as_ref().map(|a| a.to_string()),
                        serial: e.serial,
                        user_name: Some(e.user.clone()),
                        host: Some(e.host.clone()),
                        payload: e.payload.as_ref().map(|p| p.to_string()),
                        created_at: e.created_at,
                    })
                    .collect();
                for chunk in rows.chunks(1000) {
                    on_backend!(&mut *c, |b| diesel::insert_into(events::table).values(chunk).execute(b))?;
                }
                event_count = rows.len() as u64;
                let task_rows: Vec<TaskRow> = export
                    .tasks
                    .iter()
                    .map(|t| {
                        let mut row = TaskRow::from_model(ws, t);
                        row.run_id = map_run(t.run_id);
                        row
                    })
                    .collect();
                for chunk in task_rows.chunks(1000) {
                    on_backend!(&mut *c, |b| diesel::insert_into(tasks::table).values(chunk).execute(b))?;
                }
            }
            // The journal describes the cluster, not this copy of state: open intents here stay,
            // and the export's come along where their id is new.
            let known: HashSet<String> =
                intents::table.filter(intents::workspace_id.eq(ws)).select(intents::id).load(c)?.into_iter().collect();
            let last_seq = super::intents::last_seq(c, ws)?;
            let intent_rows: Vec<IntentRow> = export
                .intents
                .iter()
                .filter(|i| !known.contains(&i.id))
                .zip(last_seq + 1..)
                .map(|(i, seq)| {
                    let mut row = IntentRow::from_model(ws, seq, i);
                    row.run_id = map_run(i.run_id);
                    row
                })
                .collect();
            for chunk in intent_rows.chunks(1000) {
                on_backend!(&mut *c, |b| diesel::insert_into(intents::table).values(chunk).execute(b))?;
            }
            let serial = export.serial.max(current_serial);
            diesel::update(workspaces::table.find(ws))
                .set((workspaces::lineage.eq(&export.lineage), workspaces::serial.eq(serial)))
                .execute(c)?;
            let payload = serde_json::json!({
                "op": "push",
                "lineage": export.lineage,
                "from_serial": export.serial,
                "from_workspace": export.workspace,
                "forced": force && !empty,
            });
            let ev = event_row(scope, None, EventKind::StateEditedByHand, None, Some(serial), Some(payload), now);
            diesel::insert_into(events::table).values(&ev).execute(c)?;
            Ok::<_, TxError>(PushReport {
                resources: res_rows.len() as u64,
                snapshots: snap_rows.len() as u64,
                events: event_count,
                runs: run_ids.len() as u64,
                intents: intent_rows.len() as u64,
                serial,
                history_copied: empty,
            })
        })
    }
}
