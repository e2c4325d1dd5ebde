//! `pmx console`: evaluate expressions against the project, like `terraform console`.
//!
//! On a terminal it prompts and edits lines (rustyline, with history); otherwise it reads
//! standard input line by line, without a prompt, so `echo 'upper("a")' | pmx console` works
//! in scripts. An expression whose brackets are still open continues on the next line.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::state::StateOptions;
use super::{CmdResult, Global, VarArgs};
use crate::config::Value;
use crate::diag::Diagnostic;
use crate::operation::console::ConsoleScope;
use crate::operation::LoadError;
use crate::render::console as view;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateOptions,
    /// How to print each value: HCL as `terraform console` does, or one JSON document a line.
    #[arg(long, value_enum, default_value_t = ConsoleFormat::Human)]
    pub format: ConsoleFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConsoleFormat {
    Human,
    Json,
}

pub fn run(args: ConsoleArgs, g: &Global) -> CmdResult {
    let json = g.json || args.format == ConsoleFormat::Json;
    let inputs = crate::config::VarInputs { allow_missing: true, ..super::validate::var_inputs(&args.vars) };
    let stored = stored_resources(&args.state, g);
    let scope = match ConsoleScope::load(&g.dir, &inputs, &stored) {
        Ok(scope) => scope,
        Err(LoadError::Config(diags)) => {
            if json {
                // One line, like every other document this view prints.
                println!("{}", diags.to_json());
            } else {
                eprint!("{}", diags.render(g.color_stderr));
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(LoadError::Other(e)) => return Err(e),
    };
    let mut session = Session { scope: &scope, json, color: g.color_stderr, failed: false };
    let interactive = std::io::stdin().is_terminal() && !json;
    if interactive {
        session.interactive()?;
        Ok(ExitCode::SUCCESS)
    } else {
        session.piped()?;
        Ok(if session.failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}

/// What the state knows; a store that cannot be read is a warning, not the end of the session
/// (resources then read as unknown).
fn stored_resources(state: &StateOptions, g: &Global) -> Vec<crate::state::StoredResource> {
    if crate::config::config_files(&g.dir).map_or(true, |f| f.is_empty()) {
        return Vec::new();
    }
    match state.open_read_only(g).and_then(|mut s| Ok(s.find_all(None)?)) {
        Ok(stored) => stored,
        Err(e) => {
            eprintln!("Warning: the state cannot be read ({e}); resource attributes are unknown");
            Vec::new()
        }
    }
}

struct Session<'a> {
    scope: &'a ConsoleScope,
    json: bool,
    color: bool,
    failed: bool,
}

impl Session<'_> {
    fn interactive(&mut self) -> miette::Result<()> {
        use rustyline::error::ReadlineError;
        let mut editor =
            rustyline::DefaultEditor::new().map_err(|e| miette::miette!("cannot start line editing: {e}"))?;
        let mut pending = String::new();
        loop {
            let prompt = if pending.is_empty() { "> " } else { ". " };
            match editor.readline(prompt) {
                Ok(line) => {
                    if pending.is_empty() && matches!(line.trim(), "exit" | "quit") {
                        return Ok(());
                    }
                    if let Some(expr) = self.feed(&mut pending, &line) {
                        let _ = editor.add_history_entry(expr.as_str());
                        self.evaluate(&expr);
                    }
                }
                // Ctrl-C drops the expression being typed, as in a shell.
                Err(ReadlineError::Interrupted) => pending.clear(),
                Err(ReadlineError::Eof) => return Ok(()),
                Err(e) => return Err(miette::miette!("reading the console input: {e}")),
            }
        }
    }

    fn piped(&mut self) -> miette::Result<()> {
        let mut pending = String::new();
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| miette::miette!("reading standard input: {e}"))?;
            if let Some(expr) = self.feed(&mut pending, &line) {
                self.evaluate(&expr);
            }
        }
        if !pending.trim().is_empty() {
            // Brackets left open at the end of input: evaluate anyway, for the syntax error.
            let expr = std::mem::take(&mut pending);
            self.evaluate(&expr);
        }
        Ok(())
    }

    /// Adds a line; returns the whole expression once its brackets are closed.
    fn feed(&self, pending: &mut String, line: &str) -> Option<String> {
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(line);
        if pending.trim().is_empty() {
            pending.clear();
            return None;
        }
        (open_brackets(pending) <= 0).then(|| std::mem::take(pending))
    }

    fn evaluate(&mut self, expr: &str) {
        match self.scope.eval(expr.trim_end()) {
            Ok(v) => self.print(&v),
            Err(d) => {
                self.failed = true;
                self.print_error(&d);
            }
        }
    }

    fn print(&self, v: &Value) {
        if self.json {
            println!("{}", view::json(v));
        } else {
            println!("{}", view::hcl(v));
        }
    }

    fn print_error(&self, d: &Diagnostic) {
        if self.json {
            println!("{}", view::json_error(d));
        } else {
            eprint!("{}", crate::diag::render_one(d, self.color));
        }
    }
}

/// How many brackets are open at the end of `text` (strings and their escapes skipped), so
/// that a list or object can be typed over several lines.
fn open_brackets(text: &str) -> i64 {
    let mut depth = 0i64;
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::open_brackets;

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert_eq!(open_brackets(r#"["a", "]"#), 1);
        assert_eq!(open_brackets(r#"{a = "}\"{"}"#), 0);
        assert_eq!(open_brackets("upper(\"a\")"), 0);
    }
}
