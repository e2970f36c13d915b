//! The one HTML escaping function of the workspace: the explanation page, the impact page, the
//! policy documentation and the commission's app all write text through it.

/// Text made safe to put in HTML: between tags, and in an attribute value quoted with either
/// `"` or `'`. The five characters HTML gives a meaning to are written as references; every other
/// character is kept as it is (the pages are UTF-8).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn the_five_characters_with_a_meaning_in_html_are_written_as_references() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img onerror=alert(1)>"),
            "&quot;&gt;&lt;img onerror=alert(1)&gt;"
        );
        assert_eq!(
            escape("Дереккөз: № 160 — 1 500 ₸"),
            "Дереккөз: № 160 — 1 500 ₸"
        );
        assert_eq!(escape(""), "");
    }
}
