//! What can go wrong in the state store, phrased for the person at the terminal.

/// Errors of the state store. Every message names the database by its redacted location, so a
/// password in a PostgreSQL URL never reaches output or logs (`StateError::db`, beside the
/// redaction in `location.rs`, wraps a database error so).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    #[error("cannot open the state database {location}: {reason}")]
    #[diagnostic(code(pmx::state::open))]
    Open {
        location: String,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("invalid state location {input:?}: {reason}")]
    #[diagnostic(
        code(pmx::state::location),
        help("use a path to a SQLite file, sqlite://PATH, or postgres://USER@HOST:PORT/DATABASE")
    )]
    BadLocation { input: String, reason: String },

    #[error("{location} is not a usable state database: {reason}")]
    #[diagnostic(
        code(pmx::state::corrupt),
        help("the file is damaged or is not a SQLite database; restore it from a backup, or move it away and run `pmx state push` with an export")
    )]
    Corrupt { location: String, reason: String },

    #[error(
        "the state database {location} was written by a newer pmx (state schema {found}); this pmx {pmx_version} understands state schema {supported} at most"
    )]
    #[diagnostic(code(pmx::state::too_new), help("upgrade pmx to use this state; nothing was changed"))]
    TooNew { location: String, found: i64, supported: i64, pmx_version: &'static str },

    #[error("migrating the state database {location} failed: {reason}")]
    #[diagnostic(code(pmx::state::migrate))]
    Migration { location: String, reason: String },

    #[error("{0}")]
    #[diagnostic(
        code(pmx::state::locked),
        help("wait for it to finish (--lock-timeout), or if that process is gone for good: pmx state unlock {1}")
    )]
    Locked(String, String),

    #[error("no lock {id} on workspace {workspace:?}{detail}")]
    #[diagnostic(code(pmx::state::no_such_lock))]
    NoSuchLock { id: String, workspace: String, detail: String },

    #[error("{address} is not in the state of workspace {workspace:?}")]
    #[diagnostic(code(pmx::state::not_found))]
    NotFound {
        address: String,
        workspace: String,
        #[help]
        help: Option<String>,
    },

    #[error("{address} already exists in the state of workspace {workspace:?}")]
    #[diagnostic(code(pmx::state::exists), help("remove it first (pmx state rm), or choose another address"))]
    AlreadyExists { address: String, workspace: String },

    #[error("invalid change: {0}")]
    #[diagnostic(code(pmx::state::invalid_change))]
    InvalidChange(String),

    #[error("cannot load state from {source_name}: {reason}")]
    #[diagnostic(code(pmx::state::push))]
    Push {
        source_name: String,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("no free vmid for {address} in the range asked for")]
    #[diagnostic(code(pmx::state::vmid))]
    NoFreeVmid { address: String },

    #[error("state database {location}: {reason}")]
    #[diagnostic(code(pmx::state::database))]
    Database { location: String, reason: String },
}

pub type Result<T, E = StateError> = std::result::Result<T, E>;
