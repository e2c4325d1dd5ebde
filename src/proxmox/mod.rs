//! The Proxmox VE API client: auth (tokens and tickets), TLS pinning, the `{"data": ...}`
//! envelope, typed errors, lenient models, property strings, tasks and retries.
//!
//! `config` (settings, credentials) → `client::PveClient` (typed methods) over `http`
//! (transport trait, reqwest + `tls`), with `retry`, `tasks`, `models` (+ `lenient`) and
//! `propstring` beside it.

pub mod client;
pub mod config;
pub mod error;
pub mod http;
pub mod lenient;
pub mod models;
pub mod params;
pub mod propstring;
pub mod retry;
pub mod tasks;
pub mod tls;
pub mod token_id;

pub use client::PveClient;
pub use config::{ClientConfig, Credentials, Fingerprint, ProviderSettings, Secret, TlsMode};
pub use error::{ApiError, Error, TransportError, TransportKind};
pub use models::GuestKind;
pub use params::Params;
pub use retry::RetryPolicy;
pub use tasks::{TaskOutcome, Upid, WaitOptions};
