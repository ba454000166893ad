//! `new RegExp(pattern).test(value)` at a bounded cost.
//!
//! JavaScript runs regular expressions on a backtracking engine, where `(a+)+b` against a run of
//! `a`s takes exponential time (regress, which follows it, took 13.7 s for 24 of them). The
//! pattern comes from VWO's settings but the value from whoever calls the service, so a decision
//! must cost a bounded amount whatever both are. regress still says which patterns JavaScript
//! accepts (a pattern it refuses is one `new RegExp` throws on); the accepted ones are translated
//! from ECMAScript's syntax (Annex B, no `u` flag) to `fancy-regex`'s, which runs a pattern
//! without back-references or lookaround on the `regex` crate's linear-time engine and the others
//! on a backtracking VM under a step budget.
//!
//! JavaScript reads strings as UTF-16 code units, and without the `u` flag its `\w`, `\d` and
//! `\b` are ASCII's. The translation keeps both by writing every code unit above ASCII, in the
//! pattern and in the value alike, as a private-use character of plane 15 (`U+F0000 + unit`):
//! such a character is one unit, is no word character, space or digit to the `regex` crate, and
//! has no case (case-insensitive patterns list a character's JavaScript equivalents instead).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use std::collections::HashMap;

/// Steps fancy-regex's backtracking VM may take for one test before it gives up: about a
/// millisecond of work, far beyond what a real segment needs.
const BACKTRACK_LIMIT: usize = 100_000;

/// Repetition counts above this are not translated: the linear-time engine would compile them
/// into a program too large to keep.
const MAX_REPEAT: u32 = 1_000;

/// Where the code units above ASCII are written: plane 15's private use area, which no UTF-16
/// code unit is, so a written unit never meets an unwritten one.
const UNIT_BASE: u32 = 0xF_0000;

static OVER_BUDGET: AtomicU64 = AtomicU64::new(0);

/// How many tests ran out of their step budget since the process started (each answered "no
/// match", as the SDK answers a regular expression it cannot run).
pub(crate) fn over_budget_total() -> u64 {
    OVER_BUDGET.load(Ordering::Relaxed)
}

/// A compiled `new RegExp(pattern, flags)` that JavaScript accepts.
#[derive(Debug)]
pub(crate) struct JsRegex {
    /// `None`: JavaScript accepts the pattern but it has no bounded translation (a
    /// back-reference past `\9`, a repetition over [`MAX_REPEAT`], a lookbehind fancy-regex
    /// cannot run); it never matches.
    bounded: Option<fancy_regex::Regex>,
}

/// The flags `new RegExp` is given here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flags {
    /// `""`: segments' `regex(..)`.
    None,
    /// `"i"`: the user agent's `wildcard(..)`.
    IgnoreCase,
}

impl JsRegex {
    /// `new RegExp(pattern, flags)`, or `None` where JavaScript would throw.
    pub(crate) fn new(pattern: &str, flags: Flags) -> Option<Self> {
        let js_flags = match flags {
            Flags::None => "",
            Flags::IgnoreCase => "i",
        };
        regress::Regex::with_flags(pattern, js_flags).ok()?;
        let bounded = translate(pattern, flags).and_then(|translated| {
            fancy_regex::RegexBuilder::new(&translated)
                .backtrack_limit(BACKTRACK_LIMIT)
                .build()
                .ok()
        });
        Some(Self { bounded })
    }

    /// Whether JavaScript accepts the pattern but it cannot be run at a bounded cost here.
    pub(in crate::engine) fn unbounded(&self) -> bool {
        self.bounded.is_none()
    }

    /// `regex.test(value)`; `false` where the pattern has no bounded form or the test ran out
    /// of steps (counted in [`over_budget_total`]).
    pub(crate) fn test(&self, value: &str) -> bool {
        let Some(regex) = &self.bounded else {
            return false;
        };
        match regex.is_match(&code_units(value)) {
            Ok(found) => found,
            Err(_) => {
                OVER_BUDGET.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// `value` as the translated patterns read it: its UTF-16 code units, each above ASCII written
/// as its stand-in.
fn code_units(value: &str) -> Cow<'_, str> {
    if value.is_ascii() {
        return Cow::Borrowed(value);
    }
    Cow::Owned(value.encode_utf16().map(unit_char).collect())
}

/// The character a UTF-16 code unit stands for in translated text.
fn unit_char(unit: u16) -> char {
    let code = if unit < 0x80 {
        u32::from(unit)
    } else {
        UNIT_BASE + u32::from(unit)
    };
    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The code units a case-insensitive JavaScript pattern takes as `unit`: those with the same
/// `Canonicalize` (ECMA-262 22.2.2.7.3 without `u`: the one-unit `toUpperCase`, except that a
/// unit above ASCII never becomes an ASCII one).
fn case_equivalents(unit: u16) -> &'static [u16] {
    static CLASSES: OnceLock<HashMap<u16, Vec<u16>>> = OnceLock::new();
    let classes = CLASSES.get_or_init(|| {
        let mut classes: HashMap<u16, Vec<u16>> = HashMap::new();
        for unit in 0..=u16::MAX {
            classes.entry(canonicalize(unit)).or_default().push(unit);
        }
        classes
    });
    classes.get(&canonicalize(unit)).map_or(&[], Vec::as_slice)
}

/// `ranges` with every member's case equivalents above ASCII (the `(?i)` flag covers ASCII's),
/// as sorted, merged ranges.
fn with_case_equivalents(ranges: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    let mut units: Vec<u16> = Vec::new();
    let mut merged = Vec::with_capacity(ranges.len());
    for (low, high) in ranges {
        merged.push((low, high));
        for unit in low.max(0x80)..=high {
            if high >= 0x80 {
                units.extend_from_slice(case_equivalents(unit));
            }
        }
    }
    merged.extend(units.into_iter().map(|unit| (unit, unit)));
    merged.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(merged.len());
    for (low, high) in merged {
        match out.last_mut() {
            Some(last) if u32::from(low) <= u32::from(last.1) + 1 => last.1 = last.1.max(high),
            _ => out.push((low, high)),
        }
    }
    out
}

fn canonicalize(unit: u16) -> u16 {
    let Some(c) = char::from_u32(u32::from(unit)) else {
        return unit; // a surrogate has no case
    };
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(only), None) => match u16::try_from(only as u32) {
            Ok(upper) if !(unit >= 0x80 && upper < 0x80) => upper,
            _ => unit,
        },
        _ => unit,
    }
}

/// ECMAScript's pattern written in fancy-regex's syntax, or `None` where it has no bounded
/// translation. Only called on patterns regress accepted, so it need not report syntax errors
/// precisely: anything unexpected is `None`.
fn translate(pattern: &str, flags: Flags) -> Option<String> {
    let units: Vec<u16> = pattern.encode_utf16().collect();
    let groups = Groups::scan(&units);
    let ignore_case = flags == Flags::IgnoreCase;
    let mut translator = Translator {
        units: &units,
        at: 0,
        groups,
        ignore_case,
        out: String::with_capacity(pattern.len() * 2),
        captures: 0,
        repeated: Vec::new(),
        back_references: Vec::new(),
    };
    if ignore_case {
        // ASCII letters only: every other unit is a stand-in, whose equivalents are listed.
        translator.out.push_str("(?i)");
    }
    translator.disjunction()?;
    let Translator {
        at,
        out,
        repeated,
        back_references,
        ..
    } = translator;
    let clearable = back_references
        .iter()
        .any(|group| repeated.iter().any(|range| range.contains(group)));
    (at == units.len() && !clearable).then_some(out)
}

/// The pattern's capturing groups: how many, and the names of the named ones in order.
struct Groups {
    count: u32,
    names: Vec<(Vec<u16>, u32)>,
}

impl Groups {
    fn scan(units: &[u16]) -> Self {
        let mut groups = Groups {
            count: 0,
            names: Vec::new(),
        };
        let mut at = 0;
        let mut in_class = false;
        while at < units.len() {
            match units[at] {
                BACKSLASH => at += 1,
                OPEN_BRACKET => in_class = true,
                CLOSE_BRACKET => in_class = false,
                OPEN_PAREN if !in_class => {
                    if units.get(at + 1) != Some(&QUESTION) {
                        groups.count += 1;
                    } else if units.get(at + 2) == Some(&LESS)
                        && !matches!(units.get(at + 3), Some(&EQUALS) | Some(&BANG))
                    {
                        groups.count += 1;
                        let start = at + 3;
                        let end = units[start..]
                            .iter()
                            .position(|&u| u == GREATER)
                            .map_or(units.len(), |p| start + p);
                        groups.names.push((units[start..end].to_vec(), groups.count));
                    }
                }
                _ => {}
            }
            at += 1;
        }
        groups
    }
}

const BACKSLASH: u16 = b'\\' as u16;
const OPEN_BRACKET: u16 = b'[' as u16;
const CLOSE_BRACKET: u16 = b']' as u16;
const OPEN_PAREN: u16 = b'(' as u16;
const CLOSE_PAREN: u16 = b')' as u16;
const QUESTION: u16 = b'?' as u16;
const LESS: u16 = b'<' as u16;
const GREATER: u16 = b'>' as u16;
const EQUALS: u16 = b'=' as u16;
const BANG: u16 = b'!' as u16;

/// `\d`, `\s`, `\w` as code-unit ranges (JavaScript's, without the `u` flag).
const DIGITS: &[(u16, u16)] = &[(0x30, 0x39)];
const WORD: &[(u16, u16)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];
const SPACE: &[(u16, u16)] = &[
    (0x09, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
];
/// What `.` does not match.
const LINE_TERMINATORS: &[(u16, u16)] = &[(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)];

/// One member of a character class.
enum ClassAtom {
    Unit(u16),
    /// `\d`, `\D`, `\s`...: the ranges and whether the set is their complement.
    Set(&'static [(u16, u16)], bool),
}

struct Translator<'a> {
    units: &'a [u16],
    at: usize,
    groups: Groups,
    ignore_case: bool,
    out: String,
    /// Capturing groups opened so far.
    captures: u32,
    /// Capturing groups inside a repeated group: JavaScript clears them at each iteration,
    /// fancy-regex keeps the last iteration's, so a back-reference to one is not translated.
    repeated: Vec<std::ops::RangeInclusive<u32>>,
    back_references: Vec<u32>,
}

impl Translator<'_> {
    fn peek(&self) -> Option<u16> {
        self.units.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u16> {
        self.units.get(self.at + ahead).copied()
    }

    fn eat(&mut self, unit: u16) -> bool {
        let found = self.peek() == Some(unit);
        if found {
            self.at += 1;
        }
        found
    }

    fn disjunction(&mut self) -> Option<()> {
        loop {
            while let Some(unit) = self.peek() {
                if unit == u16::from(b'|') || unit == CLOSE_PAREN {
                    break;
                }
                self.term()?;
            }
            if !self.eat(u16::from(b'|')) {
                return Some(());
            }
            self.out.push('|');
        }
    }

    fn term(&mut self) -> Option<()> {
        let captures_before = self.captures;
        let mut inner_from = captures_before + 1;
        let unit = self.peek()?;
        self.at += 1;
        match unit {
            0x5E => {
                self.out.push('^');
                return Some(());
            }
            0x24 => {
                self.out.push('$');
                return Some(());
            }
            BACKSLASH if matches!(self.peek(), Some(0x62 | 0x42)) => {
                let inverted = self.peek() == Some(0x42);
                self.at += 1;
                // Stand-ins are no word characters, so Unicode's boundary is ASCII's here.
                self.out.push_str(if inverted { "\\B" } else { "\\b" });
                return Some(());
            }
            OPEN_PAREN => {
                let capturing = self.peek() != Some(QUESTION)
                    || (self.peek_at(1) == Some(LESS) && !matches!(self.peek_at(2), Some(EQUALS | BANG)));
                self.group()?;
                // A repeated group sets its own capture at every iteration; only the groups
                // inside it can be left cleared by the last one.
                if capturing {
                    inner_from += 1;
                }
            }
            0x2E => self.push_set(LINE_TERMINATORS, true),
            OPEN_BRACKET => self.class()?,
            BACKSLASH => self.atom_escape()?,
            // Quantifiers with nothing to repeat: regress refused them already.
            0x2A | 0x2B | QUESTION => return None,
            0x7B if self.quantifier_ahead(self.at - 1).is_some() => return None,
            other => self.push_unit(other),
        }
        if self.quantifier()? && self.captures >= inner_from {
            self.repeated.push(inner_from..=self.captures);
        }
        Some(())
    }

    /// `(...)`, `(?:...)`, `(?<name>...)` and the lookarounds.
    fn group(&mut self) -> Option<()> {
        if self.eat(QUESTION) {
            match (self.peek(), self.peek_at(1)) {
                (Some(0x3A), _) => {
                    self.at += 1;
                    self.out.push_str("(?:");
                }
                (Some(EQUALS | BANG), _) => {
                    self.out
                        .push_str(if self.peek() == Some(EQUALS) { "(?=" } else { "(?!" });
                    self.at += 1;
                }
                (Some(LESS), Some(EQUALS | BANG)) => {
                    self.out.push_str(if self.peek_at(1) == Some(EQUALS) {
                        "(?<="
                    } else {
                        "(?<!"
                    });
                    self.at += 2;
                }
                (Some(LESS), _) => {
                    // A named group is the numbered group it also is; its name is not needed.
                    let close = self.units[self.at..].iter().position(|&u| u == GREATER)?;
                    self.at += close + 1;
                    self.captures += 1;
                    self.out.push('(');
                }
                _ => return None,
            }
        } else {
            self.captures += 1;
            self.out.push('(');
        }
        self.disjunction()?;
        if !self.eat(CLOSE_PAREN) {
            return None;
        }
        self.out.push(')');
        Some(())
    }

    /// `{n}`, `{n,}` or `{n,m}` starting at `at`: its bounds and its length, when the text there
    /// is one (Annex B reads any other `{` as itself).
    fn quantifier_ahead(&self, at: usize) -> Option<(u32, Option<u32>, usize)> {
        let units = self.units;
        let mut i = at;
        if units.get(i) != Some(&0x7B) {
            return None;
        }
        i += 1;
        let digits = |i: &mut usize| -> Option<u32> {
            let start = *i;
            let mut value: u32 = 0;
            while let Some(&u) = units.get(*i)
                && (0x30..=0x39).contains(&u)
            {
                value = value.saturating_mul(10).saturating_add(u32::from(u - 0x30));
                *i += 1;
            }
            (*i > start).then_some(value)
        };
        let min = digits(&mut i)?;
        let max = if units.get(i) == Some(&0x2C) {
            i += 1;
            if units.get(i) == Some(&0x7D) {
                None
            } else {
                Some(digits(&mut i)?)
            }
        } else {
            Some(min)
        };
        (units.get(i) == Some(&0x7D)).then_some((min, max, i + 1 - at))
    }

    /// The quantifier after an atom, if any; whether it may repeat the atom.
    fn quantifier(&mut self) -> Option<bool> {
        let repeats = match self.peek() {
            Some(0x2A) => {
                self.out.push('*');
                true
            }
            Some(0x2B) => {
                self.out.push('+');
                true
            }
            Some(QUESTION) => {
                self.out.push('?');
                false
            }
            Some(0x7B) => {
                let Some((min, max, length)) = self.quantifier_ahead(self.at) else {
                    return Some(false);
                };
                if min > MAX_REPEAT || max.is_some_and(|max| max > MAX_REPEAT) {
                    return None;
                }
                match max {
                    Some(max) if max == min => write!(self.out, "{{{min}}}").ok()?,
                    Some(max) => write!(self.out, "{{{min},{max}}}").ok()?,
                    None => write!(self.out, "{{{min},}}").ok()?,
                }
                self.at += length - 1;
                max.is_none_or(|max| max > 1)
            }
            _ => return Some(false),
        };
        self.at += 1;
        if self.eat(QUESTION) {
            self.out.push('?');
        }
        Some(repeats)
    }

    /// After a `\` outside a class.
    fn atom_escape(&mut self) -> Option<()> {
        let unit = self.peek()?;
        if (0x31..=0x39).contains(&unit) {
            let start = self.at;
            let mut number: u32 = 0;
            while let Some(digit) = self.peek().filter(|d| (0x30..=0x39).contains(d)) {
                number = number.saturating_mul(10).saturating_add(u32::from(digit - 0x30));
                self.at += 1;
            }
            if number <= self.groups.count {
                return self.back_reference(number);
            }
            // Annex B: not a group, so a legacy octal escape or an `8` or `9` as itself.
            self.at = start;
        }
        if unit == 0x6B && !self.groups.names.is_empty() {
            self.at += 1;
            if !self.eat(LESS) {
                return None;
            }
            let close = self.units[self.at..].iter().position(|&u| u == GREATER)?;
            let name = &self.units[self.at..self.at + close];
            let number = self.groups.names.iter().find(|(n, _)| n == name)?.1;
            self.at += close + 1;
            return self.back_reference(number);
        }
        match self.class_escape(false)? {
            ClassAtom::Unit(unit) => self.push_unit(unit),
            ClassAtom::Set(ranges, negated) => self.push_set(ranges, negated),
        }
        Some(())
    }

    fn back_reference(&mut self, number: u32) -> Option<()> {
        // fancy-regex reads `\1`..`\9`; a later digit is always written escaped.
        if number > 9 {
            return None;
        }
        self.back_references.push(number);
        // JavaScript's reference to a group that has not matched matches the empty string.
        write!(self.out, "(?({number})\\{number})").ok()
    }

    /// After a `\`, the escapes a class and an atom share. `in_class`: `\b` is a backspace and
    /// `\c` also takes a digit or `_` (Annex B).
    fn class_escape(&mut self, in_class: bool) -> Option<ClassAtom> {
        let unit = self.peek()?;
        self.at += 1;
        let atom = match unit {
            0x64 => ClassAtom::Set(DIGITS, false),
            0x44 => ClassAtom::Set(DIGITS, true),
            0x73 => ClassAtom::Set(SPACE, false),
            0x53 => ClassAtom::Set(SPACE, true),
            0x77 => ClassAtom::Set(WORD, false),
            0x57 => ClassAtom::Set(WORD, true),
            0x62 if in_class => ClassAtom::Unit(0x08),
            0x66 => ClassAtom::Unit(0x0C),
            0x6E => ClassAtom::Unit(0x0A),
            0x72 => ClassAtom::Unit(0x0D),
            0x74 => ClassAtom::Unit(0x09),
            0x76 => ClassAtom::Unit(0x0B),
            0x63 => match self.peek() {
                Some(letter)
                    if u8::try_from(letter).is_ok_and(|b| b.is_ascii_alphabetic())
                        || (in_class && (letter == 0x5F || (0x30..=0x39).contains(&letter))) =>
                {
                    self.at += 1;
                    ClassAtom::Unit(letter % 32)
                }
                // Annex B: `\c` without a control letter is a backslash, and the `c` is read again.
                _ => {
                    self.at -= 1;
                    ClassAtom::Unit(BACKSLASH)
                }
            },
            0x30..=0x37 => {
                // Legacy octal: up to three digits while the value stays within 0o377.
                let mut value = unit - 0x30;
                for _ in 0..2 {
                    match self.peek() {
                        Some(digit @ 0x30..=0x37) if value * 8 + (digit - 0x30) <= 0o377 => {
                            value = value * 8 + (digit - 0x30);
                            self.at += 1;
                        }
                        _ => break,
                    }
                }
                ClassAtom::Unit(value)
            }
            0x78 => self.hex_escape(2).map_or(ClassAtom::Unit(unit), ClassAtom::Unit),
            0x75 => self.hex_escape(4).map_or(ClassAtom::Unit(unit), ClassAtom::Unit),
            other => ClassAtom::Unit(other),
        };
        Some(atom)
    }

    /// `digits` hex digits after `\x` or `\u`; without them Annex B reads the letter as itself.
    fn hex_escape(&mut self, digits: usize) -> Option<u16> {
        let text = self.units.get(self.at..self.at + digits)?;
        let mut value: u16 = 0;
        for &unit in text {
            let digit = char::from_u32(u32::from(unit))?.to_digit(16)?;
            value = value * 16 + u16::try_from(digit).ok()?;
        }
        self.at += digits;
        Some(value)
    }

    /// After the `[`.
    fn class(&mut self) -> Option<()> {
        let negated = self.eat(0x5E);
        let mut atoms: Vec<ClassAtom> = Vec::new();
        let mut ranges: Vec<(u16, u16)> = Vec::new();
        loop {
            let first = match self.peek()? {
                CLOSE_BRACKET => {
                    self.at += 1;
                    break;
                }
                _ => self.class_atom()?,
            };
            // A range needs a `-` that is not the class's last character.
            if self.peek() == Some(0x2D) && self.peek_at(1).is_some_and(|u| u != CLOSE_BRACKET) {
                self.at += 1;
                let second = self.class_atom()?;
                match (first, second) {
                    (ClassAtom::Unit(low), ClassAtom::Unit(high)) => {
                        if low > high {
                            return None;
                        }
                        ranges.push((low, high));
                    }
                    // Annex B: a range with a class escape at either end is its three members.
                    (first, second) => {
                        atoms.push(first);
                        atoms.push(ClassAtom::Unit(0x2D));
                        atoms.push(second);
                    }
                }
            } else {
                atoms.push(first);
            }
        }
        if atoms.is_empty() && ranges.is_empty() {
            // `[]` matches nothing and `[^]` any code unit.
            self.out.push_str(if negated {
                r"[\x{0}-\x{10FFFF}]"
            } else {
                r"[^\x{0}-\x{10FFFF}]"
            });
            return Some(());
        }
        self.out.push('[');
        if negated {
            self.out.push('^');
        }
        for atom in atoms {
            match atom {
                ClassAtom::Unit(unit) => ranges.push((unit, unit)),
                ClassAtom::Set(set, set_negated) => self.push_set(set, set_negated),
            }
        }
        if self.ignore_case {
            ranges = with_case_equivalents(ranges);
        }
        for (low, high) in ranges {
            self.push_range(low, high);
        }
        self.out.push(']');
        Some(())
    }

    fn class_atom(&mut self) -> Option<ClassAtom> {
        let unit = self.peek()?;
        self.at += 1;
        if unit == BACKSLASH {
            return self.class_escape(true);
        }
        Some(ClassAtom::Unit(unit))
    }

    fn push_unit(&mut self, unit: u16) {
        let c = unit_char(unit);
        if c.is_ascii_alphabetic() {
            self.out.push(c);
        } else if self.ignore_case && unit >= 0x80 {
            self.out.push('[');
            for &equivalent in case_equivalents(unit) {
                self.push_range(equivalent, equivalent);
            }
            self.out.push(']');
        } else {
            let _ = write!(self.out, "\\x{{{:X}}}", c as u32);
        }
    }

    /// A class of `ranges`, or of everything else.
    fn push_set(&mut self, ranges: &[(u16, u16)], negated: bool) {
        self.out.push('[');
        if negated {
            self.out.push('^');
        }
        for &(low, high) in ranges {
            self.push_range(low, high);
        }
        self.out.push(']');
    }

    /// A code-unit range inside a class: its ASCII part as itself, the rest as stand-ins.
    fn push_range(&mut self, low: u16, high: u16) {
        let mut write = |low: u32, high: u32| {
            let _ = write!(self.out, "\\x{{{low:X}}}-\\x{{{high:X}}}");
        };
        let (low, high) = (u32::from(low), u32::from(high));
        if low < 0x80 {
            write(low, high.min(0x7F));
        }
        if high >= 0x80 {
            write(UNIT_BASE + low.max(0x80), UNIT_BASE + high);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What JavaScript answers, as regress's backtracking engine (which follows ECMA-262 over
    /// UTF-16 code units) finds it: the reference for generated patterns, which keep to the
    /// BMP (regress reads a pattern's astral characters and surrogate escapes as code points,
    /// where JavaScript reads code units; node is the reference for those).
    fn javascript(pattern: &str, flags: Flags, value: &str) -> Option<bool> {
        let js_flags = if flags == Flags::IgnoreCase { "i" } else { "" };
        let regex = regress::Regex::with_flags(pattern, js_flags).ok()?;
        let units: Vec<u16> = value.encode_utf16().collect();
        Some(regex.find_from_ucs2(&units, 0).next().is_some())
    }

    const PATTERNS: &[&str] = &[
        "^ab+c$",
        "a.c",
        "^.$",
        "^..$",
        "[^a]",
        "^[^]$",
        "[]",
        "^[]?$",
        "\\d{2,3}",
        "\\D",
        "\\s",
        "\\S",
        "\\w+",
        "\\W",
        "\\bfoo\\b",
        "\\Bo",
        "a|b|",
        "(a)\\1",
        "(?<x>b)\\k<x>",
        "\\k",
        "(?:ab)*c",
        "a{2}",
        "a{,2}",
        "a{2,}",
        "x{",
        "}",
        "]",
        "\\cJ",
        "\\c1",
        "[\\c1]",
        "[\\c_]",
        "\\0",
        "\\01",
        "\\101",
        "\\8",
        "\\x41",
        "\\xZ",
        "\\u0041",
        "\\u00",
        "\\uD83D\\uDE00",
        "^\\uD83D",
        "[\\uD800-\\uDFFF]",
        "[\\u0000-\\uFFFF]{2}",
        "^[\\d-z]+$",
        "[a-]",
        "[-a]",
        "[\\b]",
        "a(?=b)",
        "a(?!b)",
        "(?<=a)b",
        "(?<!a)b",
        "\\.",
        "\\/",
        "\\-",
        "a+?b",
        "a*?",
        "^\\$",
        "😀",
        "^[😀]$",
        "caf\\u00e9",
        "[\\w-]+",
        "\\x{41}",
        "a{2,1",
        "^\\t\\n\\v\\f\\r$",
        "\\u2028",
        ".\\u2029",
        "^(a|ab)(c|bcd)(d*)$",
        "((a)|b)\\2",
        "(a|b)+\\1",
        "\\1(a)",
        "(a)|\\1b",
        "ſ",
        "K",
        "s",
        "k",
        "[a-z]",
        "[\\w]",
        "\\W",
        "[^k]",
        "é",
        "[à-ÿ]+",
    ];

    const VALUES: &[&str] = &[
        "",
        "a",
        "abc",
        "abbc",
        "ac",
        "a\nc",
        "b",
        "aa",
        "aaa",
        "12",
        "1234",
        " ",
        "\u{a0}",
        "foo bar",
        "foo_bar",
        "x{",
        "}",
        "]",
        "\n",
        "\u{1}",
        "\0",
        "A",
        "Z",
        "😀",
        "x😀y",
        "\u{2028}",
        "café",
        "CAFÉ",
        "ab",
        "abcd",
        "ſ",
        "K",
        "s",
        "k",
        "S",
        "Ÿ",
        "bb",
        "a-b",
        "\u{8}",
        "$",
        "\t\n\u{b}\u{c}\r",
        "9",
        "\\",
    ];

    /// What node answers for each `(pattern, flags, value)`: `new RegExp(pattern, flags).test(value)`,
    /// `None` where it throws. One node process for the whole list; `None` (having said so) when
    /// node is not installed and `VWO_WEBHOOK_REQUIRE_NODE` is not `1`.
    fn node(cases: &[(&str, Flags, &str)]) -> Option<Vec<Option<bool>>> {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        const SCRIPT: &str = "let input = ''; process.stdin.on('data', d => input += d); \
            process.stdin.on('end', () => console.log(JSON.stringify(JSON.parse(input).map(([p, f, v]) => { \
            try { return new RegExp(p, f).test(v); } catch (e) { return null; } }))));";
        let child = Command::new("node")
            .args(["-e", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            let required = std::env::var("VWO_WEBHOOK_REQUIRE_NODE").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "node is not on PATH, and VWO_WEBHOOK_REQUIRE_NODE=1 requires it"
            );
            let _ = writeln!(
                std::io::stderr(),
                "regex comparison with node skipped: node is not on PATH"
            );
            return None;
        };
        let input: Vec<(&str, &str, &str)> = cases
            .iter()
            .map(|&(p, f, v)| (p, if f == Flags::IgnoreCase { "i" } else { "" }, v))
            .collect();
        let mut stdin = child.stdin.take().expect("node's stdin");
        stdin
            .write_all(&serde_json::to_vec(&input).expect("cases as JSON"))
            .expect("node reads the cases");
        drop(stdin);
        let output = child.wait_with_output().expect("node answers");
        assert!(output.status.success(), "node failed");
        Some(serde_json::from_slice(&output.stdout).expect("node's answers as JSON"))
    }

    #[test]
    fn agrees_with_node_on_every_listed_pattern_and_value() {
        let mut cases = Vec::new();
        for pattern in PATTERNS {
            for flags in [Flags::None, Flags::IgnoreCase] {
                for value in VALUES {
                    cases.push((*pattern, flags, *value));
                }
            }
        }
        let Some(expected) = node(&cases) else { return };
        let mut expected = expected.into_iter();
        for pattern in PATTERNS {
            for flags in [Flags::None, Flags::IgnoreCase] {
                let compiled = JsRegex::new(pattern, flags);
                if let Some(regex) = &compiled {
                    assert!(!regex.unbounded(), "{pattern:?} has a bounded form");
                }
                for value in VALUES {
                    assert_eq!(
                        compiled.as_ref().map(|regex| regex.test(value)),
                        expected.next().expect("an answer per case"),
                        "{pattern:?} ({flags:?}) on {value:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_catastrophic_pattern_runs_in_linear_time() {
        // Backtracking takes 2^n steps here: 13.7 s at n = 24 before, so 100,000 would never end.
        let regex = JsRegex::new("(a+)+b", Flags::None).expect("JavaScript accepts it");
        assert!(!regex.unbounded());
        assert!(!regex.test(&"a".repeat(100_000)));
        assert!(regex.test(&format!("{}b", "a".repeat(100_000))));
    }

    #[test]
    fn a_back_reference_runs_under_a_step_budget_and_answers_no_match() {
        let regex = JsRegex::new("^(a*)*\\1b$", Flags::None).expect("JavaScript accepts it");
        assert!(!regex.unbounded());
        assert!(regex.test("aab"));
        let before = over_budget_total();
        assert!(!regex.test(&"a".repeat(10_000)));
        assert!(over_budget_total() > before, "the exhausted budget is counted");
    }

    #[test]
    fn a_pattern_javascript_refuses_does_not_compile_and_one_without_a_bounded_form_never_matches() {
        assert!(JsRegex::new("(a", Flags::None).is_none());
        assert!(JsRegex::new("a**", Flags::None).is_none());
        let huge = JsRegex::new("^a{2000}$", Flags::None).expect("JavaScript accepts it");
        assert!(huge.unbounded());
        assert!(!huge.test(&"a".repeat(2000)));
        // JavaScript clears group 2 at each iteration of group 1; fancy-regex would keep it.
        let cleared = JsRegex::new("((a)|b)+\\2", Flags::None).expect("JavaScript accepts it");
        assert!(cleared.unbounded());
    }

    /// Pieces a generated pattern is made of: every construct the translation handles.
    const PIECES: &[&str] = &[
        "a", "b", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", ".", "^", "$", "\\b", "\\B", "(", ")", "(?:",
        "(?=", "(?!", "|", "*", "+", "?", "*?", "{1,2}", "{2}", "[ab]", "[^a]", "[a-c\\d]", "[\\s-]", "\\1",
        "{", "]", "\\x61", "\\101", "-", "é", "\\u00c9", "[à-ÿ]",
    ];

    proptest! {
        #[test]
        fn generated_patterns_agree_with_javascript(
            pieces in proptest::collection::vec(0..PIECES.len(), 1..8),
            value in "[ab1 éÉsSkK😀\\n-]{0,6}",
            ignore_case in any::<bool>(),
        ) {
            let pattern: String = pieces.iter().map(|&i| PIECES[i]).collect();
            let flags = if ignore_case { Flags::IgnoreCase } else { Flags::None };
            let expected = javascript(&pattern, flags, &value);
            let compiled = JsRegex::new(&pattern, flags);
            prop_assert_eq!(compiled.is_some(), expected.is_some(), "{:?} compiles as in JavaScript", pattern);
            if let (Some(regex), Some(expected)) = (compiled, expected) && !regex.unbounded() {
                prop_assert_eq!(regex.test(&value), expected, "{:?} ({:?}) on {:?}", pattern, flags, value);
            }
        }
    }
}
