use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{CmdResult, Global};

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resources in state.
    List,
}

pub fn run(_args: StateArgs, _g: &Global) -> CmdResult {
    eprintln!("pmx state: not implemented yet");
    Ok(ExitCode::from(2))
}
