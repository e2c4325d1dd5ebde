//! Where a finding points in the configuration: the attribute its path names, else the nearest
//! block around it, else the resource's header.

use crate::addr::ResourceAddress;
use crate::config::model::{BodyDef, Module};
use crate::diag::{Diagnostic, Location};
use crate::plan::{Finding, Severity};

/// The place of `path` (`["disk","scsi0","storage"]`) in the block of `address`.
pub fn locate(module: &Module, address: &str, path: &[String]) -> Option<Location> {
    let addr: ResourceAddress = address.parse().ok()?;
    let block = module.resources.get(&addr.config)?;
    let mut body: &BodyDef = &block.body;
    let mut best = block.location.clone();
    let mut rest = path;
    while let Some((first, tail)) = rest.split_first() {
        if let Some(a) = body.attributes.get(first) {
            return Some(a.expr.location());
        }
        // A slotted block (`disk "scsi0"`) takes the next segment as its label.
        let slotted = body
            .blocks
            .iter()
            .find(|b| b.name == *first && b.label.as_ref().is_some_and(|(l, _)| tail.first().is_some_and(|t| t == l)));
        if let Some(b) = slotted {
            best = b.location.clone();
            body = &b.body;
            rest = &tail[1..];
            continue;
        }
        match body.blocks.iter().find(|b| b.name == *first && b.label.is_none()) {
            Some(b) => {
                best = b.location.clone();
                body = &b.body;
                rest = tail;
            }
            None => break,
        }
    }
    Some(best)
}

/// `file:line:column` of each finding, filled in from the configuration.
pub fn place(findings: &mut [Finding], module: &Module) {
    for f in findings {
        if let Some(l) = locate(module, &f.address, &f.path) {
            let (line, col) = l.file.line_col(l.span.start);
            f.at = Some(format!("{}:{line}:{col}", l.file.name));
        }
    }
}

/// A finding as a diagnostic with its span, for the same rendering `validate` uses.
pub fn diagnostic(f: &Finding, module: &Module) -> Diagnostic {
    let head = format!("{}: {}", f.address, f.message);
    let mut d = match f.severity {
        Severity::Error if !f.ignored => Diagnostic::error(head),
        _ => Diagnostic::warning(head),
    }
    .with_code(format!("pmx::preflight::{}", f.check));
    if let Some(l) = locate(module, &f.address, &f.path) {
        d = d.at(&l.file, l.span, f.live.clone());
    }
    let mut help = f.help.clone().unwrap_or_default();
    if f.ignored {
        help = format!("ignored by lifecycle {{ preflight_ignore }}; {help}");
    }
    if d.location.is_none() {
        help = format!("{}; {help}", f.live);
    }
    if !help.is_empty() {
        d = d.with_help(help);
    }
    d
}
