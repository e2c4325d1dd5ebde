//! PVE property strings: `virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20` or
//! `local-lvm:vm-100-disk-0,size=32G`. The first item may be a bare value, which belongs to
//! the property's "default key" (`model` for a NIC's `virtio=MAC`, `file` for a disk).

use indexmap::IndexMap;

/// A parsed property string: keys in their original order. A bare leading value is stored
/// under `default_key`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyString {
    pub entries: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyStringError {
    #[error("property string item {0:?} has no key (only the first item may be a bare value)")]
    MissingKey(String),
    #[error("duplicate key {0:?} in property string")]
    DuplicateKey(String),
    #[error("empty key in property string item {0:?}")]
    EmptyKey(String),
}

impl PropertyString {
    /// Parses `s`. A first item without `=` is stored under `default_key` if one is given.
    pub fn parse(s: &str, default_key: Option<&str>) -> Result<Self, PropertyStringError> {
        let mut entries = IndexMap::new();
        for (i, item) in s.split(',').enumerate() {
            if item.is_empty() {
                continue;
            }
            let (k, v) = match item.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), v.to_string()),
                None => match (i, default_key) {
                    (0, Some(dk)) => (dk.to_string(), item.to_string()),
                    _ => return Err(PropertyStringError::MissingKey(item.to_string())),
                },
            };
            if k.is_empty() {
                return Err(PropertyStringError::EmptyKey(item.to_string()));
            }
            if entries.insert(k.clone(), v).is_some() {
                return Err(PropertyStringError::DuplicateKey(k));
            }
        }
        Ok(PropertyString { entries })
    }

    /// Renders back; `default_key`, if present, is written first as a bare value.
    pub fn render(&self, default_key: Option<&str>) -> String {
        let mut parts = Vec::with_capacity(self.entries.len());
        if let Some(dk) = default_key {
            if let Some(v) = self.entries.get(dk) {
                parts.push(v.clone());
            }
        }
        for (k, v) in &self.entries {
            if Some(k.as_str()) == default_key {
                continue;
            }
            parts.push(format!("{k}={v}"));
        }
        parts.join(",")
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(key.into(), value.into());
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.entries.shift_remove(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_round_trip() {
        let s = "local-lvm:vm-100-disk-0,size=32G,discard=on";
        let p = PropertyString::parse(s, Some("file")).unwrap();
        assert_eq!(p.get("file"), Some("local-lvm:vm-100-disk-0"));
        assert_eq!(p.get("size"), Some("32G"));
        assert_eq!(p.render(Some("file")), s);
    }

    #[test]
    fn nic_with_keyed_model() {
        let s = "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20";
        let p = PropertyString::parse(s, None).unwrap();
        assert_eq!(p.get("virtio"), Some("BC:24:11:00:00:01"));
        assert_eq!(p.render(None), s);
    }

    #[test]
    fn errors() {
        assert!(PropertyString::parse("a=1,b", None).is_err());
        assert!(PropertyString::parse("a=1,a=2", None).is_err());
        assert!(PropertyString::parse("=1", None).is_err());
    }
}
