//! `rlhf embed` on the tiny random BERT fixture, against the embeddings `transformers` computed
//! (`models/tests/fixtures/bert_tiny/reference.json`, made by `make_bert_fixture.py`).
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/tests/fixtures/bert_tiny")
}

fn rlhf(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rlhf runs");
    // A command that fails early may exit before reading its input: a broken pipe here is not an error.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture().join("reference.json")).unwrap()).unwrap()
}

#[test]
fn embed_prints_one_normalised_array_per_line_matching_transformers() {
    let meta = reference();
    let cases = meta["embed"].as_array().unwrap();
    let input: String = cases.iter().map(|c| format!("{}\n", c["text"].as_str().unwrap())).collect();
    let dir = fixture();
    // Batch size 2: a padded batch of two, then one alone; padding must not change the results.
    let out = rlhf(&["embed", "--checkpoint", dir.to_str().unwrap(), "--batch-size", "2", "-"], input.as_bytes());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len());
    for (line, case) in lines.iter().zip(cases) {
        let ours: Vec<f32> = serde_json::from_str(line).unwrap();
        let want: Vec<f32> = serde_json::from_value(case["embedding"].clone()).unwrap();
        assert_eq!(ours.len(), 32);
        let norm: f32 = ours.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        let err = ours.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err < 1e-4, "{}: max abs error {err:e}", case["text"]);
    }
}

#[test]
fn embed_reads_a_file_and_reports_a_bad_checkpoint() {
    let file = std::env::temp_dir().join(format!("embed_cli_{}.txt", std::process::id()));
    std::fs::write(&file, "paris is a big city\n").unwrap();
    let dir = fixture();
    let out = rlhf(&["embed", "--checkpoint", dir.to_str().unwrap(), file.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want: Vec<f32> = serde_json::from_value(reference()["embed"][2]["embedding"].clone()).unwrap();
    let ours: Vec<f32> = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert!(ours.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4));
    let _ = std::fs::remove_file(file);

    let out = rlhf(&["embed", "--checkpoint", "/nonexistent/bert", "-"], b"hello\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/bert"));
}

/// `rlhf embed` on the real all-MiniLM-L6-v2 (weights from `MINILM_DIR`, default `/tmp/minilm/model`; see
/// `.ci/run`) against the sentence embeddings sentence-transformers computed, to 1e-4. Skipped without them.
#[test]
fn embed_matches_sentence_transformers_on_all_minilm_l6_v2() {
    let weights = PathBuf::from(std::env::var("MINILM_DIR").unwrap_or_else(|_| "/tmp/minilm/model".into()));
    let refdir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/minilm");
    if !weights.join("model.safetensors").is_file() || !refdir.join("reference.json").is_file() {
        eprintln!("SKIPPED: all-MiniLM-L6-v2 weights (MINILM_DIR) or ../shared/data/minilm not found");
        return;
    }
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(refdir.join("reference.json")).unwrap()).unwrap();
    let texts: Vec<&str> = meta["sentences"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap()).collect();
    let input: String = texts.iter().map(|t| format!("{t}\n")).collect();
    let out = rlhf(&["embed", "--checkpoint", weights.to_str().unwrap()], input.as_bytes());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reference = engine::io::safetensors::load(refdir.join("reference_activations.safetensors")).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), texts.len());
    let mut worst = 0f32;
    for (i, line) in stdout.lines().enumerate() {
        let ours: Vec<f32> = serde_json::from_str(line).unwrap();
        let want = reference[&format!("s{i}.sentence_embedding")].to_vec::<f32>().unwrap();
        assert_eq!(ours.len(), 384);
        worst = ours.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
    }
    assert!(worst < 1e-4, "max abs error {worst:e}");
    eprintln!("rlhf embed on all-MiniLM-L6-v2: 10 sentences, max abs error {worst:e}");
}
