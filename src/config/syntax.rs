//! Reading `.pmx` files into hcl-edit syntax trees, with spans into the original text.
//!
//! `.pmx` accepts one convenience plain HCL does not: several attributes on one line of a block,
//! separated by commas (`cpu { cores = 2, sockets = 1 }`). [`normalize_block_commas`] turns those
//! commas (and the blank after `{` / before `}`) into newlines, byte for byte, so every span
//! hcl-edit reports still points into the file as the user wrote it. Where there is no blank to
//! turn (`cpu {cores = 2, sockets = 1}`), a newline is inserted; the [`SourceFile`] then keeps
//! the text as written for display and maps positions back to it.

use std::path::Path;
use std::sync::Arc;

use hcl_edit::structure::Body;

use crate::diag::{Diagnostic, SourceFile};

/// One parsed file.
#[derive(Debug)]
pub struct ParsedFile {
    pub source: Arc<SourceFile>,
    pub body: Body,
}

/// Parses one file's text. A syntax error becomes a diagnostic at the exact place.
pub fn parse_source(source: &Arc<SourceFile>) -> Result<ParsedFile, Box<Diagnostic>> {
    let (text, inserted) = normalize(&source.text);
    let source = if inserted.is_empty() {
        source.clone()
    } else {
        SourceFile::normalized(&source.path, source.name.clone(), source.text.clone(), text.to_string(), &inserted)
    };
    let source = &source;
    match hcl_edit::parser::parse_body(&text) {
        Ok(body) => Ok(ParsedFile { source: source.clone(), body }),
        Err(e) => {
            let offset = floor_char_boundary(&source.text, e.location().offset());
            let end = next_char_boundary(&source.text, offset);
            let message = e.message().trim().to_string();
            Err(Box::new(
                Diagnostic::error(format!("syntax error: {}", first_line(&message)))
                    .with_code("pmx::config::syntax")
                    .at(source, offset..end, message),
            ))
        }
    }
}

/// Reads and parses a file; `display_name` is what diagnostics show.
pub fn parse_file(path: &Path, display_name: &str) -> Result<ParsedFile, Box<Diagnostic>> {
    if let Some(text) = super::overlay::text_of(path) {
        return parse_source(&SourceFile::new(path, display_name, text));
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse_source(&SourceFile::new(path, display_name, text)),
            Err(e) => Err(Box::new(
                Diagnostic::error(format!(
                    "{display_name}: not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ))
                .with_code("pmx::config::encoding"),
            )),
        },
        Err(e) => {
            Err(Box::new(Diagnostic::error(format!("cannot read {display_name}: {e}")).with_code("pmx::config::io")))
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn next_char_boundary(s: &str, i: usize) -> usize {
    let mut j = (i + 1).min(s.len());
    while j < s.len() && !s.is_char_boundary(j) {
        j += 1;
    }
    j.max(i)
}

#[derive(Debug)]
enum Ctx {
    /// A block body (or the file itself): commas at this level separate attributes.
    BlockBody { open: Option<usize>, commas: Vec<usize> },
    /// `{` of an object expression, `(`, `[`.
    Nested(u8),
    /// Inside a quoted string.
    Str,
    /// `${ ... }` or `%{ ... }` inside a string.
    Interp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Prev {
    Ident,
    In,
    StrLit,
    Other,
}

/// Rewrites commas that separate attributes inside a block body into newlines (same length,
/// so spans stay valid). Object expressions, strings, heredocs and comments are left alone.
/// Where a newline must go between `{` and the first attribute, or the last one and `}`, and
/// there is no blank to turn into one, a newline is inserted (see [`normalize`]).
pub fn normalize_block_commas(text: &str) -> std::borrow::Cow<'_, str> {
    normalize(text).0
}

/// [`normalize_block_commas`], with the offsets (in `text`) before which a newline was inserted.
pub fn normalize(text: &str) -> (std::borrow::Cow<'_, str>, Vec<usize>) {
    let b = text.as_bytes();
    let mut edits: Vec<usize> = Vec::new();
    let mut inserts: Vec<usize> = Vec::new();
    let mut stack: Vec<Ctx> = vec![Ctx::BlockBody { open: None, commas: Vec::new() }];
    let mut prev = Prev::Other;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(stack.last(), Some(Ctx::Str)) {
            match c {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                    prev = Prev::StrLit;
                }
                b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                    if i > 0 && b[i - 1] == c {
                        // `$${` / `%%{` are escapes, not interpolations.
                    } else {
                        stack.push(Ctx::Interp);
                        prev = Prev::Other;
                        i += 1;
                    }
                }
                b'\n' => {
                    // An unterminated string: let the parser report it.
                    stack.pop();
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => stack.push(Ctx::Str),
            b'#' => {
                i = skip_line(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = skip_line(b, i);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = match text[i + 2..].find("*/") {
                    Some(p) => i + 2 + p + 2,
                    None => b.len(),
                };
                continue;
            }
            b'<' if b.get(i + 1) == Some(&b'<') => {
                if let Some(end) = skip_heredoc(text, i) {
                    i = end;
                    prev = Prev::Other;
                    continue;
                }
                prev = Prev::Other;
            }
            b'{' => {
                let in_body = matches!(stack.last(), Some(Ctx::BlockBody { .. }));
                if in_body && matches!(prev, Prev::Ident | Prev::StrLit) {
                    stack.push(Ctx::BlockBody { open: Some(i), commas: Vec::new() });
                } else {
                    stack.push(Ctx::Nested(b'}'));
                }
                prev = Prev::Other;
            }
            b'(' => {
                stack.push(Ctx::Nested(b')'));
                prev = Prev::Other;
            }
            b'[' => {
                stack.push(Ctx::Nested(b']'));
                prev = Prev::Other;
            }
            b'}' | b')' | b']' => {
                match stack.last() {
                    Some(Ctx::Nested(close)) if *close == c => {
                        stack.pop();
                    }
                    Some(Ctx::Interp) if c == b'}' => {
                        stack.pop();
                    }
                    Some(Ctx::BlockBody { open: Some(_), .. }) if c == b'}' => {
                        if let Some(Ctx::BlockBody { open: Some(open), commas }) = stack.pop() {
                            if !commas.is_empty() {
                                edits.extend(commas);
                                match b.get(open + 1) {
                                    Some(b' ' | b'\t') => edits.push(open + 1),
                                    Some(b'\n' | b'\r') => {}
                                    _ => inserts.push(open + 1),
                                }
                                match b[i - 1] {
                                    b' ' | b'\t' => edits.push(i - 1),
                                    b'\n' => {}
                                    _ => inserts.push(i),
                                }
                            }
                        }
                    }
                    _ => {}
                }
                prev = Prev::Other;
            }
            b',' => {
                if let Some(Ctx::BlockBody { open: Some(_), commas }) = stack.last_mut() {
                    commas.push(i);
                }
                prev = Prev::Other;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                    i += 1;
                }
                prev = if &text[start..i] == "in" { Prev::In } else { Prev::Ident };
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ => prev = Prev::Other,
        }
        i += 1;
    }
    if edits.is_empty() && inserts.is_empty() {
        return (std::borrow::Cow::Borrowed(text), inserts);
    }
    let mut out = b.to_vec();
    for e in edits {
        out[e] = b'\n';
    }
    inserts.sort_unstable();
    for (n, at) in inserts.iter().enumerate() {
        out.insert(at + n, b'\n');
    }
    // Only ASCII bytes were replaced by ASCII bytes or inserted between tokens, so this cannot
    // fail; fall back to the original text rather than panic if it ever did.
    match String::from_utf8(out) {
        Ok(s) => (std::borrow::Cow::Owned(s), inserts),
        Err(_) => (std::borrow::Cow::Borrowed(text), Vec::new()),
    }
}

fn skip_line(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

/// Skips a heredoc starting at `<<` (or `<<-`); returns the offset after its closing marker
/// line, or None when this is not a heredoc.
fn skip_heredoc(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start + 2..];
    let rest_trim = rest.strip_prefix('-').unwrap_or(rest);
    let marker_len = rest_trim.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
    if marker_len == 0 {
        return None;
    }
    let marker = &rest_trim[..marker_len];
    let after_marker = start + 2 + (rest.len() - rest_trim.len()) + marker_len;
    let mut pos = text[after_marker..].find('\n').map(|p| after_marker + p + 1)?;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map(|p| pos + p).unwrap_or(text.len());
        if text[pos..line_end].trim() == marker {
            return Some(line_end);
        }
        pos = line_end + 1;
    }
    Some(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_in_one_line_blocks_become_newlines() {
        let src = "variable \"x\" { type = string, sensitive = true }\n";
        let out = normalize_block_commas(src);
        assert_eq!(out.len(), src.len());
        assert_eq!(out, "variable \"x\" {\ntype = string\n sensitive = true\n}\n");
        assert!(hcl_edit::parser::parse_body(&out).is_ok());
    }

    #[test]
    fn object_and_string_commas_stay() {
        let src = "locals {\n  a = { x = 1, y = \"a,b ${join(\",\", [1, 2])}\" }\n  b = [1, 2]\n}\n";
        assert_eq!(normalize_block_commas(src), src);
        let src = "x = { for k, v in { a = 1, b = 2 } : k => v }\n";
        assert_eq!(normalize_block_commas(src), src);
    }

    #[test]
    fn nested_one_line_blocks_in_resource() {
        let src = "resource \"vm\" \"a\" {\n  clone { source = 1, full = true }\n  cpu { cores = 2 }\n}\n";
        let out = normalize_block_commas(src);
        let body = hcl_edit::parser::parse_body(&out).unwrap();
        let block = body.get_blocks("resource").next().unwrap();
        let clone = block.body.get_blocks("clone").next().unwrap();
        assert!(clone.body.get_attribute("full").is_some());
    }

    #[test]
    fn one_line_blocks_without_blanks_inside_the_braces() {
        let src = "resource \"pool\" \"p\" {comment = \"x\", id = \"y\"}\nx {cores = 2,sockets = 1}\n";
        let f = SourceFile::new("m.pmx", "m.pmx", src);
        let parsed = parse_source(&f).expect("parses");
        let block = parsed.body.get_blocks("resource").next().unwrap();
        let id = block.body.get_attribute("id").unwrap();
        // Spans index the parsed text; positions and snippets are those of the written one.
        let span = hcl_edit::Span::span(&id.key).unwrap();
        assert_eq!(&parsed.source.text[span.clone()], "id");
        assert_eq!(parsed.source.written(), src);
        assert_eq!(&src[parsed.source.written_span(&span)], "id");
        assert_eq!(parsed.source.line_col(span.start), (1, 37));
        let x = parsed.body.get_blocks("x").next().unwrap();
        assert!(x.body.get_attribute("sockets").is_some());
    }

    #[test]
    fn heredocs_and_comments_are_skipped() {
        let src = "a = <<EOT\n x { a = 1, b = 2 }\nEOT\n# c { a = 1, b = 2 }\n";
        assert_eq!(normalize_block_commas(src), src);
    }

    #[test]
    fn syntax_error_points_at_line_and_column() {
        let f = SourceFile::new("m.pmx", "m.pmx", "resource \"vm\" \"a\" {\n  name = \n}\n");
        let d = parse_source(&f).unwrap_err();
        let (_, line, _) = d.position().unwrap();
        assert!(line >= 2, "{d:?}");
    }
}
