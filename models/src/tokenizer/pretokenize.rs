//! GPT-2's pre-tokenizer, written by hand.
//!
//! GPT-2 splits text with this pattern before byte-pair merging (tiktoken's `r50k_base`/`gpt2`):
//!
//! ```text
//! 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//! ```
//!
//! Alternatives are tried in order at each position, each one greedy. The `\s+(?!\S)` rule makes a run of
//! whitespace followed by a word leave its last character for the word (`"a  b"` → `"a"`, `" "`, `" b"`),
//! and a run at the end of the text stay whole. Doing this by hand instead of with a backtracking regex is
//! the main reason our encoder is fast.
use super::unicode_class::{gpt2_class, Gpt2Class};

/// Iterator over GPT-2 pre-tokens of a text; every byte of the text is in exactly one piece, in order.
///
/// ```
/// use models::tokenizer::Gpt2PreTokenizer;
/// let pieces: Vec<&str> = Gpt2PreTokenizer::new("I'll pay 42$  now!\n").collect();
/// assert_eq!(pieces, ["I", "'ll", " pay", " 42", "$", " ", " now", "!", "\n"]);
/// ```
pub struct Gpt2PreTokenizer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Gpt2PreTokenizer<'a> {
    pub fn new(text: &'a str) -> Self {
        Gpt2PreTokenizer { text, pos: 0 }
    }
}

/// Decodes the char starting at byte `i` of a valid UTF-8 string: (char, its length in bytes).
#[inline(always)]
fn char_at(bytes: &[u8], i: usize) -> (char, usize) {
    let b0 = bytes[i];
    if b0 < 0x80 {
        return (b0 as char, 1);
    }
    // `bytes` comes from a `&str`, so the sequence is valid and complete.
    let (len, init) = if b0 < 0xE0 {
        (2, (b0 & 0x1F) as u32)
    } else if b0 < 0xF0 {
        (3, (b0 & 0x0F) as u32)
    } else {
        (4, (b0 & 0x07) as u32)
    };
    let mut code = init;
    for k in 1..len {
        code = (code << 6) | (bytes[i + k] & 0x3F) as u32;
    }
    // A code decoded from valid UTF-8 is always a scalar value; the fallback only avoids an unwrap.
    (char::from_u32(code).unwrap_or('\u{FFFD}'), len)
}

#[inline(always)]
fn class_at(bytes: &[u8], i: usize) -> (Gpt2Class, usize) {
    let (ch, len) = char_at(bytes, i);
    (gpt2_class(ch), len)
}

/// Length in bytes of a contraction (`'s 't 're 've 'm 'll 'd`, lower case only) starting at `i`, or 0.
#[inline]
fn contraction_len(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i + 1) {
        Some(b's' | b't' | b'm' | b'd') => 2,
        Some(b'r') if bytes.get(i + 2) == Some(&b'e') => 3,
        Some(b'v') if bytes.get(i + 2) == Some(&b'e') => 3,
        Some(b'l') if bytes.get(i + 2) == Some(&b'l') => 3,
        _ => 0,
    }
}

/// End of the run of characters of class `class` starting at byte `i`.
#[inline(always)]
fn run_end(bytes: &[u8], mut i: usize, class: Gpt2Class) -> usize {
    while i < bytes.len() {
        let b = bytes[i];
        // Fast ASCII letters, the common case.
        if class == Gpt2Class::Letter && b.is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let (c, len) = class_at(bytes, i);
        if c != class {
            break;
        }
        i += len;
    }
    i
}

/// Byte length of the GPT-2 pre-token that starts at byte `start` (which must be < `bytes.len()`).
#[inline]
pub(crate) fn next_piece_end(bytes: &[u8], start: usize) -> usize {
    let first = bytes[start];
    if first == b'\'' {
        let n = contraction_len(bytes, start);
        if n > 0 {
            return start + n;
        }
    }
    let (class, len) = class_at(bytes, start);
    match class {
        Gpt2Class::Letter | Gpt2Class::Number | Gpt2Class::Other => run_end(bytes, start + len, class),
        Gpt2Class::Whitespace => {
            if first == b' ' && start + 1 < bytes.len() {
                let (next_class, next_len) = class_at(bytes, start + 1);
                if next_class != Gpt2Class::Whitespace {
                    // ` ?\p{L}+`, ` ?\p{N}+` or ` ?[^\s\p{L}\p{N}]+`.
                    return run_end(bytes, start + 1 + next_len, next_class);
                }
            }
            // A whitespace run: `\s+(?!\S)`, falling back to `\s+` for a single character.
            let mut end = start + len;
            let mut last_start = start;
            while end < bytes.len() {
                let (c, l) = class_at(bytes, end);
                if c != Gpt2Class::Whitespace {
                    break;
                }
                last_start = end;
                end += l;
            }
            if end == bytes.len() || last_start == start {
                end
            } else {
                last_start
            }
        }
    }
}

impl<'a> Iterator for Gpt2PreTokenizer<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return None;
        }
        let start = self.pos;
        let end = next_piece_end(bytes, start);
        self.pos = end;
        Some(&self.text[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        Gpt2PreTokenizer::new(text).collect()
    }

    #[test]
    fn whitespace_rules() {
        assert_eq!(split("a  b"), ["a", " ", " b"]);
        assert_eq!(split("a \n b"), ["a", " \n", " b"]);
        assert_eq!(split("a\n\nb"), ["a", "\n", "\n", "b"]);
        assert_eq!(split("trailing   "), ["trailing", "   "]);
        assert_eq!(split(" \thello"), [" ", "\t", "hello"]);
        assert_eq!(split("x\u{a0}y"), ["x", "\u{a0}", "y"]);
        assert_eq!(split("  "), ["  "]);
        assert_eq!(split(""), Vec::<&str>::new());
    }

    #[test]
    fn contractions_and_punctuation() {
        assert_eq!(split("'s 're"), ["'s", " '", "re"]);
        assert_eq!(split("don't"), ["don", "'t"]);
        assert_eq!(split("DON'T"), ["DON", "'", "T"]);
        assert_eq!(split("''quoted''"), ["''", "quoted", "''"]);
        assert_eq!(split("!'s"), ["!'", "s"]);
        assert_eq!(split("x**2  # y"), ["x", "**", "2", " ", " #", " y"]);
    }

    #[test]
    fn unicode_classes() {
        assert_eq!(split("café e\u{301}"), ["café", " e", "\u{301}"]);
        assert_eq!(split("中文，世界"), ["中文", "，", "世界"]);
        assert_eq!(split("Ⅻ½3x"), ["Ⅻ½3", "x"]);
    }
}
