//! Worker tasks with PVE's UPIDs (`UPID:node:PID:PSTART:STARTTIME:TYPE:ID:USER:`), and the
//! per-guest config locks they hold while they run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{json, Value};

use super::model::now;

#[derive(Debug, Clone)]
pub struct Task {
    pub upid: String,
    pub node: String,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: i64,
    pub kind: String,
    pub id: String,
    pub user: String,
    pub tokenid: Option<String>,
    /// None while running; `OK`, `WARNINGS: N` or the error text once stopped.
    pub exitstatus: Option<String>,
    pub endtime: Option<i64>,
    pub log: Vec<String>,
}

impl Task {
    pub fn status_json(&self) -> Value {
        let mut v = json!({
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.kind,
            "id": self.id,
            "user": self.user,
            "status": if self.exitstatus.is_some() { "stopped" } else { "running" },
        });
        if let Some(t) = &self.tokenid {
            v["tokenid"] = json!(t);
        }
        if let Some(e) = &self.exitstatus {
            v["exitstatus"] = json!(e);
        }
        v
    }

    /// A row of `/cluster/tasks` and `/nodes/{node}/tasks`.
    pub fn list_json(&self) -> Value {
        let mut v = json!({
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.kind,
            "id": self.id,
            "user": self.user,
        });
        if let Some(t) = &self.tokenid {
            v["tokenid"] = json!(t);
        }
        if let (Some(e), Some(end)) = (&self.exitstatus, self.endtime) {
            v["status"] = json!(e);
            v["endtime"] = json!(end);
        }
        v
    }

    pub fn ok(&self) -> bool {
        self.exitstatus.as_deref().is_some_and(|e| e == "OK" || e.starts_with("WARNINGS"))
    }
}

/// All tasks, in start order.
#[derive(Default)]
pub struct Tasks {
    map: RwLock<IndexMap<String, Task>>,
    next_pid: AtomicU32,
}

/// Who started a task.
#[derive(Debug, Clone)]
pub struct Starter {
    pub user: String,
    pub tokenid: Option<String>,
}

impl Tasks {
    pub fn new(seed: u64) -> Self {
        Tasks { map: RwLock::default(), next_pid: AtomicU32::new(0x1000 + (seed % 0x10000) as u32) }
    }

    /// Registers a running task and returns its UPID.
    pub fn create(&self, node: &str, kind: &str, id: &str, who: &Starter) -> String {
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let starttime = now();
        // Jiffies since the (simulated) boot, as PVE's pstart.
        let pstart = (starttime as u64 % 1_000_000) * 100;
        let user_part = match &who.tokenid {
            Some(t) => format!("{}!{t}", who.user),
            None => who.user.clone(),
        };
        let upid = format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{user_part}:");
        let task = Task {
            upid: upid.clone(),
            node: node.to_string(),
            pid,
            pstart,
            starttime,
            kind: kind.to_string(),
            id: id.to_string(),
            user: who.user.clone(),
            tokenid: who.tokenid.clone(),
            exitstatus: None,
            endtime: None,
            log: Vec::new(),
        };
        self.write().insert(upid.clone(), task);
        upid
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, IndexMap<String, Task>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, IndexMap<String, Task>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn log(&self, upid: &str, line: impl Into<String>) {
        if let Some(t) = self.write().get_mut(upid) {
            t.log.push(line.into());
        }
    }

    /// Stops a task: `Ok(warnings)` → `OK` / `WARNINGS: N`; `Err(msg)` → the error text.
    pub fn finish(&self, upid: &str, result: Result<usize, String>) {
        let mut map = self.write();
        let Some(t) = map.get_mut(upid) else { return };
        if t.exitstatus.is_some() {
            return;
        }
        let (status, last) = match result {
            Ok(0) => ("OK".to_string(), "TASK OK".to_string()),
            Ok(n) => (format!("WARNINGS: {n}"), format!("TASK WARNINGS: {n}")),
            Err(e) => {
                // RESTEnvironment::fork_worker: the whole error, newlines made spaces, is the
                // last log line and so the exit status.
                let status = e.trim_end().replace('\n', " ");
                (status.clone(), format!("TASK ERROR: {status}"))
            }
        };
        t.log.push(last);
        t.exitstatus = Some(status);
        t.endtime = Some(now());
    }

    pub fn get(&self, upid: &str) -> Option<Task> {
        self.read().get(upid).cloned()
    }

    pub fn list(&self) -> Vec<Value> {
        self.read().values().rev().map(Task::list_json).collect()
    }

    pub fn list_filtered(&self, keep: impl Fn(&Task) -> bool) -> Vec<Value> {
        self.read().values().rev().filter(|t| keep(t)).map(Task::list_json).collect()
    }
}

/// The per-guest config locks (PVE's `flock` on `lock-<vmid>.conf`).
pub struct Locks {
    table: Mutex<HashMap<u32, Arc<tokio::sync::RwLock<()>>>>,
    runtime: tokio::runtime::Handle,
}

/// A held config lock: exclusive (`lock_config`) or shared (`lock_config_shared`, which PVE
/// takes on a stopped clone source so that several clones of one template run side by side).
pub enum LockGuard {
    Exclusive(#[allow(dead_code)] tokio::sync::OwnedRwLockWriteGuard<()>),
    Shared(#[allow(dead_code)] tokio::sync::OwnedRwLockReadGuard<()>),
}

impl Locks {
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        Locks { table: Mutex::new(HashMap::new()), runtime }
    }

    fn slot(&self, vmid: u32) -> Arc<tokio::sync::RwLock<()>> {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        t.entry(vmid).or_default().clone()
    }

    /// Waits up to `timeout` for the exclusive lock; None means PVE's "got timeout".
    pub async fn acquire(&self, vmid: u32, timeout: Duration) -> Option<LockGuard> {
        let slot = self.slot(vmid);
        tokio::time::timeout(timeout, slot.write_owned()).await.ok().map(LockGuard::Exclusive)
    }

    /// Waits up to `timeout` for a shared lock: other shared holders are fine, an exclusive one is not.
    pub async fn acquire_shared(&self, vmid: u32, timeout: Duration) -> Option<LockGuard> {
        let slot = self.slot(vmid);
        tokio::time::timeout(timeout, slot.read_owned()).await.ok().map(LockGuard::Shared)
    }

    /// Holds the exclusive lock for `d` (immediately if it is free, else as soon as it is).
    pub fn hold(&self, vmid: u32, d: Duration) {
        let slot = self.slot(vmid);
        match slot.clone().try_write_owned() {
            Ok(guard) => {
                self.runtime.spawn(async move {
                    tokio::time::sleep(d).await;
                    drop(guard);
                });
            }
            Err(_) => {
                self.runtime.spawn(async move {
                    let guard = slot.write_owned().await;
                    tokio::time::sleep(d).await;
                    drop(guard);
                });
            }
        }
    }
}

/// PVE's message when a config lock cannot be had in time.
pub fn lock_timeout_message(lock_path: &str) -> String {
    format!("can't lock file '{lock_path}' - got timeout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upids_look_like_pve() {
        let tasks = Tasks::new(0);
        let who = Starter { user: "root@pam".into(), tokenid: Some("pmx".into()) };
        let upid = tasks.create("pve1", "qmcreate", "100", &who);
        let parts: Vec<&str> = upid.split(':').collect();
        assert_eq!(parts.len(), 9, "{upid}");
        assert_eq!(parts[0], "UPID");
        assert_eq!(parts[1], "pve1");
        assert!(parts[2..5].iter().all(|p| p.len() == 8 && p.chars().all(|c| c.is_ascii_hexdigit())));
        assert_eq!(&parts[5..], ["qmcreate", "100", "root@pam!pmx", ""]);
        tasks.finish(&upid, Ok(1));
        let t = tasks.get(&upid).unwrap();
        assert_eq!(t.exitstatus.as_deref(), Some("WARNINGS: 1"));
        assert_eq!(t.log.last().map(String::as_str), Some("TASK WARNINGS: 1"));
    }

    #[test]
    fn multi_line_errors_end_tasks_whole() {
        // RESTEnvironment::fork_worker: `$err =~ s/\n/ /mg` before "TASK ERROR: $err".
        let tasks = Tasks::new(0);
        let who = Starter { user: "root@pam".into(), tokenid: None };
        let upid = tasks.create("pve1", "qmconfig", "100", &who);
        tasks.finish(&upid, Err("cores: hotplug problem\nmemory: hotplug problem\n".into()));
        let t = tasks.get(&upid).unwrap();
        assert_eq!(t.exitstatus.as_deref(), Some("cores: hotplug problem memory: hotplug problem"));
        assert_eq!(t.log, ["TASK ERROR: cores: hotplug problem memory: hotplug problem"]);
    }
}
