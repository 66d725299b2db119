//! `rlhf chat` scripted through stdin, as a user pipes it: one answer a user turn on stdout with no control
//! codes, the history kept in the template across turns, `/reset` and `/system` acting on it, the oldest
//! turns dropped (and the user told) when the context is full, same seed same conversation.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use rlhf::data::ChatTokenizer;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlhf_chat_cli_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny chat model with context `block`: a random GPT over the world's characters and the chat specials,
/// fine-tuned by `rlhf sft` for a few seconds, so it answers (a random model with tied embeddings tends to
/// repeat `<|assistant|>`, which ends its turn at once).
fn tiny_model(dir: &Path, block: usize) -> PathBuf {
    let tok = ChatTokenizer::for_world();
    let mut c = GptConfig::preset("char-tiny").unwrap();
    (c.n_layer, c.n_head, c.n_embd, c.block_size, c.vocab_size) = (1, 2, 32, block, tok.vocab_size());
    let base = dir.join(format!("base{block}"));
    save_hf_dir(&Gpt::new(c, &mut Rng::new(1)).unwrap(), &base).unwrap();
    save_tokenizer_to_dir(tok.inner(), &base).unwrap();
    let run = dir.join(format!("sft{block}"));
    let args = ["sft", "--base", base.to_str().unwrap(), "--out", run.to_str().unwrap(), "--demos", "300", "--steps", "60", "--lr", "5e-3",
        "--warmup", "2", "--eval-prompts", "0", "--threads", "1"];
    let out = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(args).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "sft: {}", String::from_utf8_lossy(&out.stderr));
    run
}

/// Runs `rlhf chat` with `input` piped to stdin.
fn chat(model: &Path, input: &str, extra: &[&str]) -> Output {
    let mut args = vec!["chat", "--checkpoint", model.to_str().unwrap(), "--threads", "1", "--verbose", "--max-new-tokens", "12"];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rlhf runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The prompt sizes of the turns, from the `--verbose` lines: `[context: P prompt + A answer tokens ...]`.
fn prompt_sizes(out: &Output) -> Vec<usize> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("[context: "))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn the_history_grows_and_reset_and_system_act_on_it() {
    let dir = temp_dir("history");
    let model = tiny_model(&dir, 128);
    let script = "What is 2 plus 3?\nAnd 4 plus 4?\n/reset\nWhat is 2 plus 3?\n/system Be brief.\nWhat is 2 plus 3?\n/help\n/nonsense\n\n/quit\nnever read\n";
    let out = chat(&model, script, &["--temperature", "0"]);
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'), "no control codes when piped");
    assert!(!stderr.contains("you>"), "no prompt when stdin is not a terminal");
    let sizes = prompt_sizes(&out);
    assert_eq!(sizes.len(), 4, "four user turns answered (the one after /quit is not read): {stderr}");
    // "<|user|>What is 2 plus 3?<|end|><|assistant|>" is 1 + 17 + 1 + 1 tokens.
    assert_eq!(sizes[0], 20);
    assert!(sizes[1] > sizes[0] + 20, "the second turn carries the first exchange: {sizes:?}");
    assert_eq!(sizes[2], sizes[0], "after /reset the same question is the whole prompt again");
    // The system turn "<|system|>Be brief.<|end|>" adds 11 tokens, and the reset history grew by one exchange.
    assert!(sizes[3] > sizes[2] + 11 + 20, "{sizes:?}");
    assert!(stderr.contains("(conversation reset)") && stderr.contains("(system prompt set: \"Be brief.\")"), "{stderr}");
    assert!(stderr.contains("commands: /reset") && stderr.contains("unknown command /nonsense"), "{stderr}");
    // One answer a turn on stdout (the model answers in one line, like its demonstrations).
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout:?}");
    assert!(lines.iter().all(|l| !l.trim().is_empty()), "{stdout:?}");
    // After /reset the conversation is as new: the same greedy answer as the first turn.
    assert_eq!(lines[0], lines[2]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_oldest_turns_are_dropped_when_the_context_is_full() {
    let dir = temp_dir("drop");
    let model = tiny_model(&dir, 64); // 52 tokens of history, 12 of answer
    let script = "/system Be kind.\nWhat is 2 plus 3?\nWhich is larger, 52 or 37?\nWhat is 9 minus 4?\nSpell cat.\n".to_string() + &"x".repeat(60) + "\nHi\n";
    let out = chat(&model, &script, &["--temperature", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(context full: dropped the"), "{stderr}");
    assert!(prompt_sizes(&out).iter().all(|&p| p <= 52), "every prompt fits its share of the context: {stderr}");
    // A message that cannot fit even alone is not sent, and the user is told.
    assert!(stderr.contains("not sent"), "{stderr}");
    assert_eq!(prompt_sizes(&out).len(), 5, "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn same_seed_same_conversation_when_sampling() {
    let dir = temp_dir("seed");
    let model = tiny_model(&dir, 128);
    let script = "Hello\nTell me a fact.\n";
    let a = chat(&model, script, &["--temperature", "1.0", "--top-k", "20", "--seed", "4"]);
    let b = chat(&model, script, &["--temperature", "1.0", "--top-k", "20", "--seed", "4"]);
    let c = chat(&model, script, &["--temperature", "1.0", "--top-k", "20", "--seed", "5"]);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}
