//! The command line: clap definitions and dispatch. Each subcommand lives in its own file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod apply;
mod console;
mod fmt;
mod graph;
mod import;
mod init;
mod lsp;
mod plan;
mod refresh;
mod schema;
mod sim;
mod state;
mod validate;
mod version;

/// What a command returns: its exit code, or an error that `main` reports.
pub type CmdResult = miette::Result<ExitCode>;

#[derive(Debug, Parser)]
#[command(
    name = "pmx",
    version,
    about = "Declarative infrastructure for Proxmox VE",
    long_about = "pmx describes Proxmox VE guests, containers and pools in .pmx files, plans the \
                  changes against the live cluster and applies them, recording every change.",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Work in DIR instead of the current folder.
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Never colour output (also: NO_COLOR=1).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Machine-readable JSON output on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (-v info, -vv debug, -vvv trace). PMX_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project: main.pmx and a .gitignore.
    Init(init::InitArgs),
    /// Check the configuration: syntax, schema, references, types, cycles.
    Validate(validate::ValidateArgs),
    /// Rewrite .pmx files in the canonical style.
    Fmt(fmt::FmtArgs),
    /// Print the dependency graph as Graphviz DOT.
    Graph(graph::GraphArgs),
    /// Print the resource schema as JSON.
    Schema(schema::SchemaArgs),
    /// Show the desired changes against the live cluster and save them to a plan file.
    Plan(plan::PlanArgs),
    /// Show a saved plan file (human, JSON or markdown).
    Show(plan::ShowArgs),
    /// Carry out a saved plan (or plan, ask and apply).
    Apply(apply::ApplyArgs),
    /// Destroy every resource the configuration manages (asks first).
    Destroy(apply::DestroyArgs),
    /// Adopt existing guests: write .pmx files and state.
    Import(import::ImportArgs),
    /// Read the live cluster and bring the state store up to date (discover, detect drift).
    Refresh(refresh::RefreshArgs),
    /// Run the built-in Proxmox VE simulator.
    Sim(sim::SimArgs),
    /// Inspect and manage the state store.
    State(state::StateArgs),
    /// Run the language server for editors (over stdio; see docs/editor.md).
    Lsp(lsp::LspArgs),
    /// Evaluate expressions against the project's variables, locals and state (like terraform console).
    Console(console::ConsoleArgs),
    /// Print the version.
    Version,
}

/// Variable inputs shared by the commands that evaluate the configuration: `--var` and
/// `--var-file`, kept in their command-line order because a later one wins, as in Terraform.
/// (clap's derive would split them into two lists, so the order comes from the argument indices.)
#[derive(Debug, Clone, Default)]
pub struct VarArgs {
    pub inputs: Vec<crate::config::CliVar>,
}

impl clap::FromArgMatches for VarArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        use crate::config::CliVar;
        let mut all: Vec<(usize, CliVar)> = Vec::new();
        if let (Ok(Some(values)), Some(indices)) = (m.try_get_many::<String>("var"), m.indices_of("var")) {
            all.extend(indices.zip(values).map(|(i, v)| (i, CliVar::Var(v.clone()))));
        }
        if let (Ok(Some(values)), Some(indices)) = (m.try_get_many::<PathBuf>("var_file"), m.indices_of("var_file")) {
            all.extend(indices.zip(values).map(|(i, v)| (i, CliVar::File(v.clone()))));
        }
        all.sort_by_key(|(i, _)| *i);
        Ok(Self { inputs: all.into_iter().map(|(_, v)| v).collect() })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for VarArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new("var")
                .long("var")
                .value_name("NAME=VALUE")
                .action(clap::ArgAction::Append)
                .help("Set a variable (repeatable; a later --var or --var-file wins over an earlier one)"),
        )
        .arg(
            clap::Arg::new("var_file")
                .long("var-file")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .action(clap::ArgAction::Append)
                .help("Read variables from a file (repeatable, applied in command-line order)"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// What every command knows about the invocation.
#[derive(Debug, Clone)]
pub struct Global {
    /// The project folder (`-C`, else the current folder).
    pub dir: PathBuf,
    /// Colour on stdout / stderr.
    pub color: bool,
    pub color_stderr: bool,
    pub json: bool,
    pub quiet: bool,
}

/// Terraform spells long flags with one dash (`-out`, `-detailed-exitcode`); accept that too.
const SINGLE_DASH_LONG_FLAGS: &[&str] = &[
    "out",
    "detailed-exitcode",
    "auto-approve",
    "var",
    "var-file",
    "no-color",
    "json",
    "lock-timeout",
    "state",
    "workspace",
    "check",
    "diff",
    "recursive",
    "chdir",
    "destroy",
    "target",
    "replace",
    "refresh-only",
    "parallelism",
    "fail-on",
    "generate-config-out",
    "max-disruptions",
];

fn normalize_args(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    args.map(|a| {
        if let Some(s) = a.to_str() {
            if let Some(rest) = s.strip_prefix('-').filter(|r| !r.starts_with('-')) {
                let name = rest.split('=').next().unwrap_or(rest);
                if SINGLE_DASH_LONG_FLAGS.contains(&name) {
                    return format!("-{s}").into();
                }
            }
        }
        a
    })
    .collect()
}

fn init_logging(g: &GlobalArgs, color: bool) {
    let default = if g.quiet {
        "error"
    } else {
        match g.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PMX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}

/// Dies quietly when stdout is closed early (`pmx schema | head`), like other Unix tools,
/// instead of panicking in `println!`.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default at start-up, before any threads exist.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse_from(normalize_args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let color = crate::render::use_color(cli.global.no_color, crate::render::stdout_is_terminal());
    let color_stderr = crate::render::use_color(cli.global.no_color, crate::render::stderr_is_terminal());
    init_logging(&cli.global, color_stderr);
    let dir = match &cli.global.chdir {
        Some(d) => d.clone(),
        None => PathBuf::from("."),
    };
    if !dir.is_dir() {
        eprintln!("Error: -C {}: no such folder", dir.display());
        return ExitCode::FAILURE;
    }
    let g = Global { dir, color, color_stderr, json: cli.global.json, quiet: cli.global.quiet };
    let result = match cli.command {
        Command::Init(a) => init::run(a, &g),
        Command::Validate(a) => validate::run(a, &g),
        Command::Fmt(a) => fmt::run(a, &g),
        Command::Graph(a) => graph::run(a, &g),
        Command::Schema(a) => schema::run(a, &g),
        Command::Plan(a) => plan::run(a, &g),
        Command::Show(a) => plan::show(a, &g),
        Command::Apply(a) => apply::run(a, &g),
        Command::Destroy(a) => apply::destroy(a, &g),
        Command::Import(a) => import::run(a, &g),
        Command::Refresh(a) => refresh::run(a, &g),
        Command::Sim(a) => sim::run(a, &g),
        Command::State(a) => state::run(a, &g),
        Command::Lsp(a) => lsp::run(a, &g),
        Command::Console(a) => console::run(a, &g),
        Command::Version => version::run(&g),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            if g.json {
                crate::render::print_json(&serde_json::json!({"error": format!("{report}")}));
            }
            eprint!("{}", crate::diag::render_one(report.as_ref(), g.color_stderr));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_dash_long_flags_become_double() {
        let args = ["pmx", "plan", "-out=plan.out", "-detailed-exitcode", "-v", "-C", "x", "-var", "a=1"];
        let got: Vec<String> =
            normalize_args(args.iter().map(Into::into)).into_iter().map(|s| s.into_string().unwrap()).collect();
        assert_eq!(got, ["pmx", "plan", "--out=plan.out", "--detailed-exitcode", "-v", "-C", "x", "--var", "a=1"]);
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
