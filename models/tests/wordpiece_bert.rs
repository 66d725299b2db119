//! WordPiece with BERT's (all-MiniLM-L6-v2's) vocab.txt against HF `tokenizers` references.
mod common;

use common::data_file;
use models::tokenizer::{special, Tokenizer, WordPiece};

fn minilm() -> Option<WordPiece> {
    let path = data_file("minilm/vocab.txt")?;
    Some(WordPiece::from_vocab_file(path).expect("vocab.txt loads"))
}

fn ids_of(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

fn tokens_of(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn vocabulary_and_specials() {
    let Some(wp) = minilm() else { return };
    assert_eq!(wp.vocab_size(), 30522);
    for (name, id) in [
        (special::BERT_PAD, 0),
        (special::UNK, 100),
        (special::CLS, 101),
        (special::SEP, 102),
        (special::MASK, 103),
    ] {
        assert_eq!(wp.special_token_id(name), Some(id), "{name}");
    }
}

#[test]
fn all_wordpiece_references_match() {
    let Some(wp) = minilm() else { return };
    let Some(path) = data_file("minilm/wordpiece_reference.jsonl") else {
        return;
    };
    let mut checked = 0;
    for line in std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = record["text"].as_str().unwrap();
        let enc = wp.encode(text);
        assert_eq!(enc.tokens, tokens_of(&record["tokens"]), "{text:?}");
        assert_eq!(enc.ids, ids_of(&record["ids"]), "{text:?}");
        checked += 1;
    }
    assert_eq!(checked, 15);
    println!("{checked} WordPiece references match");
}

#[test]
fn reference_json_sentences_match() {
    let Some(wp) = minilm() else { return };
    let Some(path) = data_file("minilm/reference.json") else {
        return;
    };
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let sentences = reference["sentences"].as_array().unwrap();
    for s in sentences {
        let text = s["text"].as_str().unwrap();
        let enc = wp.encode(text);
        assert_eq!(enc.tokens, tokens_of(&s["tokens"]), "{text:?}");
        assert_eq!(enc.ids, ids_of(&s["input_ids"]), "{text:?}");
    }
    assert_eq!(sentences.len(), 10);
}

#[test]
fn specials_as_text_unless_allowed_and_pair_template() {
    let Some(wp) = minilm() else { return };
    // Ordinary encoding treats "[MASK]" as the three pieces [ mask ].
    let ordinary = wp.encode_ordinary("a [MASK] b");
    assert!(!ordinary.contains(&103));
    assert_eq!(ordinary.len(), 5);
    assert_eq!(
        wp.encode_with_special("a [MASK] b", &[special::MASK]),
        vec![1037, 103, 1038]
    );
    let pair = wp.encode_pair("hello", "world");
    assert_eq!(pair.tokens, ["[CLS]", "hello", "[SEP]", "world", "[SEP]"]);
    assert_eq!(pair.type_ids, vec![0, 0, 0, 1, 1]);
    assert_eq!(wp.decode(&wp.encode("unaffable").ids).unwrap(), "[CLS] unaffable [SEP]");
}

#[test]
fn overlong_word_is_unk() {
    let Some(wp) = minilm() else { return };
    let long = "a".repeat(101);
    assert_eq!(wp.encode_ordinary(&long), vec![100]);
    assert_ne!(wp.encode_ordinary(&"a".repeat(100)), vec![100]);
}

#[test]
fn characters_newer_than_hf_unicode_tables_match_hf() {
    // Expected ids from HF `tokenizers` 0.23.3 with minilm's tokenizer.json (truncation and padding off).
    // HF classifies characters with Unicode 8.0 tables: an unassigned code point is kept (-> [UNK]), a mark
    // or format character added later is an ordinary character, not stripped or removed.
    let Some(wp) = minilm() else { return };
    let cases: [(&str, &[u32]); 5] = [
        ("\u{2ffca} x", &[101, 100, 1060, 102]),                        // unassigned
        ("a\u{afa} b", &[101, 100, 1038, 102]),                         // Mn since Unicode 10
        ("\u{1885}\u{8e2}!", &[101, 100, 999, 102]),                    // Lo before 9.0; Cf since 9.0
        ("caf\u{e9}\u{200b}\u{e000} \u{7}ok", &[101, 7668, 7929, 102]), // Cf, Co, Cc removed
        ("Caf\u{e9} \u{13431} \u{898}", &[101, 7668, 100, 100, 102]),   // Cf (Unicode 12), Mn (Unicode 14)
    ];
    for (text, expected) in cases {
        assert_eq!(wp.encode(text).ids, expected, "{text:?}");
    }
}
