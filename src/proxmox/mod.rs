//! The Proxmox VE API client: auth (tokens and tickets), TLS pinning, the `{"data": ...}`
//! envelope, typed errors, lenient models, property strings, tasks and retries.

pub mod propstring;
