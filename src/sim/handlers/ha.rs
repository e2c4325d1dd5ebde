//! The HA manager's view, as pve-ha-manager's `PVE::API2::HA::Resources` (index) and
//! `PVE::API2::HA::Status` (`status/current`) serve it, from the cluster file's `ha` entries
//! and nodes in maintenance. The simulator runs no HA manager: services stay where they are.

use serde_json::{json, Value};

use super::super::model::{now, Cluster, HaResource};
use super::super::wire::ApiResult;
use super::Ctx;

/// The CRM's state for a service with this requested state.
fn crm_state(r: &HaResource) -> &'static str {
    match r.state.as_str() {
        "stopped" | "disabled" => "stopped",
        "ignored" => "ignored",
        _ => "started",
    }
}

/// `hastate` of a guest in `/cluster/resources` (None when it is not HA-managed).
pub fn guest_hastate(c: &Cluster, kind: super::super::model::GuestKind, vmid: u32) -> Option<&'static str> {
    let ty = if kind == super::super::model::GuestKind::Qemu { "vm" } else { "ct" };
    c.ha.get(&format!("{ty}:{vmid}")).map(crm_state)
}

/// `hastate` of a node: `maintenance` in maintenance mode, else `online`.
pub fn node_hastate(c: &Cluster, node: &str) -> &'static str {
    if c.nodes.get(node).is_some_and(|n| n.maintenance) {
        "maintenance"
    } else {
        "online"
    }
}

/// `GET /cluster/ha/resources`: each entry as written (`api_copy_config`: its keys, `sid`,
/// `type`, the file's `digest`), optionally of one `type`.
pub fn resources(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let digest = ha_digest(&c);
    let rows: Vec<Value> = c
        .ha
        .iter()
        .filter(|(sid, _)| ctx.param("type").is_none_or(|t| sid.starts_with(&format!("{t}:"))))
        .map(|(sid, r)| {
            let mut v = json!({"sid": sid, "type": sid.split(':').next().unwrap_or_default(), "state": r.state, "digest": digest});
            if let Some(g) = &r.group {
                v["group"] = json!(g);
            }
            if let Some(x) = &r.comment {
                v["comment"] = json!(x);
            }
            if let Some(x) = r.max_restart {
                v["max_restart"] = json!(x);
            }
            if let Some(x) = r.max_relocate {
                v["max_relocate"] = json!(x);
            }
            if let Some(x) = r.failback {
                v["failback"] = json!(u8::from(x));
            }
            v
        })
        .collect();
    Ok(Value::Array(rows))
}

/// SHA-1 of the resources file as the simulator would write it.
fn ha_digest(c: &Cluster) -> String {
    let mut text = String::new();
    for (sid, r) in &c.ha {
        let (ty, id) = sid.split_once(':').unwrap_or_default();
        text.push_str(&format!("{ty}: {id}\n\tstate {}\n\n", r.state));
    }
    hex::encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, text.as_bytes()).as_ref())
}

/// `GET /cluster/ha/status/current`: quorum, the master, one `lrm:<node>` row per node
/// (`maintenance mode` for a node in maintenance, `idle` without services, else `active`), then
/// one `service:<sid>` row per HA resource.
pub fn status_current(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let t = now();
    let stamp = chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.with_timezone(&chrono::Local).format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_default();
    let local = c.nodes.keys().next().cloned().unwrap_or_default();
    let mut rows = vec![json!({"id": "quorum", "type": "quorum", "node": local, "status": "OK", "quorate": 1})];
    let node_of = |sid: &str| {
        let vmid: u32 = sid.split_once(':').and_then(|(_, id)| id.parse().ok()).unwrap_or(0);
        c.guests.get(&vmid).map(|g| g.node.clone()).unwrap_or_default()
    };
    let master = c.nodes.values().find(|n| !n.maintenance).map(|n| n.name.clone()).unwrap_or(local);
    let crm = if c.ha.is_empty() { "idle" } else { "active" };
    rows.push(json!({
        "id": "master", "type": "master", "node": master, "status": format!("{master} ({crm}, {stamp})"), "timestamp": t,
    }));
    for n in c.nodes.values() {
        let services = c.ha.keys().filter(|sid| node_of(sid) == n.name).count();
        let state = if n.maintenance {
            "maintenance mode"
        } else if services == 0 {
            "idle"
        } else {
            "active"
        };
        rows.push(json!({
            "id": format!("lrm:{}", n.name), "type": "lrm", "node": n.name,
            "status": format!("{} ({state}, {stamp})", n.name), "timestamp": t,
        }));
    }
    for (sid, r) in &c.ha {
        let state = crm_state(r);
        rows.push(json!({
            "id": format!("service:{sid}"), "type": "service", "sid": sid, "node": node_of(sid),
            "crm_state": state, "request_state": r.state, "state": state, "status": state,
            "max_restart": r.max_restart.unwrap_or(1), "max_relocate": r.max_relocate.unwrap_or(1),
            "failback": u8::from(r.failback.unwrap_or(true)),
        }));
    }
    Ok(Value::Array(rows))
}
