//! Functions over lists, maps and sets.

use indexmap::IndexMap;

use super::sets::{set_of, unify};
use super::{describe, fmt_number, value_to_bool, value_to_string, Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

/// Most elements are at most this long (guards `range` against exhausting memory).
const MAX_RANGE: usize = 1_000_000;

pub(super) fn length(_: &FunctionContext, a: &Args) -> Result {
    let n = match a.get(0) {
        Value::List(items) => items.len(),
        Value::Map(m) => m.len(),
        Value::String(s) => graphemes(s),
        Value::Sensitive(inner) => match &**inner {
            Value::String(s) => graphemes(s),
            _ => return Err(a.wrong_type(0, "a list, map or string")),
        },
        _ => return Err(a.wrong_type(0, "a list, map or string")),
    };
    Ok(Value::Number(n as f64))
}

/// Characters as Terraform counts them: grapheme clusters (`length("👾🕹️")` is 2).
fn graphemes(s: &str) -> usize {
    unicode_segmentation::UnicodeSegmentation::graphemes(s, true).count()
}

pub(super) fn lookup(_: &FunctionContext, a: &Args) -> Result {
    let map = a.map(0)?;
    let key = a.string(1)?;
    match map.get(&key) {
        Some(v) => Ok(v.clone()),
        None if a.len() == 3 => Ok(a.get(2).clone()),
        None => Err(a.err(1, format!("the map has no key {key:?} and no default was given"))),
    }
}

pub(super) fn merge(_: &FunctionContext, a: &Args) -> Result {
    let mut out = IndexMap::new();
    for (i, v) in a.all().iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Map(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            _ => return Err(a.wrong_type(i, "a map")),
        }
    }
    Ok(Value::Map(out))
}

pub(super) fn concat(_: &FunctionContext, a: &Args) -> Result {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend_from_slice(a.list(i)?);
    }
    Ok(Value::List(out))
}

/// Equality that ignores sensitive marks (the caller re-marks the result).
pub(super) fn same(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Sensitive(x), y) => same(x, y),
        (x, Value::Sensitive(y)) => same(x, y),
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (x, y) => x == y,
    }
}

pub(super) fn contains(_: &FunctionContext, a: &Args) -> Result {
    let list = a.list(0)?;
    Ok(Value::Bool(list.iter().any(|v| same(v, a.get(1)))))
}

fn sorted_entries(m: &IndexMap<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    entries
}

pub(super) fn keys(_: &FunctionContext, a: &Args) -> Result {
    let m = a.map(0)?;
    Ok(Value::List(sorted_entries(m).into_iter().map(|(k, _)| Value::String(k.clone())).collect()))
}

pub(super) fn values(_: &FunctionContext, a: &Args) -> Result {
    let m = a.map(0)?;
    Ok(Value::List(sorted_entries(m).into_iter().map(|(_, v)| v.clone()).collect()))
}

pub(super) fn element(_: &FunctionContext, a: &Args) -> Result {
    let list = a.list(0)?;
    let index = a.int(1)?;
    if list.is_empty() {
        return Err(a.err(0, "cannot take an element of an empty list"));
    }
    // Wrapping both ways: a negative index counts from the end, as in OpenTofu.
    Ok(list[index.rem_euclid(list.len() as i64) as usize].clone())
}

pub(super) fn index(_: &FunctionContext, a: &Args) -> Result {
    let list = a.list(0)?;
    match list.iter().position(|v| same(v, a.get(1))) {
        Some(i) => Ok(Value::Number(i as f64)),
        None => Err(a.err(1, format!("the list does not contain {}", a.get(1)))),
    }
}

pub(super) fn slice(_: &FunctionContext, a: &Args) -> Result {
    let list = a.list(0)?;
    let start = a.int(1)?;
    let end = a.int(2)?;
    if start < 0 {
        return Err(a.err(1, format!("start index must not be negative, got {start}")));
    }
    if end > list.len() as i64 {
        return Err(a.err(2, format!("end index {end} is past the end of the list (length {})", list.len())));
    }
    if start > end {
        return Err(a.err(1, format!("start index {start} is greater than end index {end}")));
    }
    Ok(Value::List(list[start as usize..end as usize].to_vec()))
}

pub(super) fn flatten(_: &FunctionContext, a: &Args) -> Result {
    /// `None` when an element is unknown (it might be a list, so the shape is unknown).
    fn walk(items: &[Value], sensitive: bool, out: &mut Vec<Value>) -> Option<()> {
        for v in items {
            match v {
                Value::Unknown => return None,
                Value::List(inner) => walk(inner, sensitive, out)?,
                Value::Sensitive(inner) => match &**inner {
                    Value::Unknown => return None,
                    Value::List(inner) => walk(inner, true, out)?,
                    other => out.push(other.clone().mark_sensitive()),
                },
                other if sensitive => out.push(other.clone().mark_sensitive()),
                other => out.push(other.clone()),
            }
        }
        Some(())
    }
    let mut out = Vec::new();
    Ok(match walk(a.list(0)?, false, &mut out) {
        Some(()) => Value::List(out),
        None => Value::Unknown,
    })
}

fn dedup(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        // Plain values by key (linear time); collections one by one.
        let plain = match &v {
            Value::Sensitive(inner) => inner.scalar_key(),
            other => other.scalar_key(),
        };
        let fresh = match plain {
            Some(key) => seen.insert(key),
            None => !out.iter().any(|o| same(o, &v)),
        };
        if fresh {
            out.push(v);
        }
    }
    out
}

pub(super) fn distinct(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::List(dedup(a.list(0)?.iter().cloned())))
}

pub(super) fn reverse(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::List(a.list(0)?.iter().rev().cloned().collect()))
}

pub(super) fn sort(_: &FunctionContext, a: &Args) -> Result {
    let mut items = a.string_list(0)?;
    items.sort();
    Ok(Value::List(items.into_iter().map(Value::String).collect()))
}

pub(super) fn coalesce(_: &FunctionContext, a: &Args) -> Result {
    // The arguments share one type, as in Terraform: `coalesce(1, "x")` is "1".
    if a.all().iter().any(|v| matches!(v, Value::List(_) | Value::Map(_)))
        && a.all().iter().any(|v| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
    {
        return Err(a.fail("all arguments must have the same type"));
    }
    for v in unify(a.all().to_vec()).iter() {
        match v {
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            v => return Ok(v.clone()),
        }
    }
    Err(a.fail("every argument is null or an empty string"))
}

pub(super) fn coalescelist(_: &FunctionContext, a: &Args) -> Result {
    for i in 0..a.len() {
        if matches!(a.get(i), Value::Null) {
            continue;
        }
        let list = a.list(i)?;
        if !list.is_empty() {
            return Ok(Value::List(list.to_vec()));
        }
    }
    Err(a.fail("every argument is an empty list"))
}

pub(super) fn compact(_: &FunctionContext, a: &Args) -> Result {
    let list = a.list(0)?;
    let mut out = Vec::new();
    for (j, v) in list.iter().enumerate() {
        match v {
            Value::Null => {}
            v => match value_to_string(v) {
                Some(s) if s.is_empty() => {}
                Some(s) => out.push(Value::String(s)),
                None => return Err(a.err(0, format!("element {j} must be a string, got {}", describe(v)))),
            },
        }
    }
    Ok(Value::List(out))
}

pub(super) fn zipmap(_: &FunctionContext, a: &Args) -> Result {
    let keys = a.list(0)?;
    let values = a.list(1)?;
    if keys.len() != values.len() {
        return Err(a.fail(format!("there are {} keys but {} values", keys.len(), values.len())));
    }
    let mut out = IndexMap::new();
    let mut sensitive_key = false;
    for (j, (k, v)) in keys.iter().zip(values).enumerate() {
        match k {
            Value::Unknown => return Ok(Value::Unknown),
            Value::Sensitive(inner) if matches!(**inner, Value::Unknown) => return Ok(Value::Unknown),
            _ => {}
        }
        sensitive_key |= matches!(k, Value::Sensitive(_));
        let key =
            value_to_string(k).ok_or_else(|| a.err(0, format!("key {j} must be a string, got {}", describe(k))))?;
        out.insert(key, v.clone());
    }
    let map = Value::Map(out);
    Ok(if sensitive_key { map.mark_sensitive() } else { map })
}

pub(super) fn range(_: &FunctionContext, a: &Args) -> Result {
    let (start, limit, step) = match a.len() {
        1 => (0.0, a.number(0)?, 1.0),
        2 => {
            let (start, limit) = (a.number(0)?, a.number(1)?);
            (start, limit, if limit < start { -1.0 } else { 1.0 })
        }
        _ => (a.number(0)?, a.number(1)?, a.number(2)?),
    };
    if step == 0.0 {
        return Err(a.err(2, "step must not be zero"));
    }
    if (step > 0.0 && limit < start) || (step < 0.0 && limit > start) {
        return Err(a.err(2, format!("step {} never reaches the limit {}", fmt_number(step), fmt_number(limit))));
    }
    let count = ((limit - start) / step).ceil().max(0.0);
    if count > MAX_RANGE as f64 {
        return Err(a.fail(format!("would produce {} numbers, more than the limit of {MAX_RANGE}", fmt_number(count))));
    }
    Ok(Value::List((0..count as usize).map(|i| Value::Number(start + step * i as f64)).collect()))
}

pub(super) fn one(_: &FunctionContext, a: &Args) -> Result {
    match a.list(0)? {
        [] => Ok(Value::Null),
        [v] => Ok(v.clone()),
        more => Err(a.err(0, format!("the list must have at most one element, it has {}", more.len()))),
    }
}

pub(super) fn sum(_: &FunctionContext, a: &Args) -> Result {
    let list = a.list(0)?;
    if list.is_empty() {
        return Err(a.err(0, "cannot sum an empty list"));
    }
    let mut total = 0.0;
    for (j, v) in list.iter().enumerate() {
        total += super::value_to_number(v)
            .ok_or_else(|| a.err(0, format!("element {j} must be a number, got {}", describe(v))))?;
    }
    Ok(Value::Number(total))
}

fn bools(a: &Args) -> std::result::Result<Vec<bool>, FunctionError> {
    a.list(0)?
        .iter()
        .enumerate()
        .map(|(j, v)| {
            value_to_bool(v).ok_or_else(|| a.err(0, format!("element {j} must be a bool, got {}", describe(v))))
        })
        .collect()
}

pub(super) fn alltrue(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Bool(bools(a)?.into_iter().all(|b| b)))
}

pub(super) fn anytrue(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Bool(bools(a)?.into_iter().any(|b| b)))
}

pub(super) fn setunion(_: &FunctionContext, a: &Args) -> Result {
    let mut all = Vec::new();
    for i in 0..a.len() {
        all.extend_from_slice(a.list(i)?);
    }
    Ok(Value::List(set_of(all)))
}

/// The arguments as sets, unified together (`[3]` and `["3"]` share the element `"3"`).
fn unified_sets(a: &Args) -> std::result::Result<Vec<Vec<Value>>, FunctionError> {
    let mut lengths = Vec::with_capacity(a.len());
    let mut all = Vec::new();
    for i in 0..a.len() {
        let list = a.list(i)?;
        lengths.push(list.len());
        all.extend_from_slice(list);
    }
    let mut all = unify(all).into_iter();
    Ok(lengths.into_iter().map(|n| all.by_ref().take(n).collect()).collect())
}

pub(super) fn setintersection(_: &FunctionContext, a: &Args) -> Result {
    let sets = unified_sets(a)?;
    let (first, others) = sets.split_first().map_or((&[][..], &[][..]), |(f, o)| (&f[..], o));
    let kept = first.iter().filter(|v| others.iter().all(|o| o.iter().any(|w| same(v, w))));
    Ok(Value::List(set_of(kept.cloned().collect())))
}

pub(super) fn setsubtract(_: &FunctionContext, a: &Args) -> Result {
    let sets = unified_sets(a)?;
    let (from, remove) = (&sets[0], &sets[1]);
    let kept = from.iter().filter(|v| !remove.iter().any(|w| same(v, w)));
    Ok(Value::List(set_of(kept.cloned().collect())))
}

/// Every combination of one element from each argument, in order (pmx keeps sets as sorted
/// lists, so sets and lists give the same order); each argument's elements are unified.
pub(super) fn setproduct(_: &FunctionContext, a: &Args) -> Result {
    let mut combos: Vec<Vec<Value>> = vec![Vec::new()];
    for i in 0..a.len() {
        let items = unify(a.list(i)?.to_vec());
        if combos.len().saturating_mul(items.len()) > MAX_RANGE {
            return Err(a.fail(format!("the product would have more than {MAX_RANGE} elements")));
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                items.iter().map(move |v| {
                    let mut next = c.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    Ok(Value::List(combos.into_iter().map(Value::List).collect()))
}

/// A map of lists of strings turned inside out: each string becomes a key listing the keys
/// that held it (sorted, as Terraform's result keys are).
pub(super) fn transpose(_: &FunctionContext, a: &Args) -> Result {
    let mut out: std::collections::BTreeMap<String, Vec<Value>> = std::collections::BTreeMap::new();
    for (key, v) in sorted_entries(a.map(0)?) {
        let Value::List(items) = v else {
            return Err(a.err(0, format!("the value of {key:?} must be a list of strings, got {}", describe(v))));
        };
        for item in items {
            let s = value_to_string(item)
                .ok_or_else(|| a.err(0, format!("the list of {key:?} must hold strings, got {}", describe(item))))?;
            out.entry(s).or_default().push(Value::String(key.clone()));
        }
    }
    Ok(Value::Map(out.into_iter().map(|(k, v)| (k, Value::List(v))).collect()))
}

/// The elements of `values` whose counterpart in `keys` is in `searchset`, in order.
pub(super) fn matchkeys(_: &FunctionContext, a: &Args) -> Result {
    let (values, keys, search) = (a.list(0)?, a.list(1)?, a.list(2)?);
    if values.len() != keys.len() {
        return Err(a.fail(format!(
            "the values and keys lists must have the same length ({} and {})",
            values.len(),
            keys.len()
        )));
    }
    let search = unify(search.to_vec());
    let kept = values.iter().zip(unify(keys.to_vec())).filter(|(_, k)| search.iter().any(|s| same(s, k)));
    Ok(Value::List(kept.map(|(v, _)| v.clone()).collect()))
}

pub(super) fn chunklist(_: &FunctionContext, a: &Args) -> Result {
    let list = a.list(0)?;
    let size = a.int(1)?;
    if size < 0 {
        return Err(a.err(1, format!("size must not be negative, got {size}")));
    }
    if size == 0 {
        return Ok(Value::List(vec![Value::List(list.to_vec())]));
    }
    Ok(Value::List(list.chunks(size as usize).map(|c| Value::List(c.to_vec())).collect()))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::config::Value;

    #[test]
    fn length_of_lists_maps_strings() {
        assert_eq!(ok("length", vec![strs(&["a", "b"])]), n(2.0));
        assert_eq!(ok("length", vec![map(vec![("a", n(1.0))])]), n(1.0));
        assert_eq!(ok("length", vec![s("héllo")]), n(5.0));
        assert_eq!(ok("length", vec![list(vec![])]), n(0.0));
        assert_eq!(err("length", vec![n(3.0)]).arg, Some(0));
    }

    #[test]
    fn lookup_with_and_without_default() {
        let m = map(vec![("a", s("x"))]);
        assert_eq!(ok("lookup", vec![m.clone(), s("a")]), s("x"));
        assert_eq!(ok("lookup", vec![m.clone(), s("b"), s("d")]), s("d"));
        let e = err("lookup", vec![m, s("b")]);
        assert!(e.message.contains("no key \"b\""), "{}", e.message);
        assert_eq!(ok("lookup", vec![map(vec![("a", Value::Unknown)]), s("a")]), Value::Unknown);
    }

    #[test]
    fn merge_later_wins_and_skips_null() {
        let got = ok("merge", vec![map(vec![("a", n(1.0)), ("b", n(2.0))]), Value::Null, map(vec![("b", n(3.0))])]);
        assert_eq!(got, map(vec![("a", n(1.0)), ("b", n(3.0))]));
        assert_eq!(ok("merge", vec![]), map(vec![]));
        assert_eq!(err("merge", vec![strs(&["a"])]).arg, Some(0));
    }

    #[test]
    fn concat_contains_index() {
        assert_eq!(ok("concat", vec![strs(&["a"]), strs(&["b", "c"])]), strs(&["a", "b", "c"]));
        assert_eq!(ok("contains", vec![strs(&["a", "b"]), s("b")]), Value::Bool(true));
        assert_eq!(ok("contains", vec![strs(&["a", "b"]), s("z")]), Value::Bool(false));
        assert_eq!(ok("index", vec![strs(&["a", "b"]), s("b")]), n(1.0));
        assert!(err("index", vec![strs(&["a"]), s("z")]).message.contains("does not contain \"z\""));
        assert_eq!(err("concat", vec![strs(&["a"]), s("b")]).arg, Some(1));
    }

    #[test]
    fn keys_and_values_are_sorted_by_key() {
        let m = map(vec![("b", n(2.0)), ("a", n(1.0))]);
        assert_eq!(ok("keys", vec![m.clone()]), strs(&["a", "b"]));
        assert_eq!(ok("values", vec![m]), list(vec![n(1.0), n(2.0)]));
        assert_eq!(err("keys", vec![strs(&[])]).arg, Some(0));
    }

    #[test]
    fn element_wraps_both_ways() {
        let l = strs(&["a", "b", "c"]);
        assert_eq!(ok("element", vec![l.clone(), n(4.0)]), s("b"));
        assert_eq!(ok("element", vec![l.clone(), n(-1.0)]), s("c"));
        assert_eq!(ok("element", vec![l, n(-4.0)]), s("c"));
        assert!(err("element", vec![list(vec![]), n(0.0)]).message.contains("empty"));
    }

    #[test]
    fn slice_bounds() {
        let l = strs(&["a", "b", "c"]);
        assert_eq!(ok("slice", vec![l.clone(), n(1.0), n(3.0)]), strs(&["b", "c"]));
        assert_eq!(ok("slice", vec![l.clone(), n(1.0), n(1.0)]), strs(&[]));
        assert_eq!(err("slice", vec![l.clone(), n(0.0), n(4.0)]).arg, Some(2));
        assert_eq!(err("slice", vec![l, n(2.0), n(1.0)]).arg, Some(1));
    }

    #[test]
    fn flatten_nested_and_unknown() {
        let nested = list(vec![strs(&["a"]), list(vec![strs(&["b"]), s("c")]), list(vec![])]);
        assert_eq!(ok("flatten", vec![nested]), strs(&["a", "b", "c"]));
        assert_eq!(ok("flatten", vec![list(vec![s("a"), Value::Unknown])]), Value::Unknown);
        let marked = list(vec![strs(&["x"]).mark_sensitive()]);
        assert_eq!(ok("flatten", vec![marked]), list(vec![s("x").mark_sensitive()]));
    }

    #[test]
    fn distinct_reverse_sort() {
        assert_eq!(ok("distinct", vec![strs(&["a", "b", "a"])]), strs(&["a", "b"]));
        assert_eq!(ok("reverse", vec![strs(&["a", "b"])]), strs(&["b", "a"]));
        assert_eq!(ok("sort", vec![strs(&["b", "a", "10", "9"])]), strs(&["10", "9", "a", "b"]));
        assert_eq!(err("sort", vec![list(vec![map(vec![])])]).arg, Some(0));
    }

    #[test]
    fn coalesce_and_coalescelist() {
        assert_eq!(ok("coalesce", vec![Value::Null, s(""), s("b")]), s("b"));
        // One type for all arguments, as in Terraform: the number becomes a string.
        assert_eq!(ok("coalesce", vec![n(0.0), s("b")]), s("0"));
        assert_eq!(ok("coalesce", vec![n(0.0), n(1.0)]), n(0.0));
        assert!(err("coalesce", vec![Value::Null, s("")]).message.contains("every argument"));
        assert_eq!(ok("coalescelist", vec![strs(&[]), strs(&["a"])]), strs(&["a"]));
        assert!(err("coalescelist", vec![strs(&[])]).message.contains("empty"));
    }

    #[test]
    fn compact_drops_empty_and_null() {
        assert_eq!(ok("compact", vec![list(vec![s("a"), s(""), Value::Null, s("b")])]), strs(&["a", "b"]));
        assert_eq!(err("compact", vec![list(vec![list(vec![])])]).arg, Some(0));
    }

    #[test]
    fn zipmap_pairs() {
        assert_eq!(
            ok("zipmap", vec![strs(&["a", "b"]), list(vec![n(1.0), Value::Unknown])]),
            map(vec![("a", n(1.0)), ("b", Value::Unknown)])
        );
        assert!(err("zipmap", vec![strs(&["a"]), list(vec![])]).message.contains("1 keys but 0 values"));
        assert_eq!(ok("zipmap", vec![list(vec![Value::Unknown]), list(vec![n(1.0)])]), Value::Unknown);
    }

    #[test]
    fn range_forms() {
        assert_eq!(ok("range", vec![n(3.0)]), list(vec![n(0.0), n(1.0), n(2.0)]));
        assert_eq!(ok("range", vec![n(1.0), n(4.0), n(2.0)]), list(vec![n(1.0), n(3.0)]));
        assert_eq!(ok("range", vec![n(3.0), n(1.0)]), list(vec![n(3.0), n(2.0)]));
        assert_eq!(ok("range", vec![n(0.0)]), list(vec![]));
        assert!(err("range", vec![n(0.0), n(5.0), n(0.0)]).message.contains("zero"));
        assert!(err("range", vec![n(0.0), n(5.0), n(-1.0)]).message.contains("never reaches"));
        assert!(err("range", vec![n(1e9)]).message.contains("limit"));
    }

    #[test]
    fn one_sum_alltrue_anytrue() {
        assert_eq!(ok("one", vec![list(vec![])]), Value::Null);
        assert_eq!(ok("one", vec![strs(&["a"])]), s("a"));
        assert!(err("one", vec![strs(&["a", "b"])]).message.contains("at most one"));
        assert_eq!(ok("sum", vec![list(vec![n(1.0), n(2.5)])]), n(3.5));
        assert!(err("sum", vec![list(vec![])]).message.contains("empty"));
        assert_eq!(ok("alltrue", vec![list(vec![])]), Value::Bool(true));
        assert_eq!(ok("alltrue", vec![list(vec![Value::Bool(true), s("false")])]), Value::Bool(false));
        assert_eq!(ok("anytrue", vec![list(vec![Value::Bool(false), Value::Bool(true)])]), Value::Bool(true));
        assert_eq!(err("anytrue", vec![list(vec![n(1.0)])]).arg, Some(0));
    }

    #[test]
    fn set_operations() {
        assert_eq!(ok("setunion", vec![strs(&["a", "b"]), strs(&["b", "c"])]), strs(&["a", "b", "c"]));
        assert_eq!(ok("setintersection", vec![strs(&["a", "b"]), strs(&["b", "c"])]), strs(&["b"]));
        assert_eq!(ok("setsubtract", vec![strs(&["a", "b"]), strs(&["b"])]), strs(&["a"]));
        assert_eq!(err("setsubtract", vec![strs(&["a"]), s("b")]).arg, Some(1));
    }

    #[test]
    fn chunklist_sizes() {
        let l = strs(&["a", "b", "c"]);
        assert_eq!(ok("chunklist", vec![l.clone(), n(2.0)]), list(vec![strs(&["a", "b"]), strs(&["c"])]));
        assert_eq!(ok("chunklist", vec![l.clone(), n(0.0)]), list(vec![l.clone()]));
        assert!(err("chunklist", vec![l, n(-1.0)]).message.contains("negative"));
    }
}
