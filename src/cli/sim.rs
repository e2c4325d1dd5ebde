use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{CmdResult, Global};

#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    pub command: SimCommand,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the simulated Proxmox VE API.
    Serve,
}

pub fn run(_args: SimArgs, _g: &Global) -> CmdResult {
    eprintln!("pmx sim: not implemented yet");
    Ok(ExitCode::from(2))
}
