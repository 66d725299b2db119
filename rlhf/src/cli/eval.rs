//! `rlhf eval`: a chat model answers the built-in world's held-out prompts and the checker grades every
//! answer: the pipeline's evaluation stage on its own, for any checkpoint (SFT, PG, PPO, or one of yours).
//!
//! ```text
//! rlhf eval --model runs/pipeline/ppo                      # 300 prompts, one sample each at T = 1
//! rlhf eval --model runs/pipeline/sft --samples 4          # 1,200 answers: a tighter estimate
//! rlhf eval --model runs/pipeline/sft --temperature 0 --answers sft_greedy.jsonl
//! rlhf eval --model runs/pipeline/ppo --against runs/pipeline/sft --prompts 1000 --samples 8
//! ```
//! Prints one JSON object: the correct, polite and concise fractions, the mean checker score, the correct
//! fraction per task family and the standard error of the correct fraction; with `--against`, the other
//! model's correct fraction on the same prompts and samples and the paired gain (`report::correct_gain`).
use std::path::PathBuf;

use clap::Args;
use rlhf::evaluate::{correct_by_family_json, eval_prompts, evaluate_world_sampled};
use rlhf::report::correct_gain;
use rlhf::run::RunError;
use rlhf::sample::SampleOptions;
use serde_json::json;

/// Options of `rlhf eval`.
#[derive(Args, Clone, Debug)]
pub struct EvalArgs {
    /// A chat model: a model folder or a run folder of `rlhf sft`, `rlhf pg` or `rlhf ppo`.
    #[arg(long)]
    pub model: PathBuf,
    /// Held-out prompts (the world's Eval split, the same ones the pipeline reports on).
    #[arg(long, default_value_t = 300)]
    pub prompts: usize,
    /// Answers sampled per prompt (sample i seeded seed + i); 1 when greedy.
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Most tokens per answer (the pipeline's default too).
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Seed of the built-in world.
    #[arg(long, default_value_t = 1337)]
    pub world_seed: u64,
    /// Seed of the first sample (sample i uses seed + i); the pipeline samples with the world seed.
    #[arg(long, default_value_t = 1337)]
    pub seed: u64,
    /// A second model answering the same prompts with the same seeds: report its correct fraction and the
    /// gain of --model over it, paired by prompt, with its standard error.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// Also write every graded answer to this JSONL file.
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `rlhf eval`.
pub fn run(args: &EvalArgs) -> Result<(), RunError> {
    if args.samples == 0 || args.prompts == 0 {
        return Err("--samples and --prompts must be at least 1".into());
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    let dir = super::generate::resolve_model_dir(&args.model)?;
    let (model, _, chat) = super::sft::load_chat_model(&dir)?;
    let prompts = eval_prompts(args.world_seed, args.prompts);
    let samples = if args.temperature == 0.0 { 1 } else { args.samples };
    let options =
        SampleOptions { max_new_tokens: args.max_new_tokens, temperature: args.temperature, seed: args.seed, ..SampleOptions::default() };
    let eval = pool.install(|| evaluate_world_sampled(&model, &chat, &prompts, &options, samples))?;
    if let Some(path) = &args.answers {
        let lines: String = eval.answers.iter().map(|a| a.to_json().to_string() + "\n").collect();
        engine::io::write_atomically(path, |w| std::io::Write::write_all(w, lines.as_bytes()))
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    let s = &eval.summary;
    let mut report = json!({
        "model": dir.display().to_string(),
        "prompts": prompts.len(),
        "samples_per_prompt": samples,
        "temperature": args.temperature,
        "answers": s.count,
        "skipped_too_long": eval.skipped,
        "skipped_unencodable": eval.unencodable,
        "correct": s.correct,
        "correct_std_error": eval.correct_std_error(),
        "polite": s.polite,
        "concise": s.concise,
        "mean_score": s.mean_score,
        "finished": eval.finished_fraction(),
        "correct_by_family": correct_by_family_json(&eval.answers),
    });
    if let Some(other) = &args.against {
        let other_dir = super::generate::resolve_model_dir(other)?;
        let (other_model, _, other_chat) = super::sft::load_chat_model(&other_dir)?;
        let base = pool.install(|| evaluate_world_sampled(&other_model, &other_chat, &prompts, &options, samples))?;
        let gain = correct_gain(&eval.answers, &base.answers)?;
        report["against"] = json!({
            "model": other_dir.display().to_string(),
            "correct": base.summary.correct,
            "correct_by_family": correct_by_family_json(&base.answers),
            "correct_gain": gain,
        });
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
