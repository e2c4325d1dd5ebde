//! Permission checks at the API layer (`PVE::RPCEnvironment::check_api2_permissions`) and the
//! `/access` endpoints that read users, ACLs, roles and effective permissions.

use serde_json::{json, Value};

use super::super::access::{normalize_path, perm_error, split_tokenid, BUILTIN_ROLES};
use super::super::model::Cluster;
use super::super::params::Params;
use super::super::routes::{Check, Permission};
use super::super::tasks::Starter;
use super::super::wire::{ApiError, ApiResult};
use super::Ctx;

/// `user@realm` or `user@realm!token`.
pub fn authid(who: &Starter) -> String {
    match &who.tokenid {
        Some(t) => format!("{}!{t}", who.user),
        None => who.user.clone(),
    }
}

/// PVE's `template_replace`: `{name}` → the parameter's value.
fn fill(path: &str, params: &Params) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + end];
        out.push_str(params.get(name).map(String::as_str).unwrap_or(""));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// `exec_api2_perm_check`: Ok, or PVE's 403 (an `or` that fails says no more than
/// "Permission check failed").
fn exec(c: &Cluster, authid: &str, check: &Check, params: &Params) -> Result<(), ApiError> {
    match check {
        Check::Perm { path, privs, any, require_param } => {
            if require_param.is_some_and(|p| !params.contains_key(p)) {
                return Err(perm_error(None));
            }
            c.check(authid, &normalize_path(&fill(path, params)), privs, *any)
        }
        Check::And(subs) => subs.iter().try_for_each(|s| exec(c, authid, s, params)),
        Check::Or(subs) => {
            if subs.iter().any(|s| exec(c, authid, s, params).is_ok()) {
                Ok(())
            } else {
                Err(perm_error(None))
            }
        }
    }
}

/// `check_api2_permissions`: root@pam passes everything; `all` needs only a login.
pub fn check_api2_permissions(c: &Cluster, who: &Starter, perm: Permission, params: &Params) -> Result<(), ApiError> {
    let id = authid(who);
    if id == "root@pam" {
        return Ok(());
    }
    match perm {
        Permission::World | Permission::All => Ok(()),
        Permission::Check(check) => exec(c, &id, &check, params),
    }
}

/// `GET /access/permissions` (pve-access-control `permissions`): one's own (or one's tokens')
/// effective permissions, another user's with `Sys.Audit` on `/access`; with `path`, only that
/// path (listed even when empty).
pub fn permissions(ctx: &Ctx) -> ApiResult {
    let me = ctx.authid();
    let userid = ctx.param("userid").map(str::to_string).unwrap_or_else(|| me.clone());
    let c = ctx.sim.read();
    let own_token = split_tokenid(&userid).is_some_and(|(u, _)| u == me);
    if userid != me && !own_token {
        c.check(&me, "/access", &["Sys.Audit"], false)?;
    }
    let perms_json = |perms: super::super::access::Perms| -> Value {
        Value::Object(perms.into_iter().map(|(p, prop)| (p, json!(u8::from(prop)))).collect())
    };
    if let Some(path) = ctx.param("path") {
        return Ok(json!({ path: perms_json(c.permissions(&userid, path)) }));
    }
    let all = c.effective_permissions(&userid);
    Ok(Value::Object(all.into_iter().map(|(path, perms)| (path, perms_json(perms))).collect()))
}

/// `GET /access/users`: the users one may see (User.Modify or Sys.Audit on `/access/groups`),
/// always oneself; tokens with `full=1`.
pub fn users(ctx: &Ctx) -> ApiResult {
    let me = ctx.authid();
    let me_user = split_tokenid(&me).map(|(u, _)| u.to_string()).unwrap_or_else(|| me.clone());
    let c = ctx.sim.read();
    let see_all = c.has(&me, "/access/groups", &["User.Modify", "Sys.Audit"], true);
    let full = ctx.flag("full").unwrap_or(false);
    let enabled = ctx.flag("enabled");
    let mut rows = Vec::new();
    for (id, u) in &c.access.users {
        if !(see_all || *id == me_user) || enabled.is_some_and(|e| e != u.enable) {
            continue;
        }
        let realm = id.rsplit_once('@').map(|x| x.1).unwrap_or("");
        let mut row = json!({
            "userid": id, "enable": u8::from(u.enable), "expire": u.expire,
            "realm-type": if realm == "pam" { "pam" } else { "pve" },
        });
        for (k, v) in
            [("comment", &u.comment), ("email", &u.email), ("firstname", &u.firstname), ("lastname", &u.lastname)]
        {
            if let Some(v) = v {
                row[k] = json!(v);
            }
        }
        let groups: Vec<&str> =
            c.access.groups.iter().filter(|(_, g)| g.members.contains(id)).map(|(g, _)| g.as_str()).collect();
        if !groups.is_empty() {
            row["groups"] = json!(groups.join(","));
        }
        if full {
            let tokens: Vec<Value> = u
                .tokens
                .iter()
                .map(|(tid, t)| {
                    let mut v = json!({"tokenid": tid, "privsep": u8::from(t.privsep), "expire": t.expire});
                    if let Some(cm) = &t.comment {
                        v["comment"] = json!(cm);
                    }
                    v
                })
                .collect();
            row["tokens"] = json!(tokens);
        }
        rows.push(row);
    }
    Ok(Value::Array(rows))
}

/// `GET /access/acl`: the entries on paths where one may modify permissions
/// (`check_perm_modify`: Permissions.Modify, or the object's Allocate privilege).
pub fn acl(ctx: &Ctx) -> ApiResult {
    let me = ctx.authid();
    let c = ctx.sim.read();
    let rows = c
        .access
        .acl
        .iter()
        .filter(|a| {
            let mut privs = vec!["Permissions.Modify"];
            if a.path.starts_with("/storage/") {
                privs.push("Datastore.Allocate");
            } else if a.path.starts_with("/vms/") {
                privs.push("VM.Allocate");
            } else if a.path.starts_with("/pool/") {
                privs.push("Pool.Allocate");
            }
            c.has(&me, &a.path, &privs, true)
        })
        .map(|a| {
            json!({"path": a.path, "type": a.kind.as_str(), "ugid": a.ugid, "roleid": a.roleid,
                   "propagate": u8::from(a.propagate)})
        })
        .collect();
    Ok(Value::Array(rows))
}

/// `GET /access/roles`: built-in roles marked `special`, then the custom ones.
pub fn roles(ctx: &Ctx) -> ApiResult {
    let c = ctx.sim.read();
    let mut rows: Vec<Value> = BUILTIN_ROLES
        .iter()
        .map(|(id, privs)| {
            json!({"roleid": id, "special": 1, "privs": privs.iter().copied().collect::<Vec<_>>().join(",")})
        })
        .collect();
    for (id, privs) in &c.access.roles {
        rows.push(json!({"roleid": id, "privs": privs.iter().cloned().collect::<Vec<_>>().join(",")}));
    }
    Ok(Value::Array(rows))
}
