//! Repositories: a typed interface per resource kind over the store. Every write goes through
//! `commit_changes`, so each one writes its snapshot and event in the same transaction.

use std::marker::PhantomData;

use diesel::prelude::*;

use super::error::{Result, StateError};
use super::model::*;
use super::rows::*;
use super::schema::*;
use super::store::Store;
use crate::addr::ResourceAddress;

/// A kind of resource with its own repository.
pub trait Kind {
    const KIND: ResourceKind;
}

macro_rules! kinds {
    ($($marker:ident => $kind:ident, $alias:ident;)+) => {$(
        #[doc = concat!("Marker for the `", stringify!($kind), "` repository.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $marker;
        impl Kind for $marker {
            const KIND: ResourceKind = ResourceKind::$kind;
        }
        #[doc = concat!("The repository of `", stringify!($kind), "` resources.")]
        pub type $alias<'s> = Repository<'s, $marker>;
    )+};
}

kinds! {
    Vms => Vm, VmRepository;
    Containers => Container, ContainerRepository;
    Pools => Pool, PoolRepository;
    Nodes => Node, NodeRepository;
    Storages => Storage, StorageRepository;
}

/// What a repository writes for one resource (the address is given separately).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceData {
    pub identity: Identity,
    pub digest: Option<String>,
    pub status: Option<String>,
    pub attributes: serde_json::Value,
    /// The provider (cluster) key; `None` when unknown.
    pub cluster: Option<String>,
    /// `None`: what the address implies (`Origin::for_address`).
    pub origin: Option<Origin>,
}

/// An indexed column a repository query selects by.
enum By {
    Node(String),
    Vmid(i64),
    Fingerprint(String),
}

/// CRUD plus per-kind queries for one kind of resource, within one workspace.
pub struct Repository<'s, K: Kind> {
    store: &'s mut Store,
    run: Option<i64>,
    kind: PhantomData<K>,
}

impl Store {
    pub fn vms(&mut self) -> VmRepository<'_> {
        Repository::new(self)
    }
    pub fn containers(&mut self) -> ContainerRepository<'_> {
        Repository::new(self)
    }
    pub fn pools(&mut self) -> PoolRepository<'_> {
        Repository::new(self)
    }
    pub fn nodes(&mut self) -> NodeRepository<'_> {
        Repository::new(self)
    }
    pub fn storages(&mut self) -> StorageRepository<'_> {
        Repository::new(self)
    }
}

impl<'s, K: Kind> Repository<'s, K> {
    pub fn new(store: &'s mut Store) -> Self {
        Repository { store, run: None, kind: PhantomData }
    }

    /// Records the writes of this repository under `run`.
    pub fn in_run(mut self, run: i64) -> Self {
        self.run = Some(run);
        self
    }

    pub fn find_all(&mut self) -> Result<Vec<StoredResource>> {
        self.store.find_all(Some(K::KIND))
    }

    /// The resource at `address`, if it is of this kind.
    pub fn find_by_id(&mut self, address: &ResourceAddress) -> Result<Option<StoredResource>> {
        Ok(self.store.get(address)?.filter(|r| r.kind == K::KIND))
    }

    /// Records a resource pmx created (change type `created`).
    pub fn create(&mut self, address: &ResourceAddress, data: ResourceData) -> Result<StoredResource> {
        self.write(ChangeType::Created, address, data)
    }

    /// Records a new version of a resource (change type `updated`).
    pub fn update(&mut self, address: &ResourceAddress, data: ResourceData) -> Result<StoredResource> {
        self.ensure_kind(address)?;
        self.write(ChangeType::Updated, address, data)
    }

    /// Records that a resource was destroyed (change type `deleted`).
    pub fn delete(&mut self, address: &ResourceAddress) -> Result<()> {
        self.ensure_kind(address)?;
        self.store.commit_changes(self.run, vec![Change::deleted(K::KIND, address.clone())])?;
        Ok(())
    }

    /// Resources of this kind with the given status (`running`, `online`, …).
    pub fn find_by_status(&mut self, status: &str) -> Result<Vec<StoredResource>> {
        Ok(self.find_all()?.into_iter().filter(|r| r.status.as_deref() == Some(status)).collect())
    }

    /// Resources of this kind on a node.
    pub fn find_by_node(&mut self, node: &str) -> Result<Vec<StoredResource>> {
        let addresses = self.addresses_where(By::Node(node.to_string()))?;
        self.load_each(addresses)
    }

    fn write(&mut self, change: ChangeType, address: &ResourceAddress, data: ResourceData) -> Result<StoredResource> {
        let mut ch = Change::new(change, K::KIND, address.clone(), data.attributes);
        ch.identity = data.identity;
        ch.digest = data.digest;
        ch.status = data.status;
        ch.cluster = data.cluster;
        if let Some(origin) = data.origin {
            ch.origin = origin;
        }
        self.store.commit_changes(self.run, vec![ch])?;
        self.store.require(address)
    }

    fn ensure_kind(&mut self, address: &ResourceAddress) -> Result<()> {
        match self.store.get(address)? {
            Some(r) if r.kind == K::KIND => Ok(()),
            Some(r) => Err(StateError::InvalidChange(format!("{address} is a {}, not a {}", r.kind, K::KIND))),
            None => Err(self.store.not_found(address)?),
        }
    }

    fn addresses_where(&mut self, by: By) -> Result<Vec<String>> {
        let ws = self.store.scope.workspace_id;
        let mut q = resources::table
            .filter(resources::workspace_id.eq(ws))
            .filter(resources::kind.eq(K::KIND.as_str()))
            .select(resources::address)
            .into_boxed();
        q = match by {
            By::Node(node) => q.filter(resources::node.eq(node)),
            By::Vmid(vmid) => q.filter(resources::vmid.eq(vmid)),
            By::Fingerprint(f) => q.filter(resources::fingerprint.eq(f)),
        };
        q.load(&mut self.store.conn).map_err(|e| self.store.db_err(e))
    }

    fn load_each(&mut self, addresses: Vec<String>) -> Result<Vec<StoredResource>> {
        let mut out = Vec::with_capacity(addresses.len());
        for a in addresses {
            out.extend(self.store.load_resources(Some(&a), Some(K::KIND))?);
        }
        out.sort_by(|a, b| a.address.cmp(&b.address));
        Ok(out)
    }
}

/// Queries only guests have.
macro_rules! guest_queries {
    ($($marker:ident),+) => {$(
        impl Repository<'_, $marker> {
            /// The guest that is `vmid` on `cluster` (see `Store::find_by_vmid_in_cluster`).
            pub fn find_by_vmid_in_cluster(&mut self, cluster: &str, vmid: u32) -> Result<Option<StoredResource>> {
                self.store.find_by_vmid_in_cluster(cluster, $marker::KIND, vmid)
            }

            /// The guest with this vmid, if state has it (on any cluster: with more than one,
            /// use `find_by_vmid_in_cluster`).
            pub fn find_by_vmid(&mut self, vmid: u32) -> Result<Option<StoredResource>> {
                let found = self.addresses_where(By::Vmid(i64::from(vmid)))?;
                Ok(self.load_each(found)?.into_iter().next())
            }

            /// The guest whose fingerprint (e.g. SMBIOS uuid) matches.
            pub fn find_by_fingerprint(&mut self, fingerprint: &str) -> Result<Option<StoredResource>> {
                let found = self.addresses_where(By::Fingerprint(fingerprint.to_string()))?;
                Ok(self.load_each(found)?.into_iter().next())
            }
        }
    )+};
}
guest_queries!(Vms, Containers);

/// The Proxmox tasks pmx ran, by UPID.
pub struct TaskRepository<'s> {
    store: &'s mut Store,
}

impl Store {
    pub fn tasks(&mut self) -> TaskRepository<'_> {
        TaskRepository { store: self }
    }
}

impl TaskRepository<'_> {
    pub fn find_all(&mut self) -> Result<Vec<TaskRecord>> {
        self.load(None, None)
    }

    pub fn find_by_id(&mut self, upid: &str) -> Result<Option<TaskRecord>> {
        Ok(self.load(Some(upid), None)?.into_iter().next())
    }

    /// The tasks of one run, in start order.
    pub fn find_by_run(&mut self, run: i64) -> Result<Vec<TaskRecord>> {
        self.load(None, Some(run))
    }

    /// Tasks not yet seen to stop (e.g. left behind by a crashed apply).
    pub fn find_running(&mut self) -> Result<Vec<TaskRecord>> {
        Ok(self.find_all()?.into_iter().filter(|t| t.status == "running").collect())
    }

    pub fn create(&mut self, task: &TaskRecord) -> Result<()> {
        let row = TaskRow::from_model(self.store.scope.workspace_id, task);
        let r = diesel::insert_into(tasks::table).values(&row).execute(&mut self.store.conn);
        match r {
            Ok(_) => Ok(()),
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                Err(StateError::InvalidChange(format!("task {} is already recorded", task.upid)))
            }
            Err(e) => Err(self.store.db_err(e)),
        }
    }

    /// Records how a task ended (or its latest status).
    pub fn update(
        &mut self,
        upid: &str,
        status: &str,
        exitstatus: Option<&str>,
        finished_at: Option<Millis>,
    ) -> Result<()> {
        let ws = self.store.scope.workspace_id;
        let n = diesel::update(tasks::table.find((ws, upid)))
            .set((tasks::status.eq(status), tasks::exitstatus.eq(exitstatus), tasks::finished_at.eq(finished_at)))
            .execute(&mut self.store.conn)
            .map_err(|e| self.store.db_err(e))?;
        if n == 0 {
            return Err(StateError::InvalidChange(format!("no task {upid} in state")));
        }
        Ok(())
    }

    pub fn delete(&mut self, upid: &str) -> Result<()> {
        let ws = self.store.scope.workspace_id;
        diesel::delete(tasks::table.find((ws, upid)))
            .execute(&mut self.store.conn)
            .map_err(|e| self.store.db_err(e))?;
        Ok(())
    }

    fn load(&mut self, upid: Option<&str>, run: Option<i64>) -> Result<Vec<TaskRecord>> {
        let mut q = tasks::table
            .filter(tasks::workspace_id.eq(self.store.scope.workspace_id))
            .select(TaskRow::as_select())
            .order((tasks::started_at.asc(), tasks::upid.asc()))
            .into_boxed();
        if let Some(upid) = upid {
            q = q.filter(tasks::upid.eq(upid.to_string()));
        }
        if let Some(run) = run {
            q = q.filter(tasks::run_id.eq(run));
        }
        let rows: Vec<TaskRow> = q.load(&mut self.store.conn).map_err(|e| self.store.db_err(e))?;
        rows.into_iter().map(TaskRow::into_model).collect::<Result<_, _>>().map_err(|e| self.store.bad(e))
    }
}
