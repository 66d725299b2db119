//! `rlhf pipeline --quick`: the whole chain (pretrain, SFT, rank, reward model, PG, PPO, evaluation,
//! report) runs in well under a minute at tiny sizes, writes every stage's run folder, the report page
//! and the summary with the figures the issue asks for; `--resume` keeps the finished stages.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlhf_pipeline_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn pipeline(out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["pipeline", "--quick", "--threads", "1", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(&args).stdin(Stdio::null()).output().expect("rlhf runs");
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    // Each stage prints its own summary on stdout; the pipeline's is the folder's summary.json.
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).expect("summary.json is JSON")
}

#[test]
fn the_quick_pipeline_runs_every_stage_and_writes_the_report() {
    let out = temp_dir("quick");
    let started = Instant::now();
    let summary = pipeline(&out, &["--rounds", "2"]);
    let seconds = started.elapsed().as_secs_f64();
    println!("quick pipeline: {seconds:.1} s");
    assert!(seconds < 60.0, "the quick pipeline took {seconds:.1} s");
    for key in ["win_rate_ppo_vs_sft", "win_rate_pg_vs_sft", "correct_sft", "correct_pg", "correct_ppo", "kl_ppo_to_sft", "reward_model_held_out_accuracy", "stage_wall_time_s"] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    // Two rounds (one by default): round 2 ranks the answers of a PPO policy trained against round 1's reward
    // model, and the final reward model learns from both rankings files.
    for stage in ["pretrain", "sft", "rank", "reward_round1", "ppo_round1", "rank_round2", "reward", "pg", "ppo", "evaluation"] {
        assert!(summary["stage_wall_time_s"][stage].as_f64().is_some_and(|t| t > 0.0), "no wall time for {stage}");
    }
    assert!(summary["reward_model_held_out_accuracy"].as_f64().is_some_and(|a| (0.0..=1.0).contains(&a)));
    assert!(summary["kl_ppo_to_sft"].as_f64().is_some_and(f64::is_finite));
    // The reward model audited on the evaluation's answers: six answers a prompt give pairs to compare.
    let audit = &summary["reward_model_on_eval_answers"];
    assert!(audit["pairs"].as_u64().is_some_and(|n| n > 0), "{audit}");
    assert!(audit["accuracy"].as_f64().is_some_and(|a| (0.0..=1.0).contains(&a)), "{audit}");
    // The reward models carry the answer-likelihood feature; PPO's critic starts from the head alone.
    let rm = rlhf::reward::load_reward_dir(out.join("reward/model")).unwrap();
    assert!(rm.likelihood.is_some());
    assert!(rlhf::reward::load_reward_dir(out.join("ppo/critic")).unwrap().likelihood.is_none());
    let trained_on = std::fs::read_to_string(out.join("reward/summary.json")).unwrap();
    assert!(trained_on.contains("rankings_round2.jsonl") && trained_on.contains("rankings.jsonl"), "the last reward model's sources: {trained_on}");
    // The paired gain over SFT and the per-family figures.
    assert!(summary["correct_gain_ppo_vs_sft"]["std_error"].as_f64().is_some(), "{}", summary["correct_gain_ppo_vs_sft"]);
    assert_eq!(summary["correct_by_family"]["ppo"].as_object().map(|m| m.len()), Some(7));
    assert_eq!(summary["eval_answers_per_prompt"], 8);
    for file in ["pretrain/model/config.json", "sft/model/config.json", "rankings.jsonl", "reward_round1/model/config.json", "ppo_round1/model/config.json", "rankings_round2.jsonl", "reward/model/config.json", "pg/rl.svg", "ppo/rl.svg", "ppo/critic/config.json", "eval_sft.jsonl", "eval_pg.jsonl", "eval_ppo.jsonl", "summary.json"] {
        assert!(out.join(file).exists(), "{file} is missing");
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for needle in ["![pretrain](pretrain/loss.svg)", "![sft](sft/loss.svg)", "![PPO](ppo/rl.svg)", "![policy gradient](pg/rl.svg)", "| PPO vs SFT |", "| prompt | SFT | PG | PPO |"] {
        assert!(report.contains(needle), "report.md lacks {needle:?}");
    }
    // The same 16 held-out prompts in every model's answers, eight sampled answers each (in sample order).
    let prompts = |f: &str| -> Vec<String> {
        std::fs::read_to_string(out.join(f)).unwrap().lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["prompt"].as_str().unwrap().to_string()).collect()
    };
    let sampled = prompts("eval_sft.jsonl");
    assert_eq!(sampled.len(), 128);
    assert_eq!(sampled[..16], sampled[112..]);
    assert_eq!(sampled, prompts("eval_ppo.jsonl"));

    // Sampled (the main decoding) and greedy, on the same prompts.
    assert_eq!(summary["eval_temperature"], 1.0);
    assert!(summary["greedy"]["correct_ppo"].as_f64().is_some());
    assert_eq!(prompts("eval_sft_greedy.jsonl")[..], sampled[..16]);
    assert!(report.contains("## The same prompts, greedy decoding"));

    // `rlhf eval` is the evaluation stage on its own: at the pipeline's seed it gives the same figure; more
    // samples a prompt give more answers and a standard error.
    let eval = |extra: &[&str]| -> serde_json::Value {
        let mut args: Vec<String> = ["eval", "--model", out.join("sft").to_str().unwrap(), "--prompts", "16", "--threads", "1"].iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let o = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(&args).stdin(Stdio::null()).output().expect("rlhf runs");
        assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).expect("rlhf eval prints JSON")
    };
    let eight = eval(&["--samples", "8"]);
    // --against: the paired gain of one model over another, as the pipeline reports PPO's over SFT's.
    let mut versus: Vec<String> = ["eval", "--model", out.join("ppo").to_str().unwrap(), "--against", out.join("sft").to_str().unwrap()].iter().map(|s| s.to_string()).collect();
    versus.extend(["--prompts", "16", "--samples", "8", "--threads", "1"].iter().map(|s| s.to_string()));
    let o = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(&versus).stdin(Stdio::null()).output().expect("rlhf runs");
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let versus: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(versus["correct"], summary["correct_ppo"], "{versus}");
    assert_eq!(versus["against"]["correct"], summary["correct_sft"], "{versus}");
    assert_eq!(versus["against"]["correct_gain"], summary["correct_gain_ppo_vs_sft"], "{versus}");
    assert_eq!(eight["correct"], summary["correct_sft"], "{eight}");
    assert_eq!(eight["answers"], 128);
    assert_eq!(eval(&["--temperature", "0"])["correct"], summary["greedy"]["correct_sft"]);
    let bad = Command::new(env!("CARGO_BIN_EXE_rlhf")).args(["eval", "--model", out.join("sft").to_str().unwrap(), "--samples", "0"]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--samples"), "{}", String::from_utf8_lossy(&bad.stderr));
    assert_eq!(eight["correct_by_family"].as_object().map(|m| m.len()), Some(7), "{eight}");
    assert!(eight["correct_std_error"].as_f64().is_some_and(|e| e > 0.0 || eight["correct"] == 0.0 || eight["correct"] == 1.0));
    // PPO and PG log the checker's verdict on their rollouts beside the reward model's score.
    let first = std::fs::read_to_string(out.join("ppo/metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert!(first["checker_correct"].as_f64().is_some_and(|c| (0.0..=1.0).contains(&c)), "{first}");

    // A resumed pipeline keeps the finished stages (reporting the times the first run measured) and
    // redoes only the evaluation, which is seeded: the same figures.
    let again = pipeline(&out, &["--rounds", "2", "--resume"]);
    for stage in ["pretrain", "sft", "rank", "reward_round1", "ppo_round1", "rank_round2", "reward", "pg", "ppo"] {
        assert_eq!(again["stage_wall_time_s"][stage], summary["stage_wall_time_s"][stage], "{stage}");
    }
    assert_eq!(again["correct_ppo"], summary["correct_ppo"]);
    assert_eq!(again["greedy"], summary["greedy"]);
    assert_eq!(again["reward_model_on_eval_answers"], summary["reward_model_on_eval_answers"]);
    let kept = std::fs::read_to_string(out.join("ppo/metrics.jsonl")).unwrap().lines().count();
    assert_eq!(kept, 2, "the resumed pipeline ran PPO again");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn one_round_by_default_ranks_once_and_trains_one_reward_model() {
    let out = temp_dir("one_round");
    let summary = pipeline(&out, &[]);
    let stages = summary["stage_wall_time_s"].as_object().unwrap();
    let mut names: Vec<&str> = stages.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["evaluation", "pg", "ppo", "pretrain", "rank", "reward", "sft"]);
    for absent in ["reward_round1", "ppo_round1", "rankings_round2.jsonl"] {
        assert!(!out.join(absent).exists(), "{absent} exists after one round");
    }
    let trained_on = std::fs::read_to_string(out.join("reward/summary.json")).unwrap();
    assert!(trained_on.contains("rankings.jsonl") && !trained_on.contains("round2"), "{trained_on}");
    // Every drawn reward prompt is ranked, repeats included.
    let ranked = std::fs::read_to_string(out.join("rankings.jsonl")).unwrap().lines().count();
    assert_eq!(ranked, 24, "--quick ranks 24 drawn prompts");
    std::fs::remove_dir_all(&out).unwrap();
}
