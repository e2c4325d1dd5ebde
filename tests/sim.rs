//! The simulator over real sockets with a real HTTP client: wire format, tasks, locks, digests,
//! pending changes, capacity, parameter checks, auth, faults, and conformance with PVE's schema
//! and recorded responses in ../shared/pve-api.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pmx::sim::{self, FaultConfig, RunningSim, SimOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn opts() -> SimOptions {
    SimOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        tls: false,
        task_duration: Duration::from_millis(50),
        lock_timeout: Duration::from_millis(300),
        ..SimOptions::default()
    }
}

struct Api {
    sim: RunningSim,
    http: reqwest::Client,
}

struct Resp {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Api {
    async fn start(o: SimOptions) -> Api {
        let sim = sim::start(o).await.expect("simulator starts");
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(20));
        if !sim.ca_pem.is_empty() {
            b = b.add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap());
        }
        Api { http: b.build().unwrap(), sim }
    }

    fn auth(&self) -> String {
        format!("PVEAPIToken={}={}", self.sim.token_id, self.sim.token_secret)
    }

    async fn call(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Resp {
        let url = format!("{}/api2/json{path}", self.sim.base_url);
        let mut req = self.http.request(method.clone(), &url).header("Authorization", self.auth());
        if method == Method::GET || method == Method::DELETE {
            req = req.query(form);
        } else {
            req = req.form(form);
        }
        let r = req.send().await.expect("request goes through");
        let status = r.status();
        let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let text = r.text().await.unwrap();
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: bad JSON {e}: {text}"));
        Resp { status, content_type, body }
    }

    async fn get(&self, path: &str) -> Value {
        let r = self.call(Method::GET, path, &[]).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body["data"].clone()
    }

    async fn ok(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let r = self.call(method.clone(), path, form).await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
        r.body["data"].clone()
    }

    /// Waits for a task and returns its final status.
    async fn wait(&self, upid: &Value) -> Value {
        let upid = upid.as_str().unwrap_or_else(|| panic!("not a UPID: {upid}"));
        let node = upid.split(':').nth(1).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let st = self.get(&format!("/nodes/{node}/tasks/{upid}/status")).await;
            if st["status"] == "stopped" {
                return st;
            }
            assert!(Instant::now() < deadline, "task {upid} never finished");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn run_ok(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let upid = self.ok(method, path, form).await;
        let st = self.wait(&upid).await;
        assert_eq!(st["exitstatus"], "OK", "{path}: {st}");
        st
    }
}

/// Raw HTTP/1.1 exchange, to see the status line exactly as sent.
async fn raw_status_line(api: &Api, method: &str, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(api.sim.addr).await.unwrap();
    let req = format!(
        "{method} /api2/json{path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        api.auth(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).lines().next().unwrap_or("").to_string()
}

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
async fn qemu_lifecycle_with_normalised_config() {
    let api = Api::start(opts()).await;
    let next = api.get("/cluster/nextid").await;
    assert_eq!(next, json!("100"), "nextid is a string");
    let upid = api
        .ok(
            Method::POST,
            "/nodes/pve1/qemu",
            &[
                ("vmid", "100"),
                ("name", "web"),
                ("memory", "1024"),
                ("cores", "2"),
                ("net0", "virtio,bridge=vmbr0"),
                ("scsi0", "local-lvm:8"),
            ],
        )
        .await;
    let u = upid.as_str().unwrap();
    let parts: Vec<&str> = u.split(':').collect();
    assert_eq!((parts[0], parts[1], parts[5], parts[6], parts[7]), ("UPID", "pve1", "qmcreate", "100", "root@pam!pmx"));
    let running = api.get(&format!("/nodes/pve1/tasks/{u}/status")).await;
    assert_eq!(running["status"], "running");
    assert!(running.get("exitstatus").is_none());
    let done = api.wait(&upid).await;
    assert_eq!(done["exitstatus"], "OK");
    assert_eq!(done["tokenid"], "pmx");
    let log = api.get(&format!("/nodes/pve1/tasks/{u}/log")).await;
    assert_eq!(log.as_array().unwrap().last().unwrap()["t"], "TASK OK");

    let cfg = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "local-lvm:vm-100-disk-0,size=8G");
    let net0 = cfg["net0"].as_str().unwrap();
    assert!(net0.starts_with("virtio=BC:24:11:") && net0.ends_with(",bridge=vmbr0"), "{net0}");
    assert_eq!(net0.len(), "virtio=BC:24:11:00:00:00,bridge=vmbr0".len());
    assert_eq!(cfg["cores"], 2);
    assert_eq!(cfg["memory"], "1024");
    assert_eq!(cfg["digest"].as_str().unwrap().len(), 40);

    let res = api.get("/cluster/resources?type=vm").await;
    let row = res.as_array().unwrap().iter().find(|r| r["id"] == "qemu/100").unwrap().clone();
    assert_eq!(row["vmid"], 100, "vmid is a number in cluster/resources");
    assert_eq!(row["status"], "stopped");
    assert!(res.as_array().unwrap().iter().all(|r| r["type"] == "qemu" || r["type"] == "lxc"));
    assert_eq!(api.get("/cluster/nextid").await, json!("101"));

    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let cur = api.get("/nodes/pve1/qemu/100/status/current").await;
    assert_eq!(cur["status"], "running");
    assert_eq!(cur["qmpstatus"], "running");

    let r = api.call(Method::DELETE, "/nodes/pve1/qemu/100", &[]).await;
    assert_eq!(r.status, 500, "a running VM cannot be destroyed: {}", r.body);
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    api.run_ok(Method::DELETE, "/nodes/pve1/qemu/100", &[("purge", "1")]).await;
    let r = api.call(Method::GET, "/nodes/pve1/qemu/100/config", &[]).await;
    assert_eq!(r.status, 500);
    let content = api.get("/nodes/pve1/storage/local-lvm/content").await;
    assert!(!content.to_string().contains("vm-100-disk-0"), "the disk is freed");
    api.sim.shutdown().await;
}

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PMX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    dir.join("pve-api/pve-api-schema.json").is_file().then_some(dir)
}

async fn api() -> Api {
    Api::start(opts()).await
}

async fn create_vm(api: &Api, node: &str, vmid: &str, extra: &[(&str, &str)]) {
    let mut form =
        vec![("vmid", vmid), ("name", "t"), ("cores", "2"), ("net0", "virtio,bridge=vmbr0"), ("scsi0", "local-lvm:2")];
    form.extend_from_slice(extra);
    api.run_ok(Method::POST, &format!("/nodes/{node}/qemu"), &form).await;
}

#[tokio::test]
async fn config_lock_times_out_with_pves_message() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.sim.hold_lock(100, Duration::from_millis(1500));
    let started = Instant::now();
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4")]).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["message"], "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n");
    assert!(started.elapsed() >= Duration::from_millis(300), "the writer waited for the lock first");
    let line = raw_status_line(&api, "PUT", "/nodes/pve1/qemu/100/config", "cores=4").await;
    assert_eq!(line, "HTTP/1.1 500 can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
    // A task that cannot get the lock fails with the same message.
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
    // Once the holder is done, writes go through.
    tokio::time::sleep(Duration::from_millis(1600).saturating_sub(started.elapsed())).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/config").await["cores"], 4);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn a_second_writer_waits_for_a_running_task() {
    let api = Api::start(SimOptions {
        task_duration: Duration::from_millis(400),
        lock_timeout: Duration::from_secs(5),
        ..opts()
    })
    .await;
    create_vm(&api, "pve1", "100", &[]).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    let t = Instant::now();
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("description", "waited")]).await;
    assert!(t.elapsed() >= Duration::from_millis(250), "PUT returned before the task released the lock");
    assert_eq!(api.get(&format!("/nodes/pve1/tasks/{}/status", upid.as_str().unwrap())).await["status"], "stopped");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn clone_locks_its_source_and_links_to_the_template() {
    let api = Api::start(SimOptions {
        task_duration: Duration::from_millis(700),
        lock_timeout: Duration::from_millis(200),
        ..opts()
    })
    .await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "101"), ("name", "linked")]).await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/9000/config", &[("description", "x")]).await;
    assert_eq!(r.body["message"], "can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout\n");
    let during = api.get("/nodes/pve1/qemu/101/config").await;
    assert_eq!(during["lock"], "clone");
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    let cfg = api.get("/nodes/pve1/qemu/101/config").await;
    assert!(cfg.get("lock").is_none());
    assert_eq!(cfg["name"], "linked");
    assert_eq!(cfg["scsi0"], "local-lvm:base-9000-disk-0/vm-101-disk-0,discard=on,size=3G");
    let src = api.get("/nodes/pve1/qemu/9000/config").await;
    assert_ne!(cfg["net0"], src["net0"], "a clone gets a new MAC");
    assert_eq!(cfg["net0"].as_str().unwrap().len(), src["net0"].as_str().unwrap().len());
    // Full clone to its own disk.
    api.run_ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "102"), ("full", "1")]).await;
    let full = api.get("/nodes/pve1/qemu/102/config").await;
    assert_eq!(full["scsi0"], "local-lvm:vm-102-disk-0,discard=on,size=3G");
    assert_eq!(full["name"], "Copy-of-VM-debian-12-cloud");
    // Linked clones only from templates; local storage cannot be cloned to another node.
    let r = api.call(Method::POST, "/nodes/pve1/qemu/102/clone", &[("newid", "103"), ("full", "0")]).await;
    assert_eq!(r.status, 500);
    let r = api.call(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "103"), ("target", "pve2")]).await;
    assert_eq!(r.status, 500);
    assert!(r.body["message"].as_str().unwrap().contains("local storage"), "{}", r.body);
    // The template cannot go while a linked clone uses its base disk.
    let r = api.call(Method::DELETE, "/nodes/pve1/qemu/9000", &[]).await;
    assert_eq!(r.status, 500);
    assert!(r.body["message"].as_str().unwrap().contains("base-9000-disk-0"), "{}", r.body);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn stale_digest_fails_as_pve_fails() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let d1 = api.get("/nodes/pve1/qemu/100/config").await["digest"].as_str().unwrap().to_string();
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "3"), ("digest", &d1)]).await;
    let d2 = api.get("/nodes/pve1/qemu/100/config").await["digest"].as_str().unwrap().to_string();
    assert_ne!(d1, d2, "the digest follows the config");
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("digest", &d1)]).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["message"], "detected modified configuration - file changed by other user? Try again.\n");
    assert_eq!(api.get("/nodes/pve1/qemu/100/config").await["cores"], 3, "nothing changed");
    // The async POST reports it through its task.
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("digest", &d1)]).await;
    let st = api.wait(&upid).await;
    assert!(st["exitstatus"].as_str().unwrap().starts_with("detected modified configuration"), "{st}");
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("digest", &d2)]).await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn running_guest_changes_wait_in_pending_until_reboot() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "4"), ("name", "renamed"), ("delete", "net0")])
        .await;
    let current = api.get("/nodes/pve1/qemu/100/config?current=1").await;
    assert_eq!(current["cores"], 2, "cores is not hot-pluggable");
    assert_eq!(current["name"], "renamed", "name applies at once");
    assert!(current.get("net0").is_none(), "NICs hot-unplug");
    let with_pending = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(with_pending["cores"], 4, "without current=1, pending values show");
    let pending = api.get("/nodes/pve1/qemu/100/pending").await;
    let cores = pending.as_array().unwrap().iter().find(|r| r["key"] == "cores").unwrap();
    assert_eq!((&cores["value"], &cores["pending"]), (&json!(2), &json!(4)));
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("delete", "memory,sockets")]).await;
    // Revert one pending change.
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("sockets", "2")]).await;
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("revert", "sockets")]).await;
    assert!(!api.get("/nodes/pve1/qemu/100/pending").await.to_string().contains("\"sockets\""));
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/reboot", &[]).await;
    let after = api.get("/nodes/pve1/qemu/100/config?current=1").await;
    assert_eq!(after["cores"], 4, "reboot applies pending changes");
    let pending = api.get("/nodes/pve1/qemu/100/pending").await;
    assert!(pending.as_array().unwrap().iter().all(|r| r.get("pending").is_none() && r.get("delete").is_none()));
    // Stop + start applies them too.
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("cores", "6")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/config?current=1").await["cores"], 4);
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/config?current=1").await["cores"], 6);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn disks_are_allocated_replaced_and_capacity_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.json");
    std::fs::write(
        &cluster,
        json!({
            "nodes": [{"name": "n1"}],
            "storages": [{"id": "small", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 10}],
        })
        .to_string(),
    )
    .unwrap();
    let api = Api::start(SimOptions { cluster: Some(cluster), ..opts() }).await;
    api.run_ok(
        Method::POST,
        "/nodes/n1/qemu",
        &[("vmid", "100"), ("scsi0", "small:6"), ("efidisk0", "small:1,efitype=4m")],
    )
    .await;
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    // Named in config-key order, as qemu-server allocates them: efidisk0 before scsi0.
    assert_eq!(cfg["efidisk0"], "small:vm-100-disk-0,efitype=4m,size=4M");
    assert_eq!(cfg["scsi0"], "small:vm-100-disk-1,size=6G");
    let r = api.call(Method::POST, "/nodes/n1/qemu", &[("vmid", "101"), ("scsi0", "small:6")]).await;
    assert_eq!(r.status, 500);
    assert!(r.body["message"].as_str().unwrap().contains("not enough free space on storage 'small'"), "{}", r.body);
    assert!(api.call(Method::GET, "/nodes/n1/qemu/101/config", &[]).await.status == 500, "nothing was created");
    let r = api.call(Method::PUT, "/nodes/n1/qemu/100/resize", &[("disk", "scsi0"), ("size", "+8G")]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    api.run_ok(Method::PUT, "/nodes/n1/qemu/100/resize", &[("disk", "scsi0"), ("size", "+2G")]).await;
    assert_eq!(api.get("/nodes/n1/qemu/100/config").await["scsi0"], "small:vm-100-disk-1,size=8G");
    let r = api.call(Method::PUT, "/nodes/n1/qemu/100/resize", &[("disk", "scsi0"), ("size", "4G")]).await;
    assert_eq!(r.status, 500, "no shrinking");
    // Replacing a disk keeps the old volume as unused0; deleting unused0 frees it.
    api.ok(Method::PUT, "/nodes/n1/qemu/100/config", &[("scsi0", "small:1")]).await;
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "small:vm-100-disk-2,size=1G");
    assert_eq!(cfg["unused0"], "small:vm-100-disk-1");
    api.ok(Method::PUT, "/nodes/n1/qemu/100/config", &[("delete", "unused0")]).await;
    let status = api.get("/nodes/n1/storage/small/status").await;
    assert_eq!(status["used"], (1u64 << 30) + (4 << 20));
    let r = api.call(Method::POST, "/nodes/n1/qemu", &[("vmid", "102"), ("scsi0", "nostore:1")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn disks_and_volumes_move_between_storages() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.json");
    std::fs::write(
        &cluster,
        json!({
            "nodes": [{"name": "n1"}],
            "storages": [
                {"id": "fast", "type": "lvmthin", "content": ["images", "rootdir"], "capacity_gib": 100},
                {"id": "slow", "type": "dir", "path": "/mnt/slow", "content": ["images", "rootdir"], "capacity_gib": 9},
                {"id": "isos", "type": "dir", "path": "/mnt/iso", "content": ["iso", "vztmpl"], "capacity_gib": 100},
            ],
            "templates": [{"volid": "isos:vztmpl/x.tar.zst"}],
        })
        .to_string(),
    )
    .unwrap();
    let api = Api::start(SimOptions { cluster: Some(cluster), ..opts() }).await;
    api.run_ok(Method::POST, "/nodes/n1/qemu", &[("vmid", "100"), ("scsi0", "fast:4,iothread=1"), ("scsi1", "fast:8")])
        .await;
    let digest = api.get("/nodes/n1/qemu/100/config").await["digest"].as_str().unwrap().to_string();
    let st = api
        .wait(&api.ok(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi0"), ("storage", "slow")]).await)
        .await;
    assert_eq!(st["exitstatus"], "OK");
    assert!(st["upid"].as_str().unwrap().contains(":qmmove:100:"), "{st}");
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "slow:100/vm-100-disk-0.raw,iothread=1,size=4G", "options and size kept");
    assert_eq!(cfg["unused0"], "fast:vm-100-disk-0", "the source stays, unused");
    assert_ne!(cfg["digest"], digest.as_str());
    // A stale digest, the same storage, too little room, and a storage for other content fail.
    let r = api
        .call(
            Method::POST,
            "/nodes/n1/qemu/100/move_disk",
            &[("disk", "scsi1"), ("storage", "slow"), ("digest", &digest)],
        )
        .await;
    assert!(r.body["message"].as_str().unwrap().contains("file changed by other user"), "{}", r.body);
    let r = api.call(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi0"), ("storage", "slow")]).await;
    assert_eq!(r.body["message"], "you can't move to the same storage with same format\n");
    let r = api.call(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi1"), ("storage", "slow")]).await;
    assert!(r.body["message"].as_str().unwrap().contains("not enough free space on storage 'slow'"), "{}", r.body);
    let r = api.call(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi1"), ("storage", "isos")]).await;
    assert!(r.body["message"].as_str().unwrap().contains("does not support content-type 'images'"), "{}", r.body);
    let r = api.call(Method::POST, "/nodes/n1/qemu/100/move_disk", &[("disk", "scsi9"), ("storage", "slow")]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    // With delete=1 the source volume is freed.
    api.run_ok(
        Method::POST,
        "/nodes/n1/qemu/100/move_disk",
        &[("disk", "scsi0"), ("storage", "fast"), ("delete", "1")],
    )
    .await;
    let cfg = api.get("/nodes/n1/qemu/100/config").await;
    assert_eq!(cfg["scsi0"], "fast:vm-100-disk-2,iothread=1,size=4G");
    assert_eq!(api.get("/nodes/n1/storage/slow/status").await["used"], 0);

    // A container's volume moves only while it is stopped.
    let create =
        &[("vmid", "200"), ("ostemplate", "isos:vztmpl/x.tar.zst"), ("rootfs", "fast:2"), ("unprivileged", "1")];
    let st = api.wait(&api.ok(Method::POST, "/nodes/n1/lxc", create).await).await;
    assert_eq!(st["exitstatus"], "WARNINGS: 1", "PVE warns about nesting: {st}");
    api.run_ok(
        Method::POST,
        "/nodes/n1/lxc/200/move_volume",
        &[("volume", "rootfs"), ("storage", "slow"), ("delete", "1")],
    )
    .await;
    assert_eq!(api.get("/nodes/n1/lxc/200/config").await["rootfs"], "slow:200/vm-200-disk-0.raw,size=2G");
    api.run_ok(Method::POST, "/nodes/n1/lxc/200/status/start", &[]).await;
    let r = api.call(Method::POST, "/nodes/n1/lxc/200/move_volume", &[("volume", "rootfs"), ("storage", "fast")]).await;
    assert_eq!(r.body["message"], "cannot move volumes of a running container\n");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn lxc_lifecycle_with_warnings() {
    let api = api().await;
    let upid = api
        .ok(
            Method::POST,
            "/nodes/pve2/lxc",
            &[
                ("vmid", "200"),
                ("hostname", "ct1"),
                ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
                ("rootfs", "local-lvm:8"),
                ("memory", "1024"),
                ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
                ("password", "not-stored"),
                ("unprivileged", "1"),
            ],
        )
        .await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "WARNINGS: 1", "systemd nesting warning, as real PVE gives");
    let cfg = api.get("/nodes/pve2/lxc/200/config").await;
    assert_eq!(cfg["rootfs"], "local-lvm:vm-200-disk-0,size=8G");
    assert_eq!(cfg["memory"], 1024, "lxc memory is a number");
    assert_eq!(cfg["ostype"], "debian");
    assert!(cfg["net0"].as_str().unwrap().contains(",hwaddr=BC:24:11:"));
    assert!(cfg.get("password").is_none());
    let list = api.get("/nodes/pve2/lxc").await;
    assert_eq!(list[0]["vmid"], 200);
    assert_eq!(list[0]["type"], "lxc");
    api.run_ok(Method::POST, "/nodes/pve2/lxc/200/status/start", &[]).await;
    api.ok(Method::PUT, "/nodes/pve2/lxc/200/config", &[("memory", "2048"), ("ostype", "ubuntu")]).await;
    let cur = api.get("/nodes/pve2/lxc/200/config?current=1").await;
    assert_eq!(cur["memory"], 2048, "memory is hot for containers");
    assert_eq!(cur["ostype"], "debian", "ostype waits for a restart");
    let r = api
        .call(Method::POST, "/nodes/pve2/lxc", &[("vmid", "201"), ("ostemplate", "local:vztmpl/nope.tar.zst")])
        .await;
    assert_eq!(r.status, 500);
    api.run_ok(Method::DELETE, "/nodes/pve2/lxc/200", &[("force", "1"), ("purge", "1")]).await;
    assert_eq!(api.get("/nodes/pve2/lxc").await, json!([]));
    api.sim.shutdown().await;
}

#[tokio::test]
async fn template_migrate_and_protection() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[("protection", "1")]).await;
    let r = api.call(Method::DELETE, "/nodes/pve1/qemu/100", &[]).await;
    assert!(r.body["message"].as_str().unwrap().contains("protection"), "{}", r.body);
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("delete", "protection")]).await;
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/migrate", &[("target", "pve3")]).await;
    let res = api.get("/cluster/resources?type=vm").await;
    let row = res.as_array().unwrap().iter().find(|r| r["vmid"] == 100).unwrap();
    assert_eq!(row["node"], "pve3");
    assert!(api.get("/nodes/pve3/storage/local-lvm/content?vmid=100").await.to_string().contains("vm-100-disk-0"));
    api.run_ok(Method::POST, "/nodes/pve3/qemu/100/status/start", &[]).await;
    let r = api.call(Method::POST, "/nodes/pve3/qemu/100/migrate", &[("target", "pve1")]).await;
    assert_eq!(r.body["message"], "can't migrate running VM without --online\n");
    api.run_ok(Method::POST, "/nodes/pve3/qemu/100/status/stop", &[]).await;
    api.run_ok(Method::POST, "/nodes/pve3/qemu/100/template", &[]).await;
    let cfg = api.get("/nodes/pve3/qemu/100/config").await;
    assert_eq!(cfg["template"], 1);
    assert_eq!(cfg["scsi0"], "local-lvm:base-100-disk-0,size=2G");
    let r = api.call(Method::POST, "/nodes/pve3/qemu/100/status/start", &[]).await;
    assert_eq!(r.status, 500);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn pools_lifecycle() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "prod"), ("comment", "Production")]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "dev")]).await;
    let r = api.call(Method::POST, "/pools", &[("poolid", "prod")]).await;
    assert_eq!(r.body["message"], "pool 'prod' already exists\n");
    api.ok(Method::PUT, "/pools", &[("poolid", "prod"), ("vms", "100"), ("storage", "local-lvm")]).await;
    let pools = api.get("/pools?poolid=prod").await;
    assert_eq!(pools[0]["comment"], "Production");
    let members = pools[0]["members"].as_array().unwrap();
    assert!(members.iter().any(|m| m["id"] == "qemu/100" && m["vmid"] == 100));
    assert!(members.iter().any(|m| m["type"] == "storage"));
    let r = api.call(Method::PUT, "/pools", &[("poolid", "dev"), ("vms", "100")]).await;
    assert_eq!(r.status, 500, "already in a pool");
    api.ok(Method::PUT, "/pools", &[("poolid", "dev"), ("vms", "100"), ("allow-move", "1")]).await;
    let one = api.get("/pools/dev").await;
    assert_eq!(one["members"][0]["vmid"], 100);
    let r = api.call(Method::DELETE, "/pools", &[("poolid", "dev")]).await;
    assert_eq!(r.body["message"], "pool 'dev' is not empty\n");
    api.ok(Method::PUT, "/pools", &[("poolid", "dev"), ("vms", "100"), ("delete", "1")]).await;
    api.ok(Method::DELETE, "/pools", &[("poolid", "dev")]).await;
    let r = api.call(Method::GET, "/pools/dev", &[]).await;
    assert_eq!(r.status, 500);
    let res = api.get("/cluster/resources").await;
    assert!(res.as_array().unwrap().iter().any(|r| r["id"] == "pool/prod" && r["type"] == "pool"));
    api.sim.shutdown().await;
}

#[tokio::test]
async fn nextid_does_not_reserve_and_rejects_taken_ids() {
    let api = api().await;
    assert_eq!(api.get("/cluster/nextid").await, json!("100"));
    assert_eq!(api.get("/cluster/nextid").await, json!("100"), "asking twice gives the same id");
    assert_eq!(api.get("/cluster/nextid?vmid=150").await, json!("150"));
    let r = api.call(Method::GET, "/cluster/nextid", &[("vmid", "9000")]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"]["vmid"], "VM 9000 already exists");
    let r = api.call(Method::POST, "/nodes/pve2/qemu", &[("vmid", "9000")]).await;
    assert_eq!(r.status, 500, "{}", r.body);
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

// ---------------------------------------------------------------------------------------------
// Conformance with ../shared/pve-api: the schema (routes, methods, parameters) and the recorded
// responses (shapes: keys and JSON types).

/// `../shared`, or None after saying so (a failure under CI=true).
fn shared_or_skip() -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared not found (required under CI=true)");
        println!("skipped: ../shared not found");
    }
    dir
}

fn schema_index(shared: &std::path::Path) -> std::collections::HashMap<(String, String), Value> {
    let text = std::fs::read_to_string(shared.join("pve-api/pve-api-schema.json")).unwrap();
    let tree: Value = serde_json::from_str(&text).unwrap();
    let mut index = std::collections::HashMap::new();
    fn walk(node: &Value, index: &mut std::collections::HashMap<(String, String), Value>) {
        if let Some(info) = node["info"].as_object() {
            for (method, def) in info {
                index.insert((method.clone(), node["path"].as_str().unwrap_or("").to_string()), def.clone());
            }
        }
        for child in node["children"].as_array().into_iter().flatten() {
            walk(child, index);
        }
    }
    for node in tree.as_array().unwrap() {
        walk(node, &mut index);
    }
    index
}

#[test]
fn conformance_routes_and_parameters_exist_in_the_pve_schema() {
    let Some(shared) = shared_or_skip() else { return };
    let index = schema_index(&shared);
    let mut problems = Vec::new();
    for r in sim::routes() {
        let Some(def) = index.get(&(r.method.to_string(), r.path.to_string())) else {
            problems.push(format!("{} {} is not in the schema", r.method, r.path));
            continue;
        };
        let props = def["parameters"]["properties"].as_object().cloned().unwrap_or_default();
        for p in r.params {
            if !props.contains_key(*p) {
                problems.push(format!("{} {}: parameter {p} is not in the schema", r.method, r.path));
            }
        }
        for (name, prop) in &props {
            let optional = prop["optional"].as_i64() == Some(1) || prop["optional"] == json!(true);
            let in_path = r.path.contains(&format!("{{{name}}}"));
            if !optional && !in_path && !r.params.contains(&name.as_str()) {
                problems.push(format!("{} {}: required parameter {name} is not accepted", r.method, r.path));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(sim::routes().len() >= 50);
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares `ours` with a recorded value: same JSON types for shared keys; object keys of the
/// recording must be present unless listed in `optional`.
fn shape_diff(rec: &Value, ours: &Value, at: &str, optional: &[&str], out: &mut Vec<String>) {
    match (rec, ours) {
        (Value::Null, _) => {}
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                match o.get(k) {
                    Some(ov) => shape_diff(rv, ov, &format!("{at}.{k}"), optional, out),
                    None if optional.contains(&k.as_str()) => {}
                    None => out.push(format!("{at}: missing key {k:?}")),
                }
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if o.is_empty() || r.is_empty() {
                if r.is_empty() != o.is_empty() {
                    out.push(format!("{at}: one array is empty ({} vs {})", r.len(), o.len()));
                }
                return;
            }
            // Rows of the same `type` are compared; keys every recorded row of a type has are required.
            let mut groups: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
            for row in r {
                groups.entry(row["type"].as_str().unwrap_or("").to_string()).or_default().push(row);
            }
            for (ty, rows) in groups {
                let mine =
                    if ty.is_empty() { o.first() } else { o.iter().find(|x| x["type"].as_str() == Some(ty.as_str())) };
                let Some(mine) = mine else {
                    if ty.is_empty() || !optional.contains(&ty.as_str()) {
                        out.push(format!("{at}: no row of type {ty:?}"));
                    }
                    continue;
                };
                let mut common = rows[0].clone();
                if let Some(obj) = common.as_object_mut() {
                    obj.retain(|k, _| rows.iter().all(|row| row.get(k).is_some()));
                }
                shape_diff(&common, mine, &format!("{at}[type={ty}]"), optional, out);
            }
        }
        (r, o) if json_kind(r) != json_kind(o) => {
            out.push(format!("{at}: recorded {} but got {} ({o})", json_kind(r), json_kind(o)));
        }
        _ => {}
    }
}

#[tokio::test]
async fn conformance_responses_have_the_recorded_shapes() {
    let Some(shared) = shared_or_skip() else { return };
    let fixture = |name: &str| -> Value {
        let text = std::fs::read_to_string(shared.join("pve-api/fixtures").join(name)).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let api = Api::start(SimOptions { task_duration: Duration::from_millis(300), ..opts() }).await;
    let mut problems = Vec::new();
    let mut check = |name: &str, ours: &Value, optional: &[&str]| {
        let rec = fixture(name);
        shape_diff(&rec, ours, name, optional, &mut problems);
    };
    // Writes return UPIDs (or null), and tasks have the recorded status shapes.
    let create = api
        .call(
            Method::POST,
            "/nodes/pve1/qemu",
            &[
                ("vmid", "100"),
                ("name", "a"),
                ("cores", "1"),
                ("net0", "virtio,bridge=vmbr0"),
                ("scsi0", "local-lvm:8"),
            ],
        )
        .await;
    check("qemu-create.POST.json", &create.body, &[]);
    let upid = create.body["data"].clone();
    let running = api.call(Method::GET, &format!("/nodes/pve1/tasks/{}/status", upid.as_str().unwrap()), &[]).await;
    check("task-status-running.GET.json", &running.body, &[]);
    assert_eq!(running.body["data"]["status"], "running");
    let stopped = api.wait(&upid).await;
    check("task-status-stopped-ok.GET.json", &json!({"data": stopped}), &[]);
    let ct = api
        .call(
            Method::POST,
            "/nodes/pve1/lxc",
            &[
                ("vmid", "200"),
                ("hostname", "c"),
                ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
                ("rootfs", "local-lvm:4"),
                ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
                ("tags", "a;b"),
            ],
        )
        .await;
    check("lxc-create.POST.json", &ct.body, &[]);
    let warned = api.wait(&ct.body["data"]).await;
    check("task-status-stopped-warnings.GET.json", &json!({"data": warned}), &[]);
    let start = api.call(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    check("qemu-status-start.POST.json", &start.body, &[]);
    api.wait(&start.body["data"]).await;
    let ct_start = api.call(Method::POST, "/nodes/pve1/lxc/200/status/start", &[]).await;
    check("lxc-status-start.POST.json", &ct_start.body, &[]);
    api.wait(&ct_start.body["data"]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "p"), ("comment", "c")]).await;
    api.ok(Method::PUT, "/pools", &[("poolid", "p"), ("vms", "100"), ("storage", "local")]).await;
    let put = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("tags", "x;y")]).await;
    check("put-returns-null.PUT.json", &put.body, &[]);

    // Reads.
    let get = |p: &'static str| {
        let api = &api;
        async move { api.call(Method::GET, p, &[]).await.body }
    };
    check("version.GET.json", &get("/version").await, &[]);
    check("nodes.GET.json", &get("/nodes").await, &[]);
    check("cluster-resources.GET.json", &get("/cluster/resources").await, &[]);
    check("cluster-resources-type-vm.GET.json", &get("/cluster/resources?type=vm").await, &["hastate"]);
    check("cluster-nextid.GET.json", &get("/cluster/nextid").await, &[]);
    check("cluster-nextid-error-400.GET.json", &get("/cluster/nextid?vmid=100").await, &[]);
    check("nodes-qemu-empty.GET.json", &get("/nodes/pve3/qemu").await, &[]);
    check("lxc-list.GET.json", &get("/nodes/pve1/lxc").await, &[]);
    check("lxc-config.GET.json", &get("/nodes/pve1/lxc/200/config").await, &["memory", "swap", "cores"]);
    let qcfg = get("/nodes/pve1/qemu/100/config").await;
    // The recorded config holds devices this VM lacks; types must agree for the keys it has.
    let rec = fixture("qemu-config.GET.json");
    let shared_keys: Vec<String> =
        rec["data"].as_object().unwrap().keys().filter(|k| qcfg["data"].get(k.as_str()).is_none()).cloned().collect();
    let shared_refs: Vec<&str> = shared_keys.iter().map(String::as_str).filter(|k| *k != "digest").collect();
    check("qemu-config.GET.json", &qcfg, &shared_refs);
    check(
        "qemu-status-current.GET.json",
        &get("/nodes/pve1/qemu/100/status/current").await,
        &[
            "shares",
            "spice",
            "blockstat",
            "balloon",
            "freemem",
            "ballooninfo",
            "balloon_min",
            "proxmox-support",
            "nics",
        ],
    );
    check("node-storage.GET.json", &get("/nodes/pve1/storage").await, &[]);
    check("storage.GET.json", &get("/storage").await, &[]);
    check("pools.GET.json", &get("/pools").await, &[]);
    check(
        "node-network.GET.json",
        &get("/nodes/pve1/network").await,
        &["vlan", "comments", "bridge_vids", "bridge_vlan_aware"],
    );
    check(
        "access-ticket.POST.json",
        &api.call(Method::POST, "/access/ticket", &[("username", "root@pam"), ("password", &api.sim.password)])
            .await
            .body,
        &[],
    );
    check("error-400-parameter-verification.json", &get("/cluster/nextid?vmid=abc").await, &["name"]);
    check("error-500-message.json", &get("/nodes/pve1/qemu/999/config").await, &[]);

    // Deletes.
    let stop = api.call(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    check("qemu-status-stop.POST.json", &stop.body, &[]);
    api.wait(&stop.body["data"]).await;
    let del = api.call(Method::DELETE, "/nodes/pve1/qemu/100", &[]).await;
    check("qemu-destroy.DELETE.json", &del.body, &[]);
    let del = api.call(Method::DELETE, "/nodes/pve1/lxc/200", &[("force", "1")]).await;
    check("lxc-destroy.DELETE.json", &del.body, &[]);
    api.sim.shutdown().await;
    assert!(problems.is_empty(), "shape differences:\n{}", problems.join("\n"));
}

#[tokio::test]
async fn stopping_a_task_cancels_its_work() {
    let api = Api::start(SimOptions { task_duration: Duration::from_millis(400), ..opts() }).await;
    let upid = api.ok(Method::POST, "/nodes/pve1/qemu", &[("vmid", "100"), ("scsi0", "local-lvm:1")]).await;
    let u = upid.as_str().unwrap();
    api.ok(Method::DELETE, &format!("/nodes/pve1/tasks/{u}"), &[]).await;
    let st = api.wait(&upid).await;
    assert_eq!(st["exitstatus"], "interrupted by signal");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        api.call(Method::GET, "/nodes/pve1/qemu/100/config", &[]).await.status,
        500,
        "the create was rolled back"
    );
    let tasks = api.get("/cluster/tasks").await;
    assert_eq!(tasks[0]["upid"], u);
    assert_eq!(tasks[0]["status"], "interrupted by signal");
    let node_tasks = api.get("/nodes/pve1/tasks?errors=1").await;
    assert_eq!(node_tasks.as_array().unwrap().len(), 1);
    api.sim.shutdown().await;
}

/// Behaviours a reviewer compared with qemu-server and pve-container, one request each.
#[tokio::test]
async fn create_clone_pool_and_power_details_follow_pve() {
    let api = Api::start(SimOptions { task_duration: Duration::from_millis(400), ..opts() }).await;
    // Create writes PVE's default boot order: first disk (ide, scsi, virtio, sata), first CD-ROM
    // or cloud-init drive, first NIC.
    let form = [
        ("vmid", "700"),
        ("sata0", "local-lvm:1"),
        ("scsi0", "local-lvm:8"),
        ("net1", "virtio,bridge=vmbr0"),
        ("net0", "virtio,bridge=vmbr0"),
        ("ide2", "local-lvm:cloudinit"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/qemu", &form).await;
    let cfg = api.get("/nodes/pve1/qemu/700/config").await;
    assert_eq!(cfg["boot"], "order=scsi0;ide2;net0");
    // A disk needs a volume ID: a bare size is a parameter error, as in PVE.
    let r =
        api.call(Method::POST, "/nodes/pve1/qemu", &[("vmid", "701"), ("scsi0", "8"), ("storage", "local-lvm")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Volumes that are not there, and import-from with a size, are refused.
    for bad in ["local-lvm:vm-9000-disk-7", "local-lvm:-5", "local-lvm:8,import-from=local:iso/nope.img"] {
        let r = api.call(Method::PUT, "/nodes/pve1/qemu/700/config", &[("scsi1", bad)]).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/700/config", &[]).await;
    assert_eq!(r.body["message"], "no options specified\n");

    // Unnamed guests show as "VM <vmid>"; maxdisk is the boot disk's size.
    api.run_ok(
        Method::POST,
        "/nodes/pve1/qemu",
        &[("vmid", "600"), ("efidisk0", "local-lvm:1"), ("scsi0", "local-lvm:8")],
    )
    .await;
    let st = api.get("/nodes/pve1/qemu/600/status/current").await;
    assert_eq!(st["name"], "VM 600");
    assert_eq!(st["maxdisk"], 8u64 << 30);
    let cfg = api.get("/nodes/pve1/qemu/600/config").await;
    assert_eq!(cfg["efidisk0"], "local-lvm:vm-600-disk-0,size=4M");

    // Two clones of one stopped template run side by side (the source is locked shared).
    let a = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "800")]).await;
    let b = api.ok(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "801"), ("full", "1")]).await;
    assert_eq!(api.wait(&a).await["exitstatus"], "OK");
    assert_eq!(api.wait(&b).await["exitstatus"], "OK");
    api.run_ok(Method::POST, "/nodes/pve1/qemu/600/clone", &[("newid", "602")]).await;
    assert_eq!(api.get("/nodes/pve1/qemu/602/config").await["name"], "Copy-of-VM-600");
    let r = api.call(Method::POST, "/nodes/pve1/qemu/9000/clone", &[("newid", "803"), ("format", "qcow2")]).await;
    assert_eq!(r.body["message"], "parameter 'format' not allowed for linked clones\n");

    // Pools: adding a member twice, and asking for a pool that is not there.
    api.ok(Method::POST, "/pools", &[("poolid", "p1")]).await;
    api.ok(Method::PUT, "/pools", &[("poolid", "p1"), ("vms", "600")]).await;
    let r = api.call(Method::PUT, "/pools", &[("poolid", "p1"), ("vms", "600")]).await;
    assert_eq!(r.body["message"], "VM 600 is already a pool member\n");
    let r = api.call(Method::GET, "/pools", &[("poolid", "nope")]).await;
    assert_eq!(r.body["message"], "pool 'nope' does not exist\n");

    // A stopped VM's shutdown is an OK task; a running VM with local disks migrates live only
    // with with-local-disks.
    let st = api.wait(&api.ok(Method::POST, "/nodes/pve1/qemu/600/status/shutdown", &[]).await).await;
    assert_eq!(st["exitstatus"], "OK");
    api.run_ok(Method::POST, "/nodes/pve1/qemu/600/status/start", &[]).await;
    let st = api
        .wait(&api.ok(Method::POST, "/nodes/pve1/qemu/600/migrate", &[("target", "pve2"), ("online", "1")]).await)
        .await;
    assert!(st["exitstatus"].as_str().unwrap().contains("without with-local-disks option"), "{st}");
    api.run_ok(
        Method::POST,
        "/nodes/pve1/qemu/600/migrate",
        &[("target", "pve2"), ("online", "1"), ("with-local-disks", "1")],
    )
    .await;

    // A container's rootfs cannot be deleted.
    let ct = &[
        ("vmid", "900"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("storage", "local-lvm"),
    ];
    api.wait(&api.ok(Method::POST, "/nodes/pve2/lxc", ct).await).await;
    let r = api.call(Method::PUT, "/nodes/pve2/lxc/900/config", &[("delete", "rootfs")]).await;
    assert_eq!(r.body["message"], "unable to delete required option 'rootfs'\n");
    api.sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Parameter formats: property strings key by key, named formats, and the parameters PVE lists.

/// Sends `param=value` (plus `base`) and expects PVE's `400 Parameter verification failed.` with
/// `errors[param]` equal to `want` (or starting with it when `want` ends in `…`).
async fn refused(api: &Api, method: Method, path: &str, base: &[(&str, &str)], param: &str, value: &str, want: &str) {
    let mut form = base.to_vec();
    form.push((param, value));
    let r = api.call(method.clone(), path, &form).await;
    assert_eq!(r.status, 400, "{method} {path} {param}={value:?} must be refused: {}", r.body);
    assert_eq!(r.body["message"], "Parameter verification failed.\n");
    let errors = r.body["errors"].as_object().unwrap_or_else(|| panic!("no errors map: {}", r.body));
    assert_eq!(errors.keys().collect::<Vec<_>>(), vec![param], "{param}={value:?}: only {param} is wrong: {}", r.body);
    let got = errors[param].as_str().unwrap();
    match want.strip_suffix('…') {
        Some(prefix) => assert!(got.starts_with(prefix), "{param}={value:?}: {got:?} should start with {prefix:?}"),
        None => assert_eq!(got, want, "{param}={value:?}"),
    }
}

#[tokio::test]
async fn qemu_property_strings_are_verified_key_by_key() {
    let api = api().await;
    let base = &[("vmid", "150")];
    let cases: &[(&str, &str, &str)] = &[
        ("net0", "virtio,bridge=vmbr0,tag=0", "invalid format - format error\nnet0.tag: value must have a minimum value of 1\n"),
        ("net0", "virtio,tag=4095", "invalid format - format error\nnet0.tag: value must have a maximum value of 4094\n"),
        ("net1", "virtio,bogus=1", "invalid format - invalid key in comma-separated list property: bogus\n"),
        (
            "net0",
            "e1000-82599,bridge=vmbr0",
            "invalid format - format error\nnet0.model: value 'e1000-82599' does not have a value in the enumeration 'e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er, ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3'\n",
        ),
        ("net0", "virtio,firewall=maybe", "invalid format - format error\nnet0.firewall: type check ('boolean') failed - got 'maybe'\n"),
        ("net0", "virtio,link_down=2", "invalid format - format error\nnet0.link_down: type check ('boolean') failed - got '2'\n"),
        (
            "net0",
            "virtio=01:00:00:00:00:01",
            "invalid format - format error\nnet0.macaddr: invalid format - value does not look like a valid unicast MAC address\n\n",
        ),
        ("net0", "virtio,mtu=70000", "invalid format - format error\nnet0.mtu: value must have a maximum value of 65520\n"),
        ("net0", "virtio,queues=65", "invalid format - format error\nnet0.queues: value must have a maximum value of 64\n"),
        ("net0", "virtio,rate=-1", "invalid format - format error\nnet0.rate: value must have a minimum value of 0\n"),
        ("net0", "virtio,trunks=10,20", "invalid format - duplicate key in comma-separated list property: model\n"),
        ("net0", "virtio=BC:24:11:00:00:01,macaddr=BC:24:11:00:00:02", "invalid format - duplicate key in comma-separated list property: macaddr\n"),
        ("net0", "virtio,trunks=10;x", "invalid format - format error\nnet0.trunks: value does not match the regex pattern\n"),
        ("net0", "bridge=vmbr0", "invalid format - format error\nnet0.model: property is missing and it is not optional\n"),
        ("net0", "model=virtio,e1000=BC:24:11:00:00:01", "invalid format - key alias 'model' is already defined\n"),
        ("scsi0", "local-lvm:2,iothread=maybe", "invalid format - format error\nscsi0.iothread: type check ('boolean') failed - got 'maybe'\n"),
        ("scsi0", "local-lvm:2,ssd=x", "invalid format - format error\nscsi0.ssd: type check ('boolean') failed - got 'x'\n"),
        (
            "scsi0",
            "local-lvm:2,discard=yes",
            "invalid format - format error\nscsi0.discard: value 'yes' does not have a value in the enumeration 'ignore, on'\n",
        ),
        ("scsi0", "local-lvm:2,backup=nope", "invalid format - format error\nscsi0.backup: type check ('boolean') failed - got 'nope'\n"),
        ("scsi0", "local-lvm:2,replicate=nope", "invalid format - format error\nscsi0.replicate: type check ('boolean') failed - got 'nope'\n"),
        (
            "scsi0",
            "local-lvm:2,cache=fast",
            "invalid format - format error\nscsi0.cache: value 'fast' does not have a value in the enumeration 'none, writethrough, writeback, unsafe, directsync'\n",
        ),
        (
            "scsi0",
            "local-lvm:2,aio=posix",
            "invalid format - format error\nscsi0.aio: value 'posix' does not have a value in the enumeration 'native, threads, io_uring'\n",
        ),
        ("scsi0", "local-lvm:vm-150-disk-0,size=8X", "invalid format - format error\nscsi0.size: invalid format - value '8X' is not a valid disk size\n\n"),
        ("scsi0", "local-lvm:2,speed=9", "invalid format - invalid key in comma-separated list property: speed\n"),
        ("scsi0", "nostorage", "invalid format - format error\nscsi0.file: invalid format - unable to parse volume ID 'nostorage'\n\n"),
        ("virtio0", "local-lvm:2,ssd=1", "invalid format - invalid key in comma-separated list property: ssd\n"),
        ("sata0", "local-lvm:2,iothread=1", "invalid format - invalid key in comma-separated list property: iothread\n"),
        ("ide2", "local-lvm:2,ro=1", "invalid format - invalid key in comma-separated list property: ro\n"),
        (
            "efidisk0",
            "local-lvm:1,efitype=8m",
            "invalid format - format error\nefidisk0.efitype: value '8m' does not have a value in the enumeration '2m, 4m'\n",
        ),
        ("efidisk0", "local-lvm:1,pre-enrolled-keys=perhaps", "invalid format - format error\nefidisk0.pre-enrolled-keys: type check ('boolean') failed - got 'perhaps'\n"),
        (
            "tpmstate0",
            "local-lvm:1,version=v3.0",
            "invalid format - format error\ntpmstate0.version: value 'v3.0' does not have a value in the enumeration 'v1.2, v2.0'\n",
        ),
        ("agent", "maybe", "invalid format - format error\nagent.enabled: type check ('boolean') failed - got 'maybe'\n"),
        ("agent", "type=isa", "invalid format - format error\nagent.enabled: property is missing and it is not optional\n"),
        (
            "agent",
            "1,type=usb",
            "invalid format - format error\nagent.type: value 'usb' does not have a value in the enumeration 'virtio, isa'\n",
        ),
        ("agent", "1,freeze=1", "invalid format - invalid key in comma-separated list property: freeze\n"),
        ("boot", "order=scsi0;floppy0", "invalid format - format error\nboot.order: invalid format - invalid boot device 'floppy0'\n\n"),
        ("boot", "order=efidisk0", "invalid format - format error\nboot.order: invalid format - invalid boot device 'efidisk0'\n\n"),
        ("boot", "xyz", "invalid format - format error\nboot.legacy: value does not match the regex pattern\n"),
        ("cpu", "Pentium9", "invalid format - Built-in cputype 'Pentium9' is not defined (missing 'custom-' prefix?)\n"),
        ("cpu", "flags=+aes", "invalid format - CPU is missing cputype\n"),
        ("cpu", "host,hidden=sometimes", "invalid format - format error\nhidden: type check ('boolean') failed - got 'sometimes'\n"),
        ("cpu", "host,flags=aes", "invalid format - format error\nflags: value does not match the regex pattern\n"),
        ("vga", "type=hdmi", "invalid format - format error\nvga.type: value 'hdmi' does not have a value in the enumeration 'cirrus, qxl, qxl2, qxl3, qxl4, none, serial0, serial1, serial2, serial3, std, virtio, virtio-gl, vmware'\n"),
        ("vga", "std,memory=1024", "invalid format - format error\nvga.memory: value must have a maximum value of 512\n"),
        ("startup", "order=first", "invalid format - unable to parse startup options\n"),
        ("startup", "order=1,later=5", "invalid format - unable to parse startup options\n"),
        ("ipconfig0", "ip=10.0.0.5", "invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"),
    ];
    for (param, value, want) in cases {
        refused(&api, Method::POST, "/nodes/pve1/qemu", base, param, value, want).await;
    }
    // The same rules on update.
    create_vm(&api, "pve1", "100", &[]).await;
    refused(
        &api,
        Method::PUT,
        "/nodes/pve1/qemu/100/config",
        &[],
        "net1",
        "virtio,tag=0",
        "invalid format - format error\nnet1.tag: value must have a minimum value of 1\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu/100/config",
        &[],
        "scsi1",
        "local-lvm:1,ssd=2",
        "invalid format - format error\nscsi1.ssd: type check ('boolean') failed - got '2'\n",
    )
    .await;
    api.sim.shutdown().await;
}

#[tokio::test]
async fn qemu_valid_property_strings_pass() {
    let api = api().await;
    let form = &[
        ("vmid", "150"),
        ("name", "web-1.example.com"),
        ("net0", "e1000-82540em,bridge=vmbr0"),
        ("net1", "e1000-82544gc=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,link_down=0,tag=4094"),
        ("net2", "model=e1000-82545em,bridge=vmbr0,trunks=10-20;30,rate=12.5,queues=4,mtu=1"),
        ("net3", "virtio=bc:24:11:aa:bb:cc,bridge=vmbr0"),
        ("scsi0", "local-lvm:2,iothread=1,ssd=on,discard=on,backup=0,replicate=no,cache=writeback,aio=io_uring"),
        ("virtio0", "file=local-lvm:1,iothread=true,ro=0,discard=ignore"),
        ("sata0", "local-lvm:1,ssd=1,wwn=0x5000c500a1b2c3d4"),
        ("ide2", "none,media=cdrom"),
        ("efidisk0", "local-lvm:1,efitype=4m,pre-enrolled-keys=1"),
        ("tpmstate0", "local-lvm:1,version=v2.0"),
        ("agent", "enabled=1,fstrim_cloned_disks=1,type=virtio"),
        ("boot", "order=scsi0;ide2;net0"),
        ("cpu", "x86-64-v2-AES,flags=+aes;-pcid"),
        ("vga", "serial0"),
        ("startup", "order=1,up=30,down=60"),
        ("tags", "web;prod,pmx"),
        ("ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1"),
    ];
    api.run_ok(Method::POST, "/nodes/pve1/qemu", form).await;
    let cfg = api.get("/nodes/pve1/qemu/150/config").await;
    assert!(cfg["net1"].as_str().unwrap().starts_with("e1000-82544gc="), "{}", cfg["net1"]);
    for (param, value) in [
        ("cpu", "cputype=host,hidden=1"),
        ("agent", "1"),
        ("agent", "0"),
        ("boot", "cdn"),
        ("boot", "legacy=c"),
        ("vga", "type=qxl,memory=32"),
        ("startup", "5"),
        ("net4", "virtio"),
        ("net5", "vmxnet3,bridge=vmbr0"),
    ] {
        let r = api.call(Method::PUT, "/nodes/pve1/qemu/150/config", &[(param, value)]).await;
        assert_eq!(r.status, 200, "{param}={value}: {}", r.body);
    }
    api.sim.shutdown().await;
}

#[tokio::test]
async fn lxc_property_strings_are_verified_key_by_key() {
    let api = api().await;
    let base = &[
        ("vmid", "250"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("unprivileged", "1"),
    ];
    let cases: &[(&str, &str, &str)] = &[
        ("net0", "bridge=vmbr0", "invalid format - format error\nnet0.name: property is missing and it is not optional\n"),
        ("net0", "name=eth0,tag=5000", "invalid format - format error\nnet0.tag: value must have a maximum value of 4094\n"),
        ("net0", "name=eth0,firewall=sure", "invalid format - format error\nnet0.firewall: type check ('boolean') failed - got 'sure'\n"),
        ("net0", "name=eth0,model=virtio", "invalid format - invalid key in comma-separated list property: model\n"),
        ("net0", "name=eth0,ip=10.0.0.5", "invalid format - format error\nnet0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"),
        ("net0", "name=eth0,mtu=10", "invalid format - format error\nnet0.mtu: value must have a minimum value of 64\n"),
        ("rootfs", "local-lvm:8,quota=maybe", "invalid format - format error\nrootfs.quota: type check ('boolean') failed - got 'maybe'\n"),
        ("rootfs", "local-lvm:8,mountoptions=fast", "invalid format - format error\nrootfs.mountoptions: value does not match the regex pattern\n"),
        ("rootfs", "local-lvm:8,backup=1", "invalid format - invalid key in comma-separated list property: backup\n"),
        ("mp0", "local-lvm:8", "invalid format - format error\nmp0.mp: property is missing and it is not optional\n"),
        ("mp0", "local-lvm:8,mp=/srv/../etc", "invalid format - format error\nmp0.mp: invalid format - /srv/../etc contains illegal character sequences\n\n"),
        ("features", "nesting=maybe", "invalid format - format error\nfeatures.nesting: type check ('boolean') failed - got 'maybe'\n"),
        ("features", "nesting=1,docker=1", "invalid format - invalid key in comma-separated list property: docker\n"),
        ("features", "1", "invalid format - value without key, but schema does not define a default key\n"),
        ("hostname", "ct_1", "invalid format - value does not look like a valid DNS name\n"),
        ("startup", "up=soon", "invalid format - unable to parse startup options\n"),
    ];
    for (param, value, want) in cases {
        refused(&api, Method::POST, "/nodes/pve2/lxc", base, param, value, want).await;
    }
    let mut good = base.to_vec();
    good.extend_from_slice(&[
        ("hostname", "ct-1.lan"),
        ("rootfs", "local-lvm:8,mountoptions=noatime;nodev,acl=1"),
        ("net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto,firewall=1,tag=10,trunks=10;20"),
        ("features", "nesting=1"),
        ("startup", "order=2,up=10"),
        ("tags", "pmx;lxc"),
    ]);
    let upid = api.ok(Method::POST, "/nodes/pve2/lxc", &good).await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK", "nesting is on, so no systemd warning");
    let cfg = api.get("/nodes/pve2/lxc/250/config").await;
    assert_eq!(cfg["hostname"], "ct-1.lan");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn simple_formats_follow_pve() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let base = &[("vmid", "150")];
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "name",
        "web_1",
        "invalid format - value does not look like a valid DNS name\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "name",
        "-web",
        "invalid format - value does not look like a valid DNS name\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "tags",
        "ok;b@d",
        "invalid format - invalid characters in tag\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "pool",
        "a/b/c/d",
        "invalid format - pool name 'a/b/c/d' nested too deeply (max levels = 3)\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu",
        base,
        "storage",
        "local lvm",
        "invalid format - storage ID 'local lvm' contains illegal characters\n",
    )
    .await;
    let cfg_path = "/nodes/pve1/qemu/100/config";
    refused(
        &api,
        Method::PUT,
        cfg_path,
        &[],
        "delete",
        "net0,0bad",
        "invalid format - invalid configuration ID '0bad'\n",
    )
    .await;
    refused(&api, Method::PUT, cfg_path, &[], "delete", "net0;x", "invalid format - invalid configuration ID 'x'\n")
        .await;
    let long = "a".repeat(41);
    refused(&api, Method::PUT, cfg_path, &[], "digest", &long, "value may only be 40 characters long").await;
    refused(&api, Method::POST, cfg_path, &[], "digest", &long, "value may only be 40 characters long").await;
    refused(
        &api,
        Method::PUT,
        "/nodes/pve1/qemu/100/resize",
        &[("disk", "scsi0"), ("size", "+1G")],
        "digest",
        &long,
        "value may only be 40 characters long",
    )
    .await;
    // `delete` is a config-key list on config updates, separated by commas, semicolons or spaces ...
    api.ok(Method::PUT, cfg_path, &[("tags", "a;b"), ("description", "x"), ("onboot", "1")]).await;
    api.ok(Method::PUT, cfg_path, &[("delete", "tags;description onboot")]).await;
    let cfg = api.get(cfg_path).await;
    assert!(cfg.get("tags").is_none() && cfg.get("description").is_none() && cfg.get("onboot").is_none(), "{cfg}");
    // ... and still a boolean on move_disk.
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu/100/move_disk",
        &[("disk", "scsi0"), ("storage", "local")],
        "delete",
        "scsi0",
        "type check ('boolean') failed - got 'scsi0'",
    )
    .await;
    let lxc = &[("vmid", "250"), ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")];
    refused(
        &api,
        Method::POST,
        "/nodes/pve2/lxc",
        lxc,
        "hostname",
        &format!("{}.lan", "a".repeat(252)),
        "value may only be 255 characters long",
    )
    .await;
    api.sim.shutdown().await;
}

#[tokio::test]
async fn pool_ids_follow_pve_8_1() {
    let api = api().await;
    for id in ["1bad", "0", "team_a.prod-1", "parent", "parent/child", "parent/child/leaf"] {
        let r = api.call(Method::POST, "/pools", &[("poolid", id)]).await;
        assert_eq!(r.status, 200, "pool id {id:?} is valid in PVE 8.1+: {}", r.body);
    }
    let ids: Vec<String> =
        api.get("/pools").await.as_array().unwrap().iter().map(|p| p["poolid"].as_str().unwrap().to_string()).collect();
    for id in ["1bad", "parent/child/leaf"] {
        assert!(ids.iter().any(|i| i == id), "{id} listed in {ids:?}");
    }
    refused(
        &api,
        Method::POST,
        "/pools",
        &[],
        "poolid",
        "bad pool",
        "invalid format - pool name 'bad pool' contains illegal characters\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/pools",
        &[],
        "poolid",
        "a//b",
        "invalid format - pool name 'a//b' contains illegal characters\n",
    )
    .await;
    refused(
        &api,
        Method::POST,
        "/pools",
        &[],
        "poolid",
        "a/b/c/d",
        "invalid format - pool name 'a/b/c/d' nested too deeply (max levels = 3)\n",
    )
    .await;
    // VMs join a pool whose id starts with a digit.
    create_vm(&api, "pve1", "100", &[("pool", "1bad")]).await;
    let pools = api.get("/pools?poolid=1bad").await;
    assert!(pools.to_string().contains("qemu/100"), "{pools}");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn parameters_pve_lists_are_accepted_and_checked() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let upid = api
        .ok(Method::POST, "/nodes/pve1/qemu/100/config", &[("cores", "3"), ("import-working-storage", "local-lvm")])
        .await;
    assert_eq!(api.wait(&upid).await["exitstatus"], "OK");
    refused(
        &api,
        Method::POST,
        "/nodes/pve1/qemu/100/config",
        &[],
        "import-working-storage",
        "local lvm",
        "invalid format - storage ID 'local lvm' contains illegal characters\n",
    )
    .await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("import-working-storage", "local-lvm")]).await;
    assert_eq!(r.status, 400, "PUT config has no import-working-storage in PVE: {}", r.body);
    let start = "/nodes/pve1/qemu/100/status/start";
    refused(
        &api,
        Method::POST,
        start,
        &[],
        "migration_network",
        "10.0.0.0",
        "invalid format - value does not look like a valid CIDR network\n",
    )
    .await;
    refused(&api, Method::POST, start, &[], "nets-host-mtu", "net0=big", "value does not match the regex pattern")
        .await;
    refused(
        &api,
        Method::POST,
        start,
        &[],
        "with-conntrack-state",
        "perhaps",
        "type check ('boolean') failed - got 'perhaps'",
    )
    .await;
    api.run_ok(
        Method::POST,
        start,
        &[
            ("migration_network", "10.0.0.0/24"),
            ("nets-host-mtu", "net0=1500,net1=9000"),
            ("with-conntrack-state", "1"),
        ],
    )
    .await;
    assert_eq!(api.get("/nodes/pve1/qemu/100/status/current").await["status"], "running");
    api.run_ok(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    let migrate = "/nodes/pve1/qemu/100/migrate";
    refused(
        &api,
        Method::POST,
        migrate,
        &[("target", "pve3")],
        "with-conntrack-state",
        "x",
        "type check ('boolean') failed - got 'x'",
    )
    .await;
    refused(&api, Method::POST, migrate, &[("target", "pve3")], "targetstorage", "local-lvm:bad!id", "invalid format - entry 'local-lvm:bad!id' contains invalid ID - storage ID 'bad!id' contains illegal characters\n\n").await;
    api.run_ok(
        Method::POST,
        migrate,
        &[("target", "pve3"), ("with-conntrack-state", "0"), ("migration_network", "fd00::/64")],
    )
    .await;
    api.sim.shutdown().await;
}

/// The simulator's property-string rules against the schema: every key it knows exists there with
/// the same type, enum, range, optionality and aliases, and every key the schema lists is known
/// (so only truly unknown keys are refused). Named formats whose keys the schema does not list
/// are compared with their `typetext`.
#[test]
fn conformance_property_string_keys_match_the_pve_schema() {
    let Some(shared) = shared_or_skip() else { return };
    let index = schema_index(&shared);
    let mut problems = Vec::new();
    let key_in_typetext = regex::Regex::new(r"([a-z][a-z0-9_-]*)=").unwrap();
    let rules = sim::property_string_rules();
    assert!(rules.len() >= 18, "rules for every property string: {}", rules.len());
    for (area, param, keys) in rules {
        let def = &index[&("POST".to_string(), format!("/nodes/{{node}}/{area}"))]["parameters"]["properties"][param];
        let at = format!("{area} {param}");
        match &def["format"] {
            Value::Object(schema_keys) => {
                for k in &keys {
                    let Some(sk) = schema_keys.get(k.name) else {
                        problems.push(format!("{at}: key {} is not in the schema", k.name));
                        continue;
                    };
                    if k.alias.is_some() || sk.get("alias").is_some() {
                        if sk["alias"].as_str() != k.alias || sk["keyAlias"].as_str() != k.key_alias {
                            problems
                                .push(format!("{at}.{}: alias {:?}/{:?} vs schema {sk}", k.name, k.alias, k.key_alias));
                        }
                        continue;
                    }
                    let ty = sk["type"].as_str().unwrap_or("string");
                    if ty != k.ty {
                        problems.push(format!("{at}.{}: type {} vs schema {ty}", k.name, k.ty));
                    }
                    let optional = sk["optional"].as_i64() == Some(1);
                    if optional != k.optional {
                        problems.push(format!("{at}.{}: optional {} vs schema {optional}", k.name, k.optional));
                    }
                    if (sk["default_key"].as_i64() == Some(1)) != k.default_key {
                        problems
                            .push(format!("{at}.{}: default_key {} differs from the schema", k.name, k.default_key));
                    }
                    let schema_enum: Option<Vec<&str>> =
                        sk["enum"].as_array().map(|e| e.iter().filter_map(Value::as_str).collect());
                    if schema_enum.as_deref() != k.one_of {
                        problems.push(format!("{at}.{}: enum {:?} vs schema {schema_enum:?}", k.name, k.one_of));
                    }
                    if sk["minimum"].as_i64() != k.minimum || sk["maximum"].as_i64() != k.maximum {
                        problems.push(format!(
                            "{at}.{}: range {:?}..{:?} vs schema {}..{}",
                            k.name, k.minimum, k.maximum, sk["minimum"], sk["maximum"]
                        ));
                    }
                }
                for name in schema_keys.keys() {
                    if !keys.iter().any(|k| k.name == name) {
                        problems.push(format!("{at}: schema key {name} is not known to the simulator"));
                    }
                }
            }
            Value::String(_) => {
                let typetext = def["typetext"].as_str().unwrap_or_default();
                let listed: std::collections::BTreeSet<&str> =
                    key_in_typetext.captures_iter(typetext).map(|c| c.get(1).unwrap().as_str()).collect();
                let ours: std::collections::BTreeSet<&str> = keys.iter().map(|k| k.name).collect();
                if listed != ours {
                    problems.push(format!("{at}: keys {ours:?} vs typetext {typetext:?}"));
                }
            }
            other => problems.push(format!("{at}: not a property string in the schema ({other})")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// An API token is never root@pam, even `root@pam!pmx`: what PVE keeps for root@pam itself is
/// refused to it (403 or PVE's message), and allowed to a root@pam ticket.
#[tokio::test]
async fn tokens_are_not_root_and_secrets_and_tags_read_back_as_pve_writes_them() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("args", "-cpu host")]).await;
    assert_eq!(r.body["message"], "only root can set 'args' config\n");
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("hostpci0", "0000:01:00.0")]).await;
    assert_eq!(r.body["message"], "only root can set 'hostpci0' config for non-mapped devices\n");
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("scsi1", "/dev/disk/by-id/ata-x")]).await;
    assert_eq!(
        (r.status.as_u16(), r.body["message"].as_str()),
        (403, Some("Only root can pass arbitrary filesystem paths.\n"))
    );
    let ct = [
        ("vmid", "200"),
        ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        ("storage", "local-lvm"),
        ("features", "nesting=1,keyctl=1"),
    ];
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &ct).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The API creates a privileged container unless told otherwise, so even nesting needs root.
    let mut nesting_only = ct.to_vec();
    nesting_only[3] = ("features", "nesting=1");
    let r = api.call(Method::POST, "/nodes/pve1/lxc", &nesting_only).await;
    assert_eq!(r.body["message"], "changing feature flags for privileged container is only allowed for root@pam\n");
    nesting_only.push(("unprivileged", "1"));
    api.run_ok(Method::POST, "/nodes/pve1/lxc", &nesting_only).await;
    let r = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("sshkeys", "not%20a%20key")]).await;
    assert_eq!(r.body["message"], "SSH public key validation error\n");

    // root@pam with a ticket may.
    let login = api
        .http
        .post(format!("{}/api2/json/access/ticket", api.sim.base_url))
        .form(&[("username", "root@pam"), ("password", api.sim.password.as_str())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let (ticket, csrf) =
        (login["data"]["ticket"].as_str().unwrap(), login["data"]["CSRFPreventionToken"].as_str().unwrap());
    let r = api
        .http
        .put(format!("{}/api2/json/nodes/pve1/qemu/100/config", api.sim.base_url))
        .header("Cookie", format!("PVEAuthCookie={ticket}"))
        .header("CSRFPreventionToken", csrf)
        .form(&[("args", "-cpu host")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Tags are stored as get_unique_tags writes them; the cloud-init password never reads back.
    api.ok(Method::PUT, "/nodes/pve1/qemu/100/config", &[("tags", "web,Prod;prod db"), ("cipassword", "hunter2")])
        .await;
    let cfg = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(cfg["tags"], "db;prod;web");
    assert_eq!(cfg["cipassword"], "**********");
    assert!(!api.get("/nodes/pve1/qemu/100/pending").await.to_string().contains("hunter2"));
    // A new disk drops format=; vmgenid=1 asks for a generated one.
    api.run_ok(
        Method::POST,
        "/nodes/pve1/qemu",
        &[("vmid", "101"), ("virtio0", "local-lvm:1,format=raw"), ("vmgenid", "1")],
    )
    .await;
    let cfg = api.get("/nodes/pve1/qemu/101/config").await;
    assert_eq!(cfg["virtio0"], "local-lvm:vm-101-disk-0,size=1G");
    assert_eq!(cfg["vmgenid"].as_str().map(str::len), Some(36), "{}", cfg["vmgenid"]);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn machine_serial_and_rng_are_verified() {
    let api = api().await;
    create_vm(&api, "pve1", "100", &[]).await;
    let path = "/nodes/pve1/qemu/100/config";
    for (param, value, want) in [
        ("machine", "q36", "invalid format - format error\nmachine.type: value does not match the regex pattern\n"),
        ("machine", "q35,viommu=amd", "invalid format - format error\nmachine.viommu: value 'amd' does not have a value in the enumeration 'intel, virtio'\n"),
        ("machine", "q35,aw-bits=99", "invalid format - format error\nmachine.aw-bits: value must have a maximum value of 64\n"),
        ("serial0", "pty", "value does not match the regex pattern"),
        ("rng0", "source=/dev/zero", "invalid format - format error\nrng0.source: value '/dev/zero' does not have a value in the enumeration '/dev/urandom, /dev/random, /dev/hwrng'\n"),
    ] {
        refused(&api, Method::PUT, path, &[], param, value, want).await;
    }
    for (param, value) in [
        ("machine", "pc-q35-8.1+pve0,viommu=virtio"),
        ("machine", "q35"),
        ("serial0", "socket"),
        ("serial1", "/dev/ttyS0"),
        ("rng0", "source=/dev/urandom,max_bytes=1024,period=1000"),
    ] {
        api.ok(Method::PUT, path, &[(param, value)]).await;
    }
    api.sim.shutdown().await;
}
