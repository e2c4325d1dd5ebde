//! The listening side: TCP (TCP_NODELAY), optional TLS, HTTP/1.1 keep-alive via hyper, the axum
//! router, authentication, fault injection and parameter verification. The shared state the
//! handlers work on is `state::Sim`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tower::ServiceExt;

use super::auth::parse_token;
use super::faults::{Faults, RequestFault};
use super::model::Cluster;
use super::params::{self, Params};
use super::routes::{self, Lookup};
use super::state::{load_cluster, Sim};
use super::wire::{self, ApiError};
use super::{handlers, tls, RunningSim, SimError, SimOptions};

pub async fn start(opts: SimOptions) -> Result<RunningSim, SimError> {
    let (token_user, token_name, token_secret) = match &opts.token {
        Some(t) => parse_token(t).ok_or_else(|| SimError::Token(t.split('=').next().unwrap_or("").to_string()))?,
        None => ("root@pam".to_string(), "pmx".to_string(), uuid::Uuid::new_v4().to_string()),
    };
    let register_token = |c: &mut Cluster| {
        // The token the simulator prints: its user exists, and unless the cluster file defines the
        // token itself it has no privilege separation (the full privileges of its user).
        let user = c.access.users.entry(token_user.clone()).or_default();
        user.enable = true;
        user.tokens
            .entry(token_name.clone())
            .or_insert_with(|| crate::sim::access::Token { privsep: false, ..Default::default() })
            .secret = token_secret.clone();
    };
    let password = opts.password.clone().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let faults = Faults::new(opts.faults.clone(), opts.seed);
    let cluster = {
        let mut mac = || {
            let r = faults.random_u32();
            format!("BC:24:11:{:02X}:{:02X}:{:02X}", (r >> 16) & 0xFF, (r >> 8) & 0xFF, r & 0xFF)
        };
        let mut c = load_cluster(&opts, &mut mac)?;
        register_token(&mut c);
        c
    };
    let std_listener =
        std::net::TcpListener::bind(opts.addr).map_err(|source| SimError::Bind { addr: opts.addr, source })?;
    std_listener.set_nonblocking(true).map_err(|source| SimError::Bind { addr: opts.addr, source })?;
    let listener =
        tokio::net::TcpListener::from_std(std_listener).map_err(|source| SimError::Bind { addr: opts.addr, source })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind { addr: opts.addr, source })?;
    let identity = if opts.tls { Some(tls::generate(&addr.ip().to_string())?) } else { None };
    let fingerprint = identity.as_ref().map(|i| i.fingerprint.clone()).unwrap_or_default();
    let sim = Arc::new(Sim::new(opts, cluster, fingerprint, password.clone(), faults));
    sim.save_state_file();
    let host = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let scheme = if identity.is_some() { "https" } else { "http" };
    let base_url = format!("{scheme}://{host}:{}", addr.port());
    let (fingerprint, ca_pem) = match &identity {
        Some(id) => (id.fingerprint.clone(), id.cert_pem.clone()),
        None => (String::new(), String::new()),
    };
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let acceptor = identity.map(|i| i.acceptor);
    let join = tokio::spawn(accept_loop(listener, acceptor, sim.clone(), rx));
    Ok(RunningSim {
        addr,
        base_url,
        token_id: format!("{token_user}!{token_name}"),
        token_secret,
        password,
        fingerprint,
        ca_pem,
        sim,
        shutdown,
        join,
    })
}

/// Marks a response whose connection is to be dropped (the reset fault).
#[derive(Clone, Copy)]
struct DropConnection;

async fn accept_loop(
    listener: tokio::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    sim: Arc<Sim>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let router = axum::Router::new().fallback(handle).with_state(sim.clone());
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let acceptor = acceptor.clone();
                conns.spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_connection(TokioIo::new(tls), router).await;
                            }
                        }
                        None => serve_connection(TokioIo::new(stream), router).await,
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve_connection<I>(io: I, router: axum::Router)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            let resp = router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e: Infallible| match e {});
            if resp.extensions().get::<DropConnection>().is_some() {
                return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault injection: reset"));
            }
            Ok::<_, std::io::Error>(resp)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, service).await;
}

/// Parameters from the query string and (for POST/PUT) the form or JSON body, like PVE merges them.
fn collect_params(query: Option<&str>, content_type: &str, body: &[u8]) -> Result<Params, ApiError> {
    let mut params = Params::new();
    if let Some(q) = query {
        for (k, v) in form_urlencoded_pairs(q.as_bytes()) {
            params.insert(k, v);
        }
    }
    if body.is_empty() {
        return Ok(params);
    }
    if content_type.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}")))?;
        let serde_json::Value::Object(map) = v else {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "JSON body must be an object"));
        };
        for (k, v) in map {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            params.insert(k, s);
        }
    } else {
        for (k, v) in form_urlencoded_pairs(body) {
            params.insert(k, v);
        }
    }
    Ok(params)
}

fn form_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default()
}

async fn handle(State(sim): State<Arc<Sim>>, req: Request) -> Response<Body> {
    let latency = sim.faults.config.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match sim.faults.for_request() {
        RequestFault::Reset => {
            let mut r = Response::new(Body::empty());
            r.extensions_mut().insert(DropConnection);
            return r;
        }
        RequestFault::Error => {
            return wire::error(&ApiError::server("simulated failure (fault injection): got unexpected error"));
        }
        RequestFault::Malformed => {
            let resp = respond(&sim, req).await;
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap_or_default();
            return wire::json_response(status, wire::truncate_body(&body), None);
        }
        RequestFault::None => {}
    }
    respond(&sim, req).await
}

/// Runs a request on one of its node's workers (the realistic profile's pveproxy/pvedaemon
/// workers): it waits for a free one, spends the request latency on it, then is answered.
async fn respond(sim: &Arc<Sim>, req: Request) -> Response<Body> {
    let latency = sim.opts.request_latency;
    if sim.workers().is_empty() {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        return respond_now(sim, req).await;
    }
    let node = req
        .uri()
        .path()
        .strip_prefix("/api2/json/nodes/")
        .and_then(|rest| rest.split('/').next())
        .filter(|n| sim.workers().contains_key(*n))
        .unwrap_or(sim.local_node())
        .to_string();
    let _worker = match sim.workers().get(&node) {
        Some(pool) => pool.clone().acquire_owned().await.ok(),
        None => None,
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    respond_now(sim, req).await
}

async fn respond_now(sim: &Arc<Sim>, req: Request) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let Some(api_path) = path.strip_prefix("/api2/json") else {
        return wire::error(&ApiError::new(StatusCode::NOT_FOUND, "Not Found"));
    };
    let method = parts.method.as_str();
    let (route, caps) = match routes::lookup(method, api_path) {
        Lookup::Found(r, caps) => (r, caps),
        Lookup::MethodNotAllowed | Lookup::NotFound => {
            return wire::error(&ApiError::not_implemented(method, api_path));
        }
    };
    let who = if route.handler == routes::Handler::AccessTicket {
        None
    } else {
        let checked = {
            let c = sim.read();
            sim.auth.check(&parts.method, &parts.headers, &c.access)
        };
        match checked {
            Ok(who) => Some(who),
            Err(e) => {
                // pve-http-server: a failed authentication is answered after a delay (3 s in
                // PVE), with the reason in the status line and no body.
                let delay = sim.opts.auth_failure_delay;
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                return wire::unauthorized(&e.message);
            }
        }
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bytes = if parts.method == Method::POST || parts.method == Method::PUT || parts.method == Method::DELETE {
        match axum::body::to_bytes(body, 8 << 20).await {
            Ok(b) => b,
            Err(_) => return wire::error(&ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")),
        }
    } else {
        Default::default()
    };
    let params = match collect_params(parts.uri.query(), content_type, &bytes) {
        Ok(p) => p,
        Err(e) => return wire::error(&e),
    };
    let mut all = params.clone();
    for (name, value) in &caps {
        all.insert((*name).to_string(), value.clone());
    }
    // rest_handler checks the method's permissions before anything else, parameters included.
    if let Some(who) = &who {
        let c = sim.read();
        if let Err(e) = handlers::access::check_api2_permissions(&c, who, routes::permission(route.handler), &all) {
            return wire::error(&e);
        }
    }
    // rest_handler then proxies to the node the method names; an unreachable node fails there.
    if let Some(node) = caps.iter().find(|(n, _)| *n == "node").map(|(_, v)| v.as_str()) {
        if let Some(mode) = sim.opts.offline_nodes.get(node) {
            return match mode {
                super::OfflineMode::Refused => wire::proxy_failure(595, "Connection refused"),
                super::OfflineMode::Timeout => {
                    tokio::time::sleep(sim.opts.proxy_timeout).await;
                    wire::proxy_failure(596, "Connection timed out")
                }
            };
        }
    }
    if let Err(e) = params::verify(route, &all) {
        return wire::error(&e);
    }
    let path_args: BTreeMap<&'static str, String> = caps.into_iter().collect();
    let ctx = handlers::Ctx { sim: sim.clone(), who, path: path_args, params };
    match handlers::dispatch(route.handler, &ctx).await {
        Ok(handlers::Reply::Json(v)) => wire::ok(&v),
        Ok(handlers::Reply::Raw(bytes)) => wire::ok_raw(&bytes),
        Ok(handlers::Reply::Total(v, total)) => wire::ok_with_total(&v, total),
        Err(e) => wire::error(&e),
    }
}
