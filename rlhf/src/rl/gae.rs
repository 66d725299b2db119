//! Generalized advantage estimation (Schulman et al. 2016, eq. 16) over masked sequences, and advantage
//! whitening.
//!
//! Over the response tokens of one row, in order (positions outside the mask are skipped, so a row may
//! have its prompt in front and padding behind), with `V_{T+1} = 0` after the last response token (the
//! episode ends there):
//!
//! ```text
//! δ_t = r_t + γ·V_{t+1} − V_t
//! A_t = δ_t + γλ·A_{t+1}          (A_{T+1} = 0)
//! R_t = A_t + V_t                 (the value target: the λ-return)
//! ```
//!
//! Defaults γ = 1 (the episode is one short answer, no discounting) and λ = 0.95 (as in InstructGPT's
//! setup and TRL). Positions outside the mask get advantage and return 0.
use engine::{Error, Result, Tensor};

use super::{mask_bools, shape_2d, values_2d};

/// γ and λ of [`gae`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaeOptions {
    /// The discount γ (default 1).
    pub gamma: f32,
    /// The GAE parameter λ (default 0.95): 0 is the one-step TD advantage, 1 the Monte-Carlo return minus V.
    pub lambda: f32,
}

impl Default for GaeOptions {
    fn default() -> Self {
        GaeOptions { gamma: 1.0, lambda: 0.95 }
    }
}

/// Advantages and returns, both `[B, T]`, 0 outside the mask.
#[derive(Clone, Debug)]
pub struct GaeOutput {
    /// `A_t`.
    pub advantages: Tensor,
    /// `R_t = A_t + V_t`.
    pub returns: Tensor,
}

/// GAE of per-token `rewards [B, T]` against the critic's `values [B, T]` over the response `mask [B, T]`.
///
/// ```
/// use engine::Tensor;
/// use rlhf::rl::gae::{gae, GaeOptions};
/// // One answer of one token: A = r − V, R = r.
/// let r = Tensor::from_vec(vec![1.0f32], &[1, 1])?;
/// let v = Tensor::from_vec(vec![0.25f32], &[1, 1])?;
/// let out = gae(&r, &v, &Tensor::ones(&[1, 1], engine::DType::F32)?, &GaeOptions::default())?;
/// assert_eq!(out.advantages.to_vec::<f32>()?, vec![0.75]);
/// assert_eq!(out.returns.to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn gae(rewards: &Tensor, values: &Tensor, mask: &Tensor, options: &GaeOptions) -> Result<GaeOutput> {
    const OP: &str = "gae";
    let (b, t) = shape_2d(OP, "rewards", rewards)?;
    let r = values_2d(OP, "rewards", rewards, &[b, t])?;
    let v = values_2d(OP, "values", values, &[b, t])?;
    let m = mask_bools(OP, mask, &[b, t])?;
    let (gamma, lambda) = (options.gamma as f64, options.lambda as f64);
    let mut advantages = vec![0.0f32; b * t];
    let mut returns = vec![0.0f32; b * t];
    for row in 0..b {
        let (mut next_value, mut next_advantage) = (0.0f64, 0.0f64);
        for j in (0..t).rev() {
            let i = row * t + j;
            if !m[i] {
                continue;
            }
            let delta = r[i] as f64 + gamma * next_value - v[i] as f64;
            let a = delta + gamma * lambda * next_advantage;
            advantages[i] = a as f32;
            returns[i] = (a + v[i] as f64) as f32;
            next_value = v[i] as f64;
            next_advantage = a;
        }
    }
    Ok(GaeOutput { advantages: Tensor::from_vec(advantages, &[b, t])?, returns: Tensor::from_vec(returns, &[b, t])? })
}

/// Whitens `values [B, T]` over the mask: `(x − μ) / sqrt(σ² + 1e-8)` with the masked mean μ and the masked
/// population variance σ²; with `shift_mean = false` μ is added back (only the scale changes, keeping the
/// sign of the average advantage, as TRL's `whiten(shift_mean=False)`). Positions outside the mask get 0.
/// Errors when the mask selects nothing.
///
/// ```
/// use engine::Tensor;
/// use rlhf::rl::gae::whiten;
/// let a = Tensor::from_vec(vec![1.0f32, 3.0, 99.0], &[1, 3])?;
/// let mask = Tensor::from_vec(vec![1u8, 1, 0], &[1, 3])?;
/// let w = whiten(&a, &mask, true)?.to_vec::<f32>()?;
/// assert!((w[0] + 1.0).abs() < 1e-6 && (w[1] - 1.0).abs() < 1e-6 && w[2] == 0.0);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn whiten(values: &Tensor, mask: &Tensor, shift_mean: bool) -> Result<Tensor> {
    const OP: &str = "whiten";
    let (b, t) = shape_2d(OP, "values", values)?;
    let x = values_2d(OP, "values", values, &[b, t])?;
    let m = mask_bools(OP, mask, &[b, t])?;
    let selected: Vec<f64> = x.iter().zip(&m).filter(|(_, &m)| m).map(|(&x, _)| x as f64).collect();
    if selected.is_empty() {
        return Err(Error::op(OP, "the mask selects no element"));
    }
    let n = selected.len() as f64;
    let mean = selected.iter().sum::<f64>() / n;
    let var = selected.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let inv_std = 1.0 / (var + 1e-8).sqrt();
    let out: Vec<f32> = x
        .iter()
        .zip(&m)
        .map(|(&x, &m)| {
            if !m {
                return 0.0;
            }
            let w = (x as f64 - mean) * inv_std;
            (if shift_mean { w } else { w + mean }) as f32
        })
        .collect();
    Tensor::from_vec(out, &[b, t])
}
