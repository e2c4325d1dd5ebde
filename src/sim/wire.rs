//! PVE's wire format: the `{"data": ...}` envelope, `application/json;charset=UTF-8`, the error
//! message in the HTTP reason phrase, and the `errors` map of parameter failures.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use indexmap::IndexMap;
use serde_json::Value;

pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// An API failure as PVE reports it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub errors: Option<IndexMap<String, String>>,
}

pub type ApiResult = Result<Value, ApiError>;

impl ApiError {
    /// A plain failure (PVE's `die "...\n"` becomes a 500).
    pub fn server(message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, message: message.into(), errors: None }
    }

    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), errors: None }
    }

    /// `400 Parameter verification failed.` with per-parameter messages.
    pub fn params(errors: IndexMap<String, String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: "Parameter verification failed.".into(),
            errors: Some(errors),
        }
    }

    pub fn param(name: &str, msg: impl Into<String>) -> Self {
        let mut m = IndexMap::new();
        m.insert(name.to_string(), msg.into());
        Self::params(m)
    }

    pub fn not_implemented(method: &str, path: &str) -> Self {
        ApiError::new(StatusCode::NOT_IMPLEMENTED, format!("Method '{method} {path}' not implemented"))
    }
}

/// A success response: `{"data": value}`.
pub fn ok(data: &Value) -> Response<Body> {
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(b"{\"data\":");
    // Serialising a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut body, data);
    body.push(b'}');
    json_response(StatusCode::OK, body, None)
}

/// A success response with rest_handler's `total` result attribute beside `data`.
pub fn ok_with_total(data: &Value, total: usize) -> Response<Body> {
    let body = serde_json::to_vec(&serde_json::json!({"data": data, "total": total})).unwrap_or_default();
    json_response(StatusCode::OK, body, None)
}

/// What pveproxy answers when proxying to another node fails: AnyEvent::HTTP's pseudo-status
/// (595 connection failures, 596 timeouts) and reason, no body.
pub fn proxy_failure(code: u16, reason: &str) -> Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut resp = json_response(status, Vec::new(), Some(reason));
    resp.headers_mut().remove(header::CONTENT_TYPE);
    resp
}

/// A success response from pre-serialised JSON of the data.
pub fn ok_raw(data_json: &[u8]) -> Response<Body> {
    let mut body = Vec::with_capacity(data_json.len() + 10);
    body.extend_from_slice(b"{\"data\":");
    body.extend_from_slice(data_json);
    body.push(b'}');
    json_response(StatusCode::OK, body, None)
}

pub fn error(e: &ApiError) -> Response<Body> {
    let mut obj = serde_json::Map::new();
    if let Some(errors) = &e.errors {
        obj.insert("errors".into(), serde_json::to_value(errors).unwrap_or(Value::Null));
    }
    obj.insert("data".into(), Value::Null);
    if !e.message.is_empty() {
        let mut m = e.message.clone();
        if !m.ends_with('\n') {
            m.push('\n');
        }
        obj.insert("message".into(), Value::String(m));
    }
    let body = serde_json::to_vec(&Value::Object(obj)).unwrap_or_default();
    json_response(e.status, body, Some(&e.message))
}

/// A `401` as pveproxy sends it when authentication fails: the reason in the status line, no body.
pub fn unauthorized(message: &str) -> Response<Body> {
    let mut resp = json_response(StatusCode::UNAUTHORIZED, Vec::new(), Some(message));
    resp.headers_mut().remove(header::CONTENT_TYPE);
    resp
}

/// Cuts a response body short, for the malformed-JSON fault.
pub fn truncate_body(bytes: &[u8]) -> Vec<u8> {
    let keep = (bytes.len() / 2).max(1).min(bytes.len());
    bytes[..keep].to_vec()
}

pub fn json_response(status: StatusCode, body: Vec<u8>, reason: Option<&str>) -> Response<Body> {
    let len = body.len();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::SERVER, HeaderValue::from_static("pve-api-daemon/3.0"));
    if let Some(reason) = reason {
        if let Some(phrase) = reason_phrase(reason) {
            resp.extensions_mut().insert(phrase);
        }
    }
    resp
}

/// The first line of the message, with anything a status line may not carry replaced.
fn reason_phrase(message: &str) -> Option<hyper::ext::ReasonPhrase> {
    let line = message.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return None;
    }
    let clean: String =
        line.chars().map(|c| if c == '\t' || (' '..='~').contains(&c) { c } else { '?' }).take(512).collect();
    hyper::ext::ReasonPhrase::try_from(clean.into_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrase_keeps_first_line_only() {
        let p = reason_phrase("can't lock file 'x' - got timeout\nmore").unwrap();
        assert_eq!(p.as_bytes(), b"can't lock file 'x' - got timeout");
        assert!(reason_phrase("").is_none());
        assert_eq!(reason_phrase("caf\u{e9}").unwrap().as_bytes(), b"caf?");
    }
}
