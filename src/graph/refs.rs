//! Finding what an expression refers to (`var.x`, `local.y`, `vm.web`, `data.template.t`,
//! `count.index`...), with spans, without evaluating it. Names bound by `for` expressions and
//! template `for` directives are not references.

use std::ops::Range;

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Span};

use crate::addr::ConfigAddress;

/// What a reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefTarget {
    Var(String),
    Local(String),
    Resource(ConfigAddress),
    CountIndex,
    Each,
    Path,
}

/// One reference found in an expression.
#[derive(Debug, Clone)]
pub struct Reference {
    pub target: RefTarget,
    /// From the root name to the end of the part that names the target (`vm.web`).
    pub span: Range<usize>,
    /// For a resource, the index right after its name (`vm.web[count.index]`), which lets
    /// the graph link each instance only to the instance it uses.
    pub key: Option<Expression>,
}

/// A reference that cannot be right whatever is declared (`var` alone, `self.x`...).
#[derive(Debug, Clone)]
pub struct BadReference {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// Collects the references of one expression.
pub fn collect(expr: &Expression, refs: &mut Vec<Reference>, bad: &mut Vec<BadReference>) {
    Walker { bound: Vec::new(), refs, bad }.expr(expr);
}

struct Walker<'a> {
    bound: Vec<String>,
    refs: &'a mut Vec<Reference>,
    bad: &'a mut Vec<BadReference>,
}

fn span_of(e: &impl Span) -> Range<usize> {
    e.span().unwrap_or(0..0)
}

impl Walker<'_> {
    fn expr(&mut self, e: &Expression) {
        match e {
            Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
            Expression::Array(a) => a.iter().for_each(|x| self.expr(x)),
            Expression::Object(o) => {
                for (k, v) in o.iter() {
                    if let ObjectKey::Expression(ke) = k {
                        // A bare name as a key is a literal string, not a reference.
                        if !matches!(ke, Expression::Variable(_)) {
                            self.expr(ke);
                        }
                    }
                    self.expr(v.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => self.root(v.as_str(), span_of(v), &[]),
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(f) => f.args.iter().for_each(|a| self.expr(a)),
            Expression::Traversal(t) => {
                match &t.expr {
                    Expression::Variable(v) => self.root(v.as_str(), span_of(v), &t.operators),
                    other => self.expr(other),
                }
                for op in &t.operators {
                    if let TraversalOperator::Index(ix) = op.value() {
                        self.expr(ix);
                    }
                }
            }
            Expression::UnaryOp(op) => self.expr(&op.expr),
            Expression::BinaryOp(op) => {
                self.expr(&op.lhs_expr);
                self.expr(&op.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let depth = self.bound.len();
                if let Some(k) = &f.intro.key_var {
                    self.bound.push(k.as_str().to_string());
                }
                self.bound.push(f.intro.value_var.as_str().to_string());
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr);
                }
                self.bound.truncate(depth);
            }
        }
    }

    fn template(&mut self, t: &Template) {
        for el in t.iter() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(ifd) => {
                        self.expr(&ifd.if_expr.cond_expr);
                        self.template(&ifd.if_expr.template);
                        if let Some(e) = &ifd.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(fd) => {
                        let fe = &fd.for_expr;
                        self.expr(&fe.collection_expr);
                        let depth = self.bound.len();
                        if let Some(k) = &fe.key_var {
                            self.bound.push(k.as_str().to_string());
                        }
                        self.bound.push(fe.value_var.as_str().to_string());
                        self.template(&fe.template);
                        self.bound.truncate(depth);
                    }
                },
            }
        }
    }

    fn root(&mut self, name: &str, root_span: Range<usize>, ops: &[Decorated<TraversalOperator>]) {
        if self.bound.iter().any(|b| b == name) {
            return;
        }
        let attr = |i: usize| -> Option<(&str, Range<usize>)> {
            match ops.get(i).map(|o| o.value()) {
                Some(TraversalOperator::GetAttr(id)) => Some((id.as_str(), span_of(&ops[i]))),
                _ => None,
            }
        };
        let through = |end: Range<usize>| root_span.start..end.end.max(root_span.end);
        let mut bad = |message: String, help: Option<&str>| {
            self.bad.push(BadReference { span: root_span.clone(), message, help: help.map(str::to_string) })
        };
        let target_and_end = match name {
            "var" | "local" => match attr(0) {
                Some((n, s)) => {
                    let t = if name == "var" { RefTarget::Var(n.to_string()) } else { RefTarget::Local(n.to_string()) };
                    Some((t, s, None))
                }
                None => {
                    bad(format!("\"{name}\" must be followed by a name: {name}.NAME"), None);
                    None
                }
            },
            "count" => match attr(0) {
                Some(("index", s)) => Some((RefTarget::CountIndex, s, None)),
                _ => {
                    bad("count has one attribute: count.index".into(), None);
                    None
                }
            },
            "each" => match attr(0) {
                Some(("key" | "value", s)) => Some((RefTarget::Each, s, None)),
                _ => {
                    bad("each has two attributes: each.key and each.value".into(), None);
                    None
                }
            },
            "path" => match attr(0) {
                Some(("module" | "root" | "cwd", s)) => Some((RefTarget::Path, s, None)),
                _ => {
                    bad("path has three attributes: path.module, path.root and path.cwd".into(), None);
                    None
                }
            },
            "data" => match (attr(0), attr(1)) {
                (Some((t, _)), Some((n, s))) => {
                    Some((RefTarget::Resource(ConfigAddress::data(t, n)), s, index_after(ops, 2)))
                }
                _ => {
                    bad("a data source reference is data.TYPE.NAME".into(), None);
                    None
                }
            },
            "self" | "terraform" | "module" => {
                bad(format!("\"{name}\" references are not supported in pmx"), None);
                None
            }
            _ => match attr(0) {
                Some((n, s)) => Some((RefTarget::Resource(ConfigAddress::managed(name, n)), s, index_after(ops, 1))),
                None => {
                    bad(
                        format!("unknown name \"{name}\""),
                        Some("references look like var.NAME, local.NAME, TYPE.NAME or data.TYPE.NAME"),
                    );
                    None
                }
            },
        };
        if let Some((target, end, key)) = target_and_end {
            self.refs.push(Reference { target, span: through(end), key });
        }
    }
}

fn index_after(ops: &[Decorated<TraversalOperator>], i: usize) -> Option<Expression> {
    match ops.get(i).map(|o| o.value()) {
        Some(TraversalOperator::Index(e)) => Some(e.clone()),
        Some(TraversalOperator::LegacyIndex(n)) => Some(Expression::from(*n.value())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(src: &str) -> (Vec<Reference>, Vec<BadReference>) {
        let e: Expression = src.parse().unwrap();
        let (mut r, mut b) = (Vec::new(), Vec::new());
        collect(&e, &mut r, &mut b);
        (r, b)
    }

    #[test]
    fn finds_references_with_spans() {
        let src = "\"${var.a}-${local.b}\" == vm.web[count.index].vmid ? data.template.t.vmid : pool.p.id";
        let (r, b) = refs(src);
        assert!(b.is_empty(), "{b:?}");
        let targets: Vec<String> = r.iter().map(|r| format!("{:?}", r.target)).collect();
        assert_eq!(r.len(), 6, "{targets:?}");
        let web = r.iter().find(|r| matches!(&r.target, RefTarget::Resource(a) if a.name == "web")).unwrap();
        assert_eq!(&src[web.span.clone()], "vm.web");
        assert!(web.key.is_some());
    }

    #[test]
    fn for_variables_are_not_references() {
        let (r, b) = refs("[for k, v in var.m : \"${k}=${v}\" if v != local.skip]");
        assert!(b.is_empty());
        assert_eq!(r.len(), 2);
        let (_, b) = refs("var");
        assert_eq!(b.len(), 1);
    }
}
