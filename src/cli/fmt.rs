use std::process::ExitCode;

use clap::Args;

use super::{CmdResult, Global};

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Only check; exit 3 when a file would change.
    #[arg(long)]
    pub check: bool,
    /// Show the changes as a diff.
    #[arg(long)]
    pub diff: bool,
    /// Files to format (default: every .pmx file in the folder).
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: FmtArgs, _g: &Global) -> CmdResult {
    eprintln!("pmx fmt: not implemented yet");
    Ok(ExitCode::from(2))
}
