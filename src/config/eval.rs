//! Evaluating hcl-edit expressions to [`Value`]s.
//!
//! Names resolve through an [`Env`]: `var`, `local`, `data`, `path` and one entry per resource
//! type, plus `count.index` / `each.key` / `each.value` of the instance being evaluated and the
//! variables of enclosing `for` expressions. Values known only after apply are
//! [`Value::Unknown`] and flow through every operation; sensitive marks are kept on results.

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use hcl_edit::expr::{BinaryOperator, Expression, ForExpr, FuncCall, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Span};
use indexmap::IndexMap;

use super::functions::{self, FunctionContext};
use super::model::Expr;
use super::suggest::did_you_mean;
use super::Value;
use crate::diag::{Diagnostic, SourceFile};

/// Everything a name can resolve to.
pub struct Env<'a> {
    /// `var`, `local`, `data`, `path` and each resource type, as maps.
    pub globals: &'a IndexMap<String, Value>,
    pub count_index: Option<i64>,
    /// `each.key` and `each.value`.
    pub each: Option<(&'a Value, &'a Value)>,
    /// Where `file()` and `templatefile()` resolve relative paths.
    pub base_dir: &'a Path,
}

static NO_GLOBALS: std::sync::OnceLock<IndexMap<String, Value>> = std::sync::OnceLock::new();

impl<'a> Env<'a> {
    /// An environment without any names: for values that must be literal (settings, var files).
    pub fn empty(base_dir: &'a Path) -> Env<'a> {
        Env { globals: NO_GLOBALS.get_or_init(IndexMap::new), count_index: None, each: None, base_dir }
    }
}

/// Evaluates an expression of the configuration.
pub fn eval(expr: &Expr, env: &Env) -> Result<Value, Box<Diagnostic>> {
    Evaluator { env, file: &expr.file, bound: Vec::new() }.eval(&expr.expr)
}

/// Evaluates a raw expression from `file`.
pub fn eval_in(expr: &Expression, file: &Arc<SourceFile>, env: &Env) -> Result<Value, Box<Diagnostic>> {
    Evaluator { env, file, bound: Vec::new() }.eval(expr)
}

/// Evaluates with extra bare names bound (template files rendered by `templatefile`).
fn eval_template_text(text: &str, vars: &IndexMap<String, Value>, base_dir: &Path) -> Result<Value, String> {
    let template = hcl_edit::parser::parse_template(text).map_err(|e| format!("template syntax: {}", e.message()))?;
    let file = SourceFile::new("template", "template", text);
    let env = Env::empty(base_dir);
    let mut ev =
        Evaluator { env: &env, file: &file, bound: vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect() };
    ev.render(&template).map_err(|d| d.message)
}

struct Evaluator<'e, 'a> {
    env: &'e Env<'a>,
    file: &'e Arc<SourceFile>,
    /// Names bound by enclosing `for` expressions and template directives, innermost last.
    bound: Vec<(String, Value)>,
}

type EvalResult<T = Value> = Result<T, Box<Diagnostic>>;

fn span_of(e: &impl Span) -> Range<usize> {
    e.span().unwrap_or(0..0)
}

/// Removes sensitive marks everywhere inside a value, reporting whether there were any.
fn unmark_deep(v: Value) -> (Value, bool) {
    match v {
        Value::Sensitive(inner) => (unmark_deep(*inner).0, true),
        Value::List(items) => {
            let mut any = false;
            let items = items
                .into_iter()
                .map(|i| {
                    let (v, s) = unmark_deep(i);
                    any |= s;
                    v
                })
                .collect();
            (Value::List(items), any)
        }
        Value::Map(m) => {
            let mut any = false;
            let m = m
                .into_iter()
                .map(|(k, i)| {
                    let (v, s) = unmark_deep(i);
                    any |= s;
                    (k, v)
                })
                .collect();
            (Value::Map(m), any)
        }
        v => (v, false),
    }
}

fn mark_if(v: Value, sensitive: bool) -> Value {
    if sensitive && !matches!(v, Value::Unknown) {
        v.mark_sensitive()
    } else {
        v
    }
}

/// How a number looks inside a string: integers without a fraction.
pub fn number_to_string(n: f64) -> String {
    super::functions::fmt_number(n)
}

impl<'e, 'a> Evaluator<'e, 'a> {
    fn err(&self, span: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> Box<Diagnostic> {
        Box::new(Diagnostic::error(message).with_code("pmx::config::eval").at(self.file, span, label))
    }

    fn eval(&mut self, expr: &Expression) -> EvalResult {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => match n.value().as_f64() {
                Some(f) => Ok(Value::Number(f)),
                None => Err(self.err(span_of(expr), "number out of range", "not a representable number")),
            },
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(a) => {
                let mut items = Vec::with_capacity(a.len());
                for e in a.iter() {
                    items.push(self.eval(e)?);
                }
                Ok(Value::List(items))
            }
            Expression::Object(o) => {
                let mut map = IndexMap::with_capacity(o.len());
                let mut unknown_key = false;
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(e) => match self.eval(e)?.unmark().0 {
                            Value::String(s) => s,
                            Value::Number(n) => number_to_string(n),
                            Value::Bool(b) => b.to_string(),
                            Value::Unknown => {
                                unknown_key = true;
                                continue;
                            }
                            other => {
                                return Err(self.err(
                                    span_of(e),
                                    format!("an object key must be a string, not a {}", other.type_name()),
                                    "not a string",
                                ))
                            }
                        },
                    };
                    let value = self.eval(v.expr())?;
                    map.insert(key, value);
                }
                Ok(if unknown_key { Value::Unknown } else { Value::Map(map) })
            }
            Expression::StringTemplate(t) => self.render(t),
            Expression::HeredocTemplate(h) => {
                if h.indent().is_some() {
                    let mut h = h.as_ref().clone();
                    h.dedent();
                    self.render(&h.template)
                } else {
                    self.render(&h.template)
                }
            }
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => {
                let span = span_of(v);
                Ok(self.lookup_root(v.as_str(), span)?.into_owned())
            }
            Expression::Conditional(c) => {
                let (cond, sensitive) = self.eval(&c.cond_expr)?.unmark();
                match cond {
                    Value::Unknown => Ok(Value::Unknown),
                    Value::Bool(b) => {
                        let v = if b { self.eval(&c.true_expr)? } else { self.eval(&c.false_expr)? };
                        Ok(mark_if(v, sensitive))
                    }
                    other => Err(self.err(
                        span_of(&c.cond_expr),
                        format!("a condition must be a bool, not a {}", other.type_name()),
                        "not a bool",
                    )),
                }
            }
            Expression::FuncCall(call) => self.call(call),
            Expression::Traversal(t) => {
                let root: Cow<'a, Value> = match &t.expr {
                    Expression::Variable(v) => self.lookup_root(v.as_str(), span_of(v))?,
                    e => Cow::Owned(self.eval(e)?),
                };
                self.apply_ops(root, &t.operators).map(Cow::into_owned)
            }
            Expression::UnaryOp(op) => {
                let (v, sensitive) = self.eval(&op.expr)?.unmark();
                let span = span_of(op.as_ref());
                let result = match (op.operator.value(), v) {
                    (_, Value::Unknown) => Value::Unknown,
                    (UnaryOperator::Neg, v) => Value::Number(-self.number(v, span_of(&op.expr), sensitive)?),
                    (UnaryOperator::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOperator::Not, other) => {
                        return Err(self.err(
                            span,
                            format!("! needs a bool, not a {}", other.type_name()),
                            "not a bool",
                        ))
                    }
                };
                Ok(mark_if(result, sensitive))
            }
            Expression::BinaryOp(op) => self.binary(&op.lhs_expr, *op.operator.value(), &op.rhs_expr),
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    fn number(&self, v: Value, span: Range<usize>, sensitive: bool) -> EvalResult<f64> {
        match v {
            Value::Number(n) => Ok(n),
            Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
                let shown = if sensitive { "a sensitive string".to_string() } else { format!("string {s:?}") };
                self.err(span, format!("expected a number, got {shown}"), "not a number")
            }),
            other => Err(self.err(span, format!("expected a number, got a {}", other.type_name()), "not a number")),
        }
    }

    fn binary(&mut self, lhs: &Expression, op: BinaryOperator, rhs: &Expression) -> EvalResult {
        use BinaryOperator::*;
        let (l, ls) = unmark_deep(self.eval(lhs)?);
        // Short-circuit the logical operators when the left side decides.
        match (op, &l) {
            (And, Value::Bool(false)) => return Ok(mark_if(Value::Bool(false), ls)),
            (Or, Value::Bool(true)) => return Ok(mark_if(Value::Bool(true), ls)),
            _ => {}
        }
        let (r, rs) = unmark_deep(self.eval(rhs)?);
        let sensitive = ls || rs;
        if !l.is_wholly_known() || !r.is_wholly_known() {
            return Ok(Value::Unknown);
        }
        let result = match op {
            Eq => Value::Bool(l == r),
            NotEq => Value::Bool(l != r),
            And | Or => {
                let lb = self.boolean(l, span_of(lhs))?;
                let rb = self.boolean(r, span_of(rhs))?;
                Value::Bool(if op == And { lb && rb } else { lb || rb })
            }
            _ => {
                let a = self.number(l, span_of(lhs), ls)?;
                let b = self.number(r, span_of(rhs), rs)?;
                match op {
                    Plus => Value::Number(a + b),
                    Minus => Value::Number(a - b),
                    Mul => Value::Number(a * b),
                    Div | Mod if b == 0.0 => {
                        return Err(self.err(span_of(rhs), "division by zero", "this is zero"));
                    }
                    Div => Value::Number(a / b),
                    Mod => Value::Number(a % b),
                    Less => Value::Bool(a < b),
                    LessEq => Value::Bool(a <= b),
                    Greater => Value::Bool(a > b),
                    GreaterEq => Value::Bool(a >= b),
                    // Handled above; a value keeps this match total without a panic path.
                    Eq | NotEq | And | Or => Value::Unknown,
                }
            }
        };
        Ok(mark_if(result, sensitive))
    }

    fn boolean(&self, v: Value, span: Range<usize>) -> EvalResult<bool> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(self.err(span, format!("expected a bool, got a {}", other.type_name()), "not a bool")),
        }
    }

    fn lookup_root(&self, name: &str, span: Range<usize>) -> EvalResult<Cow<'a, Value>> {
        if let Some((_, v)) = self.bound.iter().rev().find(|(n, _)| n == name) {
            return Ok(Cow::Owned(v.clone()));
        }
        match name {
            "count" => {
                if let Some(i) = self.env.count_index {
                    return Ok(Cow::Owned(Value::Map([("index".to_string(), Value::Number(i as f64))].into())));
                }
                return Err(self.err(
                    span,
                    "count.index is only available in a block that sets count",
                    "no count here",
                ));
            }
            "each" => {
                if let Some((k, v)) = self.env.each {
                    return Ok(Cow::Owned(Value::Map(
                        [("key".to_string(), k.clone()), ("value".to_string(), v.clone())].into(),
                    )));
                }
                return Err(self.err(
                    span,
                    "each.key and each.value are only available in a block that sets for_each",
                    "no for_each here",
                ));
            }
            _ => {}
        }
        let globals: &'a IndexMap<String, Value> = self.env.globals;
        match globals.get(name) {
            Some(v) => Ok(Cow::Borrowed(v)),
            None => {
                let names = globals.keys().map(String::as_str).chain(self.bound.iter().map(|(n, _)| n.as_str()));
                let mut d = self.err(span, format!("unknown name \"{name}\""), "not declared");
                if let Some(h) = did_you_mean(name, names) {
                    d.help = Some(h);
                }
                Err(d)
            }
        }
    }

    fn apply_ops(
        &mut self,
        mut cur: Cow<'a, Value>,
        ops: &[Decorated<TraversalOperator>],
    ) -> EvalResult<Cow<'a, Value>> {
        let mut i = 0;
        while i < ops.len() {
            let span = span_of(&ops[i]);
            match ops[i].value() {
                TraversalOperator::GetAttr(name) => cur = self.get_attr(cur, name.as_str(), span)?,
                TraversalOperator::Index(e) => {
                    let key = self.eval(e)?;
                    cur = self.index(cur, key, span_of(e))?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    cur = self.index(cur, Value::Number(*n.value() as f64), span)?;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let full = matches!(ops[i].value(), TraversalOperator::FullSplat(_));
                    let end = if full {
                        ops.len()
                    } else {
                        i + 1
                            + ops[i + 1..]
                                .iter()
                                .take_while(|o| matches!(o.value(), TraversalOperator::GetAttr(_)))
                                .count()
                    };
                    let sub = &ops[i + 1..end];
                    // Splat a borrowed list element by element: `vm.web[*].vmid` over 10,000
                    // instances must not copy all of them first.
                    if let Cow::Borrowed(Value::List(items)) = cur {
                        let mut out = Vec::with_capacity(items.len());
                        for item in items {
                            out.push(self.apply_ops(Cow::Borrowed(item), sub)?.into_owned());
                        }
                        cur = Cow::Owned(Value::List(out));
                        i = end;
                        continue;
                    }
                    let (value, sensitive) = cur.into_owned().unmark();
                    let result = match value {
                        Value::Unknown => Value::Unknown,
                        Value::Null => Value::List(Vec::new()),
                        Value::List(items) => {
                            let mut out = Vec::with_capacity(items.len());
                            for item in items {
                                out.push(self.apply_ops(Cow::Owned(item), sub)?.into_owned());
                            }
                            Value::List(out)
                        }
                        single => Value::List(vec![self.apply_ops(Cow::Owned(single), sub)?.into_owned()]),
                    };
                    cur = Cow::Owned(mark_if(result, sensitive));
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(cur)
    }

    fn get_attr(&self, cur: Cow<'a, Value>, name: &str, span: Range<usize>) -> EvalResult<Cow<'a, Value>> {
        match cur {
            Cow::Borrowed(Value::Map(m)) => match m.get(name) {
                Some(v) => Ok(Cow::Borrowed(v)),
                None => Err(self.no_attribute(m, name, span)),
            },
            Cow::Owned(Value::Map(mut m)) => match m.swap_remove(name) {
                Some(v) => Ok(Cow::Owned(v)),
                None => Err(self.no_attribute(&m, name, span)),
            },
            Cow::Borrowed(Value::Unknown) | Cow::Owned(Value::Unknown) => Ok(Cow::Owned(Value::Unknown)),
            Cow::Borrowed(Value::Sensitive(inner)) => {
                Ok(Cow::Owned(mark_if(self.get_attr(Cow::Borrowed(inner), name, span)?.into_owned(), true)))
            }
            Cow::Owned(Value::Sensitive(inner)) => {
                Ok(Cow::Owned(mark_if(self.get_attr(Cow::Owned(*inner), name, span)?.into_owned(), true)))
            }
            other => {
                let help = if matches!(other.as_ref(), Value::List(_)) {
                    "this is a list (a resource with count?): pick one element with [N], or all with [*]"
                } else {
                    "only objects and maps have attributes"
                };
                let mut d = self.err(
                    span,
                    format!("cannot read attribute \"{name}\" of a {}", other.type_name()),
                    "no such attribute",
                );
                d.help = Some(help.to_string());
                Err(d)
            }
        }
    }

    fn no_attribute(&self, m: &IndexMap<String, Value>, name: &str, span: Range<usize>) -> Box<Diagnostic> {
        let mut d = self.err(span, format!("unsupported attribute \"{name}\""), "no such attribute");
        // The instances of a resource with for_each: a map of objects that have the attribute.
        let instances = !m.is_empty()
            && m.values().all(|v| matches!(v, Value::Map(_)))
            && m.values().any(|v| matches!(v, Value::Map(o) if o.contains_key(name)));
        if let (true, Some(first)) = (instances, m.keys().next()) {
            d.help = Some(format!(
                "this is a map of instances (a resource with for_each?): pick one with [\"{first}\"], or all with values(...)"
            ));
        } else if let Some(h) = did_you_mean(name, m.keys().map(String::as_str)) {
            d.help = Some(h);
        }
        d
    }

    fn index(&self, cur: Cow<'a, Value>, key: Value, span: Range<usize>) -> EvalResult<Cow<'a, Value>> {
        let (key, key_sensitive) = key.unmark();
        if key_sensitive {
            // Never quote a secret key in an error message.
            return self
                .index_plain(cur, key, span.clone())
                .map(|r| Cow::Owned(mark_if(r.into_owned(), true)))
                .map_err(|_| self.err(span, "no element for this (sensitive) key", "no such element"));
        }
        self.index_plain(cur, key, span)
    }

    fn index_plain(&self, cur: Cow<'a, Value>, key: Value, span: Range<usize>) -> EvalResult<Cow<'a, Value>> {
        if key == Value::Unknown {
            return Ok(Cow::Owned(Value::Unknown));
        }
        let result = match cur {
            Cow::Borrowed(Value::Sensitive(inner)) => {
                return Ok(Cow::Owned(mark_if(self.index(Cow::Borrowed(inner), key, span)?.into_owned(), true)))
            }
            Cow::Owned(Value::Sensitive(inner)) => {
                return Ok(Cow::Owned(mark_if(self.index(Cow::Owned(*inner), key, span)?.into_owned(), true)))
            }
            Cow::Borrowed(Value::Unknown) | Cow::Owned(Value::Unknown) => Cow::Owned(Value::Unknown),
            Cow::Borrowed(Value::List(items)) => Cow::Borrowed(self.list_item(items, &key, span)?),
            Cow::Owned(Value::List(items)) => Cow::Owned(self.list_item(&items, &key, span)?.clone()),
            Cow::Borrowed(Value::Map(m)) => Cow::Borrowed(self.map_item(m, &key, span)?),
            Cow::Owned(Value::Map(m)) => Cow::Owned(self.map_item(&m, &key, span)?.clone()),
            other => {
                return Err(self.err(
                    span,
                    format!("cannot index a {}", other.type_name()),
                    "only lists and maps can be indexed",
                ))
            }
        };
        Ok(result)
    }

    fn list_item<'v>(&self, items: &'v [Value], key: &Value, span: Range<usize>) -> EvalResult<&'v Value> {
        let idx = match key {
            Value::Number(n) if n.fract() == 0.0 => *n,
            Value::String(s) => s.parse::<f64>().unwrap_or(f64::NAN),
            other => {
                return Err(self.err(
                    span,
                    format!("a list index must be a number, not a {}", other.type_name()),
                    "not a number",
                ))
            }
        };
        if idx >= 0.0 && (idx as usize) < items.len() && idx.fract() == 0.0 {
            Ok(&items[idx as usize])
        } else {
            Err(self.err(
                span,
                format!("index {} out of range: the list has {} element(s)", number_to_string(idx), items.len()),
                "out of range",
            ))
        }
    }

    fn map_item<'v>(&self, m: &'v IndexMap<String, Value>, key: &Value, span: Range<usize>) -> EvalResult<&'v Value> {
        let k = match key {
            Value::String(s) => s.clone(),
            Value::Number(n) => number_to_string(*n),
            other => {
                return Err(self.err(
                    span,
                    format!("a map key must be a string, not a {}", other.type_name()),
                    "not a string",
                ))
            }
        };
        m.get(&k).ok_or_else(|| {
            let mut d = self.err(span, format!("no element with key {k:?}"), "no such key");
            if let Some(h) = did_you_mean(&k, m.keys().map(String::as_str)) {
                d.help = Some(h);
            }
            d
        })
    }

    fn for_expr(&mut self, f: &ForExpr) -> EvalResult {
        let (coll, sensitive) = self.eval(&f.intro.collection_expr)?.unmark();
        let pairs: Vec<(Value, Value)> = match coll {
            Value::Unknown => return Ok(Value::Unknown),
            Value::List(items) => items.into_iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect(),
            Value::Map(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            other => {
                return Err(self.err(
                    span_of(&f.intro.collection_expr),
                    format!("a for expression needs a list or a map, not a {}", other.type_name()),
                    "cannot iterate",
                ))
            }
        };
        let mut list = Vec::new();
        let mut map: IndexMap<String, Value> = IndexMap::new();
        let depth = self.bound.len();
        let result = (|| -> EvalResult<Option<()>> {
            for (k, v) in pairs {
                self.bound.truncate(depth);
                if let Some(kv) = &f.intro.key_var {
                    self.bound.push((kv.as_str().to_string(), k));
                }
                self.bound.push((f.intro.value_var.as_str().to_string(), v));
                if let Some(cond) = &f.cond {
                    match self.eval(&cond.expr)?.unmark().0 {
                        Value::Bool(true) => {}
                        Value::Bool(false) => continue,
                        Value::Unknown => return Ok(None),
                        other => {
                            return Err(self.err(
                                span_of(&cond.expr),
                                format!("a for condition must be a bool, not a {}", other.type_name()),
                                "not a bool",
                            ))
                        }
                    }
                }
                let value = self.eval(&f.value_expr)?;
                match &f.key_expr {
                    None => list.push(value),
                    Some(ke) => {
                        let key = match self.eval(ke)?.unmark().0 {
                            Value::String(s) => s,
                            Value::Number(n) => number_to_string(n),
                            Value::Bool(b) => b.to_string(),
                            Value::Unknown => return Ok(None),
                            other => {
                                return Err(self.err(
                                    span_of(ke),
                                    format!("a for key must be a string, not a {}", other.type_name()),
                                    "not a string",
                                ))
                            }
                        };
                        if f.grouping {
                            if let Value::List(items) = map.entry(key).or_insert_with(|| Value::List(Vec::new())) {
                                items.push(value);
                            }
                        } else if map.contains_key(&key) {
                            let mut d = self.err(
                                span_of(ke),
                                format!("duplicate key {key:?} in for expression"),
                                "produced twice",
                            );
                            d.help = Some("add `...` after the value to group values with the same key".into());
                            return Err(d);
                        } else {
                            map.insert(key, value);
                        }
                    }
                }
            }
            Ok(Some(()))
        })();
        self.bound.truncate(depth);
        let value = match result? {
            None => Value::Unknown,
            Some(()) if f.key_expr.is_some() => Value::Map(map),
            Some(()) => Value::List(list),
        };
        Ok(mark_if(value, sensitive))
    }

    fn call(&mut self, call: &FuncCall) -> EvalResult {
        let name = call.name.name.as_str();
        let span = span_of(call);
        if call.name.is_namespaced() {
            return Err(self.err(span, format!("provider functions are not supported ({name})"), "unsupported"));
        }
        // `try` and `can` look at evaluation errors, so their arguments are evaluated here.
        if name == "try" {
            let mut last = None;
            for arg in call.args.iter() {
                match self.eval(arg) {
                    Ok(v) => return Ok(v),
                    Err(e) => last = Some(e),
                }
            }
            return Err(last.unwrap_or_else(|| self.err(span, "try needs at least one argument", "no arguments")));
        }
        if name == "can" {
            let [arg] = call.args.iter().collect::<Vec<_>>()[..] else {
                return Err(self.err(span, "can takes exactly one argument", "wrong number of arguments"));
            };
            return Ok(Value::Bool(self.eval(arg).is_ok()));
        }
        if !functions::names().contains(&name) {
            let mut d = self.err(span_of(&call.name.name), format!("unknown function \"{name}\""), "no such function");
            if let Some(h) = did_you_mean(name, functions::names().iter().copied()) {
                d.help = Some(h);
            }
            return Err(d);
        }
        let mut args = Vec::with_capacity(call.args.len());
        let arg_spans: Vec<Range<usize>> = call.args.iter().map(span_of).collect();
        for arg in call.args.iter() {
            args.push(self.eval(arg)?);
        }
        if call.args.expand_final() {
            match args.pop().map(Value::unmark) {
                Some((Value::List(items), s)) => args.extend(items.into_iter().map(|v| mark_if(v, s))),
                Some((Value::Unknown, _)) => return Ok(Value::Unknown),
                Some((other, _)) => {
                    return Err(self.err(
                        arg_spans.last().cloned().unwrap_or(span.clone()),
                        format!("only a list can be expanded with ..., not a {}", other.type_name()),
                        "not a list",
                    ))
                }
                None => {}
            }
        }
        let base_dir = self.env.base_dir;
        let render = |text: &str, vars: &IndexMap<String, Value>| eval_template_text(text, vars, base_dir);
        let ctx = FunctionContext { base_dir, render_template: &render };
        functions::call(&ctx, name, args).map_err(|e| {
            let at = e.arg.and_then(|i| arg_spans.get(i).cloned()).unwrap_or(span.clone());
            self.err(at, e.message, "in this call")
        })
    }

    fn render(&mut self, template: &Template) -> EvalResult {
        // A template that is exactly one interpolation yields the value itself, unconverted.
        if let Some(Element::Interpolation(i)) = template.as_single_element() {
            return self.eval(&i.expr);
        }
        let mut out = String::new();
        let mut unknown = false;
        let mut sensitive = false;
        self.render_into(template, (false, false), &mut out, &mut unknown, &mut sensitive)?;
        // An unknown result keeps the mark: "x${var.secret}" is sensitive before it is known too.
        Ok(match (unknown, sensitive) {
            (true, true) => Value::Unknown.mark_sensitive(),
            (true, false) => Value::Unknown,
            (false, _) => mark_if(Value::String(out), sensitive),
        })
    }

    /// Renders `template` into `out`. `(strip_start, strip_end)`: the `~` markers of the
    /// directive around it (`%{ for x in xs ~}` ... `%{~ endfor }`), which strip the white space
    /// at the start and end of the body.
    fn render_into(
        &mut self,
        template: &Template,
        (strip_start, strip_end): (bool, bool),
        out: &mut String,
        unknown: &mut bool,
        sensitive: &mut bool,
    ) -> EvalResult<()> {
        let mut strip_next = strip_start;
        let last = template.len().saturating_sub(1);
        for (index, element) in template.iter().enumerate() {
            match element {
                Element::Literal(s) => {
                    let mut text = s.value().as_str();
                    if strip_next {
                        text = text.trim_start();
                    }
                    if strip_end && index == last {
                        text = text.trim_end();
                    }
                    out.push_str(text);
                    strip_next = false;
                }
                Element::Interpolation(i) => {
                    if i.strip.strip_start() {
                        out.truncate(out.trim_end().len());
                    }
                    strip_next = i.strip.strip_end();
                    let v = self.eval(&i.expr)?;
                    self.append(v, span_of(&i.expr), out, unknown, sensitive)?;
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(ifd) => {
                        if ifd.if_expr.strip.strip_start() {
                            out.truncate(out.trim_end().len());
                        }
                        strip_next = ifd.endif_expr.strip.strip_end();
                        let (cond, s) = self.eval(&ifd.if_expr.cond_expr)?.unmark();
                        *sensitive |= s;
                        match cond {
                            Value::Unknown => *unknown = true,
                            Value::Bool(true) => {
                                let next = ifd.else_expr.as_ref().map_or(&ifd.endif_expr.strip, |e| &e.strip);
                                let strips = (ifd.if_expr.strip.strip_end(), next.strip_start());
                                self.render_into(&ifd.if_expr.template, strips, out, unknown, sensitive)?
                            }
                            Value::Bool(false) => {
                                if let Some(e) = &ifd.else_expr {
                                    let strips = (e.strip.strip_end(), ifd.endif_expr.strip.strip_start());
                                    self.render_into(&e.template, strips, out, unknown, sensitive)?;
                                }
                            }
                            other => {
                                return Err(self.err(
                                    span_of(&ifd.if_expr.cond_expr),
                                    format!("an if condition must be a bool, not a {}", other.type_name()),
                                    "not a bool",
                                ))
                            }
                        }
                    }
                    Directive::For(fd) => {
                        let fe = &fd.for_expr;
                        if fe.strip.strip_start() {
                            out.truncate(out.trim_end().len());
                        }
                        strip_next = fd.endfor_expr.strip.strip_end();
                        let (coll, s) = self.eval(&fe.collection_expr)?.unmark();
                        *sensitive |= s;
                        let pairs: Vec<(Value, Value)> = match coll {
                            Value::Unknown => {
                                *unknown = true;
                                continue;
                            }
                            Value::List(items) => {
                                items.into_iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect()
                            }
                            Value::Map(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                            other => {
                                return Err(self.err(
                                    span_of(&fe.collection_expr),
                                    format!("a for directive needs a list or a map, not a {}", other.type_name()),
                                    "cannot iterate",
                                ))
                            }
                        };
                        let depth = self.bound.len();
                        for (k, v) in pairs {
                            self.bound.truncate(depth);
                            if let Some(kv) = &fe.key_var {
                                self.bound.push((kv.as_str().to_string(), k));
                            }
                            self.bound.push((fe.value_var.as_str().to_string(), v));
                            let strips = (fe.strip.strip_end(), fd.endfor_expr.strip.strip_start());
                            let r = self.render_into(&fe.template, strips, out, unknown, sensitive);
                            if r.is_err() {
                                self.bound.truncate(depth);
                                return r;
                            }
                        }
                        self.bound.truncate(depth);
                    }
                },
            }
        }
        Ok(())
    }

    fn append(
        &self,
        v: Value,
        span: Range<usize>,
        out: &mut String,
        unknown: &mut bool,
        sensitive: &mut bool,
    ) -> EvalResult<()> {
        let (v, s) = unmark_deep(v);
        *sensitive |= s;
        match v {
            Value::Unknown => *unknown = true,
            Value::String(s) => out.push_str(&s),
            Value::Number(n) => out.push_str(&number_to_string(n)),
            Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Value::Null => {
                return Err(self.err(span, "cannot insert null into a string", "this is null"));
            }
            other => {
                let mut d =
                    self.err(span, format!("cannot insert a {} into a string", other.type_name()), "not a string");
                d.help = Some("use join() or jsonencode() to turn it into a string".into());
                return Err(d);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_str(src: &str, globals: &IndexMap<String, Value>) -> Result<Value, Box<Diagnostic>> {
        let file = SourceFile::new("t.pmx", "t.pmx", src);
        let expr: Expression = src.parse().unwrap();
        let env = Env { globals, count_index: Some(3), each: None, base_dir: Path::new(".") };
        eval_in(&expr, &file, &env)
    }

    fn globals() -> IndexMap<String, Value> {
        let mut g = IndexMap::new();
        let vars: IndexMap<String, Value> = [
            ("n".to_string(), Value::Number(2.0)),
            ("secret".to_string(), Value::String("hunter2".into()).mark_sensitive()),
            ("names".to_string(), Value::List(vec![Value::String("a".into()), Value::String("b".into())])),
        ]
        .into();
        g.insert("var".to_string(), Value::Map(vars));
        let web: Vec<Value> = (0..3)
            .map(|i| {
                Value::Map(
                    [("vmid".to_string(), Value::Unknown), ("name".to_string(), Value::String(format!("w{i}")))].into(),
                )
            })
            .collect();
        g.insert("vm".to_string(), Value::Map([("web".to_string(), Value::List(web))].into()));
        g
    }

    #[test]
    fn arithmetic_templates_and_conditionals() {
        let g = globals();
        assert_eq!(eval_str("\"pve${count.index % 2 + 1}\"", &g).unwrap(), Value::String("pve2".into()));
        assert_eq!(eval_str("var.n > 1 ? \"big\" : \"small\"", &g).unwrap(), Value::String("big".into()));
        assert!(eval_str("[for s in var.names : upper_is_not_needed(s)]", &g).is_err());
        assert_eq!(
            eval_str("{ for i, s in var.names : s => i }", &g).unwrap(),
            Value::Map([("a".to_string(), Value::Number(0.0)), ("b".to_string(), Value::Number(1.0))].into())
        );
        assert_eq!(eval_str("\"%{ for s in var.names }${s},%{ endfor }\"", &g).unwrap(), Value::String("a,b,".into()));
    }

    #[test]
    fn unknowns_flow_through() {
        let g = globals();
        assert_eq!(
            eval_str("vm.web[*].vmid", &g).unwrap(),
            Value::List(vec![Value::Unknown, Value::Unknown, Value::Unknown])
        );
        assert_eq!(eval_str("vm.web[*].name", &g).unwrap().to_string(), "[\"w0\", \"w1\", \"w2\"]");
        assert_eq!(eval_str("\"id-${vm.web[0].vmid}\"", &g).unwrap(), Value::Unknown);
        assert_eq!(eval_str("vm.web[0].vmid + 1", &g).unwrap(), Value::Unknown);
        assert_eq!(eval_str("vm.web[0].vmid == 1 ? 1 : 2", &g).unwrap(), Value::Unknown);
    }

    #[test]
    fn sensitive_marks_propagate() {
        let g = globals();
        let v = eval_str("\"token=${var.secret}\"", &g).unwrap();
        assert!(v.is_sensitive());
        assert!(!v.to_string().contains("hunter2"));
        let e = eval_str("var.secret + 1", &g).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        // Not yet known, still sensitive (an output of it must say sensitive = true).
        let v = eval_str("\"${var.secret}-${vm.web[0].vmid}\"", &g).unwrap();
        assert!(v.is_sensitive() && !v.is_known(), "{v:?}");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let g = globals();
        let e = eval_str("vm.web[7].name", &g).unwrap_err();
        assert!(e.message.contains("out of range"), "{}", e.message);
        let e = eval_str("var.nn", &g).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean \"n\"?"));
        let e = eval_str("vm.web.name", &g).unwrap_err();
        assert!(e.help.unwrap().contains("[*]"));
        assert!(eval_str("1 / 0", &g).is_err());
        assert_eq!(eval_str("try(var.nope, 5)", &g).unwrap(), Value::Number(5.0));
        assert_eq!(eval_str("can(var.nope)", &g).unwrap(), Value::Bool(false));
    }
}
