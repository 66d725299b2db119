//! Row and column reductions on the GPU (`kernels/cuda/reduce.cu`) over a contiguous `(rows, cols)`
//! matrix: sum, mean, max, min per row, and the sum over rows per column (bias gradients). Each mirrors
//! the CPU kernel of the same name in [`crate::reduce`]: `x` holds at least rows × cols values, `out` at
//! least rows (or cols), and `sum_cols` overwrites its output.
//!
//! Accumulation is f32 within each thread and tree-combined across the block (see the .cu file), so the
//! result matches the CPU's f64-blocked sums to about 1e-6 relative to the sum of |x|, not bit for bit.
//! The order depends only on the sizes and the launch, so repeated runs give identical bits.
//!
//! ```
//! use kernels::cuda::{ops::reduce, ops::launch::Launch, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let x = dev.htod(&[1.0f32, 2.0, 3.0, 4.0]).unwrap();
//! let mut out = dev.alloc_zeros::<f32>(2).unwrap();
//! reduce::sum_rows(&dev, &x, 2, 2, &mut out, Launch::AUTO).unwrap();
//! assert_eq!(dev.dtoh(&out).unwrap(), vec![3.0, 7.0]);
//! ```
use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::launch::{check_len, int_arg, launched, matrix_len, row_config, DeviceIn, DeviceOut, Launch};
use crate::cuda::{ptx, CudaDevice};
use crate::error::{KernelError, KernelResult};

/// Kernel entry points in `reduce.ptx`.
pub const SUM_ROWS: &str = "sum_rows_f32";
pub const MEAN_ROWS: &str = "mean_rows_f32";
pub const MAX_ROWS: &str = "max_rows_f32";
pub const MIN_ROWS: &str = "min_rows_f32";
pub const SUM_COLS_PARTIAL: &str = "sum_cols_partial_f32";
pub const SUM_COLS_FINISH: &str = "sum_cols_finish_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] = &[SUM_ROWS, MEAN_ROWS, MAX_ROWS, MIN_ROWS, SUM_COLS_PARTIAL, SUM_COLS_FINISH];

/// Block shape of the column kernels (`SUM_COLS_TX` x `SUM_COLS_TY` in reduce.cu).
pub(crate) const COL_BLOCK: (u32, u32) = (32, 8);

#[allow(clippy::too_many_arguments)]
fn rows_op(
    kernel: &'static str,
    entry: &'static str,
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    nonempty: bool,
    launch: Launch,
) -> KernelResult<()> {
    let (x, mut out) = (x.device_view(), out.device_view_mut());
    check_len(kernel, "x", x.len(), matrix_len(kernel, rows, cols)?)?;
    check_len(kernel, "out", out.len(), rows)?;
    if nonempty && cols == 0 && rows > 0 {
        return Err(KernelError::new(kernel, format!("rows of 0 columns have no extremum (rows {rows})")));
    }
    if rows == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::REDUCE, entry)?;
    let (r, c) = (int_arg(kernel, "rows", rows)?, int_arg(kernel, "cols", cols)?);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&x).arg(&r).arg(&c).arg(&mut out);
    launched(kernel, unsafe { b.launch(row_config(kernel, launch, rows, cols)?) })
}

/// out[r] = sum_c x[r, c] (see [`crate::sum_rows`]).
pub fn sum_rows(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    rows_op("cuda_sum_rows", SUM_ROWS, dev, x, rows, cols, out, false, launch)
}

/// out[r] = mean_c x[r, c]; 0 columns give NaN (see [`crate::mean_rows`]).
pub fn mean_rows(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    rows_op("cuda_mean_rows", MEAN_ROWS, dev, x, rows, cols, out, false, launch)
}

/// out[r] = max_c x[r, c], NaN if the row holds one; errors when cols == 0 (see [`crate::max_rows`]).
pub fn max_rows(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    rows_op("cuda_max_rows", MAX_ROWS, dev, x, rows, cols, out, true, launch)
}

/// out[r] = min_c x[r, c], NaN if the row holds one; errors when cols == 0 (see [`crate::min_rows`]).
pub fn min_rows(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    rows_op("cuda_min_rows", MIN_ROWS, dev, x, rows, cols, out, true, launch)
}

/// How many row chunks a column reduction splits into: `launch.blocks` when given, else enough that
/// about 512 blocks run (a few per SM on any current GPU) with at least 64 rows per chunk. At most 65535
/// (the grid's y limit).
pub(crate) fn column_chunks(rows: usize, cols: usize, launch: Launch) -> usize {
    if launch.blocks != 0 {
        return (launch.blocks as usize).clamp(1, rows.max(1)).min(65_535);
    }
    let col_blocks = cols.div_ceil(COL_BLOCK.0 as usize).max(1);
    let want = 512usize.div_ceil(col_blocks);
    want.clamp(1, rows.div_ceil(64).max(1)).min(65_535)
}

/// out[c] = sum_r x[r, c], overwriting `out` (see [`crate::sum_cols`]). Rows are split into
/// `launch.blocks` chunks (default: enough to fill the GPU) whose partial sums are added in chunk order
/// by a second kernel, so the result is deterministic for a given chunk count. `launch.threads` is
/// ignored (the block shape is fixed at 32 x 8).
pub fn sum_cols(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    rows: usize,
    cols: usize,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_sum_cols";
    let (x, mut out) = (x.device_view(), out.device_view_mut());
    check_len(K, "x", x.len(), matrix_len(K, rows, cols)?)?;
    check_len(K, "out", out.len(), cols)?;
    if cols == 0 {
        return Ok(());
    }
    let (r, c) = (int_arg(K, "rows", rows)?, int_arg(K, "cols", cols)?);
    let chunks = column_chunks(rows, cols, launch);
    let rows_per_chunk = rows.div_ceil(chunks).max(1);
    let chunks = rows.div_ceil(rows_per_chunk).max(1); // no empty trailing chunk
    let rpc = int_arg(K, "rows per chunk", rows_per_chunk)?;
    let cfg = LaunchConfig {
        grid_dim: (cols.div_ceil(COL_BLOCK.0 as usize) as u32, chunks as u32, 1),
        block_dim: (COL_BLOCK.0, COL_BLOCK.1, 1),
        shared_mem_bytes: 0,
    };
    let partial_fn = dev.function(&ptx::REDUCE, SUM_COLS_PARTIAL)?;
    if chunks == 1 {
        let mut b = dev.stream().launch_builder(&partial_fn);
        b.arg(&x).arg(&r).arg(&c).arg(&rpc).arg(&mut out);
        return launched(K, unsafe { b.launch(cfg) });
    }
    let mut partial = dev.alloc_zeros::<f32>(chunks * cols)?;
    let mut b = dev.stream().launch_builder(&partial_fn);
    b.arg(&x).arg(&r).arg(&c).arg(&rpc).arg(&mut partial);
    launched(K, unsafe { b.launch(cfg) })?;
    let finish = dev.function(&ptx::REDUCE, SUM_COLS_FINISH)?;
    let nchunks = chunks as i32;
    let mut b = dev.stream().launch_builder(&finish);
    b.arg(&partial).arg(&nchunks).arg(&c).arg(&mut out);
    launched(K, unsafe { b.launch(crate::cuda::grid_1d(cols, 256)) })
}
