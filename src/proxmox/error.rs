//! Errors of the Proxmox client. Every error names the request (method and path) and what
//! Proxmox said; none carries a secret (the client scrubs its own secrets before building one).

use std::collections::BTreeMap;
use std::fmt;

/// An HTTP error answer from PVE: status, PVE's message (reason phrase or body `message`) and
/// the per-parameter `errors` map of a 400 "Parameter verification failed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub message: String,
    pub errors: BTreeMap<String, String>,
    /// Retries made before giving up (0 when the first answer was final).
    pub retries: u32,
}

impl ApiError {
    /// PVE's own message for a config lock that could not be taken in time.
    pub fn is_lock_timeout(&self) -> bool {
        self.message.contains("can't lock file") && self.message.contains("got timeout")
    }

    /// A 5xx that says something permanent (PVE answers 500 for "does not exist" too): retrying
    /// cannot help.
    pub fn is_permanent(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        ["does not exist", "no such", "already exists", "permission check failed"].iter().any(|k| m.contains(k))
    }

    /// A stale `digest` on a config write.
    pub fn is_digest_mismatch(&self) -> bool {
        // pve-container: "detected modified configuration - file changed by other user? Try
        // again."; qemu-server: "checksum mismatch (file change by other user?)".
        self.message.contains("detected modified configuration")
            || self.message.contains("checksum mismatch")
            || self.message.contains("changed by other user")
            || self.message.contains("digest")
            || self.errors.contains_key("digest")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: HTTP {}", self.method, self.path, self.status)?;
        let msg = self.message.trim();
        if !msg.is_empty() {
            write!(f, ": {msg}")?;
        }
        if self.retries > 0 {
            write!(f, " (gave up after {} retries)", self.retries)?;
        }
        for (param, err) in &self.errors {
            write!(f, "\n  {param}: {}", err.trim())?;
        }
        Ok(())
    }
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made (refused, unreachable, DNS): the request was never sent.
    Connect,
    /// The TLS handshake failed (certificate not trusted, fingerprint mismatch).
    Tls,
    /// The connection broke after the request may have been sent.
    Reset,
    Timeout,
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "cannot connect",
            TransportKind::Tls => "TLS handshake failed",
            TransportKind::Reset => "connection reset",
            TransportKind::Timeout => "timed out",
            TransportKind::Other => "request failed",
        })
    }
}

/// A failure of the HTTP exchange itself (no answer from PVE).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct TransportError {
    pub kind: TransportKind,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The client's settings are incomplete or contradictory.
    #[error("Proxmox provider configuration: {0}")]
    Config(String),

    #[error("{0}")]
    Api(ApiError),

    #[error("{method} {path} at {endpoint}: {source}{}", retries_text(*.retries))]
    Transport { method: String, path: String, endpoint: String, source: TransportError, retries: u32 },

    /// The answer was not the JSON we expected (malformed, or a shape that does not fit).
    #[error("{method} {path}: HTTP {status}: cannot decode the response: {detail}")]
    Decode { method: String, path: String, status: u16, detail: String },

    /// A task ended with an error status.
    #[error("task {upid} ({task_type} {id}) failed: {exitstatus}{}", log_tail_text(.log_tail))]
    TaskFailed { upid: String, task_type: String, id: String, exitstatus: String, log_tail: Vec<String> },

    #[error("task {upid} still running after {waited_secs}s (gave up waiting; it may still finish)")]
    TaskTimeout { upid: String, waited_secs: u64 },

    #[error("invalid UPID {0:?}")]
    InvalidUpid(String),
}

fn retries_text(retries: u32) -> String {
    if retries == 0 {
        String::new()
    } else {
        format!(" (gave up after {retries} retries)")
    }
}

fn log_tail_text(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n  last lines of the task log:");
    for l in lines {
        s.push_str("\n    ");
        s.push_str(l);
    }
    s
}

impl Error {
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Records how many retries preceded this final error.
    pub(crate) fn after_retries(mut self, n: u32) -> Error {
        match &mut self {
            Error::Api(e) => e.retries = n,
            Error::Transport { retries, .. } => *retries = n,
            _ => {}
        }
        self
    }

    /// Replaces every occurrence of each secret in all the text this error carries.
    pub(crate) fn scrubbed(self, secrets: &[&str]) -> Error {
        let s = |t: String| scrub(t, secrets);
        match self {
            Error::Config(m) => Error::Config(s(m)),
            Error::Api(mut e) => {
                e.message = s(e.message);
                e.path = s(e.path);
                e.errors = e.errors.into_iter().map(|(k, v)| (k, s(v))).collect();
                Error::Api(e)
            }
            Error::Transport { method, path, endpoint, source, retries } => Error::Transport {
                method,
                path: s(path),
                endpoint: s(endpoint),
                source: TransportError { kind: source.kind, detail: s(source.detail) },
                retries,
            },
            Error::Decode { method, path, status, detail } => {
                Error::Decode { method, path: s(path), status, detail: s(detail) }
            }
            Error::TaskFailed { upid, task_type, id, exitstatus, log_tail } => Error::TaskFailed {
                upid,
                task_type,
                id,
                exitstatus: s(exitstatus),
                log_tail: log_tail.into_iter().map(s).collect(),
            },
            other => other,
        }
    }
}

/// Replaces each non-empty secret in `text` with `<redacted>`.
pub(crate) fn scrub(mut text: String, secrets: &[&str]) -> String {
    for secret in secrets {
        if secret.len() >= 4 && text.contains(secret) {
            text = text.replace(secret, "<redacted>");
        }
    }
    text
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_names_endpoint_message_and_params() {
        let e = ApiError {
            method: "POST".into(),
            path: "/nodes/pve1/qemu".into(),
            status: 400,
            message: "Parameter verification failed.\n".into(),
            errors: [("memory".to_string(), "type check ('integer') failed".to_string())].into(),
            retries: 0,
        };
        assert_eq!(
            e.to_string(),
            "POST /nodes/pve1/qemu: HTTP 400: Parameter verification failed.\n  memory: type check ('integer') failed"
        );
    }

    #[test]
    fn scrub_removes_secrets_everywhere() {
        let e = Error::Decode {
            method: "GET".into(),
            path: "/x".into(),
            status: 200,
            detail: "body was s3cr3t-value".into(),
        };
        let text = e.scrubbed(&["s3cr3t-value"]).to_string();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn lock_timeout_detected() {
        let e = ApiError {
            method: "PUT".into(),
            path: "/nodes/pve1/qemu/100/config".into(),
            status: 500,
            message: "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout".into(),
            errors: BTreeMap::new(),
            retries: 0,
        };
        assert!(e.is_lock_timeout());
    }
}
