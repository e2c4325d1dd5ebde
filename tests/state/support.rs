//! Test databases: a SQLite file in a temp dir, or a fresh PostgreSQL database
//! (`CREATE DATABASE pmx_test_<random>`, dropped afterwards) on PMX_TEST_PG_URL.

#![allow(dead_code)]

use diesel::{Connection, PgConnection, RunQueryDsl};
use pmx::state::{StateLocation, Store};
use tempfile::TempDir;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test; dropping it removes it.
pub struct TestDb {
    pub location: StateLocation,
    /// What `--state` takes for this database.
    pub url: String,
    /// Project folder (holds the SQLite file for SQLite).
    pub dir: TempDir,
    pg: Option<PgDatabase>,
}

impl TestDb {
    pub fn open(&self, workspace: &str) -> Store {
        Store::open(&self.location, workspace).unwrap_or_else(|e| panic!("open {}: {e}", self.location))
    }
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(".pmx/state.db");
    TestDb { url: path.display().to_string(), location: StateLocation::Sqlite(path), dir, pg: None }
}

pub fn admin_url() -> String {
    std::env::var("PMX_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

/// A fresh PostgreSQL database, or None (after saying so) when no server answers. Under
/// CI=true an unreachable server fails the test instead.
pub fn postgres() -> Option<TestDb> {
    let admin = admin_url();
    let mut conn = match PgConnection::establish(&admin) {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL unreachable at {admin} under CI: {e}");
            }
            eprintln!("skipped: PostgreSQL unreachable ({e})");
            return None;
        }
    };
    let name = format!("pmx_test_{}", uuid::Uuid::new_v4().simple());
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create test database");
    let url = with_database(&admin, &name);
    Some(TestDb {
        location: StateLocation::Postgres(url.clone()),
        url,
        dir: tempfile::tempdir().expect("temp dir"),
        pg: Some(PgDatabase { admin, name }),
    })
}

/// `postgres://u@h:p/db?x` with the database replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_and_path = &base[scheme_end..];
    let host = host_and_path.split('/').next().unwrap_or(host_and_path);
    let mut out = format!("{}{host}/{db}", &base[..scheme_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

struct PgDatabase {
    admin: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

/// Declares each listed suite function (taking `&TestDb`) as a test on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&crate::support::sqlite()); })+
        }
        mod postgres {
            $(#[test] fn $name() {
                if let Some(db) = crate::support::postgres() { super::$name(&db); }
            })+
        }
    };
}

pub fn addr(s: &str) -> pmx::addr::ResourceAddress {
    s.parse().expect("test address")
}

/// VM attributes like a real apply would store.
pub fn vm_attributes(i: usize) -> serde_json::Value {
    serde_json::json!({
        "name": format!("web-{i}"),
        "node": format!("pve{}", i % 3 + 1),
        "vmid": 1000 + i,
        "tags": ["pmx", "web"],
        "cpu": {"cores": 2, "sockets": 1, "type": "x86-64-v2-AES"},
        "memory": {"size": 2048},
        "disk": {"scsi0": {"storage": "local-lvm", "size": "32G", "format": "raw"}},
        "network": {"net0": {"bridge": "vmbr0", "model": "virtio", "tag": 20, "macaddr": format!("BC:24:11:00:{:02X}:{:02X}", i / 256 % 256, i % 256)}},
        "onboot": true,
        "started": true,
    })
}
