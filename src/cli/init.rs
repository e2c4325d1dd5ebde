//! `pmx init`: scaffold a project that validates (and, with the simulator, plans) as written.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use miette::{miette, IntoDiagnostic, WrapErr};

use super::{CmdResult, Global};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the project in (default: the working folder).
    pub dir: Option<PathBuf>,
    /// Overwrite an existing main.pmx.
    #[arg(long)]
    pub force: bool,
}

const MAIN_PMX: &str = r#"# A pmx project. `pmx validate` checks it; `pmx plan` shows what would change.
#
# Credentials come from the environment (PMX_ENDPOINT, PMX_TOKEN_ID, PMX_TOKEN_SECRET,
# PMX_FINGERPRINT), which `pmx sim serve` prints for its built-in simulator.
provider "proxmox" {}

variable "node" {
  type        = string
  default     = "pve1"
  description = "The node new guests land on."
}

resource "pool" "app" {
  id      = "app"
  comment = "managed by pmx"
}
"#;

const GITIGNORE: &str = "# pmx: local state and saved plans\n.pmx/\n*.plan\nplan.out\n";

pub fn run(args: InitArgs, g: &Global) -> CmdResult {
    let dir = match args.dir {
        Some(d) if d.is_absolute() => d,
        Some(d) => g.dir.join(d),
        None => g.dir.clone(),
    };
    std::fs::create_dir_all(&dir).into_diagnostic().wrap_err_with(|| format!("creating {}", dir.display()))?;
    let main = dir.join("main.pmx");
    if main.exists() && !args.force {
        return Err(miette!(
            help = "use --force to overwrite it",
            "{} already exists; not touching it",
            main.display()
        ));
    }
    std::fs::write(&main, MAIN_PMX).into_diagnostic().wrap_err_with(|| format!("writing {}", main.display()))?;
    let gitignore = dir.join(".gitignore");
    let mut wrote = vec![main.display().to_string()];
    if !gitignore.exists() {
        std::fs::write(&gitignore, GITIGNORE)
            .into_diagnostic()
            .wrap_err_with(|| format!("writing {}", gitignore.display()))?;
        wrote.push(gitignore.display().to_string());
    }
    if g.json {
        crate::render::print_json(&serde_json::json!({"created": wrote}));
    } else if !g.quiet {
        for w in &wrote {
            println!("Created {w}");
        }
        println!("\npmx project initialised. Next: `pmx validate`, then `pmx plan`.");
    }
    Ok(ExitCode::SUCCESS)
}
