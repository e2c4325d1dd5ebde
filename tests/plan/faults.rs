//! Apply against a cluster that misbehaves: injected 500s, connection resets, failed tasks and
//! lock contention; two applies at once; a guest edited between plan and apply.

use std::time::Duration;

use pmx::proxmox::{GuestKind, Params};
use pmx::sim::{FaultConfig, SimOptions};

use super::support::*;

fn many_vms(n: usize, cores: u32) -> String {
    format!(
        r#"
provider "proxmox" {{}}

data "template" "debian" {{
  name = "debian-12-cloud"
}}

resource "vm" "app" {{
  count = {n}
  node  = "pve1"
  name  = "app-${{count.index}}"

  clone {{
    source = data.template.debian.vmid
  }}

  cpu {{
    cores = {cores}
  }}
}}
"#
    )
}

/// A simulator that keeps its cluster in `file`, with `faults`.
fn sim_with(file: &std::path::Path, faults: FaultConfig, seed: u64) -> SimOptions {
    SimOptions {
        state_file: Some(file.to_path_buf()),
        token: Some("root@pam!pmx=5f6c7e1a-0000-4000-8000-000000000001".into()),
        faults,
        seed,
        ..sim_options()
    }
}

#[test]
fn injected_faults_leave_a_true_state_and_one_reapply_converges() {
    let cluster = tempfile::tempdir().unwrap();
    let file = cluster.path().join("cluster.json");
    let faults = FaultConfig {
        error_rate: 0.05,
        reset_rate: 0.03,
        task_failure_rate: 0.08,
        lock_contention_rate: 0.08,
        ..FaultConfig::default()
    };
    let mut h = Harness::with(sim_with(&file, faults, 7));
    h.write("main.pmx", &many_vms(12, 2));
    let first = h.pmx(&["apply", "--auto-approve", "--parallelism", "8"]);
    let out = stdout(&first);
    // Whatever failed is named with what Proxmox said; the rest went on.
    if !first.status.success() {
        assert!(out.contains("Apply incomplete.") && out.contains("Error: vm.app["), "{out}");
    }
    // The cluster recovers; one more apply finishes the job.
    let sim = std::mem::replace(&mut h.sim, h.runtime.block_on(pmx::sim::start(sim_options())).unwrap());
    h.runtime.block_on(sim.shutdown());
    let healthy = h.runtime.block_on(pmx::sim::start(sim_with(&file, FaultConfig::default(), 7))).unwrap();
    let spare = std::mem::replace(&mut h.sim, healthy);
    h.runtime.block_on(spare.shutdown());
    h.expect(&["apply", "--auto-approve"], 0);
    h.expect(&["plan", "--detailed-exitcode"], 0);
    for i in 0..12 {
        assert_eq!(h.guests_named(&format!("app-{i}")), 1, "app-{i} exactly once");
    }
}

#[test]
fn lock_contention_at_parallelism_32_fails_no_change() {
    let options = SimOptions {
        faults: FaultConfig { lock_contention_rate: 0.25, ..FaultConfig::default() },
        lock_timeout: Duration::from_millis(50),
        seed: 3,
        ..sim_options()
    };
    let h = Harness::with(options);
    h.write("main.pmx", &many_vms(24, 2));
    let out = h.expect(&["apply", "--auto-approve", "--parallelism", "32"], 0);
    assert!(stdout(&out).contains("Apply complete! Resources: 24 added"), "{}", stdout(&out));
    h.write("main.pmx", &many_vms(24, 3));
    h.expect(&["apply", "--auto-approve", "--parallelism", "32"], 0);
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

#[test]
fn a_guest_edited_after_the_plan_is_refused_by_its_digest_and_named() {
    let h = Harness::new();
    h.write("main.pmx", &many_vms(1, 2));
    h.plan_and_apply();
    h.write("main.pmx", &many_vms(1, 3));
    h.expect(&["plan", "--out", "plan.out"], 0);
    let (vmid, node) = h.guest("app-0").unwrap();
    let c = h.client();
    h.runtime
        .block_on(c.set_config(&node, &GuestKind::Qemu, vmid, &Params::new().set("onboot", 1), None, &[]))
        .unwrap();
    let out = h.expect(&["apply", "plan.out"], 1);
    let text = flat(&stdout(&out));
    assert!(text.contains("vm.app[0] was changed by someone else since the plan"), "{text}");
    let cores = h.runtime.block_on(c.guest_config(&node, &GuestKind::Qemu, vmid)).unwrap();
    assert_eq!(
        cores["cores"].as_i64().or_else(|| cores["cores"].as_str().and_then(|s| s.parse().ok())),
        Some(2),
        "not overwritten"
    );
    // A new plan sees the edit and applies over it knowingly.
    h.plan_and_apply();
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

fn two_applies_at_once(h: &Harness, state: &[&str]) {
    let mut slow = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PMX_") {
            slow.env_remove(&key);
        }
    }
    let first = slow
        .arg("-C")
        .arg(h.dir.path())
        .args(["apply", "--auto-approve"])
        .args(state)
        .env("PMX_ENDPOINT", &h.sim.base_url)
        .env("PMX_TOKEN_ID", &h.sim.token_id)
        .env("PMX_TOKEN_SECRET", &h.sim.token_secret)
        .env("PMX_FINGERPRINT", &h.sim.fingerprint)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let mut args = vec!["apply", "--auto-approve"];
    args.extend_from_slice(state);
    let second = h.pmx(&args);
    let first_done = first.wait_with_output().unwrap();
    assert!(first_done.status.success(), "the first apply finished: {}", stderr(&first_done));
    assert_eq!(second.status.code(), Some(1), "the second is refused: {}", stdout(&second));
    let err = flat(&stderr(&second));
    assert!(err.contains("is locked by") && err.contains("pmx apply"), "names the holder: {err}");
    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend_from_slice(state);
    h.expect(&args, 0);
    assert_eq!(h.guests_named("app-0"), 1);
}

#[test]
fn two_applies_at_once_on_sqlite_one_is_refused_with_the_holder_named() {
    let mut options = sim_options();
    options.task_duration = Duration::from_millis(400);
    let h = Harness::with(options);
    h.write("main.pmx", &many_vms(3, 2));
    two_applies_at_once(&h, &[]);
}

#[test]
fn two_applies_at_once_on_postgresql_one_is_refused_with_the_holder_named() {
    let Some(db) = super::pg::postgres() else { return };
    let mut options = sim_options();
    options.task_duration = Duration::from_millis(400);
    let h = Harness::with(options);
    h.write("main.pmx", &many_vms(3, 2));
    two_applies_at_once(&h, &["--state", &db.url]);
}

#[test]
fn max_disruptions_reboots_one_guest_at_a_time() {
    reboots_do_not_overlap(&many_vms(3, 1), &many_vms(3, 2), &["--max-disruptions", "1"]);
}

/// The same budget set on the resource block instead of the command line.
#[test]
fn a_resource_blocks_max_disruptions_reboots_its_instances_one_at_a_time() {
    let budget =
        |cores: u32| many_vms(3, cores).replace("  cpu {", "  lifecycle {\n    max_disruptions = 1\n  }\n\n  cpu {");
    reboots_do_not_overlap(&budget(1), &budget(2), &[]);
}

/// Applies `first`, then `second` (which reboots three running guests) with `flags`, and checks
/// that no two reboot tasks overlapped.
fn reboots_do_not_overlap(first: &str, second: &str, flags: &[&str]) {
    let mut options = sim_options();
    options.task_duration = Duration::from_millis(1200);
    let h = Harness::with(options);
    h.write("main.pmx", first);
    h.expect(&["apply", "--auto-approve", "--parallelism", "3"], 0);
    h.write("main.pmx", second);
    let plan = h.plan_json(&[]);
    assert_eq!(plan["pmx"]["counts"]["reboot"], 3, "three running guests wait for a reboot");
    // Without a budget the three reboots run side by side (checked by hand: they overlap).
    let mut args = vec!["apply", "--auto-approve", "--parallelism", "3"];
    args.extend_from_slice(flags);
    h.expect(&args, 0);
    h.expect(&["plan", "--detailed-exitcode"], 0);
    let c = h.client();
    let tasks: Vec<serde_json::Value> =
        h.runtime.block_on(c.get("/nodes/pve1/tasks", &Params::new().set("limit", 500))).unwrap();
    let mut reboots: Vec<(i64, i64)> = tasks
        .iter()
        .filter(|t| t["type"] == "qmreboot")
        .map(|t| (t["starttime"].as_i64().unwrap(), t["endtime"].as_i64().unwrap_or(i64::MAX)))
        .collect();
    reboots.sort();
    assert_eq!(reboots.len(), 3, "{tasks:?}");
    for pair in reboots.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "reboots overlapped: {reboots:?}");
    }
}
