//! Simulator benchmark: a 10,000-guest cluster served over keep-alive connections by concurrent
//! clients doing simple GETs. Target: at least 20,000 GETs/s on a 2-core machine. Run with
//! `cargo bench --bench sim`; it prints seeding time, requests/s, latency percentiles and peak RSS.
//!
//! The plain-HTTP run uses a minimal HTTP/1.1 client so the figure measures the server rather
//! than client overhead; the HTTPS run uses reqwest (rustls), as pmx does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pmx::sim::SimOptions;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GUESTS: u32 = 10_000;
const NODES: [&str; 3] = ["pve1", "pve2", "pve3"];
const CONNECTIONS: usize = 32;
const SECONDS: u64 = 5;

fn cluster_file() -> serde_json::Value {
    let guests: Vec<_> = (0..GUESTS)
        .map(|i| {
            let vmid = 1000 + i;
            json!({
                "vmid": vmid, "type": if i % 5 == 4 { "lxc" } else { "qemu" }, "node": NODES[(i % 3) as usize],
                "running": i % 2 == 0,
                "config": if i % 5 == 4 {
                    json!({"hostname": format!("ct-{vmid}"), "memory": 512, "cores": 1, "ostype": "debian",
                           "net0": "name=eth0,bridge=vmbr0,ip=dhcp", "rootfs": "local-lvm:4"})
                } else {
                    json!({"name": format!("vm-{vmid}"), "memory": "2048", "cores": 2, "ostype": "l26",
                           "net0": "virtio,bridge=vmbr0,tag=20", "scsi0": "local-lvm:8", "tags": "bench;pmx"})
                }
            })
        })
        .collect();
    json!({
        "name": "bench",
        "nodes": NODES.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "storages": [{"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 1_000_000}],
        "guests": guests
    })
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The GET a client issues for request number `i`: a guest config, the guest list of a node, or
/// the version, in rotation.
fn path_for(i: u64) -> String {
    let n = i % 10;
    let vmid = 1000 + (i * 7919 % u64::from(GUESTS)) as u32;
    let idx = ((vmid - 1000) % 3) as usize;
    let kind = if (vmid - 1000) % 5 == 4 { "lxc" } else { "qemu" };
    match n {
        0 => "/api2/json/version".into(),
        1 => format!("/api2/json/nodes/{}/{kind}/{vmid}/status/current", NODES[idx]),
        _ => format!("/api2/json/nodes/{}/{kind}/{vmid}/config", NODES[idx]),
    }
}

/// One keep-alive connection sending GETs until `stop`; returns per-request latencies.
async fn raw_client(addr: std::net::SocketAddr, auth: String, seed: u64, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut lat = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        let req = format!("GET {} HTTP/1.1\r\nHost: sim\r\nAuthorization: {auth}\r\n\r\n", path_for(i));
        i += 1;
        let t = Instant::now();
        s.write_all(req.as_bytes()).await.expect("write");
        // Read the head, then the body by Content-Length.
        let mut have = 0;
        let (head_end, body_len) = loop {
            let n = s.read(&mut buf[have..]).await.expect("read");
            assert!(n > 0, "server closed the connection");
            have += n;
            if let Some(pos) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 200"), "{head}");
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .expect("content-length");
                break (pos + 4, len);
            }
        };
        while have < head_end + body_len {
            let n = s.read(&mut buf[have..]).await.expect("read body");
            assert!(n > 0, "server closed the connection");
            have += n;
        }
        lat.push(t.elapsed());
    }
    lat
}

async fn reqwest_client(base: String, auth: String, ca: String, seed: u64, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("ca"))
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let mut lat = Vec::new();
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        let url = format!("{base}{}", path_for(i));
        i += 1;
        let t = Instant::now();
        let r = client.get(&url).header("Authorization", &auth).send().await.expect("send");
        assert!(r.status().is_success());
        let _ = r.bytes().await.expect("body");
        lat.push(t.elapsed());
    }
    lat
}

fn report(label: &str, mut lat: Vec<Duration>, wall: Duration) {
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    println!(
        "{label}: {} GETs in {:.2} s = {:.0} GETs/s over {CONNECTIONS} keep-alive connections; latency p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cluster.json");
        std::fs::write(&path, cluster_file().to_string()).expect("write cluster");
        for tls in [false, true] {
            let t = Instant::now();
            let sim = pmx::sim::start(SimOptions {
                addr: "127.0.0.1:0".parse().expect("addr"),
                tls,
                cluster: Some(path.clone()),
                ..SimOptions::default()
            })
            .await
            .expect("simulator starts");
            println!(
                "seeded {GUESTS} guests and started ({}) in {:.2} s",
                if tls { "https" } else { "http" },
                t.elapsed().as_secs_f64()
            );
            let auth = format!("PVEAPIToken={}={}", sim.token_id, sim.token_secret);
            // Warm-up, and the size of the largest response.
            let big = reqwest::Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap_or_else(|_| {
                    reqwest::Certificate::from_pem(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
                        .expect("pem")
                }))
                .build()
                .expect("client");
            if !tls {
                let t = Instant::now();
                let body = big
                    .get(format!("{}/api2/json/cluster/resources", sim.base_url))
                    .header("Authorization", &auth)
                    .send()
                    .await
                    .expect("resources")
                    .bytes()
                    .await
                    .expect("body");
                println!(
                    "GET /cluster/resources ({} rows): {} bytes in {:.1} ms (uncached)",
                    GUESTS + 9,
                    body.len(),
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
            let stop = Arc::new(AtomicBool::new(false));
            let t = Instant::now();
            let mut handles = Vec::new();
            for c in 0..CONNECTIONS {
                let stop = stop.clone();
                let auth = auth.clone();
                let seed = c as u64 * 100_003;
                if tls {
                    handles.push(tokio::spawn(reqwest_client(
                        sim.base_url.clone(),
                        auth,
                        sim.ca_pem.clone(),
                        seed,
                        stop,
                    )));
                } else {
                    handles.push(tokio::spawn(raw_client(sim.addr, auth, seed, stop)));
                }
            }
            tokio::time::sleep(Duration::from_secs(SECONDS)).await;
            stop.store(true, Ordering::Relaxed);
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.await.expect("client task"));
            }
            report(if tls { "https (reqwest)" } else { "http (raw keep-alive)" }, all, t.elapsed());
            sim.shutdown().await;
        }
        println!("peak RSS: {:.1} MiB", peak_rss_mib());
    });
}
