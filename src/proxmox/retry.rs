//! When and how long to wait before trying a request again: exponential backoff with jitter,
//! a per-request limit, and a client-wide budget so that a sick server is not hammered.

use super::error::{Error, TransportKind};
use rand::Rng;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries per request after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Client-wide: retries allowed per successful request (10% by default), plus `budget_floor`.
    pub budget_ratio: f64,
    pub budget_floor: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            budget_ratio: 0.1,
            budget_floor: 20.0,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..Default::default() }
    }

    /// The wait before retry number `attempt` (1-based): base·2^(attempt-1), capped, with
    /// "equal jitter" (half fixed, half random) so that parallel clients spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

/// Why a failed request may be tried again, if it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    LockTimeout,
    ServerError,
    Connection,
}

/// Decides whether `err` is worth a retry. `idempotent` says the request may safely run twice
/// (GETs, and writes marked so); a lock timeout is always safe because PVE did nothing, and so
/// is a connection that was never made.
pub fn classify(err: &Error, idempotent: bool) -> Option<RetryReason> {
    match err {
        Error::Api(e) if e.is_lock_timeout() => Some(RetryReason::LockTimeout),
        // 501 is "not implemented": never transient.
        Error::Api(e) if e.status >= 500 && e.status != 501 && idempotent && !e.is_permanent() => {
            Some(RetryReason::ServerError)
        }
        Error::Transport { source, .. } => match source.kind {
            TransportKind::Connect => Some(RetryReason::Connection),
            TransportKind::Reset | TransportKind::Timeout if idempotent => Some(RetryReason::Connection),
            _ => None,
        },
        _ => None,
    }
}

/// A token bucket shared by all requests of a client: each success adds `ratio` tokens, each
/// retry takes one. When empty, failures are returned at once instead of retried.
#[derive(Debug)]
pub struct RetryBudget {
    tokens: Mutex<f64>,
    ratio: f64,
    max: f64,
}

impl RetryBudget {
    pub fn new(policy: &RetryPolicy) -> Self {
        RetryBudget { tokens: Mutex::new(policy.budget_floor), ratio: policy.budget_ratio, max: policy.budget_floor }
    }

    pub fn on_success(&self) {
        if let Ok(mut t) = self.tokens.lock() {
            *t = (*t + self.ratio).min(self.max);
        }
    }

    /// Takes a token for a retry; false when the budget is spent.
    pub fn try_spend(&self) -> bool {
        match self.tokens.lock() {
            Ok(mut t) if *t >= 1.0 => {
                *t -= 1.0;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxmox::error::{ApiError, TransportError};

    fn api(status: u16, msg: &str) -> Error {
        Error::Api(ApiError {
            method: "PUT".into(),
            path: "/x".into(),
            status,
            message: msg.into(),
            errors: Default::default(),
            retries: 0,
        })
    }

    fn transport(kind: TransportKind) -> Error {
        Error::Transport {
            method: "POST".into(),
            path: "/x".into(),
            endpoint: "https://h:8006".into(),
            source: TransportError { kind, detail: String::new() },
            retries: 0,
        }
    }

    #[test]
    fn what_is_retried() {
        let lock = api(500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout");
        assert_eq!(classify(&lock, false), Some(RetryReason::LockTimeout));
        assert_eq!(classify(&api(500, "boom"), true), Some(RetryReason::ServerError));
        assert_eq!(classify(&api(500, "boom"), false), None);
        assert_eq!(classify(&api(501, "no"), true), None);
        let gone = api(500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist");
        assert_eq!(classify(&gone, true), None);
        assert_eq!(classify(&api(400, "bad"), true), None);
        assert_eq!(classify(&transport(TransportKind::Connect), false), Some(RetryReason::Connection));
        assert_eq!(classify(&transport(TransportKind::Reset), false), None);
        assert_eq!(classify(&transport(TransportKind::Reset), true), Some(RetryReason::Connection));
        assert_eq!(classify(&transport(TransportKind::Tls), true), None);
    }

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy::default();
        for attempt in 1..30 {
            let d = p.delay(attempt);
            let cap = p.base_delay.saturating_mul(1 << (attempt - 1).min(16)).min(p.max_delay);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?} vs {cap:?}");
        }
    }

    #[test]
    fn budget_runs_out_and_refills() {
        let p = RetryPolicy { budget_floor: 2.0, budget_ratio: 0.5, ..Default::default() };
        let b = RetryBudget::new(&p);
        assert!(b.try_spend());
        assert!(b.try_spend());
        assert!(!b.try_spend());
        b.on_success();
        b.on_success();
        assert!(b.try_spend());
    }
}
