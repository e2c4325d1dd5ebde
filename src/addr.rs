//! Resource addresses: `vm.web`, `vm.web[0]`, `vm.db["a"]`, `data.template.debian12`.
//!
//! Addresses are plain values with `Display`, `FromStr` and `Ord`, used by the graph, the
//! plan and the state store alike.

use std::fmt;
use std::str::FromStr;

/// Whether an address names a managed resource or a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Managed,
    Data,
}

/// The instance key of an expanded resource: none, a `count` index or a `for_each` key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    None,
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", serde_json::Value::String(s.clone())),
        }
    }
}

/// A resource block in the configuration, before `count`/`for_each` expansion.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigAddress {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
}

impl ConfigAddress {
    pub fn managed(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        ConfigAddress { mode: Mode::Managed, type_name: type_name.into(), name: name.into() }
    }
    pub fn data(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        ConfigAddress { mode: Mode::Data, type_name: type_name.into(), name: name.into() }
    }
    pub fn instance(&self, key: InstanceKey) -> ResourceAddress {
        ResourceAddress { config: self.clone(), key }
    }
}

impl fmt::Display for ConfigAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mode == Mode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// One resource instance: a config address plus its instance key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceAddress {
    pub config: ConfigAddress,
    pub key: InstanceKey,
}

impl fmt::Display for ResourceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.config, self.key)
    }
}

impl serde::Serialize for ResourceAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ResourceAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {reason}")]
pub struct AddressError {
    pub input: String,
    pub reason: &'static str,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl FromStr for ResourceAddress {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddressError { input: input.to_string(), reason };
        let (head, key) = match input.find('[') {
            Some(open) => {
                let inner = input[open..]
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .ok_or_else(|| err("an instance key must be closed by ']' at the end"))?;
                let key = if inner.starts_with('"') {
                    match serde_json::from_str::<String>(inner) {
                        Ok(s) => InstanceKey::Str(s),
                        Err(_) => return Err(err("a string instance key must be a quoted string")),
                    }
                } else {
                    InstanceKey::Int(
                        inner.parse().map_err(|_| err("an instance key must be an integer or a quoted string"))?,
                    )
                };
                (&input[..open], key)
            }
            None => (input, InstanceKey::None),
        };
        let parts: Vec<&str> = head.split('.').collect();
        let (mode, type_name, name) = match parts.as_slice() {
            ["data", t, n] => (Mode::Data, *t, *n),
            [t, n] => (Mode::Managed, *t, *n),
            _ => return Err(err("expected TYPE.NAME or data.TYPE.NAME")),
        };
        if !is_identifier(type_name) || !is_identifier(name) {
            return Err(err("type and name must be identifiers"));
        }
        Ok(ResourceAddress {
            config: ConfigAddress { mode, type_name: type_name.to_string(), name: name.to_string() },
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in ["vm.web", "vm.web[0]", "vm.db[\"a\"]", "data.template.debian12", "pool.x[\"a b\\\"c\"]"] {
            let a: ResourceAddress = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "vm", "vm.", "a.b.c", "vm.web[", "vm.web[x]", "vm.web[0]x", "1vm.web"] {
            assert!(s.parse::<ResourceAddress>().is_err(), "{s} should not parse");
        }
    }

    #[test]
    fn orders_numerically_and_by_mode() {
        let mut v: Vec<ResourceAddress> =
            ["vm.web[10]", "vm.web[2]", "data.node.a", "pool.p"].iter().map(|s| s.parse().unwrap()).collect();
        v.sort();
        let s: Vec<String> = v.iter().map(|a| a.to_string()).collect();
        assert_eq!(s, ["pool.p", "vm.web[2]", "vm.web[10]", "data.node.a"]);
    }
}
