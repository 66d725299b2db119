//! `rlhf fill-mask` on the tiny random BERT fixture, against the top-5 `transformers` computed
//! (`models/tests/fixtures/bert_tiny/reference.json`).
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/tests/fixtures/bert_tiny")
}

fn rlhf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rlhf")).args(args).output().expect("rlhf runs")
}

#[test]
fn fill_mask_json_matches_transformers_top5() {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("reference.json")).unwrap()).unwrap();
    let fill = &meta["fill_mask"];
    let dir = fixture();
    let out = rlhf(&["fill-mask", "--checkpoint", dir.to_str().unwrap(), "--top-k", "5", "--json", fill["text"].as_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let expected = fill["top5"].as_array().unwrap();
    assert_eq!(lines.len(), expected.len());
    assert_eq!(lines.len(), 2, "two [MASK] in the text");
    for (ours, want) in lines.iter().zip(expected) {
        assert_eq!(ours["position"], want["position"]);
        let predictions = ours["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), 5);
        for (k, p) in predictions.iter().enumerate() {
            assert_eq!(p["id"], want["ids"][k], "candidate {k}");
            assert_eq!(p["token"], want["tokens"][k]);
            let (a, b) = (p["probability"].as_f64().unwrap(), want["probabilities"][k].as_f64().unwrap());
            assert!((a - b).abs() < 1e-5, "candidate {k}: {a} vs {b}");
        }
    }
}

#[test]
fn fill_mask_text_output_and_errors() {
    let dir = fixture();
    let out = rlhf(&["fill-mask", "--checkpoint", dir.to_str().unwrap(), "--top-k", "3", "the [MASK] flew over the tree"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("[MASK] 1 (token 2):"), "{stdout}");
    assert_eq!(stdout.lines().count(), 4);
    // Probabilities are printed in decreasing order.
    let probs: Vec<f32> = stdout.lines().skip(1).map(|l| l.split_whitespace().last().unwrap().parse().unwrap()).collect();
    assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{probs:?}");

    let out = rlhf(&["fill-mask", "--checkpoint", dir.to_str().unwrap(), "no mask here"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [MASK]"));
}
