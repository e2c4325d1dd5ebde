//! Row types: how the model is laid out in the tables, the conversions between the two, and the
//! builders of the rows every writer adds (snapshots, events). It uses only the model and the
//! table schema, so any file of the store can use it.

use diesel::prelude::*;

use super::model::*;
use super::schema::*;
use crate::addr::ResourceAddress;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspaces)]
pub struct WorkspaceRow {
    pub id: i64,
    pub name: String,
    pub lineage: String,
    pub serial: i64,
    pub created_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workspaces)]
pub struct NewWorkspace<'a> {
    pub name: &'a str,
    pub lineage: &'a str,
    pub serial: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = resources, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ResourceRow {
    pub workspace_id: i64,
    pub address: String,
    pub kind: String,
    pub node: Option<String>,
    pub vmid: Option<i64>,
    pub fingerprint: Option<String>,
    pub digest: Option<String>,
    pub status: Option<String>,
    pub serial: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub cluster: Option<String>,
    pub origin: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = snapshots, treat_none_as_default_value = false)]
pub struct SnapshotRow {
    pub workspace_id: i64,
    pub address: String,
    pub serial: i64,
    pub change: String,
    pub kind: String,
    pub run_id: Option<i64>,
    pub created_at: i64,
    pub node: Option<String>,
    pub vmid: Option<i64>,
    pub fingerprint: Option<String>,
    pub digest: Option<String>,
    pub status: Option<String>,
    pub attributes: Option<String>,
    pub cluster: Option<String>,
    pub origin: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub run_id: Option<i64>,
    pub kind: String,
    pub address: Option<String>,
    pub serial: Option<i64>,
    pub user_name: Option<String>,
    pub host: Option<String>,
    pub payload: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct NewEvent {
    pub workspace_id: i64,
    pub run_id: Option<i64>,
    pub kind: String,
    pub address: Option<String>,
    pub serial: Option<i64>,
    pub user_name: Option<String>,
    pub host: Option<String>,
    pub payload: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = runs)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub command: String,
    pub user_name: String,
    pub host: String,
    pub pid: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: String,
    pub counts: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = runs, treat_none_as_default_value = false)]
pub struct NewRun {
    pub workspace_id: i64,
    pub kind: String,
    pub command: String,
    pub user_name: String,
    pub host: String,
    pub pid: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: String,
    pub counts: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tasks, treat_none_as_default_value = false)]
pub struct TaskRow {
    pub workspace_id: i64,
    pub upid: String,
    pub run_id: Option<i64>,
    pub node: String,
    pub task_type: String,
    pub address: Option<String>,
    pub status: String,
    pub exitstatus: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = locks, treat_none_as_default_value = false)]
pub struct LockRow {
    pub workspace_id: i64,
    pub lock_id: String,
    pub user_name: String,
    pub host: String,
    pub pid: i64,
    pub command: String,
    pub acquired_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = vmid_reservations, treat_none_as_default_value = false)]
pub struct ReservationRow {
    pub cluster: String,
    pub vmid: i64,
    pub workspace_id: i64,
    pub address: String,
    pub holder: String,
    pub reserved_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = intents, treat_none_as_default_value = false)]
pub struct IntentRow {
    pub workspace_id: i64,
    pub id: String,
    pub seq: i64,
    pub run_id: Option<i64>,
    pub address: String,
    pub cluster: String,
    pub action: String,
    pub vmid: Option<i64>,
    pub node: Option<String>,
    pub upid: Option<String>,
    pub state: String,
    pub detail: Option<String>,
    pub reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored value that does not parse: the database was edited or damaged.
#[derive(Debug)]
pub struct BadRow(pub String);

pub fn parse_address(text: &str) -> Result<ResourceAddress, BadRow> {
    text.parse().map_err(|e| BadRow(format!("stored address {text:?} is invalid: {e}")))
}

fn parse_enum<T: std::str::FromStr<Err = String>>(text: &str) -> Result<T, BadRow> {
    text.parse().map_err(BadRow)
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, BadRow> {
    serde_json::from_str(text).map_err(|e| BadRow(format!("stored {what} is not valid JSON: {e}")))
}

fn identity(node: Option<String>, vmid: Option<i64>, fingerprint: Option<String>) -> Identity {
    Identity { node, vmid: vmid.and_then(|v| u32::try_from(v).ok()), fingerprint }
}

impl ResourceRow {
    pub fn summary(self) -> Result<ResourceSummary, BadRow> {
        Ok(ResourceSummary {
            address: parse_address(&self.address)?,
            kind: parse_enum(&self.kind)?,
            identity: identity(self.node, self.vmid, self.fingerprint),
            status: self.status,
            serial: self.serial,
            cluster: self.cluster,
            origin: parse_enum(&self.origin)?,
        })
    }

    pub fn with_attributes(self, attributes: Option<&str>) -> Result<StoredResource, BadRow> {
        Ok(StoredResource {
            address: parse_address(&self.address)?,
            kind: parse_enum(&self.kind)?,
            identity: identity(self.node, self.vmid, self.fingerprint),
            digest: self.digest,
            status: self.status,
            serial: self.serial,
            created_at: self.created_at,
            updated_at: self.updated_at,
            attributes: match attributes {
                Some(text) => parse_json(text, "attributes")?,
                None => serde_json::Value::Null,
            },
            cluster: self.cluster,
            origin: parse_enum(&self.origin)?,
        })
    }
}

impl SnapshotRow {
    pub fn into_model(self) -> Result<Snapshot, BadRow> {
        Ok(Snapshot {
            address: parse_address(&self.address)?,
            serial: self.serial,
            change: parse_enum(&self.change)?,
            kind: parse_enum(&self.kind)?,
            run_id: self.run_id,
            created_at: self.created_at,
            identity: identity(self.node, self.vmid, self.fingerprint),
            digest: self.digest,
            status: self.status,
            attributes: self.attributes.as_deref().map(|a| parse_json(a, "snapshot attributes")).transpose()?,
            cluster: self.cluster,
            origin: parse_enum(&self.origin)?,
        })
    }
}

impl EventRow {
    /// `run` supplies user and host when the event leaves them to its run.
    pub fn into_model(self, run: Option<&RunRow>) -> Result<Event, BadRow> {
        Ok(Event {
            id: self.id,
            kind: parse_enum(&self.kind)?,
            run_id: self.run_id,
            address: self.address.as_deref().map(parse_address).transpose()?,
            serial: self.serial,
            user: self.user_name.or_else(|| run.map(|r| r.user_name.clone())).unwrap_or_default(),
            host: self.host.or_else(|| run.map(|r| r.host.clone())).unwrap_or_default(),
            payload: self.payload.as_deref().map(|p| parse_json(p, "event payload")).transpose()?,
            created_at: self.created_at,
        })
    }
}

impl RunRow {
    pub fn into_model(self) -> Result<Run, BadRow> {
        Ok(Run {
            id: self.id,
            kind: parse_enum(&self.kind)?,
            command: self.command,
            user: self.user_name,
            host: self.host,
            pid: self.pid,
            started_at: self.started_at,
            finished_at: self.finished_at,
            outcome: parse_enum(&self.outcome)?,
            counts: self.counts.as_deref().map(|c| parse_json(c, "run counts")).transpose()?,
        })
    }
}

impl TaskRow {
    pub fn into_model(self) -> Result<TaskRecord, BadRow> {
        Ok(TaskRecord {
            upid: self.upid,
            run_id: self.run_id,
            node: self.node,
            task_type: self.task_type,
            address: self.address.as_deref().map(parse_address).transpose()?,
            status: self.status,
            exitstatus: self.exitstatus,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }

    pub fn from_model(workspace_id: i64, t: &TaskRecord) -> Self {
        TaskRow {
            workspace_id,
            upid: t.upid.clone(),
            run_id: t.run_id,
            node: t.node.clone(),
            task_type: t.task_type.clone(),
            address: t.address.as_ref().map(|a| a.to_string()),
            status: t.status.clone(),
            exitstatus: t.exitstatus.clone(),
            started_at: t.started_at,
            finished_at: t.finished_at,
        }
    }
}

impl IntentRow {
    pub fn into_model(self) -> Result<Intent, BadRow> {
        Ok(Intent {
            address: parse_address(&self.address)?,
            state: parse_enum(&self.state)?,
            detail: match self.detail.as_deref() {
                Some(text) => parse_json(text, "intent detail")?,
                None => serde_json::Value::Null,
            },
            id: self.id,
            run_id: self.run_id,
            cluster: self.cluster,
            action: self.action,
            vmid: self.vmid.and_then(|v| u32::try_from(v).ok()),
            node: self.node,
            upid: self.upid,
            reason: self.reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    /// `seq` places it in the workspace's journal.
    pub fn from_model(workspace_id: i64, seq: i64, i: &Intent) -> Self {
        IntentRow {
            workspace_id,
            id: i.id.clone(),
            seq,
            run_id: i.run_id,
            address: i.address.to_string(),
            cluster: i.cluster.clone(),
            action: i.action.clone(),
            vmid: i.vmid.map(i64::from),
            node: i.node.clone(),
            upid: i.upid.clone(),
            state: i.state.as_str().to_string(),
            detail: (!i.detail.is_null()).then(|| i.detail.to_string()),
            reason: i.reason.clone(),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// What every query needs besides the connection.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub workspace_id: i64,
    pub workspace: String,
    pub actor: Actor,
}

pub(crate) fn snapshot_row(
    scope: &Scope,
    row: &ResourceRow,
    run: Option<i64>,
    change: ChangeType,
    attributes: Option<String>,
    now: Millis,
) -> SnapshotRow {
    SnapshotRow {
        workspace_id: scope.workspace_id,
        address: row.address.clone(),
        serial: row.serial,
        change: change.as_str().to_string(),
        kind: row.kind.clone(),
        run_id: run,
        created_at: now,
        node: row.node.clone(),
        vmid: row.vmid,
        fingerprint: row.fingerprint.clone(),
        digest: row.digest.clone(),
        status: row.status.clone(),
        attributes,
        cluster: row.cluster.clone(),
        origin: row.origin.clone(),
    }
}

/// An event row; user and host are left to the run when there is one (no copy per event).
pub(crate) fn event_row(
    scope: &Scope,
    run: Option<i64>,
    kind: EventKind,
    address: Option<String>,
    serial: Option<i64>,
    payload: Option<serde_json::Value>,
    now: Millis,
) -> NewEvent {
    let (user_name, host) = match run {
        Some(_) => (None, None),
        None => (Some(scope.actor.user.clone()), Some(scope.actor.host.clone())),
    };
    NewEvent {
        workspace_id: scope.workspace_id,
        run_id: run,
        kind: kind.as_str().to_string(),
        address,
        serial,
        user_name,
        host,
        payload: payload.map(|p| p.to_string()),
        created_at: now,
    }
}
