//! Pending changes as PVE 9.2 keeps them: what a running guest takes at once, what waits for a
//! restart, what is dropped because nothing changed, and when the pending section is applied.

use super::support::*;

/// The `/pending` rows that still wait: a pending value or a pending delete.
async fn waiting(api: &Api, path: &str) -> Vec<String> {
    let rows = api.get(&format!("{path}/pending")).await;
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("pending").is_some() || r.get("delete").is_some())
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect()
}

async fn running_vm(api: &Api, vmid: &str, extra: &[(&str, &str)]) -> String {
    create_vm(api, "pve1", vmid, extra).await;
    api.run_ok(Method::POST, &format!("/nodes/pve1/qemu/{vmid}/status/start"), &[]).await;
    format!("/nodes/pve1/qemu/{vmid}")
}

async fn running_ct(api: &Api, vmid: &str) -> String {
    let form = [
        ("vmid", vmid),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("rootfs", "local-lvm:2"),
        ("features", "nesting=1"),
        ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
        ("hostname", "ct"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &form).await;
    api.run_ok(Method::POST, &format!("/nodes/pve1/lxc/{vmid}/status/start"), &[]).await;
    format!("/nodes/pve1/lxc/{vmid}")
}

/// pve-guest-common `AbstractConfig::cleanup_pending`, run by qemu-server's `$update_vm_api` and
/// pve-container's `update_pct_config` after every write: a pending value equal to the current
/// one is dropped, and so is a pending delete of a key that is not set. Re-sending an unchanged
/// config to a running guest therefore leaves nothing pending.
#[tokio::test]
async fn unchanged_values_never_become_pending() {
    let api = api().await;
    let vm = running_vm(&api, "100", &[("memory", "2048"), ("sockets", "1")]).await;
    let cfg = api.get(&format!("{vm}/config")).await;
    let net0 = cfg["net0"].as_str().unwrap().to_string();
    let scsi0 = cfg["scsi0"].as_str().unwrap().to_string();
    api.ok(
        Method::PUT,
        &format!("{vm}/config"),
        &[("cores", "2"), ("memory", "2048"), ("sockets", "1"), ("net0", &net0), ("scsi0", &scsi0)],
    )
    .await;
    assert_eq!(waiting(&api, &vm).await, Vec::<String>::new(), "equal values are not pending");
    assert_eq!(api.get(&format!("{vm}/config")).await["digest"], cfg["digest"], "the config file is unchanged");
    // A pending change set back to the current value disappears.
    api.ok(Method::PUT, &format!("{vm}/config"), &[("cores", "4")]).await;
    assert_eq!(waiting(&api, &vm).await, ["cores"]);
    api.ok(Method::PUT, &format!("{vm}/config"), &[("cores", "2")]).await;
    assert_eq!(waiting(&api, &vm).await, Vec::<String>::new());
    // Deleting what is not set records nothing (PVE only warns).
    api.ok(Method::PUT, &format!("{vm}/config"), &[("delete", "numa")]).await;
    assert_eq!(waiting(&api, &vm).await, Vec::<String>::new());
    // The same holds for a container.
    let ct = running_ct(&api, "200").await;
    let cfg = api.get(&format!("{ct}/config")).await;
    let (ostype, arch) = (cfg["ostype"].as_str().unwrap(), cfg["arch"].as_str().unwrap());
    api.ok(Method::PUT, &format!("{ct}/config"), &[("ostype", ostype), ("arch", arch), ("memory", "512")]).await;
    assert_eq!(waiting(&api, &ct).await, Vec::<String>::new());
    api.sim.shutdown().await;
}

/// qemu-server `vmconfig_hotplug_pending` with the default `hotplug` (network,disk,usb): the
/// fast-plug options and every cloud-init option commit at once, cpulimit and cpuunits through
/// cgroups; cores, memory and vcpus wait; a disk that keeps its volume takes throttling live but
/// not discard (`vmconfig_update_disk`); a new scsi disk plugs, a new sata disk does not.
#[tokio::test]
async fn running_vm_takes_what_qemu_servers_hotplug_code_takes() {
    let api = api().await;
    let vm = running_vm(&api, "100", &[]).await;
    let immediate = [
        ("ciuser", "bob"),
        ("ipconfig0", "ip=dhcp"),
        ("nameserver", "1.1.1.1"),
        ("cpulimit", "2"),
        ("cpuunits", "200"),
        ("shares", "500"),
        ("migrate_downtime", "1"),
        ("vmstatestorage", "local-lvm"),
        ("name", "web2"),
        ("tags", "b,a"),
    ];
    api.ok(Method::PUT, &format!("{vm}/config"), &immediate).await;
    assert_eq!(waiting(&api, &vm).await, Vec::<String>::new(), "all of these apply to a running VM");
    let current = api.get(&format!("{vm}/config?current=1")).await;
    assert_eq!((current["ciuser"].as_str(), current["cpuunits"].as_i64()), (Some("bob"), Some(200)));
    let scsi0 = current["scsi0"].as_str().unwrap().to_string();
    api.ok(
        Method::PUT,
        &format!("{vm}/config"),
        &[
            ("cores", "4"),
            ("memory", "4096"),
            ("vcpus", "2"),
            ("hotplug", "network,disk,cpu,memory"),
            ("scsi0", &format!("{scsi0},discard=on")),
            ("scsi1", "local-lvm:1"),
            ("sata1", "local-lvm:1"),
        ],
    )
    .await;
    let mut waits = waiting(&api, &vm).await;
    waits.sort();
    assert_eq!(waits, ["cores", "hotplug", "memory", "sata1", "scsi0", "vcpus"]);
    let current = api.get(&format!("{vm}/config?current=1")).await;
    let scsi1 = current["scsi1"].as_str().expect("a new scsi disk is hot-plugged").to_string();
    assert!(scsi1.ends_with(",size=1G"), "{scsi1}");
    assert_eq!(current["scsi0"], scsi0.as_str(), "discard waits for a restart");
    // Throttling a disk is live.
    api.ok(
        Method::PUT,
        &format!("{vm}/config"),
        &[("revert", "scsi0"), ("scsi1", &scsi1.replace(",size", ",mbps_rd=50,size"))],
    )
    .await;
    assert!(api.get(&format!("{vm}/config?current=1")).await["scsi1"].as_str().unwrap().contains("mbps_rd=50"));
    api.sim.shutdown().await;
}

/// The guest's own `hotplug` option decides (qemu-server `parse_hotplug_features`): with
/// `cpu,memory` a running VM takes memory and vcpus at once; with `0` even a NIC waits.
#[tokio::test]
async fn the_guests_hotplug_option_is_honoured() {
    let api = api().await;
    let vm = running_vm(&api, "100", &[("hotplug", "network,disk,cpu,memory"), ("numa", "1")]).await;
    api.ok(Method::PUT, &format!("{vm}/config"), &[("memory", "4096"), ("vcpus", "2")]).await;
    assert_eq!(waiting(&api, &vm).await, Vec::<String>::new());
    assert_eq!(api.get(&format!("{vm}/config?current=1")).await["memory"], "4096");
    let off = running_vm(&api, "101", &[("hotplug", "0")]).await;
    api.ok(Method::PUT, &format!("{off}/config"), &[("net1", "virtio,bridge=vmbr0"), ("delete", "net0")]).await;
    let mut waits = waiting(&api, &off).await;
    waits.sort();
    // The deleted NIC also leaves the boot order, itself a pending change ($update_vm_api).
    assert_eq!(waits, ["boot", "net0", "net1"]);
    // A bridge or VLAN change on an existing NIC is live even so (vmconfig_update_net).
    let net0 = api.get(&format!("{off}/config?current=1")).await["net0"].as_str().unwrap().to_string();
    api.ok(Method::PUT, &format!("{off}/config"), &[("revert", "net0,net1,boot")]).await;
    api.ok(Method::PUT, &format!("{off}/config"), &[("net0", &format!("{net0},tag=20"))]).await;
    assert_eq!(waiting(&api, &off).await, Vec::<String>::new());
    api.sim.shutdown().await;
}

/// pve-container `PVE::LXC::Config::vmconfig_hotplug_pending`: memory, swap, cores, hostname and
/// NICs change live and a new mount point is hot-plugged; nameserver and a changed mount point
/// wait for a restart.
#[tokio::test]
async fn running_container_hot_plugs_new_mount_points() {
    let api = api().await;
    let ct = running_ct(&api, "200").await;
    api.ok(
        Method::PUT,
        &format!("{ct}/config"),
        &[("memory", "1024"), ("swap", "256"), ("cores", "2"), ("hostname", "ct2"), ("mp0", "local-lvm:1,mp=/data")],
    )
    .await;
    assert_eq!(waiting(&api, &ct).await, Vec::<String>::new());
    let current = api.get(&format!("{ct}/config?current=1")).await;
    assert_eq!(current["mp0"], "local-lvm:vm-200-disk-1,mp=/data,size=1G");
    api.ok(
        Method::PUT,
        &format!("{ct}/config"),
        &[("nameserver", "1.1.1.1"), ("mp0", "local-lvm:vm-200-disk-1,mp=/srv,size=1G")],
    )
    .await;
    let mut waits = waiting(&api, &ct).await;
    waits.sort();
    assert_eq!(waits, ["mp0", "nameserver"]);
    api.sim.shutdown().await;
}

/// qemu-server `_do_vm_stop` → `vm_stop_cleanup(…, $apply_pending_changes = 1)`: a stop or a
/// shutdown through the API applies what was pending, as a start and a reboot do
/// (`vm_start_nolock`); pve-container's post-stop hook does the same for containers.
#[tokio::test]
async fn stop_and_shutdown_apply_pending_changes() {
    let api = api().await;
    let vm = running_vm(&api, "100", &[("sockets", "2")]).await;
    api.ok(Method::PUT, &format!("{vm}/config"), &[("cores", "6"), ("delete", "sockets")]).await;
    let mut waits = waiting(&api, &vm).await;
    waits.sort();
    assert_eq!(waits, ["cores", "sockets"]);
    api.run_ok(Method::POST, &format!("{vm}/status/stop"), &[]).await;
    assert_eq!(waiting(&api, &vm).await, Vec::<String>::new());
    let cfg = api.get(&format!("{vm}/config?current=1")).await;
    assert_eq!(cfg["cores"], 6);
    assert!(cfg.get("sockets").is_none());
    api.run_ok(Method::POST, &format!("{vm}/status/start"), &[]).await;
    api.ok(Method::PUT, &format!("{vm}/config"), &[("cores", "7")]).await;
    api.run_ok(Method::POST, &format!("{vm}/status/shutdown"), &[]).await;
    assert_eq!(api.get(&format!("{vm}/config?current=1")).await["cores"], 7);
    let ct = running_ct(&api, "200").await;
    api.ok(Method::PUT, &format!("{ct}/config"), &[("nameserver", "9.9.9.9")]).await;
    assert_eq!(waiting(&api, &ct).await, ["nameserver"]);
    api.run_ok(Method::POST, &format!("{ct}/status/shutdown"), &[]).await;
    assert_eq!(api.get(&format!("{ct}/config?current=1")).await["nameserver"], "9.9.9.9");
    api.sim.shutdown().await;
}

/// qemu-server `$update_vm_api`: on a stopped VM every write ends in `vmconfig_apply_pending`
/// over the whole pending section, not just the keys it named. (A guest that powers itself off
/// keeps its pending section, which is how a stopped VM has one: the state file stands in here.)
#[tokio::test]
async fn a_write_to_a_stopped_vm_applies_everything_pending() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let api = Api::start(SimOptions { state_file: Some(state.clone()), ..opts() }).await;
    let vm = running_vm(&api, "100", &[]).await;
    api.ok(Method::PUT, &format!("{vm}/config"), &[("cores", "5")]).await;
    api.sim.shutdown().await;
    // The guest shut itself down: qm cleanup does not apply pending changes.
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    saved["guests"]["100"]["state"] = json!("stopped");
    std::fs::write(&state, saved.to_string()).unwrap();
    let api = Api::start(SimOptions { state_file: Some(state), ..opts() }).await;
    assert_eq!(waiting(&api, &vm).await, ["cores"]);
    api.ok(Method::PUT, &format!("{vm}/config"), &[("description", "touch")]).await;
    assert_eq!(waiting(&api, &vm).await, Vec::<String>::new());
    assert_eq!(api.get(&format!("{vm}/config?current=1")).await["cores"], 5);
    api.sim.shutdown().await;
}
