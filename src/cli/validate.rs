use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global, VarArgs};
use crate::diag::Diagnostics;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Loads, checks and evaluates the configuration; reports every problem at once.
pub fn run(args: ValidateArgs, g: &Global) -> CmdResult {
    let diags = check(&g.dir, &args.vars);
    if g.json {
        crate::render::print_json(&diags.to_json());
    } else {
        if !diags.is_empty() {
            eprint!("{}", diags.render(g.color_stderr));
        }
        if !diags.has_errors() && !g.quiet {
            println!("Success! The configuration is valid.");
        }
    }
    Ok(if diags.has_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Every diagnostic of loading and graphing the configuration in `dir`, sorted.
pub fn check(dir: &std::path::Path, vars: &VarArgs) -> Diagnostics {
    let (config, mut diags) =
        crate::config::load(dir, &crate::config::VarInputs { allow_missing: true, ..var_inputs(vars) });
    if let Some(config) = config {
        diags.extend(check_state_settings(&config));
        if !diags.has_errors() {
            match crate::graph::build(&config) {
                Ok(graph) => {
                    diags.extend(check_providers(&config, &graph));
                    diags.extend(graph.warnings);
                }
                Err(more) => diags.extend(more),
            }
        } else {
            // Everything the graph finds too (wrong values, references, cycles), so that one run
            // shows every problem; a place already reported is not reported twice.
            match crate::graph::build(&config) {
                Ok(graph) => diags.extend(check_providers(&config, &graph)),
                Err(more) => {
                    let seen: std::collections::HashSet<_> = diags.iter().map(place_of).collect();
                    diags.extend(Diagnostics(more.into_iter().filter(|d| !seen.contains(&place_of(d))).collect()));
                }
            }
        }
    }
    diags.sorted()
}

/// The `pmx { state { url } }` setting names a place pmx can keep state (SQLite or PostgreSQL).
fn check_state_settings(config: &crate::config::LoadedConfig) -> Diagnostics {
    let mut out = Diagnostics::new();
    let Some(state) = &config.module.settings.state else { return out };
    if let Some(url) = &state.url {
        if let Err(e) = crate::state::StateLocation::parse(url, &config.dir) {
            let mut d = crate::diag::Diagnostic::error(e.to_string()).with_code("pmx::config::state_url");
            if let Some(l) = &state.location {
                d = d.at(&l.file, l.span.clone(), "in this state block");
            }
            out.push(d.with_help("state urls look like .pmx/state.db, sqlite://PATH or postgres://USER@HOST/DB"));
        }
    }
    out
}

/// Warnings for provider settings whose values are known: the endpoint is a URL, `token_id` reads
/// `USER@REALM!TOKENID`, `fingerprint` is a SHA-256 fingerprint. Secrets are never quoted.
fn check_providers(config: &crate::config::LoadedConfig, graph: &crate::graph::ResourceGraph) -> Diagnostics {
    use crate::config::Value;
    let mut out = Diagnostics::new();
    for (key, provider) in &graph.providers {
        let Some(block) = config.module.providers.get(key) else { continue };
        for (name, value) in &provider.attributes {
            let Value::String(text) = value else { continue };
            let problem = match name.as_str() {
                "endpoint" => crate::proxmox::config::normalize_endpoint(text).err().map(config_message),
                "token_id" => crate::proxmox::token_id::TokenId::parse(text)
                    .is_err()
                    .then(|| format!("token_id {text:?} should read USER@REALM!TOKENID, e.g. root@pam!pmx")),
                "fingerprint" => crate::proxmox::config::Fingerprint::parse(text).err().map(config_message),
                _ => None,
            };
            let Some(message) = problem else { continue };
            // A warning: the value may be a placeholder, and connecting reports it anyway.
            let mut d = crate::diag::Diagnostic::warning(format!("provider {key}: {message}"))
                .with_code("pmx::config::provider_setting");
            if let Some(a) = block.attributes.get(name) {
                d = d.at(&a.expr.file, a.key_span.clone(), "set here");
            }
            out.push(d);
        }
    }
    out
}

/// The message of a configuration error, without the client's "Proxmox provider configuration" prefix.
fn config_message(e: crate::proxmox::Error) -> String {
    match e {
        crate::proxmox::Error::Config(m) => m,
        other => other.to_string(),
    }
}

/// Where a diagnostic points (file and span), to tell a repeat of an already reported problem.
fn place_of(d: &crate::diag::Diagnostic) -> Option<(String, usize, usize)> {
    d.location.as_ref().map(|l| (l.file.name.clone(), l.span.start, l.span.end))
}

/// The variable inputs for the config loader (PMX_VAR_* come from the environment).
pub(super) fn var_inputs(v: &VarArgs) -> crate::config::VarInputs {
    crate::config::VarInputs { cli: v.inputs.clone(), env: None, allow_missing: false }
}
