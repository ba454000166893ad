//! The few pieces of JavaScript the SDK's decisions lean on: how a value becomes a string,
//! `parseFloat`, `Number(x)`, truthiness and `trim()`. Each follows ECMA-262, because a segment
//! written in VWO's dashboard compares the strings Node would make.

use serde_json::Value;

pub(crate) mod regex;

/// `String(x)` for a number: JavaScript's shortest round-trip form (`1e21`, `0.1`, `-5`).
pub(crate) fn number_to_string(value: f64) -> String {
    with_number_text(value, str::to_owned)
}

/// `String(value)` lent to `f`, printed on the stack: for a caller that keeps the text some
/// other way (shared, or compared) and need not allocate it.
pub(super) fn with_number_text<R>(value: f64, f: impl FnOnce(&str) -> R) -> R {
    if value == 0.0 {
        return f("0"); // -0 prints as 0
    }
    // Integers JavaScript holds exactly print as their digits; ryu's general path is several
    // times slower, and most numbers in contexts and settings are such integers.
    // Within 2^53 the cast truncates exactly, so it gives the number back only for an integer
    // (a cast, where `fract` is a library call on the baseline x86-64).
    #[allow(clippy::cast_possible_truncation, reason = "within 2^53, compared below")]
    let whole = value as i64;
    #[allow(clippy::cast_precision_loss, reason = "within 2^53: exact")]
    if value.abs() <= MAX_SAFE_INTEGER && whole as f64 == value {
        return f(itoa::Buffer::new().format(whole));
    }
    f(ryu_js::Buffer::new().format(value))
}

/// `Number.MAX_SAFE_INTEGER`: 2^53 - 1.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// `String(x)` for a JSON value (an array joins its elements with commas, `null` inside one
/// is empty, an object is `[object Object]`).
pub(super) fn to_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Null => String::new(),
                other => to_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// A JSON value written as `JSON.stringify` writes it: a whole number stored as a float
/// (`147.0`, `-0.0`) is written as an integer, as JavaScript, which has one number type,
/// writes it.
pub(crate) struct JsJson<'a>(pub(crate) &'a Value);

impl serde::Serialize for JsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    // Exact: a whole number below 2^53.
                    #[allow(clippy::cast_possible_truncation)]
                    return serializer.serialize_i64(f as i64);
                }
                serializer.serialize_f64(f)
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&JsJson(item))?;
                }
                seq.end()
            }
            Value::Object(object) => {
                let mut map = serializer.serialize_map(Some(object.len()))?;
                for (key, value) in object {
                    map.serialize_entry(key, &JsJson(value))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// `Number(x)` for a JSON value.
pub(super) fn to_number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_string(value)),
        Value::Object(_) => f64::NAN,
    }
}

/// `Number(s)`: the whole string, trimmed, must be a numeric literal (or empty: 0).
pub(super) fn string_to_number(s: &str) -> f64 {
    let s = trim(s);
    if s.is_empty() {
        return 0.0;
    }
    let radix = |digits: &str, radix: u32| {
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return f64::NAN;
        }
        digits.chars().fold(0.0, |acc, c| {
            acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
        })
    };
    if let [b'0', prefix, ..] = s.as_bytes() {
        match prefix.to_ascii_lowercase() {
            b'x' => return radix(&s[2..], 16),
            b'o' => return radix(&s[2..], 8),
            b'b' => return radix(&s[2..], 2),
            _ => {}
        }
    }
    match decimal_prefix(s) {
        Some((value, used)) if used == s.len() => value,
        _ => f64::NAN,
    }
}

/// The value of 1 to 15 ASCII digits and nothing else, read exactly without the general float
/// parser (most numbers in contexts and settings are such integers, and it costs several
/// times more); `None` for any other text.
pub(super) fn small_integer(text: &str) -> Option<f64> {
    let digits = text.as_bytes();
    if !(1..=15).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    #[allow(clippy::cast_precision_loss, reason = "below 10^15, exact in an f64")]
    Some(value as f64)
}

/// Whether `String(parseFloat(text))` is `text` itself because it is a [`small_integer`]
/// without a leading zero (`short_digit_runs_print_as_themselves`).
pub(super) fn prints_as_itself(text: &str) -> bool {
    !text.starts_with('0') && small_integer(text).is_some()
}

/// `parseFloat(s)`: the longest decimal literal at the start of the trimmed string, or NaN.
pub(super) fn parse_float(s: &str) -> f64 {
    decimal_prefix(trim_start(s)).map_or(f64::NAN, |(value, _)| value)
}

/// The longest `StrDecimalLiteral` at the start of `s` (sign, `Infinity`, digits, one dot,
/// exponent), its value, and how many bytes it took.
fn decimal_prefix(s: &str) -> Option<(f64, usize)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    if s[i..].starts_with("Infinity") {
        return Some((sign * f64::INFINITY, i + "Infinity".len()));
    }
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int_digits = digits(i);
    let mut end = i + int_digits;
    let mut frac_digits = 0;
    if bytes.get(end) == Some(&b'.') {
        frac_digits = digits(end + 1);
        if int_digits > 0 || frac_digits > 0 {
            end += 1 + frac_digits;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut j = end + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = digits(j);
        if exp_digits > 0 {
            end = j + exp_digits;
        }
    }
    let literal = &s[i..end];
    if let Some(value) = small_integer(literal) {
        return Some((sign * value, end));
    }
    // Rust's parser takes the same grammar (a leading or trailing dot included) and rounds
    // correctly, as JavaScript does.
    let value: f64 = literal.parse().ok()?;
    Some((sign * value, end))
}

/// JavaScript's truthiness of a JSON value.
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `a || b` on optional JSON values (absent is `undefined`).
pub(super) fn or<'a>(a: Option<&'a Value>, b: Option<&'a Value>) -> Option<&'a Value> {
    match a {
        Some(v) if truthy(v) => Some(v),
        _ => b,
    }
}

/// `a ?? b` on optional JSON values.
pub(super) fn nullish<'a>(a: Option<&'a Value>, b: Option<&'a Value>) -> Option<&'a Value> {
    match a {
        Some(Value::Null) | None => b,
        some => some,
    }
}

/// ECMAScript's `WhiteSpace` and `LineTerminator`, which `trim()` strips (not Rust's set:
/// U+0085 is not one, U+FEFF is).
pub(super) fn is_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{A}' | '\u{B}' | '\u{C}' | '\u{D}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// `String.prototype.trim`.
pub(super) fn trim(s: &str) -> &str {
    s.trim_matches(is_whitespace)
}

fn trim_start(s: &str) -> &str {
    s.trim_start_matches(is_whitespace)
}

/// A line terminator, which `.` in a regular expression does not match.
pub(super) fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// An object's entries in JavaScript's key order: array indices ascending, then the rest as
/// inserted (the settings are parsed with `preserve_order`). With their values, so that no
/// caller looks each key up again.
pub(crate) fn entries(map: &serde_json::Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut indices: Vec<(u32, &str, &Value)> = Vec::new();
    let mut others = Vec::with_capacity(map.len());
    for (key, value) in map {
        match array_index(key) {
            Some(index) => indices.push((index, key, value)),
            None => others.push((key.as_str(), value)),
        }
    }
    if indices.is_empty() {
        return others;
    }
    indices.sort_unstable_by_key(|(index, _, _)| *index);
    indices
        .into_iter()
        .map(|(_, key, value)| (key, value))
        .chain(others)
        .collect()
}

/// The first key, as `Object.keys(x)[0]`, and its value.
pub(super) fn first_entry(map: &serde_json::Map<String, Value>) -> Option<(&str, &Value)> {
    // An array index comes first whatever its place; otherwise the first inserted key.
    let first_index = map
        .iter()
        .filter_map(|(key, value)| array_index(key).map(|index| (index, key.as_str(), value)))
        .min_by_key(|(index, _, _)| *index);
    match first_index {
        Some((_, key, value)) => Some((key, value)),
        None => map.iter().next().map(|(key, value)| (key.as_str(), value)),
    }
}

/// A canonical array index (`"0"`, `"17"`, below 2^32 - 1).
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|index| *index != u32::MAX)
}

/// `parseInt(s, 10)`: an optional sign and the leading decimal digits, or NaN.
pub(super) fn parse_int(s: &str) -> f64 {
    let s = trim(s);
    let (sign, digits) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return f64::NAN;
    }
    sign * digits[..end].parse::<f64>().unwrap_or(f64::NAN)
}

/// `a === b` on JSON values (numbers by value, objects never: they are distinct objects).
pub(super) fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

/// `a == b` on JSON values, as far as the SDK uses it (a string or number against anything).
pub(super) fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(_) | Value::Object(_), Value::Array(_) | Value::Object(_)) => false,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Object(_) | Value::Array(_), other) | (other, Value::Object(_) | Value::Array(_)) => {
            loose_eq(
                &Value::String(to_string(if matches!(a, Value::Object(_) | Value::Array(_)) {
                    a
                } else {
                    b
                })),
                other,
            )
        }
        _ => to_number(a) == to_number(b),
    }
}

/// `decodeURIComponent`, or `None` where it throws a `URIError`.
pub(super) fn decode_uri_component(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        /// The integer fast path prints what the general (ryu) path prints.
        #[test]
        fn integers_print_as_the_general_path_prints_them(n in -9_007_199_254_740_991_i64..=9_007_199_254_740_991) {
            #[allow(clippy::cast_precision_loss, reason = "within 2^53: exact")]
            let value = n as f64;
            let general = if value == 0.0 { "0".to_owned() } else { ryu_js::Buffer::new().format(value).to_owned() };
            proptest::prop_assert_eq!(number_to_string(value), general);
        }

        /// Any number, whole or not, inside 2^53 or not, prints as the general path prints it.
        #[test]
        fn any_number_prints_as_the_general_path_prints_it(value in proptest::num::f64::ANY) {
            let general = if value == 0.0 { "0".to_owned() } else { ryu_js::Buffer::new().format(value).to_owned() };
            proptest::prop_assert_eq!(number_to_string(value), general);
        }

        /// `n == x` for a number `n` is `n === Number(x)`, `null` aside (what a group's
        /// priority order relies on to compare numeric campaign ids without `loose_eq`).
        #[test]
        fn a_number_loosely_equals_what_converts_to_it(
            n in -3i64..300,
            text in "[ 0-9.xe+-]{0,6}",
            pick in 0usize..6,
        ) {
            let wanted = match pick {
                0 => Value::Null,
                1 => Value::Bool(n == 1),
                2 => Value::from(n),
                3 => json!([text.clone()]),
                4 => json!({"a": 1}),
                _ => Value::String(text),
            };
            #[allow(clippy::cast_precision_loss, reason = "small")]
            let number = n as f64;
            let converted = if wanted.is_null() { f64::NAN } else { to_number(&wanted) };
            proptest::prop_assert_eq!(loose_eq(&Value::from(n), &wanted), number == converted);
        }

        /// Digits read by the integer fast path are the number Rust's general parser reads.
        #[test]
        fn digits_parse_as_the_general_parser_reads_them(text in "[+-]?[0-9]{1,18}") {
            let general: f64 = text.parse().unwrap_or(f64::NAN);
            proptest::prop_assert_eq!(parse_float(&text).to_bits(), general.to_bits());
            proptest::prop_assert_eq!(string_to_number(&text).to_bits(), general.to_bits());
        }
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        for (value, printed) in [
            (0.0, "0"),
            (-0.0, "0"),
            (5.0, "5"),
            (-1.5, "-1.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (123456789012345680000.0, "123456789012345680000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ] {
            assert_eq!(number_to_string(value), printed, "{value}");
        }
    }

    #[test]
    fn values_become_strings_as_string_x_does() {
        assert_eq!(to_string(&json!([1, null, "a", [2, 3]])), "1,,a,2,3");
        assert_eq!(to_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(to_string(&json!(true)), "true");
        assert_eq!(to_string(&json!(null)), "null");
        assert_eq!(to_string(&json!(100)), "100");
    }

    #[test]
    fn parse_float_takes_the_longest_prefix() {
        for (input, expected) in [
            ("12abc", 12.0),
            ("  -3.5e2x", -350.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e", 1.0),
            ("1e+", 1.0),
            ("+Infinityx", f64::INFINITY),
            ("0x10", 0.0),
            ("\u{FEFF}7", 7.0),
        ] {
            assert_eq!(parse_float(input), expected, "{input:?}");
        }
        for input in ["", "abc", ".", "-", "e5", "\u{85}1"] {
            assert!(parse_float(input).is_nan(), "{input:?}");
        }
    }

    #[test]
    fn number_of_a_string_wants_the_whole_literal() {
        assert_eq!(string_to_number(" 50 "), 50.0);
        assert_eq!(string_to_number(""), 0.0);
        assert_eq!(string_to_number("0x1f"), 31.0);
        assert!(string_to_number("50%").is_nan());
        assert_eq!(to_number(&json!(["7"])), 7.0);
        assert!(to_number(&json!({})).is_nan());
    }

    #[test]
    fn trim_strips_ecmascript_whitespace_only() {
        assert_eq!(trim("\u{FEFF} a \u{2028}"), "a");
        assert_eq!(trim("\u{85}a"), "\u{85}a");
    }
}
