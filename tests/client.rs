//! The Proxmox client against the in-process simulator, over real HTTPS with the certificate
//! fingerprint pinned: a full lifecycle, then each bad-input and fault case of issue 3. Every
//! failure must be ONE clear error naming the endpoint and what PVE said, never a panic, and
//! never the secret.

use pmx::proxmox::models::{GuestKind, QemuConfig, TaskState};
use pmx::proxmox::propstring::{LxcNet, QemuDisk, QemuNet};
use pmx::proxmox::{
    ClientConfig, Error, Params, ProviderSettings, PveClient, RetryPolicy, Secret, TransportKind, WaitOptions,
};
use pmx::sim::{FaultConfig, RunningSim, SimOptions};
use std::time::Duration;

const QEMU: GuestKind = GuestKind::Qemu;
const LXC: GuestKind = GuestKind::Lxc;

fn opts() -> SimOptions {
    SimOptions {
        addr: "127.0.0.1:0".parse().expect("address"),
        tls: true,
        task_duration: Duration::from_millis(40),
        ..Default::default()
    }
}

async fn sim(o: SimOptions) -> RunningSim {
    pmx::sim::start(o).await.expect("simulator starts")
}

fn settings(sim: &RunningSim) -> ProviderSettings {
    ProviderSettings {
        endpoint: Some(sim.base_url.clone()),
        token_id: Some(sim.token_id.clone()),
        token_secret: Some(Secret::new(sim.token_secret.clone())),
        fingerprint: Some(sim.fingerprint.clone()),
        ..Default::default()
    }
}

/// Fast retries so fault tests finish quickly.
fn quick(mut cfg: ClientConfig, retries: u32) -> ClientConfig {
    cfg.retry = RetryPolicy {
        max_retries: retries,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        ..RetryPolicy::default()
    };
    cfg
}

fn client_with(s: ProviderSettings, retries: u32) -> PveClient {
    PveClient::new(quick(ClientConfig::from_settings(s).expect("config"), retries)).expect("client")
}

fn token_client(sim: &RunningSim) -> PveClient {
    client_with(settings(sim), 2)
}

/// The error text, checked for the secret.
fn text(err: &Error, secret: &str) -> String {
    let t = err.to_string();
    eprintln!("error as shown: {t}");
    assert!(!t.contains(secret), "secret leaked into: {t}");
    assert!(!format!("{err:?}").contains(secret), "secret leaked into Debug: {err:?}");
    t
}

async fn wait_ok(c: &PveClient, upid: &pmx::proxmox::Upid) {
    let out = c.wait_task(upid, &WaitOptions::with_timeout(Duration::from_secs(30))).await;
    if let Err(e) = out {
        panic!("task {upid} failed: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_lifecycle() {
    let sim = sim(opts()).await;
    let c = token_client(&sim);

    let v = c.version().await.unwrap();
    assert!(!v.version.is_empty());
    let nodes = c.nodes().await.unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(names, ["pve1", "pve2", "pve3"]);
    assert!(c.node_status("pve1").await.unwrap().uptime.is_some());

    // The built-in template, found the way pmx finds it.
    let vms = c.cluster_resources(Some("vm")).await.unwrap();
    let tpl = vms.iter().find(|r| r.template == Some(true) && r.name.as_deref() == Some("debian-12-cloud")).unwrap();
    let (tpl_node, tpl_id) = (tpl.node.clone().unwrap(), tpl.vmid.unwrap());
    let storages = c.node_storages("pve1", Some("images")).await.unwrap();
    assert!(storages.iter().any(|s| s.storage == "local-lvm" && s.avail.unwrap_or(0) > 0));
    let content = c.storage_content("pve1", "local", Some("vztmpl")).await.unwrap();
    assert!(content.iter().any(|v| v.volid == "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"));

    // Create: the config comes back normalised as PVE writes it.
    let vmid = c.next_id().await.unwrap();
    let create = Params::new()
        .set("name", "web-1")
        .set("memory", 1024)
        .set("cores", 1)
        .set("net0", "virtio,bridge=vmbr0,tag=20")
        .set("scsi0", "local-lvm:8")
        .set_bool("onboot", true);
    wait_ok(&c, &c.create_guest("pve1", &QEMU, vmid, &create).await.unwrap()).await;
    let cfg: QemuConfig = c.qemu_config("pve1", vmid).await.unwrap();
    assert_eq!(cfg.name.as_deref(), Some("web-1"));
    assert_eq!(cfg.memory, Some(1024));
    assert_eq!(cfg.onboot, Some(true));
    let net = &cfg.nets().unwrap()[&0];
    assert!(net.macaddr.is_some(), "PVE generates a MAC: {net:?}");
    assert_eq!(net.tag, Some(20));
    assert_eq!(QemuNet::parse(&net.render()).unwrap(), *net);
    let disk: &QemuDisk = &cfg.disks("scsi").unwrap()[&0];
    assert_eq!(disk.file, format!("local-lvm:vm-{vmid}-disk-0"));
    assert_eq!(disk.size.as_deref(), Some("8G"));

    // Config change with the digest; a stale digest is refused.
    let digest = cfg.digest.clone().unwrap();
    c.set_config("pve1", &QEMU, vmid, &Params::new().set("cores", 2), Some(&digest), &[]).await.unwrap();
    let err = c.set_config("pve1", &QEMU, vmid, &Params::new().set("cores", 3), Some(&digest), &[]).await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(t.starts_with(&format!("PUT /nodes/pve1/qemu/{vmid}/config: HTTP")), "{t}");
    assert!(err.api().unwrap().is_digest_mismatch(), "{t}");
    let cfg = c.qemu_config("pve1", vmid).await.unwrap();
    assert_eq!(cfg.cores, Some(2));
    assert_ne!(cfg.digest.as_deref(), Some(digest.as_str()));

    // Start; a change that cannot be hot-plugged goes to pending.
    wait_ok(&c, &c.start("pve1", &QEMU, vmid).await.unwrap()).await;
    assert_eq!(c.guest_status("pve1", &QEMU, vmid).await.unwrap().status.as_str(), "running");
    c.set_config("pve1", &QEMU, vmid, &Params::new().set("cores", 4), None, &[]).await.unwrap();
    let pending = c.pending("pve1", &QEMU, vmid).await.unwrap();
    let cores = pending.iter().find(|p| p.key == "cores").unwrap();
    assert!(cores.is_pending(), "{cores:?}");
    assert_eq!(cores.pending.as_ref().map(|v| v.to_string().trim_matches('"').to_string()), Some("4".into()));

    // Resize grows the disk.
    if let Some(u) = c.resize("pve1", &QEMU, vmid, "scsi0", "+2G").await.unwrap() {
        wait_ok(&c, &u).await;
    }
    let cfg = c.qemu_config("pve1", vmid).await.unwrap();
    assert_eq!(cfg.disks("scsi").unwrap()[&0].size.as_deref(), Some("10G"));

    // Stop; then the guest list and status agree.
    wait_ok(&c, &c.stop("pve1", &QEMU, vmid).await.unwrap()).await;
    let list = c.guests("pve1", &QEMU).await.unwrap();
    let me = list.iter().find(|g| g.vmid == vmid).unwrap();
    assert_eq!(me.status.as_ref().map(|s| s.as_str()), Some("stopped"));

    // Clone from the template (full), then delete both.
    let clone_id = c.next_id().await.unwrap();
    let upid = c
        .clone_guest(&tpl_node, &QEMU, tpl_id, clone_id, &Params::new().set("name", "from-tpl").set_bool("full", true))
        .await
        .unwrap();
    assert_eq!(upid.task_type, "qmclone");
    wait_ok(&c, &upid).await;
    let cloned = c.qemu_config(&tpl_node, clone_id).await.unwrap();
    assert_eq!(cloned.name.as_deref(), Some("from-tpl"));
    assert_ne!(cloned.template, Some(true));

    // Pools: create, add members, read, remove, delete.
    c.create_pool("team-a", Some("Team A")).await.unwrap();
    c.update_pool("team-a", None, &[vmid], &[], false).await.unwrap();
    let pool = c.pool("team-a").await.unwrap();
    assert_eq!(pool.comment.as_deref(), Some("Team A"));
    assert!(pool.members.iter().any(|m| m.vmid == Some(vmid)), "{pool:?}");
    assert!(c.pools().await.unwrap().iter().any(|p| p.poolid == "team-a"));
    c.update_pool("team-a", Some("Team A, renamed"), &[vmid], &[], true).await.unwrap();
    assert!(c.pool("team-a").await.unwrap().members.is_empty());
    c.delete_pool("team-a").await.unwrap();
    assert!(!c.pools().await.unwrap().iter().any(|p| p.poolid == "team-a"));

    // Template conversion of the clone, then deletes; a deleted guest's config is a clear 500.
    if let Some(u) = c.template(&tpl_node, &QEMU, clone_id).await.unwrap() {
        wait_ok(&c, &u).await;
    }
    assert_eq!(c.qemu_config(&tpl_node, clone_id).await.unwrap().template, Some(true));
    wait_ok(&c, &c.delete_guest(&tpl_node, &QEMU, clone_id, true).await.unwrap()).await;
    let upid = c.delete_guest("pve1", &QEMU, vmid, true).await.unwrap();
    let status = c.task_status(&upid).await.unwrap();
    assert!(matches!(status.status, TaskState::Running | TaskState::Stopped));
    wait_ok(&c, &upid).await;
    let err = c.qemu_config("pve1", vmid).await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(t.starts_with(&format!("GET /nodes/pve1/qemu/{vmid}/config: HTTP 500: ")), "{t}");
    assert!(t.ends_with("does not exist"), "a permanent error is not retried: {t}");

    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lxc_lifecycle_and_migrate() {
    let sim = sim(opts()).await;
    let c = token_client(&sim);
    let vmid = c.next_id().await.unwrap();
    let p = Params::new()
        .set("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")
        .set("hostname", "ct-1")
        .set("memory", 512)
        .set("rootfs", "local-lvm:4")
        .set("net0", "name=eth0,bridge=vmbr0,ip=dhcp")
        .set_bool("unprivileged", true);
    wait_ok(&c, &c.create_guest("pve2", &LXC, vmid, &p).await.unwrap()).await;
    let cfg = c.lxc_config("pve2", vmid).await.unwrap();
    assert_eq!(cfg.hostname.as_deref(), Some("ct-1"));
    assert_eq!(cfg.unprivileged, Some(true));
    let root = cfg.rootfs().unwrap().unwrap();
    assert_eq!(root.size.as_deref(), Some("4G"));
    let net: &LxcNet = &cfg.nets().unwrap()[&0];
    assert_eq!(net.name, "eth0");
    assert!(net.hwaddr.is_some(), "{net:?}");

    wait_ok(&c, &c.migrate("pve2", &LXC, vmid, "pve3", false).await.unwrap()).await;
    let res = c.cluster_resources(Some("vm")).await.unwrap();
    let me = res.iter().find(|r| r.vmid == Some(vmid)).unwrap();
    assert_eq!(me.node.as_deref(), Some("pve3"));
    wait_ok(&c, &c.start("pve3", &LXC, vmid).await.unwrap()).await;
    wait_ok(&c, &c.shutdown("pve3", &LXC, vmid, Some(10)).await.unwrap()).await;
    wait_ok(&c, &c.delete_guest("pve3", &LXC, vmid, true).await.unwrap()).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_one_clear_401() {
    let sim = sim(opts()).await;
    let wrong = "00000000-dead-beef-0000-000000000000";
    let c = client_with(ProviderSettings { token_secret: Some(Secret::new(wrong)), ..settings(&sim) }, 2);
    let err = c.nodes().await.unwrap_err();
    let t = text(&err, wrong);
    assert!(!t.contains(&sim.token_secret));
    assert_eq!(err.status(), Some(401), "{t}");
    assert!(t.starts_with("GET /nodes: HTTP 401: "), "{t}");
    assert!(t.contains("check token_id and token_secret"), "{t}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_expire_and_are_renewed_and_bad_passwords_are_clear() {
    let sim = sim(SimOptions { ticket_lifetime: Duration::from_millis(600), ..opts() }).await;
    let s = ProviderSettings {
        endpoint: Some(sim.base_url.clone()),
        username: Some("root@pam".into()),
        password: Some(Secret::new(sim.password.clone())),
        fingerprint: Some(sim.fingerprint.clone()),
        ..Default::default()
    };
    let c = client_with(s.clone(), 0);
    c.create_pool("p-ticket", None).await.unwrap();
    // The ticket expires on the server: the 401 leads to one new login and the write succeeds.
    tokio::time::sleep(Duration::from_millis(900)).await;
    c.update_pool("p-ticket", Some("after expiry"), &[], &[], false).await.unwrap();
    assert_eq!(c.pool("p-ticket").await.unwrap().comment.as_deref(), Some("after expiry"));
    // Renewal ahead of expiry: with renew_after below the lifetime, no request ever sees a 401.
    let mut cfg = quick(ClientConfig::from_settings(s.clone()).unwrap(), 0);
    cfg.ticket_renew_after = Duration::from_millis(300);
    let c2 = PveClient::new(cfg).unwrap();
    for _ in 0..4 {
        c2.version().await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let bad = "not-the-password-123";
    let c3 = client_with(ProviderSettings { password: Some(Secret::new(bad)), ..s }, 2);
    let err = c3.version().await.unwrap_err();
    let t = text(&err, bad);
    assert!(!t.contains(&sim.password));
    assert!(t.starts_with("POST /access/ticket: HTTP 401: "), "{t}");
    assert!(t.contains("check username and password"), "{t}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_pin_mismatch_unverified_cert_and_ca_file() {
    let sim = sim(opts()).await;
    let wrong_pin = vec!["AB"; 32].join(":");
    let c = client_with(ProviderSettings { fingerprint: Some(wrong_pin.clone()), ..settings(&sim) }, 2);
    let err = c.version().await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(
        matches!(&err, Error::Transport { source, retries: 0, .. } if source.kind == TransportKind::Tls),
        "TLS errors are not retried: {err:?}"
    );
    assert!(t.starts_with(&format!("GET /version at {}: TLS handshake failed: ", sim.base_url)), "{t}");
    assert!(t.contains(&wrong_pin) && t.contains(&sim.fingerprint), "{t}");

    // Verified by default: a self-signed certificate is refused.
    let c = client_with(ProviderSettings { fingerprint: None, ..settings(&sim) }, 2);
    let t = text(&c.version().await.unwrap_err(), &sim.token_secret);
    assert!(t.contains("TLS handshake failed"), "{t}");

    // ... unless its CA is given, or verification is switched off.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("pve-ca.pem");
    std::fs::write(&ca, &sim.ca_pem).unwrap();
    let c = client_with(ProviderSettings { fingerprint: None, ca_file: Some(ca), ..settings(&sim) }, 2);
    match c.version().await {
        Ok(v) => {
            eprintln!("ca_file: verified");
            assert!(!v.version.is_empty())
        }
        // webpki refuses a self-signed CA certificate used as its own leaf; that is still one clear error
        Err(e) => assert!(text(&e, &sim.token_secret).contains("TLS handshake failed"), "{e}"),
    }
    let c = client_with(ProviderSettings { fingerprint: None, insecure: Some(true), ..settings(&sim) }, 2);
    assert!(!c.version().await.unwrap().version.is_empty());

    let missing = dir.path().join("nope.pem");
    let err = PveClient::new(
        ClientConfig::from_settings(ProviderSettings { fingerprint: None, ca_file: Some(missing), ..settings(&sim) })
            .unwrap(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nope.pem: cannot read"), "{err}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_host() {
    // Bind then drop a listener: a port on which nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let secret = "abcdef00-1111-2222-3333-444455556666";
    let s = ProviderSettings {
        endpoint: Some(format!("https://127.0.0.1:{port}")),
        token_id: Some("root@pam!pmx".into()),
        token_secret: Some(Secret::new(secret)),
        ..Default::default()
    };
    let c = client_with(s, 2);
    let err = c.version().await.unwrap_err();
    let t = text(&err, secret);
    assert!(t.starts_with(&format!("GET /version at https://127.0.0.1:{port}: cannot connect: ")), "{t}");
    assert!(t.ends_with("(gave up after 2 retries)"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_with_a_message() {
    let faults = FaultConfig { error_rate: 1.0, ..Default::default() };
    let sim = sim(SimOptions { faults, ..opts() }).await;
    let c = token_client(&sim);
    let err = c.cluster_resources(None).await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    let api = err.api().unwrap_or_else(|| panic!("an API error: {t}"));
    assert!(api.status >= 500, "{t}");
    assert!(!api.message.trim().is_empty(), "PVE's message is shown: {t}");
    assert!(t.starts_with("GET /cluster/resources: HTTP 5"), "{t}");
    assert!(t.contains("(gave up after 2 retries)"), "GETs are retried: {t}");
    // A write that is not safe to repeat is not retried.
    let err = c.start("pve1", &QEMU, 9000).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.retries), Some(0), "{err}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_task_reports_its_log() {
    let faults = FaultConfig { task_failure_rate: 1.0, ..Default::default() };
    let sim = sim(SimOptions { faults, ..opts() }).await;
    let c = token_client(&sim);
    let upid = c
        .create_guest("pve1", &QEMU, 150, &Params::new().set("memory", 512).set("scsi0", "local-lvm:1"))
        .await
        .unwrap();
    let err = c.wait_task(&upid, &WaitOptions::with_timeout(Duration::from_secs(30))).await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    match &err {
        Error::TaskFailed { exitstatus, log_tail, task_type, .. } => {
            assert_eq!(task_type, "qmcreate");
            assert_ne!(exitstatus, "OK");
            assert!(!log_tail.is_empty(), "the log's last lines are included: {t}");
        }
        other => panic!("expected a task failure, got {other}"),
    }
    assert!(t.starts_with(&format!("task {upid} (qmcreate 150) failed: ")), "{t}");
    assert!(t.contains("last lines of the task log"), "{t}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeout_past_the_retry_budget() {
    let sim = sim(SimOptions { lock_timeout: Duration::from_millis(100), ..opts() }).await;
    let c = token_client(&sim);
    sim.hold_lock(9000, Duration::from_secs(30));
    let err = c.set_config("pve1", &QEMU, 9000, &Params::new().set("description", "x"), None, &[]).await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(err.api().is_some_and(|a| a.is_lock_timeout()), "{t}");
    assert!(t.starts_with("PUT /nodes/pve1/qemu/9000/config: HTTP 500: "), "{t}");
    assert!(t.contains("can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout"), "{t}");
    assert!(t.ends_with("(gave up after 2 retries)"), "{t}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_held_briefly_is_ridden_out_by_retries() {
    let sim = sim(SimOptions { lock_timeout: Duration::from_millis(50), ..opts() }).await;
    let c = client_with(settings(&sim), 6);
    sim.hold_lock(9000, Duration::from_millis(150));
    c.set_config("pve1", &QEMU, 9000, &Params::new().set("description", "after the lock"), None, &[]).await.unwrap();
    assert_eq!(c.qemu_config("pve1", 9000).await.unwrap().description.as_deref(), Some("after the lock"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_from_the_server() {
    let faults = FaultConfig { malformed_json_rate: 1.0, ..Default::default() };
    let sim = sim(SimOptions { faults, ..opts() }).await;
    let c = token_client(&sim);
    let err = c.version().await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(matches!(err, Error::Decode { .. }), "{t}");
    assert!(t.starts_with("GET /version: HTTP 200: cannot decode the response: not JSON"), "{t}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets() {
    let faults = FaultConfig { reset_rate: 1.0, ..Default::default() };
    let sim = sim(SimOptions { faults, ..opts() }).await;
    let c = token_client(&sim);
    let err = c.version().await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(matches!(&err, Error::Transport { .. }), "{t}");
    assert!(t.starts_with(&format!("GET /version at {}: ", sim.base_url)), "{t}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_task_times_out_clearly() {
    let sim = sim(SimOptions { task_duration: Duration::from_secs(5), ..opts() }).await;
    let c = token_client(&sim);
    let upid = c.create_guest("pve2", &QEMU, 170, &Params::new().set("memory", 256)).await.unwrap();
    let err = c.wait_task(&upid, &WaitOptions::with_timeout(Duration::from_millis(300))).await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(matches!(err, Error::TaskTimeout { .. }), "{t}");
    assert!(t.starts_with(&format!("task {upid} still running after")), "{t}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disks_move_to_another_storage() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.json");
    std::fs::write(
        &cluster,
        serde_json::json!({
            "nodes": [{"name": "pve1"}],
            "storages": [
                {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 100},
                {"id": "ceph", "type": "rbd", "content": ["images", "rootdir"], "capacity_gib": 100},
            ],
        })
        .to_string(),
    )
    .unwrap();
    let sim = sim(SimOptions { cluster: Some(cluster), ..opts() }).await;
    let c = token_client(&sim);
    wait_ok(&c, &c.create_guest("pve1", &QEMU, 100, &Params::new().set("scsi0", "local-lvm:2")).await.unwrap()).await;
    wait_ok(&c, &c.move_disk("pve1", &QEMU, 100, "scsi0", "ceph", true).await.unwrap()).await;
    let cfg = c.guest_config("pve1", &QEMU, 100).await.unwrap();
    assert_eq!(cfg["scsi0"], "ceph:vm-100-disk-0,size=2G");
    assert!(!cfg.contains_key("unused0"), "delete_source frees the old volume: {cfg:?}");
    // Moving onto the storage it is on is PVE's error, named with the endpoint.
    let err = c.move_disk("pve1", &QEMU, 100, "scsi0", "ceph", false).await.unwrap_err();
    let t = text(&err, &sim.token_secret);
    assert!(t.starts_with("POST /nodes/pve1/qemu/100/move_disk: HTTP 500: you can't move to the same storage"), "{t}");
    sim.shutdown().await;
}
