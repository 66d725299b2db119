//! Vectorised transcendentals on 8 lanes (`wide::f32x8`), shared by the element-wise, softmax and
//! cross-entropy kernels. std's `f32::exp` is a libm call per element and blocks vectorisation; these
//! are branch-free polynomials, so a row runs 8 lanes at a time.
//!
//! Accuracy (measured by `tests/elementwise.rs` against f64 std on dense sweeps):
//! - `exp8`: Cephes `expf` (range reduction x = n ln2 + r with a two-constant ln2, degree-6 polynomial
//!   in r): at most 2 ulp over [-87, 88]. Overflows to +inf past ~88.72, underflows through the
//!   subnormals to 0 below ~-103.9, and propagates NaN, like std.
//! - `tanh8`: Cephes `tanhf` polynomial for |x| < 0.625 (where 1 - 2/(e^2x + 1) would cancel), the exp
//!   form above it: within 3 ulp.
//! - `sigmoid8`: 1 / (1 + e^-x): within 3 ulp.
//! - `erf8`: the rational approximation used by Eigen/XLA on [-4, 4] (±1 outside): absolute error
//!   below 3e-7, enough for GELU where erf sits inside 1 + erf(.).
use wide::{f32x8, i32x8, CmpLt};

/// Loads 8 lanes from the start of `s` (which must hold at least 8).
#[inline(always)]
pub(crate) fn load(s: &[f32]) -> f32x8 {
    let a: [f32; 8] = s[..8].try_into().unwrap();
    f32x8::from(a)
}

/// Stores 8 lanes to the start of `s`.
#[inline(always)]
pub(crate) fn store(v: f32x8, s: &mut [f32]) {
    s[..8].copy_from_slice(&v.to_array());
}

/// Applies an 8-lane function to a slice in place. The tail (len % 8) is padded into a full vector,
/// so every element goes through exactly the same arithmetic wherever it sits (results do not depend
/// on alignment or on how callers split the slice).
#[inline(always)]
pub(crate) fn map_in_place(xs: &mut [f32], f: impl Fn(f32x8) -> f32x8) {
    let mut chunks = xs.chunks_exact_mut(8);
    for c in &mut chunks {
        store(f(load(c)), c);
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut buf = [0.0f32; 8];
        buf[..rest.len()].copy_from_slice(rest);
        let r = f(f32x8::from(buf)).to_array();
        rest.copy_from_slice(&r[..rest.len()]);
    }
}

/// out[i] = f(x[i]) with the same tail rule as [`map_in_place`]. `x` and `out` have equal lengths.
#[inline(always)]
pub(crate) fn map(x: &[f32], out: &mut [f32], f: impl Fn(f32x8) -> f32x8) {
    debug_assert_eq!(x.len(), out.len());
    let n8 = x.len() / 8 * 8;
    for (xc, oc) in x[..n8].chunks_exact(8).zip(out[..n8].chunks_exact_mut(8)) {
        store(f(load(xc)), oc);
    }
    if n8 < x.len() {
        let rest = &x[n8..];
        let mut buf = [0.0f32; 8];
        buf[..rest.len()].copy_from_slice(rest);
        let r = f(f32x8::from(buf)).to_array();
        out[n8..].copy_from_slice(&r[..rest.len()]);
    }
}

/// Applies an 8-lane function to one scalar (for callers that need a lone value computed with exactly
/// the vector arithmetic, e.g. so a scalar tail matches the vector body).
#[inline(always)]
pub(crate) fn one(x: f32, f: impl Fn(f32x8) -> f32x8) -> f32 {
    f(f32x8::splat(x)).to_array()[0]
}

/// 2^n for integer lanes n in [-126, 127], built in the exponent field.
#[inline(always)]
fn pow2i(n: i32x8) -> f32x8 {
    let bits: i32x8 = (n + i32x8::splat(127)) << 23;
    bytemuck::cast(bits)
}

/// e^x, Cephes `expf` on 8 lanes (see the module docs for the error bound).
#[inline(always)]
pub(crate) fn exp8(x: f32x8) -> f32x8 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so n * LN2_HI is exact for |n| < 2^15 (LN2_HI has 9 significant bits).
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Clamp only far enough that the integer n stays small; overflow/underflow then happen in the
    // final scaling, giving inf / subnormals / 0 like std.
    let xc = x.fast_max(f32x8::splat(-104.0)).fast_min(f32x8::splat(89.0));
    let n = (xc * f32x8::splat(LOG2E)).round();
    let r = xc - n * f32x8::splat(LN2_HI) - n * f32x8::splat(LN2_LO);
    let r2 = r * r;
    let mut p = f32x8::splat(1.987_569_1e-4);
    p = p.mul_add(r, f32x8::splat(1.398_199_9e-3));
    p = p.mul_add(r, f32x8::splat(8.333_452e-3));
    p = p.mul_add(r, f32x8::splat(4.166_579_6e-2));
    p = p.mul_add(r, f32x8::splat(1.666_666_5e-1));
    p = p.mul_add(r, f32x8::splat(5.000_000_1e-1));
    let y = p.mul_add(r2, r) + f32x8::splat(1.0);
    // Scale by 2^n as 2^(n/2) * 2^(n - n/2): each factor stays a normal number for n in [-150, 129],
    // so the product rounds correctly into the subnormal range or overflows to inf.
    let ni = n.round_int();
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let out = y * pow2i(n1) * pow2i(n2);
    x.is_nan().blend(x, out)
}

/// tanh(x) on 8 lanes.
#[inline(always)]
pub(crate) fn tanh8(x: f32x8) -> f32x8 {
    let ax = x.abs();
    // Large |x|: 1 - 2 / (e^{2|x|} + 1), exact in the limit (e^{2|x|} -> inf gives 1).
    let e = exp8(ax + ax);
    let big = f32x8::splat(1.0) - f32x8::splat(2.0) / (e + f32x8::splat(1.0));
    let big = big.copysign(x);
    // Small |x|: odd polynomial (Cephes tanhf), avoiding the cancellation in 1 - 2/(...).
    let z = x * x;
    let mut p = f32x8::splat(-5.704_988_7e-3);
    p = p.mul_add(z, f32x8::splat(2.063_908_9e-2));
    p = p.mul_add(z, f32x8::splat(-5.373_971_6e-2));
    p = p.mul_add(z, f32x8::splat(1.333_144_2e-1));
    p = p.mul_add(z, f32x8::splat(-3.333_328_2e-1));
    let small = (p * z).mul_add(x, x);
    let out = ax.cmp_lt(f32x8::splat(0.625)).blend(small, big);
    x.is_nan().blend(x, out)
}

/// 1 / (1 + e^-x) on 8 lanes. e^-x = inf for very negative x gives exactly 0, as it should.
#[inline(always)]
pub(crate) fn sigmoid8(x: f32x8) -> f32x8 {
    f32x8::splat(1.0) / (f32x8::splat(1.0) + exp8(-x))
}

/// erf(x) on 8 lanes: odd/even rational approximation on [-4, 4] (erf is ±1 in f32 outside).
#[inline(always)]
pub(crate) fn erf8(x_in: f32x8) -> f32x8 {
    let x = x_in.fast_max(f32x8::splat(-4.0)).fast_min(f32x8::splat(4.0));
    let x2 = x * x;
    let mut p = f32x8::splat(-2.726_142_3e-10);
    p = p.mul_add(x2, f32x8::splat(2.770_681_4e-8));
    p = p.mul_add(x2, f32x8::splat(-2.101_024e-6));
    p = p.mul_add(x2, f32x8::splat(-5.692_506_4e-5));
    p = p.mul_add(x2, f32x8::splat(-7.349_906_3e-4));
    p = p.mul_add(x2, f32x8::splat(-2.954_600_5e-3));
    p = p.mul_add(x2, f32x8::splat(-1.609_603_3e-2));
    p = p * x;
    let mut q = f32x8::splat(-1.456_607_2e-5);
    q = q.mul_add(x2, f32x8::splat(-2.133_740_6e-4));
    q = q.mul_add(x2, f32x8::splat(-1.682_827e-3));
    q = q.mul_add(x2, f32x8::splat(-7.373_329_2e-3));
    q = q.mul_add(x2, f32x8::splat(-1.426_474e-2));
    let out = p / q;
    x_in.is_nan().blend(x_in, out)
}
