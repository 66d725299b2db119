//! Element-wise kernels against their naive references, the fast transcendentals against std/f64,
//! GELU backward against central finite differences in f64, and the error cases.
//!
//! Tolerances (and why):
//! - Add/Sub/Mul/Div/Maximum/Minimum/Pow/Neg/Log/Relu/Sqrt/Rsqrt/Recip/Abs/Square: bitwise equal to the
//!   reference: the fast path runs the very same IEEE operation (or std call) per element.
//! - Exp: <= 2 ulp from the correctly rounded f64 result (Cephes polynomial; see simd_math docs).
//! - Tanh, Sigmoid: <= 4 ulp from f64 (built from the 2-ulp exp plus a division).
//! - Erf: absolute 5e-7 (rational approximation; erf only ever enters GELU as 1 + erf).
//! - Gelu (tanh form): |diff| <= 2e-6 * (1 + |x|): x * sigmoid(2u) vs 0.5 x (1 + tanh u) are the same
//!   function evaluated differently; the textbook form itself loses bits to 1 + tanh u near -1.
//! - GeluErf: |diff| <= 1e-6 * (1 + |x|) from erf's absolute error times |x| / 2.
//! - Backward vs naive: 1e-5 * (1 + |dx|); vs finite differences (h = 1e-4 in f64, truncation
//!   error ~1e-9): 1e-5 * (1 + |g|), the f32 rounding of the gradient formula.
mod support;

use kernels::elementwise::{fast_math, reference};
use kernels::{BinaryOp, UnaryOp};
use support::{assert_same, ulps, with_threads, Rng, SIZES};

const ALL_BINARY: [BinaryOp; 7] =
    [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Pow];
const EXACT_UNARY: [UnaryOp; 9] = [
    UnaryOp::Neg,
    UnaryOp::Log,
    UnaryOp::Relu,
    UnaryOp::Sqrt,
    UnaryOp::Rsqrt,
    UnaryOp::Recip,
    UnaryOp::Abs,
    UnaryOp::Square,
    UnaryOp::Neg,
];

/// Lengths: the shared sizes plus one large enough to take the parallel path.
fn lengths() -> Vec<usize> {
    let mut v = SIZES.to_vec();
    v.push(150_001);
    v
}

/// Inputs valid for every op: positive for Pow/Log/Sqrt bases.
fn inputs(rng: &mut Rng, op_needs_positive: bool, n: usize) -> Vec<f32> {
    if op_needs_positive {
        rng.vec(n, 0.05, 4.0)
    } else {
        rng.vec(n, -6.0, 6.0)
    }
}

#[test]
fn binary_ops_match_reference_bitwise() {
    let mut rng = Rng::new(1);
    for &n in &lengths() {
        for op in ALL_BINARY {
            let a = inputs(&mut rng, op == BinaryOp::Pow, n);
            let mut b = rng.vec(n, -3.0, 3.0);
            if n > 3 {
                b[1] = a[1]; // a tie for max/min
                b[2] = f32::NAN; // NaN must propagate through every op
            }
            let mut want = vec![0.0; n];
            reference::binary_contiguous_naive(op, &a, &b, &mut want);
            let mut got = vec![0.0; n];
            kernels::binary_contiguous(op, &a, &b, &mut got).unwrap();
            assert_same(&format!("{op:?} n={n}"), &got, &want);
            if n > 3 {
                assert!(got[2].is_nan(), "{op:?} must propagate NaN");
            }

            let s = 1.75f32;
            let want: Vec<f32> = a.iter().map(|&x| op.apply(x, s)).collect();
            kernels::binary_scalar(op, &a, s, &mut got).unwrap();
            assert_same(&format!("{op:?} scalar n={n}"), &got, &want);
            let base = if op == BinaryOp::Pow { 1.5 } else { s };
            let want: Vec<f32> = b.iter().map(|&y| op.apply(base, y)).collect();
            kernels::scalar_binary(op, base, &b, &mut got).unwrap();
            assert_same(&format!("scalar {op:?} n={n}"), &got, &want);
        }
    }
}

#[test]
fn exact_unary_ops_match_reference_bitwise() {
    let mut rng = Rng::new(2);
    for &n in &lengths() {
        for op in EXACT_UNARY {
            let positive = matches!(op, UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::Rsqrt);
            let x = inputs(&mut rng, positive, n);
            let mut want = vec![0.0; n];
            reference::unary_contiguous_naive(op, &x, &mut want);
            let mut got = vec![0.0; n];
            kernels::unary_contiguous(op, &x, &mut got).unwrap();
            assert_same(&format!("{op:?} n={n}"), &got, &want);
        }
    }
}

#[test]
fn relu_and_minmax_propagate_nan() {
    let mut out = [0.0; 1];
    kernels::unary_contiguous(UnaryOp::Relu, &[f32::NAN], &mut out).unwrap();
    assert!(out[0].is_nan());
    kernels::binary_contiguous(BinaryOp::Minimum, &[f32::NAN], &[1.0], &mut out).unwrap();
    assert!(out[0].is_nan());
    kernels::binary_contiguous(BinaryOp::Maximum, &[1.0], &[f32::NAN], &mut out).unwrap();
    assert!(out[0].is_nan());
}

/// f64 result rounded to f32: the correctly rounded answer (to within double rounding, which is rare).
fn exact(f: impl Fn(f64) -> f64, x: f32) -> f32 {
    f(x as f64) as f32
}

/// Both builds of each lane function: without FMA (SSE2) and with (AVX2/AVX-512).
type Variants = [(&'static str, fn(f32) -> f32); 2];
const EXP: Variants = [("exp", fast_math::exp), ("exp_fma", fast_math::exp_fma)];
const TANH: Variants = [("tanh", fast_math::tanh), ("tanh_fma", fast_math::tanh_fma)];
const SIGMOID: Variants = [("sigmoid", fast_math::sigmoid), ("sigmoid_fma", fast_math::sigmoid_fma)];
const ERF: Variants = [("erf", fast_math::erf), ("erf_fma", fast_math::erf_fma)];

#[test]
fn fast_exp_within_2_ulp_and_handles_specials() {
    for (name, exp) in EXP {
        let mut worst = 0;
        let n = 400_000;
        for i in 0..=n {
            let x = -87.0 + 175.0 * i as f32 / n as f32;
            worst = worst.max(ulps(exp(x), exact(f64::exp, x)));
        }
        assert!(worst <= 2, "{name} worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-200.0), 0.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        // The subnormal range: relative accuracy degrades with the shrinking mantissa, so check absolutely.
        for &x in &[-88.0f32, -95.0, -100.0, -103.0] {
            let (g, w) = (exp(x), exact(f64::exp, x));
            assert!((g - w).abs() <= 2.0 * f32::from_bits(1), "{name}({x}) = {g:e}, want {w:e}");
        }
        // 88.72 is just below overflow.
        assert!(ulps(exp(88.72), exact(f64::exp, 88.72)) <= 2);
    }
}

#[test]
fn fast_tanh_sigmoid_within_4_ulp_erf_within_5e7() {
    for v in 0..2 {
        let (tn, tanh) = TANH[v];
        let (sn, sigmoid) = SIGMOID[v];
        let (en, erf) = ERF[v];
        let (mut wt, mut ws, mut we) = (0, 0, 0.0f32);
        let n = 200_000;
        for i in 0..=n {
            let x = -12.0 + 24.0 * i as f32 / n as f32;
            wt = wt.max(ulps(tanh(x), exact(f64::tanh, x)));
            ws = ws.max(ulps(sigmoid(x), exact(|v| 1.0 / (1.0 + (-v).exp()), x)));
            we = we.max((erf(x) - exact(reference::erf_f64, x)).abs());
        }
        assert!(wt <= 4, "{tn} worst {wt} ulp");
        assert!(ws <= 4, "{sn} worst {ws} ulp");
        assert!(we <= 5e-7, "{en} worst abs error {we:e}");
        // Tiny arguments go through the polynomial: tanh(x) = x to f32 precision.
        assert_eq!(tanh(1e-20), 1e-20);
        assert_eq!(tanh(-30.0), -1.0);
        assert!(tanh(f32::NAN).is_nan() && erf(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
        assert_eq!(sigmoid(-200.0), 0.0);
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!((erf(-10.0), erf(10.0)), (-1.0, 1.0));
    }
}

#[test]
fn transcendental_unary_ops_match_reference() {
    let mut rng = Rng::new(3);
    for &n in &lengths() {
        let x = rng.vec(n, -8.0, 8.0);
        let mut got = vec![0.0; n];
        let mut want = vec![0.0; n];
        for (op, tol_ulps) in [(UnaryOp::Exp, 3), (UnaryOp::Tanh, 5), (UnaryOp::Sigmoid, 5)] {
            kernels::unary_contiguous(op, &x, &mut got).unwrap();
            reference::unary_contiguous_naive(op, &x, &mut want);
            for i in 0..n {
                // std's f32 exp/tanh may themselves be 1 ulp off, hence one ulp more than the f64 bound.
                assert!(ulps(got[i], want[i]) <= tol_ulps, "{op:?}({}) = {} want {}", x[i], got[i], want[i]);
            }
        }
        kernels::unary_contiguous(UnaryOp::Gelu, &x, &mut got).unwrap();
        reference::unary_contiguous_naive(UnaryOp::Gelu, &x, &mut want);
        for i in 0..n {
            assert!((got[i] - want[i]).abs() <= 2e-6 * (1.0 + x[i].abs()), "gelu({}) = {} want {}", x[i], got[i], want[i]);
        }
        kernels::unary_contiguous(UnaryOp::GeluErf, &x, &mut got).unwrap();
        reference::unary_contiguous_naive(UnaryOp::GeluErf, &x, &mut want);
        for i in 0..n {
            assert!((got[i] - want[i]).abs() <= 1e-6 * (1.0 + x[i].abs()), "gelu_erf({}) = {} want {}", x[i], got[i], want[i]);
        }
    }
}

/// f64 GELU forwards for finite differences.
fn gelu_f64(x: f64) -> f64 {
    let k = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
}
fn gelu_erf_f64(x: f64) -> f64 {
    0.5 * x * (1.0 + reference::erf_f64(x / std::f64::consts::SQRT_2))
}

#[test]
fn gelu_backward_matches_reference_and_finite_differences() {
    let mut rng = Rng::new(4);
    type Backward = fn(&[f32], &[f32], &mut [f32]) -> kernels::KernelResult<()>;
    type Naive = fn(&[f32], &[f32], &mut [f32]);
    type Case = (&'static str, Backward, Naive, fn(f64) -> f64);
    let cases: [Case; 2] = [
        ("gelu", kernels::gelu_backward, reference::gelu_backward_naive, gelu_f64),
        ("gelu_erf", kernels::gelu_erf_backward, reference::gelu_erf_backward_naive, gelu_erf_f64),
    ];
    for (name, fast, naive, f) in cases {
        for &n in &lengths() {
            let x = rng.vec(n, -6.0, 6.0);
            let dout = rng.vec(n, -1.0, 1.0);
            // Start from a non-zero gradient to check accumulation (+=).
            let init = rng.vec(n, -1.0, 1.0);
            let mut got = init.clone();
            fast(&x, &dout, &mut got).unwrap();
            let mut want = init.clone();
            naive(&x, &dout, &mut want);
            let tol: Vec<f32> = want.iter().map(|w| 1e-5 * (1.0 + w.abs())).collect();
            for i in 0..n {
                assert!((got[i] - want[i]).abs() <= tol[i], "{name} n={n} [{i}] got {} want {}", got[i], want[i]);
            }
            // Finite differences on the first few elements.
            for i in 0..n.min(64) {
                let (xi, h) = (x[i] as f64, 1e-4);
                let g = (f(xi + h) - f(xi - h)) / (2.0 * h) * dout[i] as f64;
                let analytic = (got[i] - init[i]) as f64;
                assert!((analytic - g).abs() <= 1e-5 * (1.0 + g.abs()), "{name} fd x={xi}: {analytic} vs {g}");
            }
        }
    }
}

#[test]
fn axpy_and_scale() {
    let mut rng = Rng::new(5);
    for &n in &lengths() {
        let x = rng.vec(n, -1.0, 1.0);
        let y0 = rng.vec(n, -1.0, 1.0);
        let mut y = y0.clone();
        kernels::axpy(0.3, &x, &mut y).unwrap();
        let want: Vec<f32> = y0.iter().zip(&x).map(|(&y, &x)| y + 0.3 * x).collect();
        assert_same("axpy", &y, &want);
        kernels::scale(-2.0, &mut y);
        let want: Vec<f32> = want.iter().map(|&v| v * -2.0).collect();
        assert_same("scale", &y, &want);
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let mut rng = Rng::new(6);
    let n = 300_007;
    let x = rng.vec(n, -5.0, 5.0);
    let run = || {
        let mut out = vec![0.0; n];
        kernels::unary_contiguous(UnaryOp::Gelu, &x, &mut out).unwrap();
        let mut dx = vec![0.0; n];
        kernels::gelu_erf_backward(&x, &out, &mut dx).unwrap();
        (out, dx)
    };
    let (a1, b1) = with_threads(1, run);
    let (a2, b2) = with_threads(2, run);
    let (a3, b3) = with_threads(3, run);
    assert_same("gelu 1 vs 2 threads", &a1, &a2);
    assert_same("gelu 1 vs 3 threads", &a1, &a3);
    assert_same("gelu_erf_backward 1 vs 2 threads", &b1, &b2);
    assert_same("gelu_erf_backward 1 vs 3 threads", &b1, &b3);
}

#[test]
fn length_mismatches_are_errors() {
    let mut out = [0.0; 3];
    let e = kernels::binary_contiguous(BinaryOp::Add, &[1.0; 3], &[1.0; 2], &mut out).unwrap_err();
    assert_eq!(e.kernel, "binary_contiguous");
    assert!(e.message.contains("b has 2"), "{e}");
    assert!(kernels::binary_scalar(BinaryOp::Add, &[1.0; 2], 1.0, &mut out).is_err());
    assert!(kernels::scalar_binary(BinaryOp::Add, 1.0, &[1.0; 4], &mut out).is_err());
    assert!(kernels::unary_contiguous(UnaryOp::Exp, &[1.0; 2], &mut out).is_err());
    assert!(kernels::gelu_backward(&[1.0; 3], &[1.0; 2], &mut out).is_err());
    assert!(kernels::gelu_erf_backward(&[1.0; 2], &[1.0; 3], &mut out).is_err());
    let e = kernels::axpy(1.0, &[1.0; 2], &mut out).unwrap_err();
    assert_eq!(e.kernel, "axpy");
}
