//! The diff of one resource: desired (evaluated configuration) against live (decoded through
//! the codec) and stored (what pmx set last time), attribute by attribute, with the impact of
//! each change on the guest. Pure: no I/O, so every rule is unit-tested.
//!
//! Rules that keep plans quiet:
//! - an attribute the configuration does not set is not compared (Proxmox or the template owns
//!   it), unless pmx set it before and it was removed from the configuration: then it is reset;
//! - a slot the live guest has and the configuration never declared (a template's disk) is left;
//! - values compare in their canonical form (`codec::same`);
//! - create-only attributes (the clone source, passwords of containers) are never compared;
//! - write-only ones (cloud-init password) compare by keyed hash with what pmx last wrote.

use serde_json::{Map, Value as Json};

use super::model::{AttrChange, Impact, Via};
use super::values::{any_marked, marked};
use crate::codec;
use crate::config::model::Lifecycle;
use crate::proxmox::propstring::parse_size;
use crate::schema::{pve, Attribute, BlockType, Call, Canon, Nesting, Presence, ResourceType, UpdateMode};

/// What the diff needs to know about one resource.
pub struct DiffInput<'a> {
    pub rt: &'a ResourceType,
    /// Desired attributes (plan values: unknowns null, sensitive values keyed hashes).
    pub desired: &'a Map<String, Json>,
    pub unknown: &'a Json,
    pub sensitive: &'a Json,
    /// The live resource decoded into the schema's shape.
    pub live: &'a Map<String, Json>,
    /// Paths pmx set at the last apply (`cpu.cores`, `disk.scsi1`).
    pub prior_managed: &'a [String],
    /// Keyed hashes of write-only values pmx last wrote, by path.
    pub prior_secrets: &'a Map<String, Json>,
    pub running: bool,
    pub lifecycle: &'a Lifecycle,
}

#[derive(Debug, Default)]
pub struct DiffOutcome {
    pub changes: Vec<AttrChange>,
    pub replace_paths: Vec<Vec<String>>,
    /// Changes Proxmox would refuse (a disk shrink): the plan reports them as errors.
    pub problems: Vec<String>,
}

impl DiffOutcome {
    pub fn impact(&self) -> Impact {
        self.changes.iter().map(|c| c.impact).max().unwrap_or(Impact::None)
    }
}

/// Diffs one existing resource.
pub fn diff(input: &DiffInput<'_>) -> DiffOutcome {
    let mut d = Differ { input, out: DiffOutcome::default(), hotplug: hotplug_of(input) };
    if input.lifecycle.ignore_all_changes {
        return d.out;
    }
    d.body(&[], &input.rt.attributes, &input.rt.blocks, Some(input.desired), Some(input.live));
    let replace: Vec<Vec<String>> =
        d.out.changes.iter().filter(|c| c.via == Via::Replace).map(|c| c.path.clone()).collect();
    d.out.replace_paths = replace;
    d.out
}

/// The guest's hot-plug features: as desired when the configuration sets them (they change
/// first), else as live, else PVE's default.
fn hotplug_of(input: &DiffInput<'_>) -> Vec<String> {
    let from = |m: &Map<String, Json>| {
        m.get("hotplug")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
    };
    from(input.live)
        .or_else(|| from(input.desired))
        .unwrap_or_else(|| crate::schema::DEFAULT_HOTPLUG.iter().map(|s| s.to_string()).collect())
}

struct Differ<'a> {
    input: &'a DiffInput<'a>,
    out: DiffOutcome,
    hotplug: Vec<String>,
}

impl Differ<'_> {
    fn ignored(&self, path: &[String]) -> bool {
        let dotted = path.join(".");
        self.input.lifecycle.ignore_changes.iter().any(|i| dotted == *i || dotted.starts_with(&format!("{i}.")))
    }

    fn body(
        &mut self,
        prefix: &[String],
        attrs: &[Attribute],
        blocks: &[BlockType],
        desired: Option<&Map<String, Json>>,
        live: Option<&Map<String, Json>>,
    ) {
        for a in attrs {
            let path: Vec<String> = prefix.iter().cloned().chain([a.name.to_string()]).collect();
            self.attribute(&path, a, desired.and_then(|m| m.get(a.name)), live.and_then(|m| m.get(a.name)));
        }
        for b in blocks {
            let path: Vec<String> = prefix.iter().cloned().chain([b.name.to_string()]).collect();
            let want = desired.and_then(|m| m.get(b.name)).and_then(Json::as_object);
            let have = live.and_then(|m| m.get(b.name)).and_then(Json::as_object);
            match b.nesting {
                Nesting::Single => {
                    if b.update == UpdateMode::CreateOnly {
                        continue;
                    }
                    let empty = Map::new();
                    if want.is_some() || self.was_managed_under(&path) {
                        self.body(&path, &b.attributes, &b.blocks, Some(want.unwrap_or(&empty)), have);
                    }
                }
                Nesting::Slotted { .. } => self.slots(&path, b, want, have),
            }
        }
    }

    fn was_managed(&self, path: &[String]) -> bool {
        let dotted = path.join(".");
        self.input.prior_managed.contains(&dotted)
    }

    fn was_managed_under(&self, path: &[String]) -> bool {
        let dotted = path.join(".");
        self.input.prior_managed.iter().any(|p| *p == dotted || p.starts_with(&format!("{dotted}.")))
    }

    fn slots(
        &mut self,
        path: &[String],
        b: &BlockType,
        want: Option<&Map<String, Json>>,
        have: Option<&Map<String, Json>>,
    ) {
        let empty = Map::new();
        let want = want.unwrap_or(&empty);
        let have = have.unwrap_or(&empty);
        for (slot, body) in want {
            let slot_path: Vec<String> = path.iter().cloned().chain([slot.clone()]).collect();
            if self.ignored(&slot_path) {
                continue;
            }
            match have.get(slot).and_then(Json::as_object) {
                Some(live_body) => {
                    self.body(&slot_path, &b.attributes, &b.blocks, body.as_object(), Some(live_body));
                }
                None => {
                    let (impact, note) = self.slot_impact(b, slot, true);
                    self.out.changes.push(AttrChange {
                        path: slot_path.clone(),
                        before: None,
                        after: Some(body.clone()),
                        unknown: any_marked(
                            self.input.unknown,
                            &slot_path.iter().map(String::as_str).collect::<Vec<_>>(),
                        ),
                        sensitive: false,
                        via: Via::Config,
                        impact,
                        destroys_data: false,
                        note: Some(note),
                    });
                }
            }
        }
        for (slot, body) in have {
            let slot_path: Vec<String> = path.iter().cloned().chain([slot.clone()]).collect();
            if want.contains_key(slot) || !self.was_managed_under(&slot_path) || self.ignored(&slot_path) {
                continue;
            }
            let (impact, note) = self.slot_impact(b, slot, false);
            self.out.changes.push(AttrChange {
                path: slot_path,
                before: Some(body.clone()),
                after: None,
                unknown: false,
                sensitive: false,
                via: Via::Config,
                impact,
                destroys_data: false,
                note: Some(note),
            });
        }
    }

    /// How adding or removing a slot lands on the guest.
    fn slot_impact(&self, b: &BlockType, slot: &str, adding: bool) -> (Impact, String) {
        let verb = if adding { "added" } else { "removed" };
        let live_ok = match b.name {
            "disk" => pve::disk_slot_hotplugs(slot) && self.hotplug.iter().any(|h| h == "disk"),
            "network" if self.input.rt.name == "vm" => self.hotplug.iter().any(|h| h == "network"),
            _ => b.update == UpdateMode::Live,
        };
        let note = match (b.name, adding) {
            ("disk", false) => format!("{slot} is detached; Proxmox keeps its volume as an unused disk"),
            _ if !self.input.running => format!("{slot} is {verb}"),
            _ if live_ok => format!("{slot} is {verb} while the guest runs (hot-plug)"),
            _ => format!("{slot} is {verb} at the next boot"),
        };
        (self.running_impact(if live_ok { UpdateMode::Live } else { UpdateMode::Reboot }), note)
    }

    fn running_impact(&self, mode: UpdateMode) -> Impact {
        match (mode, self.input.running) {
            (UpdateMode::Live | UpdateMode::CreateOnly, true) => Impact::Live,
            (UpdateMode::Reboot, true) => Impact::Reboot,
            (UpdateMode::Stopped, true) => Impact::Stop,
            (UpdateMode::Replace, _) => Impact::Replace,
            (_, false) => Impact::None,
        }
    }

    fn attribute(&mut self, path: &[String], a: &Attribute, want: Option<&Json>, have: Option<&Json>) {
        if a.update == UpdateMode::CreateOnly || self.ignored(path) {
            return;
        }
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let unknown = marked(self.input.unknown, &p);
        let sensitive = marked(self.input.sensitive, &p);
        let dotted = path.join(".");
        let want = match want {
            Some(w) if !w.is_null() || unknown => Some(w.clone()),
            // Set before by pmx and now removed from the configuration: back to the default.
            _ if self.was_managed(path) => match &a.default {
                Some(d) => Some(d.clone()),
                None if have.is_some() && a.pve_param.is_some() => {
                    self.push(path, a, have.cloned(), None, false, false);
                    return;
                }
                None => return,
            },
            _ => return,
        };
        let Some(want) = want else { return };
        if unknown {
            // A value known only after apply: computed ones are simply read back.
            if matches!(a.presence, Presence::Computed | Presence::OptionalComputed) && have.is_some() {
                return;
            }
            self.push(path, a, have.cloned(), None, true, sensitive);
            return;
        }
        if a.canon == Canon::WriteOnly || sensitive {
            // Proxmox never returns it: compare with what pmx recorded when it wrote it. With
            // nothing recorded (an imported guest), a plain value cannot be shown to differ.
            let prior = self.input.prior_secrets.get(&dotted);
            if prior.is_none() && !sensitive {
                return;
            }
            if prior != Some(&want) {
                self.push(path, a, prior.cloned(), Some(want), false, sensitive);
            }
            return;
        }
        if a.pve_param.is_none() && a.changed_by.is_none() {
            // Not a config key (the cloud-init drive's slot): nothing to compare with.
            return;
        }
        let have_or_default = have.cloned().or_else(|| a.default.clone());
        let equal = match &have_or_default {
            Some(h) => codec::same(a, &want, h),
            None => false,
        };
        if equal {
            return;
        }
        // A computed attribute the guest does not report yet (a MAC before first boot).
        if have.is_none() && a.presence == Presence::OptionalComputed && a.default.is_none() && want.is_null() {
            return;
        }
        self.push(path, a, have.cloned(), Some(want), false, false);
    }

    fn push(
        &mut self,
        path: &[String],
        a: &Attribute,
        before: Option<Json>,
        after: Option<Json>,
        unknown: bool,
        sensitive: bool,
    ) {
        let (via, mode, note) = self.how(path, a, before.as_ref(), after.as_ref());
        let mut impact = self.running_impact(mode);
        if via == Via::Power {
            impact = match after.as_ref().and_then(Json::as_bool) {
                Some(false) if self.input.running => Impact::Stop,
                _ => Impact::Live,
            };
        }
        if via == Via::Migrate && self.input.rt.name == "container" && self.input.running {
            impact = Impact::Stop;
        }
        if via == Via::Resize {
            let (b, w) = (before.as_ref().and_then(size_of), after.as_ref().and_then(size_of));
            if let (Some(b), Some(w)) = (b, w) {
                if w < b {
                    self.out.problems.push(format!(
                        "{} would shrink from {} to {}: Proxmox cannot shrink disks (grow it, or replace the disk)",
                        path.join("."),
                        before.as_ref().and_then(Json::as_str).unwrap_or("?"),
                        after.as_ref().and_then(Json::as_str).unwrap_or("?"),
                    ));
                }
            }
        }
        self.out.changes.push(AttrChange {
            path: path.to_vec(),
            before,
            after,
            unknown,
            sensitive,
            via,
            impact,
            destroys_data: via == Via::Replace,
            note,
        });
    }

    /// Which call carries a change, its update mode for this guest, and a note for people.
    fn how(
        &self,
        path: &[String],
        a: &Attribute,
        before: Option<&Json>,
        _after: Option<&Json>,
    ) -> (Via, UpdateMode, Option<String>) {
        let hotplug: Vec<&str> = self.hotplug.iter().map(String::as_str).collect();
        let mode = a.update_mode(&hotplug);
        let call = a.changed_by.map(|c| c.call);
        let existing_slot = before.is_some();
        if mode == UpdateMode::Replace {
            return (Via::Replace, mode, Some(format!("{} cannot change on an existing guest", path.join("."))));
        }
        match call {
            Some(Call::Migrate) => {
                return (Via::Migrate, UpdateMode::Live, Some("the guest migrates to the new node".into()))
            }
            Some(Call::Resize) if existing_slot => {
                return (Via::Resize, UpdateMode::Live, Some("the disk grows while the guest runs".into()))
            }
            Some(Call::MoveDisk) if existing_slot => {
                let m = if mode == UpdateMode::Stopped { UpdateMode::Stopped } else { UpdateMode::Live };
                return (Via::MoveDisk, m, Some("the volume moves to the new storage".into()));
            }
            Some(Call::Pool) => return (Via::Pool, UpdateMode::Live, None),
            Some(Call::Power) => return (Via::Power, UpdateMode::Live, None),
            _ => {}
        }
        if self.input.rt.name == "pool" {
            return (Via::Resource, UpdateMode::Live, None);
        }
        if !self.input.running {
            return (Via::Config, mode, None);
        }
        let note = match (mode, a.hotplug) {
            (UpdateMode::Live, Some(f)) => Some(format!("live: `{f}` is in the guest's hotplug")),
            (UpdateMode::Reboot, Some(f)) => Some(format!("pending until reboot: `{f}` is not in the guest's hotplug")),
            (UpdateMode::Reboot, None) => Some("pending until the guest reboots".into()),
            (UpdateMode::Stopped, _) => Some("needs the guest stopped".into()),
            _ => None,
        };
        (Via::Config, mode, note)
    }
}

fn size_of(v: &Json) -> Option<u64> {
    v.as_str().and_then(|s| parse_size(s).or_else(|| parse_size(&format!("{s}G"))))
}

#[cfg(test)]
mod tests;
