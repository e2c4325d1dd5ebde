//! Diagnostics: problems collected (never thrown at the first one), each pointing at a file,
//! line, column and span, rendered by miette for people and as JSON for machines.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// A loaded source file with a line index, shared by every diagnostic that points into it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the working folder where possible).
    pub name: String,
    pub path: PathBuf,
    /// The text spans point into (what the parser read).
    pub text: String,
    /// The text as written, when the parser read it with newlines inserted (see
    /// [`crate::config::syntax`]); diagnostics show this one.
    written: Option<String>,
    /// Offsets in `text` of the inserted newlines, ascending.
    inserted: Vec<usize>,
    /// Line starts of the text as written.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl AsRef<Path>, name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        let text = text.into();
        let line_starts = line_starts(&text);
        Arc::new(SourceFile {
            name: name.into(),
            path: path.as_ref().to_path_buf(),
            text,
            written: None,
            inserted: Vec::new(),
            line_starts,
        })
    }

    /// A file the parser reads as `parsed`: `written` with a newline inserted before each offset
    /// of `inserted_at` (offsets in `written`, ascending). Spans index `parsed`; positions and
    /// snippets are shown in `written`.
    pub fn normalized(
        path: impl AsRef<Path>,
        name: impl Into<String>,
        written: String,
        parsed: String,
        inserted_at: &[usize],
    ) -> Arc<Self> {
        let inserted = inserted_at.iter().enumerate().map(|(n, at)| at + n).collect();
        Arc::new(SourceFile {
            name: name.into(),
            path: path.as_ref().to_path_buf(),
            text: parsed,
            line_starts: line_starts(&written),
            written: Some(written),
            inserted,
        })
    }

    /// The text as the user wrote it.
    pub fn written(&self) -> &str {
        self.written.as_deref().unwrap_or(&self.text)
    }

    /// The offset in the written text of an offset in [`SourceFile::text`].
    pub fn written_offset(&self, offset: usize) -> usize {
        offset - self.inserted.partition_point(|&p| p < offset)
    }

    /// 1-based line and column (in characters) of a byte offset (into [`SourceFile::text`]).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.written();
        let offset = self.written_offset(offset.min(self.text.len())).min(text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = text.get(start..offset).map(|s| s.chars().count()).unwrap_or(offset - start);
        (line + 1, col + 1)
    }

    /// A span of [`SourceFile::text`] as a span of the written text.
    pub fn written_span(&self, span: &Range<usize>) -> Range<usize> {
        let start = self.written_offset(span.start);
        start..self.written_offset(span.end).max(start)
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.written();
        let inner = text.read_span(span, context_lines_before, context_lines_after)?;
        // Columns in characters, like line_col and the JSON output (miette counts bytes).
        let start = inner.span().offset().min(text.len());
        let line_start = text.get(..start).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
        let column = text.get(line_start..start).map_or(inner.column(), |s| s.chars().count());
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.clone(),
                inner.data(),
                *inner.span(),
                inner.line(),
                column,
                inner.line_count(),
            )
            .with_language("hcl"),
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A place in a source file.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: Arc<SourceFile>,
    pub span: Range<usize>,
}

impl Location {
    pub fn new(file: &Arc<SourceFile>, span: Range<usize>) -> Self {
        Location { file: file.clone(), span }
    }
}

/// One problem, with where it is and what to do about it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code such as `pmx::config::unknown_attribute`.
    pub code: Option<String>,
    pub message: String,
    pub location: Option<Location>,
    /// The text shown under the span.
    pub label: Option<String>,
    pub help: Option<String>,
    /// More labelled spans in the same file as `location` (the second of two clashing attributes).
    pub more_labels: Vec<(Range<usize>, String)>,
    /// Further places that belong to the same problem (each step of a cycle, say).
    pub related: Vec<Diagnostic>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: None,
            message: message.into(),
            location: None,
            label: None,
            help: None,
            more_labels: Vec::new(),
            related: Vec::new(),
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(message) }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn at(mut self, file: &Arc<SourceFile>, span: Range<usize>, label: impl Into<String>) -> Self {
        self.location = Some(Location::new(file, span));
        self.label = Some(label.into());
        self
    }

    /// Another labelled span in the file of the diagnostic's location.
    pub fn with_label(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        self.more_labels.push((span, label.into()));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, related: Diagnostic) -> Self {
        self.related.push(related);
        self
    }

    /// `file:line:col` of the start of the span, if there is one.
    pub fn position(&self) -> Option<(String, usize, usize)> {
        self.location.as_ref().map(|l| {
            let (line, col) = l.file.line_col(l.span.start);
            (l.file.name.clone(), line, col)
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "label": self.label,
            "help": self.help,
        });
        if let Some(l) = &self.location {
            let (line, column) = l.file.line_col(l.span.start);
            let (end_line, end_column) = l.file.line_col(l.span.end);
            let bytes = l.file.written_span(&l.span);
            v["range"] = serde_json::json!({
                "file": l.file.name,
                "start": {"line": line, "column": column, "byte": bytes.start},
                "end": {"line": end_line, "column": end_column, "byte": bytes.end},
            });
        }
        if let (Some(l), false) = (&self.location, self.more_labels.is_empty()) {
            v["more_labels"] = self
                .more_labels
                .iter()
                .map(|(r, label)| {
                    let (line, column) = l.file.line_col(r.start);
                    let byte = l.file.written_offset(r.start);
                    serde_json::json!({"label": label, "line": line, "column": column, "byte": byte})
                })
                .collect();
        }
        if !self.related.is_empty() {
            v["related"] = self.related.iter().map(Diagnostic::to_json).collect();
        }
        v
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl Diagnostic {
    /// Whether a related diagnostic points into the same file as this one.
    fn shares_file(&self, other: &Diagnostic) -> bool {
        match (&self.location, &other.location) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.file, &b.file) || a.file.name == b.file.name,
            _ => false,
        }
    }

    /// The spans and labels of related diagnostics in this diagnostic's file.
    fn related_in_file(&self) -> impl Iterator<Item = (&Range<usize>, &str)> + '_ {
        self.related.iter().filter(|d| self.shares_file(d)).filter_map(|d| {
            let l = d.location.as_ref()?;
            Some((&l.span, d.label.as_deref().unwrap_or(d.message.as_str())))
        })
    }
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.as_ref().map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.location.as_ref().map(|l| &*l.file as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let l = self.location.as_ref()?;
        let span = SourceSpan::from(l.file.written_span(&l.span));
        let more = self.more_labels.iter().map(|(r, label)| {
            LabeledSpan::new_with_span(Some(label.clone()), SourceSpan::from(l.file.written_span(r)))
        });
        // Related places in the same file (a cycle's other steps, "first declared here") are
        // labels of this report; miette would print each as a separate, headerless "Error:".
        let same_file = self.related_in_file().map(|(r, label)| {
            LabeledSpan::new_with_span(Some(label.to_string()), SourceSpan::from(l.file.written_span(r)))
        });
        Some(Box::new(
            std::iter::once(LabeledSpan::new_primary_with_span(self.label.clone(), span)).chain(more).chain(same_file),
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        let elsewhere: Vec<&Diagnostic> = self.related.iter().filter(|d| !self.shares_file(d)).collect();
        if elsewhere.is_empty() {
            return None;
        }
        Some(Box::new(elsewhere.into_iter().map(|d| d as &dyn miette::Diagnostic)))
    }
}

/// Every problem found, in the order found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Sorted by file, then position, so output is stable whatever order checks ran in.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            let ka = a.location.as_ref().map(|l| (l.file.name.clone(), l.span.start));
            let kb = b.location.as_ref().map(|l| (l.file.name.clone(), l.span.start));
            ka.cmp(&kb)
        });
        self
    }

    /// Renders every diagnostic for a terminal (colour only when asked).
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&render_one(d, color));
        }
        let errors = self.errors().count();
        let warnings = self.0.len() - errors;
        if errors > 0 || warnings > 0 {
            out.push_str(&format!(
                "{} error{}, {} warning{}\n",
                errors,
                if errors == 1 { "" } else { "s" },
                warnings,
                if warnings == 1 { "" } else { "s" }
            ));
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": !self.has_errors(),
            "error_count": self.errors().count(),
            "warning_count": self.0.len() - self.errors().count(),
            "diagnostics": self.0.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
        })
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Renders one diagnostic with miette's graphical handler, 100 columns wide, no unicode
/// decorations when colour is off, so snapshots stay stable.
pub fn render_one(d: &dyn miette::Diagnostic, color: bool) -> String {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, d).is_err() {
        out = format!("{d}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let f = SourceFile::new("a.pmx", "a.pmx", "ab\ncdé\nx");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (2, 4)); // after the two-byte é
        assert_eq!(f.line_col(8), (3, 1));
    }

    #[test]
    fn human_and_json_columns_count_characters() {
        let f = SourceFile::new("m.pmx", "m.pmx", "x = { a = \"日本語\", idd = 1 }\n");
        let d = Diagnostic::error("unknown").at(&f, 23..26, "here");
        let out = Diagnostics::from(d.clone()).render(false);
        assert!(out.contains("m.pmx:1:18"), "{out}");
        assert_eq!(d.to_json()["range"]["start"]["column"], 18);
    }

    #[test]
    fn renders_file_line_and_label() {
        let f = SourceFile::new("main.pmx", "main.pmx", "resource \"vm\" \"a\" {\n  nmae = 1\n}\n");
        let d = Diagnostic::error("unknown attribute \"nmae\"")
            .at(&f, 22..26, "not an attribute of vm")
            .with_help("did you mean \"name\"?");
        let out = Diagnostics::from(d).render(false);
        assert!(out.contains("main.pmx:2:3"), "{out}");
        assert!(out.contains("not an attribute of vm"), "{out}");
        assert!(out.contains("did you mean"), "{out}");
    }
}
