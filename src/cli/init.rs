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
    // Other .pmx files mean a project is already here: a second provider block and pool would
    // only make it fail to validate.
    let others: Vec<String> = crate::config::config_files(&dir)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "main.pmx"))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    if !others.is_empty() {
        return Err(miette!(
            help = "pmx init starts new projects; run `pmx validate` to check this one",
            "{} already holds a pmx project ({}); not touching it",
            dir.display(),
            others.join(", ")
        ));
    }
    std::fs::write(&main, MAIN_PMX).into_diagnostic().wrap_err_with(|| format!("writing {}", main.display()))?;
    let gitignore = dir.join(".gitignore");
    let mut wrote = vec![main.display().to_string()];
    let mut updated = Vec::new();
    if !gitignore.exists() {
        std::fs::write(&gitignore, GITIGNORE)
            .into_diagnostic()
            .wrap_err_with(|| format!("writing {}", gitignore.display()))?;
        wrote.push(gitignore.display().to_string());
    } else {
        // Add what is missing to the project's own .gitignore, keeping everything in it.
        let existing = std::fs::read_to_string(&gitignore).into_diagnostic()?;
        let have: Vec<&str> = existing.lines().map(str::trim).collect();
        let missing: Vec<&str> = GITIGNORE.lines().filter(|l| !l.starts_with('#') && !have.contains(l)).collect();
        if !missing.is_empty() {
            let mut text = existing.clone();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("# pmx: local state and saved plans\n");
            for l in missing {
                text.push_str(l);
                text.push('\n');
            }
            std::fs::write(&gitignore, text)
                .into_diagnostic()
                .wrap_err_with(|| format!("writing {}", gitignore.display()))?;
            updated.push(gitignore.display().to_string());
        }
    }
    if g.json {
        crate::render::print_json(&serde_json::json!({"created": wrote, "updated": updated}));
    } else if !g.quiet {
        for w in &wrote {
            println!("Created {w}");
        }
        for u in &updated {
            println!("Updated {u}");
        }
        println!("\npmx project initialised. Next: `pmx validate`, then `pmx plan`.");
    }
    Ok(ExitCode::SUCCESS)
}
