//! The change model: what a plan records for each resource and each attribute, and what a
//! change does to a running guest. Apply carries these out; the views render them; the plan
//! file stores them.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What happens to one resource. A replacement is `Replace` (delete, then create; or create
/// first with `create_before_destroy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Read,
    Create,
    Update,
    Replace,
    Delete,
    /// Adopted into state from the cluster (`import` block); may come with an update.
    Import,
    /// Only its address changes (`moved` block).
    Move,
    /// Removed from state, left on the cluster (`removed` block, `pmx state rm`).
    Forget,
}

impl Action {
    /// Terraform's `actions` list for `show -json`.
    pub fn terraform_actions(self, create_before_destroy: bool) -> Vec<&'static str> {
        match self {
            Action::NoOp | Action::Move | Action::Import => vec!["no-op"],
            Action::Read => vec!["read"],
            Action::Create => vec!["create"],
            Action::Update => vec!["update"],
            Action::Replace if create_before_destroy => vec!["create", "delete"],
            Action::Replace => vec!["delete", "create"],
            Action::Delete => vec!["delete"],
            Action::Forget => vec!["forget"],
        }
    }

    /// The sign a human view shows: `+ ~ - -/+ <=`.
    pub fn symbol(self, create_before_destroy: bool) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Replace if create_before_destroy => "+/-",
            Action::Replace => "-/+",
            Action::Read => "<=",
            Action::Import => "<-",
            Action::Move => "->",
            Action::Forget => ".",
            Action::NoOp => " ",
        }
    }
}

/// What a change does to the guest, worst last. Shown on every change and summed up; the
/// `--fail-on` gate and apply's disruption budget read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    /// Nothing reaches a guest (state only, a pool, a stopped guest's config).
    None,
    /// Applied to the running guest at once (hot-plug, metadata, a live migration).
    Live,
    /// Pending until the guest reboots: pmx reboots it during apply.
    Reboot,
    /// Needs the guest stopped: pmx shuts it down, changes it and starts it again.
    Stop,
    /// The guest is destroyed and created again.
    Replace,
    /// The guest is destroyed.
    Destroy,
}

impl Impact {
    pub fn label(self) -> &'static str {
        match self {
            Impact::None => "no guest impact",
            Impact::Live => "live",
            Impact::Reboot => "reboot",
            Impact::Stop => "stop",
            Impact::Replace => "replace",
            Impact::Destroy => "destroy",
        }
    }

    pub fn parse(s: &str) -> Option<Impact> {
        Some(match s {
            "live" => Impact::Live,
            "reboot" => Impact::Reboot,
            "stop" => Impact::Stop,
            "replace" => Impact::Replace,
            "destroy" => Impact::Destroy,
            _ => return None,
        })
    }
}

/// How one attribute change reaches Proxmox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// `PUT .../config`.
    Config,
    /// `PUT .../resize` (growth only).
    Resize,
    /// `POST .../move_disk` / `move_volume`.
    MoveDisk,
    /// `POST .../migrate`.
    Migrate,
    /// `PUT /pools/{poolid}`.
    Pool,
    /// `POST .../status/start|shutdown`.
    Power,
    /// Needs a new guest.
    Replace,
    /// The resource's own create/update call (pools).
    Resource,
}

/// One attribute (or a whole nested block instance) that changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrChange {
    /// `["cpu","cores"]`, `["disk","scsi1"]` (a whole slot), `["tags"]`.
    pub path: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    /// The new value; for a sensitive one, its keyed hash; `None` when unset or unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    pub via: Via,
    pub impact: Impact,
    /// Data is lost (a disk removed; a guest replaced).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroys_data: bool,
    /// Why this impact, for people: "cores change at the next boot", "hot-plugged".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AttrChange {
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }
}

/// The live guest a change is made against, as refresh found it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveIdentity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The config `digest` seen at plan time: apply sends it, so Proxmox refuses a guest
    /// edited since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default)]
    pub running: bool,
}

/// The plan for one resource instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    /// `managed` or `data`.
    pub mode: String,
    pub type_name: String,
    pub provider: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
    /// Terraform's `action_reason`: `replace_because_cannot_update`, `replace_by_request`,
    /// `delete_because_no_resource_config`, `recreate_because_gone`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
    /// The import id, for `Import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// The resource as stored/live before (schema shape), `None` when it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    /// As desired after (schema shape; unknown values null, sensitive ones their keyed hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
    /// Same shape as `after`: `true` where the value is known only after apply.
    #[serde(default)]
    pub after_unknown: Json,
    #[serde(default)]
    pub before_sensitive: Json,
    #[serde(default)]
    pub after_sensitive: Json,
    /// Attribute paths that force the replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_paths: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AttrChange>,
    pub impact: Impact,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroys_data: bool,
    #[serde(default)]
    pub live: LiveIdentity,
    /// Addresses this change waits for (creates and updates), or that wait for it (deletes run
    /// in reverse order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Things a reviewer should know: "deleted outside pmx; will be created again".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Paths the configuration sets (recorded in state after apply, so that removing one from the
    /// configuration later resets it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_paths: Vec<String>,
    /// Pre-flight checks the resource's `lifecycle { preflight_ignore }` silences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preflight_ignore: Vec<String>,
    /// `lifecycle { max_disruptions }`: at most this many instances of the resource block
    /// (`vm.web[*]`) stopped or rebooted at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_disruptions: Option<u32>,
}

impl ResourceChange {
    pub fn is_change(&self) -> bool {
        !matches!(self.action, Action::NoOp | Action::Read)
    }
}

/// A change to an output value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
    #[serde(default)]
    pub after_unknown: bool,
    #[serde(default)]
    pub sensitive: bool,
}

/// Drift found by refresh: a resource changed outside pmx.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub address: String,
    /// `update` (changed outside pmx) or `delete` (gone from the cluster).
    pub action: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AttrChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A problem that makes the plan impossible (a disk shrink, `prevent_destroy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanProblem {
    pub address: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// How serious a pre-flight finding is: an error makes the plan impossible to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Warning,
    Error,
}

/// What pre-flight found: a change Proxmox would refuse at apply time (an error), or accept
/// but a person would want to know about (a warning). See `docs/preflight.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The check's name (`capacity`, `bridge`, ...), as `lifecycle { preflight_ignore }` names it.
    pub check: String,
    pub severity: Severity,
    pub address: String,
    /// The attribute the finding is about (`["disk","scsi0","storage"]`), for its place in the
    /// configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    pub message: String,
    /// The live fact it rests on: "local-lvm on pve2 has 3.2 GiB free".
    pub live: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Silenced by the resource's `lifecycle { preflight_ignore }`: shown, not enforced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
    /// `file:line:column` of `path` in the configuration, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl Finding {
    /// An error that is not silenced: the plan cannot be applied.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Error && !self.ignored
    }
}

/// What kind of plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanMode {
    Normal,
    Destroy,
    RefreshOnly,
    Rollback,
}

/// Counts for the summary line and the markdown header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCounts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub replace: usize,
    pub import: usize,
    pub moved: usize,
    pub forget: usize,
    pub reboot: usize,
    pub stop: usize,
    pub live: usize,
    pub destroys_data: usize,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub pmx_version: String,
    pub mode: PlanMode,
    pub workspace: String,
    pub lineage: String,
    /// The state serial the plan was made against: apply refuses a plan when it moved.
    pub serial: i64,
    /// Hash of the configuration files and variable values (keyed, so secrets stay secret).
    pub config_hash: String,
    pub created_at: String,
    pub resource_changes: Vec<ResourceChange>,
    #[serde(default)]
    pub resource_drift: Vec<Drift>,
    #[serde(default)]
    pub output_changes: Vec<OutputChange>,
    #[serde(default)]
    pub problems: Vec<PlanProblem>,
    /// What pre-flight found (errors and warnings), in the order of the changes.
    #[serde(default)]
    pub preflight: Vec<Finding>,
    /// Made with `--no-preflight`: apply does not check again either.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preflight_skipped: bool,
    /// `--target` addresses the plan was limited to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The providers and endpoints the plan read, by provider key.
    #[serde(default)]
    pub endpoints: std::collections::BTreeMap<String, String>,
}

impl Plan {
    pub fn counts(&self) -> PlanCounts {
        let mut c = PlanCounts::default();
        for r in &self.resource_changes {
            match r.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::Delete => c.destroy += 1,
                Action::Replace => {
                    c.add += 1;
                    c.destroy += 1;
                    c.replace += 1;
                }
                Action::Import => {
                    c.import += 1;
                    if !r.changes.is_empty() {
                        c.change += 1;
                    }
                }
                Action::Move => {
                    c.moved += 1;
                    if !r.changes.is_empty() {
                        c.change += 1;
                    }
                }
                Action::Forget => c.forget += 1,
                Action::NoOp | Action::Read => {}
            }
            match r.impact {
                Impact::Reboot => c.reboot += 1,
                Impact::Stop => c.stop += 1,
                Impact::Live if r.action == Action::Update => c.live += 1,
                _ => {}
            }
            if r.destroys_data {
                c.destroys_data += 1;
            }
        }
        c
    }

    /// Whether applying would change anything (moves and forgets count).
    pub fn has_changes(&self) -> bool {
        self.resource_changes.iter().any(ResourceChange::is_change)
            || self.output_changes.iter().any(|o| o.action != Action::NoOp)
            || (self.mode == PlanMode::RefreshOnly && !self.resource_drift.is_empty())
    }

    /// Whether something makes the plan impossible to apply (a problem, a pre-flight error).
    pub fn is_blocked(&self) -> bool {
        !self.problems.is_empty() || self.preflight.iter().any(Finding::blocks)
    }

    pub fn worst_impact(&self) -> Impact {
        self.resource_changes.iter().filter(|r| r.is_change()).map(|r| r.impact).max().unwrap_or(Impact::None)
    }
}
