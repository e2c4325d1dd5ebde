//! Plan and apply benchmarks, the real binary against the in-process simulator over HTTPS.
//!
//! 1. A no-change `pmx plan` over 10,000 managed guests on 16 nodes: wall time, peak memory,
//!    API requests and requests/s, next to a bare parallel fetch of the same config URLs
//!    (reqwest, same parallelism) from the same simulator.
//! 2. `pmx apply` creating 1,000 guests by cloning 10 templates across 16 nodes (tasks of
//!    zero length), and the no-change plan after it.
//!
//! Run with `cargo bench --bench plan` (release build). Set PMX_BENCH_GUESTS / PMX_BENCH_CLONES
//! to change the sizes.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use pmx::codec::{self, LiveGuest};
use pmx::sim::SimOptions;
use pmx::state::{Change, ChangeType, Origin, ResourceKind, StateLocation, Store};
use serde_json::{json, Map, Value as Json};

const NODES: usize = 16;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn node(i: usize) -> String {
    format!("pve{}", i % NODES + 1)
}

fn guest_config(i: usize) -> Json {
    json!({"name": format!("g-{i}"), "memory": "2048", "cores": 2, "ostype": "l26",
           "net0": format!("virtio=BC:24:11:{:02X}:{:02X}:{:02X},bridge=vmbr0", (i >> 16) & 255, (i >> 8) & 255, i & 255),
           "scsi0": format!("local-lvm:vm-{}-disk-0,size=8G", 1000 + i)})
}

fn cluster(guests: usize, templates: usize) -> Json {
    let mut all: Vec<Json> = (0..guests)
        .map(|i| json!({"vmid": 1000 + i, "type": "qemu", "node": node(i), "running": true, "config": guest_config(i)}))
        .collect();
    for t in 0..templates {
        all.push(json!({"vmid": 90000 + t, "type": "qemu", "node": node(t), "template": true,
                        "config": {"name": format!("tmpl-{t}"), "scsi0": "shared:4", "ide2": "shared:cloudinit", "cores": 1, "memory": "1024"}}));
    }
    json!({
        "name": "bench",
        "nodes": (1..=NODES).map(|n| json!({"name": format!("pve{n}"), "cpus": 64, "memory_gib": 1024})).collect::<Vec<_>>(),
        "storages": [
            {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 1_000_000},
            {"id": "shared", "type": "nfs", "shared": true, "content": ["images", "rootdir"], "capacity_gib": 1_000_000}
        ],
        "guests": all
    })
}

const PLAN_CONFIG: &str = r#"provider "proxmox" {}

resource "vm" "g" {
  count = COUNT
  node  = "pve${count.index % 16 + 1}"
  name  = "g-${count.index}"

  cpu {
    cores = 2
  }

  memory {
    size = 2048
  }

  network "net0" {
    bridge = "vmbr0"
  }
}
"#;

/// State as a previous apply left it: every guest managed, its decoded attributes recorded.
fn seed_state(dir: &Path, guests: usize) {
    let mut store = Store::open(&StateLocation::Sqlite(dir.join(".pmx/state.db")), "default").unwrap();
    let rt = pmx::schema::registry().resource("vm").unwrap();
    let changes: Vec<Change> = (0..guests)
        .map(|i| {
            let config: Map<String, Json> = guest_config(i).as_object().unwrap().clone();
            let live = LiveGuest {
                node: node(i),
                vmid: (1000 + i) as u32,
                pool: None,
                running: true,
                template: false,
                config,
            };
            let mut attrs = codec::decode(rt, &live);
            let desired =
                json!({"node": 1, "name": 1, "cpu": {"cores": 2}, "memory": {"size": 2048}, "network": {"net0": {}}});
            let managed = pmx::plan::managed_paths(desired.as_object().unwrap());
            attrs.insert(
                pmx::plan::PMX_META.into(),
                json!({"provider": "proxmox", "origin": "managed", "managed": managed, "secrets": {}}),
            );
            Change::new(
                ChangeType::Created,
                ResourceKind::Vm,
                format!("vm.g[{i}]").parse().unwrap(),
                Json::Object(attrs),
            )
            .node(node(i))
            .vmid((1000 + i) as u32)
            .status("running")
            .cluster("proxmox")
            .origin(Origin::Managed)
        })
        .collect();
    store.commit_changes(None, changes).unwrap();
}

/// Runs the release binary; returns (exit code, wall time, peak RSS of the child in MiB, stdout).
fn run(sim: &pmx::sim::RunningSim, dir: &Path, args: &[&str]) -> (i32, Duration, f64, String) {
    let t = Instant::now();
    // PMX_BENCH_PERF=FILE profiles the runs with `perf record` (for finding where time goes).
    let mut cmd = match std::env::var("PMX_BENCH_PERF") {
        Ok(file) => {
            static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut c = std::process::Command::new("perf");
            c.args(["record", "-F", "499", "-g", "-o", &format!("{file}.{n}"), "--", env!("CARGO_BIN_EXE_pmx")]);
            c
        }
        Err(_) => std::process::Command::new(env!("CARGO_BIN_EXE_pmx")),
    };
    let out = cmd
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
    // The phases the plan logs: state read, cluster read (with its requests/s), plan decided.
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        if ["state read", "cluster read", "plan decided", "pre-flight checked"].iter().any(|p| line.contains(p)) {
            println!("    {}", line.trim());
        }
    }
    let wall = t.elapsed();
    // SAFETY: getrusage on RUSAGE_CHILDREN with a zeroed struct is always sound.
    let rss = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss as f64 / 1024.0
    };
    if !out.status.success() && out.status.code() != Some(2) {
        eprintln!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    (out.status.code().unwrap_or(-1), wall, rss, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A bare parallel fetch of every guest's config, as a plan reads them.
async fn bare_fetch(base_url: &str, auth: &str, guests: usize, parallelism: usize) -> Duration {
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let auth = auth.to_string();
    let t = Instant::now();
    // The same URLs as the plan: the listing and the pools (the plan needs them first), then
    // every config.
    let get = |path: &str| {
        let (c, auth, url) = (client.clone(), auth.clone(), format!("{base_url}/api2/json{path}"));
        async move {
            let r = c.get(url).header("Authorization", auth).send().await.unwrap();
            let _ = r.bytes().await.unwrap();
        }
    };
    futures::join!(get("/cluster/resources"), get("/pools"));
    stream::iter(0..guests)
        .map(|i| {
            let url = format!("{base_url}/api2/json/nodes/{}/qemu/{}/config", node(i), 1000 + i);
            let c = client.clone();
            let auth = auth.clone();
            async move {
                let r = c.get(url).header("Authorization", auth).send().await.unwrap();
                let _ = r.bytes().await.unwrap();
            }
        })
        .buffer_unordered(parallelism)
        .collect::<Vec<_>>()
        .await;
    t.elapsed()
}

/// The bare fetch from its own process, as pmx runs in its own: `PMX_BENCH_FETCH=URL AUTH N P`.
fn fetch_in_another_process(sim: &pmx::sim::RunningSim, guests: usize, parallelism: usize) -> Duration {
    let auth = format!("PVEAPIToken={}={}", sim.token_id, sim.token_secret);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("PMX_BENCH_FETCH", format!("{} {auth} {guests} {parallelism}", sim.base_url))
        .output()
        .unwrap();
    let ms: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    Duration::from_millis(ms)
}

fn main() {
    if let Ok(spec) = std::env::var("PMX_BENCH_FETCH") {
        let parts: Vec<&str> = spec.split(' ').collect();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let d = runtime.block_on(bare_fetch(parts[0], parts[1], parts[2].parse().unwrap(), parts[3].parse().unwrap()));
        println!("{}", d.as_millis());
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let guests = env_usize("PMX_BENCH_GUESTS", 10_000);
    let clones = env_usize("PMX_BENCH_CLONES", 1_000);

    // 1. A no-change plan over `guests` managed guests.
    let dir = tempfile::tempdir().unwrap();
    let cluster_file = dir.path().join("cluster.json");
    std::fs::write(&cluster_file, cluster(guests, 10).to_string()).unwrap();
    let sim = runtime
        .block_on(pmx::sim::start(SimOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            cluster: Some(cluster_file.clone()),
            task_duration: Duration::ZERO,
            ..SimOptions::default()
        }))
        .unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("main.pmx"), PLAN_CONFIG.replace("COUNT", &guests.to_string())).unwrap();
    seed_state(&project, guests);
    // Several runs (PMX_BENCH_RUNS, 3): the first also warms the simulator (its listing cache).
    for _ in 0..env_usize("PMX_BENCH_RUNS", 3) {
        let (code, wall, rss, out) = run(&sim, &project, &["plan", "--detailed-exitcode"]);
        assert_eq!(code, 0, "the plan has no changes: {}", out.lines().take(30).collect::<Vec<_>>().join("\n"));
        let requests = guests + 2;
        println!(
            "plan, no changes, {guests} guests on {NODES} nodes: {:.2} s wall, {:.0} MiB peak, {requests} API requests, {:.0} requests/s (whole process)",
            wall.as_secs_f64(),
            rss,
            requests as f64 / wall.as_secs_f64()
        );
    }
    let auth = format!("PVEAPIToken={}={}", sim.token_id, sim.token_secret);
    let bare = runtime.block_on(bare_fetch(&sim.base_url, &auth, guests, 10));
    println!(
        "bare parallel fetch of the same {} URLs (the listing, the pools, then the configs), in the simulator's process (reqwest, 10 at a time): {:.2} s, {:.0} requests/s",
        guests + 2,
        bare.as_secs_f64(),
        (guests + 2) as f64 / bare.as_secs_f64(),
    );
    let apart = fetch_in_another_process(&sim, guests, 10);
    println!(
        "the same fetch from its own process, as pmx runs: {:.2} s, {:.0} requests/s",
        apart.as_secs_f64(),
        (guests + 2) as f64 / apart.as_secs_f64().max(1e-9),
    );

    // 1a. Pre-flight's cost: a plan that changes every guest (2 cores → 3), with the checks
    // and without them.
    std::fs::write(
        project.join("main.pmx"),
        PLAN_CONFIG.replace("COUNT", &guests.to_string()).replace("cores = 2", "cores = 3"),
    )
    .unwrap();
    let (code, with, _, _) = run(&sim, &project, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "every guest changes");
    let (code, without, _, _) = run(&sim, &project, &["plan", "--detailed-exitcode", "--no-preflight"]);
    assert_eq!(code, 2);
    println!(
        "plan changing all {guests} guests: {:.2} s with the pre-flight checks, {:.2} s without ({:+.0} ms)",
        with.as_secs_f64(),
        without.as_secs_f64(),
        (with.as_secs_f64() - without.as_secs_f64()) * 1000.0
    );
    std::fs::write(project.join("main.pmx"), PLAN_CONFIG.replace("COUNT", &guests.to_string())).unwrap();

    // 1b. The same plan against the realistic profile (9 ms per request, 3 pveproxy workers per
    // node): what it takes on a real cluster, next to the bound those limits impose.
    let real = runtime
        .block_on(pmx::sim::start(SimOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            cluster: Some(cluster_file.clone()),
            ..SimOptions::realistic()
        }))
        .unwrap();
    let real_project = dir.path().join("real");
    std::fs::create_dir_all(&real_project).unwrap();
    std::fs::write(real_project.join("main.pmx"), PLAN_CONFIG.replace("COUNT", &guests.to_string())).unwrap();
    seed_state(&real_project, guests);
    for parallelism in [10usize, 48] {
        let p = parallelism.to_string();
        let (code, wall, _, _) = run(&real, &real_project, &["plan", "--detailed-exitcode", "--parallelism", &p]);
        assert_eq!(code, 0);
        // Each request holds a worker 9 ms; 3 workers per node, 16 nodes; pmx keeps `parallelism` in flight.
        let in_flight = parallelism.min(3 * NODES) as f64;
        let bound = (guests + 2) as f64 * 0.009 / in_flight;
        println!(
            "plan, realistic profile, parallelism {parallelism}: {:.2} s wall; bound from latency and workers {:.2} s",
            wall.as_secs_f64(),
            bound
        );
    }
    drop(real);

    // 2. Creating `clones` guests by cloning 10 templates across 16 nodes.
    let apply_dir = dir.path().join("apply");
    std::fs::create_dir_all(&apply_dir).unwrap();
    let config = format!(
        r#"provider "proxmox" {{}}

resource "vm" "c" {{
  count = {clones}
  node  = "pve${{count.index % 16 + 1}}"
  name  = "c-${{count.index}}"

  clone {{
    source = 90000 + count.index % 10
  }}

  cpu {{
    cores = 2
  }}
}}
"#
    );
    std::fs::write(apply_dir.join("main.pmx"), config).unwrap();
    let (code, wall, _, out) = run(&sim, &apply_dir, &["apply", "--auto-approve", "--parallelism", "32"]);
    assert_eq!(code, 0, "{}", out.lines().rev().take(20).collect::<Vec<_>>().join("\n"));
    println!(
        "apply, {clones} clones of 10 templates across {NODES} nodes (tasks of zero length, parallelism 32): {:.2} s",
        wall.as_secs_f64()
    );
    let (code, wall, _, _) = run(&sim, &apply_dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0);
    println!("plan after it, no changes: {:.2} s", wall.as_secs_f64());

    // 2b. Cloning with the realistic profile: PVE's task times (a clone 2 s, a start 2 s), 9 ms
    // per request and 3 workers per node. pmx clones one at a time per template (a clone holds
    // its source's lock), so 10 templates make 10 chains: the bound is the longest chain of
    // clones plus the last start.
    let real_clones = env_usize("PMX_BENCH_REAL_CLONES", 100);
    let real = runtime
        .block_on(pmx::sim::start(SimOptions {
            addr: "127.0.0.1:0".parse().unwrap(),
            cluster: Some(cluster_file),
            ..SimOptions::realistic()
        }))
        .unwrap();
    let real_apply = dir.path().join("real-apply");
    std::fs::create_dir_all(&real_apply).unwrap();
    std::fs::write(
        real_apply.join("main.pmx"),
        std::fs::read_to_string(apply_dir.join("main.pmx"))
            .unwrap()
            .replace(&format!("count = {clones}"), &format!("count = {real_clones}")),
    )
    .unwrap();
    let (code, wall, _, out) = run(&real, &real_apply, &["apply", "--auto-approve", "--parallelism", "32"]);
    assert_eq!(code, 0, "{}", out.lines().rev().take(20).collect::<Vec<_>>().join("\n"));
    let chain = real_clones.div_ceil(10) as f64;
    let bound = chain * 2.0 + 2.0;
    println!(
        "apply, realistic profile, {real_clones} clones of 10 templates (parallelism 32): {:.2} s; bound from task times and source locks {:.1} s ({:.0} clones per template × 2 s + a 2 s start)",
        wall.as_secs_f64(),
        bound,
        chain
    );
}
