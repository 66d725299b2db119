//! GPT-2 byte-level BPE loaded from OpenAI's files: exact ids against the shared references and against
//! tiktoken-rs (an independent implementation; its `r50k_base` is GPT-2's encoding).
mod common;

use common::{data_file, random_mixed_text, Rng};
use models::tokenizer::{special, BpeTokenizer, Gpt2PreTokenizer, Tokenizer};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

fn gpt2() -> Option<&'static BpeTokenizer> {
    static TOKENIZER: OnceLock<Option<BpeTokenizer>> = OnceLock::new();
    TOKENIZER
        .get_or_init(|| {
            let dir = data_file("gpt2_bpe/encoder.json")?.parent()?.to_path_buf();
            Some(BpeTokenizer::from_gpt2_dir(&dir).expect("GPT-2 files load"))
        })
        .as_ref()
}

fn tiktoken() -> &'static tiktoken_rs::CoreBPE {
    tiktoken_rs::r50k_base_singleton()
}

#[test]
fn loads_gpt2_vocabulary() {
    let Some(tok) = gpt2() else { return };
    assert_eq!(tok.vocab_size(), 50257);
    assert_eq!(tok.num_merges(), 50000);
    assert_eq!(tok.special_tokens().id(special::ENDOFTEXT), Some(50256));
}

#[test]
fn all_reference_encodings_match() {
    let Some(tok) = gpt2() else { return };
    let Some(path) = data_file("gpt2_bpe/reference_encodings.jsonl") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let input = record["text"].as_str().unwrap();
        let expected: Vec<u32> = record["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let special_allowed = record
            .get("note")
            .and_then(|n| n.as_str())
            .is_some_and(|n| n.contains("special token"));
        let got = if special_allowed {
            tok.encode_with_special(input, &[special::ENDOFTEXT])
        } else {
            tok.encode_ordinary(input)
        };
        assert_eq!(got, expected, "record {}: {input:?}", checked + 1);
        assert_eq!(tok.decode(&got).unwrap(), input);
        checked += 1;
    }
    assert_eq!(checked, 99, "all reference records checked");
    println!("{checked} reference encodings match");
}

fn shakespeare() -> Option<String> {
    Some(std::fs::read_to_string(data_file("tinyshakespeare.txt")?).unwrap())
}

#[test]
fn tiny_shakespeare_whole_file_count_and_sha256() {
    let (Some(tok), Some(text)) = (gpt2(), shakespeare()) else {
        return;
    };
    let Some(stats_path) = data_file("gpt2_bpe/tinyshakespeare_gpt2_stats.json") else {
        return;
    };
    let stats: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(stats_path).unwrap()).unwrap();
    let ids = tok.encode_ordinary(&text);
    assert_eq!(ids.len() as u64, stats["gpt2_tokens"].as_u64().unwrap());
    let mut hasher = Sha256::new();
    for id in &ids {
        hasher.update((*id as u16).to_le_bytes());
    }
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, stats["sha256_of_ids_as_uint16le"].as_str().unwrap());
    // nanoGPT's split: first 90% of the characters / the rest.
    let chars: Vec<char> = text.chars().collect();
    let cut = chars.len() * 9 / 10;
    let train: String = chars[..cut].iter().collect();
    let val: String = chars[cut..].iter().collect();
    assert_eq!(
        tok.encode_ordinary(&train).len() as u64,
        stats["nanogpt_split_train_tokens(first 90% of chars)"]
            .as_u64()
            .unwrap()
    );
    assert_eq!(
        tok.encode_ordinary(&val).len() as u64,
        stats["nanogpt_split_val_tokens(last 10% of chars)"].as_u64().unwrap()
    );
    assert_eq!(tok.decode(&ids).unwrap(), text);
}

#[test]
fn tiny_shakespeare_matches_tiktoken_whole_and_by_line() {
    let (Some(tok), Some(text)) = (gpt2(), shakespeare()) else {
        return;
    };
    assert_eq!(tok.encode_ordinary(&text), tiktoken().encode_ordinary(&text));
    // Short texts take the uncached path: check every line and every 1000-char window too.
    let mut lines = 0;
    for line in text.split_inclusive('\n') {
        assert_eq!(tok.encode_ordinary(line), tiktoken().encode_ordinary(line), "{line:?}");
        lines += 1;
    }
    let chars: Vec<char> = text.chars().collect();
    for window in chars.chunks(1000) {
        let s: String = window.iter().collect();
        assert_eq!(tok.encode_ordinary(&s), tiktoken().encode_ordinary(&s));
    }
    println!(
        "tiny shakespeare: whole file, {lines} lines and {} windows match tiktoken",
        chars.len().div_ceil(1000)
    );
}

#[test]
fn generated_unicode_matches_tiktoken() {
    let Some(tok) = gpt2() else { return };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total_bytes = 0;
    for case in 0..3000 {
        let text = random_mixed_text(&mut rng, 1 + case % 60);
        total_bytes += text.len();
        let ours = tok.encode_ordinary(&text);
        assert_eq!(ours, tiktoken().encode_ordinary(&text), "case {case}: {text:?}");
        assert_eq!(tok.decode(&ours).unwrap(), text);
    }
    // One long text takes the cached path.
    let long = random_mixed_text(&mut rng, 40_000);
    total_bytes += long.len();
    assert!(long.len() > 4096);
    assert_eq!(tok.encode_ordinary(&long), tiktoken().encode_ordinary(&long));
    println!("generated: 3001 texts, {total_bytes} bytes match tiktoken");
}

#[test]
fn long_pieces_take_the_heap_merge_and_match_tiktoken() {
    // Pieces longer than 128 bytes are merged with the heap version: check it on GPT-2's real merges.
    let Some(tok) = gpt2() else { return };
    let cases = [
        "a".repeat(5000),
        format!("{}x", " ".repeat(3000)),
        "!".repeat(1000),
        "😀".repeat(300),
        "1".repeat(999),
        "\n".repeat(700),
        "ab".repeat(700) + &"é".repeat(300),
        "中文".repeat(200),
        format!("x{}", "\u{301}".repeat(400)),
        "-=".repeat(333),
    ];
    for text in &cases {
        let ours = tok.encode_ordinary(text);
        assert_eq!(
            ours,
            tiktoken().encode_ordinary(text),
            "{:?}...",
            text.chars().take(20).collect::<String>()
        );
        assert_eq!(tok.decode(&ours).unwrap(), *text);
    }
}

#[test]
fn pre_tokenizer_matches_tiktoken_piece_boundaries() {
    // Each of our pieces, encoded alone by tiktoken, must give the same ids as tiktoken on the whole
    // text: a weaker check than equality of splits, but one that sees boundaries move.
    let Some(tok) = gpt2() else { return };
    let mut rng = Rng(12345);
    for _ in 0..500 {
        let text = random_mixed_text(&mut rng, 30);
        let joined: Vec<u32> = Gpt2PreTokenizer::new(&text)
            .flat_map(|p| tiktoken().encode_ordinary(p))
            .collect();
        assert_eq!(joined, tok.encode_ordinary(&text), "{text:?}");
    }
}

#[test]
fn special_tokens_only_when_allowed() {
    let Some(base) = gpt2() else { return };
    let text = "a<|endoftext|>b";
    assert_eq!(base.encode_ordinary(text), tiktoken().encode_ordinary(text));
    assert!(!base.encode_ordinary(text).contains(&50256));
    assert_eq!(
        base.encode_with_special(text, &[special::ENDOFTEXT]),
        tiktoken().encode_with_special_tokens(text)
    );
    let mut chat = base.clone();
    let ids = chat.add_special_tokens(&special::CHAT_TOKENS);
    assert_eq!(ids, vec![50257, 50258, 50259, 50260, 50261]);
    let convo = "<|user|>Hi!<|end|><|assistant|>";
    let with = chat.encode_with_special(convo, &[special::USER, special::END_OF_TURN, special::ASSISTANT]);
    assert_eq!(with[0], 50258);
    assert_eq!(*with.last().unwrap(), 50259);
    assert_eq!(chat.decode(&with).unwrap(), convo);
    // As ordinary text the markers are GPT-2's ordinary pieces.
    assert_eq!(chat.encode_ordinary(convo), base.encode_ordinary(convo));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_strings_match_tiktoken_and_roundtrip(s in any::<String>()) {
        if let Some(tok) = gpt2() {
            let ids = tok.encode_ordinary(&s);
            prop_assert_eq!(&ids, &tiktoken().encode_ordinary(&s));
            prop_assert_eq!(tok.decode(&ids).unwrap(), s);
        }
    }

    #[test]
    fn structured_strings_roundtrip(s in "[a-z' \n\t0-9é中👍\u{301}\u{a0}!.]{0,80}") {
        if let Some(tok) = gpt2() {
            let ids = tok.encode_ordinary(&s);
            prop_assert_eq!(&ids, &tiktoken().encode_ordinary(&s));
            prop_assert_eq!(Tokenizer::decode(tok, &ids).unwrap(), s);
        }
    }
}
