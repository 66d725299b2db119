//! Rollouts: the policy answers a batch of prompts (inference mode, KV cache, batched: [`crate::sample`]),
//! then the sampled tokens are laid out as one right-padded batch that every model scores in a single
//! forward pass each: the policy (`log π_old`), the frozen reference (`log π_ref`), the critic (values) and
//! the reward model (one score per answer, read at the answer's last token).
//!
//! Layout of a [`PaddedBatch`] of `B` rows, `L` = the longest prompt + answer:
//!
//! ```text
//! ids     [B, L]      prompt ++ answer ++ pad…            (right padding: causal attention never looks
//! targets [B, L-1]    ids[:, 1:]                            at a later pad, so no position shifts)
//! mask    [B, L-1]    1 where targets[b, t] is an answer token (its <|end|> included), else 0
//! ```
//!
//! Per-token quantities (`[B, L-1]`, aligned with `targets`) are kept per row as vectors over the answer
//! only ([`PaddedBatch::answer_values`]), so a minibatch of any rows can be re-padded on its own
//! ([`PaddedBatch::of`] + [`PaddedBatch::spread`]).
use std::time::Instant;

use autograd::{no_grad, Var};
use engine::{DType, Error, Result, Tensor};
use models::gpt::Gpt;

use crate::data::ChatTokenizer;
use crate::reward::GptRewardModel;
use crate::sample::{answer_ids, SampleOptions};

use super::logprobs::{token_entropy_tensor, token_logprobs, token_logprobs_tensor};

/// A prompt's text (its last user turn) and its rendered ids ending in `<|assistant|>`.
pub type RenderedPrompt = (String, Vec<u32>);

/// One prompt and the policy's answer to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    /// The prompt's text (the user turn), for scorers that read text.
    pub prompt: String,
    /// The rendered prompt, ending in `<|assistant|>`.
    pub prompt_ids: Vec<u32>,
    /// The answer's tokens (ending in `<|end|>` when it finished).
    pub answer_ids: Vec<u32>,
    /// The answer's text, without `<|end|>`.
    pub text: String,
    /// Whether the answer ended with `<|end|>`.
    pub finished: bool,
}

/// Samples one answer per prompt. `prompts` pairs each prompt's text with its rendered ids. Returns the
/// rollouts and the generation throughput in new tokens per second.
pub fn collect_rollouts(
    policy: &Gpt,
    tok: &ChatTokenizer,
    prompts: &[(String, Vec<u32>)],
    options: &SampleOptions,
) -> Result<(Vec<Rollout>, f64)> {
    let started = Instant::now();
    let ids: Vec<Vec<u32>> = prompts.iter().map(|(_, ids)| ids.clone()).collect();
    let answers = answer_ids(policy, tok, &ids, options)?;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let tokens: usize = answers.iter().map(|a| a.answer_ids.len()).sum();
    let rollouts = prompts
        .iter()
        .zip(answers)
        .map(|((text, _), a)| Rollout {
            prompt: text.clone(),
            prompt_ids: a.prompt_ids,
            answer_ids: a.answer_ids,
            text: a.text,
            finished: a.finished,
        })
        .collect();
    Ok((rollouts, tokens as f64 / seconds))
}

/// Rollouts laid out as one right-padded batch (see the module docs).
#[derive(Clone, Debug)]
pub struct PaddedBatch {
    /// `[B, L]` I64: prompt, answer, then `pad_id`.
    pub ids: Tensor,
    /// `[B, L]` U8: 1 on real tokens.
    pub attention: Tensor,
    /// `[B, L-1]` I64: `ids[:, 1:]`.
    pub targets: Tensor,
    /// `[B, L-1]` F32: 1 where the target is an answer token.
    pub mask: Tensor,
    /// `[B]` I64: the column of each row's last real token (where the reward model reads its score).
    pub last_index: Tensor,
    /// Per row, the first column of `targets` that is an answer token (prompt length − 1).
    pub answer_start: Vec<usize>,
    /// Per row, the number of answer tokens.
    pub answer_len: Vec<usize>,
}

impl PaddedBatch {
    /// Pads `rows` (each a prompt and a non-empty answer) to the longest.
    ///
    /// ```
    /// use rlhf::rl::rollout::{PaddedBatch, Rollout};
    /// let row = |p: Vec<u32>, a: Vec<u32>| Rollout { prompt: String::new(), prompt_ids: p, answer_ids: a, text: String::new(), finished: true };
    /// let rows = [row(vec![1, 2], vec![3, 4]), row(vec![5], vec![6])];
    /// let b = PaddedBatch::of(&rows.iter().collect::<Vec<_>>(), 0)?;
    /// assert_eq!(b.ids.to_vec::<i64>()?, vec![1, 2, 3, 4, 5, 6, 0, 0]);
    /// assert_eq!(b.mask.to_vec::<f32>()?, vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    /// assert_eq!(b.last_index.to_vec::<i64>()?, vec![3, 1]);
    /// let per_row = b.answer_values(&b.mask)?;
    /// assert_eq!(per_row, vec![vec![1.0, 1.0], vec![1.0]]);
    /// assert_eq!(b.spread(&per_row)?.to_vec::<f32>()?, b.mask.to_vec::<f32>()?);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn of(rows: &[&Rollout], pad_id: u32) -> Result<PaddedBatch> {
        const OP: &str = "PaddedBatch::of";
        if rows.is_empty() {
            return Err(Error::op(OP, "no rows"));
        }
        if let Some(i) = rows.iter().position(|r| r.prompt_ids.is_empty() || r.answer_ids.is_empty()) {
            return Err(Error::op(OP, format!("row {i} has an empty prompt or answer")));
        }
        let b = rows.len();
        let l = rows.iter().map(|r| r.prompt_ids.len() + r.answer_ids.len()).max().unwrap_or(0);
        let mut ids = vec![pad_id as i64; b * l];
        let mut attention = vec![0u8; b * l];
        let mut mask = vec![0.0f32; b * (l - 1)];
        let mut last = Vec::with_capacity(b);
        let (mut answer_start, mut answer_len) = (Vec::with_capacity(b), Vec::with_capacity(b));
        for (i, r) in rows.iter().enumerate() {
            let (p, a) = (r.prompt_ids.len(), r.answer_ids.len());
            for (j, &t) in r.prompt_ids.iter().chain(&r.answer_ids).enumerate() {
                ids[i * l + j] = t as i64;
                attention[i * l + j] = 1;
            }
            // targets[t] = ids[t + 1]: the answer's tokens are targets p-1 ..= p+a-2.
            for j in p - 1..p + a - 1 {
                mask[i * (l - 1) + j] = 1.0;
            }
            last.push((p + a - 1) as i64);
            answer_start.push(p - 1);
            answer_len.push(a);
        }
        let ids = Tensor::from_vec(ids, &[b, l])?;
        let targets = ids.narrow(1, 1, l - 1)?.contiguous()?;
        Ok(PaddedBatch {
            ids,
            attention: Tensor::from_vec(attention, &[b, l])?,
            targets,
            mask: Tensor::from_vec(mask, &[b, l - 1])?,
            last_index: Tensor::from_vec(last, &[b])?,
            answer_start,
            answer_len,
        })
    }

    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.answer_start.len()
    }

    /// Total answer tokens.
    pub fn answer_tokens(&self) -> usize {
        self.answer_len.iter().sum()
    }

    /// The answer part of each row of a `[B, L-1]` tensor.
    pub fn answer_values(&self, t: &Tensor) -> Result<Vec<Vec<f32>>> {
        let (b, width) = (self.rows(), self.mask.shape()[1]);
        if t.shape() != [b, width] {
            return Err(Error::op("PaddedBatch::answer_values", format!("tensor is {:?} but the batch is [{b}, {width}]", t.shape())));
        }
        let v = t.to_dtype(DType::F32)?.contiguous()?.to_vec::<f32>()?;
        Ok((0..b).map(|i| v[i * width + self.answer_start[i]..i * width + self.answer_start[i] + self.answer_len[i]].to_vec()).collect())
    }

    /// The inverse of [`PaddedBatch::answer_values`]: per-row answer vectors laid out as `[B, L-1]`, 0 off
    /// the answers.
    pub fn spread(&self, per_row: &[Vec<f32>]) -> Result<Tensor> {
        let (b, width) = (self.rows(), self.mask.shape()[1]);
        if per_row.len() != b || per_row.iter().zip(&self.answer_len).any(|(v, &n)| v.len() != n) {
            return Err(Error::op("PaddedBatch::spread", "the per-row vectors do not match the answers' lengths"));
        }
        let mut out = vec![0.0f32; b * width];
        for (i, v) in per_row.iter().enumerate() {
            out[i * width + self.answer_start[i]..i * width + self.answer_start[i] + v.len()].copy_from_slice(v);
        }
        Tensor::from_vec(out, &[b, width])
    }
}

/// The policy's logits for the batch's targets, `[B, L-1, V]` (differentiable).
pub fn target_logits(model: &Gpt, batch: &PaddedBatch) -> Result<Var> {
    let l = batch.ids.shape()[1];
    model.forward_padded(&batch.ids, None, None)?.narrow(1, 0, l - 1)
}

/// `log π(targets)` under `model`, `[B, L-1]` (differentiable; 0-masked positions are still computed).
pub fn policy_logprobs(model: &Gpt, batch: &PaddedBatch) -> Result<Var> {
    token_logprobs(&target_logits(model, batch)?, &batch.targets)
}

/// `log π(targets)` and the per-token entropy under `model`, without a graph: the rollout's `log π_old`
/// (and, with the reference model, `log π_ref`).
pub fn score_logprobs(model: &Gpt, batch: &PaddedBatch) -> Result<(Tensor, Tensor)> {
    let _guard = no_grad();
    let logits = target_logits(model, batch)?.into_tensor().contiguous()?;
    Ok((token_logprobs_tensor(&logits, &batch.targets)?, token_entropy_tensor(&logits)?))
}

/// The critic's value of each state `[B, L-1]`: column `t` reads the head at token `t`, the state from
/// which `targets[:, t]` was chosen (differentiable).
pub fn critic_values(critic: &GptRewardModel, batch: &PaddedBatch) -> Result<Var> {
    let l = batch.ids.shape()[1];
    critic.token_scores(&batch.ids, &batch.attention)?.narrow(1, 0, l - 1)
}

/// What scores a whole answer: the learned reward model in the product, a stand-in in unit tests.
pub trait AnswerScorer {
    /// One score per row of `batch` (`rollouts[i]` is row `i`).
    fn score(&self, batch: &PaddedBatch, rollouts: &[&Rollout]) -> Result<Vec<f32>>;

    /// The score split into what is read once per answer (`[B]`) and what is earned token by token
    /// (`[B, L-1]` in the layout of `batch.mask`, or `None`); the row sums of the second plus the first
    /// are [`AnswerScorer::score`]. By default everything is read once per answer.
    fn score_per_token(&self, batch: &PaddedBatch, rollouts: &[&Rollout]) -> Result<(Vec<f32>, Option<Tensor>)> {
        Ok((self.score(batch, rollouts)?, None))
    }
}

impl AnswerScorer for GptRewardModel {
    /// The reward model's scalar at each answer's last token (its `<|end|>` when it finished), plus its
    /// answer-likelihood feature when it has one.
    fn score(&self, batch: &PaddedBatch, _rollouts: &[&Rollout]) -> Result<Vec<f32>> {
        let _guard = no_grad();
        self.rewards_masked(&batch.ids, &batch.attention, &batch.last_index, Some(&batch.mask))?.into_tensor().to_vec_f32()
    }

    /// The head at the last token, and the answer-likelihood feature (when the model has it) on each
    /// answer token.
    fn score_per_token(&self, batch: &PaddedBatch, _rollouts: &[&Rollout]) -> Result<(Vec<f32>, Option<Tensor>)> {
        let _guard = no_grad();
        let (head, feature) = self.reward_parts(&batch.ids, &batch.attention, &batch.last_index, Some(&batch.mask))?;
        Ok((head.into_tensor().to_vec_f32()?, feature.map(|f| f.into_tensor())))
    }
}
