//! The wire: HTTPS, PVE's bodies and statuses, parameter checks, tickets, seeded faults, the
//! state file and the `pmx sim serve` command.

use super::support::*;

#[tokio::test]
async fn https_with_pinned_self_signed_certificate() {
    let api = Api::start(SimOptions { tls: true, ..opts() }).await;
    assert!(api.sim.base_url.starts_with("https://127.0.0.1:"));
    assert_eq!(api.sim.fingerprint.len(), 32 * 3 - 1);
    assert!(api.sim.fingerprint.chars().all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    let v = api.get("/version").await;
    assert!(v["version"].is_string() && v["release"].is_string());
    let nodes = api.get("/nodes").await;
    assert_eq!(nodes[0]["ssl_fingerprint"], api.sim.fingerprint.as_str());
    api.sim.shutdown().await;
}

#[tokio::test]
async fn wire_format_and_auth() {
    let api = Api::start(opts()).await;
    let r = api.call(Method::GET, "/version", &[]).await;
    assert_eq!(r.content_type, "application/json;charset=UTF-8");
    // No credentials / wrong token: 401.
    let url = format!("{}/api2/json/version", api.sim.base_url);
    let r = api.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = api.http.get(&url).header("Authorization", "PVEAPIToken=root@pam!pmx=wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    // The error message travels in the reason phrase.
    let line = raw_status_line(&api, "GET", "/nodes/pve1/qemu/4242/config", "").await;
    assert_eq!(line, "HTTP/1.1 500 Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist");
    let line = raw_status_line(&api, "POST", "/nodes/pve1/qemu", "vmid=abc&bogus=1").await;
    assert_eq!(line, "HTTP/1.1 400 Parameter verification failed.");
    let line = raw_status_line(&api, "GET", "/nope", "").await;
    assert_eq!(line, "HTTP/1.1 501 Method 'GET /nope' not implemented");
    // JSON bodies work as well as forms (booleans as true/false or 1/0).
    let r = api
        .http
        .post(format!("{}/api2/json/pools", api.sim.base_url))
        .header("Authorization", api.auth())
        .json(&json!({"poolid": "fromjson", "comment": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(api.get("/pools").await[0]["poolid"], "fromjson");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn parameter_verification_names_each_parameter() {
    let api = Api::start(opts()).await;
    let r = api.call(Method::POST, "/nodes/pve1/qemu", &[("vmid", "abc"), ("cores", "x"), ("bogus", "1")]).await;
    assert_eq!(r.status, 400);
    let errors = &r.body["errors"];
    assert_eq!(errors["vmid"], "type check ('integer') failed - got 'abc'");
    assert_eq!(errors["cores"], "type check ('integer') failed - got 'x'");
    assert_eq!(
        errors["bogus"],
        "property is not defined in schema and the schema does not allow additional properties"
    );
    assert_eq!(r.body["message"], "Parameter verification failed.\n");
    let r = api.call(Method::POST, "/nodes/pve1/qemu", &[("name", "x")]).await;
    assert_eq!(r.body["errors"]["vmid"], "property is missing and it is not optional");
    let r = api.call(Method::POST, "/nodes/pve1/qemu", &[("vmid", "150"), ("onboot", "maybe")]).await;
    assert_eq!(r.body["errors"]["onboot"], "type check ('boolean') failed - got 'maybe'");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn tickets_need_csrf_on_writes_and_expire() {
    let api =
        Api::start(SimOptions { password: Some("pw".into()), ticket_lifetime: Duration::from_millis(800), ..opts() })
            .await;
    let url = |p: &str| format!("{}/api2/json{p}", api.sim.base_url);
    let r = api
        .http
        .post(url("/access/ticket"))
        .form(&[("username", "root@pam"), ("password", "bad")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = api
        .http
        .post(url("/access/ticket"))
        .form(&[("username", "root@pam"), ("password", "pw")])
        .send()
        .await
        .unwrap();
    let data: Value = r.json::<Value>().await.unwrap()["data"].clone();
    let ticket = data["ticket"].as_str().unwrap().to_string();
    let csrf = data["CSRFPreventionToken"].as_str().unwrap().to_string();
    assert!(ticket.starts_with("PVE:root@pam:"));
    let cookie = format!("PVEAuthCookie={ticket}");
    let r = api.http.get(url("/nodes")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = api.http.post(url("/pools")).header("Cookie", &cookie).form(&[("poolid", "a")]).send().await.unwrap();
    assert_eq!(r.status(), 401, "writes need the CSRF token");
    let r = api
        .http
        .post(url("/pools"))
        .header("Cookie", &cookie)
        .header("CSRFPreventionToken", &csrf)
        .form(&[("poolid", "a")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = api
        .http
        .post(url("/access/ticket"))
        .form(&[("username", "root@pam"), ("password", &ticket)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a valid ticket renews itself");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = api.http.get(url("/nodes")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 401, "expired");
    api.sim.shutdown().await;
}

async fn version_statuses(seed: u64) -> Vec<u16> {
    let api =
        Api::start(SimOptions { seed, faults: FaultConfig { error_rate: 0.3, ..Default::default() }, ..opts() }).await;
    let mut out = Vec::new();
    for _ in 0..40 {
        let r = api.call(Method::GET, "/version", &[]).await;
        if r.status == 500 {
            assert!(r.body["message"].as_str().unwrap().contains("fault injection"));
        }
        out.push(r.status.as_u16());
    }
    api.sim.shutdown().await;
    out
}

#[tokio::test]
async fn faults_are_seeded_and_repeatable() {
    let a = version_statuses(7).await;
    let b = version_statuses(7).await;
    assert_eq!(a, b, "same seed, same faults");
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
    let c = version_statuses(8).await;
    assert_ne!(a, c, "another seed, other faults");
}

#[tokio::test]
async fn injected_resets_malformed_bodies_task_failures_and_lock_contention() {
    let f = |faults: FaultConfig| SimOptions { faults, ..opts() };
    let api = Api::start(f(FaultConfig { reset_rate: 1.0, ..Default::default() })).await;
    let r = api
        .http
        .get(format!("{}/api2/json/version", api.sim.base_url))
        .header("Authorization", api.auth())
        .send()
        .await;
    assert!(r.is_err(), "the connection is dropped");
    api.sim.shutdown().await;

    let api = Api::start(f(FaultConfig { malformed_json_rate: 1.0, ..Default::default() })).await;
    let r = api
        .http
        .get(format!("{}/api2/json/version", api.sim.base_url))
        .header("Authorization", api.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    api.sim.shutdown().await;

    let api = Api::start(f(FaultConfig { task_failure_rate: 1.0, ..Default::default() })).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "100"), ("scsi0", "local-lvm:1")]).await;
    let st = api.wait(&upid).await;
    assert_ne!(st["exitstatus"], "OK");
    assert!(!st["exitstatus"].as_str().unwrap().is_empty());
    let log = api.get(&format!("/nodes/pve1/tasks/{}/log", upid.as_str().unwrap())).await;
    assert!(log.to_string().contains("TASK ERROR"), "{log}");
    assert_eq!(
        api.call(Method::GET, "/nodes/pve1/qemu/100/config", &[]).await.status,
        500,
        "a failed create leaves nothing"
    );
    api.sim.shutdown().await;

    let api = Api::start(f(FaultConfig { lock_contention_rate: 1.0, ..Default::default() })).await;
    let started = std::time::Instant::now();
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/9000/config", &[("description", "x")]).await;
    assert_eq!(r.body["message"], "can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout\n");
    // Like a real contended lock, the writer waits out the lock timeout (300 ms here) first.
    assert!(started.elapsed() >= Duration::from_millis(300), "failed after {:?}", started.elapsed());
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "501")]).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn state_file_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sim-state.json");
    let api = Api::start(SimOptions { state_file: Some(state.clone()), ..opts() }).await;
    create_vm(&api, "pve2", "123", &[]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "kept")]).await;
    let before = api.get("/nodes/pve2/qemu/123/config").await;
    api.sim.shutdown().await;
    assert!(state.is_file());
    let api = Api::start(SimOptions { state_file: Some(state), ..opts() }).await;
    assert_eq!(api.get("/nodes/pve2/qemu/123/config").await, before, "same config, same digest");
    assert_eq!(api.get("/pools").await[0]["poolid"], "kept");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn bad_cluster_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(&path, r#"{"nodes": [{"name": "a"}], "guests": [{"vmid": 100, "type": "qemu", "node": "zz"}]}"#)
        .unwrap();
    let err = sim::start(SimOptions { cluster: Some(path.clone()), ..opts() }).await.unwrap_err().to_string();
    assert!(err.contains("c.json") && err.contains("no node \"zz\""), "{err}");
    let err = sim::start(SimOptions { token: Some("nonsense".into()), ..opts() }).await.unwrap_err().to_string();
    assert!(err.contains("USER@REALM!TOKENID=SECRET"), "{err}");
}

#[test]
fn cli_serve_json_and_default_cluster() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"))
        .args(["sim", "serve", "--listen", "127.0.0.1:0", "--http", "--json", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap()).lines().next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert!(v["endpoint"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(v["token_id"], "root@pam!pmx");
    assert_eq!(v["token_secret"].as_str().unwrap().len(), 36, "a UUID secret");
    assert_eq!(v["fingerprint"], "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmx")).args(["sim", "default-cluster"]).output().unwrap();
    let cluster: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cluster["nodes"].as_array().unwrap().len(), 3);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"))
        .args(["sim", "serve", "--listen", "127.0.0.1:0", "--fault-error-rate", "2"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fault-error-rate must be between 0 and 1"));
}

#[test]
fn cli_serve_prints_eval_ready_exports() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"))
        .args(["sim", "serve", "--listen", "127.0.0.1:0", "--token", "root@pam!ci=s3cret", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let got: Vec<String> = (0..4).map(|_| lines.next().unwrap().unwrap()).collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(got[0].starts_with("export PMX_ENDPOINT=https://127.0.0.1:"), "{got:?}");
    assert_eq!(got[1], "export PMX_TOKEN_ID='root@pam!ci'");
    assert_eq!(got[2], "export PMX_TOKEN_SECRET=s3cret");
    assert!(got[3].starts_with("export PMX_FINGERPRINT=") && got[3].len() == "export PMX_FINGERPRINT=".len() + 95);
}
