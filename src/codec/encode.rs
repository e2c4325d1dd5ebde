//! Desired attributes (schema shape, JSON) to API parameters: `POST /nodes/{node}/qemu` for a
//! new guest, `PUT .../config` (with `delete=`) for a change. Property strings are rebuilt from
//! the live value so that keys pmx does not manage (a generated MAC, a disk's volume) are kept.

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use super::{canon::encode_value, parse_param, pve_target, raw_text};
use crate::proxmox::propstring::{parse_size, PropertyString};
use crate::schema::{pve, Attribute, Canon, Nesting, ResourceType};

/// API parameters and the keys to delete.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    pub params: Vec<(String, String)>,
    pub delete: Vec<String>,
}

impl Encoded {
    pub fn is_empty(&self) -> bool {
        self.params.is_empty() && self.delete.is_empty()
    }
}

/// One value to write: an attribute (in a block instance, maybe) and its new value, `None` to
/// unset it.
struct Write<'a> {
    /// `None`: the whole slot parameter is deleted.
    attr: Option<&'a Attribute>,
    slot: Option<String>,
    value: Option<Json>,
    /// The slot (or single block) is new: volumes are allocated, not kept.
    new_slot: bool,
}

/// The parameters that create a guest with `desired` (placement, power and the clone source
/// excepted: apply sends them through their own calls).
pub fn encode_create(rt: &ResourceType, desired: &Map<String, Json>) -> Encoded {
    let mut writes = Vec::new();
    collect_all(rt, desired, true, &mut writes);
    let mut e = assemble(rt, writes, &Map::new());
    add_create_extras(rt, desired, &mut e);
    e
}

/// The config update that brings a guest whose raw config is `live` to `desired`, for the
/// attribute paths that changed (`["cpu","cores"]`, a whole slot `["disk","scsi1"]`, a top-level
/// `["tags"]`). With `fresh_clone`, everything desired is written (the config came from a
/// template) except the clone source.
pub fn encode_update(
    rt: &ResourceType,
    desired: &Map<String, Json>,
    live: &Map<String, Json>,
    changed: &[Vec<String>],
) -> Encoded {
    let mut writes = Vec::new();
    for path in changed {
        let head = path[0].as_str();
        if let Some(a) = rt.attribute(head) {
            if path.len() == 1 {
                writes.push(Write { attr: Some(a), slot: None, value: desired.get(head).cloned(), new_slot: false });
            }
            continue;
        }
        let Some(b) = rt.block(head) else { continue };
        let body = desired.get(head).and_then(Json::as_object);
        match (&b.nesting, path.len()) {
            (Nesting::Single, 1) => {
                for a in &b.attributes {
                    let v = body.and_then(|m| m.get(a.name)).cloned();
                    let had = pve_target(a, None).is_some_and(|(base, _)| live.contains_key(&base));
                    if v.is_some() || had {
                        writes.push(Write { attr: Some(a), slot: None, value: v, new_slot: false });
                    }
                }
            }
            (Nesting::Single, _) => {
                if let Some(a) = b.attribute(&path[1]) {
                    let v = body.and_then(|m| m.get(a.name)).cloned();
                    writes.push(Write { attr: Some(a), slot: None, value: v, new_slot: false });
                }
            }
            (Nesting::Slotted { .. }, n) => {
                let slot = &path[1];
                let slot_body = body.and_then(|m| m.get(slot)).and_then(Json::as_object);
                let new_slot = !live.contains_key(slot);
                match (n, slot_body) {
                    (2, Some(sb)) => {
                        for a in &b.attributes {
                            if let Some(v) = sb.get(a.name) {
                                writes.push(Write {
                                    attr: Some(a),
                                    slot: Some(slot.clone()),
                                    value: Some(v.clone()),
                                    new_slot,
                                });
                            }
                        }
                    }
                    (2, None) => {}
                    (_, sb) => {
                        if let Some(a) = b.attribute(&path[2]) {
                            let v = sb.and_then(|m| m.get(a.name)).cloned();
                            writes.push(Write { attr: Some(a), slot: Some(slot.clone()), value: v, new_slot });
                        }
                    }
                }
                // A whole slot removed: delete the parameter itself.
                if n == 2 && slot_body.is_none() {
                    writes.retain(|w| w.slot.as_deref() != Some(slot.as_str()) || w.value.is_some());
                    writes.push(Write { attr: None, slot: Some(slot.clone()), value: None, new_slot: false });
                }
            }
        }
    }
    assemble(rt, writes, live)
}

fn collect_all<'a>(rt: &'a ResourceType, desired: &Map<String, Json>, new: bool, out: &mut Vec<Write<'a>>) {
    for a in &rt.attributes {
        if matches!(a.name, "node" | "vmid" | "pool" | "started") {
            continue;
        }
        if let Some(v) = desired.get(a.name) {
            out.push(Write { attr: Some(a), slot: None, value: Some(v.clone()), new_slot: new });
        }
    }
    for b in &rt.blocks {
        if b.name == "clone" {
            continue;
        }
        let Some(body) = desired.get(b.name).and_then(Json::as_object) else { continue };
        match b.nesting {
            Nesting::Single => {
                for a in &b.attributes {
                    if let Some(v) = body.get(a.name) {
                        out.push(Write { attr: Some(a), slot: None, value: Some(v.clone()), new_slot: new });
                    }
                }
            }
            Nesting::Slotted { .. } => {
                for (slot, sb) in body {
                    let Some(sb) = sb.as_object() else { continue };
                    for a in &b.attributes {
                        if let Some(v) = sb.get(a.name) {
                            out.push(Write {
                                attr: Some(a),
                                slot: Some(slot.clone()),
                                value: Some(v.clone()),
                                new_slot: new,
                            });
                        }
                    }
                }
            }
        }
    }
}

/// Sizes for a new volume: PVE allocates `STORAGE:GiB`.
fn gib(size: &str) -> String {
    let bytes = parse_size(size).or_else(|| parse_size(&format!("{size}G"))).unwrap_or(0);
    let g = bytes as f64 / (1u64 << 30) as f64;
    let s = format!("{g:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One key of a property string to set (or, with `None`, remove).
type KeyWrite<'a> = (&'static str, Option<Json>, &'a Attribute);

/// Groups writes by parameter and renders each one.
fn assemble(rt: &ResourceType, writes: Vec<Write<'_>>, live: &Map<String, Json>) -> Encoded {
    let type_name = rt.name;
    // The block an attribute belongs to (for its fixed keys).
    let block_of = |a: &Attribute| rt.blocks.iter().find(|b| b.attributes.iter().any(|x| std::ptr::eq(x, a)));
    let mut plain: IndexMap<String, Option<String>> = IndexMap::new();
    // base param → (keys to set or unset, new slot?)
    let mut props: IndexMap<String, (Vec<KeyWrite<'_>>, bool)> = IndexMap::new();
    let mut fixed: IndexMap<String, &'static [(&'static str, &'static str)]> = IndexMap::new();
    let mut removed_slots: Vec<String> = Vec::new();
    for w in writes {
        let Some(attr) = w.attr else {
            removed_slots.extend(w.slot);
            continue;
        };
        let Some((base, key)) = pve_target(attr, w.slot.as_deref()) else { continue };
        match key {
            None => {
                plain.insert(base, w.value.as_ref().and_then(|v| encode_value(attr, v)));
            }
            Some(k) => {
                if let Some(b) = block_of(attr).filter(|b| !b.fixed_keys.is_empty()) {
                    fixed.insert(base.clone(), b.fixed_keys);
                }
                let entry = props.entry(base).or_insert_with(|| (Vec::new(), w.new_slot));
                entry.1 |= w.new_slot;
                entry.0.push((k, w.value, attr));
            }
        }
    }
    let mut e = Encoded::default();
    for (base, value) in plain {
        match value {
            Some(v) => e.params.push((base, v)),
            None if live.contains_key(&base) => e.delete.push(base),
            None => {}
        }
    }
    for (base, (keys, new_slot)) in props {
        let default_key = pve::default_key(type_name, &base);
        let existing = live.get(&base).and_then(raw_text);
        let mut p = match (&existing, new_slot) {
            (Some(text), false) => parse_param(type_name, &base, text),
            _ => PropertyString::default(),
        };
        let volume_key = default_key.filter(|k| matches!(*k, "file" | "volume"));
        let mut storage: Option<String> = None;
        let mut size: Option<String> = None;
        for (k, v, a) in keys {
            // A new volume is allocated from its storage and size; an existing one keeps its
            // volume id and size (a storage change is a disk move, growth a resize).
            match a.canon {
                Canon::VolumeStorage => {
                    storage = v.as_ref().and_then(|v| v.as_str().map(str::to_string));
                    continue;
                }
                Canon::Size if a.changed_by.is_some() => {
                    size = v.as_ref().and_then(|v| v.as_str().map(str::to_string));
                    continue;
                }
                _ => {}
            }
            match v.as_ref().and_then(|v| encode_value(a, v)) {
                Some(text) => p.set(k, text),
                None => {
                    p.remove(k);
                }
            }
        }
        for (k, v) in fixed.get(&base).copied().unwrap_or(&[]) {
            if p.get(k).is_none() {
                p.set(*k, *v);
            }
        }
        if new_slot {
            if let Some(vk) = volume_key {
                if let (None, Some(st)) = (p.get(vk), &storage) {
                    let alloc = match (&size, p.get("import-from")) {
                        (_, Some(_)) => format!("{st}:0"),
                        (Some(s), None) => format!("{st}:{}", gib(s)),
                        (None, None) if base == "efidisk0" => format!("{st}:1"),
                        (None, None) => format!("{st}:{}", gib("4G")),
                    };
                    p.entries.shift_insert(0, vk.to_string(), alloc);
                }
            }
        }
        // A container NIC needs a name inside the container: `eth<N>` for slot `net<N>`.
        if type_name == "container" && base.starts_with("net") && new_slot && !p.entries.contains_key("name") {
            p.entries.shift_insert(0, "name".into(), format!("eth{}", &base[3..]));
        }
        // QEMU NICs: the model is written as the key of the MAC, as PVE writes it; PVE requires
        // one, so a new NIC gets the schema's default.
        if type_name == "vm" && base.starts_with("net") {
            if !p.entries.contains_key("model") {
                let default = crate::schema::registry()
                    .resource("vm")
                    .and_then(|r| r.block("network"))
                    .and_then(|b| b.attribute("model"))
                    .and_then(|a| a.default.as_ref())
                    .and_then(|d| d.as_str().map(str::to_string));
                if let Some(d) = default {
                    p.entries.shift_insert(0, "model".into(), d);
                }
            }
            if let Some(model) = p.remove("model") {
                let mac = p.remove("macaddr");
                p.entries.shift_insert(0, model, mac.unwrap_or_default());
                if p.entries.first().is_some_and(|(_, v)| v.is_empty()) {
                    let (m, _) = p.entries.shift_remove_index(0).expect("just inserted");
                    p.entries.shift_insert(0, "model".into(), m);
                }
            }
        }
        if p.entries.is_empty() {
            if existing.is_some() {
                e.delete.push(base);
            }
            continue;
        }
        e.params.push((base, p.render(default_key)));
    }
    for slot in removed_slots {
        if live.contains_key(&slot) && !e.delete.contains(&slot) {
            e.delete.push(slot);
        }
    }
    e
}

/// What a new guest needs besides its attributes: a cloud-init drive when `cloud_init` is set,
/// and the values where pmx's default is not Proxmox's (a container is unprivileged).
fn add_create_extras(rt: &ResourceType, desired: &Map<String, Json>, e: &mut Encoded) {
    let has = |e: &Encoded, k: &str| e.params.iter().any(|(p, _)| p == k);
    for (attr, value) in pve::create_defaults(rt.name) {
        if desired.get(*attr).is_none() && !has(e, attr) {
            e.params.push((attr.to_string(), value.to_string()));
        }
    }
    if let Some(ci) = desired.get("cloud_init").and_then(Json::as_object) {
        if desired.get("clone").is_none() {
            let drive = ci.get("drive").and_then(Json::as_str).unwrap_or("ide2").to_string();
            let storage = ci
                .get("storage")
                .and_then(Json::as_str)
                .map(str::to_string)
                .or_else(|| first_disk_storage(desired))
                .unwrap_or_else(|| "local-lvm".into());
            if !has(e, &drive) {
                e.params.push((drive, format!("{storage}:cloudinit")));
            }
        }
    }
}

fn first_disk_storage(desired: &Map<String, Json>) -> Option<String> {
    let disks = desired.get("disk")?.as_object()?;
    disks.values().find_map(|d| d.get("storage").and_then(Json::as_str).map(str::to_string))
}

/// The storage a cloud-init drive should be created on for a guest (used by apply when a clone
/// lacks one).
pub fn cloud_init_drive(desired: &Map<String, Json>) -> Option<(String, String)> {
    let ci = desired.get("cloud_init")?.as_object()?;
    let drive = ci.get("drive").and_then(Json::as_str).unwrap_or("ide2").to_string();
    let storage =
        ci.get("storage").and_then(Json::as_str).map(str::to_string).or_else(|| first_disk_storage(desired))?;
    Some((drive, storage))
}
