//! Strided views: `copy_strided`, `binary_strided` and `unary_strided` against the naive per-element
//! index decomposition, on hand-written layouts (transpose, broadcast, offsets) and proptest-generated
//! ones. Tolerance: bitwise equality for copies and exact ops (each element is the same value or the same
//! IEEE op); `Exp` through the strided path must equal the contiguous fast kernel bitwise (same
//! vector code, independent of where an element sits).
mod support;

use kernels::elementwise::reference::{binary_strided_naive, unary_strided_naive};
use kernels::strided::reference::copy_strided_naive;
use kernels::{BinaryOp, UnaryOp};
use proptest::prelude::*;
use support::{assert_same, with_threads, Rng};

/// Elements a view touches: offset + sum((n - 1) * stride) + 1.
fn extent(shape: &[usize], offset: usize, strides: &[usize]) -> usize {
    if shape.iter().product::<usize>() == 0 {
        return offset;
    }
    offset + shape.iter().zip(strides).map(|(&n, &s)| (n - 1) * s).sum::<usize>() + 1
}

fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

fn check_copy<T: Copy + Send + Sync + PartialEq + std::fmt::Debug + Default>(shape: &[usize], src: &[T], offset: usize, strides: &[usize]) {
    let n: usize = shape.iter().product();
    let mut want = vec![T::default(); n];
    copy_strided_naive(shape, src, offset, strides, &mut want);
    let mut got = vec![T::default(); n];
    kernels::copy_strided(shape, src, offset, strides, &mut got).unwrap();
    assert_eq!(got, want, "shape {shape:?} offset {offset} strides {strides:?}");
}

#[test]
fn copy_transpose_broadcast_offset() {
    let src: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    // (3, 4) transpose of a (4, 3) matrix.
    check_copy(&[3, 4], &src, 0, &[1, 3]);
    // Row broadcast (stride 0 on dim 0) and column broadcast (stride 0 on dim 1).
    check_copy(&[5, 7], &src, 2, &[0, 1]);
    check_copy(&[5, 7], &src, 2, &[1, 0]);
    // A slice with an offset and a step of 2 on the last dim.
    check_copy(&[4, 5], &src, 11, &[20, 2]);
    // A permuted 4-d view.
    check_copy(&[2, 3, 4, 5], &src, 1, &[1, 40, 10, 2]);
    // Scalar (0-d) and empty views.
    check_copy(&[], &src, 7, &[]);
    check_copy(&[3, 0, 2], &src, 0, &[0, 0, 0]);
    // Other element types.
    let ints: Vec<i64> = (0..100).collect();
    check_copy(&[4, 5], &ints, 3, &[1, 4]);
    let bytes: Vec<u8> = (0..100).collect();
    check_copy(&[10, 3], &bytes, 0, &[3, 1]);
    let halves: Vec<half::bf16> = (0..100).map(|i| half::bf16::from_f32(i as f32)).collect();
    check_copy(&[5, 5], &halves, 0, &[1, 5]);
}

#[test]
fn large_transpose_takes_the_parallel_path_and_is_thread_invariant() {
    let (r, c) = (301, 517);
    let mut rng = Rng::new(11);
    let src = rng.vec(r * c, -1.0, 1.0);
    check_copy(&[c, r], &src, 0, &[1, c]);
    let run = || {
        let mut out = vec![0.0; r * c];
        kernels::binary_strided(BinaryOp::Mul, &[c, r], &src, 0, &[1, c], &src, 0, &[0, c], &mut out).unwrap();
        out
    };
    assert_same("binary_strided 1 vs 2 threads", &with_threads(1, run), &with_threads(2, run));
}

#[test]
fn batched_transposes_take_the_tiled_path() {
    // (batch, r, c) views whose last dim is strided and second-last contiguous: the cache-tiled copy.
    let src: Vec<f32> = (0..20_000).map(|i| i as f32).collect();
    check_copy(&[3, 50, 40], &src, 7, &[2000, 1, 50]); // per-batch transpose, with an offset
    check_copy(&[40, 3, 50], &src, 0, &[1, 2000, 40]); // batch in the middle
    check_copy(&[33, 257], &src, 5, &[1, 33]); // sizes not multiples of the tile
    check_copy(&[2, 3, 33, 65], &src, 1, &[0, 33 * 65, 1, 33]); // a broadcast batch dim
    let bytes: Vec<u8> = (0..20_000).map(|i| i as u8).collect();
    check_copy(&[100, 90], &bytes, 3, &[1, 100]);
}

#[test]
fn binary_broadcast_bias_add_and_outer_product() {
    let mut rng = Rng::new(12);
    for &(rows, cols) in &[(1, 1), (7, 33), (257, 7), (33, 1000)] {
        let a = rng.vec(rows * cols, -1.0, 1.0);
        let bias = rng.vec(cols, -1.0, 1.0);
        let mut got = vec![0.0; rows * cols];
        kernels::binary_strided(BinaryOp::Add, &[rows, cols], &a, 0, &[cols, 1], &bias, 0, &[0, 1], &mut got).unwrap();
        let want: Vec<f32> = (0..rows * cols).map(|i| a[i] + bias[i % cols]).collect();
        assert_same("bias add", &got, &want);
        // Outer product: u (rows, 1) * v (1, cols) via strides (1, 0) and (0, 1).
        let u = rng.vec(rows, -1.0, 1.0);
        kernels::binary_strided(BinaryOp::Mul, &[rows, cols], &u, 0, &[1, 0], &bias, 0, &[0, 1], &mut got).unwrap();
        let want: Vec<f32> = (0..rows * cols).map(|i| u[i / cols] * bias[i % cols]).collect();
        assert_same("outer product", &got, &want);
    }
}

#[test]
fn unary_strided_exp_equals_contiguous_fast_path() {
    let mut rng = Rng::new(13);
    let (r, c) = (33, 257);
    let x = rng.vec(r * c, -5.0, 5.0);
    let mut xt = vec![0.0; r * c];
    kernels::copy_strided(&[c, r], &x, 0, &[1, c], &mut xt).unwrap();
    let mut want = vec![0.0; r * c];
    kernels::unary_contiguous(UnaryOp::Exp, &xt, &mut want).unwrap();
    let mut got = vec![0.0; r * c];
    kernels::unary_strided(UnaryOp::Exp, &[c, r], &x, 0, &[1, c], &mut got).unwrap();
    assert_same("strided exp of a transpose", &got, &want);
}

#[test]
fn views_past_the_end_and_bad_ranks_are_errors() {
    let src = [0.0f32; 10];
    let mut dst = [0.0f32; 6];
    let e = kernels::copy_strided(&[2, 3], &src, 5, &[3, 1], &mut dst).unwrap_err();
    assert_eq!(e.kernel, "copy_strided");
    assert!(kernels::copy_strided(&[2, 3], &src, 0, &[3], &mut dst).is_err());
    assert!(kernels::copy_strided(&[2, 3], &src, 0, &[3, 1], &mut dst[..5]).is_err());
    assert!(kernels::copy_strided(&[2, 3], &src, 0, &[usize::MAX, 1], &mut dst).is_err());
    let mut out = [0.0f32; 6];
    assert!(kernels::binary_strided(BinaryOp::Add, &[2, 3], &src, 0, &[3, 1], &src, 8, &[0, 1], &mut out).is_err());
    assert!(kernels::unary_strided(UnaryOp::Neg, &[2, 3], &src, 0, &[3, 1], &mut out[..4]).is_err());
}

/// A random view: rank 0..=4, dims 0..=5 (mostly >= 1), each stride 0 (broadcast), contiguous-ish,
/// or a random step, dims permuted; plus an offset.
fn view() -> impl Strategy<Value = (Vec<usize>, usize, Vec<usize>)> {
    (0usize..=4)
        .prop_flat_map(|rank| {
            (
                proptest::collection::vec(prop_oneof![9 => 1usize..=5, 1 => Just(0usize)], rank),
                proptest::collection::vec(prop_oneof![2 => Just(0usize), 3 => Just(usize::MAX), 3 => 1usize..=7], rank),
                any::<u64>(),
                0usize..10,
            )
        })
        .prop_map(|(shape, kinds, perm_seed, offset)| {
            // A seeded Fisher-Yates permutation of the dims (a transpose of the layout).
            let rank = shape.len();
            let mut rng = Rng::new(perm_seed);
            let mut perm: Vec<usize> = (0..rank).collect();
            for i in (1..rank).rev() {
                perm.swap(i, rng.below(i + 1));
            }
            // usize::MAX marks "contiguous stride" for that dim (in the unpermuted layout).
            let contiguous = contiguous_strides(&shape);
            let base: Vec<usize> = kinds.iter().enumerate().map(|(d, &k)| if k == usize::MAX { contiguous[d] } else { k }).collect();
            let shape_p: Vec<usize> = perm.iter().map(|&d| shape[d]).collect();
            let strides_p: Vec<usize> = perm.iter().map(|&d| base[d]).collect();
            (shape_p, offset, strides_p)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn copy_strided_matches_naive((shape, offset, strides) in view(), seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let src = rng.vec(extent(&shape, offset, &strides), -1.0, 1.0);
        check_copy(&shape, &src, offset, &strides);
    }

    #[test]
    fn binary_strided_matches_naive(
        (shape, a_off, a_strides) in view(),
        b_kinds in proptest::collection::vec(0usize..3, 4),
        b_off in 0usize..5,
        op in prop_oneof![Just(BinaryOp::Add), Just(BinaryOp::Sub), Just(BinaryOp::Mul), Just(BinaryOp::Maximum)],
        seed in any::<u64>(),
    ) {
        // b shares a's shape: per dim broadcast (0), a's stride, or contiguous.
        let contiguous = contiguous_strides(&shape);
        let b_strides: Vec<usize> = (0..shape.len()).map(|d| match b_kinds[d] { 0 => 0, 1 => a_strides[d], _ => contiguous[d] }).collect();
        let mut rng = Rng::new(seed);
        let a = rng.vec(extent(&shape, a_off, &a_strides), -1.0, 1.0);
        let b = rng.vec(extent(&shape, b_off, &b_strides), -1.0, 1.0);
        let n: usize = shape.iter().product();
        let mut want = vec![0.0; n];
        binary_strided_naive(op, &shape, &a, a_off, &a_strides, &b, b_off, &b_strides, &mut want);
        let mut got = vec![0.0; n];
        kernels::binary_strided(op, &shape, &a, a_off, &a_strides, &b, b_off, &b_strides, &mut got).unwrap();
        prop_assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "shape {:?}", shape);
    }

    #[test]
    fn copy_transposed_blocks_match_naive(b in 1usize..4, r in 1usize..80, c in 1usize..80, offset in 0usize..9, batch_broadcast in any::<bool>()) {
        // The (b, c, r) transpose of a (b, r, c) buffer: big enough (often) for the tiled path.
        let shape = [b, c, r];
        let strides = [if batch_broadcast { 0 } else { r * c }, 1, c];
        let n = offset + b * r * c;
        let src: Vec<f32> = (0..n).map(|i| i as f32).collect();
        check_copy(&shape, &src, offset, &strides);
    }

    #[test]
    fn unary_strided_matches_naive((shape, offset, strides) in view(), seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let x = rng.vec(extent(&shape, offset, &strides), -2.0, 2.0);
        let n: usize = shape.iter().product();
        for op in [UnaryOp::Neg, UnaryOp::Square, UnaryOp::Relu] {
            let mut want = vec![0.0; n];
            unary_strided_naive(op, &shape, &x, offset, &strides, &mut want);
            let mut got = vec![0.0; n];
            kernels::unary_strided(op, &shape, &x, offset, &strides, &mut got).unwrap();
            prop_assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "{:?} shape {:?}", op, shape);
        }
    }
}
