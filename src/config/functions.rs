//! The standard function library (length, lookup, merge, format, cidrsubnet, ...).
//!
//! (Stub with the agreed interface, so the evaluator compiles; engineer `lang` replaces this
//! file with the full library.)

use indexmap::IndexMap;

use super::Value;

/// What a function may need from its caller.
pub struct FunctionContext<'a> {
    pub base_dir: &'a std::path::Path,
    /// Renders a template file's text with the given variables (for templatefile);
    /// provided by the evaluator.
    pub render_template: &'a dyn Fn(&str, &IndexMap<String, Value>) -> Result<Value, String>,
}

/// Why a call failed; `arg` is the index of the offending argument.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    pub message: String,
    pub arg: Option<usize>,
}

const NAMES: &[&str] = &["file", "length"];

/// Every function name, for "did you mean" and the grammar.
pub fn names() -> &'static [&'static str] {
    NAMES
}

/// Calls a function. Unknown arguments give an unknown result; sensitive ones a sensitive one.
pub fn call(ctx: &FunctionContext, name: &str, args: Vec<Value>) -> Result<Value, FunctionError> {
    if args.iter().any(|a| !a.is_known()) {
        return Ok(Value::Unknown);
    }
    let sensitive = args.iter().any(Value::is_sensitive);
    let args: Vec<Value> = args.into_iter().map(|a| a.unmark().0).collect();
    let err = |message: String, arg: Option<usize>| FunctionError { message, arg };
    let result = match (name, args.as_slice()) {
        ("length", [Value::List(v)]) => Value::Number(v.len() as f64),
        ("length", [Value::Map(m)]) => Value::Number(m.len() as f64),
        ("length", [Value::String(s)]) => Value::Number(s.chars().count() as f64),
        ("length", [_]) => return Err(err("length needs a list, map or string".into(), Some(0))),
        ("file", [Value::String(p)]) => {
            let path = ctx.base_dir.join(p);
            match std::fs::read_to_string(&path) {
                Ok(text) => Value::String(text),
                Err(e) => return Err(err(format!("cannot read {p}: {e}"), Some(0))),
            }
        }
        ("file", [_]) => return Err(err("file needs a path string".into(), Some(0))),
        (n, _) if NAMES.contains(&n) => return Err(err(format!("wrong number of arguments to {n}"), None)),
        (n, _) => return Err(err(format!("unknown function {n}"), None)),
    };
    Ok(if sensitive { result.mark_sensitive() } else { result })
}
