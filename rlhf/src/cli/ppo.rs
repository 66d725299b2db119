//! `rlhf ppo`: PPO with a KL penalty against the reward model, from the SFT model (RLHF step 3).
//!
//! ```text
//! rlhf ppo --policy runs/sft --reward runs/reward --out runs/ppo              # world PPO prompts
//! rlhf ppo --policy runs/sft --reward runs/reward --out runs/ppo --kl-target 6   # adaptive β
//! rlhf ppo --policy runs/sft --reward runs/reward --out runs/ppo --ptx-coef 0.5  # PPO-ptx
//! rlhf ppo ... --prompts prompts.jsonl                                        # prompts from a file
//! rlhf ppo ... --resume                                                       # continue from the checkpoint
//! ```
//! The policy and the frozen reference both load from `--policy`; the critic and the reward model both
//! load from `--reward` (the critic reads the reward head at every token and then trains). A BERT reward
//! model scores answers from their text and cannot start a GPT critic: the critic then starts from the
//! policy's trunk with a fresh value head ([`rlhf::rl::policy_reward`]). Each iteration
//! is [`rlhf::rl::ppo::PpoTrainer::iteration`]; the run folder is the one every stage writes (see
//! [`rlhf::rl::run_folder`]), with `critic/` beside `model/`.
use std::path::PathBuf;
use std::time::Instant;

use autograd::checkpoint::{load_checkpoint, save_checkpoint, TrainState};
use autograd::nn::Module;
use autograd::optim::{decay_groups, AdamW, AdamWOptions, ParamGroup};
use clap::Args;

use super::rl_run_args::{RlInputArgs, RlRunArgs};
use engine::rng::Rng;
use models::gpt::{save_hf_dir, save_tokenizer_to_dir};
use serde_json::json;

use rlhf::reward::{load_reward_dir, save_reward_dir};
use rlhf::rl::kl_controller::KlController;
use rlhf::rl::ppo::{draw_prompts, ActorCritic, PpoConfig, PpoTrainer};
use rlhf::rl::ptx::PtxData;
use rlhf::rl::run_folder::{prompt_pool, read_stats, resolve_reward_dir, RlLog, RlSummary};
use rlhf::run::{interrupt, Progress, RunError};

/// Options of `rlhf ppo`.
#[derive(Args, Clone, Debug)]
pub struct PpoArgs {
    /// The SFT policy, the reward model and the prompts.
    #[command(flatten)]
    pub input: RlInputArgs,
    /// The run folder.
    #[arg(long, default_value = "runs/ppo")]
    pub out: PathBuf,
    /// PPO iterations (rollout batch + update each).
    #[arg(long, default_value_t = 15)]
    pub iterations: u64,
    /// Answers per rollout batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Answers per minibatch.
    #[arg(long, default_value_t = 16)]
    pub minibatch_size: usize,
    /// Passes over each rollout batch.
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    /// AdamW learning rate of the policy.
    #[arg(long, default_value_t = 1e-5)]
    pub lr: f32,
    /// The critic's learning rate as a multiple of --lr.
    #[arg(long, default_value_t = 5.0)]
    pub critic_lr_scale: f32,
    /// AdamW weight decay of the matrices.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// β of the KL penalty (the start value with --kl-target). InstructGPT used 0.02; this reward model's
    /// scores spread over about ±5, and 0.1 keeps the policy closer to SFT on the built-in world.
    #[arg(long, default_value_t = 0.1)]
    pub kl_beta: f64,
    /// Adapt β towards this KL per answer (Ziegler et al.'s controller); default: β stays fixed.
    #[arg(long)]
    pub kl_target: Option<f64>,
    /// Horizon of the adaptive controller, in answers.
    #[arg(long, default_value_t = 10_000.0)]
    pub kl_horizon: f64,
    /// Clip ε of the surrogate.
    #[arg(long, default_value_t = 0.2)]
    pub clip_eps: f32,
    /// Clip of the value change.
    #[arg(long, default_value_t = 0.2)]
    pub value_clip_eps: f32,
    /// Weight of the value loss.
    #[arg(long, default_value_t = 0.1)]
    pub value_coef: f32,
    /// GAE γ.
    #[arg(long, default_value_t = 1.0)]
    pub gamma: f32,
    /// GAE λ.
    #[arg(long, default_value_t = 0.95)]
    pub lambda: f32,
    /// Do not whiten the advantages.
    #[arg(long)]
    pub no_whiten: bool,
    /// Penalty on the score of an answer that never ends.
    #[arg(long, default_value_t = 1.0)]
    pub missing_eos_penalty: f32,
    /// Clip the score to ±this.
    #[arg(long)]
    pub score_clip: Option<f32>,
    /// Where the reward model's answer-likelihood feature is paid: `answer`, in the score on the last
    /// token, or `per-token`, each token its own `w · log p` (same return, finer credit).
    #[arg(long, value_enum, default_value_t = LikelihoodReward::Answer)]
    pub likelihood_reward: LikelihoodReward,
    /// Stop an iteration's epochs once the approximate KL to the rollout policy exceeds this (0: never).
    #[arg(long, default_value_t = 0.05)]
    pub max_approx_kl: f32,
    /// Clip the global gradient norm to this (0: none).
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f32,
    /// PPO-ptx: weight γ of the pretraining loss on world text (0: plain PPO).
    #[arg(long, default_value_t = 0.0)]
    pub ptx_coef: f32,
    /// PPO-ptx: world-text sequences per minibatch.
    #[arg(long, default_value_t = 4)]
    pub ptx_batch: usize,
    /// Rollout length and temperature, logging, checkpoints, seed, resume, threads.
    #[command(flatten)]
    pub run: RlRunArgs,
}

/// Where PPO pays the reward model's answer-likelihood feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LikelihoodReward {
    /// In the score, on the answer's last token.
    Answer,
    /// On each answer token, `w · log p(token)`.
    PerToken,
}

impl PpoArgs {
    fn config(&self) -> PpoConfig {
        PpoConfig {
            batch_size: self.batch_size,
            minibatch_size: self.minibatch_size,
            epochs: self.epochs,
            clip_eps: self.clip_eps,
            value_clip_eps: self.value_clip_eps,
            value_coef: self.value_coef,
            entropy_coef: 0.0,
            gamma: self.gamma,
            lambda: self.lambda,
            whiten_advantages: !self.no_whiten,
            missing_eos_penalty: self.missing_eos_penalty,
            score_clip: self.score_clip,
            max_approx_kl: (self.max_approx_kl > 0.0).then_some(self.max_approx_kl),
            grad_clip: self.grad_clip,
            ptx_coef: self.ptx_coef,
            ptx_batch: self.ptx_batch,
            max_new_tokens: self.run.max_new_tokens,
            temperature: self.run.temperature,
            generation_batch: self.batch_size.min(64),
            per_token_feature: self.likelihood_reward == LikelihoodReward::PerToken,
        }
    }

    fn kl_controller(&self) -> Result<KlController, RunError> {
        Ok(match self.kl_target {
            Some(target) => KlController::adaptive(self.kl_beta, target, self.kl_horizon)?,
            None => KlController::Fixed(self.kl_beta),
        })
    }
}

/// Runs `rlhf ppo`.
pub fn run(args: &PpoArgs) -> Result<(), RunError> {
    validate(args)?;
    args.run.device.check_available()?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.run.threads.unwrap_or(0)).build()?;
    pool.install(|| train(args))
}

fn validate(args: &PpoArgs) -> Result<(), RunError> {
    let problem = if args.iterations == 0 || args.batch_size == 0 || args.minibatch_size == 0 || args.epochs == 0 {
        "--iterations, --batch-size, --minibatch-size and --epochs must be positive"
    } else if !(args.lr > 0.0 && args.critic_lr_scale >= 0.0) {
        "--lr must be positive and --critic-lr-scale not negative"
    } else if !(args.clip_eps > 0.0 && args.clip_eps < 1.0) {
        "--clip-eps must be in (0, 1)"
    } else if args.value_clip_eps <= 0.0 {
        "--value-clip-eps must be positive"
    } else if args.kl_beta < 0.0 || args.kl_target.is_some_and(|t| t <= 0.0) {
        "--kl-beta must not be negative and --kl-target must be positive"
    } else if args.run.max_new_tokens == 0 || args.run.temperature <= 0.0 {
        "--max-new-tokens and --temperature must be positive (rollouts sample)"
    } else if !(0.0..=1.0).contains(&args.lambda) || !(0.0..=1.0).contains(&args.gamma) {
        "--gamma and --lambda must be in [0, 1]"
    } else if args.run.checkpoint_every == 0 {
        "--checkpoint-every must be positive"
    } else {
        return Ok(());
    };
    Err(problem.into())
}

fn train(args: &PpoArgs) -> Result<(), RunError> {
    let wall = Instant::now();
    let resuming = args.run.resuming(&args.out)?;
    let policy_dir = super::generate::resolve_model_dir(&args.input.policy)?;
    let (policy, tok, chat) = super::sft::load_chat_model(&policy_dir)?;
    let (mut reference, _, _) = super::sft::load_chat_model(&policy_dir)?;
    let reward_dir = resolve_reward_dir(&args.input.reward)?;
    let reward = rlhf::rl::policy_reward::PolicyReward::load(&reward_dir)?; // GPT (token ids) or BERT (text)
    let mut critic = match reward.gpt() {
        Some(_) => load_reward_dir(&reward_dir)?,
        None => rlhf::reward::reward_model_from_policy(&policy, &mut Rng::new(args.run.seed).split(9))?,
    };
    if let Some(gpt) = reward.gpt().filter(|g| g.trunk.config.vocab_size < chat.vocab_size()) {
        return Err(format!("{}: the reward model has {} token ids, fewer than the policy's tokenizer ({})", reward_dir.display(), gpt.trunk.config.vocab_size, chat.vocab_size()).into());
    }
    // Dropout off throughout: log π_old must be the policy's own log-probabilities.
    let mut policy = policy;
    policy.config.dropout = 0.0;
    reference.config.dropout = 0.0;
    critic.trunk.config.dropout = 0.0;
    // The critic reads the head at every token; the reward model's answer-likelihood feature is a whole-
    // answer quantity with no per-token value, so the critic starts from the head alone.
    critic.likelihood = None;
    critic.likelihood_source = None;
    let block = policy.config.block_size.min(reward.context().unwrap_or(usize::MAX));
    let (pool, skipped) = prompt_pool(&args.input.prompt_source(), &chat, block, args.run.max_new_tokens)?;
    if skipped > 0 {
        eprintln!("ppo: {skipped} prompts skipped: too long for the context of {block} tokens with --max-new-tokens {}", args.run.max_new_tokens);
    }
    let config = args.config();
    let ptx = if args.ptx_coef > 0.0 {
        Some(PtxData::new(&chat, &rlhf::world::World::new(args.input.world_seed).pretraining_corpus(200_000))?)
    } else {
        None
    };
    let ac = ActorCritic { policy, critic };
    let options = AdamWOptions { lr: args.lr, beta1: 0.9, beta2: 0.99, eps: 1e-8 };
    let mut groups = decay_groups(&ac.policy, args.weight_decay);
    groups.extend(decay_groups(&ac.critic, args.weight_decay).into_iter().map(|g| g.with_lr_scale(args.critic_lr_scale)));
    let groups: Vec<ParamGroup> = groups
        .into_iter()
        .zip(["policy", "policy", "critic", "critic"])
        .map(|(mut g, prefix)| {
            g.params = g.params.into_iter().map(|(n, p)| (format!("{prefix}.{n}"), p)).collect();
            g
        })
        .collect();
    let opt = AdamW::new(groups, options);
    let mut trainer = PpoTrainer { ac, reference, scorer: reward.scorer(), tok: chat.clone(), opt, kl: args.kl_controller()?, config: config.clone(), ptx };
    let mut rng = Rng::new(args.run.seed).split(7);
    let mut start = 0u64;
    let model_json = trainer.ac.policy.config.to_hf_json();
    if resuming {
        let state = load_checkpoint(args.out.join("checkpoint"), &trainer.ac, &mut trainer.opt)?;
        let saved = &state.config;
        if saved["model"] != model_json {
            return Err(format!("--resume: the checkpoint's policy {} differs from --policy's {}", saved["model"], model_json).into());
        }
        start = state.step;
        rng = Rng::from_state(state.rng_state.ok_or("--resume: the checkpoint has no RNG state")?)?;
        trainer.kl = serde_json::from_value::<f64>(saved["beta"].clone())
            .ok()
            .map(|beta| match trainer.kl.clone() {
                KlController::Fixed(_) => KlController::Fixed(beta),
                KlController::Adaptive(mut c) => {
                    c.beta = beta;
                    KlController::Adaptive(c)
                }
            })
            .ok_or("--resume: the checkpoint has no β")?;
        eprintln!("resuming {} from iteration {start}", args.out.display());
    }
    let mut log = RlLog::open(&args.out, !resuming)?;
    eprintln!(
        "ppo: policy {} + critic {} parameters, {} prompts, {} answers per iteration, {} thread(s)",
        trainer.ac.policy.num_parameters(),
        trainer.ac.critic.num_parameters(),
        pool.len(),
        args.batch_size,
        rayon::current_num_threads()
    );
    let save = |trainer: &PpoTrainer, done: u64, rng: &Rng| -> Result<(), RunError> {
        let state = TrainState {
            step: done,
            rng_state: Some(rng.state()),
            config: json!({
                "stage": "ppo",
                "model": model_json,
                "policy": policy_dir.display().to_string(),
                "reward": reward_dir.display().to_string(),
                "ppo": config,
                "beta": trainer.kl.beta(),
                "seed": args.run.seed,
            }),
        };
        save_checkpoint(args.out.join("checkpoint"), &trainer.ac, &trainer.opt, &state)?;
        let model_dir = args.out.join("model");
        save_hf_dir(&trainer.ac.policy, &model_dir)?;
        save_tokenizer_to_dir(&tok, &model_dir)?;
        save_reward_dir(&trainer.ac.critic, args.out.join("critic"))?;
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
            "iteration {iteration}: reward {:.3} ± {:.3}, KL {:.2}, entropy {:.3}, clip {:.3}, approx KL {:.4}, value loss {:.3}, EV {:.2}, length {:.1}, ended {:.0}%",
            s.reward_mean,
            s.reward_std,
            s.kl,
            s.entropy,
            s.clip_fraction.unwrap_or(f32::NAN),
            s.approx_kl.unwrap_or(f32::NAN),
            s.value_loss.unwrap_or(f32::NAN),
            s.explained_variance.unwrap_or(f32::NAN),
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
    if start >= args.iterations {
        eprintln!("ppo: the checkpoint is already at iteration {start} of {}", args.iterations);
    }
    let all = read_stats(&args.out.join("metrics.jsonl"))?;
    let summary = RlSummary::from_stats("ppo", &all, run_count, args.batch_size, wall.elapsed().as_secs_f64(), interrupted);
    summary.finish(&args.out, &all, "PPO with a KL penalty")?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
