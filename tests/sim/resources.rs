//! `/cluster/resources` and `/pending` as pve-manager and qemu-server/pve-container fill them.

use super::support::*;

async fn lab() -> (Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.json");
    std::fs::write(
        &file,
        json!({
            "nodes": [{"name": "pve1"}, {"name": "pve2"}],
            "storages": [
                {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 100},
                {"id": "old", "type": "dir", "path": "/mnt/old", "content": ["images"], "capacity_gib": 10, "disable": true},
            ],
            "pools": [{"poolid": "prod"}, {"poolid": "empty"}],
            "guests": [
                {"vmid": 100, "type": "qemu", "node": "pve1", "running": true, "pool": "prod",
                 "config": {"cores": 2, "memory": "2048", "scsi0": "local-lvm:1"}},
                {"vmid": 101, "type": "qemu", "node": "pve2", "running": true, "pool": "prod",
                 "config": {"cores": 4, "sockets": 2, "vcpus": 3, "memory": "4096", "scsi0": "local-lvm:1"}},
                {"vmid": 102, "type": "qemu", "node": "pve2", "pool": "prod", "config": {"memory": "8192"}},
            ],
        })
        .to_string(),
    )
    .unwrap();
    (Api::start(SimOptions { cluster: Some(file), ..opts() }).await, dir)
}

/// pve-manager `PVE::API2::Cluster::resources`: pools come first (`/pool/<id>`), with the running
/// members' uptime (the longest), mem, maxmem and maxcpu summed and cpu weighted by maxcpu;
/// stopped members add nothing. A guest's maxcpu is its vcpus when set. A disabled storage has
/// no row.
#[tokio::test]
async fn pools_aggregate_their_running_members() {
    let (api, _dir) = lab().await;
    let rows = api.get("/cluster/resources").await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows[0]["id"], "/pool/empty");
    assert_eq!(rows[0].as_object().unwrap().len(), 3, "no members, no figures: {}", rows[0]);
    let prod = &rows[1];
    let vm = |id: u64| rows.iter().find(|r| r["vmid"] == id).unwrap().clone();
    let (a, b) = (vm(100), vm(101));
    assert_eq!(b["maxcpu"], 3, "vcpus");
    assert_eq!(prod["id"], "/pool/prod");
    assert_eq!(prod["maxcpu"], 5);
    assert_eq!(prod["maxmem"], a["maxmem"].as_u64().unwrap() + b["maxmem"].as_u64().unwrap());
    assert_eq!(prod["mem"], a["mem"].as_u64().unwrap() + b["mem"].as_u64().unwrap());
    assert_eq!(prod["uptime"], a["uptime"].as_i64().unwrap().max(b["uptime"].as_i64().unwrap()));
    let weighted = (a["cpu"].as_f64().unwrap() * 2.0 + b["cpu"].as_f64().unwrap() * 3.0) / 5.0;
    assert!((prod["cpu"].as_f64().unwrap() - weighted).abs() < 1e-9, "{prod}");
    let types: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    let first = |t: &str| types.iter().position(|x| *x == t).unwrap();
    assert!(first("pool") < first("qemu") && first("qemu") < first("node") && first("node") < first("storage"));
    assert!(!rows.iter().any(|r| r["storage"] == "old"), "disabled storages are not listed");
    api.sim.shutdown().await;
}

/// `resources` with `type=sdn` gives only the legacy `sdn` zone rows; the `network` rows come
/// only without a filter.
#[tokio::test]
async fn sdn_filter_gives_legacy_zone_rows() {
    let (api, _dir) = lab().await;
    let sdn = api.get("/cluster/resources?type=sdn").await;
    let sdn = sdn.as_array().unwrap();
    assert_eq!(sdn.len(), 2);
    assert!(sdn.iter().all(|r| r["type"] == "sdn" && r["sdn"] == "localnetwork"), "{sdn:?}");
    assert_eq!(sdn[0]["id"], "sdn/pve1/localnetwork");
    let all = api.get("/cluster/resources").await;
    let count = |t: &str| all.as_array().unwrap().iter().filter(|r| r["type"] == t).count();
    assert_eq!((count("sdn"), count("network")), (2, 2));
    api.sim.shutdown().await;
}

/// GuestHelpers::config_with_pending_array walks the loaded config hash, so `/pending` has a
/// `digest` row holding the config's digest (qemu and lxc alike).
#[tokio::test]
async fn pending_lists_the_digest() {
    let (api, _dir) = lab().await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4")]).await;
    let digest = api.get("/nodes/pve1/qemu/100/config").await["digest"].clone();
    let rows = api.get("/nodes/pve1/qemu/100/pending").await;
    let row = rows.as_array().unwrap().iter().find(|r| r["key"] == "digest").cloned();
    assert_eq!(row, Some(json!({"key": "digest", "value": digest})));
    let keys: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    api.sim.shutdown().await;
}
