//! Per-token log-probabilities of the chosen tokens, per-token entropy, and masked means over response
//! tokens: the quantities every policy-gradient loss is built from.
//!
//! ```text
//! log π(a_t | s_t) = log_softmax(z_t)[a_t]          z_t = logits[b, t, :], a_t = tokens[b, t]
//! H_t              = −Σ_v p_v log p_v,  p = softmax(z_t)
//! masked_mean(x)   = Σ_{b,t} m_{bt} x_{bt} / Σ_{b,t} m_{bt}   (0 when the mask is empty)
//! ```
use autograd::Var;
use engine::{DType, Error, Result, Tensor};

use super::{mask_tensor, shape_2d, values_2d};

/// Checks `logits [B, T, V]` against `tokens [B, T]` (I64) and returns `tokens` as `[B, T, 1]`.
fn gather_index(op: &'static str, logits_shape: &[usize], tokens: &Tensor) -> Result<Tensor> {
    let (b, t) = shape_2d(op, "tokens", tokens)?;
    match logits_shape {
        [lb, lt, _] if *lb == b && *lt == t => {}
        s => return Err(Error::op(op, format!("logits {s:?} must be [B, T, V] with tokens' [B, T] = [{b}, {t}]"))),
    }
    if tokens.dtype() != DType::I64 {
        return Err(Error::op(op, format!("tokens must be I64 but are {}", tokens.dtype())));
    }
    tokens.reshape(&[b, t, 1])
}

/// `log π(tokens[b, t])` under `logits [B, T, V]`: log_softmax over the vocabulary, then the chosen token's
/// entry; `[B, T]`, differentiable with respect to the logits.
///
/// ```
/// use autograd::Var;
/// use engine::Tensor;
/// use rlhf::rl::logprobs::token_logprobs;
/// // One position, vocabulary of 2 with equal logits: log π = ln ½ whichever token was chosen.
/// let logits = Var::leaf(Tensor::from_vec(vec![0.0f32, 0.0], &[1, 1, 2])?);
/// let tokens = Tensor::from_vec(vec![1i64], &[1, 1])?;
/// let lp = token_logprobs(&logits, &tokens)?;
/// assert!((lp.item()? - 0.5f32.ln()).abs() < 1e-6);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn token_logprobs(logits: &Var, tokens: &Tensor) -> Result<Var> {
    let index = gather_index("token_logprobs", logits.shape(), tokens)?;
    logits.log_softmax(-1)?.gather(2, &index)?.squeeze(2)
}

/// [`token_logprobs`] on plain tensors (rollouts, the reference model, old log-probs): nothing recorded.
pub fn token_logprobs_tensor(logits: &Tensor, tokens: &Tensor) -> Result<Tensor> {
    let index = gather_index("token_logprobs_tensor", logits.shape(), tokens)?;
    logits.log_softmax(-1)?.gather(2, &index)?.squeeze(2)
}

/// The entropy `H_t = −Σ_v p_v log p_v` of each position's distribution, `[B, T]` from `logits [B, T, V]`;
/// differentiable (for an entropy bonus).
pub fn token_entropy(logits: &Var) -> Result<Var> {
    let logp = logits.log_softmax(-1)?;
    logp.exp()?.mul(&logp)?.sum(&[-1], false)?.neg()
}

/// [`token_entropy`] on a plain tensor.
pub fn token_entropy_tensor(logits: &Tensor) -> Result<Tensor> {
    let logp = logits.log_softmax(-1)?;
    logp.exp()?.mul(&logp)?.sum(&[-1], false)?.neg()
}

/// `Σ m·x / Σ m` over all of `values [B, T]` with `mask [B, T]` (F32 or U8), a scalar `Var`; 0 when the mask
/// selects nothing (so an empty batch contributes no gradient rather than NaN).
///
/// ```
/// use autograd::Var;
/// use engine::Tensor;
/// use rlhf::rl::logprobs::masked_mean;
/// let x = Var::constant(Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 100.0], &[2, 2])?);
/// let mask = Tensor::from_vec(vec![1u8, 1, 1, 0], &[2, 2])?;
/// assert_eq!(masked_mean(&x, &mask)?.item()?, 2.0);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn masked_mean(values: &Var, mask: &Tensor) -> Result<Var> {
    let shape = values.shape().to_vec();
    shape_2d("masked_mean", "values", values.tensor())?;
    let m = mask_tensor("masked_mean", mask, &shape)?;
    let count = m.sum_all()?.item()?;
    values.mul(&Var::constant(m))?.sum_all()?.div_scalar(count.max(1.0))
}

/// The per-row masked sum `Σ_t m_{bt} x_{bt}`, `[B]` (a whole answer's log-likelihood, REINFORCE).
pub fn masked_row_sum(values: &Var, mask: &Tensor) -> Result<Var> {
    let shape = values.shape().to_vec();
    shape_2d("masked_row_sum", "values", values.tensor())?;
    let m = mask_tensor("masked_row_sum", mask, &shape)?;
    values.mul(&Var::constant(m))?.sum(&[-1], false)
}

/// [`masked_mean`] of a plain `[B, T]` tensor, accumulated in f64; 0 when the mask selects nothing.
pub fn masked_mean_tensor(values: &Tensor, mask: &Tensor) -> Result<f32> {
    let (b, t) = shape_2d("masked_mean_tensor", "values", values)?;
    let x = values_2d("masked_mean_tensor", "values", values, &[b, t])?;
    let m = values_2d("masked_mean_tensor", "mask", mask, &[b, t])?;
    let (mut sum, mut count) = (0.0f64, 0usize);
    for (&x, &m) in x.iter().zip(&m) {
        if m != 0.0 {
            sum += x as f64;
            count += 1;
        }
    }
    Ok(if count == 0 { 0.0 } else { (sum / count as f64) as f32 })
}
