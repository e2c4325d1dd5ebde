//! `pmx console`'s views of a value: HCL as `terraform console` prints it (strings quoted,
//! lists and objects one element a line, keys sorted), and one JSON document a line.

use crate::config::functions::fmt_number;
use crate::config::Value;

/// The value as `terraform console` shows it. Sensitive values are `(sensitive value)`,
/// unknown ones `(known after apply)`.
pub fn hcl(v: &Value) -> String {
    let mut out = String::new();
    write_hcl(&mut out, v, 0);
    out
}

fn write_hcl(out: &mut String, v: &Value, indent: usize) {
    let pad = "  ".repeat(indent + 1);
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&fmt_number(*n)),
        Value::String(s) => write_string(out, s, indent),
        Value::Unknown => out.push_str("(known after apply)"),
        Value::Sensitive(_) => out.push_str("(sensitive value)"),
        Value::List(items) if items.is_empty() => out.push_str("[]"),
        Value::List(items) => {
            out.push_str("[\n");
            for item in items {
                out.push_str(&pad);
                write_hcl(out, item, indent + 1);
                out.push_str(",\n");
            }
            out.push_str(&"  ".repeat(indent));
            out.push(']');
        }
        Value::Map(m) if m.is_empty() => out.push_str("{}"),
        Value::Map(m) => {
            // Terraform's maps and objects have no order of their own: keys print sorted.
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push_str("{\n");
            for (k, item) in entries {
                out.push_str(&pad);
                out.push_str(&quote(k));
                out.push_str(" = ");
                write_hcl(out, item, indent + 1);
                out.push('\n');
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
    }
}

/// A string with a newline inside prints as a heredoc, as Terraform's console does; others quoted.
fn write_string(out: &mut String, s: &str, indent: usize) {
    let multiline = s.contains('\n') && !s.trim_end_matches('\n').is_empty();
    if !multiline {
        out.push_str(&quote(s));
        return;
    }
    let mut marker = "EOT".to_string();
    while s.lines().any(|l| l.trim() == marker) {
        marker.push('_');
    }
    let body_pad = "  ".repeat(indent);
    out.push_str(if indent > 0 { "<<-" } else { "<<" });
    out.push_str(&marker);
    out.push('\n');
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        if !line.is_empty() {
            out.push_str(&body_pad);
            out.push_str(&"  ".repeat(usize::from(indent > 0)));
        }
        out.push_str(&line.replace("${", "$${").replace("%{", "%%{"));
        out.push('\n');
    }
    out.push_str(&body_pad);
    out.push_str(&marker);
}

/// A quoted HCL string: JSON's escapes, plus `${` and `%{` escaped so that it reads back as
/// the same text.
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string().replace("${", "$${").replace("%{", "%%{")
}

/// One line of `--format json`: `{"value": ..., "type": ..., "sensitive": ..., "known": ...}`.
/// Sensitive values (anywhere inside) are `"(sensitive value)"`, unknown ones `null` with
/// `known` false.
pub fn json(v: &Value) -> serde_json::Value {
    serde_json::json!({
        "value": v.to_redacted_json(),
        "type": v.type_name(),
        "sensitive": v.is_sensitive(),
        "known": v.is_wholly_known(),
    })
}

/// One line of `--format json` for an expression that failed.
pub fn json_error(d: &crate::diag::Diagnostic) -> serde_json::Value {
    serde_json::json!({ "error": d.to_json() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn nested_values_print_like_terraform_console() {
        let v = map(&[("b", Value::List(vec![Value::Number(1.0), Value::String("x".into())])), ("a", map(&[]))]);
        assert_eq!(hcl(&v), "{\n  \"a\" = {}\n  \"b\" = [\n    1,\n    \"x\",\n  ]\n}");
    }

    #[test]
    fn secrets_and_unknowns_say_so() {
        let v = Value::List(vec![Value::String("hunter2".into()).mark_sensitive(), Value::Unknown]);
        let shown = hcl(&v);
        assert_eq!(shown, "[\n  (sensitive value),\n  (known after apply),\n]");
        assert!(!json(&v).to_string().contains("hunter2"));
        assert_eq!(json(&v)["known"], false);
    }

    #[test]
    fn strings_are_quoted_and_escaped() {
        assert_eq!(hcl(&Value::String("a \"b\" ${c}".into())), r#""a \"b\" $${c}""#);
        assert_eq!(hcl(&Value::String("one\ntwo\n".into())), "<<EOT\none\ntwo\nEOT");
    }
}
