//! Faults that are backend-specific: a damaged SQLite file, a full disk, bad or unreachable
//! PostgreSQL URLs, file permissions.

use pmx::state::*;

use crate::support::{self, addr, vm_attributes};

fn creates(n: usize) -> Vec<Change> {
    (0..n)
        .map(|i| Change::new(ChangeType::Created, ResourceKind::Vm, addr(&format!("vm.web[{i}]")), vm_attributes(i)))
        .collect()
}

#[test]
fn corrupt_sqlite_file_is_named_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let garbage = b"this is not a database, it is a grocery list\n".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&StateLocation::Sqlite(path.clone()), "default").unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("state.db"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the damaged file is left as it was");
}

#[test]
fn full_disk_mid_write_leaves_nothing_half_written() {
    let db = support::sqlite();
    let mut store = db.open("default");
    store.commit_changes(None, creates(10)).unwrap();
    // Cap the database at (about) its current size: the next big batch cannot fit.
    store.debug_execute("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    let pages: i64 = std::fs::metadata(db.location.to_string()).unwrap().len() as i64 / 4096;
    store.debug_execute(&format!("PRAGMA max_page_count = {};", pages + 2)).unwrap();
    let mut batch = creates(2000);
    batch.drain(..10);
    let err = store.commit_changes(None, batch).unwrap_err();
    assert!(err.to_string().contains("full"), "{err}");
    store.debug_execute("PRAGMA max_page_count = 1073741823;").unwrap();
    assert_eq!(store.list(None).unwrap().len(), 10);
    assert_eq!(store.meta().unwrap().serial, 1);
    assert_eq!(store.events(&EventFilter::default()).unwrap().len(), 10);
}

#[test]
fn sqlite_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let db = support::sqlite();
    let _store = db.open("default");
    let path = std::path::PathBuf::from(db.location.to_string());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
}

#[test]
fn unreachable_postgres_is_a_clear_error_without_the_password() {
    let location = StateLocation::parse("postgres://pmx:hunter2@127.0.0.1:1/state", std::path::Path::new(".")).unwrap();
    let err = Store::open(&location, "default").unwrap_err();
    let report = format!("{:?}", miette::Report::new(err));
    assert!(report.contains("postgres://pmx:***@127.0.0.1:1/state"), "{report}");
    assert!(report.contains("refused") || report.contains("connect"), "{report}");
    assert!(!report.contains("hunter2"), "{report}");
}

#[test]
fn misconfigured_urls_are_refused() {
    let dir = std::path::Path::new(".");
    for bad in ["mysql://root:pw@db/state", "postgres://", ""] {
        let err = StateLocation::parse(bad, dir).unwrap_err();
        assert!(matches!(err, StateError::BadLocation { .. }), "{bad}: {err}");
        assert!(!err.to_string().contains(":pw@"), "{err}");
    }
    if let Some(db) = support::postgres() {
        // A database that does not exist on a server that does.
        let url = support::with_database(&db.url, "pmx_no_such_database");
        let err = Store::open(&StateLocation::Postgres(url), "default").unwrap_err();
        assert!(err.to_string().contains("pmx_no_such_database"), "{err}");
    }
}

#[test]
fn workspace_names_are_checked() {
    let db = support::sqlite();
    let err = Store::open(&db.location, "../etc").unwrap_err();
    assert!(err.to_string().contains("workspace"), "{err}");
}

#[test]
fn state_moves_from_sqlite_to_postgres_and_back() {
    let Some(pg) = support::postgres() else { return };
    let lite = support::sqlite();
    let mut from = lite.open("prod");
    from.commit_changes(None, creates(20)).unwrap();
    let export = from.pull().unwrap();
    let mut to = pg.open("prod");
    to.push(&export, false).unwrap();
    assert_eq!(from.find_all(None).unwrap(), to.find_all(None).unwrap());
    let back = to.pull().unwrap();
    let mut again = support::sqlite().open("prod");
    again.push(&back, false).unwrap();
    assert_eq!(again.find_all(None).unwrap(), from.find_all(None).unwrap());
    assert_eq!(again.meta().unwrap().lineage, from.meta().unwrap().lineage);
}
