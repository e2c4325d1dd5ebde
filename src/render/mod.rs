//! Output: colour decisions, human and JSON views.

pub mod apply;
pub mod console;
pub mod plan;

use std::io::IsTerminal;

/// Whether to colour output: never with `--no-color` or `NO_COLOR` (any non-empty value),
/// always with `CLICOLOR_FORCE` (for CI logs that render colour), otherwise when the stream is a
/// terminal.
pub fn use_color(no_color_flag: bool, stream_is_terminal: bool) -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if no_color_flag || set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || stream_is_terminal
}

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Prints a JSON value, pretty, with a trailing newline.
pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into()));
}
