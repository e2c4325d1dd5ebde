//! The standard function library (length, lookup, merge, format, cidrsubnet, ...), with
//! Terraform's names and semantics.
//!
//! [`call`] is the only entry point the evaluator needs. It checks the arity, then deals with the
//! two special values so that the functions themselves rarely have to:
//! - unknown: an unknown argument makes the result unknown. "Pass-through" functions (those that
//!   move elements around without looking at them, like `concat` or `lookup`) only give up when
//!   a whole argument is unknown, so `length([vm.a.vmid])` is still 1.
//! - sensitive: marks are removed before the call and put back on the result. Pass-through
//!   functions keep the marks of the elements they move, so `merge(var.tags, {pw = var.pw})`
//!   marks only `pw`.
//!
//! `try` and `can` are listed in [`names`] but evaluated by the evaluator, which must catch the
//! errors of their argument expressions; calling them here is an error.

mod collections;
mod conversion;
mod encoding;
mod filesystem;
mod network;
mod numbers;
mod sets;
mod strings;
mod time;
mod yaml_decode;

use std::path::Path;

use indexmap::IndexMap;

use super::Value;

/// What a function may need from its surroundings.
pub struct FunctionContext<'a> {
    /// The folder relative paths (`file("keys/a.pub")`) are resolved against.
    pub base_dir: &'a Path,
    /// Renders a template file's text with the given variables (for templatefile);
    /// provided by the evaluator.
    pub render_template: &'a RenderTemplate<'a>,
}

/// The evaluator's template renderer: template text and variables in, rendered value out.
pub type RenderTemplate<'a> = dyn Fn(&str, &IndexMap<String, Value>) -> Result<Value, String> + 'a;

/// Why a call failed. The message names the function and what it expected.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    pub message: String,
    /// The offending argument (0-based), when one argument is to blame.
    pub arg: Option<usize>,
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FunctionError {}

type Impl = fn(&FunctionContext, &Args) -> Result<Value, FunctionError>;

/// How a function is called, and what it does (the docs list these).
pub struct FunctionSpec {
    pub name: &'static str,
    /// How users call it, e.g. `lookup(map, key, default?)`.
    pub signature: &'static str,
    /// One line for the docs.
    pub summary: &'static str,
    min_args: usize,
    /// `None`: any number of further arguments.
    max_args: Option<usize>,
    /// Moves elements without inspecting them: inner unknowns and marks are kept, not spread.
    pass_through: bool,
    /// Evaluated by the evaluator (`try`, `can`), never through [`call`].
    evaluator_handled: bool,
    /// Works on the marks themselves (`sensitive`, `nonsensitive`): gets the arguments as they
    /// are and its result is not re-marked.
    handles_marks: bool,
    run: Impl,
}

const fn spec(
    name: &'static str,
    signature: &'static str,
    summary: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    run: Impl,
) -> FunctionSpec {
    FunctionSpec {
        name,
        signature,
        summary,
        min_args,
        max_args,
        pass_through: false,
        evaluator_handled: false,
        handles_marks: false,
        run,
    }
}

const fn pass_through(mut s: FunctionSpec) -> FunctionSpec {
    s.pass_through = true;
    s
}

const fn evaluator_handled(mut s: FunctionSpec) -> FunctionSpec {
    s.evaluator_handled = true;
    s
}

const fn handles_marks(mut s: FunctionSpec) -> FunctionSpec {
    s.handles_marks = true;
    s
}

fn not_here(_: &FunctionContext, args: &Args) -> Result<Value, FunctionError> {
    Err(FunctionError {
        message: format!("{}() is evaluated by the configuration evaluator and cannot be called directly", args.name),
        arg: None,
    })
}

/// Every function, in the order the docs list them.
pub fn specs() -> &'static [FunctionSpec] {
    SPECS
}

/// The names of every function (for "did you mean" and the docs check).
pub fn names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| SPECS.iter().map(|s| s.name).collect())
}

/// Calls the function `name` with already evaluated arguments.
pub fn call(ctx: &FunctionContext, name: &str, args: Vec<Value>) -> Result<Value, FunctionError> {
    let Some(spec) = SPECS.iter().find(|s| s.name == name) else {
        return Err(unknown_function(name));
    };
    check_arity(spec, args.len())?;
    if spec.evaluator_handled {
        return not_here(ctx, &Args { name: spec.name, values: args });
    }
    if spec.handles_marks {
        return (spec.run)(ctx, &Args { name: spec.name, values: args });
    }
    let mut secrets = Vec::new();
    for a in &args {
        collect_secrets(a, false, &mut secrets);
    }
    let mut sensitive = false;
    let values: Vec<Value> = if spec.pass_through {
        args.into_iter()
            .map(|a| {
                let (v, marked) = a.unmark();
                sensitive |= marked;
                v
            })
            .collect()
    } else {
        args.into_iter().map(|a| deep_unmark(a, &mut sensitive)).collect()
    };
    let unknown = if spec.pass_through {
        values.iter().any(|v| !v.is_known())
    } else {
        values.iter().any(|v| !v.is_wholly_known())
    };
    let result = if unknown {
        Value::Unknown
    } else {
        (spec.run)(ctx, &Args { name: spec.name, values }).map_err(|e| redact(e, &secrets))?
    };
    Ok(if sensitive { result.mark_sensitive() } else { result })
}

/// The texts of every sensitive value among the arguments, as an error message might quote them.
fn collect_secrets(v: &Value, inside: bool, out: &mut Vec<String>) {
    match v {
        Value::Sensitive(inner) => collect_secrets(inner, true, out),
        Value::List(items) => items.iter().for_each(|i| collect_secrets(i, inside, out)),
        Value::Map(m) => m.values().for_each(|i| collect_secrets(i, inside, out)),
        Value::String(s) if inside && !s.is_empty() => out.push(s.clone()),
        Value::Number(_) | Value::Bool(_) if inside => out.push(v.to_string()),
        _ => {}
    }
}

/// A function's error never quotes a sensitive argument (`tonumber(var.secret)` failing says
/// "(sensitive value) is not a number", not the secret).
fn redact(mut e: FunctionError, secrets: &[String]) -> FunctionError {
    // Longest first, so a secret that contains another is replaced whole.
    let mut secrets: Vec<&String> = secrets.iter().collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        let quoted = serde_json::Value::String(secret.clone()).to_string();
        e.message = e.message.replace(&quoted, "(sensitive value)").replace(secret.as_str(), "(sensitive value)");
    }
    e
}

fn unknown_function(name: &str) -> FunctionError {
    let hint = crate::config::suggest::did_you_mean(name, names().iter().copied())
        .map(|h| format!("; {h}"))
        .unwrap_or_default();
    FunctionError { message: format!("there is no function named {name}(){hint}"), arg: None }
}

fn check_arity(spec: &FunctionSpec, got: usize) -> Result<(), FunctionError> {
    let ok = got >= spec.min_args && spec.max_args.is_none_or(|max| got <= max);
    if ok {
        return Ok(());
    }
    let expected = match spec.max_args {
        Some(max) if max == spec.min_args => format!("{max} argument{}", if max == 1 { "" } else { "s" }),
        Some(max) => format!("{} to {max} arguments", spec.min_args),
        None => format!("at least {} argument{}", spec.min_args, if spec.min_args == 1 { "" } else { "s" }),
    };
    Err(FunctionError {
        message: format!("{}() takes {expected}, got {got}: {}", spec.name, spec.signature),
        arg: None,
    })
}

/// Removes every sensitive mark inside `v`, noting whether there was one.
fn deep_unmark(v: Value, sensitive: &mut bool) -> Value {
    match v {
        Value::Sensitive(inner) => {
            *sensitive = true;
            deep_unmark(*inner, sensitive)
        }
        Value::List(items) => Value::List(items.into_iter().map(|i| deep_unmark(i, sensitive)).collect()),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, deep_unmark(v, sensitive))).collect()),
        v => v,
    }
}

/// The arguments of one call, with typed accessors whose errors name the function and argument.
pub(crate) struct Args {
    name: &'static str,
    values: Vec<Value>,
}

impl Args {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn get(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }

    fn all(&self) -> &[Value] {
        &self.values
    }

    /// An error blamed on argument `i`.
    fn err(&self, i: usize, msg: impl std::fmt::Display) -> FunctionError {
        FunctionError { message: format!("{}(): {msg}", self.name), arg: Some(i) }
    }

    /// An error about the call as a whole.
    fn fail(&self, msg: impl std::fmt::Display) -> FunctionError {
        FunctionError { message: format!("{}(): {msg}", self.name), arg: None }
    }

    fn wrong_type(&self, i: usize, expected: &str) -> FunctionError {
        self.err(i, format!("argument {} must be {expected}, got {}", i + 1, describe(self.get(i))))
    }

    /// A string; numbers and bools convert, as in Terraform.
    fn string(&self, i: usize) -> Result<String, FunctionError> {
        value_to_string(self.get(i)).ok_or_else(|| self.wrong_type(i, "a string"))
    }

    /// A number; numeric strings convert.
    fn number(&self, i: usize) -> Result<f64, FunctionError> {
        value_to_number(self.get(i)).ok_or_else(|| self.wrong_type(i, "a number"))
    }

    /// A whole number.
    fn int(&self, i: usize) -> Result<i64, FunctionError> {
        let n = self.number(i)?;
        if n.fract() != 0.0 || !n.is_finite() || n.abs() > 9.007_199_254_740_992e15 {
            return Err(self.err(i, format!("argument {} must be a whole number, got {}", i + 1, fmt_number(n))));
        }
        Ok(n as i64)
    }

    fn list(&self, i: usize) -> Result<&[Value], FunctionError> {
        match self.get(i) {
            Value::List(items) => Ok(items),
            _ => Err(self.wrong_type(i, "a list")),
        }
    }

    fn map(&self, i: usize) -> Result<&IndexMap<String, Value>, FunctionError> {
        match self.get(i) {
            Value::Map(m) => Ok(m),
            _ => Err(self.wrong_type(i, "a map")),
        }
    }

    /// A list of strings (elements convert like [`Args::string`]).
    fn string_list(&self, i: usize) -> Result<Vec<String>, FunctionError> {
        self.list(i)?
            .iter()
            .enumerate()
            .map(|(j, v)| {
                value_to_string(v).ok_or_else(|| {
                    self.err(i, format!("element {j} of argument {} must be a string, got {}", i + 1, describe(v)))
                })
            })
            .collect()
    }
}

/// "a list", "null", "a string" — for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Unknown => "an unknown value".into(),
        Value::Map(_) => "a map".into(),
        Value::List(_) => "a list".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Bool(_) => "a bool".into(),
        Value::Sensitive(inner) => describe(inner),
    }
}

pub(crate) fn value_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(fmt_number(*n)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Sensitive(inner) => value_to_string(inner),
        _ => None,
    }
}

pub(crate) fn value_to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        Value::Sensitive(inner) => value_to_number(inner),
        _ => None,
    }
}

pub(crate) fn value_to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        Value::Sensitive(inner) => value_to_bool(inner),
        _ => None,
    }
}

/// Numbers as HCL shows them: `3`, not `3.0`; `0.1`, not `0.1000000000000000055`.
pub(crate) fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        format!("{}", n as i64)
    } else if n.is_finite() && n.fract() != 0.0 {
        // 15 significant digits, what a double holds exactly: binary noise such as 0.1 + 0.2 =
        // 0.30000000000000004 is gone, and the result reads 0.3 as in Terraform.
        let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
        format!("{rounded}")
    } else {
        format!("{n}")
    }
}

#[rustfmt::skip]
static SPECS: &[FunctionSpec] = &[
    // collections
    pass_through(spec("length", "length(value)", "Number of elements of a list or map, or characters (grapheme clusters, as Terraform counts them) of a string.", 1, Some(1), collections::length)),
    pass_through(spec("lookup", "lookup(map, key, default?)", "The value of `key` in `map`, else `default` (an error without one).", 2, Some(3), collections::lookup)),
    pass_through(spec("merge", "merge(maps...)", "One map with the keys of all the given maps; later ones win. Null arguments are skipped.", 0, None, collections::merge)),
    pass_through(spec("concat", "concat(lists...)", "The given lists joined into one.", 0, None, collections::concat)),
    spec("contains", "contains(list, value)", "Whether `list` holds `value`.", 2, Some(2), collections::contains),
    pass_through(spec("keys", "keys(map)", "The keys of a map, sorted.", 1, Some(1), collections::keys)),
    pass_through(spec("values", "values(map)", "The values of a map, in the order of its sorted keys.", 1, Some(1), collections::values)),
    pass_through(spec("element", "element(list, index)", "The element at `index`, wrapping around past either end (`-1` is the last).", 2, Some(2), collections::element)),
    spec("index", "index(list, value)", "The position of the first element equal to `value` (an error when absent).", 2, Some(2), collections::index),
    pass_through(spec("slice", "slice(list, start, end)", "The elements from `start` up to, not including, `end`.", 3, Some(3), collections::slice)),
    pass_through(spec("flatten", "flatten(list)", "Nested lists unpacked into one flat list.", 1, Some(1), collections::flatten)),
    spec("distinct", "distinct(list)", "The list without duplicates, first occurrence kept.", 1, Some(1), collections::distinct),
    pass_through(spec("reverse", "reverse(list)", "The list in reverse order.", 1, Some(1), collections::reverse)),
    spec("sort", "sort(list)", "A list of strings sorted lexicographically.", 1, Some(1), collections::sort),
    spec("coalesce", "coalesce(values...)", "The first argument that is neither null nor an empty string.", 1, None, collections::coalesce),
    pass_through(spec("coalescelist", "coalescelist(lists...)", "The first list that is not empty.", 1, None, collections::coalescelist)),
    spec("compact", "compact(list)", "A list of strings without the empty strings and nulls.", 1, Some(1), collections::compact),
    pass_through(spec("zipmap", "zipmap(keys, values)", "A map from a list of keys and a list of values of the same length.", 2, Some(2), collections::zipmap)),
    spec("range", "range(limit) | range(start, limit, step?)", "A list of numbers from `start` (0) up to, not including, `limit`.", 1, Some(3), collections::range),
    pass_through(spec("one", "one(list)", "The only element of a list of at most one element; null when empty.", 1, Some(1), collections::one)),
    spec("sum", "sum(list)", "The sum of a non-empty list of numbers.", 1, Some(1), collections::sum),
    spec("alltrue", "alltrue(list)", "Whether every element is true (true for an empty list).", 1, Some(1), collections::alltrue),
    spec("anytrue", "anytrue(list)", "Whether any element is true (false for an empty list).", 1, Some(1), collections::anytrue),
    spec("setunion", "setunion(sets...)", "Elements in any of the sets (a set: one type, no duplicates, sorted).", 1, None, collections::setunion),
    spec("setintersection", "setintersection(sets...)", "Elements in all of the sets.", 1, None, collections::setintersection),
    spec("setsubtract", "setsubtract(a, b)", "Elements of `a` that are not in `b`.", 2, Some(2), collections::setsubtract),
    spec("setproduct", "setproduct(sets...)", "Every combination of one element from each argument, as lists.", 2, None, collections::setproduct),
    spec("transpose", "transpose(map)", "A map of lists of strings inside out: each string lists the keys that held it.", 1, Some(1), collections::transpose),
    spec("matchkeys", "matchkeys(values, keys, searchset)", "The elements of `values` whose counterpart in `keys` is in `searchset`.", 3, Some(3), collections::matchkeys),
    pass_through(spec("chunklist", "chunklist(list, size)", "The list cut into lists of at most `size` elements.", 2, Some(2), collections::chunklist)),
    // strings
    spec("format", "format(spec, values...)", "A string formatted printf-style (`%s`, `%d`, `%05.2f`, `%q`, `%v`, `%%`...).", 1, None, strings::format),
    spec("formatlist", "formatlist(spec, values...)", "`format` applied element-wise across lists; other arguments repeat.", 1, None, strings::formatlist),
    spec("join", "join(separator, lists...)", "The strings of the lists joined with `separator`.", 2, None, strings::join),
    spec("split", "split(separator, string)", "The string cut at every `separator`.", 2, Some(2), strings::split),
    spec("replace", "replace(string, search, replacement)", "Every `search` replaced; `/.../` searches by regular expression (`$1` in the replacement).", 3, Some(3), strings::replace),
    spec("regex", "regex(pattern, string)", "The first match: a string, a list of captures or a map of named captures.", 2, Some(2), strings::regex),
    spec("regexall", "regexall(pattern, string)", "Every match, as for `regex`.", 2, Some(2), strings::regexall),
    spec("lower", "lower(string)", "The string in lower case.", 1, Some(1), strings::lower),
    spec("upper", "upper(string)", "The string in upper case.", 1, Some(1), strings::upper),
    spec("title", "title(string)", "The first letter of every word in upper case.", 1, Some(1), strings::title),
    spec("trim", "trim(string, characters)", "The string without any of `characters` at either end.", 2, Some(2), strings::trim),
    spec("trimspace", "trimspace(string)", "The string without white space at either end.", 1, Some(1), strings::trimspace),
    spec("trimprefix", "trimprefix(string, prefix)", "The string without `prefix`, when it starts with it.", 2, Some(2), strings::trimprefix),
    spec("trimsuffix", "trimsuffix(string, suffix)", "The string without `suffix`, when it ends with it.", 2, Some(2), strings::trimsuffix),
    spec("substr", "substr(string, offset, length)", "`length` characters from `offset` (negative: from the end; length -1: to the end).", 3, Some(3), strings::substr),
    spec("startswith", "startswith(string, prefix)", "Whether the string starts with `prefix`.", 2, Some(2), strings::startswith),
    spec("endswith", "endswith(string, suffix)", "Whether the string ends with `suffix`.", 2, Some(2), strings::endswith),
    spec("strrev", "strrev(string)", "The string's characters (grapheme clusters) in reverse order.", 1, Some(1), strings::strrev),
    spec("strcontains", "strcontains(string, substring)", "Whether the string contains `substring`.", 2, Some(2), strings::strcontains),
    spec("chomp", "chomp(string)", "The string without newline characters at its end.", 1, Some(1), strings::chomp),
    spec("indent", "indent(spaces, string)", "Every line but the first indented by `spaces` spaces (for YAML in templates).", 2, Some(2), strings::indent),
    spec("templatestring", "templatestring(template, vars)", "A template held in a string, rendered with the variables of the map `vars`.", 2, Some(2), strings::templatestring),
    // numbers
    spec("min", "min(numbers...)", "The smallest of the numbers.", 1, None, numbers::min),
    spec("max", "max(numbers...)", "The largest of the numbers.", 1, None, numbers::max),
    spec("abs", "abs(number)", "The absolute value.", 1, Some(1), numbers::abs),
    spec("ceil", "ceil(number)", "The closest whole number not below the number.", 1, Some(1), numbers::ceil),
    spec("floor", "floor(number)", "The closest whole number not above the number.", 1, Some(1), numbers::floor),
    spec("pow", "pow(base, exponent)", "`base` raised to `exponent`.", 2, Some(2), numbers::pow),
    spec("parseint", "parseint(string, base)", "The whole number written in `string` in `base` (2 to 62).", 2, Some(2), numbers::parseint),
    spec("signum", "signum(number)", "-1, 0 or 1: the sign of the number.", 1, Some(1), numbers::signum),
    spec("log", "log(number, base)", "The logarithm of the number in `base`.", 2, Some(2), numbers::log),
    // conversion
    spec("tostring", "tostring(value)", "A string, number or bool as a string.", 1, Some(1), conversion::tostring),
    spec("tonumber", "tonumber(value)", "A number, or a string holding one, as a number.", 1, Some(1), conversion::tonumber),
    spec("tobool", "tobool(value)", "A bool, or the string \"true\" or \"false\", as a bool.", 1, Some(1), conversion::tobool),
    pass_through(spec("tolist", "tolist(value)", "A list or set as a list.", 1, Some(1), conversion::tolist)),
    spec("toset", "toset(value)", "A list as a set: elements of one type, duplicates removed, in Terraform's order (sorted).", 1, Some(1), conversion::toset),
    pass_through(spec("tomap", "tomap(value)", "A map or object as a map.", 1, Some(1), conversion::tomap)),
    handles_marks(spec("sensitive", "sensitive(value)", "The value, marked sensitive: never shown in plans, logs or errors.", 1, Some(1), conversion::sensitive)),
    handles_marks(spec("nonsensitive", "nonsensitive(value)", "The value with its sensitive marks removed (you vouch that it is safe to show).", 1, Some(1), conversion::nonsensitive)),
    handles_marks(spec("issensitive", "issensitive(value)", "Whether the value is marked sensitive.", 1, Some(1), conversion::issensitive)),
    // errors
    evaluator_handled(spec("try", "try(expressions...)", "The first argument expression that evaluates without an error.", 1, None, not_here)),
    evaluator_handled(spec("can", "can(expression)", "Whether the expression evaluates without an error.", 1, Some(1), not_here)),
    // encoding
    spec("jsonencode", "jsonencode(value)", "The value as a JSON string.", 1, Some(1), encoding::jsonencode),
    spec("jsondecode", "jsondecode(string)", "The value a JSON string holds.", 1, Some(1), encoding::jsondecode),
    spec("csvdecode", "csvdecode(string)", "CSV (RFC 4180) as a list of maps, keyed by the header row.", 1, Some(1), encoding::csvdecode),
    spec("base64encode", "base64encode(string)", "The string's UTF-8 bytes in Base64.", 1, Some(1), encoding::base64encode),
    spec("base64decode", "base64decode(string)", "The UTF-8 text that a Base64 string holds.", 1, Some(1), encoding::base64decode),
    spec("sha256", "sha256(string)", "The SHA-256 digest of the string, in hex.", 1, Some(1), encoding::sha256),
    spec("urlencode", "urlencode(string)", "The string escaped for a URL query (`a b/c` → `a+b%2Fc`).", 1, Some(1), encoding::urlencode),
    spec("base64sha256", "base64sha256(string)", "The SHA-256 digest of the string, in Base64.", 1, Some(1), encoding::base64sha256),
    spec("base64sha512", "base64sha512(string)", "The SHA-512 digest of the string, in Base64.", 1, Some(1), encoding::base64sha512),
    spec("urldecode", "urldecode(string)", "A URL query escape undone (`a+b%2Fc` → `a b/c`; OpenTofu).", 1, Some(1), encoding::urldecode),
    spec("md5", "md5(string)", "The MD5 digest of the string, in hex.", 1, Some(1), encoding::md5),
    spec("sha1", "sha1(string)", "The SHA-1 digest of the string, in hex.", 1, Some(1), encoding::sha1),
    spec("sha512", "sha512(string)", "The SHA-512 digest of the string, in hex.", 1, Some(1), encoding::sha512),
    spec("yamlencode", "yamlencode(value)", "The value as YAML (block style, strings quoted, multi-line strings as literal blocks).", 1, Some(1), encoding::yamlencode),
    spec("yamldecode", "yamldecode(string)", "The value a YAML string holds (one document; core tags only; aliases to earlier anchors).", 1, Some(1), yaml_decode::yamldecode),
    spec("timestamp", "timestamp()", "The current time (RFC 3339, UTC); known only after apply, so it never makes plans differ.", 0, Some(0), encoding::timestamp),
    spec("plantimestamp", "plantimestamp()", "The time the plan was made (RFC 3339, UTC), the same for every call in one run.", 0, Some(0), encoding::plantimestamp),
    spec("uuid", "uuid()", "A new random UUID; known only after apply, so it never makes plans differ.", 0, Some(0), encoding::uuid),
    spec("formatdate", "formatdate(spec, timestamp)", "An RFC 3339 timestamp in another format (`DD MMM YYYY hh:mm ZZZ`...).", 2, Some(2), time::formatdate),
    spec("timeadd", "timeadd(timestamp, duration)", "An RFC 3339 timestamp plus a duration (`1h30m`, `-10m`).", 2, Some(2), time::timeadd),
    spec("timecmp", "timecmp(a, b)", "-1, 0 or 1: whether timestamp `a` is before, at or after `b`.", 2, Some(2), time::timecmp),
    spec("uuidv5", "uuidv5(namespace, name)", "The name-based (v5) UUID of `name` in a namespace (`dns`, `url`, `oid`, `x500` or a UUID).", 2, Some(2), encoding::uuidv5),
    // filesystem
    spec("file", "file(path)", "The UTF-8 text of a file (relative to the configuration folder).", 1, Some(1), filesystem::file),
    spec("filebase64", "filebase64(path)", "The bytes of a file (of any kind) in Base64.", 1, Some(1), filesystem::filebase64),
    spec("filesha256", "filesha256(path)", "The SHA-256 digest of a file's bytes, in hex.", 1, Some(1), filesystem::filesha256),
    spec("filemd5", "filemd5(path)", "The MD5 digest of a file's bytes, in hex.", 1, Some(1), filesystem::filemd5),
    spec("filesha1", "filesha1(path)", "The SHA-1 digest of a file's bytes, in hex.", 1, Some(1), filesystem::filesha1),
    spec("filesha512", "filesha512(path)", "The SHA-512 digest of a file's bytes, in hex.", 1, Some(1), filesystem::filesha512),
    spec("filebase64sha256", "filebase64sha256(path)", "The SHA-256 digest of a file's bytes, in Base64.", 1, Some(1), filesystem::filebase64sha256),
    spec("filebase64sha512", "filebase64sha512(path)", "The SHA-512 digest of a file's bytes, in Base64.", 1, Some(1), filesystem::filebase64sha512),
    spec("fileexists", "fileexists(path)", "Whether a file exists at `path`.", 1, Some(1), filesystem::fileexists),
    spec("fileset", "fileset(path, pattern)", "The files under `path` matching a glob (`*`, `**`, `?`, `[abc]`, `{a,b}`), relative to it, sorted.", 2, Some(2), filesystem::fileset),
    spec("templatefile", "templatefile(path, vars)", "A template file rendered with the variables of the map `vars`.", 2, Some(2), filesystem::templatefile),
    spec("abspath", "abspath(path)", "The absolute form of a path (relative to the configuration folder).", 1, Some(1), filesystem::abspath),
    spec("basename", "basename(path)", "The last part of a path.", 1, Some(1), filesystem::basename),
    spec("dirname", "dirname(path)", "A path without its last part.", 1, Some(1), filesystem::dirname),
    // network
    spec("cidrhost", "cidrhost(prefix, hostnum)", "The address of host number `hostnum` in the prefix (negative: from the end).", 2, Some(2), network::cidrhost),
    spec("cidrnetmask", "cidrnetmask(prefix)", "The netmask of an IPv4 prefix, dotted (`255.255.255.0`).", 1, Some(1), network::cidrnetmask),
    spec("cidrsubnet", "cidrsubnet(prefix, newbits, netnum)", "Subnet number `netnum` of the prefix extended by `newbits` bits.", 3, Some(3), network::cidrsubnet),
    spec("cidrsubnets", "cidrsubnets(prefix, newbits...)", "Consecutive subnets of the prefix, one per `newbits`, each aligned to its size.", 1, None, network::cidrsubnets),
    spec("cidrcontains", "cidrcontains(prefix, address)", "Whether an address or a prefix lies within the prefix (OpenTofu).", 2, Some(2), network::cidrcontains),
];

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn ctx_in(dir: &Path) -> FunctionContext<'_> {
        FunctionContext { base_dir: dir, render_template: &render_stub }
    }

    /// Stands in for the evaluator: replaces `${name}` with the variable's string value.
    fn render_stub(text: &str, vars: &IndexMap<String, Value>) -> Result<Value, String> {
        let mut out = text.to_string();
        for (k, v) in vars {
            let s = value_to_string(v).ok_or_else(|| format!("variable {k} is not a string"))?;
            out = out.replace(&format!("${{{k}}}"), &s);
        }
        if out.contains("${") {
            return Err("template refers to an undefined variable".into());
        }
        Ok(Value::String(out))
    }

    /// Calls `name` in the current folder.
    pub fn run(name: &str, args: Vec<Value>) -> Result<Value, FunctionError> {
        call(&ctx_in(Path::new(".")), name, args)
    }

    pub fn ok(name: &str, args: Vec<Value>) -> Value {
        run(name, args).unwrap_or_else(|e| panic!("{name} failed: {e}"))
    }

    pub fn err(name: &str, args: Vec<Value>) -> FunctionError {
        match run(name, args) {
            Ok(v) => panic!("{name} should fail, gave {v:?}"),
            Err(e) => e,
        }
    }

    pub fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    pub fn n(v: f64) -> Value {
        Value::Number(v)
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    pub fn strs(items: &[&str]) -> Value {
        Value::List(items.iter().map(|i| s(i)).collect())
    }

    pub fn map(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn names_are_unique_and_match_specs() {
        let mut seen = std::collections::HashSet::new();
        for n in names() {
            assert!(seen.insert(*n), "duplicate function {n}");
        }
        assert_eq!(names().len(), specs().len());
        assert!(names().contains(&"try") && names().contains(&"can"));
    }

    #[test]
    fn unknown_function_suggests_a_name() {
        let e = err("lenght", vec![s("a")]);
        assert!(e.message.contains("did you mean \"length\"?"), "{}", e.message);
    }

    #[test]
    fn arity_is_checked() {
        let e = err("lookup", vec![map(vec![])]);
        assert!(e.message.contains("lookup() takes 2 to 3 arguments, got 1"), "{}", e.message);
        let e = err("upper", vec![]);
        assert!(e.message.contains("upper() takes 1 argument, got 0"), "{}", e.message);
    }

    #[test]
    fn unknown_arguments_make_unknown_results() {
        assert_eq!(ok("upper", vec![Value::Unknown]), Value::Unknown);
        assert_eq!(ok("join", vec![s(","), list(vec![s("a"), Value::Unknown])]), Value::Unknown);
        // pass-through functions still answer when only elements are unknown
        assert_eq!(ok("length", vec![list(vec![Value::Unknown, Value::Unknown])]), n(2.0));
        assert_eq!(
            ok("concat", vec![list(vec![Value::Unknown]), list(vec![n(1.0)])]),
            list(vec![Value::Unknown, n(1.0)])
        );
    }

    #[test]
    fn sensitive_arguments_mark_the_result() {
        let secret = s("hunter2").mark_sensitive();
        let v = ok("upper", vec![secret.clone()]);
        assert_eq!(v, s("HUNTER2").mark_sensitive());
        let v = ok("join", vec![s("-"), list(vec![s("a"), secret.clone()])]);
        assert!(matches!(v, Value::Sensitive(_)));
        // pass-through keeps the mark on the element only
        let v = ok("merge", vec![map(vec![("a", s("1"))]), map(vec![("pw", secret.clone())])]);
        assert_eq!(v, map(vec![("a", s("1")), ("pw", secret)]));
    }

    #[test]
    fn try_and_can_belong_to_the_evaluator() {
        let e = err("try", vec![n(1.0)]);
        assert!(e.message.contains("evaluator"), "{}", e.message);
    }

    #[test]
    fn errors_name_the_function_and_argument() {
        let e = err("upper", vec![list(vec![])]);
        assert_eq!(e.arg, Some(0));
        assert_eq!(e.message, "upper(): argument 1 must be a string, got a list");
    }

    #[test]
    fn errors_never_quote_sensitive_arguments() {
        let secret = || Value::String("hunter2".into()).mark_sensitive();
        for (name, args) in [
            ("tonumber", vec![secret()]),
            ("cidrhost", vec![secret(), Value::Number(1.0)]),
            ("lookup", vec![Value::Map(Default::default()), secret()]),
            ("cidrsubnet", vec![secret(), Value::Number(1.0), Value::Number(1.0)]),
        ] {
            let e = err(name, args);
            assert!(!e.message.contains("hunter2"), "{name}: {}", e.message);
            assert!(e.message.contains("(sensitive value)"), "{name}: {}", e.message);
        }
    }
}
