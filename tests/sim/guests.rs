//! Guests: lifecycle, locks, digests, pending changes, disks, clones, templates, pools.

use super::support::*;

#[tokio::test]
async fn qemu_lifecycle_with_normalised_config() {
    let api = Api::start(opts()).await;
    let next = api.get("/cluster/nextid").await;
    assert_eq!(next, json!("100"), "nextid is a string");
    let upid = api
        .ok(
            Method::POST,
            "/nodes/pve1/qemu",
            &[
                ("vmid", "100"),
                ("name", "web"),
                ("memory", "1024"),
                ("cores", "2"),
                ("net0", "virtio,bridge=vmbr0"),
                ("scsi0", "local-lvm:8"),
            ],
        )
        .await;
    let u = upid.as_str().unwrap();
    let parts: Vec<&str> = u.split(':').collect();
    assert_eq!((parts[0], parts[1], parts[5], parts[6], parts[7]), ("UPID", "pve1", "qmcreate", "100", "root@pam!pmx"));
    let running = api.get(&format!("/nodes/pve1/tasks/{u}/status")).await;
    assert_eq!(running["status"], "running");
    assert!(running.get("exitstatus").is_none());
    let done = api.wait(&upid).await;
    assert_eq!(done["exitstatus"], "OK");
    assert_eq!(done["tokenid"], "pmx");
    let log = api.get(&format!("/nodes/pve1/tasks/{u}/log")).await;
    assert_eq!(log.as_array().unwrap().last().unwrap()["t"], "TASK OK");

    let cfg = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "local-lvm:vm-100-disk-0,size=8G");
    let net0 = cfg["net0"].as_str().unwrap();
    assert!(net0.starts_with("virtio=BC:24:11:") && net0.ends_with(",bridge=vmbr0"), "{net0}");
    assert_eq!(net0.len(), "virtio=BC:24:11:00:00:00,bridge=vmbr0".len());
    assert_eq!(cfg["cores"], 2);
    assert_eq!(cfg["memory"], "1024");
    assert_eq!(cfg["digest"].as_str().unwrap().len(), 40);

    let res = api.get("/cluster/resources?type=vm").await;
    let row = res.as_array().unwrap().iter().find(|r| r["id"] == "qemu/100").unwrap().clone();
    assert_eq!(row["vmid"], 100, "vmid is a number in cluster/resources");
    assert_eq!(row["status"], "stopped");
    assert!(res.as_array().unwrap().iter().all(|r| r["type"] == "qemu" || r["type"] == "lxc"));
    assert_eq!(api.get("/cluster/nextid").await, json!("101"));

    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let cur = api.get("/nodes/pve1/qemu/100/status/current").await;
    assert_eq!(cur["status"], "running");
    assert_eq!(cur["qmpstatus"], "running");

    let r = api.call(Method::DELETE, "/nodes/pve1/qemu/100", &[]).await;
    assert_eq!(r.status, 500, "a running VM cannot be destroyed: {}", r.body);
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    api.run_ok(Method::DELETE, "/nodes/pve1/qemu/100", &[("purge", "1")]).await;
    let r = api.call(Method::GET, "/nodes/pve1/qemu/100/config", &[]).await;
    assert_eq!(r.status, 500);
    let content = api.get("/nodes/pve1/storage/local-lvm/content").await;
    assert!(!content.to_string().contains("vm-100-disk-0"), "the disk is freed");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn config_lock_times_out_with_pves_message() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.sim.hold_lock(100, Duration::from_millis(1500));
    let started = Instant::now();
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4")]).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["message"], "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n");
    assert!(started.elapsed() >= Duration::from_millis(300), "the writer waited for the lock first");
    let line = raw_status_line(&api, "PUT", "/nodes/pve1/qemu/100/config", "cores=4").await;
    assert_eq!(line, "HTTP/1.1 500 can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
    // A task that cannot get the lock fails with the same message.
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
    // Once the holder is done, writes go through.
    tokio::time::sleep(Duration::from_millis(1600).saturating_sub(started.elapsed())).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/config").await["cores"], 4);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn a_second_writer_waits_for_a_running_task() {
    let api = Api::start(SimOptions {
        task_duration: Duration::from_millis(400),
        lock_timeout: Duration::from_secs(5),
        ..opts()
    })
    .await;
    create_vm(&api, "pve1", "100", &[]).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let t = Instant::now();
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("description", "waited")]).await;
    assert!(t.elapsed() >= Duration::from_millis(250), "PUT returned before the task released the lock");
    assert_eq!(api.get(&format!("/nodes/pve1/tasks/{}/status", upid.as_str().unwrap())).await["status"], "stopped");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn clone_locks_its_source_and_links_to_the_template() {
    let api = Api::start(SimOptions {
        task_duration: Duration::from_millis(700),
        lock_timeout: Duration::from_millis(200),
        ..opts()
    })
    .await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "101"), ("name", "linked")]).await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/9000/config", &[("description", "x")]).await;
    assert_eq!(r.body["message"], "can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout\n");
    let during = api.get("/nodes/pve1/qemu/101/config").await;
    assert_eq!(during["lock"], "clone");
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    let cfg = api.get("/nodes/pve1/qemu/101/config").await;
    assert!(cfg.get("lock").is_none());
    assert_eq!(cfg["name"], "linked");
    assert_eq!(cfg["scsi0"], "local-lvm:base-9000-disk-0/vm-101-disk-0,discard=on,size=3G");
    let src = api.get("/nodes/pve1/qemu/9000/config").await;
    assert_ne!(cfg["net0"], src["net0"], "a clone gets a new MAC");
    assert_eq!(cfg["net0"].as_str().unwrap().len(), src["net0"].as_str().unwrap().len());
    // Full clone to its own disk.
    api.run_ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "102"), ("full", "1")]).await;
    let full = api.get("/nodes/pve1/qemu/102/config").await;
    assert_eq!(full["scsi0"], "local-lvm:vm-102-disk-0,discard=on,size=3G");
    assert_eq!(full["name"], "Copy-of-VM-debian-12-cloud");
    // Linked clones only from templates; local storage cannot be cloned to another node.
    let r = api.call(Method::POST, "/nodes/pve1/qemu/102/clone", &[("newid", "103"), ("full", "0")]).await;
    assert_eq!(r.status, 500);
    let r = api.call(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "103"), ("target", "pve2")]).await;
    assert_eq!(r.status, 500);
    assert!(r.body["message"].as_str().unwrap().contains("local storage"), "{}", r.body);
    // The template cannot go while a linked clone uses its base disk.
    let r = api.call(Method::DELETE, "/nodes/pve1/qemu/9000", &[]).await;
    assert_eq!(r.status, 500);
    assert!(r.body["message"].as_str().unwrap().contains("base-9000-disk-0"), "{}", r.body);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn stale_digest_fails_as_pve_fails() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let d1 = api.get("/nodes/pve1/qemu/100/config").await["digest"].as_str().unwrap().to_string();
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "3"), ("digest", &d1)]).await;
    let d2 = api.get("/nodes/pve1/qemu/100/config").await["digest"].as_str().unwrap().to_string();
    assert_ne!(d1, d2, "the digest follows the config");
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("digest", &d1)]).await;
    assert_eq!(r.status, 500);
    // qemu-server's assert_if_modified words it its own way (pve-container's differs).
    assert_eq!(r.body["message"], "checksum mismatch (file change by other user?)\n");
    assert_eq!(api.get("/nodes/pve1/qemu/100/config").await["cores"], 3, "nothing changed");
    // The async POST checks it before forking its worker ($load_and_check_config->(0)).
    let r = api.call(Method::POST, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("digest", &d1)]).await;
    assert_eq!(
        (r.status.as_u16(), r.body["message"].as_str()),
        (500, Some("checksum mismatch (file change by other user?)\n"))
    );
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("digest", &d2)]).await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn running_guest_changes_wait_in_pending_until_reboot() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("name", "renamed"), ("delete", "net0")])
        .await;
    let current = api.get("/nodes/pve1/qemu/100/config?current=1").await;
    assert_eq!(current["cores"], 2, "cores is not hot-pluggable");
    assert_eq!(current["name"], "renamed", "name applies at once");
    assert!(current.get("net0").is_none(), "NICs hot-unplug");
    let with_pending = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(with_pending["cores"], 4, "without current=1, pending values show");
    let pending = api.get("/nodes/pve1/qemu/100/pending").await;
    let cores = pending.as_array().unwrap().iter().find(|r| r["key"] == "cores").unwrap();
    assert_eq!((&cores["value"], &cores["pending"]), (&json!(2), &json!(4)));
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("delete", "memory,sockets")]).await;
    // Revert one pending change.
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("sockets", "2")]).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("revert", "sockets")]).await;
    assert!(!api.get("/nodes/pve1/qemu/100/pending").await.to_string().contains("\"sockets\""));
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/reboot", &[]).await;
    let after = api.get("/nodes/pve1/qemu/100/config?current=1").await;
    assert_eq!(after["cores"], 4, "reboot applies pending changes");
    let pending = api.get("/nodes/pve1/qemu/100/pending").await;
    assert!(pending.as_array().unwrap().iter().all(|r| r.get("pending").is_none() && r.get("delete").is_none()));
    // A stop applies them too (qemu-server's vm_stop_cleanup with $apply_pending_changes).
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "6")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/config?current=1").await["cores"], 6);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn disks_are_allocated_replaced_and_capacity_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.json");
    std::fs::write(
        &cluster,
        json!({
            "nodes": [{"name": "n1"}],
            // A thick LVM storage: a volume takes its whole size when allocated.
            "storages": [{"id": "small", "type": "lvm", "vgname": "small", "content": ["images", "rootdir"], "capacity_gib": 10}],
        })
        .to_string(),
    )
    .unwrap();
    let api = Api::start(SimOptions { cluster: Some(cluster), ..opts() }).await;
    api.run_ok(
        Method::POST,
        "/nodes/n1/qemu",
        &[("vmid", "100"), ("scsi0", "small:6"), ("efidisk0", "small:1,efitype=4m")],
    )
    .await;
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    // Named in config-key order, as qemu-server allocates them: efidisk0 before scsi0.
    assert_eq!(cfg["efidisk0"], "small:vm-100-disk-0,efitype=4m,size=4M");
    assert_eq!(cfg["scsi0"], "small:vm-100-disk-1,size=6G");
    // qemu-server allocates inside the create worker: a full thick storage fails the task with
    // LVMPlugin's lvcreate error (4 MiB extents: 4 GiB - 4 MiB free, 6 GiB asked).
    let st = api.wait(&api.ok(Method::POST, "/nodes/n1/qemu", &[("vmid", "101"), ("scsi0", "small:6")]).await).await;
    assert_eq!(
        st["exitstatus"],
        "unable to create VM 101 - lvcreate 'small/vm-101-disk-0' error:   Volume group \"small\" has insufficient free space (1023 extents): 1536 required."
    );
    assert!(api.call(Method::GET, "/nodes/n1/qemu/101/config", &[]).await.status == 500, "nothing was created");
    // resize_vm: the growth fails inside the worker (lvextend), as does a shrink.
    let st =
        api.wait(&api.ok(Method::PUT, "/nodes/n1/qemu/100/resize", &[("disk", "scsi0"), ("size", "+8G")]).await).await;
    assert!(
        st["exitstatus"]
            .as_str()
            .unwrap()
            .starts_with("error resizing volume '/dev/small/vm-100-disk-1': Insufficient free space"),
        "{st}"
    );
    api.run_ok(Method::PUT, "/nodes/n1/qemu/100/resize", &[("disk", "scsi0"), ("size", "+2G")]).await;
    assert_eq!(api.get("/nodes/n1/qemu/100/config").await["scsi0"], "small:vm-100-disk-1,size=8G");
    let st =
        api.wait(&api.ok(Method::PUT, "/nodes/n1/qemu/100/resize", &[("disk", "scsi0"), ("size", "4G")]).await).await;
    assert_eq!(st["exitstatus"], "shrinking disks is not supported");
    // Replacing a disk keeps the old volume as unused0; deleting unused0 frees it.
    api.ok(Method::PUT, "/nodes/n1/qemu/100/config", &[("scsi0", "small:1")]).await;
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "small:vm-100-disk-2,size=1G");
    assert_eq!(cfg["unused0"], "small:vm-100-disk-1");
    api.ok(Method::PUT, "/nodes/n1/qemu/100/config", &[("delete", "unused0")]).await;
    let status = api.get("/nodes/n1/storage/small/status").await;
    assert_eq!(status["used"], (1u64 << 30) + (4 << 20));
    let r = api.call(Method::POST, "/nodes/n1/qemu", &[("vmid", "102"), ("scsi0", "nostore:1")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn disks_and_volumes_move_between_storages() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.json");
    std::fs::write(
        &cluster,
        json!({
            "nodes": [{"name": "n1"}],
            "storages": [
                {"id": "fast", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 100},
                {"id": "slow", "type": "dir", "path": "/mnt/slow", "content": ["images", "rootdir"], "capacity_gib": 9,
                 "preallocation": "full"},
                {"id": "isos", "type": "dir", "path": "/mnt/iso", "content": ["iso", "vztmpl"], "capacity_gib": 100},
            ],
            "templates": [{"volid": "isos:vztmpl/x.tar.zst"}],
        })
        .to_string(),
    )
    .unwrap();
    let api = Api::start(SimOptions { cluster: Some(cluster), ..opts() }).await;
    api.run_ok(Method::POST, "/nodes/n1/qemu", &[("vmid", "100"), ("scsi0", "fast:4,iothread=1"), ("scsi1", "fast:8")])
        .await;
    let digest = api.get("/nodes/n1/qemu/100/config").await["digest"].as_str().unwrap().to_string();
    let st = api
        .wait(&api.ok(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi0"), ("storage", "slow")]).await)
        .await;
    assert_eq!(st["exitstatus"], "OK");
    assert!(st["upid"].as_str().unwrap().contains(":qmmove:100:"), "{st}");
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "slow:100/vm-100-disk-0.raw,iothread=1,size=4G", "options and size kept");
    assert_eq!(cfg["unused0"], "fast:vm-100-disk-0", "the source stays, unused");
    assert_ne!(cfg["digest"], digest.as_str());
    // A stale digest, the same storage, too little room, and a storage for other content fail.
    let r = api
        .call(
            Method::POST,
            "/nodes/n1/qemu/100/move_disk",
            &[("disk", "scsi1"), ("storage", "slow"), ("digest", &digest)],
        )
        .await;
    assert!(r.body["message"].as_str().unwrap().contains("file changed by other user"), "{}", r.body);
    let r = api.call(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi0"), ("storage", "slow")]).await;
    assert_eq!(r.body["message"], "you can't move to the same storage with same format\n");
    // A fully preallocated directory storage is thick: the copy that does not fit fails the task.
    let st = api
        .wait(&api.ok(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi1"), ("storage", "slow")]).await)
        .await;
    assert!(st["exitstatus"].as_str().unwrap().contains("No space left on device"), "{st}");
    let r = api.call(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi1"), ("storage", "isos")]).await;
    assert!(r.body["message"].as_str().unwrap().contains("does not support content-type 'images'"), "{}", r.body);
    let r = api.call(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi9"), ("storage", "slow")]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    // With delete=1 the source volume is freed.
    api.run_ok(
        Method::POST,
        "/nodes/n1/qemu/100/move_disk",
        &[("disk", "scsi0"), ("storage", "fast"), ("delete", "1")],
    )
    .await;
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "fast:vm-100-disk-2,iothread=1,size=4G");
    assert_eq!(api.get("/nodes/n1/storage/slow/status").await["used"], 0);

    // A container's volume moves only while it is stopped.
    let create =
        &[("vmid", "200"), ("ostemplate", "isos:vztmpl/x.tar.zst"), ("rootfs", "fast:2"), ("unprivileged", "1")];
    let st = api.wait(&api.ok(Method::POST, "/nodes/n1/lxc", create).await).await;
    assert_eq!(st["exitstatus"], "WARNINGS: 1", "PVE warns about nesting: {st}");
    api.run_ok(
        Method::POST,
        "/nodes/n1/lxc/200/move_volume",
        &[("volume", "rootfs"), ("storage", "slow"), ("delete", "1")],
    )
    .await;
    assert_eq!(api.get("/nodes/n1/lxc/200/config").await["rootfs"], "slow:200/vm-200-disk-0.raw,size=2G");
    api.run_ok(Method::POST, "/nodes/n1/lxc/200/status/start", &[]).await;
    let r = api.call(Method::POST, "/nodes/n1/lxc/200/move_volume", &[("volume", "rootfs"), ("storage", "fast")]).await;
    assert_eq!(r.body["message"], "cannot move volumes of a running container\n");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn lxc_lifecycle_with_warnings() {
    let api = api().await;
    let upid = api
        .ok(
            Method::POST,
            "/nodes/pve2/lxc",
            &[
                ("vmid", "200"),
                ("hostname", "ct1"),
                ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
                ("rootfs", "local-lvm:8"),
                ("memory", "1024"),
                ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
                ("password", "not-stored"),
                ("unprivileged", "1"),
            ],
        )
        .await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "WARNINGS: 1", "systemd nesting warning, as real PVE gives");
    let cfg = api.get("/nodes/pve2/lxc/200/config").await;
    assert_eq!(cfg["rootfs"], "local-lvm:vm-200-disk-0,size=8G");
    assert_eq!(cfg["memory"], 1024, "lxc memory is a number");
    assert_eq!(cfg["ostype"], "debian");
    assert!(cfg["net0"].as_str().unwrap().contains(",hwaddr=BC:24:11:"));
    assert!(cfg.get("password").is_none());
    let list = api.get("/nodes/pve2/lxc").await;
    assert_eq!(list[0]["vmid"], 200);
    assert_eq!(list[0]["type"], "lxc");
    api.run_ok(Method::POST, "/nodes/pve2/lxc/200/status/start", &[]).await;
    api.ok(Method::PUT, "/nodes/pve2/lxc/200/config", &[("memory", "2048"), ("ostype", "ubuntu")]).await;
    let cur = api.get("/nodes/pve2/lxc/200/config?current=1").await;
    assert_eq!(cur["memory"], 2048, "memory is hot for containers");
    assert_eq!(cur["ostype"], "debian", "ostype waits for a restart");
    let r = api
        .call(Method::POST, "/nodes/pve2/lxc", &[("vmid", "201"), ("ostemplate", "local:vztmpl/nope.tar.zst")])
        .await;
    assert_eq!(r.status, 500);
    api.run_ok(Method::DELETE, "/nodes/pve2/lxc/200", &[("force", "1"), ("purge", "1")]).await;
    assert_eq!(api.get("/nodes/pve2/lxc").await, json!([]));
    api.sim.shutdown().await;
}

#[tokio::test]
async fn template_migrate_and_protection() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[("protection", "1")]).await;
    let r = api.call(Method::DELETE, "/nodes/pve1/qemu/100", &[]).await;
    assert!(r.body["message"].as_str().unwrap().contains("protection"), "{}", r.body);
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("delete", "protection")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/migrate", &[("target", "pve3")]).await;
    let res = api.get("/cluster/resources?type=vm").await;
    let row = res.as_array().unwrap().iter().find(|r| r["vmid"] == 100).unwrap();
    assert_eq!(row["node"], "pve3");
    assert!(api.get("/nodes/pve3/storage/local-lvm/content?vmid=100").await.to_string().contains("vm-100-disk-0"));
    api.run_ok(Method::POST, "/nodes/pve3/qemu/100/status/start", &[]).await;
    let r = api.call(Method::POST, "/nodes/pve3/qemu/100/migrate", &[("target", "pve1")]).await;
    assert_eq!(r.body["message"], "can't migrate running VM without --online\n");
    api.run_ok(Method::POST, "/nodes/pve3/qemu/100/status/stop", &[]).await;
    api.run_ok(Method::POST, "/nodes/pve3/qemu/100/template", &[]).await;
    let cfg = api.get("/nodes/pve3/qemu/100/config").await;
    assert_eq!(cfg["template"], 1);
    assert_eq!(cfg["scsi0"], "local-lvm:base-100-disk-0,size=2G");
    let r = api.call(Method::POST, "/nodes/pve3/qemu/100/status/start", &[]).await;
    assert_eq!(r.status, 500);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn pools_lifecycle() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "prod"), ("comment", "Production")]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "dev")]).await;
    let r = api.call(Method::POST, "/pools", &[("poolid", "prod")]).await;
    assert_eq!(r.body["message"], "create pool failed: pool 'prod' already exists\n");
    api.ok(Method::PUT, "/pools", &[("poolid", "prod"), ("vms", "100"), ("storage", "local-lvm")]).await;
    let pools = api.get("/pools?poolid=prod").await;
    assert_eq!(pools[0]["comment"], "Production");
    let members = pools[0]["members"].as_array().unwrap();
    assert!(members.iter().any(|m| m["id"] == "qemu/100" && m["vmid"] == 100));
    assert!(members.iter().any(|m| m["type"] == "storage"));
    let r = api.call(Method::PUT, "/pools", &[("poolid", "dev"), ("vms", "100")]).await;
    assert_eq!(r.status, 500, "already in a pool");
    api.ok(Method::PUT, "/pools", &[("poolid", "dev"), ("vms", "100"), ("allow-move", "1")]).await;
    let one = api.get("/pools/dev").await;
    assert_eq!(one["members"][0]["vmid"], 100);
    let r = api.call(Method::DELETE, "/pools", &[("poolid", "dev")]).await;
    assert_eq!(r.body["message"], "delete pool failed: pool 'dev' is not empty (contains VM 100)\n");
    api.ok(Method::PUT, "/pools", &[("poolid", "dev"), ("vms", "100"), ("delete", "1")]).await;
    api.ok(Method::DELETE, "/pools", &[("poolid", "dev")]).await;
    let r = api.call(Method::GET, "/pools/dev", &[]).await;
    assert_eq!(r.status, 500);
    let res = api.get("/cluster/resources").await;
    assert!(res.as_array().unwrap().iter().any(|r| r["id"] == "/pool/prod" && r["type"] == "pool"));
    api.sim.shutdown().await;
}

#[tokio::test]
async fn nextid_does_not_reserve_and_rejects_taken_ids() {
    let api = api().await;
    assert_eq!(api.get("/cluster/nextid").await, json!("100"));
    assert_eq!(api.get("/cluster/nextid").await, json!("100"), "asking twice gives the same id");
    assert_eq!(api.get("/cluster/nextid?vmid=150").await, json!("150"));
    let r = api.call(Method::GET, "/cluster/nextid", &[("vmid", "9000")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"]["vmid"], "VM 9000 already exists");
    let r = api.call(Method::POST, "/nodes/pve2/qemu", &[("vmid", "9000")]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn stopping_a_task_cancels_its_work() {
    let api = Api::start(SimOptions { task_duration: Duration::from_millis(400), ..opts() }).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "100"), ("scsi0", "local-lvm:1")]).await;
    let u = upid.as_str().unwrap();
    api.ok(Method::DELETE, &format!("/nodes/pve1/tasks/{u}"), &[]).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "interrupted by signal");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        api.call(Method::GET, "/nodes/pve1/qemu/100/config", &[]).await.status,
        500,
        "the create was rolled back"
    );
    let tasks = api.get("/cluster/tasks").await;
    assert_eq!(tasks[0]["upid"], u);
    assert_eq!(tasks[0]["status"], "interrupted by signal");
    let node_tasks = api.get("/nodes/pve1/tasks?errors=1").await;
    assert_eq!(node_tasks.as_array().unwrap().len(), 1);
    api.sim.shutdown().await;
}

/// Behaviours a reviewer compared with qemu-server and pve-container, one request each.
#[tokio::test]
async fn create_clone_pool_and_power_details_follow_pve() {
    let api = Api::start(SimOptions { task_duration: Duration::from_millis(400), ..opts() }).await;
    // Create writes PVE's default boot order: first disk (ide, scsi, virtio, sata), first CD-ROM
    // or cloud-init drive, first NIC.
    let form = [
        ("vmid", "700"),
        ("sata0", "local-lvm:1"),
        ("scsi0", "local-lvm:8"),
        ("net1", "virtio,bridge=vmbr0"),
        ("net0", "virtio,bridge=vmbr0"),
        ("ide2", "local-lvm:cloudinit"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &form).await;
    let cfg = api.get("/nodes/pve1/qemu/700/config").await;
    assert_eq!(cfg["boot"], "order=scsi0;ide2;net0");
    // A disk needs a volume ID: a bare size is a parameter error, as in PVE.
    let r =
        api.call(Method::POST, "/nodes/pve1/qemu", &[("vmid", "701"), ("scsi0", "8"), ("storage", "local-lvm")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Volumes that are not there, and import-from with a size, are refused.
    for bad in ["local-lvm:vm-9000-disk-7", "local-lvm:-5", "local-lvm:8,import-from=local:iso/nope.img"] {
        let r = api.call(Method::PUT, "/nodes/pve1/qemu/700/config", &[("scsi1", bad)]).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/700/config", &[]).await;
    assert_eq!(r.body["message"], "no options specified\n");

    // Unnamed guests show as "VM <vmid>"; maxdisk is the boot disk's size.
    api.run_ok(
        Method::POST,
        "/nodes/pve1/qemu",
        &[("vmid", "600"), ("efidisk0", "local-lvm:1"), ("scsi0", "local-lvm:8")],
    )
    .await;
    let st = api.get("/nodes/pve1/qemu/600/status/current").await;
    assert_eq!(st["name"], "VM 600");
    assert_eq!(st["maxdisk"], 8u64 << 30);
    let cfg = api.get("/nodes/pve1/qemu/600/config").await;
    assert_eq!(cfg["efidisk0"], "local-lvm:vm-600-disk-0,size=4M");

    // Two clones of one stopped template run side by side (the source is locked shared).
    let a = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "800")]).await;
    let b = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "801"), ("full", "1")]).await;
    assert_eq!(api.wait(&a).await["exitstatus"], "OK");
    assert_eq!(api.wait(&b).await["exitstatus"], "OK");
    api.run_ok(Method::POST, "/nodes/pve1/qemu/600/clone", &[("newid", "602")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/602/config").await["name"], "Copy-of-VM-600");
    let r = api.call(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "803"), ("format", "qcow2")]).await;
    assert_eq!(r.body["message"], "parameter 'format' not allowed for linked clones\n");

    // Pools: adding a member twice, and asking for a pool that is not there.
    api.ok(Method::POST, "/pools", &[("poolid", "p1")]).await;
    api.ok(Method::PUT, "/pools", &[("poolid", "p1"), ("vms", "600")]).await;
    let r = api.call(Method::PUT, "/pools", &[("poolid", "p1"), ("vms", "600")]).await;
    assert_eq!(r.body["message"], "update pools failed: VM 600 is already a pool member\n");
    let r = api.call(Method::GET, "/pools", &[("poolid", "nope")]).await;
    assert_eq!(r.body["message"], "pool 'nope' does not exist\n");

    // A stopped VM's shutdown is an OK task; a running VM with local disks migrates live only
    // with with-local-disks.
    let st = api.wait(&api.ok(Method::POST, "/nodes/pve1/qemu/600/status/shutdown", &[]).await).await;
    assert_eq!(st["exitstatus"], "OK");
    api.run_ok(Method::POST, "/nodes/pve1/qemu/600/status/start", &[]).await;
    let st = api
        .wait(&api.ok(Method::POST, "/nodes/pve1/qemu/600/migrate", &[("target", "pve2"), ("online", "1")]).await)
        .await;
    assert_eq!(st["exitstatus"], "migration aborted", "AbstractMigrate: the reason is in the log only");
    api.run_ok(
        Method::POST,
        "/nodes/pve1/qemu/600/migrate",
        &[("target", "pve2"), ("online", "1"), ("with-local-disks", "1")],
    )
    .await;

    // A container's rootfs cannot be deleted.
    let ct = &[
        ("vmid", "900"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("storage", "local-lvm"),
    ];
    api.wait(&api.ok(Method::POST, "/nodes/pve2/lxc", ct).await).await;
    let r = api.call(Method::PUT, "/nodes/pve2/lxc/900/config", &[("delete", "rootfs")]).await;
    assert_eq!(r.body["message"], "unable to delete required option 'rootfs'\n");
    api.sim.shutdown().await;
}
