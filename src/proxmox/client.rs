//! `PveClient`: the typed Proxmox VE API. Under it: auth headers (token or ticket, renewed),
//! a per-node concurrency limit, retries, the `{"data": ...}` envelope and error mapping.

use super::config::{ClientConfig, Credentials, Secret};
use super::error::{ApiError, Error, Result};
use super::http::{HttpRequest, HttpResponse, HttpTransport, ReqwestTransport};
use super::models::*;
use super::params::Params;
use super::retry::{classify, RetryBudget};
use super::tasks::{TaskOutcome, Upid, WaitOptions};
use indexmap::IndexMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What a path segment must escape (the rest, like `:` `@` `!` in UPIDs, PVE wants raw).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'/')
    .add(b'?')
    .add(b'#')
    .add(b'%')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Encodes one path segment.
pub fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

#[derive(Clone)]
pub struct PveClient {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ClientConfig,
    http: Box<dyn HttpTransport>,
    ticket: tokio::sync::Mutex<Option<Ticket>>,
    budget: RetryBudget,
    node_limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    other_limit: Arc<Semaphore>,
    /// Requests answered or failed for good, and retries made, for the run's metrics.
    requests: std::sync::atomic::AtomicU64,
    retries: std::sync::atomic::AtomicU64,
}

struct Ticket {
    ticket: Secret,
    csrf: Secret,
    obtained: Instant,
}

impl std::fmt::Debug for PveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PveClient").field("config", &self.inner.cfg).finish()
    }
}

/// One request as the client sends it.
struct Call<'a> {
    method: Method,
    path: &'a str,
    params: &'a Params,
    /// May run twice without harm (so it is retried on 5xx and resets).
    idempotent: bool,
}

/// How long PVE accepts a ticket (two hours); past it, only the password gets a new one.
const TICKET_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

impl PveClient {
    /// A client over HTTPS (reqwest + rustls) for `cfg`.
    pub fn new(cfg: ClientConfig) -> Result<Self> {
        let http = ReqwestTransport::new(&cfg)?;
        Ok(Self::with_transport(cfg, Box::new(http)))
    }

    /// A client over any transport (tests, or a transport with extra behaviour).
    pub fn with_transport(cfg: ClientConfig, http: Box<dyn HttpTransport>) -> Self {
        let limit = cfg.per_node_concurrency.max(1);
        PveClient {
            inner: Arc::new(Inner {
                budget: RetryBudget::new(&cfg.retry),
                cfg,
                http,
                ticket: tokio::sync::Mutex::new(None),
                node_limits: Mutex::new(HashMap::new()),
                other_limit: Arc::new(Semaphore::new(limit)),
                requests: Default::default(),
                retries: Default::default(),
            }),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    // ---- the request pipeline -------------------------------------------------------------

    /// GET `path`, decoding `data` as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, params: &Params) -> Result<T> {
        let call = Call { method: Method::GET, path, params, idempotent: true };
        self.typed(&call).await
    }

    /// A write (`POST`, `PUT`, `DELETE`) returning `data` as JSON.
    pub async fn write(&self, method: Method, path: &str, params: &Params, idempotent: bool) -> Result<Json> {
        self.request(&Call { method, path, params, idempotent }).await
    }

    async fn typed<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T> {
        // One pass from the bytes to `T` (a 10,000-guest listing is large); anything unusual
        // (an error status, no `data`) goes the general way, with its messages.
        #[derive(serde::Deserialize)]
        struct Envelope<T> {
            data: T,
        }
        let decoded = self
            .request_with(call, |resp| {
                if (200..300).contains(&resp.status) {
                    if let Ok(e) = serde_json::from_slice::<Envelope<T>>(&resp.body) {
                        return Ok(Ok(e.data));
                    }
                }
                self.decode(call, resp).map(Err)
            })
            .await?;
        match decoded {
            Ok(t) => Ok(t),
            Err(data) => serde_json::from_value(data)
                .map_err(|e| self.decode_error(call, 200, format!("unexpected shape of data: {e}"))),
        }
    }

    /// A write whose `data` is a task id.
    async fn task_write(&self, method: Method, path: &str, params: &Params) -> Result<Upid> {
        let call = Call { method, path, params, idempotent: false };
        let data = self.request(&call).await?;
        match data.as_str() {
            Some(s) => s.parse(),
            None => Err(self.decode_error(&call, 200, format!("expected a task id (UPID), got {data}"))),
        }
    }

    /// A write that returns a UPID on newer PVE and `null` on older (resize, template).
    async fn maybe_task_write(&self, method: Method, path: &str, params: &Params) -> Result<Option<Upid>> {
        let call = Call { method, path, params, idempotent: false };
        match self.request(&call).await? {
            Json::Null => Ok(None),
            Json::String(s) => s.parse().map(Some),
            other => Err(self.decode_error(&call, 200, format!("expected a task id or null, got {other}"))),
        }
    }

    /// Requests made and retries spent so far by this client (and its clones).
    pub fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.inner.requests.load(Relaxed), self.inner.retries.load(Relaxed))
    }

    async fn request(&self, call: &Call<'_>) -> Result<Json> {
        self.request_with(call, |resp| self.decode(call, resp)).await
    }

    /// Sends `call` (retrying what may be retried) and decodes the answer with `decode`.
    async fn request_with<R>(&self, call: &Call<'_>, decode: impl Fn(HttpResponse) -> Result<R>) -> Result<R> {
        let policy = &self.inner.cfg.retry;
        let mut retries = 0;
        self.inner.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        loop {
            match self.attempt(call, &decode).await {
                Ok(v) => {
                    self.inner.budget.on_success();
                    return Ok(v);
                }
                Err(e) => {
                    let reason = classify(&e, call.idempotent);
                    if reason.is_some() && retries < policy.max_retries && self.inner.budget.try_spend() {
                        retries += 1;
                        self.inner.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let delay = policy.delay(retries);
                        tracing::debug!(method = %call.method, path = call.path, ?reason, retry = retries, ?delay, "retrying");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(e.after_retries(retries).scrubbed(&self.inner.cfg.credentials.secrets()));
                }
            }
        }
    }

    /// One try: take a slot of the node's limit, authenticate, send, decode. A 401 with a ticket
    /// means it expired early (server restart, clock): log in again once and resend.
    async fn attempt<R>(&self, call: &Call<'_>, decode: &impl Fn(HttpResponse) -> Result<R>) -> Result<R> {
        let _permit = self.limit_for(call.path).acquire_owned().await;
        let started = Instant::now();
        let resp = self.send(call).await?;
        // Method, path and status only: parameters may hold passwords or keys.
        tracing::debug!(method = %call.method, path = call.path, status = resp.status, elapsed = ?started.elapsed(), "PVE API");
        if resp.status == 401 && matches!(self.inner.cfg.credentials, Credentials::Password { .. }) {
            *self.inner.ticket.lock().await = None;
            let resp = self.send(call).await?;
            return decode(resp);
        }
        decode(resp)
    }

    async fn send(&self, call: &Call<'_>) -> Result<HttpResponse> {
        let headers = self.auth_headers(&call.method).await?;
        let req = HttpRequest {
            method: call.method.clone(),
            path: call.path.to_string(),
            params: call.params.0.clone(),
            headers,
        };
        self.inner.http.send(req).await.map_err(|source| Error::Transport {
            method: call.method.to_string(),
            path: call.path.to_string(),
            endpoint: self.inner.cfg.endpoint.clone(),
            source,
            retries: 0,
        })
    }

    fn limit_for(&self, path: &str) -> Arc<Semaphore> {
        let node = path.strip_prefix("/nodes/").and_then(|rest| rest.split('/').next()).filter(|n| !n.is_empty());
        let Some(node) = node else { return self.inner.other_limit.clone() };
        let mut limits = match self.inner.node_limits.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        limits
            .entry(node.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.inner.cfg.per_node_concurrency.max(1))))
            .clone()
    }

    async fn auth_headers(&self, method: &Method) -> Result<Vec<(&'static str, String)>> {
        match &self.inner.cfg.credentials {
            Credentials::Token { token_id, secret } => {
                Ok(vec![("authorization", format!("PVEAPIToken={token_id}={}", secret.expose()))])
            }
            Credentials::Password { username, password } => {
                let mut guard = self.inner.ticket.lock().await;
                let fresh = guard.as_ref().is_some_and(|t| t.obtained.elapsed() < self.inner.cfg.ticket_renew_after);
                if !fresh {
                    // PVE renews a ticket that is still valid when it is passed as the password;
                    // only when that is refused does the real password travel again.
                    let renewed = match guard.as_ref() {
                        Some(old) if old.obtained.elapsed() < TICKET_LIFETIME => {
                            self.login(username, &old.ticket).await.ok()
                        }
                        _ => None,
                    };
                    *guard = Some(match renewed {
                        Some(t) => t,
                        None => self.login(username, password).await?,
                    });
                }
                let Some(t) = guard.as_ref() else {
                    return Err(Error::Config("no ticket after login".into()));
                };
                let mut h = vec![("cookie", format!("PVEAuthCookie={}", t.ticket.expose()))];
                if method != Method::GET {
                    h.push(("csrfpreventiontoken", t.csrf.expose().to_string()));
                }
                Ok(h)
            }
        }
    }

    /// `POST /access/ticket` with a password or a still-valid ticket: a ticket (cookie) and its
    /// CSRF token.
    async fn login(&self, username: &str, password: &Secret) -> Result<Ticket> {
        let params = Params::new().set("username", username).set("password", password.expose());
        let call = Call { method: Method::POST, path: "/access/ticket", params: &params, idempotent: true };
        let req = HttpRequest {
            method: Method::POST,
            path: call.path.to_string(),
            params: params.0.clone(),
            headers: Vec::new(),
        };
        let resp = self.inner.http.send(req).await.map_err(|source| Error::Transport {
            method: "POST".into(),
            path: call.path.into(),
            endpoint: self.inner.cfg.endpoint.clone(),
            source,
            retries: 0,
        })?;
        let data = self.decode(&call, resp)?;
        let field = |k: &str| data.get(k).and_then(Json::as_str).map(|s| Secret::new(s.to_string()));
        match (field("ticket"), field("CSRFPreventionToken")) {
            (Some(ticket), Some(csrf)) => Ok(Ticket { ticket, csrf, obtained: Instant::now() }),
            _ => Err(self.decode_error(&call, 200, "the answer holds no ticket and CSRFPreventionToken".into())),
        }
    }

    /// Maps an answer to `data` or to an error naming the request and what PVE said.
    fn decode(&self, call: &Call<'_>, resp: HttpResponse) -> Result<Json> {
        let body: std::result::Result<Json, _> = serde_json::from_slice(&resp.body);
        if (200..300).contains(&resp.status) {
            let body = body.map_err(|e| {
                self.decode_error(call, resp.status, format!("not JSON ({e}): {}", snippet(&resp.body)))
            })?;
            return match body {
                Json::Object(mut m) => Ok(m.remove("data").unwrap_or(Json::Null)),
                other => Err(self.decode_error(
                    call,
                    resp.status,
                    format!("expected {{\"data\": ...}}, got {}", short(&other)),
                )),
            };
        }
        let body = body.unwrap_or(Json::Null);
        let body_message = body.get("message").and_then(Json::as_str).map(str::trim).filter(|m| !m.is_empty());
        let mut message = match (resp.reason.as_deref().map(str::trim), body_message) {
            (Some(r), Some(b)) if b.contains(r) => b.to_string(),
            (Some(r), Some(b)) if r.contains(b) => r.to_string(),
            (Some(r), Some(b)) => format!("{r} ({b})"),
            (Some(r), None) => r.to_string(),
            (None, Some(b)) => b.to_string(),
            (None, None) => reqwest::StatusCode::from_u16(resp.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_string(),
        };
        if resp.status == 401 {
            message.push_str(match &self.inner.cfg.credentials {
                Credentials::Token { .. } => " (check token_id and token_secret, and that the token is not expired)",
                Credentials::Password { .. } => " (check username and password)",
            });
        }
        let errors: BTreeMap<String, String> = body
            .get("errors")
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Err(Error::Api(ApiError {
            method: call.method.to_string(),
            path: call.path.to_string(),
            status: resp.status,
            message,
            errors,
            retries: 0,
        }))
    }

    fn decode_error(&self, call: &Call<'_>, status: u16, detail: String) -> Error {
        Error::Decode { method: call.method.to_string(), path: call.path.to_string(), status, detail }
    }

    // ---- cluster and nodes ----------------------------------------------------------------

    pub async fn version(&self) -> Result<VersionInfo> {
        self.get("/version", &Params::new()).await
    }

    pub async fn nodes(&self) -> Result<Vec<NodeEntry>> {
        self.get("/nodes", &Params::new()).await
    }

    pub async fn node_status(&self, node: &str) -> Result<NodeStatus> {
        self.get(&format!("/nodes/{}/status", seg(node)), &Params::new()).await
    }

    /// `/cluster/resources`, optionally filtered by `type` (`vm`, `storage`, `node`, `sdn`, `pool`).
    pub async fn cluster_resources(&self, kind: Option<&str>) -> Result<Vec<ClusterResource>> {
        self.get("/cluster/resources", &Params::new().set_opt("type", kind)).await
    }

    /// The next free vmid. Like PVE, this does not reserve it.
    pub async fn next_id(&self) -> Result<u32> {
        let call = Call { method: Method::GET, path: "/cluster/nextid", params: &Params::new(), idempotent: true };
        let v = self.request(&call).await?;
        let id = match &v {
            Json::String(s) => s.trim().parse().ok(),
            Json::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => None,
        };
        id.ok_or_else(|| self.decode_error(&call, 200, format!("expected a vmid, got {v}")))
    }

    // ---- storage ----------------------------------------------------------------------------

    /// The cluster's storage definitions (`GET /storage`).
    pub async fn storages(&self) -> Result<Vec<StorageEntry>> {
        self.get("/storage", &Params::new()).await
    }

    /// A node's storages with usage, optionally only those holding `content` (`images`, ...).
    pub async fn node_storages(&self, node: &str, content: Option<&str>) -> Result<Vec<StorageEntry>> {
        self.get(&format!("/nodes/{}/storage", seg(node)), &Params::new().set_opt("content", content)).await
    }

    pub async fn storage_content(
        &self,
        node: &str,
        storage: &str,
        content: Option<&str>,
    ) -> Result<Vec<StorageContent>> {
        let path = format!("/nodes/{}/storage/{}/content", seg(node), seg(storage));
        self.get(&path, &Params::new().set_opt("content", content)).await
    }

    // ---- guests -----------------------------------------------------------------------------

    fn guest_path(node: &str, kind: &GuestKind, vmid: u32) -> String {
        format!("/nodes/{}/{}/{vmid}", seg(node), seg(kind.as_str()))
    }

    pub async fn guests(&self, node: &str, kind: &GuestKind) -> Result<Vec<GuestEntry>> {
        self.get(&format!("/nodes/{}/{}", seg(node), seg(kind.as_str())), &Params::new()).await
    }

    pub async fn qemu_config(&self, node: &str, vmid: u32) -> Result<QemuConfig> {
        self.get(&format!("{}/config", Self::guest_path(node, &GuestKind::Qemu, vmid)), &Params::new()).await
    }

    pub async fn lxc_config(&self, node: &str, vmid: u32) -> Result<LxcConfig> {
        self.get(&format!("{}/config", Self::guest_path(node, &GuestKind::Lxc, vmid)), &Params::new()).await
    }

    /// A guest's config as PVE sends it (every key, untyped).
    pub async fn guest_config(&self, node: &str, kind: &GuestKind, vmid: u32) -> Result<IndexMap<String, Json>> {
        self.get(&format!("{}/config", Self::guest_path(node, kind, vmid)), &Params::new()).await
    }

    /// The same config as a JSON object (what the codec reads), decoded in one pass.
    pub async fn guest_config_object(
        &self,
        node: &str,
        kind: &GuestKind,
        vmid: u32,
    ) -> Result<serde_json::Map<String, Json>> {
        self.get(&format!("{}/config", Self::guest_path(node, kind, vmid)), &Params::new()).await
    }

    /// Changes a config synchronously (`PUT .../config`). `digest` (from the last GET) makes PVE
    /// refuse the change if someone else changed the config since; `delete` removes keys.
    /// Changes that cannot be hot-plugged into a running guest become pending.
    pub async fn set_config(
        &self,
        node: &str,
        kind: &GuestKind,
        vmid: u32,
        params: &Params,
        digest: Option<&str>,
        delete: &[&str],
    ) -> Result<()> {
        let mut p = params.clone();
        if let Some(d) = digest {
            p.insert("digest", d.to_string());
        }
        if !delete.is_empty() {
            p.insert("delete", delete.join(","));
        }
        // Without a digest, sending the same values twice is harmless, so it may be retried.
        let idempotent = digest.is_none();
        let path = format!("{}/config", Self::guest_path(node, kind, vmid));
        self.write(Method::PUT, &path, &p, idempotent).await.map(|_| ())
    }

    /// Pending changes (`GET .../pending`): what applies on the next reboot.
    pub async fn pending(&self, node: &str, kind: &GuestKind, vmid: u32) -> Result<Vec<PendingEntry>> {
        self.get(&format!("{}/pending", Self::guest_path(node, kind, vmid)), &Params::new()).await
    }

    /// Creates a guest (`POST /nodes/{node}/{qemu|lxc}` with `vmid` and the config).
    pub async fn create_guest(&self, node: &str, kind: &GuestKind, vmid: u32, params: &Params) -> Result<Upid> {
        let p = params.clone().set("vmid", vmid);
        self.task_write(Method::POST, &format!("/nodes/{}/{}", seg(node), seg(kind.as_str())), &p).await
    }

    /// Clones `vmid` to `newid`. `params`: `name` (qemu) / `hostname` (lxc), `full`, `target`,
    /// `storage`, `pool`, `description`.
    pub async fn clone_guest(
        &self,
        node: &str,
        kind: &GuestKind,
        vmid: u32,
        newid: u32,
        params: &Params,
    ) -> Result<Upid> {
        let p = params.clone().set("newid", newid);
        self.task_write(Method::POST, &format!("{}/clone", Self::guest_path(node, kind, vmid)), &p).await
    }

    /// Converts a guest to a template.
    pub async fn template(&self, node: &str, kind: &GuestKind, vmid: u32) -> Result<Option<Upid>> {
        let path = format!("{}/template", Self::guest_path(node, kind, vmid));
        self.maybe_task_write(Method::POST, &path, &Params::new()).await
    }

    pub async fn guest_status(&self, node: &str, kind: &GuestKind, vmid: u32) -> Result<GuestStatus> {
        self.get(&format!("{}/status/current", Self::guest_path(node, kind, vmid)), &Params::new()).await
    }

    /// `start`, `stop`, `shutdown`, `reboot` (and `suspend`, `resume`, `reset`).
    pub async fn power(&self, node: &str, kind: &GuestKind, vmid: u32, action: &str, params: &Params) -> Result<Upid> {
        let path = format!("{}/status/{}", Self::guest_path(node, kind, vmid), seg(action));
        self.task_write(Method::POST, &path, params).await
    }

    pub async fn start(&self, node: &str, kind: &GuestKind, vmid: u32) -> Result<Upid> {
        self.power(node, kind, vmid, "start", &Params::new()).await
    }

    pub async fn stop(&self, node: &str, kind: &GuestKind, vmid: u32) -> Result<Upid> {
        self.power(node, kind, vmid, "stop", &Params::new()).await
    }

    pub async fn shutdown(&self, node: &str, kind: &GuestKind, vmid: u32, timeout_secs: Option<u32>) -> Result<Upid> {
        self.power(node, kind, vmid, "shutdown", &Params::new().set_opt("timeout", timeout_secs)).await
    }

    pub async fn reboot(&self, node: &str, kind: &GuestKind, vmid: u32) -> Result<Upid> {
        self.power(node, kind, vmid, "reboot", &Params::new()).await
    }

    /// Grows a disk: `size` is absolute (`32G`) or relative (`+8G`). PVE refuses shrinking.
    pub async fn resize(
        &self,
        node: &str,
        kind: &GuestKind,
        vmid: u32,
        disk: &str,
        size: &str,
    ) -> Result<Option<Upid>> {
        let path = format!("{}/resize", Self::guest_path(node, kind, vmid));
        self.maybe_task_write(Method::PUT, &path, &Params::new().set("disk", disk).set("size", size)).await
    }

    /// Moves a disk (qemu `disk`, lxc `volume`: `rootfs`, `mpN`) to another storage of the same
    /// node. The old volume is kept as `unusedN` unless `delete_source`.
    pub async fn move_disk(
        &self,
        node: &str,
        kind: &GuestKind,
        vmid: u32,
        disk: &str,
        storage: &str,
        delete_source: bool,
    ) -> Result<Upid> {
        let (call, disk_param) = match kind {
            GuestKind::Lxc => ("move_volume", "volume"),
            _ => ("move_disk", "disk"),
        };
        let p = Params::new().set(disk_param, disk).set("storage", storage).set_bool("delete", delete_source);
        self.task_write(Method::POST, &format!("{}/{call}", Self::guest_path(node, kind, vmid)), &p).await
    }

    /// Migrates to `target`; `online` for a running qemu guest (`restart` is used for lxc).
    pub async fn migrate(&self, node: &str, kind: &GuestKind, vmid: u32, target: &str, online: bool) -> Result<Upid> {
        let mut p = Params::new().set("target", target);
        if online {
            p = match kind {
                GuestKind::Lxc => p.set_bool("restart", true),
                _ => p.set_bool("online", true),
            };
        }
        self.task_write(Method::POST, &format!("{}/migrate", Self::guest_path(node, kind, vmid)), &p).await
    }

    /// Deletes a guest; `purge` also removes it from backup jobs, HA and pools.
    /// Migrates a stopped qemu guest with its local disks (PVE copies them to the target node).
    pub async fn migrate_offline_with_local_disks(&self, node: &str, vmid: u32, target: &str) -> Result<Upid> {
        let p = Params::new().set("target", target).set_bool("with-local-disks", true);
        self.task_write(Method::POST, &format!("{}/migrate", Self::guest_path(node, &GuestKind::Qemu, vmid)), &p).await
    }

    pub async fn delete_guest(&self, node: &str, kind: &GuestKind, vmid: u32, purge: bool) -> Result<Upid> {
        let p = if purge { Params::new().set_bool("purge", true) } else { Params::new() };
        self.task_write(Method::DELETE, &Self::guest_path(node, kind, vmid), &p).await
    }

    // ---- pools ------------------------------------------------------------------------------

    pub async fn pools(&self) -> Result<Vec<Pool>> {
        self.get("/pools", &Params::new()).await
    }

    /// One pool with its members. Through `GET /pools?poolid=`: `GET /pools/{poolid}` is
    /// deprecated and cannot name a nested pool (`parent/child`).
    pub async fn pool(&self, poolid: &str) -> Result<Pool> {
        let params = Params::new().set("poolid", poolid);
        let call = Call { method: Method::GET, path: "/pools", params: &params, idempotent: true };
        let v = self.request(&call).await?;
        let mut pools: Vec<Pool> = serde_json::from_value(v)
            .map_err(|e| self.decode_error(&call, 200, format!("unexpected shape of data: {e}")))?;
        match pools.iter().position(|p| p.poolid == poolid) {
            Some(i) => Ok(pools.swap_remove(i)),
            None => Err(self.decode_error(&call, 200, format!("the answer does not hold pool {poolid:?}"))),
        }
    }

    pub async fn create_pool(&self, poolid: &str, comment: Option<&str>) -> Result<()> {
        let p = Params::new().set("poolid", poolid).set_opt("comment", comment);
        self.write(Method::POST, "/pools", &p, false).await.map(|_| ())
    }

    /// Changes a pool: its comment, and adds (or with `remove`, removes) guests and storages.
    pub async fn update_pool(
        &self,
        poolid: &str,
        comment: Option<&str>,
        vms: &[u32],
        storages: &[&str],
        remove: bool,
    ) -> Result<()> {
        let mut p = Params::new().set_opt("comment", comment);
        if !vms.is_empty() {
            let list: Vec<String> = vms.iter().map(u32::to_string).collect();
            p = p.set("vms", list.join(","));
        }
        if !storages.is_empty() {
            p = p.set("storage", storages.join(","));
        }
        if remove {
            p = p.set_bool("delete", true);
        }
        self.write(Method::PUT, &format!("/pools/{}", seg(poolid)), &p, true).await.map(|_| ())
    }

    pub async fn delete_pool(&self, poolid: &str) -> Result<()> {
        self.write(Method::DELETE, &format!("/pools/{}", seg(poolid)), &Params::new(), false).await.map(|_| ())
    }

    // ---- tasks ------------------------------------------------------------------------------

    pub async fn task_status(&self, upid: &Upid) -> Result<TaskStatus> {
        self.get(&format!("/nodes/{}/tasks/{}/status", seg(&upid.node), upid.raw), &Params::new()).await
    }

    pub async fn task_log(&self, upid: &Upid, start: u64, limit: u64) -> Result<Vec<TaskLogLine>> {
        let p = Params::new().set("start", start).set("limit", limit);
        self.get(&format!("/nodes/{}/tasks/{}/log", seg(&upid.node), upid.raw), &p).await
    }

    /// Polls the task until it stops (backoff from 50 ms to 2 s). `WARNINGS: N` is success; any
    /// other non-OK exit is `Error::TaskFailed` with the last lines of the task log.
    pub async fn wait_task(&self, upid: &Upid, opts: &WaitOptions) -> Result<TaskOutcome> {
        let started = Instant::now();
        let mut interval = opts.first_interval;
        loop {
            let st = self.task_status(upid).await?;
            if st.status == TaskState::Stopped {
                let exit = st.exitstatus.as_deref().unwrap_or("unknown");
                return match TaskExit::from_exitstatus(exit) {
                    TaskExit::Ok => Ok(TaskOutcome { upid: upid.clone(), warnings: None }),
                    TaskExit::Warnings(n) => Ok(TaskOutcome { upid: upid.clone(), warnings: Some(n) }),
                    TaskExit::Failed(status) => Err(self.task_failure(upid, status, opts.log_lines).await),
                };
            }
            if started.elapsed() >= opts.timeout {
                return Err(Error::TaskTimeout { upid: upid.raw.clone(), waited_secs: started.elapsed().as_secs() });
            }
            let left = opts.timeout.saturating_sub(started.elapsed());
            tokio::time::sleep(interval.min(left).max(Duration::from_millis(1))).await;
            interval = opts.next_interval(interval);
        }
    }

    /// Runs `upid` to the end with the default wait options.
    pub async fn wait(&self, upid: &Upid) -> Result<TaskOutcome> {
        self.wait_task(upid, &WaitOptions::default()).await
    }

    async fn task_failure(&self, upid: &Upid, exitstatus: String, lines: usize) -> Error {
        // The log is a help, not a must: a failure to fetch it still reports the task's failure.
        let log_tail = match self.task_log(upid, 0, 50_000).await {
            Ok(log) => {
                let texts: Vec<String> = log.into_iter().filter_map(|l| l.t).filter(|t| !t.trim().is_empty()).collect();
                texts[texts.len().saturating_sub(lines)..].to_vec()
            }
            Err(e) => vec![format!("(task log unavailable: {e})")],
        };
        Error::TaskFailed {
            upid: upid.raw.clone(),
            task_type: upid.task_type.clone(),
            id: upid.id.clone(),
            exitstatus,
            log_tail,
        }
        .scrubbed(&self.inner.cfg.credentials.secrets())
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let t = text.trim();
    if t.is_empty() {
        return "(empty body)".into();
    }
    let cut: String = t.chars().take(120).collect();
    if cut.len() < t.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

fn short(v: &Json) -> String {
    snippet(v.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    //! The pipeline (auth, retries, decoding) over a scripted transport; the real HTTP stack
    //! is tested against the simulator in tests/client.rs.
    use super::*;
    use crate::proxmox::config::{ProviderSettings, Secret};
    use crate::proxmox::error::TransportError;
    use crate::proxmox::retry::RetryPolicy;
    use futures::future::BoxFuture;
    use std::collections::VecDeque;

    type Script = Arc<Mutex<(VecDeque<HttpResponse>, Vec<HttpRequest>)>>;

    struct Scripted(Script);

    impl HttpTransport for Scripted {
        fn send(&self, req: HttpRequest) -> BoxFuture<'_, std::result::Result<HttpResponse, TransportError>> {
            let mut s = self.0.lock().unwrap();
            s.1.push(req);
            let resp = s.0.pop_front().expect("script ran out");
            Box::pin(async move { Ok(resp) })
        }
    }

    fn resp(status: u16, reason: Option<&str>, body: &str) -> HttpResponse {
        HttpResponse { status, reason: reason.map(str::to_string), body: body.as_bytes().to_vec() }
    }

    fn client(creds: ProviderSettings, answers: Vec<HttpResponse>) -> (PveClient, Script) {
        let mut cfg = ClientConfig::from_settings(ProviderSettings { endpoint: Some("pve1".into()), ..creds }).unwrap();
        cfg.retry =
            RetryPolicy { base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2), ..cfg.retry };
        let script: Script = Arc::new(Mutex::new((answers.into(), Vec::new())));
        (PveClient::with_transport(cfg, Box::new(Scripted(script.clone()))), script)
    }

    fn token() -> ProviderSettings {
        ProviderSettings {
            token_id: Some("root@pam!pmx".into()),
            token_secret: Some(Secret::new("0b1d-secret-token")),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn lock_timeouts_are_retried_then_reported_once() {
        let lock = "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout";
        let answers = (0..5).map(|_| resp(500, Some(lock), r#"{"data":null}"#)).collect();
        let (c, script) = client(token(), answers);
        let err = c
            .set_config("pve1", &GuestKind::Qemu, 100, &Params::new().set("cores", 2), Some("abc"), &[])
            .await
            .unwrap_err();
        assert_eq!(script.lock().unwrap().1.len(), 5);
        let text = err.to_string();
        assert_eq!(text, format!("PUT /nodes/pve1/qemu/100/config: HTTP 500: {lock} (gave up after 4 retries)"));
    }

    #[tokio::test]
    async fn token_header_sent_and_never_in_errors() {
        let (c, script) = client(token(), vec![resp(401, Some("authentication failure"), "")]);
        let err = c.version().await.unwrap_err().to_string();
        let sent = &script.lock().unwrap().1[0];
        assert_eq!(sent.headers[0], ("authorization", "PVEAPIToken=root@pam!pmx=0b1d-secret-token".to_string()));
        assert!(err.starts_with("GET /version: HTTP 401: authentication failure"), "{err}");
        assert!(!err.contains("0b1d-secret-token"));
    }

    #[tokio::test]
    async fn ticket_login_then_relogin_once_on_401() {
        let creds = ProviderSettings {
            username: Some("root@pam".into()),
            password: Some(Secret::new("pw-secret-1")),
            ..Default::default()
        };
        let ticket = r#"{"data":{"ticket":"PVE:root@pam:T1","CSRFPreventionToken":"C1","username":"root@pam"}}"#;
        let ticket2 = r#"{"data":{"ticket":"PVE:root@pam:T2","CSRFPreventionToken":"C2","username":"root@pam"}}"#;
        let (c, script) = client(
            creds,
            vec![
                resp(200, None, ticket),
                resp(401, Some("invalid ticket"), ""),
                resp(200, None, ticket2),
                resp(200, None, r#"{"data":null}"#),
            ],
        );
        c.create_pool("p1", None).await.unwrap();
        let s = script.lock().unwrap();
        assert_eq!(s.1.len(), 4);
        assert_eq!(s.1[0].path, "/access/ticket");
        assert!(s.1[1].headers.contains(&("cookie", "PVEAuthCookie=PVE:root@pam:T1".into())));
        assert!(s.1[3].headers.contains(&("cookie", "PVEAuthCookie=PVE:root@pam:T2".into())));
        assert!(s.1[3].headers.contains(&("csrfpreventiontoken", "C2".into())));
    }

    #[tokio::test]
    async fn an_aging_ticket_is_renewed_with_itself_not_the_password() {
        let creds = ProviderSettings {
            username: Some("root@pam".into()),
            password: Some(Secret::new("pw-secret-1")),
            ..Default::default()
        };
        let ticket = r#"{"data":{"ticket":"PVE:root@pam:T1","CSRFPreventionToken":"C1","username":"root@pam"}}"#;
        let ticket2 = r#"{"data":{"ticket":"PVE:root@pam:T2","CSRFPreventionToken":"C2","username":"root@pam"}}"#;
        let version = r#"{"data":{"version":"8.2.4","release":"8.2","repoid":"faa83925"}}"#;
        let (mut c, script) = client(
            creds,
            vec![resp(200, None, ticket), resp(200, None, version), resp(200, None, ticket2), resp(200, None, version)],
        );
        // Every ticket counts as due for renewal.
        Arc::get_mut(&mut c.inner).expect("sole owner").cfg.ticket_renew_after = Duration::ZERO;
        c.version().await.unwrap();
        c.version().await.unwrap();
        let s = script.lock().unwrap();
        let paths: Vec<&str> = s.1.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/access/ticket", "/version", "/access/ticket", "/version"]);
        let renewal = &s.1[2].params;
        assert!(renewal.contains(&("password".to_string(), "PVE:root@pam:T1".to_string())), "{renewal:?}");
        assert!(s.1[3].headers.contains(&("cookie", "PVEAuthCookie=PVE:root@pam:T2".into())));
    }

    #[tokio::test]
    async fn parameter_errors_and_malformed_json() {
        let (c, _) = client(
            token(),
            vec![
                resp(
                    400,
                    Some("Parameter verification failed."),
                    r#"{"errors":{"memory":"value must have a minimum value of 16"},"data":null,"message":"Parameter verification failed.\n"}"#,
                ),
                resp(200, None, r#"{"data": [1, 2"#),
            ],
        );
        let err = c.create_guest("pve1", &GuestKind::Qemu, 100, &Params::new().set("memory", 1)).await.unwrap_err();
        let api = err.api().unwrap();
        assert_eq!(api.status, 400);
        assert_eq!(api.errors["memory"], "value must have a minimum value of 16");
        let err = c.nodes().await.unwrap_err().to_string();
        assert!(err.starts_with("GET /nodes: HTTP 200: cannot decode the response: not JSON"), "{err}");
    }

    /// Answers after a pause, counting requests in flight per node.
    struct Slow {
        in_flight: Arc<Mutex<HashMap<String, (usize, usize)>>>,
    }

    impl HttpTransport for Slow {
        fn send(&self, req: HttpRequest) -> BoxFuture<'_, std::result::Result<HttpResponse, TransportError>> {
            Box::pin(async move {
                let node = req.path.split('/').nth(2).unwrap_or("").to_string();
                {
                    let mut m = self.in_flight.lock().unwrap();
                    let e = m.entry(node.clone()).or_default();
                    e.0 += 1;
                    e.1 = e.1.max(e.0);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.in_flight.lock().unwrap().get_mut(&node).unwrap().0 -= 1;
                Ok(resp(200, None, r#"{"data":{"uptime":1}}"#))
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn per_node_concurrency_is_bounded() {
        let mut cfg =
            ClientConfig::from_settings(ProviderSettings { endpoint: Some("pve1".into()), ..token() }).unwrap();
        cfg.per_node_concurrency = 3;
        let in_flight = Arc::new(Mutex::new(HashMap::new()));
        let c = PveClient::with_transport(cfg, Box::new(Slow { in_flight: in_flight.clone() }));
        let calls = (0..24).map(|i| {
            let c = c.clone();
            async move { c.node_status(if i % 2 == 0 { "pve1" } else { "pve2" }).await }
        });
        for r in futures::future::join_all(calls).await {
            r.unwrap();
        }
        let m = in_flight.lock().unwrap();
        assert_eq!(m["pve1"].1, 3, "pve1 at most 3 at once, and the limit was reached");
        assert_eq!(m["pve2"].1, 3, "each node has its own limit");
    }

    #[tokio::test]
    async fn server_errors_retried_only_when_safe() {
        let (c, script) = client(token(), vec![resp(500, Some("oops"), ""), resp(200, None, r#"{"data":"105"}"#)]);
        assert_eq!(c.next_id().await.unwrap(), 105);
        assert_eq!(script.lock().unwrap().1.len(), 2);
        let (c, script) = client(token(), vec![resp(500, Some("oops"), "")]);
        let err = c.start("pve1", &GuestKind::Qemu, 100).await.unwrap_err();
        assert_eq!(err.to_string(), "POST /nodes/pve1/qemu/100/status/start: HTTP 500: oops");
        assert_eq!(script.lock().unwrap().1.len(), 1);
    }
}
