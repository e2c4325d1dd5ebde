//! Lenient decoding of PVE's loose JSON: booleans as 0/1, "0"/"1" or true/false, numbers as
//! strings, strings as numbers. Use with `#[serde(default, deserialize_with = "...")]`.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// Any scalar PVE might send for a field, normalised.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Null,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean, number or string")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// Parses PVE's spellings of a boolean.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match scalar(d)? {
        Scalar::Bool(b) => Ok(Some(b)),
        Scalar::Int(i) => Ok(Some(i != 0)),
        Scalar::UInt(u) => Ok(Some(u != 0)),
        Scalar::Float(f) => Ok(Some(f != 0.0)),
        Scalar::Str(s) if s.is_empty() => Ok(None),
        Scalar::Str(s) => {
            parse_bool(&s).map(Some).ok_or_else(|| de::Error::custom(format!("expected a boolean, got {s:?}")))
        }
        Scalar::Null => Ok(None),
    }
}

pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match scalar(d)? {
        Scalar::Bool(b) => Ok(Some(b as u64)),
        Scalar::Int(i) => u64::try_from(i).map(Some).map_err(de::Error::custom),
        Scalar::UInt(u) => Ok(Some(u)),
        // PVE sometimes reports sizes as floats (e.g. 1.5e10); round towards zero.
        Scalar::Float(f) if f >= 0.0 => Ok(Some(f as u64)),
        Scalar::Float(f) => Err(de::Error::custom(format!("expected a non-negative number, got {f}"))),
        Scalar::Str(s) if s.is_empty() => Ok(None),
        Scalar::Str(s) => {
            s.trim().parse::<u64>().map(Some).map_err(|_| de::Error::custom(format!("expected a number, got {s:?}")))
        }
        Scalar::Null => Ok(None),
    }
}

pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match opt_u64(d)? {
        Some(v) => u32::try_from(v).map(Some).map_err(de::Error::custom),
        None => Ok(None),
    }
}

pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match scalar(d)? {
        Scalar::Bool(b) => Ok(Some(b as i64)),
        Scalar::Int(i) => Ok(Some(i)),
        Scalar::UInt(u) => i64::try_from(u).map(Some).map_err(de::Error::custom),
        Scalar::Float(f) => Ok(Some(f as i64)),
        Scalar::Str(s) if s.is_empty() => Ok(None),
        Scalar::Str(s) => {
            s.trim().parse::<i64>().map(Some).map_err(|_| de::Error::custom(format!("expected a number, got {s:?}")))
        }
        Scalar::Null => Ok(None),
    }
}

pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match scalar(d)? {
        Scalar::Bool(b) => Ok(Some(b as u8 as f64)),
        Scalar::Int(i) => Ok(Some(i as f64)),
        Scalar::UInt(u) => Ok(Some(u as f64)),
        Scalar::Float(f) => Ok(Some(f)),
        Scalar::Str(s) if s.is_empty() => Ok(None),
        Scalar::Str(s) => {
            s.trim().parse::<f64>().map(Some).map_err(|_| de::Error::custom(format!("expected a number, got {s:?}")))
        }
        Scalar::Null => Ok(None),
    }
}

/// A string that PVE may also send as a number (`vmid`, `nextid`, names that look numeric).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Bool(b) => Some(if b { "1" } else { "0" }.to_string()),
        Scalar::Int(i) => Some(i.to_string()),
        Scalar::UInt(u) => Some(u.to_string()),
        Scalar::Float(f) => Some(f.to_string()),
        Scalar::Str(s) => Some(s),
        Scalar::Null => None,
    })
}

/// Required `u32` (a vmid), number or string.
pub fn req_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    opt_u32(d)?.ok_or_else(|| de::Error::custom("missing number"))
}

/// Required string, number or string.
pub fn req_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_string(d)?.ok_or_else(|| de::Error::custom("missing string"))
}

/// Tolerates `null` for a list (PVE sends `null` where a list is empty, at times).
pub fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// An enum of known string values plus a fallback for values this client does not know yet
/// (PVE grows new ones). Implements serde both ways.
#[macro_export]
macro_rules! lenient_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($variant,)+
            Unknown(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = $crate::proxmox::lenient::opt_string(d)?.unwrap_or_default();
                Ok($name::from(s.as_str()))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct T {
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt_u64")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn booleans_in_all_spellings() {
        assert_eq!(t(r#"{"b":1}"#).b, Some(true));
        assert_eq!(t(r#"{"b":0}"#).b, Some(false));
        assert_eq!(t(r#"{"b":"1"}"#).b, Some(true));
        assert_eq!(t(r#"{"b":"0"}"#).b, Some(false));
        assert_eq!(t(r#"{"b":true}"#).b, Some(true));
        assert_eq!(t(r#"{"b":null}"#).b, None);
        assert_eq!(t(r#"{}"#).b, None);
        assert!(serde_json::from_str::<T>(r#"{"b":"maybe"}"#).is_err());
    }

    #[test]
    fn numbers_as_strings_and_strings_as_numbers() {
        assert_eq!(t(r#"{"n":"2048"}"#).n, Some(2048));
        assert_eq!(t(r#"{"n":2048}"#).n, Some(2048));
        assert_eq!(t(r#"{"n":1.5e3}"#).n, Some(1500));
        assert_eq!(t(r#"{"s":100}"#).s.as_deref(), Some("100"));
        assert!(serde_json::from_str::<T>(r#"{"n":"lots"}"#).is_err());
    }

    lenient_enum! {
        enum Colour { Red => "red", Blue => "blue" }
    }

    #[test]
    fn enum_keeps_unknown_values() {
        let c: Vec<Colour> = serde_json::from_str(r#"["red","green"]"#).unwrap();
        assert_eq!(c, vec![Colour::Red, Colour::Unknown("green".into())]);
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"["red","green"]"#);
    }
}
