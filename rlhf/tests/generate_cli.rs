//! `rlhf generate` on a model folder written by `rlhf pretrain` and on a HF GPT-2 folder: the KV cache and
//! the full re-run print the same text, batches print one JSON line per prompt, errors are messages.
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::rlhf;

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Trains a tiny model for a few steps into a run folder (once per test binary run; the tests share it).
fn trained_run() -> PathBuf {
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = ONCE.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join(format!("rlhf_generate_cli_{}", std::process::id()));
    let run = dir.join("run");
    if run.join("model/config.json").exists() {
        return run;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("corpus.txt");
    std::fs::write(&data, "to be or not to be, that is the question. ".repeat(200)).unwrap();
    let args = [
        "pretrain", "--data", data.to_str().unwrap(), "--out", run.to_str().unwrap(), "--n-layer", "1", "--n-head", "2",
        "--n-embd", "32", "--block-size", "32", "--batch-size", "8", "--steps", "150", "--lr", "1e-2", "--warmup", "2",
        "--eval-every", "150", "--eval-batches", "1", "--threads", "1",
    ];
    stdout(&rlhf(&args));
    run
}

fn generate(model: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["generate", "--model", model.to_str().unwrap(), "--threads", "1"];
    args.extend_from_slice(extra);
    rlhf(&args)
}

#[test]
fn cache_and_full_rerun_print_the_same_text() {
    let run = trained_run();
    let sampled = ["--prompt", "to be", "--max-new-tokens", "20", "--temperature", "0.9", "--top-k", "5", "--seed", "3"];
    let cached = stdout(&generate(&run, &sampled));
    let mut no_cache = sampled.to_vec();
    no_cache.push("--no-cache");
    assert_eq!(cached, stdout(&generate(&run, &no_cache)));
    assert!(cached.starts_with("to be"));
    assert_eq!(cached.trim_end_matches('\n').chars().count(), "to be".len() + 20);
    // A trained model continues its corpus greedily.
    let greedy = stdout(&generate(&run, &["--prompt", "to be or not", "--max-new-tokens", "9", "--temperature", "0"]));
    assert_eq!(greedy.trim_end(), "to be or not to be, t");
}

#[test]
fn a_batch_prints_one_json_line_per_prompt_and_stops_at_stop_tokens() {
    let run = trained_run();
    let out = stdout(&generate(
        &run,
        &["--prompt", "to be or not", "--prompt", "that", "--max-new-tokens", "9", "--temperature", "0", "--stop", ","],
    ));
    let lines: Vec<String> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], "to be or not to be"); // stopped before the ","
    assert!(lines[1].starts_with("that"));
}

#[test]
fn errors_are_messages() {
    let run = trained_run();
    let fail = |o: Output| {
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    assert!(fail(generate(Path::new("/no/such/model"), &["--prompt", "x"])).contains("/no/such/model"));
    assert!(fail(generate(&run, &["--prompt", "to be", "--stop", "to"])).contains("--stop"));
    assert!(fail(generate(&run, &["--prompt", "Z"])).contains("Z"), "a character outside the vocabulary");
    // The HF fixture has no tokenizer files.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/tests/fixtures/gpt2_tiny");
    assert!(fail(generate(&fixture, &["--prompt", "x"])).contains("--tokenizer"));
}
