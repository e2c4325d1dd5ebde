//! Resource pools as pve-manager 9.2's `PVE::API2::Pool` serves them.

use super::support::*;

/// A request, its form and the message PVE answers (empty: it succeeds).
type Case = (Method, &'static [(&'static str, &'static str)], &'static str);

/// pve-manager Pool.pm `index`: `GET /pools` lists each pool's id and comment and no members;
/// members come only with `?poolid=` (and `type` requires it), each storage once
/// (`read_pool` prefers the local node). `/cluster/resources` names pools `/pool/<id>`.
#[tokio::test]
async fn pool_members_only_with_a_poolid() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "prod"), ("comment", "Production")]).await;
    api.ok(Method::PUT, "/pools", &[("poolid", "prod"), ("vms", "100"), ("storage", "local-lvm")]).await;
    assert_eq!(api.get("/pools").await, json!([{"poolid": "prod", "comment": "Production"}]));
    let one = api.get("/pools?poolid=prod").await;
    let members = one[0]["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "one VM and the storage once, not once per node: {members:?}");
    assert_eq!(members.iter().filter(|m| m["type"] == "storage").count(), 1);
    let r = api.call(Method::GET, "/pools", &[("type", "qemu")]).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["errors"]["poolid"]),
        (400, &json!("missing property - 'type' requires this property"))
    );
    let res = api.get("/cluster/resources").await;
    assert!(res.as_array().unwrap().iter().any(|r| r["id"] == "/pool/prod" && r["pool"] == "prod"), "{res}");
    api.sim.shutdown().await;
}

/// Pool.pm's create/update/delete run under `lock_user_config(…, "<what> failed")`, which
/// prefixes every error; storage members are checked for being members, not for existing;
/// a pool with members names the first one it finds; a nested pool needs its parent.
#[tokio::test]
async fn pool_errors_carry_pves_prefixes() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "dev")]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "prod")]).await;
    let cases: [Case; 6] = [
        (Method::POST, &[("poolid", "a/b")], "create pool failed: parent 'a' of pool 'a/b' does not exist"),
        (Method::PUT, &[("poolid", "nope"), ("vms", "100")], "update pools failed: pool 'nope' does not exist"),
        (
            Method::PUT,
            &[("poolid", "dev"), ("storage", "local"), ("delete", "1")],
            "update pools failed: Storage 'local' is not a pool member",
        ),
        (Method::PUT, &[("poolid", "dev"), ("vms", "100")], ""),
        (
            Method::PUT,
            &[("poolid", "prod"), ("vms", "100")],
            "update pools failed: VM 100 belongs already to pool 'dev' and 'allow-move' is not set",
        ),
        (Method::DELETE, &[("poolid", "dev")], "delete pool failed: pool 'dev' is not empty (contains VM 100)"),
    ];
    for (method, form, want) in cases {
        let r = api.call(method.clone(), "/pools", form).await;
        if want.is_empty() {
            assert_eq!(r.status, 200, "{form:?}: {}", r.body);
        } else {
            assert_eq!(r.body["message"].as_str().map(str::trim_end), Some(want), "{method} {form:?}");
        }
    }
    api.ok(Method::PUT, "/pools", &[("poolid", "dev"), ("storage", "local")]).await;
    let r = api.call(Method::PUT, "/pools", &[("poolid", "dev"), ("storage", "local")]).await;
    assert_eq!(r.body["message"], "update pools failed: Storage 'local' is already a pool member\n");
    api.ok(Method::POST, "/pools", &[("poolid", "prod/web")]).await;
    let r = api.call(Method::DELETE, "/pools", &[("poolid", "prod")]).await;
    assert_eq!(r.body["message"], "delete pool failed: pool 'prod' is not empty (contains pool 'prod/web')\n");
    api.sim.shutdown().await;
}
