//! Our character classes against the `regex` crate's `\p{L}`, `\p{N}` and `\s` (what tiktoken's pattern
//! uses) over every Unicode scalar value, and std's `is_alphabetic`/`is_numeric` shown to differ.
use models::tokenizer::unicode_class::{gpt2_class, Gpt2Class};
use regex::Regex;

#[test]
fn gpt2_classes_equal_regex_classes_on_every_code_point() {
    let letter = Regex::new(r"^\p{L}$").unwrap();
    let number = Regex::new(r"^\p{N}$").unwrap();
    let space = Regex::new(r"^\s$").unwrap();
    let mut buf = [0u8; 4];
    let (mut letters, mut numbers, mut std_alpha_differs, mut std_numeric_differs) = (0, 0, 0, 0);
    for code in 0..=0x10FFFFu32 {
        let Some(ch) = char::from_u32(code) else { continue };
        let s: &str = ch.encode_utf8(&mut buf);
        let expected = if space.is_match(s) {
            Gpt2Class::Whitespace
        } else if letter.is_match(s) {
            Gpt2Class::Letter
        } else if number.is_match(s) {
            Gpt2Class::Number
        } else {
            Gpt2Class::Other
        };
        assert_eq!(gpt2_class(ch), expected, "U+{code:04X}");
        letters += (expected == Gpt2Class::Letter) as usize;
        numbers += (expected == Gpt2Class::Number) as usize;
        std_alpha_differs += (ch.is_alphabetic() != (expected == Gpt2Class::Letter)) as usize;
        std_numeric_differs += (ch.is_numeric() != (expected == Gpt2Class::Number)) as usize;
    }
    println!(
        "{letters} letters, {numbers} numbers; std is_alphabetic differs from \\p{{L}} on {std_alpha_differs} \
         code points, is_numeric from \\p{{N}} on {std_numeric_differs}"
    );
    assert!(letters > 100_000 && numbers > 1_000);
    assert!(
        std_alpha_differs > 0,
        "std's is_alphabetic is not \\p{{L}}: that is why the general category is used"
    );
}
