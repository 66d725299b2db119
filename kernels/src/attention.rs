//! Fused causal multi-head self-attention over GPT's fused projection, forward and backward side by side.
//!
//! Layout (all row-major, contiguous): `qkv [B, T, 3C]` holds q, k and v side by side, each split into
//! `H` heads of `D = C / H` columns; `out [B, T, C]` merges the heads back; `probs [B, H, T, T]` are the
//! attention probabilities, saved by the forward for the backward. Per head, with `scale = 1 / sqrt(D)`:
//! ```text
//! S = scale · q kᵀ, blocked entries set to MASKED_SCORE;  P = softmax(S);  O = P v
//! dv = Pᵀ dO;  dP = dO vᵀ;  dS = P ∘ (dP − rowsum(P ∘ dP));  dq = scale · dS k;  dk = scale · dSᵀ q
//! ```
//! Query `i` may see key `j` when `j <= i` and, with a key-padding mask, `keep[b, j] != 0`. A query that
//! may see no key at all (a padding query before the first real token) attends uniformly over all `T`
//! keys, exactly as the composed ops do with a finite fill; its output is meaningless and ignored.
//!
//! Why fused: the composed ops (GEMM, scale, mask fill, softmax, GEMM) make five passes over the
//! `[B, H, T, T]` scores and compute the masked upper triangle. Here queries go in blocks of
//! [`QUERY_BLOCK`] rows, and a block multiplies only against the keys its rows can see (`0..i1`), which
//! skips ~3/8 of the products at T = 256; the scale rides in the GEMM's alpha; mask and softmax happen
//! in one pass over the block's scores while they are in cache; heads are read from and written to the
//! fused `[B, T, 3C]` / `[B, T, C]` layouts directly, with no split or merge copies. Each (batch, head)
//! is one task on rayon's pool; its GEMMs run on that task's thread.
//!
//! The oracle [`reference`] computes the same in f64 by the definition, with a full `[T, T]` score matrix.
use rayon::prelude::*;

use crate::error::{check_len, KernelError, KernelResult};
use crate::gemm::sgemm_on_this_thread;
use crate::reduce::{row_dot, row_max};
use crate::softmax::exp_shifted_in_place;

/// The value a blocked score is set to before the softmax (finite, so an all-blocked row stays finite).
pub const MASKED_SCORE: f32 = -1e30;

/// Query rows per block: a multiple of the GEMM tile width, small enough that a block's scores
/// (`QUERY_BLOCK × T`) stay in L2 between the score GEMM, the softmax and the `P v` GEMM.
pub const QUERY_BLOCK: usize = 64;

/// The sizes of one causal self-attention call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionShape {
    /// Sequences, `B`.
    pub batch: usize,
    /// Positions per sequence, `T` (queries and keys).
    pub seq: usize,
    /// Heads, `H`.
    pub heads: usize,
    /// Columns per head, `D`.
    pub head_dim: usize,
}

impl AttentionShape {
    /// `C = H · D`.
    pub fn width(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Elements of `qkv [B, T, 3C]`.
    pub fn qkv_len(&self) -> usize {
        self.batch * self.seq * 3 * self.width()
    }

    /// Elements of `out [B, T, C]`.
    pub fn out_len(&self) -> usize {
        self.batch * self.seq * self.width()
    }

    /// Elements of `probs [B, H, T, T]`.
    pub fn probs_len(&self) -> usize {
        self.batch * self.heads * self.seq * self.seq
    }

    /// Errors when a buffer size overflows; run before computing any `*_len`.
    fn check_sizes(&self, kernel: &'static str) -> KernelResult<()> {
        // The largest buffers are qkv (B·T·3C) and probs (B·H·T·T): their sizes must be representable.
        let product = |dims: &[usize]| dims.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x));
        let (bt, h, d, t) = (self.batch.checked_mul(self.seq), self.heads, self.head_dim, self.seq);
        if bt.and_then(|bt| product(&[bt, 3, h, d])).is_none() || bt.and_then(|bt| product(&[bt, h, t])).is_none() {
            return Err(KernelError::new(kernel, format!("{self:?} overflows")));
        }
        Ok(())
    }

    /// Errors when `keep` or a `(name, length, needed)` slice is too short.
    fn check_slices(&self, kernel: &'static str, keep: Option<&[u8]>, slices: &[(&str, usize, usize)]) -> KernelResult<()> {
        if let Some(keep) = keep {
            check_len(kernel, "keep", keep.len(), self.batch * self.seq)?;
        }
        for &(what, len, need) in slices {
            check_len(kernel, what, len, need)?;
        }
        Ok(())
    }
}

/// The keys query `i` of one sequence may see, as the end of the range `0..end` its softmax covers: `i + 1`,
/// or `T` when it may see none (`first_real > i`: all its keys are padding) and so attends uniformly.
#[inline]
fn row_key_end(i: usize, first_real: usize, seq: usize) -> usize {
    if first_real > i { seq } else { i + 1 }
}

/// The key range `0..end` of the query block starting at `i0` and ending at `i1`: its last row's, or `T`
/// when its first row sees no key.
#[inline]
fn block_key_end(i0: usize, i1: usize, first_real: usize, seq: usize) -> usize {
    if first_real > i0 { seq } else { i1 }
}

/// The first real key of each sequence (`T` when there is none); 0 for every sequence without a mask.
fn first_real_keys(shape: &AttentionShape, keep: Option<&[u8]>) -> Vec<usize> {
    let t = shape.seq;
    (0..shape.batch)
        .map(|b| keep.map_or(0, |k| k[b * t..(b + 1) * t].iter().position(|&x| x != 0).unwrap_or(t)))
        .collect()
}

/// A raw pointer into an output whose tasks write disjoint elements (see each use).
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: every task writes only the elements of its own (batch, head) column stripe, and the `&mut [f32]`
// the pointer came from stays borrowed until the parallel loop has finished.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// A method (not `.0`) so closures capture the whole Send + Sync wrapper, not the raw field.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Softmax of one row of scores in place over `0..end`, zero beyond: `row` is the query's `[T]` scores,
/// valid on `0..end`. With `keep`, entries of padding keys and (for a query that sees no key) of future
/// keys are set to [`MASKED_SCORE`] first, so they get probability 0 (or all get 1 / T).
fn masked_softmax_row(row: &mut [f32], i: usize, end: usize, keep: Option<&[u8]>) {
    if let Some(keep) = keep {
        for (j, s) in row[..end].iter_mut().enumerate() {
            if j > i || keep[j] == 0 {
                *s = MASKED_SCORE;
            }
        }
    }
    let (live, rest) = row.split_at_mut(end);
    let m = row_max(live);
    let inv = (1.0 / exp_shifted_in_place(live, m)) as f32;
    live.iter_mut().for_each(|p| *p *= inv);
    rest.fill(0.0);
}

/// Forward: writes `out [B, T, C]` and `probs [B, H, T, T]` from `qkv [B, T, 3C]`. `keep` is an optional
/// key-padding mask `[B, T]` (1 = real token). Every element of both outputs is written.
///
/// ```
/// use kernels::attention::{causal_attention_forward, AttentionShape};
/// // One sequence of two tokens, one head of width 1: q = k = 0, so the second query averages v.
/// let shape = AttentionShape { batch: 1, seq: 2, heads: 1, head_dim: 1 };
/// let qkv = [0.0, 0.0, 1.0, /* token 1: q, k, v */ 0.0, 0.0, 3.0];
/// let (mut out, mut probs) = ([0.0; 2], [0.0; 4]);
/// causal_attention_forward(&shape, &qkv, None, &mut out, &mut probs).unwrap();
/// assert_eq!(out, [1.0, 2.0]);
/// assert_eq!(probs, [1.0, 0.0, 0.5, 0.5]);
/// ```
pub fn causal_attention_forward(
    shape: &AttentionShape,
    qkv: &[f32],
    keep: Option<&[u8]>,
    out: &mut [f32],
    probs: &mut [f32],
) -> KernelResult<()> {
    const NAME: &str = "causal_attention_forward";
    shape.check_sizes(NAME)?;
    let probs_len = shape.probs_len();
    shape.check_slices(NAME, keep, &[("qkv", qkv.len(), shape.qkv_len()), ("out", out.len(), shape.out_len()), ("probs", probs.len(), probs_len)])?;
    let (t, h, d, c) = (shape.seq, shape.heads, shape.head_dim, shape.width());
    if probs_len == 0 {
        return Ok(());
    }
    // D = 0 needs no special case: the score GEMM with k = 0 writes zeros, so the softmax is uniform over
    // the keys a query sees, and `out` has no columns (nor `o` rows to copy).
    let scale = 1.0 / (d as f32).sqrt();
    let first_real = first_real_keys(shape, keep);
    let out_ptr = SharedOut(out.as_mut_ptr());
    probs[..probs_len].par_chunks_mut(t * t).enumerate().try_for_each(|(bh, p_head)| {
        let (b, head) = (bh / h, bh % h);
        let keep_b = keep.map(|k| &k[b * t..(b + 1) * t]);
        let q = &qkv[b * t * 3 * c + head * d..];
        let (k, v) = (&q[c..], &q[2 * c..]);
        let mut o = vec![0.0f32; t * d]; // this head's [T, D] output
        for i0 in (0..t).step_by(QUERY_BLOCK) {
            let i1 = (i0 + QUERY_BLOCK).min(t);
            let (rows, kend) = (i1 - i0, block_key_end(i0, i1, first_real[b], t));
            // S[i0..i1, 0..kend] = scale · q[i0..i1] k[0..kend]ᵀ, into the probabilities' rows.
            sgemm_on_this_thread(false, true, rows, kend, d, scale, &q[i0 * 3 * c..], 3 * c, k, 3 * c, 0.0, &mut p_head[i0 * t..], t)?;
            for i in i0..i1 {
                masked_softmax_row(&mut p_head[i * t..(i + 1) * t], i, row_key_end(i, first_real[b], t), keep_b);
            }
            // O[i0..i1] = P[i0..i1, 0..kend] v[0..kend]
            sgemm_on_this_thread(false, false, rows, d, kend, 1.0, &p_head[i0 * t..], t, v, 3 * c, 0.0, &mut o[i0 * d..], d)?;
        }
        for (i, o_row) in o.chunks_exact(d.max(1)).enumerate() {
            // SAFETY: row i of sequence b, columns head·D..(head+1)·D of `out` lie inside it (checked
            // length B·T·C) and belong to this task's (b, head) alone.
            unsafe { std::ptr::copy_nonoverlapping(o_row.as_ptr(), out_ptr.get().add((b * t + i) * c + head * d), d) };
        }
        Ok(())
    })
}

/// Backward: **adds** `d qkv [B, T, 3C]` given the forward's `qkv`, its `probs`, the same `keep`, and
/// `d_out [B, T, C]`.
///
/// ```
/// use kernels::attention::{causal_attention_backward, causal_attention_forward, AttentionShape};
/// let shape = AttentionShape { batch: 1, seq: 2, heads: 1, head_dim: 1 };
/// let qkv = [0.0, 0.0, 1.0, 0.0, 0.0, 3.0];
/// let (mut out, mut probs) = ([0.0; 2], [0.0; 4]);
/// causal_attention_forward(&shape, &qkv, None, &mut out, &mut probs).unwrap();
/// let mut d_qkv = [0.0; 6];
/// causal_attention_backward(&shape, &qkv, None, &probs, &[1.0, 1.0], &mut d_qkv).unwrap();
/// // dv = Pᵀ dO: the first value is read by both queries (1 + 0.5), the second by the second (0.5).
/// assert_eq!([d_qkv[2], d_qkv[5]], [1.5, 0.5]);
/// ```
pub fn causal_attention_backward(
    shape: &AttentionShape,
    qkv: &[f32],
    keep: Option<&[u8]>,
    probs: &[f32],
    d_out: &[f32],
    d_qkv: &mut [f32],
) -> KernelResult<()> {
    const NAME: &str = "causal_attention_backward";
    shape.check_sizes(NAME)?;
    let probs_len = shape.probs_len();
    shape.check_slices(
        NAME,
        keep,
        &[
            ("qkv", qkv.len(), shape.qkv_len()),
            ("probs", probs.len(), probs_len),
            ("d_out", d_out.len(), shape.out_len()),
            ("d_qkv", d_qkv.len(), shape.qkv_len()),
        ],
    )?;
    let (t, h, d, c) = (shape.seq, shape.heads, shape.head_dim, shape.width());
    if probs_len == 0 || d == 0 {
        return Ok(()); // no q, k or v columns to differentiate
    }
    let scale = 1.0 / (d as f32).sqrt();
    let first_real = first_real_keys(shape, keep);
    let d_ptr = SharedOut(d_qkv.as_mut_ptr());
    probs[..probs_len].par_chunks(t * t).enumerate().try_for_each(|(bh, p_head)| {
        let (b, head) = (bh / h, bh % h);
        let q = &qkv[b * t * 3 * c + head * d..];
        let (k, v) = (&q[c..], &q[2 * c..]);
        let d_o = &d_out[b * t * c + head * d..];
        // This head's gradients [T, 3D]: dq | dk | dv side by side, accumulated over the query blocks.
        let mut g = vec![0.0f32; t * 3 * d];
        let mut ds = vec![0.0f32; QUERY_BLOCK.min(t) * t];
        for i0 in (0..t).step_by(QUERY_BLOCK) {
            let i1 = (i0 + QUERY_BLOCK).min(t);
            let (rows, kend) = (i1 - i0, block_key_end(i0, i1, first_real[b], t));
            let p_block = &p_head[i0 * t..];
            // dv[0..kend] += P[i0..i1, 0..kend]ᵀ dO[i0..i1]
            sgemm_on_this_thread(true, false, kend, d, rows, 1.0, p_block, t, &d_o[i0 * c..], c, 1.0, &mut g[2 * d..], 3 * d)?;
            // dP = dO[i0..i1] v[0..kend]ᵀ, then dS = P ∘ (dP − rowsum(P ∘ dP)) in place ([rows, kend]).
            let ds = &mut ds[..rows * kend];
            sgemm_on_this_thread(false, true, rows, kend, d, 1.0, &d_o[i0 * c..], c, v, 3 * c, 0.0, ds, kend)?;
            for (r, ds_row) in ds.chunks_exact_mut(kend).enumerate() {
                let p_row = &p_block[r * t..][..kend];
                let dot = row_dot(p_row, ds_row) as f32;
                ds_row.iter_mut().zip(p_row).for_each(|(x, &p)| *x = p * (*x - dot));
            }
            // dq[i0..i1] += scale · dS k[0..kend];  dk[0..kend] += scale · dSᵀ q[i0..i1]
            sgemm_on_this_thread(false, false, rows, d, kend, scale, ds, kend, k, 3 * c, 1.0, &mut g[i0 * 3 * d..], 3 * d)?;
            sgemm_on_this_thread(true, false, kend, d, rows, scale, ds, kend, &q[i0 * 3 * c..], 3 * c, 1.0, &mut g[d..], 3 * d)?;
        }
        for (i, g_row) in g.chunks_exact(3 * d).enumerate() {
            for (part, grads) in g_row.chunks_exact(d).enumerate() {
                // SAFETY: row i of sequence b, columns part·C + head·D .. + D of `d_qkv` lie inside it
                // (checked length B·T·3C) and belong to this task's (b, head) alone.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(d_ptr.get().add((b * t + i) * 3 * c + part * c + head * d), d)
                };
                dst.iter_mut().zip(grads).for_each(|(x, &gv)| *x += gv);
            }
        }
        Ok(())
    })
}

/// The oracle: the same contract computed by the definition in f64, with full `[T, T]` score matrices
/// and the mask applied as a finite fill (as the composed tensor ops do).
pub mod reference {
    use super::{AttentionShape, MASKED_SCORE};

    fn blocked(i: usize, j: usize, keep: Option<&[u8]>) -> bool {
        j > i || keep.is_some_and(|k| k[j] == 0)
    }

    /// `(out, probs)` as [`super::causal_attention_forward`] writes them.
    pub fn forward(shape: &AttentionShape, qkv: &[f32], keep: Option<&[u8]>) -> (Vec<f32>, Vec<f32>) {
        let (bn, t, h, d, c) = (shape.batch, shape.seq, shape.heads, shape.head_dim, shape.width());
        let scale = 1.0 / (d as f64).sqrt();
        let at = |b: usize, i: usize, part: usize, head: usize, x: usize| qkv[(b * t + i) * 3 * c + part * c + head * d + x] as f64;
        let mut out = vec![0.0f32; shape.out_len()];
        let mut probs = vec![0.0f32; shape.probs_len()];
        for b in 0..bn {
            let keep_b = keep.map(|k| &k[b * t..(b + 1) * t]);
            for head in 0..h {
                for i in 0..t {
                    let scores: Vec<f64> = (0..t)
                        .map(|j| {
                            if blocked(i, j, keep_b) {
                                MASKED_SCORE as f64
                            } else {
                                (0..d).map(|x| at(b, i, 0, head, x) * at(b, j, 1, head, x)).sum::<f64>() * scale
                            }
                        })
                        .collect();
                    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    for j in 0..t {
                        probs[((b * h + head) * t + i) * t + j] = (e[j] / sum) as f32;
                    }
                    for x in 0..d {
                        let o: f64 = (0..t).map(|j| e[j] / sum * at(b, j, 2, head, x)).sum();
                        out[(b * t + i) * c + head * d + x] = o as f32;
                    }
                }
            }
        }
        (out, probs)
    }

    /// `d qkv` as [`super::causal_attention_backward`] adds it into zeros.
    pub fn backward(shape: &AttentionShape, qkv: &[f32], keep: Option<&[u8]>, d_out: &[f32]) -> Vec<f32> {
        let (bn, t, h, d, c) = (shape.batch, shape.seq, shape.heads, shape.head_dim, shape.width());
        let (_, probs) = forward(shape, qkv, keep);
        let scale = 1.0 / (d as f64).sqrt();
        let idx = |b: usize, i: usize, part: usize, head: usize, x: usize| (b * t + i) * 3 * c + part * c + head * d + x;
        let mut g = vec![0.0f64; shape.qkv_len()];
        for b in 0..bn {
            for head in 0..h {
                let p = |i: usize, j: usize| probs[((b * h + head) * t + i) * t + j] as f64;
                let d_o = |i: usize, x: usize| d_out[(b * t + i) * c + head * d + x] as f64;
                for i in 0..t {
                    let dp: Vec<f64> = (0..t).map(|j| (0..d).map(|x| d_o(i, x) * qkv[idx(b, j, 2, head, x)] as f64).sum()).collect();
                    let dot: f64 = (0..t).map(|j| p(i, j) * dp[j]).sum();
                    for j in 0..t {
                        let ds = p(i, j) * (dp[j] - dot) * scale;
                        for x in 0..d {
                            g[idx(b, i, 0, head, x)] += ds * qkv[idx(b, j, 1, head, x)] as f64;
                            g[idx(b, j, 1, head, x)] += ds * qkv[idx(b, i, 0, head, x)] as f64;
                            g[idx(b, j, 2, head, x)] += p(i, j) * d_o(i, x);
                        }
                    }
                }
            }
        }
        g.into_iter().map(|x| x as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
            })
            .collect()
    }

    fn worst(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    /// Sizes around the query block (one block, an exact multiple, a ragged last block), several heads,
    /// with and without padding, including sequences whose first queries see no key at all.
    #[test]
    fn fused_matches_the_reference() {
        for (batch, seq, heads, head_dim) in [(2, 5, 2, 3), (1, 64, 1, 8), (2, 70, 3, 4), (1, 130, 2, 5), (3, 129, 1, 16)] {
            let shape = AttentionShape { batch, seq, heads, head_dim };
            let qkv = random(shape.qkv_len(), (seq * 31 + heads) as u64);
            let d_out = random(shape.out_len(), seq as u64 + 7);
            // Sequence 0 has left padding past the first query block, the next ones none or a hole.
            let keep: Vec<u8> = (0..batch * seq)
                .map(|p| {
                    let (b, j) = (p / seq, p % seq);
                    u8::from(match b {
                        0 => j >= seq.min(67) - 1,
                        1 => j % 4 != 1,
                        _ => true,
                    })
                })
                .collect();
            for keep in [None, Some(&keep[..])] {
                let (want_out, want_probs) = reference::forward(&shape, &qkv, keep);
                let (mut out, mut probs) = (vec![f32::NAN; shape.out_len()], vec![f32::NAN; shape.probs_len()]);
                causal_attention_forward(&shape, &qkv, keep, &mut out, &mut probs).unwrap();
                let label = format!("{shape:?} padded={}", keep.is_some());
                assert!(worst(&out, &want_out) < 1e-5, "{label}: out off by {}", worst(&out, &want_out));
                assert!(worst(&probs, &want_probs) < 1e-6, "{label}: probs off by {}", worst(&probs, &want_probs));
                let want_grad = reference::backward(&shape, &qkv, keep, &d_out);
                let mut grad = vec![1.0f32; shape.qkv_len()];
                causal_attention_backward(&shape, &qkv, keep, &probs, &d_out, &mut grad).unwrap();
                grad.iter_mut().for_each(|x| *x -= 1.0); // backward adds into what is there
                assert!(worst(&grad, &want_grad) < 1e-4, "{label}: d qkv off by {}", worst(&grad, &want_grad));
            }
        }
    }

    /// Heads of width 0: nothing to multiply, no panic; each query spreads evenly over the keys it sees.
    #[test]
    fn zero_width_heads() {
        let shape = AttentionShape { batch: 1, seq: 2, heads: 2, head_dim: 0 };
        let mut probs = vec![f32::NAN; shape.probs_len()];
        causal_attention_forward(&shape, &[], None, &mut [], &mut probs).unwrap();
        assert_eq!(probs, [1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 0.5, 0.5]);
        causal_attention_backward(&shape, &[], None, &probs, &[], &mut []).unwrap();
    }

    #[test]
    fn short_slices_are_errors() {
        let shape = AttentionShape { batch: 1, seq: 3, heads: 1, head_dim: 2 };
        let qkv = vec![0.0; shape.qkv_len()];
        let (mut out, mut probs) = (vec![0.0; shape.out_len()], vec![0.0; shape.probs_len() - 1]);
        let err = causal_attention_forward(&shape, &qkv, None, &mut out, &mut probs).unwrap_err();
        assert_eq!(err.to_string(), "causal_attention_forward: probs has 8 elements but the sizes given need 9");
        let err = causal_attention_forward(&shape, &qkv, Some(&[1, 1]), &mut out, &mut [0.0; 9]).unwrap_err();
        assert!(err.to_string().contains("keep has 2 elements"), "{err}");
    }
}
