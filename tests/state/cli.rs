//! `pmx state …` as real processes: output, JSON, errors, and two processes contending for
//! one workspace lock.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pmx::state::*;

use crate::support::{self, addr, vm_attributes, TestDb};

const PMX: &str = env!("CARGO_BIN_EXE_pmx");

fn pmx(db: &TestDb, args: &[&str]) -> Command {
    let mut cmd = Command::new(PMX);
    cmd.arg("-C").arg(db.dir.path()).arg("--no-color").arg("state").arg("--state").arg(&db.url);
    cmd.args(args);
    cmd.env_remove("PMX_STATE_URL").env_remove("PMX_WORKSPACE").env("NO_COLOR", "1");
    cmd
}

fn run(db: &TestDb, args: &[&str]) -> Output {
    pmx(db, args).output().expect("run pmx")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
/// stderr with miette's line wrapping and borders undone, so phrases can be searched.
fn stderr(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stderr).replace('│', " ");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn seed(db: &TestDb, n: usize) {
    let mut store = db.open("default");
    let changes = (0..n)
        .map(|i| {
            Change::new(ChangeType::Created, ResourceKind::Vm, addr(&format!("vm.web[{i}]")), vm_attributes(i))
                .node("pve1")
                .vmid(100 + i as u32)
        })
        .collect();
    store.commit_changes(None, changes).unwrap();
}

/// Starts `pmx state lock --hold-for SECS` and returns once it holds the lock, with its ID.
fn hold_lock(db: &TestDb, secs: f64) -> (Child, String) {
    let mut child = pmx(db, &["lock", "--hold-for", &secs.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn holder");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let id = line.trim().strip_prefix("locked ").unwrap_or_else(|| panic!("holder said {line:?}")).to_string();
    (child, id)
}

on_both_backends!(
    list_show_rm_mv_history_events,
    second_process_is_refused_then_waits_for_the_lock,
    crashed_holder_does_not_lock_forever,
    pull_and_push_through_the_binary,
);

fn list_show_rm_mv_history_events(db: &TestDb) {
    seed(db, 3);
    let o = run(db, &["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "vm.web[0]\nvm.web[1]\nvm.web[2]\n");

    let o = run(db, &["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["resources"].as_array().unwrap().len(), 3);
    assert_eq!(v["resources"][1]["vmid"], 101);
    assert_eq!(v["serial"], 1);

    let o = run(db, &["show", "vm.web[1]"]);
    let out = stdout(&o);
    assert!(out.starts_with("# vm.web[1]\n") && out.contains("\"name\": \"web-1\"") && out.contains("vmid"), "{out}");
    let o = run(db, &["show", "vm.web[1]", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["attributes"]["memory"]["size"], 2048);

    let o = run(db, &["rm", "vm.web[9]"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("vm.web[9] is not in the state"), "{}", stderr(&o));

    let o = run(db, &["mv", "vm.web[0]", "vm.web[1]"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("vm.web[1] already exists"), "{}", stderr(&o));

    let o = run(db, &["mv", "vm.web[0]", "vm.app"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Successfully moved 1 object."));
    let o = run(db, &["rm", "vm.web[2]", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["removed"][0], "vm.web[2]");
    assert_eq!(stdout(&run(db, &["list"])), "vm.app\nvm.web[1]\n");

    let o = run(db, &["history", "vm.app", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["entries"][0]["what"], "moved");
    let o = run(db, &["history"]);
    let out = stdout(&o);
    assert!(out.contains("created") && out.contains("forgotten") && out.contains("LockAcquired"), "{out}");

    let o = run(db, &["events", "--since", "1h", "--kind", "StateEditedByHand", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ops: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["payload"]["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["mv", "rm"]);
    let o = run(db, &["events", "--since", "soon"]);
    assert_eq!(o.status.code(), Some(1));

    let o = run(db, &["prune", "--keep", "1", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(db, &["migrate", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
}

fn second_process_is_refused_then_waits_for_the_lock(db: &TestDb) {
    seed(db, 2);
    let (mut holder, id) = hold_lock(db, 2.0);
    let o = run(db, &["rm", "vm.web[0]", "--lock-timeout", "200ms"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is locked by") && err.contains("pmx state lock --hold-for 2") && err.contains(&id), "{err}");
    assert!(err.contains("pmx state unlock"), "says how to clear it: {err}");
    assert_eq!(stdout(&run(db, &["list"])), "vm.web[0]\nvm.web[1]\n", "reads do not need the lock");

    let started = Instant::now();
    let o = run(db, &["rm", "vm.web[0]", "--lock-timeout", "20s"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited for the holder");
    assert!(holder.wait().unwrap().success());
    assert_eq!(stdout(&run(db, &["list"])), "vm.web[1]\n");
}

fn crashed_holder_does_not_lock_forever(db: &TestDb) {
    seed(db, 1);
    let (mut holder, id) = hold_lock(db, 60.0);
    holder.kill().unwrap();
    holder.wait().unwrap();
    // SQLite: the row is stale (its pid is gone); PostgreSQL: the advisory lock died with the
    // connection. Either way the next command gets the lock.
    let o = run(db, &["rm", "vm.web[0]", "--lock-timeout", "5s"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(db, &["unlock", &id]);
    assert_eq!(o.status.code(), Some(1), "the stale lock is already gone");
    assert!(stderr(&o).contains("not locked"), "{}", stderr(&o));
}

fn pull_and_push_through_the_binary(db: &TestDb) {
    seed(db, 4);
    let o = run(db, &["pull"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = db.dir.path().join("export.json");
    std::fs::write(&file, &o.stdout).unwrap();
    let o = run(db, &["--workspace", "copy", "push", "export.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&run(db, &["--workspace", "copy", "list"])).lines().count(), 4);
    // Pushing the same export again is refused: it is not newer.
    let o = run(db, &["--workspace", "copy", "push", "export.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not newer"), "{}", stderr(&o));
    let o = run(db, &["push", "missing.json"]);
    assert!(stderr(&o).contains("missing.json"), "{}", stderr(&o));
}

#[test]
fn unlock_clears_a_stale_sqlite_lock() {
    let db = support::sqlite();
    seed(&db, 1);
    // A lock row left by a process on another host cannot be detected as stale here.
    {
        let mut store = db.open("default");
        store.set_actor(Actor { user: "carol".into(), host: "elsewhere".into(), pid: 1 });
        store.lock("pmx apply plan.out", Duration::ZERO).unwrap();
        std::mem::forget(store); // crash: never released
    }
    let o = run(&db, &["rm", "vm.web[0]"]);
    let err = stderr(&o);
    assert!(err.contains("carol@elsewhere") && err.contains("pmx apply plan.out"), "{err}");
    let id = err.split("lock ID ").nth(1).and_then(|s| s.split(')').next()).expect("lock ID in message").to_string();
    let o = run(&db, &["unlock", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("carol@elsewhere"));
    assert!(run(&db, &["rm", "vm.web[0]"]).status.success());
}

#[test]
fn passwords_never_reach_output() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(PMX)
        .args(["-C", dir.path().to_str().unwrap(), "state", "list", "--json"])
        .env("PMX_STATE_URL", "postgres://pmx:hunter2@127.0.0.1:1/state")
        .env("PMX_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("postgres://pmx:***@127.0.0.1:1/state"), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
    let help = Command::new(PMX)
        .args(["state", "--help"])
        .env("PMX_STATE_URL", "postgres://pmx:hunter2@h/db")
        .output()
        .unwrap();
    assert!(!stdout(&help).contains("hunter2"));
}

#[test]
fn newer_database_is_refused_by_the_binary() {
    let db = support::sqlite();
    seed(&db, 1);
    db.open("default").debug_execute("UPDATE store_info SET value = '7' WHERE key = 'schema_version'").unwrap();
    let o = run(&db, &["list"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("newer pmx") && err.contains("state schema 7"), "{err}");
}

#[test]
fn default_location_is_dot_pmx_state_db() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(PMX)
        .args(["-C", dir.path().to_str().unwrap(), "state", "migrate"])
        .env_remove("PMX_STATE_URL")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join(".pmx/state.db").is_file());
}

/// What people read: `state show`, `history` and a refusal, as snapshots (times, ids and the
/// host name filtered).
#[test]
fn human_output_snapshots() {
    let db = support::sqlite();
    {
        let mut store = db.open("default");
        store.set_actor(Actor { user: "alice".into(), host: Actor::current().host, pid: 1 });
        let a = addr("vm.web[0]");
        let create = Change::new(ChangeType::Created, ResourceKind::Vm, a.clone(), vm_attributes(0))
            .node("pve1")
            .vmid(100)
            .fingerprint("8d5c2c1e-5d3b-4b8f-9a57-0d1f3c2b9e11")
            .digest("3c1b2f0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b")
            .status("running");
        let run = store.begin_run(RunKind::Apply, "pmx apply plan.out").unwrap();
        store.commit_changes(Some(run), vec![create]).unwrap();
        store.finish_run(run, RunOutcome::Succeeded, None).unwrap();
    }
    let filters = vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[UUID]"),
        (r"\(pid \d+\)", "(pid [PID])"),
        (r"alice@\S+ *", "alice@[HOST]  "),
    ];
    let with_user = |args: &[&str]| {
        let o = pmx(&db, args).env("USER", "alice").output().unwrap();
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    let show = with_user(&["show", "vm.web[0]"]);
    let history = with_user(&["history", "vm.web[0]"]);
    let missing = with_user(&["rm", "vm.wbe[0]"]);
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false, filters => filters}, {
        insta::assert_snapshot!("state_show", show);
        insta::assert_snapshot!("state_history", history);
        insta::assert_snapshot!("state_rm_unknown", missing);
    });
}

/// `pmx state show` suggests an address only when it is close in the part that differs:
/// `vm.nope` is not a typo of `vm.web` (every `vm.` address shares that prefix), `vm.wbe` is.
#[test]
fn state_show_suggests_only_close_addresses() {
    let db = support::sqlite();
    {
        let mut store = db.open("default");
        let changes = ["vm.web", "vm.db[0]", "pool.prod"]
            .iter()
            .map(|a| Change::new(ChangeType::Created, ResourceKind::Vm, addr(a), vm_attributes(0)))
            .collect();
        store.commit_changes(None, changes).unwrap();
    }
    let o = run(&db, &["show", "vm.nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("vm.nope is not in the state"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("did you mean"), "{}", stderr(&o));
    for (typo, meant) in [("vm.wbe", "vm.web"), ("mv.web", "vm.web"), ("vm.db", "vm.db[0]"), ("pool.prd", "pool.prod")]
    {
        let o = run(&db, &["show", typo]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains(&format!("did you mean \"{meant}\"?")), "{typo}: {}", stderr(&o));
    }
}

/// `pmx state` without `--state`: the project's `pmx { state { url, workspace } }` block decides.
#[test]
fn state_commands_follow_the_projects_state_block() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.pmx"),
        "pmx {\n  state {\n    url       = \"team.db\"\n    workspace = \"ci\"\n  }\n}\n",
    )
    .unwrap();
    {
        let mut store = Store::open(&StateLocation::Sqlite(dir.path().join("team.db")), "ci").unwrap();
        let create = Change::new(ChangeType::Created, ResourceKind::Vm, addr("vm.a"), vm_attributes(0)).vmid(100);
        store.commit_changes(None, vec![create]).unwrap();
    }
    let o = Command::new(PMX)
        .arg("-C")
        .arg(dir.path())
        .args(["state", "list", "--json"])
        .env_remove("PMX_STATE_URL")
        .env_remove("PMX_WORKSPACE")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["workspace"], "ci");
    assert_eq!(v["resources"][0]["address"], "vm.a", "{v}");
    assert!(!dir.path().join(".pmx").exists(), "the default location was not used");

    // --workspace still wins over the block.
    let o = Command::new(PMX)
        .arg("-C")
        .arg(dir.path())
        .args(["state", "list", "--json", "--workspace", "other"])
        .env_remove("PMX_STATE_URL")
        .env_remove("PMX_WORKSPACE")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["workspace"], "other");
    assert_eq!(v["resources"], serde_json::json!([]));
}

/// Looking at state that does not exist yet shows nothing and creates nothing.
#[test]
fn reading_missing_state_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["state", "list"][..], &["state", "history"], &["state", "events"], &["state", "list", "--json"]] {
        let o = Command::new(PMX)
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .env_remove("PMX_STATE_URL")
            .env_remove("PMX_WORKSPACE")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(!dir.path().join(".pmx").exists(), "{args:?} created the state folder");
    }
}
