//! Variable values: defaults, `PMX_VAR_<name>`, `*.auto.pmxvars` files, `--var-file` and
//! `--var`, in Terraform's order of precedence (later wins), converted to each variable's type
//! and checked by its `validation` blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use super::eval::{eval, eval_in, Env};
use super::model::{Expr, Module, VariableBlock};
use super::suggest::did_you_mean;
use super::syntax::parse_file;
use super::types::{convert, TypeConstraint};
use super::Value;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// Where variable values come from, besides defaults.
#[derive(Debug, Clone, Default)]
pub struct VarInputs {
    /// `--var NAME=VALUE` and `--var-file FILE`, in command-line order: they win over the
    /// environment and auto files, and a later one wins over an earlier one. Relative file paths
    /// are relative to the configuration folder (like `terraform -chdir`, `-C DIR` changes
    /// folder first).
    pub cli: Vec<CliVar>,
    /// `PMX_VAR_<name>` values; `None` reads the process environment.
    pub env: Option<Vec<(String, String)>>,
    /// Like `terraform validate`: a variable without a value is unknown rather than an error.
    pub allow_missing: bool,
}

impl VarInputs {
    fn env_vars(&self) -> Vec<(String, String)> {
        match &self.env {
            Some(e) => e.clone(),
            None => std::env::vars().collect(),
        }
    }
}

/// One command-line variable input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliVar {
    /// `--var NAME=VALUE`
    Var(String),
    /// `--var-file FILE`
    File(PathBuf),
}

/// One value from one source.
enum RawValue {
    /// From a file: already a value, with where it was written.
    Value(Value, Option<Expr>),
    /// From the command line or the environment: text, interpreted by the variable's type.
    Text(String),
}

struct Input {
    raw: RawValue,
    source: String,
}

/// Resolves every declared variable to its value (sensitive ones marked).
pub fn resolve(module: &Module, dir: &Path, inputs: &VarInputs, diags: &mut Diagnostics) -> IndexMap<String, Value> {
    let mut given: IndexMap<String, Input> = IndexMap::new();
    // Lowest first: the environment, then auto files, then --var and --var-file in their order.
    for (k, v) in inputs.env_vars() {
        if let Some(name) = k.strip_prefix("PMX_VAR_") {
            if module.variables.contains_key(name) {
                given.insert(name.to_string(), Input { raw: RawValue::Text(v), source: format!("${k}") });
            }
        }
    }
    for file in auto_var_files(dir) {
        read_var_file(module, &file, dir, &mut given, diags, true);
    }
    for input in &inputs.cli {
        let arg = match input {
            CliVar::File(file) => {
                read_var_file(module, &dir.join(file), dir, &mut given, diags, false);
                continue;
            }
            CliVar::Var(arg) => arg,
        };
        let Some((name, text)) = arg.split_once('=') else {
            diags.push(
                Diagnostic::error(format!("--var {arg:?}: expected NAME=VALUE"))
                    .with_code("pmx::vars::syntax")
                    .with_help("for example --var web_count=3"),
            );
            continue;
        };
        let name = name.trim();
        if !module.variables.contains_key(name) {
            let mut d = Diagnostic::error(format!("--var {name}: no variable \"{name}\" is declared"))
                .with_code("pmx::vars::undeclared");
            if let Some(h) = did_you_mean(name, module.variables.keys().map(String::as_str)) {
                d = d.with_help(h);
            }
            diags.push(d);
            continue;
        }
        given.insert(name.to_string(), Input { raw: RawValue::Text(text.to_string()), source: "--var".into() });
    }

    let mut values = IndexMap::new();
    for (name, var) in &module.variables {
        let value = match given.shift_remove(name) {
            Some(input) => from_input(var, input, dir, diags),
            None => match &var.default {
                Some(default) => match eval(default, &Env::empty(dir)) {
                    Ok(v) => match convert(v, &var.ty) {
                        Ok(v) => Some(v),
                        Err(m) => {
                            diags.push(
                                Diagnostic::error(format!("invalid default for variable \"{name}\": {m}"))
                                    .with_code("pmx::vars::wrong_type")
                                    .at(&default.file, default.span(), format!("not a {}", var.ty)),
                            );
                            None
                        }
                    },
                    Err(d) => {
                        diags.push(*d);
                        None
                    }
                },
                None if inputs.allow_missing => {
                    values.insert(name.clone(), mark_if_sensitive(Value::Unknown, var.sensitive));
                    continue;
                }
                None => {
                    diags.push(
                        Diagnostic::error(format!("no value for required variable \"{name}\""))
                            .with_code("pmx::vars::missing")
                            .at(&var.location.file, var.location.span.clone(), "has no default")
                            .with_help(format!(
                                "set it with --var {name}=..., in a *.auto.pmxvars file, or in PMX_VAR_{name}"
                            )),
                    );
                    None
                }
            },
        };
        let Some(mut value) = value else { continue };
        if value == Value::Null && !var.nullable {
            diags.push(
                Diagnostic::error(format!("variable \"{name}\" must not be null")).with_code("pmx::vars::null").at(
                    &var.location.file,
                    var.location.span.clone(),
                    "nullable = false",
                ),
            );
            continue;
        }
        if var.sensitive {
            value = value.mark_sensitive();
        }
        values.insert(name.clone(), value);
    }
    validate(module, &values, dir, diags);
    values
}

fn mark_if_sensitive(v: Value, sensitive: bool) -> Value {
    if sensitive {
        v.mark_sensitive()
    } else {
        v
    }
}

fn from_input(var: &VariableBlock, input: Input, dir: &Path, diags: &mut Diagnostics) -> Option<Value> {
    let name = &var.name;
    let (value, expr) = match input.raw {
        RawValue::Value(v, e) => (v, e),
        RawValue::Text(text) => {
            let primitive = matches!(var.ty, TypeConstraint::String | TypeConstraint::Number | TypeConstraint::Bool);
            if primitive || (var.ty == TypeConstraint::Any && !looks_structured(&text)) {
                (Value::String(text), None)
            } else {
                let file = SourceFile::new(input.source.clone(), input.source.clone(), text.clone());
                match text.parse::<hcl_edit::expr::Expression>() {
                    Ok(expr) => match eval_in(&expr, &file, &Env::empty(dir)) {
                        Ok(v) => (v, None),
                        Err(_) => {
                            diags.push(invalid_input(name, &input.source, var, "not a literal value"));
                            return None;
                        }
                    },
                    Err(e) => {
                        diags.push(invalid_input(name, &input.source, var, e.message()));
                        return None;
                    }
                }
            }
        }
    };
    match convert(value, &var.ty) {
        Ok(v) => Some(v),
        Err(m) => {
            let m = if var.sensitive { format!("expected {}", var.ty) } else { m };
            let mut d = Diagnostic::error(format!("invalid value for variable \"{name}\" from {}: {m}", input.source))
                .with_code("pmx::vars::wrong_type");
            d = match expr {
                Some(e) => d.at(&e.file, e.span(), format!("not a {}", var.ty)),
                None => d.with_help(format!("variable \"{name}\" is declared with type {}", var.ty)),
            };
            diags.push(d);
            None
        }
    }
}

fn looks_structured(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('[') || t.starts_with('{')
}

fn invalid_input(name: &str, source: &str, var: &VariableBlock, why: &str) -> Diagnostic {
    let why = why.lines().next().unwrap_or(why);
    Diagnostic::error(format!("invalid value for variable \"{name}\" from {source}: {why}"))
        .with_code("pmx::vars::syntax")
        .with_help(format!(
            "{name} has type {}; give it as an HCL value, e.g. [\"a\", \"b\"] or {{ k = \"v\" }}",
            var.ty
        ))
}

/// `*.auto.pmxvars` and `*.auto.pmxvars.json` in the folder, in name order.
fn auto_var_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".auto.pmxvars") || n.ends_with(".auto.pmxvars.json"))
        })
        .collect();
    files.sort();
    // Like terraform.tfvars: pmx.pmxvars (and its JSON form) first, then the auto files.
    let defaults = ["pmx.pmxvars", "pmx.pmxvars.json"].into_iter().map(|n| dir.join(n)).filter(|p| p.is_file());
    defaults.chain(files).collect()
}

fn display_name(path: &Path, dir: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

fn read_var_file(
    module: &Module,
    path: &Path,
    dir: &Path,
    given: &mut IndexMap<String, Input>,
    diags: &mut Diagnostics,
    auto: bool,
) {
    let name = display_name(path, dir);
    let is_json = path.extension().is_some_and(|e| e == "json");
    let entries: Vec<VarFileEntry> = if is_json {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(format!("cannot read {name}: {e}")).with_code("pmx::vars::io"));
                return;
            }
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(o)) => {
                o.iter().map(|(k, v)| (k.clone(), Value::from_json(v), None, None, None)).collect()
            }
            Ok(_) => {
                diags.push(
                    Diagnostic::error(format!("{name}: a JSON variables file must hold an object"))
                        .with_code("pmx::vars::syntax"),
                );
                return;
            }
            Err(e) => {
                let file = SourceFile::new(path, name.clone(), text.clone());
                let offset = line_col_to_offset(&text, e.line(), e.column());
                let d = Diagnostic::error(format!("{name}: invalid JSON: {e}")).with_code("pmx::vars::syntax");
                // No snippet when a sensitive variable is declared: the lines around the error
                // may hold its value (the message still gives line and column).
                if module.variables.values().any(|v| v.sensitive) {
                    diags.push(d);
                } else {
                    diags.push(d.at(&file, offset..offset, "here"));
                }
                return;
            }
        }
    } else {
        let sensitive: Vec<&str> = module.variables.values().filter(|v| v.sensitive).map(|v| v.name.as_str()).collect();
        let parsed = match parse_file(path, &name) {
            Ok(p) => p,
            Err(mut d) => {
                // The snippet of a syntax error must not show a sensitive value either; without
                // a syntax tree, mask what looks like one (`NAME = ...` up to the next `NAME =`).
                if let Some(loc) = d.location.as_mut() {
                    let ranges = sensitive_value_lines(&loc.file.text, &sensitive);
                    loc.file = masked_copy(&loc.file, &ranges);
                }
                diags.push(*d);
                return;
            }
        };
        // Diagnostics show this copy, where the text of every sensitive variable's value is
        // masked: a snippet shows neighbouring lines, which may hold another secret.
        let ranges: Vec<std::ops::Range<usize>> = parsed
            .body
            .iter()
            .filter_map(|s| s.as_attribute())
            .filter(|a| sensitive.contains(&a.key.as_str()))
            .filter_map(|a| hcl_edit::Span::span(&a.value))
            .collect();
        let file = masked_copy(&parsed.source, &ranges);
        let mut out = Vec::new();
        for s in parsed.body.into_iter() {
            match s {
                hcl_edit::structure::Structure::Attribute(a) => {
                    let key = a.key.as_str().to_string();
                    let key_span = hcl_edit::Span::span(&a.key);
                    let expr = Expr::new(a.value, &file);
                    match eval(&expr, &Env::empty(dir)) {
                        Ok(v) => out.push((key, v, Some(expr), key_span, Some(file.clone()))),
                        Err(d) => diags.push(*d),
                    }
                }
                hcl_edit::structure::Structure::Block(b) => diags.push(
                    Diagnostic::error("a variables file holds only NAME = VALUE lines")
                        .with_code("pmx::vars::syntax")
                        .at(&file, hcl_edit::Span::span(&b.ident).unwrap_or(0..0), "a block is not allowed here"),
                ),
            }
        }
        out
    };
    for (key, value, expr, key_span, file) in entries {
        if !module.variables.contains_key(&key) {
            // Like Terraform: a value for an undeclared variable is a warning (files are often
            // shared between configurations), except on the command line.
            let mut d = Diagnostic::warning(format!("{name} sets \"{key}\", but no such variable is declared"))
                .with_code("pmx::vars::undeclared");
            if let (Some(f), Some(span)) = (&file, key_span) {
                d = d.at(f, span, "not declared");
            }
            if let Some(h) = did_you_mean(&key, module.variables.keys().map(String::as_str)) {
                d = d.with_help(h);
            }
            diags.push(d);
            continue;
        }
        let source = if auto { name.clone() } else { format!("--var-file {name}") };
        given.insert(key, Input { raw: RawValue::Value(value, expr), source });
    }
}

/// A copy of `file` for diagnostics, every byte in `ranges` (but line breaks) replaced by `*`:
/// byte offsets, lines and spans stay valid, the secret text is gone.
fn masked_copy(file: &Arc<SourceFile>, ranges: &[std::ops::Range<usize>]) -> Arc<SourceFile> {
    if ranges.is_empty() {
        return file.clone();
    }
    let mut bytes = file.text.clone().into_bytes();
    for r in ranges {
        for b in bytes.get_mut(r.start.min(r.end)..r.end.min(file.text.len())).into_iter().flatten() {
            if *b != b'\n' && *b != b'\r' {
                *b = b'*';
            }
        }
    }
    let text = String::from_utf8(bytes).unwrap_or_default();
    SourceFile::new(&file.path, file.name.clone(), text)
}

/// For a file that does not parse: the text after `NAME =` of each sensitive variable, through
/// its continuation lines (up to the next line that starts `IDENT =`).
fn sensitive_value_lines(text: &str, sensitive: &[&str]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut masking = false;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let ident_len = trimmed.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(trimmed.len());
        let after = trimmed[ident_len..].trim_start();
        if ident_len > 0 && after.starts_with('=') && !after.starts_with("==") {
            masking = sensitive.contains(&&trimmed[..ident_len]);
            if masking {
                let eq = start + (line.len() - trimmed.len()) + ident_len + (trimmed[ident_len..].len() - after.len());
                out.push(eq + 1..start + line.len());
            }
        } else if masking {
            out.push(start..start + line.len());
        }
        start += line.len();
    }
    out
}

/// One `NAME = VALUE` of a variables file: the value, its expression and the name's place.
type VarFileEntry = (String, Value, Option<Expr>, Option<std::ops::Range<usize>>, Option<Arc<SourceFile>>);

fn line_col_to_offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    (start + col.saturating_sub(1)).min(text.len())
}

/// Runs the `validation` blocks; a failed condition reports its error_message.
fn validate(module: &Module, values: &IndexMap<String, Value>, dir: &Path, diags: &mut Diagnostics) {
    let mut globals = IndexMap::new();
    globals.insert("var".to_string(), Value::Map(values.clone()));
    let env = Env { globals: &globals, count_index: None, each: None, base_dir: dir };
    for (name, var) in &module.variables {
        let Some(value) = values.get(name) else { continue };
        if !value.is_wholly_known() {
            continue;
        }
        for v in &var.validations {
            let ok = match eval(&v.condition, &env) {
                Ok(c) => c.unmark().0,
                Err(d) => {
                    diags.push(*d);
                    continue;
                }
            };
            match ok {
                Value::Bool(true) | Value::Unknown => {}
                Value::Bool(false) => {
                    let message = match eval(&v.error_message, &env) {
                        Ok(Value::String(s)) => s,
                        Ok(m) if m.is_sensitive() => "(the error message refers to a sensitive value)".to_string(),
                        Ok(m) => m.to_string(),
                        Err(d) => {
                            diags.push(*d);
                            continue;
                        }
                    };
                    diags.push(
                        Diagnostic::error(format!("invalid value for variable \"{name}\": {message}"))
                            .with_code("pmx::vars::validation")
                            .at(&v.condition.file, v.condition.span(), "this condition is false"),
                    );
                }
                other => diags.push(
                    Diagnostic::error(format!("a validation condition must be a bool, not a {}", other.type_name()))
                        .with_code("pmx::vars::validation")
                        .at(&v.condition.file, v.condition.span(), "not a bool"),
                ),
            }
        }
    }
}
