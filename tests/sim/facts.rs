//! The cluster facts a pre-flight check relies on, enforced as PVE enforces them: storage
//! capacity (thin and thick), disabled storages and content types, a node's CPUs, memory and
//! bridges, HA resources and nodes in maintenance.

use super::support::*;

const TEMPLATE: &str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
const GIB: u64 = 1 << 30;

async fn lab() -> (Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.json");
    std::fs::write(
        &file,
        json!({
            "nodes": [{"name": "pve1", "cpus": 8, "memory_gib": 16, "bridges": ["vmbr0", "vmbr1"]},
                      {"name": "pve2", "maintenance": true}],
            "storages": [
                {"id": "local", "type": "dir", "path": "/var/lib/vz", "content": ["iso", "vztmpl"], "capacity_gib": 100},
                {"id": "thin", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 10, "used_gib": 1},
                {"id": "thick", "type": "lvm", "vgname": "vg0", "content": ["images", "rootdir"], "capacity_gib": 10},
                {"id": "zfs", "type": "zfspool", "path": "tank/vm", "content": ["images"], "capacity_gib": 10},
                {"id": "off", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 10, "disable": true},
            ],
            "templates": [{"volid": TEMPLATE}],
            "guests": [
                {"vmid": 100, "type": "qemu", "node": "pve1", "running": true, "config": {"scsi0": "thin:2"}},
                {"vmid": 200, "type": "lxc", "node": "pve1", "config": {"rootfs": "thin:2", "hostname": "ct"}},
            ],
            "ha": [{"sid": "vm:100"}, {"sid": "200", "state": "stopped", "max_restart": 3}],
        })
        .to_string(),
    )
    .unwrap();
    (Api::start(SimOptions { cluster: Some(file), ..opts() }).await, dir)
}

async fn status(api: &Api, storage: &str) -> (u64, u64, u64) {
    let s = api.get(&format!("/nodes/pve1/storage/{storage}/status")).await;
    (s["total"].as_u64().unwrap(), s["used"].as_u64().unwrap(), s["avail"].as_u64().unwrap())
}

/// LvmThinPlugin allocates without a free-space check (thin volumes take space as data is
/// written, so a thin pool over-commits); LVMPlugin's lvcreate fails on a full volume group and
/// ZFSPoolPlugin's `zfs create -V` (no `sparse`) on a full pool, inside the create task.
/// `/storage/{s}/status` reports total, used and avail as storage_info does.
#[tokio::test]
async fn thick_storages_fill_up_and_thin_ones_over_commit() {
    let (api, _dir) = lab().await;
    // Seeded disks count whole; the baseline (used_gib) too.
    assert_eq!(status(&api, "thin").await, (10 * GIB, 5 * GIB, 5 * GIB));
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "101"), ("scsi0", "thin:20")]).await;
    assert_eq!(status(&api, "thin").await, (10 * GIB, 5 * GIB, 5 * GIB), "a new thin volume holds no data");
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "102"), ("scsi0", "thick:6")]).await;
    assert_eq!(status(&api, "thick").await, (10 * GIB, 6 * GIB, 4 * GIB));
    let st = api.wait(&api.ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "103"), ("scsi0", "thick:6")]).await).await;
    assert_eq!(
        st["exitstatus"],
        "unable to create VM 103 - lvcreate 'vg0/vm-103-disk-0' error:   Volume group \"vg0\" has insufficient free space (1024 extents): 1536 required."
    );
    let st = api.wait(&api.ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "104"), ("scsi0", "zfs:11")]).await).await;
    assert_eq!(
        st["exitstatus"],
        "unable to create VM 104 - zfs error: cannot create 'tank/vm/vm-104-disk-0': out of space"
    );
    assert_eq!(api.call(Method::GET, "/nodes/pve1/qemu/104/config", &[]).await.status, 500, "nothing left behind");
    // A full clone to a thick storage takes the whole size there; a clone's failure is its task's.
    let st = api
        .wait(
            &api.ok(
                Method::POST,
                "/nodes/pve1/qemu/101/clone",
                &[("newid", "105"), ("full", "1"), ("storage", "thick")],
            )
            .await,
        )
        .await;
    assert!(
        st["exitstatus"].as_str().unwrap().starts_with("clone failed: lvcreate 'vg0/vm-105-disk-0' error:"),
        "{st}"
    );
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/clone", &[("newid", "106"), ("full", "1"), ("storage", "thick")])
        .await;
    assert_eq!(status(&api, "thick").await.1, 8 * GIB);
    api.sim.shutdown().await;
}

/// pve-storage `storage_check_enabled`: a disabled storage fails qemu's create inside the task
/// (create_disks activates it) and pve-container's create at once (it activates each storage
/// before forking); `/nodes/{n}/storage` lists it inactive (`enabled=1` leaves it out). A
/// storage without the content a disk needs is refused (`images`, `rootdir`).
#[tokio::test]
async fn disabled_storages_and_missing_content_are_refused() {
    let (api, _dir) = lab().await;
    let st = api.wait(&api.ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "101"), ("scsi0", "off:1")]).await).await;
    assert_eq!(st["exitstatus"], "unable to create VM 101 - storage 'off' is disabled");
    let ct = [("vmid", "201"), ("ostemplate", TEMPLATE), ("rootfs", "off:1"), ("features", "nesting=1")];
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &ct).await;
    assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (500, Some("storage 'off' is disabled\n")));
    let list = api.get("/nodes/pve1/storage").await;
    let off = list.as_array().unwrap().iter().find(|s| s["storage"] == "off").unwrap().clone();
    assert_eq!((&off["enabled"], &off["active"], &off["total"]), (&json!(0), &json!(0), &json!(0)));
    let enabled = api.get("/nodes/pve1/storage?enabled=1").await;
    assert!(!enabled.as_array().unwrap().iter().any(|s| s["storage"] == "off"));
    let r = api.call(Method::POST, "/nodes/pve1/qemu", &[("vmid", "102"), ("scsi0", "local:1")]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.to_string().contains("storage 'local' does not support vm images"), "{}", r.body);
    let ct = [("vmid", "202"), ("ostemplate", TEMPLATE), ("rootfs", "zfs:1"), ("features", "nesting=1")];
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &ct).await;
    assert!(r.body.to_string().contains("storage 'zfs' does not support container directories"), "{}", r.body);
    api.sim.shutdown().await;
}

/// qemu-server `config_to_command`: more sockets * cores than the host has CPUs fails the start
/// ("MAX 8 vcpus allowed per VM on this node"); more memory than the host has fails QEMU
/// itself ("cannot set up guest memory"); a bridge the node lacks fails as before, and
/// `/nodes/{n}/network` lists the node's bridges.
#[tokio::test]
async fn a_start_needs_the_nodes_cpus_memory_and_bridges() {
    let (api, _dir) = lab().await;
    let vm = |vmid: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut f = vec![("vmid", vmid), ("scsi0", "thin:1")];
        f.extend_from_slice(extra);
        f
    };
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &vm("110", &[("cores", "4"), ("sockets", "3")])).await;
    let st = api.wait(&api.ok(Method::POST, "/nodes/pve1/qemu/110/status/start", &[]).await).await;
    assert_eq!(st["exitstatus"], "MAX 8 vcpus allowed per VM on this node");
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &vm("111", &[("cores", "8"), ("memory", "32768")])).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/111/status/start", &[]).await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "start failed: QEMU exited with code 1");
    let log = api.call(Method::GET, &format!("/nodes/pve1/tasks/{}/log", upid.as_str().unwrap()), &[]).await;
    assert!(log.body.to_string().contains("kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory"));
    api.run_ok(
        Method::POST,
        "/nodes/pve1/qemu",
        &vm("112", &[("cores", "8"), ("memory", "16384"), ("net0", "virtio,bridge=vmbr1")]),
    )
    .await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/112/status/start", &[]).await;
    let net = api.get("/nodes/pve1/network").await;
    let bridges: Vec<&str> = net
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "bridge")
        .map(|i| i["iface"].as_str().unwrap())
        .collect();
    assert_eq!(bridges, ["vmbr0", "vmbr1"]);
    api.sim.shutdown().await;
}

/// pve-ha-manager: `GET /cluster/ha/resources` lists the cluster file's HA resources as written
/// (`type` filters vm/ct); `status/current` has quorum, master, one `lrm:<node>` row per node
/// (a node in maintenance reads `maintenance mode`) and one `service:<sid>` row each;
/// `/cluster/resources` carries `hastate` for HA guests and `maintenance` for such a node.
#[tokio::test]
async fn ha_resources_and_maintenance_are_served() {
    let (api, _dir) = lab().await;
    let res = api.get("/cluster/ha/resources").await;
    let sids: Vec<&str> = res.as_array().unwrap().iter().map(|r| r["sid"].as_str().unwrap()).collect();
    assert_eq!(sids, ["ct:200", "vm:100"]);
    assert_eq!(
        (&res[0]["type"], &res[0]["state"], &res[0]["max_restart"]),
        (&json!("ct"), &json!("stopped"), &json!(3))
    );
    assert_eq!(api.get("/cluster/ha/resources?type=vm").await.as_array().unwrap().len(), 1);
    let st = api.get("/cluster/ha/status/current").await;
    let rows = st.as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).cloned().unwrap_or_else(|| panic!("no {id}: {st}"));
    assert_eq!(row("quorum")["quorate"], 1);
    assert!(row("lrm:pve2")["status"].as_str().unwrap().starts_with("pve2 (maintenance mode, "), "{st}");
    assert!(row("lrm:pve1")["status"].as_str().unwrap().starts_with("pve1 (active, "), "{st}");
    let svc = row("service:vm:100");
    assert_eq!(
        (&svc["node"], &svc["crm_state"], &svc["request_state"]),
        (&json!("pve1"), &json!("started"), &json!("started"))
    );
    let all = api.get("/cluster/resources").await;
    let find = |id: &str| all.as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap();
    assert_eq!(find("qemu/100")["hastate"], "started");
    assert_eq!(find("lxc/200")["hastate"], "stopped");
    assert_eq!(find("node/pve2")["hastate"], "maintenance");
    api.sim.shutdown().await;
}
