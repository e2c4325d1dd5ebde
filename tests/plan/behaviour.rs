//! What a plan says about a cluster that moved under it, and the flags that shape a plan.

use pmx::proxmox::{GuestKind, Params};
use serde_json::json;

use super::support::*;

const ONE_VM: &str = r#"
provider "proxmox" {}

data "template" "debian" {
  name = "debian-12-cloud"
}

resource "pool" "app" {
  id = "app"
}

resource "vm" "web" {
  node = "pve1"
  name = "web"
  pool = pool.app.id

  clone {
    source = data.template.debian.vmid
  }

  cpu {
    cores = 2
  }

  network "net0" {
    bridge = "vmbr0"
  }
}
"#;

fn applied(config: &str) -> Harness {
    let h = Harness::new();
    h.write("main.pmx", config);
    h.plan_and_apply();
    h.expect(&["plan", "--detailed-exitcode"], 0);
    h
}

#[test]
fn drift_is_shown_and_planned_back_with_its_impact() {
    let h = applied(ONE_VM);
    let (vmid, node) = h.guest("web").unwrap();
    let c = h.client();
    h.runtime
        .block_on(c.set_config(
            &node,
            &GuestKind::Qemu,
            vmid,
            &Params::new().set("cores", 4).set("tags", "x"),
            None,
            &[],
        ))
        .unwrap();
    let plan = h.plan_json(&[]);
    assert_eq!(actions(&plan), vec![("vm.web".to_string(), "update".to_string())]);
    let web = change(&plan, "vm.web");
    assert_eq!(web["pmx"]["impact"], "reboot", "cores on a running VM wait for a reboot: {web:#}");
    let drift = plan["resource_drift"].as_array().unwrap();
    assert_eq!(drift[0]["address"], "vm.web");
    // The tags were never managed: drift, but not planned away.
    let paths: Vec<String> = web["pmx"]["changes"].as_array().unwrap().iter().map(|c| c["path"].to_string()).collect();
    assert_eq!(paths, vec![json!(["cpu", "cores"]).to_string()]);
    // The CI gate.
    let gated = h.expect(&["plan", "--fail-on", "reboot"], 1);
    assert!(stderr(&gated).contains("--fail-on reboot"), "{}", stderr(&gated));
    h.expect(&["plan", "--fail-on", "replace,destroy"], 0);
    h.expect(&["plan", "--detailed-exitcode"], 2);
    h.plan_and_apply();
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

#[test]
fn a_guest_deleted_outside_pmx_is_planned_again_with_a_note() {
    let h = applied(ONE_VM);
    let (vmid, node) = h.guest("web").unwrap();
    let c = h.client();
    h.runtime.block_on(async {
        let up = c.stop(&node, &GuestKind::Qemu, vmid).await.unwrap();
        c.wait(&up).await.unwrap();
        let up = c.delete_guest(&node, &GuestKind::Qemu, vmid, true).await.unwrap();
        c.wait(&up).await.unwrap();
    });
    let plan = h.plan_json(&[]);
    let web = change(&plan, "vm.web");
    assert_eq!(web["pmx"]["action"], "create");
    assert_eq!(web["action_reason"], "recreate_because_gone");
    let human = h.expect(&["plan"], 0);
    assert!(stdout(&human).contains("deleted outside pmx"), "{}", stdout(&human));
    h.plan_and_apply();
    assert_eq!(h.guests_named("web"), 1);
}

#[test]
fn a_guest_moved_to_another_node_is_found_and_migrated_back_not_recreated() {
    let h = applied(ONE_VM);
    let (vmid, node) = h.guest("web").unwrap();
    let c = h.client();
    h.runtime.block_on(async {
        let up = c.stop(&node, &GuestKind::Qemu, vmid).await.unwrap();
        c.wait(&up).await.unwrap();
        let up = c.migrate_offline_with_local_disks(&node, vmid, "pve2").await.unwrap();
        c.wait(&up).await.unwrap();
    });
    let plan = h.plan_json(&[]);
    let web = change(&plan, "vm.web");
    assert_eq!(web["pmx"]["action"], "update", "{web:#}");
    let vias: Vec<&str> =
        web["pmx"]["changes"].as_array().unwrap().iter().map(|c| c["via"].as_str().unwrap()).collect();
    assert!(vias.contains(&"migrate"), "{vias:?}");
    h.plan_and_apply();
    assert_eq!(h.guest("web").unwrap(), (vmid, "pve1".to_string()), "same guest, back on pve1");
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

#[test]
fn a_reused_vmid_is_reported_never_adopted() {
    let h = applied(ONE_VM);
    let (vmid, node) = h.guest("web").unwrap();
    let c = h.client();
    h.runtime.block_on(async {
        let up = c.stop(&node, &GuestKind::Qemu, vmid).await.unwrap();
        c.wait(&up).await.unwrap();
        let up = c.delete_guest(&node, &GuestKind::Qemu, vmid, true).await.unwrap();
        c.wait(&up).await.unwrap();
        let up =
            c.create_guest("pve1", &GuestKind::Qemu, vmid, &Params::new().set("name", "someone-else")).await.unwrap();
        c.wait(&up).await.unwrap();
    });
    let out = h.expect(&["plan"], 1);
    let err = flat(&stderr(&out));
    assert!(err.contains(&format!("vmid {vmid}")) && err.contains("someone-else"), "{err}");
    assert!(err.contains("pmx state rm vm.web"), "{err}");
}

#[test]
fn prevent_destroy_refuses_a_plan_that_would_destroy() {
    let config = ONE_VM.replace(
        "  cpu {\n    cores = 2\n  }",
        "  cpu {\n    cores = 2\n  }\n\n  lifecycle {\n    prevent_destroy = true\n  }",
    );
    let h = applied(&config);
    let out = h.expect(&["plan", "--destroy"], 1);
    assert!(flat(&stderr(&out)).contains("vm.web has lifecycle.prevent_destroy"), "{}", stderr(&out));
    // A replacement is refused too.
    let out = h.expect(&["plan", "--replace", "vm.web"], 1);
    assert!(stderr(&out).contains("prevent_destroy"), "{}", stderr(&out));
    // The pool alone may go.
    let plan = h.plan_json(&["--destroy", "--target", "pool.app"]);
    assert_eq!(actions(&plan), vec![("pool.app".to_string(), "delete".to_string())]);
}

#[test]
fn target_and_replace_shape_the_plan_and_unknown_addresses_get_a_suggestion() {
    let h = Harness::new();
    h.write("main.pmx", ONE_VM);
    let plan = h.plan_json(&["--target", "pool.app"]);
    assert_eq!(actions(&plan), vec![("pool.app".to_string(), "create".to_string())]);
    let plan = h.plan_json(&["--target", "vm.web"]);
    let acts = actions(&plan);
    assert!(acts.contains(&("pool.app".to_string(), "create".to_string())), "what it depends on comes along: {acts:?}");
    let out = h.expect(&["plan", "--target", "vm.wbe"], 1);
    assert!(flat(&stderr(&out)).contains("did you mean \"vm.web\""), "{}", stderr(&out));
    h.plan_and_apply();
    let plan = h.plan_json(&["--replace", "vm.web"]);
    let web = change(&plan, "vm.web");
    assert_eq!(web["change"]["actions"], json!(["delete", "create"]));
    assert_eq!(web["action_reason"], "replace_by_request");
    h.expect(&["plan", "--out", "r.out", "--replace", "vm.web"], 0);
    h.expect(&["apply", "r.out"], 0);
    assert_eq!(h.guests_named("web"), 1, "replaced, not duplicated");
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

#[test]
fn destroy_removes_what_pmx_manages_and_nothing_else() {
    let h = applied(ONE_VM);
    let out = h.expect(&["destroy"], 1);
    assert!(stderr(&out).contains("--auto-approve"), "refuses without a terminal: {}", stderr(&out));
    h.expect(&["destroy", "--auto-approve"], 0);
    assert_eq!(h.guests_named("web"), 0);
    assert_eq!(h.guests_named("debian-12-cloud"), 1, "the template pmx only reads is left alone");
    let plan = h.plan_json(&[]);
    assert_eq!(actions(&plan).len(), 2, "everything is to create again");
}

#[test]
fn bad_inputs_are_clear_errors_and_write_nothing() {
    let h = Harness::new();
    h.write("main.pmx", &ONE_VM.replace("debian-12-cloud", "debian-13-cloud"));
    let out = h.expect(&["plan"], 1);
    let err = flat(&stderr(&out));
    assert!(err.contains("no template named \"debian-13-cloud\"") && err.contains("12-cloud (9000)"), "{err}");
    assert!(err.contains("main.pmx"), "points at the block: {err}");

    h.write("main.pmx", &ONE_VM.replace("cores = 2", "cores = \"many\""));
    let out = h.expect(&["plan"], 1);
    assert!(stderr(&out).contains("main.pmx"), "{}", stderr(&out));

    h.write("main.pmx", "variable \"n\" {\n  type = number\n}\n");
    let out = h.expect(&["plan"], 1);
    assert!(stderr(&out).contains("\"n\""), "{}", stderr(&out));

    h.write("main.pmx", ONE_VM);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"))
        .arg("-C")
        .arg(h.dir.path())
        .arg("plan")
        .env("PMX_ENDPOINT", &h.sim.base_url)
        .env("PMX_TOKEN_ID", &h.sim.token_id)
        .env("PMX_TOKEN_SECRET", "00000000-0000-0000-0000-000000000000")
        .env("PMX_FINGERPRINT", &h.sim.fingerprint)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("401"), "wrong credentials say so: {}", stderr(&out));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"))
        .arg("-C")
        .arg(h.dir.path())
        .arg("plan")
        .env("PMX_ENDPOINT", "https://127.0.0.1:9")
        .env("PMX_TOKEN_ID", &h.sim.token_id)
        .env("PMX_TOKEN_SECRET", &h.sim.token_secret)
        .env("PMX_FINGERPRINT", &h.sim.fingerprint)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("cannot read the cluster at https://127.0.0.1:9"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&h.sim.token_secret));
    // Nothing was recorded by any of these plans.
    let out = h.expect(&["state", "list"], 0);
    assert_eq!(stdout(&out).trim(), "", "{}", stdout(&out));
}

#[test]
fn rollback_to_a_serial_plans_back_to_what_state_recorded_then() {
    let h = applied(ONE_VM);
    let meta = {
        let mut s =
            pmx::state::Store::open(&pmx::state::StateLocation::Sqlite(h.path(".pmx/state.db")), "default").unwrap();
        s.meta().unwrap()
    };
    let extra = "\nresource \"pool\" \"later\" {\n  id = \"later\"\n}\n";
    h.write("main.pmx", &format!("{}{extra}", ONE_VM.replace("cores = 2", "cores = 4")));
    h.plan_and_apply();
    let plan = h.plan_json(&["--rollback-to", &meta.serial.to_string()]);
    assert_eq!(plan["plan_mode"], "rollback");
    let mut acts = actions(&plan);
    acts.sort();
    assert_eq!(
        acts,
        vec![("pool.later".to_string(), "delete".to_string()), ("vm.web".to_string(), "update".to_string())]
    );
    let web = change(&plan, "vm.web");
    let cores =
        web["pmx"]["changes"].as_array().unwrap().iter().find(|c| c["path"] == json!(["cpu", "cores"])).unwrap();
    assert_eq!((cores["before"].clone(), cores["after"].clone()), (json!(4), json!(2)));
    h.expect(&["plan", "--rollback-to", &meta.serial.to_string(), "--out", "back.out"], 0);
    h.expect(&["apply", "back.out"], 0);
    let (vmid, node) = h.guest("web").unwrap();
    let c = h.client();
    let config = h.runtime.block_on(c.guest_config(&node, &GuestKind::Qemu, vmid)).unwrap();
    assert_eq!(config["cores"].to_string().trim_matches('"'), "2");
    let out = h.expect(&["plan", "--rollback-to", "999"], 1);
    assert!(flat(&stderr(&out)).contains("serials run from 0 to"), "{}", stderr(&out));
}

#[test]
fn moved_blocks_move_state_and_import_blocks_adopt_a_guest() {
    let h = applied(ONE_VM);
    let (vmid, _) = h.guest("web").unwrap();
    let renamed = ONE_VM.replace("resource \"vm\" \"web\"", "resource \"vm\" \"front\"")
        + "\nmoved {\n  from = vm.web\n  to   = vm.front\n}\n";
    h.write("main.pmx", &renamed);
    let plan = h.plan_json(&[]);
    assert_eq!(actions(&plan), vec![("vm.front".to_string(), "move".to_string())]);
    assert_eq!(change(&plan, "vm.front")["previous_address"], "vm.web");
    h.plan_and_apply();
    h.expect(&["plan", "--detailed-exitcode"], 0);
    assert_eq!(h.guest("web").unwrap().0, vmid, "the same guest, not a new one");

    // A guest made by hand, adopted with an import block.
    let c = h.client();
    h.runtime.block_on(async {
        let up =
            c.clone_guest("pve1", &GuestKind::Qemu, 9000, 777, &Params::new().set("name", "legacy")).await.unwrap();
        c.wait(&up).await.unwrap();
    });
    let adopted = format!(
        "{renamed}\nimport {{\n  to = vm.legacy\n  id = \"pve1/qemu/777\"\n}}\n\nresource \"vm\" \"legacy\" {{\n  node = \"pve1\"\n  name = \"legacy\"\n  started = false\n\n  cpu {{\n    cores = 2\n  }}\n}}\n"
    );
    h.write("main.pmx", &adopted);
    let plan = h.plan_json(&[]);
    let legacy = change(&plan, "vm.legacy");
    assert_eq!(legacy["pmx"]["action"], "import", "{legacy:#}");
    assert_eq!(legacy["change"]["importing"]["id"], "pve1/qemu/777");
    h.plan_and_apply();
    h.expect(&["plan", "--detailed-exitcode"], 0);
    assert_eq!(h.guests_named("legacy"), 1);
    let out = h.expect(&["state", "list"], 0);
    assert!(stdout(&out).contains("vm.legacy"), "{}", stdout(&out));
}

#[test]
fn a_removed_block_forgets_a_guest_and_leaves_it_running() {
    let h = applied(ONE_VM);
    let (vmid, _) = h.guest("web").unwrap();
    let without = ONE_VM[..ONE_VM.find("resource \"vm\" \"web\"").unwrap()].to_string()
        + "removed {\n  from = vm.web\n\n  lifecycle {\n    destroy = false\n  }\n}\n";
    h.write("main.pmx", &without);
    let plan = h.plan_json(&[]);
    assert_eq!(actions(&plan), vec![("vm.web".to_string(), "forget".to_string())]);
    let human = h.expect(&["plan", "--detailed-exitcode"], 2);
    assert!(stdout(&human).contains("will be removed from state"), "a forget is a change: {}", stdout(&human));
    h.plan_and_apply();
    assert_eq!(h.guest("web").map(|g| g.0), Some(vmid), "still on the cluster");
    h.expect(&["plan", "--detailed-exitcode"], 0);
    let out = h.expect(&["state", "list"], 0);
    assert!(!stdout(&out).contains("vm.web"), "{}", stdout(&out));
}

#[test]
fn state_runs_shows_each_applys_metrics() {
    let h = applied(ONE_VM);
    let out = h.expect(&["state", "runs", "--json"], 0);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let apply = runs.as_array().unwrap().iter().find(|r| r["kind"] == "apply").expect("an apply run");
    assert_eq!(apply["outcome"], "succeeded");
    let m = &apply["counts"]["counts"];
    assert_eq!(m["added"], 2, "{apply:#}");
    assert!(m["api_calls"].as_u64().unwrap() > 5, "{apply:#}");
    // A clone and a start were waited for; two resources recorded, the VM's snapshot the larger.
    assert!(m["task_wait_ms"].as_u64().is_some_and(|t| t > 0), "{apply:#}");
    assert!(m["lock_wait_ms"].is_u64(), "{apply:#}");
    assert!(m["snapshots"].as_u64().is_some_and(|n| n >= 2), "{apply:#}");
    let (bytes, largest) = (m["snapshot_bytes"].as_u64().unwrap(), m["largest_snapshot_bytes"].as_u64().unwrap());
    assert!(largest > 200 && bytes > largest, "{apply:#}");
    assert!(apply["counts"]["changes"].as_array().unwrap().iter().all(|c| c["elapsed_ms"].is_u64()));
    let table = stdout(&h.expect(&["state", "runs"], 0));
    assert!(table.contains("apply") && table.contains("api_calls="), "{table}");
}

/// `create_before_destroy`: a replacement is built first and the old guest removed after, so a
/// service has a guest at every moment; without it the old one goes first.
#[test]
fn create_before_destroy_builds_the_replacement_first() {
    let config = |vmid: u32, cbd: bool| {
        let lifecycle = if cbd { "\n  lifecycle {\n    create_before_destroy = true\n  }\n" } else { "" };
        format!(
            "provider \"proxmox\" {{}}\n\nresource \"vm\" \"web\" {{\n  node    = \"pve1\"\n  name    = \"web\"\n  vmid    = {vmid}\n  started = false\n\n  cpu {{\n    cores = 1\n  }}\n{lifecycle}}}\n"
        )
    };
    for cbd in [true, false] {
        let h = applied(&config(300, cbd));
        h.write("main.pmx", &config(301, cbd));
        let plan = h.plan_json(&[]);
        let web = change(&plan, "vm.web");
        let expected = if cbd { ["create", "delete"] } else { ["delete", "create"] };
        assert_eq!(web["change"]["actions"], serde_json::json!(expected), "{web:#}");
        let human = stdout(&h.pmx(&["plan"]));
        assert!(human.contains(if cbd { "+/- resource" } else { "-/+ resource" }), "{human}");
        h.expect(&["apply", "--auto-approve"], 0);
        h.expect(&["plan", "--detailed-exitcode"], 0);
        // The order, from the node's task list: 301's creation against 300's destruction.
        let c = h.client();
        let tasks: Vec<serde_json::Value> =
            h.runtime.block_on(c.get("/nodes/pve1/tasks", &Params::new().set("limit", 500))).unwrap();
        let started = |ty: &str, id: &str| {
            tasks
                .iter()
                .filter(|t| t["type"] == ty && t["id"] == id)
                .map(|t| t["upid"].as_str().unwrap_or("").to_string())
                .next()
                .unwrap_or_else(|| panic!("no {ty} task for {id}: {tasks:#?}"))
        };
        // The task list is newest first, as PVE's.
        let position = |upid: &str| tasks.iter().position(|t| t["upid"] == upid).unwrap();
        let created = position(&started("qmcreate", "301"));
        let destroyed = position(&started("qmdestroy", "300"));
        if cbd {
            assert!(created > destroyed, "the replacement is created before the old guest is destroyed: {tasks:#?}");
        } else {
            assert!(created < destroyed, "without create_before_destroy the old guest goes first: {tasks:#?}");
        }
        assert_eq!(h.guests_named("web"), 1);
    }
}
