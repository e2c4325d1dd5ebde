//! Errors and task endings as PVE gives them: pveproxy's proxy failures (`proxy_request`,
//! AnyEvent::HTTP's 595/596), the auth failure path of pve-http-server, fork_worker's exit
//! statuses, `dump_logfile`'s total, a start that QEMU refuses, AbstractMigrate's abort.

use super::support::*;

async fn status_line(api: &Api, path: &str, auth: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(api.sim.addr).await.unwrap();
    let req = format!("GET /api2/json{path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or("").to_string(), body.to_string())
}

/// pveproxy proxies node-bound methods (`proxyto => 'node'`); when the node's pveproxy refuses
/// the connection the client gets AnyEvent::HTTP's `595 Connection refused`, and a node that is
/// gone `596 Connection timed out` after the proxy timeout. Both without a body; permissions are
/// checked first (rest_handler), requests not bound to the node still work.
#[tokio::test]
async fn offline_nodes_answer_595_and_596() {
    let mut offline = std::collections::BTreeMap::new();
    offline.insert("pve2".to_string(), sim::OfflineMode::Refused);
    offline.insert("pve3".to_string(), sim::OfflineMode::Timeout);
    let api =
        Api::start(SimOptions { offline_nodes: offline, proxy_timeout: Duration::from_millis(200), ..opts() }).await;
    let (line, body) = status_line(&api, "/nodes/pve2/qemu", &api.auth()).await;
    assert_eq!(line, "HTTP/1.1 595 Connection refused");
    assert_eq!(body, "");
    let started = Instant::now();
    let (line, _) = status_line(&api, "/nodes/pve3/status", &api.auth()).await;
    assert_eq!(line, "HTTP/1.1 596 Connection timed out");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(api.call(Method::GET, "/cluster/resources", &[]).await.status, 200);
    assert_eq!(api.call(Method::GET, "/nodes/pve1/qemu", &[]).await.status, 200);
    let (line, _) = status_line(&api, "/nodes/pve2/qemu", "PVEAPIToken=root@pam!pmx=wrong").await;
    assert!(line.starts_with("HTTP/1.1 401 "), "authentication comes before proxying: {line}");
    api.sim.shutdown().await;
}

/// pve-http-server's auth_handler failure: `401` with the reason in the status line, no body,
/// after the configured delay (PVE: 3 s); a wrong password at /access/ticket waits as long.
#[tokio::test]
async fn failed_authentication_is_a_delayed_bodyless_401() {
    let api = Api::start(SimOptions { auth_failure_delay: Duration::from_millis(300), ..opts() }).await;
    let started = Instant::now();
    let (line, body) = status_line(&api, "/version", "PVEAPIToken=root@pam!pmx=wrong").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(line, "HTTP/1.1 401 invalid token value!");
    assert_eq!(body, "");
    let (line, _) = status_line(&api, "/version", "PVEAPIToken=nobody@pve!x=y").await;
    assert_eq!(line, "HTTP/1.1 401 no such user ('nobody@pve')");
    let started = Instant::now();
    let r = api
        .http
        .post(format!("{}/api2/json/access/ticket", api.sim.base_url))
        .form(&[("username", "root@pam"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Good credentials are not delayed.
    let started = Instant::now();
    api.get("/version").await;
    assert!(started.elapsed() < Duration::from_millis(300));
    api.sim.shutdown().await;
}

/// A VM on a bridge its node lacks: `qm start` fails in QEMU's network script (the log says
/// why, the status is `start failed: QEMU exited with code 1`); create with start=1 ends with a
/// warning and a stopped VM. The log answers with `total`, and an empty log reads "no content".
#[tokio::test]
async fn missing_bridge_fails_the_start_and_logs_have_a_total() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[("net1", "virtio,bridge=vmbr9")]).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "start failed: QEMU exited with code 1", "{st}");
    let r = api.call(Method::GET, &format!("/nodes/pve1/tasks/{}/log", upid.as_str().unwrap()), &[]).await;
    let log = r.body["data"].as_array().unwrap();
    assert_eq!(r.body["total"], log.len(), "{}", r.body);
    assert_eq!(log[0]["t"], "bridge 'vmbr9' does not exist");
    assert!(log[1]["t"].as_str().unwrap().contains("ifname=tap100i1"), "{}", r.body);
    assert_eq!(log.last().unwrap()["t"], "TASK ERROR: start failed: QEMU exited with code 1");
    assert_eq!(api.get("/nodes/pve1/qemu/100/status/current").await["status"], "stopped");
    let r = api
        .call(
            Method::GET,
            &format!("/nodes/pve1/tasks/{}/log", upid.as_str().unwrap()),
            &[("start", "1"), ("limit", "1")],
        )
        .await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["total"], log.len());

    let upid = api
        .ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "101"), ("net0", "virtio,bridge=vmbr9"), ("start", "1")])
        .await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "WARNINGS: 1");
    assert_eq!(api.get("/nodes/pve1/qemu/101/status/current").await["status"], "stopped");

    let tasks = api.call(Method::GET, "/nodes/pve1/tasks", &[("limit", "1")]).await;
    assert_eq!(tasks.body["data"].as_array().unwrap().len(), 1);
    assert!(tasks.body["total"].as_u64().unwrap() >= 3, "{}", tasks.body);

    // A running task with nothing logged yet.
    let slow = Api::start(SimOptions { task_duration: Duration::from_millis(400), ..opts() }).await;
    let upid = slow.ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "102")]).await;
    let r = slow.call(Method::GET, &format!("/nodes/pve1/tasks/{}/log", upid.as_str().unwrap()), &[]).await;
    assert_eq!(r.body["data"], json!([{"n": 1, "t": "no content"}]));
    assert_eq!(r.body["total"], 1);
    slow.sim.shutdown().await;
    api.sim.shutdown().await;
}

/// fork_worker: the exit status is the whole error with newlines as spaces; AbstractMigrate:
/// a failed migration's status is exactly `migration aborted`, the reason only in the log.
#[tokio::test]
async fn exit_statuses_are_whole_and_migration_aborts_plainly() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/migrate", &[("target", "pve2"), ("online", "1")]).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "migration aborted");
    let r = api.call(Method::GET, &format!("/nodes/pve1/tasks/{}/log", upid.as_str().unwrap()), &[]).await;
    let lines: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|l| l["t"].as_str().unwrap()).collect();
    // QemuMigrate::scan_local_volumes: the disk's problem is a warning, the abort says "check log".
    assert!(
        lines.iter().any(|l| l.ends_with(
            "WARN: can't migrate local disk 'local-lvm:vm-100-disk-0': can't live migrate attached local disks without with-local-disks option"
        )),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with(
            "ERROR: migration aborted (duration 00:00:00): Problem found while scanning volumes - can't migrate VM - check log"
        )),
        "{lines:?}"
    );
    assert_eq!(lines.last(), Some(&"TASK ERROR: migration aborted"));
    api.sim.shutdown().await;
}
