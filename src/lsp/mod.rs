//! `pmx lsp`: a language server for `.pmx` files over stdio, built on rust-analyzer's
//! `lsp-server` (a synchronous JSON-RPC loop) and `lsp-types`.
//!
//! - [`server`]: the handshake and the request loop.
//! - [`diagnostics`]: the debounced worker that runs `pmx validate`'s check on a folder's open
//!   buffers (through [`crate::config::overlay`]) and publishes every problem of every file.
//! - [`documents`]: the open buffers; [`position`]: byte offsets to LSP positions and back.
//! - [`lexer`] and [`outline`]: a forgiving reading of half-typed text (blocks, attributes,
//!   references); [`index`]: a folder's declarations and references; [`scope`]: what may be
//!   written where, from the schema and the language.
//! - One module per feature: [`completion`], [`hover`], [`navigation`] (definition, references,
//!   rename), [`symbols`], [`formatting`] (through `pmx fmt`'s code).
//!
//! Set-up for editors: `docs/editor.md`.

pub mod completion;
pub mod diagnostics;
pub mod documents;
pub mod formatting;
pub mod hover;
pub mod index;
pub mod lexer;
pub mod navigation;
pub mod outline;
pub mod position;
pub mod scope;
pub mod server;
pub mod symbols;

pub use diagnostics::Checker;

/// Serves the protocol on standard input and output until the client shuts it down.
pub fn serve_stdio(check: Checker) -> Result<(), server::Error> {
    let (connection, io_threads) = lsp_server::Connection::stdio();
    let result = server::serve(&connection, check);
    drop(connection);
    io_threads.join().map_err(|e| format!("stdio: {e}"))?;
    result
}
