//! Type constraints of variables (`string`, `list(number)`, `object({ a = string })`...) and
//! conversion of values to them, with messages that say where inside the value it failed.

use std::fmt;

use hcl_edit::expr::{Expression, ObjectKey};
use indexmap::IndexMap;

use super::Value;
use crate::schema::ValueType;

#[derive(Debug, Clone, PartialEq)]
pub enum TypeConstraint {
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeConstraint>),
    Set(Box<TypeConstraint>),
    Map(Box<TypeConstraint>),
    Object(IndexMap<String, TypeConstraint>),
    Tuple(Vec<TypeConstraint>),
}

impl fmt::Display for TypeConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeConstraint::Any => f.write_str("any"),
            TypeConstraint::String => f.write_str("string"),
            TypeConstraint::Number => f.write_str("number"),
            TypeConstraint::Bool => f.write_str("bool"),
            TypeConstraint::List(t) => write!(f, "list({t})"),
            TypeConstraint::Set(t) => write!(f, "set({t})"),
            TypeConstraint::Map(t) => write!(f, "map({t})"),
            TypeConstraint::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {t}")?;
                }
                f.write_str("})")
            }
            TypeConstraint::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

impl From<&ValueType> for TypeConstraint {
    fn from(t: &ValueType) -> Self {
        match t {
            ValueType::String => TypeConstraint::String,
            ValueType::Number => TypeConstraint::Number,
            ValueType::Bool => TypeConstraint::Bool,
            ValueType::List(t) => TypeConstraint::List(Box::new(t.as_ref().into())),
            ValueType::Set(t) => TypeConstraint::Set(Box::new(t.as_ref().into())),
            ValueType::Map(t) => TypeConstraint::Map(Box::new(t.as_ref().into())),
            ValueType::Any => TypeConstraint::Any,
        }
    }
}

/// Parses a type expression. The error says what was expected.
pub fn parse_type(expr: &Expression) -> Result<TypeConstraint, String> {
    const HELP: &str =
        "expected a type: string, number, bool, any, list(T), set(T), map(T), object({...}), tuple([...])";
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok(TypeConstraint::String),
            "number" => Ok(TypeConstraint::Number),
            "bool" => Ok(TypeConstraint::Bool),
            "any" => Ok(TypeConstraint::Any),
            "list" => Ok(TypeConstraint::List(Box::new(TypeConstraint::Any))),
            "map" => Ok(TypeConstraint::Map(Box::new(TypeConstraint::Any))),
            "set" => Ok(TypeConstraint::Set(Box::new(TypeConstraint::Any))),
            other => Err(format!("unknown type {other:?}; {HELP}")),
        },
        Expression::String(s) => match s.as_str() {
            "string" => Ok(TypeConstraint::String),
            "number" => Ok(TypeConstraint::Number),
            "bool" => Ok(TypeConstraint::Bool),
            _ => Err(HELP.to_string()),
        },
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let arg = || -> Result<&Expression, String> {
                match call.args.len() {
                    1 => call.args.get(0).ok_or_else(|| format!("{name}(...) takes one argument")),
                    _ => Err(format!("{name}(...) takes one argument")),
                }
            };
            match name {
                "list" => Ok(TypeConstraint::List(Box::new(parse_type(arg()?)?))),
                "set" => Ok(TypeConstraint::Set(Box::new(parse_type(arg()?)?))),
                "map" => Ok(TypeConstraint::Map(Box::new(parse_type(arg()?)?))),
                "object" => match arg()? {
                    Expression::Object(o) => {
                        let mut attrs = IndexMap::new();
                        for (k, v) in o.iter() {
                            let key = match k {
                                ObjectKey::Ident(i) => i.as_str().to_string(),
                                ObjectKey::Expression(Expression::String(s)) => s.as_str().to_string(),
                                _ => return Err("object attribute names must be identifiers".into()),
                            };
                            let value = match v.expr() {
                                // optional(T) or optional(T, default): the default is ignored here.
                                Expression::FuncCall(c) if c.name.name.as_str() == "optional" => {
                                    let inner = c.args.get(0).ok_or("optional(...) needs a type")?;
                                    parse_type(inner)?
                                }
                                e => parse_type(e)?,
                            };
                            attrs.insert(key, value);
                        }
                        Ok(TypeConstraint::Object(attrs))
                    }
                    _ => Err("object(...) takes an object of attribute types: object({ name = string })".into()),
                },
                "tuple" => match arg()? {
                    Expression::Array(a) => {
                        Ok(TypeConstraint::Tuple(a.iter().map(parse_type).collect::<Result<_, _>>()?))
                    }
                    _ => Err("tuple(...) takes a list of types: tuple([string, number])".into()),
                },
                other => Err(format!("unknown type constructor {other:?}; {HELP}")),
            }
        }
        _ => Err(HELP.to_string()),
    }
}

/// Converts a value to a type the way HCL does (numbers and bools to strings and back where
/// the text allows, tuples to lists...). Unknown stays unknown; sensitive marks are kept.
pub fn convert(value: Value, ty: &TypeConstraint) -> Result<Value, String> {
    convert_at(value, ty, "")
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

fn convert_at(value: Value, ty: &TypeConstraint, path: &str) -> Result<Value, String> {
    let (value, sensitive) = match value {
        Value::Sensitive(inner) => (*inner, true),
        v => (v, false),
    };
    let converted = convert_unmarked(value, ty, path, sensitive)?;
    Ok(if sensitive { converted.mark_sensitive() } else { converted })
}

fn describe(v: &Value, sensitive: bool) -> String {
    if sensitive {
        format!("a sensitive {}", v.type_name())
    } else {
        match v {
            Value::List(_) | Value::Map(_) => format!("a {}", v.type_name()),
            v => format!("{} {v}", v.type_name()),
        }
    }
}

fn convert_unmarked(value: Value, ty: &TypeConstraint, path: &str, sensitive: bool) -> Result<Value, String> {
    if matches!(value, Value::Unknown | Value::Null) {
        return Ok(value);
    }
    let mismatch = |v: &Value| format!("expected {ty}, got {}{}", describe(v, sensitive), at(path));
    match ty {
        TypeConstraint::Any => Ok(value),
        TypeConstraint::String => match value {
            Value::String(_) => Ok(value),
            Value::Number(_) => Ok(Value::String(value.to_json().to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            v => Err(mismatch(&v)),
        },
        TypeConstraint::Number => match &value {
            Value::Number(_) => Ok(value),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(Value::Number(n)),
                _ => Err(mismatch(&value)),
            },
            v => Err(mismatch(v)),
        },
        TypeConstraint::Bool => match &value {
            Value::Bool(_) => Ok(value),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            v => Err(mismatch(v)),
        },
        TypeConstraint::List(t) | TypeConstraint::Set(t) => match value {
            Value::List(items) => {
                let mut out: Vec<Value> = Vec::with_capacity(items.len());
                let mut seen = std::collections::HashSet::new();
                for (i, item) in items.into_iter().enumerate() {
                    let v = convert_at(item, t, &format!("{path}[{i}]"))?;
                    if matches!(ty, TypeConstraint::Set(_)) {
                        let duplicate = match v.scalar_key() {
                            Some(key) => !seen.insert(key),
                            None => out.contains(&v),
                        };
                        if duplicate {
                            continue;
                        }
                    }
                    out.push(v);
                }
                Ok(Value::List(out))
            }
            v => Err(mismatch(&v)),
        },
        TypeConstraint::Map(t) => match value {
            Value::Map(m) => {
                let mut out = IndexMap::with_capacity(m.len());
                for (k, v) in m {
                    let p = format!("{path}[{}]", serde_json::Value::String(k.clone()));
                    out.insert(k, convert_at(v, t, &p)?);
                }
                Ok(Value::Map(out))
            }
            v => Err(mismatch(&v)),
        },
        TypeConstraint::Object(attrs) => match value {
            Value::Map(mut m) => {
                let mut out = IndexMap::with_capacity(attrs.len());
                for (k, t) in attrs {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    let v = m.shift_remove(k).unwrap_or(Value::Null);
                    out.insert(k.clone(), convert_at(v, t, &p)?);
                }
                if let Some(extra) = m.keys().next() {
                    return Err(format!("unexpected attribute {extra:?}{}; {ty} has no such attribute", at(path)));
                }
                Ok(Value::Map(out))
            }
            v => Err(mismatch(&v)),
        },
        TypeConstraint::Tuple(ts) => match value {
            Value::List(items) if items.len() == ts.len() => items
                .into_iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (v, t))| convert_at(v, t, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            v => Err(mismatch(&v)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> TypeConstraint {
        parse_type(&s.parse::<Expression>().unwrap()).unwrap()
    }

    #[test]
    fn parses_types() {
        assert_eq!(ty("string"), TypeConstraint::String);
        assert_eq!(ty("list(number)").to_string(), "list(number)");
        assert_eq!(
            ty("object({ a = string, b = optional(list(bool)) })").to_string(),
            "object({a = string, b = list(bool)})"
        );
        assert!(parse_type(&"strng".parse::<Expression>().unwrap()).is_err());
    }

    #[test]
    fn converts_and_explains() {
        assert_eq!(convert(Value::String("3".into()), &TypeConstraint::Number), Ok(Value::Number(3.0)));
        let err = convert(
            Value::List(vec![Value::Number(1.0), Value::String("x".into())]),
            &TypeConstraint::List(Box::new(TypeConstraint::Number)),
        )
        .unwrap_err();
        assert_eq!(err, "expected number, got string \"x\" at [1]");
        let secret = Value::String("hunter2".into()).mark_sensitive();
        let err = convert(secret, &TypeConstraint::Number).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
