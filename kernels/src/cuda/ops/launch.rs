//! What every ops wrapper shares: accepting owned buffers and views alike, checking lengths, choosing or
//! checking a launch configuration, and turning a failed launch into a [`KernelError`].
use cudarc::driver::{CudaSlice, CudaView, CudaViewMut, DriverError, LaunchConfig};

use crate::cuda::runtime::driver_error;
use crate::error::{KernelError, KernelResult};

/// Anything a kernel can read from: an owned [`CudaSlice`] or a [`CudaView`] of one (an offset range).
pub trait DeviceIn<T> {
    /// A read-only view of the whole buffer.
    fn device_view(&self) -> CudaView<'_, T>;
}

impl<T> DeviceIn<T> for CudaSlice<T> {
    fn device_view(&self) -> CudaView<'_, T> {
        self.as_view()
    }
}

impl<T> DeviceIn<T> for CudaView<'_, T> {
    fn device_view(&self) -> CudaView<'_, T> {
        self.slice(..)
    }
}

/// Anything a kernel can write to: an owned [`CudaSlice`] or a [`CudaViewMut`] of one.
pub trait DeviceOut<T> {
    /// A writable view of the whole buffer.
    fn device_view_mut(&mut self) -> CudaViewMut<'_, T>;
}

impl<T> DeviceOut<T> for CudaSlice<T> {
    fn device_view_mut(&mut self) -> CudaViewMut<'_, T> {
        self.as_view_mut()
    }
}

impl<T> DeviceOut<T> for CudaViewMut<'_, T> {
    fn device_view_mut(&mut self) -> CudaViewMut<'_, T> {
        self.slice_mut(..)
    }
}

/// How to launch a kernel, for the wrappers that let a caller (or a test) choose. `0` means "pick": the
/// default [`Launch::AUTO`] is what callers normally pass.
///
/// - `threads`: threads per block. Row kernels (one block per row) and 1-D element-wise kernels take any
///   multiple of 32 from 32 to 1024.
/// - `blocks`: for row and element-wise kernels, the most blocks to launch (the kernels loop over the
///   remaining rows or elements, so any count from 1 up gives the same result); for column sums, the number
///   of row chunks whose partial sums are added at the end.
///
/// ```
/// use kernels::cuda::ops::launch::Launch;
/// let small = Launch { threads: 64, blocks: 3 };
/// assert_eq!(Launch::AUTO.threads, 0);
/// assert_ne!(small, Launch::AUTO);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launch {
    pub threads: u32,
    pub blocks: u32,
}

impl Launch {
    /// Let the wrapper choose both.
    pub const AUTO: Launch = Launch { threads: 0, blocks: 0 };
}

impl Default for Launch {
    fn default() -> Self {
        Launch::AUTO
    }
}

/// Threads per block for a row kernel: `launch.threads` if given (checked), else enough threads for about
/// four elements each, between 32 and 1024.
pub(crate) fn row_threads(kernel: &'static str, launch: Launch, cols: usize) -> KernelResult<u32> {
    if launch.threads != 0 {
        return check_threads(kernel, launch.threads);
    }
    Ok((cols.div_ceil(4).next_power_of_two()).clamp(32, 1024) as u32)
}

/// Checks a thread count is a whole number of warps the hardware accepts (32..=1024, a multiple of 32).
pub(crate) fn check_threads(kernel: &'static str, threads: u32) -> KernelResult<u32> {
    if threads == 0 || threads > 1024 || !threads.is_multiple_of(32) {
        return Err(KernelError::new(
            kernel,
            format!("threads per block must be a multiple of 32 in 32..=1024, got {threads}"),
        ));
    }
    Ok(threads)
}

/// One block per row, at most `launch.blocks` blocks (the kernels loop over rows) and at most 2^31 - 1.
pub(crate) fn row_config(kernel: &'static str, launch: Launch, rows: usize, cols: usize) -> KernelResult<LaunchConfig> {
    let threads = row_threads(kernel, launch, cols)?;
    let mut blocks = rows.clamp(1, i32::MAX as usize) as u32;
    if launch.blocks != 0 {
        blocks = blocks.min(launch.blocks);
    }
    Ok(LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (threads, 1, 1), shared_mem_bytes: 0 })
}

/// A grid-stride 1-D launch over `n` elements processed four per thread where vectorised: `launch.threads`
/// (default 256) threads, and enough blocks for one pass, capped by `launch.blocks` and 2^31 - 1.
pub(crate) fn flat_config(kernel: &'static str, launch: Launch, n: usize) -> KernelResult<LaunchConfig> {
    let threads = if launch.threads != 0 { check_threads(kernel, launch.threads)? } else { 256 };
    let mut blocks = n.div_ceil(4 * threads as usize).clamp(1, i32::MAX as usize) as u32;
    if launch.blocks != 0 {
        blocks = blocks.min(launch.blocks);
    }
    Ok(LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (threads, 1, 1), shared_mem_bytes: 0 })
}

/// `rows * cols` with an error naming the kernel when it overflows.
pub(crate) fn matrix_len(kernel: &'static str, rows: usize, cols: usize) -> KernelResult<usize> {
    rows.checked_mul(cols).ok_or_else(|| KernelError::new(kernel, format!("rows {rows} x cols {cols} overflows")))
}

/// Checks that the device buffer `what` holds at least `needed` elements.
pub(crate) fn check_len(kernel: &'static str, what: &str, len: usize, needed: usize) -> KernelResult<()> {
    crate::error::check_len(kernel, what, len, needed)
}

/// Checks a size fits the kernel's 32-bit `int` argument.
pub(crate) fn int_arg(kernel: &'static str, what: &str, v: usize) -> KernelResult<i32> {
    crate::cuda::to_i32(kernel, what, v)
}

/// Maps a launch's driver error to a [`KernelError`] naming the kernel.
pub(crate) fn launched<T>(kernel: &'static str, r: Result<T, DriverError>) -> KernelResult<()> {
    r.map(|_| ()).map_err(|e| driver_error(kernel, "launch", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_must_be_whole_warps_up_to_1024() {
        for ok in [32, 64, 96, 1024] {
            assert_eq!(check_threads("k", ok).unwrap(), ok);
        }
        for bad in [0, 16, 48, 1056] {
            assert!(check_threads("k", bad).unwrap_err().message.contains("multiple of 32"), "{bad}");
        }
    }

    #[test]
    fn automatic_row_launch_gives_each_thread_about_four_columns() {
        assert_eq!(row_threads("k", Launch::AUTO, 1).unwrap(), 32);
        assert_eq!(row_threads("k", Launch::AUTO, 768).unwrap(), 256);
        assert_eq!(row_threads("k", Launch::AUTO, 50_304).unwrap(), 1024);
        let cfg = row_config("k", Launch { threads: 64, blocks: 3 }, 1000, 7).unwrap();
        assert_eq!((cfg.grid_dim.0, cfg.block_dim.0), (3, 64));
        assert_eq!(row_config("k", Launch::AUTO, 0, 7).unwrap().grid_dim.0, 1);
    }

    #[test]
    fn flat_launch_covers_four_elements_per_thread_and_respects_the_cap() {
        let cfg = flat_config("k", Launch::AUTO, 1 << 20).unwrap();
        assert_eq!((cfg.grid_dim.0, cfg.block_dim.0), ((1 << 20) / 1024, 256));
        assert_eq!(flat_config("k", Launch { threads: 32, blocks: 2 }, 1 << 20).unwrap().grid_dim.0, 2);
        assert_eq!(flat_config("k", Launch::AUTO, 1).unwrap().grid_dim.0, 1);
    }
}
