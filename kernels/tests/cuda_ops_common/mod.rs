//! Shared by the `cuda_ops_*` tests: the device (or the reason to skip), seeded random data, and a
//! comparison that names the op, the case and the first element out of tolerance.
#![allow(dead_code)]

use std::sync::Arc;

use kernels::cuda::CudaDevice;

/// The first GPU, or `None` after printing "skipping: <reason>" when there is no usable driver or device.
/// With `CUDA_OPS_REQUIRE_GPU=1` (set by `cuda_ops_gpu_check.sh` on a GPU machine) a missing device fails
/// the test instead, so a GPU run cannot pass by skipping.
pub fn device() -> Option<Arc<CudaDevice>> {
    match CudaDevice::new(0) {
        Ok(d) => Some(d),
        Err(e) if std::env::var("CUDA_OPS_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("CUDA_OPS_REQUIRE_GPU=1 but no usable GPU: {e}")
        }
        Err(e) => {
            println!("skipping: {e}");
            None
        }
    }
}

/// A small deterministic generator (xorshift64*), so every run tests the same numbers.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Asserts |got - want| <= atol + rtol * |want| element-wise (NaN must match NaN), naming `what` and the
/// first element out of tolerance. Returns the largest absolute error seen, for the test to print.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: length {} vs expected {}", got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() || g.is_nan() {
            assert!(w.is_nan() && g.is_nan(), "{what}: element {i} is {g}, expected {w}");
            continue;
        }
        if w.is_infinite() || g.is_infinite() {
            assert_eq!(g, w, "{what}: element {i}");
            continue;
        }
        let err = (g - w).abs();
        assert!(
            err <= atol + rtol * w.abs(),
            "{what}: element {i} is {g}, expected {w} (abs error {err:e} > {atol:e} + {rtol:e} * |expected|)"
        );
    }
    got.iter().zip(want).filter(|(g, w)| g.is_finite() && w.is_finite()).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max)
}

/// Odd and even sizes around the kernels' boundaries: 1, a warp minus one, a float4 tail, a block and one,
/// and more than one pass of a grid-stride loop.
pub const SIZES: &[usize] = &[1, 3, 7, 31, 33, 64, 257, 1000, 1024, 4099, 65_537];
