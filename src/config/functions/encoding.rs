//! Encodings and digests.

use base64::Engine;
use sha2::Digest;

use super::{Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

/// RFC 4180 CSV: the first row names the columns, each further row becomes a map of strings.
pub(super) fn csvdecode(_: &FunctionContext, a: &Args) -> Result {
    let rows = csv_rows(&a.string(0)?).map_err(|e| a.err(0, e))?;
    let mut rows = rows.into_iter();
    let Some(header) = rows.next() else { return Ok(Value::List(Vec::new())) };
    let mut out = Vec::new();
    for (n, row) in rows.enumerate() {
        if row.len() != header.len() {
            return Err(a.err(0, format!("row {} has {} fields, the header has {}", n + 2, row.len(), header.len())));
        }
        out.push(Value::Map(header.iter().cloned().zip(row.into_iter().map(Value::String)).collect()));
    }
    Ok(Value::List(out))
}

/// The rows of CSV text: quoted fields may hold commas, newlines and doubled quotes; a final
/// newline ends the last row rather than starting an empty one.
fn csv_rows(text: &str) -> std::result::Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
            }
            '"' => return Err("a quote inside an unquoted field".into()),
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// The value with every map's keys in order: Terraform's objects and maps have no order of
/// their own, so encodings list keys sorted (`{"b"=1, "a"=2}` encodes as `{"a":2,"b":1}`).
fn keys_sorted(v: &Value) -> Value {
    match v {
        Value::Map(m) => {
            let mut entries: Vec<(String, Value)> = m.iter().map(|(k, v)| (k.clone(), keys_sorted(v))).collect();
            entries.sort_by(|x, y| x.0.cmp(&y.0));
            Value::Map(entries.into_iter().collect())
        }
        Value::List(items) => Value::List(items.iter().map(keys_sorted).collect()),
        Value::Sensitive(inner) => keys_sorted(inner).mark_sensitive(),
        other => other.clone(),
    }
}

/// Minified JSON; `<`, `>`, `&`, U+2028 and U+2029 are escaped as Terraform escapes them, so
/// the text is safe inside HTML and JavaScript.
pub(super) fn jsonencode(_: &FunctionContext, a: &Args) -> Result {
    let text = keys_sorted(a.get(0)).to_json().to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(Value::String(out))
}

pub(super) fn jsondecode(_: &FunctionContext, a: &Args) -> Result {
    let text = a.string(0)?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| a.err(0, format!("the string is not valid JSON: {e}")))?;
    Ok(Value::from_json(&json))
}

pub(super) fn base64encode(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(a.string(0)?)))
}

pub(super) fn base64decode(_: &FunctionContext, a: &Args) -> Result {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.string(0)?.trim())
        .map_err(|e| a.err(0, format!("the string is not valid Base64: {e}")))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| a.err(0, "the decoded bytes are not UTF-8 text"))
}

pub(super) fn sha256(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(hex::encode(sha2::Sha256::digest(a.string(0)?.as_bytes()))))
}

pub(super) fn base64sha256(_: &FunctionContext, a: &Args) -> Result {
    let digest = sha2::Sha256::digest(a.string(0)?.as_bytes());
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(digest)))
}

/// YAML in block style, as Terraform's `yamlencode` writes it: keys and strings double-quoted
/// (a JSON string is a valid YAML double-quoted scalar), multi-line strings as literal blocks so
/// that cloud-init snippets stay readable.
pub(super) fn yamlencode(_: &FunctionContext, a: &Args) -> Result {
    let mut out = String::new();
    yaml_node(&keys_sorted(a.get(0)), 0, &mut out);
    Ok(Value::String(out))
}

fn yaml_node(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Sensitive(inner) => yaml_node(inner, indent, out),
        Value::Map(m) if !m.is_empty() => {
            for (k, v) in m {
                out.push_str(&" ".repeat(indent));
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                yaml_value_after_key(v, indent, out);
            }
        }
        Value::List(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push('-');
                match yaml_plain(item) {
                    Some(inner @ (Value::Map(_) | Value::List(_))) => {
                        // The item's first line goes right after the dash.
                        let mut nested = String::new();
                        yaml_node(inner, indent + 2, &mut nested);
                        out.push(' ');
                        out.push_str(&nested[indent + 2..]);
                    }
                    _ => {
                        out.push(' ');
                        yaml_scalar(item, indent + 2, out);
                    }
                }
            }
        }
        scalar => yaml_scalar(scalar, indent + 2, out),
    }
}

/// A non-empty collection, seen through a sensitive mark.
fn yaml_plain(v: &Value) -> Option<&Value> {
    match v {
        Value::Sensitive(inner) => yaml_plain(inner),
        Value::Map(m) if !m.is_empty() => Some(v),
        Value::List(l) if !l.is_empty() => Some(v),
        _ => None,
    }
}

fn yaml_value_after_key(v: &Value, indent: usize, out: &mut String) {
    match yaml_plain(v) {
        Some(Value::Map(_)) => {
            out.push('\n');
            yaml_node(v, indent + 2, out);
        }
        // A list under a key may sit at the key's own indentation, as Terraform writes it.
        Some(_) => {
            out.push('\n');
            yaml_node(v, indent, out);
        }
        None => {
            out.push(' ');
            yaml_scalar(v, indent + 2, out);
        }
    }
}

/// One scalar (or empty collection) and its newline; `content_indent` is where the lines of a
/// literal block go.
fn yaml_scalar(v: &Value, content_indent: usize, out: &mut String) {
    match v {
        Value::Sensitive(inner) => yaml_scalar(inner, content_indent, out),
        Value::Null | Value::Unknown => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(_) => out.push_str(&v.to_json().to_string()),
        Value::Map(_) => out.push_str("{}"),
        Value::List(_) => out.push_str("[]"),
        Value::String(s) if literal_block_fits(s) => {
            let body = s.strip_suffix('\n');
            out.push_str(if body.is_some() { "|" } else { "|-" });
            for line in body.unwrap_or(s).split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    out.push_str(&" ".repeat(content_indent));
                    out.push_str(line);
                }
            }
        }
        Value::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
    }
    out.push('\n');
}

/// Whether a string reads back exactly from a literal block: several lines, no leading space on
/// the first, at most one trailing newline, no trailing spaces or control characters.
fn literal_block_fits(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && !s.split('\n').any(|l| l.ends_with([' ', '\t']))
        && !s.chars().any(|c| c.is_control() && c != '\n')
}

pub(super) fn md5(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(hex::encode(md5::Md5::digest(a.string(0)?.as_bytes()))))
}

pub(super) fn sha1(_: &FunctionContext, a: &Args) -> Result {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, a.string(0)?.as_bytes());
    Ok(Value::String(hex::encode(digest.as_ref())))
}

pub(super) fn sha512(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(hex::encode(sha2::Sha512::digest(a.string(0)?.as_bytes()))))
}

/// Go's `url.QueryEscape`, as Terraform uses: unreserved characters stay, spaces become `+`.
pub(super) fn urlencode(_: &FunctionContext, a: &Args) -> Result {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(&a.string(0)?, KEEP).to_string();
    Ok(Value::String(encoded.replace("%20", "+")))
}

pub(super) fn base64sha512(_: &FunctionContext, a: &Args) -> Result {
    let digest = sha2::Sha512::digest(a.string(0)?.as_bytes());
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(digest)))
}

/// The inverse of `urlencode` (OpenTofu's `urldecode`): `+` is a space, `%XX` a byte.
pub(super) fn urldecode(_: &FunctionContext, a: &Args) -> Result {
    let text = a.string(0)?.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&text).collect();
    String::from_utf8(bytes).map(Value::String).map_err(|_| a.err(0, "the decoded bytes are not UTF-8 text"))
}

/// A name-based (version 5) UUID: the same namespace and name always give the same UUID, so
/// unlike `uuid()` it is known at plan time. The RFC 4122 namespaces have names.
pub(super) fn uuidv5(_: &FunctionContext, a: &Args) -> Result {
    let namespace = a.string(0)?;
    let ns = match namespace.as_str() {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other)
            .map_err(|_| a.err(0, format!("namespace must be dns, url, oid, x500 or a UUID, got {other:?}")))?,
    };
    Ok(Value::String(uuid::Uuid::new_v5(&ns, a.string(1)?.as_bytes()).to_string()))
}

/// A fresh UUID on every evaluation would make every plan differ, so, as in Terraform's plans,
/// it is known only after apply.
pub(super) fn uuid(_: &FunctionContext, _: &Args) -> Result {
    Ok(Value::Unknown)
}

/// Terraform's `timestamp()`: the time of apply, so known only after apply, never a plan-time
/// value that would make every plan differ.
pub(super) fn timestamp(_: &FunctionContext, _: &Args) -> Result {
    Ok(Value::Unknown)
}

/// The time the plan is made, in RFC 3339 UTC: known, and the same for every call in one run.
pub(super) fn plantimestamp(_: &FunctionContext, _: &Args) -> Result {
    static AT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Ok(Value::String(at.clone()))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::config::Value;

    #[test]
    fn json_round_trip() {
        let v = map(vec![("a", list(vec![n(1.0), Value::Bool(true), Value::Null])), ("b", s("x"))]);
        let text = ok("jsonencode", vec![v.clone()]);
        assert_eq!(text, s(r#"{"a":[1,true,null],"b":"x"}"#));
        assert_eq!(ok("jsondecode", vec![text]), v);
        assert!(err("jsondecode", vec![s("{nope")]).message.contains("not valid JSON"));
        assert_eq!(ok("jsonencode", vec![map(vec![("k", Value::Unknown)])]), Value::Unknown);
    }

    #[test]
    fn base64() {
        assert_eq!(ok("base64encode", vec![s("hello")]), s("aGVsbG8="));
        assert_eq!(ok("base64decode", vec![s("aGVsbG8=")]), s("hello"));
        assert!(err("base64decode", vec![s("!!")]).message.contains("not valid Base64"));
        assert!(err("base64decode", vec![s("/w==")]).message.contains("not UTF-8"));
    }

    #[test]
    fn digests() {
        assert_eq!(
            ok("sha256", vec![s("hello")]),
            s("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(ok("base64sha256", vec![s("hello")]), s("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="));
        assert_eq!(err("sha256", vec![list(vec![])]).arg, Some(0));
    }

    #[test]
    fn more_digests() {
        assert_eq!(ok("md5", vec![s("hello")]), s("5d41402abc4b2a76b9719d911017c592"));
        assert_eq!(ok("sha1", vec![s("hello")]), s("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"));
        let sha512 = ok("sha512", vec![s("hello")]);
        assert!(matches!(&sha512, Value::String(h) if h.starts_with("9b71d224bd62f378") && h.len() == 128));
    }

    #[test]
    fn yaml_like_terraform() {
        let v = map(vec![
            ("name", s("web")),
            ("count", n(2.0)),
            ("tags", list(vec![s("a"), s("b")])),
            ("users", list(vec![map(vec![("name", s("deploy")), ("sudo", Value::Bool(true))])])),
            ("empty", list(vec![])),
            ("none", Value::Null),
            ("script", s("#!/bin/sh\necho \"hi\"\n")),
            ("nested", map(vec![("k", s("v: with colon"))])),
        ]);
        let yaml = ok("yamlencode", vec![v]);
        // Keys sorted, as Terraform's objects are.
        let expected = "\"count\": 2\n\"empty\": []\n\"name\": \"web\"\n\"nested\":\n  \"k\": \"v: with colon\"\n\"none\": null\n\"script\": |\n  #!/bin/sh\n  echo \"hi\"\n\"tags\":\n- \"a\"\n- \"b\"\n\"users\":\n- \"name\": \"deploy\"\n  \"sudo\": true\n";
        assert_eq!(yaml, s(expected));
        assert_eq!(ok("yamlencode", vec![s("plain")]), s("\"plain\"\n"));
        assert_eq!(ok("yamlencode", vec![list(vec![list(vec![n(1.0), n(2.0)])])]), s("- - 1\n  - 2\n"));
        assert_eq!(ok("yamlencode", vec![s("a\n b ")]), s("\"a\\n b \"\n"), "not representable as a block");
        assert_eq!(ok("yamlencode", vec![map(vec![("k", Value::Unknown)])]), Value::Unknown);
    }

    #[test]
    fn csv_errors_say_what_is_wrong() {
        assert!(err("csvdecode", vec![s("a,b\n1\n")]).message.contains("row 2 has 1 fields, the header has 2"));
        assert!(err("csvdecode", vec![s("a\n\"open\n")]).message.contains("not closed"));
        assert_eq!(ok("csvdecode", vec![s("a,b\r\n1,\r\n")]), list(vec![map(vec![("a", s("1")), ("b", s(""))])]));
        assert_eq!(ok("csvdecode", vec![s("")]), list(vec![]));
    }

    #[test]
    fn timestamps() {
        assert_eq!(ok("timestamp", vec![]), Value::Unknown);
        let Value::String(at) = ok("plantimestamp", vec![]) else { panic!("a string") };
        assert!(chrono::DateTime::parse_from_rfc3339(&at).is_ok(), "{at}");
        assert_eq!(ok("plantimestamp", vec![]), Value::String(at), "one time per run");
    }

    #[test]
    fn urlencode_like_go() {
        assert_eq!(ok("urlencode", vec![s("a b/c?d=é~")]), s("a+b%2Fc%3Fd%3D%C3%A9~"));
    }

    #[test]
    fn uuid_is_known_after_apply() {
        assert_eq!(ok("uuid", vec![]), Value::Unknown);
        assert!(err("uuid", vec![s("x")]).message.contains("takes 0 arguments"));
    }
}
