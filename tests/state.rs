//! The state store: the same repository suite on SQLite and on the real PostgreSQL server
//! (each test in a fresh database), the faults, and the `pmx state` commands run as real
//! processes (including two of them contending for one workspace lock).

#[macro_use]
#[path = "state/support.rs"]
mod support;

#[path = "state/suite.rs"]
mod suite;

#[path = "state/faults.rs"]
mod faults;

#[path = "state/cli.rs"]
mod cli;
