//! One iteration of policy gradient (REINFORCE on whole answers, Williams 1992): the plain baseline PPO
//! has to beat.
//!
//! The policy answers a batch of prompts; each answer gets one reward
//!
//! ```text
//! R = score − [no <|end|>]·penalty − β·Σ_t (log π_old(a_t) − log π_ref(a_t))
//! ```
//!
//! (the same reward PPO sees, summed over the answer instead of spread over its tokens), and the loss is
//! `−(1/B)·Σ_b (R_b − baseline)·log π(answer_b)` with a running-mean baseline ([`super::reinforce`]). One
//! pass over the batch in minibatches, one optimizer step each; no critic, no ratio, no clipping: each
//! step trusts the sampled returns as they are, which is what makes the estimate noisy.
use std::time::Instant;

use autograd::nn::Module;
use autograd::optim::{clip_grad_norm, AdamW, Optimizer};
use engine::rng::Rng;
use engine::Result;
use models::gpt::Gpt;
use serde::{Deserialize, Serialize};

use crate::data::ChatTokenizer;
use crate::sample::SampleOptions;

use super::kl::{masked_kl, per_token_kl, KlEstimator};
use super::kl_controller::KlController;
use super::logprobs::masked_mean_tensor;
use super::minibatch::minibatch_indices;
use super::ppo::IterationOutput;
use super::reinforce::{reinforce_loss, RunningBaseline};
use super::rollout::{collect_rollouts, policy_logprobs, score_logprobs, AnswerScorer, PaddedBatch, Rollout};
use super::stats::{mean_std, world_gold, RlStats};

/// Policy-gradient settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PgConfig {
    /// Prompts (answers) per iteration.
    pub batch_size: usize,
    /// Rows per optimizer step (one pass over the batch).
    pub minibatch_size: usize,
    /// Subtracted from the score of an answer that never produced `<|end|>`.
    pub missing_eos_penalty: f32,
    /// Global gradient-norm clip (0: none).
    pub grad_clip: f32,
    /// Rollout sampling: length limit.
    pub max_new_tokens: usize,
    /// Rollout sampling: temperature.
    pub temperature: f32,
    /// Rollouts generated per KV-cache batch.
    pub generation_batch: usize,
}

impl Default for PgConfig {
    fn default() -> Self {
        PgConfig { batch_size: 64, minibatch_size: 16, missing_eos_penalty: 1.0, grad_clip: 1.0, max_new_tokens: 64, temperature: 1.0, generation_batch: 64 }
    }
}

/// The models and state of a policy-gradient run.
pub struct PgTrainer<'a> {
    /// The policy (trained).
    pub policy: Gpt,
    /// The frozen SFT model (for the KL term; β = 0 skips nothing but weighs it 0).
    pub reference: Gpt,
    /// The reward model (or a stand-in in tests).
    pub scorer: &'a dyn AnswerScorer,
    /// The chat tokenizer.
    pub tok: ChatTokenizer,
    /// AdamW over the policy.
    pub opt: AdamW,
    /// β of the KL term (fixed or adaptive).
    pub kl: KlController,
    /// The running-mean baseline.
    pub baseline: RunningBaseline,
    /// The settings.
    pub config: PgConfig,
}

impl PgTrainer<'_> {
    /// Runs iteration `iteration` (1-based) on `prompts`; `rng` draws the rollout seed and the minibatch
    /// order (same state, same iteration).
    pub fn iteration(&mut self, iteration: u64, prompts: &[(String, Vec<u32>)], rng: &mut Rng) -> Result<IterationOutput> {
        let c = self.config.clone();
        let wall = Instant::now();
        let sample = SampleOptions {
            max_new_tokens: c.max_new_tokens,
            temperature: c.temperature,
            top_k: None,
            top_p: None,
            batch_size: c.generation_batch,
            seed: rng.next_u64(),
        };
        let (rollouts, rollout_tps) = collect_rollouts(&self.policy, &self.tok, prompts, &sample)?;
        let rows: Vec<&Rollout> = rollouts.iter().collect();
        let batch = PaddedBatch::of(&rows, self.tok.pad_id())?;
        let (logp_old, entropy) = score_logprobs(&self.policy, &batch)?;
        let (logp_ref, _) = score_logprobs(&self.reference, &batch)?;
        let scores = self.scorer.score(&batch, &rows)?;
        let beta = self.kl.beta() as f32;
        let kl_rows: Vec<f32> = batch
            .answer_values(&per_token_kl(&logp_old, &logp_ref, KlEstimator::K1)?)?
            .iter()
            .map(|v| v.iter().sum())
            .collect();
        let returns: Vec<f32> = rollouts
            .iter()
            .zip(&scores)
            .zip(&kl_rows)
            .map(|((r, &s), &k)| s - if r.finished { 0.0 } else { c.missing_eos_penalty } - beta * k)
            .collect();
        let baseline = self.baseline.value();
        let baseline = if self.baseline.count == 0 { mean_std(&returns).0 } else { baseline };

        let update_started = Instant::now();
        let params = self.policy.parameters();
        let (mut losses, mut update_tokens) = (Vec::new(), 0usize);
        let order = minibatch_indices(rows.len(), c.minibatch_size.max(1), 1, rng.next_u64())?;
        for idx in &order[0] {
            let mb_rows: Vec<&Rollout> = idx.iter().map(|&i| rows[i]).collect();
            let mb = PaddedBatch::of(&mb_rows, self.tok.pad_id())?;
            let mb_returns: Vec<f32> = idx.iter().map(|&i| returns[i]).collect();
            self.opt.zero_grad();
            let logp = policy_logprobs(&self.policy, &mb)?;
            let loss = reinforce_loss(&logp, &mb.mask, &mb_returns, baseline)?;
            loss.backward()?;
            if c.grad_clip > 0.0 {
                clip_grad_norm(&params, c.grad_clip)?;
            }
            self.opt.step()?;
            losses.push(loss.item()?);
            update_tokens += mb.ids.numel();
        }
        let update_seconds = update_started.elapsed().as_secs_f64().max(1e-9);
        self.baseline.update(&returns);
        let kl = masked_kl(&logp_old, &logp_ref, &batch.mask, KlEstimator::K1)?;
        let new_beta = self.kl.update(kl.per_sequence as f64, rows.len());

        let (score_mean, score_std) = mean_std(&scores);
        let lengths: Vec<f32> = rollouts.iter().map(|r| r.answer_ids.len() as f32).collect();
        let finished = rollouts.iter().filter(|r| r.finished).count() as f32 / rollouts.len().max(1) as f32;
        let gold = world_gold(rollouts.iter().map(|r| (r.prompt.as_str(), r.text.as_str())));
        let stats = RlStats {
            iteration,
            reward_mean: score_mean,
            reward_std: score_std,
            kl: kl.per_sequence,
            kl_per_token: kl.per_token,
            entropy: masked_mean_tensor(&entropy, &batch.mask)?,
            answer_len: mean_std(&lengths).0,
            finished_fraction: finished,
            beta,
            next_beta: new_beta as f32,
            policy_loss: Some(mean_std(&losses).0),
            value_loss: None,
            clip_fraction: None,
            approx_kl: None,
            explained_variance: None,
            ptx_loss: None,
            minibatches: losses.len() as u64,
            stopped_early: false,
            baseline: Some(baseline),
            rollout_tokens_per_s: rollout_tps,
            update_tokens_per_s: update_tokens as f64 / update_seconds,
            seconds: wall.elapsed().as_secs_f64(),
            checker_correct: gold.map(|g| g.0),
            checker_score: gold.map(|g| g.1),
        };
        Ok(IterationOutput { stats, rollouts })
    }
}
