//! The shape of one `.pmx` text, read forgivingly from [`lexer`](super::lexer) tokens: its blocks
//! (with labels and body ranges), attributes (with value ranges) and every reference and function
//! call in its expressions. Half-typed text still has an outline, so completion, hover and
//! navigation keep working while the loader reports the syntax error.

use std::ops::Range;

use super::lexer::{lex, Kind, Token};

/// A name and where it is written (for a quoted label, the text inside the quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub ident: Name,
    pub labels: Vec<Name>,
    /// Inside the braces: after `{` up to `}` (the end of the text when unclosed).
    pub body: Range<usize>,
    /// From the block type to after its `}`.
    pub span: Range<usize>,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: Name,
    /// After `=` up to the end of the value's line (or `,` / `}` of a one-line block).
    pub value: Range<usize>,
}

impl Attribute {
    pub fn span(&self) -> Range<usize> {
        self.name.span.start..self.value.end
    }
}

/// A traversal that may name something declared: `var.x`, `local.y`, `vm.web.vmid`,
/// `data.template.t`. `parts` are the root and each `.name` after it, up to the first index.
#[derive(Debug, Clone)]
pub struct Reference {
    pub parts: Vec<Name>,
}

impl Reference {
    pub fn span(&self) -> Range<usize> {
        let first = &self.parts[0].span;
        first.start..self.parts.last().map_or(first.end, |p| p.span.end)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Outline {
    pub blocks: Vec<Block>,
    /// Attributes outside any block (a `.pmxvars` file, or a stray one).
    pub attributes: Vec<Attribute>,
    pub references: Vec<Reference>,
    /// Function calls: the function's name.
    pub calls: Vec<Name>,
}

impl Outline {
    pub fn parse(text: &str) -> Outline {
        let tokens = lex(text);
        let mut p = Parser { text, tokens: &tokens, pos: 0, bound: Vec::new(), out: Outline::default() };
        let (attributes, blocks, _) = p.body(None, false);
        p.out.attributes = attributes;
        p.out.blocks = blocks;
        p.out
    }

    /// The blocks whose body holds `offset`, outermost first.
    pub fn blocks_at(&self, offset: usize) -> Vec<&Block> {
        let mut path = Vec::new();
        let mut level = &self.blocks;
        while let Some(b) = level.iter().find(|b| b.body.start <= offset && offset <= b.body.end) {
            path.push(b);
            level = &b.blocks;
        }
        path
    }

    /// The attribute whose value holds `offset`, in the innermost block at `offset`.
    pub fn attribute_value_at(&self, offset: usize) -> Option<&Attribute> {
        let attributes = self.blocks_at(offset).last().map_or(&self.attributes, |b| &b.attributes);
        attributes.iter().find(|a| a.value.start <= offset && offset <= a.value.end)
    }

    /// The reference with a part at `offset` (the part's index too).
    pub fn reference_at(&self, offset: usize) -> Option<(&Reference, usize)> {
        self.references
            .iter()
            .find_map(|r| r.parts.iter().position(|p| p.span.start <= offset && offset <= p.span.end).map(|i| (r, i)))
    }
}

/// A named thing of the outline at an offset.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// An attribute's name.
    Key(&'a Attribute),
    /// A block's type (`resource`, `disk`).
    Ident(&'a Block),
    /// A block's label, by position.
    Label(&'a Block, usize),
}

impl Outline {
    /// The attribute name, block type or label at `offset`, with the blocks around it
    /// (outermost first, not counting a block whose type or label it is).
    pub fn item_at(&self, offset: usize) -> Option<(Vec<&Block>, Item<'_>)> {
        let within = |span: &Range<usize>| span.start <= offset && offset <= span.end;
        let mut path = Vec::new();
        let (mut blocks, mut attributes) = (&self.blocks, &self.attributes);
        loop {
            if let Some(a) = attributes.iter().find(|a| within(&a.name.span)) {
                return Some((path, Item::Key(a)));
            }
            let mut inner = None;
            for b in blocks {
                if within(&b.ident.span) {
                    return Some((path, Item::Ident(b)));
                }
                if let Some(i) = b.labels.iter().position(|l| within(&l.span)) {
                    return Some((path, Item::Label(b, i)));
                }
                if within(&b.body) {
                    inner = Some(b);
                    break;
                }
            }
            let b = inner?;
            path.push(b);
            (blocks, attributes) = (&b.blocks, &b.attributes);
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    pos: usize,
    /// Names bound by enclosing `for` expressions and template `for` directives.
    bound: Vec<String>,
    out: Outline,
}

/// Expression brackets, and how many bound names were in scope when each opened.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Open {
    Bracket(u8, usize),
    Interp,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn peek_kind(&self, ahead: usize) -> Option<Kind> {
        self.tokens.get(self.pos + ahead).map(|t| t.kind)
    }
    fn name(&self, t: &Token) -> Name {
        Name { text: self.text[t.span.clone()].to_string(), span: t.span.clone() }
    }

    /// A block body (or the whole file): attributes and blocks, up to the closing `}` when
    /// `closing`. Returns where the body ends.
    fn body(&mut self, parent: Option<&str>, closing: bool) -> (Vec<Attribute>, Vec<Block>, usize) {
        let mut attributes = Vec::new();
        let mut blocks = Vec::new();
        while let Some(t) = self.peek().cloned() {
            match t.kind {
                Kind::Newline | Kind::Punct(b',') => self.pos += 1,
                Kind::Punct(b'}') => {
                    self.pos += 1;
                    if closing {
                        return (attributes, blocks, t.span.start);
                    }
                }
                Kind::Ident => {
                    let name = self.name(&t);
                    self.pos += 1;
                    match self.peek_kind(0) {
                        Some(Kind::Punct(b'=')) => {
                            let start = self.tokens[self.pos].span.end;
                            self.pos += 1;
                            // Neither a variable's type nor ignore_changes' attribute paths
                            // are references.
                            let refs =
                                !(name.text == "ignore_changes" || (parent == Some("variable") && name.text == "type"));
                            let end = self.expression(refs);
                            attributes.push(Attribute { name, value: start..end });
                        }
                        Some(Kind::QuoteOpen | Kind::Ident | Kind::Punct(b'{')) => match self.block_header() {
                            Some((labels, open)) => {
                                let (attrs, inner, end) = self.body(Some(&name.text), true);
                                let span_end = if self.text[end..].starts_with('}') { end + 1 } else { end };
                                blocks.push(Block {
                                    span: name.span.start..span_end,
                                    ident: name,
                                    labels,
                                    body: open..end,
                                    attributes: attrs,
                                    blocks: inner,
                                });
                            }
                            None => self.skip_line(),
                        },
                        _ => self.skip_line(),
                    }
                }
                _ => self.skip_line(),
            }
        }
        (attributes, blocks, self.text.len())
    }

    /// Labels then `{`; returns the labels and the offset after `{`.
    fn block_header(&mut self) -> Option<(Vec<Name>, usize)> {
        let mut labels = Vec::new();
        loop {
            let t = self.peek()?.clone();
            match t.kind {
                Kind::Ident => {
                    labels.push(self.name(&t));
                    self.pos += 1;
                }
                Kind::QuoteOpen => {
                    self.pos += 1;
                    let mut label = Name { text: String::new(), span: t.span.end..t.span.end };
                    if let Some(text) = self.peek().filter(|t| t.kind == Kind::StrText).cloned() {
                        label = self.name(&text);
                        self.pos += 1;
                    }
                    if self.peek_kind(0) != Some(Kind::QuoteClose) {
                        return None;
                    }
                    self.pos += 1;
                    labels.push(label);
                }
                Kind::Punct(b'{') => {
                    self.pos += 1;
                    return Some((labels, t.span.end));
                }
                _ => return None,
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(t) = self.peek() {
            if matches!(t.kind, Kind::Newline | Kind::Punct(b'}')) {
                return;
            }
            self.pos += 1;
        }
    }

    /// An attribute's value: up to the newline (or `,` / `}`) outside any bracket. Collects
    /// references and calls when `refs`. Returns where the value ends.
    fn expression(&mut self, refs: bool) -> usize {
        let mut open: Vec<Open> = Vec::new();
        let mut template_for: Vec<usize> = Vec::new();
        let depth_at_start = self.bound.len();
        let end = loop {
            let Some(t) = self.peek().cloned() else { break self.text.len() };
            let item_start = self.pos == 0
                || matches!(self.tokens[self.pos - 1].kind, Kind::Punct(b'{') | Kind::Punct(b',') | Kind::Newline);
            match t.kind {
                Kind::Newline if open.last() == Some(&Open::Interp) => {
                    // The lexer ends an interpolation left open with its line.
                    while open.last() == Some(&Open::Interp) {
                        open.pop();
                    }
                }
                Kind::Newline | Kind::Punct(b',' | b'}') if open.is_empty() => break t.span.start,
                Kind::Punct(c @ (b'(' | b'[' | b'{')) => {
                    open.push(Open::Bracket(c, self.bound.len()));
                    self.pos += 1;
                    if c != b'(' {
                        self.for_intro();
                    }
                }
                Kind::Punct(b')' | b']' | b'}') => {
                    if let Some(Open::Bracket(_, bound)) = open.last().copied() {
                        open.pop();
                        self.bound.truncate(bound);
                    }
                    self.pos += 1;
                }
                Kind::InterpOpen | Kind::DirectiveOpen => {
                    open.push(Open::Interp);
                    self.pos += 1;
                    if self.peek_kind(0) == Some(Kind::Punct(b'~')) {
                        self.pos += 1;
                    }
                    if t.kind == Kind::DirectiveOpen {
                        match self.peek().map(|t| &self.text[t.span.clone()]) {
                            Some("for") => {
                                template_for.push(self.bound.len());
                                self.for_intro_names();
                            }
                            Some("endfor") => {
                                if let Some(len) = template_for.pop() {
                                    self.bound.truncate(len);
                                }
                                self.pos += 1;
                            }
                            Some("else" | "endif") => self.pos += 1,
                            _ => {}
                        }
                    }
                }
                Kind::InterpClose => {
                    if open.last() == Some(&Open::Interp) {
                        open.pop();
                    }
                    self.pos += 1;
                }
                Kind::Ident => {
                    let name = self.name(&t);
                    self.pos += 1;
                    let after_dot = self.pos >= 2 && self.tokens[self.pos - 2].kind == Kind::Punct(b'.');
                    let in_object = matches!(open.last(), Some(Open::Bracket(b'{', _)));
                    let is_key = in_object && item_start && matches!(self.peek_kind(0), Some(Kind::Punct(b'=' | b':')));
                    if self.peek_kind(0) == Some(Kind::Punct(b'(')) {
                        if refs {
                            self.out.calls.push(name);
                        }
                    } else if after_dot
                        || is_key
                        || self.bound.contains(&name.text)
                        || matches!(name.text.as_str(), "true" | "false" | "null" | "for" | "in" | "if")
                    {
                    } else {
                        let mut parts = vec![name];
                        while self.peek_kind(0) == Some(Kind::Punct(b'.')) && self.peek_kind(1) == Some(Kind::Ident) {
                            parts.push(self.name(&self.tokens[self.pos + 1]));
                            self.pos += 2;
                        }
                        // A trailing `.` while typing (`var.`) is an empty part, for completion.
                        if self.peek_kind(0) == Some(Kind::Punct(b'.'))
                            && !matches!(self.peek_kind(1), Some(Kind::Ident | Kind::Number | Kind::Punct(b'*')))
                        {
                            let at = self.tokens[self.pos].span.end;
                            parts.push(Name { text: String::new(), span: at..at });
                        }
                        if refs {
                            self.out.references.push(Reference { parts });
                        }
                    }
                }
                _ => self.pos += 1,
            }
        };
        self.bound.truncate(depth_at_start);
        end
    }

    /// After `[` or `{`: `for k, v in` binds `k` and `v` until the bracket closes.
    fn for_intro(&mut self) {
        if self.peek().is_some_and(|t| t.kind == Kind::Ident && &self.text[t.span.clone()] == "for") {
            self.for_intro_names();
        }
    }

    /// At `for`: binds the names up to `in`.
    fn for_intro_names(&mut self) {
        self.pos += 1;
        while let Some(t) = self.peek().cloned() {
            match t.kind {
                Kind::Ident if &self.text[t.span.clone()] == "in" => {
                    self.pos += 1;
                    return;
                }
                Kind::Ident => {
                    self.bound.push(self.text[t.span.clone()].to_string());
                    self.pos += 1;
                }
                Kind::Punct(b',') => self.pos += 1,
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(r: &Reference) -> Vec<&str> {
        r.parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn blocks_labels_attributes_and_references() {
        let src = "resource \"vm\" \"web\" {\n  name = \"web-${count.index}\"\n  pool = pool.web.id\n  disk \"scsi0\" { size = var.size, storage = \"local\" }\n}\n";
        let o = Outline::parse(src);
        assert_eq!(o.blocks.len(), 1);
        let vm = &o.blocks[0];
        assert_eq!(vm.labels.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["vm", "web"]);
        assert_eq!(&src[vm.labels[1].span.clone()], "web");
        assert_eq!(vm.attributes.iter().map(|a| a.name.text.as_str()).collect::<Vec<_>>(), ["name", "pool"]);
        let disk = &vm.blocks[0];
        assert_eq!(disk.attributes.len(), 2);
        assert_eq!(&src[disk.attributes[0].value.clone()].trim(), &"var.size");
        let refs: Vec<Vec<&str>> = o.references.iter().map(texts).collect();
        assert_eq!(refs, vec![vec!["count", "index"], vec!["pool", "web", "id"], vec!["var", "size"]]);
        assert!(src[vm.span.clone()].ends_with('}'));
    }

    #[test]
    fn for_names_object_keys_and_calls_are_not_references() {
        let src = "locals {\n  a = [for v in var.list : v.name if v.on]\n  b = { name = local.n, (local.k) = 1 }\n  c = upper(\"%{ for x in var.xs }${x}%{ endfor }\")\n  d = vm.web[0].vmid\n}\n";
        let o = Outline::parse(src);
        let refs: Vec<Vec<&str>> = o.references.iter().map(texts).collect();
        assert_eq!(
            refs,
            vec![vec!["var", "list"], vec!["local", "n"], vec!["local", "k"], vec!["var", "xs"], vec!["vm", "web"]]
        );
        assert_eq!(o.calls.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["upper"]);
    }

    #[test]
    fn half_typed_text_still_has_an_outline() {
        let src = "resource \"vm\" \"a\" {\n  cpu {\n    cores = var.\n    so\n  }\n  name = \"x${local.\n}\nvariable \"size\" {\n";
        let o = Outline::parse(src);
        assert_eq!(o.blocks.len(), 2, "{o:#?}");
        let at = src.find("so\n").unwrap() + 2;
        let path: Vec<&str> = o.blocks_at(at).iter().map(|b| b.ident.text.as_str()).collect();
        assert_eq!(path, ["resource", "cpu"]);
        let at = src.find("var.").unwrap() + 4;
        assert_eq!(o.attribute_value_at(at).map(|a| a.name.text.as_str()), Some("cores"));
        let (r, part) = o.reference_at(at).expect("the trailing dot is a part");
        assert_eq!((texts(r), part), (vec!["var", ""], 1));
        assert!(o.references.iter().any(|r| texts(r) == ["local", ""]));
        assert_eq!(o.blocks[1].labels[0].text, "size");
    }

    #[test]
    fn ignore_changes_and_variable_types_hold_no_references() {
        let src = "variable \"x\" {\n  type = list(string)\n}\nresource \"vm\" \"a\" {\n  lifecycle {\n    ignore_changes = [disk.scsi0.size]\n  }\n}\n";
        let o = Outline::parse(src);
        assert!(o.references.is_empty(), "{:?}", o.references);
        assert!(o.calls.is_empty());
    }
}
