//! Users, tokens, roles and ACLs: pve-access-control's `PVE::AccessControl::roles` and
//! `PVE::RPCEnvironment::permissions` / `check` / `check_api2_permissions`, the API schema's
//! per-method `permissions`, and the handlers' own checks (qemu-server's create_vm,
//! `$check_vm_modify_config_perm`, `$check_storage_access`; pve-container's
//! `check_ct_modify_config_perm`; pve-manager's Pool.pm).

use super::support::*;

const VMADMIN: &str = "PVEAPIToken=ci@pve!vmadmin=s3cret-a";
const FULL: &str = "PVEAPIToken=ci@pve!full=s3cret-b";
const AUDITOR: &str = "PVEAPIToken=audit@pve!ro=s3cret-c";
const NOSDN: &str = "PVEAPIToken=nosdn@pve!t=s3cret-d";

/// The built-in cluster plus users, a group, a custom role and ACLs.
async fn api_with_users() -> (Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.json");
    let mut cluster: Value = serde_json::from_str(&sim::default_cluster_json()).unwrap();
    cluster["pools"] = json!([{"poolid": "prod"}]);
    cluster["guests"].as_array_mut().unwrap().extend([
        json!({"vmid": 100, "type": "qemu", "node": "pve1", "config": {"name": "a", "scsi0": "local-lvm:1"}}),
        json!({"vmid": 101, "type": "qemu", "node": "pve1", "config": {"name": "b", "scsi0": "local-lvm:1"}}),
        json!({"vmid": 120, "type": "qemu", "node": "pve1", "pool": "prod", "config": {"name": "p"}}),
        json!({"vmid": 200, "type": "qemu", "node": "pve1", "config": {"name": "hidden"}}),
    ]);
    cluster["groups"] = json!([{"groupid": "ops"}]);
    cluster["roles"] = json!([{"roleid": "Starter", "privs": ["VM.PowerMgmt", "VM.Audit"]}]);
    cluster["users"] = json!([
        {"userid": "ci@pve", "password": "ci-pass", "tokens": [
            {"id": "vmadmin", "secret": "s3cret-a"},
            {"id": "full", "secret": "s3cret-b", "privsep": false}]},
        {"userid": "audit@pve", "groups": ["ops"], "tokens": [{"id": "ro", "secret": "s3cret-c", "privsep": false}]},
        {"userid": "nosdn@pve", "tokens": [{"id": "t", "secret": "s3cret-d", "privsep": false}]},
        {"userid": "off@pve", "enable": false, "tokens": [{"id": "t", "secret": "x", "privsep": false}]},
    ]);
    cluster["acl"] = json!([
        {"path": "/vms", "role": "PVEVMAdmin", "user": "ci@pve"},
        {"path": "/vms/200", "role": "NoAccess", "user": "ci@pve"},
        {"path": "/storage/local-lvm", "role": "PVEDatastoreUser", "user": "ci@pve"},
        {"path": "/sdn/zones/localnetwork", "role": "PVESDNUser", "user": "ci@pve"},
        {"path": "/pool/prod", "role": "PVEPoolAdmin", "user": "ci@pve"},
        {"path": "/vms/100", "role": "PVEVMUser", "token": "ci@pve!vmadmin", "propagate": false},
        {"path": "/vms/101", "role": "Starter", "token": "ci@pve!vmadmin"},
        {"path": "/", "role": "PVEAuditor", "group": "ops"},
        {"path": "/vms", "role": "PVEVMAdmin", "user": "nosdn@pve"},
        {"path": "/storage", "role": "PVEDatastoreUser", "user": "nosdn@pve"},
    ]);
    std::fs::write(&path, cluster.to_string()).unwrap();
    (Api::start(SimOptions { cluster: Some(path), ..opts() }).await, dir)
}

fn privs(v: &Value) -> Vec<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

async fn role_privs(api: &Api, role: &str) -> Vec<String> {
    let roles = api.get("/access/roles").await;
    let r = roles.as_array().unwrap().iter().find(|r| r["roleid"] == role).unwrap_or_else(|| panic!("{role}"));
    let mut v: Vec<String> =
        r["privs"].as_str().unwrap().split(',').filter(|s| !s.is_empty()).map(String::from).collect();
    v.sort();
    v
}

fn forbidden(r: &Resp, what: &str) {
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["message"], format!("Permission check failed ({what})\n"));
}

/// RPCEnvironment::permissions: root@pam (and its token without privilege separation) hold every
/// Administrator privilege; a privsep token holds the intersection of its ACLs with its user's;
/// `get_effective_permissions` lists only paths with privileges; `path` lists that path even empty.
#[tokio::test]
async fn access_permissions_answers_as_pve_does() {
    let (api, _dir) = api_with_users().await;
    let admin = role_privs(&api, "Administrator").await;
    let root = api.get("/access/permissions?path=/").await;
    assert_eq!(privs(&root["/"]), admin);
    assert!(root["/"].as_object().unwrap().values().all(|v| v == 1));

    // The token's PVEVMUser on /vms/100 (not propagating) ∩ the user's PVEVMAdmin on /vms.
    let r = api.get("/access/permissions?userid=ci@pve!vmadmin&path=/vms/100").await;
    assert_eq!(privs(&r["/vms/100"]), role_privs(&api, "PVEVMUser").await);
    assert!(r["/vms/100"].as_object().unwrap().values().all(|v| v == 0), "{r}");
    // On a path without the token's own ACL: nothing, but the path is listed.
    let r = api.get("/access/permissions?userid=ci@pve!vmadmin&path=/vms/120").await;
    assert_eq!(r, json!({"/vms/120": {}}));
    // The whole tree of the privsep token: only its own ACL paths.
    let tree = api.call_as(VMADMIN, Method::GET, "/access/permissions", &[]).await;
    assert_eq!(tree.status, 200);
    let keys: Vec<&String> = tree.body["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["/vms/100", "/vms/101"], "{}", tree.body);
    // The non-privsep token has its user's: PVEVMAdmin on /vms, NoAccess on /vms/200, pool
    // roles reach the pool's members (never propagating).
    let tree = api.get("/access/permissions?userid=ci@pve!full").await;
    assert_eq!(privs(&tree["/vms"]), role_privs(&api, "PVEVMAdmin").await);
    assert!(tree.get("/vms/200").is_none(), "NoAccess clears the path: {tree}");
    assert_eq!(tree["/vms/120"]["Pool.Allocate"], 0, "{tree}");
    assert_eq!(tree["/storage/local-lvm"]["Datastore.AllocateSpace"], 1);
    // Another user's permissions need Sys.Audit on /access; one's own tokens do not.
    let r = api.call_as(VMADMIN, Method::GET, "/access/permissions", &[("userid", "audit@pve")]).await;
    forbidden(&r, "/access, Sys.Audit");
    let r = api.call_as(FULL, Method::GET, "/access/permissions", &[("userid", "ci@pve!vmadmin")]).await;
    assert_eq!(r.status, 403, "a token is not its user: {}", r.body);
    let r = api.call_as(AUDITOR, Method::GET, "/access/permissions", &[("userid", "ci@pve")]).await;
    assert_eq!(r.status, 200, "PVEAuditor on / has Sys.Audit on /access: {}", r.body);
    api.sim.shutdown().await;
}

/// check_api2_permissions with each method's declared check: a privsep token can do what its
/// own ACLs allow and nothing more, with PVE's 403 texts.
#[tokio::test]
async fn access_privsep_token_is_confined_to_its_acls() {
    let (api, _dir) = api_with_users().await;
    let r = api.call_as(VMADMIN, Method::GET, "/nodes/pve1/qemu/100/config", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.call_as(VMADMIN, Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    assert_eq!(r.status, 200, "PVEVMUser has VM.PowerMgmt: {}", r.body);
    api.wait(&r.body["data"]).await;
    // The method's check (any VM.Config.*) passes on VM.Config.CDROM, then the key's own privilege fails.
    forbidden(
        &api.call_as(VMADMIN, Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4")]).await,
        "/vms/100, VM.Config.CPU",
    );
    forbidden(&api.call_as(VMADMIN, Method::DELETE, "/nodes/pve1/qemu/100", &[]).await, "/vms/100, VM.Allocate");
    forbidden(
        &api.call_as(VMADMIN, Method::POST, "/nodes/pve1/qemu/100/migrate", &[("target", "pve2")]).await,
        "/vms/100, VM.Migrate",
    );
    forbidden(&api.call_as(VMADMIN, Method::PUT, "/nodes/pve1/qemu/101/config", &[("name", "x")]).await, "/vms/101, VM.Config.Disk|VM.Config.CDROM|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.HWType|VM.Config.Options|VM.Config.Cloudinit");
    forbidden(&api.call_as(VMADMIN, Method::GET, "/nodes/pve1/qemu/120/config", &[]).await, "/vms/120, VM.Audit");
    forbidden(
        &api.call_as(VMADMIN, Method::GET, "/nodes/pve1/storage/local-lvm/content", &[]).await,
        "/storage/local-lvm, Datastore.Audit|Datastore.AllocateSpace",
    );
    forbidden(&api.call_as(VMADMIN, Method::GET, "/cluster/status", &[]).await, "/, Sys.Audit");
    // Permissions come before parameter verification, as in rest_handler.
    forbidden(&api.call_as(VMADMIN, Method::PUT, "/nodes/pve1/qemu/120/config", &[("bogus", "1")]).await, "/vms/120, VM.Config.Disk|VM.Config.CDROM|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.HWType|VM.Config.Options|VM.Config.Cloudinit");
    // Lists are filtered rather than refused.
    let r = api.call_as(VMADMIN, Method::GET, "/nodes/pve1/qemu", &[]).await;
    let mut ids: Vec<i64> = r.body["data"].as_array().unwrap().iter().map(|g| g["vmid"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [100, 101]);
    let r = api.call_as(VMADMIN, Method::GET, "/cluster/resources", &[("type", "vm")]).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 2, "{}", r.body);
    api.sim.shutdown().await;
}

/// create_vm, clone_vm, migrate_vm, pools: the token without privilege separation has its
/// user's rights: VM.Allocate on the guest or its pool, Datastore.AllocateSpace on every storage
/// a disk is allocated on, SDN.Use on each bridge, Pool.Allocate for pools; a missing pool is a
/// permission failure (`check_pool_exist`); NoAccess hides a guest.
#[tokio::test]
async fn access_user_rights_govern_create_clone_migrate_and_pools() {
    let (api, _dir) = api_with_users().await;
    let create = |vmid: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("vmid", vmid), ("cores", "1"), ("scsi0", "local-lvm:1"), ("net0", "virtio,bridge=vmbr0")];
        form.extend(extra);
        form
    };
    let r = api.call_as(FULL, Method::POST, "/nodes/pve1/qemu", &create("150", vec![])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(api.wait(&r.body["data"]).await["exitstatus"], "OK");
    forbidden(
        &api.call_as(FULL, Method::POST, "/nodes/pve1/qemu", &create("151", vec![("scsi1", "local:1")])).await,
        "/storage/local, Datastore.AllocateSpace",
    );
    forbidden(
        &api.call_as(FULL, Method::POST, "/nodes/pve1/qemu", &create("151", vec![("pool", "nope")])).await,
        "pool 'nope' does not exist",
    );
    forbidden(
        &api.call_as(NOSDN, Method::POST, "/nodes/pve1/qemu", &create("152", vec![])).await,
        "/sdn/zones/localnetwork/vmbr0, SDN.Use",
    );
    // Without VM.Allocate the refusal names nothing (raise_perm_exc()).
    let r = api.call_as(AUDITOR, Method::POST, "/nodes/pve1/qemu", &[("vmid", "153")]).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["message"], "Permission check failed\n");
    // Root-only options stay root's: a token is never root@pam.
    let r =
        api.call_as(FULL, Method::PUT, "/nodes/pve1/qemu/150/config", &[("hookscript", "local:snippets/h.pl")]).await;
    assert_eq!(r.body["message"], "only root can set 'hookscript' config\n", "{}", r.body);
    // Clone: VM.Clone on the source and VM.Allocate on the new id; the target storage's space.
    let r = api.call_as(FULL, Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "160")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.wait(&r.body["data"]).await;
    forbidden(
        &api.call_as(
            FULL,
            Method::POST,
            "/nodes/pve1/qemu/9000/clone",
            &[("newid", "161"), ("full", "1"), ("storage", "local")],
        )
        .await,
        "/storage/local, Datastore.AllocateSpace",
    );
    let r = api.call_as(VMADMIN, Method::POST, "/nodes/pve1/qemu/100/clone", &[("newid", "162")]).await;
    forbidden(&r, "/vms/100, VM.Clone");
    let r = api.call_as(AUDITOR, Method::POST, "/nodes/pve1/qemu/100/clone", &[("newid", "162")]).await;
    forbidden(&r, "/vms/100, VM.Clone");
    // NoAccess on /vms/200 beats PVEVMAdmin on /vms.
    forbidden(&api.call_as(FULL, Method::GET, "/nodes/pve1/qemu/200/config", &[]).await, "/vms/200, VM.Audit");
    // Migrate needs VM.Migrate; PVEVMAdmin has it.
    let r = api.call_as(FULL, Method::POST, "/nodes/pve1/qemu/150/migrate", &[("target", "pve2")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.wait(&r.body["data"]).await;
    // Pools: Pool.Allocate on /pool/<id>; adding a guest needs rights on the guest.
    forbidden(&api.call_as(FULL, Method::POST, "/pools", &[("poolid", "dev")]).await, "/pool/dev, Pool.Allocate");
    let r = api.call_as(FULL, Method::PUT, "/pools", &[("poolid", "prod"), ("vms", "150")]).await;
    assert_eq!(r.status, 200, "VM.Allocate on /vms/150 suffices: {}", r.body);
    let r = api.call_as(FULL, Method::PUT, "/pools", &[("poolid", "prod"), ("storage", "local")]).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body["message"],
        "update pools failed: Permission check failed (/storage/local, Permissions.Modify|Datastore.Allocate)\n"
    );
    let r = api.call_as(AUDITOR, Method::GET, "/pools", &[]).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1, "PVEAuditor has Pool.Audit: {}", r.body);
    let r = api.call_as(VMADMIN, Method::GET, "/pools", &[]).await;
    assert_eq!(r.body["data"], json!([]), "no Pool.Audit, no pools");
    api.sim.shutdown().await;
}

/// verify_token / check_user_enabled: a disabled user's token and an unknown token are 401s;
/// tickets work for users with a password, and a ticket user's permissions are the user's.
#[tokio::test]
async fn access_tokens_and_tickets_of_other_users() {
    let (api, _dir) = api_with_users().await;
    let r = api
        .http
        .get(format!("{}/api2/json/version", api.sim.base_url))
        .header("Authorization", "PVEAPIToken=off@pve!t=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.status().canonical_reason(), Some("Unauthorized"));
    let r = api
        .http
        .get(format!("{}/api2/json/version", api.sim.base_url))
        .header("Authorization", "PVEAPIToken=ci@pve!nope=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let login = api
        .http
        .post(format!("{}/api2/json/access/ticket", api.sim.base_url))
        .form(&[("username", "ci@pve"), ("password", "ci-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.unwrap();
    let ticket = body["data"]["ticket"].as_str().unwrap();
    assert!(ticket.starts_with("PVE:ci@pve:"));
    let r = api
        .http
        .get(format!("{}/api2/json/access/permissions", api.sim.base_url))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .send()
        .await
        .unwrap();
    let tree: Value = r.json().await.unwrap();
    assert_eq!(tree["data"]["/vms"]["VM.Allocate"], 1, "{tree}");
    let users = api.get("/access/users?full=1").await;
    let ci = users.as_array().unwrap().iter().find(|u| u["userid"] == "ci@pve").unwrap();
    assert_eq!(ci["tokens"].as_array().unwrap().len(), 2);
    assert_eq!(ci["tokens"][0]["privsep"], 0, "{ci}");
    assert_eq!(ci["tokens"][1]["privsep"], 1, "{ci}");
    let r = api.call_as(VMADMIN, Method::GET, "/access/users", &[]).await;
    let ids: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|u| u["userid"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ci@pve"], "without User.Modify/Sys.Audit only oneself");
    let acl = api.get("/access/acl").await;
    assert!(
        acl.as_array()
            .unwrap()
            .iter()
            .any(|a| a["ugid"] == "ci@pve!vmadmin" && a["type"] == "token" && a["propagate"] == 0),
        "{acl}"
    );
    let roles = api.get("/access/roles").await;
    let starter = roles.as_array().unwrap().iter().find(|r| r["roleid"] == "Starter").unwrap();
    assert_eq!(starter, &json!({"roleid": "Starter", "privs": "VM.Audit,VM.PowerMgmt"}));
    assert!(roles.as_array().unwrap().iter().any(|r| r["roleid"] == "PVEVMAdmin" && r["special"] == 1));
    api.sim.shutdown().await;
}

/// A bad cluster file names what is wrong with its access part.
#[tokio::test]
async fn access_bad_cluster_files_say_why() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, want) in [
        (json!({"acl": [{"path": "/", "role": "Nope", "user": "root@pam"}]}), "no role \"Nope\""),
        (json!({"roles": [{"roleid": "X", "privs": ["VM.Fly"]}]}), "invalid privilege 'VM.Fly'"),
        (json!({"acl": [{"path": "/", "role": "PVEAuditor", "token": "a@pve!b"}]}), "no token \"a@pve!b\""),
        (json!({"roles": [{"roleid": "PVEAdmin", "privs": []}]}), "built in"),
    ] {
        let mut c = json!({"nodes": [{"name": "n1"}]});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        let path = dir.path().join("c.json");
        std::fs::write(&path, c.to_string()).unwrap();
        let err = sim::start(SimOptions { cluster: Some(path), ..opts() }).await.unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}
