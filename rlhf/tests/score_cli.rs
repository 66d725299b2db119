//! `rlhf score`: per-token log-probabilities as JSON, and `--grad-out` gradients under the checkpoint's
//! tensor names, equal to the library's own backward pass on the same text.
use std::path::PathBuf;

use autograd::nn::Module;
use engine::{io::safetensors, Tensor};
use models::gpt::load_hf_dir;
use models::tokenizer::{AnyTokenizer, CharTokenizer};

mod common;
use common::rlhf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/tests/fixtures/gpt2_tiny")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlhf_score_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A character tokenizer for the fixture's 101-id vocabulary: ids 0..26 are 'a'..'z', then ' ' and '.'.
fn char_tokenizer() -> PathBuf {
    let path = temp("chars.json");
    let mut chars: Vec<char> = ('a'..='z').collect();
    chars.extend([' ', '.']);
    AnyTokenizer::Char(CharTokenizer::from_chars(chars).unwrap()).save(&path).unwrap();
    path
}

#[test]
fn log_probs_and_gradients_match_the_library() {
    let tok = char_tokenizer();
    let grads = temp("grads.safetensors");
    let text = "hello world.";
    let out = rlhf(&[
        "score", "--model", fixture().to_str().unwrap(), "--tokenizer", tok.to_str().unwrap(), "--text", text,
        "--grad-out", grads.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tokens = report["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), text.len());
    assert!(tokens[0]["logprob"].is_null());
    assert_eq!(tokens[1]["text"], "e");
    assert_eq!(report["num_scored"], text.len() - 1);
    let mean_logprob = report["mean_logprob"].as_f64().unwrap();

    // The same through the library: ids are positions in the character list.
    let model = load_hf_dir(fixture()).unwrap();
    let ids: Vec<i64> = text.chars().map(|c| if c == ' ' { 26 } else if c == '.' { 27 } else { c as i64 - 'a' as i64 }).collect();
    assert_eq!(tokens.iter().map(|t| t["id"].as_i64().unwrap()).collect::<Vec<_>>(), ids);
    let t = ids.len();
    let mut targets = ids[1..].to_vec();
    targets.push(-100);
    let loss = model
        .forward(&Tensor::from_vec(ids.clone(), &[1, t]).unwrap(), Some(&Tensor::from_vec(targets, &[1, t]).unwrap()))
        .unwrap()
        .loss
        .unwrap();
    assert!((loss.item().unwrap() as f64 + mean_logprob).abs() < 1e-5);
    loss.backward().unwrap();
    let written = safetensors::load(&grads).unwrap();
    let params = model.named_parameters();
    assert_eq!(written.len(), params.len());
    for (name, p) in params {
        let ours = p.grad().unwrap().to_vec::<f32>().unwrap();
        assert_eq!(written[&name].to_vec::<f32>().unwrap(), ours, "{name}");
    }
    assert!(written.contains_key("transformer.h.1.attn.c_attn.weight"));
}

#[test]
fn errors_are_messages() {
    let tok = char_tokenizer();
    let fail = |args: &[&str]| {
        let o = rlhf(args);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let model = fixture();
    let (m, t) = (model.to_str().unwrap(), tok.to_str().unwrap());
    assert!(fail(&["score", "--model", m, "--tokenizer", t]).contains("--text or --file"));
    assert!(fail(&["score", "--model", m, "--tokenizer", t, "--text", "a"]).contains("at least 2"));
    let long = "abcdefghijklmnopq"; // 17 characters, block size 16
    assert!(fail(&["score", "--model", m, "--tokenizer", t, "--text", long]).contains("block size"));
    assert!(fail(&["score", "--model", m, "--tokenizer", t, "--file", "/no/such/file.txt"]).contains("/no/such/file.txt"));
}
