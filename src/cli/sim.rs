//! `pmx sim`: run the built-in Proxmox VE simulator.
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use miette::{miette, IntoDiagnostic};

use super::{CmdResult, Global};
use crate::sim::{FaultConfig, OfflineMode, SimOptions};

#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    pub command: SimCommand,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated Proxmox VE API and print the environment to reach it.
    Serve(Box<ServeArgs>),
    /// Print the built-in cluster in the --cluster file format (a starting point for your own).
    DefaultCluster,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8006", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Plain HTTP instead of HTTPS with a self-signed certificate.
    #[arg(long)]
    pub http: bool,
    /// Cluster seed file (JSON: nodes, storages, templates, guests, pools; see docs/simulator.md).
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<PathBuf>,
    /// Persist the cluster here across restarts (loaded on start when it exists).
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// API token to accept, USER@REALM!TOKENID=SECRET (default: root@pam!pmx with a random secret).
    #[arg(long, env = "PMX_SIM_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// root@pam password for /access/ticket (default: random, printed).
    #[arg(long, env = "PMX_SIM_PASSWORD", hide_env_values = true, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Timing profile: `fast` (for tests: 200 ms tasks, no latency, no worker limit) or
    /// `realistic` (for benchmarks: PVE's latencies, 3 workers per node, real task durations).
    #[arg(long, value_enum, default_value_t = Profile::Fast)]
    pub profile: Profile,
    /// How long write tasks stay running, in milliseconds (every task type; overrides the profile).
    #[arg(long, value_name = "MS")]
    pub task_duration: Option<u64>,
    /// Server-side latency of every request, in milliseconds (overrides the profile).
    #[arg(long, value_name = "MS")]
    pub latency_ms: Option<u64>,
    /// Requests a node serves at once, the rest queue (PVE: 3; 0 = unlimited; overrides the profile).
    #[arg(long, value_name = "N")]
    pub workers_per_node: Option<usize>,
    /// How long a writer waits for a locked guest config, in milliseconds (PVE: 10000).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub lock_timeout: u64,
    /// Ticket lifetime in seconds (PVE: 7200).
    #[arg(long, default_value_t = 7200, value_name = "SECONDS")]
    pub ticket_lifetime: u64,
    /// How long a request with bad credentials waits for its 401, in milliseconds (PVE: 3000).
    #[arg(long, value_name = "MS")]
    pub auth_failure_delay: Option<u64>,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub fault_latency: u64,
    /// Fraction of requests answered with a 500 error.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub fault_error_rate: f64,
    /// Fraction of requests whose connection is dropped.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub fault_reset_rate: f64,
    /// Fraction of tasks that fail.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub fault_task_failure_rate: f64,
    /// Fraction of writes that find the guest config locked.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub fault_lock_contention_rate: f64,
    /// Fraction of responses with a truncated JSON body.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub fault_malformed_json_rate: f64,
    /// A node whose pveproxy cannot be reached (repeatable): requests for it get
    /// `595 Connection refused`; NODE:timeout gets `596 Connection timed out` after --proxy-timeout.
    #[arg(long = "offline-node", value_name = "NODE[:timeout]")]
    pub offline_nodes: Vec<String>,
    /// How long pveproxy waits on an unreachable node before its 596, in milliseconds (PVE: 30000).
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub proxy_timeout: u64,
    /// Seed for fault injection and generated values.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    Fast,
    Realistic,
}

fn rate(name: &str, v: f64) -> miette::Result<f64> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(miette!("--{name} must be between 0 and 1, got {v}"))
    }
}

impl ServeArgs {
    fn options(&self) -> miette::Result<SimOptions> {
        let base = match self.profile {
            Profile::Fast => SimOptions::default(),
            Profile::Realistic => SimOptions::realistic(),
        };
        let mut o = SimOptions {
            addr: self.listen,
            tls: !self.http,
            token: self.token.clone(),
            password: self.password.clone(),
            cluster: self.cluster.clone(),
            state_file: self.state_file.clone(),
            lock_timeout: Duration::from_millis(self.lock_timeout),
            ticket_lifetime: Duration::from_secs(self.ticket_lifetime),
            faults: FaultConfig {
                latency: Duration::from_millis(self.fault_latency),
                error_rate: rate("fault-error-rate", self.fault_error_rate)?,
                reset_rate: rate("fault-reset-rate", self.fault_reset_rate)?,
                task_failure_rate: rate("fault-task-failure-rate", self.fault_task_failure_rate)?,
                lock_contention_rate: rate("fault-lock-contention-rate", self.fault_lock_contention_rate)?,
                malformed_json_rate: rate("fault-malformed-json-rate", self.fault_malformed_json_rate)?,
            },
            offline_nodes: self
                .offline_nodes
                .iter()
                .map(|spec| match spec.split_once(':') {
                    None => Ok((spec.clone(), OfflineMode::Refused)),
                    Some((node, "timeout")) => Ok((node.to_string(), OfflineMode::Timeout)),
                    Some((_, other)) => Err(miette!("--offline-node {spec}: unknown mode '{other}' (only 'timeout')")),
                })
                .collect::<miette::Result<_>>()?,
            proxy_timeout: Duration::from_millis(self.proxy_timeout),
            seed: self.seed,
            ..base
        };
        if let Some(ms) = self.task_duration {
            o.task_duration = Duration::from_millis(ms);
            o.task_durations.clear();
        }
        if let Some(ms) = self.latency_ms {
            o.request_latency = Duration::from_millis(ms);
        }
        if let Some(n) = self.workers_per_node {
            o.workers_per_node = (n > 0).then_some(n);
        }
        if let Some(ms) = self.auth_failure_delay {
            o.auth_failure_delay = Duration::from_millis(ms);
        }
        Ok(o)
    }
}

/// Single-quotes a value for `eval` when it holds anything a shell would interpret.
fn shell_quote(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/@,+=".contains(c)) {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

pub fn run(args: SimArgs, g: &Global) -> CmdResult {
    match args.command {
        SimCommand::DefaultCluster => {
            println!("{}", crate::sim::default_cluster_json());
            Ok(ExitCode::SUCCESS)
        }
        SimCommand::Serve(a) => serve(*a, g),
    }
}

fn serve(a: ServeArgs, g: &Global) -> CmdResult {
    let opts = a.options()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().into_diagnostic()?;
    rt.block_on(async move {
        let sim = crate::sim::start(opts).await.map_err(|e| miette!("pmx sim: {e}"))?;
        let mut out = std::io::stdout().lock();
        if g.json {
            let v = serde_json::json!({
                "endpoint": sim.base_url,
                "token_id": sim.token_id,
                "token_secret": sim.token_secret,
                "fingerprint": sim.fingerprint,
                "password": sim.password,
                "ca_pem": sim.ca_pem,
            });
            let _ = writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default());
        } else {
            let _ = writeln!(out, "export PMX_ENDPOINT={}", shell_quote(&sim.base_url));
            let _ = writeln!(out, "export PMX_TOKEN_ID={}", shell_quote(&sim.token_id));
            let _ = writeln!(out, "export PMX_TOKEN_SECRET={}", shell_quote(&sim.token_secret));
            if !sim.fingerprint.is_empty() {
                let _ = writeln!(out, "export PMX_FINGERPRINT={}", shell_quote(&sim.fingerprint));
            }
        }
        let _ = out.flush();
        drop(out);
        if !g.quiet {
            eprintln!(
                "pmx sim: Proxmox VE API simulator on {}/api2/json (root@pam password: {}); Ctrl-C to stop",
                sim.base_url, sim.password
            );
        }
        wait_for_signal().await;
        if !g.quiet {
            eprintln!("pmx sim: stopping");
        }
        sim.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_flags_override_the_profile() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let o = Cli::parse_from(["x", "--profile", "realistic"]).serve.options().unwrap();
        assert_eq!((o.workers_per_node, o.request_latency), (Some(3), Duration::from_millis(9)));
        assert_eq!(o.duration_of("qmclone"), Duration::from_secs(2));
        let args =
            ["x", "--profile", "realistic", "--latency-ms", "1", "--workers-per-node", "0", "--task-duration", "5"];
        let o = Cli::parse_from(args).serve.options().unwrap();
        assert_eq!((o.workers_per_node, o.request_latency), (None, Duration::from_millis(1)));
        assert_eq!(o.duration_of("qmclone"), Duration::from_millis(5));
        let o = Cli::parse_from(["x"]).serve.options().unwrap();
        assert_eq!((o.workers_per_node, o.task_duration), (None, Duration::from_millis(200)));
        assert!(Cli::parse_from(["x", "--offline-node", "pve2:down"]).serve.options().is_err());
    }

    #[test]
    fn quoting_is_eval_safe() {
        assert_eq!(shell_quote("https://127.0.0.1:8006"), "https://127.0.0.1:8006");
        assert_eq!(shell_quote("root@pam!pmx"), "'root@pam!pmx'");
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
