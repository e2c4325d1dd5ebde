//! Output: colour decisions, human and JSON views.

use std::io::IsTerminal;

/// Whether to colour output: never with `--no-color` or `NO_COLOR` (any non-empty value),
/// otherwise when the stream is a terminal.
pub fn use_color(no_color_flag: bool, stream_is_terminal: bool) -> bool {
    if no_color_flag {
        return false;
    }
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    stream_is_terminal
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
