//! The codec between the schema's shape and Proxmox's: it decodes a live guest config (flat
//! keys, property strings, 0/1 booleans, URL-encoded keys...) into the shape `.pmx` files use,
//! and encodes desired attributes into API parameters. Every rule comes from the schema: the
//! PVE parameter of each attribute (`pve_param`), how PVE rewrites its value (`canon`), and the
//! layout facts in [`crate::schema::pve`]. Refresh stores the decoded shape; the diff compares in
//! it; apply sends what [`encode_create`] and [`encode_update`] produce.

mod canon;
pub use canon::size_bytes;
mod encode;

pub use canon::{canonical, decode_value, encode_value, same};
pub use encode::{cloud_init_drive, encode_create, encode_update, Encoded};

use serde_json::{Map, Value as Json};

use crate::proxmox::propstring::PropertyString;
use crate::schema::{pve, Attribute, BlockType, Nesting, ResourceType};

/// A guest as the cluster reports it: where it lives, whether it runs, and its raw config.
#[derive(Debug, Clone, Default)]
pub struct LiveGuest {
    pub node: String,
    pub vmid: u32,
    pub pool: Option<String>,
    pub running: bool,
    pub template: bool,
    /// `GET .../config` as PVE sent it (the `digest` key removed or not: it is ignored).
    pub config: Map<String, Json>,
}

/// Attributes that are not config keys but facts of placement or power.
const PLACEMENT: &[&str] = &["node", "vmid", "pool", "started"];

/// Decodes a live guest into the schema's shape: `{"node": .., "cpu": {"cores": 2}, "disk":
/// {"scsi0": {"storage": "local-lvm", "size": "8G"}}}`. Only what the config holds (or what
/// placement says) appears; absent keys mean Proxmox's default applies.
pub fn decode(rt: &ResourceType, guest: &LiveGuest) -> Map<String, Json> {
    let mut out = Map::new();
    for a in &rt.attributes {
        let v = match a.name {
            "node" => Some(Json::String(guest.node.clone())),
            "vmid" => Some(Json::from(guest.vmid)),
            "pool" => guest.pool.clone().map(Json::String),
            "started" => Some(Json::Bool(guest.running)),
            _ => read_attribute(rt.name, a, &guest.config, None),
        };
        if let Some(v) = v {
            out.insert(a.name.to_string(), v);
        }
    }
    for b in &rt.blocks {
        if let Some(v) = decode_block(rt.name, b, &guest.config) {
            out.insert(b.name.to_string(), v);
        }
    }
    out
}

fn decode_block(type_name: &str, b: &BlockType, config: &Map<String, Json>) -> Option<Json> {
    match &b.nesting {
        Nesting::Single => {
            let m = decode_body(type_name, &b.attributes, config, None);
            (!m.is_empty()).then_some(Json::Object(m))
        }
        Nesting::Slotted { slot_pattern, .. } => {
            let pattern = b.pve_param?;
            let mut slots: Vec<(&String, &Json)> = config
                .iter()
                .filter(|(k, _)| pve::param_matches(pattern, k))
                .filter(|(k, _)| crate::schema::pattern_matches(slot_pattern, k) == Some(true))
                .filter(|(_, v)| v.as_str().is_none_or(|s| pve::slot_claims(b.name, s)))
                .collect();
            slots.sort_by_key(|(k, _)| natural(k));
            let m: Map<String, Json> = slots
                .into_iter()
                .map(|(slot, _)| {
                    (slot.clone(), Json::Object(decode_body(type_name, &b.attributes, config, Some(slot))))
                })
                .collect();
            (!m.is_empty()).then_some(Json::Object(m))
        }
    }
}

/// `scsi10` after `scsi2`.
fn natural(key: &str) -> (String, u32) {
    let digits = key.trim_start_matches(|c: char| !c.is_ascii_digit());
    (key[..key.len() - digits.len()].to_string(), digits.parse().unwrap_or(0))
}

fn decode_body(
    type_name: &str,
    attrs: &[Attribute],
    config: &Map<String, Json>,
    slot: Option<&str>,
) -> Map<String, Json> {
    attrs.iter().filter_map(|a| read_attribute(type_name, a, config, slot).map(|v| (a.name.to_string(), v))).collect()
}

/// The raw text of a config value (PVE sends numbers as numbers or strings).
pub fn raw_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        _ => None,
    }
}

/// Parses a property-string parameter of a guest the way the schema lays it out. QEMU NICs
/// carry their model as the key of the MAC (`virtio=BC:24:11:..`): that becomes `model` and
/// `macaddr`.
pub fn parse_param(type_name: &str, base: &str, text: &str) -> PropertyString {
    let mut p = PropertyString::parse(text, pve::default_key(type_name, base)).unwrap_or_default();
    if type_name == "vm" && base.starts_with("net") && !p.entries.contains_key("model") {
        if let Some(model) = pve::QEMU_NIC_MODELS.iter().find(|m| p.entries.contains_key(**m)) {
            let mac = p.remove(model).unwrap_or_default();
            p.entries.shift_insert(0, "model".into(), model.to_string());
            if !mac.is_empty() {
                p.set("macaddr", mac);
            }
        }
    }
    p
}

/// Reads one attribute from a raw config, decoded per its canonical form; `None` when the
/// config does not hold it (or PVE never returns it).
fn read_attribute(type_name: &str, a: &Attribute, config: &Map<String, Json>, slot: Option<&str>) -> Option<Json> {
    if PLACEMENT.contains(&a.name) && slot.is_none() {
        return None;
    }
    let (base, key) = pve_target(a, slot)?;
    let raw = config.get(&base)?;
    let text = match key {
        None => raw_text(raw)?,
        Some(k) => {
            let p = parse_param(type_name, &base, &raw_text(raw)?);
            match (p.get(k), a.canon) {
                (Some(v), _) => v.to_string(),
                // No `format=`: the volume's name tells it.
                (None, crate::schema::Canon::VolumeFormat) => {
                    let volume = pve::default_key(type_name, &base).and_then(|dk| p.get(dk))?;
                    volume_format(volume).to_string()
                }
                (None, _) => return None,
            }
        }
    };
    decode_value(a, &text)
}

/// A volume's image format from its name: `vm-100-disk-0.qcow2` is qcow2; block volumes raw.
fn volume_format(volume: &str) -> &'static str {
    let name = volume.split(',').next().unwrap_or(volume);
    if name.ends_with(".qcow2") {
        "qcow2"
    } else if name.ends_with(".vmdk") {
        "vmdk"
    } else {
        "raw"
    }
}

/// Where an attribute lives in the config. `ipconfig[n]` names the attribute's own key.
pub fn pve_target(a: &Attribute, slot: Option<&str>) -> Option<(String, Option<&'static str>)> {
    if a.pve_param? == "ipconfig[n]" {
        return Some((a.name.to_string(), None));
    }
    a.pve_target(slot)
}

#[cfg(test)]
mod tests;
