//! The canonical style of `.pmx` files (what `pmx fmt` writes), in the manner of `terraform fmt`:
//! two-space indentation by bracket depth, one space around `=` and after commas, `=` aligned
//! across consecutive single-line attributes, trailing comments aligned, at most one blank line
//! in a row (none just inside brackets or at either end of the file), one final newline.
//!
//! It works on tokens, like HCL's own `hclwrite`: the text is cut into tokens (strings, heredocs
//! and comments are single tokens, never looked inside) and only the white space *between*
//! tokens is rewritten. So nothing but white space can change; as a last guard, [`format`]
//! checks that the formatted text parses to the same body as the original.

use std::ops::Range;

/// Why a file was not formatted.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError {
    pub message: String,
    /// 1-based line and column of the problem.
    pub line: usize,
    pub column: usize,
    /// Byte offset of the problem in the input.
    pub offset: usize,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for FormatError {}

/// Formats the text of a `.pmx` or `.pmxvars` file. Text that does not parse is refused.
pub fn format(source: &str) -> Result<String, FormatError> {
    let before = parse(source)?;
    let formatted = format_tokens(source);
    let after = parse(&formatted).map_err(|e| FormatError {
        message: format!("internal error: the formatted text does not parse ({})", e.message),
        ..e
    })?;
    if before != after {
        return Err(FormatError {
            message: "internal error: formatting would change the meaning of the file; it was left as it is".into(),
            line: 1,
            column: 1,
            offset: 0,
        });
    }
    Ok(formatted)
}

fn parse(source: &str) -> Result<hcl::Body, FormatError> {
    // The loader's reading of one-line blocks with commas; same length, so positions hold.
    let source = super::syntax::normalize_block_commas(source);
    match hcl_edit::parser::parse_body(&source) {
        // hcl-rs's body compares by meaning: white space, comments and decor are not in it
        Ok(body) => Ok(hcl::Body::from(body)),
        Err(e) => {
            let loc = e.location();
            Err(FormatError {
                message: e.message().to_string(),
                line: loc.line(),
                column: loc.column(),
                offset: loc.offset(),
            })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Number,
    /// A quoted template, with any interpolations inside it.
    String,
    Heredoc,
    Comment,
    Punct,
    /// A character HCL does not know; kept as it is.
    Other,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
}

impl Token<'_> {
    fn is(&self, punct: &str) -> bool {
        self.kind == Kind::Punct && self.text == punct
    }

    fn bracket_change(&self) -> i32 {
        match (self.kind, self.text) {
            (Kind::Punct, "{" | "[" | "(") => 1,
            (Kind::Punct, "}" | "]" | ")") => -1,
            _ => 0,
        }
    }

    fn spans_lines(&self) -> bool {
        self.text.contains('\n')
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }
}

/// One source line: its tokens, without the white space between them.
#[derive(Debug, Default)]
struct Line<'a> {
    tokens: Vec<Token<'a>>,
}

const PUNCTS: &[&str] = &[
    "...", "=>", "==", "!=", "<=", ">=", "&&", "||", "::", "{", "}", "[", "]", "(", ")", "=", ",", ".", "<", ">", "!",
    "+", "-", "*", "/", "%", "?", ":",
];

/// Cuts the text into lines of tokens. Every byte that is not white space between tokens ends
/// up in exactly one token.
fn lex(src: &str) -> Vec<Line<'_>> {
    let bytes = src.as_bytes();
    let mut lines = vec![Line::default()];
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b'\n' => {
                lines.push(Line::default());
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = line_end(src, i);
                Kind::Comment
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(src, i);
                Kind::Comment
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = src[i + 2..].find("*/").map(|e| i + 2 + e + 2).unwrap_or(src.len());
                Kind::Comment
            }
            b'"' => {
                i = string_end(src, i);
                Kind::String
            }
            b'<' if heredoc_marker(src, i).is_some() => {
                i = heredoc_end(src, i);
                Kind::Heredoc
            }
            b'0'..=b'9' => {
                i = number_end(bytes, i);
                Kind::Number
            }
            _ if is_ident_start(src, i) => {
                i = ident_end(src, i);
                Kind::Ident
            }
            _ => match PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
                Some(p) => {
                    i += p.len();
                    Kind::Punct
                }
                None => {
                    i += src[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                    Kind::Other
                }
            },
        };
        let mut text = &src[start..i];
        if kind == Kind::Comment && !text.starts_with("/*") {
            text = text.trim_end();
        }
        let line = lines.last_mut().expect("there is always a current line");
        line.tokens.push(Token { kind, text });
        // a token spanning lines (heredoc, block comment) continues the line it started on
    }
    lines
}

fn line_end(src: &str, from: usize) -> usize {
    src[from..].find('\n').map(|e| from + e).unwrap_or(src.len())
}

fn is_ident_start(src: &str, i: usize) -> bool {
    src[i..].chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn ident_end(src: &str, mut i: usize) -> usize {
    for c in src[i..].chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            i += c.len_utf8();
        } else {
            break;
        }
    }
    i
}

fn number_end(bytes: &[u8], mut i: usize) -> usize {
    let digits = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    i = digits(i);
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            i = digits(j);
        }
    }
    i
}

/// The end of a quoted template starting at `i` (just past the closing quote).
fn string_end(src: &str, i: usize) -> usize {
    let bytes = src.as_bytes();
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            b'\n' => return j, // unterminated: the parser reports it
            b'$' | b'%' if bytes.get(j + 1) == Some(&b'{') => {
                // `$${` and `%%{` are escapes, handled by the doubled character below
                j = interpolation_end(src, j + 2);
            }
            b'$' | b'%' if bytes.get(j + 1) == Some(&bytes[j]) => j += 2,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// The end of `${ ... }` whose body starts at `i` (just past the closing brace). Strings inside
/// may hold braces of their own.
fn interpolation_end(src: &str, mut i: usize) -> usize {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(src, i);
                continue;
            }
            b'{' => depth += 1,
            b'}' if depth == 0 => return i + 1,
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// `<<EOT` or `<<-EOT` at `i`, followed by the end of the line: the marker.
fn heredoc_marker(src: &str, i: usize) -> Option<&str> {
    let rest = src[i..].strip_prefix("<<")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    if !rest.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
        return None;
    }
    let start = src.len() - rest.len();
    let end = ident_end(src, start);
    let after = src[end..].trim_start_matches([' ', '\t', '\r']);
    (after.is_empty() || after.starts_with('\n')).then(|| &src[start..end])
}

/// The end of the heredoc at `i`: just past its closing marker, which is the first thing on
/// its line (anything after it, such as a comment, is outside the heredoc).
fn heredoc_end(src: &str, i: usize) -> usize {
    let Some(marker) = heredoc_marker(src, i) else { return i + 2 };
    let mut pos = line_end(src, i);
    while pos < src.len() {
        let line_start = pos + 1;
        let end = line_end(src, line_start);
        let line = &src[line_start.min(end)..end];
        let content = line.trim_start_matches([' ', '\t']);
        if let Some(after) = content.strip_prefix(marker) {
            if !after.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                return end - after.len();
            }
        }
        pos = end;
    }
    src.len()
}

/// Whether one space goes between `subject` and `after` (`before` precedes `subject` on the
/// line). The rules of HCL's hclwrite.
fn space_between(before: Option<&Token>, subject: &Token, after: &Token) -> bool {
    let closes = |t: &Token| t.bracket_change() < 0;
    let opens = |t: &Token| t.bracket_change() > 0;
    if subject.kind == Kind::Ident && after.is("(") {
        return false;
    }
    if subject.is("::") || after.is("::") || subject.is(".") || after.is(".") {
        return false;
    }
    if after.is(",") || after.is("...") {
        return false;
    }
    if subject.is(",") {
        return true;
    }
    if subject.kind == Kind::Ident && subject.text == "in" && before.is_some_and(|b| b.kind == Kind::Ident) {
        // `[for x in [a, b] : x]`: `in` is a keyword here, not a value being indexed
        return true;
    }
    if after.is("[") && (matches!(subject.kind, Kind::Ident | Kind::Number) || closes(subject)) {
        return false;
    }
    if subject.is("-") {
        // negation (no space) unless the minus follows something that ends an operand
        return match before {
            None => false,
            Some(b) if b.kind == Kind::Punct => closes(b),
            Some(_) => true,
        };
    }
    if subject.is("{") || after.is("}") {
        return !(subject.is("{") && after.is("}"));
    }
    if opens(subject) || closes(after) || subject.is("!") {
        return false;
    }
    true
}

/// The formatted text; white space between tokens is all that changes.
fn format_tokens(src: &str) -> String {
    let lines = normalise_blank_lines(lex(src));
    let indents = indents(&lines);
    let mut rendered: Vec<Rendered> = lines.iter().zip(&indents).map(|(l, &indent)| render_line(l, indent)).collect();
    align(&mut rendered, |r| r.assign, |r| r.assign_col);
    align(&mut rendered, |r| r.comment, |r| r.comment_col);
    let mut out = String::with_capacity(src.len());
    for r in &rendered {
        out.push_str(r.text.trim_end_matches([' ', '\t']));
        out.push('\n');
    }
    if out.trim().is_empty() {
        return String::new();
    }
    out
}

/// Drops blank lines at either end of the file and just inside brackets; keeps at most one in
/// a row elsewhere.
fn normalise_blank_lines(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut pending_blank = false;
    for line in lines {
        if line.tokens.is_empty() {
            pending_blank = true;
            continue;
        }
        let after_opener = out.last().and_then(|l| l.tokens.last()).is_some_and(|t| t.bracket_change() > 0);
        let before_closer = line.tokens.first().is_some_and(|t| t.bracket_change() < 0);
        if pending_blank && !out.is_empty() && !after_opener && !before_closer {
            out.push(Line::default());
        }
        pending_blank = false;
        out.push(line);
    }
    out
}

fn net_brackets(tokens: &[Token]) -> i32 {
    let mut net = 0;
    for t in tokens {
        net += t.bracket_change();
        if t.kind == Kind::Heredoc {
            break;
        }
    }
    net
}

/// hclwrite's indentation: a line that opens brackets indents the following lines one level,
/// however many it opens; lines that close come back out past the levels they close.
fn indents(lines: &[Line]) -> Vec<usize> {
    let mut stack: Vec<i32> = Vec::new();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let net = net_brackets(&line.tokens);
        if net > 0 {
            out.push(stack.len());
            stack.push(net);
        } else {
            let mut closed = -net;
            while closed > 0 {
                let Some(top) = stack.last_mut() else { break };
                if closed >= *top {
                    closed -= *top;
                    stack.pop();
                } else {
                    *top -= closed;
                    closed = 0;
                }
            }
            out.push(stack.len());
        }
    }
    out
}

/// A line as text, with where its `=` and trailing comment start (byte offsets into `text`),
/// and the column each starts at, for alignment.
struct Rendered {
    text: String,
    assign: Option<usize>,
    assign_col: usize,
    comment: Option<usize>,
    comment_col: usize,
}

fn render_line(line: &Line, indent: usize) -> Rendered {
    let tokens = &line.tokens;
    let mut text = String::new();
    let mut r = Rendered { text: String::new(), assign: None, assign_col: 0, comment: None, comment_col: 0 };
    if tokens.is_empty() {
        return r;
    }
    text.push_str(&"  ".repeat(indent));
    let has_comment = tokens.len() > 1 && tokens.last().is_some_and(|t| t.kind == Kind::Comment);
    let body_len = if has_comment { tokens.len() - 1 } else { tokens.len() };
    // the `=` of an attribute whose value ends on this line
    let assign_at =
        tokens[..body_len].iter().position(|t| t.is("=")).filter(|&i| i > 0 && net_brackets(&tokens[i..body_len]) == 0);
    let mut column = 2 * indent;
    let mut multi_line = false;
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            let before = if i >= 2 { Some(&tokens[i - 2]) } else { None };
            if space_between(before, &tokens[i - 1], t) {
                text.push(' ');
                column += 1;
            }
        }
        if Some(i) == assign_at {
            r.assign = Some(text.len());
            r.assign_col = column;
        }
        if has_comment && i == body_len && !multi_line {
            r.comment = Some(text.len());
            r.comment_col = column;
        }
        text.push_str(t.text);
        column += t.width();
        multi_line |= t.spans_lines();
    }
    r.text = text;
    r
}

/// Pads consecutive lines so that the cell `cell` (an offset into each line) starts in the same
/// column. A line without the cell ends the run.
fn align(lines: &mut [Rendered], cell: impl Fn(&Rendered) -> Option<usize>, col: impl Fn(&Rendered) -> usize) {
    let mut run: Range<usize> = 0..0;
    let mut i = 0;
    while i <= lines.len() {
        let has = i < lines.len() && cell(&lines[i]).is_some();
        if has {
            if run.is_empty() {
                run = i..i;
            }
            run.end = i + 1;
        } else if !run.is_empty() {
            let target = run.clone().map(|j| col(&lines[j])).max().unwrap_or(0);
            for j in run.clone() {
                let pad = target - col(&lines[j]);
                if pad > 0 {
                    let at = cell(&lines[j]).unwrap_or(0);
                    lines[j].text.insert_str(at, &" ".repeat(pad));
                    // a later cell on the same line moves too
                    shift_after(&mut lines[j], at, pad);
                }
            }
            run = 0..0;
        }
        i += 1;
    }
}

fn shift_after(line: &mut Rendered, at: usize, by: usize) {
    if let Some(c) = line.comment.as_mut().filter(|c| **c > at) {
        *c += by;
        line.comment_col += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        format(src).unwrap_or_else(|e| panic!("format failed: {e}\n{src}"))
    }

    #[test]
    fn aligns_and_indents() {
        let src = "resource \"vm\" \"web\" {\nname=\"a\"\n    node_name   =  \"pve1\"\n\tcpu {\ncores=2\n}\n}\n";
        let want =
            "resource \"vm\" \"web\" {\n  name      = \"a\"\n  node_name = \"pve1\"\n  cpu {\n    cores = 2\n  }\n}\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn spacing_inside_expressions() {
        let src = "a = [1,2 ,  3]\nb = {x=1}\nc = f( 1,-2 )\nd = var.x[0] - 1\ne = !var.y\nf = {}\ng = a.b[*].c\nh = [for x in [1]: x*2]\n";
        let want = "a = [1, 2, 3]\nb = { x = 1 }\nc = f(1, -2)\nd = var.x[0] - 1\ne = !var.y\nf = {}\ng = a.b[*].c\nh = [for x in [1] : x * 2]\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn comments_survive_and_align() {
        let src = "# head\n\n\n\nlocals {\n\n  a = 1 # one\n  bbb = 2    // two\n  /* block */\n\n}\n\n\n";
        let want = "# head\n\nlocals {\n  a   = 1 # one\n  bbb = 2 // two\n  /* block */\n}\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn multi_line_values_break_alignment() {
        let src = "a = 1\nlong_name = [\n1,\n2,\n]\nb = 2\ncc = 3\n";
        let want = "a = 1\nlong_name = [\n  1,\n  2,\n]\nb  = 2\ncc = 3\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn strings_and_heredocs_are_untouched() {
        let src = "a   = \"x  =  ${ var.y  }  \"\nb = <<-EOT\n      keep   this\n   EOT\nc = \"}\"\n";
        let want = "a = \"x  =  ${ var.y  }  \"\nb = <<-EOT\n      keep   this\n   EOT\nc = \"}\"\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn idempotent_on_examples() {
        let src = "variable \"n\" {\n  type    = number\n  default = 3\n}\nresource \"vm\" \"w\" {\n  count = var.n\n  name  = \"web-${count.index}\"\n  disk \"scsi0\" { size = \"32G\" }\n}\n";
        assert_eq!(fmt(src), src);
        assert_eq!(fmt(&fmt(src)), fmt(src));
    }

    #[test]
    fn broken_input_is_refused_with_a_position() {
        let e = format("a = 1\nb = [1,\nresource {").unwrap_err();
        assert!(e.line >= 2, "{e}");
        assert!(!e.message.is_empty());
    }

    #[test]
    fn heredoc_inside_a_call_and_minus_signs() {
        let src = "x = trimspace(<<EOT\n  keep\nEOT\n)\ny = [-1, 2 -1, (3)-1, -var.a]\nz = a ? -1 : - 2\n";
        let want = "x = trimspace(<<EOT\n  keep\nEOT\n)\ny = [-1, 2 - 1, (3) - 1, -var.a]\nz = a ? -1 : -2\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn for_expressions_and_objects() {
        let src = "a = {for k,v in var.m: k=>v if v!=\"\"}\nb = [for x in local.l: upper(x)]\nc = {\"k\":1}\n";
        let want =
            "a = { for k, v in var.m : k => v if v != \"\" }\nb = [for x in local.l : upper(x)]\nc = { \"k\" : 1 }\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn nested_multi_line_values_indent_once_per_line() {
        let src = "a = merge({\nx = 1\nyy = 2\n}, {\nz = [\n1,\n]\n})\n";
        let want = "a = merge({\n  x  = 1\n  yy = 2\n  }, {\n  z = [\n    1,\n  ]\n})\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn one_line_blocks_with_commas() {
        let src = "variable \"t\" { type=string,sensitive=true  }\ncpu { cores = 2 , sockets=1 }\n";
        let want = "variable \"t\" { type = string, sensitive = true }\ncpu { cores = 2, sockets = 1 }\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn empty_and_blank_files() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n  \n"), "");
        assert_eq!(fmt("a = 1"), "a = 1\n");
        assert_eq!(fmt("a = 1\r\nb = 2\r\n"), "a = 1\nb = 2\n");
    }
}
