//! The oracle: a plain triple loop, kept beside the fast path so the tests can hold them equal.
//!
//! It accumulates in f64. Its own rounding error is then ~k·2^-53 relative, far below the f32 blocked
//! kernel's ~k·2^-24, so a test comparing the two measures the fast path's error alone and the tolerance
//! can be the textbook f32 bound instead of twice it.

use super::shape::GemmShape;

/// C = alpha·op(A)·op(B) + beta·C over an already-checked shape.
/// C (m×n, row stride ldc) is not read when beta == 0, so NaNs there are overwritten.
pub(crate) fn naive_checked(s: &GemmShape, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    for i in 0..s.m {
        for j in 0..s.n {
            let mut acc = 0.0f64;
            for p in 0..s.k {
                acc += f64::from(s.a_at(a, i, p)) * f64::from(s.b_at(b, p, j));
            }
            let out = &mut c[i * s.ldc + j];
            let scaled = f64::from(alpha) * acc;
            *out = if beta == 0.0 { scaled as f32 } else { (scaled + f64::from(beta) * f64::from(*out)) as f32 };
        }
    }
}
