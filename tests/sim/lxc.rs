//! Containers as PVE 9.2 creates and updates them (pve-container 6.1).

use super::support::*;

const TEMPLATE: &str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

/// pve-container `create_vm` since 6.0.6 ("api: create: default to unprivileged containers"):
/// `unprivileged` defaults to 1 and is written to the config, and after extraction
/// `memory ||= 512` and `swap //= 512` are written too. `unprivileged=0` asks for a privileged CT.
#[tokio::test]
async fn containers_are_created_unprivileged_with_memory_and_swap() {
    let api = api().await;
    let form = [("vmid", "200"), ("ostemplate", TEMPLATE), ("rootfs", "local-lvm:2"), ("features", "nesting=1")];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &form).await;
    let cfg = api.get("/nodes/pve1/lxc/200/config").await;
    assert_eq!((&cfg["unprivileged"], &cfg["memory"], &cfg["swap"]), (&json!(1), &json!(512), &json!(512)), "{cfg}");
    assert_eq!(cfg["hostname"], "CT200");
    let privileged = [("vmid", "201"), ("ostemplate", TEMPLATE), ("rootfs", "local-lvm:2"), ("unprivileged", "0")];
    let upid = api.ok(Method::POST, "/nodes/pve1/lxc", &privileged).await;
    // LXC/Setup.pm: any container without nesting gets the systemd warning.
    assert_eq!(api.wait(&upid).await["exitstatus"], "WARNINGS: 1");
    assert!(api.get("/nodes/pve1/lxc/201/config").await.get("unprivileged").is_none());
    api.sim.shutdown().await;
}

/// pve-container `create_vm`: mount points without a rootfs abort; without a rootfs the default
/// `storage` (`local`) must hold container directories, else 400 keyed `storage`.
#[tokio::test]
async fn create_needs_a_rootfs_storage() {
    let api = api().await;
    let r = api
        .call(
            Method::POST,
            "/nodes/pve1/lxc",
            &[("vmid", "200"), ("ostemplate", TEMPLATE), ("mp0", "local-lvm:1,mp=/data")],
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["message"].as_str()),
        (500, Some("mount points configured, but 'rootfs' not set - aborting\n"))
    );
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &[("vmid", "200"), ("ostemplate", TEMPLATE)]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["errors"]["storage"], "storage 'local' does not support container directories");
    let form = [("vmid", "200"), ("ostemplate", TEMPLATE), ("storage", "local-lvm"), ("features", "nesting=1")];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &form).await;
    assert_eq!(api.get("/nodes/pve1/lxc/200/config").await["rootfs"], "local-lvm:vm-200-disk-0,size=4G");
    api.sim.shutdown().await;
}

/// pve-container `update_pct_config`: memory, rootfs and ostype cannot be deleted;
/// `unprivileged` is read-only after creation (so a tool must replace the CT to change it).
#[tokio::test]
async fn required_and_read_only_options() {
    let api = api().await;
    let form = [("vmid", "200"), ("ostemplate", TEMPLATE), ("rootfs", "local-lvm:2"), ("features", "nesting=1")];
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &form).await;
    let path = "/nodes/pve1/lxc/200/config";
    for key in ["memory", "rootfs", "ostype"] {
        let r = api.call(Method::PUT, path, &[("delete", key)]).await;
        assert_eq!(r.body["message"], format!("unable to delete required option '{key}'\n"), "{key}");
    }
    let r = api.call(Method::PUT, path, &[("unprivileged", "0")]).await;
    assert_eq!(r.body["message"], "unable to modify read-only option: 'unprivileged'\n");
    let r = api.call(Method::PUT, path, &[("delete", "unprivileged")]).await;
    assert_eq!(r.body["message"], "unable to delete read-only option: 'unprivileged'\n");
    // A stopped CT applies only the keys a write names (vmconfig_apply_pending with $selection).
    api.ok(Method::PUT, path, &[("cores", "2")]).await;
    assert_eq!(api.get(path).await["cores"], 2);
    api.sim.shutdown().await;
}

/// pve-container `check_ct_modify_config_perm`, `features`: for an API token (never root@pam),
/// the flags that change are compared with the current ones; only `nesting` may change (a
/// `raise_perm_exc`, 403 "Permission check failed (...)", for any other), and on a new
/// container or a delete every flag counts, so `nesting=0` alone is not "nesting only".
#[tokio::test]
async fn tokens_may_change_only_nesting() {
    let api = api().await;
    let base = [("vmid", "200"), ("ostemplate", TEMPLATE), ("rootfs", "local-lvm:2")];
    let except = "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)\n";
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &[&base[..], &[("features", "nesting=0")]].concat()).await;
    assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (403, Some(except)));
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &[&base[..], &[("features", "nesting=1")]].concat()).await;
    let r = api.call(Method::PUT, "/nodes/pve1/lxc/200/config", &[("features", "nesting=1,keyctl=1")]).await;
    assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (403, Some(except)));
    api.ok(Method::PUT, "/nodes/pve1/lxc/200/config", &[("features", "nesting=0")]).await;
    // root@pam (a ticket) sets keyctl; the token may then flip nesting beside it, not drop it.
    let login: Value = api
        .http
        .post(format!("{}/api2/json/access/ticket", api.sim.base_url))
        .form(&[("username", "root@pam"), ("password", api.sim.password.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = api
        .http
        .put(format!("{}/api2/json/nodes/pve1/lxc/200/config", api.sim.base_url))
        .header("Cookie", format!("PVEAuthCookie={}", login["data"]["ticket"].as_str().unwrap()))
        .header("CSRFPreventionToken", login["data"]["CSRFPreventionToken"].as_str().unwrap())
        .form(&[("features", "keyctl=1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    api.ok(Method::PUT, "/nodes/pve1/lxc/200/config", &[("features", "keyctl=1,nesting=1")]).await;
    assert_eq!(api.get("/nodes/pve1/lxc/200/config").await["features"], "keyctl=1,nesting=1");
    let r = api.call(Method::PUT, "/nodes/pve1/lxc/200/config", &[("features", "nesting=1")]).await;
    assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (403, Some(except)));
    let r = api.call(Method::PUT, "/nodes/pve1/lxc/200/config", &[("delete", "features")]).await;
    assert_eq!((r.status.as_u16(), r.body["message"].as_str()), (403, Some(except)));
    api.sim.shutdown().await;
}
