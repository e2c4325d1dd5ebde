//! The small HTTP layer under the client (as in proxmox-rs): one trait, one reqwest
//! implementation. Auth, retries and decoding live above it, so they can wrap any transport.

use super::config::ClientConfig;
use super::error::{Error, TransportError, TransportKind};
use super::tls;
use futures::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;

/// A request to `{endpoint}/api2/json{path}`. GET and DELETE parameters travel in the query,
/// POST and PUT parameters as a form body.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub path: String,
    pub params: Vec<(String, String)>,
    /// Extra headers (auth); values are marked sensitive so they are never logged.
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// The reason phrase when it is not the standard one: PVE puts its error message there.
    pub reason: Option<String>,
    pub body: Vec<u8>,
}

pub trait HttpTransport: Send + Sync + 'static {
    fn send(&self, req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// HTTPS (rustls) via reqwest, with the configured TLS mode and timeouts.
pub struct ReqwestTransport {
    client: reqwest::Client,
    base: String,
}

impl ReqwestTransport {
    pub fn new(cfg: &ClientConfig) -> Result<Self, Error> {
        let builder = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.connect_timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(64)
            .http1_only()
            .user_agent(concat!("pmx/", env!("CARGO_PKG_VERSION")));
        let client = tls::configure(builder, &cfg.tls)?
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(ReqwestTransport { client, base: format!("{}/api2/json", cfg.endpoint) })
    }
}

impl HttpTransport for ReqwestTransport {
    fn send(&self, req: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let url = format!("{}{}", self.base, req.path);
            let mut headers = HeaderMap::new();
            for (name, value) in &req.headers {
                let mut v = HeaderValue::from_str(value).map_err(|_| TransportError {
                    kind: TransportKind::Other,
                    detail: format!("header {name} holds characters HTTP does not allow"),
                })?;
                v.set_sensitive(true);
                headers.insert(HeaderName::from_static(name), v);
            }
            let mut rb = self.client.request(req.method.clone(), &url).headers(headers);
            if !req.params.is_empty() {
                rb = if req.method == Method::GET || req.method == Method::DELETE {
                    rb.query(&req.params)
                } else {
                    rb.form(&req.params)
                };
            }
            let resp = rb.send().await.map_err(classify)?;
            let status = resp.status();
            let reason = resp
                .extensions()
                .get::<hyper::ext::ReasonPhrase>()
                .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
                .filter(|r| Some(r.as_str()) != status.canonical_reason());
            let body = resp.bytes().await.map_err(classify)?.to_vec();
            Ok(HttpResponse { status: status.as_u16(), reason, body })
        })
    }
}

/// Sorts a reqwest failure into connect / TLS / reset / timeout, with the most specific message
/// found in its chain of causes (reqwest's own text repeats the URL and hides the cause).
pub fn classify(err: reqwest::Error) -> TransportError {
    let mut kind = None;
    let mut detail = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        let (tls, io) = inspect(e);
        if let Some(t) = tls {
            kind = Some(TransportKind::Tls);
            detail = Some(t.to_string());
        } else if let Some(io) = io {
            if kind.is_none() {
                kind = match io.kind() {
                    std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof => Some(TransportKind::Reset),
                    std::io::ErrorKind::TimedOut => Some(TransportKind::Timeout),
                    _ => None,
                };
            }
            if detail.is_none() {
                detail = Some(io.to_string());
            }
        } else if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if kind.is_none() && (h.is_incomplete_message() || h.is_canceled() || h.is_closed()) {
                kind = Some(TransportKind::Reset);
            }
        }
        source = e.source();
    }
    // Some connectors hide the rustls error behind boxes that cannot be downcast; its text
    // still tells.
    if kind.is_none() && looks_like_tls(&err) {
        kind = Some(TransportKind::Tls);
    }
    let kind = kind.unwrap_or(if err.is_timeout() {
        TransportKind::Timeout
    } else if err.is_connect() {
        TransportKind::Connect
    } else if err.is_body() || err.is_request() {
        TransportKind::Reset
    } else {
        TransportKind::Other
    });
    let detail = detail.unwrap_or_else(|| deepest_message(&err));
    // rustls prints custom verifier errors as "unexpected error: ..."; the rest says it all.
    let detail = detail.strip_prefix("unexpected error: ").map(str::to_string).unwrap_or(detail);
    TransportError { kind, detail }
}

/// A rustls error or an io::Error in this link of the chain (io::Error hides the error it wraps
/// from `source()`, so look inside it).
fn inspect<'a>(e: &'a (dyn std::error::Error + 'static)) -> (Option<&'a rustls::Error>, Option<&'a std::io::Error>) {
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return (Some(t), None);
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        if let Some(t) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            return (Some(t), Some(io));
        }
        return (None, Some(io));
    }
    (None, None)
}

fn looks_like_tls(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        let m = e.to_string().to_ascii_lowercase();
        if ["certificate", "handshake", "tls", "received fatal alert", "fingerprint"].iter().any(|k| m.contains(k)) {
            return true;
        }
        source = e.source();
    }
    false
}

fn deepest_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}
