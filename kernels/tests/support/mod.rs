//! Shared by the kernels test files: a tiny seeded xorshift RNG (no rand crate) and closeness checks
//! that report the worst element.
#![allow(dead_code)]

/// The sizes every kernel is tried at (rows and cols): 1, a sub-vector tail, a vector plus tail,
/// past one SIMD block plus tail, and a larger odd size.
pub const SIZES: [usize; 5] = [1, 7, 33, 257, 1000];

/// xorshift64*: deterministic per seed, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Distance in units in the last place between two finite f32s of any sign.
pub fn ulps(a: f32, b: f32) -> u64 {
    fn key(x: f32) -> i64 {
        let b = x.to_bits() as i32 as i64;
        if b < 0 {
            i32::MIN as i64 - b
        } else {
            b
        }
    }
    (key(a) - key(b)).unsigned_abs()
}

/// Asserts |got - want| <= atol + rtol * |want| elementwise (NaN must match NaN), naming the worst index.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], rtol: f32, atol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let mut worst = (0usize, 0.0f32);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() || g.is_nan() {
            assert!(w.is_nan() && g.is_nan(), "{what}[{i}]: got {g}, want {w}");
            continue;
        }
        if g == w {
            continue;
        }
        let excess = (g - w).abs() / (atol + rtol * w.abs());
        if excess.is_nan() || excess > 1.0 {
            panic!("{what}[{i}]: got {g}, want {w} (|diff| {}, tolerance {})", (g - w).abs(), atol + rtol * w.abs());
        }
        if excess > worst.1 {
            worst = (i, excess);
        }
    }
}

/// Asserts bitwise equality (NaN payloads aside), naming the first differing index.
#[track_caller]
pub fn assert_same(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()), "{what}[{i}]: got {g}, want {w}");
    }
}

/// Runs `f` on a rayon pool of `threads` threads (to check results do not depend on the count).
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}
