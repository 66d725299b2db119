//! `rlhf pretrain --model bert` run as a user would: the masked-LM loss falls and the masked accuracy
//! beats the unigram baseline in a few seconds, the run folder has its files, a stopped run resumed gives
//! the same weights bit for bit, `rlhf fill-mask` loads the model folder, bad input fails with a message.
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{corpus, rlhf};

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_pretrain_bert_cli", name)
}

const TINY: &[&str] = &[
    "--model", "bert", "--n-layer", "2", "--n-head", "2", "--batch-size", "64", "--lr", "6e-3", "--min-lr", "5e-4",
    "--warmup", "20", "--eval-batches", "4", "--threads", "1", "--seed", "7",
];

/// `rlhf pretrain` with the tiny sizes (32 wide, block 32 unless `extra` says otherwise) and `extra`.
fn pretrain(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["pretrain", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(TINY);
    for (flag, value) in [("--n-embd", "32"), ("--block-size", "32")] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
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
fn a_short_run_learns_beats_the_unigram_baseline_and_fill_mask_loads_it() {
    let dir = temp_dir("learns");
    let data = corpus(&dir);
    let out = dir.join("run");
    let summary = ok(&pretrain(&data, &out, &["--steps", "600", "--eval-every", "200"]));
    assert_eq!(summary["steps"], 600);
    assert_eq!(summary["stage"], "pretrain-bert");
    let records = metrics(&out);
    let train: Vec<f64> = records.iter().filter(|r| r["kind"] == "train").map(|r| r["loss"].as_f64().unwrap()).collect();
    let evals: Vec<f64> = records.iter().filter(|r| r["kind"] == "eval").map(|r| r["val_loss"].as_f64().unwrap()).collect();
    let scores: Vec<&serde_json::Value> = records.iter().filter(|r| r["kind"] == "scores").map(|r| &r["scores"]).collect();
    assert_eq!(train.len(), 600);
    assert_eq!(evals.len(), 3);
    assert_eq!(scores.len(), 3);
    // 5 specials + 20 characters + 19 continuation pieces ("." never continues): ln(44) = 3.8 at the start.
    assert!(train[0] > 3.0, "first loss {}", train[0]);
    assert!(evals[2] < evals[0] - 1.0 && evals[2] < 1.5, "val loss should fall: {evals:?}");
    let accuracy = summary["final_val_masked_accuracy"].as_f64().unwrap();
    let baseline = summary["val_unigram_baseline_accuracy"].as_f64().unwrap();
    assert!(baseline > 0.0 && baseline < 0.3, "baseline {baseline}");
    assert!(accuracy > baseline + 0.4, "masked accuracy {accuracy} vs unigram baseline {baseline}");
    assert_eq!(scores[2]["val_masked_accuracy"].as_f64().unwrap(), accuracy);
    for f in ["loss.svg", "summary.json", "tokens.bin", "checkpoint/checkpoint.json", "model/config.json", "model/model.safetensors", "model/vocab.txt"] {
        assert!(out.join(f).exists(), "{f} is missing");
    }
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("model/config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "BertForMaskedLM");

    // The model folder is what fill-mask loads. Characters are WordPiece pieces (`p ##a ##r ##k`), and the
    // text after a [MASK] starts a new word, so the blank ends a word: "par[MASK]" can only be "park".
    let model = out.join("model");
    let filled = rlhf(&["fill-mask", "--checkpoint", model.to_str().unwrap(), "--json", "--top-k", "3", "a dog ran in the par[MASK] ."]);
    assert!(filled.status.success(), "stderr: {}", String::from_utf8_lossy(&filled.stderr));
    let line: serde_json::Value = serde_json::from_slice(&filled.stdout).expect("one JSON line");
    let top: Vec<&str> = line["predictions"].as_array().unwrap().iter().map(|p| p["token"].as_str().unwrap()).collect();
    assert_eq!(top.len(), 3);
    assert_eq!(top[0], "##k", "top predictions {top:?}");
    let p: Vec<f64> = line["predictions"].as_array().unwrap().iter().map(|p| p["probability"].as_f64().unwrap()).collect();
    assert!(p[0] > 0.5 && p[0] >= p[1] && p[1] >= p[2], "probabilities {p:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stop_and_resume_gives_the_same_weights_bit_for_bit() {
    let dir = temp_dir("resume");
    let data = corpus(&dir);
    let (whole, halves) = (dir.join("whole"), dir.join("halves"));
    let common = ["--steps", "12", "--eval-every", "6", "--grad-accum", "2", "--dropout", "0.1"];
    let a = ok(&pretrain(&data, &whole, &common));
    let mut first = common.to_vec();
    first.extend(["--stop-after", "6"]);
    let b1 = ok(&pretrain(&data, &halves, &first));
    assert_eq!(b1["steps"], 6);
    assert_eq!(b1["interrupted"], true);
    let mut second = common.to_vec();
    second.push("--resume");
    let b2 = ok(&pretrain(&data, &halves, &second));
    assert_eq!(b2["steps"], 12);
    assert_eq!(b2["steps_this_run"], 6);
    let wa = std::fs::read(whole.join("model/model.safetensors")).unwrap();
    let wb = std::fs::read(halves.join("model/model.safetensors")).unwrap();
    assert!(wa == wb, "resumed weights differ from the uninterrupted run's");
    assert_eq!(a["final_val_loss"], b2["final_val_loss"]);
    assert_eq!(a["final_val_masked_accuracy"], b2["final_val_masked_accuracy"]);
    let steps: Vec<u64> = metrics(&halves).iter().filter(|r| r["kind"] == "train").map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, (1..=12).collect::<Vec<_>>());
    // A different model asked for on resume is refused with a message, not a shape error.
    let mut other = common.to_vec();
    other.extend(["--resume", "--n-embd", "16"]);
    let refused = pretrain(&data, &halves, &other);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("differs"), "{}", String::from_utf8_lossy(&refused.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_fails_with_a_message() {
    let dir = temp_dir("errors");
    let data = corpus(&dir);
    let out = dir.join("run");
    let err = |o: Output| {
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    assert!(err(pretrain(Path::new("/no/such/corpus.txt"), &out, &["--steps", "2"])).contains("/no/such/corpus.txt"));
    assert!(err(pretrain(&data, &out, &["--steps", "2", "--tokenizer", "gpt2:/x"])).contains("WordPiece"));
    assert!(err(pretrain(&data, &out, &["--steps", "2", "--preset", "gpt2"])).contains("--n-layer"));
    assert!(err(pretrain(&data, &out, &["--steps", "2", "--block-size", "2"])).contains("--block-size"));
    assert!(err(pretrain(&data, &out, &["--steps", "2", "--block-size", "40000"])).contains("tokens leave"));
    assert!(err(pretrain(&data, &dir.join("fresh"), &["--steps", "2", "--resume"])).contains("no checkpoint"));
    std::fs::remove_dir_all(&dir).unwrap();
}
