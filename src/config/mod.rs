//! The `.pmx` language: loading files (hcl-edit, keeping every span), decoding blocks,
//! validating against the schema, evaluating expressions (unknowns carried through),
//! variables, and `count`/`for_each` expansion. Problems are collected as diagnostics.
//!
//! # Public API (used by `graph`, `plan`, `apply`, `import`)
//!
//! ```no_run
//! use pmx::config::{load, VarInputs};
//! let (config, mut diags) = load(std::path::Path::new("."), &VarInputs::default());
//! if let Some(config) = config {
//!     match pmx::graph::build(&config) {
//!         Ok(graph) => { for inst in graph.instances.values() { println!("{}", inst.addr); } }
//!         Err(d) => diags.extend(d),
//!     }
//! }
//! ```
//!
//! - [`load`] reads every `*.pmx` file of a folder (in name order), parses it
//!   ([`syntax`]), decodes the blocks into a [`Module`] ([`decode`]), checks resource and data
//!   blocks against [`crate::schema::registry`] ([`check`]) and resolves variable values
//!   ([`vars`]). It returns `None` only when nothing could be decoded (a syntax error, no
//!   files); otherwise the config comes back with every diagnostic found so far, so later
//!   stages can add theirs (references, cycles, values) and the user sees everything at once.
//! - Expressions are evaluated by [`eval`] against an [`eval::Env`]; the graph builds the
//!   environment in dependency order.

pub mod check;
pub mod decode;
pub mod eval;
pub mod format;
pub mod functions;
pub mod model;
pub mod overlay;
pub mod suggest;
pub mod syntax;
pub mod types;
pub mod value;
pub mod vars;
pub mod version;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

pub use model::Module;
pub use value::Value;
pub use vars::{CliVar, VarInputs};

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// The blocks allowed at the top level of a `.pmx` file.
pub const TOP_LEVEL_BLOCKS: &[&str] =
    &["pmx", "provider", "variable", "locals", "output", "resource", "data", "import", "moved", "removed"];

/// Arguments every `resource` (and, except `lifecycle`, every `data`) block accepts besides
/// its schema's attributes.
pub const META_ARGUMENTS: &[&str] = &["count", "for_each", "depends_on", "provider", "lifecycle"];

/// The file extension of configuration files.
pub const FILE_EXTENSION: &str = "pmx";

/// A decoded configuration with its variable values.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The project folder (`path.module`; `file()` paths are relative to it).
    pub dir: PathBuf,
    pub files: Vec<Arc<SourceFile>>,
    pub module: Module,
    /// Every declared variable's value (sensitive ones marked). A variable whose value was
    /// missing or invalid is `Unknown` here, with a diagnostic, so later checks still run.
    pub variables: IndexMap<String, Value>,
    /// Variables left without a value because [`VarInputs::allow_missing`] was set; a count
    /// or for_each that depends on them is not checked.
    pub unset_variables: Vec<String>,
}

/// The `*.pmx` files of a folder, in name order.
pub fn config_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == FILE_EXTENSION))
        .collect();
    // Unsaved editor buffers (`pmx lsp`) count as files of their folder.
    for unsaved in overlay::files_in(dir) {
        if !files.contains(&unsaved) {
            files.push(unsaved);
        }
    }
    files.sort();
    Ok(files)
}

/// Only the `pmx { ... }` settings of the configuration in `dir` (where state lives), for commands
/// that must not evaluate the whole configuration to learn it. No configuration: the defaults.
pub fn settings(dir: &Path) -> Result<model::Settings, Diagnostics> {
    let Ok(paths) = config_files(dir) else { return Ok(model::Settings::default()) };
    let mut diags = Diagnostics::new();
    let mut parsed = Vec::new();
    for path in &paths {
        // Only a file that opens a `pmx` block is worth parsing: `pmx state list` in a project
        // of 10,000 blocks must not pay for parsing them all.
        let opens_pmx_block = std::fs::read_to_string(path).map_or(true, |text| {
            text.lines().any(|l| l.trim_start().strip_prefix("pmx").is_some_and(|r| r.trim_start().starts_with('{')))
        });
        if !opens_pmx_block {
            continue;
        }
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        match syntax::parse_file(path, &name) {
            Ok(mut p) => {
                let only_settings: hcl_edit::structure::Body = std::mem::take(&mut p.body)
                    .into_iter()
                    .filter(|s| s.as_block().is_some_and(|b| b.ident.as_str() == "pmx"))
                    .collect();
                p.body = only_settings;
                parsed.push(p);
            }
            Err(d) => diags.push(*d),
        }
    }
    let module = decode::decode(parsed, dir, &mut diags);
    if diags.has_errors() {
        Err(diags.sorted())
    } else {
        Ok(module.settings)
    }
}

/// Loads, decodes and checks the configuration in `dir`. See the module documentation.
pub fn load(dir: &Path, inputs: &VarInputs) -> (Option<LoadedConfig>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let paths = match config_files(dir) {
        Ok(p) => p,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("cannot read folder {}: {e}", dir.display())).with_code("pmx::config::io"),
            );
            return (None, diags);
        }
    };
    if paths.is_empty() {
        diags.push(
            Diagnostic::error(format!("no .pmx files in {}", dir.display()))
                .with_code("pmx::config::no_files")
                .with_help("run `pmx init` to start a project, or use -C DIR to point at one"),
        );
        return (None, diags);
    }
    // Parse and decode file by file: only one syntax tree is alive at a time.
    let mut files = Vec::with_capacity(paths.len());
    let mut syntax_errors = Diagnostics::new();
    let parsed = paths.iter().filter_map(|path| {
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        match syntax::parse_file(path, &name) {
            Ok(p) => {
                files.push(p.source.clone());
                Some(p)
            }
            Err(d) => {
                syntax_errors.push(*d);
                None
            }
        }
    });
    let module = decode::decode(parsed, dir, &mut diags);
    if let Some(required) = &module.settings.required_version {
        let running = env!("CARGO_PKG_VERSION");
        let problem = match version::satisfies(required, running) {
            Ok(true) => None,
            Ok(false) => Some(format!("this configuration requires pmx {required}; this is pmx {running}")),
            Err(e) => Some(format!("required_version: {e}")),
        };
        if let Some(message) = problem {
            let mut d = Diagnostic::error(message).with_code("pmx::config::required_version");
            if let Some(l) = &module.settings.location {
                d = d.at(&l.file, l.span.clone(), "required_version is set here");
            }
            diags.push(d);
        }
    }
    let registry = crate::schema::registry();
    for res in module.resources.values() {
        check::check_resource(registry, res, &mut diags);
    }
    if syntax_errors.has_errors() {
        // The files that parse are decoded and checked on their own, so their problems show
        // beside the syntax errors. References, variables and values are not: they would only
        // repeat the damage ("x is not declared") of the broken file.
        syntax_errors.extend(diags);
        return (None, syntax_errors.sorted());
    }
    let mut variables = vars::resolve(&module, dir, inputs, &mut diags);
    let unset_variables = variables
        .iter()
        .filter(|(k, v)| !v.is_known() && module.variables.get(*k).is_some_and(|d| d.default.is_none()))
        .map(|(k, _)| k.clone())
        .collect();
    for name in module.variables.keys() {
        if !variables.contains_key(name) {
            variables.insert(name.clone(), Value::Unknown);
        }
    }
    // Keep declaration order.
    let variables = module.variables.keys().filter_map(|k| variables.shift_remove(k).map(|v| (k.clone(), v))).collect();
    (Some(LoadedConfig { dir: dir.to_path_buf(), files, module, variables, unset_variables }), diags)
}
