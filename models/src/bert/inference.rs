//! The encoder stack's inference path: what [`BertModel::forward`](super::BertModel::forward) runs when
//! no gradient is recorded (under [`autograd::no_grad`], as `rlhf embed`, `rlhf fill-mask` and evaluation
//! run it). The same arithmetic as the recorded path in `encoder.rs`, which stays as its oracle (a test holds
//! the two equal), arranged for speed:
//!
//! - q, k and v come from one GEMM against the three weights side by side (`[N, 3H]`);
//! - attention runs one sentence per task: for each head, `S = q k^T / sqrt(d)` from strided views of the
//!   `[N, 3H]` rows straight into a per-task `[T, T]` buffer that stays in cache, the padding mask, the
//!   softmax, and `P v` written straight into the head's columns of the `[N, H]` context: no head split or
//!   merge copies and no `[B, nh, T, T]` score tensor going through memory three times;
//! - every bias is added in the pass that follows its GEMM (the q/k/v biases as each sentence's rows come
//!   into cache for attention, the others in the activation or the residual sum before the LayerNorm)
//!   instead of a pass of its own;
//! - the intermediate buffers are allocated once per forward and reused by every layer (q/k/v and the
//!   feed-forward's inner activations share one).
//!
//! Shapes: `N = B·T` rows of width `H`; `I` is the feed-forward width; `nh` heads of `d = H / nh`.
use autograd::nn::{LayerNorm, Linear};
use autograd::ops::attention::MASKED_SCORE;
use engine::{Error, Result, Tensor};
use kernels::UnaryOp;
use rayon::prelude::*;

use super::config::BertActivation;
use super::encoder::BertLayer;

/// Buffers shared by every layer of one forward pass.
pub(crate) struct Workspace {
    /// `[N, 3H]` q, k, v side by side, then (once attention has read them) `[N, I]`, the feed-forward's
    /// inner activations: one buffer of `N · max(3H, I)`.
    wide: Vec<f32>,
    /// `[N, H]`: the attention heads' outputs, merged.
    context: Vec<f32>,
    /// `[N, H]`: a dense output plus its bias and residual, before the LayerNorm.
    pre_norm: Vec<f32>,
    /// `[N]` each: the LayerNorm statistics the kernel reports (unused here).
    mean: Vec<f32>,
    rstd: Vec<f32>,
}

impl Workspace {
    /// Buffers for `rows` tokens of width `hidden` and feed-forward width `inner`.
    pub(crate) fn new(rows: usize, hidden: usize, inner: usize) -> Workspace {
        Workspace {
            wide: zeros(rows * (3 * hidden).max(inner)),
            context: zeros(rows * hidden),
            pre_norm: zeros(rows * hidden),
            mean: vec![0.0; rows],
            rstd: vec![0.0; rows],
        }
    }
}

/// `n` zeros, written by every thread of the pool: a buffer of tens of MiB reused from the heap is
/// otherwise zeroed by one thread, a serial step between parallel ones.
fn zeros(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(0.0f32, n));
    v
}

/// A parameter's values as a contiguous f32 tensor (a view when it already is one).
fn values(t: Tensor) -> Result<Tensor> {
    if t.is_contiguous() {
        Ok(t)
    } else {
        t.contiguous()
    }
}

/// `out [rows, n] = x [rows, k] · W^T` for a `Linear` with `W [n, k]` (its bias is not added).
fn linear_no_bias(x: &[f32], rows: usize, lin: &Linear, out: &mut [f32]) -> Result<()> {
    let w = values(lin.weight.value())?;
    let (n, k) = (w.shape()[0], w.shape()[1]);
    kernels::sgemm(false, true, rows, n, k, 1.0, x, k, w.contiguous_slice::<f32>()?, k, 0.0, &mut out[..rows * n], n)
        .map_err(|e| Error::op("BertLayer (inference)", e.to_string()))
}

/// A `Linear`'s bias, or zeros of its width.
fn bias_of(lin: &Linear) -> Result<Vec<f32>> {
    match &lin.bias {
        Some(b) => values(b.value())?.to_vec::<f32>(),
        None => Ok(vec![0.0; lin.weight.shape()[0]]),
    }
}

/// `out = LayerNorm((dense + bias) + residual)` row by row, `dense` being `pre_norm` on entry (it holds the
/// sum afterwards). The additions are in the recorded path's order, so the sums are the same floats.
fn residual_layer_norm(
    pre_norm: &mut [f32],
    bias: &[f32],
    residual: &[f32],
    norm: &LayerNorm,
    ws_mean: &mut [f32],
    ws_rstd: &mut [f32],
    out: &mut [f32],
) -> Result<()> {
    let h = bias.len();
    pre_norm.par_chunks_mut(h * 64).zip(residual.par_chunks(h * 64)).for_each(|(rows, res)| {
        for (row, res) in rows.chunks_exact_mut(h).zip(res.chunks_exact(h)) {
            for ((y, &b), &r) in row.iter_mut().zip(bias).zip(res) {
                *y = (*y + b) + r;
            }
        }
    });
    let gamma = values(norm.weight.value())?;
    let beta = values(norm.bias.value())?;
    let rows = pre_norm.len() / h;
    kernels::layernorm_forward(
        pre_norm,
        Some(gamma.contiguous_slice::<f32>()?),
        Some(beta.contiguous_slice::<f32>()?),
        rows,
        h,
        norm.eps,
        out,
        ws_mean,
        ws_rstd,
    )
    .map_err(|e| Error::op("BertLayer (inference)", e.to_string()))
}

/// `inner = act(inner + bias)` in place, in row blocks that stay in cache between the steps.
fn bias_activation(inner: &mut [f32], bias: &[f32], act: BertActivation) -> Result<()> {
    let width = bias.len();
    let op = match act {
        BertActivation::GeluErf => UnaryOp::GeluErf,
        BertActivation::GeluTanh => UnaryOp::Gelu,
        BertActivation::Relu => UnaryOp::Relu,
    };
    // 16 rows of 1536 are 96 KiB: small enough to stay in L2 between the add and the activation, and
    // below the kernels' threshold for splitting work again inside a task.
    let block = width * 16;
    inner.par_chunks_mut(block).try_for_each_init(Vec::new, |sum, x| {
        // The kernel maps one slice into another: the sum goes to a per-task copy that stays in L2.
        sum.clear();
        for row in x.chunks_exact(width) {
            sum.extend(row.iter().zip(bias).map(|(&v, &b)| v + b));
        }
        kernels::unary_contiguous(op, sum, x).map_err(|e| Error::op("BertLayer (inference)", e.to_string()))
    })
}

/// Multi-head attention of every sentence: `qkv [B·T, 3H]` (without its bias `b_qkv [3H]`, added here
/// while a sentence's rows are in cache) -> `context [B·T, H]`. `keep` is the `[B, T]` key-padding mask
/// (nonzero = real token), `None` when every token is real.
#[allow(clippy::too_many_arguments)]
fn attention(qkv: &mut [f32], b_qkv: &[f32], t: usize, h: usize, heads: usize, keep: Option<&[u8]>, context: &mut [f32]) -> Result<()> {
    let d = h / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let ld = 3 * h;
    qkv.par_chunks_mut(t * ld).zip(context.par_chunks_mut(t * h)).enumerate().try_for_each_init(
        || (vec![0.0f32; t * t], vec![0.0f32; t * t]),
        |(scores, probs), (b, (rows, out))| -> Result<()> {
            for row in rows.chunks_exact_mut(ld) {
                for (v, &bias) in row.iter_mut().zip(b_qkv) {
                    *v += bias;
                }
            }
            let rows = &*rows;
            let blocked: Vec<usize> = match keep {
                Some(k) => (0..t).filter(|&j| k[b * t + j] == 0).collect(),
                None => Vec::new(),
            };
            for head in 0..heads {
                let (q, k, v) = (&rows[head * d..], &rows[h + head * d..], &rows[2 * h + head * d..]);
                // S = (q k^T) * scale: the kernel applies alpha after the sum, as mul_scalar would.
                kernels::sgemm(false, true, t, t, d, scale, q, ld, k, ld, 0.0, scores, t)
                    .map_err(|e| Error::op("attention (inference)", e.to_string()))?;
                for row in scores.chunks_exact_mut(t) {
                    for &j in &blocked {
                        row[j] = MASKED_SCORE;
                    }
                }
                kernels::softmax_rows(scores, t, t, probs).map_err(|e| Error::op("attention (inference)", e.to_string()))?;
                kernels::sgemm(false, false, t, d, t, 1.0, probs, t, v, ld, 0.0, &mut out[head * d..], h)
                    .map_err(|e| Error::op("attention (inference)", e.to_string()))?;
            }
            Ok(())
        },
    )
}

impl BertLayer {
    /// The layer on raw rows: `x [B·T, H]` (sentences of `t` tokens) -> a new `[B·T, H]`, computing what
    /// [`BertLayer::forward`] computes (see the module docs). `keep` is the `[B, T]` padding mask.
    pub(crate) fn forward_inference(&self, x: &[f32], t: usize, keep: Option<&[u8]>, ws: &mut Workspace) -> Result<Vec<f32>> {
        let attn = &self.attention_self;
        let h = attn.query.weight.shape()[0];
        let rows = x.len() / h;
        let i = self.intermediate.weight.shape()[0];

        // q, k, v: one GEMM against [Wq; Wk; Wv] (3H x H); attention adds their biases.
        let parts = [&attn.query, &attn.key, &attn.value];
        let w: Vec<Tensor> = parts.iter().map(|l| values(l.weight.value())).collect::<Result<_>>()?;
        let w_qkv = Tensor::cat(&w.iter().collect::<Vec<_>>(), 0)?;
        let qkv = &mut ws.wide[..rows * 3 * h];
        kernels::sgemm(false, true, rows, 3 * h, h, 1.0, x, h, w_qkv.contiguous_slice::<f32>()?, h, 0.0, qkv, 3 * h)
            .map_err(|e| Error::op("BertLayer (inference)", e.to_string()))?;
        let mut b_qkv = Vec::with_capacity(3 * h);
        for l in parts {
            b_qkv.extend(bias_of(l)?);
        }
        attention(qkv, &b_qkv, t, h, attn.num_heads, keep, &mut ws.context)?;

        // a = LayerNorm(x + dense(context))
        linear_no_bias(&ws.context, rows, &self.attention_output.dense, &mut ws.pre_norm)?;
        let mut a = zeros(rows * h);
        let bias = bias_of(&self.attention_output.dense)?;
        residual_layer_norm(&mut ws.pre_norm, &bias, x, &self.attention_output.layer_norm, &mut ws.mean, &mut ws.rstd, &mut a)?;

        // y = LayerNorm(a + output(act(intermediate(a))))
        let inner = &mut ws.wide[..rows * i];
        linear_no_bias(&a, rows, &self.intermediate, inner)?;
        bias_activation(inner, &bias_of(&self.intermediate)?, self.activation)?;
        linear_no_bias(inner, rows, &self.output.dense, &mut ws.pre_norm)?;
        let mut y = zeros(rows * h);
        let bias = bias_of(&self.output.dense)?;
        residual_layer_norm(&mut ws.pre_norm, &bias, &a, &self.output.layer_norm, &mut ws.mean, &mut ws.rstd, &mut y)?;
        Ok(y)
    }
}
