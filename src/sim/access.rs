//! Users, groups, API tokens, roles and ACLs, and the permission computation PVE does over them
//! (pve-access-control's `PVE::AccessControl::roles` and `PVE::RPCEnvironment::permissions`).
//!
//! The rules followed, PVE 9.2's:
//! - `root@pam` has every privilege everywhere; its tokens do not (a token is never root@pam).
//! - On a path, the ACL entries of `/` and of every ancestor apply in order from the root; an
//!   entry on an ancestor only counts when it propagates; the deepest matching entry wins, and on
//!   one path a token's entries beat the user's, which beat the user's groups'.
//! - `NoAccess` anywhere in the result clears everything.
//! - Pool ACLs give their roles (never propagating) to the pool's guests (`/vms/<id>`) and
//!   storages (`/storage/<id>`), unless a regular ACL set `NoAccess` there.
//! - A token without privilege separation has its user's privileges; a privilege-separated
//!   token has the intersection of its own ACLs' privileges and its user's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::model::Cluster;
use super::wire::ApiError;

/// pve-access-control's privilege groups (PVE 9): per category, what only root, an admin, a user
/// and an auditor get. The built-in roles are derived from them as `create_roles` does.
struct PrivGroup {
    cat: &'static str,
    root: &'static [&'static str],
    admin: &'static [&'static str],
    user: &'static [&'static str],
    audit: &'static [&'static str],
}

const PRIV_GROUPS: &[PrivGroup] = &[
    PrivGroup {
        cat: "VM",
        root: &[],
        admin: &[
            "VM.Config.Disk",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.HWType",
            "VM.Config.Options",
            "VM.Allocate",
            "VM.Clone",
            "VM.Migrate",
            "VM.Replicate",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
            "VM.GuestAgent.FileRead",
            "VM.GuestAgent.FileWrite",
            "VM.GuestAgent.FileSystemMgmt",
            "VM.GuestAgent.Unrestricted",
        ],
        user: &[
            "VM.Config.CDROM",
            "VM.Config.Cloudinit",
            "VM.Console",
            "VM.Backup",
            "VM.PowerMgmt",
            "VM.GuestAgent.Audit",
        ],
        audit: &["VM.Audit"],
    },
    PrivGroup {
        cat: "Sys",
        root: &["Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"],
        admin: &["Permissions.Modify", "Sys.Console", "Sys.Syslog"],
        user: &[],
        audit: &["Sys.Audit"],
    },
    PrivGroup {
        cat: "Datastore",
        root: &[],
        admin: &["Datastore.Allocate", "Datastore.AllocateTemplate"],
        user: &["Datastore.AllocateSpace"],
        audit: &["Datastore.Audit"],
    },
    PrivGroup {
        cat: "SDN",
        root: &[],
        admin: &["SDN.Allocate", "SDN.Audit"],
        user: &["SDN.Use"],
        audit: &["SDN.Audit"],
    },
    PrivGroup {
        cat: "User",
        root: &["Realm.Allocate"],
        admin: &["User.Modify", "Group.Allocate", "Realm.AllocateUser"],
        user: &[],
        audit: &[],
    },
    PrivGroup { cat: "Pool", root: &[], admin: &["Pool.Allocate"], user: &["Pool.Audit"], audit: &["Pool.Audit"] },
    PrivGroup {
        cat: "Mapping",
        root: &[],
        admin: &["Mapping.Modify"],
        user: &["Mapping.Use"],
        audit: &["Mapping.Audit"],
    },
];

pub type PrivSet = BTreeSet<&'static str>;

/// Every privilege PVE knows.
pub static VALID_PRIVS: LazyLock<PrivSet> = LazyLock::new(|| {
    PRIV_GROUPS.iter().flat_map(|g| g.root.iter().chain(g.admin).chain(g.user).chain(g.audit).copied()).collect()
});

/// The built-in ("special") roles, as `create_roles` derives them.
pub static BUILTIN_ROLES: LazyLock<BTreeMap<String, PrivSet>> = LazyLock::new(|| {
    let mut roles: BTreeMap<String, PrivSet> = BTreeMap::new();
    roles.insert("NoAccess".into(), PrivSet::new());
    roles.insert("Administrator".into(), VALID_PRIVS.clone());
    for g in PRIV_GROUPS {
        for p in g.admin.iter().chain(g.user).chain(g.audit) {
            roles.entry(format!("PVE{}Admin", g.cat)).or_default().insert(p);
            roles.entry("PVEAdmin".into()).or_default().insert(p);
        }
        if !g.user.is_empty() {
            for p in g.user.iter().chain(g.audit) {
                roles.entry(format!("PVE{}User", g.cat)).or_default().insert(p);
            }
        }
        for p in g.audit {
            roles.entry("PVEAuditor".into()).or_default().insert(p);
        }
    }
    roles.insert("PVETemplateUser".into(), ["VM.Clone", "VM.Audit"].into_iter().collect());
    roles
});

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Access {
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
    /// Custom roles (the built-in ones are always there and cannot be redefined).
    #[serde(default)]
    pub roles: BTreeMap<String, BTreeSet<String>>,
    #[serde(default)]
    pub acl: Vec<AclEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct User {
    #[serde(default = "yes")]
    pub enable: bool,
    /// Unix time; 0 = never.
    #[serde(default)]
    pub expire: i64,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub firstname: Option<String>,
    #[serde(default)]
    pub lastname: Option<String>,
    /// For `/access/ticket` (realm `pve` or `pam`, the simulator does not tell them apart).
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub tokens: BTreeMap<String, Token>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Token {
    pub secret: String,
    #[serde(default = "yes")]
    pub privsep: bool,
    #[serde(default)]
    pub expire: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Group {
    #[serde(default)]
    pub members: BTreeSet<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UgKind {
    User,
    Group,
    Token,
}

impl UgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UgKind::User => "user",
            UgKind::Group => "group",
            UgKind::Token => "token",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AclEntry {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: UgKind,
    /// A user id, a group id or a full token id.
    pub ugid: String,
    pub roleid: String,
    pub propagate: bool,
}

/// `user@realm!token` → (`user@realm`, `token`).
pub fn split_tokenid(authid: &str) -> Option<(&str, &str)> {
    let (user, token) = authid.split_once('!')?;
    (user.contains('@') && !token.is_empty()).then_some((user, token))
}

/// PVE's `normalize_path`: collapse slashes, drop a trailing one, lead with one.
pub fn normalize_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

/// PVE's `raise_perm_exc`: `403 Permission check failed (<what>)`.
pub fn perm_error(what: Option<&str>) -> ApiError {
    let message = match what {
        Some(w) => format!("Permission check failed ({w})"),
        None => "Permission check failed".to_string(),
    };
    ApiError::new(StatusCode::FORBIDDEN, message)
}

/// A privilege set with each privilege's propagate flag.
pub type Perms = BTreeMap<String, bool>;

impl Access {
    pub fn role_privs(&self, role: &str) -> Option<PrivSet> {
        if let Some(r) = BUILTIN_ROLES.get(role) {
            return Some(r.clone());
        }
        self.roles.get(role).map(|ps| ps.iter().filter_map(|p| VALID_PRIVS.get(p.as_str()).copied()).collect())
    }

    pub fn token(&self, authid: &str) -> Option<&Token> {
        let (user, token) = split_tokenid(authid)?;
        self.users.get(user)?.tokens.get(token)
    }

    fn in_group(&self, group: &str, user: &str) -> bool {
        self.groups.get(group).is_some_and(|g| g.members.contains(user))
    }

    /// `PVE::AccessControl::roles`: the roles `authid` has on `path` (role → propagate).
    pub fn roles(&self, authid: &str, path: &str) -> BTreeMap<String, bool> {
        if authid == "root@pam" {
            return [("Administrator".to_string(), true)].into_iter().collect();
        }
        if let Some((user, _)) = split_tokenid(authid) {
            let Some(token) = self.token(authid) else { return BTreeMap::new() };
            if !token.privsep {
                return self.roles(user, path);
            }
        }
        let is_token = split_tokenid(authid).is_some();
        let mut acl_paths: Vec<&str> = self.acl.iter().map(|a| a.path.as_str()).collect();
        acl_paths.sort();
        acl_paths.dedup();
        let mut roles: BTreeMap<String, bool> = BTreeMap::new();
        for p in acl_paths {
            let last = p == path;
            if !(p == "/" || last || path.starts_with(&format!("{p}/"))) {
                continue;
            }
            let here = |kind: UgKind, matches: &dyn Fn(&str) -> bool| -> Option<BTreeMap<String, bool>> {
                let mut new = BTreeMap::new();
                for a in self.acl.iter().filter(|a| a.path == p && a.kind == kind && matches(&a.ugid)) {
                    if last || a.propagate {
                        new.insert(a.roleid.clone(), a.propagate);
                    }
                }
                (!new.is_empty()).then_some(new)
            };
            if is_token {
                if let Some(new) = here(UgKind::Token, &|id| id == authid) {
                    roles = new;
                }
                continue;
            }
            if let Some(new) = here(UgKind::User, &|id| id == authid) {
                roles = new;
                continue;
            }
            if let Some(new) = here(UgKind::Group, &|g| self.in_group(g, authid)) {
                roles = new;
            }
        }
        if let Some(p) = roles.get("NoAccess") {
            return [("NoAccess".to_string(), *p)].into_iter().collect();
        }
        roles
    }
}

impl Cluster {
    /// The ACL-relevant pool members: `/vms/<id>` and `/storage/<id>` paths per pool.
    fn pool_member_paths(&self) -> BTreeMap<&str, Vec<String>> {
        let mut m: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for g in self.guests.values() {
            if let Some(p) = &g.pool {
                m.entry(p.as_str()).or_default().push(format!("/vms/{}", g.vmid));
            }
        }
        for p in self.pools.values() {
            for s in &p.storage {
                m.entry(p.id.as_str()).or_default().push(format!("/storage/{s}"));
            }
        }
        m
    }

    /// `PVE::RPCEnvironment::permissions`: the privileges `authid` has on `path`.
    pub fn permissions(&self, authid: &str, path: &str) -> Perms {
        let acc = &self.access;
        if authid == "root@pam" {
            return VALID_PRIVS.iter().map(|p| (p.to_string(), true)).collect();
        }
        let owner = split_tokenid(authid).map(|(u, _)| u);
        if let Some(user) = owner {
            let Some(token) = acc.token(authid) else { return Perms::new() };
            let user_perms = self.permissions(user, path);
            if !token.privsep {
                return user_perms;
            }
        } else if !acc.users.contains_key(authid) {
            return Perms::new();
        }
        let mut roles = acc.roles(authid, path);
        // Roles inherited from pools (compile_acl_path): never propagating, and a regular
        // NoAccess is not trumped, while a pool NoAccess trumps regular roles.
        if !roles.contains_key("NoAccess") {
            let mut pool_roles: BTreeMap<String, bool> = BTreeMap::new();
            for (pool, members) in self.pool_member_paths() {
                if members.iter().any(|m| m == path) {
                    for role in acc.roles(authid, &format!("/pool/{pool}")).into_keys() {
                        pool_roles.insert(role, false);
                    }
                }
            }
            if pool_roles.contains_key("NoAccess") {
                roles = [("NoAccess".to_string(), false)].into_iter().collect();
            } else {
                for (role, _) in pool_roles {
                    roles.entry(role).or_insert(false);
                }
            }
        }
        let mut privs = Perms::new();
        for (role, propagate) in &roles {
            for p in acc.role_privs(role).unwrap_or_default() {
                let e = privs.entry(p.to_string()).or_insert(false);
                *e = *e || *propagate;
            }
        }
        if let Some(user) = owner.filter(|u| *u != "root@pam") {
            let user_privs = self.permissions(user, path);
            privs = privs.into_iter().filter_map(|(p, prop)| user_privs.get(&p).map(|up| (p, prop && *up))).collect();
        }
        privs
    }

    /// `PVE::RPCEnvironment::check` / `check_any`: all (or any) of `privs` on `path`, or PVE's 403.
    pub fn check(&self, authid: &str, path: &str, privs: &[&str], any: bool) -> Result<(), ApiError> {
        let perms = self.permissions(authid, path);
        if any {
            if privs.iter().any(|p| perms.contains_key(*p)) {
                return Ok(());
            }
            return Err(perm_error(Some(&format!("{path}, {}", privs.join("|")))));
        }
        for p in privs {
            if !perms.contains_key(*p) {
                return Err(perm_error(Some(&format!("{path}, {p}"))));
            }
        }
        Ok(())
    }

    pub fn has(&self, authid: &str, path: &str, privs: &[&str], any: bool) -> bool {
        self.check(authid, path, privs, any).is_ok()
    }

    /// `get_effective_permissions`: every path PVE lists (the top levels, ACL paths and pool
    /// members) with the privileges held there; paths without any are left out.
    pub fn effective_permissions(&self, authid: &str) -> BTreeMap<String, Perms> {
        let mut paths: BTreeSet<String> =
            ["/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"]
                .into_iter()
                .map(String::from)
                .collect();
        paths.extend(self.access.acl.iter().map(|a| a.path.clone()));
        for members in self.pool_member_paths().into_values() {
            paths.extend(members);
        }
        paths
            .into_iter()
            .filter_map(|p| {
                let perms = self.permissions(authid, &p);
                (!perms.is_empty()).then_some((p, perms))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_roles_follow_create_roles() {
        let r = &*BUILTIN_ROLES;
        assert!(r["PVEVMUser"].contains("VM.PowerMgmt") && !r["PVEVMUser"].contains("VM.Allocate"));
        assert!(r["PVEVMAdmin"].contains("VM.Allocate") && r["PVEVMAdmin"].contains("VM.Audit"));
        assert!(
            r["PVEDatastoreUser"].contains("Datastore.AllocateSpace")
                && r["PVEDatastoreUser"].contains("Datastore.Audit")
        );
        assert!(!r["PVEAdmin"].contains("Sys.Modify"), "root-only privileges stay out of PVEAdmin");
        assert_eq!(r["PVEAuditor"].iter().filter(|p| !p.ends_with(".Audit")).count(), 0);
        assert!(r["NoAccess"].is_empty());
        assert_eq!(r["Administrator"].len(), VALID_PRIVS.len());
        assert!(!r.contains_key("PVEUserUser") && r.contains_key("PVEPoolUser") && r.contains_key("PVETemplateUser"));
    }

    #[test]
    fn paths_normalise() {
        assert_eq!(normalize_path("//vms//100/"), "/vms/100");
        assert_eq!(normalize_path(""), "/");
    }
}
