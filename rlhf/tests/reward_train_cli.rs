//! `rlhf reward train` and `rlhf reward score` run as a user would, on a tiny GPT and world rankings of
//! mixed answers: the run folder has its files, the loss falls, a stopped run resumed gives the same
//! weights bit for bit, the saved model's scores of the SFT answers average 0, bad input fails with a
//! message.
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use rlhf::data::ChatTokenizer;
use rlhf::labeling::{Labeler, LabeledRanking, RankRequest, ScriptedWorldLabeler, Verdict};
use rlhf::world::demos::demo_response;
use rlhf::world::rng::WorldRng;
use rlhf::world::{DemoConfig, Split, World};

mod common;
use common::rlhf;

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_reward_train_cli", name)
}

/// A tiny random chat GPT folder with the world tokenizer (the "SFT model").
fn tiny_policy(dir: &Path) -> PathBuf {
    let tok = ChatTokenizer::for_world();
    let mut config = GptConfig::preset("char-tiny").unwrap();
    config.n_layer = 1;
    config.n_head = 2;
    config.n_embd = 32;
    config.block_size = 96;
    config.vocab_size = tok.vocab_size();
    let model = Gpt::new(config, &mut Rng::new(1)).unwrap();
    let out = dir.join("sft");
    save_hf_dir(&model, &out).unwrap();
    save_tokenizer_to_dir(tok.inner(), &out).unwrap();
    out
}

/// `n` world prompts of the reward split with K mixed answers (right or wrong, polite, curt, rambling),
/// ranked by the noiseless scripted labeler, as a rankings file.
fn world_rankings(dir: &Path, n: usize, k: usize) -> PathBuf {
    let mut labeler = ScriptedWorldLabeler::new(0.0, 0);
    let mix = DemoConfig { wrong_fraction: 0.3, rambling_fraction: 0.3, curt_fraction: 0.3 };
    let mut rng = WorldRng::new(5);
    let mut text = String::new();
    for (i, p) in World::new(1).prompts(Split::Reward, n).into_iter().enumerate() {
        let responses: Vec<String> = (0..k).map(|_| demo_response(&p.task, &mix, &mut rng).0).collect();
        let request = RankRequest { prompt: &p.text, messages: None, responses: &responses, position: i + 1, total: n };
        let Verdict::Ranked(ranking) = labeler.rank(&request).unwrap() else { panic!("the scripted labeler always ranks") };
        let record = LabeledRanking::new(&p.text, responses, &ranking, &labeler.name());
        text.push_str(&serde_json::to_string(&record).unwrap());
        text.push('\n');
    }
    let path = dir.join("rankings.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is the summary JSON")
}

fn train(base: &Path, rankings: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "reward", "train", "--base", base.to_str().unwrap(), "--rankings", rankings.to_str().unwrap(), "--out", out.to_str().unwrap(),
        "--threads", "1", "--batch-prompts", "4", "--lr", "1e-3", "--warmup", "2",
    ];
    args.extend_from_slice(extra);
    rlhf(&args)
}

#[test]
fn a_short_run_learns_fills_its_folder_and_scores() {
    let dir = temp_dir("learns");
    let base = tiny_policy(&dir);
    let rankings = world_rankings(&dir, 60, 4);
    let out = dir.join("run");
    let summary = ok(&train(&base, &rankings, &out, &["--epochs", "3", "--eval-every", "10", "--timed-prompts", "4"]));
    let extra = &summary["extra"];
    assert_eq!(summary["stage"], "reward");
    // 60 prompts, 15% held out by prompt: 9 held out, 51 to train in batches of 4 -> 13 steps an epoch.
    assert_eq!(extra["held_out_prompts"], 9);
    assert_eq!(extra["train_prompts"], 51);
    assert_eq!(summary["steps"], 39);
    for f in ["metrics.jsonl", "loss.svg", "accuracy.svg", "summary.json", "checkpoint/checkpoint.json", "model/config.json", "model/model.safetensors", "model/rlhf_tokenizer.json"] {
        assert!(out.join(f).exists(), "{f} is missing");
    }
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("model/config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "GPT2ForSequenceClassification");
    // metrics.jsonl: every step's loss, and held-out accuracy at each evaluation.
    let records: Vec<serde_json::Value> =
        std::fs::read_to_string(out.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let losses: Vec<f64> = records.iter().filter(|r| r["kind"] == "train").map(|r| r["loss"].as_f64().unwrap()).collect();
    assert_eq!(losses.len(), 39);
    let acc: Vec<f64> = records.iter().filter(|r| r["kind"] == "scores").map(|r| r["scores"]["held_out_accuracy"].as_f64().unwrap()).collect();
    assert_eq!(acc.len(), 4); // steps 10, 20, 30 and 39
    assert_eq!(acc[3], extra["held_out_accuracy"].as_f64().unwrap());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean(&losses[losses.len() - 10..]) < mean(&losses[..10]), "the training loss did not fall: {losses:?}");
    // K-wise batching: K = 4 sequences a prompt against 2 * C(4, 2) = 12, less what ties save.
    let b = &extra["batching"];
    assert_eq!(b["kwise_sequences"], 51 * 4);
    assert!(b["pairwise_sequences"].as_u64().unwrap() > 51 * 4 * 2 && b["pairwise_sequences"].as_u64().unwrap() <= 51 * 12);
    assert!(b["kwise_epoch_s"].as_f64().unwrap() > 0.0 && b["pairwise_epoch_s"].as_f64().unwrap() > 0.0);
    assert!(extra["elo"]["players"].as_array().unwrap().len() >= 2, "Elo of world answer kinds: {}", extra["elo"]);
    assert!(extra["training_time_s"].as_f64().unwrap() > 0.0);

    // The saved model scores the rankings' answers (the "SFT answers") at mean 0.
    let records: Vec<LabeledRanking> = rlhf::labeling::load_labeled(&rankings).unwrap();
    let input: String = records
        .iter()
        .map(|r| serde_json::json!({"prompt": r.prompt, "responses": r.responses}).to_string() + "\n")
        .collect();
    let input_path = dir.join("answers.jsonl");
    std::fs::write(&input_path, input).unwrap();
    let scored = rlhf(&["reward", "score", "--model", out.to_str().unwrap(), "--input", input_path.to_str().unwrap(), "--threads", "1"]);
    assert!(scored.status.success(), "{}", String::from_utf8_lossy(&scored.stderr));
    let scores: Vec<f64> = String::from_utf8(scored.stdout)
        .unwrap()
        .lines()
        .flat_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(scores.len(), 240);
    assert!(mean(&scores).abs() < 1e-3, "mean score of the SFT answers after normalisation: {}", mean(&scores));
    // Piped through stdin, one answer a line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(["reward", "score", "--model", out.to_str().unwrap(), "--threads", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"{\"prompt\": \"What is 2 plus 3?\", \"response\": \"Sure! 2 + 3 = 5.\"}\n").unwrap();
    let piped = child.wait_with_output().unwrap();
    let line: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert!(line["score"].as_f64().unwrap().is_finite());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stop_and_resume_gives_the_same_weights_bit_for_bit() {
    let dir = temp_dir("resume");
    let base = tiny_policy(&dir);
    let rankings = world_rankings(&dir, 30, 4);
    let (whole, halves) = (dir.join("whole"), dir.join("halves"));
    let common = ["--epochs", "2", "--eval-every", "4", "--timed-prompts", "0"];
    let a = ok(&train(&base, &rankings, &whole, &common));
    let mut first = common.to_vec();
    first.extend(["--stop-after", "5"]); // mid-epoch
    let b1 = ok(&train(&base, &rankings, &halves, &first));
    assert_eq!(b1["steps"], 5);
    assert_eq!(b1["interrupted"], true);
    let mut second = common.to_vec();
    second.push("--resume");
    let b2 = ok(&train(&base, &rankings, &halves, &second));
    assert_eq!(b2["steps"], a["steps"]);
    let wa = std::fs::read(whole.join("model/model.safetensors")).unwrap();
    let wb = std::fs::read(halves.join("model/model.safetensors")).unwrap();
    assert!(wa == wb, "resumed weights differ from the uninterrupted run's");
    assert_eq!(a["extra"]["held_out_accuracy"], b2["extra"]["held_out_accuracy"]);
    // Resuming on other rankings is refused.
    let other = world_rankings(&temp_dir("other"), 20, 4);
    let err = train(&base, &other, &halves, &second);
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("other data"), "{}", String::from_utf8_lossy(&err.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn train_layers_leaves_the_frozen_part_as_the_sft_model_had_it() {
    let dir = temp_dir("freeze");
    let base = tiny_policy(&dir);
    let rankings = world_rankings(&dir, 20, 3);
    let out = dir.join("run");
    ok(&train(&base, &rankings, &out, &["--epochs", "1", "--timed-prompts", "0", "--train-layers", "1"]));
    let (sft, rm) = (models::gpt::load_hf_dir(&base).unwrap(), rlhf::reward::load_reward_dir(out.join("model")).unwrap());
    let values = |p: &autograd::Parameter| p.value().to_vec::<f32>().unwrap();
    // The embeddings are frozen (the one block is the "last 1" and trains), so they are bit for bit the SFT model's.
    assert_eq!(values(&rm.trunk.wte.weight), values(&sft.wte.weight));
    assert_eq!(values(&rm.trunk.wpe.weight), values(&sft.wpe.weight));
    assert_ne!(values(&rm.trunk.h[0].mlp.c_fc.weight), values(&sft.h[0].mlp.c_fc.weight));
    let err = train(&base, &rankings, &dir.join("e"), &["--train-layers", "2"]);
    assert!(!err.status.success() && String::from_utf8_lossy(&err.stderr).contains("--train-layers 2"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_fails_with_a_message() {
    let dir = temp_dir("errors");
    let base = tiny_policy(&dir);
    let rankings = world_rankings(&dir, 10, 3);
    let err = |o: Output| {
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    assert!(err(train(&base, Path::new("/no/such/rankings.jsonl"), &dir.join("a"), &[])).contains("/no/such/rankings.jsonl"));
    assert!(err(train(&dir.join("nothing"), &rankings, &dir.join("b"), &[])).contains("neither a model folder"));
    assert!(err(train(&base, &rankings, &dir.join("c"), &["--val-fraction", "1.5"])).contains("--val-fraction"));
    assert!(err(train(&base, &rankings, &dir.join("d"), &["--resume"])).contains("no checkpoint"));
    assert!(err(train(&base, &rankings, &dir.join("e"), &["--trunk-layers", "3"])).contains("only 1 layers"));
    let broken = dir.join("broken.jsonl");
    std::fs::write(&broken, "{\"prompt\": \"q\", \"responses\": [\"a\", \"b\"], \"ranking\": [0, 0], \"labeler\": \"x\"}\n").unwrap();
    assert!(err(train(&base, &broken, &dir.join("f"), &[])).contains("broken.jsonl:1"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_a_usable_model() {
    let dir = temp_dir("ctrlc");
    let base = tiny_policy(&dir);
    let rankings = world_rankings(&dir, 30, 4);
    let out = dir.join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_rlhf"))
        .args(["reward", "train", "--base", base.to_str().unwrap(), "--rankings", rankings.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--threads", "1", "--epochs", "100000", "--eval-every", "100000", "--timed-prompts", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let lines = || std::fs::read_to_string(out.join("metrics.jsonl")).map(|s| s.lines().count()).unwrap_or(0);
    while lines() < 3 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "training did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let summary = ok(&child.wait_with_output().unwrap());
    assert_eq!(summary["interrupted"], true);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/checkpoint.json")).unwrap()).unwrap();
    assert_eq!(saved["train"]["step"], summary["steps"]);
    assert!(out.join("model/model.safetensors").exists() && out.join("loss.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
