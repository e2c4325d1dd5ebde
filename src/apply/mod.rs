//! `pmx apply`: carry out exactly a plan, dependencies first, independent changes in
//! parallel, each change committed to state (snapshot + event) the moment it is done.
//!
//! Like kube-rs's runtime: the plan decided, this only acts. Each change is a small state
//! machine over the intent journal (intent → task → committed), so a killed apply leaves
//! nothing untracked: see [`recover`].

pub mod journal;
pub mod ops;
pub mod recover;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use tokio::sync::Semaphore;

use crate::addr::ResourceAddress;
use crate::config::Value;
use crate::graph::{BuildOptions, ResourceGraph};
use crate::operation::{Endpoint, Project};
use crate::plan::{self, Action, ClusterView, Plan, ResourceChange};
use crate::state::Store;

/// What the user allows.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// At most this many guests stopped or rebooted at once.
    pub max_disruptions: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { parallelism: 10, max_disruptions: usize::MAX }
    }
}

/// What a finished change tells the rest of the apply: the resource's attributes now (for the
/// references of later changes).
#[derive(Debug, Default, Clone)]
pub struct Done {
    pub known: Map<String, Json>,
    pub id: Option<String>,
}

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    Applied,
    Failed(String),
    Skipped(String),
}

/// Progress, for the views.
pub trait Reporter: Send + Sync {
    fn started(&self, address: &str, action: Action);
    fn finished(&self, address: &str, action: Action, outcome: &Outcome, elapsed: Duration);
}

/// What an apply did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub results: Vec<ChangeResult>,
    pub elapsed_ms: u128,
    pub interrupted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeResult {
    pub address: String,
    pub action: Action,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub elapsed_ms: u128,
}

impl ApplyReport {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }
    /// The run's metrics, as `pmx state runs` shows them: counts, durations, API calls.
    pub fn metrics(&self, api_calls: u64, api_retries: u64) -> serde_json::Value {
        let mut c = self.counts();
        let durations: Vec<u128> = self.results.iter().map(|r| r.elapsed_ms).collect();
        c["api_calls"] = api_calls.into();
        c["api_retries"] = api_retries.into();
        let load = |m: &std::sync::atomic::AtomicU64| m.load(std::sync::atomic::Ordering::Relaxed);
        c["task_lock_retries"] = load(&LOCK_RETRIES).into();
        c["task_wait_ms"] = load(&METRICS.task_wait_ms).into();
        c["lock_wait_ms"] = load(&METRICS.lock_wait_ms).into();
        c["snapshots"] = load(&METRICS.snapshots).into();
        c["snapshot_bytes"] = load(&METRICS.snapshot_bytes).into();
        c["largest_snapshot_bytes"] = load(&METRICS.largest_snapshot).into();
        c["slowest_change_ms"] =
            durations.iter().max().copied().unwrap_or(0).to_string().parse::<u64>().unwrap_or(0).into();
        c
    }

    pub fn counts(&self) -> serde_json::Value {
        let by = |a: &[Action]| {
            self.results.iter().filter(|r| r.outcome == Outcome::Applied && a.contains(&r.action)).count()
        };
        serde_json::json!({
            "added": by(&[Action::Create]),
            "changed": by(&[Action::Update, Action::Import, Action::Move]),
            "replaced": by(&[Action::Replace]),
            "destroyed": by(&[Action::Delete]),
            "forgotten": by(&[Action::Forget]),
            "failed": self.failed(),
            "skipped": self.count(|o| matches!(o, Outcome::Skipped(_))),
            "elapsed_ms": self.elapsed_ms,
        })
    }
}

/// Tasks started again because they failed on a config lock, in this process (for the run's
/// metrics).
pub static LOCK_RETRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Where an apply's time goes and what it writes, summed over its changes (this process runs
/// one apply): `pmx state runs` shows them.
pub struct RunMetrics {
    /// Waiting for Proxmox tasks (UPIDs) to end.
    pub task_wait_ms: std::sync::atomic::AtomicU64,
    /// Waiting on locks: a clone source's, the disruption budgets, and backing off after
    /// Proxmox's "can't lock file" before starting a task again.
    pub lock_wait_ms: std::sync::atomic::AtomicU64,
    pub snapshots: std::sync::atomic::AtomicU64,
    pub snapshot_bytes: std::sync::atomic::AtomicU64,
    pub largest_snapshot: std::sync::atomic::AtomicU64,
}

pub static METRICS: RunMetrics = RunMetrics {
    task_wait_ms: std::sync::atomic::AtomicU64::new(0),
    lock_wait_ms: std::sync::atomic::AtomicU64::new(0),
    snapshots: std::sync::atomic::AtomicU64::new(0),
    snapshot_bytes: std::sync::atomic::AtomicU64::new(0),
    largest_snapshot: std::sync::atomic::AtomicU64::new(0),
};

impl RunMetrics {
    pub fn add(counter: &std::sync::atomic::AtomicU64, since: Instant) {
        counter.fetch_add(since.elapsed().as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn snapshot(bytes: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        METRICS.snapshots.fetch_add(1, Relaxed);
        METRICS.snapshot_bytes.fetch_add(bytes as u64, Relaxed);
        METRICS.largest_snapshot.fetch_max(bytes as u64, Relaxed);
    }
}

/// Values known for each resource, as the graph takes them.
type Known = HashMap<ResourceAddress, IndexMap<String, Value>>;

/// Everything a running change can reach.
pub struct Ctx {
    pub project: Project,
    pub plan: Plan,
    pub endpoints: IndexMap<String, Endpoint>,
    pub store: Arc<Mutex<Store>>,
    pub run: i64,
    pub key: Vec<u8>,
    pub views: HashMap<String, ClusterView>,
    /// Values known so far (data sources, refreshed and newly created resources).
    known: Mutex<(u64, Known)>,
    graph: Mutex<Option<(u64, Arc<ResourceGraph>)>>,
    clone_locks: Mutex<HashMap<(String, u32), Arc<Semaphore>>>,
    disruptions: Arc<Semaphore>,
    /// Per resource block with `lifecycle { max_disruptions }`, by its config address.
    block_disruptions: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// vmids handed out in this run, per cluster (besides what the cluster has).
    handed_out: Mutex<HashMap<String, HashSet<u32>>>,
    pub cancelled: Arc<AtomicBool>,
}

impl Ctx {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        project: Project,
        plan: Plan,
        endpoints: IndexMap<String, Endpoint>,
        store: Arc<Mutex<Store>>,
        run: i64,
        key: Vec<u8>,
        views: HashMap<String, ClusterView>,
        known: HashMap<ResourceAddress, IndexMap<String, Value>>,
        opts: &ApplyOptions,
    ) -> Ctx {
        Ctx {
            project,
            plan,
            endpoints,
            store,
            run,
            key,
            views,
            known: Mutex::new((1, known)),
            graph: Mutex::new(None),
            clone_locks: Mutex::new(HashMap::new()),
            disruptions: Arc::new(Semaphore::new(opts.max_disruptions.min(Semaphore::MAX_PERMITS))),
            block_disruptions: Mutex::new(HashMap::new()),
            handed_out: Mutex::new(HashMap::new()),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The graph evaluated with everything known now (rebuilt only when something new is known).
    fn graph(&self) -> Result<Arc<ResourceGraph>, String> {
        let (generation, known) = {
            let k = self.known.lock().map_err(|_| "poisoned")?;
            (k.0, k.1.clone())
        };
        let mut g = self.graph.lock().map_err(|_| "poisoned")?;
        if let Some((gen, graph)) = g.as_ref() {
            if *gen == generation {
                return Ok(graph.clone());
            }
        }
        let graph = self.project.rebuild(&BuildOptions { known }).map_err(|d| {
            let first = d.errors().next().map(|e| e.message.clone()).unwrap_or_default();
            format!("the configuration no longer evaluates: {first}")
        })?;
        let graph = Arc::new(graph);
        *g = Some((generation, graph.clone()));
        Ok(graph)
    }

    /// The desired attributes of a change, secrets in the clear, checked against the plan: a
    /// value that differs from what the plan recorded (a variable changed, a secret rotated)
    /// refuses the change.
    pub fn desired_for(&self, rc: &ResourceChange) -> Result<Option<Map<String, Json>>, String> {
        if rc.after.is_none() {
            return Ok(None);
        }
        if self.plan.mode == crate::plan::PlanMode::Rollback {
            // The desired values are what state recorded then, carried by the plan itself.
            return Ok(rc.after.as_ref().and_then(Json::as_object).cloned());
        }
        let graph = self.graph()?;
        let addr: ResourceAddress = rc.address.parse().map_err(|_| format!("bad address {}", rc.address))?;
        let inst =
            graph.instances.get(&addr).ok_or_else(|| format!("{} is no longer in the configuration", rc.address))?;
        let value = Value::Map(inst.attributes.clone());
        let (now, now_unknown, _) = plan::values::split(&value, &self.key);
        let planned = rc.after.as_ref().unwrap_or(&Json::Null);
        if let Some(path) = first_difference(planned, &rc.after_unknown, &now, &[]) {
            return Err(format!(
                "{}: {} differs from the plan (a variable or secret changed since the plan was made): plan again",
                rc.address,
                if path.is_empty() { "the resource".to_string() } else { path.join(".") }
            ));
        }
        if now_unknown != Json::Bool(false) && crate::plan::values::any_marked(&now_unknown, &[]) {
            let unknown_paths = unknown_list(&now_unknown, &[]);
            // Values computed by Proxmox (a vmid to allocate) may stay unknown; others may not.
            let blocking: Vec<String> = unknown_paths.into_iter().filter(|p| p != "vmid" && p != "id").collect();
            if !blocking.is_empty() {
                return Err(format!(
                    "{}: {} is still unknown (what it depends on failed?)",
                    rc.address,
                    blocking.join(", ")
                ));
            }
        }
        Ok(value.to_json().as_object().cloned())
    }

    fn learn(&self, address: &str, done: &Done) {
        let Ok(addr) = address.parse::<ResourceAddress>() else { return };
        let mut values: IndexMap<String, Value> =
            done.known.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect();
        if let Some(id) = &done.id {
            values.insert("id".into(), Value::String(id.clone()));
        }
        if let Ok(mut k) = self.known.lock() {
            k.0 += 1;
            k.1.insert(addr, values);
        }
    }

    /// Where a vmid lives on a cluster (a clone source).
    pub fn node_of(&self, provider: &str, vmid: u32) -> Option<String> {
        self.views.get(provider)?.guest(vmid)?.node.clone()
    }

    /// vmids the cluster has, and those handed out in this run.
    pub fn taken_vmids(&self, provider: &str) -> HashSet<u32> {
        let mut out: HashSet<u32> =
            self.views.get(provider).map(|v| v.resources.iter().filter_map(|r| r.vmid).collect()).unwrap_or_default();
        if let Ok(h) = self.handed_out.lock() {
            out.extend(h.get(provider).into_iter().flatten());
        }
        out
    }

    pub fn release_vmid(&self, provider: &str, vmid: u32) {
        if let Ok(mut h) = self.handed_out.lock() {
            h.entry(provider.to_string()).or_default().insert(vmid);
        }
        if let Ok(mut s) = self.store.lock() {
            let _ = s.release_vmid(provider, vmid);
        }
    }

    /// One clone at a time per source: PVE locks the source's config while it is copied, and
    /// concurrent clones of one template otherwise time out on that lock.
    pub async fn clone_permit(&self, provider: &str, source: u32) -> tokio::sync::OwnedSemaphorePermit {
        let sem = {
            let mut locks = self.clone_locks.lock().expect("clone locks");
            locks.entry((provider.to_string(), source)).or_insert_with(|| Arc::new(Semaphore::new(1))).clone()
        };
        let waited = Instant::now();
        let permit = sem.acquire_owned().await.expect("never closed");
        RunMetrics::add(&METRICS.lock_wait_ms, waited);
        permit
    }

    /// A place among the guests being stopped or rebooted: the resource block's budget
    /// (`lifecycle { max_disruptions }`) first, then the run's (`--max-disruptions`).
    pub async fn disruption_permit(&self, rc: &ResourceChange) -> Vec<tokio::sync::OwnedSemaphorePermit> {
        let waited = Instant::now();
        let mut held = Vec::new();
        if let Some(limit) = rc.max_disruptions {
            let block = rc.address.parse::<ResourceAddress>().map(|a| a.config.to_string()).unwrap_or_default();
            let sem = {
                let mut blocks = self.block_disruptions.lock().expect("disruption budgets");
                blocks
                    .entry(format!("{}|{block}", rc.provider))
                    .or_insert_with(|| Arc::new(Semaphore::new((limit as usize).min(Semaphore::MAX_PERMITS))))
                    .clone()
            };
            held.push(sem.acquire_owned().await.expect("never closed"));
        }
        held.push(self.disruptions.clone().acquire_owned().await.expect("never closed"));
        RunMetrics::add(&METRICS.lock_wait_ms, waited);
        held
    }

    /// The diff of a freshly created guest (a clone) against what is desired.
    pub fn diff_against(
        &self,
        rt: &crate::schema::ResourceType,
        rc: &ResourceChange,
        desired: &Map<String, Json>,
        live: &Map<String, Json>,
        running: bool,
    ) -> plan::diff::DiffOutcome {
        let lifecycle = crate::config::model::Lifecycle::default();
        let secrets = Map::new();
        plan::diff::diff(&plan::diff::DiffInput {
            rt,
            desired,
            unknown: &rc.after_unknown,
            sensitive: &Json::Object(Map::new()),
            live,
            prior_managed: &[],
            prior_secrets: &secrets,
            running,
            lifecycle: &lifecycle,
        })
    }
}

/// The first path where `planned` (with unknown marks) and `now` differ in a known value.
fn first_difference(planned: &Json, unknown: &Json, now: &Json, path: &[String]) -> Option<Vec<String>> {
    if unknown == &Json::Bool(true) {
        return None;
    }
    match (planned, now) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in a {
                let u = unknown.get(k).unwrap_or(&Json::Bool(false));
                let p: Vec<String> = path.iter().cloned().chain([k.clone()]).collect();
                if let Some(d) = first_difference(v, u, b.get(k).unwrap_or(&Json::Null), &p) {
                    return Some(d);
                }
            }
            b.keys().find(|k| !a.contains_key(*k)).map(|k| path.iter().cloned().chain([k.clone()]).collect())
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let u = unknown.get(i).unwrap_or(&Json::Bool(false));
                if let Some(d) =
                    first_difference(x, u, y, &path.iter().cloned().chain([i.to_string()]).collect::<Vec<_>>())
                {
                    return Some(d);
                }
            }
            None
        }
        _ if planned == now => None,
        // Unknown at plan time, known now.
        (Json::Null, _) => None,
        _ => Some(path.to_vec()),
    }
}

fn unknown_list(marks: &Json, path: &[String]) -> Vec<String> {
    match marks {
        Json::Bool(true) => vec![path.join(".")],
        Json::Object(m) => m
            .iter()
            .flat_map(|(k, v)| unknown_list(v, &path.iter().cloned().chain([k.clone()]).collect::<Vec<_>>()))
            .collect(),
        _ => vec![],
    }
}

/// The order of changes: each waits for the changes it depends on; guests are destroyed
/// before anything else and pools last (a pool must be empty to go).
pub fn dependencies(plan: &Plan) -> Vec<Vec<usize>> {
    let work: Vec<&ResourceChange> = plan.resource_changes.iter().collect();
    let index: HashMap<&str, usize> = work.iter().enumerate().map(|(i, r)| (r.address.as_str(), i)).collect();
    let is_pool_delete = |r: &ResourceChange| r.type_name == "pool" && r.action == Action::Delete;
    work.iter()
        .map(|r| {
            if is_pool_delete(r) {
                return (0..work.len()).filter(|j| !is_pool_delete(work[*j]) && work[*j].is_change()).collect();
            }
            if r.action == Action::Delete {
                return vec![];
            }
            let mut deps: Vec<usize> = r
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .filter(|j| work[*j].action != Action::Delete)
                .collect();
            // Guest deletes first: they free names, vmids and capacity.
            deps.extend((0..work.len()).filter(|j| work[*j].action == Action::Delete && work[*j].type_name != "pool"));
            deps.sort_unstable();
            deps.dedup();
            deps
        })
        .collect()
}

/// Runs the plan. Every change is committed as it finishes; a failure skips its dependents
/// and lets the rest go on; a cancel (Ctrl-C) starts nothing new and waits for what runs.
pub async fn run(ctx: Arc<Ctx>, opts: &ApplyOptions, reporter: Arc<dyn Reporter>) -> ApplyReport {
    let started = Instant::now();
    let plan = &ctx.plan;
    let deps = dependencies(plan);
    let n = plan.resource_changes.len();
    let mut state: Vec<Option<Outcome>> = vec![None; n];
    let mut elapsed: Vec<u128> = vec![0; n];
    // Nothing to do for reads and no-ops: done at once (their values are known already).
    for (i, r) in plan.resource_changes.iter().enumerate() {
        if !r.is_change() {
            state[i] = Some(Outcome::Applied);
        }
    }
    let sem = Arc::new(Semaphore::new(opts.parallelism.max(1)));
    // (change, its result or None when it never started, milliseconds)
    type Finished = (usize, Option<Result<Done, String>>, u128);
    let mut running: tokio::task::JoinSet<Finished> = tokio::task::JoinSet::new();
    let mut in_flight: HashSet<usize> = HashSet::new();
    loop {
        // Start what is ready.
        if !ctx.cancelled.load(Ordering::SeqCst) {
            for i in 0..n {
                if state[i].is_some() || in_flight.contains(&i) {
                    continue;
                }
                let blocked =
                    deps[i].iter().find(|d| matches!(state[**d], Some(Outcome::Failed(_)) | Some(Outcome::Skipped(_))));
                if let Some(d) = blocked {
                    let why = format!("{} did not complete", plan.resource_changes[*d].address);
                    let rc = &plan.resource_changes[i];
                    let outcome = Outcome::Skipped(why);
                    reporter.finished(&rc.address, rc.action, &outcome, Duration::ZERO);
                    state[i] = Some(outcome);
                    continue;
                }
                if deps[i].iter().all(|d| matches!(state[*d], Some(Outcome::Applied))) {
                    in_flight.insert(i);
                    let ctx = ctx.clone();
                    let sem = sem.clone();
                    let reporter = reporter.clone();
                    running.spawn(async move {
                        let _permit = sem.acquire_owned().await.expect("never closed");
                        if ctx.cancelled.load(Ordering::SeqCst) {
                            // Interrupted while waiting for its turn: it never starts.
                            return (i, None, 0);
                        }
                        let rc = &ctx.plan.resource_changes[i];
                        reporter.started(&rc.address, rc.action);
                        let t = Instant::now();
                        let result = match ctx.desired_for(rc) {
                            Ok(desired) => ops::execute(&ctx, rc, desired).await,
                            Err(e) => Err(e),
                        };
                        (i, Some(result), t.elapsed().as_millis())
                    });
                }
            }
        }
        let Some(joined) = running.join_next().await else { break };
        let (i, result, ms) = match joined {
            Ok(r) => r,
            Err(e) => {
                // A panicking change must not take the others down; find which one it was.
                let i = *in_flight.iter().next().unwrap_or(&0);
                (i, Some(Err(format!("internal error: {e}"))), 0)
            }
        };
        in_flight.remove(&i);
        elapsed[i] = ms;
        let rc = &plan.resource_changes[i];
        let outcome = match result {
            Some(Ok(done)) => {
                ctx.learn(&rc.address, &done);
                Outcome::Applied
            }
            Some(Err(e)) => Outcome::Failed(e),
            None => Outcome::Skipped("the apply was interrupted before it started".into()),
        };
        reporter.finished(&rc.address, rc.action, &outcome, Duration::from_millis(ms as u64));
        state[i] = Some(outcome);
    }
    let interrupted = ctx.cancelled.load(Ordering::SeqCst);
    let results = plan
        .resource_changes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_change())
        .map(|(i, r)| ChangeResult {
            address: r.address.clone(),
            action: r.action,
            outcome: state[i].clone().unwrap_or_else(|| Outcome::Skipped("the apply was interrupted".into())),
            elapsed_ms: elapsed[i],
        })
        .collect();
    ApplyReport { results, elapsed_ms: started.elapsed().as_millis(), interrupted }
}
