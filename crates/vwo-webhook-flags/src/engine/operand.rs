//! One comparison of the segment DSL: an operand written in VWO's dashboard (`lower(..)`,
//! `wildcard(..)`, `regex(..)`, `gt(..)`...) against the user's value, as
//! `SegmentOperandEvaluator.ts` does it, strings and numbers in JavaScript's terms. Everything
//! that depends only on the operand is worked out once, when the settings are compiled.

use std::sync::Arc;

use crate::engine::fast_hash::FastMap;
use crate::engine::js;
use crate::engine::js::regex::{Flags, JsRegex};

/// Which comparison an operand asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Lower,
    Contains,
    EndsWith,
    StartsWith,
    Regex,
    Equal,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
}

/// Which evaluator reads the operand: custom variables and the user agent normalize numbers,
/// IP address and browser and OS versions compare the text as written (without quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    Numeric,
    Verbatim,
}

/// A compiled operand.
#[derive(Debug)]
pub(super) struct Operand {
    kind: Kind,
    value: String,
    /// `parseFloat(value)` printed back, when it is a number other than 0: the form both sides
    /// take when the user's value is numeric too.
    numeric: Numeric,
    /// For `regex(..)`: the expression of `value` and of `numeric` (`None` where it does
    /// not compile).
    regexes: Option<Box<Regexes>>,
}

/// An operand's numeric form.
#[derive(Debug)]
enum Numeric {
    /// Not a number, or 0.
    None,
    /// The operand's text itself: digits that print as themselves, not kept twice.
    Value,
    Text(String),
}

#[derive(Debug)]
struct Regexes {
    text: Option<Arc<JsRegex>>,
    numeric: Option<Arc<JsRegex>>,
}

/// Each pattern of a settings file compiled once: segments repeat across campaigns, and a
/// regular expression costs thousands of instructions to compile.
#[derive(Debug, Default)]
pub(super) struct RegexCache(FastMap<String, Option<Arc<JsRegex>>>);

impl RegexCache {
    /// `new RegExp(pattern)` (no flags), or `None` where JavaScript would throw.
    fn compile(&mut self, pattern: &str) -> Option<Arc<JsRegex>> {
        if let Some(compiled) = self.0.get(pattern) {
            return compiled.clone();
        }
        let compiled = compile_regex(pattern).map(Arc::new);
        self.0.insert(pattern.to_owned(), compiled.clone());
        compiled
    }
}

impl Operand {
    /// Compiles the operand text `raw` (`String(x)` of the DSL's value).
    pub(super) fn compile(raw: &str, reading: Reading, regexes: &mut RegexCache) -> Self {
        let (kind, mut value) = classify(raw);
        if reading == Reading::Verbatim {
            value = js::trim(&value).replace('"', "");
        }
        let numeric = match reading {
            Reading::Numeric => numeric_form(&value),
            Reading::Verbatim => Numeric::None,
        };
        let regexes = (kind == Kind::Regex).then(|| {
            Box::new(Regexes {
                text: regexes.compile(&value),
                numeric: match &numeric {
                    Numeric::None => None,
                    Numeric::Value => regexes.compile(&value),
                    Numeric::Text(text) => regexes.compile(text.as_str()),
                },
            })
        });
        Self {
            kind,
            value,
            numeric,
            regexes,
        }
    }

    /// An operand that is not a string: `matchWithRegex` fails on it, so it is compared for
    /// equality with its string form.
    pub(super) fn equal_to(text: String) -> Self {
        let numeric = numeric_form(&text);
        Self {
            kind: Kind::Equal,
            value: text,
            numeric,
            regexes: None,
        }
    }

    /// Whether the user's value `tag` (already `String(x)`) satisfies the operand.
    pub(super) fn matches(&self, tag: &str) -> bool {
        // processValues: both sides become parseFloat's number when the user's value has
        // only digits and dots and both parse to a number other than 0.
        let mut tag_text = std::borrow::Cow::Borrowed(tag);
        let mut operand = self.value.as_str();
        let mut regex = self.regexes.as_ref().and_then(|r| r.text.as_ref());
        let numeric = match &self.numeric {
            Numeric::None => None,
            Numeric::Value => Some(self.value.as_str()),
            Numeric::Text(text) => Some(text.as_str()),
        };
        if let Some(numeric) = numeric
            && tag.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            // Digits without a leading zero, few enough to be exact, print back as they are.
            let as_is = js::prints_as_itself(tag);
            let parsed = if as_is { 1.0 } else { js::parse_float(tag) };
            if parsed != 0.0 && !parsed.is_nan() {
                if !as_is {
                    tag_text = std::borrow::Cow::Owned(js::number_to_string(parsed));
                }
                operand = numeric;
                regex = self.regexes.as_ref().and_then(|r| r.numeric.as_ref());
            }
        }
        let tag = tag_text.as_ref();
        match self.kind {
            Kind::Lower => operand.to_lowercase() == tag.to_lowercase(),
            Kind::Contains => tag.contains(operand),
            Kind::EndsWith => tag.ends_with(operand),
            Kind::StartsWith => tag.starts_with(operand),
            Kind::Regex => regex.is_some_and(|regex| regex.test(tag)),
            Kind::GreaterThan => compare_versions(tag, operand).is_gt(),
            Kind::GreaterOrEqual => compare_versions(tag, operand).is_ge(),
            Kind::LessThan => compare_versions(tag, operand).is_lt(),
            Kind::LessOrEqual => compare_versions(tag, operand).is_le(),
            // Equal text is an equal version too; otherwise only versions compare by parts.
            Kind::Equal => {
                tag == operand
                    || (!distinct_integers(tag, operand)
                        && is_version(tag)
                        && is_version(operand)
                        && compare_versions(tag, operand).is_eq())
            }
        }
    }

    /// Whether the operand's regular expression compiled (for the settings report).
    pub(super) fn bad_regex(&self) -> bool {
        self.regexes.as_ref().is_some_and(|r| r.text.is_none())
    }

    /// Whether the operand's regular expression compiles but has no bounded form, so never
    /// matches here (for the settings report).
    pub(super) fn unbounded_regex(&self) -> bool {
        self.regexes
            .as_ref()
            .and_then(|r| r.text.as_ref())
            .is_some_and(|regex| regex.unbounded())
    }
}

/// `String(parseFloat(value))` when that is a number other than 0. Digits without a leading
/// zero, few enough to be exact, print as themselves (`short_digit_runs_print_as_themselves`).
fn numeric_form(value: &str) -> Numeric {
    if js::prints_as_itself(value) {
        return Numeric::Value;
    }
    let parsed = js::parse_float(value);
    if parsed != 0.0 && !parsed.is_nan() {
        Numeric::Text(js::number_to_string(parsed))
    } else {
        Numeric::None
    }
}

/// `new RegExp(pattern)` (no flags), or `None` where JavaScript would throw.
pub(super) fn compile_regex(pattern: &str) -> Option<JsRegex> {
    JsRegex::new(pattern, Flags::None)
}

/// `preProcessOperandValue`: the first of `lower(..)`, `wildcard(..)`, `regex(..)`, `gt(..)`,
/// `gte(..)`, `lt(..)`, `lte(..)` that matches, and the text inside; otherwise equality.
fn classify(raw: &str) -> (Kind, String) {
    if let Some(inner) = call(raw, "lower") {
        return (Kind::Lower, inner.to_owned());
    }
    if let Some(inner) = call(raw, "wildcard") {
        let starting = inner.starts_with('*');
        let ending = inner.ends_with('*');
        let kind = match (starting, ending) {
            (true, true) => Kind::Contains,
            (true, false) => Kind::EndsWith,
            (false, true) => Kind::StartsWith,
            // No star: the SDK's type is left undefined, which compares for equality.
            (false, false) => Kind::Equal,
        };
        let mut value = inner.strip_prefix('*').unwrap_or(inner);
        value = value.strip_suffix('*').unwrap_or(value);
        return (kind, value.to_owned());
    }
    if let Some(inner) = call(raw, "regex") {
        return (Kind::Regex, inner.to_owned());
    }
    for (name, kind) in [
        ("gt", Kind::GreaterThan),
        ("gte", Kind::GreaterOrEqual),
        ("lt", Kind::LessThan),
        ("lte", Kind::LessOrEqual),
    ] {
        if let Some(version) = version_call(raw, name) {
            return (kind, version.to_owned());
        }
    }
    (Kind::Equal, raw.to_owned())
}

/// `^name\((.*)\)`: greedy `.` stops at a line terminator, so the group runs to the last `)`
/// on the first line.
fn call<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let rest = raw.strip_prefix(name)?.strip_prefix('(')?;
    let line = rest.find(js::is_line_terminator).map_or(rest, |end| &rest[..end]);
    line.rfind(')').map(|end| &line[..end])
}

/// `^name\((\d+(?:\.\d+)*|\.\d+)\)`.
fn version_call<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let rest = raw.strip_prefix(name)?.strip_prefix('(')?;
    let bytes = rest.as_bytes();
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut end = digits(0);
    if end > 0 {
        loop {
            if bytes.get(end) == Some(&b'.') {
                let more = digits(end + 1);
                if more > 0 {
                    end += 1 + more;
                    continue;
                }
            }
            break;
        }
    } else if bytes.first() == Some(&b'.') {
        let more = digits(1);
        if more == 0 {
            return None;
        }
        end = 1 + more;
    } else {
        return None;
    }
    (bytes.get(end) == Some(&b')')).then(|| &rest[..end])
}

/// `/^(\d+\.)*\d+$/`
fn is_version(s: &str) -> bool {
    // Non-empty digit runs joined by single dots.
    let bytes = s.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.last().is_some_and(u8::is_ascii_digit)
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        && !bytes.windows(2).any(|pair| pair == b"..")
}

/// Whether two different texts are different integers as versions too: digits only, no
/// leading zero, few enough to be exact (a user's number against a number operand, the
/// common case, need not be compared part by part).
fn distinct_integers(a: &str, b: &str) -> bool {
    a != b && js::prints_as_itself(a) && js::prints_as_itself(b)
}

/// `compareVersions`: dot-separated parts, each a number if it is all digits and 0 otherwise,
/// missing parts 0.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    // Each dot-separated part as a number (0 unless all digits); the shorter version is
    // padded with zeros. Read part by part, without collecting either version.
    let part = |part: &str| -> f64 {
        js::small_integer(part).unwrap_or_else(|| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                js::parse_float(part)
            } else {
                0.0
            }
        })
    };
    // `split('.')` by hand: the remaining text, `None` once the last part is taken.
    let next = |rest: &mut Option<&str>| -> Option<f64> {
        let text = rest.take()?;
        let (head, tail) = match text.bytes().position(|b| b == b'.') {
            Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
            None => (text, None),
        };
        *rest = tail;
        Some(part(head))
    };
    let (mut a, mut b) = (Some(a), Some(b));
    loop {
        let (x, y) = match (next(&mut a), next(&mut b)) {
            (None, None) => return std::cmp::Ordering::Equal,
            (x, y) => (x.unwrap_or(0.0), y.unwrap_or(0.0)),
        };
        if x < y {
            return std::cmp::Ordering::Less;
        }
        if x > y {
            return std::cmp::Ordering::Greater;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte scan says what splitting at dots says.
        #[test]
        fn a_version_is_digit_runs_joined_by_dots(s in "[0-9.a]{0,8}") {
            let split = !s.is_empty()
                && s.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
            proptest::prop_assert_eq!(is_version(&s), split);
        }

        /// Versions compare as the SDK's `compareVersions` does: parts split at dots, each
        /// parsed as a number (0 unless all digits), the shorter padded with zeros.
        #[test]
        fn versions_compare_part_by_part(a in "[0-9a.]{0,24}", b in "[0-9.]{0,24}") {
            let parts = |s: &str| -> Vec<f64> {
                s.split('.')
                    .map(|p| if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) { p.parse().unwrap_or(0.0) } else { 0.0 })
                    .collect()
            };
            let (x, y) = (parts(&a), parts(&b));
            let mut expected = std::cmp::Ordering::Equal;
            for i in 0..x.len().max(y.len()) {
                let (p, q) = (x.get(i).copied().unwrap_or(0.0), y.get(i).copied().unwrap_or(0.0));
                if p != q {
                    expected = if p < q { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater };
                    break;
                }
            }
            proptest::prop_assert_eq!(compare_versions(&a, &b), expected);
        }

        /// Different integers without leading zeros are different versions.
        #[test]
        fn distinct_integers_are_distinct_versions(a in "[0-9]{1,16}", b in "[0-9]{1,16}") {
            if distinct_integers(&a, &b) {
                proptest::prop_assert!(compare_versions(&a, &b).is_ne());
            }
        }

        /// Digits without a leading zero, up to 15 of them, print back unchanged, so the
        /// numeric form may skip parsing them.
        #[test]
        fn short_digit_runs_print_as_themselves(s in "[1-9][0-9]{0,14}") {
            proptest::prop_assert_eq!(js::number_to_string(js::parse_float(&s)), s);
        }
    }

    fn check(operand: &str, tag: &str) -> bool {
        Operand::compile(operand, Reading::Numeric, &mut RegexCache::default()).matches(tag)
    }

    #[test]
    fn operands_are_classified_like_the_sdk() {
        assert_eq!(classify("lower(AbC)"), (Kind::Lower, "AbC".to_owned()));
        assert_eq!(classify("wildcard(*a*)"), (Kind::Contains, "a".to_owned()));
        assert_eq!(classify("wildcard(a*)"), (Kind::StartsWith, "a".to_owned()));
        assert_eq!(classify("wildcard(*a)"), (Kind::EndsWith, "a".to_owned()));
        assert_eq!(classify("wildcard(a)"), (Kind::Equal, "a".to_owned()));
        assert_eq!(classify("regex(a(b)c)x"), (Kind::Regex, "a(b)c".to_owned()));
        assert_eq!(classify("gte(1.2.3)"), (Kind::GreaterOrEqual, "1.2.3".to_owned()));
        assert_eq!(classify("gt(.5)"), (Kind::GreaterThan, ".5".to_owned()));
        assert_eq!(classify("gt(1.)"), (Kind::Equal, "gt(1.)".to_owned()));
        assert_eq!(classify("lower(a\n)b)"), (Kind::Equal, "lower(a\n)b)".to_owned()));
    }

    #[test]
    fn a_pattern_is_compiled_once_per_settings_file() {
        let mut cache = RegexCache::default();
        let regex = |operand: &Operand| operand.regexes.as_ref().and_then(|r| r.text.clone());
        let first = Operand::compile("regex(^ab+$)", Reading::Numeric, &mut cache);
        let again = Operand::compile("regex(^ab+$)", Reading::Verbatim, &mut cache);
        let (Some(a), Some(b)) = (regex(&first), regex(&again)) else {
            panic!("the pattern compiles");
        };
        assert!(Arc::ptr_eq(&a, &b));
        assert!(again.matches("abbb") && !again.matches("ba"));
        // A pattern that does not compile is remembered as such, and each operand counts.
        let bad = Operand::compile("regex(a(b)", Reading::Numeric, &mut cache);
        let bad_again = Operand::compile("regex(a(b)", Reading::Numeric, &mut cache);
        assert!(bad.bad_regex() && bad_again.bad_regex());
        assert_eq!(cache.0.len(), 2);
    }

    #[test]
    fn numbers_compare_after_parse_float() {
        assert!(check("12abc", "12"));
        assert!(check("1.50", "1.5"));
        assert!(check("lower(5.0)", "5"));
        assert!(check("0", "0.0")); // 0 is not normalized, but both are versions, equal
        assert!(check("1.0", "1"));
        // Texts compared as versions: a leading zero, or digits past an f64's precision.
        let verbatim = |operand: &str, tag: &str| {
            Operand::compile(operand, Reading::Verbatim, &mut RegexCache::default()).matches(tag)
        };
        assert!(verbatim("10", "010"));
        assert!(verbatim("12345678901234567", "12345678901234568"));
        assert!(!verbatim("10", "11"));
        // An empty value is not numeric (`parseFloat("")` is NaN): the operand's own text
        // decides, not its numeric form.
        assert!(check("regex(1|^$)", ""));
        // "1.10" is parseFloat'd to 1.1 first, so it is not above 1.2 (the SDK's quirk).
        assert!(!check("gt(1.2)", "1.10"));
        assert!(check("gt(1.2)", "1.3"));
        assert!(!check("gt(1.2)", "v1.3")); // not numeric: "v1" counts as 0
        assert!(check("lt(2)", "1.9.9"));
        assert!(!check("eq", "Eq"));
        assert!(check("regex(^ab+$)", "abbb"));
        assert!(!check("regex([)", "["));
    }
}
