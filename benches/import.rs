//! `pmx import` of a 10,000-guest cluster, the real binary against the in-process simulator
//! over HTTPS: whole-process wall time (target: under 10 s), peak memory, and the phases the
//! import logs (cluster read, decided, files written, state written). Then the plan after the
//! import, which must be empty.
//!
//! Run with `cargo bench --bench import` (release build). PMX_BENCH_GUESTS changes the size.

use std::path::Path;
use std::time::{Duration, Instant};

use pmx::sim::SimOptions;
use serde_json::{json, Value as Json};

const NODES: usize = 16;

fn node(i: usize) -> String {
    format!("pve{}", i % NODES + 1)
}

/// A varied guest: every tenth a container, the rest VMs with one or two disks and NICs,
/// VLAN tags, tags in mixed case, some stopped, some in pools, a few with options pmx does not
/// model.
fn guest(i: usize) -> Json {
    let vmid = 1000 + i;
    let pool = (i % 7 == 0).then(|| format!("pool-{}", i % 5));
    if i % 10 == 9 {
        return json!({"vmid": vmid, "type": "lxc", "node": node(i), "running": i % 3 != 0, "pool": pool, "config": {
            "hostname": format!("ct-{i}"), "memory": "512", "swap": "256", "cores": 1, "ostype": "debian",
            "unprivileged": "1", "features": "nesting=1",
            "rootfs": format!("local-lvm:subvol-{vmid}-disk-0,size=4G"),
            "mp0": format!("local-lvm:subvol-{vmid}-disk-1,mp=/srv,size=2G"),
            "net0": format!("name=eth0,bridge=vmbr0,hwaddr=BC:24:12:{:02X}:{:02X}:{:02X},ip=dhcp,tag={}", (i >> 16) & 255, (i >> 8) & 255, i & 255, 10 + i % 50),
        }});
    }
    let mut config = json!({
        "name": format!("g-{i}"), "memory": "2048", "cores": 2, "ostype": "l26", "scsihw": "virtio-scsi-single",
        "tags": if i % 2 == 0 { "Prod;web" } else { "db" },
        "net0": format!("virtio=BC:24:11:{:02X}:{:02X}:{:02X},bridge=vmbr0,tag={}", (i >> 16) & 255, (i >> 8) & 255, i & 255, 10 + i % 50),
        "scsi0": format!("local-lvm:vm-{vmid}-disk-0,size=8G,discard=on"),
    });
    if i % 4 == 0 {
        config["scsi1"] = json!(format!("local-lvm:vm-{vmid}-disk-1,size=16G"));
        config["net1"] = json!(format!(
            "e1000=BC:24:13:{:02X}:{:02X}:{:02X},bridge=vmbr0",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ));
    }
    if i % 50 == 0 {
        config["args"] = json!("-no-hpet");
    }
    json!({"vmid": vmid, "type": "qemu", "node": node(i), "running": i % 5 != 0, "pool": pool, "config": config})
}

fn cluster(guests: usize) -> Json {
    let mut all: Vec<Json> = (0..guests).map(guest).collect();
    all.push(json!({"vmid": 90000, "type": "qemu", "node": "pve1", "template": true,
                    "config": {"name": "tmpl", "scsi0": "local-lvm:4", "cores": 1, "memory": "1024"}}));
    json!({
        "name": "bench",
        "nodes": (1..=NODES).map(|n| json!({"name": format!("pve{n}"), "cpus": 64, "memory_gib": 1024})).collect::<Vec<_>>(),
        "storages": [
            {"id": "local", "type": "dir", "content": ["iso", "vztmpl"], "capacity_gib": 1000},
            {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 1_000_000}
        ],
        "pools": (0..5).map(|p| json!({"poolid": format!("pool-{p}")})).collect::<Vec<_>>(),
        "guests": all
    })
}

/// Runs the release binary; returns (exit code, wall time, peak RSS of children in MiB).
fn run(sim: &pmx::sim::RunningSim, dir: &Path, args: &[&str]) -> (i32, Duration, f64) {
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("PMX_ENDPOINT", &sim.base_url)
        .env("PMX_TOKEN_ID", &sim.token_id)
        .env("PMX_TOKEN_SECRET", &sim.token_secret)
        .env("PMX_FINGERPRINT", &sim.fingerprint)
        .env("NO_COLOR", "1")
        .env("PMX_LOG", "info")
        .output()
        .unwrap();
    let wall = t.elapsed();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        if ["import:", "state read", "cluster read", "plan decided"].iter().any(|p| line.contains(p)) {
            println!("    {}", line.trim());
        }
    }
    // SAFETY: getrusage on RUSAGE_CHILDREN with a zeroed struct is always sound.
    let rss = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss as f64 / 1024.0
    };
    if !out.status.success() && out.status.code() != Some(2) {
        eprintln!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    (out.status.code().unwrap_or(-1), wall, rss)
}

fn main() {
    let guests: usize = std::env::var("PMX_BENCH_GUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cluster_file = dir.path().join("cluster.json");
    std::fs::write(&cluster_file, cluster(guests).to_string()).unwrap();
    let sim = runtime
        .block_on(pmx::sim::start(SimOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            cluster: Some(cluster_file),
            task_duration: Duration::ZERO,
            ..SimOptions::default()
        }))
        .unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    println!("pmx import of {guests} guests on {NODES} nodes (+ 5 pools, 1 template):");
    let (code, wall, rss) = run(&sim, &project, &["import", "--group-by", "node"]);
    println!("  import: exit {code}, {:.2} s wall, peak RSS {rss:.0} MiB (target: under 10 s)", wall.as_secs_f64());
    assert_eq!(code, 0, "import failed");
    let (code, wall, _) = run(&sim, &project, &["plan", "--detailed-exitcode", "--out", "plan.out"]);
    println!("  plan after import: exit {code} (0 = no changes), {:.2} s wall", wall.as_secs_f64());
    assert_eq!(code, 0, "the plan after import is not empty");
    runtime.block_on(sim.shutdown());
}
