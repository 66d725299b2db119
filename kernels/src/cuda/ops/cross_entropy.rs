//! Fused softmax + cross-entropy on the GPU (`kernels/cuda/cross_entropy.cu`), forward and backward side by
//! side. Mirrors [`crate::cross_entropy_forward`] / [`crate::cross_entropy_backward`]: logits are
//! `(rows, cols)`, one `i64` target per row, rows whose target is `ignore_index` get loss 0 and no
//! gradient, forward saves one logsumexp per row and backward adds into `dlogits`.
//!
//! One difference, because the targets stay on the device: a target outside `[0, cols)` that is not
//! `ignore_index` is not reported as an error (that would need a copy back and a wait); its row gets loss
//! NaN, which shows in any mean loss, and no gradient. Check targets on the host before uploading them if
//! they come from untrusted data.
//!
//! ```
//! use kernels::cuda::{ops::cross_entropy, ops::launch::Launch, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let logits = dev.htod(&[0.0f32, 0.0, 1.0, 1.0]).unwrap();
//! let targets = dev.htod(&[1i64, -100]).unwrap();
//! let (mut loss, mut lse) = (dev.alloc_zeros::<f32>(2).unwrap(), dev.alloc_zeros::<f32>(2).unwrap());
//! cross_entropy::cross_entropy_forward(&dev, &logits, 2, 2, &targets, -100, &mut loss, &mut lse, Launch::AUTO).unwrap();
//! let loss = dev.dtoh(&loss).unwrap();
//! assert!((loss[0] - std::f32::consts::LN_2).abs() < 1e-6 && loss[1] == 0.0);
//! ```
use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::launch::{check_len, check_threads, int_arg, launched, matrix_len, row_config, DeviceIn, DeviceOut, Launch};
use crate::cuda::{ptx, CudaDevice};
use crate::error::{KernelError, KernelResult};

/// Kernel entry points in `cross_entropy.ptx`.
pub const CROSS_ENTROPY_FORWARD: &str = "cross_entropy_forward_f32";
pub const CROSS_ENTROPY_BACKWARD: &str = "cross_entropy_backward_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] = &[CROSS_ENTROPY_FORWARD, CROSS_ENTROPY_BACKWARD];

/// Forward: logsumexp[r] = log sum_c e^{logits[r, c]}, loss[r] = logsumexp[r] - logits[r, target[r]]
/// (0 for ignored rows, whose logsumexp is still written). See [`crate::cross_entropy_forward`].
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_forward(
    dev: &CudaDevice,
    logits: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    targets: &impl DeviceIn<i64>,
    ignore_index: i64,
    loss: &mut impl DeviceOut<f32>,
    logsumexp: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_cross_entropy_forward";
    let (logits, targets, mut loss, mut lse) =
        (logits.device_view(), targets.device_view(), loss.device_view_mut(), logsumexp.device_view_mut());
    check_len(K, "logits", logits.len(), matrix_len(K, rows, cols)?)?;
    check_len(K, "targets", targets.len(), rows)?;
    check_len(K, "loss", loss.len(), rows)?;
    check_len(K, "logsumexp", lse.len(), rows)?;
    if cols == 0 && rows > 0 {
        return Err(KernelError::new(K, format!("cols is 0 (rows {rows}): no classes to predict")));
    }
    if rows == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::CROSS_ENTROPY, CROSS_ENTROPY_FORWARD)?;
    let (r, c) = (int_arg(K, "rows", rows)?, int_arg(K, "cols", cols)?);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&logits).arg(&targets).arg(&r).arg(&c).arg(&ignore_index).arg(&mut loss).arg(&mut lse);
    launched(K, unsafe { b.launch(row_config(K, launch, rows, cols)?) })
}

/// Backward: dlogits[r, c] += (e^(logits[r, c] - logsumexp[r]) - onehot(target[r])[c]) * dloss[r];
/// ignored rows are untouched. `launch.threads` (default 256) threads each cover 4 columns of a row;
/// `launch.blocks` caps the blocks along rows (the kernel loops over the rest). See
/// [`crate::cross_entropy_backward`].
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_backward(
    dev: &CudaDevice,
    logits: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    targets: &impl DeviceIn<i64>,
    ignore_index: i64,
    logsumexp: &impl DeviceIn<f32>,
    dloss: &impl DeviceIn<f32>,
    dlogits: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_cross_entropy_backward";
    let (logits, targets, lse, dloss, mut dl) = (
        logits.device_view(),
        targets.device_view(),
        logsumexp.device_view(),
        dloss.device_view(),
        dlogits.device_view_mut(),
    );
    let n = matrix_len(K, rows, cols)?;
    check_len(K, "logits", logits.len(), n)?;
    check_len(K, "dlogits", dl.len(), n)?;
    check_len(K, "targets", targets.len(), rows)?;
    check_len(K, "logsumexp", lse.len(), rows)?;
    check_len(K, "dloss", dloss.len(), rows)?;
    if n == 0 {
        return Ok(());
    }
    let threads = if launch.threads != 0 { check_threads(K, launch.threads)? } else { 256 };
    let mut row_blocks = rows.min(65_535) as u32;
    if launch.blocks != 0 {
        row_blocks = row_blocks.min(launch.blocks);
    }
    let cfg = LaunchConfig {
        grid_dim: (cols.div_ceil(4 * threads as usize).min(i32::MAX as usize) as u32, row_blocks, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: 0,
    };
    let f = dev.function(&ptx::CROSS_ENTROPY, CROSS_ENTROPY_BACKWARD)?;
    let (r, c) = (int_arg(K, "rows", rows)?, int_arg(K, "cols", cols)?);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&logits).arg(&targets).arg(&r).arg(&c).arg(&ignore_index).arg(&lse).arg(&dloss).arg(&mut dl);
    launched(K, unsafe { b.launch(cfg) })
}
