//! `pmx fmt`: rewrite `.pmx` and `.pmxvars` files in the canonical style
//! (the style itself is `crate::config::format`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use owo_colors::OwoColorize;

use super::{CmdResult, Global};
use crate::config::format::{format, FormatError};
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Only check; list the files that would change and exit 3 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Show the changes as a unified diff.
    #[arg(long)]
    pub diff: bool,
    /// Also format the files in subfolders (hidden folders such as .pmx/ are skipped).
    #[arg(long, short = 'R')]
    pub recursive: bool,
    /// Files or folders to format (default: every .pmx and .pmxvars file in the folder).
    /// `-` formats standard input to standard output.
    pub files: Vec<PathBuf>,
}

/// Exit code of `--check` when a file would change.
const EXIT_WOULD_CHANGE: u8 = 3;

/// What happened to one file.
struct Outcome {
    /// As shown to the user.
    name: String,
    changed: bool,
    written: bool,
    diff: Option<String>,
    error: Option<Diagnostic>,
}

pub fn run(args: FmtArgs, g: &Global) -> CmdResult {
    if args.files.iter().any(|f| f.as_os_str() == "-") {
        if args.files.len() > 1 {
            return Err(miette::miette!("`-` (standard input) cannot be combined with other files"));
        }
        return run_stdin(&args, g);
    }
    let mut outcomes = Vec::new();
    for (name, path) in targets(&args, g, &mut outcomes) {
        outcomes.push(format_file(&args, &name, &path));
    }
    report(&args, g, &outcomes)
}

/// The files to format, as (display name, path); problems finding them become outcomes.
fn targets(args: &FmtArgs, g: &Global, outcomes: &mut Vec<Outcome>) -> Vec<(String, PathBuf)> {
    let given: Vec<PathBuf> = if args.files.is_empty() { vec![PathBuf::from(".")] } else { args.files.clone() };
    let mut found = Vec::new();
    for arg in given {
        let path = if arg.is_absolute() { arg.clone() } else { g.dir.join(&arg) };
        if path.is_dir() {
            let mut files = Vec::new();
            collect_dir(&path, args.recursive, &mut files, outcomes, &arg);
            files.sort();
            found.extend(files.into_iter().map(|p| (display_name(&arg, &path, &p), p)));
        } else if path.is_file() {
            found.push((arg.display().to_string(), path));
        } else {
            outcomes.push(Outcome {
                name: arg.display().to_string(),
                changed: false,
                written: false,
                diff: None,
                error: Some(Diagnostic::error(format!("{}: no such file or folder", arg.display()))),
            });
        }
    }
    found
}

fn is_config_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("pmx" | "pmxvars"))
}

fn collect_dir(dir: &Path, recursive: bool, files: &mut Vec<PathBuf>, outcomes: &mut Vec<Outcome>, shown: &Path) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            outcomes.push(Outcome {
                name: shown.display().to_string(),
                changed: false,
                written: false,
                diff: None,
                error: Some(Diagnostic::error(format!("cannot read folder {}: {e}", dir.display()))),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let p = entry.path();
        let hidden = entry.file_name().to_str().is_some_and(|n| n.starts_with('.'));
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if recursive && !hidden {
                collect_dir(&p, true, files, outcomes, shown);
            }
        } else if is_config_file(&p) && !hidden {
            files.push(p);
        }
    }
}

/// `main.pmx` for files found in the working folder, `net/a.pmx` below it, `other/x.pmx` for
/// folders named on the command line.
fn display_name(arg: &Path, root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    let shown = if arg.as_os_str() == "." { rel.to_path_buf() } else { arg.join(rel) };
    shown.display().to_string()
}

fn format_file(args: &FmtArgs, name: &str, path: &Path) -> Outcome {
    let mut outcome = Outcome { name: name.to_string(), changed: false, written: false, diff: None, error: None };
    let old = match std::fs::read(path).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            outcome.error = Some(Diagnostic::error(format!("{name}: not UTF-8 text; left as it is")));
            return outcome;
        }
        Err(e) => {
            outcome.error = Some(Diagnostic::error(format!("cannot read {name}: {e}")));
            return outcome;
        }
    };
    let new = match format(&old) {
        Ok(new) => new,
        Err(e) => {
            outcome.error = Some(parse_diagnostic(path, name, old, &e));
            return outcome;
        }
    };
    outcome.changed = new != old;
    if outcome.changed && args.diff {
        outcome.diff = Some(unified_diff(name, &old, &new));
    }
    if outcome.changed && !args.check {
        match write_atomically(path, &new) {
            Ok(()) => outcome.written = true,
            Err(e) => outcome.error = Some(Diagnostic::error(format!("cannot write {name}: {e}"))),
        }
    }
    outcome
}

fn parse_diagnostic(path: &Path, name: &str, text: String, e: &FormatError) -> Diagnostic {
    let file: Arc<SourceFile> = SourceFile::new(path, name, text);
    let start = e.offset.min(file.text.len());
    let end = file.text[start..].chars().next().map(|c| start + c.len_utf8()).unwrap_or(start);
    Diagnostic::error(format!("{name} does not parse, so it was left as it is")).with_code("pmx::fmt::syntax").at(
        &file,
        start..end,
        e.message.clone(),
    )
}

/// Writes beside the file and renames over it, so a crash never leaves half a file. A symbolic
/// link is followed, so the link stays a link and its target is what gets formatted.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let real = std::fs::canonicalize(path)?;
    let path = real.as_path();
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{file_name}.pmx-fmt.tmp"));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (original)"), &format!("{name} (formatted)"))
        .to_string()
}

fn colour_diff(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    let mut out = String::new();
    for line in diff.split_inclusive('\n') {
        let shown = if line.starts_with("+++") || line.starts_with("---") {
            line.bold().to_string()
        } else if line.starts_with('+') {
            line.green().to_string()
        } else if line.starts_with('-') {
            line.red().to_string()
        } else if line.starts_with("@@") {
            line.cyan().to_string()
        } else {
            line.to_string()
        };
        out.push_str(&shown);
    }
    out
}

fn report(args: &FmtArgs, g: &Global, outcomes: &[Outcome]) -> CmdResult {
    let diagnostics = Diagnostics(outcomes.iter().filter_map(|o| o.error.clone()).collect());
    let changed: Vec<&Outcome> = outcomes.iter().filter(|o| o.changed).collect();
    if g.json {
        let files: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "path": o.name,
                    "changed": o.changed,
                    "written": o.written,
                    "diff": o.diff,
                    "error": o.error.as_ref().map(Diagnostic::to_json),
                })
            })
            .collect();
        crate::render::print_json(&serde_json::json!({
            "check": args.check,
            "files": files,
            "changed": changed.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
            "error_count": diagnostics.len(),
        }));
    } else {
        let mut stdout = std::io::stdout().lock();
        for o in &changed {
            if !g.quiet || args.check {
                let _ = writeln!(stdout, "{}", o.name);
            }
            if let Some(diff) = &o.diff {
                let _ = write!(stdout, "{}", colour_diff(diff, g.color));
            }
        }
    }
    if !diagnostics.is_empty() {
        eprint!("{}", diagnostics.render(g.color_stderr));
    }
    Ok(if diagnostics.has_errors() {
        ExitCode::FAILURE
    } else if args.check && !changed.is_empty() {
        ExitCode::from(EXIT_WOULD_CHANGE)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_stdin(args: &FmtArgs, g: &Global) -> CmdResult {
    let mut old = String::new();
    std::io::stdin().read_to_string(&mut old).map_err(|e| miette::miette!("cannot read standard input: {e}"))?;
    let new = match format(&old) {
        Ok(new) => new,
        Err(e) => {
            let d = parse_diagnostic(Path::new("<stdin>"), "<stdin>", old, &e);
            if g.json {
                crate::render::print_json(&serde_json::json!({"error": d.to_json()}));
            }
            eprint!("{}", Diagnostics::from(d).render(g.color_stderr));
            return Ok(ExitCode::FAILURE);
        }
    };
    let changed = new != old;
    if g.json {
        crate::render::print_json(&serde_json::json!({
            "changed": changed,
            "formatted": if args.check { None } else { Some(&new) },
            "diff": (args.diff && changed).then(|| unified_diff("<stdin>", &old, &new)),
        }));
    } else if args.diff {
        if changed {
            print!("{}", colour_diff(&unified_diff("<stdin>", &old, &new), g.color));
        }
    } else if !args.check {
        print!("{new}");
    }
    Ok(if args.check && changed { ExitCode::from(EXIT_WOULD_CHANGE) } else { ExitCode::SUCCESS })
}
