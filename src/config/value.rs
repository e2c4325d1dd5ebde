//! Values of the `.pmx` language.
//!
//! Besides the usual JSON-like values there are two special ones: `Unknown` (a value that
//! exists only after apply, such as the vmid Proxmox allocates) is carried through every
//! expression instead of failing; `Sensitive` marks a value that must never be printed.

use indexmap::IndexMap;

#[derive(Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    /// Lists, tuples and sets (sets are lists without duplicates, kept in first-seen order).
    List(Vec<Value>),
    /// Maps and objects, in declaration order.
    Map(IndexMap<String, Value>),
    /// Known only after apply.
    Unknown,
    /// A value that must never be shown (a secret); operations keep the mark.
    Sensitive(Box<Value>),
}

/// Hand-written so that a sensitive value never prints, not even under `{:?}`.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Number(n) => write!(f, "Number({n})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(items) => f.debug_list().entries(items).finish(),
            Value::Map(m) => f.debug_map().entries(m.iter()).finish(),
            Value::Unknown => f.write_str("Unknown"),
            Value::Sensitive(_) => f.write_str("Sensitive(<redacted>)"),
        }
    }
}

impl Value {
    /// A key that equal plain values (strings, numbers, bools, null) share and unequal ones do
    /// not, for de-duplicating large sets in linear time; `None` for lists, maps and unknowns,
    /// which are compared one by one.
    pub fn scalar_key(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(format!("s{s}")),
            Value::Number(n) => Some(format!("n{}", if *n == 0.0 { 0.0f64.to_bits() } else { n.to_bits() })),
            Value::Bool(b) => Some(format!("b{b}")),
            Value::Null => Some("z".to_string()),
            _ => None,
        }
    }

    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(v) => v.is_known(),
            _ => true,
        }
    }

    /// True when the value or anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(v) => v.is_wholly_known(),
            Value::List(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn is_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::is_sensitive),
            Value::Map(m) => m.values().any(Value::is_sensitive),
            _ => false,
        }
    }

    /// The value without a top-level sensitive mark, and whether it had one.
    pub fn unmark(self) -> (Value, bool) {
        match self {
            Value::Sensitive(v) => (v.unmark().0, true),
            v => (v, false),
        }
    }

    pub fn mark_sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Unknown => "unknown",
            Value::Sensitive(v) => v.type_name(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Sensitive(v) => v.as_str(),
            _ => None,
        }
    }

    /// The number as an integer, when it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) if n.fract() == 0.0 && n.is_finite() => Some(*n as i64),
            Value::Sensitive(v) => v.as_i64(),
            _ => None,
        }
    }

    /// Converts to JSON. Unknown becomes `null`; sensitive values are kept (callers that print
    /// must use [`Value::to_redacted_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => items.iter().map(Value::to_json).collect(),
            Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>().into(),
            Value::Sensitive(v) => v.to_json(),
        }
    }

    /// JSON for output: sensitive values become the string `"(sensitive value)"`.
    pub fn to_redacted_json(&self) -> serde_json::Value {
        match self {
            Value::Sensitive(_) => serde_json::Value::String("(sensitive value)".into()),
            Value::List(items) => items.iter().map(Value::to_redacted_json).collect(),
            Value::Map(m) => {
                m.iter().map(|(k, v)| (k.clone(), v.to_redacted_json())).collect::<serde_json::Map<_, _>>().into()
            }
            v => v.to_json(),
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
    }
}

/// Renders a value the way HCL would write it; sensitive values are redacted, unknown ones say
/// so. Used in diagnostics and plan output.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(_) => write!(f, "{}", self.to_json()),
            Value::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_is_never_displayed() {
        let v = Value::List(vec![Value::String("a".into()), Value::String("hunter2".into()).mark_sensitive()]);
        let shown = v.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!v.to_redacted_json().to_string().contains("hunter2"));
        assert!(v.is_sensitive());
    }

    #[test]
    fn sensitive_is_never_debug_printed() {
        let v = Value::Map([("p".to_string(), Value::String("hunter2".into()).mark_sensitive())].into_iter().collect());
        let shown = format!("{v:?} {v:#?}");
        assert!(!shown.contains("hunter2") && shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn unknown_is_carried() {
        let v = Value::Map([("a".to_string(), Value::Unknown)].into_iter().collect());
        assert!(v.is_known());
        assert!(!v.is_wholly_known());
    }
}
