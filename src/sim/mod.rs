//! `pmx sim`: a built-in Proxmox VE simulator that speaks the real REST API over HTTP(S).
//!
//! The pieces: `routes` (the declared endpoints and their parameters, the single table both
//! dispatch and the conformance tests use), `params` (PVE-style parameter verification),
//! `model` (the cluster: nodes, storages, guests, pools), `guest_config` (config normalisation,
//! digest, pending changes), `tasks` (UPIDs, worker tasks, config locks), `handlers` (one file
//! per API area), `state` (the shared state the handlers work on: cluster, tasks, locks, auth),
//! `server` (TLS, connections, auth, faults) and `wire` (PVE's response format).

mod access;
mod auth;
mod faults;
mod guest_config;
mod handlers;
mod hotplug;
mod model;
mod params;
mod routes;
mod seed;
mod server;
mod state;
mod storage;
mod tasks;
mod tls;
mod update;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use params::{property_string_rules, KeyRule};
pub use routes::{routes, Check, Permission, RouteSpec};
pub use seed::default_cluster_json;

/// How to run the simulator.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Listen address; port 0 picks an ephemeral port.
    pub addr: SocketAddr,
    /// HTTPS with a generated self-signed certificate (default), else plain HTTP.
    pub tls: bool,
    /// The API token it accepts, `USER@REALM!TOKENID=SECRET`; None = `root@pam!pmx` + a random UUID.
    pub token: Option<String>,
    /// root@pam's password for `/access/ticket`; None = random.
    pub password: Option<String>,
    /// Cluster seed file (JSON, see docs/simulator.md); None = the built-in 3-node cluster.
    pub cluster: Option<PathBuf>,
    /// Where the cluster is persisted across restarts (loaded on start if it exists).
    pub state_file: Option<PathBuf>,
    /// How long write tasks stay `running`.
    pub task_duration: Duration,
    /// Per task type (`qmclone`, `qmstart`, ...), overriding `task_duration`.
    pub task_durations: std::collections::BTreeMap<String, Duration>,
    /// Server-side latency of every request, spent holding one of the node's workers.
    pub request_latency: Duration,
    /// pveproxy/pvedaemon workers per node: at most this many requests run at once on a node,
    /// the rest queue (PVE: 3). None = unlimited.
    pub workers_per_node: Option<usize>,
    /// How long a second writer waits for a guest's config lock (PVE: 10 s).
    pub lock_timeout: Duration,
    /// How long a ticket from `/access/ticket` stays valid (PVE: 2 h).
    pub ticket_lifetime: Duration,
    /// How long a request with bad credentials waits for its 401 (PVE: 3 s).
    pub auth_failure_delay: Duration,
    pub faults: FaultConfig,
    /// Nodes whose pveproxy cannot be reached: requests proxied to them fail as pveproxy's do.
    pub offline_nodes: std::collections::BTreeMap<String, OfflineMode>,
    /// pveproxy's inactivity timeout when proxying (AnyEvent::HTTP `timeout => 30`).
    pub proxy_timeout: Duration,
    /// Seed for fault injection and generated values (MACs), so runs repeat.
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8006)),
            tls: true,
            token: None,
            password: None,
            cluster: None,
            state_file: None,
            task_duration: Duration::from_millis(200),
            task_durations: Default::default(),
            request_latency: Duration::ZERO,
            workers_per_node: None,
            lock_timeout: Duration::from_secs(10),
            ticket_lifetime: Duration::from_secs(2 * 60 * 60),
            auth_failure_delay: Duration::ZERO,
            faults: FaultConfig::default(),
            offline_nodes: Default::default(),
            proxy_timeout: Duration::from_secs(30),
            seed: 0,
        }
    }
}

impl SimOptions {
    /// The realistic profile for benchmarks (`pmx sim serve --profile realistic`), from
    /// PVE's code and published measurements (see docs/simulator.md): 9 ms per request on a
    /// node's worker, 3 workers per node, a 3 s delay on failed authentication, and tasks as
    /// long as on a small real cluster.
    pub fn realistic() -> Self {
        let ms = Duration::from_millis;
        let durations = [
            ("qmcreate", ms(1_500)),
            ("vzcreate", ms(10_000)),
            ("qmclone", ms(2_000)),
            ("vzclone", ms(3_000)),
            ("qmstart", ms(2_000)),
            ("vzstart", ms(1_500)),
            ("qmstop", ms(1_000)),
            ("vzstop", ms(1_000)),
            ("qmshutdown", ms(5_000)),
            ("vzshutdown", ms(3_000)),
            ("qmreboot", ms(6_000)),
            ("vzreboot", ms(4_000)),
            ("qmigrate", ms(10_000)),
            ("vzmigrate", ms(5_000)),
            ("qmdestroy", ms(1_000)),
            ("vzdestroy", ms(1_000)),
            ("qmconfig", ms(300)),
            ("qmmove", ms(15_000)),
            ("move_volume", ms(15_000)),
            ("resize", ms(500)),
        ];
        SimOptions {
            task_duration: ms(1_000),
            task_durations: durations.into_iter().map(|(k, d)| (k.to_string(), d)).collect(),
            request_latency: ms(9),
            workers_per_node: Some(3),
            auth_failure_delay: Duration::from_secs(3),
            ..SimOptions::default()
        }
    }

    /// How long a task of this type runs.
    pub fn duration_of(&self, task_kind: &str) -> Duration {
        self.task_durations.get(task_kind).copied().unwrap_or(self.task_duration)
    }
}

/// How an offline node fails the requests proxied to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfflineMode {
    /// The node answers, its pveproxy does not: `595 Connection refused` at once.
    Refused,
    /// The node is gone: `596 Connection timed out` after the proxy timeout.
    Timeout,
}

/// Faults to inject, each a fraction of requests (or tasks, or writes) in 0.0..=1.0.
#[derive(Clone, Debug, Default)]
pub struct FaultConfig {
    /// Added to every response.
    pub latency: Duration,
    /// Requests answered 500 with a PVE-style message.
    pub error_rate: f64,
    /// Requests whose connection is dropped without an answer.
    pub reset_rate: f64,
    /// Tasks that end with an error exit status.
    pub task_failure_rate: f64,
    /// Writes that find the guest's config locked (they fail with PVE's lock-timeout message).
    pub lock_contention_rate: f64,
    /// Responses whose JSON body is cut short.
    pub malformed_json_rate: f64,
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot generate the TLS certificate: {0}")]
    Tls(String),
    #[error("invalid token {0:?}: expected USER@REALM!TOKENID=SECRET")]
    Token(String),
    #[error("cluster file {path}: {message}")]
    Cluster { path: PathBuf, message: String },
    #[error("state file {path}: {message}")]
    StateFile { path: PathBuf, message: String },
}

/// A simulator serving in the background of the current tokio runtime.
pub struct RunningSim {
    pub addr: SocketAddr,
    /// e.g. `https://127.0.0.1:41234` (without `/api2/json`).
    pub base_url: String,
    /// e.g. `root@pam!pmx`.
    pub token_id: String,
    pub token_secret: String,
    pub password: String,
    /// SHA-256 of the certificate (DER), `AB:CD:...` uppercase; empty over plain HTTP.
    pub fingerprint: String,
    /// The self-signed certificate as PEM; empty over plain HTTP.
    pub ca_pem: String,
    sim: Arc<state::Sim>,
    shutdown: tokio::sync::watch::Sender<bool>,
    join: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunningSim {
    // Hand-written so the secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("addr", &self.addr)
            .field("base_url", &self.base_url)
            .field("token_id", &self.token_id)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl RunningSim {
    /// Stops accepting connections, saves the state file (if any) and waits for the server.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.join.await;
        self.sim.save_state_file();
    }

    /// Test hook: hold the config lock of a guest for `d`, as a running task would.
    pub fn hold_lock(&self, vmid: u32, d: Duration) {
        self.sim.locks.hold(vmid, d);
    }

    /// Saves the cluster to the state file now (it is also saved after every change).
    pub fn save_state(&self) {
        self.sim.save_state_file();
    }
}

/// Starts the simulator on the current tokio runtime and returns once it is listening.
pub async fn start(opts: SimOptions) -> Result<RunningSim, SimError> {
    server::start(opts).await
}
