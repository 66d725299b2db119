//! `rlhf ppo` and `rlhf pg` run as a user would, on a tiny random policy and a reward model made from it:
//! the run folder has its files, a stopped run resumed gives the same weights bit for bit as an
//! uninterrupted one, a reward model's likelihood feature paid per token keeps the score, and bad options
//! fail with a message.
use std::path::{Path, PathBuf};
use std::process::Output;

use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir, Gpt, GptConfig};
use rlhf::data::ChatTokenizer;
use rlhf::reward::{reward_model_from_policy, save_reward_dir};

mod common;
use common::rlhf;

fn temp_dir(name: &str) -> PathBuf {
    common::fresh_dir("rlhf_ppo_cli", name)
}

/// A tiny policy folder, a reward-model folder made from it, and a prompts file.
fn fixtures(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let tok = ChatTokenizer::for_world();
    let mut config = GptConfig::preset("char-tiny").unwrap();
    (config.n_layer, config.n_embd, config.n_head, config.block_size, config.vocab_size) = (1, 32, 2, 48, tok.vocab_size());
    let policy = Gpt::new(config, &mut Rng::new(11)).unwrap();
    let policy_dir = dir.join("sft");
    save_hf_dir(&policy, &policy_dir).unwrap();
    save_tokenizer_to_dir(tok.inner(), &policy_dir).unwrap();
    let rm = reward_model_from_policy(&policy, &mut Rng::new(12)).unwrap();
    let rm_dir = dir.join("rm");
    save_reward_dir(&rm, &rm_dir).unwrap();
    let prompts = dir.join("prompts.txt");
    std::fs::write(&prompts, "Hi\nWhat is 2 plus 3?\nSpell cat.\nGo on.\n").unwrap();
    (policy_dir, rm_dir, prompts)
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is the summary JSON")
}

fn run(stage: &str, policy: &Path, rm: &Path, prompts: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        stage, "--policy", policy.to_str().unwrap(), "--reward", rm.to_str().unwrap(), "--prompts", prompts.to_str().unwrap(),
        "--out", out.to_str().unwrap(), "--batch-size", "8", "--minibatch-size", "4", "--max-new-tokens", "8", "--lr", "1e-3",
        "--threads", "1", "--checkpoint-every", "2",
    ];
    args.extend_from_slice(extra);
    rlhf(&args)
}

fn weights(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("model/model.safetensors")).unwrap()
}

fn iterations(out: &Path) -> Vec<u64> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["iteration"].as_u64().unwrap())
        .collect()
}

fn stop_and_resume_matches(stage: &str, extra: &[&str]) {
    let dir = temp_dir(stage);
    let (policy, rm, prompts) = fixtures(&dir);
    let (whole, halves) = (dir.join("whole"), dir.join("halves"));
    let mut common = vec!["--iterations", "4"];
    common.extend_from_slice(extra);
    let a = ok(&run(stage, &policy, &rm, &prompts, &whole, &common));
    assert_eq!(a["iterations"], 4);
    assert_eq!(a["answers"], 32);
    for file in ["metrics.jsonl", "samples.jsonl", "rl.svg", "summary.json", "checkpoint/checkpoint.json", "model/config.json", "model/rlhf_tokenizer.json"] {
        assert!(whole.join(file).exists(), "{stage}: {file} is missing");
    }
    assert_eq!(whole.join("critic/config.json").exists(), stage == "ppo");
    assert_ne!(weights(&whole), std::fs::read(policy.join("model.safetensors")).unwrap(), "{stage} did not change the policy");

    let mut first = common.clone();
    first.extend(["--stop-after", "2"]);
    let b1 = ok(&run(stage, &policy, &rm, &prompts, &halves, &first));
    assert_eq!(b1["iterations"], 2);
    assert_eq!(b1["interrupted"], true);
    let mut second = common.clone();
    second.push("--resume");
    let b2 = ok(&run(stage, &policy, &rm, &prompts, &halves, &second));
    assert_eq!(b2["iterations"], 4);
    assert_eq!(b2["iterations_this_run"], 2);
    assert!(weights(&whole) == weights(&halves), "{stage}: resumed weights differ from the uninterrupted run's");
    assert_eq!(a["final_reward_mean"], b2["final_reward_mean"]);
    assert_eq!(a["final_kl"], b2["final_kl"]);
    assert_eq!(iterations(&halves), vec![1, 2, 3, 4]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ppo_stop_and_resume_gives_the_same_weights_bit_for_bit() {
    // Adaptive β and PPO-ptx too: their state must survive the checkpoint.
    stop_and_resume_matches("ppo", &["--kl-target", "1", "--kl-horizon", "50", "--ptx-coef", "0.5", "--ptx-batch", "2"]);
}

#[test]
fn pg_stop_and_resume_gives_the_same_weights_bit_for_bit() {
    stop_and_resume_matches("pg", &[]);
}

#[test]
fn bad_options_fail_with_a_message() {
    let dir = temp_dir("bad");
    let (policy, rm, prompts) = fixtures(&dir);
    let out = run("ppo", &policy, &rm, &prompts, &dir.join("x"), &["--clip-eps", "1.5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--clip-eps"));
    // The policy folder given as the reward model: no score head.
    let out = run("ppo", &policy, &policy, &prompts, &dir.join("y"), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("score.weight"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("pg", &policy, &rm, &prompts, &dir.join("z"), &["--resume"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no checkpoint"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_likelihood_feature_paid_per_token_keeps_the_score_and_moves_the_credit() {
    let dir = temp_dir("per_token");
    let (policy, _, prompts) = fixtures(&dir);
    let model = models::gpt::load_hf_dir(&policy).unwrap();
    let rm = reward_model_from_policy(&model, &mut Rng::new(12)).unwrap().with_likelihood_feature(0.5).unwrap();
    let rm_dir = dir.join("rm_likelihood");
    save_reward_dir(&rm, &rm_dir).unwrap();
    let first_reward = |out: &Path| -> f64 {
        let line = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        serde_json::from_str::<serde_json::Value>(line.lines().next().unwrap()).unwrap()["reward_mean"].as_f64().unwrap()
    };
    let (answer, per_token) = (dir.join("answer"), dir.join("per_token"));
    ok(&run("ppo", &policy, &rm_dir, &prompts, &answer, &["--iterations", "2"]));
    ok(&run("ppo", &policy, &rm_dir, &prompts, &per_token, &["--iterations", "2", "--likelihood-reward", "per-token"]));
    // The same rollouts get the same total score (head + the feature's sum) ...
    let (a, b) = (first_reward(&answer), first_reward(&per_token));
    assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "first-iteration score: {a} paid at the end, {b} per token");
    // ... but credit lands on other tokens, so the updates differ.
    assert_ne!(weights(&answer), weights(&per_token));
    let err = run("ppo", &policy, &rm_dir, &prompts, &dir.join("bad"), &["--likelihood-reward", "everywhere"]);
    assert!(!err.status.success() && String::from_utf8_lossy(&err.stderr).contains("--likelihood-reward"));
    std::fs::remove_dir_all(&dir).unwrap();
}
