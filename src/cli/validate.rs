use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global, VarArgs};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn run(_args: ValidateArgs, _g: &Global) -> CmdResult {
    eprintln!("pmx validate: not implemented yet");
    Ok(ExitCode::from(2))
}
