//! Transcendentals written one lane at a time (branch-free scalar code) and compiled several times
//! with runtime dispatch, so LLVM vectorises them at the widest width the CPU has.
//!
//! Why not `wide` here: `wide` picks its instructions from the *compile-time* target features, and
//! this workspace builds for baseline x86-64 (SSE2), so its f32x8 runs as two 4-lane halves without
//! FMA. These polynomials are compute-bound (~25 operations per element), so width is what matters:
//! [`multiversion!`] compiles the same loop for AVX-512 (16 lanes), AVX2+FMA (8) and baseline SSE2 (4)
//! and picks one at run time, as the GEMM micro-kernels do. Memory-bound code (sums, max) stays on
//! `wide`.
//!
//! Every function is generic over `FMA`: with FMA hardware the multiply-adds are fused (`mul_add`),
//! without it they are a separate multiply and add (`mul_add` would become a libm call). Results may
//! differ by an ulp between the two, never between threads or between the vector body and the scalar
//! tail of a loop (both run the same scalar operations).
//!
//! Accuracy against f64 std (measured by `tests/elementwise.rs` on dense sweeps, both variants):
//! - [`exp`]: Cephes `expf`: range reduction x = n ln2 + r with a two-part ln2, polynomial
//!   for e^r: at most 2 ulp on [-87, 88]. Overflows to +inf past ~88.72, underflows through the
//!   subnormals to 0 below ~-103.9, propagates NaN, like std.
//! - [`tanh`]: Cephes `tanhf` odd polynomial for |x| < 0.625 (where 1 - 2/(e^2|x| + 1) would cancel),
//!   the exp form above: within 4 ulp.
//! - [`sigmoid`]: 1 / (1 + e^-x): within 4 ulp; exactly 0 and 1 in the far tails.
//! - [`erf`]: the rational approximation Eigen/XLA use on [-4, 4] (±1 outside): absolute error below
//!   5e-7, enough for GELU where erf only enters as 1 + erf.

// The polynomial coefficients are quoted as published (Cephes, Eigen), more digits than f32 holds.
#![allow(clippy::excessive_precision)]

/// a * b + c, fused when the caller was compiled with FMA.
#[inline(always)]
fn fmadd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Round to nearest-even for |x| < 2^22 by the 1.5 * 2^23 trick: adding it pushes the fraction bits
/// out of the mantissa. Plain adds vectorise on every level (SSE2 has no round instruction).
#[inline(always)]
fn round_small(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// 2^n for n in [-126, 127], built in the exponent field.
#[inline(always)]
fn pow2i(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// e^x (see the module docs for the error bound).
#[inline(always)]
pub(crate) fn exp<const FMA: bool>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so n * LN2_HI is exact for |n| < 2^15 (LN2_HI has 9 significant bits).
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Clamp only far enough that n stays a small integer; written as comparisons so NaN lands on a
    // finite value here (and is restored at the end) and inf on a bound. Overflow and underflow then
    // happen in the final scaling, giving inf / subnormals / 0 like std.
    let xc = if x > -104.0 { x } else { -104.0 };
    let xc = if xc < 89.0 { xc } else { 89.0 };
    let n = round_small(xc * LOG2E);
    let r = fmadd::<FMA>(n, -LN2_HI, xc);
    let r = fmadd::<FMA>(n, -LN2_LO, r);
    let mut p = 1.987_569_1e-4;
    p = fmadd::<FMA>(p, r, 1.398_199_9e-3);
    p = fmadd::<FMA>(p, r, 8.333_452e-3);
    p = fmadd::<FMA>(p, r, 4.166_579_6e-2);
    p = fmadd::<FMA>(p, r, 1.666_666_5e-1);
    p = fmadd::<FMA>(p, r, 5.000_000_1e-1);
    let y = fmadd::<FMA>(p, r * r, r) + 1.0;
    // Scale by 2^n as 2^(n/2) * 2^(n - n/2): each factor stays a normal number for n in [-150, 129],
    // so the product rounds correctly into the subnormals or overflows to inf.
    // SAFETY: n is an integer-valued float in [-150, 129] (xc is finite and clamped).
    let ni: i32 = unsafe { n.to_int_unchecked() };
    let n1 = ni >> 1;
    let out = y * pow2i(n1) * pow2i(ni - n1);
    if x.is_nan() {
        x
    } else {
        out
    }
}

/// tanh(x).
#[inline(always)]
pub(crate) fn tanh<const FMA: bool>(x: f32) -> f32 {
    let ax = x.abs();
    // Large |x|: 1 - 2 / (e^{2|x|} + 1), exact in the limit (e^{2|x|} = inf gives 1).
    let big = 1.0 - 2.0 / (exp::<FMA>(ax + ax) + 1.0);
    let big = if x < 0.0 { -big } else { big };
    // Small |x|: odd polynomial (Cephes tanhf), no cancellation.
    let z = x * x;
    let mut p = -5.704_988_7e-3;
    p = fmadd::<FMA>(p, z, 2.063_908_9e-2);
    p = fmadd::<FMA>(p, z, -5.373_971_6e-2);
    p = fmadd::<FMA>(p, z, 1.333_144_2e-1);
    p = fmadd::<FMA>(p, z, -3.333_328_2e-1);
    let small = fmadd::<FMA>(p * z, x, x);
    let out = if ax < 0.625 { small } else { big };
    if x.is_nan() {
        x
    } else {
        out
    }
}

/// 1 / (1 + e^-x); e^-x = inf for very negative x gives exactly 0.
#[inline(always)]
pub(crate) fn sigmoid<const FMA: bool>(x: f32) -> f32 {
    1.0 / (1.0 + exp::<FMA>(-x))
}

/// erf(x): odd/even rational approximation on [-4, 4] (erf is ±1 in f32 outside).
#[inline(always)]
pub(crate) fn erf<const FMA: bool>(x: f32) -> f32 {
    let xc = if x > -4.0 { x } else { -4.0 };
    let xc = if xc < 4.0 { xc } else { 4.0 };
    let x2 = xc * xc;
    let mut p = -2.726_142_3e-10;
    p = fmadd::<FMA>(p, x2, 2.770_681_4e-8);
    p = fmadd::<FMA>(p, x2, -2.101_024e-6);
    p = fmadd::<FMA>(p, x2, -5.692_506_4e-5);
    p = fmadd::<FMA>(p, x2, -7.349_906_3e-4);
    p = fmadd::<FMA>(p, x2, -2.954_600_5e-3);
    p = fmadd::<FMA>(p, x2, -1.609_603_3e-2);
    let mut q = -1.456_607_2e-5;
    q = fmadd::<FMA>(q, x2, -2.133_740_6e-4);
    q = fmadd::<FMA>(q, x2, -1.682_827e-3);
    q = fmadd::<FMA>(q, x2, -7.373_329_2e-3);
    q = fmadd::<FMA>(q, x2, -1.426_474e-2);
    let out = xc * p / q;
    if x.is_nan() {
        x
    } else {
        out
    }
}

/// sqrt(2 / pi), the GELU tanh-approximation constant.
pub(crate) const GELU_K: f32 = 0.797_884_56;
/// The cubic coefficient of the GELU tanh approximation.
pub(crate) const GELU_C: f32 = 0.044_715;

/// GELU (tanh form) as x * sigmoid(2u), u = k (x + c x^3): equal to 0.5 x (1 + tanh u) since
/// 1 + tanh u = 2 sigmoid(2u), without the cancellation of 1 + tanh u for very negative x.
#[inline(always)]
pub(crate) fn gelu<const FMA: bool>(x: f32) -> f32 {
    let u = GELU_K * fmadd::<FMA>(x * x * x, GELU_C, x);
    x * sigmoid::<FMA>(u + u)
}

/// d gelu / dx (tanh form). With s = sigmoid(2u): 0.5 (1 + tanh u) = s and 1 - tanh^2 u = 4 s (1 - s),
/// so gelu' = s + 2 x s (1 - s) k (1 + 3 c x^2).
#[inline(always)]
pub(crate) fn gelu_grad<const FMA: bool>(x: f32) -> f32 {
    let x2 = x * x;
    let u = GELU_K * fmadd::<FMA>(x2 * x, GELU_C, x);
    let s = sigmoid::<FMA>(u + u);
    let du = GELU_K * fmadd::<FMA>(x2, 3.0 * GELU_C, 1.0);
    s + 2.0 * x * s * (1.0 - s) * du
}

/// Exact GELU: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
#[inline(always)]
pub(crate) fn gelu_erf<const FMA: bool>(x: f32) -> f32 {
    x * (0.5 * (1.0 + erf::<FMA>(x * std::f32::consts::FRAC_1_SQRT_2)))
}

/// d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density.
#[inline(always)]
pub(crate) fn gelu_erf_grad<const FMA: bool>(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let cdf = 0.5 * (1.0 + erf::<FMA>(x * std::f32::consts::FRAC_1_SQRT_2));
    let pdf = INV_SQRT_2PI * exp::<FMA>(-0.5 * x * x);
    fmadd::<FMA>(x, pdf, cdf)
}

/// The instruction sets [`multiversion!`] dispatches between.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// The best level this CPU supports, detected once.
#[inline]
pub(crate) fn level() -> Level {
    use std::sync::atomic::{AtomicU8, Ordering};
    static CACHED: AtomicU8 = AtomicU8::new(0); // 0 = not yet detected
    #[cfg(target_arch = "x86_64")]
    {
        let code = match CACHED.load(Ordering::Relaxed) {
            0 => {
                let c = if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                    3
                } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    2
                } else {
                    1
                };
                CACHED.store(c, Ordering::Relaxed);
                c
            }
            c => c,
        };
        match code {
            3 => Level::Avx512,
            2 => Level::Avx2Fma,
            _ => Level::Portable,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = &CACHED;
        Level::Portable
    }
}

/// Defines `fn $name(args)` whose body (which names the const `FMA` it is compiled with) is built
/// three times: for AVX-512 and AVX2 with FMA, and portable without; the call picks one with
/// [`level`]. Bodies should be plain loops calling the lane functions above, which LLVM vectorises
/// at the enabled width.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident<FMA>($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(non_snake_case)]
            fn body<const FMA: bool>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn v512($($arg: $ty),*) $(-> $ret)? { body::<true>($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v256($($arg: $ty),*) $(-> $ret)? { body::<true>($($arg),*) }
                match $crate::elementwise::lanes::level() {
                    // SAFETY: level() verified the CPU has these features.
                    $crate::elementwise::lanes::Level::Avx512 => return unsafe { v512($($arg),*) },
                    $crate::elementwise::lanes::Level::Avx2Fma => return unsafe { v256($($arg),*) },
                    $crate::elementwise::lanes::Level::Portable => {}
                }
            }
            body::<false>($($arg),*)
        }
    };
}
pub(crate) use multiversion;
