//! Resource pools: `/pools` (GET/POST/PUT/DELETE) and the older `/pools/{poolid}`.

use serde_json::{json, Value};

use super::super::guest_config::list as split_list;
use super::super::model::{now, Cluster, Pool};
use super::super::params::check;
use super::super::params::Kind;
use super::super::wire::{ApiError, ApiResult};
use super::resources::{guest_resource, storage_resource};
use super::Ctx;

fn members(c: &Cluster, pool: &Pool, type_filter: Option<&str>) -> Vec<Value> {
    let t = now();
    let mut rows: Vec<Value> = Vec::new();
    if type_filter.is_none_or(|f| f == "qemu" || f == "lxc") {
        rows.extend(
            c.guests
                .values()
                .filter(|g| g.pool.as_deref() == Some(pool.id.as_str()))
                .filter(|g| type_filter.is_none_or(|f| f == g.kind.as_str()))
                .map(|g| {
                    let mut r = guest_resource(g, t);
                    if let Some(o) = r.as_object_mut() {
                        o.remove("pool");
                    }
                    r
                }),
        );
    }
    if type_filter.is_none_or(|f| f == "storage") {
        // pve-manager read_pool: each storage once, on the local node if it is there, else on
        // the first node it is restricted to (the simulator answers as its first node).
        let local = c.nodes.keys().next().cloned().unwrap_or_default();
        for s in &pool.storage {
            if let Some(def) = c.storages.get(s) {
                let node = if def.on_node(&local) {
                    Some(local.clone())
                } else {
                    c.nodes.keys().find(|n| def.on_node(n)).cloned()
                };
                if let Some(node) = node {
                    rows.push(storage_resource(c, &node, def));
                }
            }
        }
    }
    rows
}

fn pool<'a>(c: &'a Cluster, id: &str) -> Result<&'a Pool, ApiError> {
    c.pools.get(id).ok_or_else(|| ApiError::server(format!("pool '{id}' does not exist")))
}

/// `GET /pools` (pve-manager `index`): without `poolid` only each pool's id and comment;
/// members only for `?poolid=` (and `type` requires it).
pub fn list(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let Some(wanted) = ctx.param("poolid") else {
        if ctx.param("type").is_some() {
            return Err(ApiError::param("poolid", "missing property - 'type' requires this property"));
        }
        let rows = c
            .pools
            .values()
            .filter(|p| ctx.has(&c, &format!("/pool/{}", p.id), &["Pool.Audit"], false))
            .map(|p| {
                let mut row = json!({"poolid": p.id});
                if let Some(cm) = &p.comment {
                    row["comment"] = json!(cm);
                }
                row
            })
            .collect();
        return Ok(Value::Array(rows));
    };
    pool(&c, wanted)?;
    let rows = c
        .pools
        .values()
        .filter(|p| wanted == p.id)
        .map(|p| {
            let mut row = json!({"poolid": p.id, "members": members(&c, p, ctx.param("type"))});
            if let Some(cm) = &p.comment {
                row["comment"] = json!(cm);
            }
            row
        })
        .collect();
    Ok(Value::Array(rows))
}

pub fn get(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let id = ctx.path.get("poolid").map(String::as_str).unwrap_or("");
    let p = pool(&c, id)?;
    let mut v = json!({"members": members(&c, p, ctx.param("type"))});
    if let Some(cm) = &p.comment {
        v["comment"] = json!(cm);
    }
    Ok(v)
}

pub fn create(ctx: &Ctx) -> ApiResult {
    let id = ctx.param("poolid").unwrap_or("").to_string();
    check(Kind::Format(super::super::params::Format::PoolId), &id)
        .map_err(|_| ApiError::param("poolid", format!("invalid format - invalid pool ID '{id}'")))?;
    {
        let mut c = ctx.sim.write();
        // lock_user_config(…, "create pool failed") prefixes every error.
        let failed = |m: String| ApiError::server(format!("create pool failed: {m}"));
        if c.pools.contains_key(&id) {
            return Err(failed(format!("pool '{id}' already exists")));
        }
        if let Some((parent, _)) = id.rsplit_once('/') {
            if !c.pools.contains_key(parent) {
                return Err(failed(format!("parent '{parent}' of pool '{id}' does not exist")));
            }
        }
        c.pools
            .insert(id.clone(), Pool { id, comment: ctx.param("comment").map(str::to_string), ..Default::default() });
    }
    ctx.sim.save_state_file();
    Ok(Value::Null)
}

pub fn update(ctx: &Ctx, path_id: Option<String>) -> ApiResult {
    let id = path_id.or_else(|| ctx.param("poolid").map(str::to_string)).unwrap_or_default();
    let remove = ctx.flag("delete").unwrap_or(false);
    let allow_move = ctx.flag("allow-move").unwrap_or(false);
    let vms: Vec<String> = split_list(ctx.params.get("vms"));
    let storages: Vec<String> = split_list(ctx.params.get("storage"));
    {
        let mut c = ctx.sim.write();
        // lock_user_config(…, "update pools failed") prefixes every error.
        let failed = |m: String| ApiError::server(format!("update pools failed: {m}"));
        let members = c.pools.get(&id).ok_or_else(|| failed(format!("pool '{id}' does not exist")))?.storage.clone();
        // Check everything first so a failing update changes nothing.
        let mut ids = Vec::new();
        for v in &vms {
            let vmid: u32 = v.parse().map_err(|_| ApiError::param("vms", format!("invalid VMID '{v}'")))?;
            // check_perm_modify, inside lock_user_config: a 500 with the prefix.
            ctx.check(&c, &format!("/vms/{vmid}"), &["Permissions.Modify", "VM.Allocate"], true)
                .map_err(|e| failed(e.message))?;
            // Simplified: PVE's user.cfg takes any VMID; the simulator keeps membership on guests.
            let g = c.guests.get(&vmid).ok_or_else(|| failed(format!("VM {vmid} does not exist")))?;
            if !remove {
                match g.pool.as_deref() {
                    Some(p) if p == id => return Err(failed(format!("VM {vmid} is already a pool member"))),
                    Some(p) if !allow_move => {
                        return Err(failed(format!(
                            "VM {vmid} belongs already to pool '{p}' and 'allow-move' is not set"
                        )));
                    }
                    _ => {}
                }
            } else if g.pool.as_deref() != Some(id.as_str()) {
                return Err(failed(format!("VM {vmid} is not a pool member")));
            }
            ids.push(vmid);
        }
        // Storage ids are not checked for existence (PVE only checks the permission).
        for s in &storages {
            ctx.check(&c, &format!("/storage/{s}"), &["Permissions.Modify", "Datastore.Allocate"], true)
                .map_err(|e| failed(e.message))?;
            match (remove, members.contains(s)) {
                (false, true) => return Err(failed(format!("Storage '{s}' is already a pool member"))),
                (true, false) => return Err(failed(format!("Storage '{s}' is not a pool member"))),
                _ => {}
            }
        }
        for vmid in ids {
            if let Some(g) = c.guests.get_mut(&vmid) {
                g.pool = if remove { None } else { Some(id.clone()) };
            }
        }
        if let Some(p) = c.pools.get_mut(&id) {
            for s in storages {
                if remove {
                    p.storage.remove(&s);
                } else {
                    p.storage.insert(s);
                }
            }
            if let Some(cm) = ctx.param("comment") {
                p.comment = if cm.is_empty() { None } else { Some(cm.to_string()) };
            }
        }
    }
    ctx.sim.save_state_file();
    Ok(Value::Null)
}

pub fn delete(ctx: &Ctx, path_id: Option<String>) -> ApiResult {
    let id = path_id.or_else(|| ctx.param("poolid").map(str::to_string)).unwrap_or_default();
    {
        let mut c = ctx.sim.write();
        // lock_user_config(…, "delete pool failed"); the first member found is named.
        let failed = |m: String| ApiError::server(format!("delete pool failed: {m}"));
        let p = c.pools.get(&id).ok_or_else(|| failed(format!("pool '{id}' does not exist")))?;
        let vm = c.guests.values().find(|g| g.pool.as_deref() == Some(id.as_str())).map(|g| g.vmid);
        let storage = p.storage.iter().find(|s| c.storages.contains_key(*s));
        let child = c.pools.keys().find(|k| k.strip_prefix(id.as_str()).is_some_and(|r| r.starts_with('/')));
        let contains = match (vm, storage, child) {
            (Some(vmid), _, _) => Some(format!("VM {vmid}")),
            (None, Some(s), _) => Some(format!("storage '{s}'")),
            (None, None, Some(k)) => Some(format!("pool '{k}'")),
            _ => None,
        };
        if let Some(what) = contains {
            return Err(failed(format!("pool '{id}' is not empty (contains {what})")));
        }
        c.pools.remove(&id);
    }
    ctx.sim.save_state_file();
    Ok(Value::Null)
}
