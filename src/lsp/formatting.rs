//! Formatting through `pmx fmt`'s own code ([`crate::config::format`]): one edit replacing the
//! whole text, or none when it is already in the canonical style.

use lsp_types::{Position, Range, TextEdit};

use super::position::{Encoding, LineIndex};

/// The edits that make `text` canonical; an error when it does not parse.
pub fn format(text: &str, encoding: Encoding) -> Result<Vec<TextEdit>, String> {
    let formatted = crate::config::format::format(text).map_err(|e| format!("cannot format: {e}"))?;
    if formatted == text {
        return Ok(Vec::new());
    }
    let end = LineIndex::new(text, encoding).position(text.len());
    Ok(vec![TextEdit::new(Range::new(Position::new(0, 0), end), formatted)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_pmx_fmt_and_refuses_broken_text() {
        let edits = format("locals {\n a=1\n    bb = 2\n}\n", Encoding::Utf16).expect("formats");
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].new_text, "locals {\n  a  = 1\n  bb = 2\n}\n");
        assert_eq!(edits[0].range.end, Position::new(4, 0));
        assert!(format("locals {\n  a = 1\n}\n", Encoding::Utf16).expect("formats").is_empty());
        assert!(format("locals {\n  a = \n", Encoding::Utf16).is_err());
    }
}
