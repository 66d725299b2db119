//! One AdamW optimizer step over a flat parameter buffer, with `torch.optim.AdamW` semantics
//! (decoupled weight decay, bias-corrected moments, eps added after the square root).
use rayon::prelude::*;

use crate::error::{KernelError, KernelResult};

/// Below this many parameters the step runs on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 15;
/// Parameters per parallel task.
const PAR_CHUNK: usize = 1 << 13;

/// AdamW hyper-parameters (PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2).
#[derive(Clone, Copy, Debug)]
pub struct AdamWConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2 }
    }
}

/// The per-step scalars, computed once in f64 as PyTorch does in Python floats (1 - beta too: in f32,
/// 1 - 0.999f32 would be off by 1.3e-5 relative).
#[derive(Clone, Copy)]
struct StepScalars {
    one_minus_b1: f32,
    one_minus_b2: f32,
    decay: f32,      // 1 - lr * wd
    step_size: f32,  // lr / (1 - beta1^t)
    bc2_sqrt: f32,   // sqrt(1 - beta2^t)
}

fn scalars(cfg: &AdamWConfig, step: u64) -> StepScalars {
    let t = step.min(i32::MAX as u64) as i32;
    let bc1 = 1.0 - (cfg.beta1 as f64).powi(t);
    let bc2 = 1.0 - (cfg.beta2 as f64).powi(t);
    StepScalars {
        one_minus_b1: (1.0 - cfg.beta1 as f64) as f32,
        one_minus_b2: (1.0 - cfg.beta2 as f64) as f32,
        decay: (1.0 - cfg.lr as f64 * cfg.weight_decay as f64) as f32,
        step_size: (cfg.lr as f64 / bc1) as f32,
        bc2_sqrt: bc2.sqrt() as f32,
    }
}

/// One AdamW step, in place on `params`, `m` (first moment) and `v` (second moment); `step` is 1-based.
///
/// p *= 1 - lr wd; m = b1 m + (1 - b1) g (as PyTorch's lerp: m + (1 - b1)(g - m)); v = b2 v + (1 - b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (PyTorch's order of operations).
///
/// ```
/// let cfg = kernels::AdamWConfig { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
/// let (mut p, mut m, mut v) = ([1.0f32], [0.0f32], [0.0f32]);
/// kernels::adamw_step(&mut p, &[0.5], &mut m, &mut v, &cfg, 1).unwrap();
/// assert!((p[0] - 0.9).abs() < 1e-6); // the first step moves by lr * sign(g)
/// ```
pub fn adamw_step(params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32], cfg: &AdamWConfig, step: u64) -> KernelResult<()> {
    const K: &str = "adamw_step";
    let n = params.len();
    if grads.len() != n || m.len() != n || v.len() != n {
        return Err(KernelError::new(
            K,
            format!("lengths must be equal: params {n}, grads {}, m {}, v {}", grads.len(), m.len(), v.len()),
        ));
    }
    if step == 0 {
        return Err(KernelError::new(K, "step is 1-based (bias correction divides by 1 - beta^step); got 0"));
    }
    let s = scalars(cfg, step);
    let (b2, eps) = (cfg.beta2, cfg.eps);
    let run = |p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
        // A plain zipped loop: LLVM vectorises it (sqrt and div included).
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            // PyTorch: exp_avg.lerp_(g, 1 - b1), i.e. m + (1 - b1)(g - m);
            // exp_avg_sq.mul_(b2).addcmul_(g, g, value = 1 - b2).
            let mi = *m + s.one_minus_b1 * (g - *m);
            let vi = b2 * *v + s.one_minus_b2 * g * g;
            *m = mi;
            *v = vi;
            let denom = vi.sqrt() / s.bc2_sqrt + eps;
            *p = *p * s.decay - s.step_size * mi / denom;
        }
    };
    if n < PAR_MIN_ELEMS {
        run(params, grads, m, v);
    } else {
        params
            .par_chunks_mut(PAR_CHUNK)
            .zip(grads.par_chunks(PAR_CHUNK))
            .zip(m.par_chunks_mut(PAR_CHUNK))
            .zip(v.par_chunks_mut(PAR_CHUNK))
            .for_each(|(((p, g), m), v)| run(p, g, m, v));
    }
    Ok(())
}

/// Naive reference in f64, statement by statement as in `torch.optim.AdamW` (single-tensor path).
pub mod reference {
    use super::AdamWConfig;

    pub fn adamw_step_naive(params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32], cfg: &AdamWConfig, step: u64) {
        let (lr, b1, b2, eps, wd) = (cfg.lr as f64, cfg.beta1 as f64, cfg.beta2 as f64, cfg.eps as f64, cfg.weight_decay as f64);
        let bc1 = 1.0 - b1.powi(step as i32);
        let bc2 = 1.0 - b2.powi(step as i32);
        for i in 0..params.len() {
            let mut p = params[i] as f64;
            let g = grads[i] as f64;
            p *= 1.0 - lr * wd;
            let mi = m[i] as f64 + (1.0 - b1) * (g - m[i] as f64);
            let vi = b2 * v[i] as f64 + (1.0 - b2) * g * g;
            let denom = vi.sqrt() / bc2.sqrt() + eps;
            p -= lr / bc1 * mi / denom;
            params[i] = p as f32;
            m[i] = mi as f32;
            v[i] = vi as f32;
        }
    }
}
