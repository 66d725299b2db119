//! Scaled dot-product attention with causal and padding masks: one fused op whose backward is written
//! by hand (llm.c's `attention_forward` / `attention_backward` pair, on engine ops).
//!
//! Shapes: `q [..., Tq, D]`, `k [..., Tk, D]`, `v [..., Tk, Dv]` with equal leading dimensions (typically
//! `[B, H]`). Forward (the probabilities `P` are saved for backward):
//! ```text
//! S = q k^T / sqrt(D), masked to -1e30 where blocked;  P = softmax(S, -1);  O = P v
//! ```
//! Backward, given `dO`:
//! ```text
//! dv = P^T dO;  dP = dO v^T;  dS = P * (dP - sum(dP * P, -1)) / sqrt(D);  dq = dS k;  dk = dS^T q
//! ```
//! Blocked entries have `P = 0`, so their `dS` is 0 with no extra masking. A finite fill (-1e30 rather than
//! -inf) keeps a row whose every key is blocked (a padding query) finite: it attends uniformly, and the
//! caller ignores its output.
use engine::{DType, Error, Result, Tensor};

use crate::var::{record, Var};

/// The value blocked scores are set to before the softmax.
pub const MASKED_SCORE: f32 = -1e30;

/// Which (query, key) pairs may not attend.
#[derive(Clone, Debug, Default)]
pub struct AttentionMask {
    /// Query `i` may not see key `j > i + (Tk - Tq)` (future tokens).
    pub causal: bool,
    /// U8 `[B, Tk]`: 1 for a real key, 0 for padding (never attended). `B` is the first dimension of `q`.
    pub key_padding: Option<Tensor>,
}

impl AttentionMask {
    /// A causal mask with no padding.
    pub fn causal() -> Self {
        AttentionMask { causal: true, key_padding: None }
    }

    /// The U8 tensor (1 = blocked) broadcastable to the scores `[lead.., Tq, Tk]`, or `None` when nothing
    /// is blocked.
    pub fn blocked(&self, lead: &[usize], tq: usize, tk: usize) -> Result<Option<Tensor>> {
        if !self.causal && self.key_padding.is_none() {
            return Ok(None);
        }
        let causal_blocks = |i: usize, j: usize| self.causal && j + tq > i + tk; // j > i + (tk - tq)
        match &self.key_padding {
            None => {
                let data: Vec<u8> = (0..tq * tk).map(|p| u8::from(causal_blocks(p / tk, p % tk))).collect();
                let mut shape = vec![1; lead.len()];
                shape.extend([tq, tk]);
                Ok(Some(Tensor::from_vec(data, &[tq, tk])?.reshape(&shape)?))
            }
            Some(pad) => {
                let Some(&b) = lead.first() else {
                    return Err(Error::op("attention", "key_padding needs batched inputs: q must be [B, .., Tq, D]"));
                };
                if pad.shape() != [b, tk] || pad.dtype() != DType::U8 {
                    return Err(Error::op(
                        "attention",
                        format!("key_padding must be U8 [{b}, {tk}], got {} {:?}", pad.dtype(), pad.shape()),
                    ));
                }
                let keep = pad.to_vec::<u8>()?;
                let mut data = vec![0u8; b * tq * tk];
                for bi in 0..b {
                    for i in 0..tq {
                        for j in 0..tk {
                            data[(bi * tq + i) * tk + j] = u8::from(causal_blocks(i, j) || keep[bi * tk + j] == 0);
                        }
                    }
                }
                let mut shape = vec![b];
                shape.extend(std::iter::repeat_n(1, lead.len().saturating_sub(1)));
                shape.extend([tq, tk]);
                Ok(Some(Tensor::from_vec(data, &shape)?))
            }
        }
    }
}

/// Attention forward on tensors: returns `(O, P)`. `blocked` as from [`AttentionMask::blocked`].
pub fn attention_forward(q: &Tensor, k: &Tensor, v: &Tensor, blocked: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
    let d = q.shape()[q.rank() - 1];
    let scale = 1.0 / (d as f32).sqrt();
    let mut scores = q.matmul(&k.transpose(-2, -1)?)?.mul_scalar(scale)?; // [.., Tq, Tk]
    if let Some(blocked) = blocked {
        scores = scores.masked_fill(blocked, MASKED_SCORE)?;
    }
    let p = scores.softmax(-1)?;
    let o = p.matmul(v)?; // [.., Tq, Dv]
    Ok((o, p))
}

/// Attention backward on tensors: `(dq, dk, dv)` from the forward's inputs, its saved `P`, and `dO`.
pub fn attention_backward(q: &Tensor, k: &Tensor, v: &Tensor, p: &Tensor, d_out: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let d = q.shape()[q.rank() - 1];
    let scale = 1.0 / (d as f32).sqrt();
    let dv = p.transpose(-2, -1)?.matmul(d_out)?;
    let dp = d_out.matmul(&v.transpose(-2, -1)?)?;
    let ds = p.softmax_backward(&dp, -1)?.mul_scalar(scale)?;
    let dq = ds.matmul(k)?;
    let dk = ds.transpose(-2, -1)?.matmul(q)?;
    Ok((dq, dk, dv))
}

fn check_qkv(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<()> {
    let r = q.rank();
    let ok = r >= 2
        && k.rank() == r
        && v.rank() == r
        && q.shape()[..r - 2] == k.shape()[..r - 2]
        && q.shape()[..r - 2] == v.shape()[..r - 2]
        && q.shape()[r - 1] == k.shape()[r - 1]
        && k.shape()[r - 2] == v.shape()[r - 2];
    if !ok {
        return Err(Error::op(
            "attention",
            format!(
                "q {:?}, k {:?}, v {:?} must be [.., Tq, D], [.., Tk, D], [.., Tk, Dv] with equal leading dimensions",
                q.shape(),
                k.shape(),
                v.shape()
            ),
        ));
    }
    Ok(())
}

impl Var {
    /// Scaled dot-product attention `softmax(q k^T / sqrt(D) + mask) v`, fused (see the module docs).
    pub fn scaled_dot_product_attention(q: &Var, k: &Var, v: &Var, mask: &AttentionMask) -> Result<Var> {
        check_qkv(q.tensor(), k.tensor(), v.tensor())?;
        let r = q.rank();
        let (tq, tk) = (q.shape()[r - 2], k.shape()[r - 2]);
        let blocked = mask.blocked(&q.shape()[..r - 2], tq, tk)?;
        let (qt, kt, vt) = (q.tensor().clone(), k.tensor().clone(), v.tensor().clone());
        let (out, p) = attention_forward(&qt, &kt, &vt, blocked.as_ref())?;
        Ok(record("scaled_dot_product_attention", out, &[q, k, v], move |g, _| {
            let (dq, dk, dv) = attention_backward(&qt, &kt, &vt, &p, g)?;
            Ok(vec![Some(dq), Some(dk), Some(dv)])
        }))
    }

    /// GPT's causal self-attention from the fused projection `qkv [B, T, 3C]` (q, k, v side by side, each
    /// split into `n_head` heads of `C / n_head`): returns `[B, T, C]`. One fused op
    /// (`Tensor::causal_self_attention`, the blocked kernel of `kernels::attention`): the head split and
    /// merge happen inside, only the causal part of the scores is computed, and the backward returns
    /// `dqkv` directly. `key_padding` is U8 `[B, T]` (1 = real token). [`Var::scaled_dot_product_attention`]
    /// on split heads is its composed oracle.
    pub fn causal_self_attention(qkv: &Var, n_head: usize, key_padding: Option<&Tensor>) -> Result<Var> {
        const OP: &str = "causal_self_attention";
        let (out, probs) = qkv.tensor().causal_self_attention(n_head, key_padding)?;
        let (qkv_t, key_padding) = (qkv.tensor().clone(), key_padding.cloned());
        Ok(record(OP, out, &[qkv], move |g, _| {
            let d_qkv = qkv_t.causal_self_attention_backward(&probs, g, n_head, key_padding.as_ref())?;
            Ok(vec![Some(d_qkv)])
        }))
    }
}
