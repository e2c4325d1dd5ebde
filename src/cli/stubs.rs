//! Commands that later work fills in. Their flags are declared, so a mistyped flag is refused
//! as it will be once they exist; then they say plainly that they are not implemented and fail.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Only these guests (VMIDs); default: every guest the cluster has that state does not.
    #[arg(value_name = "VMID")]
    pub vmids: Vec<u32>,
    /// Write the generated .pmx files into this folder (default: the project folder).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(name: &str, _g: &Global) -> CmdResult {
    eprintln!("pmx {name}: not implemented yet");
    Ok(ExitCode::from(2))
}
