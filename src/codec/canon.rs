//! One value through an attribute's [`Canon`]: PVE's text to the schema's JSON, back, and the
//! canonical form both sides are compared in.

use serde_json::Value as Json;

use crate::proxmox::propstring::{parse_size, render_size, volume_storage};
use crate::schema::{Attribute, Canon, ValueType};

const SSH_KEY_ESCAPES: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Bytes of a size; a bare number is GiB, as in the schema's `size`.
pub fn size_bytes(s: &str) -> Option<u64> {
    if s.trim().ends_with(|c: char| c.is_ascii_digit()) {
        parse_size(&format!("{}G", s.trim()))
    } else {
        parse_size(s)
    }
}

fn split(text: &str, sep: char) -> Vec<Json> {
    text.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(|s| Json::String(s.to_string())).collect()
}

/// PVE's text for an attribute, decoded into the schema's JSON (`"1"` → `true`, `"a;b"` →
/// `["a","b"]`, `local-lvm:vm-100-disk-0` → `"local-lvm"` for a storage). `None` for values PVE
/// never returns (write-only ones).
pub fn decode_value(a: &Attribute, text: &str) -> Option<Json> {
    Some(match a.canon {
        Canon::WriteOnly => return None,
        Canon::Number => match text.trim().parse::<f64>() {
            Ok(n) if n.fract() == 0.0 && n.abs() < 9e15 => Json::from(n as i64),
            Ok(n) => serde_json::Number::from_f64(n).map(Json::Number)?,
            Err(_) => Json::String(text.to_string()),
        },
        Canon::Bool => match crate::proxmox::lenient::parse_bool(text) {
            Some(b) => Json::Bool(b),
            None => Json::String(text.to_string()),
        },
        Canon::Switch { on, off } => match text {
            t if t == on => Json::Bool(true),
            t if t == off => Json::Bool(false),
            t => crate::proxmox::lenient::parse_bool(t).map(Json::Bool).unwrap_or_else(|| Json::String(t.to_string())),
        },
        Canon::List(sep) | Canon::Set(sep) => Json::Array(split(text, sep)),
        Canon::Tags => Json::Array(
            text.split([';', ',', ' ']).filter(|s| !s.is_empty()).map(|s| Json::String(s.to_string())).collect(),
        ),
        Canon::Size => Json::String(size_bytes(text).map(render_size).unwrap_or_else(|| text.to_string())),
        Canon::Mac => Json::String(text.to_ascii_uppercase()),
        Canon::VolumeStorage => Json::String(volume_storage(text).unwrap_or(text).to_string()),
        Canon::VolumeFormat => Json::String(text.to_string()),
        Canon::SshKeys => {
            let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy().to_string();
            Json::Array(split(&decoded, '\n'))
        }
        Canon::Text => match a.ty {
            ValueType::List(_) | ValueType::Set(_) => Json::Array(split(text, ',')),
            _ => Json::String(text.to_string()),
        },
        Canon::MachineType => Json::String(text.to_string()),
    })
}

/// The schema's JSON for an attribute as PVE's API takes it.
pub fn encode_value(a: &Attribute, v: &Json) -> Option<String> {
    let items = |sep: &str| -> Option<String> {
        let list = v.as_array()?;
        Some(list.iter().filter_map(scalar_text).collect::<Vec<_>>().join(sep))
    };
    match a.canon {
        Canon::Bool => match v {
            Json::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
            other => scalar_text(other),
        },
        Canon::Switch { on, off } => match v {
            Json::Bool(b) => Some(if *b { on } else { off }.to_string()),
            other => scalar_text(other),
        },
        Canon::List(sep) | Canon::Set(sep) => items(&sep.to_string()),
        Canon::Tags => items(";"),
        Canon::SshKeys => {
            let joined = items("\n")?;
            Some(percent_encoding::utf8_percent_encode(&joined, SSH_KEY_ESCAPES).to_string())
        }
        _ => match v {
            Json::Array(_) => items(","),
            other => scalar_text(other),
        },
    }
}

fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => (f as i64).to_string(),
            _ => n.to_string(),
        }),
        Json::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

/// The form two values of an attribute are compared in: sets sorted, tags sorted and lower
/// case, sizes in bytes, MACs upper case, numbers as numbers.
pub fn canonical(a: &Attribute, v: &Json) -> Json {
    match (a.canon, v) {
        (Canon::Number, Json::String(s)) => s.trim().parse::<f64>().ok().map(Json::from).unwrap_or_else(|| v.clone()),
        (Canon::Number, Json::Number(n)) => n.as_f64().map(Json::from).unwrap_or_else(|| v.clone()),
        (Canon::Bool, Json::String(s)) => {
            crate::proxmox::lenient::parse_bool(s).map(Json::Bool).unwrap_or_else(|| v.clone())
        }
        (Canon::Bool, Json::Number(n)) => Json::Bool(n.as_f64() != Some(0.0)),
        (Canon::Switch { on, off }, Json::String(s)) if s == on || s == off => Json::Bool(s == on),
        (Canon::Set(_), Json::Array(items)) => {
            let mut items: Vec<Json> = items.clone();
            items.sort_by_key(|x| x.to_string());
            items.dedup();
            Json::Array(items)
        }
        (Canon::Tags, Json::Array(items)) => {
            let mut items: Vec<String> =
                items.iter().filter_map(|x| x.as_str()).map(|s| s.to_ascii_lowercase()).collect();
            items.sort();
            items.dedup();
            Json::from(items)
        }
        (Canon::Size, Json::String(s)) => size_bytes(s).map(Json::from).unwrap_or_else(|| v.clone()),
        (Canon::Mac, Json::String(s)) => Json::String(s.to_ascii_uppercase()),
        (Canon::SshKeys, Json::Array(items)) => Json::Array(
            items
                .iter()
                .filter_map(|x| x.as_str())
                .map(|s| Json::String(s.split_whitespace().collect::<Vec<_>>().join(" ")))
                .collect(),
        ),
        _ => v.clone(),
    }
}

#[cfg(test)]
#[test]
fn machine_families() {
    assert!(same_machine("q35", "pc-q35-11.0+pve0"));
    assert!(same_machine("pc", "pc-i440fx-10.1"));
    assert!(!same_machine("q35", "pc-i440fx-10.1"));
    assert!(!same_machine("pc-q35-9.0", "pc-q35-11.0"), "a pin is compared exactly");
}

/// Whether two values of an attribute are the same once PVE's rewriting is undone.
pub fn same(a: &Attribute, x: &Json, y: &Json) -> bool {
    if a.canon == Canon::MachineType {
        if let (Some(x), Some(y)) = (x.as_str(), y.as_str()) {
            return same_machine(x, y);
        }
    }
    canonical(a, x) == canonical(a, y)
}

/// `q35` and `pc-q35-11.0+pve0` are one machine family; two pinned versions must be equal.
fn same_machine(x: &str, y: &str) -> bool {
    fn family(m: &str) -> &str {
        let m = m.strip_suffix(".pxe").unwrap_or(m);
        if m == "q35" || m.starts_with("pc-q35-") {
            "q35"
        } else if m == "pc" || m.starts_with("pc-") {
            "pc"
        } else {
            m.split('-').next().unwrap_or(m)
        }
    }
    let unversioned = |m: &str| matches!(m, "q35" | "pc" | "virt");
    x == y || ((unversioned(x) || unversioned(y)) && family(x) == family(y))
}
