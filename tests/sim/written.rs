//! Values as PVE writes and serialises them.

use super::support::*;

/// qemu-server `create_vm`: `meta` names the installed QEMU (PVE 9.2 ships QEMU 11.0), and
/// `check_and_pin_machine_string` pins a Windows guest's unversioned machine type to it
/// (`pc-i440fx-11.0`, `pc-q35-11.0`, properties kept); a Linux guest's is left alone.
#[tokio::test]
async fn windows_machines_are_pinned_and_meta_names_qemu_11() {
    let api = api().await;
    let vm =
        |vmid: &'static str, ostype: &'static str| vec![("vmid", vmid), ("ostype", ostype), ("scsi0", "local-lvm:1")];
    let st = api.run_ok(Method::POST, "/nodes/pve1/qemu", &vm("140", "win11")).await;
    let cfg = api.get("/nodes/pve1/qemu/140/config").await;
    assert_eq!(cfg["machine"], "pc-i440fx-11.0");
    assert!(cfg["meta"].as_str().unwrap().starts_with("creation-qemu=11.0.0,ctime="), "{cfg}");
    let log = api.call(Method::GET, &format!("/nodes/pve1/tasks/{}/log", st["upid"].as_str().unwrap()), &[]).await;
    assert!(
        log.body.to_string().contains("pinning machine type to 'pc-i440fx-11.0' for Windows guest OS"),
        "{}",
        log.body
    );
    let mut q35 = vm("141", "win10");
    q35.push(("machine", "q35,viommu=intel"));
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &q35).await;
    assert_eq!(api.get("/nodes/pve1/qemu/141/config").await["machine"], "pc-q35-11.0,viommu=intel");
    let mut pinned = vm("142", "win10");
    pinned.push(("machine", "pc-q35-9.2+pve1"));
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &pinned).await;
    assert_eq!(api.get("/nodes/pve1/qemu/142/config").await["machine"], "pc-q35-9.2+pve1");
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &vm("143", "l26")).await;
    assert!(api.get("/nodes/pve1/qemu/143/config").await.get("machine").is_none());
    api.run_ok(Method::POST, "/nodes/pve1/qemu/143/status/start", &[]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/143/status/current").await["running-qemu"], "11.0.0");
    api.sim.shutdown().await;
}

/// parse_vm_config / parse_pct_config read the `#` description lines back with the trailing
/// whitespace stripped (`s/\s+$//`); leading whitespace stays.
#[tokio::test]
async fn descriptions_lose_trailing_whitespace() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("description", "  line1\nline2\n\n  \n")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/config").await["description"], "  line1\nline2");
    let ct = [
        ("vmid", "200"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("rootfs", "local-lvm:2"),
        ("features", "nesting=1"),
        ("description", "ct\n"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &ct).await;
    assert_eq!(api.get("/nodes/pve1/lxc/200/config").await["description"], "ct");
    api.sim.shutdown().await;
}

/// qemu-server `check_type` numifies integer and boolean options only; `number` options
/// (`cpulimit`, `migrate_downtime`, LXC `cpulimit`) come back as the strings they were written
/// as, while `cores` or `onboot` are numbers.
#[tokio::test]
async fn number_options_read_back_as_strings() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[("cpulimit", "1.5"), ("migrate_downtime", "0.3"), ("onboot", "1")]).await;
    let cfg = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!((&cfg["cpulimit"], &cfg["migrate_downtime"]), (&json!("1.5"), &json!("0.3")), "{cfg}");
    assert_eq!((&cfg["cores"], &cfg["onboot"]), (&json!(2), &json!(1)));
    let ct = [
        ("vmid", "200"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("rootfs", "local-lvm:2"),
        ("features", "nesting=1"),
        ("cpulimit", "2"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &ct).await;
    let cfg = api.get("/nodes/pve1/lxc/200/config").await;
    assert_eq!((&cfg["cpulimit"], &cfg["memory"]), (&json!("2"), &json!(512)));
    api.sim.shutdown().await;
}
