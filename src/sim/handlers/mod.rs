//! Endpoint handlers, one file per API area, and what they share: the request context, task
//! spawning (UPID, locks, duration, faults) and guest lookups.

pub mod access;
mod cluster;
mod guests;
mod ha;
mod migrate;
mod ops;
mod pools;
mod privileges;
mod resize;
mod resources;
mod tasks_api;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::model::{Cluster, Guest, GuestKind};
use super::params::Params;
use super::routes::Handler;
use super::state::Sim;
use super::tasks::{lock_timeout_message, LockGuard, Starter};
use super::wire::{ApiError, ApiResult};

pub struct Ctx {
    pub sim: Arc<Sim>,
    /// None only for `/access/ticket`.
    pub who: Option<Starter>,
    pub path: BTreeMap<&'static str, String>,
    pub params: Params,
}

pub enum Reply {
    Json(Value),
    /// `data` and the `total` count (task logs and lists).
    Total(Value, usize),
    /// Pre-serialised JSON of `data`.
    Raw(Arc<Vec<u8>>),
}

impl Ctx {
    pub fn node(&self) -> Result<&str, ApiError> {
        let node = self.path.get("node").map(String::as_str).unwrap_or("");
        if self.sim.read().nodes.contains_key(node) {
            Ok(node)
        } else {
            Err(ApiError::server(format!("no such cluster node '{node}'")))
        }
    }

    pub fn vmid(&self) -> u32 {
        self.path.get("vmid").or_else(|| self.params.get("vmid")).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        super::params::flag(&self.params, name)
    }

    /// Who is calling, as PVE names it in permission checks: `user@realm` or `user@realm!token`.
    pub fn authid(&self) -> String {
        access::authid(&self.starter())
    }

    /// Whether the caller holds every privilege everywhere: root@pam, or a token of root@pam
    /// without privilege separation (lists need no filtering then).
    pub fn sees_everything(&self) -> bool {
        let id = self.authid();
        id == "root@pam"
            || (id.starts_with("root@pam!") && self.sim.read().access.token(&id).is_some_and(|t| !t.privsep))
    }

    /// `$rpcenv->check` for the caller.
    pub fn check(&self, c: &Cluster, path: &str, privs: &[&str], any: bool) -> Result<(), ApiError> {
        let id = self.authid();
        if id == "root@pam" {
            return Ok(());
        }
        c.check(&id, path, privs, any)
    }

    /// `$rpcenv->check(..., $noerr)` for the caller.
    pub fn has(&self, c: &Cluster, path: &str, privs: &[&str], any: bool) -> bool {
        self.check(c, path, privs, any).is_ok()
    }

    pub fn starter(&self) -> Starter {
        self.who.clone().unwrap_or(Starter { user: "root@pam".into(), tokenid: None })
    }
}

/// Looks a guest up on a node, with PVE's message when it is not there.
pub fn find_guest<'a>(c: &'a Cluster, node: &str, kind: GuestKind, vmid: u32) -> Result<&'a Guest, ApiError> {
    match c.guests.get(&vmid) {
        Some(g) if g.node == node && g.kind == kind => Ok(g),
        _ => Err(ApiError::server(format!("Configuration file '{}' does not exist", kind.conf_path(node, vmid)))),
    }
}

/// The body of a worker task: gets the simulator and the UPID, returns the warning count.
pub type Work = Box<dyn FnOnce(&Sim, &str) -> Result<usize, String> + Send>;
pub type Cleanup = Box<dyn FnOnce(&Sim) + Send>;

pub struct TaskPlan {
    pub node: String,
    pub kind: &'static str,
    pub id: String,
    /// Config locks held for the task's whole run.
    pub locks: Vec<(GuestKind, u32)>,
    /// Shared config locks held for the task's whole run (a stopped clone source).
    pub shared_locks: Vec<(GuestKind, u32)>,
    pub work: Work,
    /// Undo on failure (e.g. drop a half-created guest).
    pub cleanup: Option<Cleanup>,
}

impl TaskPlan {
    /// The common task: it holds one guest's config lock and undoes nothing on failure.
    pub fn on_guest(node: String, task_kind: &'static str, kind: GuestKind, vmid: u32, work: Work) -> Self {
        TaskPlan {
            node,
            kind: task_kind,
            id: vmid.to_string(),
            locks: vec![(kind, vmid)],
            shared_locks: vec![],
            work,
            cleanup: None,
        }
    }
}

/// Starts a worker task and returns its UPID at once, as PVE does.
pub fn spawn_task(ctx: &Ctx, plan: TaskPlan) -> String {
    let sim = ctx.sim.clone();
    let upid = sim.tasks.create(&plan.node, plan.kind, &plan.id, &ctx.starter());
    let contended = !(plan.locks.is_empty() && plan.shared_locks.is_empty()) && sim.faults.lock_contended();
    let fails = sim.faults.task_fails();
    let task_upid = upid.clone();
    tokio::spawn(async move {
        let upid = task_upid;
        let mut guards: Vec<LockGuard> = Vec::new();
        let mut result: Result<usize, String> = Ok(0);
        let wanted = plan.shared_locks.iter().map(|l| (l, true)).chain(plan.locks.iter().map(|l| (l, false)));
        for ((kind, vmid), shared) in wanted {
            if contended {
                tokio::time::sleep(sim.opts.lock_timeout).await;
                result = Err(lock_timeout_message(&kind.lock_path(*vmid)));
                break;
            }
            let got = if shared {
                sim.locks.acquire_shared(*vmid, sim.opts.lock_timeout).await
            } else {
                sim.locks.acquire(*vmid, sim.opts.lock_timeout).await
            };
            match got {
                Some(g) => guards.push(g),
                None => {
                    result = Err(lock_timeout_message(&kind.lock_path(*vmid)));
                    break;
                }
            }
        }
        if result.is_ok() {
            tokio::time::sleep(sim.opts.duration_of(plan.kind)).await;
            let stopped = sim.tasks.get(&upid).is_some_and(|t| t.exitstatus.is_some());
            result = if stopped {
                // Stopped through `DELETE .../tasks/{upid}`: the work never happens.
                Err("interrupted by signal".to_string())
            } else if fails {
                Err(format!("{} failed: simulated task failure (fault injection)", plan.kind))
            } else {
                (plan.work)(&sim, &upid)
            };
        }
        if result.is_err() {
            if let Some(cleanup) = plan.cleanup {
                cleanup(&sim);
            }
        }
        sim.tasks.finish(&upid, result);
        drop(guards);
        sim.save_state_file();
    });
    upid
}

/// A task that fails with `message`: for what PVE finds only inside the worker (a storage
/// that is full or disabled when the disks are allocated).
pub fn failing_task(
    ctx: &Ctx,
    node: String,
    task_kind: &'static str,
    kind: GuestKind,
    vmid: u32,
    message: String,
) -> String {
    let work: Work = Box::new(move |_: &Sim, _: &str| Err(message));
    spawn_task(ctx, TaskPlan::on_guest(node, task_kind, kind, vmid, work))
}

/// Takes a guest's config lock for a synchronous write (PVE's `lock_config`).
pub async fn lock_sync(ctx: &Ctx, kind: GuestKind, vmid: u32) -> Result<LockGuard, ApiError> {
    if ctx.sim.faults.lock_contended() {
        // Another (imaginary) writer holds the lock: wait it out, as PVE's lock_config does.
        tokio::time::sleep(ctx.sim.opts.lock_timeout).await;
        return Err(ApiError::server(lock_timeout_message(&kind.lock_path(vmid))));
    }
    ctx.sim
        .locks
        .acquire(vmid, ctx.sim.opts.lock_timeout)
        .await
        .ok_or_else(|| ApiError::server(lock_timeout_message(&kind.lock_path(vmid))))
}

pub async fn dispatch(h: Handler, ctx: &Ctx) -> Result<Reply, ApiError> {
    use Handler as H;
    let json = |r: ApiResult| r.map(Reply::Json);
    match h {
        H::Version => json(cluster::version()),
        H::AccessTicket => {
            let started = tokio::time::Instant::now();
            let r = cluster::access_ticket(ctx);
            if r.as_ref().is_err_and(|e| e.status == axum::http::StatusCode::UNAUTHORIZED) {
                // pve-http-server holds a handler's 401 until 3 s after the request began.
                tokio::time::sleep_until(started + ctx.sim.opts.auth_failure_delay).await;
            }
            json(r)
        }
        H::AccessPermissions => json(access::permissions(ctx)),
        H::AccessUsers => json(access::users(ctx)),
        H::AccessAcl => json(access::acl(ctx)),
        H::AccessRoles => json(access::roles(ctx)),
        H::ClusterResources => resources::cluster_resources(ctx).map(Reply::Raw),
        H::ClusterNextid => json(cluster::nextid(ctx)),
        H::ClusterTasks => json(tasks_api::cluster_tasks(ctx)),
        H::ClusterStatus => json(cluster::cluster_status(ctx)),
        H::HaResources => json(ha::resources(ctx)),
        H::HaStatus => json(ha::status_current(ctx)),
        H::Nodes => json(cluster::nodes(ctx)),
        H::NodeStatus => json(cluster::node_status(ctx)),
        H::NodeStorage => json(cluster::node_storage(ctx)),
        H::NodeStorageStatus => json(cluster::node_storage_status(ctx)),
        H::StorageContent => json(cluster::storage_content(ctx)),
        H::StorageList => json(cluster::storage_list(ctx)),
        H::NodeNetwork => json(cluster::node_network(ctx)),
        H::NodeTasks => tasks_api::node_tasks(ctx).map(|(v, n)| Reply::Total(v, n)),
        H::TaskStatus => json(tasks_api::task_status(ctx)),
        H::TaskLog => tasks_api::task_log(ctx).map(|(v, n)| Reply::Total(v, n)),
        H::TaskStop => json(tasks_api::task_stop(ctx)),
        H::GuestList(k) => json(guests::list(ctx, k)),
        H::GuestCreate(k) => json(guests::create(ctx, k)),
        H::ConfigGet(k) => json(guests::config_get(ctx, k)),
        H::ConfigPut(k) => json(guests::config_put(ctx, k).await),
        H::ConfigPostAsync => json(guests::config_post(ctx).await),
        H::Pending(k) => json(guests::pending(ctx, k)),
        H::StatusCurrent(k) => json(guests::status_current(ctx, k)),
        H::Status(k, a) => json(guests::status_action(ctx, k, a)),
        H::Delete(k) => json(guests::delete(ctx, k)),
        H::Clone(k) => json(ops::clone(ctx, k)),
        H::Template(k) => json(ops::template(ctx, k).await),
        H::Resize(k) => json(resize::resize(ctx, k)),
        H::MoveDisk(k) => json(ops::move_disk(ctx, k)),
        H::Migrate(k) => json(migrate::migrate(ctx, k)),
        H::PoolsList => json(pools::list(ctx)),
        H::PoolsCreate => json(pools::create(ctx)),
        H::PoolsUpdate => json(pools::update(ctx, None)),
        H::PoolsDelete => json(pools::delete(ctx, None)),
        H::PoolGet => json(pools::get(ctx)),
        H::PoolUpdate => {
            let id = ctx.path.get("poolid").cloned();
            json(pools::update(ctx, id))
        }
        H::PoolDelete => {
            let id = ctx.path.get("poolid").cloned();
            json(pools::delete(ctx, id))
        }
    }
}
