//! Positions: byte offsets (the compiler's spans) to and from LSP positions, whose characters are
//! counted in UTF-16 code units (the protocol's default encoding, the only one this server
//! offers). `Ұ`, `ё` and `₸` are one unit each, an emoji outside the Basic Multilingual Plane two.

use lsp_types::{Position, Range};

/// The LSP position of a byte offset (clamped to the text, and back to a character boundary).
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map(|index| index + 1).unwrap_or(0);
    let line = before.matches('\n').count();
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    Position::new(line as u32, character as u32)
}

/// The LSP range of a byte range.
pub fn range(text: &str, start: usize, end: usize) -> Range {
    Range::new(position(text, start), position(text, end))
}

/// The byte offset of an LSP position; a position past the end of its line is the line's end,
/// one past the last line the end of the text.
pub fn offset(text: &str, position: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..position.line {
        match text[line_start..].find('\n') {
            Some(index) => line_start += index + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..]
        .find('\n')
        .map(|index| line_start + index)
        .unwrap_or(text.len());
    let mut units = 0usize;
    for (index, character) in text[line_start..line_end].char_indices() {
        if units >= position.character as usize {
            return line_start + index;
        }
        units += character.len_utf16();
    }
    line_end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case: a text, a byte offset, and the line and UTF-16 character it must map to.
    fn check(text: &str, offset_in_bytes: usize, line: u32, character: u32) {
        let found = position(text, offset_in_bytes);
        assert_eq!(
            found,
            Position::new(line, character),
            "position of {offset_in_bytes} in {text:?}"
        );
        assert_eq!(
            offset(text, found),
            offset_in_bytes,
            "offset of {found:?} in {text:?}"
        );
    }

    #[test]
    fn positions_count_utf16_code_units() {
        check("abc", 2, 0, 2);
        check("Ұлт x", "Ұлт ".len(), 0, 4);
        check("ё₸ x", "ё₸ ".len(), 0, 3);
        check("a\n😀 x", "a\n😀 ".len(), 1, 3);
        check("a\r\nб y", "a\r\nб ".len(), 1, 2);
    }
}
