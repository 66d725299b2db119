//! PPO's losses (Schulman et al. 2017, eq. 7 and 9) on per-token log-probabilities, and its diagnostics.
//!
//! Per response token, with `ρ_t = exp(log π_θ(a_t) − log π_old(a_t))` and the (whitened) advantage `A_t`:
//!
//! ```text
//! L_clip  = −masked_mean( min(ρ_t·A_t, clip(ρ_t, 1−ε, 1+ε)·A_t) )                         ε = 0.2
//! L_value = ½·masked_mean( max((V_t − R_t)², (V_old + clip(V_t − V_old, −ε_v, ε_v) − R_t)²) )
//! L       = L_clip + c_v·L_value − c_H·masked_mean(H_t)                                     (entropy bonus)
//! ```
//!
//! The gradient of `L_clip` with respect to `log π_θ(a_t)` is `−A_t·ρ_t / N` (N response tokens) unless the
//! clip binds: `ρ_t > 1+ε` with `A_t > 0`, or `ρ_t < 1−ε` with `A_t < 0`, where it is 0 (the update has
//! already moved that token's probability as far as the trust region allows). Where the clip does not bind
//! the two terms of the `min` are equal and the engine's `minimum` splits the gradient between them, which
//! sums to the same `−A·ρ/N`.
//!
//! Diagnostics, computed from the values (no gradient):
//! - clip fraction: the share of response tokens with `|ρ − 1| > ε`;
//! - approximate KL(π_old ‖ π_θ): the mean of `(ρ − 1) − log ρ` (Schulman 2020's k3 estimator with samples
//!   from π_old; non-negative, unlike the mean of `−log ρ`); used for early stopping;
//! - explained variance `1 − Var[R − V] / Var[R]` of the critic.
use autograd::Var;
use engine::{Error, Result, Tensor};

use super::logprobs::masked_mean;
use super::{mask_bools, shape_2d, values_2d};

/// ε, ε_v and the coefficients of PPO's combined loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PpoOptions {
    /// The policy ratio clip ε (0.2).
    pub clip_eps: f32,
    /// The value clip ε_v around the old values (0.2).
    pub value_clip_eps: f32,
    /// The value loss coefficient c_v (0.1 as in TRL's PPO for language models).
    pub value_coef: f32,
    /// The entropy bonus coefficient c_H (0: off).
    pub entropy_coef: f32,
}

impl Default for PpoOptions {
    fn default() -> Self {
        PpoOptions { clip_eps: 0.2, value_clip_eps: 0.2, value_coef: 0.1, entropy_coef: 0.0 }
    }
}

/// The clipped policy loss and its diagnostics.
pub struct PolicyLoss {
    /// `L_clip`, a scalar to minimise.
    pub loss: Var,
    /// Share of response tokens with `|ρ − 1| > ε`.
    pub clip_fraction: f32,
    /// Mean of `(ρ − 1) − log ρ` over response tokens.
    pub approx_kl: f32,
}

/// PPO's clipped surrogate loss from the new log-probabilities `logp [B, T]` (differentiable), the rollout's
/// `logp_old [B, T]`, the `advantages [B, T]` and the response `mask [B, T]`.
///
/// ```
/// use autograd::Var;
/// use engine::Tensor;
/// use rlhf::rl::ppo_loss::policy_loss;
/// // Unchanged policy (ρ = 1): the loss is −mean(A) and nothing is clipped.
/// let old = Tensor::from_vec(vec![-1.0f32, -2.0], &[1, 2])?;
/// let adv = Tensor::from_vec(vec![1.0f32, 3.0], &[1, 2])?;
/// let out = policy_loss(&Var::leaf(old.clone()), &old, &adv, &Tensor::ones(&[1, 2], engine::DType::F32)?, 0.2)?;
/// assert_eq!(out.loss.item()?, -2.0);
/// assert_eq!((out.clip_fraction, out.approx_kl), (0.0, 0.0));
/// # Ok::<(), engine::Error>(())
/// ```
pub fn policy_loss(
    logp: &Var,
    logp_old: &Tensor,
    advantages: &Tensor,
    mask: &Tensor,
    clip_eps: f32,
) -> Result<PolicyLoss> {
    const OP: &str = "policy_loss";
    let (b, t) = shape_2d(OP, "logp", logp.tensor())?;
    if !(clip_eps > 0.0 && clip_eps < 1.0) {
        return Err(Error::op(OP, format!("clip_eps must be in (0, 1) but is {clip_eps}")));
    }
    let old = values_2d(OP, "logp_old", logp_old, &[b, t])?;
    values_2d(OP, "advantages", advantages, &[b, t])?;
    let adv = Var::constant(advantages.clone());
    let ratio = logp.sub(&Var::constant(logp_old.clone()))?.exp()?;
    let unclipped = ratio.mul(&adv)?;
    let clipped = ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps)?.mul(&adv)?;
    let loss = masked_mean(&unclipped.minimum(&clipped)?, mask)?.neg()?;

    let new = logp.tensor().to_vec_f32()?;
    let m = mask_bools(OP, mask, &[b, t])?;
    let (mut clipped_count, mut kl, mut count) = (0usize, 0.0f64, 0usize);
    for i in 0..b * t {
        if !m[i] {
            continue;
        }
        let log_ratio = new[i] as f64 - old[i] as f64;
        let rho = log_ratio.exp();
        if (rho - 1.0).abs() > clip_eps as f64 {
            clipped_count += 1;
        }
        kl += log_ratio.exp_m1() - log_ratio;
        count += 1;
    }
    let n = count.max(1) as f64;
    Ok(PolicyLoss { loss, clip_fraction: (clipped_count as f64 / n) as f32, approx_kl: (kl / n) as f32 })
}

/// The clipped value loss and its diagnostic.
pub struct ValueLoss {
    /// `L_value`, a scalar to minimise.
    pub loss: Var,
    /// Share of response tokens where the clipped term is the larger (the clip binds).
    pub clip_fraction: f32,
}

/// The clipped value loss of the critic's new `values [B, T]` (differentiable) against the rollout's
/// `values_old` and the GAE `returns`, over `mask`, with value clip `value_clip_eps`.
pub fn value_loss(
    values: &Var,
    values_old: &Tensor,
    returns: &Tensor,
    mask: &Tensor,
    value_clip_eps: f32,
) -> Result<ValueLoss> {
    const OP: &str = "value_loss";
    let (b, t) = shape_2d(OP, "values", values.tensor())?;
    if value_clip_eps.is_nan() || value_clip_eps <= 0.0 {
        return Err(Error::op(OP, format!("value_clip_eps must be > 0 but is {value_clip_eps}")));
    }
    let old = values_2d(OP, "values_old", values_old, &[b, t])?;
    let ret = values_2d(OP, "returns", returns, &[b, t])?;
    let old_var = Var::constant(values_old.clone());
    let ret_var = Var::constant(returns.clone());
    let unclipped = values.sub(&ret_var)?.square()?;
    let clipped_values = values.sub(&old_var)?.clamp(-value_clip_eps, value_clip_eps)?.add(&old_var)?;
    let clipped = clipped_values.sub(&ret_var)?.square()?;
    let loss = masked_mean(&unclipped.maximum(&clipped)?, mask)?.mul_scalar(0.5)?;

    let new = values.tensor().to_vec_f32()?;
    let m = mask_bools(OP, mask, &[b, t])?;
    let (mut bound, mut count) = (0usize, 0usize);
    for i in 0..b * t {
        if m[i] {
            let v_clip = old[i] + (new[i] - old[i]).clamp(-value_clip_eps, value_clip_eps);
            if (v_clip - ret[i]).powi(2) > (new[i] - ret[i]).powi(2) {
                bound += 1;
            }
            count += 1;
        }
    }
    Ok(ValueLoss { loss, clip_fraction: (bound as f64 / count.max(1) as f64) as f32 })
}

/// PPO's combined loss `L_clip + c_v·L_value − c_H·entropy`, where `mean_entropy` is the masked mean entropy
/// of the new policy (pass `None` when the bonus is off or `entropy_coef` is 0).
pub fn total_loss(policy: &Var, value: &Var, mean_entropy: Option<&Var>, options: &PpoOptions) -> Result<Var> {
    let loss = policy.add(&value.mul_scalar(options.value_coef)?)?;
    match mean_entropy {
        Some(h) if options.entropy_coef != 0.0 => loss.sub(&h.mul_scalar(options.entropy_coef)?),
        _ => Ok(loss),
    }
}

/// `1 − Var[R − V] / Var[R]` over the response tokens: 1 for a perfect critic, 0 for one no better than a
/// constant, negative for worse; NaN when the returns have no variance (or the mask selects nothing).
pub fn explained_variance(values: &Tensor, returns: &Tensor, mask: &Tensor) -> Result<f32> {
    const OP: &str = "explained_variance";
    let (b, t) = shape_2d(OP, "values", values)?;
    let v = values_2d(OP, "values", values, &[b, t])?;
    let r = values_2d(OP, "returns", returns, &[b, t])?;
    let m = mask_bools(OP, mask, &[b, t])?;
    let pairs: Vec<(f64, f64)> = (0..b * t).filter(|&i| m[i]).map(|i| (v[i] as f64, r[i] as f64)).collect();
    let variance = |xs: &mut dyn Iterator<Item = f64>| -> f64 {
        let xs: Vec<f64> = xs.collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n
    };
    let var_r = variance(&mut pairs.iter().map(|p| p.1));
    if pairs.is_empty() || var_r == 0.0 {
        return Ok(f32::NAN);
    }
    let var_residual = variance(&mut pairs.iter().map(|p| p.1 - p.0));
    Ok((1.0 - var_residual / var_r) as f32)
}
