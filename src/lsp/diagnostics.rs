//! Diagnostics as you type: a worker thread runs the loader `pmx validate` runs (through the
//! [`Checker`] it is given) on a folder's open buffers over its files, a short while after the
//! last edit, and publishes every problem of every file of the folder (an empty list clears a
//! file that has none left).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use lsp_server::{Message, Notification};
use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, PublishDiagnosticsParams, Url,
};

use super::position::{Encoding, LineIndex};
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// Checks the configuration in a folder, every problem at once: `pmx validate`'s check.
pub type Checker = fn(&Path) -> Diagnostics;

/// How long the worker waits after an edit for the next one before it checks.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

enum Job {
    /// Check `dir`, reading `buffers` (path → text) instead of those files on disk.
    Check { dir: PathBuf, buffers: HashMap<PathBuf, String> },
}

/// The handle of the worker thread; dropping it stops the worker.
pub struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn start(out: crossbeam_channel::Sender<Message>, check: Checker, encoding: Encoding) -> Worker {
        let (jobs, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("pmx-lsp-diagnostics".into())
            .spawn(move || run(rx, out, check, encoding))
            .ok();
        Worker { jobs: Some(jobs), thread }
    }

    /// Asks for `dir` to be checked with these buffers (a later request for the same folder
    /// replaces an earlier one still waiting).
    pub fn check(&self, dir: PathBuf, buffers: HashMap<PathBuf, String>) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Job::Check { dir, buffers });
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(rx: mpsc::Receiver<Job>, out: crossbeam_channel::Sender<Message>, check: Checker, encoding: Encoding) {
    // Files each folder last had diagnostics published for, to clear those that went away.
    let mut published: HashMap<PathBuf, HashSet<Url>> = HashMap::new();
    while let Ok(first) = rx.recv() {
        let mut pending: HashMap<PathBuf, HashMap<PathBuf, String>> = HashMap::new();
        let mut add = |job: Job| match job {
            Job::Check { dir, buffers } => {
                pending.insert(dir, buffers);
            }
        };
        add(first);
        // Debounce: wait until the edits pause.
        loop {
            match rx.recv_timeout(DEBOUNCE) {
                Ok(job) => add(job),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        for (dir, buffers) in pending {
            let started = std::time::Instant::now();
            let files = per_file(&dir, buffers, check, encoding);
            tracing::debug!("checked {} in {:?}", dir.display(), started.elapsed());
            let now: HashSet<Url> = files.keys().cloned().collect();
            let before = published.insert(dir, now.clone()).unwrap_or_default();
            let gone = before.difference(&now).map(|u| (u.clone(), Vec::new()));
            let mut all: Vec<(Url, Vec<lsp_types::Diagnostic>)> = files.into_iter().chain(gone).collect();
            all.sort_by(|a, b| a.0.cmp(&b.0));
            for (uri, diagnostics) in all {
                let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
                let note = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
                if out.send(note.into()).is_err() {
                    return;
                }
            }
        }
    }
}

/// Runs the check and sorts its diagnostics by file: every configuration file of the folder
/// gets an entry, empty when it has no problem.
pub fn per_file(
    dir: &Path,
    buffers: HashMap<PathBuf, String>,
    check: Checker,
    encoding: Encoding,
) -> HashMap<Url, Vec<lsp_types::Diagnostic>> {
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::config::overlay::with(buffers, || (check(dir), crate::config::config_files(dir)))
    }));
    // A bug in a check must not end diagnostics for the rest of the session: it becomes one.
    let (diags, files) = checked.unwrap_or_else(|panic| {
        let what =
            panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
        let message = format!("internal error while checking: {}", what.unwrap_or_else(|| "a panic".into()));
        (Diagnostic::error(message).with_code("pmx::lsp::internal").into(), crate::config::config_files(dir))
    });
    let files = files.unwrap_or_default();
    let mut out: HashMap<Url, Vec<lsp_types::Diagnostic>> =
        files.iter().filter_map(|p| Url::from_file_path(p).ok()).map(|u| (u, Vec::new())).collect();
    // A problem of no particular place (no files, a missing variable...) goes on the first file.
    let first = files.first().and_then(|p| Url::from_file_path(p).ok());
    for d in diags {
        let uri = match &d.location {
            Some(l) => Url::from_file_path(dir.join(&l.file.name)).ok(),
            None => first.clone(),
        };
        if let Some(uri) = uri {
            out.entry(uri).or_default().push(to_lsp(&d, dir, encoding));
        }
    }
    out
}

/// One diagnostic in LSP terms: the loader's message first, its label and help after, related
/// places (a cycle's steps, "first declared here") as related information.
pub fn to_lsp(d: &Diagnostic, dir: &Path, encoding: Encoding) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    if let Some(label) = d.label.as_deref().filter(|l| !l.is_empty() && *l != d.message) {
        message.push('\n');
        message.push_str(label);
    }
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let mut related = Vec::new();
    if let Some(l) = &d.location {
        if let Ok(uri) = Url::from_file_path(dir.join(&l.file.name)) {
            let index = LineIndex::new(l.file.written(), encoding);
            for (span, label) in &d.more_labels {
                related.push(DiagnosticRelatedInformation {
                    location: Location::new(uri.clone(), index.range(&l.file.written_span(span))),
                    message: label.clone(),
                });
            }
        }
    }
    for r in &d.related {
        let Some(l) = &r.location else { continue };
        let Ok(uri) = Url::from_file_path(dir.join(&l.file.name)) else { continue };
        let index = LineIndex::new(l.file.written(), encoding);
        related.push(DiagnosticRelatedInformation {
            location: Location::new(uri, index.range(&l.file.written_span(&l.span))),
            message: r.label.clone().unwrap_or_else(|| r.message.clone()),
        });
    }
    let range = d.location.as_ref().map_or_else(lsp_types::Range::default, |l| {
        LineIndex::new(l.file.written(), encoding).range(&l.file.written_span(&l.span))
    });
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: d.code.clone().map(NumberOrString::String),
        source: Some("pmx".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_like(dir: &Path) -> Diagnostics {
        let inputs = crate::config::VarInputs { allow_missing: true, ..Default::default() };
        let (config, mut diags) = crate::config::load(dir, &inputs);
        if let Some(config) = config {
            if let Err(more) = crate::graph::build(&config) {
                diags.extend(more);
            }
        }
        diags.sorted()
    }

    #[test]
    fn a_buffer_is_checked_with_its_folder_and_problems_land_on_their_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir = dir.path();
        std::fs::write(dir.join("a.pmx"), "resource \"pool\" \"p\" {}\n").expect("write");
        std::fs::write(dir.join("b.pmx"), "locals {\n  x = 1\n}\n").expect("write");
        // The unsaved b.pmx refers to a pool declared in a.pmx, and to one that is not declared.
        let buffers = HashMap::from([(dir.join("b.pmx"), "locals {\n  x = pool.p.id\n  y = pool.q.id\n}\n".into())]);
        let files = per_file(dir, buffers, validate_like, Encoding::Utf16);
        assert_eq!(files.len(), 2);
        let a = &files[&Url::from_file_path(dir.join("a.pmx")).unwrap()];
        assert!(a.is_empty(), "{a:?}");
        let b = &files[&Url::from_file_path(dir.join("b.pmx")).unwrap()];
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].message.contains("pool.q"), "{:?}", b[0]);
        assert_eq!(b[0].range.start, lsp_types::Position::new(2, 6));
        assert_eq!(b[0].source.as_deref(), Some("pmx"));
    }
}
