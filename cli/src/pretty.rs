//! Pretty-printing of JSON text without reordering keys.
//!
//! The workspace's `serde_json` has no `preserve_order`, so parsing a decision into a
//! `serde_json::Value` and printing it again would sort its keys. Decisions are written with their
//! keys in declaration order on purpose, so this module re-indents the compact text token by
//! token instead: strings are copied verbatim (escapes included), numbers and literals too.

/// Re-indents JSON text with two spaces per level, keeping every token and the key order.
/// Empty objects and arrays stay `{}` and `[]`. Whitespace outside strings is dropped. Text that
/// is not valid JSON is re-indented as far as it goes, never rejected.
pub fn pretty_json(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth: usize = 0;
    let mut chars = compact.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '"' => {
                out.push('"');
                let mut escaped = false;
                for inner in chars.by_ref() {
                    out.push(inner);
                    if escaped {
                        escaped = false;
                    } else if inner == '\\' {
                        escaped = true;
                    } else if inner == '"' {
                        break;
                    }
                }
            }
            '{' | '[' => {
                out.push(character);
                let closing = if character == '{' { '}' } else { ']' };
                while chars.peek().is_some_and(|next| next.is_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&closing) {
                    chars.next();
                    out.push(closing);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(character);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            whitespace if whitespace.is_whitespace() => {}
            other => out.push(other),
        }
    }
    out
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::pretty_json;

    #[test]
    fn keeps_key_order_and_strings() {
        let text = r#"{"z":1,"a":{"b":[1,2],"e":{},"f":[]},"s":"a,b:{\"x\"}"}"#;
        let pretty = pretty_json(text);
        assert_eq!(
            pretty,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"b\": [\n      1,\n      2\n    ],\n    \"e\": {},\n    \"f\": []\n  },\n  \"s\": \"a,b:{\\\"x\\\"}\"\n}"
        );
        let reparsed: serde_json::Value = serde_json::from_str(&pretty).unwrap_or_default();
        let original: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        assert_eq!(reparsed, original);
    }

    #[test]
    fn handles_escaped_backslash_before_quote() {
        let text = r#"{"a":"x\\","b":2}"#;
        assert_eq!(pretty_json(text), "{\n  \"a\": \"x\\\\\",\n  \"b\": 2\n}");
    }
}
