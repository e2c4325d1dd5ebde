//! The values the store hands out and takes in. Plain data: no database types leak out.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::addr::ResourceAddress;

/// Unix time in milliseconds, as stored.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// `2026-11-26T04:40:01Z`-style text for a stored time.
pub fn format_millis(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Declares a string-backed enum with `as_str`, `Display`, `FromStr` and serde as that string.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} {s:?} (expected one of: {})",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

text_enum! {
    /// The kinds of things the store keeps, one repository each.
    ResourceKind {
        Vm => "vm",
        Container => "container",
        Pool => "pool",
        Node => "node",
        Storage => "storage",
    }
}

text_enum! {
    /// Why a snapshot was written.
    ChangeType {
        /// pmx created it on Proxmox.
        Created => "created",
        /// pmx changed it in place.
        Updated => "updated",
        /// pmx destroyed and re-created it.
        Replaced => "replaced",
        /// pmx destroyed it (or refresh found it gone).
        Deleted => "deleted",
        /// refresh found it or saw it change outside pmx.
        Discovered => "discovered",
        /// `pmx import` adopted it.
        Imported => "imported",
        /// `pmx state mv` renamed it (a snapshot under each address).
        Moved => "moved",
        /// `pmx state rm` forgot it; it still exists on Proxmox.
        Forgotten => "forgotten",
    }
}

text_enum! {
    /// What an audit event records.
    EventKind {
        ResourceCreated => "ResourceCreated",
        ResourceUpdated => "ResourceUpdated",
        ResourceReplaced => "ResourceReplaced",
        ResourceDeleted => "ResourceDeleted",
        ResourceDiscovered => "ResourceDiscovered",
        ResourceImported => "ResourceImported",
        ReconciliationStarted => "ReconciliationStarted",
        ReconciliationCompleted => "ReconciliationCompleted",
        PlanSaved => "PlanSaved",
        ApplyFailed => "ApplyFailed",
        LockAcquired => "LockAcquired",
        LockReleased => "LockReleased",
        /// A stale or abandoned lock was cleared (`pmx state unlock`, or a dead holder).
        LockBroken => "LockBroken",
        /// rm, mv or push.
        StateEditedByHand => "StateEditedByHand",
        SnapshotsPruned => "SnapshotsPruned",
        TaskRecorded => "TaskRecorded",
    }
}

text_enum! {
    /// What a run was.
    RunKind {
        Plan => "plan",
        Apply => "apply",
        Import => "import",
        Refresh => "refresh",
        /// A `pmx state` command that changes state.
        Edit => "edit",
    }
}

text_enum! {
    /// How a run ended.
    RunOutcome {
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

text_enum! {
    /// Why a resource is in state.
    #[derive(Default)]
    Origin {
        /// Declared in the configuration: pmx creates, changes and destroys it.
        #[default]
        Managed => "managed",
        /// Found on the cluster but not in the configuration (`vm.discovered[100]`): pmx
        /// watches it and never plans to destroy it.
        Discovered => "discovered",
        /// Read by a data source (`data.node.pve1`).
        Data => "data",
    }
}

impl Origin {
    /// The origin an address implies: `data.*` is data, a resource named `discovered`
    /// (`vm.discovered[100]`) is discovered, anything else is managed. What `Change::new` and
    /// migration 2 use when nothing says otherwise.
    pub fn for_address(address: &ResourceAddress) -> Origin {
        if address.config.mode == crate::addr::Mode::Data {
            Origin::Data
        } else if address.config.name == "discovered" {
            Origin::Discovered
        } else {
            Origin::Managed
        }
    }
}

text_enum! {
    /// Where an intent of the journal stands.
    IntentState {
        /// Committed before the Proxmox write; whether the write happened is unknown.
        Pending => "pending",
        /// The write was sent and Proxmox answered with a task (its UPID is recorded).
        Started => "started",
        /// The change is committed to state.
        Done => "done",
        /// Given up: the write failed, or recovery found it never happened or cleaned it up.
        Abandoned => "abandoned",
    }
}

impl IntentState {
    /// Whether the intent still needs someone to find out what happened.
    pub fn is_open(self) -> bool {
        matches!(self, IntentState::Pending | IntentState::Started)
    }
}

impl ChangeType {
    /// The event every change of this type writes.
    pub fn event_kind(self) -> EventKind {
        match self {
            ChangeType::Created => EventKind::ResourceCreated,
            ChangeType::Updated => EventKind::ResourceUpdated,
            ChangeType::Replaced => EventKind::ResourceReplaced,
            ChangeType::Deleted => EventKind::ResourceDeleted,
            ChangeType::Discovered => EventKind::ResourceDiscovered,
            ChangeType::Imported => EventKind::ResourceImported,
            ChangeType::Moved | ChangeType::Forgotten => EventKind::StateEditedByHand,
        }
    }

    /// Whether the resource is gone from state after this change.
    pub fn removes(self) -> bool {
        matches!(self, ChangeType::Deleted | ChangeType::Forgotten)
    }
}

/// Which Proxmox object a resource is: node and vmid, plus a fingerprint (such as the SMBIOS
/// uuid) that tells a re-used vmid from the guest pmx created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// A resource as `state list` shows it: identity without attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSummary {
    pub address: ResourceAddress,
    pub kind: ResourceKind,
    #[serde(flatten)]
    pub identity: Identity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub serial: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default)]
    pub origin: Origin,
}

/// A resource in state with its current attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResource {
    pub address: ResourceAddress,
    pub kind: ResourceKind,
    #[serde(flatten)]
    pub identity: Identity,
    /// The Proxmox config `digest` last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The workspace serial of the change that wrote this version.
    pub serial: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub attributes: serde_json::Value,
    /// The provider (cluster) it lives on: `proxmox`, `proxmox.dc2`. `None` for resources
    /// recorded before state schema 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default)]
    pub origin: Origin,
}

/// One version of a resource, written by one change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub address: ResourceAddress,
    pub serial: i64,
    pub change: ChangeType,
    pub kind: ResourceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    pub created_at: Millis,
    #[serde(flatten)]
    pub identity: Identity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Full attributes; `None` for a change that removed the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default)]
    pub origin: Origin,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<ResourceAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<i64>,
    pub user: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    pub created_at: Millis,
}

/// A plan, apply, import, refresh or hand edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: i64,
    pub kind: RunKind,
    pub command: String,
    pub user: String,
    pub host: String,
    pub pid: i64,
    pub started_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Millis>,
    pub outcome: RunOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<serde_json::Value>,
}

/// The workspace's identity and version: plans record both and are refused when they moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub workspace: String,
    pub lineage: String,
    pub serial: i64,
    pub created_at: Millis,
}

/// One change to commit: the new version of a resource (or its removal).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub address: ResourceAddress,
    pub kind: ResourceKind,
    pub change: ChangeType,
    pub identity: Identity,
    pub digest: Option<String>,
    pub status: Option<String>,
    /// Full attributes after the change (ignored when the change removes the resource).
    pub attributes: serde_json::Value,
    /// Extra detail for the event (e.g. which attributes changed).
    pub payload: Option<serde_json::Value>,
    /// The provider (cluster) the resource lives on; `None` when unknown.
    pub cluster: Option<String>,
    /// Why it is in state; `Change::new` takes it from the address (`Origin::for_address`).
    pub origin: Origin,
}

impl Change {
    pub fn new(
        change: ChangeType,
        kind: ResourceKind,
        address: ResourceAddress,
        attributes: serde_json::Value,
    ) -> Self {
        Change {
            origin: Origin::for_address(&address),
            address,
            kind,
            change,
            identity: Identity::default(),
            digest: None,
            status: None,
            attributes,
            payload: None,
            cluster: None,
        }
    }

    /// A removal (deleted on Proxmox); attributes are not needed.
    pub fn deleted(kind: ResourceKind, address: ResourceAddress) -> Self {
        Change::new(ChangeType::Deleted, kind, address, serde_json::Value::Null)
    }

    pub fn node(mut self, node: impl Into<String>) -> Self {
        self.identity.node = Some(node.into());
        self
    }
    pub fn vmid(mut self, vmid: u32) -> Self {
        self.identity.vmid = Some(vmid);
        self
    }
    pub fn fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.identity.fingerprint = Some(fingerprint.into());
        self
    }
    pub fn digest(mut self, digest: impl Into<String>) -> Self {
        self.digest = Some(digest.into());
        self
    }
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }
    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = Some(payload);
        self
    }
    /// The provider (cluster) key the resource belongs to: `proxmox`, `proxmox.dc2`.
    pub fn cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }
    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }
}

/// One entry of the intent journal: a Proxmox write apply is about to make, is making, or made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// A uuid, unique within the workspace.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    pub address: ResourceAddress,
    /// The provider (cluster) key the write goes to.
    pub cluster: String,
    /// What the write does: `create`, `clone`, `update`, `delete`, `start`, …
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The task Proxmox started for it, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upid: Option<String>,
    pub state: IntentState,
    /// Whatever recovery needs to finish or undo the write (caller-defined JSON).
    #[serde(default)]
    pub detail: serde_json::Value,
    /// Why it was abandoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// How many changes of each type a commit (or a run) carried.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    pub created: u64,
    pub updated: u64,
    pub replaced: u64,
    pub deleted: u64,
    pub discovered: u64,
    pub imported: u64,
    pub moved: u64,
    pub forgotten: u64,
}

impl ChangeCounts {
    pub fn add(&mut self, change: ChangeType) {
        let slot = match change {
            ChangeType::Created => &mut self.created,
            ChangeType::Updated => &mut self.updated,
            ChangeType::Replaced => &mut self.replaced,
            ChangeType::Deleted => &mut self.deleted,
            ChangeType::Discovered => &mut self.discovered,
            ChangeType::Imported => &mut self.imported,
            ChangeType::Moved => &mut self.moved,
            ChangeType::Forgotten => &mut self.forgotten,
        };
        *slot += 1;
    }
    pub fn total(&self) -> u64 {
        self.created
            + self.updated
            + self.replaced
            + self.deleted
            + self.discovered
            + self.imported
            + self.moved
            + self.forgotten
    }
}

/// What `commit_changes` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitOutcome {
    /// The workspace serial after the commit (every snapshot of the commit carries it).
    pub serial: i64,
    pub counts: ChangeCounts,
}

/// A Proxmox task pmx ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub upid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    pub node: String,
    /// PVE's task type (`qmcreate`, `qmstart`, `vzdestroy`, …).
    pub task_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<ResourceAddress>,
    /// `running` or `stopped`.
    pub status: String,
    /// PVE's exit status once stopped: `OK`, `WARNINGS: N`, or an error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exitstatus: Option<String>,
    pub started_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Millis>,
}

/// Who is doing something: written into runs, events and locks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
    pub pid: u32,
}

impl Actor {
    /// The current process: `$USER` (or `$LOGNAME`, or the uid), the host name, the pid.
    pub fn current() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(current_user_name);
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        Actor { user, host, pid: std::process::id() }
    }
}

/// The login name of the current uid from the password database, else `uid N`.
fn current_user_name() -> String {
    // SAFETY: getuid cannot fail; getpwuid_r writes only into the buffers we pass and sets
    // `result` to null or to `pwd`, whose pw_name points into `buf`, valid while `buf` lives.
    unsafe {
        let uid = libc::getuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
            if let Ok(name) = std::ffi::CStr::from_ptr(pwd.pw_name).to_str() {
                return name.to_string();
            }
        }
        format!("uid {uid}")
    }
}
