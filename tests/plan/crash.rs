//! Crash safety: pmx is SIGKILLed at many moments of an apply (creates, clones, updates and
//! deletes); the next apply settles what was half done and converges, with no duplicate
//! guests, no untracked guests, no leaked reservations and no open intents.

use std::time::Duration;

use pmx::state::{StateLocation, Store};

use super::support::*;

fn config(web_cores: u32, with_extra: bool) -> String {
    let mut c = format!(
        r#"
provider "proxmox" {{}}

data "template" "debian" {{
  name = "debian-12-cloud"
}}

resource "pool" "crash" {{
  id = "crash"
}}

resource "vm" "web" {{
  count = 3
  node  = "pve${{count.index + 1}}"
  name  = "web-${{count.index}}"
  pool  = pool.crash.id

  clone {{
    source = data.template.debian.vmid
  }}

  cpu {{
    cores = {web_cores}
  }}
}}

resource "container" "ct" {{
  node       = "pve2"
  hostname   = "ct-0"
  ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"

  rootfs {{
    storage = "local-lvm"
    size    = "4G"
  }}
}}
"#
    );
    if with_extra {
        c.push_str(
            r#"
resource "vm" "extra" {
  node = "pve1"
  name = "extra"

  clone {
    source = data.template.debian.vmid
  }
}
"#,
        );
    }
    c
}

const NAMES: &[&str] = &["web-0", "web-1", "web-2", "ct-0"];

/// Kills `pmx apply --auto-approve` after `delay`; says whether it was still running, and how
/// many intents it left open.
fn killed_apply(h: &Harness, delay: Duration) -> (bool, usize) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PMX_") {
            cmd.env_remove(&key);
        }
    }
    let mut child = cmd
        .arg("-C")
        .arg(h.dir.path())
        .args(["apply", "--auto-approve", "--parallelism", "4"])
        .env("PMX_ENDPOINT", &h.sim.base_url)
        .env("PMX_TOKEN_ID", &h.sim.token_id)
        .env("PMX_TOKEN_SECRET", &h.sim.token_secret)
        .env("PMX_FINGERPRINT", &h.sim.fingerprint)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn pmx");
    std::thread::sleep(delay);
    let running = child.try_wait().ok().flatten().is_none();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let open = Store::open(&StateLocation::Sqlite(h.path(".pmx/state.db")), "default")
        .ok()
        .and_then(|mut s| s.open_intents().ok())
        .map_or(0, |i| i.len());
    (running, open)
}

/// The cluster and state agree, and nothing is left half done.
fn assert_converged(h: &Harness, names: &[&str], when: &str) {
    let c = h.client();
    let guests = h.runtime.block_on(c.cluster_resources(Some("vm"))).unwrap();
    for n in names {
        let count = guests.iter().filter(|g| g.name.as_deref() == Some(*n)).count();
        assert_eq!(count, 1, "{when}: {count} guests named {n}");
    }
    let mut store = Store::open(&StateLocation::Sqlite(h.path(".pmx/state.db")), "default").unwrap();
    let tracked: Vec<u32> = store.find_all(None).unwrap().iter().filter_map(|s| s.identity.vmid).collect();
    for g in guests.iter().filter(|g| g.template != Some(true)) {
        assert!(tracked.contains(&g.vmid.unwrap()), "{when}: guest {:?} ({:?}) is not tracked", g.name, g.vmid);
    }
    assert!(store.open_intents().unwrap().is_empty(), "{when}: open intents left");
    assert!(store.vmid_reservations("proxmox").unwrap().is_empty(), "{when}: reservations leaked");
    drop(store);
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

/// Converges after a kill: at most two applies (the first settles and finishes what it can).
fn converge(h: &Harness) {
    let first = h.pmx(&["apply", "--auto-approve"]);
    if !first.status.success() {
        h.expect(&["apply", "--auto-approve"], 0);
    }
}

#[test]
fn sigkill_at_any_moment_of_an_apply_is_recovered() {
    let mut points = 0;
    let mut mid_apply = 0;
    let mut half_done = 0;
    for step in 0..12u64 {
        let mut options = sim_options();
        options.task_duration = Duration::from_millis(300);
        let h = Harness::with(options);
        // Creates and clones.
        h.write("main.pmx", &config(1, true));
        let (running, open) = killed_apply(&h, Duration::from_millis(40 + step * 90));
        points += 1;
        mid_apply += usize::from(running);
        half_done += usize::from(open > 0);
        converge(&h);
        let mut all = NAMES.to_vec();
        all.push("extra");
        assert_converged(&h, &all, &format!("creates, kill at step {step}"));
        // Updates (cores on running guests: config and reboot) and a delete.
        h.write("main.pmx", &config(2, false));
        let (running, open) = killed_apply(&h, Duration::from_millis(30 + step * 60));
        points += 1;
        mid_apply += usize::from(running);
        half_done += usize::from(open > 0);
        converge(&h);
        assert_converged(&h, NAMES, &format!("updates and deletes, kill at step {step}"));
        assert_eq!(h.guests_named("extra"), 0);
    }
    assert!(points >= 20);
    // The kills land while pmx works, and many leave a write half done for recovery to settle.
    assert!(mid_apply >= 20, "only {mid_apply} of {points} kills hit a running apply");
    assert!(half_done >= 8, "only {half_done} kills left an intent open");
}

#[test]
fn ctrl_c_starts_nothing_new_waits_for_running_changes_and_records_them() {
    let mut options = sim_options();
    options.task_duration = Duration::from_millis(400);
    let h = Harness::with(options);
    h.write("main.pmx", &config(1, true));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PMX_") {
            cmd.env_remove(&key);
        }
    }
    let child = cmd
        .arg("-C")
        .arg(h.dir.path())
        .args(["apply", "--auto-approve", "--parallelism", "2"])
        .env("PMX_ENDPOINT", &h.sim.base_url)
        .env("PMX_TOKEN_ID", &h.sim.token_id)
        .env("PMX_TOKEN_SECRET", &h.sim.token_secret)
        .env("PMX_FINGERPRINT", &h.sim.fingerprint)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "an interrupted apply fails: {}", stdout(&out));
    assert!(stderr(&out).contains("Interrupt received"), "{}", stderr(&out));
    assert!(stdout(&out).contains("interrupted"), "{}", stdout(&out));
    // What ran was waited for and recorded: nothing is left open, and the run says it failed.
    let mut store = Store::open(&StateLocation::Sqlite(h.path(".pmx/state.db")), "default").unwrap();
    assert!(store.open_intents().unwrap().is_empty(), "running changes were finished and recorded");
    let runs = store.runs(5).unwrap();
    assert!(runs.iter().any(|r| r.outcome == pmx::state::RunOutcome::Failed), "the run is marked failed");
    drop(store);
    let plan = h.plan_json(&[]);
    assert!(!actions(&plan).is_empty(), "work was left for the next apply");
    h.expect(&["apply", "--auto-approve"], 0);
    let mut all = NAMES.to_vec();
    all.push("extra");
    assert_converged(&h, &all, "after Ctrl-C");
}

/// A pmx killed between reserving a vmid and writing the intent for it leaves a reservation no
/// intent names: the next plan frees it (the crash test above hits this moment only sometimes).
#[test]
fn a_reservation_no_intent_names_is_freed_by_the_next_plan() {
    let h = Harness::new();
    h.write("main.pmx", &config(1, true));
    h.expect(&["plan"], 0); // creates the state store
    {
        let mut store = Store::open(&StateLocation::Sqlite(h.path(".pmx/state.db")), "default").unwrap();
        let v =
            store.reserve_vmid("proxmox", &"vm.web".parse().unwrap(), 4242..4243, Duration::from_secs(3600)).unwrap();
        assert_eq!(v, 4242);
    }
    let out = h.expect(&["plan"], 0);
    assert!(stderr(&out).contains("vmid 4242 on proxmox was reserved by an interrupted apply"), "{}", stderr(&out));
    let mut store = Store::open(&StateLocation::Sqlite(h.path(".pmx/state.db")), "default").unwrap();
    assert!(store.vmid_reservations("proxmox").unwrap().is_empty());
}
