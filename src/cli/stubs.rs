//! Commands that later work fills in. They say so plainly and fail.

use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global};

#[derive(Debug, Args)]
pub struct StubArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

pub fn run(name: &str, _args: StubArgs, _g: &Global) -> CmdResult {
    eprintln!("pmx {name}: not implemented yet");
    Ok(ExitCode::from(2))
}
