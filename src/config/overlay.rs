//! Unsaved editor buffers standing in for the files on disk, so that `pmx lsp` checks what is
//! being typed with the very loader `pmx validate` runs ([`super::load`]).
//!
//! The overlay is per thread and only lives for the closure given to [`with`]; without one,
//! loading reads the disk as always.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

thread_local! {
    static OVERLAY: RefCell<Option<HashMap<PathBuf, String>>> = const { RefCell::new(None) };
}

/// Runs `f` with `files` (path → text) read instead of the disk. A path in the overlay that is
/// not on disk yet (a new, unsaved buffer) is one of its folder's configuration files.
pub fn with<R>(files: HashMap<PathBuf, String>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<HashMap<PathBuf, String>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            OVERLAY.with(|o| *o.borrow_mut() = previous);
        }
    }
    let _restore = Restore(OVERLAY.with(|o| o.borrow_mut().replace(files)));
    f()
}

/// The overlay's text for `path`, if it has one.
pub(crate) fn text_of(path: &Path) -> Option<String> {
    OVERLAY.with(|o| o.borrow().as_ref().and_then(|files| files.get(path).cloned()))
}

/// The overlay's configuration files directly in `dir`.
pub(crate) fn files_in(dir: &Path) -> Vec<PathBuf> {
    OVERLAY.with(|o| {
        o.borrow().as_ref().map_or_else(Vec::new, |files| {
            files
                .keys()
                .filter(|p| p.parent() == Some(dir) && p.extension().is_some_and(|e| e == super::FILE_EXTENSION))
                .cloned()
                .collect()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_replace_files_and_add_new_ones_only_inside_the_closure() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("main.pmx"), "locals {\n  a = 1\n}\n").expect("write");
        let unsaved = dir.path().join("new.pmx");
        let files = HashMap::from([
            (dir.path().join("main.pmx"), "locals {\n  a = \n}\n".to_string()),
            (unsaved.clone(), "locals {\n  b = 2\n}\n".to_string()),
        ]);
        let inputs = super::super::VarInputs { allow_missing: true, ..Default::default() };
        let (config, diags) = with(files, || super::super::load(dir.path(), &inputs));
        assert!(config.is_none() && diags.has_errors(), "the buffer's syntax error is seen: {diags:?}");
        assert!(diags.iter().any(|d| d.position().is_some_and(|(f, line, _)| f == "main.pmx" && line == 2)));
        let (config, diags) = super::super::load(dir.path(), &inputs);
        assert!(!diags.has_errors(), "{diags:?}");
        let config = config.expect("loads from disk again");
        assert_eq!(config.files.len(), 1, "the unsaved file is gone with the overlay");
        assert!(text_of(&unsaved).is_none());
    }
}
