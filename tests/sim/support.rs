//! What every suite shares: a simulator on a free port, a real HTTP client, task waiting.

#![allow(dead_code, unused_imports)]

pub use std::path::PathBuf;
pub use std::time::{Duration, Instant};

pub use pmx::sim::{self, FaultConfig, RunningSim, SimOptions};
pub use reqwest::{Method, StatusCode};
pub use serde_json::{json, Value};

pub fn opts() -> SimOptions {
    SimOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        tls: false,
        task_duration: Duration::from_millis(50),
        lock_timeout: Duration::from_millis(300),
        ..SimOptions::default()
    }
}

pub struct Api {
    pub sim: RunningSim,
    pub http: reqwest::Client,
}

pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Api {
    pub async fn start(o: SimOptions) -> Api {
        let sim = sim::start(o).await.expect("simulator starts");
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(20));
        if !sim.ca_pem.is_empty() {
            b = b.add_root_certificate(reqwest::Certificate::from_pem(sim.ca_pem.as_bytes()).unwrap());
        }
        Api { http: b.build().unwrap(), sim }
    }

    pub fn auth(&self) -> String {
        format!("PVEAPIToken={}={}", self.sim.token_id, self.sim.token_secret)
    }

    pub async fn call(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Resp {
        self.call_as(&self.auth(), method, path, form).await
    }

    /// A request with another `Authorization` header (another API token).
    pub async fn call_as(&self, auth: &str, method: Method, path: &str, form: &[(&str, &str)]) -> Resp {
        let url = format!("{}/api2/json{path}", self.sim.base_url);
        let mut req = self.http.request(method.clone(), &url).header("Authorization", auth);
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

    pub async fn get(&self, path: &str) -> Value {
        let r = self.call(Method::GET, path, &[]).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body["data"].clone()
    }

    pub async fn ok(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let r = self.call(method.clone(), path, form).await;
        assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
        r.body["data"].clone()
    }

    /// Waits for a task and returns its final status.
    pub async fn wait(&self, upid: &Value) -> Value {
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

    pub async fn run_ok(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let upid = self.ok(method, path, form).await;
        let st = self.wait(&upid).await;
        assert_eq!(st["exitstatus"], "OK", "{path}: {st}");
        st
    }
}

/// Raw HTTP/1.1 exchange, to see the status line exactly as sent.
pub async fn raw_status_line(api: &Api, method: &str, path: &str, body: &str) -> String {
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

pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PMX_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    dir.join("pve-api/pve-api-schema.json").is_file().then_some(dir)
}

pub async fn api() -> Api {
    Api::start(opts()).await
}

pub async fn create_vm(api: &Api, node: &str, vmid: &str, extra: &[(&str, &str)]) {
    let mut form =
        vec![("vmid", vmid), ("name", "t"), ("cores", "2"), ("net0", "virtio,bridge=vmbr0"), ("scsi0", "local-lvm:2")];
    form.extend_from_slice(extra);
    api.run_ok(Method::POST, &format!("/nodes/{node}/qemu"), &form).await;
}
