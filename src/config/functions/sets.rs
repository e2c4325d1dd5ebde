//! Sets as Terraform has them: elements of one type (mixed strings, numbers and bools all
//! become strings), no duplicates, and a fixed order (strings and numbers ascending, false
//! before true) rather than the order they were written in. `toset(["c", "b", "b"])` is
//! `["b", "c"]`, `toset(["a", "b", 3])` is `["3", "a", "b"]`.

use std::cmp::Ordering;

use super::collections::same;
use super::fmt_number;
use crate::config::Value;

/// The elements converted to the most general type they share, as Terraform converts a list,
/// set or map literal: when strings, numbers and bools are mixed, every one becomes a string.
/// Lists, maps, nulls and unknowns are left as they are.
pub(super) fn unify(items: Vec<Value>) -> Vec<Value> {
    let kinds = items.iter().fold([false; 3], |mut k, v| {
        match v {
            Value::String(_) => k[0] = true,
            Value::Number(_) => k[1] = true,
            Value::Bool(_) => k[2] = true,
            _ => {}
        }
        k
    });
    if kinds.iter().filter(|k| **k).count() < 2 {
        return items;
    }
    items
        .into_iter()
        .map(|v| match v {
            Value::Number(n) => Value::String(fmt_number(n)),
            Value::Bool(b) => Value::String(b.to_string()),
            other => other,
        })
        .collect()
}

/// A set of the elements: unified, without duplicates, in Terraform's order.
pub(super) fn set_of(items: Vec<Value>) -> Vec<Value> {
    let mut items = unify(items);
    // Stable, so lists and maps (which have no order of their own) keep the order they came in.
    items.sort_by(order);
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for v in items {
        // Sorted, so an equal plain value is the previous one; collections are compared to all.
        let duplicate = match (&v, out.last()) {
            (Value::List(_) | Value::Map(_), _) => out.iter().any(|o| same(o, &v)),
            (_, Some(last)) => same(last, &v),
            (_, None) => false,
        };
        if !duplicate {
            out.push(v);
        }
    }
    out
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        _ => 3,
    }
}

fn order(x: &Value, y: &Value) -> Ordering {
    match (x, y) {
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => a.total_cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => rank(x).cmp(&rank(y)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn sets_are_sorted_unified_and_distinct() {
        assert_eq!(set_of(vec![s("c"), s("b"), s("b")]), vec![s("b"), s("c")]);
        assert_eq!(set_of(vec![s("a"), s("b"), n(3.0)]), vec![s("3"), s("a"), s("b")]);
        assert_eq!(set_of(vec![n(10.0), n(9.0), n(10.0)]), vec![n(9.0), n(10.0)]);
        assert_eq!(set_of(vec![Value::Bool(true), Value::Bool(false)]), vec![Value::Bool(false), Value::Bool(true)]);
        let (x, y) = (strs(&["x"]), strs(&["y"]));
        assert_eq!(set_of(vec![y.clone(), x.clone(), y.clone()]), vec![y, x]);
    }
}
