//! Fused scaled dot-product attention on the GPU (`kernels/cuda/attention.cu`), flash-attention style:
//! the forward never stores the (T, T) scores (online softmax over key tiles in shared memory) and saves
//! one logsumexp per query row; the backward recomputes the probabilities from it. Same maths as
//! `autograd::ops::attention` (scale 1 / sqrt(head_dim), causal: query i sees keys j <= i), in fp32.
//!
//! Tensors are `[batch, heads, seq, head_dim]` contiguous, head_dim 32, 64 or 128; `lse` is
//! `[batch, heads, seq]`. Forward overwrites `out` and `lse`; backward **adds** into `dq`, `dk`, `dv`
//! (the crate's gradient convention). dq and dk/dv come from two kernels that each own their outputs, so
//! nothing is accumulated with atomics and results are deterministic.
//!
//! [`reference`] holds the naive f64 oracle the tests compare against.
//!
//! ```
//! use kernels::cuda::{ops::attention, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let (b, h, t, d) = (1, 1, 3, 32);
//! let q = dev.htod(&vec![0.1f32; b * h * t * d]).unwrap();
//! let v: Vec<f32> = (0..t * d).map(|i| (i / d) as f32).collect(); // row j of v is all j
//! let v = dev.htod(&v).unwrap();
//! let (mut out, mut lse) = (dev.alloc_zeros::<f32>(t * d).unwrap(), dev.alloc_zeros::<f32>(t).unwrap());
//! attention::flash_attention_forward(&dev, &q, &q, &v, b, h, t, d, true, &mut out, &mut lse).unwrap();
//! let out = dev.dtoh(&out).unwrap();
//! // Equal scores: query i averages v rows 0..=i, so row 2 is (0 + 1 + 2) / 3 = 1.
//! assert!((out[2 * d] - 1.0).abs() < 1e-5 && out[0] == 0.0);
//! ```
use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::launch::{check_len, int_arg, launched, DeviceIn, DeviceOut};
use crate::cuda::{grid_1d, ptx, CudaDevice};
use crate::error::{KernelError, KernelResult};

/// Kernel entry points in `attention.ptx`, per head_dim 32 / 64 / 128.
pub const FORWARD: [&str; 3] =
    ["flash_attention_forward_d32_f32", "flash_attention_forward_d64_f32", "flash_attention_forward_d128_f32"];
pub const BACKWARD_DQ: [&str; 3] = [
    "flash_attention_backward_dq_d32_f32",
    "flash_attention_backward_dq_d64_f32",
    "flash_attention_backward_dq_d128_f32",
];
pub const BACKWARD_DKDV: [&str; 3] = [
    "flash_attention_backward_dkdv_d32_f32",
    "flash_attention_backward_dkdv_d64_f32",
    "flash_attention_backward_dkdv_d128_f32",
];
pub const BACKWARD_PREPROCESS: &str = "flash_attention_backward_preprocess_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] = &[
    FORWARD[0],
    FORWARD[1],
    FORWARD[2],
    BACKWARD_DQ[0],
    BACKWARD_DQ[1],
    BACKWARD_DQ[2],
    BACKWARD_DKDV[0],
    BACKWARD_DKDV[1],
    BACKWARD_DKDV[2],
    BACKWARD_PREPROCESS,
];

/// Threads per block of every attention kernel (4 warps; `__launch_bounds__(128)` in the .cu file).
const THREADS: u32 = 128;
/// Query rows per forward block (4 warps x 4 rows), for every head_dim.
const FORWARD_ROWS: usize = 16;

/// Which of the three instantiations, and the rows (or keys) per backward block: 16, or 8 for head_dim
/// 128 (kept under 48 KiB of shared memory). Must match `ENTRIES(D, RPW_BWD)` in attention.cu.
fn head_dim_index(kernel: &'static str, d: usize) -> KernelResult<(usize, usize)> {
    match d {
        32 => Ok((0, 16)),
        64 => Ok((1, 16)),
        128 => Ok((2, 8)),
        _ => Err(KernelError::new(
            kernel,
            format!("head_dim {d} is not supported: the fused kernels are built for 32, 64 and 128"),
        )),
    }
}

/// The checked sizes: (batch * heads as the grid's y, seq as an int, elements of one [B, H, T, D] tensor).
fn check_shape(
    kernel: &'static str,
    batch: usize,
    heads: usize,
    seq: usize,
    head_dim: usize,
) -> KernelResult<(u32, i32, usize, usize)> {
    let bh = batch.checked_mul(heads).ok_or_else(|| KernelError::new(kernel, "batch x heads overflows"))?;
    if bh > 65_535 {
        return Err(KernelError::new(kernel, format!("batch x heads = {bh} exceeds the grid's 65535 limit along y")));
    }
    let rows = bh.checked_mul(seq).ok_or_else(|| KernelError::new(kernel, "batch x heads x seq overflows"))?;
    let n = rows.checked_mul(head_dim).ok_or_else(|| KernelError::new(kernel, "tensor size overflows"))?;
    int_arg(kernel, "batch x heads x seq x head_dim", n)?;
    Ok((bh as u32, int_arg(kernel, "seq", seq)?, n, rows))
}

/// Forward: out = softmax(q k^T / sqrt(head_dim), causal-masked if `causal`) v, and
/// lse[b, h, i] = log sum_j e^{s_ij} (over the visible keys). q, k, v, out: [batch, heads, seq, head_dim];
/// lse: [batch, heads, seq].
#[allow(clippy::too_many_arguments)]
pub fn flash_attention_forward(
    dev: &CudaDevice,
    q: &impl DeviceIn<f32>,
    k: &impl DeviceIn<f32>,
    v: &impl DeviceIn<f32>,
    batch: usize,
    heads: usize,
    seq: usize,
    head_dim: usize,
    causal: bool,
    out: &mut impl DeviceOut<f32>,
    lse: &mut impl DeviceOut<f32>,
) -> KernelResult<()> {
    const K: &str = "cuda_flash_attention_forward";
    let (q, k, v, mut out, mut lse) =
        (q.device_view(), k.device_view(), v.device_view(), out.device_view_mut(), lse.device_view_mut());
    let (di, _) = head_dim_index(K, head_dim)?;
    let (bh, t, n, rows) = check_shape(K, batch, heads, seq, head_dim)?;
    for (what, len) in [("q", q.len()), ("k", k.len()), ("v", v.len()), ("out", out.len())] {
        check_len(K, what, len, n)?;
    }
    check_len(K, "lse", lse.len(), rows)?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::ATTENTION, FORWARD[di])?;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let causal = i32::from(causal);
    let cfg = LaunchConfig {
        grid_dim: (seq.div_ceil(FORWARD_ROWS) as u32, bh, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&q).arg(&k).arg(&v).arg(&mut out).arg(&mut lse).arg(&t).arg(&scale).arg(&causal);
    launched(K, unsafe { b.launch(cfg) })
}

/// Backward: given the forward's inputs, its `out` and `lse`, and the upstream gradient `dout`, adds
/// dq += dS k, dk += dS^T q, dv += P^T dout with P recomputed from `lse` and
/// dS = P * (dout v^T - rowsum(dout * out)) / sqrt(head_dim). Shapes as in [`flash_attention_forward`].
#[allow(clippy::too_many_arguments)]
pub fn flash_attention_backward(
    dev: &CudaDevice,
    q: &impl DeviceIn<f32>,
    k: &impl DeviceIn<f32>,
    v: &impl DeviceIn<f32>,
    out: &impl DeviceIn<f32>,
    dout: &impl DeviceIn<f32>,
    lse: &impl DeviceIn<f32>,
    batch: usize,
    heads: usize,
    seq: usize,
    head_dim: usize,
    causal: bool,
    dq: &mut impl DeviceOut<f32>,
    dk: &mut impl DeviceOut<f32>,
    dv: &mut impl DeviceOut<f32>,
) -> KernelResult<()> {
    const K: &str = "cuda_flash_attention_backward";
    let (q, k, v, out, dout, lse) =
        (q.device_view(), k.device_view(), v.device_view(), out.device_view(), dout.device_view(), lse.device_view());
    let (mut dq, mut dk, mut dv) = (dq.device_view_mut(), dk.device_view_mut(), dv.device_view_mut());
    let (di, bwd_rows) = head_dim_index(K, head_dim)?;
    let (bh, t, n, rows) = check_shape(K, batch, heads, seq, head_dim)?;
    for (what, len) in [
        ("q", q.len()),
        ("k", k.len()),
        ("v", v.len()),
        ("out", out.len()),
        ("dout", dout.len()),
        ("dq", dq.len()),
        ("dk", dk.len()),
        ("dv", dv.len()),
    ] {
        check_len(K, what, len, n)?;
    }
    check_len(K, "lse", lse.len(), rows)?;
    if n == 0 {
        return Ok(());
    }
    let scale = 1.0 / (head_dim as f32).sqrt();
    let causal = i32::from(causal);

    // delta[i] = sum_d dout[i, d] out[i, d]: the rowsum(dP * P) term, computed once per query row.
    let mut delta = dev.alloc_zeros::<f32>(rows)?;
    let pre = dev.function(&ptx::ATTENTION, BACKWARD_PREPROCESS)?;
    let (rows64, d32) = (rows as i64, head_dim as i32);
    let mut b = dev.stream().launch_builder(&pre);
    b.arg(&out).arg(&dout).arg(&rows64).arg(&d32).arg(&mut delta);
    // One warp per row, 8 warps per block (the kernel loops if the grid is capped).
    launched(K, unsafe { b.launch(grid_1d(rows.saturating_mul(32).min(i32::MAX as usize), 256)) })?;

    let grid = (seq.div_ceil(bwd_rows) as u32, bh, 1);
    let cfg = LaunchConfig { grid_dim: grid, block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
    let fdq = dev.function(&ptx::ATTENTION, BACKWARD_DQ[di])?;
    let mut b = dev.stream().launch_builder(&fdq);
    b.arg(&q).arg(&k).arg(&v).arg(&dout).arg(&lse).arg(&delta).arg(&mut dq).arg(&t).arg(&scale).arg(&causal);
    launched(K, unsafe { b.launch(cfg) })?;

    let fkv = dev.function(&ptx::ATTENTION, BACKWARD_DKDV[di])?;
    let mut b = dev.stream().launch_builder(&fkv);
    b.arg(&q)
        .arg(&k)
        .arg(&v)
        .arg(&dout)
        .arg(&lse)
        .arg(&delta)
        .arg(&mut dk)
        .arg(&mut dv)
        .arg(&t)
        .arg(&scale)
        .arg(&causal);
    launched(K, unsafe { b.launch(cfg) })
}

/// Naive f64 attention on the host, statement by statement as `autograd::ops::attention`: the oracle for
/// the GPU kernels. Same layout as the GPU functions; backward adds into its gradients.
pub mod reference {
    /// (out, lse) for `[bh, t, d]` inputs: S = q k^T / sqrt(d), masked j > i when causal, P = softmax(S).
    #[allow(clippy::too_many_arguments)]
    pub fn attention_forward_naive(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        bh: usize,
        t: usize,
        d: usize,
        causal: bool,
        out: &mut [f32],
        lse: &mut [f32],
    ) {
        let scale = 1.0 / (d as f64).sqrt();
        for h in 0..bh {
            let base = h * t * d;
            for i in 0..t {
                let visible = if causal { i + 1 } else { t };
                let s: Vec<f64> = (0..visible)
                    .map(|j| {
                        (0..d).map(|c| q[base + i * d + c] as f64 * k[base + j * d + c] as f64).sum::<f64>() * scale
                    })
                    .collect();
                let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = s.iter().map(|x| (x - m).exp()).sum();
                lse[h * t + i] = (m + sum.ln()) as f32;
                for c in 0..d {
                    let o: f64 = (0..visible).map(|j| (s[j] - m).exp() / sum * v[base + j * d + c] as f64).sum();
                    out[base + i * d + c] = o as f32;
                }
            }
        }
    }

    /// dq += dS k, dk += dS^T q, dv += P^T dout (P recomputed in f64 from q and k).
    #[allow(clippy::too_many_arguments)]
    pub fn attention_backward_naive(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        dout: &[f32],
        bh: usize,
        t: usize,
        d: usize,
        causal: bool,
        dq: &mut [f32],
        dk: &mut [f32],
        dv: &mut [f32],
    ) {
        let scale = 1.0 / (d as f64).sqrt();
        for h in 0..bh {
            let base = h * t * d;
            let (mut gq, mut gk, mut gv) = (vec![0.0f64; t * d], vec![0.0f64; t * d], vec![0.0f64; t * d]);
            for i in 0..t {
                let visible = if causal { i + 1 } else { t };
                let s: Vec<f64> = (0..visible)
                    .map(|j| {
                        (0..d).map(|c| q[base + i * d + c] as f64 * k[base + j * d + c] as f64).sum::<f64>() * scale
                    })
                    .collect();
                let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = s.iter().map(|x| (x - m).exp()).sum();
                let p: Vec<f64> = s.iter().map(|x| (x - m).exp() / sum).collect();
                let dp: Vec<f64> = (0..visible)
                    .map(|j| (0..d).map(|c| dout[base + i * d + c] as f64 * v[base + j * d + c] as f64).sum())
                    .collect();
                let dot: f64 = (0..visible).map(|j| p[j] * dp[j]).sum();
                for j in 0..visible {
                    let ds = p[j] * (dp[j] - dot) * scale;
                    for c in 0..d {
                        gq[i * d + c] += ds * k[base + j * d + c] as f64;
                        gk[j * d + c] += ds * q[base + i * d + c] as f64;
                        gv[j * d + c] += p[j] * dout[base + i * d + c] as f64;
                    }
                }
            }
            for e in 0..t * d {
                dq[base + e] += gq[e] as f32;
                dk[base + e] += gk[e] as f32;
                dv[base + e] += gv[e] as f32;
            }
        }
    }
}
