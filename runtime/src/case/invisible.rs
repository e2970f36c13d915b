//! Invisible characters in case text: the byte-order mark that spreadsheet and Windows tools
//! write at the start of a file, and the zero-width and direction marks that copying from a
//! web page or a word processor leaves behind. None of them is JSON whitespace, so a parser
//! only says "expected value at line 1 column 1"; this module names them instead.
//!
//! The rule of every reader of case files (`ereje eval`, `explain`, `batch`, `diff --cases`,
//! CSV): a byte-order mark at the very start of a file is skipped (and said so); one anywhere
//! else, like any other character listed here outside a JSON string, is an error that names it.

/// The byte-order mark, U+FEFF.
pub const BYTE_ORDER_MARK: char = '\u{feff}';

/// The name of `character` when it is invisible (prints as nothing, or as a plain space while
/// not being one), else `None`.
pub fn name_of(character: char) -> Option<&'static str> {
    Some(match character {
        '\u{feff}' => "byte order mark",
        '\u{00a0}' => "no-break space",
        '\u{00ad}' => "soft hyphen",
        '\u{200b}' => "zero width space",
        '\u{200c}' => "zero width non-joiner",
        '\u{200d}' => "zero width joiner",
        '\u{200e}' => "left-to-right mark",
        '\u{200f}' => "right-to-left mark",
        '\u{2028}' => "line separator",
        '\u{2029}' => "paragraph separator",
        '\u{202a}'..='\u{202e}' => "direction embedding or override",
        '\u{2060}' => "word joiner",
        '\u{2066}'..='\u{2069}' => "direction isolate",
        _ => return None,
    })
}

/// `character` as an error message shows it: `U+FEFF (byte order mark)`.
pub fn describe(character: char) -> String {
    match name_of(character) {
        Some(name) => format!("U+{:04X} ({name})", u32::from(character)),
        None => format!("U+{:04X}", u32::from(character)),
    }
}

/// `text` without a byte-order mark at its start, and whether there was one.
pub fn strip_byte_order_mark(text: &str) -> (&str, bool) {
    match text.strip_prefix(BYTE_ORDER_MARK) {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// The first invisible character of JSON `text` that is outside a string, with its line and
/// column (both from 1, the column in characters).
pub fn first_outside_strings(text: &str) -> Option<(char, usize, usize)> {
    let (mut line, mut column) = (1, 0);
    let (mut in_string, mut escaped) = (false, false);
    for character in text.chars() {
        column += 1;
        if in_string {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                in_string = false;
            }
        } else if character == '"' {
            in_string = true;
        } else if name_of(character).is_some() {
            return Some((character, line, column));
        }
        if character == '\n' {
            line += 1;
            column = 0;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn invisible_characters_are_found_outside_strings_only() {
        /// An invisible character with its line and column.
        type Found = Option<(char, usize, usize)>;
        let cases: [(&str, Found); 5] = [
            ("{\"a\": 1}", None),
            ("\u{feff}{\"a\": 1}", Some(('\u{feff}', 1, 1))),
            ("{\"a\u{200b}\": 1}", None),
            (
                "{\"a\\\"\": 1,\n \u{200b}\"b\": 2}",
                Some(('\u{200b}', 2, 2)),
            ),
            ("{\"a\":\u{a0}1}", Some(('\u{a0}', 1, 6))),
        ];
        for (text, expected) in cases {
            assert_eq!(first_outside_strings(text), expected, "{text:?}");
        }
        assert_eq!(describe('\u{feff}'), "U+FEFF (byte order mark)");
        assert_eq!(strip_byte_order_mark("\u{feff}x"), ("x", true));
        assert_eq!(strip_byte_order_mark("x\u{feff}"), ("x\u{feff}", false));
    }
}
