//! GPT's fused causal self-attention on tensors: shape checks around `kernels::attention`, forward and
//! backward side by side. The composed form (GEMM, scale, mask, softmax, GEMM) is the oracle; autograd
//! records the pair as one op.
use kernels::attention::{causal_attention_backward, causal_attention_forward, AttentionShape};

use super::support::{f32_tensor, host_slice, require_dtype, require_f32, same_device, unsupported_device};
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::{DType, Device, Tensor};

/// The kernel's sizes for `qkv [B, T, 3C]` and `n_head`, after checking `qkv` and `key_padding`.
fn attention_shape(op: &'static str, qkv: &Tensor, n_head: usize, key_padding: Option<&Tensor>) -> Result<AttentionShape> {
    require_f32(op, "qkv", qkv)?;
    let s = qkv.shape();
    if s.len() != 3 || n_head == 0 || !s[2].is_multiple_of(3 * n_head) {
        return Err(Error::op(op, format!("qkv {} must be [B, T, 3C] with C divisible by n_head = {n_head}", fmt_shape(s))));
    }
    if let Some(pad) = key_padding {
        require_dtype(op, "key_padding", pad, DType::U8)?;
        if pad.shape() != [s[0], s[1]] {
            return Err(Error::op(op, format!("key_padding {} must be [B, T] = [{}, {}]", fmt_shape(pad.shape()), s[0], s[1])));
        }
    }
    Ok(AttentionShape { batch: s[0], seq: s[1], heads: n_head, head_dim: s[2] / 3 / n_head })
}

impl Tensor {
    /// Causal multi-head self-attention from the fused projection `self = qkv [B, T, 3C]` (q, k, v side by
    /// side, each split into `n_head` heads): returns `(out [B, T, C], probs [B, H, T, T])`, the
    /// probabilities being what [`Tensor::causal_self_attention_backward`] needs. `key_padding` is U8
    /// `[B, T]`, 1 for a real token; a query that sees no real key attends uniformly (its output is
    /// meaningless). See `kernels::attention` for the maths.
    ///
    /// ```
    /// use engine::Tensor;
    /// // One sequence of two tokens, one head of width 1, q = k = 0: the second query averages v.
    /// let qkv = Tensor::from_vec(vec![0f32, 0.0, 1.0, 0.0, 0.0, 3.0], &[1, 2, 3])?;
    /// let (out, probs) = qkv.causal_self_attention(1, None)?;
    /// assert_eq!(out.to_vec::<f32>()?, vec![1.0, 2.0]);
    /// assert_eq!(probs.shape(), &[1, 1, 2, 2]);
    /// let err = qkv.causal_self_attention(2, None).unwrap_err();
    /// assert_eq!(err.to_string(), "causal_self_attention: qkv [1, 2, 3] must be [B, T, 3C] with C divisible by n_head = 2");
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn causal_self_attention(&self, n_head: usize, key_padding: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        const OP: &str = "causal_self_attention";
        let shape = attention_shape(OP, self, n_head, key_padding)?;
        let mut operands = vec![self];
        operands.extend(key_padding);
        match same_device(OP, &operands)? {
            Device::Cpu => {
                let qkv = self.contiguous()?;
                let keep = key_padding.map(|p| p.contiguous()).transpose()?;
                let keep = keep.as_ref().map(|p| host_slice::<u8>(OP, p)).transpose()?;
                let mut out = vec![0.0f32; shape.out_len()];
                let mut probs = vec![0.0f32; shape.probs_len()];
                causal_attention_forward(&shape, host_slice::<f32>(OP, &qkv)?, keep, &mut out, &mut probs)?;
                let (b, t, h) = (shape.batch, shape.seq, shape.heads);
                Ok((f32_tensor(out, &[b, t, shape.width()])?, f32_tensor(probs, &[b, h, t, t])?))
            }
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// The gradient of [`Tensor::causal_self_attention`] with respect to `self = qkv [B, T, 3C]`, given the
    /// forward's `probs`, the gradient `d_out [B, T, C]` of its output, and the same `n_head` and
    /// `key_padding`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let qkv = Tensor::from_vec(vec![0f32, 0.0, 1.0, 0.0, 0.0, 3.0], &[1, 2, 3])?;
    /// let (_, probs) = qkv.causal_self_attention(1, None)?;
    /// let d_out = Tensor::from_vec(vec![1f32, 1.0], &[1, 2, 1])?;
    /// let d_qkv = qkv.causal_self_attention_backward(&probs, &d_out, 1, None)?.to_vec::<f32>()?;
    /// assert_eq!([d_qkv[2], d_qkv[5]], [1.5, 0.5]); // dv = Pᵀ dO
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn causal_self_attention_backward(
        &self,
        probs: &Tensor,
        d_out: &Tensor,
        n_head: usize,
        key_padding: Option<&Tensor>,
    ) -> Result<Tensor> {
        const OP: &str = "causal_self_attention_backward";
        let shape = attention_shape(OP, self, n_head, key_padding)?;
        require_f32(OP, "probs", probs)?;
        require_f32(OP, "d_out", d_out)?;
        let (b, t, h, c) = (shape.batch, shape.seq, shape.heads, shape.width());
        if probs.shape() != [b, h, t, t] || d_out.shape() != [b, t, c] {
            return Err(Error::op(
                OP,
                format!(
                    "qkv {} with {h} heads needs probs [{b}, {h}, {t}, {t}] and d_out [{b}, {t}, {c}], got {} and {}",
                    fmt_shape(self.shape()),
                    fmt_shape(probs.shape()),
                    fmt_shape(d_out.shape())
                ),
            ));
        }
        let mut operands = vec![self, probs, d_out];
        operands.extend(key_padding);
        match same_device(OP, &operands)? {
            Device::Cpu => {
                let (qkv, probs, d_out) = (self.contiguous()?, probs.contiguous()?, d_out.contiguous()?);
                let keep = key_padding.map(|p| p.contiguous()).transpose()?;
                let keep = keep.as_ref().map(|p| host_slice::<u8>(OP, p)).transpose()?;
                let mut d_qkv = vec![0.0f32; shape.qkv_len()];
                causal_attention_backward(
                    &shape,
                    host_slice::<f32>(OP, &qkv)?,
                    keep,
                    host_slice::<f32>(OP, &probs)?,
                    host_slice::<f32>(OP, &d_out)?,
                    &mut d_qkv,
                )?;
                f32_tensor(d_qkv, self.shape())
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}
