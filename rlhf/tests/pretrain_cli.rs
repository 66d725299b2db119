//! `rlhf pretrain` run as a user would: the loss falls in a few seconds, the run folder has its files,
//! a stopped run resumed gives the same weights bit for bit, Ctrl-C saves a checkpoint, bad input fails
//! with a message.
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{corpus, rlhf};

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_pretrain_cli", name)
}

const TINY: &[&str] = &[
    "--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch-size", "8", "--lr", "1e-2",
    "--min-lr", "1e-3", "--warmup", "3", "--eval-batches", "2", "--threads", "1", "--seed", "7",
];

fn pretrain(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["pretrain", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
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
fn a_short_run_learns_and_fills_its_run_folder() {
    let dir = temp_dir("learns");
    let data = corpus(&dir);
    let out = dir.join("run");
    let summary = ok(&pretrain(&data, &out, &["--steps", "60", "--eval-every", "20"]));
    assert_eq!(summary["steps"], 60);
    assert!(summary["tokens_per_s"].as_f64().unwrap() > 0.0);
    assert!(summary["peak_memory_bytes"].as_u64().unwrap() > 1_000_000);
    let records = metrics(&out);
    let train: Vec<f64> = records.iter().filter(|r| r["kind"] == "train").map(|r| r["loss"].as_f64().unwrap()).collect();
    let evals: Vec<f64> = records.iter().filter(|r| r["kind"] == "eval").map(|r| r["val_loss"].as_f64().unwrap()).collect();
    assert_eq!(train.len(), 60);
    assert_eq!(evals.len(), 3);
    // The vocabulary has 23 characters: ln 23 = 3.1 at the start; the sentences are easy to learn.
    assert!(train[0] > 2.5, "first loss {}", train[0]);
    assert!(evals[2] < 1.6, "val loss after 60 steps: {evals:?}");
    assert!((summary["final_val_loss"].as_f64().unwrap() - evals[2]).abs() < 1e-6);
    let svg = std::fs::read_to_string(out.join("loss.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("polyline"), "a chart with lines");
    for f in ["summary.json", "tokens.bin", "tokens.json", "checkpoint/checkpoint.json", "model/config.json", "model/model.safetensors", "model/rlhf_tokenizer.json"] {
        assert!(out.join(f).exists(), "{f} is missing");
    }
    // The token file is the corpus, 4 bytes per character.
    assert_eq!(std::fs::metadata(out.join("tokens.bin")).unwrap().len(), 4 * std::fs::read_to_string(&data).unwrap().chars().count() as u64);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stop_and_resume_gives_the_same_weights_bit_for_bit() {
    let dir = temp_dir("resume");
    let data = corpus(&dir);
    let (whole, halves) = (dir.join("whole"), dir.join("halves"));
    let common = ["--steps", "16", "--eval-every", "8", "--grad-accum", "2", "--dropout", "0.1"];
    let a = ok(&pretrain(&data, &whole, &common));
    let mut first = common.to_vec();
    first.extend(["--stop-after", "8"]);
    let b1 = ok(&pretrain(&data, &halves, &first));
    assert_eq!(b1["steps"], 8);
    assert_eq!(b1["interrupted"], true);
    let mut second = common.to_vec();
    second.push("--resume");
    let b2 = ok(&pretrain(&data, &halves, &second));
    assert_eq!(b2["steps"], 16);
    assert_eq!(b2["steps_this_run"], 8);
    let wa = std::fs::read(whole.join("model/model.safetensors")).unwrap();
    let wb = std::fs::read(halves.join("model/model.safetensors")).unwrap();
    assert!(wa == wb, "resumed weights differ from the uninterrupted run's");
    assert_eq!(a["final_val_loss"], b2["final_val_loss"]);
    // The resumed run appended to the same log: 16 steps and both evaluations in order.
    let steps: Vec<u64> = metrics(&halves).iter().filter(|r| r["kind"] == "train").map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, (1..=16).collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ctrl_c_saves_a_checkpoint_before_exiting() {
    let dir = temp_dir("ctrlc");
    let data = corpus(&dir);
    let out = dir.join("run");
    let mut args = vec!["pretrain".to_string(), "--data".into(), data.display().to_string(), "--out".into(), out.display().to_string()];
    args.extend(TINY.iter().map(|s| s.to_string()));
    args.extend(["--steps", "100000", "--eval-every", "100000"].iter().map(|s| s.to_string()));
    let child = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while metrics_lines(&out) < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "training did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let summary = ok(&output);
    assert_eq!(summary["interrupted"], true);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/checkpoint.json")).unwrap()).unwrap();
    assert_eq!(saved["train"]["step"], summary["steps"]);
    assert!(out.join("loss.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn metrics_lines(out: &Path) -> usize {
    std::fs::read_to_string(out.join("metrics.jsonl")).map(|s| s.lines().count()).unwrap_or(0)
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
    assert!(err(pretrain(&data, &out, &["--steps", "0"])).contains("--steps"));
    assert!(err(pretrain(&data, &out, &["--steps", "2", "--val-fraction", "1.5"])).contains("--val-fraction"));
    assert!(err(pretrain(&data, &dir.join("fresh"), &["--steps", "2", "--resume"])).contains("no checkpoint"));
    assert!(err(pretrain(&data, &out, &["--steps", "2", "--preset", "huge"])).contains("unknown preset"));
    let plain = |out: &Path, extra: &[&str]| {
        let mut args = vec!["pretrain", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--threads", "1"];
        args.extend_from_slice(extra);
        rlhf(&args)
    };
    assert!(err(plain(&dir.join("heads"), &["--steps", "1", "--n-head", "5"])).contains("multiple of n_head"));
    let small = dir.join("small.txt");
    std::fs::write(&small, "too short").unwrap();
    assert!(err(pretrain(&small, &dir.join("small"), &["--steps", "2"])).contains("block size"));
    // Resuming with another model shape is refused, naming the difference.
    ok(&pretrain(&data, &out, &["--steps", "2", "--eval-every", "2"]));
    let other = &["--steps", "4", "--resume", "--n-layer", "1", "--n-head", "2", "--n-embd", "64", "--block-size", "16"];
    assert!(err(plain(&out, other)).contains("differs"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gpt2_tokenizer_runs_tokenise_the_corpus_once_and_carry_the_vocabulary() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let (text, bpe) = (shared.join("tinyshakespeare.txt"), shared.join("gpt2_bpe"));
    if !text.exists() || !bpe.join("encoder.json").exists() {
        eprintln!("SKIPPED: shared data (tinyshakespeare.txt, gpt2_bpe/) not found");
        return;
    }
    let dir = temp_dir("gpt2");
    let out = dir.join("run");
    let spec = format!("gpt2:{}", bpe.display());
    let extra = ["--tokenizer", spec.as_str(), "--steps", "2", "--eval-every", "2"];
    let summary = ok(&pretrain(&text, &out, &extra));
    assert_eq!(summary["steps"], 2);
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("tokens.json")).unwrap()).unwrap();
    // shared/data/README.md: 338,025 GPT-2 tokens in the whole file.
    assert_eq!(info["count"], 338_025);
    assert_eq!(info["vocab_size"], 50257);
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("model/config.json")).unwrap()).unwrap();
    assert_eq!(config["vocab_size"], 50257);
    assert!(out.join("model/encoder.json").exists() && out.join("model/vocab.bpe").exists());
    // A second run reuses the token file (same source, same tokenizer): it is not rewritten.
    let modified = std::fs::metadata(out.join("tokens.bin")).unwrap().modified().unwrap();
    let again = pretrain(&text, &out, &extra);
    ok(&again);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("tokenised"));
    assert_eq!(std::fs::metadata(out.join("tokens.bin")).unwrap().modified().unwrap(), modified);
    // The run's model generates with the GPT-2 vocabulary it carries.
    let gen = rlhf(&["generate", "--model", out.to_str().unwrap(), "--prompt", "ROMEO:", "--max-new-tokens", "3", "--threads", "1"]);
    assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
    assert!(String::from_utf8_lossy(&gen.stdout).starts_with("ROMEO:"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn init_from_fine_tunes_a_hugging_face_folder() {
    let dir = temp_dir("init");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/tests/fixtures/gpt2_tiny");
    // A character vocabulary inside the fixture's 101 ids, and a corpus written in it.
    let tok = dir.join("chars.json");
    let chars: String = ('a'..='z').chain([' ', '.']).collect();
    std::fs::write(dir.join("chars.txt"), &chars).unwrap();
    let trained = rlhf(&["tokenize", "train", "--kind", "char", "--out", tok.to_str().unwrap(), dir.join("chars.txt").to_str().unwrap()]);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let data = dir.join("corpus.txt");
    std::fs::write(&data, "the cat sat on the mat. ".repeat(100)).unwrap();
    let out = dir.join("run");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "pretrain", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--init-from", fixture.to_str().unwrap(),
            "--tokenizer", tok.to_str().unwrap(), "--batch-size", "4", "--eval-batches", "1", "--threads", "1",
        ];
        args.extend_from_slice(extra);
        rlhf(&args)
    };
    // A vanishing learning rate: the saved model is the fixture's, in the fixture's sizes.
    ok(&run(&["--steps", "1", "--lr", "1e-12", "--min-lr", "0", "--weight-decay", "0"]));
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("model/config.json")).unwrap()).unwrap();
    assert_eq!((config["n_layer"].as_u64(), config["n_embd"].as_u64(), config["vocab_size"].as_u64()), (Some(2), Some(32), Some(101)));
    let theirs = engine::io::safetensors::load(fixture.join("model.safetensors")).unwrap();
    let ours = engine::io::safetensors::load(out.join("model/model.safetensors")).unwrap();
    for (name, t) in &theirs {
        let (a, b) = (ours[name].to_vec::<f32>().unwrap(), t.to_vec::<f32>().unwrap());
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-6, "{name} moved by {worst}");
    }
    // Size options conflict with --init-from.
    let o = run(&["--steps", "1", "--n-layer", "3"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--init-from"));
    std::fs::remove_dir_all(&dir).unwrap();
}
