//! The JSON text of values, written by hand into the output buffer: strings escaped only where
//! needed, numbers, dates, months and quarters without temporary strings, records and lists by
//! their declared types. The decision writer, the trace writer and the case reader's error paths
//! share it; it knows nothing of decisions, traces or cases.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use crate::ir::{JsonLiteral, Policy, Type, TypeDef};
use crate::value::{same_text, Date, Month, Quarter, Value};

type Json = serde_json::Value;

/// The key under which `serde_json` (with `arbitrary_precision`) hands a number's text to a
/// visitor, as a one-entry map.
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A short rendering of a JSON value for messages (long text is cut).
pub(crate) fn show(json: &Json) -> String {
    let text = match json {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Appends a key to a JSON pointer, escaping `~` and `/`.
pub(crate) fn push_key(path: &mut String, key: &str) {
    path.push('/');
    if !key.contains(['~', '/']) {
        path.push_str(key);
        return;
    }
    for character in key.chars() {
        match character {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            other => path.push(other),
        }
    }
}

/// Writes `text` as a JSON string.
pub(crate) fn write_json_string(out: &mut String, text: &str) {
    // Most text needs no escaping: copy it whole, with one capacity check for the quotes too.
    if !needs_escape(text.as_bytes()) {
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    write_escaped_json_string(out, text);
}

/// Writes `text`, which needs escaping, as a JSON string. Kept out of line: few texts need it,
/// and the escaping loop inlined into [`write_json_string`] made every call pay for a larger
/// function.
#[cold]
#[inline(never)]
fn write_escaped_json_string(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", control as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// Whether any byte of `bytes` must be escaped in a JSON string: a control character, a quote
/// or a backslash.
///
/// Eight bytes are tested at a time as one word (the classic "has a zero byte" and "has a byte
/// less than n" tricks, exact for the existence of such a byte), because a byte-at-a-time scan
/// with an early exit was a fifth of the time of writing a decision.
fn needs_escape(bytes: &[u8]) -> bool {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let length = bytes.len();
    let word_of = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    let half_word_of =
        |chunk: &[u8]| u64::from(u32::from_le_bytes(chunk.try_into().unwrap_or([0; 4])));
    // The marks of all the words are gathered and tested once: most texts need no escape, so a
    // loop without a branch per word is the fast one. (A piece of the wrong size, which cannot
    // happen, would read as control characters: the careful path then writes the text.) Texts shorter than a word are tested as
    // one word made of overlapping pieces (every byte at least once, some twice).
    let marks = if length >= 8 {
        let mut chunks = bytes.chunks_exact(8);
        let mut marks = 0;
        for chunk in &mut chunks {
            marks |= escape_marks(word_of(chunk));
        }
        if !chunks.remainder().is_empty() {
            marks |= escape_marks(word_of(bytes.get(length - 8..).unwrap_or_default()));
        }
        marks
    } else if length >= 4 {
        let first = half_word_of(bytes.get(..4).unwrap_or_default());
        let last = half_word_of(bytes.get(length - 4..).unwrap_or_default());
        escape_marks(first | (last << 32))
    } else if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) {
        let middle = bytes.get(length / 2).copied().unwrap_or(first);
        // The other five bytes are `A`, which needs no escape.
        let padding = 0x4141_4141_4100_0000u64;
        escape_marks(
            padding | u64::from(first) | (u64::from(middle) << 8) | (u64::from(last) << 16),
        )
    } else {
        0
    };
    marks & HIGH_BITS != 0
}

/// A word whose high bit is set in some byte when a byte of the eight in `word` is a control
/// character, a quote or a backslash (and only then, once masked with the high bits). The
/// lowest marked byte is the first such byte; bytes above it may be marked falsely, by a borrow.
pub(crate) fn escape_marks(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let zero_bytes = |word: u64| word.wrapping_sub(ONES) & !word;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    control
        | zero_bytes(word ^ (ONES * u64::from(b'"')))
        | zero_bytes(word ^ (ONES * u64::from(b'\\')))
}

/// The decimal digits of `magnitude` (at least one), written into the end of `buffer`.
fn digits_of(magnitude: u128, buffer: &mut [u8; 39]) -> &[u8] {
    // 39 digits hold any u128.
    // Division of a u128 is a library call: the digits of magnitudes that fit 64 bits (all
    // amounts in practice) are taken with 64-bit division.
    let mut position = buffer.len();
    let mut rest = magnitude;
    while rest > u128::from(u64::MAX) {
        position -= 1;
        buffer[position] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let mut rest = u64::try_from(rest).unwrap_or(0);
    loop {
        position -= 1;
        buffer[position] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &buffer[position..]
}

/// Appends ASCII digits (as bytes: no UTF-8 check is needed for them).
fn push_digits(out: &mut String, digits: &[u8]) {
    out.reserve(digits.len());
    for &digit in digits {
        out.push(char::from(digit));
    }
}

/// Writes the decimal digits of `magnitude` without the formatting machinery.
fn write_digits(out: &mut String, magnitude: u128) {
    let mut buffer = [0u8; 39];
    push_digits(out, digits_of(magnitude, &mut buffer));
}

/// Writes an integer as `Display` would (a minus sign, then the digits).
pub(crate) fn write_integer(out: &mut String, value: i64) {
    // Most integers written (counts, flags, trace points) are one digit: one character.
    if let Ok(digit @ 0..=9) = u8::try_from(value) {
        out.push(char::from(b'0' + digit));
        return;
    }
    if value < 0 {
        out.push('-');
    }
    write_digits(out, u128::from(value.unsigned_abs()));
}

/// Writes a number of exactly `width` digits, with leading zeros (`value` must fit).
fn write_padded(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width.saturating_sub(1));
    while divisor > 0 {
        out.push(char::from(b'0' + ((value / divisor) % 10) as u8));
        divisor /= 10;
    }
}

/// Writes a date as `YYYY-MM-DD` without allocating (years 0 to 9999; others by chrono).
pub(crate) fn write_date(out: &mut String, date: Date) {
    use chrono::Datelike as _;
    let year = date.year();
    match u32::try_from(year) {
        Ok(year) if year <= 9999 => {
            write_padded(out, year, 4);
            out.push('-');
            write_padded(out, date.month(), 2);
            out.push('-');
            write_padded(out, date.day(), 2);
        }
        _ => {
            let _ = write!(out, "{date}");
        }
    }
}

/// Writes a month as `YYYY-MM`, as its `Display` does.
fn write_month(out: &mut String, month: Month) {
    match u32::try_from(month.year) {
        Ok(year) if year <= 9999 && month.month <= 99 => {
            write_padded(out, year, 4);
            out.push('-');
            write_padded(out, month.month, 2);
        }
        _ => {
            let _ = write!(out, "{month}");
        }
    }
}

/// Writes a quarter as `YYYY-Qn`, as its `Display` does.
fn write_quarter(out: &mut String, quarter: Quarter) {
    match u32::try_from(quarter.year) {
        Ok(year) if year <= 9999 && quarter.quarter <= 9 => {
            write_padded(out, year, 4);
            out.push_str("-Q");
            write_padded(out, quarter.quarter, 1);
        }
        _ => {
            let _ = write!(out, "{quarter}");
        }
    }
}

/// Writes the digits of an `i128`, with a minus sign when it is negative.
fn write_integer_text(out: &mut String, value: i128) {
    if value < 0 {
        out.push('-');
    }
    let mut buffer = [0u8; 39];
    push_digits(out, digits_of(value.unsigned_abs(), &mut buffer));
}

/// Writes a decimal as a JSON string holding the text of its `Display` (scale kept, no
/// exponent), zero without a sign.
///
/// The digits come from the mantissa directly: `Display` goes through the formatting machinery
/// and a padding step, which was most of the cost of a decision's amounts.
fn write_decimal(out: &mut String, value: Decimal) {
    out.push('"');
    write_decimal_text(out, value);
    out.push('"');
}

/// The text of a decimal as its `Display` writes it, except that zero has no sign: the
/// mantissa's digits, with a point `scale` digits from the right (and zeros before them when
/// the mantissa has fewer digits than that).
fn write_decimal_text(out: &mut String, value: Decimal) {
    let mantissa = value.mantissa();
    if mantissa < 0 {
        out.push('-');
    }
    let scale = value.scale() as usize;
    let mut buffer = [0u8; 39];
    let digits = digits_of(mantissa.unsigned_abs(), &mut buffer);
    if scale == 0 {
        push_digits(out, digits);
    } else if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        push_digits(out, whole);
        out.push('.');
        push_digits(out, fraction);
    } else {
        out.push_str("0.");
        for _ in digits.len()..scale {
            out.push('0');
        }
        push_digits(out, digits);
    }
}

/// Writes a value by its static type; with no type (or a value that does not fit it), by its
/// own shape. Never fails.
pub(crate) fn write_value(out: &mut String, policy: &Policy, value: &Value, ty: Option<&Type>) {
    write_value_in(out, policy, value, ty, Records::InFull);
}

/// How records read from the case are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Records {
    /// Every field, as in decisions.
    InFull,
    /// As `{"path": "/members/0"}` (in traces, where the fields have their own input nodes).
    ByPath,
}

pub(crate) fn write_value_in(
    out: &mut String,
    policy: &Policy,
    value: &Value,
    ty: Option<&Type>,
    records: Records,
) {
    if records == Records::ByPath {
        if let Value::Record(record) = value {
            if let Some(path) = &record.path {
                out.push_str("{\"path\":");
                write_json_string(out, path);
                out.push('}');
                return;
            }
        }
    }
    match (ty, value) {
        (_, Value::Absent) | (Some(Type::Never), _) => out.push_str("null"),
        (Some(Type::Optional(inner)), value) => {
            write_value_in(out, policy, value, Some(inner), records)
        }
        (Some(Type::Enum(id)), Value::Enum(index)) => {
            let literal = match policy.types.get(*id as usize) {
                Some(TypeDef::Enum(definition)) => definition
                    .variants
                    .get(*index as usize)
                    .map(|variant| &variant.json),
                _ => None,
            };
            match literal {
                Some(JsonLiteral::Text(text)) => write_json_string(out, text),
                Some(JsonLiteral::Integer(number)) => write_integer(out, *number),
                None => write_digits(out, u128::from(*index)),
            }
        }
        (Some(Type::Record(id)), Value::Record(record)) => {
            let definition = match policy.types.get(*id as usize) {
                Some(TypeDef::Record(definition)) => Some(definition),
                _ => None,
            };
            out.push('{');
            for (position, field) in record.fields.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                let field_def = definition.and_then(|definition| definition.fields.get(position));
                match field_def {
                    Some(field_def) => write_json_string(out, &field_def.name),
                    None => write_json_string(out, &position.to_string()),
                }
                out.push(':');
                write_value_in(
                    out,
                    policy,
                    field,
                    field_def.map(|field_def| &field_def.ty),
                    records,
                );
            }
            out.push('}');
        }
        (Some(Type::List(element)), Value::List(items)) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value_in(out, policy, item, Some(element), records);
            }
            out.push(']');
        }
        (Some(Type::Map(element)), Value::Map(entries)) => {
            out.push('{');
            for (position, (key, item)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_value_in(out, policy, item, Some(element), records);
            }
            out.push('}');
        }
        (Some(Type::Object(fields)), Value::Map(entries)) => {
            out.push('{');
            for (position, (key, item)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                // Entries are usually in declaration order: the field at the same position is
                // tried before a search.
                let field_type = fields
                    .get(position)
                    .filter(|(name, _)| same_text(name, key))
                    .or_else(|| fields.iter().find(|(name, _)| same_text(name, key)))
                    .map(|(_, ty)| ty);
                write_value_in(out, policy, item, field_type, records);
            }
            out.push('}');
        }
        (_, value) => write_untyped(out, policy, value, records),
    }
}

fn write_untyped(out: &mut String, policy: &Policy, value: &Value, records: Records) {
    match value {
        Value::Absent => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Integer(number) => write_integer(out, *number),
        Value::Decimal(number) => write_decimal(out, *number),
        // A value that does not terminate: its exact fraction, `"numerator/denominator"`
        // (LANGUAGE.md, "Exact arithmetic").
        Value::Ratio(ratio) => {
            out.push('"');
            write_integer_text(out, ratio.numerator());
            out.push('/');
            write_integer_text(out, ratio.denominator());
            out.push('"');
        }
        Value::Date(date) => {
            out.push('"');
            write_date(out, *date);
            out.push('"');
        }
        // A month's and a quarter's text are digits and `-`, `Q`: nothing to escape.
        Value::Month(month) => {
            out.push('"');
            write_month(out, *month);
            out.push('"');
        }
        Value::Quarter(quarter) => {
            out.push('"');
            write_quarter(out, *quarter);
            out.push('"');
        }
        Value::Text(text) => write_json_string(out, text),
        Value::Enum(index) => write_digits(out, u128::from(*index)),
        Value::List(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value_in(out, policy, item, None, records);
            }
            out.push(']');
        }
        Value::Record(record) => {
            out.push('[');
            for (position, item) in record.fields.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_value_in(out, policy, item, None, records);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (position, (key, item)) in entries.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_value_in(out, policy, item, None, records);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written number, date, month and quarter writers give the bytes of `Display`
    /// (zero without a sign), and strings are escaped only when needed.
    #[test]
    fn writers_match_display() {
        let mut mantissas: Vec<i128> = vec![0, 1, 5, 9, 10, 99, 100, 123_456, 1_000_000_007];
        mantissas.push(i128::from(i64::MAX));
        mantissas.push(i128::from(u64::MAX));
        mantissas.push(i128::from(u64::MAX) + 1);
        mantissas.push(79_228_162_514_264_337_593_543_950_335);
        for mantissa in mantissas.clone() {
            mantissas.push(-mantissa);
        }
        for mantissa in mantissas {
            for scale in [0u32, 1, 2, 3, 5, 10, 19, 20, 28] {
                let Ok(value) = Decimal::try_from_i128_with_scale(mantissa, scale) else {
                    continue;
                };
                let mut expected = value;
                if expected.is_zero() {
                    expected.set_sign_positive(true);
                }
                let mut written = String::new();
                write_decimal(&mut written, value);
                assert_eq!(
                    written,
                    format!("\"{expected}\""),
                    "{mantissa} scale {scale}"
                );
            }
        }
        let mut negative_zero = Decimal::new(0, 2);
        negative_zero.set_sign_negative(true);
        let mut written = String::new();
        write_decimal(&mut written, negative_zero);
        assert_eq!(written, "\"0.00\"");

        for number in [0i64, 7, -7, 10, 1_000_000, i64::MAX, i64::MIN] {
            let mut written = String::new();
            write_integer(&mut written, number);
            assert_eq!(written, number.to_string());
        }

        for (year, month, day) in [(2025, 3, 9), (1, 1, 1), (0, 12, 31), (9999, 12, 31)] {
            let Some(date) = Date::from_ymd_opt(year, month, day) else {
                continue;
            };
            let mut written = String::new();
            write_date(&mut written, date);
            assert_eq!(written, date.to_string());
        }
        for year in [0, 7, 2025, 9999, 10_000, -3] {
            let month = Month { year, month: 4 };
            let mut written = String::new();
            write_month(&mut written, month);
            assert_eq!(written, month.to_string());
            let quarter = Quarter { year, quarter: 2 };
            let mut written = String::new();
            write_quarter(&mut written, quarter);
            assert_eq!(written, quarter.to_string());
        }

        for text in [
            "",
            "plain",
            "exactly8",
            "a longer text without anything to escape",
            "quote \" in the middle of a long text",
            "back\\slash",
            "long text ending with a newline\n",
            "tab\tand bell \u{7}",
            "Қазақстан ‑ unicode",
        ] {
            let mut written = String::new();
            write_json_string(&mut written, text);
            let read: String = serde_json::from_str(&written).unwrap_or_default();
            assert_eq!(read, text);
            assert_eq!(
                needs_escape(text.as_bytes()),
                written.len() != text.len() + 2
            );
        }
    }

    /// The word-at-a-time escape test agrees with a byte-at-a-time one for every byte value at
    /// every position, among neighbours that need no escape and neighbours of the high half.
    #[test]
    fn escape_test_is_exact() {
        let naive = |bytes: &[u8]| {
            bytes
                .iter()
                .any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\')
        };
        for length in 1..=17usize {
            for position in 0..length {
                for filler in [b'a', 0xd0, 0xff, b'!', b'#', b'['] {
                    for byte in 0..=255u8 {
                        let mut bytes = vec![filler; length];
                        bytes[position] = byte;
                        assert_eq!(needs_escape(&bytes), naive(&bytes), "{bytes:?}");
                    }
                }
            }
        }
    }
}
