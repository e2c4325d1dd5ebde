//! State store benchmark (plain main; `cargo bench --bench state`). Prints:
//! - committing one apply's worth of changes for 10,000 resources (rows + snapshots + events)
//!   on SQLite and on the local PostgreSQL (PMX_TEST_PG_URL), as creates and as updates;
//! - `state list` of 10,000 resources, through the library and through the real binary;
//! - bytes of database per snapshot.

use std::process::Command;
use std::time::Instant;

use diesel::{Connection, PgConnection, RunQueryDsl};
use pmx::state::*;

const N: usize = 10_000;

fn attributes(i: usize, memory: u32) -> serde_json::Value {
    serde_json::json!({
        "name": format!("web-{i}"),
        "node": format!("pve{}", i % 3 + 1),
        "vmid": 1000 + i,
        "description": "web tier, managed by pmx",
        "tags": ["pmx", "web"],
        "pool": "web",
        "cpu": {"cores": 2, "sockets": 1, "type": "x86-64-v2-AES"},
        "memory": {"size": memory},
        "disk": {"scsi0": {"storage": "local-lvm", "size": "32G", "format": "raw", "discard": true}},
        "network": {"net0": {"bridge": "vmbr0", "model": "virtio", "tag": 20,
                             "macaddr": format!("BC:24:11:00:{:02X}:{:02X}", i / 256 % 256, i % 256)}},
        "cloud_init": {"user": "deploy", "ipconfig0": "ip=dhcp"},
        "agent": true,
        "onboot": true,
        "started": true,
    })
}

fn changes(kind: ChangeType, memory: u32) -> Vec<Change> {
    (0..N)
        .map(|i| {
            Change::new(kind, ResourceKind::Vm, format!("vm.web[{i}]").parse().unwrap(), attributes(i, memory))
                .node(format!("pve{}", i % 3 + 1))
                .vmid(1000 + i as u32)
                .fingerprint(uuid::Uuid::new_v4().to_string())
                .digest(format!("{:040x}", i))
                .status("running")
        })
        .collect()
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn time<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    println!("  {label:<52} {:>9.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    out
}

/// Creates, then updates (a second apply changing every resource), then lists.
fn run_backend(location: &StateLocation, state_arg: &str, dir: &std::path::Path) -> Store {
    let mut store = Store::open(location, "default").expect("open");
    let creates = changes(ChangeType::Created, 2048);
    let updates = changes(ChangeType::Updated, 4096);
    let run = store.begin_run(RunKind::Apply, "bench").unwrap();
    time(&format!("commit {N} creates (rows+snapshots+events)"), || store.commit_changes(Some(run), creates).unwrap());
    time(&format!("commit {N} updates (rows+snapshots+events)"), || store.commit_changes(Some(run), updates).unwrap());
    store.finish_run(run, RunOutcome::Succeeded, None).unwrap();
    let listed = time(&format!("Store::list of {N} resources"), || store.list(None).unwrap());
    assert_eq!(listed.len(), N);
    let all = time(&format!("Store::find_all of {N} (with attributes)"), || store.find_all(None).unwrap());
    assert_eq!(all.len(), N);
    let exe = env!("CARGO_BIN_EXE_pmx");
    let out = time(&format!("`pmx state list` of {N} (process, to a pipe)"), || {
        Command::new(exe).arg("-C").arg(dir).args(["state", "--state", state_arg, "list"]).output().unwrap()
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout.iter().filter(|b| **b == b'\n').count(), N);
    store
}

fn main() {
    let json_bytes: usize = (0..N).map(|i| attributes(i, 2048).to_string().len()).sum::<usize>() / N;
    println!("state benchmark: {N} VM resources, attributes {json_bytes} bytes of JSON each");

    println!("SQLite (bundled, WAL):");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let location = StateLocation::Sqlite(path.clone());
    let empty_size = {
        let mut s = Store::open(&location, "default").unwrap();
        s.debug_execute("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
        std::fs::metadata(&path).unwrap().len()
    };
    let mut store = run_backend(&location, path.to_str().unwrap(), dir.path());
    store.debug_execute("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let snapshots = 2 * N as u64;
    println!("  database: {:.1} MB for {N} resources, {snapshots} snapshots, {snapshots} events", size as f64 / 1e6);
    println!(
        "  bytes per snapshot (whole database / snapshots, incl. rows, events, indexes): {}",
        (size - empty_size) / snapshots
    );
    drop(store);

    let admin = std::env::var("PMX_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match PgConnection::establish(&admin) {
        Err(e) => println!("PostgreSQL: skipped, unreachable ({e})"),
        Ok(mut admin_conn) => {
            let name = format!("pmx_bench_{}", uuid::Uuid::new_v4().simple());
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin_conn).unwrap();
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => admin.clone(),
            };
            println!("PostgreSQL (local):");
            let store = run_backend(&StateLocation::Postgres(url.clone()), &url, dir.path());
            drop(store);
            let mut conn = PgConnection::establish(&url).unwrap();
            #[derive(diesel::QueryableByName)]
            struct Size {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                bytes: i64,
            }
            diesel::sql_query("VACUUM ANALYZE").execute(&mut conn).unwrap();
            let total: Size = diesel::sql_query(
                "SELECT (pg_total_relation_size('snapshots') + pg_total_relation_size('events') \
                 + pg_total_relation_size('resources'))::bigint AS bytes",
            )
            .get_result(&mut conn)
            .unwrap();
            let snaps: Size = diesel::sql_query("SELECT pg_total_relation_size('snapshots')::bigint AS bytes")
                .get_result(&mut conn)
                .unwrap();
            println!(
                "  bytes per snapshot: {} (snapshots table + index); {} with resources and events",
                snaps.bytes / (2 * N as i64),
                total.bytes / (2 * N as i64)
            );
            drop(conn);
            let _ = diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin_conn);
        }
    }
    println!("peak RSS: {:.1} MB", peak_rss_mb());
}
