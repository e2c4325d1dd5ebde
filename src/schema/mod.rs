//! The resource schema: one registry, in code, of every resource type and data source, their
//! attributes and nested blocks, and how a change to each lands on Proxmox. The config loader
//! validates against it, the diff uses it to classify changes, `pmx schema` prints it, and
//! `docs/resources/*.md`, `docs/data-sources/*.md` and `grammar/schema.json` are generated from it.

mod types;

pub use types::*;

mod build;
mod constraints;
mod container;
mod data;
pub mod docs;
mod pool;
pub mod privileges;
pub mod pve;
mod registry;
mod vm;

pub use constraints::{ConfigBody, Violation};
pub use registry::registry;

/// Whether `text` matches a schema pattern (None when the pattern does not compile). Patterns
/// are compiled once per thread and never cloned: a cloned `Regex` starts with an empty match
/// cache, and compiling per block made 10,000 blocks spend most of their time in the compiler.
pub fn pattern_matches(pattern: &'static str, text: &str) -> Option<bool> {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<&'static str, Option<regex::Regex>>> =
            Default::default();
    }
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let re = cache.entry(pattern).or_insert_with(|| regex::Regex::new(pattern).ok());
        re.as_ref().map(|re| re.is_match(text))
    })
}
