//! Element-wise and comparison ops against naive f64 references, over odd sizes, NumPy broadcasts and
//! non-contiguous views.
//!
//! Tolerances: add/sub/mul/div/max/min are one correctly rounded f32 operation, so they must equal the f64
//! result rounded to f32 up to 1 ulp (rtol 1.2e-7). `pow`, `exp`, `tanh`, `sigmoid` and GELU use
//! vectorised polynomial approximations or libm in f32, good to a few ulp: rtol 1e-5 with atol 1e-6
//! (absolute near zero, where relative error is meaningless). `log` / `sqrt` are libm: rtol 1e-6.
mod ops_support;

use engine::{DType, Tensor};
use ops_support::*;

/// Shape pairs that exercise broadcasting: equal, trailing, leading, both-sided, rank-0 and size-1.
const PAIRS: &[(&[usize], &[usize])] = &[
    (&[257], &[257]),
    (&[7, 33], &[7, 33]),
    (&[7, 1, 33], &[1, 5, 1]),
    (&[7, 33], &[33]),
    (&[33], &[7, 1]),
    (&[], &[7, 5]),
    (&[1], &[5, 7]),
    (&[1, 1], &[1]),
    (&[3, 5, 7], &[5, 1]),
];

fn binary_reference(op: &str, a: f64, b: f64) -> f64 {
    match op {
        "add" => a + b,
        "sub" => a - b,
        "mul" => a * b,
        "div" => a / b,
        "maximum" => a.max(b),
        "minimum" => a.min(b),
        "pow" => a.powf(b),
        _ => unreachable!(),
    }
}

fn run_binary(op: &str, a: &Tensor, b: &Tensor) -> engine::Result<Tensor> {
    match op {
        "add" => a.add(b),
        "sub" => a.sub(b),
        "mul" => a.mul(b),
        "div" => a.div(b),
        "maximum" => a.maximum(b),
        "minimum" => a.minimum(b),
        "pow" => a.pow(b),
        _ => unreachable!(),
    }
}

#[test]
fn binary_ops_broadcast_over_every_layout() {
    let mut rng = Rng::new(1);
    for op in ["add", "sub", "mul", "div", "maximum", "minimum", "pow"] {
        for &(sa, sb) in PAIRS {
            // pow needs a positive base; div a divisor away from 0.
            let (alo, ahi) = if op == "pow" { (0.1, 3.0) } else { (-3.0, 3.0) };
            let a_vals = rng.vec(numel(sa), alo, ahi);
            let b_vals: Vec<f32> = if op == "div" {
                rng.vec(numel(sb), 0.5, 3.0).into_iter().map(|v| if rng.below(2) == 0 { v } else { -v }).collect()
            } else {
                rng.vec(numel(sb), -2.0, 2.0)
            };
            let out_shape = broadcast(sa, sb);
            let want: Vec<f64> = all_indices(&out_shape)
                .iter()
                .map(|idx| {
                    let x = a_vals[broadcast_linear(sa, idx)] as f64;
                    let y = b_vals[broadcast_linear(sb, idx)] as f64;
                    binary_reference(op, x, y)
                })
                .collect();
            let rtol = if op == "pow" { 1e-5 } else { 1.2e-7 };
            for la in LAYOUTS {
                for lb in [Layout::Contiguous, Layout::Transposed, Layout::Narrowed] {
                    let a = make(&a_vals, sa, la);
                    let b = make(&b_vals, sb, lb);
                    let got = run_binary(op, &a, &b).unwrap();
                    assert_eq!(got.shape(), out_shape.as_slice());
                    assert!(got.is_contiguous());
                    let what = format!("{op} {sa:?} ({la:?}) with {sb:?} ({lb:?})");
                    assert_close(&got.to_vec::<f32>().unwrap(), &want, 1e-30, rtol, &what);
                }
            }
        }
    }
}

#[test]
fn binary_ops_read_broadcast_views_without_copying_them() {
    // An expanded operand (stride 0) goes straight to the kernel.
    let mut rng = Rng::new(2);
    let row = Tensor::from_vec(rng.vec(33, -1.0, 1.0), &[1, 33]).unwrap();
    let expanded = row.expand(&[7, 33]).unwrap();
    let m = Tensor::from_vec(rng.vec(7 * 33, -1.0, 1.0), &[7, 33]).unwrap();
    let via_view = m.mul(&expanded).unwrap().to_vec::<f32>().unwrap();
    let via_broadcast = m.mul(&row).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(via_view, via_broadcast);
}

#[test]
fn scalar_ops_match_reference_on_views() {
    let mut rng = Rng::new(3);
    let shape = [7, 33];
    let vals = rng.vec(numel(&shape), 0.1, 3.0);
    for layout in LAYOUTS {
        let t = make(&vals, &shape, layout);
        type Case = (&'static str, Tensor, Box<dyn Fn(f64) -> f64>);
        let cases: Vec<Case> = vec![
            ("add_scalar", t.add_scalar(1.5).unwrap(), Box::new(|x| x + 1.5)),
            ("sub_scalar", t.sub_scalar(1.5).unwrap(), Box::new(|x| x - 1.5)),
            ("mul_scalar", t.mul_scalar(-2.5).unwrap(), Box::new(|x| x * -2.5)),
            ("div_scalar", t.div_scalar(3.0).unwrap(), Box::new(|x| x / 3.0)),
            ("pow_scalar", t.pow_scalar(1.7).unwrap(), Box::new(|x| x.powf(1.7))),
            ("rsub_scalar", t.rsub_scalar(1.0).unwrap(), Box::new(|x| 1.0 - x)),
            ("rdiv_scalar", t.rdiv_scalar(2.0).unwrap(), Box::new(|x| 2.0 / x)),
        ];
        for (name, got, f) in cases {
            let want: Vec<f64> = vals.iter().map(|&v| f(v as f64)).collect();
            let rtol = if name == "pow_scalar" { 1e-5 } else { 1.2e-7 };
            assert_close(&got.to_vec::<f32>().unwrap(), &want, 1e-30, rtol, &format!("{name} ({layout:?})"));
        }
    }
}

/// erf in f64 by its Maclaurin series (converges to ~1e-15 for the |x| <= 5 used here; ±1 beyond).
fn erf(x: f64) -> f64 {
    if x.abs() > 5.0 {
        return x.signum();
    }
    // Maclaurin series: erf x = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)).
    let mut sum = 0.0;
    let mut term = x; // (-1)^n x^(2n+1) / n!
    for n in 0..200 {
        sum += term / (2 * n + 1) as f64;
        term *= -x * x / (n + 1) as f64;
        if term.abs() < 1e-17 {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

fn gelu_tanh(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
}

#[test]
fn unary_ops_match_reference_on_views() {
    let mut rng = Rng::new(4);
    for shape in [vec![1], vec![257], vec![7, 33], vec![3, 5, 7]] {
        let signed = rng.vec(numel(&shape), -6.0, 6.0);
        let positive = rng.vec(numel(&shape), 0.01, 20.0);
        type Case = (&'static str, bool, fn(&Tensor) -> engine::Result<Tensor>, fn(f64) -> f64, f64);
        let cases: [Case; 14] = [
            ("neg", false, Tensor::neg, |x| -x, 0.0),
            ("exp", false, Tensor::exp, f64::exp, 1e-5),
            ("log", true, Tensor::log, f64::ln, 1e-6),
            ("tanh", false, Tensor::tanh, f64::tanh, 1e-5),
            ("sigmoid", false, Tensor::sigmoid, |x| 1.0 / (1.0 + (-x).exp()), 1e-5),
            ("relu", false, Tensor::relu, |x| x.max(0.0), 0.0),
            ("gelu", false, Tensor::gelu, gelu_tanh, 1e-5),
            ("gelu_erf", false, Tensor::gelu_erf, |x| 0.5 * x * (1.0 + erf(x / 2f64.sqrt())), 1e-5),
            ("sqrt", true, Tensor::sqrt, f64::sqrt, 1e-6),
            ("rsqrt", true, Tensor::rsqrt, |x| 1.0 / x.sqrt(), 1e-6),
            ("recip", true, Tensor::recip, |x| 1.0 / x, 1.2e-7),
            ("abs", false, Tensor::abs, f64::abs, 0.0),
            ("square", false, Tensor::square, |x| x * x, 1.2e-7),
            ("neg twice", false, |t: &Tensor| t.neg()?.neg(), |x| x, 0.0),
        ];
        for (name, needs_positive, op, reference, rtol) in cases {
            let vals = if needs_positive { &positive } else { &signed };
            let want: Vec<f64> = vals.iter().map(|&v| reference(v as f64)).collect();
            for layout in LAYOUTS {
                let got = op(&make(vals, &shape, layout)).unwrap();
                assert_eq!(got.shape(), shape.as_slice());
                let what = format!("{name} {shape:?} ({layout:?})");
                let atol = if rtol == 0.0 { 0.0 } else { 1e-6 };
                assert_close(&got.to_vec::<f32>().unwrap(), &want, atol, rtol, &what);
            }
        }
    }
}

#[test]
fn gelu_backward_matches_the_analytic_derivative() {
    let mut rng = Rng::new(5);
    let x_vals = rng.vec(257, -5.0, 5.0);
    let d_vals = rng.vec(257, -1.0, 1.0);
    let x = make(&x_vals, &[257], Layout::Narrowed);
    let dout = Tensor::from_vec(d_vals.clone(), &[257]).unwrap();
    // Central differences of the f64 formulas with h = 1e-5 are accurate to ~1e-10.
    let h = 1e-5;
    let tanh_grad: Vec<f64> = x_vals
        .iter()
        .zip(&d_vals)
        .map(|(&x, &d)| (gelu_tanh(x as f64 + h) - gelu_tanh(x as f64 - h)) / (2.0 * h) * d as f64)
        .collect();
    assert_close(&x.gelu_backward(&dout).unwrap().to_vec::<f32>().unwrap(), &tanh_grad, 1e-5, 1e-4, "gelu_backward");
    let erf_gelu = |x: f64| 0.5 * x * (1.0 + erf(x / 2f64.sqrt()));
    let erf_grad: Vec<f64> = x_vals
        .iter()
        .zip(&d_vals)
        .map(|(&x, &d)| (erf_gelu(x as f64 + h) - erf_gelu(x as f64 - h)) / (2.0 * h) * d as f64)
        .collect();
    assert_close(
        &x.gelu_erf_backward(&dout).unwrap().to_vec::<f32>().unwrap(),
        &erf_grad,
        1e-5,
        1e-4,
        "gelu_erf_backward",
    );
    assert!(err_msg(x.gelu_backward(&Tensor::from_vec(vec![0f32; 3], &[3]).unwrap()))
        .contains("gelu_backward: x [257] and dout [3]"));
}

#[test]
fn elementwise_errors_name_the_op_and_shapes() {
    let a = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![0f32; 4], &[4]).unwrap();
    assert_eq!(
        err_msg(a.add(&b)),
        "add: shapes [2, 3] and [4] cannot be broadcast together (dimension 1: 3 against 4)"
    );
    assert!(err_msg(a.pow(&b)).starts_with("pow: shapes [2, 3] and [4]"));
    let ids = Tensor::from_vec(vec![1i64, 2, 3], &[3]).unwrap();
    let msg = err_msg(ids.exp());
    assert!(msg.contains("exp: input [3] has dtype I64 but F32 is required"), "{msg}");
    let half = a.to_dtype(DType::BF16).unwrap();
    let msg = err_msg(a.mul(&half));
    assert!(msg.contains("mul: rhs [2, 3] has dtype BF16") && msg.contains("cast to F32 first"), "{msg}");
    assert!(err_msg(half.mul_scalar(2.0)).contains("mul_scalar"));
}

fn compare_reference(op: &str, a: f64, b: f64) -> bool {
    match op {
        "eq" => a == b,
        "ne" => a != b,
        "lt" => a < b,
        "le" => a <= b,
        "gt" => a > b,
        "ge" => a >= b,
        _ => unreachable!(),
    }
}

fn run_compare(op: &str, a: &Tensor, b: &Tensor) -> engine::Result<Tensor> {
    match op {
        "eq" => a.eq(b),
        "ne" => a.ne(b),
        "lt" => a.lt(b),
        "le" => a.le(b),
        "gt" => a.gt(b),
        "ge" => a.ge(b),
        _ => unreachable!(),
    }
}

fn run_compare_scalar(op: &str, a: &Tensor, v: f64) -> engine::Result<Tensor> {
    match op {
        "eq" => a.eq_scalar(v),
        "ne" => a.ne_scalar(v),
        "lt" => a.lt_scalar(v),
        "le" => a.le_scalar(v),
        "gt" => a.gt_scalar(v),
        "ge" => a.ge_scalar(v),
        _ => unreachable!(),
    }
}

#[test]
fn comparisons_broadcast_with_ties_nan_and_integers() {
    let mut rng = Rng::new(6);
    for op in ["eq", "ne", "lt", "le", "gt", "ge"] {
        for &(sa, sb) in PAIRS {
            // Four levels: plenty of exact ties; one NaN planted in a.
            let mut a_vals = rng.ties(numel(sa), 4);
            if a_vals.len() > 2 {
                a_vals[1] = f32::NAN;
            }
            let b_vals = rng.ties(numel(sb), 4);
            let out_shape = broadcast(sa, sb);
            let want: Vec<u8> = all_indices(&out_shape)
                .iter()
                .map(|idx| {
                    compare_reference(
                        op,
                        a_vals[broadcast_linear(sa, idx)] as f64,
                        b_vals[broadcast_linear(sb, idx)] as f64,
                    ) as u8
                })
                .collect();
            for layout in [Layout::Contiguous, Layout::Transposed, Layout::Permuted] {
                let got = run_compare(op, &make(&a_vals, sa, layout), &make(&b_vals, sb, Layout::Narrowed)).unwrap();
                assert_eq!(got.dtype(), DType::U8);
                assert_eq!(got.shape(), out_shape.as_slice());
                assert_eq!(got.to_vec::<u8>().unwrap(), want, "{op} {sa:?} ({layout:?}) with {sb:?}");
            }
            // The same on I64 data (NaN-free).
            let ai: Vec<i64> = a_vals.iter().map(|&v| if v.is_nan() { 7 } else { v as i64 }).collect();
            let bi: Vec<i64> = b_vals.iter().map(|&v| v as i64).collect();
            let want_i: Vec<u8> = all_indices(&out_shape)
                .iter()
                .map(|idx| {
                    compare_reference(op, ai[broadcast_linear(sa, idx)] as f64, bi[broadcast_linear(sb, idx)] as f64)
                        as u8
                })
                .collect();
            let got = run_compare(op, &make(&ai, sa, Layout::Transposed), &make(&bi, sb, Layout::Contiguous)).unwrap();
            assert_eq!(got.to_vec::<u8>().unwrap(), want_i, "{op} on I64 {sa:?} with {sb:?}");
        }
        // Scalar forms, on a non-contiguous view; I64 ids beyond f32's exact range compare exactly.
        let vals = rng.ties(7 * 33, 5);
        let t = make(&vals, &[7, 33], Layout::Transposed);
        let want: Vec<u8> = vals.iter().map(|&v| compare_reference(op, v as f64, 2.0) as u8).collect();
        assert_eq!(run_compare_scalar(op, &t, 2.0).unwrap().to_vec::<u8>().unwrap(), want, "{op}_scalar");
        let big = Tensor::from_vec(vec![16_777_217i64, 16_777_216], &[2]).unwrap();
        let want: Vec<u8> =
            [16_777_217f64, 16_777_216.0].iter().map(|&v| compare_reference(op, v, 16_777_217.0) as u8).collect();
        assert_eq!(
            run_compare_scalar(op, &big, 16_777_217.0).unwrap().to_vec::<u8>().unwrap(),
            want,
            "{op}_scalar on I64"
        );
    }
}

#[test]
fn logical_ops_and_comparison_errors() {
    let a = Tensor::from_vec(vec![0u8, 1, 2, 0], &[2, 2]).unwrap();
    let b = Tensor::from_vec(vec![1u8, 0], &[2, 1]).unwrap();
    assert_eq!(a.logical_and(&b).unwrap().to_vec::<u8>().unwrap(), vec![0, 1, 0, 0]);
    assert_eq!(a.logical_or(&b).unwrap().to_vec::<u8>().unwrap(), vec![1, 1, 1, 0]);
    assert_eq!(a.t().unwrap().logical_not().unwrap().to_vec::<u8>().unwrap(), vec![1, 0, 0, 1]);
    let f = Tensor::from_vec(vec![0f32; 4], &[2, 2]).unwrap();
    assert!(err_msg(a.logical_and(&f)).contains("logical_and: rhs [2, 2] has dtype F32 but U8 is required"));
    let i = Tensor::from_vec(vec![0i64; 2], &[2]).unwrap();
    assert_eq!(err_msg(f.eq(&i)), "eq: lhs [2, 2] is F32 but rhs [2] is I64; cast one first");
    let g = Tensor::from_vec(vec![0f32; 3], &[3]).unwrap();
    assert!(err_msg(f.lt(&g)).starts_with("lt: shapes [2, 2] and [3] cannot be broadcast"));
}

#[test]
#[should_panic(expected = "element 1: got 2.0001, want 2")]
fn the_closeness_check_catches_one_wrong_element() {
    // The oracle comparison every test here relies on must fail on a single element out of tolerance.
    assert_close(&[1.0, 2.0001, 3.0], &[1.0, 2.0, 3.0], 1e-6, 1e-6, "sanity");
}
