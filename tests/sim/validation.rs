//! What a config update refuses, and how deletes treat disks and the boot order, as
//! qemu-server's `$update_vm_api` and pve-container's `update_vm` do in PVE 9.2.

use super::support::*;

/// A request form, the `errors` key PVE names and its text.
type Refusal = (&'static [(&'static str, &'static str)], &'static str, &'static str);

async fn put(api: &Api, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = api.call(Method::PUT, path, form).await;
    (r.status.as_u16(), r.body)
}

/// `$update_vm_api` checks each `revert` and `delete` key first (400): an unknown option, a key
/// both set and reverted or deleted; JSONSchema's `requires` makes `force` need `delete`; and
/// `skiplock` is for root@pam alone, which an API token never is.
#[tokio::test]
async fn delete_revert_force_and_skiplock_are_checked() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let vm = "/nodes/pve1/qemu/100/config";
    let cases: &[Refusal] = &[
        (&[("delete", "foobar")], "delete", "unknown option 'foobar'"),
        (&[("revert", "bogus")], "revert", "unknown option 'bogus'"),
        (
            &[("revert", "cores"), ("cores", "5")],
            "delete",
            "you can't use '-cores' and -revert cores' at the same time",
        ),
        (
            &[("delete", "cores"), ("cores", "5")],
            "delete",
            "you can't use '-cores' and -delete cores' at the same time",
        ),
        (&[("force", "1"), ("cores", "2")], "delete", "missing property - 'force' requires this property"),
        (&[("skiplock", "1"), ("onboot", "1")], "skiplock", "Only root may use this option."),
    ];
    for (form, key, want) in cases {
        let (status, body) = put(&api, vm, form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert_eq!(body["errors"][key], *want, "{form:?}: {body}");
    }
    let ct = [
        ("vmid", "200"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("rootfs", "local-lvm:2"),
        ("features", "nesting=1"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &ct).await;
    let (status, body) = put(&api, "/nodes/pve1/lxc/200/config", &[("delete", "foobar")]).await;
    assert_eq!((status, &body["errors"]["delete"]), (400, &json!("unknown option 'foobar'")));
    api.sim.shutdown().await;
}

/// `$update_vm_api` with `force`: a deleted disk is freed (`try_deallocate_drive`) instead of
/// kept as `unusedN`; a forced pending delete reads back as `delete: 2`
/// (`config_with_pending_array`).
#[tokio::test]
async fn force_frees_a_deleted_disk() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[("scsi1", "local-lvm:1"), ("scsi2", "local-lvm:1")]).await;
    let vm = "/nodes/pve1/qemu/100";
    api.ok(Method::PUT, &format!("{vm}/config"), &[("delete", "scsi1")]).await;
    let cfg = api.get(&format!("{vm}/config")).await;
    assert_eq!(cfg["unused0"], "local-lvm:vm-100-disk-1", "without force the disk is kept");
    api.ok(Method::PUT, &format!("{vm}/config"), &[("delete", "scsi2"), ("force", "1")]).await;
    let cfg = api.get(&format!("{vm}/config")).await;
    assert!(cfg.get("scsi2").is_none() && cfg.get("unused1").is_none(), "{cfg}");
    let content = api.get("/nodes/pve1/storage/local-lvm/content").await;
    assert!(!content.to_string().contains("vm-100-disk-2"), "the volume is freed");
    assert!(content.to_string().contains("vm-100-disk-1"), "the unused one is kept");
    // On a running VM that cannot unplug disks, the forced delete waits, marked 2.
    create_vm(&api, "pve1", "101", &[("scsi1", "local-lvm:1"), ("hotplug", "network")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/101/status/start", &[]).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/101/config", &[("delete", "scsi1"), ("force", "1")]).await;
    let pending = api.get("/nodes/pve1/qemu/101/pending").await;
    let row = pending.as_array().unwrap().iter().find(|r| r["key"] == "scsi1").unwrap().clone();
    assert_eq!(row["delete"], 2, "{row}");
    api.run_ok(Method::POST, "/nodes/pve1/qemu/101/status/stop", &[]).await;
    let content = api.get("/nodes/pve1/storage/local-lvm/content").await;
    assert!(!content.to_string().contains("vm-101-disk-1"), "freed when the stop applied it");
    api.sim.shutdown().await;
}

/// `$update_vm_api`: deleting a device drops it from `boot: order=`; a new order may only name
/// devices that exist ("invalid bootorder: device 'x' does not exist'", PVE's stray quote
/// included); the balloon target may not exceed memory ($load_and_check_config).
#[tokio::test]
async fn boot_order_and_balloon_follow_update_vm_api() {
    let api = api().await;
    create_vm(&api, "pve1", "140", &[("ide2", "none,media=cdrom"), ("memory", "2048")]).await;
    let vm = "/nodes/pve1/qemu/140/config";
    assert_eq!(api.get(vm).await["boot"], "order=scsi0;ide2;net0");
    api.ok(Method::PUT, vm, &[("delete", "scsi0")]).await;
    assert_eq!(api.get(vm).await["boot"], "order=ide2;net0");
    let (status, body) = put(&api, vm, &[("boot", "order=scsi7")]).await;
    assert_eq!((status, body["message"].as_str()), (500, Some("invalid bootorder: device 'scsi7' does not exist'\n")));
    let (status, body) = put(&api, vm, &[("boot", "order=net0"), ("delete", "net0")]).await;
    assert_eq!(status, 500, "a device being deleted cannot boot: {body}");
    api.ok(Method::PUT, vm, &[("boot", "order=net0;ide2")]).await;
    for form in [&[("balloon", "8192")][..], &[("memory", "1024"), ("balloon", "2048")][..]] {
        let (status, body) = put(&api, vm, form).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (500, Some("balloon value too large (must be smaller than assigned memory)\n")),
            "{form:?}"
        );
    }
    api.ok(Method::PUT, vm, &[("balloon", "1024")]).await;
    api.sim.shutdown().await;
}
