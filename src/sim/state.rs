//! The simulator's shared state: the cluster behind its lock, tasks, config locks, auth, faults
//! and the state file. The handlers work on it; the server only hands it to them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::auth::Auth;
use super::faults::Faults;
use super::model::Cluster;
use super::tasks::{Locks, Tasks};
use super::{seed, SimError, SimOptions};

/// The simulator's shared state.
pub struct Sim {
    pub opts: SimOptions,
    state: RwLock<Cluster>,
    pub tasks: Tasks,
    pub locks: Locks,
    pub auth: Auth,
    pub faults: Faults,
    /// Bumped on every change (caches key on it).
    pub generation: AtomicU64,
    /// The TLS certificate's fingerprint (empty over HTTP), shown as each node's `ssl_fingerprint`.
    pub fingerprint: String,
    /// Each node's workers (`--workers-per-node`); requests beyond them wait their turn.
    workers: std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>,
    /// The node clients connect to (requests not bound to a node run there).
    local_node: String,
}

impl Sim {
    pub fn new(opts: SimOptions, cluster: Cluster, fingerprint: String, password: String, faults: Faults) -> Sim {
        let local_node = cluster.nodes.keys().next().cloned().unwrap_or_default();
        let workers = match opts.workers_per_node {
            Some(n) => cluster
                .nodes
                .keys()
                .map(|node| (node.clone(), Arc::new(tokio::sync::Semaphore::new(n.max(1)))))
                .collect(),
            None => Default::default(),
        };
        Sim {
            fingerprint,
            workers,
            local_node,
            state: RwLock::new(cluster),
            tasks: Tasks::new(opts.seed),
            locks: Locks::new(tokio::runtime::Handle::current()),
            auth: Auth::new(password, opts.ticket_lifetime),
            faults,
            generation: AtomicU64::new(0),
            opts,
        }
    }

    /// Each node's workers (empty = unlimited).
    pub fn workers(&self) -> &std::collections::HashMap<String, Arc<tokio::sync::Semaphore>> {
        &self.workers
    }

    /// The node clients connect to.
    pub fn local_node(&self) -> &str {
        &self.local_node
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Cluster> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access; the change counter moves and the state file is saved by the caller's `changed`.
    pub fn write(&self) -> RwLockWriteGuard<'_, Cluster> {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A generated MAC in Proxmox's `BC:24:11` range, from the seeded generator.
    pub fn mac(&self) -> String {
        let r = self.faults.random_u32();
        format!("BC:24:11:{:02X}:{:02X}:{:02X}", (r >> 16) & 0xFF, (r >> 8) & 0xFF, r & 0xFF)
    }

    /// A UUID from the seeded generator.
    pub fn uuid(&self) -> String {
        let parts: [u32; 4] = std::array::from_fn(|_| self.faults.random_u32());
        let n = (u128::from(parts[0]) << 96)
            | (u128::from(parts[1]) << 64)
            | (u128::from(parts[2]) << 32)
            | u128::from(parts[3]);
        uuid::Builder::from_random_bytes(n.to_be_bytes()).into_uuid().to_string()
    }

    /// Persists the cluster if a state file is configured.
    pub fn save_state_file(&self) {
        let Some(path) = &self.opts.state_file else { return };
        let json = {
            let c = self.read();
            serde_json::to_vec_pretty(&*c)
        };
        match json {
            Ok(bytes) => {
                let tmp = path.with_extension("tmp");
                if let Err(e) = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)) {
                    tracing::warn!("cannot save the simulator state to {}: {e}", path.display());
                }
            }
            Err(e) => tracing::warn!("cannot serialise the simulator state: {e}"),
        }
    }
}

/// The cluster from the state file (when it exists), else the cluster file, else the built-in one.
pub fn load_cluster(opts: &SimOptions, sim_mac: &mut dyn FnMut() -> String) -> Result<Cluster, SimError> {
    if let Some(path) = &opts.state_file {
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| SimError::StateFile { path: path.clone(), message: e.to_string() })?;
            return serde_json::from_str(&text)
                .map_err(|e| SimError::StateFile { path: path.clone(), message: e.to_string() });
        }
    }
    match &opts.cluster {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| SimError::Cluster { path: path.clone(), message: e.to_string() })?;
            seed::build(&text, sim_mac).map_err(|message| SimError::Cluster { path: path.clone(), message })
        }
        None => seed::build(&seed::default_cluster_json(), sim_mac)
            .map_err(|message| SimError::Cluster { path: "<built-in>".into(), message }),
    }
}
