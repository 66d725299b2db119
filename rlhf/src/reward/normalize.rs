//! Reward normalisation: after training, a bias is added to every reward so that the SFT model's answers
//! score 0 on average (InstructGPT does this so PPO starts from rewards centred at 0). The ranking loss is
//! unchanged by a constant added to every reward, so the bias changes no comparison.
//!
//! The bias can be kept as a number and applied to scores ([`apply_bias`]), or folded into the reward
//! head's own bias so a saved checkpoint carries it ([`super::RewardModel::add_to_bias`]).
use engine::{Error, Result};

/// The bias `b = -mean(scores)` that makes `scores + b` average 0 (the mean is taken in f64).
///
/// ```
/// use rlhf::reward::{apply_bias, normalization_bias};
/// let sft_scores = [1.0f32, 2.0, 6.0];
/// let b = normalization_bias(&sft_scores)?;
/// assert_eq!(b, -3.0);
/// assert_eq!(apply_bias(&sft_scores, b), vec![-2.0, -1.0, 3.0]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn normalization_bias(scores: &[f32]) -> Result<f32> {
    if scores.is_empty() {
        return Err(Error::op("normalization_bias", "no scores: score some SFT answers first"));
    }
    if let Some(bad) = scores.iter().find(|s| !s.is_finite()) {
        return Err(Error::op("normalization_bias", format!("a score is not finite ({bad})")));
    }
    let mean = scores.iter().map(|&s| s as f64).sum::<f64>() / scores.len() as f64;
    Ok(-mean as f32)
}

/// `scores + bias`, element by element.
pub fn apply_bias(scores: &[f32], bias: f32) -> Vec<f32> {
    scores.iter().map(|&s| s + bias).collect()
}
