//! Layer normalisation over the last dim of a contiguous `(rows, cols)` matrix on the GPU
//! (`kernels/cuda/layernorm.cu`), forward and backward side by side. Mirrors [`crate::layernorm_forward`]
//! and [`crate::layernorm_backward`]: forward saves each row's mean and rstd; backward adds into `dx` and,
//! when given, `dgamma` / `dbeta`.
//!
//! The parameter gradients are column sums over rows, computed in row chunks whose partials are added in
//! chunk order (no atomics), so backward is deterministic.
//!
//! ```
//! use kernels::cuda::{ops::layernorm, ops::launch::Launch, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let x = dev.htod(&[1.0f32, 3.0]).unwrap();
//! let mut out = dev.alloc_zeros::<f32>(2).unwrap();
//! let (mut mean, mut rstd) = (dev.alloc_zeros::<f32>(1).unwrap(), dev.alloc_zeros::<f32>(1).unwrap());
//! layernorm::layernorm_forward(&dev, &x, None, None, 1, 2, 0.0, &mut out, &mut mean, &mut rstd, Launch::AUTO).unwrap();
//! assert_eq!(dev.dtoh(&out).unwrap(), vec![-1.0, 1.0]);
//! assert_eq!(dev.dtoh(&mean).unwrap(), vec![2.0]);
//! ```
use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::launch::{check_len, int_arg, launched, matrix_len, row_config, DeviceIn, DeviceOut, Launch};
use super::reduce::{column_chunks, COL_BLOCK};
use crate::cuda::{grid_1d, ptx, CudaDevice};
use crate::error::{KernelError, KernelResult};

/// Kernel entry points in `layernorm.ptx`.
pub const LAYERNORM_FORWARD: &str = "layernorm_forward_f32";
pub const LAYERNORM_BACKWARD_DX: &str = "layernorm_backward_dx_f32";
pub const LAYERNORM_BACKWARD_PARAMS_PARTIAL: &str = "layernorm_backward_params_partial_f32";
pub const LAYERNORM_BACKWARD_PARAMS_FINISH: &str = "layernorm_backward_params_finish_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] =
    &[LAYERNORM_FORWARD, LAYERNORM_BACKWARD_DX, LAYERNORM_BACKWARD_PARAMS_PARTIAL, LAYERNORM_BACKWARD_PARAMS_FINISH];

fn check_param(kernel: &'static str, what: &str, len: Option<usize>, cols: usize) -> KernelResult<()> {
    match len {
        Some(l) if l != cols => Err(KernelError::new(kernel, format!("{what} has {l} elements but cols is {cols}"))),
        _ => Ok(()),
    }
}

/// LayerNorm forward: out = (x - mean) * rstd * gamma + beta per row, with `mean` and `rstd`
/// (rows values each) saved for backward. `gamma` / `beta` are `cols` long, or `None` for identity scale /
/// zero shift. See [`crate::layernorm_forward`].
#[allow(clippy::too_many_arguments)]
pub fn layernorm_forward(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    gamma: Option<&dyn DeviceIn<f32>>,
    beta: Option<&dyn DeviceIn<f32>>,
    rows: usize,
    cols: usize,
    eps: f32,
    out: &mut impl DeviceOut<f32>,
    mean: &mut impl DeviceOut<f32>,
    rstd: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_layernorm_forward";
    let (x, mut out, mut mean, mut rstd) =
        (x.device_view(), out.device_view_mut(), mean.device_view_mut(), rstd.device_view_mut());
    let (gamma, beta) = (gamma.map(|g| g.device_view()), beta.map(|b| b.device_view()));
    let n = matrix_len(K, rows, cols)?;
    check_len(K, "x", x.len(), n)?;
    check_len(K, "out", out.len(), n)?;
    check_param(K, "gamma", gamma.as_ref().map(|g| g.len()), cols)?;
    check_param(K, "beta", beta.as_ref().map(|b| b.len()), cols)?;
    check_len(K, "mean", mean.len(), rows)?;
    check_len(K, "rstd", rstd.len(), rows)?;
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::LAYERNORM, LAYERNORM_FORWARD)?;
    let (r, c) = (int_arg(K, "rows", rows)?, int_arg(K, "cols", cols)?);
    let (has_g, has_b) = (i32::from(gamma.is_some()), i32::from(beta.is_some()));
    // An absent parameter is never read (has_* = 0); x stands in as a valid pointer.
    let g = gamma.unwrap_or_else(|| x.slice(..));
    let bt = beta.unwrap_or_else(|| x.slice(..));
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&x)
        .arg(&g)
        .arg(&has_g)
        .arg(&bt)
        .arg(&has_b)
        .arg(&r)
        .arg(&c)
        .arg(&eps)
        .arg(&mut out)
        .arg(&mut mean)
        .arg(&mut rstd);
    launched(K, unsafe { b.launch(row_config(K, launch, rows, cols)?) })
}

/// LayerNorm backward: dx += rstd (dn - mean(dn) - xhat mean(dn xhat)) with dn = dy * gamma, and, when
/// given, dgamma[c] += sum_r dy xhat and dbeta[c] += sum_r dy. `mean` / `rstd` are what forward saved.
/// `launch.threads` sets the row kernel's block; `launch.blocks` the number of row chunks of the parameter
/// gradients (see [`super::launch::Launch`]). See [`crate::layernorm_backward`].
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    gamma: Option<&dyn DeviceIn<f32>>,
    mean: &impl DeviceIn<f32>,
    rstd: &impl DeviceIn<f32>,
    dy: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    dx: &mut impl DeviceOut<f32>,
    dgamma: Option<&mut dyn DeviceOut<f32>>,
    dbeta: Option<&mut dyn DeviceOut<f32>>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_layernorm_backward";
    let (x, mean, rstd, dy, mut dx) =
        (x.device_view(), mean.device_view(), rstd.device_view(), dy.device_view(), dx.device_view_mut());
    let gamma = gamma.map(|g| g.device_view());
    let mut dgamma = dgamma.map(|g| g.device_view_mut());
    let mut dbeta = dbeta.map(|b| b.device_view_mut());
    let n = matrix_len(K, rows, cols)?;
    check_len(K, "x", x.len(), n)?;
    check_len(K, "dy", dy.len(), n)?;
    check_len(K, "dx", dx.len(), n)?;
    check_param(K, "gamma", gamma.as_ref().map(|g| g.len()), cols)?;
    check_param(K, "dgamma", dgamma.as_ref().map(|g| g.len()), cols)?;
    check_param(K, "dbeta", dbeta.as_ref().map(|b| b.len()), cols)?;
    check_len(K, "mean", mean.len(), rows)?;
    check_len(K, "rstd", rstd.len(), rows)?;
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let (r, c) = (int_arg(K, "rows", rows)?, int_arg(K, "cols", cols)?);

    let f = dev.function(&ptx::LAYERNORM, LAYERNORM_BACKWARD_DX)?;
    let has_g = i32::from(gamma.is_some());
    let g = gamma.unwrap_or_else(|| x.slice(..));
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&x).arg(&g).arg(&has_g).arg(&mean).arg(&rstd).arg(&dy).arg(&r).arg(&c).arg(&mut dx);
    launched(K, unsafe { b.launch(row_config(K, launch, rows, cols)?) })?;

    if dgamma.is_none() && dbeta.is_none() {
        return Ok(());
    }
    let chunks = column_chunks(rows, cols, Launch { threads: 0, blocks: launch.blocks });
    let rows_per_chunk = rows.div_ceil(chunks).max(1);
    let chunks = rows.div_ceil(rows_per_chunk).max(1);
    let rpc = int_arg(K, "rows per chunk", rows_per_chunk)?;
    let mut partial = dev.alloc_zeros::<f32>(2 * chunks * cols)?;
    let partial_fn = dev.function(&ptx::LAYERNORM, LAYERNORM_BACKWARD_PARAMS_PARTIAL)?;
    let cfg = LaunchConfig {
        grid_dim: (cols.div_ceil(COL_BLOCK.0 as usize) as u32, chunks as u32, 1),
        block_dim: (COL_BLOCK.0, COL_BLOCK.1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = dev.stream().launch_builder(&partial_fn);
    b.arg(&x).arg(&mean).arg(&rstd).arg(&dy).arg(&r).arg(&c).arg(&rpc).arg(&mut partial);
    launched(K, unsafe { b.launch(cfg) })?;

    // A gradient that was not asked for is never written (want_* = 0); a 1-element buffer stands in for
    // its pointer (one per slot, as both are borrowed mutably by the same launch).
    let (mut dummy, mut dummy2) = (dev.alloc_zeros::<f32>(1)?, dev.alloc_zeros::<f32>(1)?);
    let (want_g, want_b) = (i32::from(dgamma.is_some()), i32::from(dbeta.is_some()));
    let finish = dev.function(&ptx::LAYERNORM, LAYERNORM_BACKWARD_PARAMS_FINISH)?;
    let nchunks = chunks as i32;
    let mut b = dev.stream().launch_builder(&finish);
    b.arg(&partial).arg(&nchunks).arg(&c);
    match dgamma.as_mut() {
        Some(g) => b.arg(g),
        None => b.arg(&mut dummy),
    };
    b.arg(&want_g);
    match dbeta.as_mut() {
        Some(bb) => b.arg(bb),
        None => b.arg(&mut dummy2),
    };
    b.arg(&want_b);
    launched(K, unsafe { b.launch(grid_1d(cols, 256)) })
}
