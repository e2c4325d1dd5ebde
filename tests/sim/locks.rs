//! Config locks (`lock:` in a guest's config) as PVE 9.2 sets and honours them.

use super::support::*;

fn slow() -> SimOptions {
    SimOptions { task_duration: Duration::from_millis(800), lock_timeout: Duration::from_secs(3), ..opts() }
}

async fn create_ct(api: &Api, vmid: &str) {
    let form = [
        ("vmid", vmid),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("rootfs", "local-lvm:2"),
        ("features", "nesting=1"),
        ("hostname", "ct"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &form).await;
}

/// qemu-server `$update_vm_api` runs `$load_and_check_config->(0)` before it takes the config
/// flock, so a write to a VM whose config carries a lock fails at once with
/// AbstractConfig::check_lock's "VM is locked (…)" instead of waiting for the lock.
#[tokio::test]
async fn a_write_to_a_locked_vm_fails_at_once() {
    let api = Api::start(slow()).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "101")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/101/config").await["lock"], "clone");
    for method in [Method::PUT, Method::POST] {
        let t = Instant::now();
        let r = api.call(method.clone(), "/nodes/pve1/qemu/101/config", &[("cores", "4")]).await;
        assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (500, Some("VM is locked (clone)\n")), "{method}");
        assert!(t.elapsed() < Duration::from_millis(500), "{method} waited {:?}", t.elapsed());
    }
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    api.ok(Method::PUT, "/nodes/pve1/qemu/101/config", &[("cores", "4")]).await;
    api.sim.shutdown().await;
}

/// QemuMigrate (and PVE::LXC::Migrate) keep `lock: migrate` in the config for the whole
/// migration: it shows in the config and in `/cluster/resources`, and refuses writes.
#[tokio::test]
async fn migration_locks_the_guest() {
    let api = Api::start(slow()).await;
    create_vm(&api, "pve1", "120", &[]).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/120/migrate", &[("target", "pve2")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/120/config").await["lock"], "migrate");
    let res = api.get("/cluster/resources?type=vm").await;
    let row = res.as_array().unwrap().iter().find(|r| r["vmid"] == 120).unwrap().clone();
    assert_eq!((row["node"].as_str(), row["lock"].as_str()), (Some("pve1"), Some("migrate")));
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/120/config", &[("cores", "3")]).await;
    assert_eq!(r.body["message"], "VM is locked (migrate)\n");
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    let cfg = api.get("/nodes/pve2/qemu/120/config").await;
    assert!(cfg.get("lock").is_none(), "{cfg}");
    api.sim.shutdown().await;
    // A failed migration unlocks too.
    let faults = FaultConfig { task_failure_rate: 1.0, ..Default::default() };
    let api = Api::start(SimOptions { faults, ..opts() }).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/9000/migrate", &[("target", "pve2")]).await;
    assert_ne!(api.wait(&upid).await["exitstatus"], "OK");
    assert!(api.get("/nodes/pve1/qemu/9000/config").await.get("lock").is_none());
    api.sim.shutdown().await;
}

/// pve-container `clone_vm` locks its source `disk` for the whole clone and the new CT
/// `create`: a second clone of the same container is refused with "CT is locked (disk)".
#[tokio::test]
async fn lxc_clone_locks_its_source() {
    let api = Api::start(slow()).await;
    create_ct(&api, "300").await;
    let upid = api.ok(Method::POST, "/nodes/pve1/lxc/300/clone", &[("newid", "301")]).await;
    assert_eq!(api.get("/nodes/pve1/lxc/300/config").await["lock"], "disk");
    assert_eq!(api.get("/nodes/pve1/lxc/301/config").await["lock"], "create");
    let r = api.call(Method::POST, "/nodes/pve1/lxc/300/clone", &[("newid", "302")]).await;
    assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (500, Some("CT is locked (disk)\n")));
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    assert!(api.get("/nodes/pve1/lxc/300/config").await.get("lock").is_none());
    assert!(api.get("/nodes/pve1/lxc/301/config").await.get("lock").is_none());
    api.run_ok(Method::POST, "/nodes/pve1/lxc/300/clone", &[("newid", "302")]).await;
    api.sim.shutdown().await;
}
