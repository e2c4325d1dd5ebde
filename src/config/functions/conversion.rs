//! Type conversions.

use super::sets::{set_of, unify};
use super::{describe, value_to_bool, value_to_number, value_to_string, Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

pub(super) fn tostring(_: &FunctionContext, a: &Args) -> Result {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => value_to_string(v).map(Value::String).ok_or_else(|| a.wrong_type(0, "a string, number or bool")),
    }
}

pub(super) fn tonumber(_: &FunctionContext, a: &Args) -> Result {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => value_to_number(v).map(Value::Number).ok_or_else(|| match v {
            Value::String(s) => a.err(0, format!("{s:?} is not a number")),
            _ => a.wrong_type(0, "a number or a string holding one"),
        }),
    }
}

pub(super) fn tobool(_: &FunctionContext, a: &Args) -> Result {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => value_to_bool(v).map(Value::Bool).ok_or_else(|| match v {
            Value::String(s) => a.err(0, format!("{s:?} is not \"true\" or \"false\"")),
            _ => a.wrong_type(0, "a bool or the string \"true\" or \"false\""),
        }),
    }
}

pub(super) fn tolist(_: &FunctionContext, a: &Args) -> Result {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        // A list's elements share one type: mixed strings, numbers and bools become strings.
        Value::List(items) => Ok(Value::List(unify(items.clone()))),
        _ => Err(a.wrong_type(0, "a list or set")),
    }
}

pub(super) fn toset(_: &FunctionContext, a: &Args) -> Result {
    let items = match a.get(0) {
        Value::Null => return Ok(Value::Null),
        Value::List(items) => items,
        _ => return Err(a.wrong_type(0, "a list or set")),
    };
    if let Some(v) = items.iter().find(|v| matches!(v, Value::List(_) | Value::Map(_))) {
        // pmx sets hold plain values: that is what for_each and the set functions need
        return Err(a.err(0, format!("set elements must be strings, numbers or bools, got {}", describe(v))));
    }
    Ok(Value::List(set_of(items.clone())))
}

pub(super) fn tomap(_: &FunctionContext, a: &Args) -> Result {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        // A map's values share one type, as a list's elements do.
        Value::Map(m) => {
            let values = unify(m.values().cloned().collect());
            Ok(Value::Map(m.keys().cloned().zip(values).collect()))
        }
        _ => Err(a.wrong_type(0, "a map or object")),
    }
}

/// Called with the arguments still marked (see `handles_marks`).
pub(super) fn sensitive(_: &FunctionContext, a: &Args) -> Result {
    Ok(a.get(0).clone().mark_sensitive())
}

/// Called with the arguments still marked (see `handles_marks`).
pub(super) fn nonsensitive(_: &FunctionContext, a: &Args) -> Result {
    let mut was_sensitive = false;
    Ok(super::deep_unmark(a.get(0).clone(), &mut was_sensitive))
}

/// Called with the arguments still marked (see `handles_marks`).
pub(super) fn issensitive(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Bool(matches!(a.get(0), Value::Sensitive(_))))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::config::Value;

    #[test]
    fn scalars() {
        assert_eq!(ok("tostring", vec![n(2.5)]), s("2.5"));
        // Binary noise is not shown: Terraform computes 0.1 + 0.2 exactly.
        assert_eq!(ok("tostring", vec![n(0.1 + 0.2)]), s("0.3"));
        assert_eq!(ok("tostring", vec![n(1e-7)]), s("0.0000001"));
        assert_eq!(ok("tostring", vec![n(123456.789)]), s("123456.789"));
        assert_eq!(ok("tostring", vec![Value::Bool(true)]), s("true"));
        assert_eq!(ok("tostring", vec![Value::Null]), Value::Null);
        assert_eq!(err("tostring", vec![list(vec![])]).arg, Some(0));
        assert_eq!(ok("tonumber", vec![s("42")]), n(42.0));
        assert!(err("tonumber", vec![s("forty")]).message.contains("\"forty\" is not a number"));
        assert_eq!(ok("tobool", vec![s("false")]), Value::Bool(false));
        assert!(err("tobool", vec![s("yes")]).message.contains("not \"true\""));
        assert_eq!(err("tobool", vec![n(1.0)]).arg, Some(0));
    }

    #[test]
    fn sensitivity() {
        assert_eq!(ok("sensitive", vec![s("pw")]), s("pw").mark_sensitive());
        assert_eq!(ok("sensitive", vec![Value::Unknown]), Value::Unknown.mark_sensitive());
        let marked = list(vec![s("a").mark_sensitive()]).mark_sensitive();
        assert_eq!(ok("nonsensitive", vec![marked]), strs(&["a"]));
        assert_eq!(ok("nonsensitive", vec![s("plain")]), s("plain"));
    }

    #[test]
    fn collections() {
        assert_eq!(ok("tolist", vec![strs(&["a"])]), strs(&["a"]));
        assert_eq!(err("tolist", vec![map(vec![])]).arg, Some(0));
        assert_eq!(ok("toset", vec![strs(&["b", "a", "b"])]), strs(&["a", "b"]));
        assert!(err("toset", vec![list(vec![list(vec![])])]).message.contains("set elements"));
        assert_eq!(ok("toset", vec![list(vec![s("a"), Value::Unknown])]), Value::Unknown);
        assert_eq!(ok("tomap", vec![map(vec![("a", Value::Unknown)])]), map(vec![("a", Value::Unknown)]));
        assert_eq!(err("tomap", vec![strs(&[])]).arg, Some(0));
    }
}
