//! Loads and stores between slices and `wide::f32x8`, for the memory-bound reductions in `reduce`,
//! `softmax` and `layernorm` (the transcendentals live in `lanes`, which explains why).
use wide::f32x8;

/// Loads 8 lanes from the start of `s` (which must hold at least 8).
#[inline(always)]
pub(crate) fn load(s: &[f32]) -> f32x8 {
    let a: [f32; 8] = s[..8].try_into().unwrap();
    f32x8::from(a)
}

/// Stores 8 lanes to the start of `s`.
#[inline(always)]
#[allow(dead_code)]
pub(crate) fn store(v: f32x8, s: &mut [f32]) {
    s[..8].copy_from_slice(&v.to_array());
}
