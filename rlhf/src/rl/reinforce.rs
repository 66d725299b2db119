//! REINFORCE on whole answers (Williams 1992), the plain policy-gradient baseline PPO has to beat:
//!
//! ```text
//! L = −(1/B)·Σ_b (R_b − b)·Σ_t m_{bt}·log π(a_{bt})
//! ∇L = −(1/B)·Σ_b (R_b − b)·∇ log π(answer_b)
//! ```
//!
//! where `R_b` is the answer's reward and `b` a baseline that does not depend on the current batch (so the
//! estimate stays unbiased while its variance drops). The baseline here is a running mean of past rewards,
//! either exponential (`b ← α·b + (1 − α)·mean(R_batch)`, initialised at the first batch's mean, not at 0)
//! or cumulative (the mean of every reward seen so far). Use it in that order: compute the loss with
//! [`RunningBaseline::value`], then [`RunningBaseline::update`] with the batch's rewards.
use autograd::Var;
use engine::{Error, Result, Tensor};

use super::logprobs::masked_row_sum;
use super::shape_2d;

/// The REINFORCE loss from the per-token `logp [B, T]` (differentiable), the response `mask [B, T]`, one
/// reward per answer and the baseline.
///
/// ```
/// use autograd::Var;
/// use engine::Tensor;
/// use rlhf::rl::reinforce::reinforce_loss;
/// let logp = Var::leaf(Tensor::from_vec(vec![-1.0f32, -2.0], &[1, 2])?);
/// let mask = Tensor::ones(&[1, 2], engine::DType::F32)?;
/// let loss = reinforce_loss(&logp, &mask, &[3.0], 1.0)?; // −(3 − 1)·(−3)
/// assert_eq!(loss.item()?, 6.0);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn reinforce_loss(logp: &Var, mask: &Tensor, rewards: &[f32], baseline: f32) -> Result<Var> {
    const OP: &str = "reinforce_loss";
    let (b, _) = shape_2d(OP, "logp", logp.tensor())?;
    if rewards.len() != b || b == 0 {
        return Err(Error::op(OP, format!("{b} answers but {} rewards", rewards.len())));
    }
    let weights: Vec<f32> = rewards.iter().map(|r| r - baseline).collect();
    let answer_logp = masked_row_sum(logp, mask)?;
    answer_logp.mul(&Var::constant(Tensor::from_vec(weights, &[b])?))?.sum_all()?.div_scalar(b as f32)?.neg()
}

/// How [`RunningBaseline`] averages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BaselineKind {
    /// `b ← decay·b + (1 − decay)·mean(R_batch)`; the first batch sets `b` to its mean.
    Exponential {
        /// The weight of the past, in `[0, 1)`.
        decay: f64,
    },
    /// The mean of every reward seen.
    Cumulative,
}

/// A running mean of rewards, the baseline of [`reinforce_loss`].
#[derive(Clone, Debug, PartialEq)]
pub struct RunningBaseline {
    /// How it averages.
    pub kind: BaselineKind,
    /// The current baseline (0 before any update).
    pub value: f64,
    /// How many rewards it has seen.
    pub count: u64,
}

impl RunningBaseline {
    /// A baseline of kind `kind` at 0, having seen nothing.
    pub fn new(kind: BaselineKind) -> RunningBaseline {
        RunningBaseline { kind, value: 0.0, count: 0 }
    }

    /// The current baseline.
    pub fn value(&self) -> f32 {
        self.value as f32
    }

    /// Folds in a batch of rewards (nothing happens for an empty batch); returns the new baseline.
    ///
    /// ```
    /// use rlhf::rl::reinforce::{BaselineKind, RunningBaseline};
    /// let mut b = RunningBaseline::new(BaselineKind::Cumulative);
    /// b.update(&[1.0, 3.0]);
    /// assert_eq!(b.update(&[8.0]), 4.0);
    /// ```
    pub fn update(&mut self, rewards: &[f32]) -> f32 {
        if rewards.is_empty() {
            return self.value();
        }
        let n = rewards.len() as f64;
        let batch_mean = rewards.iter().map(|&r| r as f64).sum::<f64>() / n;
        self.value = match self.kind {
            _ if self.count == 0 => batch_mean,
            BaselineKind::Exponential { decay } => decay * self.value + (1.0 - decay) * batch_mean,
            BaselineKind::Cumulative => (self.value * self.count as f64 + batch_mean * n) / (self.count as f64 + n),
        };
        self.count += rewards.len() as u64;
        self.value()
    }
}
