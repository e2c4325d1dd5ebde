//! The buffers the editor has open, kept up to date from `didOpen` / `didChange` / `didClose`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::{TextDocumentContentChangeEvent, Url};

use super::position::{Encoding, LineIndex};

#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub version: i32,
}

#[derive(Debug, Default)]
pub struct Documents {
    open: HashMap<PathBuf, Document>,
}

/// The local path of a `file:` URI.
pub fn path_of(uri: &Url) -> Option<PathBuf> {
    uri.to_file_path().ok()
}

impl Documents {
    pub fn open(&mut self, path: PathBuf, text: String, version: i32) {
        self.open.insert(path, Document { text, version });
    }

    pub fn close(&mut self, path: &Path) {
        self.open.remove(path);
    }

    pub fn get(&self, path: &Path) -> Option<&Document> {
        self.open.get(path)
    }

    /// Applies edits in order: a change without a range replaces the whole text.
    pub fn change(
        &mut self,
        path: &Path,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
        encoding: Encoding,
    ) {
        let Some(doc) = self.open.get_mut(path) else { return };
        for change in changes {
            match change.range {
                None => doc.text = change.text,
                Some(range) => {
                    let (start, end) = {
                        let index = LineIndex::new(&doc.text, encoding);
                        (index.offset(range.start), index.offset(range.end))
                    };
                    doc.text.replace_range(start..end.max(start), &change.text);
                }
            }
        }
        doc.version = version;
    }

    /// The open buffers directly inside `dir`.
    pub fn in_folder(&self, dir: &Path) -> HashMap<PathBuf, String> {
        self.open.iter().filter(|(p, _)| p.parent() == Some(dir)).map(|(p, d)| (p.clone(), d.text.clone())).collect()
    }

    /// The folders with an open buffer.
    pub fn folders(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.open.keys().filter_map(|p| p.parent().map(Path::to_path_buf)).collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

#[cfg(test)]
mod tests {
    use lsp_types::{Position, Range};

    use super::*;

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut docs = Documents::default();
        let path = PathBuf::from("/p/main.pmx");
        docs.open(path.clone(), "a = 1\nb = 2\n".into(), 1);
        let edit = |l1, c1, l2, c2, text: &str| TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l1, c1), Position::new(l2, c2))),
            range_length: None,
            text: text.into(),
        };
        docs.change(&path, 2, vec![edit(1, 4, 1, 5, "22"), edit(0, 0, 0, 0, "# x\n")], Encoding::Utf16);
        let doc = docs.get(&path).unwrap();
        assert_eq!((doc.text.as_str(), doc.version), ("# x\na = 1\nb = 22\n", 2));
        assert_eq!(docs.folders(), [PathBuf::from("/p")]);
        assert_eq!(docs.in_folder(Path::new("/p")).len(), 1);
    }
}
