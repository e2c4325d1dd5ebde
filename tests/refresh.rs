//! `pmx refresh` end to end: the real binary reads the in-process simulator over HTTPS (the
//! certificate pinned by fingerprint) into a real SQLite state store, then sees drift made
//! behind its back.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use pmx::proxmox::{ClientConfig, GuestKind, Params, ProviderSettings, PveClient, Secret};
use pmx::sim::{RunningSim, SimOptions};
use serde_json::Value;

struct Harness {
    runtime: tokio::runtime::Runtime,
    sim: RunningSim,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let sim = runtime
            .block_on(pmx::sim::start(SimOptions {
                addr: "127.0.0.1:0".parse().unwrap(),
                tls: true,
                task_duration: Duration::from_millis(20),
                ..Default::default()
            }))
            .expect("simulator starts");
        Harness { runtime, sim, dir: tempfile::tempdir().unwrap() }
    }

    fn pmx(&self, dir: &Path, args: &[&str], secret: &str) -> Output {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"))
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("PMX_ENDPOINT", &self.sim.base_url)
            .env("PMX_TOKEN_ID", &self.sim.token_id)
            .env("PMX_TOKEN_SECRET", secret)
            .env("PMX_FINGERPRINT", &self.sim.fingerprint)
            .env_remove("PMX_STATE_URL")
            .env_remove("NO_COLOR")
            .output()
            .expect("run pmx");
        for stream in [&out.stdout, &out.stderr] {
            assert!(!String::from_utf8_lossy(stream).contains(secret), "the token secret leaked into output");
        }
        out
    }

    fn refresh_json(&self) -> Value {
        let out = self.pmx(self.dir.path(), &["refresh", "--json"], &self.sim.token_secret);
        assert!(out.status.success(), "refresh failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("refresh --json prints JSON")
    }

    fn client(&self) -> PveClient {
        let settings = ProviderSettings {
            endpoint: Some(self.sim.base_url.clone()),
            token_id: Some(self.sim.token_id.clone()),
            token_secret: Some(Secret::new(self.sim.token_secret.clone())),
            fingerprint: Some(self.sim.fingerprint.clone()),
            ..Default::default()
        };
        PveClient::new(ClientConfig::from_settings(settings).unwrap()).unwrap()
    }
}

fn addresses(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap_or(&Vec::new()).iter().map(|a| a.as_str().unwrap().to_string()).collect()
}

#[test]
fn refresh_discovers_then_records_drift() {
    let h = Harness::new();

    let first = h.refresh_json();
    let discovered = addresses(&first, "discovered");
    for expected in ["vm.discovered[9000]", "data.node.pve1", "data.node.pve3", "data.storage.local-lvm[\"pve2\"]"] {
        assert!(discovered.contains(&expected.to_string()), "{expected} not in {discovered:?}");
    }
    assert_eq!(first["serial_before"], 0);
    assert_eq!(first["serial_after"], 1);
    assert!(h.dir.path().join(".pmx/state.db").is_file(), "SQLite state is created in the project");

    // Nothing changed: nothing is written.
    let again = h.refresh_json();
    assert_eq!(again["counts"]["discovered"], 0);
    assert_eq!(again["counts"]["changed"], 0);
    assert_eq!(again["serial_after"], 1);

    // Behind pmx's back: a new pool, and the template's description edited.
    let client = h.client();
    h.runtime.block_on(async {
        client.create_pool("handmade", Some("web UI")).await.unwrap();
        let mut p = Params::new();
        p.insert("description", "edited by hand".to_string());
        client.set_config("pve1", &GuestKind::Qemu, 9000, &p, None, &[]).await.unwrap();
    });
    let drift = h.refresh_json();
    assert_eq!(addresses(&drift, "discovered"), ["pool.handmade"]);
    assert_eq!(addresses(&drift, "changed"), ["vm.discovered[9000]"]);
    assert_eq!(drift["serial_after"], 2);

    // The pool is removed by hand: refresh records it gone.
    h.runtime.block_on(async { client.delete_pool("handmade").await.unwrap() });
    let gone = h.refresh_json();
    assert_eq!(addresses(&gone, "gone"), ["pool.handmade"]);

    // The audit trail tells the story of the template.
    let out = h.pmx(h.dir.path(), &["state", "history", "vm.discovered[9000]", "--json"], &h.sim.token_secret);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let history = String::from_utf8_lossy(&out.stdout);
    assert!(history.contains("description"), "the changed key is in the history: {history}");
}

#[test]
fn a_wrong_token_is_one_clear_error_and_writes_nothing() {
    let h = Harness::new();
    let out = h.pmx(h.dir.path(), &["refresh", "--no-color"], "00000000-0000-0000-0000-000000000000");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refresh failed"), "{stderr}");
    assert!(stderr.contains("401") || stderr.to_lowercase().contains("authentication"), "{stderr}");
    let list = h.pmx(h.dir.path(), &["state", "list", "--json"], &h.sim.token_secret);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap_or(Value::Null);
    let count = listed.as_array().map(Vec::len).or_else(|| listed["resources"].as_array().map(Vec::len));
    assert_eq!(count, Some(0), "nothing recorded after a failed refresh: {listed}");
}

#[test]
fn refresh_uses_the_projects_provider_block_and_refuses_a_broken_config() {
    let h = Harness::new();
    let project = h.dir.path().join("proj");
    std::fs::create_dir(&project).unwrap();
    // The provider block names the endpoint; the environment supplies the rest.
    std::fs::write(
        project.join("main.pmx"),
        format!("provider \"proxmox\" {{\n  endpoint = \"{}\"\n}}\n", h.sim.base_url),
    )
    .unwrap();
    let out = h.pmx(&project, &["refresh", "--json"], &h.sim.token_secret);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["endpoint"], h.sim.base_url);

    std::fs::write(project.join("main.pmx"), "provider \"proxmox\" {\n  endpoitn = \"x\"\n}\n").unwrap();
    let out = h.pmx(&project, &["refresh", "--no-color"], &h.sim.token_secret);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("main.pmx:2:3"), "the diagnostic points at the file: {stderr}");
}

/// The real transport, except that right after the pool listing it deletes `pool` through the
/// simulator's API: the pool is then gone when refresh reads it, as when someone removes a pool
/// during a refresh of a live cluster.
struct DeletePoolAfterListing {
    inner: pmx::proxmox::http::ReqwestTransport,
    pool: &'static str,
}

impl pmx::proxmox::http::HttpTransport for DeletePoolAfterListing {
    fn send(
        &self,
        req: pmx::proxmox::http::HttpRequest,
    ) -> futures::future::BoxFuture<'_, Result<pmx::proxmox::http::HttpResponse, pmx::proxmox::TransportError>> {
        Box::pin(async move {
            let listing = req.method == reqwest::Method::GET && req.path == "/pools" && req.params.is_empty();
            let headers = req.headers.clone();
            let response = self.inner.send(req).await?;
            if listing {
                let delete = pmx::proxmox::http::HttpRequest {
                    method: reqwest::Method::DELETE,
                    path: format!("/pools/{}", self.pool),
                    params: Vec::new(),
                    headers,
                };
                let deleted = self.inner.send(delete).await?;
                assert_eq!(deleted.status, 200, "the pool is deleted: {}", String::from_utf8_lossy(&deleted.body));
            }
            Ok(response)
        })
    }
}

/// A pool whose read fails fails the refresh, with what Proxmox said (it used to be recorded
/// from the listing, without its members, as if nothing had happened).
#[test]
fn a_failed_pool_read_is_an_error_that_says_what_proxmox_said() {
    let h = Harness::new();
    let client = h.client();
    h.runtime.block_on(client.create_pool("doomed", Some("deleted mid-refresh"))).expect("pool created");
    let settings = ProviderSettings {
        endpoint: Some(h.sim.base_url.clone()),
        token_id: Some(h.sim.token_id.clone()),
        token_secret: Some(Secret::new(h.sim.token_secret.clone())),
        fingerprint: Some(h.sim.fingerprint.clone()),
        ..Default::default()
    };
    let config = ClientConfig::from_settings(settings).unwrap();
    let inner = pmx::proxmox::http::ReqwestTransport::new(&config).unwrap();
    let racing = PveClient::with_transport(config, Box::new(DeletePoolAfterListing { inner, pool: "doomed" }));
    let err = h.runtime.block_on(pmx::refresh::read_cluster(&racing)).expect_err("the pool read fails");
    let text = err.to_string();
    assert!(text.contains("pool 'doomed' does not exist"), "the error says what Proxmox said: {text}");
}

/// Pools are read through `GET /pools?poolid=`, which (unlike the deprecated `/pools/{poolid}`)
/// can name a nested pool, so a nested pool does not fail the refresh now that a failed read
/// is an error.
#[test]
fn nested_pools_are_read_with_their_members() {
    let h = Harness::new();
    let client = h.client();
    h.runtime.block_on(client.create_pool("team", None)).expect("parent pool");
    h.runtime.block_on(client.create_pool("team/web", Some("nested"))).expect("nested pool");
    h.runtime.block_on(client.update_pool("team/web", None, &[9000], &[], false)).expect("a member");
    let live = h.runtime.block_on(pmx::refresh::read_cluster(&client)).expect("refresh reads nested pools");
    let nested = live.iter().find(|r| r.attributes["id"] == "team/web").expect("the nested pool is read");
    assert_eq!(nested.attributes["comment"], "nested");
    // Members come only from the pool's own read (the listing has none).
    assert_eq!(nested.attributes["members"], serde_json::json!(["qemu/9000"]));
}
