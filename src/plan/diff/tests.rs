use super::*;
use crate::config::model::Lifecycle;
use crate::schema::registry;
use serde_json::json;

fn run(desired: Json, live: Json, running: bool, managed: &[&str]) -> DiffOutcome {
    let rt = registry().resource("vm").unwrap();
    let managed: Vec<String> = managed.iter().map(|s| s.to_string()).collect();
    let lifecycle = Lifecycle::default();
    let secrets = Map::new();
    diff(&DiffInput {
        rt,
        desired: desired.as_object().unwrap(),
        unknown: &json!({}),
        sensitive: &json!({}),
        live: live.as_object().unwrap(),
        prior_managed: &managed,
        prior_secrets: &secrets,
        running,
        lifecycle: &lifecycle,
    })
}

#[test]
fn equal_values_in_pve_forms_and_unset_attributes_are_not_changes() {
    let out = run(
        json!({"node": "pve1", "tags": ["B", "a"], "cpu": {"cores": 2}, "disk": {"scsi0": {"storage": "local-lvm", "size": "8192M"}}, "onboot": false}),
        json!({"node": "pve1", "tags": ["a", "b"], "cpu": {"cores": 2, "sockets": 1}, "disk": {"scsi0": {"storage": "local-lvm", "size": "8G", "discard": true}, "scsi1": {"size": "2G"}}, "serial": {"serial0": {"device": "socket"}}}),
        true,
        &[],
    );
    assert!(out.changes.is_empty(), "{:#?}", out.changes);
}

#[test]
fn impacts_follow_update_modes_hotplug_and_power_state() {
    let live = json!({"node": "pve1", "cpu": {"cores": 1}, "memory": {"size": 1024}, "network": {"net0": {"bridge": "vmbr0", "model": "virtio"}}});
    let out = run(json!({"cpu": {"cores": 2}}), live.clone(), true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Reboot, "cores wait for a reboot on a running guest");
    let out = run(json!({"cpu": {"cores": 2}}), live.clone(), false, &[]);
    assert_eq!(out.changes[0].impact, Impact::None, "a stopped guest takes it at once");
    let out = run(json!({"network": {"net0": {"bridge": "vmbr1"}}}), live.clone(), true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Live, "network is hot-plugged by default");
    let mut no_net = live.clone();
    no_net["hotplug"] = json!(["disk"]);
    let out = run(json!({"network": {"net0": {"bridge": "vmbr1"}}}), no_net, true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Reboot, "without network hot-plug a NIC change waits");
    let out = run(json!({"memory": {"size": 2048}}), live.clone(), true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Reboot, "memory needs `memory` in hotplug");
    let out = run(json!({"vmid": 200}), json!({"vmid": 101}), true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Replace);
    assert_eq!(out.replace_paths, vec![vec!["vmid".to_string()]]);
    let out = run(json!({"disk": {"sata1": {"storage": "local-lvm", "size": "4G"}}}), live.clone(), true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Reboot, "a new sata disk waits for the next boot");
    let out = run(json!({"disk": {"scsi1": {"storage": "local-lvm", "size": "4G"}}}), live.clone(), true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Live, "a new scsi disk is hot-plugged");
    let out = run(json!({"started": false}), json!({"started": true}), true, &[]);
    assert_eq!(out.changes[0].impact, Impact::Stop);
}

#[test]
fn removed_configuration_is_reset_and_shrinks_are_refused() {
    let out = run(json!({}), json!({"onboot": true, "tags": ["a"]}), true, &["onboot", "tags"]);
    let paths: Vec<String> = out.changes.iter().map(|c| c.dotted()).collect();
    assert_eq!(paths, vec!["tags".to_string(), "onboot".to_string()]);
    let onboot = out.changes.iter().find(|c| c.dotted() == "onboot").unwrap();
    assert_eq!(onboot.after, Some(json!(false)), "back to the schema default");
    let tags = out.changes.iter().find(|c| c.dotted() == "tags").unwrap();
    assert_eq!(tags.after, None, "no default: the key is deleted");

    let out = run(json!({"disk": {"scsi0": {"size": "4G"}}}), json!({"disk": {"scsi0": {"size": "8G"}}}), true, &[]);
    assert_eq!(out.problems.len(), 1, "{:?}", out.problems);
    let out = run(json!({"disk": {"scsi0": {"size": "16G"}}}), json!({"disk": {"scsi0": {"size": "8G"}}}), true, &[]);
    assert_eq!(out.changes[0].via, Via::Resize);
    assert!(out.problems.is_empty());

    let out = run(
        json!({"disk": {}}),
        json!({"disk": {"scsi0": {"size": "8G"}, "scsi1": {"size": "2G"}}}),
        true,
        &["disk.scsi1"],
    );
    assert_eq!(out.changes.len(), 1, "only the slot pmx managed is removed, not the template's");
    assert_eq!(out.changes[0].dotted(), "disk.scsi1");
}
