//! Cluster- and node-level endpoints: version, tickets, nextid, nodes, storage, network.

use serde_json::{json, Value};

use super::super::model::now;
use super::super::wire::{ApiError, ApiResult};
use super::resources::node_resource;
use super::Ctx;

pub fn version() -> ApiResult {
    Ok(json!({"release": "9.2", "version": "9.2.4", "repoid": "0a1b2c3d"}))
}

pub fn access_ticket(ctx: &Ctx) -> ApiResult {
    let username = ctx.param("username").unwrap_or("");
    let password = ctx.param("password").unwrap_or("");
    let issued = {
        let c = ctx.sim.read();
        ctx.sim.auth.login(username, password, ctx.param("realm"), &c.access)
    };
    let issued = issued?;
    let cluster = ctx.sim.read().name.clone();
    Ok(json!({
        "username": issued.user,
        "ticket": issued.ticket,
        "CSRFPreventionToken": issued.csrf,
        "clustername": cluster,
        "cap": root_capabilities(),
    }))
}

/// Like PVE: the next free id as a string; never reserved; 400 if an asserted id is taken.
pub fn nextid(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    if let Some(v) = ctx.param("vmid") {
        let id: u32 = v.parse().unwrap_or(0);
        if c.guests.contains_key(&id) {
            return Err(ApiError::param("vmid", format!("VM {id} already exists")));
        }
        return Ok(json!(id.to_string()));
    }
    Ok(json!(c.next_free_vmid().to_string()))
}

pub fn cluster_status(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let mut rows = vec![json!({
        "type": "cluster", "id": "cluster", "name": c.name, "nodes": c.nodes.len(), "quorate": 1, "version": 3,
    })];
    for (i, n) in c.nodes.keys().enumerate() {
        rows.push(json!({
            "type": "node", "id": format!("node/{n}"), "name": n, "nodeid": i + 1, "online": 1,
            "local": u8::from(i == 0), "ip": format!("10.0.0.{}", i + 11), "level": "",
        }));
    }
    Ok(Value::Array(rows))
}

pub fn nodes(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let t = now();
    let fp = ctx.sim.fingerprint.clone();
    Ok(Value::Array(
        c.nodes
            .keys()
            .map(|n| {
                let mut row = node_resource(&c, n, t);
                if let Some(o) = row.as_object_mut() {
                    o.remove("cgroup-mode");
                    o.remove("hastate");
                    o.insert("ssl_fingerprint".into(), json!(fp));
                }
                row
            })
            .collect(),
    ))
}

pub fn node_status(ctx: &Ctx) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let n = &c.nodes[node];
    let row = node_resource(&c, node, now());
    let mem = row["mem"].as_u64().unwrap_or(0);
    Ok(json!({
        "uptime": row["uptime"],
        "cpu": row["cpu"],
        "wait": 0.0,
        "idle": 0,
        "loadavg": ["0.12", "0.08", "0.05"],
        "memory": {"total": n.memory, "used": mem, "free": n.memory - mem.min(n.memory), "available": n.memory - mem.min(n.memory)},
        "swap": {"total": 8u64 << 30, "used": 0, "free": 8u64 << 30},
        "rootfs": {"total": n.disk, "used": n.disk / 10, "free": n.disk - n.disk / 10, "avail": n.disk - n.disk / 10},
        "ksm": {"shared": 0},
        "cpuinfo": {"cpus": n.cpus, "sockets": 1, "cores": n.cpus, "model": "Simulated CPU (pmx sim)", "mhz": "2400.000", "hvm": "1", "flags": "", "user_hz": 100},
        "kversion": "Linux 6.14.8-2-pve #1 SMP PREEMPT_DYNAMIC PMX",
        "pveversion": "pve-manager/9.2.4/0a1b2c3d",
        "current-kernel": {"sysname": "Linux", "release": "6.14.8-2-pve", "machine": "x86_64", "version": "#1 SMP PREEMPT_DYNAMIC PMX"},
        "boot-info": {"mode": "efi", "secureboot": 0},
    }))
}

/// A storage as pve-storage's `storage_info` reports it on a node: total, used (on a thin
/// storage only what its volumes hold) and avail; a disabled storage is listed inactive, with
/// no figures.
fn storage_row(c: &super::super::model::Cluster, node: &str, s: &super::super::model::StorageDef) -> Value {
    if s.disable {
        return json!({
            "storage": s.id, "type": s.plugintype, "content": s.content.join(","), "active": 0, "enabled": 0,
            "shared": u8::from(s.shared), "total": 0, "used": 0, "avail": 0,
        });
    }
    let used = c.storage_used(node, &s.id).min(s.capacity);
    let fraction = if s.capacity == 0 { 0.0 } else { used as f64 / s.capacity as f64 };
    json!({
        "storage": s.id,
        "type": s.plugintype,
        "content": s.content.join(","),
        "active": 1,
        "enabled": 1,
        "shared": u8::from(s.shared),
        "total": s.capacity,
        "used": used,
        "avail": s.capacity.saturating_sub(used),
        "used_fraction": fraction,
    })
}

pub fn node_storage(ctx: &Ctx) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let content = ctx.param("content").map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>());
    let rows = c
        .storages
        .values()
        .filter(|s| s.on_node(node))
        .filter(|s| ctx.param("storage").is_none_or(|id| id == s.id))
        .filter(|s| ctx.has(&c, &format!("/storage/{}", s.id), &["Datastore.Audit", "Datastore.AllocateSpace"], true))
        .filter(|s| content.as_ref().is_none_or(|want| want.iter().any(|w| s.supports(w))))
        .filter(|s| ctx.flag("enabled") != Some(true) || !s.disable)
        .map(|s| storage_row(&c, node, s))
        .collect();
    Ok(Value::Array(rows))
}

fn storage_on_node<'a>(
    c: &'a super::super::model::Cluster,
    node: &str,
    id: &str,
) -> Result<&'a super::super::model::StorageDef, ApiError> {
    match c.storages.get(id) {
        Some(s) if s.on_node(node) => Ok(s),
        _ => Err(ApiError::server(format!("storage '{id}' does not exist"))),
    }
}

pub fn node_storage_status(ctx: &Ctx) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let id = ctx.path.get("storage").map(String::as_str).unwrap_or("");
    let s = storage_on_node(&c, node, id)?;
    Ok(storage_row(&c, node, s))
}

pub fn storage_content(ctx: &Ctx) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let id = ctx.path.get("storage").map(String::as_str).unwrap_or("");
    storage_on_node(&c, node, id)?;
    let vmid: Option<u32> = ctx.param("vmid").and_then(|v| v.parse().ok());
    let rows = c.nodes[node]
        .volumes
        .get(id)
        .map(|vols| {
            vols.values()
                .filter(|v| ctx.param("content").is_none_or(|want| want == v.content))
                .filter(|v| vmid.is_none_or(|id| v.vmid == Some(id)))
                .map(|v| {
                    let mut row = json!({
                        "volid": v.volid, "format": v.format, "size": v.size, "content": v.content, "ctime": v.ctime,
                    });
                    if let Some(id) = v.vmid {
                        row["vmid"] = json!(id);
                    }
                    row
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Value::Array(rows))
}

pub fn storage_list(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let rows = c
        .storages
        .values()
        .filter(|s| ctx.param("type").is_none_or(|t| t == s.plugintype))
        .filter(|s| ctx.has(&c, &format!("/storage/{}", s.id), &["Datastore.Audit", "Datastore.AllocateSpace"], true))
        .map(|s| {
            let mut row = json!({
                "storage": s.id, "type": s.plugintype, "content": s.content.join(","),
                "digest": "4f3c1a2b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
            });
            for (k, v) in [("path", &s.path), ("vgname", &s.vgname), ("thinpool", &s.thinpool)] {
                if let Some(v) = v {
                    row[k] = json!(v);
                }
            }
            if s.shared {
                row["shared"] = json!(1);
            }
            if let Some(ns) = &s.nodes {
                row["nodes"] = json!(ns.join(","));
            }
            row
        })
        .collect();
    Ok(Value::Array(rows))
}

pub fn node_network(ctx: &Ctx) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let mut rows = vec![json!({
        "iface": "eno1", "type": "eth", "method": "manual", "method6": "manual", "families": ["inet"],
        "priority": 1, "active": 1, "exists": 1,
    })];
    for (i, b) in c.nodes[node].bridges.iter().enumerate() {
        let mut row = json!({
            "iface": b, "type": "bridge", "method": "manual", "method6": "manual", "families": ["inet"],
            "priority": 2 + i, "active": 1, "autostart": 1, "bridge_stp": "off", "bridge_fd": "0",
            "bridge_ports": if i == 0 { "eno1" } else { "" },
        });
        if i == 0 {
            let idx = c.nodes.keys().position(|n| n == node).unwrap_or(0);
            let o = row.as_object_mut();
            if let Some(o) = o {
                o.insert("method".into(), json!("static"));
                o.insert("address".into(), json!(format!("10.0.0.{}", idx + 11)));
                o.insert("netmask".into(), json!("24"));
                o.insert("cidr".into(), json!(format!("10.0.0.{}/24", idx + 11)));
                o.insert("gateway".into(), json!("10.0.0.1"));
            }
        }
        rows.push(row);
    }
    if let Some(t) = ctx.param("type") {
        rows.retain(|r| r["type"] == t || (t == "any_bridge" && r["type"] == "bridge"));
    }
    Ok(Value::Array(rows))
}

/// root@pam holds every privilege; the ticket reply lists them per area as PVE does.
fn root_capabilities() -> Value {
    let areas: [(&str, &[&str]); 7] = [
        (
            "vms",
            &[
                "VM.Allocate",
                "VM.Audit",
                "VM.Backup",
                "VM.Clone",
                "VM.Config.CDROM",
                "VM.Config.CPU",
                "VM.Config.Cloudinit",
                "VM.Config.Disk",
                "VM.Config.HWType",
                "VM.Config.Memory",
                "VM.Config.Network",
                "VM.Config.Options",
                "VM.Console",
                "VM.GuestAgent.Audit",
                "VM.GuestAgent.FileRead",
                "VM.GuestAgent.FileSystemMgmt",
                "VM.GuestAgent.FileWrite",
                "VM.GuestAgent.Unrestricted",
                "VM.Migrate",
                "VM.PowerMgmt",
                "VM.Replicate",
                "VM.Snapshot",
                "VM.Snapshot.Rollback",
                "Permissions.Modify",
            ],
        ),
        (
            "storage",
            &[
                "Datastore.Allocate",
                "Datastore.AllocateSpace",
                "Datastore.AllocateTemplate",
                "Datastore.Audit",
                "Permissions.Modify",
            ],
        ),
        (
            "nodes",
            &[
                "Sys.AccessNetwork",
                "Sys.Audit",
                "Sys.Console",
                "Sys.Incoming",
                "Sys.Modify",
                "Sys.PowerMgmt",
                "Sys.Syslog",
                "Permissions.Modify",
            ],
        ),
        ("dc", &["Sys.Audit", "Sys.Modify", "SDN.Allocate", "SDN.Audit", "SDN.Use"]),
        ("access", &["Group.Allocate", "User.Modify", "Permissions.Modify"]),
        ("sdn", &["SDN.Allocate", "SDN.Audit", "SDN.Use", "Permissions.Modify"]),
        ("mapping", &["Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify"]),
    ];
    let mut cap = serde_json::Map::new();
    for (area, privs) in areas {
        cap.insert(area.into(), Value::Object(privs.iter().map(|p| ((*p).to_string(), json!(1))).collect()));
    }
    Value::Object(cap)
}
