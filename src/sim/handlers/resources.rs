//! `/cluster/resources` and the resource rows other endpoints reuse (pool members, lists).
//! The full listing is cached by change counter and second, as it is the biggest response.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::super::guest_config::disk_size;
use super::super::model::{now, Cluster, Guest, GuestKind, StorageDef};
use super::super::wire::ApiError;
use super::Ctx;

/// Boot-disk size (qemu: first disk; lxc: rootfs).
pub fn maxdisk(g: &Guest) -> u64 {
    match g.kind {
        GuestKind::Lxc => g.config.get("rootfs").and_then(|v| disk_size(g.kind, v)).unwrap_or(0),
        GuestKind::Qemu => {
            super::super::guest_config::boot_disk(&g.config).and_then(|v| disk_size(g.kind, v)).unwrap_or(0)
        }
    }
}

/// Simulated usage figures, stable for a guest and plausible.
fn usage(g: &Guest, t: i64) -> (f64, u64, i64) {
    if !g.running() {
        return (0.0, 0, 0);
    }
    let up = g.uptime(t);
    let mem = g.maxmem() / 3 + u64::from(g.vmid % 97) * (1 << 20);
    (0.01 + f64::from(g.vmid % 7) / 100.0, mem.min(g.maxmem()), up)
}

/// The name PVE shows for a guest: its name, else `VM <vmid>` (qemu) or `CT<vmid>` (lxc).
pub fn display_name(g: &Guest) -> String {
    match (g.name(), g.kind) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, GuestKind::Qemu) => format!("VM {}", g.vmid),
        (_, GuestKind::Lxc) => format!("CT{}", g.vmid),
    }
}

/// A guest as a `/cluster/resources` row.
pub fn guest_resource(g: &Guest, t: i64) -> Value {
    let (cpu, mem, uptime) = usage(g, t);
    let io = if g.running() { uptime as u64 * 1024 } else { 0 };
    let mut v = json!({
        "id": format!("{}/{}", g.kind.as_str(), g.vmid),
        "type": g.kind.as_str(),
        "vmid": g.vmid,
        "node": g.node,
        "name": display_name(g),
        "status": if g.running() { "running" } else { "stopped" },
        "template": u8::from(g.is_template()),
        // vmstatus: sockets * cores, or `vcpus` when set.
        "maxcpu": g.config.get("vcpus").and_then(|v| v.parse::<u64>().ok()).filter(|_| g.kind == GuestKind::Qemu).unwrap_or(g.cpus()),
        "maxmem": g.maxmem(),
        "maxdisk": maxdisk(g),
        "cpu": cpu,
        "mem": mem,
        "memhost": mem,
        "disk": 0,
        "netin": io,
        "netout": io / 2,
        "diskread": io * 4,
        "diskwrite": io * 2,
        "uptime": uptime,
    });
    if let Some(p) = &g.pool {
        v["pool"] = json!(p);
    }
    if let Some(tags) = g.config.get("tags") {
        v["tags"] = json!(tags);
    }
    if let Some(lock) = g.config.get("lock") {
        v["lock"] = json!(lock);
    }
    v
}

/// A guest row with what only the cluster knows: its HA state.
fn guest_row(c: &Cluster, g: &Guest, t: i64) -> Value {
    let mut v = guest_resource(g, t);
    if let Some(state) = super::ha::guest_hastate(c, g.kind, g.vmid) {
        v["hastate"] = json!(state);
    }
    v
}

pub fn node_resource(c: &Cluster, name: &str, t: i64) -> Value {
    let Some(n) = c.nodes.get(name) else { return Value::Null };
    let running: Vec<&Guest> = c.guests.values().filter(|g| g.node == name && g.running()).collect();
    let mem: u64 = (2u64 << 30) + running.iter().map(|g| g.maxmem() / 2).sum::<u64>();
    json!({
        "id": format!("node/{name}"),
        "type": "node",
        "node": name,
        "status": "online",
        "cpu": 0.02 + running.len() as f64 * 0.01,
        "maxcpu": n.cpus,
        "mem": mem.min(n.memory),
        "maxmem": n.memory,
        "disk": n.disk / 10,
        "maxdisk": n.disk,
        "uptime": (t - n.boot_time).max(0),
        "level": "",
        "cgroup-mode": 2,
        "hastate": super::ha::node_hastate(c, name),
    })
}

pub fn storage_resource(c: &Cluster, node: &str, s: &StorageDef) -> Value {
    json!({
        "id": format!("storage/{node}/{}", s.id),
        "type": "storage",
        "node": node,
        "storage": s.id,
        "status": "available",
        "plugintype": s.plugintype,
        "content": s.content.join(","),
        "shared": u8::from(s.shared),
        "disk": c.storage_used(node, &s.id),
        "maxdisk": s.capacity,
    })
}

/// A pool row: `/pool/<id>`, with the running members' figures summed as pve-manager does
/// (before the caller's view is applied): the longest uptime, mem and maxmem added, maxcpu
/// added and cpu weighted by it.
fn pool_resource(pool: &str, c: &Cluster, guests: &[Value]) -> Value {
    let mut row = json!({"id": format!("/pool/{pool}"), "type": "pool", "pool": pool});
    let members = c.guests.values().zip(guests).filter(|(g, _)| g.pool.as_deref() == Some(pool)).map(|(_, v)| v);
    for e in members.filter(|e| e["uptime"].as_i64().unwrap_or(0) > 0) {
        let num = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
        let (pcpu, pmax) = (num(&row, "cpu"), num(&row, "maxcpu"));
        let (ecpu, emax) = (num(e, "cpu"), num(e, "maxcpu"));
        row["uptime"] = json!(row["uptime"].as_i64().unwrap_or(0).max(e["uptime"].as_i64().unwrap_or(0)));
        row["mem"] = json!(row["mem"].as_u64().unwrap_or(0) + e["mem"].as_u64().unwrap_or(0));
        row["maxmem"] = json!(row["maxmem"].as_u64().unwrap_or(0) + e["maxmem"].as_u64().unwrap_or(0));
        row["cpu"] = json!(if pmax + emax > 0.0 { (pcpu * pmax + ecpu * emax) / (pmax + emax) } else { 0.0 });
        row["maxcpu"] = json!(pmax as u64 + emax as u64);
    }
    row
}

/// Whose view: None = everything (root@pam and tokens with its full privileges); else the
/// caller's id, and rows are kept as pve-manager's `resources` keeps them (VM.Audit on a guest,
/// Datastore.Audit or AllocateSpace on a storage, Pool.Audit on a pool).
fn build(c: &Cluster, filter: Option<&str>, t: i64, viewer: Option<&str>) -> Vec<u8> {
    let sees = |path: String, privs: &[&str]| viewer.is_none_or(|id| c.has(id, &path, privs, true));
    let mut rows: Vec<Value> = Vec::new();
    let want = |ty: &str| filter.is_none_or(|f| f == ty);
    // pve-manager's `resources`, in its order: pools (unfiltered only), guests, nodes,
    // storages, the legacy `sdn` zone rows, then (unfiltered only) the `network` rows.
    if filter.is_none() {
        let guests: Vec<Value> = c.guests.values().map(|g| guest_resource(g, t)).collect();
        for p in c.pools.keys().filter(|p| sees(format!("/pool/{p}"), &["Pool.Audit"])) {
            rows.push(pool_resource(p, c, &guests));
        }
    }
    if want("vm") {
        rows.extend(
            c.guests.values().filter(|g| sees(format!("/vms/{}", g.vmid), &["VM.Audit"])).map(|g| guest_row(c, g, t)),
        );
    }
    if want("node") {
        rows.extend(c.nodes.keys().map(|n| node_resource(c, n, t)));
    }
    if want("storage") {
        for node in c.nodes.keys() {
            rows.extend(
                c.storages
                    .values()
                    // One row per node where the storage is enabled.
                    .filter(|s| s.on_node(node) && !s.disable)
                    .filter(|s| sees(format!("/storage/{}", s.id), &["Datastore.Audit", "Datastore.AllocateSpace"]))
                    .map(|s| storage_resource(c, node, s)),
            );
        }
    }
    if want("sdn") {
        rows.extend(c.nodes.keys().map(|n| {
            json!({"id": format!("sdn/{n}/localnetwork"), "type": "sdn", "sdn": "localnetwork", "node": n, "status": "ok"})
        }));
    }
    if filter.is_none() {
        rows.extend(c.nodes.keys().map(|n| {
            json!({
                "id": format!("network/{n}/zone/localnetwork"),
                "type": "network",
                "network": "localnetwork",
                "network-type": "zone",
                "node": n,
                "status": "ok",
            })
        }));
    }
    serde_json::to_vec(&rows).unwrap_or_default()
}

type CacheEntry = (Option<String>, u64, i64, Arc<Vec<u8>>);
static CACHE: Mutex<Vec<CacheEntry>> = Mutex::new(Vec::new());

pub fn cluster_resources(ctx: &Ctx) -> Result<Arc<Vec<u8>>, ApiError> {
    let filter = ctx.param("type").map(str::to_string);
    if !ctx.sees_everything() {
        let c = ctx.sim.read();
        return Ok(Arc::new(build(&c, filter.as_deref(), now(), Some(&ctx.authid()))));
    }
    let generation = ctx.sim.generation.load(std::sync::atomic::Ordering::Relaxed);
    let sim_id = Arc::as_ptr(&ctx.sim) as u64;
    let key = generation ^ sim_id.rotate_left(32);
    let t = now();
    {
        let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, _, bytes)) = cache.iter().find(|(f, g, at, _)| *f == filter && *g == key && *at == t) {
            return Ok(bytes.clone());
        }
    }
    let bytes = Arc::new(build(&ctx.sim.read(), filter.as_deref(), t, None));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.retain(|(f, g, at, _)| *g == key && *at == t && *f != filter);
    cache.push((filter, key, t, bytes.clone()));
    Ok(bytes)
}
