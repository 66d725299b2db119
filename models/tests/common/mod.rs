//! Shared helpers of the tokenizer tests: where the shared data lives, and skipping when it is absent.
#![allow(dead_code)]
use std::path::PathBuf;

/// `../shared/data` relative to the workspace root, if present.
pub fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    dir.is_dir().then_some(dir)
}

/// The path of a shared data file, or `None` after printing why the test is skipped.
pub fn data_file(relative: &str) -> Option<PathBuf> {
    let path = shared_data().map(|d| d.join(relative));
    match path {
        Some(p) if p.exists() => Some(p),
        _ => {
            eprintln!(
                "SKIPPED: shared data file {relative} not found (expected under ../shared/data of the workspace)"
            );
            None
        }
    }
}

/// A small deterministic random generator (xorshift64*), so generated samples are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// A string mixing the hard cases of GPT-2 pre-tokenization: words, contractions (lower and upper case),
/// digits, whitespace runs of every kind, CJK, emoji with ZWJ, skin tones and variation selectors,
/// combining marks, other scripts, punctuation, and random code points from the whole range.
pub fn random_mixed_text(rng: &mut Rng, pieces: usize) -> String {
    const WORDS: &[&str] = &[
        "hello",
        "World",
        "the",
        "DON",
        "naïve",
        "Ünïcödé",
        "x",
        "café",
        "straße",
        "ǅemal",
    ];
    const CONTRACTIONS: &[&str] = &[
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'", "''", "'x",
    ];
    const SPACES: &[&str] = &[
        " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u{a0}", "\u{3000}", "\u{2028}", "\u{85}", "\u{2009}",
        "\u{b}", "\u{c}",
    ];
    const CJK: &[&str] = &["中文", "测试", "你好，世界！", "日本語", "한국어", "ｶﾀｶﾅ", "𠀀𠀁"];
    const EMOJI: &[&str] = &[
        "👍🏽",
        "🚀",
        "🤖",
        "❤️",
        "👨\u{200d}👩\u{200d}👧\u{200d}👦",
        "🏳️\u{200d}🌈",
        "1️⃣",
        "🇫🇷",
    ];
    const MARKS: &[&str] = &[
        "e\u{301}",
        "a\u{308}",
        "\u{301}\u{301}",
        "n\u{303}",
        "\u{20dd}",
        "ก\u{e31}",
        "क\u{94d}ष",
    ];
    const OTHER: &[&str] = &[
        "Ελληνικά",
        "кириллица",
        "العربية",
        "हिन्दी",
        "ไทย",
        "Ⅻ",
        "½",
        "²³",
        "٣٤",
        "①",
    ];
    const PUNCT: &[&str] = &[
        "!",
        "?!",
        "...",
        ",",
        "(",
        ")",
        "[]",
        "{}",
        "**",
        "#",
        "$",
        "<|endoftext|>",
        "—",
        "«»",
        "://",
        "_",
    ];
    const DIGITS: &[&str] = &["0", "00", "123", "2024", "3.14", "1,000", "000000000000"];
    let mut s = String::new();
    for _ in 0..pieces {
        match rng.below(12) {
            0 | 1 => s.push_str(rng.pick(WORDS)),
            2 => s.push_str(rng.pick(CONTRACTIONS)),
            3 | 4 => s.push_str(rng.pick(SPACES)),
            5 => s.push_str(rng.pick(CJK)),
            6 => s.push_str(rng.pick(EMOJI)),
            7 => s.push_str(rng.pick(MARKS)),
            8 => s.push_str(rng.pick(OTHER)),
            9 => s.push_str(rng.pick(PUNCT)),
            10 => s.push_str(rng.pick(DIGITS)),
            _ => {
                // Any scalar value: surrogates are skipped by from_u32.
                let range = if rng.below(2) == 0 { 0x3000 } else { 0x11_0000 };
                if let Some(c) = char::from_u32(rng.below(range) as u32) {
                    s.push(c);
                }
            }
        }
    }
    s
}
