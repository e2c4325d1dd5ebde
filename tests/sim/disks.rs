//! Resizing and cloning disks as qemu-server and pve-container do it.

use super::support::*;

const TEMPLATE: &str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

async fn task_status(api: &Api, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
    let upid = api.ok(method, path, form).await;
    api.wait(&upid).await
}

/// qemu-server `resize_vm`: only the parameters are checked before the `resize` worker (`disk`
/// is an enum of drive names, `size` matches `\+?\d+(\.\d+)?[KMGT]?`); a missing disk, a
/// CD-ROM, a stale digest ("checksum missmatch") and a shrink fail the task; an unchanged size
/// is a silent no-op. Units: K/M/G/T powers of 1024, a bare number is bytes, `+` grows.
#[tokio::test]
async fn qemu_resize_fails_inside_its_task() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[("ide2", "none,media=cdrom")]).await;
    let resize = "/nodes/pve1/qemu/100/resize";
    let r = api.call(Method::PUT, resize, &[("disk", "foo"), ("size", "+1G")]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["errors"]["disk"]
            .as_str()
            .unwrap()
            .starts_with("value 'foo' does not have a value in the enumeration 'ide0, ide1,"),
        "{}",
        r.body
    );
    let r = api.call(Method::PUT, resize, &[("disk", "scsi0"), ("size", "+1g")]).await;
    assert_eq!(
        (r.status.as_u16(), r.body["errors"]["size"].as_str()),
        (400, Some("value does not match the regex pattern"))
    );
    let failing = [
        (vec![("disk", "scsi5"), ("size", "+1G")], "disk 'scsi5' does not exist"),
        (vec![("disk", "ide2"), ("size", "+1G")], "you can't resize a cdrom"),
        (vec![("disk", "scsi0"), ("size", "1G")], "shrinking disks is not supported"),
        (
            vec![("disk", "scsi0"), ("size", "+1G"), ("digest", "0123456789abcdef")],
            "checksum missmatch (file change by other user?)",
        ),
    ];
    for (form, status) in failing {
        assert_eq!(task_status(&api, Method::PUT, resize, &form).await["exitstatus"], status, "{form:?}");
    }
    assert_eq!(task_status(&api, Method::PUT, resize, &[("disk", "scsi0"), ("size", "2G")]).await["exitstatus"], "OK");
    let sizes = [("+512M", "2560M"), ("3G", "3G"), ("+1073741824", "4G"), ("+0.5G", "4608M")];
    for (size, after) in sizes {
        api.run_ok(Method::PUT, resize, &[("disk", "scsi0"), ("size", size)]).await;
        let cfg = api.get("/nodes/pve1/qemu/100/config").await;
        assert_eq!(cfg["scsi0"], format!("local-lvm:vm-100-disk-0,size={after}"), "{size}");
    }
    api.sim.shutdown().await;
}

/// pve-container `resize_vm` checks before forking: "unable to shrink disk size" and "disk is
/// already at specified size" are synchronous 500s.
#[tokio::test]
async fn lxc_resize_refuses_the_same_size() {
    let api = api().await;
    let ct = [("vmid", "200"), ("ostemplate", TEMPLATE), ("rootfs", "local-lvm:8"), ("features", "nesting=1")];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &ct).await;
    let resize = "/nodes/pve1/lxc/200/resize";
    for (size, message) in [
        ("8G", "disk is already at specified size\n"),
        ("4G", "unable to shrink disk size\n"),
        ("+0", "disk is already at specified size\n"),
    ] {
        let r = api.call(Method::PUT, resize, &[("disk", "rootfs"), ("size", size)]).await;
        assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (500, Some(message)), "{size}");
    }
    api.run_ok(Method::PUT, resize, &[("disk", "rootfs"), ("size", "+2G")]).await;
    assert_eq!(api.get("/nodes/pve1/lxc/200/config").await["rootfs"], "local-lvm:vm-200-disk-0,size=10G");
    api.sim.shutdown().await;
}

/// A thin storage over-provisions (LvmThinPlugin has no free-space check): a disk larger than
/// the whole pool is allocated and grown.
#[tokio::test]
async fn thin_storage_over_provisions() {
    let api = api().await;
    // local-lvm is a 1 TiB thin pool in the built-in cluster.
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "100"), ("scsi0", "local-lvm:2048")]).await;
    api.run_ok(Method::PUT, "/nodes/pve1/qemu/100/resize", &[("disk", "scsi0"), ("size", "+1T")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/config").await["scsi0"], "local-lvm:vm-100-disk-0,size=3T");
    api.sim.shutdown().await;
}

/// qemu-server `clone_vm`: `storage` must be enabled and hold VM images (400 keyed `storage`),
/// and another node needs it shared ("can't clone to non-shared storage"); the new config is
/// the source's with a new smbios1 uuid (its other fields kept, as print_smbios1 writes them),
/// a new vmgenid only if the source had one, and `meta` copied.
#[tokio::test]
async fn clone_checks_its_storage_and_copies_identity_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.json");
    std::fs::write(
        &file,
        json!({
            "nodes": [{"name": "pve1"}, {"name": "pve2"}],
            "storages": [
                {"id": "local", "type": "dir", "path": "/var/lib/vz", "content": ["iso", "vztmpl"], "capacity_gib": 100},
                {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 100},
                {"id": "off", "type": "lvmthin", "content": ["images"], "capacity_gib": 100, "disable": true},
            ],
            "guests": [{"vmid": 9000, "type": "qemu", "node": "pve1", "template": true, "config": {
                "name": "tmpl", "scsi0": "local-lvm:2", "smbios1": "uuid=0c3b1b7e-6f4e-4d5e-9a43-6a0f1f8f9b1a,manufacturer=QUNNRQ==,base64=1",
                "meta": "creation-qemu=9.0.2,ctime=1700000000"
            }}]
        })
        .to_string(),
    )
    .unwrap();
    let api = Api::start(SimOptions { cluster: Some(file), ..opts() }).await;
    let clone = "/nodes/pve1/qemu/9000/clone";
    let r = api.call(Method::POST, clone, &[("newid", "101"), ("full", "1"), ("storage", "local")]).await;
    assert_eq!(
        (r.status.as_u16(), r.body["errors"]["storage"].as_str()),
        (400, Some("storage 'local' does not support vm images"))
    );
    let r = api.call(Method::POST, clone, &[("newid", "101"), ("full", "1"), ("storage", "off")]).await;
    assert_eq!(r.body["message"], "storage 'off' is disabled\n");
    let r = api
        .call(Method::POST, clone, &[("newid", "101"), ("full", "1"), ("storage", "local-lvm"), ("target", "pve2")])
        .await;
    assert_eq!(r.body["message"], "can't clone to non-shared storage 'local-lvm'\n");
    api.run_ok(Method::POST, clone, &[("newid", "101")]).await;
    let src = api.get("/nodes/pve1/qemu/9000/config").await;
    let cfg = api.get("/nodes/pve1/qemu/101/config").await;
    assert_eq!(cfg["meta"], "creation-qemu=9.0.2,ctime=1700000000", "meta is copied");
    let smbios1 = cfg["smbios1"].as_str().unwrap();
    assert!(smbios1.starts_with("base64=1,manufacturer=QUNNRQ==,uuid="), "{smbios1}");
    assert_ne!(smbios1, src["smbios1"].as_str().unwrap(), "a new uuid");
    // The seeded template has a vmgenid (a created VM gets one), so the clone gets a new one.
    assert_ne!(cfg["vmgenid"], src["vmgenid"]);
    api.ok(Method::PUT, "/nodes/pve1/qemu/101/config", &[("delete", "vmgenid")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/101/clone", &[("newid", "102")]).await;
    assert!(api.get("/nodes/pve1/qemu/102/config").await.get("vmgenid").is_none(), "none copied, none made");
    api.sim.shutdown().await;
}
