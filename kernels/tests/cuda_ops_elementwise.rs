//! GPU element-wise kernels against the CPU kernels of `kernels::elementwise`, over sizes from 1 to 65537,
//! launch configurations from one 32-thread block to full grids, misaligned views (the scalar path beside
//! the float4 one), and strided / broadcast views. Prints "skipping: <reason>" and passes without a GPU.
//!
//! Tolerance: 1e-6 absolute + 1e-5 relative for the transcendental ops (the CPU uses its own SIMD
//! polynomials, the GPU CUDA's libm; both are within a few ulp of the truth, GELU's 1 + tanh cancels for
//! negative x), exact for the ops that are one IEEE operation (neg, abs, relu, square, add, mul, ...,
//! sqrt, division).
#![cfg(feature = "cuda")]

mod cuda_ops_common;

use cuda_ops_common::{assert_close, device, Rng, SIZES};
use kernels::cuda::ops::elementwise as gpu;
use kernels::cuda::ops::launch::Launch;
use kernels::{BinaryOp, UnaryOp};

const UNARY: [UnaryOp; 13] = [
    UnaryOp::Neg,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Tanh,
    UnaryOp::Sigmoid,
    UnaryOp::Relu,
    UnaryOp::Gelu,
    UnaryOp::GeluErf,
    UnaryOp::Sqrt,
    UnaryOp::Rsqrt,
    UnaryOp::Recip,
    UnaryOp::Abs,
    UnaryOp::Square,
];
const BINARY: [BinaryOp; 7] =
    [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Pow];

/// Launch configurations: automatic, one small block (every grid-stride loop runs many passes), odd
/// block counts, the largest block.
const LAUNCHES: [Launch; 4] = [
    Launch::AUTO,
    Launch { threads: 32, blocks: 1 },
    Launch { threads: 96, blocks: 7 },
    Launch { threads: 1024, blocks: 0 },
];

/// Inputs inside each op's domain (log, sqrt, rsqrt need x > 0; recip stays away from 0).
fn unary_input(op: UnaryOp, rng: &mut Rng, n: usize) -> Vec<f32> {
    match op {
        UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::Rsqrt => rng.vec(n, 0.01, 50.0),
        UnaryOp::Recip => {
            rng.vec(n, 0.1, 4.0).into_iter().enumerate().map(|(i, v)| if i % 2 == 0 { v } else { -v }).collect()
        }
        UnaryOp::Exp => rng.vec(n, -30.0, 30.0),
        _ => rng.vec(n, -6.0, 6.0),
    }
}

fn unary_tolerance(op: UnaryOp) -> (f32, f32) {
    match op {
        UnaryOp::Neg | UnaryOp::Relu | UnaryOp::Abs | UnaryOp::Square | UnaryOp::Sqrt | UnaryOp::Recip => (0.0, 0.0),
        _ => (1e-6, 1e-5),
    }
}

#[test]
fn unary_contiguous_matches_cpu_for_every_op_size_and_launch() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(1);
    for op in UNARY {
        for &n in SIZES {
            let x = unary_input(op, &mut rng, n + 1);
            let mut want = vec![0.0; n];
            kernels::unary_contiguous(op, &x[..n], &mut want).unwrap();
            let xd = dev.htod(&x).unwrap();
            for launch in LAUNCHES {
                let mut out = dev.alloc_zeros::<f32>(n).unwrap();
                gpu::unary_contiguous(&dev, op, &xd.slice(..n), &mut out, launch).unwrap();
                let (atol, rtol) = unary_tolerance(op);
                assert_close(&format!("{op:?} n={n} {launch:?}"), &dev.dtoh(&out).unwrap(), &want, atol, rtol);
            }
            // x + 1 element is not 16-byte aligned: the scalar path does every element.
            let mut want1 = vec![0.0; n];
            kernels::unary_contiguous(op, &x[1..], &mut want1).unwrap();
            let mut out = dev.alloc_zeros::<f32>(n).unwrap();
            gpu::unary_contiguous(&dev, op, &xd.slice(1..), &mut out, Launch::AUTO).unwrap();
            let (atol, rtol) = unary_tolerance(op);
            assert_close(&format!("{op:?} n={n} misaligned"), &dev.dtoh(&out).unwrap(), &want1, atol, rtol);
        }
    }
}

#[test]
fn unary_nan_infinity_and_signed_zero_match_cpu() {
    let Some(dev) = device() else { return };
    let x = [f32::NAN, -0.0, 0.0, -1.0, f32::INFINITY, f32::NEG_INFINITY, 1e-30];
    for op in [UnaryOp::Relu, UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Square] {
        let mut want = vec![0.0; x.len()];
        kernels::unary_contiguous(op, &x, &mut want).unwrap();
        let mut out = dev.alloc_zeros::<f32>(x.len()).unwrap();
        gpu::unary_contiguous(&dev, op, &dev.htod(&x).unwrap(), &mut out, Launch::AUTO).unwrap();
        assert_close(&format!("{op:?} edge cases"), &dev.dtoh(&out).unwrap(), &want, 1e-6, 1e-5);
    }
}

/// (shape, offset, strides, source length) views: transposes, broadcasts, offsets, odd sizes, and a
/// 5-d view that does not coalesce.
fn views() -> Vec<(Vec<usize>, usize, Vec<usize>, usize)> {
    vec![
        (vec![7], 3, vec![2], 20),                            // every other element, offset
        (vec![33, 17], 0, vec![1, 33], 33 * 17),              // transpose
        (vec![5, 257], 0, vec![0, 1], 257),                   // broadcast over rows
        (vec![257, 5], 1, vec![1, 0], 300),                   // broadcast over columns, offset
        (vec![3, 1, 4, 5], 2, vec![40, 7, 10, 2], 200),       // size-1 dim, non-contiguous everywhere
        (vec![2, 3, 2, 3, 7], 0, vec![1, 2, 6, 12, 36], 252), // reversed order: no dims merge
        (vec![1000, 3], 0, vec![3, 1], 3000),                 // contiguous: coalesces to one dim
        (vec![], 4, vec![], 5),                               // a scalar
    ]
}

#[test]
fn unary_strided_matches_cpu_on_transposed_broadcast_and_offset_views() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(2);
    for (shape, offset, strides, len) in views() {
        for op in [UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Gelu, UnaryOp::Square] {
            let x = unary_input(op, &mut rng, len);
            let n: usize = shape.iter().product();
            let mut want = vec![0.0; n];
            kernels::unary_strided(op, &shape, &x, offset, &strides, &mut want).unwrap();
            let xd = dev.htod(&x).unwrap();
            for launch in [Launch::AUTO, Launch { threads: 32, blocks: 2 }] {
                let mut out = dev.alloc_zeros::<f32>(n).unwrap();
                gpu::unary_strided(&dev, op, &shape, &xd, offset, &strides, &mut out, launch).unwrap();
                let (atol, rtol) = unary_tolerance(op);
                assert_close(
                    &format!("{op:?} {shape:?} off {offset} strides {strides:?}"),
                    &dev.dtoh(&out).unwrap(),
                    &want,
                    atol,
                    rtol,
                );
            }
        }
    }
}

fn binary_inputs(op: BinaryOp, rng: &mut Rng, n: usize) -> (Vec<f32>, Vec<f32>) {
    match op {
        BinaryOp::Pow => (rng.vec(n, 0.1, 4.0), rng.vec(n, -3.0, 3.0)),
        BinaryOp::Div => (rng.vec(n, -5.0, 5.0), rng.vec(n, 0.25, 4.0)),
        _ => (rng.vec(n, -5.0, 5.0), rng.vec(n, -5.0, 5.0)),
    }
}

fn binary_tolerance(op: BinaryOp) -> (f32, f32) {
    if op == BinaryOp::Pow {
        (1e-6, 2e-6)
    } else {
        (0.0, 0.0)
    }
}

#[test]
fn binary_contiguous_and_scalar_forms_match_cpu() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(3);
    for op in BINARY {
        let (atol, rtol) = binary_tolerance(op);
        for &n in SIZES {
            let (a, b) = binary_inputs(op, &mut rng, n + 1);
            let (ad, bd) = (dev.htod(&a).unwrap(), dev.htod(&b).unwrap());
            for launch in LAUNCHES {
                let mut want = vec![0.0; n];
                kernels::binary_contiguous(op, &a[..n], &b[..n], &mut want).unwrap();
                let mut out = dev.alloc_zeros::<f32>(n).unwrap();
                gpu::binary_contiguous(&dev, op, &ad.slice(..n), &bd.slice(..n), &mut out, launch).unwrap();
                assert_close(&format!("{op:?} n={n} {launch:?}"), &dev.dtoh(&out).unwrap(), &want, atol, rtol);
            }
            // Misaligned a (scalar path).
            let mut want = vec![0.0; n];
            kernels::binary_contiguous(op, &a[1..], &b[..n], &mut want).unwrap();
            let mut out = dev.alloc_zeros::<f32>(n).unwrap();
            gpu::binary_contiguous(&dev, op, &ad.slice(1..), &bd.slice(..n), &mut out, Launch::AUTO).unwrap();
            assert_close(&format!("{op:?} n={n} misaligned"), &dev.dtoh(&out).unwrap(), &want, atol, rtol);
            // Scalar on either side.
            let s = if op == BinaryOp::Pow { 1.7 } else { 0.75 };
            let mut want = vec![0.0; n];
            kernels::binary_scalar(op, &a[..n], s, &mut want).unwrap();
            gpu::binary_scalar(&dev, op, &ad.slice(..n), s, &mut out, Launch::AUTO).unwrap();
            assert_close(&format!("{op:?} n={n} x op s"), &dev.dtoh(&out).unwrap(), &want, atol, rtol);
            kernels::scalar_binary(op, s, &a[..n], &mut want).unwrap();
            gpu::scalar_binary(&dev, op, s, &ad.slice(..n), &mut out, Launch { threads: 64, blocks: 3 }).unwrap();
            assert_close(&format!("{op:?} n={n} s op x"), &dev.dtoh(&out).unwrap(), &want, atol, rtol);
        }
    }
}

#[test]
fn maximum_minimum_propagate_nan_like_cpu() {
    let Some(dev) = device() else { return };
    let a = [f32::NAN, 1.0, f32::NAN, -0.0, 2.0];
    let b = [1.0, f32::NAN, f32::NAN, 0.0, 2.0];
    for op in [BinaryOp::Maximum, BinaryOp::Minimum] {
        let mut want = vec![0.0; a.len()];
        kernels::binary_contiguous(op, &a, &b, &mut want).unwrap();
        let mut out = dev.alloc_zeros::<f32>(a.len()).unwrap();
        gpu::binary_contiguous(&dev, op, &dev.htod(&a).unwrap(), &dev.htod(&b).unwrap(), &mut out, Launch::AUTO)
            .unwrap();
        let got = dev.dtoh(&out).unwrap();
        for i in 0..a.len() {
            assert_eq!(got[i].to_bits(), want[i].to_bits(), "{op:?} element {i}: {} vs cpu {}", got[i], want[i]);
        }
    }
}

#[test]
fn binary_strided_matches_cpu_with_broadcasts_on_either_side() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(4);
    // (shape, a offset, a strides, a len, b offset, b strides, b len)
    type Case = (Vec<usize>, usize, Vec<usize>, usize, usize, Vec<usize>, usize);
    let cases: Vec<Case> = vec![
        (vec![33, 257], 0, vec![257, 1], 33 * 257, 0, vec![0, 1], 257), // + row bias
        (vec![33, 257], 0, vec![257, 1], 33 * 257, 5, vec![1, 0], 40),  // + column vector, offset
        (vec![17, 33], 0, vec![1, 17], 17 * 33, 0, vec![33, 1], 17 * 33), // transpose op contiguous
        (vec![4, 1, 7, 9], 3, vec![63, 0, 9, 1], 260, 0, vec![0, 0, 1, 7], 63), // 4-d, both strided
        (vec![1], 2, vec![0], 3, 0, vec![0], 1),                        // one element
        (vec![65_537], 0, vec![1], 65_537, 0, vec![0], 1),              // long + scalar broadcast
    ];
    for op in BINARY {
        let (atol, rtol) = binary_tolerance(op);
        for (shape, ao, ast, alen, bo, bst, blen) in &cases {
            let (a, _) = binary_inputs(op, &mut rng, *alen);
            let (_, b) = binary_inputs(op, &mut rng, *blen);
            let n: usize = shape.iter().product();
            let mut want = vec![0.0; n];
            kernels::binary_strided(op, shape, &a, *ao, ast, &b, *bo, bst, &mut want).unwrap();
            let (ad, bd) = (dev.htod(&a).unwrap(), dev.htod(&b).unwrap());
            for launch in [Launch::AUTO, Launch { threads: 32, blocks: 1 }] {
                let mut out = dev.alloc_zeros::<f32>(n).unwrap();
                gpu::binary_strided(&dev, op, shape, &ad, *ao, ast, &bd, *bo, bst, &mut out, launch).unwrap();
                assert_close(
                    &format!("{op:?} {shape:?} a {ast:?} b {bst:?}"),
                    &dev.dtoh(&out).unwrap(),
                    &want,
                    atol,
                    rtol,
                );
            }
        }
    }
}

#[test]
fn gelu_backward_both_forms_accumulate_like_cpu() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(5);
    for &n in SIZES {
        let (x, g, d0) = (rng.vec(n, -6.0, 6.0), rng.vec(n, -2.0, 2.0), rng.vec(n, -1.0, 1.0));
        let (xd, gd) = (dev.htod(&x).unwrap(), dev.htod(&g).unwrap());
        for (erf, launch) in [
            (false, Launch::AUTO),
            (true, Launch::AUTO),
            (false, Launch { threads: 32, blocks: 5 }),
            (true, Launch { threads: 512, blocks: 1 }),
        ] {
            let mut want = d0.clone();
            if erf {
                kernels::gelu_erf_backward(&x, &g, &mut want).unwrap();
            } else {
                kernels::gelu_backward(&x, &g, &mut want).unwrap();
            }
            let mut dx = dev.htod(&d0).unwrap();
            if erf {
                gpu::gelu_erf_backward(&dev, &xd, &gd, &mut dx, launch).unwrap();
            } else {
                gpu::gelu_backward(&dev, &xd, &gd, &mut dx, launch).unwrap();
            }
            assert_close(
                &format!("gelu backward erf={erf} n={n} {launch:?}"),
                &dev.dtoh(&dx).unwrap(),
                &want,
                2e-6,
                1e-5,
            );
        }
    }
}

#[test]
fn axpy_and_scale_match_cpu() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(6);
    for &n in SIZES {
        let (x, y) = (rng.vec(n + 1, -3.0, 3.0), rng.vec(n, -3.0, 3.0));
        let mut want = y.clone();
        kernels::axpy(0.37, &x[1..], &mut want).unwrap();
        let xd = dev.htod(&x).unwrap();
        let mut yd = dev.htod(&y).unwrap();
        gpu::axpy(&dev, 0.37, &xd.slice(1..), &mut yd, Launch::AUTO).unwrap();
        // The GPU may fuse alpha * x + y into one FMA (one rounding instead of two).
        assert_close(&format!("axpy n={n}"), &dev.dtoh(&yd).unwrap(), &want, 1e-6, 1e-6);
        kernels::scale(-1.5, &mut want);
        gpu::scale(&dev, -1.5, &mut yd, Launch { threads: 64, blocks: 2 }).unwrap();
        assert_close(&format!("scale n={n}"), &dev.dtoh(&yd).unwrap(), &want, 1e-6, 1e-6);
    }
}

#[test]
fn size_errors_name_the_op_and_the_sizes() {
    let Some(dev) = device() else { return };
    let a = dev.alloc_zeros::<f32>(5).unwrap();
    let mut out = dev.alloc_zeros::<f32>(4).unwrap();
    let e = gpu::unary_contiguous(&dev, UnaryOp::Exp, &a, &mut out, Launch::AUTO).unwrap_err();
    assert_eq!(e.kernel, "cuda_unary_contiguous");
    assert!(e.message.contains("x has 5") && e.message.contains("out has 4"), "{e}");
    let e = gpu::binary_contiguous(&dev, BinaryOp::Add, &a, &a.slice(1..), &mut out, Launch::AUTO).unwrap_err();
    assert_eq!(e.kernel, "cuda_binary_contiguous");
    assert!(e.message.contains("a has 5, b has 4, out has 4"), "{e}");
    let e = gpu::binary_strided(&dev, BinaryOp::Add, &[2, 3], &a, 0, &[3, 1], &a, 0, &[0, 1], &mut out, Launch::AUTO)
        .unwrap_err();
    assert!(e.message.contains("reaches past"), "{e}");
    let e = gpu::unary_contiguous(
        &dev,
        UnaryOp::Exp,
        &a,
        &mut dev.alloc_zeros::<f32>(5).unwrap(),
        Launch { threads: 48, blocks: 0 },
    )
    .unwrap_err();
    assert!(e.message.contains("multiple of 32"), "{e}");
    // Nine dims that cannot merge: more than the kernel walks.
    let shape = [2usize; 9];
    let strides: Vec<usize> = (0..9).map(|d| 1usize << (8 - d)).rev().collect();
    let big = dev.alloc_zeros::<f32>(1 << 9).unwrap();
    let mut out9 = dev.alloc_zeros::<f32>(1 << 9).unwrap();
    let e = gpu::unary_strided(&dev, UnaryOp::Neg, &shape, &big, 0, &strides, &mut out9, Launch::AUTO).unwrap_err();
    assert!(e.message.contains("at most 8"), "{e}");
}
