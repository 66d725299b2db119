//! One PPO iteration with a KL penalty (Ouyang et al. 2022; Ziegler et al. 2019; Schulman et al. 2017):
//!
//! 1. **Rollout**: the policy answers a batch of prompts (KV cache, batched, sampling); the answers are laid
//!    out as one right-padded batch ([`super::rollout`]).
//! 2. **Score**: `log π_old` (the policy), `log π_ref` (the frozen SFT model), the critic's values and the
//!    reward model's score, each one forward pass without a graph.
//! 3. **Rewards and advantages**: `r_t = −β·(log π_old − log π_ref)` on every answer token plus the score
//!    (less the no-`<|end|>` penalty, optionally clipped) on the last ([`super::rewards`]); GAE with γ, λ
//!    ([`super::gae`]); advantages whitened over the batch.
//! 4. **Update**: `epochs` passes over seeded minibatches of rows; each minibatch minimises the clipped
//!    surrogate + `c_v`·clipped value loss (+ `γ_ptx`·the pretraining loss on a batch of world text: PPO-ptx);
//!    the remaining passes stop once the minibatch's approximate KL to `π_old` exceeds the bound.
//! 5. **β**: the KL controller sees the batch's KL per answer.
//!
//! Dropout is off throughout (every forward here is the evaluation forward), so `log π_old` is exactly the
//! first minibatch's `log π_θ` and the ratio starts at 1.
use std::time::Instant;

use autograd::nn::{join_name, Module};
use autograd::optim::{clip_grad_norm, AdamW, Optimizer};
use autograd::Parameter;
use engine::rng::Rng;
use engine::{Result, Tensor};
use models::gpt::Gpt;
use serde::{Deserialize, Serialize};

use crate::data::ChatTokenizer;
use crate::reward::GptRewardModel;
use crate::sample::SampleOptions;

use super::gae::{gae, whiten, GaeOptions};
use super::kl::{masked_kl, KlEstimator};
use super::kl_controller::KlController;
use super::logprobs::masked_mean_tensor;
use super::minibatch::{minibatch_indices, KlEarlyStop};
use super::ppo_loss::{explained_variance, policy_loss, total_loss, value_loss, PpoOptions};
use super::ptx::PtxData;
use super::rewards::{per_token_rewards, RewardOptions};
use super::rollout::{collect_rollouts, critic_values, policy_logprobs, score_logprobs, AnswerScorer, PaddedBatch, Rollout};
use super::stats::{mean_std, world_gold, RlStats};

/// The policy and the critic: what PPO trains, as one module so one optimizer and one checkpoint hold
/// both (parameters `policy.transformer.*` and `critic.trunk.*`, `critic.score.*`).
pub struct ActorCritic {
    /// The language model being tuned.
    pub policy: Gpt,
    /// The value model: a reward-model-shaped GPT read at every token.
    pub critic: GptRewardModel,
}

impl Module for ActorCritic {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.policy.visit_parameters(&join_name(prefix, "policy"), f);
        self.critic.visit_parameters(&join_name(prefix, "critic"), f);
    }
}

/// PPO's settings (defaults: what the pipeline uses on the built-in world).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    /// Prompts (answers) per rollout batch.
    pub batch_size: usize,
    /// Rows per minibatch.
    pub minibatch_size: usize,
    /// Passes over each rollout batch.
    pub epochs: usize,
    /// Clip ε of the surrogate.
    pub clip_eps: f32,
    /// Clip of the value change.
    pub value_clip_eps: f32,
    /// Weight of the value loss.
    pub value_coef: f32,
    /// Weight of the entropy bonus (0: none, as InstructGPT).
    pub entropy_coef: f32,
    /// GAE γ.
    pub gamma: f32,
    /// GAE λ.
    pub lambda: f32,
    /// Whiten the advantages over the batch.
    pub whiten_advantages: bool,
    /// Subtracted from the score of an answer that never produced `<|end|>`.
    pub missing_eos_penalty: f32,
    /// Clip the (penalised) score to ±this (None: no clipping).
    pub score_clip: Option<f32>,
    /// Stop the epochs once a minibatch's approximate KL to the rollout policy exceeds this.
    pub max_approx_kl: Option<f32>,
    /// Global gradient-norm clip (0: none).
    pub grad_clip: f32,
    /// PPO-ptx: weight of the pretraining loss (0: plain PPO).
    pub ptx_coef: f32,
    /// Sequences of world text per minibatch for PPO-ptx.
    pub ptx_batch: usize,
    /// Rollout sampling: length limit.
    pub max_new_tokens: usize,
    /// Rollout sampling: temperature.
    pub temperature: f32,
    /// Rollouts generated per KV-cache batch.
    pub generation_batch: usize,
    /// Pay the reward model's answer-likelihood feature token by token instead of in the final score
    /// ([`super::rewards::Rewards::add_per_token`]); nothing changes for a reward model without it.
    #[serde(default)]
    pub per_token_feature: bool,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            batch_size: 64,
            minibatch_size: 16,
            epochs: 4,
            clip_eps: 0.2,
            value_clip_eps: 0.2,
            value_coef: 0.1,
            entropy_coef: 0.0,
            gamma: 1.0,
            lambda: 0.95,
            whiten_advantages: true,
            missing_eos_penalty: 1.0,
            score_clip: None,
            max_approx_kl: Some(0.05),
            grad_clip: 1.0,
            ptx_coef: 0.0,
            ptx_batch: 4,
            max_new_tokens: 64,
            temperature: 1.0,
            generation_batch: 64,
            per_token_feature: false,
        }
    }
}

/// The models and state of a PPO run.
pub struct PpoTrainer<'a> {
    /// Policy and critic (trained).
    pub ac: ActorCritic,
    /// The frozen SFT model.
    pub reference: Gpt,
    /// The reward model (or a stand-in in tests).
    pub scorer: &'a dyn AnswerScorer,
    /// The chat tokenizer.
    pub tok: ChatTokenizer,
    /// AdamW over `ac`.
    pub opt: AdamW,
    /// β.
    pub kl: KlController,
    /// The settings.
    pub config: PpoConfig,
    /// World text for PPO-ptx.
    pub ptx: Option<PtxData>,
}

/// What one iteration produced: the statistics and the rollouts (for logging samples).
pub struct IterationOutput {
    /// The numbers logged to `metrics.jsonl`.
    pub stats: RlStats,
    /// The answers of this iteration.
    pub rollouts: Vec<Rollout>,
}

impl PpoTrainer<'_> {
    /// Runs iteration `iteration` (1-based) on `prompts` (text and rendered ids). `rng` draws the
    /// rollout seed, the minibatch order and the PPO-ptx windows; with the same state it gives the same
    /// iteration, which is what exact resume relies on.
    pub fn iteration(&mut self, iteration: u64, prompts: &[(String, Vec<u32>)], rng: &mut Rng) -> Result<IterationOutput> {
        let c = self.config.clone();
        let wall = Instant::now();
        // 1. Rollouts.
        let sample = SampleOptions {
            max_new_tokens: c.max_new_tokens,
            temperature: c.temperature,
            top_k: None,
            top_p: None,
            batch_size: c.generation_batch,
            seed: rng.next_u64(),
        };
        let (rollouts, rollout_tps) = collect_rollouts(&self.ac.policy, &self.tok, prompts, &sample)?;
        let rows: Vec<&Rollout> = rollouts.iter().collect();
        let batch = PaddedBatch::of(&rows, self.tok.pad_id())?;

        // 2. Score with every model, no graph.
        let (logp_old, entropy) = score_logprobs(&self.ac.policy, &batch)?;
        let (logp_ref, _) = score_logprobs(&self.reference, &batch)?;
        let values_old = {
            let _guard = autograd::no_grad();
            critic_values(&self.ac.critic, &batch)?.into_tensor()
        };
        // The reward model's score: read once per answer, or (the likelihood feature) partly per token.
        let (head_scores, per_token) =
            if c.per_token_feature { self.scorer.score_per_token(&batch, &rows)? } else { (self.scorer.score(&batch, &rows)?, None) };
        let raw_scores: Vec<f32> = match &per_token {
            None => head_scores.clone(),
            Some(p) => {
                let row_sums = p.sum(&[-1], false)?.to_vec_f32()?;
                head_scores.iter().zip(&row_sums).map(|(h, s)| h + s).collect()
            }
        };

        // 3. Rewards, GAE, whitening.
        let beta = self.kl.beta() as f32;
        let ended: Vec<bool> = rollouts.iter().map(|r| r.finished).collect();
        let reward_options =
            RewardOptions { kl_beta: beta, missing_eos_penalty: Some(c.missing_eos_penalty), score_clip: c.score_clip };
        let mut rewards = per_token_rewards(&head_scores, &logp_old, &logp_ref, &batch.mask, &ended, &reward_options)?;
        if let Some(p) = &per_token {
            rewards = rewards.add_per_token(p, &batch.mask)?;
        }
        let gae_out = gae(&rewards.rewards, &values_old, &batch.mask, &GaeOptions { gamma: c.gamma, lambda: c.lambda })?;
        let advantages =
            if c.whiten_advantages { whiten(&gae_out.advantages, &batch.mask, true)? } else { gae_out.advantages.clone() };
        let kl = masked_kl(&logp_old, &logp_ref, &batch.mask, KlEstimator::K1)?;
        let explained = explained_variance(&values_old, &gae_out.returns, &batch.mask)?;

        // Per-row answer vectors, so any subset of rows can be re-padded as a minibatch.
        let per_row = |t: &Tensor| batch.answer_values(t);
        let (lp_rows, v_rows, adv_rows, ret_rows) =
            (per_row(&logp_old)?, per_row(&values_old)?, per_row(&advantages)?, per_row(&gae_out.returns)?);

        // 4. Epochs over minibatches.
        let update_started = Instant::now();
        let ppo = PpoOptions { clip_eps: c.clip_eps, value_clip_eps: c.value_clip_eps, value_coef: c.value_coef, entropy_coef: c.entropy_coef };
        let stop = KlEarlyStop { max_approx_kl: c.max_approx_kl };
        let schedule = minibatch_indices(rows.len(), c.minibatch_size.max(1), c.epochs, rng.next_u64())?;
        let params = self.ac.parameters();
        let (mut clip_fracs, mut approx_kls, mut value_losses, mut policy_losses, mut ptx_losses) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut update_tokens, mut minibatches, mut stopped_early) = (0usize, 0usize, false);
        'epochs: for epoch in &schedule {
            for idx in epoch {
                let mb_rows: Vec<&Rollout> = idx.iter().map(|&i| rows[i]).collect();
                let mb = PaddedBatch::of(&mb_rows, self.tok.pad_id())?;
                let pick = |v: &[Vec<f32>]| -> Vec<Vec<f32>> { idx.iter().map(|&i| v[i].clone()).collect() };
                let (mb_lp_old, mb_v_old) = (mb.spread(&pick(&lp_rows))?, mb.spread(&pick(&v_rows))?);
                let (mb_adv, mb_ret) = (mb.spread(&pick(&adv_rows))?, mb.spread(&pick(&ret_rows))?);

                self.opt.zero_grad();
                let logp = policy_logprobs(&self.ac.policy, &mb)?;
                let pl = policy_loss(&logp, &mb_lp_old, &mb_adv, &mb.mask, c.clip_eps)?;
                let values = critic_values(&self.ac.critic, &mb)?;
                let vl = value_loss(&values, &mb_v_old, &mb_ret, &mb.mask, c.value_clip_eps)?;
                let mut loss = total_loss(&pl.loss, &vl.loss, None, &ppo)?;
                if let (Some(ptx), true) = (&self.ptx, c.ptx_coef > 0.0) {
                    let lm = ptx.loss(&self.ac.policy, c.ptx_batch, rng)?;
                    ptx_losses.push(lm.item()?);
                    loss = loss.add(&lm.mul_scalar(c.ptx_coef)?)?;
                }
                loss.backward()?;
                if c.grad_clip > 0.0 {
                    clip_grad_norm(&params, c.grad_clip)?;
                }
                self.opt.step()?;
                clip_fracs.push(pl.clip_fraction);
                approx_kls.push(pl.approx_kl);
                value_losses.push(vl.loss.item()?);
                policy_losses.push(pl.loss.item()?);
                update_tokens += mb.ids.numel();
                minibatches += 1;
                if stop.should_stop(pl.approx_kl) {
                    stopped_early = true;
                    break 'epochs;
                }
            }
        }
        let update_seconds = update_started.elapsed().as_secs_f64().max(1e-9);

        // 5. β.
        let new_beta = self.kl.update(kl.per_sequence as f64, rows.len());

        let mean = |v: &[f32]| if v.is_empty() { f32::NAN } else { v.iter().sum::<f32>() / v.len() as f32 };
        let (score_mean, score_std) = mean_std(&raw_scores);
        let lengths: Vec<f32> = rollouts.iter().map(|r| r.answer_ids.len() as f32).collect();
        let gold = world_gold(rollouts.iter().map(|r| (r.prompt.as_str(), r.text.as_str())));
        let stats = RlStats {
            iteration,
            reward_mean: score_mean,
            reward_std: score_std,
            kl: kl.per_sequence,
            kl_per_token: kl.per_token,
            entropy: masked_mean_tensor(&entropy, &batch.mask)?,
            answer_len: mean(&lengths),
            finished_fraction: ended.iter().filter(|&&e| e).count() as f32 / ended.len().max(1) as f32,
            beta,
            next_beta: new_beta as f32,
            policy_loss: Some(mean(&policy_losses)),
            value_loss: Some(mean(&value_losses)),
            clip_fraction: Some(mean(&clip_fracs)),
            approx_kl: Some(mean(&approx_kls)),
            explained_variance: Some(explained),
            ptx_loss: if ptx_losses.is_empty() { None } else { Some(mean(&ptx_losses)) },
            minibatches: minibatches as u64,
            stopped_early,
            baseline: None,
            rollout_tokens_per_s: rollout_tps,
            update_tokens_per_s: update_tokens as f64 / update_seconds,
            seconds: wall.elapsed().as_secs_f64(),
            checker_correct: gold.map(|g| g.0),
            checker_score: gold.map(|g| g.1),
        };
        Ok(IterationOutput { stats, rollouts })
    }
}

/// Draws `n` prompts from `pool` (with replacement) with `rng`.
pub fn draw_prompts(pool: &[(String, Vec<u32>)], n: usize, rng: &mut Rng) -> Result<Vec<(String, Vec<u32>)>> {
    (0..n).map(|_| Ok(pool[rng.gen_range(pool.len())?].clone())).collect()
}
