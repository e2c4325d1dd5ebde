//! Where state lives: a SQLite file (the default, `.pmx/state.db` in the project folder) or a
//! PostgreSQL database named by URL. Displaying a location never shows a password.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::{Result, StateError};

/// The default SQLite file, relative to the project folder.
pub const DEFAULT_SQLITE_PATH: &str = ".pmx/state.db";

/// A state database.
#[derive(Clone, PartialEq, Eq)]
pub enum StateLocation {
    Sqlite(PathBuf),
    /// The full URL, password included: only ever handed to the driver.
    Postgres(String),
}

impl StateLocation {
    /// `.pmx/state.db` under the project folder.
    pub fn default_for(project_dir: &Path) -> Self {
        StateLocation::Sqlite(project_dir.join(DEFAULT_SQLITE_PATH))
    }

    /// Reads a location: `postgres://…`/`postgresql://…`, `sqlite://PATH`, `sqlite:PATH`, or a
    /// plain file path. Relative SQLite paths are taken from `project_dir`.
    pub fn parse(input: &str, project_dir: &Path) -> Result<Self> {
        let bad = |reason: &str| StateError::BadLocation { input: redact_url(input), reason: reason.to_string() };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            let rest = trimmed.split_once("://").map(|(_, r)| r).unwrap_or_default();
            let host_part = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
            if host_part.is_empty() || host_part.starts_with('/') && !host_part.contains("host=") {
                return Err(bad("no host in the URL"));
            }
            return Ok(StateLocation::Postgres(trimmed.to_string()));
        }
        if let Some(path) = trimmed.strip_prefix("sqlite://").or_else(|| trimmed.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(bad("no file path after sqlite:"));
            }
            return Ok(StateLocation::Sqlite(project_dir.join(path)));
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            return Err(bad(&format!("unsupported scheme {scheme:?} (pmx keeps state in SQLite or PostgreSQL)")));
        }
        Ok(StateLocation::Sqlite(project_dir.join(trimmed)))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, StateLocation::Postgres(_))
    }

    /// Replaces the password of this location's URL wherever it appears in `text`.
    pub fn redact(&self, text: &str) -> String {
        match self {
            StateLocation::Postgres(url) => match url_password(url) {
                Some(pw) if !pw.is_empty() => text.replace(pw, "***"),
                _ => text.to_string(),
            },
            StateLocation::Sqlite(_) => text.to_string(),
        }
    }
}

impl fmt::Display for StateLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateLocation::Sqlite(p) => write!(f, "{}", p.display()),
            StateLocation::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for StateLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateLocation({self})")
    }
}

/// The password part of `scheme://user:password@host/...`, if any.
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, _) = rest.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password)
}

impl StateError {
    /// Wraps a database error, keeping any password out of the message.
    pub(crate) fn db(location: &StateLocation, err: impl std::fmt::Display) -> Self {
        StateError::Database { location: location.to_string(), reason: location.redact(&err.to_string()) }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; also hides `password=`
/// query parameters. Anything that is not a URL comes back unchanged.
pub fn redact_url(url: &str) -> String {
    let mut out = match url_password(url) {
        Some(pw) => {
            let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
            let (userinfo, host) = rest.rsplit_once('@').unwrap_or(("", rest));
            let user = userinfo.split_once(':').map(|(u, _)| u).unwrap_or(userinfo);
            let _ = pw;
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_string(),
    };
    if let Some(start) = out.find("password=") {
        let value_start = start + "password=".len();
        let end = out[value_start..].find('&').map(|i| value_start + i).unwrap_or(out.len());
        out.replace_range(value_start..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_url() {
        assert_eq!(redact_url("postgres://bob:s3cr%40t@db:5432/pmx"), "postgres://bob:***@db:5432/pmx");
        assert_eq!(redact_url("postgres://bob@db/pmx"), "postgres://bob@db/pmx");
        assert_eq!(redact_url("postgres://db/pmx?user=a&password=zz&x=1"), "postgres://db/pmx?user=a&password=***&x=1");
        let loc = StateLocation::parse("postgres://bob:hunter2@db/pmx", Path::new(".")).unwrap();
        assert_eq!(loc.to_string(), "postgres://bob:***@db/pmx");
        assert!(!format!("{loc:?}").contains("hunter2"));
        assert_eq!(loc.redact("auth failed for hunter2"), "auth failed for ***");
    }

    #[test]
    fn parses_locations() {
        let dir = Path::new("/p");
        assert_eq!(StateLocation::parse("x.db", dir).unwrap(), StateLocation::Sqlite("/p/x.db".into()));
        assert_eq!(StateLocation::parse("sqlite:///abs.db", dir).unwrap(), StateLocation::Sqlite("/abs.db".into()));
        assert!(StateLocation::parse("mysql://a@b/c", dir).is_err());
        assert!(StateLocation::parse("postgres://", dir).is_err());
        assert!(StateLocation::parse("", dir).is_err());
        assert!(StateLocation::parse("postgresql://u@h/db", dir).unwrap().is_postgres());
    }
}
