//! Softmax and log-softmax over the last dim of a contiguous `(rows, cols)` matrix on the GPU
//! (`kernels/cuda/softmax.cu`), forward and backward side by side. Each mirrors the CPU kernel of the same
//! name in [`crate::softmax`]: every buffer holds at least rows × cols values, and backward adds into `dx`.
//!
//! ```
//! use kernels::cuda::{ops::softmax, ops::launch::Launch, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let x = dev.htod(&[0.0f32, 0.0]).unwrap();
//! let mut y = dev.alloc_zeros::<f32>(2).unwrap();
//! softmax::softmax_rows(&dev, &x, 1, 2, &mut y, Launch::AUTO).unwrap();
//! assert_eq!(dev.dtoh(&y).unwrap(), vec![0.5, 0.5]);
//! ```
use cudarc::driver::PushKernelArg;

use super::launch::{check_len, int_arg, launched, matrix_len, row_config, DeviceIn, DeviceOut, Launch};
use crate::cuda::{ptx, CudaDevice};
use crate::error::KernelResult;

/// Kernel entry points in `softmax.ptx`.
pub const SOFTMAX_ROWS: &str = "softmax_rows_f32";
pub const LOG_SOFTMAX_ROWS: &str = "log_softmax_rows_f32";
pub const SOFTMAX_ROWS_BACKWARD: &str = "softmax_rows_backward_f32";
pub const LOG_SOFTMAX_ROWS_BACKWARD: &str = "log_softmax_rows_backward_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] = &[SOFTMAX_ROWS, LOG_SOFTMAX_ROWS, SOFTMAX_ROWS_BACKWARD, LOG_SOFTMAX_ROWS_BACKWARD];

#[allow(clippy::too_many_arguments)]
fn forward(
    kernel: &'static str,
    entry: &'static str,
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    let (x, mut out) = (x.device_view(), out.device_view_mut());
    let n = matrix_len(kernel, rows, cols)?;
    check_len(kernel, "x", x.len(), n)?;
    check_len(kernel, "out", out.len(), n)?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::SOFTMAX, entry)?;
    let (r, c) = (int_arg(kernel, "rows", rows)?, int_arg(kernel, "cols", cols)?);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&x).arg(&r).arg(&c).arg(&mut out);
    launched(kernel, unsafe { b.launch(row_config(kernel, launch, rows, cols)?) })
}

#[allow(clippy::too_many_arguments)]
fn backward(
    kernel: &'static str,
    entry: &'static str,
    dev: &CudaDevice,
    y: &impl DeviceIn<f32>,
    dy: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    dx: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    let (y, dy, mut dx) = (y.device_view(), dy.device_view(), dx.device_view_mut());
    let n = matrix_len(kernel, rows, cols)?;
    check_len(kernel, "y", y.len(), n)?;
    check_len(kernel, "dy", dy.len(), n)?;
    check_len(kernel, "dx", dx.len(), n)?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::SOFTMAX, entry)?;
    let (r, c) = (int_arg(kernel, "rows", rows)?, int_arg(kernel, "cols", cols)?);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&y).arg(&dy).arg(&r).arg(&c).arg(&mut dx);
    launched(kernel, unsafe { b.launch(row_config(kernel, launch, rows, cols)?) })
}

/// out = softmax(x) along each row (see [`crate::softmax_rows`]).
pub fn softmax_rows(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    forward("cuda_softmax_rows", SOFTMAX_ROWS, dev, x, rows, cols, out, launch)
}

/// out = log_softmax(x) along each row (see [`crate::log_softmax_rows`]).
pub fn log_softmax_rows(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    forward("cuda_log_softmax_rows", LOG_SOFTMAX_ROWS, dev, x, rows, cols, out, launch)
}

/// Softmax backward: dx += y * (dy - sum_c dy_c y_c), `y` the forward output (see
/// [`crate::softmax_rows_backward`]).
#[allow(clippy::too_many_arguments)]
pub fn softmax_rows_backward(
    dev: &CudaDevice,
    y: &impl DeviceIn<f32>,
    dy: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    dx: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    backward("cuda_softmax_rows_backward", SOFTMAX_ROWS_BACKWARD, dev, y, dy, rows, cols, dx, launch)
}

/// Log-softmax backward: dx += dy - e^y * sum_c dy_c, `y` the log-softmax output (see
/// [`crate::log_softmax_rows_backward`]).
#[allow(clippy::too_many_arguments)]
pub fn log_softmax_rows_backward(
    dev: &CudaDevice,
    y: &impl DeviceIn<f32>,
    dy: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    dx: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    backward("cuda_log_softmax_rows_backward", LOG_SOFTMAX_ROWS_BACKWARD, dev, y, dy, rows, cols, dx, launch)
}
