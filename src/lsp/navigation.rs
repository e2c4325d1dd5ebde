//! Go to definition, find references and rename, across every file of the folder.

use std::collections::HashMap;

use lsp_types::{Location, TextEdit, Url, WorkspaceEdit};

use super::index::{Folder, Symbol};
use super::position::{Encoding, LineIndex};
use crate::addr::Mode;

fn location(folder: &Folder, file: usize, span: &std::ops::Range<usize>, encoding: Encoding) -> Location {
    let source = &folder.files[file];
    Location::new(source.uri.clone(), LineIndex::new(&source.text, encoding).range(span))
}

/// Where the symbol at `offset` is declared.
pub fn definition(folder: &Folder, file: usize, offset: usize, encoding: Encoding) -> Option<Location> {
    let (symbol, _) = folder.symbol_at(file, offset)?;
    let d = folder.declaration(&symbol)?;
    Some(location(folder, d.file, &d.name.span, encoding))
}

/// Every reference to the symbol at `offset` (and its declaration, when asked).
pub fn references(
    folder: &Folder,
    file: usize,
    offset: usize,
    with_declaration: bool,
    encoding: Encoding,
) -> Vec<Location> {
    let Some((symbol, _)) = folder.symbol_at(file, offset) else { return Vec::new() };
    let mut out = Vec::new();
    if with_declaration {
        if let Some(d) = folder.declaration(&symbol) {
            out.push(location(folder, d.file, &d.name.span, encoding));
        }
    }
    out.extend(folder.occurrences(&symbol).iter().map(|o| location(folder, o.file, &o.reference.span(), encoding)));
    out
}

/// The name that a rename at `offset` would change, if it can be renamed.
pub fn prepare_rename(
    folder: &Folder,
    file: usize,
    offset: usize,
    encoding: Encoding,
) -> Result<lsp_types::Range, String> {
    let (symbol, span) = folder.symbol_at(file, offset).ok_or("nothing to rename here")?;
    renameable(folder, &symbol)?;
    Ok(LineIndex::new(&folder.files[file].text, encoding).range(&span))
}

fn renameable(folder: &Folder, symbol: &Symbol) -> Result<(), String> {
    match symbol {
        Symbol::Resource(_) | Symbol::Local(_) => {}
        Symbol::Variable(n) => {
            return Err(format!(
                "var.{n} is also named outside these files (--var, PMX_VAR_{n}, .pmxvars files); rename it by hand"
            ))
        }
        Symbol::Output(n) => return Err(format!("output {n} is read by name outside these files; rename it by hand")),
    }
    if folder.declaration(symbol).is_none() {
        return Err(format!("{symbol} is not declared in this folder"));
    }
    Ok(())
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Renames the resource, data source or local at `offset` and every reference to it. A managed
/// resource also gets a `moved` block after it, so the next plan moves its state to the new
/// address instead of destroying the guest and creating it again.
pub fn rename(
    folder: &Folder,
    file: usize,
    offset: usize,
    new_name: &str,
    encoding: Encoding,
) -> Result<WorkspaceEdit, String> {
    let (symbol, _) = folder.symbol_at(file, offset).ok_or("nothing to rename here")?;
    renameable(folder, &symbol)?;
    if !is_identifier(new_name) {
        return Err(format!("{new_name:?} is not a name: use letters, digits, _ and -, starting with a letter or _"));
    }
    let renamed = match &symbol {
        Symbol::Resource(a) => Symbol::Resource(crate::addr::ConfigAddress { name: new_name.to_string(), ..a.clone() }),
        Symbol::Local(_) => Symbol::Local(new_name.to_string()),
        other => other.clone(),
    };
    if folder.declaration(&renamed).is_some() {
        return Err(format!("{renamed} is already declared"));
    }
    let declaration = folder.declaration(&symbol).ok_or("not declared")?;
    let mut changes: HashMap<Url, Vec<TextEdit>> = HashMap::new();
    let mut edit = |file: usize, span: &std::ops::Range<usize>, text: String| {
        let source = &folder.files[file];
        let range = LineIndex::new(&source.text, encoding).range(span);
        changes.entry(source.uri.clone()).or_default().push(TextEdit::new(range, text));
    };
    edit(declaration.file, &declaration.name.span, new_name.to_string());
    for o in folder.occurrences(&symbol) {
        edit(o.file, &o.name.span, new_name.to_string());
    }
    if let Symbol::Resource(old) = &symbol {
        if old.mode == Mode::Managed {
            let end = declaration.block.span.end;
            let moved = format!("\n\nmoved {{\n  from = {old}\n  to   = {renamed}\n}}");
            edit(declaration.file, &(end..end), moved);
        }
    }
    Ok(WorkspaceEdit { changes: Some(changes), ..Default::default() })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn folder() -> Folder {
        let files = HashMap::from([
            (PathBuf::from("/p/a.pmx"), "resource \"pool\" \"web\" {\n  comment = \"x\"\n}\n".to_string()),
            (
                PathBuf::from("/p/b.pmx"),
                "variable \"n\" {}\nresource \"vm\" \"web\" {\n  pool = pool.web.id\n  depends_on = [pool.web]\n}\n"
                    .to_string(),
            ),
        ]);
        Folder::load(Path::new("/p"), &files)
    }

    #[test]
    fn definition_and_references_cross_files() {
        let f = folder();
        let b = f.file(Path::new("/p/b.pmx")).unwrap();
        let at = f.files[b].text.find("pool.web.id").unwrap() + 5;
        let def = definition(&f, b, at, Encoding::Utf8).expect("found");
        assert!(def.uri.path().ends_with("/a.pmx"));
        assert_eq!(def.range.start, lsp_types::Position::new(0, 17));
        let refs = references(&f, b, at, true, Encoding::Utf8);
        assert_eq!(refs.len(), 3, "{refs:?}");
    }

    #[test]
    fn renaming_a_resource_edits_every_reference_and_records_the_move() {
        let f = folder();
        let a = f.file(Path::new("/p/a.pmx")).unwrap();
        let edit = rename(&f, a, 18, "front", Encoding::Utf8).expect("renames");
        let changes = edit.changes.unwrap();
        let in_a = &changes[&f.files[a].uri];
        assert_eq!(in_a.len(), 2);
        assert!(in_a[1].new_text.contains("from = pool.web\n  to   = pool.front"), "{in_a:?}");
        let b = f.file(Path::new("/p/b.pmx")).unwrap();
        assert_eq!(changes[&f.files[b].uri].len(), 2);
        assert!(rename(&f, a, 18, "9x", Encoding::Utf8).is_err());
        let var_at = f.files[b].text.find("\"n\"").unwrap() + 1;
        assert!(prepare_rename(&f, b, var_at, Encoding::Utf8).unwrap_err().contains("PMX_VAR_n"));
    }
}
