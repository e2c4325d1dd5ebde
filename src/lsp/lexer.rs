//! A forgiving tokenizer for `.pmx` text as it is being typed. Unlike the loader's parser it
//! never fails: an unterminated string ends at its line's end, an unclosed interpolation at its
//! line's end, an unknown character is skipped. Comments produce no tokens; string contents are
//! text tokens around the tokens of their interpolations.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    Number,
    /// `"` opening a quoted string.
    QuoteOpen,
    /// `"` closing one (missing when the string is unterminated).
    QuoteClose,
    /// Literal text inside a string or heredoc.
    StrText,
    /// `${`.
    InterpOpen,
    /// `%{`.
    DirectiveOpen,
    /// The `}` closing `${` or `%{`.
    InterpClose,
    /// `<<EOT` or `<<-EOT`, up to its line's end.
    HeredocOpen,
    /// The line closing a heredoc.
    HeredocClose,
    Newline,
    /// One character: `{ } [ ] ( ) = , . : ? ! < > + - * / %`...
    Punct(u8),
    /// Two or three characters: `== != <= >= && || => ...`.
    Op,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub span: Range<usize>,
}

#[derive(Debug)]
enum Mode {
    Code,
    Quoted,
    Heredoc {
        marker: String,
    },
    /// Inside `${ }` / `%{ }`; `braces` counts `{` opened inside it.
    Interp {
        braces: usize,
    },
}

/// The tokens of `text`, in order.
pub fn lex(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut stack = vec![Mode::Code];
    let mut i = 0;
    let push = |out: &mut Vec<Token>, kind, span: Range<usize>| out.push(Token { kind, span });
    while i < b.len() {
        match stack.last() {
            Some(Mode::Quoted) => {
                let start = i;
                loop {
                    if i >= b.len() {
                        if i > start {
                            push(&mut out, Kind::StrText, start..i);
                        }
                        break;
                    }
                    match b[i] {
                        b'\\' => i = (i + 2).min(b.len()),
                        b'"' => {
                            if i > start {
                                push(&mut out, Kind::StrText, start..i);
                            }
                            push(&mut out, Kind::QuoteClose, i..i + 1);
                            i += 1;
                            stack.pop();
                            break;
                        }
                        b'\n' => {
                            if i > start {
                                push(&mut out, Kind::StrText, start..i);
                            }
                            stack.pop();
                            break;
                        }
                        // `$${` / `%%{`: an escaped, literal `${`.
                        c @ (b'$' | b'%') if b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&b'{') => i += 3,
                        c @ (b'$' | b'%') if b.get(i + 1) == Some(&b'{') => {
                            if i > start {
                                push(&mut out, Kind::StrText, start..i);
                            }
                            let kind = if c == b'$' { Kind::InterpOpen } else { Kind::DirectiveOpen };
                            push(&mut out, kind, i..i + 2);
                            i += 2;
                            stack.push(Mode::Interp { braces: 0 });
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            Some(Mode::Heredoc { marker }) => {
                let at_line_start = i == 0 || b[i - 1] == b'\n';
                if at_line_start {
                    let end = text[i..].find('\n').map_or(text.len(), |p| i + p);
                    let line = &text[i..end];
                    if line.trim() == marker {
                        let lead = line.len() - line.trim_start().len();
                        push(&mut out, Kind::HeredocClose, i + lead..i + lead + marker.len());
                        i = end;
                        stack.pop();
                        continue;
                    }
                }
                let start = i;
                while i < b.len() {
                    if matches!(b[i], b'$' | b'%') && b.get(i + 1) == Some(&b[i]) && b.get(i + 2) == Some(&b'{') {
                        i += 3;
                        continue;
                    }
                    if matches!(b[i], b'$' | b'%') && b.get(i + 1) == Some(&b'{') {
                        break;
                    }
                    i += 1;
                    if b[i - 1] == b'\n' {
                        break;
                    }
                }
                if i > start {
                    push(&mut out, Kind::StrText, start..i);
                }
                if i < b.len() && matches!(b[i], b'$' | b'%') && b.get(i + 1) == Some(&b'{') {
                    let kind = if b[i] == b'$' { Kind::InterpOpen } else { Kind::DirectiveOpen };
                    push(&mut out, kind, i..i + 2);
                    i += 2;
                    stack.push(Mode::Interp { braces: 0 });
                }
            }
            Some(Mode::Code | Mode::Interp { .. }) | None => {
                let c = b[i];
                match c {
                    b' ' | b'\t' | b'\r' => i += 1,
                    b'\n' => {
                        if matches!(stack.last(), Some(Mode::Interp { .. })) {
                            // An interpolation left open ends with its line (and so does the
                            // quoted string around it), so one unfinished `${` while typing
                            // does not swallow the rest of the file.
                            stack.pop();
                            if matches!(stack.last(), Some(Mode::Quoted)) {
                                stack.pop();
                            }
                            if matches!(stack.last(), Some(Mode::Heredoc { .. })) {
                                continue;
                            }
                        }
                        push(&mut out, Kind::Newline, i..i + 1);
                        i += 1;
                    }
                    b'#' => i = line_end(b, i),
                    b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
                    b'/' if b.get(i + 1) == Some(&b'*') => {
                        let end = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                        // A block comment spanning lines still ends the line it started on.
                        if text[i..end].contains('\n') {
                            push(&mut out, Kind::Newline, end..end);
                        }
                        i = end;
                    }
                    b'"' => {
                        push(&mut out, Kind::QuoteOpen, i..i + 1);
                        stack.push(Mode::Quoted);
                        i += 1;
                    }
                    b'<' if b.get(i + 1) == Some(&b'<') && heredoc_marker(text, i).is_some() => {
                        let (marker, header_end) = heredoc_marker(text, i).unwrap_or_default();
                        push(&mut out, Kind::HeredocOpen, i..header_end);
                        i = (header_end + 1).min(b.len());
                        stack.push(Mode::Heredoc { marker });
                    }
                    c if c.is_ascii_alphabetic() || c == b'_' => {
                        let start = i;
                        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                            i += 1;
                        }
                        push(&mut out, Kind::Ident, start..i);
                    }
                    c if c.is_ascii_digit() => {
                        let start = i;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                            i += 1;
                            while i < b.len() && b[i].is_ascii_digit() {
                                i += 1;
                            }
                        }
                        if matches!(b.get(i), Some(b'e' | b'E')) {
                            let mut j = i + 1;
                            if matches!(b.get(j), Some(b'+' | b'-')) {
                                j += 1;
                            }
                            if b.get(j).is_some_and(u8::is_ascii_digit) {
                                i = j;
                                while i < b.len() && b[i].is_ascii_digit() {
                                    i += 1;
                                }
                            }
                        }
                        push(&mut out, Kind::Number, start..i);
                    }
                    b'{' => {
                        if let Some(Mode::Interp { braces }) = stack.last_mut() {
                            *braces += 1;
                        }
                        push(&mut out, Kind::Punct(c), i..i + 1);
                        i += 1;
                    }
                    b'}' => {
                        match stack.last_mut() {
                            Some(Mode::Interp { braces: 0 }) => {
                                stack.pop();
                                push(&mut out, Kind::InterpClose, i..i + 1);
                            }
                            Some(Mode::Interp { braces }) => {
                                *braces -= 1;
                                push(&mut out, Kind::Punct(c), i..i + 1);
                            }
                            _ => push(&mut out, Kind::Punct(c), i..i + 1),
                        }
                        i += 1;
                    }
                    _ if text[i..].starts_with("...") => {
                        push(&mut out, Kind::Op, i..i + 3);
                        i += 3;
                    }
                    _ if ["==", "!=", "<=", ">=", "&&", "||", "=>"].iter().any(|op| text[i..].starts_with(op)) => {
                        push(&mut out, Kind::Op, i..i + 2);
                        i += 2;
                    }
                    c if c.is_ascii() => {
                        push(&mut out, Kind::Punct(c), i..i + 1);
                        i += 1;
                    }
                    _ => i += text[i..].chars().next().map_or(1, char::len_utf8),
                }
            }
        }
    }
    out
}

fn line_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

/// The marker of a heredoc starting at `<<` (`EOT` of `<<-EOT`) and where its header line ends.
fn heredoc_marker(text: &str, start: usize) -> Option<(String, usize)> {
    let rest = text.get(start + 2..)?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let len = rest.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
    if len == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    let after = &rest[len..];
    let header_end = start + (text.len() - start - rest.len()) + len;
    // Only white space may follow the marker on its line.
    let line_rest = after.split('\n').next().unwrap_or("");
    line_rest.trim().is_empty().then(|| (rest[..len].to_string(), header_end + line_rest.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        lex(text).into_iter().map(|t| (t.kind, &text[t.span])).collect()
    }

    #[test]
    fn strings_split_around_interpolations() {
        let got = kinds("a = \"web-${var.x}-$${raw}\" # c\n");
        assert_eq!(
            got,
            vec![
                (Kind::Ident, "a"),
                (Kind::Punct(b'='), "="),
                (Kind::QuoteOpen, "\""),
                (Kind::StrText, "web-"),
                (Kind::InterpOpen, "${"),
                (Kind::Ident, "var"),
                (Kind::Punct(b'.'), "."),
                (Kind::Ident, "x"),
                (Kind::InterpClose, "}"),
                (Kind::StrText, "-$${raw}"),
                (Kind::QuoteClose, "\""),
                (Kind::Newline, "\n"),
            ]
        );
    }

    #[test]
    fn unfinished_strings_and_interpolations_end_with_their_line() {
        let got = kinds("a = \"x${var.\nb = {\n}\n");
        assert!(got.contains(&(Kind::Ident, "b")), "{got:?}");
        assert_eq!(got.iter().filter(|(k, _)| *k == Kind::Punct(b'}')).count(), 1, "{got:?}");
    }

    #[test]
    fn heredocs_are_text_with_interpolations() {
        let got = kinds("a = <<-EOT\n  x ${local.y} \"q\n  EOT\nb = 1\n");
        assert!(got.contains(&(Kind::Ident, "local")), "{got:?}");
        assert!(got.contains(&(Kind::HeredocClose, "EOT")), "{got:?}");
        assert!(got.contains(&(Kind::Ident, "b")), "{got:?}");
        assert!(!got.contains(&(Kind::QuoteOpen, "\"")), "a quote inside a heredoc is text: {got:?}");
    }

    #[test]
    fn numbers_operators_and_comments() {
        let got = kinds("x = 1.5e3 >= a.0 // c\n/* a\n b */ y");
        assert!(got.contains(&(Kind::Number, "1.5e3")));
        assert!(got.contains(&(Kind::Op, ">=")));
        assert!(got.contains(&(Kind::Number, "0")));
        assert!(got.contains(&(Kind::Ident, "y")));
        assert!(!got.iter().any(|(_, t)| t.contains('c')));
    }
}
