//! Phase 4 (inside evaluation): a resource block's `count` / `for_each` becomes its instance
//! keys, with Terraform's rules and a bound on how many.

use std::collections::HashSet;

use super::{Block, Builder};
use crate::addr::InstanceKey;
use crate::config::eval::eval;
use crate::config::model::{Expr, ResourceBlock};
use crate::config::Value;
use crate::diag::Diagnostic;
use crate::graph::refs::{self, RefTarget};

/// The most instances one `count` may make (a typo such as 1000000 must not run away).
const MAX_COUNT: u32 = 100_000;

impl Builder<'_> {
    /// Whether an expression uses a variable that was deliberately left without a value
    /// (`pmx validate`): its unknown result is expected then, not an error.
    /// Also true for a resource whose own count / for_each already failed (reported once).
    fn uses_unset_variable(&self, expr: &Expr) -> bool {
        if self.config.unset_variables.is_empty() && self.failed.is_empty() && self.tainted.is_empty() {
            return false;
        }
        let (mut found, mut bad) = (Vec::new(), Vec::new());
        refs::collect(&expr.expr, &mut found, &mut bad);
        let missing =
            |type_name: &str, name: &str| self.missing.iter().any(|a| a.type_name == type_name && a.name == name);
        !bad.is_empty()
            || found.iter().any(|r| match &r.target {
                RefTarget::Var(n) => self.config.unset_variables.contains(n) || missing("var", n),
                RefTarget::Local(n) => self.tainted.contains(&Block::Local(n.clone())) || missing("local", n),
                RefTarget::Resource(a) => {
                    self.failed.contains(a)
                        || self.tainted.contains(&Block::Resource(a.clone()))
                        || self.missing.contains(a)
                }
                _ => false,
            })
    }

    /// Whether an expression surely makes a list or tuple rather than a set (a literal `[...]`, a
    /// `[for ...]`, a function that returns a list, a variable typed as a list), which for_each
    /// refuses like Terraform. Values that may be sets (locals, toset()) are let through.
    fn is_list_not_set(&self, e: &hcl_edit::expr::Expression) -> bool {
        use crate::config::types::TypeConstraint;
        use hcl_edit::expr::{Expression, TraversalOperator};
        const LIST_FUNCTIONS: &[&str] = &[
            "concat",
            "split",
            "keys",
            "values",
            "distinct",
            "sort",
            "compact",
            "flatten",
            "reverse",
            "slice",
            "range",
            "tolist",
            "formatlist",
            "regexall",
            "chunklist",
        ];
        match e {
            Expression::Array(_) => true,
            Expression::ForExpr(f) => f.key_expr.is_none(),
            Expression::Parenthesis(p) => self.is_list_not_set(p.inner()),
            Expression::FuncCall(f) => f.name.namespace.is_empty() && LIST_FUNCTIONS.contains(&f.name.name.as_str()),
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [op]) if v.as_str() == "var" => match op.value() {
                    TraversalOperator::GetAttr(name) => self
                        .config
                        .module
                        .variables
                        .get(name.as_str())
                        .is_some_and(|d| matches!(d.ty, TypeConstraint::List(_) | TypeConstraint::Tuple(_))),
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        }
    }

    /// The instance keys of a resource block, with each.value for for_each.
    /// `None` when count / for_each is invalid (reported) or deliberately unknown.
    pub(super) fn expand(&mut self, r: &ResourceBlock) -> Option<Vec<(InstanceKey, Option<Value>)>> {
        for e in r.count.iter().chain(r.for_each.iter()) {
            match eval(e, &self.env(None, None)) {
                Ok(v) if !v.is_wholly_known() && self.uses_unset_variable(e) => return None,
                Ok(_) => {}
                Err(d) => {
                    self.report(*d);
                    return None;
                }
            }
        }
        self.expand_known(r)
    }

    /// [`Self::expand`] once count / for_each evaluated; `None` when it is invalid (reported).
    fn expand_known(&mut self, r: &ResourceBlock) -> Option<Vec<(InstanceKey, Option<Value>)>> {
        if let Some(count) = &r.count {
            let v = self.eval_or_report(count, None, None);
            // Like Terraform, a string that holds a number converts; the limits apply to the
            // number either way, so a count of "300000" cannot run away either.
            let number = match &v {
                Value::Number(n) => Some(*n),
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                _ => None,
            };
            let problem = match (&v, number) {
                (Value::Unknown, _) => Some("count depends on a value known only after apply".to_string()),
                (Value::Sensitive(_), _) => Some("count cannot be a sensitive value".to_string()),
                (_, Some(n)) if n.fract() != 0.0 => Some(format!("count must be a whole number, not {n}")),
                (_, Some(n)) if n < 0.0 => Some(format!("count cannot be negative ({n})")),
                (_, Some(n)) if n > MAX_COUNT as f64 => Some(format!("count {n} is too large (at most {MAX_COUNT})")),
                (_, Some(_)) => None,
                (Value::String(s), None) => Some(format!("count must be a number, not the string {s:?}")),
                (other, None) => Some(format!("count must be a number, not a {}", other.type_name())),
            };
            if let Some(p) = problem {
                let mut d = Diagnostic::error(format!("invalid count for {}: {p}", r.addr))
                    .with_code("pmx::config::count")
                    .at(&count.file, count.span(), "invalid count");
                if matches!(v, Value::Unknown) {
                    d = d.with_help("count must be known when planning: use variables, locals or literals");
                }
                self.report(d);
                return None;
            }
            let n = number.unwrap_or(0.0) as i64;
            return Some((0..n).map(|i| (InstanceKey::Int(i), None)).collect());
        }
        if let Some(fe) = &r.for_each {
            let v = self.eval_or_report(fe, None, None);
            let bad = |b: &mut Self, p: String, help: Option<&str>| {
                let mut d = Diagnostic::error(format!("invalid for_each for {}: {p}", r.addr))
                    .with_code("pmx::config::for_each")
                    .at(&fe.file, fe.span(), "invalid for_each");
                if let Some(h) = help {
                    d = d.with_help(h);
                }
                b.report(d);
                None
            };
            return match v {
                Value::Unknown => bad(
                    self,
                    "its keys depend on values known only after apply".into(),
                    Some("for_each keys must be known when planning"),
                ),
                Value::Sensitive(_) => {
                    bad(self, "for_each cannot be a sensitive value (the keys would show in addresses)".into(), None)
                }
                Value::Map(m) if m.len() > MAX_COUNT as usize => {
                    bad(self, format!("for_each has {} keys; at most {MAX_COUNT} instances are allowed", m.len()), None)
                }
                Value::List(items) if items.len() > MAX_COUNT as usize => bad(
                    self,
                    format!("for_each has {} elements; at most {MAX_COUNT} instances are allowed", items.len()),
                    None,
                ),
                Value::Map(m) => {
                    if m.values().any(|v| matches!(v, Value::Sensitive(_))) {
                        return bad(self, "for_each cannot contain sensitive values".into(), None);
                    }
                    Some(m.into_iter().map(|(k, v)| (InstanceKey::Str(k), Some(v))).collect())
                }
                Value::List(_) if self.is_list_not_set(&fe.expr) => bad(
                    self,
                    "for_each needs a map or a set of strings, and this is a list".into(),
                    Some("make it a set with toset(...), as in Terraform: for_each = toset([\"a\", \"b\"])"),
                ),
                Value::List(items) => {
                    let mut out: Vec<(InstanceKey, Option<Value>)> = Vec::with_capacity(items.len());
                    let mut seen = HashSet::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::String(s) => {
                                if !seen.insert(s.clone()) {
                                    return bad(
                                        self,
                                        format!("\"{s}\" appears twice"),
                                        Some("for_each keys must be unique: use toset() or remove the duplicate"),
                                    );
                                }
                                out.push((InstanceKey::Str(s.clone()), Some(Value::String(s))));
                            }
                            Value::Unknown => {
                                return bad(
                                    self,
                                    "an element is known only after apply".into(),
                                    Some("for_each keys must be known when planning"),
                                )
                            }
                            other => {
                                return bad(
                                    self,
                                    format!("a set of strings is needed, but an element is a {}", other.type_name()),
                                    Some("use a map, or a set of strings"),
                                )
                            }
                        }
                    }
                    Some(out)
                }
                other => {
                    bad(self, format!("for_each needs a map or a set of strings, not a {}", other.type_name()), None)
                }
            };
        }
        Some(vec![(InstanceKey::None, None)])
    }
}
