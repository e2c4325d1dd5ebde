//! The realistic profile (benchmarks): per-request latency spent on one of the node's
//! pveproxy/pvedaemon workers (PVE: 3 per node, `max_workers` in pveproxy.pm/pvedaemon.pm; the
//! handler blocks its worker, so further requests queue), and task durations per task type.

use super::support::*;

#[tokio::test]
async fn requests_beyond_the_workers_of_a_node_queue() {
    let api =
        Api::start(SimOptions { request_latency: Duration::from_millis(120), workers_per_node: Some(2), ..opts() })
            .await;
    let api = std::sync::Arc::new(api);
    let timed = |paths: Vec<&'static str>| {
        let api = api.clone();
        async move {
            let started = Instant::now();
            let calls = paths.into_iter().map(|p| {
                let api = api.clone();
                async move { api.get(p).await }
            });
            futures::future::join_all(calls).await;
            started.elapsed()
        }
    };
    // Four requests on one node with two workers: two rounds.
    let one_node = timed(vec!["/nodes/pve2/status"; 4]).await;
    assert!(one_node >= Duration::from_millis(240), "{one_node:?}");
    // Spread over two nodes: one round each, side by side.
    let two_nodes =
        timed(vec!["/nodes/pve2/status", "/nodes/pve2/status", "/nodes/pve3/status", "/nodes/pve3/status"]).await;
    assert!(two_nodes < Duration::from_millis(235), "{two_nodes:?}");
    // Requests not bound to a node run on the node the client talks to (the first).
    let local = timed(vec!["/version", "/cluster/resources", "/nodes/pve1/status"]).await;
    assert!(local >= Duration::from_millis(240), "{local:?}");
}

#[tokio::test]
async fn the_realistic_profile_follows_pve() {
    let r = SimOptions::realistic();
    assert_eq!(r.workers_per_node, Some(3));
    assert_eq!(r.request_latency, Duration::from_millis(9));
    assert_eq!(r.auth_failure_delay, Duration::from_secs(3));
    assert!(r.duration_of("qmclone") < r.duration_of("qmigrate"));
    assert_eq!(r.duration_of("unknown-task"), r.task_duration);
    let d = SimOptions::default();
    assert_eq!((d.workers_per_node, d.request_latency, d.auth_failure_delay), (None, Duration::ZERO, Duration::ZERO));
    // Per-type durations drive the tasks.
    let api = Api::start(SimOptions {
        task_durations: [("qmcreate".to_string(), Duration::from_millis(300))].into_iter().collect(),
        ..opts()
    })
    .await;
    let started = Instant::now();
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "100")]).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    assert!(started.elapsed() < Duration::from_millis(300), "other tasks keep --task-duration");
    api.sim.shutdown().await;
}
