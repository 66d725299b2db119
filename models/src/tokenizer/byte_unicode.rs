//! GPT-2's reversible byte <-> unicode-character table.
//!
//! GPT-2's `encoder.json` and `vocab.bpe` store byte strings as text: each byte is shown as one printable
//! character. Printable Latin-1 bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves; the other 68 bytes
//! are mapped, in increasing order, to U+0100, U+0101, ... (so the space 0x20 becomes `Ġ` U+0120).

/// The character GPT-2 uses to show each byte, indexed by byte.
///
/// ```
/// let table = models::tokenizer::bytes_to_unicode();
/// assert_eq!(table[b'a' as usize], 'a');
/// assert_eq!(table[b' ' as usize], 'Ġ');
/// assert_eq!(table[b'\n' as usize], 'Ċ');
/// ```
pub fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next_extra = 0u32;
    for byte in 0..256u32 {
        let printable = (0x21..=0x7E).contains(&byte) || (0xA1..=0xAC).contains(&byte) || (0xAE..=0xFF).contains(&byte);
        let code = if printable {
            byte
        } else {
            next_extra += 1;
            255 + next_extra
        };
        table[byte as usize] = char::from_u32(code).expect("codes below 0x200 are valid chars");
    }
    table
}

/// The inverse table: for a character of GPT-2's byte alphabet, its byte.
///
/// ```
/// let inverse = models::tokenizer::unicode_to_bytes();
/// assert_eq!(inverse(&'Ġ'), Some(b' '));
/// assert_eq!(inverse(&'中'), None);
/// ```
pub fn unicode_to_bytes() -> impl Fn(&char) -> Option<u8> {
    let mut inverse = [0u16; 0x200];
    for (byte, ch) in bytes_to_unicode().iter().enumerate() {
        inverse[*ch as usize] = byte as u16 + 1;
    }
    move |ch: &char| {
        let code = *ch as usize;
        if code < inverse.len() && inverse[code] != 0 {
            Some((inverse[code] - 1) as u8)
        } else {
            None
        }
    }
}

/// Decodes a token written in GPT-2's byte alphabet back to its bytes; `None` if a character is outside it.
///
/// ```
/// assert_eq!(models::tokenizer::byte_unicode::token_text_to_bytes("Ġhello"), Some(b" hello".to_vec()));
/// ```
pub fn token_text_to_bytes(text: &str) -> Option<Vec<u8>> {
    let inverse = unicode_to_bytes();
    text.chars().map(|c| inverse(&c)).collect()
}

/// Writes bytes in GPT-2's byte alphabet (the inverse of [`token_text_to_bytes`]).
///
/// ```
/// assert_eq!(models::tokenizer::byte_unicode::bytes_to_token_text(b" hi\n"), "ĠhiĊ");
/// ```
pub fn bytes_to_token_text(bytes: &[u8]) -> String {
    let table = bytes_to_unicode();
    bytes.iter().map(|b| table[*b as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_a_bijection_onto_printable_chars() {
        let table = bytes_to_unicode();
        let mut seen = std::collections::HashSet::new();
        for ch in table {
            assert!(!ch.is_whitespace() && !ch.is_control(), "{ch:?}");
            assert!(seen.insert(ch));
        }
        let inverse = unicode_to_bytes();
        for byte in 0..=255u8 {
            assert_eq!(inverse(&table[byte as usize]), Some(byte));
        }
        assert_eq!(table[0], 'Ā');
        assert_eq!(table[0xAD], 'Ń'); // 0xAD (soft hyphen) is the last non-printable byte: U+0100 + 67
    }
}
