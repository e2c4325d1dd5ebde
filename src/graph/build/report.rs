//! The diagnostics of a build, each once: a problem that many instances (or a reference check
//! and then evaluation) hit is reported one time, and a wrong value in several instances of a
//! count / for_each resource becomes one message naming them.

use std::collections::{HashMap, HashSet};

use crate::diag::{Diagnostic, Diagnostics};

#[derive(Default)]
pub(super) struct Reporter {
    pub(super) diags: Diagnostics,
    seen: HashSet<(String, String, usize, usize)>,
    /// Where the reference checks found problems: evaluation there only repeats them.
    reference_problems: HashSet<(String, usize)>,
    /// The instance (of a count / for_each resource) being evaluated, named in its problems.
    pub(super) current_instance: Option<String>,
    /// A wrong value reported for an instance: the same problem in another instance is
    /// merged into it ("in vm.a[0] and 2 more instances"); one with another value is not.
    instance_problems: HashMap<(String, String, usize), InstanceProblem>,
}

/// A wrong value found in one or more instances of a resource.
struct InstanceProblem {
    /// Where in `diags`.
    index: usize,
    what: String,
    why: String,
    first: String,
    more: usize,
}

impl Reporter {
    /// Adds a diagnostic once, however many instances hit the same problem.
    pub(super) fn report(&mut self, d: Diagnostic) {
        let key = match &d.location {
            Some(l) => (d.message.clone(), l.file.name.clone(), l.span.start, l.span.end),
            None => (d.message.clone(), String::new(), 0, 0),
        };
        if let Some(l) = &d.location {
            if self.reference_problems.contains(&(l.file.name.clone(), l.span.start)) {
                return;
            }
        }
        if self.seen.insert(key) {
            self.diags.push(d);
        }
    }

    /// After the reference checks: what evaluation finds where they found an error is an echo.
    pub(super) fn mark_reference_problems(&mut self) {
        self.reference_problems = self
            .diags
            .errors()
            .filter_map(|d| d.location.as_ref().map(|l| (l.file.name.clone(), l.span.start)))
            .collect();
    }

    /// Reports a wrong value `why` of attribute `what`; inside an instance of a count /
    /// for_each resource, the message names the instance (merging the same problem of others).
    pub(super) fn report_in_instance(&mut self, mut d: Diagnostic, what: String, why: String) {
        let Some(instance) = self.current_instance.clone() else { return self.report(d) };
        let Some(l) = &d.location else { return self.report(d) };
        if self.reference_problems.contains(&(l.file.name.clone(), l.span.start)) {
            return;
        }
        let key = (format!("{what}: {why}"), l.file.name.clone(), l.span.start);
        if let Some(p) = self.instance_problems.get_mut(&key) {
            p.more += 1;
            let s = if p.more == 1 { "" } else { "s" };
            self.diags.0[p.index].message =
                format!("invalid value for {} in {} and {} more instance{s}: {}", p.what, p.first, p.more, p.why);
            return;
        }
        d.message = format!("invalid value for {what} in {instance}: {why}");
        self.instance_problems
            .insert(key, InstanceProblem { index: self.diags.len(), what, why, first: instance, more: 0 });
        self.diags.push(d);
    }
}
