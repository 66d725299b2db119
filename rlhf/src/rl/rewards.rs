//! InstructGPT's per-token reward (Ouyang et al. 2022, eq. 2; Ziegler et al. 2019, §2.2): the reward model
//! scores the whole answer once, and the KL penalty is paid on every token, so
//!
//! ```text
//! r_t = −β·(log π(a_t) − log π_ref(a_t))                  on every response token t
//! r_T += s                                                on the last response token T of the row
//! s   = clip(score − [no EOS]·penalty, −c, c)             (penalty and clip optional)
//! ```
//!
//! A reward model whose score is partly a sum over the answer's tokens (the answer-likelihood feature,
//! `w · Σ_t log p(a_t)`) can pay that part where it is earned, `r_t += w · log p(a_t)`, with
//! [`Rewards::add_per_token`]: the return of every row is unchanged (γ = 1), but the token that made the
//! answer unlikely gets its own reward instead of sharing the end-of-answer score with all the others.
//!
//! The penalty for answers that never end (hit the length limit without an end-of-sequence token) is
//! subtracted from the score before clipping, so that clipping bounds what the optimizer finally sees.
//! Positions outside the mask get reward 0. A row with no response token gets nothing (its score is
//! dropped) and is reported as such.
use engine::{DType, Error, Result, Tensor};

use super::{mask_bools, shape_2d, values_2d};

/// Settings of [`per_token_rewards`].
#[derive(Clone, Debug, PartialEq)]
pub struct RewardOptions {
    /// β of the per-token KL penalty (InstructGPT: 0.02).
    pub kl_beta: f32,
    /// Subtracted from the score of answers that never end; `None`: no penalty.
    pub missing_eos_penalty: Option<f32>,
    /// Clip the (penalised) score to `[−c, c]`; `None`: no clipping.
    pub score_clip: Option<f32>,
}

impl Default for RewardOptions {
    fn default() -> Self {
        RewardOptions { kl_beta: 0.02, missing_eos_penalty: None, score_clip: None }
    }
}

/// What [`per_token_rewards`] returns.
#[derive(Clone, Debug)]
pub struct Rewards {
    /// The per-token rewards `[B, T]` (0 outside the mask).
    pub rewards: Tensor,
    /// The KL part alone, `−β·(log π − log π_ref)` on response tokens, `[B, T]`.
    pub kl_penalty: Tensor,
    /// The score actually added to each row after penalty and clipping (0 for rows without a response).
    pub scores: Vec<f32>,
    /// Per row, the position `t` that received the score (`None` for rows without a response token).
    pub last_token: Vec<Option<usize>>,
}

impl Rewards {
    /// Adds `per_token [B, T]` to the rewards on the positions of `mask` (the reward model's per-token part,
    /// see the module documentation); `scores` and `kl_penalty` keep what they were.
    ///
    /// ```
    /// use engine::Tensor;
    /// use rlhf::rl::rewards::{per_token_rewards, RewardOptions};
    /// let logp = Tensor::zeros(&[1, 3], engine::DType::F32)?;
    /// let mask = Tensor::from_vec(vec![1u8, 1, 0], &[1, 3])?;
    /// let r = per_token_rewards(&[0.5], &logp, &logp, &mask, &[true], &RewardOptions::default())?;
    /// let dense = Tensor::from_vec(vec![-0.25f32, -1.0, -9.0], &[1, 3])?;
    /// assert_eq!(r.add_per_token(&dense, &mask)?.rewards.to_vec::<f32>()?, vec![-0.25, -0.5, 0.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn add_per_token(mut self, per_token: &Tensor, mask: &Tensor) -> Result<Rewards> {
        const OP: &str = "Rewards::add_per_token";
        let (b, t) = shape_2d(OP, "rewards", &self.rewards)?;
        let dense = values_2d(OP, "per_token", per_token, &[b, t])?;
        let m = mask_bools(OP, mask, &[b, t])?;
        let mut r = self.rewards.contiguous()?.to_vec::<f32>()?;
        for i in 0..b * t {
            if m[i] {
                r[i] += dense[i];
            }
        }
        self.rewards = Tensor::from_vec(r, &[b, t])?;
        Ok(self)
    }
}

/// Per row, the last position where `mask [B, T]` is nonzero (`None` for an empty row).
pub fn last_response_token(mask: &Tensor) -> Result<Vec<Option<usize>>> {
    let (b, t) = shape_2d("last_response_token", "mask", mask)?;
    let m = mask_bools("last_response_token", mask, &[b, t])?;
    Ok((0..b).map(|row| (0..t).rev().find(|&j| m[row * t + j])).collect())
}

/// Per row, whether any response token (`mask` nonzero) of `tokens [B, T]` (I64) is `eos_id`: `false` marks
/// an answer that never ended.
pub fn ends_with_eos(tokens: &Tensor, mask: &Tensor, eos_id: i64) -> Result<Vec<bool>> {
    const OP: &str = "ends_with_eos";
    let (b, t) = shape_2d(OP, "tokens", tokens)?;
    if tokens.dtype() != DType::I64 {
        return Err(Error::op(OP, format!("tokens must be I64 but are {}", tokens.dtype())));
    }
    let ids = tokens.contiguous()?.to_vec::<i64>()?;
    let m = mask_bools(OP, mask, &[b, t])?;
    Ok((0..b).map(|row| (0..t).any(|j| m[row * t + j] && ids[row * t + j] == eos_id)).collect())
}

/// The per-token rewards of a batch: `scores` (`[B]`, the reward model's score of each answer), the policy's
/// and reference's log-probabilities of the sampled tokens (`[B, T]`), the response `mask [B, T]` and, per
/// row, whether the answer `ended` with EOS.
///
/// ```
/// use engine::Tensor;
/// use rlhf::rl::rewards::{per_token_rewards, RewardOptions};
/// // Two right-padded answers of lengths 3 and 1; policy == reference, so only the scores remain.
/// let logp = Tensor::zeros(&[2, 3], engine::DType::F32)?;
/// let mask = Tensor::from_vec(vec![1u8, 1, 1, 1, 0, 0], &[2, 3])?;
/// let r = per_token_rewards(&[0.5, -1.0], &logp, &logp, &mask, &[true, true], &RewardOptions::default())?;
/// assert_eq!(r.rewards.to_vec::<f32>()?, vec![0.0, 0.0, 0.5, -1.0, 0.0, 0.0]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn per_token_rewards(
    scores: &[f32],
    logp: &Tensor,
    logp_ref: &Tensor,
    mask: &Tensor,
    ended: &[bool],
    options: &RewardOptions,
) -> Result<Rewards> {
    const OP: &str = "per_token_rewards";
    let (b, t) = shape_2d(OP, "logp", logp)?;
    if scores.len() != b || ended.len() != b {
        return Err(Error::op(OP, format!("{b} rows but {} scores and {} ended flags", scores.len(), ended.len())));
    }
    let p = values_2d(OP, "logp", logp, &[b, t])?;
    let q = values_2d(OP, "logp_ref", logp_ref, &[b, t])?;
    let m = mask_bools(OP, mask, &[b, t])?;
    let last_token = last_response_token(mask)?;
    let mut kl_penalty = vec![0.0f32; b * t];
    for i in 0..b * t {
        if m[i] {
            kl_penalty[i] = -options.kl_beta * (p[i] - q[i]);
        }
    }
    let mut rewards = kl_penalty.clone();
    let mut final_scores = vec![0.0f32; b];
    for row in 0..b {
        let Some(j) = last_token[row] else { continue };
        let mut s = scores[row];
        if !ended[row] {
            s -= options.missing_eos_penalty.unwrap_or(0.0);
        }
        if let Some(c) = options.score_clip {
            s = s.clamp(-c.abs(), c.abs());
        }
        final_scores[row] = s;
        rewards[row * t + j] += s;
    }
    Ok(Rewards {
        rewards: Tensor::from_vec(rewards, &[b, t])?,
        kl_penalty: Tensor::from_vec(kl_penalty, &[b, t])?,
        scores: final_scores,
        last_token,
    })
}
