//! String functions, including `format`'s printf-style verbs.

use indexmap::IndexMap;
use unicode_segmentation::UnicodeSegmentation;

use super::{describe, fmt_number, value_to_string, Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

pub(super) fn format(_: &FunctionContext, a: &Args) -> Result {
    let spec = a.string(0)?;
    Ok(Value::String(format_one(a, &spec, &a.all()[1..])?))
}

pub(super) fn formatlist(_: &FunctionContext, a: &Args) -> Result {
    let spec = a.string(0)?;
    let mut rows: Option<usize> = None;
    for (i, v) in a.all().iter().enumerate().skip(1) {
        if let Value::List(items) = v {
            match rows {
                Some(n) if n != items.len() => {
                    return Err(
                        a.err(i, format!("all lists must have the same length: {} here, {n} before", items.len()))
                    )
                }
                _ => rows = Some(items.len()),
            }
        }
    }
    // With no list at all, the scalars are formatted once.
    let rows = rows.unwrap_or(1);
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let args: Vec<Value> = a.all()[1..]
            .iter()
            .map(|v| match v {
                Value::List(items) => items[row].clone(),
                other => other.clone(),
            })
            .collect();
        out.push(Value::String(format_one(a, &spec, &args)?));
    }
    Ok(Value::List(out))
}

/// One `%` directive: `%[flags][width][.precision]verb`, optionally `%[n]verb`.
#[derive(Default)]
struct Directive {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

fn format_one(a: &Args, spec: &str, args: &[Value]) -> std::result::Result<String, FunctionError> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next_arg = 0usize;
    let mut used = vec![false; args.len()];
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut d = Directive::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => d.minus = true,
                '+' => d.plus = true,
                ' ' => d.space = true,
                '0' => d.zero = true,
                '#' => d.sharp = true,
                _ => break,
            }
            chars.next();
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            let digits: String = std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_digit())).collect();
            if chars.next() != Some(']') || digits.is_empty() {
                return Err(a.err(0, "malformed argument index: expected %[n]"));
            }
            let n: usize = digits.parse().map_err(|_| a.err(0, "argument index is too large"))?;
            if n == 0 {
                return Err(a.err(0, "argument indexes start at 1"));
            }
            next_arg = n - 1;
        }
        let width: String = std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_digit())).collect();
        d.width = width.parse().ok();
        if chars.next_if_eq(&'.').is_some() {
            let precision: String = std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_digit())).collect();
            d.precision = Some(precision.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            return Err(a.err(0, "the format ends in the middle of a % directive"));
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(a.fail(format!("not enough arguments for the format: %{verb} needs argument {}", next_arg + 2)));
        };
        used[next_arg] = true;
        let arg_pos = next_arg + 1;
        next_arg += 1;
        let text = render_verb(a, verb, &d, arg, arg_pos)?;
        pad(&mut out, &text, &d, verb);
    }
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(a.err(unused + 1, format!("too many arguments: argument {} is not used by the format", unused + 2)));
    }
    Ok(out)
}

fn render_verb(
    a: &Args,
    verb: char,
    d: &Directive,
    arg: &Value,
    pos: usize,
) -> std::result::Result<String, FunctionError> {
    let number = || {
        super::value_to_number(arg).ok_or_else(|| a.err(pos, format!("%{verb} needs a number, got {}", describe(arg))))
    };
    let integer = || {
        let n = number()?;
        if n.fract() != 0.0 || !n.is_finite() {
            return Err(a.err(pos, format!("%{verb} needs a whole number, got {}", fmt_number(n))));
        }
        Ok(n as i64)
    };
    let sign = |negative: bool| {
        if negative {
            "-"
        } else if d.plus {
            "+"
        } else if d.space {
            " "
        } else {
            ""
        }
    };
    let text = match verb {
        'v' => match arg {
            Value::List(_) | Value::Map(_) | Value::Null => arg.to_json().to_string(),
            _ if d.sharp => arg.to_json().to_string(),
            Value::Number(n) => format!("{}{}", if *n >= 0.0 { sign(false) } else { "" }, fmt_number(*n)),
            other => value_to_string(other).unwrap_or_default(),
        },
        's' => {
            let s =
                value_to_string(arg).ok_or_else(|| a.err(pos, format!("%s needs a string, got {}", describe(arg))))?;
            match d.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'q' => {
            let s =
                value_to_string(arg).ok_or_else(|| a.err(pos, format!("%q needs a string, got {}", describe(arg))))?;
            serde_json::Value::String(s).to_string()
        }
        't' => match super::value_to_bool(arg) {
            Some(b) => b.to_string(),
            None => return Err(a.err(pos, format!("%t needs a bool, got {}", describe(arg)))),
        },
        'd' => {
            let n = integer()?;
            format!("{}{}", sign(n < 0), n.unsigned_abs())
        }
        'b' | 'o' | 'x' | 'X' => {
            let n = integer()?;
            let abs = n.unsigned_abs();
            let digits = match verb {
                'b' => format!("{abs:b}"),
                'o' => format!("{abs:o}"),
                'x' => format!("{abs:x}"),
                _ => format!("{abs:X}"),
            };
            let prefix = match (d.sharp, verb) {
                (true, 'b') => "0b",
                (true, 'o') => "0",
                (true, 'x') => "0x",
                (true, _) => "0X",
                _ => "",
            };
            format!("{}{prefix}{digits}", sign(n < 0))
        }
        'f' | 'F' => {
            let n = number()?;
            format!("{}{:.*}", sign(n < 0.0), d.precision.unwrap_or(6), n.abs())
        }
        'e' | 'E' => {
            let n = number()?;
            let s = exponent_form(n.abs(), d.precision.unwrap_or(6));
            let s = if verb == 'E' { s.to_uppercase() } else { s };
            format!("{}{s}", sign(n < 0.0))
        }
        'g' | 'G' => {
            let n = number()?;
            let s = general_form(n.abs(), d.precision);
            let s = if verb == 'G' { s.to_uppercase() } else { s };
            format!("{}{s}", sign(n < 0.0))
        }
        other => return Err(a.err(0, format!("unsupported format verb %{other}"))),
    };
    Ok(text)
}

/// `1.500000e+03`, as Go and C write it.
fn exponent_form(n: f64, precision: usize) -> String {
    let s = format!("{n:.precision$e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (exp_sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{exp_sign}{digits:0>2}")
        }
        None => s,
    }
}

/// `%g`: the shortest form; exponent form for very large or small numbers.
fn general_form(n: f64, precision: Option<usize>) -> String {
    if n == 0.0 {
        return "0".into();
    }
    let exp = n.abs().log10().floor() as i32;
    match precision {
        None if (-4..21).contains(&exp) => format!("{n}"),
        None => {
            let s = format!("{n:e}");
            match s.split_once('e') {
                Some((m, e)) => {
                    let (sign, digits) = e.strip_prefix('-').map(|d| ('-', d)).unwrap_or(('+', e));
                    format!("{m}e{sign}{digits:0>2}")
                }
                None => s,
            }
        }
        Some(p) => {
            let p = p.max(1);
            if exp < -4 || exp >= p as i32 {
                let s = exponent_form(n, p - 1);
                trim_fraction_zeros_exp(&s)
            } else {
                let decimals = (p as i32 - 1 - exp).max(0) as usize;
                let s = format!("{n:.decimals$}");
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            }
        }
    }
}

fn trim_fraction_zeros_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
        _ => s.to_string(),
    }
}

fn pad(out: &mut String, text: &str, d: &Directive, verb: char) {
    // Widths count characters as Terraform does: grapheme clusters.
    let len = text.graphemes(true).count();
    let width = d.width.unwrap_or(0);
    if len >= width {
        out.push_str(text);
        return;
    }
    let fill = width - len;
    if d.minus {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if d.zero && "dbBoxXeEfFgG".contains(verb) {
        // zeros go between the sign and the digits
        let (sign, digits) = match text.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), &text[1..]),
            _ => (String::new(), text),
        };
        out.push_str(&sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

pub(super) fn join(_: &FunctionContext, a: &Args) -> Result {
    let sep = a.string(0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for (j, v) in a.list(i)?.iter().enumerate() {
            let s = value_to_string(v)
                .ok_or_else(|| a.err(i, format!("element {j} must be a string, got {}", describe(v))))?;
            parts.push(s);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

pub(super) fn split(_: &FunctionContext, a: &Args) -> Result {
    let sep = a.string(0)?;
    let s = a.string(1)?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str()).map(|p| Value::String(p.to_string())).collect()
    };
    Ok(Value::List(parts))
}

fn compile(a: &Args, i: usize, pattern: &str) -> std::result::Result<regex::Regex, FunctionError> {
    regex::Regex::new(pattern).map_err(|e| a.err(i, format!("invalid regular expression: {e}")))
}

pub(super) fn replace(_: &FunctionContext, a: &Args) -> Result {
    let s = a.string(0)?;
    let search = a.string(1)?;
    let replacement = a.string(2)?;
    if let Some(pattern) = search.strip_prefix('/').and_then(|p| p.strip_suffix('/')).filter(|_| search.len() > 1) {
        let re = compile(a, 1, pattern)?;
        return Ok(Value::String(re.replace_all(&s, replacement.as_str()).into_owned()));
    }
    if search.is_empty() {
        return Err(a.err(1, "the search string must not be empty"));
    }
    Ok(Value::String(s.replace(&search, &replacement)))
}

/// What one match gives: the match itself, a list of the groups, or a map of named groups.
fn captures_value(a: &Args, re: &regex::Regex, caps: &regex::Captures) -> Result {
    let named: Vec<&str> = re.capture_names().flatten().collect();
    let groups = re.captures_len() - 1;
    let text = |m: Option<regex::Match>| m.map(|m| Value::String(m.as_str().to_string())).unwrap_or(Value::Null);
    if groups == 0 {
        return Ok(text(caps.get(0)));
    }
    if named.is_empty() {
        return Ok(Value::List((1..=groups).map(|i| text(caps.get(i))).collect()));
    }
    if named.len() != groups {
        return Err(a.err(0, "the pattern mixes named and unnamed groups; name them all or none"));
    }
    let map: IndexMap<String, Value> = named.iter().map(|n| (n.to_string(), text(caps.name(n)))).collect();
    Ok(Value::Map(map))
}

pub(super) fn regex(_: &FunctionContext, a: &Args) -> Result {
    let re = compile(a, 0, &a.string(0)?)?;
    let s = a.string(1)?;
    match re.captures(&s) {
        Some(caps) => captures_value(a, &re, &caps),
        None => Err(a.err(1, "the pattern does not match the string")),
    }
}

pub(super) fn regexall(_: &FunctionContext, a: &Args) -> Result {
    let re = compile(a, 0, &a.string(0)?)?;
    let s = a.string(1)?;
    let all = re.captures_iter(&s).map(|caps| captures_value(a, &re, &caps)).collect::<std::result::Result<_, _>>()?;
    Ok(Value::List(all))
}

pub(super) fn lower(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(a.string(0)?.to_lowercase()))
}

pub(super) fn upper(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(a.string(0)?.to_uppercase()))
}

pub(super) fn title(_: &FunctionContext, a: &Args) -> Result {
    let mut out = String::new();
    let mut at_word_start = true;
    for c in a.string(0)?.chars() {
        if at_word_start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    Ok(Value::String(out))
}

pub(super) fn trim(_: &FunctionContext, a: &Args) -> Result {
    let s = a.string(0)?;
    let cutset: Vec<char> = a.string(1)?.chars().collect();
    Ok(Value::String(s.trim_matches(|c| cutset.contains(&c)).to_string()))
}

pub(super) fn trimspace(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(a.string(0)?.trim().to_string()))
}

pub(super) fn trimprefix(_: &FunctionContext, a: &Args) -> Result {
    let s = a.string(0)?;
    let prefix = a.string(1)?;
    Ok(Value::String(s.strip_prefix(prefix.as_str()).unwrap_or(&s).to_string()))
}

pub(super) fn trimsuffix(_: &FunctionContext, a: &Args) -> Result {
    let s = a.string(0)?;
    let suffix = a.string(1)?;
    Ok(Value::String(s.strip_suffix(suffix.as_str()).unwrap_or(&s).to_string()))
}

/// Offset and length count characters as Terraform does: grapheme clusters, so an emoji
/// with a variation selector is one character.
pub(super) fn substr(_: &FunctionContext, a: &Args) -> Result {
    let text = a.string(0)?;
    let chars: Vec<&str> = text.graphemes(true).collect();
    let offset = a.int(1)?;
    let length = a.int(2)?;
    let total = chars.len() as i64;
    let start = if offset < 0 { total + offset } else { offset };
    if start < 0 || start > total {
        return Err(a.err(1, format!("offset {offset} is outside the string (length {total})")));
    }
    if length < -1 {
        return Err(a.err(2, format!("length must be -1 (to the end) or more, got {length}")));
    }
    let end = if length == -1 { total } else { (start + length).min(total) };
    Ok(Value::String(chars[start as usize..end as usize].concat()))
}

/// A template kept in a string (Terraform 1.9, OpenTofu 1.7), rendered with the variables of
/// `vars` as `templatefile` renders a file.
pub(super) fn templatestring(ctx: &FunctionContext, a: &Args) -> Result {
    let text = a.string(0)?;
    let vars = a.map(1)?;
    (ctx.render_template)(&text, vars).map_err(|e| a.err(0, format!("in the template: {e}")))
}

pub(super) fn startswith(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Bool(a.string(0)?.starts_with(a.string(1)?.as_str())))
}

pub(super) fn endswith(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Bool(a.string(0)?.ends_with(a.string(1)?.as_str())))
}

pub(super) fn strrev(_: &FunctionContext, a: &Args) -> Result {
    // Grapheme clusters reversed, so combining marks stay on their letter.
    Ok(Value::String(a.string(0)?.graphemes(true).rev().collect()))
}

pub(super) fn strcontains(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::Bool(a.string(0)?.contains(a.string(1)?.as_str())))
}

pub(super) fn chomp(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(a.string(0)?.trim_end_matches(['\r', '\n']).to_string()))
}

pub(super) fn indent(_: &FunctionContext, a: &Args) -> Result {
    let spaces = a.int(0)?;
    if !(0..=1024).contains(&spaces) {
        return Err(a.err(0, format!("spaces must be between 0 and 1024, got {spaces}")));
    }
    let pad = format!("\n{}", " ".repeat(spaces as usize));
    Ok(Value::String(a.string(1)?.replace('\n', &pad)))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::config::Value;

    fn fmt(spec: &str, args: Vec<Value>) -> String {
        let mut all = vec![s(spec)];
        all.extend(args);
        match ok("format", all) {
            Value::String(s) => s,
            other => panic!("format gave {other:?}"),
        }
    }

    #[test]
    fn format_verbs() {
        assert_eq!(fmt("web-%d", vec![n(3.0)]), "web-3");
        assert_eq!(fmt("%03d|%-4s|%4s|", vec![n(7.0), s("ab"), s("ab")]), "007|ab  |  ab|");
        assert_eq!(fmt("%.2f %f", vec![n(1.23456), n(1.0)]), "1.23 1.000000");
        assert_eq!(fmt("%q %t %v", vec![s("a\"b"), Value::Bool(true), list(vec![n(1.0)])]), "\"a\\\"b\" true [1]");
        assert_eq!(fmt("%x %X %o %b %#x", vec![n(255.0), n(255.0), n(8.0), n(5.0), n(255.0)]), "ff FF 10 101 0xff");
        assert_eq!(fmt("%e", vec![n(1500.0)]), "1.500000e+03");
        assert_eq!(fmt("%g %g", vec![n(0.5), n(1e21)]), "0.5 1e+21");
        assert_eq!(fmt("%+d %5.1f%%", vec![n(5.0), n(-2.25)]), "+5  -2.2%");
        assert_eq!(fmt("%[2]s-%[1]s", vec![s("a"), s("b")]), "b-a");
        assert_eq!(fmt("%s", vec![n(42.0)]), "42");
        assert_eq!(fmt("%v", vec![Value::Null]), "null");
    }

    #[test]
    fn format_errors() {
        assert!(err("format", vec![s("%d")]).message.contains("not enough arguments"));
        assert!(err("format", vec![s("%d"), s("x")]).message.contains("needs a number"));
        assert!(err("format", vec![s("%d"), n(1.5)]).message.contains("whole number"));
        assert!(err("format", vec![s("%s"), s("a"), s("b")]).message.contains("too many arguments"));
        assert!(err("format", vec![s("%y"), s("a")]).message.contains("unsupported format verb %y"));
        assert!(err("format", vec![s("abc%")]).message.contains("middle"));
    }

    #[test]
    fn formatlist_iterates_lists() {
        let got = ok("formatlist", vec![s("%s-%d"), strs(&["a", "b"]), list(vec![n(1.0), n(2.0)])]);
        assert_eq!(got, strs(&["a-1", "b-2"]));
        let got = ok("formatlist", vec![s("%s=%s"), strs(&["a", "b"]), s("x")]);
        assert_eq!(got, strs(&["a=x", "b=x"]));
        assert_eq!(ok("formatlist", vec![s("%s"), s("x")]), strs(&["x"]));
        assert!(err("formatlist", vec![s("%s%s"), strs(&["a"]), strs(&["a", "b"])]).message.contains("same length"));
    }

    #[test]
    fn join_and_split() {
        assert_eq!(ok("join", vec![s(", "), strs(&["a", "b"]), strs(&["c"])]), s("a, b, c"));
        assert_eq!(ok("join", vec![s(","), list(vec![])]), s(""));
        assert_eq!(err("join", vec![s(","), list(vec![list(vec![])])]).arg, Some(1));
        assert_eq!(ok("split", vec![s(","), s("a,b,,c")]), strs(&["a", "b", "", "c"]));
        assert_eq!(ok("split", vec![s(","), s("")]), strs(&[""]));
        assert_eq!(ok("split", vec![s(""), s("ab")]), strs(&["a", "b"]));
    }

    #[test]
    fn replace_plain_and_regex() {
        assert_eq!(ok("replace", vec![s("a-b-c"), s("-"), s("_")]), s("a_b_c"));
        assert_eq!(ok("replace", vec![s("web01"), s("/([a-z]+)(\\d+)/"), s("$2-$1")]), s("01-web"));
        assert_eq!(ok("replace", vec![s("a/b"), s("/"), s("-")]), s("a-b"));
        assert!(err("replace", vec![s("a"), s("/(/"), s("")]).message.contains("invalid regular expression"));
        assert!(err("replace", vec![s("a"), s(""), s("x")]).message.contains("empty"));
    }

    #[test]
    fn regex_shapes() {
        assert_eq!(ok("regex", vec![s("[0-9]+"), s("vm123x")]), s("123"));
        assert_eq!(ok("regex", vec![s("(\\w+)-(\\d+)"), s("web-7")]), strs(&["web", "7"]));
        assert_eq!(
            ok("regex", vec![s("(?P<name>\\w+)-(?P<n>\\d+)"), s("web-7")]),
            map(vec![("name", s("web")), ("n", s("7"))])
        );
        assert!(err("regex", vec![s("z"), s("abc")]).message.contains("does not match"));
        assert_eq!(ok("regexall", vec![s("[0-9]"), s("a1b2")]), strs(&["1", "2"]));
        assert_eq!(ok("regexall", vec![s("z"), s("abc")]), list(vec![]));
    }

    #[test]
    fn case_and_trimming() {
        assert_eq!(ok("lower", vec![s("ÀB")]), s("àb"));
        assert_eq!(ok("upper", vec![s("ab")]), s("AB"));
        assert_eq!(ok("title", vec![s("hello world-wide web_x")]), s("Hello World-Wide Web_x"));
        assert_eq!(ok("trim", vec![s("?!hello?!"), s("!?")]), s("hello"));
        assert_eq!(ok("trimspace", vec![s("  a b\n")]), s("a b"));
        assert_eq!(ok("trimprefix", vec![s("vm-web"), s("vm-")]), s("web"));
        assert_eq!(ok("trimprefix", vec![s("web"), s("vm-")]), s("web"));
        assert_eq!(ok("trimsuffix", vec![s("a.pmx"), s(".pmx")]), s("a"));
        assert_eq!(err("lower", vec![map(vec![])]).arg, Some(0));
    }

    #[test]
    fn substr_offsets() {
        assert_eq!(ok("substr", vec![s("hello world"), n(1.0), n(4.0)]), s("ello"));
        assert_eq!(ok("substr", vec![s("hello"), n(-3.0), n(-1.0)]), s("llo"));
        assert_eq!(ok("substr", vec![s("hello"), n(2.0), n(100.0)]), s("llo"));
        assert_eq!(ok("substr", vec![s("héllo"), n(1.0), n(1.0)]), s("é"));
        assert!(err("substr", vec![s("hi"), n(5.0), n(1.0)]).message.contains("outside"));
        assert_eq!(err("substr", vec![s("hi"), n(0.0), n(-2.0)]).arg, Some(2));
    }

    #[test]
    fn prefixes_suffixes_reverse() {
        assert_eq!(ok("startswith", vec![s("pve1"), s("pve")]), Value::Bool(true));
        assert_eq!(ok("endswith", vec![s("pve1"), s("pve")]), Value::Bool(false));
        assert_eq!(ok("strrev", vec![s("abc")]), s("cba"));
        assert_eq!(ok("strrev", vec![s("")]), s(""));
        assert_eq!(ok("strcontains", vec![s("pve-node1"), s("node")]), Value::Bool(true));
        assert_eq!(ok("strcontains", vec![s("pve"), s("x")]), Value::Bool(false));
    }

    #[test]
    fn chomp_and_indent() {
        assert_eq!(ok("chomp", vec![s("a\n\r\n\n")]), s("a"));
        assert_eq!(ok("chomp", vec![s("a\nb")]), s("a\nb"));
        assert_eq!(ok("indent", vec![n(2.0), s("a:\n  b: 1\n")]), s("a:\n    b: 1\n  "));
        assert_eq!(err("indent", vec![n(-1.0), s("a")]).arg, Some(0));
    }
}
