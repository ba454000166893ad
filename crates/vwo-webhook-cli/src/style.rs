//! The few colours the command uses. `anstream` drops them when the output is not a terminal
//! or `NO_COLOR` is set.

use anstyle::{AnsiColor, Style};

/// Refusals and failures.
pub(crate) const ERROR: Style = AnsiColor::Red.on_default().bold();
/// Accepted deliveries and passed checks.
pub(crate) const OK: Style = AnsiColor::Green.on_default().bold();
/// A warning: a hardening check that failed.
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default().bold();
/// Labels and quiet detail.
pub(crate) const DIM: Style = Style::new().dimmed();

/// `text` in `style`.
pub(crate) fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// The style for an HTTP status: green for 2xx, red otherwise.
pub(crate) fn status(status: u16) -> Style {
    if (200..300).contains(&status) { OK } else { ERROR }
}

/// At most the last 4 characters of a secret, for telling keys apart without showing one.
pub(crate) fn tail(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let shown = if chars.len() >= 12 { 4 } else { chars.len() / 3 };
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn a_tail_never_shows_more_than_four_characters_or_a_third() {
        assert_eq!(tail("conformance-s3cret-7f2a"), "…7f2a");
        assert_eq!(tail("abc"), "…c");
        assert_eq!(tail("ab"), "…");
    }
}
