//! The Proxmox VE API client: auth (tokens and tickets), TLS pinning, the `{"data": ...}`
//! envelope, typed errors, lenient models, property strings, tasks and retries.

pub mod error;
pub mod lenient;
pub mod models;
pub mod propstring;

pub use error::{ApiError, Error, TransportError, TransportKind};
