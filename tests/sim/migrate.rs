//! Migration: what `migrate_vm` refuses at once, what the migration task aborts on (the reason
//! in the log, the status `migration aborted`), and where `targetstorage` puts the volumes.

use super::support::*;

fn log_lines(body: &Value) -> Vec<String> {
    body["data"].as_array().unwrap().iter().map(|l| l["t"].as_str().unwrap().to_string()).collect()
}

/// Runs a migration that must abort and returns its log.
async fn aborted(api: &Api, path: &str, form: &[(&str, &str)]) -> Vec<String> {
    let upid = api.ok(Method::POST, path, form).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "migration aborted", "{path}: {st}");
    let node = upid.as_str().unwrap().split(':').nth(1).unwrap().to_string();
    let log = api.call(Method::GET, &format!("/nodes/{node}/tasks/{}/log", upid.as_str().unwrap()), &[]).await;
    log_lines(&log.body)
}

fn has(lines: &[String], tail: &str) -> bool {
    lines.iter().any(|l| l.ends_with(tail))
}

async fn with_cluster(spec: Value) -> (Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.json");
    std::fs::write(&file, spec.to_string()).unwrap();
    (Api::start(SimOptions { cluster: Some(file), ..opts() }).await, dir)
}

/// QemuMigrate::scan_local_volumes: a linked clone on local storage cannot leave its base
/// ("can't migrate '<volid>' as it's a clone of '<base>'"), and the template's base volume,
/// used by that clone, is "referenced by linked clone(s)".
#[tokio::test]
async fn linked_clones_on_local_storage_do_not_migrate() {
    let api = api().await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "101")]).await;
    let lines = aborted(&api, "/nodes/pve1/qemu/101/migrate", &[("target", "pve2")]).await;
    assert!(
        has(
            &lines,
            "ERROR: migration aborted (duration 00:00:00): Problem found while scanning volumes - can't migrate 'local-lvm:base-9000-disk-0/vm-101-disk-0' as it's a clone of 'base-9000-disk-0'"
        ),
        "{lines:?}"
    );
    assert!(has(&lines, "aborting phase 1 - cleanup resources"), "{lines:?}");
    let lines = aborted(&api, "/nodes/pve1/qemu/9000/migrate", &[("target", "pve2")]).await;
    assert!(
        has(&lines, "WARN: can't migrate local disk 'local-lvm:base-9000-disk-0': referenced by linked clone(s)"),
        "{lines:?}"
    );
    // Both stay where they were, unlocked.
    assert!(api.get("/nodes/pve1/qemu/101/config").await.get("lock").is_none());
    // A full clone has no base and migrates.
    api.run_ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "102"), ("full", "1")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/102/migrate", &[("target", "pve2")]).await;
    let cfg = api.get("/nodes/pve2/qemu/102/config").await;
    assert!(cfg["scsi0"].as_str().unwrap().starts_with("local-lvm:vm-102-disk-0,"), "{cfg}");
    api.sim.shutdown().await;
}

/// QemuMigrate::scan_local_volumes: an ISO on local storage in a CD-ROM drive is a "local cdrom
/// image" and a host drive "can't migrate local cdrom drive"; an empty drive or an ISO on shared
/// storage migrates.
#[tokio::test]
async fn local_cdroms_stop_a_migration() {
    let (api, _dir) = with_cluster(json!({
        "nodes": [{"name": "pve1"}, {"name": "pve2"}],
        "storages": [
            {"id": "local", "type": "dir", "path": "/var/lib/vz", "content": ["iso", "images"], "capacity_gib": 100},
            {"id": "nas", "type": "nfs", "shared": true, "content": ["iso"], "capacity_gib": 100},
        ],
        "templates": [{"volid": "local:iso/debian.iso"}, {"volid": "nas:iso/debian.iso"}],
    }))
    .await;
    let vm = |ide2: &'static str| [("vmid", "100"), ("scsi0", "local:1"), ("ide2", ide2)];
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &vm("local:iso/debian.iso,media=cdrom")).await;
    let lines = aborted(&api, "/nodes/pve1/qemu/100/migrate", &[("target", "pve2")]).await;
    assert!(has(&lines, "WARN: can't migrate local disk 'local:iso/debian.iso': local cdrom image"), "{lines:?}");
    assert!(has(&lines, "Problem found while scanning volumes - can't migrate VM - check log"), "{lines:?}");
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("ide2", "cdrom,media=cdrom")]).await;
    let lines = aborted(&api, "/nodes/pve1/qemu/100/migrate", &[("target", "pve2")]).await;
    assert!(has(&lines, "WARN: can't migrate local cdrom drive"), "{lines:?}");
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("ide2", "nas:iso/debian.iso,media=cdrom")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/migrate", &[("target", "pve2")]).await;
    let cfg = api.get("/nodes/pve2/qemu/100/config").await;
    assert_eq!(cfg["ide2"], "nas:iso/debian.iso,media=cdrom");
    assert!(cfg["scsi0"].as_str().unwrap().starts_with("local:100/vm-100-disk-0.raw"), "{cfg}");
    api.ok(Method::PUT, "/nodes/pve2/qemu/100/config", &[("ide2", "none,media=cdrom")]).await;
    api.run_ok(Method::POST, "/nodes/pve2/qemu/100/migrate", &[("target", "pve1")]).await;
    api.sim.shutdown().await;
}

/// pve-container's migrate_vm refuses a running CT without `online` or `restart`;
/// PVE::LXC::Migrate::prepare then aborts `online=1` ("lxc live migration is currently not
/// implemented"); `restart=1` moves it and it runs on the target.
#[tokio::test]
async fn containers_migrate_by_restarting_only() {
    let api = api().await;
    let ct = [
        ("vmid", "200"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("rootfs", "local-lvm:2"),
        ("features", "nesting=1"),
        ("start", "1"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &ct).await;
    let r = api.call(Method::POST, "/nodes/pve1/lxc/200/migrate", &[("target", "pve2")]).await;
    assert_eq!(
        (r.status.as_u16(), r.body["message"].as_str()),
        (500, Some("can't migrate running container without --online or --restart\n"))
    );
    let lines = aborted(&api, "/nodes/pve1/lxc/200/migrate", &[("target", "pve2"), ("online", "1")]).await;
    assert!(
        has(&lines, "ERROR: migration aborted (duration 00:00:00): lxc live migration is currently not implemented"),
        "{lines:?}"
    );
    assert_eq!(api.get("/nodes/pve1/lxc/200/status/current").await["status"], "running");
    api.run_ok(Method::POST, "/nodes/pve1/lxc/200/migrate", &[("target", "pve2"), ("restart", "1")]).await;
    assert_eq!(api.get("/nodes/pve2/lxc/200/status/current").await["status"], "running");
    // migrate_vm: raise_param_exc({ target => "target is local node." }).
    let r = api.call(Method::POST, "/nodes/pve2/lxc/200/migrate", &[("target", "pve2"), ("restart", "1")]).await;
    assert_eq!((r.status.as_u16(), r.body["errors"]["target"].as_str()), (400, Some("target is local node.")));
    api.sim.shutdown().await;
}

/// `targetstorage` is pve-common's parse_idmap/map_id: `src:dst` pairs, a bare default id, `1`
/// for the same storage; each target must be enabled on the target node and hold VM images
/// ($check_storage_access_migrate), and volumes keep their names where they fit
/// (storage_migrate), else get the target storage's next name.
#[tokio::test]
async fn targetstorage_maps_volumes() {
    let (api, _dir) = with_cluster(json!({
        "nodes": [{"name": "pve1"}, {"name": "pve2"}],
        "storages": [
            {"id": "local", "type": "dir", "path": "/var/lib/vz", "content": ["images", "iso"], "capacity_gib": 100},
            {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 100},
            {"id": "tank", "type": "zfspool", "sparse": true, "content": ["images"], "capacity_gib": 100},
            {"id": "isos", "type": "dir", "path": "/mnt/iso", "content": ["iso"], "capacity_gib": 10},
            {"id": "off", "type": "lvmthin", "content": ["images"], "capacity_gib": 10, "disable": true},
            {"id": "only1", "type": "lvmthin", "content": ["images"], "capacity_gib": 10, "nodes": ["pve1"]},
        ],
    }))
    .await;
    let vm = [("vmid", "100"), ("scsi0", "local-lvm:1"), ("scsi1", "local:2")];
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &vm).await;
    let migrate = |map: &'static str| [("target", "pve2"), ("targetstorage", map)];
    for (map, message) in [
        ("nope", "storage 'nope' does not exist\n"),
        ("isos", "storage 'isos' does not support vm images\n"),
        ("off", "storage 'off' is disabled\n"),
        ("local-lvm:only1", "storage 'only1' is not available on node 'pve2'\n"),
    ] {
        let r = api.call(Method::POST, "/nodes/pve1/qemu/100/migrate", &migrate(map)).await;
        assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (500, Some(message)), "{map}");
    }
    // Pairs: each storage its own target; a file on a directory storage becomes an LV name.
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/migrate", &migrate("local-lvm:tank,local:local-lvm")).await;
    let cfg = api.get("/nodes/pve2/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "tank:vm-100-disk-0,size=1G");
    assert_eq!(cfg["scsi1"], "local-lvm:vm-100-disk-0,size=2G");
    // A bare id is the default for every storage the map does not name.
    api.run_ok(Method::POST, "/nodes/pve2/qemu/100/migrate", &[("target", "pve1"), ("targetstorage", "local")]).await;
    let cfg = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "local:100/vm-100-disk-0.raw,size=1G");
    assert_eq!(cfg["scsi1"], "local:100/vm-100-disk-1.raw,size=2G");
    // `1` (identity) keeps each storage.
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/migrate", &[("target", "pve2"), ("targetstorage", "1")]).await;
    let cfg = api.get("/nodes/pve2/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "local:100/vm-100-disk-0.raw,size=1G");
    let content = api.get("/nodes/pve1/storage/local/content").await;
    assert!(content.as_array().unwrap().iter().all(|v| v["vmid"] != 100), "the source volumes are gone: {content}");
    // parse_idmap (the parameter's format): one default, one pair per source.
    let r = api
        .call(Method::POST, "/nodes/pve2/qemu/100/migrate", &[("target", "pve1"), ("targetstorage", "aa:bb,aa:cc")])
        .await;
    assert_eq!(r.body["errors"]["targetstorage"], "invalid format - duplicate mapping for source 'aa'\n", "{}", r.body);
    let r = api
        .call(Method::POST, "/nodes/pve2/qemu/100/migrate", &[("target", "pve1"), ("targetstorage", "1,tank")])
        .await;
    assert_eq!(
        r.body["errors"]["targetstorage"], "invalid format - identity mapping cannot be combined with other mappings\n",
        "{}",
        r.body
    );
    api.sim.shutdown().await;
}
