//! A folder's configuration as the editor sees it (open buffers over the files on disk) and its
//! symbols: where each variable, local, resource, data source and output is declared, and every
//! place a reference names one. Go to definition, find references, rename and completion of
//! names read this.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types::Url;

use super::outline::{Block, Name, Outline, Reference};
use crate::addr::ConfigAddress;

/// One file of the folder.
#[derive(Debug)]
pub struct SourceText {
    pub path: PathBuf,
    pub uri: Url,
    pub text: String,
    pub outline: Outline,
}

impl SourceText {
    pub fn new(path: PathBuf, text: String) -> Option<SourceText> {
        let uri = Url::from_file_path(&path).ok()?;
        let outline = Outline::parse(&text);
        Some(SourceText { path, uri, text, outline })
    }
}

/// Something declared that references can name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Symbol {
    Variable(String),
    Local(String),
    Resource(ConfigAddress),
    Output(String),
}

impl std::fmt::Display for Symbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Symbol::Variable(n) => write!(f, "var.{n}"),
            Symbol::Local(n) => write!(f, "local.{n}"),
            Symbol::Resource(a) => write!(f, "{a}"),
            Symbol::Output(n) => write!(f, "output.{n}"),
        }
    }
}

/// Where a symbol is declared.
#[derive(Debug, Clone)]
pub struct Declaration<'a> {
    pub symbol: Symbol,
    pub file: usize,
    /// The name as written (the label text, or a local's key).
    pub name: &'a Name,
    /// The declaring block (for a local, its `locals` block).
    pub block: &'a Block,
    /// A local's value, as written.
    pub value: Option<Range<usize>>,
}

/// A place that names a symbol.
#[derive(Debug, Clone)]
pub struct Occurrence<'a> {
    pub symbol: Symbol,
    pub file: usize,
    pub reference: &'a Reference,
    /// The part that is the symbol's own name (`web` in `vm.web.vmid`).
    pub name: &'a Name,
}

/// What a reference names, and which of its parts is the name.
pub fn symbol_of(reference: &Reference) -> Option<(Symbol, usize)> {
    let part = |i: usize| reference.parts.get(i).map(|p| p.text.as_str()).filter(|t| !t.is_empty());
    match part(0)? {
        "var" => Some((Symbol::Variable(part(1)?.to_string()), 1)),
        "local" => Some((Symbol::Local(part(1)?.to_string()), 1)),
        "data" => Some((Symbol::Resource(ConfigAddress::data(part(1)?, part(2)?)), 2)),
        "count" | "each" | "path" | "self" | "terraform" | "module" => None,
        type_name => Some((Symbol::Resource(ConfigAddress::managed(type_name, part(1)?)), 1)),
    }
}

/// Every file of one folder.
#[derive(Debug)]
pub struct Folder {
    pub dir: PathBuf,
    pub files: Vec<Arc<SourceText>>,
}

/// Outlines already read, by path: a file whose text has not changed is not read again (a
/// request in a folder of 10,000 blocks then costs reading the files, not outlining them).
#[derive(Debug, Default)]
pub struct Cache {
    files: HashMap<PathBuf, Arc<SourceText>>,
}

impl Folder {
    /// The folder's `*.pmx` files, each from its buffer when open, else from disk.
    pub fn load(dir: &Path, buffers: &HashMap<PathBuf, String>) -> Folder {
        Folder::load_cached(dir, buffers, &mut Cache::default())
    }

    /// [`Folder::load`], reusing the outlines in `cache` of files whose text is unchanged.
    pub fn load_cached(dir: &Path, buffers: &HashMap<PathBuf, String>, cache: &mut Cache) -> Folder {
        cache.files.retain(|p, _| p.parent() != Some(dir) || p.exists() || buffers.contains_key(p));
        let mut paths = crate::config::config_files(dir).unwrap_or_default();
        paths.extend(buffers.keys().filter(|p| p.parent() == Some(dir)).cloned());
        paths.sort();
        paths.dedup();
        let files = paths
            .into_iter()
            .filter_map(|path| {
                let text = match buffers.get(&path) {
                    Some(text) => text.clone(),
                    None => std::fs::read_to_string(&path).ok()?,
                };
                if let Some(known) = cache.files.get(&path).filter(|k| k.text == text) {
                    return Some(known.clone());
                }
                let source = Arc::new(SourceText::new(path.clone(), text)?);
                cache.files.insert(path, source.clone());
                Some(source)
            })
            .collect();
        Folder { dir: dir.to_path_buf(), files }
    }

    pub fn file(&self, path: &Path) -> Option<usize> {
        self.files.iter().position(|f| f.path == path)
    }

    pub fn declarations(&self) -> Vec<Declaration<'_>> {
        let mut out = Vec::new();
        for (file, source) in self.files.iter().enumerate() {
            for block in &source.outline.blocks {
                let label = |i: usize| block.labels.get(i).filter(|l| !l.text.is_empty());
                let mut declare = |symbol, name| out.push(Declaration { symbol, file, name, block, value: None });
                match block.ident.text.as_str() {
                    "variable" => {
                        if let Some(l) = label(0) {
                            declare(Symbol::Variable(l.text.clone()), l);
                        }
                    }
                    "output" => {
                        if let Some(l) = label(0) {
                            declare(Symbol::Output(l.text.clone()), l);
                        }
                    }
                    "resource" | "data" => {
                        if let (Some(t), Some(n)) = (label(0), label(1)) {
                            let addr = if block.ident.text == "data" {
                                ConfigAddress::data(&t.text, &n.text)
                            } else {
                                ConfigAddress::managed(&t.text, &n.text)
                            };
                            declare(Symbol::Resource(addr), n);
                        }
                    }
                    "locals" => {
                        for a in &block.attributes {
                            out.push(Declaration {
                                symbol: Symbol::Local(a.name.text.clone()),
                                file,
                                name: &a.name,
                                block,
                                value: Some(a.value.clone()),
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    pub fn declaration(&self, symbol: &Symbol) -> Option<Declaration<'_>> {
        self.declarations().into_iter().find(|d| &d.symbol == symbol)
    }

    pub fn occurrences(&self, symbol: &Symbol) -> Vec<Occurrence<'_>> {
        let mut out = Vec::new();
        for (file, source) in self.files.iter().enumerate() {
            for reference in &source.outline.references {
                if let Some((s, part)) = symbol_of(reference) {
                    if &s == symbol {
                        out.push(Occurrence { symbol: s, file, reference, name: &reference.parts[part] });
                    }
                }
            }
        }
        out
    }

    /// The symbol named or declared at `offset` of file `file`, with the span of its name there.
    pub fn symbol_at(&self, file: usize, offset: usize) -> Option<(Symbol, Range<usize>)> {
        let source = self.files.get(file)?;
        if let Some((reference, _)) = source.outline.reference_at(offset) {
            if let Some((symbol, part)) = symbol_of(reference) {
                return Some((symbol, reference.parts[part].span.clone()));
            }
        }
        self.declarations()
            .into_iter()
            .find(|d| d.file == file && d.name.span.start <= offset && offset <= d.name.span.end)
            .map(|d| (d.symbol, d.name.span.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> Folder {
        let buffers = files.iter().map(|(n, t)| (PathBuf::from("/nowhere").join(n), t.to_string())).collect();
        Folder::load(Path::new("/nowhere"), &buffers)
    }

    #[test]
    fn declarations_and_references_across_files() {
        let f = folder(&[
            ("a.pmx", "variable \"n\" {}\nlocals {\n  tags = [\"x\"]\n}\nresource \"pool\" \"web\" {}\n"),
            ("b.pmx", "resource \"vm\" \"web\" {\n  count = var.n\n  pool = pool.web.id\n  tags = local.tags\n}\noutput \"o\" {\n  value = vm.web[0].vmid\n}\n"),
        ]);
        let symbols: Vec<String> = f.declarations().iter().map(|d| d.symbol.to_string()).collect();
        assert_eq!(symbols, ["var.n", "local.tags", "pool.web", "vm.web", "output.o"]);
        let pool = Symbol::Resource(ConfigAddress::managed("pool", "web"));
        let uses = f.occurrences(&pool);
        assert_eq!(uses.len(), 1);
        assert_eq!((uses[0].file, uses[0].name.text.as_str()), (1, "web"));
        let b = &f.files[1].text;
        let at = b.find("pool.web").unwrap() + 6;
        assert_eq!(f.symbol_at(1, at).map(|(s, _)| s), Some(pool));
        let at = b.find("\"web\"").unwrap() + 2;
        assert_eq!(f.symbol_at(1, at).map(|(s, _)| s.to_string()), Some("vm.web".into()));
        assert_eq!(f.occurrences(&Symbol::Variable("n".into())).len(), 1);
    }
}

/// The forgiving outline must find exactly the references the loader's graph finds, on every
/// example project (the graph's reader is [`crate::graph::refs`], over hcl-edit's syntax tree).
#[cfg(test)]
mod agree_with_the_graph {
    use std::collections::BTreeSet;

    use hcl_edit::structure::Body;

    use super::*;
    use crate::graph::refs::{collect, RefTarget};

    fn graph_references(body: &Body, parent: Option<&str>, out: &mut Vec<(String, Range<usize>)>) {
        for structure in body.iter() {
            if let Some(attr) = structure.as_attribute() {
                let key = attr.key.as_str();
                if key == "ignore_changes" || (parent == Some("variable") && key == "type") {
                    continue;
                }
                let (mut refs, mut bad) = (Vec::new(), Vec::new());
                collect(&attr.value, &mut refs, &mut bad);
                for r in refs {
                    let name = match r.target {
                        RefTarget::Var(n) => format!("var.{n}"),
                        RefTarget::Local(n) => format!("local.{n}"),
                        RefTarget::Resource(a) => a.to_string(),
                        _ => continue,
                    };
                    out.push((name, r.span));
                }
            } else if let Some(block) = structure.as_block() {
                graph_references(&block.body, Some(block.ident.as_str()), out);
            }
        }
    }

    #[test]
    fn on_every_example() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut checked = 0;
        for dir in std::fs::read_dir(&root).expect("examples").filter_map(Result::ok) {
            for path in crate::config::config_files(&dir.path()).unwrap_or_default() {
                let text = std::fs::read_to_string(&path).expect("read");
                let file = crate::diag::SourceFile::new(&path, "x.pmx", text.clone());
                let parsed = crate::config::syntax::parse_source(&file).expect("examples parse");
                let mut expected = Vec::new();
                graph_references(&parsed.body, None, &mut expected);
                let expected: BTreeSet<(String, usize, usize)> = expected
                    .into_iter()
                    .map(|(n, s)| {
                        let s = parsed.source.written_span(&s);
                        (n, s.start, s.end)
                    })
                    .collect();
                let outline = Outline::parse(&text);
                let got: BTreeSet<(String, usize, usize)> = outline
                    .references
                    .iter()
                    .filter_map(|r| {
                        let (symbol, part) = symbol_of(r)?;
                        Some((symbol.to_string(), r.parts[0].span.start, r.parts[part].span.end))
                    })
                    .collect();
                assert_eq!(got, expected, "{}", path.display());
                checked += expected.len();
            }
        }
        assert!(checked > 20, "only {checked} references checked");
    }
}
