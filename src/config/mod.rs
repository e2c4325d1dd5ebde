//! The `.pmx` language: loading files (hcl-edit, keeping every span), decoding blocks,
//! validating against the schema, evaluating expressions (unknowns carried through),
//! variables, and `count`/`for_each` expansion. Problems are collected as diagnostics.

pub mod format;
pub mod functions;
pub mod value;

pub use value::Value;
