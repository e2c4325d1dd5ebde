//! Document symbols: the outline of one file (blocks, their nested blocks and attributes), as
//! editors show it in their outline view and breadcrumbs.

use lsp_types::{DocumentSymbol, SymbolKind};

use super::outline::{Attribute, Block, Outline};
use super::position::LineIndex;

pub fn document_symbols(outline: &Outline, index: &LineIndex) -> Vec<DocumentSymbol> {
    let mut out: Vec<DocumentSymbol> = outline.blocks.iter().map(|b| block(b, index, true)).collect();
    out.extend(outline.attributes.iter().map(|a| attribute(a, index, SymbolKind::PROPERTY)));
    out
}

#[allow(deprecated)] // `deprecated` is a field every DocumentSymbol must still spell out
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    range: lsp_types::Range,
    selection: lsp_types::Range,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name: if name.is_empty() { "?".into() } else { name },
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: (!children.is_empty()).then_some(children),
    }
}

fn block(b: &Block, index: &LineIndex, top: bool) -> DocumentSymbol {
    let labels: Vec<&str> = b.labels.iter().map(|l| l.text.as_str()).collect();
    let (name, detail, kind) = match (top, b.ident.text.as_str(), labels.as_slice()) {
        (true, "resource", [t, n, ..]) => (format!("{t}.{n}"), Some("resource".to_string()), SymbolKind::OBJECT),
        (true, "data", [t, n, ..]) => (format!("data.{t}.{n}"), Some("data source".to_string()), SymbolKind::STRUCT),
        (true, "variable", [n, ..]) => (format!("var.{n}"), Some("variable".to_string()), SymbolKind::VARIABLE),
        (true, "output", [n, ..]) => (n.to_string(), Some("output".to_string()), SymbolKind::EVENT),
        (true, "provider", _) => {
            (format!("provider {}", labels.join(" ")).trim_end().to_string(), None, SymbolKind::MODULE)
        }
        (true, "locals", _) => ("locals".to_string(), None, SymbolKind::NAMESPACE),
        (true, ident, _) => (ident.to_string(), None, SymbolKind::PACKAGE),
        (false, ident, []) => (ident.to_string(), None, SymbolKind::STRUCT),
        (false, ident, labels) => (format!("{ident} \"{}\"", labels.join("\" \"")), None, SymbolKind::STRUCT),
    };
    let attribute_kind = if top && b.ident.text == "locals" { SymbolKind::CONSTANT } else { SymbolKind::PROPERTY };
    let mut children: Vec<DocumentSymbol> = b.attributes.iter().map(|a| attribute(a, index, attribute_kind)).collect();
    children.extend(b.blocks.iter().map(|inner| block(inner, index, false)));
    children.sort_by_key(|s| (s.range.start.line, s.range.start.character));
    let selection = b.labels.last().map_or(&b.ident.span, |l| &l.span);
    symbol(name, detail, kind, index.range(&b.span), index.range(selection), children)
}

fn attribute(a: &Attribute, index: &LineIndex, kind: SymbolKind) -> DocumentSymbol {
    symbol(a.name.text.clone(), None, kind, index.range(&a.span()), index.range(&a.name.span), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::super::position::Encoding;
    use super::*;

    #[test]
    fn blocks_become_named_symbols_with_children() {
        let src = "variable \"n\" {}\nlocals {\n  a = 1\n}\nresource \"vm\" \"web\" {\n  name = \"w\"\n  disk \"scsi0\" {\n    size = \"8G\"\n  }\n}\n";
        let outline = Outline::parse(src);
        let syms = document_symbols(&outline, &LineIndex::new(src, Encoding::Utf16));
        let names: Vec<&str> = syms.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["var.n", "locals", "vm.web"]);
        let vm = &syms[2];
        let children: Vec<&str> = vm.children.iter().flatten().map(|s| s.name.as_str()).collect();
        assert_eq!(children, ["name", "disk \"scsi0\""]);
        assert_eq!(vm.range.end.line, 9);
        assert_eq!(syms[1].children.as_ref().unwrap()[0].kind, SymbolKind::CONSTANT);
    }
}
