//! What a live guest config holds that no attribute of the schema reads: whole options (`args`,
//! `hookscript`, `usb0`) and keys inside property strings pmx does manage (`scsi0.wwn`).
//! `pmx import` lists them per guest; plan and apply never touch them, because the diff compares
//! only decoded attributes and updates rebuild property strings from the live value.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};

use crate::codec::{parse_param, pve_target, raw_text};
use crate::schema::{pve, Nesting, ResourceType};

/// Keys Proxmox keeps for itself: generated ids, bookkeeping and transient state. Nobody
/// writes them in a configuration, so they are not worth listing.
const PROXMOX_OWN: &[&str] =
    &["digest", "lock", "meta", "vmgenid", "parent", "snaptime", "vmstate", "runningmachine", "runningcpu", "template"];

/// The options of `config` that `rt` does not model, sorted (`args`, `net0.x`, `unused0`).
pub fn unmanaged(rt: &ResourceType, config: &Map<String, Json>) -> Vec<String> {
    // Options read whole, and the keys read inside property-string options.
    let mut whole: HashSet<String> = HashSet::new();
    let mut keys: HashMap<String, HashSet<&'static str>> = HashMap::new();
    let mut claim = |base: String, key: Option<&'static str>| match key {
        None => {
            whole.insert(base);
        }
        Some(k) => {
            keys.entry(base).or_default().insert(k);
        }
    };
    for a in &rt.attributes {
        if let Some((base, key)) = pve_target(a, None) {
            claim(base, key);
        }
    }
    for b in &rt.blocks {
        match &b.nesting {
            Nesting::Single => {
                for a in &b.attributes {
                    if let Some((base, key)) = pve_target(a, None) {
                        claim(base, key);
                    }
                }
            }
            Nesting::Slotted { slot_pattern, .. } => {
                let Some(pattern) = b.pve_param else { continue };
                let slots = config.iter().filter(|(k, _)| {
                    pve::param_matches(pattern, k) && crate::schema::pattern_matches(slot_pattern, k) == Some(true)
                });
                for (slot, v) in slots {
                    if v.as_str().is_some_and(|s| !pve::slot_claims(b.name, s)) {
                        continue;
                    }
                    for a in &b.attributes {
                        if let Some((base, key)) = pve_target(a, Some(slot)) {
                            claim(base, key);
                        }
                    }
                    for (k, _) in b.fixed_keys {
                        claim(slot.clone(), Some(k));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for (k, v) in config {
        if PROXMOX_OWN.contains(&k.as_str()) || whole.contains(k) {
            continue;
        }
        let text = raw_text(v).unwrap_or_default();
        // The UUID PVE generates on create; anything more in it was set on purpose.
        if k == "smbios1" && text.split(',').all(|kv| kv.starts_with("uuid=")) {
            continue;
        }
        // The cloud-init drive is `cloud_init`'s (its storage and slot).
        if text.split(',').next().is_some_and(|f| f.contains("cloudinit"))
            && pve::param_matches("ide[n]|sata[n]|scsi[n]", k)
        {
            continue;
        }
        let Some(read) = keys.get(k) else {
            out.push(k.clone());
            continue;
        };
        let p = parse_param(rt.name, k, &text);
        let default_key = pve::default_key(rt.name, k);
        for key in p.entries.keys() {
            if !read.contains(key.as_str()) && default_key != Some(key.as_str()) {
                out.push(format!("{k}.{key}"));
            }
        }
    }
    out.sort_by_key(|k| natural(k));
    out
}

/// `scsi10` after `scsi2`.
fn natural(key: &str) -> (String, u32, String) {
    let (head, rest) = key.split_once('.').unwrap_or((key, ""));
    let digits = head.trim_start_matches(|c: char| !c.is_ascii_digit());
    (head[..head.len() - digits.len()].to_string(), digits.parse().unwrap_or(0), rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::registry;
    use serde_json::json;

    #[test]
    fn lists_what_the_schema_does_not_read() {
        let vm = registry().resource("vm").unwrap();
        let config = json!({
            "name": "web", "cores": 2, "args": "-cpu host", "hookscript": "local:snippets/hook.pl",
            "scsi0": "local-lvm:vm-100-disk-0,size=8G,iothread=1,wwn=0x5000c50015ea71ac",
            "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20",
            "ide2": "local-lvm:vm-100-cloudinit,media=cdrom", "ide0": "local:iso/x.iso,media=cdrom",
            "smbios1": "uuid=0b0c", "vmgenid": "x", "digest": "d", "lock": "backup", "unused0": "local-lvm:vm-100-disk-9",
        });
        let got = unmanaged(vm, config.as_object().unwrap());
        assert_eq!(got, ["args", "hookscript", "scsi0.wwn", "unused0"]);
        let custom = json!({"smbios1": "uuid=0b0c,manufacturer=QUNNRQ=="});
        assert_eq!(unmanaged(vm, custom.as_object().unwrap()), ["smbios1"]);
    }
}
