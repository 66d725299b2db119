//! `rlhf pg`: policy gradient (REINFORCE on whole answers with a running-mean baseline) against the reward
//! model, from the SFT model: the plain baseline PPO is compared with.
//!
//! ```text
//! rlhf pg --policy runs/sft --reward runs/reward --out runs/pg
//! rlhf pg --policy runs/sft --reward runs/reward --out runs/pg --resume
//! ```
//! Each iteration is [`rlhf::rl::pg::PgTrainer::iteration`]; the run folder is PPO's without `critic/`.
use std::path::PathBuf;
use std::time::Instant;

use autograd::checkpoint::{load_checkpoint, save_checkpoint, TrainState};
use autograd::nn::Module;
use autograd::optim::{AdamW, AdamWOptions};
use clap::Args;

use super::rl_run_args::{RlInputArgs, RlRunArgs};
use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir};
use serde_json::json;

use rlhf::rl::kl_controller::KlController;
use rlhf::rl::pg::{PgConfig, PgTrainer};
use rlhf::rl::ppo::draw_prompts;
use rlhf::rl::reinforce::{BaselineKind, RunningBaseline};
use rlhf::rl::run_folder::{prompt_pool, read_stats, resolve_reward_dir, RlLog, RlSummary};
use rlhf::run::{interrupt, Progress, RunError};

/// Options of `rlhf pg`.
#[derive(Args, Clone, Debug)]
pub struct PgArgs {
    /// The SFT policy, the reward model and the prompts.
    #[command(flatten)]
    pub input: RlInputArgs,
    /// The run folder.
    #[arg(long, default_value = "runs/pg")]
    pub out: PathBuf,
    /// Iterations (rollout batch + one pass of updates each).
    #[arg(long, default_value_t = 15)]
    pub iterations: u64,
    /// Answers per iteration.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Answers per optimizer step.
    #[arg(long, default_value_t = 16)]
    pub minibatch_size: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 2e-5)]
    pub lr: f32,
    /// β of the KL term in the reward (0: none); as `rlhf ppo`'s.
    #[arg(long, default_value_t = 0.1)]
    pub kl_beta: f64,
    /// Decay of the exponential running-mean baseline (0: the cumulative mean of every reward so far).
    #[arg(long, default_value_t = 0.9)]
    pub baseline_decay: f64,
    /// Penalty on the score of an answer that never ends.
    #[arg(long, default_value_t = 1.0)]
    pub missing_eos_penalty: f32,
    /// Clip the global gradient norm to this (0: none).
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f32,
    /// Rollout length and temperature, logging, checkpoints, seed, resume, threads.
    #[command(flatten)]
    pub run: RlRunArgs,
}

impl PgArgs {
    fn config(&self) -> PgConfig {
        PgConfig {
            batch_size: self.batch_size,
            minibatch_size: self.minibatch_size,
            missing_eos_penalty: self.missing_eos_penalty,
            grad_clip: self.grad_clip,
            max_new_tokens: self.run.max_new_tokens,
            temperature: self.run.temperature,
            generation_batch: self.batch_size.min(64),
        }
    }

    fn baseline_kind(&self) -> BaselineKind {
        if self.baseline_decay > 0.0 {
            BaselineKind::Exponential { decay: self.baseline_decay }
        } else {
            BaselineKind::Cumulative
        }
    }
}

/// Runs `rlhf pg`.
pub fn run(args: &PgArgs) -> Result<(), RunError> {
    let problem = if args.iterations == 0 || args.batch_size == 0 || args.minibatch_size == 0 {
        Some("--iterations, --batch-size and --minibatch-size must be positive")
    } else if args.lr <= 0.0 || args.kl_beta < 0.0 || !(0.0..1.0).contains(&args.baseline_decay) {
        Some("--lr must be positive, --kl-beta not negative, --baseline-decay in [0, 1)")
    } else if args.run.max_new_tokens == 0 || args.run.temperature <= 0.0 || args.run.checkpoint_every == 0 {
        Some("--max-new-tokens, --temperature and --checkpoint-every must be positive")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(problem.into());
    }
    args.run.device.check_available()?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.run.threads.unwrap_or(0)).build()?;
    pool.install(|| train(args))
}

fn train(args: &PgArgs) -> Result<(), RunError> {
    let wall = Instant::now();
    let resuming = args.run.resuming(&args.out)?;
    let policy_dir = super::generate::resolve_model_dir(&args.input.policy)?;
    let (mut policy, tok, chat) = super::sft::load_chat_model(&policy_dir)?;
    let (mut reference, _, _) = super::sft::load_chat_model(&policy_dir)?;
    let reward_dir = resolve_reward_dir(&args.input.reward)?;
    let reward = rlhf::rl::policy_reward::PolicyReward::load(&reward_dir)?; // GPT (token ids) or BERT (text)
    policy.config.dropout = 0.0;
    reference.config.dropout = 0.0;
    let block = policy.config.block_size.min(reward.context().unwrap_or(usize::MAX));
    let (pool, skipped) = prompt_pool(
        &args.input.prompt_source(),
        &chat,
        block,
        args.run.max_new_tokens,
    )?;
    if skipped > 0 {
        eprintln!("pg: {skipped} prompts skipped: too long for the context of {block} tokens with --max-new-tokens {}", args.run.max_new_tokens);
    }
    let config = args.config();
    let opt = AdamW::for_module(&policy, 0.0, AdamWOptions { lr: args.lr, beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    let mut trainer = PgTrainer {
        policy,
        reference,
        scorer: reward.scorer(),
        tok: chat.clone(),
        opt,
        kl: KlController::Fixed(args.kl_beta),
        baseline: RunningBaseline::new(args.baseline_kind()),
        config: config.clone(),
    };
    let mut rng = Rng::new(args.run.seed).split(8);
    let mut start = 0u64;
    let model_json = trainer.policy.config.to_hf_json();
    if resuming {
        let state = load_checkpoint(args.out.join("checkpoint"), &trainer.policy, &mut trainer.opt)?;
        let saved = &state.config;
        if saved["model"] != model_json {
            return Err(format!("--resume: the checkpoint's policy {} differs from --policy's {}", saved["model"], model_json).into());
        }
        start = state.step;
        rng = Rng::from_state(state.rng_state.ok_or("--resume: the checkpoint has no RNG state")?)?;
        trainer.baseline = serde_json::from_value::<(f64, u64)>(saved["baseline"].clone())
            .map(|(value, count)| RunningBaseline { kind: args.baseline_kind(), value, count })
            .map_err(|e| format!("--resume: the checkpoint's baseline: {e}"))?;
        eprintln!("resuming {} from iteration {start}", args.out.display());
    }
    let mut log = RlLog::open(&args.out, !resuming)?;
    eprintln!(
        "pg: policy {} parameters, {} prompts, {} answers per iteration, {} thread(s)",
        trainer.policy.num_parameters(),
        pool.len(),
        args.batch_size,
        rayon::current_num_threads()
    );
    let save = |trainer: &PgTrainer, done: u64, rng: &Rng| -> Result<(), RunError> {
        let state = TrainState {
            step: done,
            rng_state: Some(rng.state()),
            config: json!({
                "stage": "pg",
                "model": model_json,
                "policy": policy_dir.display().to_string(),
                "reward": reward_dir.display().to_string(),
                "pg": config,
                "baseline": (trainer.baseline.value, trainer.baseline.count),
                "seed": args.run.seed,
            }),
        };
        save_checkpoint(args.out.join("checkpoint"), &trainer.policy, &trainer.opt, &state)?;
        let model_dir = args.out.join("model");
        save_hf_dir(&trainer.policy, &model_dir)?;
        save_tokenizer_to_dir(&tok, &model_dir)?;
        Ok(())
    };

    let interrupt_handled = interrupt::install();
    let progress = Progress::new(args.iterations, start);
    let (mut run_count, mut interrupted) = (0u64, false);
    for iteration in start + 1..=args.iterations {
        let prompts = draw_prompts(&pool, args.batch_size, &mut rng)?;
        let out = trainer.iteration(iteration, &prompts, &mut rng)?;
        let s = &out.stats;
        if !s.reward_mean.is_finite() || !s.kl.is_finite() {
            return Err(format!("iteration {iteration}: reward {} and KL {} are not finite; lower --lr", s.reward_mean, s.kl).into());
        }
        log.append(s, &out.rollouts, args.run.samples)?;
        run_count += 1;
        progress.update(iteration, s.policy_loss.unwrap_or(f32::NAN), s.rollout_tokens_per_s);
        progress.println(format!(
            "iteration {iteration}: reward {:.3} ± {:.3}, baseline {:.3}, KL {:.2}, entropy {:.3}, length {:.1}, ended {:.0}%",
            s.reward_mean,
            s.reward_std,
            s.baseline.unwrap_or(f32::NAN),
            s.kl,
            s.entropy,
            s.answer_len,
            100.0 * s.finished_fraction
        ) + &s.checker_correct.map(|c| format!(", checker correct {:.0}%", 100.0 * c)).unwrap_or_default());
        let stop = interrupt::requested() || args.run.stop_after == Some(iteration);
        if iteration % args.run.checkpoint_every == 0 || iteration == args.iterations || stop {
            save(&trainer, iteration, &rng)?;
        }
        if stop {
            interrupted = iteration < args.iterations;
            progress.println(format!("stopped after iteration {iteration}; checkpoint saved in {}", args.out.join("checkpoint").display()));
            break;
        }
    }
    progress.finish();
    if !interrupt_handled {
        eprintln!("note: Ctrl-C handler unavailable; an interrupt will not save a checkpoint");
    }
    let all = read_stats(&args.out.join("metrics.jsonl"))?;
    let summary = RlSummary::from_stats("pg", &all, run_count, args.batch_size, wall.elapsed().as_secs_f64(), interrupted);
    summary.finish(&args.out, &all, "policy gradient (REINFORCE, running-mean baseline)")?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
