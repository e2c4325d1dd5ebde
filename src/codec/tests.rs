use super::*;
use crate::schema::registry;
use serde_json::json;

fn vm() -> &'static ResourceType {
    registry().resource("vm").unwrap()
}

fn guest(config: serde_json::Value) -> LiveGuest {
    LiveGuest {
        node: "pve1".into(),
        vmid: 101,
        pool: None,
        running: true,
        template: false,
        config: config.as_object().unwrap().clone(),
    }
}

#[test]
fn decodes_property_strings_flags_and_slots_into_the_schema_shape() {
    let g = guest(json!({
        "cores": 2, "memory": "2048", "agent": "1", "tags": "web;db", "boot": "order=scsi0;net0",
        "cpu": "host", "net0": "virtio=bc:24:11:2c:6f:7f,bridge=vmbr0,tag=20",
        "scsi0": "local-lvm:vm-101-disk-0,discard=on,size=8G",
        "ide2": "local-lvm:vm-101-cloudinit,media=cdrom", "ide0": "local:iso/x.iso,media=cdrom",
        "sshkeys": "ssh-ed25519%20AAAA%20me%0Assh-rsa%20BBBB%20you", "cipassword": "**********",
        "ipconfig0": "ip=dhcp",
    }));
    let d = decode(vm(), &g);
    assert_eq!(d["cpu"]["cores"], json!(2));
    assert_eq!(d["cpu"]["type"], json!("host"));
    assert_eq!(d["memory"]["size"], json!(2048));
    assert_eq!(d["agent"], json!(true));
    assert_eq!(d["tags"], json!(["web", "db"]));
    assert_eq!(d["boot"], json!(["scsi0", "net0"]));
    assert_eq!(
        d["network"]["net0"],
        json!({"model": "virtio", "bridge": "vmbr0", "tag": 20, "mac": "BC:24:11:2C:6F:7F"})
    );
    assert_eq!(d["disk"]["scsi0"], json!({"storage": "local-lvm", "size": "8G", "format": "raw", "discard": true}));
    assert_eq!(d["disk"].as_object().unwrap().len(), 1, "CD-ROMs and the cloud-init drive are not disks");
    assert_eq!(d["cdrom"]["ide0"]["iso"], json!("local:iso/x.iso"));
    assert_eq!(d["cloud_init"]["ssh_keys"], json!(["ssh-ed25519 AAAA me", "ssh-rsa BBBB you"]));
    assert!(d["cloud_init"].get("password").is_none(), "write-only values are never decoded");
    assert_eq!(d["cloud_init"]["ipconfig0"], json!("ip=dhcp"));
    assert_eq!(d["started"], json!(true));
}

#[test]
fn canonical_forms_hide_pve_rewrites() {
    let vm = vm();
    let disk = vm.block("disk").unwrap();
    let size = disk.attribute("size").unwrap();
    assert!(same(size, &json!("32G"), &json!("32768M")));
    assert!(same(size, &json!("8"), &json!("8G")), "a size without a unit is GiB");
    assert!(!same(size, &json!("8G"), &json!("9G")));
    let tags = vm.attribute("tags").unwrap();
    assert!(same(tags, &json!(["b", "A"]), &json!(["a", "b"])));
    let hotplug = vm.attribute("hotplug").unwrap();
    assert!(same(hotplug, &json!(["disk", "network"]), &json!(["network", "disk"])));
    let boot = vm.attribute("boot").unwrap();
    assert!(!same(boot, &json!(["net0", "scsi0"]), &json!(["scsi0", "net0"])), "boot order matters");
    let mac = vm.block("network").unwrap().attribute("mac").unwrap();
    assert!(same(mac, &json!("bc:24:11:00:00:01"), &json!("BC:24:11:00:00:01")));
    let onboot = vm.attribute("onboot").unwrap();
    assert!(same(onboot, &json!(true), &json!("1")));
}

#[test]
fn encodes_a_new_guest_and_an_update_that_keeps_unmanaged_keys() {
    let desired = json!({
        "node": "pve1", "name": "web", "tags": ["b", "a"], "onboot": true,
        "cpu": {"cores": 2, "type": "host"}, "memory": {"size": 1024},
        "disk": {"scsi0": {"storage": "local-lvm", "size": "8G", "discard": true}},
        "network": {"net0": {"bridge": "vmbr0", "model": "virtio"}},
        "cloud_init": {"user": "debian", "ssh_keys": ["ssh-ed25519 AAAA me"]},
    });
    let e = encode_create(vm(), desired.as_object().unwrap());
    let get = |k: &str| e.params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    assert_eq!(get("name").as_deref(), Some("web"));
    assert_eq!(get("tags").as_deref(), Some("b;a"));
    assert_eq!(get("onboot").as_deref(), Some("1"));
    assert_eq!(get("cores").as_deref(), Some("2"));
    assert_eq!(get("cpu").as_deref(), Some("host"));
    assert_eq!(get("memory").as_deref(), Some("1024"));
    assert_eq!(get("scsi0").as_deref(), Some("local-lvm:8,discard=on"), "discard is on/ignore in PVE");
    assert_eq!(get("net0").as_deref(), Some("model=virtio,bridge=vmbr0"));
    assert_eq!(get("ide2").as_deref(), Some("local-lvm:cloudinit"));
    assert_eq!(get("sshkeys").as_deref(), Some("ssh-ed25519%20AAAA%20me"));
    assert!(get("node").is_none() && get("started").is_none());

    let live = json!({"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", "scsi0": "local-lvm:vm-101-disk-0,size=8G", "tags": "x"});
    let desired = json!({"network": {"net0": {"bridge": "vmbr1"}}, "disk": {"scsi0": {"cache": "writeback"}}});
    let changed = vec![
        vec!["network".into(), "net0".into(), "bridge".into()],
        vec!["disk".into(), "scsi0".into(), "cache".into()],
        vec!["tags".into()],
    ];
    let e = encode_update(vm(), desired.as_object().unwrap(), live.as_object().unwrap(), &changed);
    let get = |k: &str| e.params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
    assert_eq!(get("net0").as_deref(), Some("virtio=BC:24:11:00:00:01,bridge=vmbr1,firewall=1"), "the MAC is kept");
    assert_eq!(get("scsi0").as_deref(), Some("local-lvm:vm-101-disk-0,size=8G,cache=writeback"));
    assert_eq!(e.delete, vec!["tags".to_string()], "an attribute no longer set is deleted");
}
