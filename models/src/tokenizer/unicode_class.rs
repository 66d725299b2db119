//! The Unicode character classes of GPT-2's pre-tokenizer, exact to the Unicode general categories (the
//! BERT normalizer uses HF's own tables instead: see `bert_normalizer.rs`).
//!
//! Rust's `char::is_alphabetic` / `char::is_numeric` are *not* `\p{L}` / `\p{N}`: `is_alphabetic` is the
//! derived `Alphabetic` property (it adds `Nl` and many marks such as U+0345, and Other_Alphabetic), so it
//! would split "café" written with a combining accent differently from GPT-2. We use the general category
//! (via `unicode-general-category`) for everything outside ASCII and a table for ASCII.
use unicode_general_category::{get_general_category, GeneralCategory as Gc};

/// The classes that drive GPT-2's pre-tokenization pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gpt2Class {
    /// `\p{L}`: categories Lu, Ll, Lt, Lm, Lo.
    Letter,
    /// `\p{N}`: categories Nd, Nl, No.
    Number,
    /// `\s`: the Unicode `White_Space` property (what `char::is_whitespace` tests).
    Whitespace,
    /// Everything else: `[^\s\p{L}\p{N}]`.
    Other,
}

const fn ascii_class_table() -> [Gpt2Class; 128] {
    let mut table = [Gpt2Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() {
            Gpt2Class::Letter
        } else if c.is_ascii_digit() {
            Gpt2Class::Number
        } else if matches!(c, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            // The ASCII part of White_Space; 0x1C..0x1F are not in it (unlike Python's str.isspace).
            Gpt2Class::Whitespace
        } else {
            Gpt2Class::Other
        };
        b += 1;
    }
    table
}

static ASCII_CLASS: [Gpt2Class; 128] = ascii_class_table();

/// Classifies one character for the GPT-2 pattern.
///
/// ```
/// use models::tokenizer::unicode_class::{gpt2_class, Gpt2Class};
/// assert_eq!(gpt2_class('é'), Gpt2Class::Letter);
/// assert_eq!(gpt2_class('\u{301}'), Gpt2Class::Other); // combining acute: Mn, not a letter
/// assert_eq!(gpt2_class('Ⅻ'), Gpt2Class::Number);      // Nl
/// assert_eq!(gpt2_class('\u{a0}'), Gpt2Class::Whitespace);
/// ```
#[inline]
pub fn gpt2_class(ch: char) -> Gpt2Class {
    let code = ch as u32;
    if code < 128 {
        return ASCII_CLASS[code as usize];
    }
    if ch.is_whitespace() {
        return Gpt2Class::Whitespace;
    }
    match get_general_category(ch) {
        Gc::UppercaseLetter | Gc::LowercaseLetter | Gc::TitlecaseLetter | Gc::ModifierLetter | Gc::OtherLetter => {
            Gpt2Class::Letter
        }
        Gc::DecimalNumber | Gc::LetterNumber | Gc::OtherNumber => Gpt2Class::Number,
        _ => Gpt2Class::Other,
    }
}

/// `\p{L}`.
///
/// ```
/// use models::tokenizer::unicode_class::{is_letter, is_number};
/// assert!(is_letter('ß') && is_letter('中') && !is_letter('\u{345}'));
/// assert!(is_number('٣') && is_number('½') && !is_number('x'));
/// ```
pub fn is_letter(ch: char) -> bool {
    gpt2_class(ch) == Gpt2Class::Letter
}

/// `\p{N}`.
pub fn is_number(ch: char) -> bool {
    gpt2_class(ch) == Gpt2Class::Number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_table_agrees_with_general_categories() {
        for b in 0u8..128 {
            let ch = b as char;
            let expected = if ch.is_whitespace() {
                Gpt2Class::Whitespace
            } else {
                match get_general_category(ch) {
                    Gc::UppercaseLetter | Gc::LowercaseLetter => Gpt2Class::Letter,
                    Gc::DecimalNumber => Gpt2Class::Number,
                    _ => Gpt2Class::Other,
                }
            };
            assert_eq!(ASCII_CLASS[b as usize], expected, "byte {b}");
        }
    }

    #[test]
    fn std_predicates_differ_from_general_categories() {
        // Why the general category is used: std's predicates disagree on real text.
        assert!('\u{345}'.is_alphabetic() && !is_letter('\u{345}')); // combining ypogegrammeni (Mn)
        assert!('\u{bd}'.is_numeric() && is_number('\u{bd}')); // ½ is No: both agree here
        assert!('\u{2160}'.is_alphabetic() && !is_letter('\u{2160}')); // Ⅰ roman numeral (Nl)
    }
}
