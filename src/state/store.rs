//! `Store`: one open state database, scoped to one workspace.

use diesel::prelude::*;

use super::conn::{self, AnyConnection};
use super::error::{Result, StateError};
use super::location::StateLocation;
use super::lock::HeldLock;
use super::model::*;
use super::rows::*;
use super::schema::*;

/// The default workspace name.
pub const DEFAULT_WORKSPACE: &str = "default";

/// An error inside a transaction: either the database's, or a refusal of ours. Either rolls
/// the whole transaction back.
#[derive(Debug)]
pub(crate) enum TxError {
    Db(diesel::result::Error),
    State(StateError),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}
impl From<StateError> for TxError {
    fn from(e: StateError) -> Self {
        TxError::State(e)
    }
}
impl From<BadRow> for TxError {
    fn from(e: BadRow) -> Self {
        TxError::Db(diesel::result::Error::DeserializationError(e.0.into()))
    }
}

/// An open state store for one workspace. Dropping it releases any lock it holds.
pub struct Store {
    pub(crate) conn: AnyConnection,
    pub(crate) location: StateLocation,
    pub(crate) scope: Scope,
    pub(crate) lock: Option<HeldLock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("location", &self.location).field("workspace", &self.scope.workspace).finish()
    }
}

impl Store {
    /// Opens (creating and migrating as needed) the store at `location`, workspace `workspace`
    /// (created on first use with a fresh lineage).
    pub fn open(location: &StateLocation, workspace: &str) -> Result<Store> {
        validate_workspace_name(workspace)?;
        let mut conn = conn::open(location)?;
        let row = ensure_workspace(&mut conn, workspace).map_err(|e| StateError::db(location, e))?;
        tracing::debug!(location = %location, workspace, "state store opened");
        Ok(Store {
            conn,
            location: location.clone(),
            scope: Scope { workspace_id: row.id, workspace: workspace.to_string(), actor: Actor::current() },
            lock: None,
        })
    }

    /// Opens the store for reading only: where the SQLite file does not exist yet, an empty
    /// in-memory store stands in, so that `pmx state list` in a new project creates nothing.
    pub fn open_read_only(location: &StateLocation, workspace: &str) -> Result<Store> {
        match location {
            StateLocation::Sqlite(path) if !path.exists() => {
                validate_workspace_name(workspace)?;
                let mut conn = conn::open_empty(location)?;
                let row = ensure_workspace(&mut conn, workspace).map_err(|e| StateError::db(location, e))?;
                Ok(Store {
                    conn,
                    location: location.clone(),
                    scope: Scope { workspace_id: row.id, workspace: workspace.to_string(), actor: Actor::current() },
                    lock: None,
                })
            }
            _ => Store::open(location, workspace),
        }
    }

    pub fn location(&self) -> &StateLocation {
        &self.location
    }

    pub fn workspace(&self) -> &str {
        &self.scope.workspace
    }

    /// The actor written into runs, events and locks (the current user, host and pid).
    pub fn actor(&self) -> &Actor {
        &self.scope.actor
    }

    /// Overrides who the store says is acting (e.g. a CI job's identity).
    pub fn set_actor(&mut self, actor: Actor) {
        self.scope.actor = actor;
    }

    /// Lineage and serial of the workspace, read fresh.
    pub fn meta(&mut self) -> Result<Meta> {
        let row: WorkspaceRow = workspaces::table
            .find(self.scope.workspace_id)
            .select(WorkspaceRow::as_select())
            .first(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        Ok(Meta { workspace: row.name, lineage: row.lineage, serial: row.serial, created_at: row.created_at })
    }

    /// The names of all workspaces in this database.
    pub fn workspaces(&mut self) -> Result<Vec<String>> {
        workspaces::table
            .select(workspaces::name)
            .order(workspaces::name)
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))
    }

    /// The state schema version and applied migrations.
    pub fn schema_info(&mut self) -> Result<(i64, Vec<String>)> {
        let version = conn::stored_schema_version(&mut self.conn).unwrap_or(0);
        let applied = conn::applied_migrations(&self.location, &mut self.conn)?;
        Ok((version, applied))
    }

    /// Applies any pending migrations (open already does); returns the versions applied now.
    pub fn migrate(&mut self) -> Result<Vec<String>> {
        conn::migrate(&self.location, &mut self.conn)
    }

    /// All resources (of one kind, or all), identity only, in address order.
    pub fn list(&mut self, kind: Option<ResourceKind>) -> Result<Vec<ResourceSummary>> {
        let mut query = resources::table
            .filter(resources::workspace_id.eq(self.scope.workspace_id))
            .select(ResourceRow::as_select())
            .into_boxed();
        if let Some(kind) = kind {
            query = query.filter(resources::kind.eq(kind.as_str()));
        }
        let rows: Vec<ResourceRow> = query.load(&mut self.conn).map_err(|e| self.db_err(e))?;
        let mut out =
            rows.into_iter().map(ResourceRow::summary).collect::<Result<Vec<_>, _>>().map_err(|e| self.bad(e))?;
        out.sort_by(|a, b| a.address.cmp(&b.address));
        Ok(out)
    }

    /// One resource with its current attributes.
    pub fn get(&mut self, address: &crate::addr::ResourceAddress) -> Result<Option<StoredResource>> {
        let found = self.load_resources(Some(&address.to_string()), None)?;
        Ok(found.into_iter().next())
    }

    /// Like `get`, but a missing resource is an error that suggests near addresses.
    pub fn require(&mut self, address: &crate::addr::ResourceAddress) -> Result<StoredResource> {
        match self.get(address)? {
            Some(r) => Ok(r),
            None => Err(self.not_found(address)?),
        }
    }

    /// All resources with attributes (of one kind, or all), in address order.
    pub fn find_all(&mut self, kind: Option<ResourceKind>) -> Result<Vec<StoredResource>> {
        let mut out = self.load_resources(None, kind)?;
        out.sort_by(|a, b| a.address.cmp(&b.address));
        Ok(out)
    }

    /// The resource of `kind` that is guest `vmid` of cluster `cluster` (a provider key such as
    /// `proxmox.dc2`): two clusters may both have a vmid 100. A resource recorded before state
    /// schema 2 has no cluster; it is found when no resource of that cluster has the vmid.
    pub fn find_by_vmid_in_cluster(
        &mut self,
        cluster: &str,
        kind: ResourceKind,
        vmid: u32,
    ) -> Result<Option<StoredResource>> {
        let found: Vec<(String, Option<String>)> = resources::table
            .filter(resources::workspace_id.eq(self.scope.workspace_id))
            .filter(resources::kind.eq(kind.as_str()))
            .filter(resources::vmid.eq(i64::from(vmid)))
            .filter(resources::cluster.eq(cluster).or(resources::cluster.is_null()))
            .select((resources::address, resources::cluster))
            .order(resources::address.asc())
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        let pick = found
            .iter()
            .find(|(_, c)| c.as_deref() == Some(cluster))
            .or_else(|| found.iter().find(|(_, c)| c.is_none()));
        match pick {
            Some((address, _)) => Ok(self.load_resources(Some(address), Some(kind))?.into_iter().next()),
            None => Ok(None),
        }
    }

    pub(crate) fn load_resources(
        &mut self,
        address: Option<&str>,
        kind: Option<ResourceKind>,
    ) -> Result<Vec<StoredResource>> {
        let ws = self.scope.workspace_id;
        let mut query = resources::table
            .inner_join(
                snapshots::table.on(snapshots::workspace_id
                    .eq(resources::workspace_id)
                    .and(snapshots::address.eq(resources::address))
                    .and(snapshots::serial.eq(resources::serial))),
            )
            .filter(resources::workspace_id.eq(ws))
            .select((ResourceRow::as_select(), snapshots::attributes))
            .into_boxed();
        if let Some(address) = address {
            query = query.filter(resources::address.eq(address.to_string()));
        }
        if let Some(kind) = kind {
            query = query.filter(resources::kind.eq(kind.as_str()));
        }
        let rows: Vec<(ResourceRow, Option<String>)> = query.load(&mut self.conn).map_err(|e| self.db_err(e))?;
        rows.into_iter()
            .map(|(row, attrs)| row.with_attributes(attrs.as_deref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.bad(e))
    }

    /// A "not in state" error with a did-you-mean from the addresses that are.
    pub(crate) fn not_found(&mut self, address: &crate::addr::ResourceAddress) -> Result<StateError> {
        let known: Vec<String> = resources::table
            .filter(resources::workspace_id.eq(self.scope.workspace_id))
            .select(resources::address)
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        let known: Vec<crate::addr::ResourceAddress> = known.iter().filter_map(|a| parse_address(a).ok()).collect();
        Ok(StateError::NotFound {
            address: address.to_string(),
            workspace: self.scope.workspace.clone(),
            help: crate::config::suggest::did_you_mean_instance(address, &known),
        })
    }

    /// Runs `f` in one transaction: everything it writes commits together or not at all.
    pub(crate) fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut AnyConnection, &Scope) -> Result<T, TxError>,
    ) -> Result<T> {
        let Store { conn, scope, location, .. } = self;
        conn.transaction(|c| f(c, scope)).map_err(|e| match e {
            TxError::State(s) => s,
            TxError::Db(d) => StateError::db(location, d),
        })
    }

    pub(crate) fn db_err(&self, e: impl std::fmt::Display) -> StateError {
        StateError::db(&self.location, e)
    }

    pub(crate) fn bad(&self, e: BadRow) -> StateError {
        StateError::db(&self.location, e.0)
    }

    /// Runs raw SQL on the connection. For tests that need to damage or constrain the database
    /// (e.g. SQLite's `max_page_count` to simulate a full disk); not for production use.
    #[doc(hidden)]
    pub fn debug_execute(&mut self, sql: &str) -> Result<()> {
        use diesel::connection::SimpleConnection;
        self.conn.batch_execute(sql).map_err(|e| StateError::db(&self.location, e))
    }
}

fn validate_workspace_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StateError::BadLocation {
            input: format!("workspace {name:?}"),
            reason: "a workspace name is 1-64 letters, digits, '-', '_' or '.'".into(),
        })
    }
}

/// Finds the workspace row, creating it (fresh lineage, serial 0) on first use. Two processes
/// creating it at once: the unique name makes one insert fail, and it then reads the other's.
fn ensure_workspace(conn: &mut AnyConnection, name: &str) -> QueryResult<WorkspaceRow> {
    let find = |conn: &mut AnyConnection| {
        workspaces::table.filter(workspaces::name.eq(name)).select(WorkspaceRow::as_select()).first(conn).optional()
    };
    if let Some(row) = find(conn)? {
        return Ok(row);
    }
    let lineage = uuid::Uuid::new_v4().to_string();
    let inserted = diesel::insert_into(workspaces::table)
        .values(NewWorkspace { name, lineage: &lineage, serial: 0, created_at: now_millis() })
        .execute(conn);
    match inserted {
        Ok(_) | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            find(conn)?.ok_or(diesel::result::Error::NotFound)
        }
        Err(e) => Err(e),
    }
}
