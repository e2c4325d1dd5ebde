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
        for s in &pool.storage {
            if let Some(def) = c.storages.get(s) {
                for node in c.nodes.keys().filter(|n| def.on_node(n)) {
                    rows.push(storage_resource(c, node, def));
                }
            }
        }
    }
    rows
}

fn pool<'a>(c: &'a Cluster, id: &str) -> Result<&'a Pool, ApiError> {
    c.pools.get(id).ok_or_else(|| ApiError::server(format!("pool '{id}' does not exist")))
}

pub fn list(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    if let Some(id) = ctx.param("poolid") {
        pool(&c, id)?;
    }
    let rows = c
        .pools
        .values()
        .filter(|p| ctx.param("poolid").is_none_or(|id| id == p.id))
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
        if c.pools.contains_key(&id) {
            return Err(ApiError::server(format!("pool '{id}' already exists")));
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
        pool(&c, &id)?;
        // Check everything first so a failing update changes nothing.
        let mut ids = Vec::new();
        for v in &vms {
            let vmid: u32 = v.parse().map_err(|_| ApiError::param("vms", format!("invalid VMID '{v}'")))?;
            let g = c.guests.get(&vmid).ok_or_else(|| ApiError::server(format!("VM {vmid} does not exist")))?;
            if !remove {
                match g.pool.as_deref() {
                    Some(p) if p == id => {
                        return Err(ApiError::server(format!("VM {vmid} is already a pool member")));
                    }
                    Some(p) if !allow_move => {
                        return Err(ApiError::server(format!("VM {vmid} belongs to pool '{p}'")));
                    }
                    _ => {}
                }
            } else if g.pool.as_deref() != Some(id.as_str()) {
                return Err(ApiError::server(format!("VM {vmid} is not a pool member")));
            }
            ids.push(vmid);
        }
        for s in &storages {
            if !c.storages.contains_key(s) {
                return Err(ApiError::server(format!("storage '{s}' does not exist")));
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
        let p = pool(&c, &id)?;
        if !p.storage.is_empty() || c.guests.values().any(|g| g.pool.as_deref() == Some(id.as_str())) {
            return Err(ApiError::server(format!("pool '{id}' is not empty")));
        }
        c.pools.remove(&id);
    }
    ctx.sim.save_state_file();
    Ok(Value::Null)
}
