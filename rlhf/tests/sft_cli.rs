//! `rlhf sft` run as a user would, on a tiny model: a short run on the built-in world fills its run folder
//! and scores the checker before and after; a stopped run resumed gives the same weights bit for bit; a bad
//! JSONL line stops the run before training with its file and line; a model without room for the chat
//! special tokens is refused with an explanation.
use std::path::{Path, PathBuf};
use std::process::Output;

use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use rlhf::data::ChatTokenizer;

mod common;
use common::rlhf;

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_sft_cli", name)
}

/// A random tiny GPT with the world's character tokenizer, saved as a model folder; `vocab` overrides the
/// model's vocabulary size.
fn tiny_base(dir: &Path, vocab: Option<usize>) -> PathBuf {
    let tok = ChatTokenizer::for_world();
    let mut c = GptConfig::preset("char-tiny").unwrap();
    (c.n_layer, c.n_head, c.n_embd, c.block_size) = (1, 2, 32, 128);
    c.vocab_size = vocab.unwrap_or(tok.vocab_size());
    let model = Gpt::new(c, &mut Rng::new(5)).unwrap();
    let path = dir.join("base");
    save_hf_dir(&model, &path).unwrap();
    save_tokenizer_to_dir(tok.inner(), &path).unwrap();
    path
}

const TINY: &[&str] = &[
    "--demos", "120", "--batch-size", "8", "--lr", "5e-3", "--min-lr", "5e-4", "--warmup", "2", "--eval-max-new-tokens", "24", "--threads", "1", "--seed", "3",
];

fn sft(base: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sft", "--base", base.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    rlhf(&args)
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is the summary JSON")
}

fn metrics(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_short_run_learns_the_responses_and_fills_its_run_folder() {
    let dir = temp_dir("learns");
    let base = tiny_base(&dir, None);
    let out = dir.join("run");
    let summary = ok(&sft(&base, &out, &["--steps", "40", "--eval-every", "20", "--eval-prompts", "14"]));
    assert_eq!(summary["stage"], "sft");
    assert_eq!(summary["steps"], 40);
    let records = metrics(&out);
    let train: Vec<f64> = records.iter().filter(|r| r["kind"] == "train").map(|r| r["loss"].as_f64().unwrap()).collect();
    let val: Vec<f64> = records.iter().filter(|r| r["kind"] == "eval").map(|r| r["val_loss"].as_f64().unwrap()).collect();
    assert_eq!((train.len(), val.len()), (40, 2));
    // Untrained: about ln(102) = 4.6 per response token; the responses are formulaic and quickly learned.
    assert!(train[0] > 4.0, "first loss {}", train[0]);
    assert!(val[1] < 3.0 && val[1] < val[0], "validation loss on responses {val:?}");
    assert!((summary["final_val_loss"].as_f64().unwrap() - val[1]).abs() < 1e-6);
    // The checker ran on 14 held-out prompts before and after, and the figures are in summary.json.
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(written, summary);
    let extra = &summary["extra"];
    for key in ["eval_before", "eval_after"] {
        assert_eq!(extra[key]["prompts"], 14, "{extra}");
        let score = extra[key]["mean_score"].as_f64().unwrap();
        assert!((0.0..=3.0).contains(&score));
    }
    // Rambling demonstrations are longer than the 128-token context: left out and counted.
    let count = |k: &str| extra["data"][k].as_u64().unwrap();
    assert_eq!(count("train_examples") + count("val_examples") + count("skipped"), 120);
    assert!(count("skipped") < 30, "{extra}");
    assert!(records.iter().any(|r| r["kind"] == "scores" && r["scores"]["world_score_after"].is_number()));
    let answers = std::fs::read_to_string(out.join("eval_after.jsonl")).unwrap();
    assert_eq!(answers.lines().count(), 14);
    let first: serde_json::Value = serde_json::from_str(answers.lines().next().unwrap()).unwrap();
    assert!(first["prompt"].is_string() && first["answer"].is_string() && first["correct"].is_boolean());
    for f in ["loss.svg", "eval_before.jsonl", "checkpoint/checkpoint.json", "model/config.json", "model/model.safetensors", "model/rlhf_tokenizer.json"] {
        assert!(out.join(f).exists(), "{f} is missing");
    }
    // The model folder is usable: the tokenizer is the base's and the weights moved.
    assert_eq!(std::fs::read(out.join("model/rlhf_tokenizer.json")).unwrap(), std::fs::read(base.join("rlhf_tokenizer.json")).unwrap());
    assert_ne!(std::fs::read(out.join("model/model.safetensors")).unwrap(), std::fs::read(base.join("model.safetensors")).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stopped_run_resumed_gives_the_same_weights_bit_for_bit() {
    let dir = temp_dir("resume");
    let base = tiny_base(&dir, None);
    let common = ["--steps", "16", "--eval-every", "8", "--dropout", "0.1", "--eval-prompts", "0"];
    let straight = dir.join("straight");
    ok(&sft(&base, &straight, &common));
    let parts = dir.join("parts");
    let first = ok(&sft(&base, &parts, &[&common[..], &["--stop-after", "8"]].concat()));
    assert_eq!((first["steps"].as_u64(), first["interrupted"].as_bool()), (Some(8), Some(true)));
    let second = ok(&sft(&base, &parts, &[&common[..], &["--resume"]].concat()));
    assert_eq!((second["steps"].as_u64(), second["steps_this_run"].as_u64()), (Some(16), Some(8)));
    let weights = |d: &Path| std::fs::read(d.join("model/model.safetensors")).unwrap();
    assert!(weights(&straight) == weights(&parts), "resumed weights differ from the uninterrupted run's");
    // The metrics of the two halves are the uninterrupted run's.
    let losses = |d: &Path| metrics(d).iter().filter(|r| r["kind"] == "train").map(|r| r["loss"].as_f64().unwrap()).collect::<Vec<_>>();
    assert_eq!(losses(&straight), losses(&parts));
    // Resuming on other data is refused.
    let other = sft(&base, &parts, &[&common[..], &["--resume", "--world-seed", "9"]].concat());
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("other data"), "{}", String::from_utf8_lossy(&other.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_jsonl_line_stops_the_run_before_training_with_file_and_line() {
    let dir = temp_dir("bad_line");
    let base = tiny_base(&dir, None);
    let data = dir.join("chats.jsonl");
    let lines = [
        r#"{"prompt": "What is 2 plus 3?", "response": "Sure! 2 + 3 = 5."}"#,
        r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}"#,
        "",
        r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "robot", "content": "Hello!"}]}"#,
    ];
    std::fs::write(&data, lines.join("\n")).unwrap();
    // An earlier run's folder: a failed start must not touch it.
    let out = dir.join("run");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("metrics.jsonl"), "{\"earlier\": true}\n").unwrap();
    let result = sft(&base, &out, &["--data", data.to_str().unwrap(), "--steps", "5", "--eval-prompts", "0"]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains(&format!("{}:4: ", data.display())), "{stderr}");
    assert!(stderr.contains("robot"), "{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("metrics.jsonl")).unwrap(), "{\"earlier\": true}\n");
    assert!(!out.join("checkpoint").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn multi_turn_jsonl_trains_and_characters_outside_the_vocabulary_are_counted() {
    let dir = temp_dir("jsonl");
    let base = tiny_base(&dir, None);
    let data = dir.join("chats.jsonl");
    let mut lines = Vec::new();
    for i in 0..30 {
        lines.push(format!(
            r#"{{"messages": [{{"role": "system", "content": "Be kind."}}, {{"role": "user", "content": "Add {i} and 1."}}, {{"role": "assistant", "content": "{}"}}, {{"role": "user", "content": "Thanks"}}, {{"role": "assistant", "content": "You are welcome."}}]}}"#,
            i + 1
        ));
    }
    lines.push(r#"{"prompt": "Caf\u00e9?", "response": "Oui, un caf\u00e9."}"#.to_string());
    std::fs::write(&data, lines.join("\n")).unwrap();
    let out = dir.join("run");
    let summary = ok(&sft(&base, &out, &["--data", data.to_str().unwrap(), "--steps", "6", "--eval-every", "3", "--eval-prompts", "0", "--val-fraction", "0.2"]));
    assert_eq!(summary["steps"], 6);
    assert_eq!(summary["extra"]["data"]["skipped"], 1);
    assert!(summary["extra"]["eval_after"].is_null(), "--eval-prompts 0 skips the checker");
    let stderr = String::from_utf8_lossy(&sft(&base, &dir.join("run2"), &["--data", data.to_str().unwrap(), "--steps", "1", "--eval-prompts", "0", "--val-fraction", "0.2"]).stderr).to_string();
    assert!(stderr.contains("outside the tokenizer's vocabulary") && stderr.contains("'é'"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_model_without_room_for_the_chat_tokens_is_refused() {
    let dir = temp_dir("vocab");
    let base = tiny_base(&dir, Some(96)); // the 96 world characters, no special tokens
    let result = sft(&base, &dir.join("run"), &["--steps", "2", "--eval-prompts", "0"]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("96 token ids") && stderr.contains("chat special tokens") && stderr.contains("needs 102"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
