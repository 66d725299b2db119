//! BERT's text normalizer and pre-tokenizer (what HF `tokenizers` calls `BertNormalizer` and
//! `BertPreTokenizer`), for uncased WordPiece vocabularies.
//!
//! Normalizing, in order: clean text (drop NUL, U+FFFD and control/format/private-use characters, turn every
//! whitespace character into a space), put spaces around CJK ideographs, strip accents (NFD, then drop
//! non-spacing marks), lower-case. Pre-tokenizing: split on whitespace, and make every punctuation
//! character (ASCII punctuation or Unicode `P*`) a word of its own.
//!
//! The character classes (control/format/private use, non-spacing mark, punctuation) come from the
//! `unicode_categories` crate, the one HF `tokenizers` uses. Its tables are Unicode 8.0: a character
//! assigned or re-categorised since (U+0AFA, a Gujarati mark from Unicode 10; U+1885, Lo before 9.0) is an
//! ordinary character here, as it was for every BERT checkpoint tokenized by HF. Current tables would strip
//! or drop such characters and give different ids, which a held-out check against HF showed.
use unicode_categories::UnicodeCategories;
use unicode_normalization::UnicodeNormalization;

/// BERT's normalizer settings. `Default` is the uncased setup (all on; accents stripped because lower-casing).
///
/// ```
/// use models::tokenizer::BertNormalizer;
/// let n = BertNormalizer::default();
/// assert_eq!(n.normalize("Héllo\tWörld 中文"), "hello world  中  文 ");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BertNormalizer {
    pub clean_text: bool,
    pub handle_chinese_chars: bool,
    /// `None`: strip accents exactly when lower-casing (BERT's rule).
    pub strip_accents: Option<bool>,
    pub lowercase: bool,
}

impl Default for BertNormalizer {
    fn default() -> Self {
        BertNormalizer {
            clean_text: true,
            handle_chinese_chars: true,
            strip_accents: None,
            lowercase: true,
        }
    }
}

/// BERT's whitespace: `\t`, `\n`, `\r` and Unicode `White_Space`.
pub fn is_bert_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// BERT's control characters, removed by clean text: categories Cc, Cf, Co (Unicode 8.0) except `\t \n \r`.
/// Unassigned code points are not among them: they survive and become `[UNK]`.
pub fn is_bert_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// The CJK ideograph ranges BERT puts spaces around (as in HF `tokenizers`, including its 0x2B920 start).
pub fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// BERT's punctuation: ASCII punctuation (which includes symbols such as `$ + < = > ^ | ~`) or Unicode `P*`.
pub fn is_bert_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && UnicodeCategories::is_punctuation(c))
}

impl BertNormalizer {
    /// Normalizes a text.
    pub fn normalize(&self, text: &str) -> String {
        let mut s = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if self.clean_text {
                if c == '\0' || c == '\u{FFFD}' || is_bert_control(c) {
                    continue;
                }
                if is_bert_whitespace(c) {
                    s.push(' ');
                    continue;
                }
            }
            if self.handle_chinese_chars && is_chinese_char(c) {
                s.push(' ');
                s.push(c);
                s.push(' ');
            } else {
                s.push(c);
            }
        }
        if self.strip_accents.unwrap_or(self.lowercase) && !s.is_ascii() {
            s = s.nfd().filter(|c| !c.is_mark_nonspacing()).collect();
        }
        if self.lowercase {
            s = if s.is_ascii() {
                s.to_ascii_lowercase()
            } else {
                s.chars().flat_map(char::to_lowercase).collect()
            };
        }
        s
    }
}

/// BERT's pre-tokenizer: words split on whitespace, each punctuation character a word of its own.
///
/// ```
/// assert_eq!(models::tokenizer::bert_pre_tokenize("can't stop, won't"), ["can", "'", "t", "stop", ",", "won", "'", "t"]);
/// ```
pub fn bert_pre_tokenize(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_bert_punctuation(c) {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
            if !c.is_whitespace() {
                words.push(&text[i..i + c.len_utf8()]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizer_steps() {
        let n = BertNormalizer::default();
        assert_eq!(n.normalize("İstanbul"), "istanbul");
        assert_eq!(n.normalize("zero\u{200b}width"), "zerowidth"); // Cf removed
        assert_eq!(n.normalize("a\u{0}b\u{fffd}c\u{7}d"), "abcd");
        assert_eq!(n.normalize("e\u{301}"), "e");
        assert_eq!(n.normalize("\u{2ffca}"), "\u{2ffca}"); // unassigned: kept, as HF does
        assert_eq!(n.normalize("a\u{afa}"), "a\u{afa}"); // Mn only since Unicode 10: kept, as HF does
        let cased = BertNormalizer {
            lowercase: false,
            ..BertNormalizer::default()
        };
        assert_eq!(cased.normalize("Café"), "Café");
    }

    #[test]
    fn pre_tokenizer_splits_punctuation() {
        assert_eq!(bert_pre_tokenize("  a.b¿c  "), ["a", ".", "b", "¿", "c"]);
        assert_eq!(bert_pre_tokenize("$5"), ["$", "5"]);
    }
}
