use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global, VarArgs};

#[derive(Debug, Args)]
pub struct LspArgs {
    /// Speak over standard input and output (the only transport; accepted because editors pass it).
    #[arg(long)]
    pub stdio: bool,
}

/// Runs the language server until the editor shuts it down. Diagnostics come from the same
/// check as `pmx validate` (variables without a value are left unknown, as there).
pub fn run(_args: LspArgs, _g: &Global) -> CmdResult {
    match crate::lsp::serve_stdio(|dir| super::validate::check(dir, &VarArgs::default())) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(miette::miette!("pmx lsp: {e}")),
    }
}
