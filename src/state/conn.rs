//! Connecting: one diesel `MultiConnection` over SQLite and PostgreSQL, the embedded
//! migrations (one set per backend), and the checks that run before any of them.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::{Result, StateError};
use super::location::StateLocation;
use super::schema::store_info;
use super::SCHEMA_VERSION;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long SQLite waits for another writer before giving up on a statement.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// Key of the advisory lock that serialises migrations on a shared PostgreSQL database.
const PG_MIGRATION_LOCK_KEY: i64 = 0x706d_785f_6d69_6772; // "pmx_migr"

/// Both backends behind one connection type; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Sqlite(SqliteConnection),
    Postgresql(PgConnection),
}

/// Runs the same diesel expression on whichever connection is inside. Used where diesel's
/// `MultiConnection` lacks a feature both backends have (multi-row INSERT: SQLite's batch
/// insert is wired to `SqliteConnection` itself).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::state::conn::AnyConnection::Sqlite($c) => $body,
            $crate::state::conn::AnyConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Opens the database, refuses one written by a newer pmx, and applies pending migrations.
pub fn open(location: &StateLocation) -> Result<AnyConnection> {
    let mut conn = match location {
        StateLocation::Sqlite(path) => AnyConnection::Sqlite(open_sqlite(location, path)?),
        StateLocation::Postgres(url) => AnyConnection::Postgresql(open_postgres(location, url)?),
    };
    // On a shared PostgreSQL database, two pmx processes opening it for the first time must not
    // both create diesel's bookkeeping table or apply migrations: one goes at a time.
    let serialised = matches!(conn, AnyConnection::Postgresql(_));
    if serialised {
        pg_migration_lock(&mut conn, true).map_err(|e| StateError::db(location, e))?;
    }
    let result = check_not_newer(location, &mut conn).and_then(|()| migrate(location, &mut conn));
    if serialised {
        pg_migration_lock(&mut conn, false).map_err(|e| StateError::db(location, e))?;
    }
    result?;
    Ok(conn)
}

/// An empty, migrated in-memory SQLite database: what a read-only command sees where no state
/// file exists yet, so that looking at state never creates it.
pub fn open_empty(location: &StateLocation) -> Result<AnyConnection> {
    let sqlite = SqliteConnection::establish(":memory:").map_err(|e| StateError::Open {
        location: location.to_string(),
        reason: e.to_string(),
        help: None,
    })?;
    let mut conn = AnyConnection::Sqlite(sqlite);
    migrate(location, &mut conn)?;
    Ok(conn)
}

fn pg_migration_lock(conn: &mut AnyConnection, take: bool) -> QueryResult<()> {
    let function = if take { "pg_advisory_lock" } else { "pg_advisory_unlock" };
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT {function}({PG_MIGRATION_LOCK_KEY})")).execute(pg)?;
    }
    Ok(())
}

fn open_sqlite(location: &StateLocation, path: &Path) -> Result<SqliteConnection> {
    let open_err =
        |reason: String, help: Option<String>| StateError::Open { location: location.to_string(), reason, help };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| open_err(format!("cannot create folder {}: {e}", parent.display()), None))?;
    }
    create_private_file(path).map_err(|e| open_err(e.to_string(), None))?;
    let path_text =
        path.to_str().ok_or_else(|| open_err("the path is not valid UTF-8".into(), Some("use another path".into())))?;
    let mut conn = SqliteConnection::establish(path_text).map_err(|e| open_err(e.to_string(), None))?;
    // WAL lets readers run beside a writer; NORMAL sync is durable in WAL mode except on power loss.
    let pragmas = format!(
        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
    );
    conn.batch_execute(&pragmas).map_err(|e| sqlite_open_error(location, e))?;
    Ok(conn)
}

/// Creates the database file with mode 0600 before SQLite does (SQLite would use the umask);
/// its -wal and -shm files inherit that mode.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::fs::OpenOptions;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) => Err(std::io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))),
    }
}

/// SQLite reports a damaged or foreign file only on first use; say so plainly.
fn sqlite_open_error(location: &StateLocation, e: diesel::result::Error) -> StateError {
    let reason = e.to_string();
    if reason.contains("not a database") || reason.contains("malformed") || reason.contains("corrupt") {
        StateError::Corrupt { location: location.to_string(), reason }
    } else {
        StateError::Open { location: location.to_string(), reason, help: None }
    }
}

fn open_postgres(location: &StateLocation, url: &str) -> Result<PgConnection> {
    PgConnection::establish(url).map_err(|e| StateError::Open {
        location: location.to_string(),
        reason: location.redact(e.to_string().trim()),
        help: Some("check that the server runs and the URL's host, port, database and user are right".into()),
    })
}

/// Reads the schema version a database declares, if it has one yet.
pub fn stored_schema_version(conn: &mut AnyConnection) -> Option<i64> {
    store_info::table
        .filter(store_info::key.eq("schema_version"))
        .select(store_info::value)
        .first::<String>(conn)
        .ok()
        .and_then(|v| v.parse().ok())
}

fn check_not_newer(location: &StateLocation, conn: &mut AnyConnection) -> Result<()> {
    let known: Vec<String> = match conn {
        AnyConnection::Sqlite(_) => migration_versions(&SQLITE_MIGRATIONS),
        AnyConnection::Postgresql(_) => migration_versions(&POSTGRES_MIGRATIONS),
    };
    let applied: Vec<String> = match conn {
        AnyConnection::Sqlite(c) => c.applied_migrations().map(|v| v.iter().map(|m| m.to_string()).collect()),
        AnyConnection::Postgresql(c) => c.applied_migrations().map(|v| v.iter().map(|m| m.to_string()).collect()),
    }
    .map_err(|e| match conn {
        AnyConnection::Sqlite(_) => sqlite_open_error(location, diesel::result::Error::QueryBuilderError(e)),
        AnyConnection::Postgresql(_) => StateError::db(location, e),
    })?;
    let found = stored_schema_version(conn);
    let unknown_migration = applied.iter().any(|v| !known.contains(v));
    match found {
        Some(found) if found > SCHEMA_VERSION => Err(too_new(location, found)),
        _ if unknown_migration => Err(too_new(location, found.unwrap_or(SCHEMA_VERSION + 1).max(SCHEMA_VERSION + 1))),
        _ => Ok(()),
    }
}

fn too_new(location: &StateLocation, found: i64) -> StateError {
    StateError::TooNew {
        location: location.to_string(),
        found,
        supported: SCHEMA_VERSION,
        pmx_version: env!("CARGO_PKG_VERSION"),
    }
}

fn migration_versions(set: &EmbeddedMigrations) -> Vec<String> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::sqlite::Sqlite>::migrations(set)
        .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default()
}

/// Applies pending migrations, one process at a time: SQLite's write lock and a PostgreSQL
/// advisory lock keep two pmx processes from migrating the same database at once.
pub fn migrate(location: &StateLocation, conn: &mut AnyConnection) -> Result<Vec<String>> {
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| StateError::Migration {
        location: location.to_string(),
        reason: location.redact(&e.to_string()),
    };
    let applied = match conn {
        AnyConnection::Sqlite(c) => {
            if !c.has_pending_migration(SQLITE_MIGRATIONS).map_err(fail)? {
                return Ok(Vec::new());
            }
            c.immediate_transaction(|c| c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| versions(&v)))
                .map_err(fail)?
        }
        AnyConnection::Postgresql(c) => {
            if !c.has_pending_migration(POSTGRES_MIGRATIONS).map_err(fail)? {
                return Ok(Vec::new());
            }
            c.transaction(|c| {
                // Re-entrant when `open` already holds it; guards `pmx state migrate` alone too.
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK_KEY})")).execute(c)?;
                c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| versions(&v))
            })
            .map_err(fail)?
        }
    };
    Ok(applied)
}

fn versions(v: &[diesel::migration::MigrationVersion<'_>]) -> Vec<String> {
    v.iter().map(|m| m.to_string()).collect()
}

/// The migrations this database has applied, oldest first.
pub fn applied_migrations(location: &StateLocation, conn: &mut AnyConnection) -> Result<Vec<String>> {
    let r = match conn {
        AnyConnection::Sqlite(c) => c.applied_migrations().map(|v| versions(&v)),
        AnyConnection::Postgresql(c) => c.applied_migrations().map(|v| versions(&v)),
    };
    let mut v = r.map_err(|e| StateError::db(location, e))?;
    v.sort();
    Ok(v)
}
