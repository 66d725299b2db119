//! Per-token estimators of `KL(π ‖ π_ref)` from the log-probabilities of the sampled tokens (Schulman 2020,
//! *Approximating KL Divergence*). With `a_t ~ π` and `log r = log π_ref(a_t) − log π(a_t)`:
//!
//! ```text
//! k1 = log π − log π_ref = −log r              unbiased, can be negative per token (InstructGPT's penalty)
//! k3 = (r − 1) − log r                         unbiased, always ≥ 0 (since e^x ≥ 1 + x), lower variance
//! ```
//!
//! Both are exactly 0 per token when the policy equals the reference.
use engine::{Error, Result, Tensor};

use super::{mask_bools, shape_2d, values_2d};

/// Which per-token KL estimator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KlEstimator {
    /// `log π − log π_ref`.
    K1,
    /// `(r − 1) − log r` with `r = π_ref / π`.
    K3,
}

/// The per-token estimate `[B, T]` from `logp = log π(a_t)` and `logp_ref = log π_ref(a_t)`, both `[B, T]`.
///
/// ```
/// use engine::Tensor;
/// use rlhf::rl::kl::{per_token_kl, KlEstimator};
/// let logp = Tensor::from_vec(vec![-1.0f32, -2.0], &[1, 2])?;
/// let logp_ref = Tensor::from_vec(vec![-1.5f32, -2.0], &[1, 2])?;
/// assert_eq!(per_token_kl(&logp, &logp_ref, KlEstimator::K1)?.to_vec::<f32>()?, vec![0.5, 0.0]);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn per_token_kl(logp: &Tensor, logp_ref: &Tensor, estimator: KlEstimator) -> Result<Tensor> {
    const OP: &str = "per_token_kl";
    let (b, t) = shape_2d(OP, "logp", logp)?;
    let p = values_2d(OP, "logp", logp, &[b, t])?;
    let q = values_2d(OP, "logp_ref", logp_ref, &[b, t])?;
    let out: Vec<f32> = p
        .iter()
        .zip(&q)
        .map(|(&lp, &lq)| {
            let log_r = lq as f64 - lp as f64;
            let k = match estimator {
                KlEstimator::K1 => -log_r,
                // exp_m1 keeps (r − 1) accurate for small log r.
                KlEstimator::K3 => log_r.exp_m1() - log_r,
            };
            k as f32
        })
        .collect();
    Tensor::from_vec(out, &[b, t])
}

/// Summary of the KL over the response tokens of a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KlSummary {
    /// Mean per response token: `Σ m·k / Σ m` (0 for an empty mask).
    pub per_token: f32,
    /// Mean over rows of the per-answer sum `Σ_t m·k` (the "KL to the reference" usually logged; rows with
    /// no response token count as 0).
    pub per_sequence: f32,
}

/// The masked KL of `logp` against `logp_ref` under `mask [B, T]`, per token and per answer.
pub fn masked_kl(logp: &Tensor, logp_ref: &Tensor, mask: &Tensor, estimator: KlEstimator) -> Result<KlSummary> {
    const OP: &str = "masked_kl";
    let (b, t) = shape_2d(OP, "logp", logp)?;
    if b == 0 {
        return Err(Error::op(OP, "the batch is empty"));
    }
    let k = per_token_kl(logp, logp_ref, estimator)?.to_vec_f32()?;
    let m = mask_bools(OP, mask, &[b, t])?;
    let (mut total, mut count) = (0.0f64, 0usize);
    for (&k, &m) in k.iter().zip(&m) {
        if m {
            total += k as f64;
            count += 1;
        }
    }
    Ok(KlSummary {
        per_token: if count == 0 { 0.0 } else { (total / count as f64) as f32 },
        per_sequence: (total / b as f64) as f32,
    })
}
