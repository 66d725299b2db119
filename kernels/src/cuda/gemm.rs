//! GEMM on the GPU: C = alpha·op(A)·op(B) + beta·C, row-major, the same contract as [`crate::sgemm`].
//!
//! Three precisions, each with a fast path and an edge path (see the `.cu` files for the tiling):
//! - [`sgemm`]: fp32 on CUDA cores (`kernels/cuda/gemm_f32.cu`), 128×128 or 64×64 tiles, 8×8 per thread.
//! - [`sgemm_tf32`]: fp32 in, inputs rounded to tf32, fp32 accumulation on tensor cores (`gemm_mma.cu`).
//! - [`gemm_bf16`]: bf16 in (raw `u16` bits), fp32 accumulation and fp32 C, on tensor cores.
//!
//! The fast path (16-byte loads, no bounds checks) is taken when every tile is full and rows are 16-byte
//! aligned; otherwise the edge path handles any sizes and leading dimensions. [`GemmOptions`] lets a test
//! or benchmark force a tile size or the edge path, so every launch configuration can be checked.
//!
//! ```
//! use kernels::cuda::{gemm, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! // [1 2; 3 4] · [5 6; 7 8]
//! let a = dev.htod(&[1.0f32, 2.0, 3.0, 4.0]).unwrap();
//! let b = dev.htod(&[5.0f32, 6.0, 7.0, 8.0]).unwrap();
//! let mut c = dev.alloc_zeros::<f32>(4).unwrap();
//! gemm::sgemm(&dev, false, false, 2, 2, 2, 1.0, &a, 2, &b, 2, 0.0, &mut c, 2).unwrap();
//! assert_eq!(dev.dtoh(&c).unwrap(), vec![19.0, 22.0, 43.0, 50.0]);
//! ```
use cudarc::driver::{DevicePtr, DevicePtrMut, LaunchConfig, PushKernelArg};

use super::ptx::{GEMM_F32, GEMM_MMA};
use super::runtime::{driver_error, to_i32, CudaDevice};
use crate::error::{KernelError, KernelResult};

/// Which kernel family computes the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemmPrecision {
    /// fp32 on CUDA cores.
    F32,
    /// fp32 operands rounded to tf32 (10-bit mantissa), fp32 accumulation, tensor cores.
    Tf32,
    /// bf16 operands, fp32 accumulation, tensor cores.
    Bf16,
}

/// Tile size of the fp32 kernel. The tensor-core kernels always use 128×128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tile {
    /// 128×128 when that gives at least one block per multiprocessor, else 64×64.
    Auto,
    T128,
    T64,
}

/// Launch choices; [`GemmOptions::AUTO`] is what callers normally pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmOptions {
    pub tile: Tile,
    /// Allow the 16-byte-load fast path when the sizes permit it; `false` forces the edge path.
    pub allow_vec: bool,
}

impl GemmOptions {
    pub const AUTO: GemmOptions = GemmOptions { tile: Tile::Auto, allow_vec: true };
}

/// The sizes of one product, checked against the buffers like [`crate::sgemm`] checks its slices.
#[derive(Debug, Clone, Copy)]
struct Shape {
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    lda: usize,
    ldb: usize,
    ldc: usize,
}

/// Elements a row-major `rows`×`cols` matrix with row stride `ld` spans (the last row needs only `cols`).
fn footprint(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 { 0 } else { (rows - 1) * ld + cols }
}

impl Shape {
    fn check(&self, kernel: &'static str, a_len: usize, b_len: usize, c_len: usize) -> KernelResult<()> {
        let (ar, ac) = if self.trans_a { (self.k, self.m) } else { (self.m, self.k) };
        let (br, bc) = if self.trans_b { (self.n, self.k) } else { (self.k, self.n) };
        for (what, ld, rows, cols, len) in [
            ("a", self.lda, ar, ac, a_len),
            ("b", self.ldb, br, bc, b_len),
            ("c", self.ldc, self.m, self.n, c_len),
        ] {
            if rows > 0 && ld < cols {
                return Err(KernelError::new(
                    kernel,
                    format!("ld{what} = {ld} is smaller than the {cols} columns stored per row of {what}"),
                ));
            }
            let need = footprint(rows, cols, ld);
            if len < need {
                return Err(KernelError::new(
                    kernel,
                    format!(
                        "{what} has {len} elements but {rows}x{cols} with ld{what} = {ld} needs {need} (m={}, n={}, k={}, trans_a={}, trans_b={})",
                        self.m, self.n, self.k, self.trans_a, self.trans_b
                    ),
                ));
            }
        }
        for (what, v) in [("m", self.m), ("n", self.n), ("k", self.k), ("lda", self.lda), ("ldb", self.ldb), ("ldc", self.ldc)] {
            to_i32(kernel, what, v)?;
        }
        Ok(())
    }
}

/// fp32 C = alpha·op(A)·op(B) + beta·C on CUDA cores, with [`GemmOptions::AUTO`].
///
/// Sizes and leading dimensions as in [`crate::sgemm`]: op(A) is m×k (A stored k×m when `trans_a`),
/// op(B) is k×n (B stored n×k when `trans_b`), C is m×n with row stride `ldc`. `beta == 0` means C is
/// not read. Asynchronous: the product is queued on the device's stream.
#[allow(clippy::too_many_arguments)]
pub fn sgemm<A: DevicePtr<f32>, B: DevicePtr<f32>, C: DevicePtrMut<f32>>(
    dev: &CudaDevice,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &A,
    lda: usize,
    b: &B,
    ldb: usize,
    beta: f32,
    c: &mut C,
    ldc: usize,
) -> KernelResult<()> {
    let s = Shape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    gemm_launch(dev, GemmPrecision::F32, GemmOptions::AUTO, &s, alpha, a, b, beta, c)
}

/// [`sgemm`] on tensor cores: A and B are rounded to tf32 (about 3 decimal digits), products are
/// accumulated in fp32. Roughly 1e-3 relative error for unit-scale inputs.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_tf32<A: DevicePtr<f32>, B: DevicePtr<f32>, C: DevicePtrMut<f32>>(
    dev: &CudaDevice,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &A,
    lda: usize,
    b: &B,
    ldb: usize,
    beta: f32,
    c: &mut C,
    ldc: usize,
) -> KernelResult<()> {
    let s = Shape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    gemm_launch(dev, GemmPrecision::Tf32, GemmOptions::AUTO, &s, alpha, a, b, beta, c)
}

/// C (fp32) = alpha·op(A)·op(B) + beta·C with A and B in bf16 (`u16` bit patterns, e.g. from
/// `half::bf16::to_bits`), fp32 accumulation on tensor cores.
#[allow(clippy::too_many_arguments)]
pub fn gemm_bf16<A: DevicePtr<u16>, B: DevicePtr<u16>, C: DevicePtrMut<f32>>(
    dev: &CudaDevice,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &A,
    lda: usize,
    b: &B,
    ldb: usize,
    beta: f32,
    c: &mut C,
    ldc: usize,
) -> KernelResult<()> {
    let s = Shape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    gemm_launch(dev, GemmPrecision::Bf16, GemmOptions::AUTO, &s, alpha, a, b, beta, c)
}

/// Any precision with explicit launch options (tests and benchmarks use this to reach every kernel).
/// `T` must be `f32` for [`GemmPrecision::F32`] / [`GemmPrecision::Tf32`] and `u16` for `Bf16`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_with<T, A: DevicePtr<T>, B: DevicePtr<T>, C: DevicePtrMut<f32>>(
    dev: &CudaDevice,
    precision: GemmPrecision,
    options: GemmOptions,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &A,
    lda: usize,
    b: &B,
    ldb: usize,
    beta: f32,
    c: &mut C,
    ldc: usize,
) -> KernelResult<()> {
    let s = Shape { trans_a, trans_b, m, n, k, lda, ldb, ldc };
    gemm_launch(dev, precision, options, &s, alpha, a, b, beta, c)
}

/// The kernel entry point and launch configuration that [`gemm_with`] would use (exposed so tests can
/// check that the options really reach the kernel they name). `sm_count` picks the automatic tile.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    precision: GemmPrecision,
    options: GemmOptions,
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    lda: usize,
    ldb: usize,
    ldc: usize,
    aligned: bool,
    sm_count: usize,
) -> KernelResult<(&'static str, LaunchConfig)> {
    let kernel = kernel_name(precision);
    let tile: usize = match (precision, options.tile) {
        (GemmPrecision::F32, Tile::T128) => 128,
        (GemmPrecision::F32, Tile::T64) => 64,
        (GemmPrecision::F32, Tile::Auto) => {
            if m.div_ceil(128) * n.div_ceil(128) >= sm_count { 128 } else { 64 }
        }
        (_, Tile::Auto | Tile::T128) => 128,
        (_, Tile::T64) => {
            return Err(KernelError::new(kernel, "the tensor-core kernels have only a 128x128 tile; use Tile::Auto or T128"))
        }
    };
    // Fast path: full tiles along m, n and k, 16-byte aligned rows and base pointers.
    let (k_step, vec_elems, vec_c) = match precision {
        GemmPrecision::F32 => (8, 4, true),
        GemmPrecision::Tf32 => (16, 4, false),
        GemmPrecision::Bf16 => (32, 8, false),
    };
    let vec = options.allow_vec
        && aligned
        && m.is_multiple_of(tile)
        && n.is_multiple_of(tile)
        && k.is_multiple_of(k_step)
        && lda.is_multiple_of(vec_elems)
        && ldb.is_multiple_of(vec_elems)
        && (!vec_c || ldc.is_multiple_of(4));
    let ops = match (trans_a, trans_b) {
        (false, false) => "nn",
        (false, true) => "nt",
        (true, false) => "tn",
        (true, true) => "tt",
    };
    let path = if vec { "vec" } else { "edge" };
    let name = match precision {
        GemmPrecision::F32 => ENTRY_F32[entry_index(ops, vec) + if tile == 64 { 8 } else { 0 }],
        GemmPrecision::Tf32 => ENTRY_MMA[entry_index(ops, vec)],
        GemmPrecision::Bf16 => ENTRY_MMA[8 + entry_index(ops, vec)],
    };
    debug_assert!(name.contains(ops) && name.ends_with(path));
    let threads = if precision == GemmPrecision::F32 { (tile / 8) * (tile / 8) } else { 256 };
    let grid = (n.div_ceil(tile).max(1), m.div_ceil(tile).max(1));
    if grid.1 > 65535 {
        return Err(KernelError::new(kernel, format!("m = {m} needs {} row blocks; the grid allows 65535", grid.1)));
    }
    Ok((
        name,
        LaunchConfig { grid_dim: (grid.0 as u32, grid.1 as u32, 1), block_dim: (threads as u32, 1, 1), shared_mem_bytes: 0 },
    ))
}

/// Entry names in the order of `ptx::GEMM_F32.entries` (tile 128 then 64) and `ptx::GEMM_MMA.entries`.
const ENTRY_F32: &[&str] = GEMM_F32.entries;
const ENTRY_MMA: &[&str] = GEMM_MMA.entries;

/// Position inside one block of 8 entries ordered nn, nt, tn, tt (vec), then the same (edge).
fn entry_index(ops: &str, vec: bool) -> usize {
    let i = match ops {
        "nn" => 0,
        "nt" => 1,
        "tn" => 2,
        _ => 3,
    };
    if vec { i } else { 4 + i }
}

fn kernel_name(precision: GemmPrecision) -> &'static str {
    match precision {
        GemmPrecision::F32 => "cuda_sgemm",
        GemmPrecision::Tf32 => "cuda_sgemm_tf32",
        GemmPrecision::Bf16 => "cuda_gemm_bf16",
    }
}

/// Multiprocessor count of the device, read once per call site (cheap: a cached driver attribute).
fn sm_count(dev: &CudaDevice) -> usize {
    use cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
    dev.context().attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).map(|n| n as usize).unwrap_or(1)
}

#[allow(clippy::too_many_arguments)]
fn gemm_launch<T, A: DevicePtr<T>, B: DevicePtr<T>, C: DevicePtrMut<f32>>(
    dev: &CudaDevice,
    precision: GemmPrecision,
    options: GemmOptions,
    s: &Shape,
    alpha: f32,
    a: &A,
    b: &B,
    beta: f32,
    c: &mut C,
) -> KernelResult<()> {
    let kernel = kernel_name(precision);
    let want = if precision == GemmPrecision::Bf16 { 2 } else { 4 };
    if std::mem::size_of::<T>() != want {
        return Err(KernelError::new(kernel, format!("operands must be {}-byte elements", want)));
    }
    s.check(kernel, a.len(), b.len(), c.len())?;
    if s.m == 0 || s.n == 0 {
        return Ok(());
    }
    let stream = dev.stream();
    let (pa, _read_a) = a.device_ptr(stream);
    let (pb, _read_b) = b.device_ptr(stream);
    let (pc, _write_c) = c.device_ptr_mut(stream);
    let aligned = pa.is_multiple_of(16) && pb.is_multiple_of(16) && pc.is_multiple_of(16);
    let (entry, cfg) = plan(
        precision, options, s.trans_a, s.trans_b, s.m, s.n, s.k, s.lda, s.ldb, s.ldc, aligned, sm_count(dev),
    )?;
    let module = if precision == GemmPrecision::F32 { &GEMM_F32 } else { &GEMM_MMA };
    let f = dev.function(module, entry)?;
    let (m, n, k) = (s.m as i32, s.n as i32, s.k as i32);
    let (lda, ldb, ldc) = (s.lda as i32, s.ldb as i32, s.ldc as i32);
    let mut launch = stream.launch_builder(&f);
    launch.arg(&m).arg(&n).arg(&k).arg(&alpha).arg(&pa).arg(&lda).arg(&pb).arg(&ldb).arg(&beta).arg(&pc).arg(&ldc);
    // Safety: the argument list matches the kernels' signature (int m, n, k, float alpha, const T* A,
    // int lda, const T* B, int ldb, float beta, float* C, int ldc); the shape check above guarantees
    // every address the kernel touches lies inside the buffers, whose guards live until after the launch.
    unsafe { launch.launch(cfg) }.map_err(|e| driver_error(kernel, &format!("launching {entry}"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_picks_the_fast_path_only_for_full_aligned_tiles() {
        let o = GemmOptions::AUTO;
        let (e, cfg) = plan(GemmPrecision::F32, o, false, false, 1024, 1024, 1024, 1024, 1024, 1024, true, 32).unwrap();
        assert_eq!(e, "sgemm_nn_128_vec");
        assert_eq!((cfg.grid_dim, cfg.block_dim.0), ((8, 8, 1), 256));
        // Too few 128-tiles for 132 multiprocessors: the 64 tile.
        let (e, cfg) = plan(GemmPrecision::F32, o, false, true, 1024, 1024, 1024, 1024, 1024, 1024, true, 132).unwrap();
        assert_eq!((e, cfg.block_dim.0), ("sgemm_nt_64_vec", 64));
        let (e, _) = plan(GemmPrecision::F32, o, true, false, 1000, 1024, 1024, 1000, 1024, 1024, true, 1).unwrap();
        assert_eq!(e, "sgemm_tn_128_edge");
        let (e, _) = plan(GemmPrecision::Tf32, o, false, false, 256, 256, 256, 256, 256, 256, false, 1).unwrap();
        assert_eq!(e, "gemm_tf32_nn_edge", "a misaligned base pointer must take the edge path");
        let (e, _) = plan(GemmPrecision::Bf16, o, true, true, 256, 256, 48, 256, 48, 256, true, 1).unwrap();
        assert_eq!(e, "gemm_bf16_tt_edge", "k = 48 is not a multiple of the bf16 k-tile (32)");
        let (e, _) = plan(GemmPrecision::Bf16, o, true, true, 256, 256, 64, 256, 64, 256, true, 1).unwrap();
        assert_eq!(e, "gemm_bf16_tt_vec");
        let forced = GemmOptions { tile: Tile::T128, allow_vec: false };
        let (e, _) = plan(GemmPrecision::F32, forced, false, false, 128, 128, 8, 8, 128, 128, true, 1).unwrap();
        assert_eq!(e, "sgemm_nn_128_edge");
        assert!(plan(GemmPrecision::Tf32, GemmOptions { tile: Tile::T64, allow_vec: true }, false, false, 1, 1, 1, 1, 1, 1, true, 1).is_err());
    }

    #[test]
    fn shape_check_names_the_operand() {
        let s = Shape { trans_a: false, trans_b: false, m: 4, n: 3, k: 2, lda: 2, ldb: 3, ldc: 3 };
        assert!(s.check("k", 8, 6, 12).is_ok());
        let e = s.check("k", 7, 6, 12).unwrap_err();
        assert!(e.message.contains("a has 7 elements"), "{e}");
        let e = Shape { lda: 1, ..s }.check("k", 100, 100, 100).unwrap_err();
        assert!(e.message.contains("lda = 1"), "{e}");
        assert!(Shape { m: 1 << 31, ..s }.check("k", usize::MAX, usize::MAX, usize::MAX).is_err());
    }
}
