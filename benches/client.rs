//! Client benchmark: the simulator (in process, HTTPS) holds 10,000 guests; the client reads
//! every guest's config with bounded parallelism. Target: under 2 s. Run with
//! `cargo bench --bench client`; it prints wall time, requests/s and peak RSS.

use futures::stream::{self, StreamExt};
use pmx::proxmox::models::GuestKind;
use pmx::proxmox::{ClientConfig, ProviderSettings, PveClient, Secret};
use pmx::sim::SimOptions;
use serde_json::json;
use std::time::{Duration, Instant};

const GUESTS: u32 = 10_000;
const PARALLEL: usize = 64;
const NODES: [&str; 3] = ["pve1", "pve2", "pve3"];

fn cluster_file() -> serde_json::Value {
    let guests: Vec<_> = (0..GUESTS)
        .map(|i| {
            let vmid = 1000 + i;
            json!({
                "vmid": vmid, "type": "qemu", "node": NODES[(i % 3) as usize],
                "config": {
                    "name": format!("vm-{vmid}"), "memory": 2048, "cores": 2, "ostype": "l26",
                    "net0": "virtio,bridge=vmbr0,tag=20", "scsi0": "local-lvm:8", "ipconfig0": "ip=dhcp",
                    "tags": "bench;pmx"
                }
            })
        })
        .collect();
    json!({
        "name": "bench",
        "nodes": NODES.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "storages": [
            {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 1_000_000}
        ],
        "guests": guests
    })
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let cluster = dir.path().join("cluster.json");
        std::fs::write(&cluster, cluster_file().to_string()).expect("write cluster file");
        let t0 = Instant::now();
        let sim = pmx::sim::start(SimOptions {
            addr: "127.0.0.1:0".parse().expect("address"),
            cluster: Some(cluster),
            task_duration: Duration::from_millis(10),
            ..Default::default()
        })
        .await
        .expect("simulator starts");
        println!("simulator with {GUESTS} guests ready in {:.2?}", t0.elapsed());

        let mut cfg = ClientConfig::from_settings(ProviderSettings {
            endpoint: Some(sim.base_url.clone()),
            token_id: Some(sim.token_id.clone()),
            token_secret: Some(Secret::new(sim.token_secret.clone())),
            fingerprint: Some(sim.fingerprint.clone()),
            ..Default::default()
        })
        .expect("config");
        cfg.per_node_concurrency = PARALLEL;
        let client = PveClient::new(cfg).expect("client");

        let t = Instant::now();
        let vms = client.cluster_resources(Some("vm")).await.expect("resources");
        let list_time = t.elapsed();
        let targets: Vec<(String, u32)> =
            vms.iter().filter_map(|r| Some((r.node.clone()?, r.vmid?))).collect();
        assert_eq!(targets.len(), GUESTS as usize, "every guest listed");

        let t = Instant::now();
        let results: Vec<_> = stream::iter(targets)
            .map(|(node, vmid)| {
                let c = client.clone();
                async move { c.guest_config(&node, &GuestKind::Qemu, vmid).await }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let wall = t.elapsed();
        let failed = results.iter().filter(|r| r.is_err()).count();
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            eprintln!("first failure: {e}");
        }
        println!("list /cluster/resources?type=vm ({GUESTS} entries): {list_time:.2?}");
        println!(
            "read {} guest configs, parallelism {PARALLEL}: wall {:.3} s, {:.0} configs/s, {failed} failed (target < 2 s)",
            results.len(),
            wall.as_secs_f64(),
            results.len() as f64 / wall.as_secs_f64()
        );
        if let Some(mib) = peak_rss_mib() {
            println!("peak RSS (simulator + client in one process): {mib:.1} MiB");
        }
        sim.shutdown().await;
    });
}
