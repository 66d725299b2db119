//! What PPO and policy gradient log each iteration: one [`RlStats`] per line of the run folder's
//! `metrics.jsonl` (`"kind": "rl"`), the series the charts draw, and the summary figures.
use serde::{Deserialize, Serialize};

/// One iteration's numbers. PPO-only fields are `None` for policy gradient and vice versa.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RlStats {
    /// The iteration (1-based).
    pub iteration: u64,
    /// Mean reward-model score of the rollouts (before the KL penalty and the no-end penalty).
    pub reward_mean: f32,
    /// Its standard deviation.
    pub reward_std: f32,
    /// KL(π ‖ π_ref) per answer (sum over the answer's tokens of `log π − log π_ref`, averaged over answers).
    pub kl: f32,
    /// The same per answer token.
    pub kl_per_token: f32,
    /// Mean per-token entropy of the policy on its answers.
    pub entropy: f32,
    /// Mean answer length in tokens (`<|end|>` included).
    pub answer_len: f32,
    /// Share of answers that ended with `<|end|>`.
    pub finished_fraction: f32,
    /// β used this iteration.
    pub beta: f32,
    /// β after the controller's update.
    pub next_beta: f32,
    /// Mean policy loss over the minibatches.
    pub policy_loss: Option<f32>,
    /// Mean (clipped) value loss (PPO).
    pub value_loss: Option<f32>,
    /// Mean share of answer tokens whose ratio left [1 − ε, 1 + ε] (PPO).
    pub clip_fraction: Option<f32>,
    /// Mean approximate KL(π_old ‖ π_θ) over the minibatches (PPO).
    pub approx_kl: Option<f32>,
    /// The critic's explained variance of the returns, before the update (PPO).
    pub explained_variance: Option<f32>,
    /// Mean pretraining loss (PPO-ptx).
    pub ptx_loss: Option<f32>,
    /// Optimizer steps taken this iteration.
    pub minibatches: u64,
    /// True when the approximate-KL bound stopped the epochs early (PPO).
    pub stopped_early: bool,
    /// The running-mean baseline used (policy gradient).
    pub baseline: Option<f32>,
    /// Generated tokens per second of the rollouts.
    pub rollout_tokens_per_s: f64,
    /// Tokens (padded rows × length) per second through the update's forward and backward passes.
    pub update_tokens_per_s: f64,
    /// Seconds the iteration took.
    pub seconds: f64,
    /// The world checker's correct fraction over this iteration's rollouts: the gold reward that the
    /// reward model stands in for, logged to watch over-optimisation (the proxy rising while this falls).
    /// `None` when any prompt is not a built-in world prompt.
    #[serde(default)]
    pub checker_correct: Option<f32>,
    /// The checker's mean preference score (0 to 3) over the same rollouts.
    #[serde(default)]
    pub checker_score: Option<f32>,
}

/// The world checker's verdict on rollouts: `(correct fraction, mean score)`, or `None` when there are
/// none or any prompt is not a world prompt (real data has no checker).
///
/// ```
/// use rlhf::rl::stats::world_gold;
/// let rollouts = [("What is 47 plus 38?", "Sure! 47 + 38 = 85."), ("What is 47 plus 38?", "84")];
/// let (correct, score) = world_gold(rollouts.iter().map(|(p, a)| (*p, *a))).unwrap();
/// assert_eq!(correct, 0.5);
/// assert!(score > 1.0 && score < 2.0);
/// assert!(world_gold([("Tell me a joke.", "No.")].into_iter()).is_none());
/// ```
pub fn world_gold<'a>(answers: impl Iterator<Item = (&'a str, &'a str)>) -> Option<(f32, f32)> {
    let mut grades = Vec::new();
    for (prompt, answer) in answers {
        grades.push(crate::world::grade_prompt(prompt, answer)?);
    }
    if grades.is_empty() {
        return None;
    }
    let s = crate::world::summarize(&grades);
    Some((s.correct as f32, s.mean_score as f32))
}

/// A line of an RL run's `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RlRecord {
    /// One training iteration.
    Rl(RlStats),
}

/// Mean and (population) standard deviation; `(NaN, NaN)` when empty.
///
/// ```
/// let (m, s) = rlhf::rl::stats::mean_std(&[1.0, 3.0]);
/// assert_eq!((m, s), (2.0, 1.0));
/// ```
pub fn mean_std(values: &[f32]) -> (f32, f32) {
    if values.is_empty() {
        return (f32::NAN, f32::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean as f32, var.sqrt() as f32)
}
