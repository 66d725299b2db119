//! Helpers the command-line tests share: running the `rlhf` binary as a user would, a fresh folder per
//! test, a small corpus with structure to learn, K-wise reward examples. (`mod common;` in a test file; not every file uses all.)
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs the `rlhf` binary with `args` and no stdin.
pub fn rlhf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlhf")).args(args).stdin(Stdio::null()).output().expect("rlhf runs")
}

/// An empty folder `<temp>/<test>_<pid>_<name>`, emptied first if an earlier run left it.
pub fn fresh_dir(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{test}_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small corpus with structure to learn: a few sentences in a seeded random order, written to
/// `dir/corpus.txt`.
pub fn corpus(dir: &Path) -> PathBuf {
    let sentences = ["the cat sat on the mat. ", "a dog ran in the park. ", "we like to read books. ", "it is cold today. "];
    let mut state = 12345u64;
    let mut text = String::new();
    for _ in 0..600 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        text.push_str(sentences[(state >> 33) as usize % sentences.len()]);
    }
    let path = dir.join("corpus.txt");
    std::fs::write(&path, text).unwrap();
    path
}

/// Two prompts of different lengths with answers of very different lengths (so padding differs a lot),
/// ranked, as the reward-model tests use them.
pub fn reward_examples(tok: &rlhf::data::ChatTokenizer) -> Vec<rlhf::reward::KwiseExample> {
    use rlhf::reward::{examples::reward_row, KwiseExample, Ranking};
    let make = |prompt: &str, answers: &[&str], order: &[usize]| {
        let c = rlhf::data::Conversation::from_prompt(prompt);
        let rows: Vec<(Vec<u32>, Vec<u32>)> = answers.iter().map(|a| reward_row(tok, &c, a, 96).unwrap()).collect();
        KwiseExample { prompt: rows[0].0.clone(), answers: rows.into_iter().map(|r| r.1).collect(), ranking: Ranking::from_order(order) }
    };
    vec![
        make("What is 47 plus 38?", &["85", "Sure! 47 + 38 = 85.", "It is 84, I think, but let me explain at some length why.", "84"], &[1, 0, 3, 2]),
        make("Reverse the word cat.", &["tac", "Sure! cat reversed is tac."], &[1, 0]),
    ]
}

/// A tiny random chat GPT for the world's tokenizer (2 layers, 2 heads, 32 wide, block 96).
pub fn tiny_chat_gpt(seed: u64, tok: &rlhf::data::ChatTokenizer) -> models::gpt::Gpt {
    let mut config = models::gpt::GptConfig::preset("char-tiny").unwrap();
    (config.n_layer, config.n_head, config.n_embd, config.block_size, config.vocab_size) = (2, 2, 32, 96, tok.vocab_size());
    models::gpt::Gpt::new(config, &mut engine::rng::Rng::new(seed)).unwrap()
}
