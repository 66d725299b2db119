//! One AdamW step on the GPU (`kernels/cuda/adamw.cu`), bit for bit the same as [`crate::adamw_step`]:
//! decoupled weight decay, bias-corrected moments, eps added after the square root, PyTorch's order of
//! operations. The per-step scalars are computed here in f64 exactly as the CPU kernel computes them, and
//! the kernel uses explicitly rounded f32 operations (no fused multiply-adds), so the two agree to the bit.
//!
//! ```
//! use kernels::cuda::{ops::adamw, ops::launch::Launch, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let cfg = kernels::AdamWConfig { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
//! let (mut p, g) = (dev.htod(&[1.0f32]).unwrap(), dev.htod(&[0.5f32]).unwrap());
//! let (mut m, mut v) = (dev.alloc_zeros::<f32>(1).unwrap(), dev.alloc_zeros::<f32>(1).unwrap());
//! adamw::adamw_step(&dev, &mut p, &g, &mut m, &mut v, &cfg, 1, Launch::AUTO).unwrap();
//! assert!((dev.dtoh(&p).unwrap()[0] - 0.9).abs() < 1e-6); // the first step moves by lr * sign(g)
//! ```
use cudarc::driver::PushKernelArg;

use super::launch::{flat_config, launched, DeviceIn, DeviceOut, Launch};
use crate::adamw::AdamWConfig;
use crate::cuda::{ptx, CudaDevice};
use crate::error::{KernelError, KernelResult};

/// Kernel entry point in `adamw.ptx`.
pub const ADAMW_STEP: &str = "adamw_step_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] = &[ADAMW_STEP];

/// The per-step scalars, in the kernel's argument order: (1 - b1, 1 - b2, b2, eps, 1 - lr wd,
/// lr / (1 - b1^t), sqrt(1 - b2^t)). Computed in f64 and rounded once, statement for statement as
/// `scalars` in kernels/src/adamw.rs (the bit-exact GPU test holds the two together).
///
/// ```
/// let cfg = kernels::AdamWConfig::default();
/// let s = kernels::cuda::ops::adamw::step_scalars(&cfg, 1);
/// assert_eq!(s[0], (1.0 - 0.9f32 as f64) as f32);
/// assert!((s[5] - 1e-3 / 0.1).abs() < 1e-7); // lr / (1 - beta1) at step 1
/// ```
pub fn step_scalars(cfg: &AdamWConfig, step: u64) -> [f32; 7] {
    let t = step.min(i32::MAX as u64) as i32;
    let bc1 = 1.0 - (cfg.beta1 as f64).powi(t);
    let bc2 = 1.0 - (cfg.beta2 as f64).powi(t);
    [
        (1.0 - cfg.beta1 as f64) as f32,
        (1.0 - cfg.beta2 as f64) as f32,
        cfg.beta2,
        cfg.eps,
        (1.0 - cfg.lr as f64 * cfg.weight_decay as f64) as f32,
        (cfg.lr as f64 / bc1) as f32,
        bc2.sqrt() as f32,
    ]
}

/// One AdamW step in place on `params`, `m` (first moment) and `v` (second moment); `step` is 1-based.
/// All four buffers have the same length. See [`crate::adamw_step`].
#[allow(clippy::too_many_arguments)]
pub fn adamw_step(
    dev: &CudaDevice,
    params: &mut impl DeviceOut<f32>,
    grads: &impl DeviceIn<f32>,
    m: &mut impl DeviceOut<f32>,
    v: &mut impl DeviceOut<f32>,
    cfg: &AdamWConfig,
    step: u64,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_adamw_step";
    let (mut p, g, mut m, mut v) =
        (params.device_view_mut(), grads.device_view(), m.device_view_mut(), v.device_view_mut());
    let n = p.len();
    if g.len() != n || m.len() != n || v.len() != n {
        return Err(KernelError::new(
            K,
            format!("lengths must be equal: params {n}, grads {}, m {}, v {}", g.len(), m.len(), v.len()),
        ));
    }
    if step == 0 {
        return Err(KernelError::new(K, "step is 1-based (bias correction divides by 1 - beta^step); got 0"));
    }
    if n == 0 {
        return Ok(());
    }
    let s = step_scalars(cfg, step);
    let f = dev.function(&ptx::ADAMW, ADAMW_STEP)?;
    let n64 = n as i64;
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&mut p).arg(&g).arg(&mut m).arg(&mut v).arg(&n64);
    for x in &s {
        b.arg(x);
    }
    launched(K, unsafe { b.launch(flat_config(K, launch, n)?) })
}
