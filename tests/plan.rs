//! `pmx plan`, `pmx show`, `pmx apply` and `pmx destroy` end to end: the real binary against
//! the in-process simulator over HTTPS, with a real SQLite state store in a temp project.

#[path = "plan/support.rs"]
mod support;

#[path = "plan/examples.rs"]
mod examples;

#[path = "plan/behaviour.rs"]
mod behaviour;

#[path = "plan/planfile.rs"]
mod planfile;

#[path = "plan/perpetual.rs"]
mod perpetual;

#[path = "plan/crash.rs"]
mod crash;

#[path = "plan/faults.rs"]
mod faults;

#[path = "state/support.rs"]
#[allow(unused_macros)]
mod pg;

#[path = "plan/import.rs"]
mod import;

#[path = "plan/preflight.rs"]
mod preflight;
