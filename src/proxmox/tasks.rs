//! PVE tasks: UPIDs (`UPID:node:pid:pstart:starttime:type:id:user:`) and how to wait for one.

use super::error::Error;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A parsed task id. `raw` is kept verbatim: PVE wants it back exactly as it gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upid {
    pub raw: String,
    pub node: String,
    pub pid: u32,
    pub pstart: u64,
    /// Unix time the task started.
    pub starttime: i64,
    pub task_type: String,
    /// The object it works on (a vmid for guest tasks); may be empty.
    pub id: String,
    /// `root@pam` or, for API tokens, `root@pam!pmx`.
    pub user: String,
}

impl FromStr for Upid {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidUpid(s.to_string());
        let rest = s.trim().strip_prefix("UPID:").ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split(':').collect();
        // node, pid, pstart, starttime, type, id, user, and the empty item after the final ':'.
        if parts.len() != 8 || !parts[7].is_empty() || parts[0].is_empty() || parts[4].is_empty() {
            return Err(bad());
        }
        let hex_u64 = |p: &str| u64::from_str_radix(p, 16).map_err(|_| bad());
        Ok(Upid {
            raw: s.trim().to_string(),
            node: parts[0].to_string(),
            pid: u32::try_from(hex_u64(parts[1])?).map_err(|_| bad())?,
            pstart: hex_u64(parts[2])?,
            starttime: i64::try_from(hex_u64(parts[3])?).map_err(|_| bad())?,
            task_type: parts[4].to_string(),
            id: parts[5].to_string(),
            user: parts[6].to_string(),
        })
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// How to wait for a task.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitOptions {
    /// Give up (the task may still finish) after this long.
    pub timeout: Duration,
    /// First poll interval; grows by half each poll up to `max_interval`.
    pub first_interval: Duration,
    pub max_interval: Duration,
    /// How many of the log's last lines a failure carries.
    pub log_lines: usize,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(30 * 60),
            first_interval: Duration::from_millis(50),
            max_interval: Duration::from_secs(2),
            log_lines: 10,
        }
    }
}

impl WaitOptions {
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions { timeout, ..Default::default() }
    }

    pub(crate) fn next_interval(&self, current: Duration) -> Duration {
        (current + current / 2).min(self.max_interval)
    }
}

/// A finished, successful task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    pub upid: Upid,
    /// `None` for `OK`; `Some(n)` for `WARNINGS: n`.
    pub warnings: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_upids() {
        let u: Upid = "UPID:pve:0000FAF5:0015034F:6A4AB61F:vzcreate:9102:root@pam!sdk:".parse().unwrap();
        assert_eq!(u.node, "pve");
        assert_eq!(u.pid, 0xFAF5);
        assert_eq!(u.pstart, 0x0015034F);
        assert_eq!(u.starttime, 0x6A4AB61F);
        assert_eq!(u.task_type, "vzcreate");
        assert_eq!(u.id, "9102");
        assert_eq!(u.user, "root@pam!sdk");
        assert_eq!(u.to_string(), "UPID:pve:0000FAF5:0015034F:6A4AB61F:vzcreate:9102:root@pam!sdk:");
        let u: Upid = "UPID:pve2:00001234:00000001:6A4A8EED:aptupdate::root@pam:".parse().unwrap();
        assert_eq!(u.id, "");
    }

    #[test]
    fn rejects_malformed_upids() {
        for s in [
            "",
            "UPID:",
            "pve:0000FAF5:0015034F:6A4AB61F:vzcreate:9102:root@pam:",
            "UPID:pve:zz:0015034F:6A4AB61F:vzcreate:9102:root@pam:",
            "UPID:pve:0000FAF5:0015034F:6A4AB61F:vzcreate:9102:root@pam",
            "UPID:pve:0000FAF5:0015034F:6A4AB61F:vzcreate:9102:root@pam:extra:",
        ] {
            assert!(s.parse::<Upid>().is_err(), "{s:?}");
        }
    }

    #[test]
    fn poll_interval_grows_to_a_cap() {
        let w = WaitOptions::default();
        let mut d = w.first_interval;
        for _ in 0..50 {
            d = w.next_interval(d);
        }
        assert_eq!(d, w.max_interval);
    }
}
