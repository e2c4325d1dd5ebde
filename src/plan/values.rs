//! Plan values: `config::Value` split into plain JSON plus the marks Terraform's plan format
//! keeps beside it (`after_unknown`, `after_sensitive`). A sensitive value is never kept in the
//! clear: it becomes its keyed hash (HMAC-SHA256 under the workspace's plan key), which apply
//! compares with the value it evaluates again.

use serde_json::{Map, Value as Json};

use crate::config::Value;

/// Splits `v` into (value, unknown marks, sensitive marks). The marks have the value's shape
/// where a mark is set and are `false` (or absent inside objects) elsewhere.
pub fn split(v: &Value, key: &[u8]) -> (Json, Json, Json) {
    match v {
        Value::Unknown => (Json::Null, Json::Bool(true), Json::Bool(false)),
        Value::Sensitive(inner) => {
            let (plain, unknown, _) = split(inner, key);
            let shown = if unknown == Json::Bool(true) { Json::Null } else { Json::String(keyed_hash(key, &plain)) };
            (shown, unknown, Json::Bool(true))
        }
        Value::List(items) => {
            let parts: Vec<_> = items.iter().map(|i| split(i, key)).collect();
            let any_u = parts.iter().any(|p| p.1 != Json::Bool(false));
            let any_s = parts.iter().any(|p| p.2 != Json::Bool(false));
            let mut vals = Vec::new();
            let mut us = Vec::new();
            let mut ss = Vec::new();
            for (a, u, s) in parts {
                vals.push(a);
                us.push(u);
                ss.push(s);
            }
            (
                Json::Array(vals),
                if any_u { Json::Array(us) } else { Json::Bool(false) },
                if any_s { Json::Array(ss) } else { Json::Bool(false) },
            )
        }
        Value::Map(m) => {
            let mut vals = Map::new();
            let mut us = Map::new();
            let mut ss = Map::new();
            for (k, v) in m {
                let (a, u, s) = split(v, key);
                vals.insert(k.clone(), a);
                if u != Json::Bool(false) {
                    us.insert(k.clone(), u);
                }
                if s != Json::Bool(false) {
                    ss.insert(k.clone(), s);
                }
            }
            (Json::Object(vals), Json::Object(us), Json::Object(ss))
        }
        other => (other.to_json(), Json::Bool(false), Json::Bool(false)),
    }
}

/// `hmac-sha256:HEX` of a value's JSON text under `key`.
pub fn keyed_hash(key: &[u8], v: &Json) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&k, v.to_string().as_bytes());
    format!("hmac-sha256:{}", hex::encode(tag.as_ref()))
}

/// Whether the mark at `path` (or above it) is set.
pub fn marked(marks: &Json, path: &[&str]) -> bool {
    let mut cur = marks;
    for p in path {
        match cur {
            Json::Bool(b) => return *b,
            Json::Object(m) => match m.get(*p) {
                Some(next) => cur = next,
                None => return false,
            },
            Json::Array(items) => match p.parse::<usize>().ok().and_then(|i| items.get(i)) {
                Some(next) => cur = next,
                None => return false,
            },
            _ => return false,
        }
    }
    match cur {
        Json::Bool(b) => *b,
        Json::Null => false,
        _ => false,
    }
}

/// Whether anything at or below `path` is marked.
pub fn any_marked(marks: &Json, path: &[&str]) -> bool {
    let mut cur = marks;
    for p in path {
        match cur {
            Json::Bool(b) => return *b,
            Json::Object(m) => match m.get(*p) {
                Some(next) => cur = next,
                None => return false,
            },
            _ => return false,
        }
    }
    fn any(v: &Json) -> bool {
        match v {
            Json::Bool(b) => *b,
            Json::Object(m) => m.values().any(any),
            Json::Array(a) => a.iter().any(any),
            _ => false,
        }
    }
    any(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    #[test]
    fn sensitive_values_become_keyed_hashes_and_unknowns_are_marked() {
        let v = Value::Map(IndexMap::from([
            ("name".to_string(), Value::String("web".into())),
            ("vmid".to_string(), Value::Unknown),
            ("password".to_string(), Value::String("hunter2".into()).mark_sensitive()),
        ]));
        let (plain, unknown, sensitive) = split(&v, b"k1");
        assert_eq!(plain["name"], "web");
        assert_eq!(plain["vmid"], Json::Null);
        let hash = plain["password"].as_str().unwrap();
        assert!(hash.starts_with("hmac-sha256:") && !hash.contains("hunter2"));
        assert_eq!(unknown, serde_json::json!({"vmid": true}));
        assert_eq!(sensitive, serde_json::json!({"password": true}));
        let (again, _, _) = split(&v, b"k2");
        assert_ne!(again["password"], plain["password"], "the hash depends on the key");
        assert!(marked(&sensitive, &["password"]));
        assert!(!marked(&sensitive, &["name"]));
    }
}
