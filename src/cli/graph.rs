use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global, VarArgs};

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Only resource and data source instances.
    #[arg(long)]
    pub resources_only: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn run(_args: GraphArgs, _g: &Global) -> CmdResult {
    eprintln!("pmx graph: not implemented yet");
    Ok(ExitCode::from(2))
}
