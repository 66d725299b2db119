//! The register-blocked microkernels: which exist, their tile sizes and cache blocking, and which one
//! this CPU runs (detected once, then cached).
//!
//! Every microkernel computes one MR×NR tile of C from packed panels:
//!   C[0..MR, 0..NR] = alpha · Apanel(MR×kc) · Bpanel(kc×NR) + beta · C     (C not read when beta == 0)
//! The B panel is k-major (`b[p*NR + j]`). The A panel comes in two layouts, each the one that packs
//! with plain row copies from its source: k-major (`a[p*MR + i]`, `run`) when A is stored transposed,
//! and row-major with a fixed row stride KC (`a[i*KC + p]`, `run_rows`) when it is not. The fixed
//! stride makes every row's offset a compile-time displacement in the kernel's broadcast loads.

use std::sync::OnceLock;

use super::shape::GemmShape;

/// The signature every microkernel has.
///
/// # Safety
/// The caller guarantees:
/// - `a` points to a packed A panel in the kernel's layout: `kc * MR` readable f32 (k-major), or
///   `(MR - 1) * KC + kc` (row-major, stride KC = the kernel's `kc`); `kc` is at most that KC;
/// - `b` points to `kc * NR` readable f32 (the packed B panel);
/// - `c` points to MR rows of NR writable f32 each, row `i` starting at `c + i*ldc`, and those are also
///   readable when `beta != 0`; nothing else writes them during the call;
/// - the CPU supports the instruction set the kernel was compiled for (see [`KernelKind::is_supported`]).
pub(crate) type MicroKernelFn =
    unsafe fn(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32);

/// Which microkernel to run. Public (hidden) so tests and benches can force each path.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelKind {
    /// 12×32 tile in 24 zmm accumulators (x86-64 with AVX-512F).
    Avx512,
    /// 6×16 tile in 12 ymm accumulators (x86-64 with AVX2 and FMA).
    Avx2,
    /// 4×16 tile with `wide::f32x8`, for any target.
    Portable,
}

impl KernelKind {
    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            KernelKind::Portable => true,
            #[cfg(target_arch = "x86_64")]
            KernelKind::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            KernelKind::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest kernel this CPU supports, detected on first use and cached.
    pub fn best() -> KernelKind {
        static BEST: OnceLock<KernelKind> = OnceLock::new();
        *BEST.get_or_init(|| {
            [KernelKind::Avx512, KernelKind::Avx2, KernelKind::Portable]
                .into_iter()
                .find(|k| k.is_supported())
                .unwrap_or(KernelKind::Portable)
        })
    }

    /// The kernel and its blocking. Only hand out a kernel whose `is_supported()` is true.
    pub(crate) fn spec(self) -> MicroKernel {
        match self {
            #[cfg(target_arch = "x86_64")]
            KernelKind::Avx512 => super::kernel_avx512::SPEC,
            #[cfg(target_arch = "x86_64")]
            KernelKind::Avx2 => super::kernel_avx2::SPEC,
            _ => super::kernel_portable::SPEC,
        }
    }
}

/// A microkernel with the tile it computes and the cache blocking that suits it.
#[derive(Clone, Copy)]
pub(crate) struct MicroKernel {
    /// Rows of the C tile (A values broadcast per k step).
    pub mr: usize,
    /// Columns of the C tile (B values loaded as vectors per k step).
    pub nr: usize,
    /// Depth of one packed block: the kc×MR A micro-panel stays in L1 while B micro-panels stream past.
    pub kc: usize,
    /// Rows of one packed A block (mc×kc), a multiple of `mr`; bounds the A buffer.
    pub mc: usize,
    /// Most columns of one packed B block (kc×nc), a multiple of `nr`, sized to stay in L2.
    pub nc: usize,
    /// The kernel on a k-major A panel, packed by `pack_a`.
    pub run: MicroKernelFn,
    /// The kernel on a row-major A panel with row stride `kc`, packed by `pack_a_rows`.
    pub run_rows: MicroKernelFn,
    /// `pack::pack_a::<MR>`: (shape, a, i0, mc, p0, kc, out).
    pub pack_a: PackAFn,
    /// `pack::pack_a_rows::<MR, KC>`: (shape, a, i0, mc, p0, kc, out).
    pub pack_a_rows: PackAFn,
    /// `pack::pack_b::<NR>`: (shape, b, p0, kc, j0, nc, out).
    pub pack_b: PackBFn,
}

pub(crate) type PackAFn = fn(&GemmShape, &[f32], usize, usize, usize, usize, &mut [f32]);
pub(crate) type PackBFn = fn(&GemmShape, &[f32], usize, usize, usize, usize, &mut [f32]);

/// The largest tile any kernel uses, for the stack scratch tile of edge tiles.
pub(crate) const MAX_TILE: usize = 16 * 32;
