//! Character-level tokenizer, BPE training on a real corpus, and the save/load format.
mod common;

use common::{data_file, random_mixed_text, Rng};
use models::tokenizer::saved::{load, save, SavedTokenizer};
use models::tokenizer::{special, AnyTokenizer, BpeTrainer, CharTokenizer, Tokenizer};
use proptest::prelude::*;
use std::time::Instant;

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("models_tok_tests_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn shakespeare() -> Option<String> {
    Some(std::fs::read_to_string(data_file("tinyshakespeare.txt")?).unwrap())
}

#[test]
fn tiny_shakespeare_has_65_characters() {
    let Some(text) = shakespeare() else { return };
    let tok = CharTokenizer::from_corpus(&text).unwrap();
    assert_eq!(tok.vocab_size(), 65);
    assert_eq!(tok.chars()[0], '\n');
    assert_eq!(tok.chars()[1], ' ');
    assert_eq!(
        tok.encode("hii there").unwrap(),
        vec![46, 47, 47, 1, 58, 46, 43, 56, 43]
    ); // nanoGPT's example
    let ids = tok.encode(&text).unwrap();
    assert_eq!(ids.len(), 1_115_394);
    assert_eq!(tok.decode(&ids).unwrap(), text);
}

#[test]
fn char_tokenizer_saves_and_loads() {
    let tok = CharTokenizer::from_corpus("héllo wörld 中文 👍\n\t\"\\").unwrap();
    let path = temp_path("char.json");
    save(&SavedTokenizer::Char(tok.clone()), &path).unwrap();
    let SavedTokenizer::Char(back) = load(&path).unwrap() else {
        panic!("kind changed")
    };
    assert_eq!(back.chars(), tok.chars());
    let err = back.encode("z").unwrap_err();
    assert!(err.to_string().contains("'z'"), "{err}");
}

/// A corpus for training: tiny Shakespeare when present, else a generated multilingual text.
fn training_corpus() -> String {
    shakespeare().unwrap_or_else(|| {
        let mut rng = Rng(7);
        (0..200)
            .map(|_| random_mixed_text(&mut rng, 200))
            .collect::<Vec<_>>()
            .join(" the and of to ")
    })
}

#[test]
fn bpe_trains_on_a_megabyte_in_seconds_and_roundtrips_through_the_file() {
    let corpus = training_corpus();
    let start = Instant::now();
    let bpe = BpeTrainer::new(4096).train(&corpus).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "trained {} merges on {} bytes in {seconds:.2} s",
        bpe.num_merges(),
        corpus.len()
    );
    assert_eq!(bpe.vocab_size(), 4096);
    assert_eq!(bpe.num_merges(), 4096 - 256 - special::DEFAULT_BPE_SPECIALS.len());
    assert!(seconds < 60.0, "training took {seconds} s");
    let ids = bpe.encode_ordinary(&corpus);
    assert!(
        ids.len() * 3 < corpus.len(),
        "{} tokens for {} bytes",
        ids.len(),
        corpus.len()
    );
    assert_eq!(bpe.decode(&ids).unwrap(), corpus);

    let path = temp_path("bpe.json");
    AnyTokenizer::Bpe(bpe.clone()).save(&path).unwrap();
    let AnyTokenizer::Bpe(back) = AnyTokenizer::load(&path).unwrap() else {
        panic!("kind changed")
    };
    assert_eq!(back.merges(), bpe.merges());
    assert_eq!(back.vocab_size(), bpe.vocab_size());
    assert_eq!(back.special_tokens(), bpe.special_tokens());
    assert_eq!(back.encode_ordinary(&corpus), ids);
    let convo = "<|user|>Who's there?<|end|><|assistant|>";
    let allowed = [special::USER, special::END_OF_TURN, special::ASSISTANT];
    assert_eq!(
        back.encode_with_special(convo, &allowed),
        bpe.encode_with_special(convo, &allowed)
    );
    assert_eq!(
        back.encode_with_special(convo, &allowed)[0],
        back.special_tokens().id(special::USER).unwrap()
    );
}

#[test]
fn corrupt_saved_file_is_an_error_with_the_file() {
    let path = temp_path("corrupt.json");
    std::fs::write(
        &path,
        "{\"format\": \"rlhf-tokenizer\",\n \"version\": 1,\n \"kind\": \"bpe\", \"vocab\": 3}",
    )
    .unwrap();
    let err = AnyTokenizer::load(&path).unwrap_err().to_string();
    assert!(err.contains("corrupt.json:3:"), "{err}");
    std::fs::write(
        &path,
        r#"{"format": "something-else", "version": 1, "kind": "char", "chars": ["a"]}"#,
    )
    .unwrap();
    let err = AnyTokenizer::load(&path).unwrap_err().to_string();
    assert!(err.contains("corrupt.json") && err.contains("something-else"), "{err}");
    std::fs::write(
        &path,
        r#"{"format": "rlhf-tokenizer", "version": 1, "kind": "char", "chars": ["ab"]}"#,
    )
    .unwrap();
    let err = AnyTokenizer::load(&path).unwrap_err().to_string();
    assert!(err.contains("chars[0]"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn trained_bpe_roundtrips_any_string(s in any::<String>()) {
        use std::sync::OnceLock;
        static BPE: OnceLock<models::tokenizer::BpeTokenizer> = OnceLock::new();
        let bpe = BPE.get_or_init(|| {
            let mut rng = Rng(99);
            let corpus: String = (0..50).map(|_| random_mixed_text(&mut rng, 100)).collect();
            BpeTrainer::new(256 + 300 + 6).train(&corpus).unwrap()
        });
        let ids = bpe.encode_ordinary(&s);
        prop_assert_eq!(Tokenizer::decode(bpe, &ids).unwrap(), s);
    }
}
