//! `matmul` against a naive f64 triple loop over logical indices: 1-D, 2-D, batched, broadcast batches,
//! transposed / narrowed / permuted / expanded views, and the shape errors.
//!
//! Tolerance: an f32 dot product of length K accumulated in any order is within K·u·Σ|a_ik·b_kj| of the
//! exact value (u = 2^-24, the standard recursive-summation bound); we allow K·eps = 2·K·u times that sum
//! plus 1e-6, so the check holds for any blocking order the GEMM picks, yet still catches a wrong element.
mod ops_support;

use engine::Tensor;
use ops_support::*;

/// The reference: NumPy matmul semantics written out with loops.
fn reference(a: &[f32], sa: &[usize], b: &[f32], sb: &[usize]) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let a2: Vec<usize> = if sa.len() == 1 { vec![1, sa[0]] } else { sa.to_vec() };
    let b2: Vec<usize> = if sb.len() == 1 { vec![sb[0], 1] } else { sb.to_vec() };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let n = b2[b2.len() - 1];
    let batch = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let mut out = Vec::new();
    let mut bound = Vec::new();
    for bi in all_indices(&batch) {
        for i in 0..m {
            for j in 0..n {
                let (mut acc, mut abs) = (0.0f64, 0.0f64);
                for p in 0..k {
                    let mut ia = bi.clone();
                    ia.extend([i, p]);
                    let mut ib = bi.clone();
                    ib.extend([p, j]);
                    let x = a[broadcast_linear(&a2, &ia)] as f64;
                    let y = b[broadcast_linear(&b2, &ib)] as f64;
                    acc += x * y;
                    abs += (x * y).abs();
                }
                out.push(acc);
                bound.push(abs * k as f64 * f32::EPSILON as f64 + 1e-6);
            }
        }
    }
    let mut shape = batch;
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    (shape, out, bound)
}

fn check(a: &Tensor, b: &Tensor, a_vals: &[f32], b_vals: &[f32], what: &str) {
    let got = a.matmul(b).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (shape, want, bound) = reference(a_vals, a.shape(), b_vals, b.shape());
    assert_eq!(got.shape(), shape.as_slice(), "{what}");
    let got = got.to_vec::<f32>().unwrap();
    for (i, ((&g, &w), &tol)) in got.iter().zip(&want).zip(&bound).enumerate() {
        assert!((g as f64 - w).abs() <= tol, "{what}: element {i}: got {g}, want {w} (tolerance {tol})");
    }
}

#[test]
fn matmul_shapes_and_layouts() {
    let mut rng = Rng::new(20);
    let cases: &[(&[usize], &[usize])] = &[
        (&[1], &[1]),
        (&[257], &[257]),
        (&[33], &[33, 7]),
        (&[7, 33], &[33]),
        (&[1, 1], &[1, 1]),
        (&[7, 33], &[33, 5]),
        (&[33, 257], &[257, 7]),
        (&[3, 7, 33], &[33, 5]),
        (&[7, 33], &[3, 33, 5]),
        (&[3, 7, 33], &[3, 33, 5]),
        (&[2, 1, 7, 9], &[4, 9, 5]),
        (&[4, 7, 9], &[2, 1, 9, 5]),
        (&[2, 3, 1, 9], &[9, 1]),
        (&[5], &[2, 3, 5, 4]),
        (&[2, 3, 7, 5], &[5]),
        (&[7, 0], &[0, 5]),
        (&[0, 3], &[3, 4]),
    ];
    for &(sa, sb) in cases {
        let a_vals = rng.vec(numel(sa), -1.0, 1.0);
        let b_vals = rng.vec(numel(sb), -1.0, 1.0);
        for la in LAYOUTS {
            for lb in LAYOUTS {
                let a = make(&a_vals, sa, la);
                let b = make(&b_vals, sb, lb);
                check(&a, &b, &a_vals, &b_vals, &format!("{sa:?} ({la:?}) @ {sb:?} ({lb:?})"));
            }
        }
    }
}

#[test]
fn matmul_on_views_the_gemm_reads_in_place() {
    let mut rng = Rng::new(21);
    // Attention-style: q [B, H, T, D] @ k^T, with k transposed by a view (a transpose flag, no copy).
    let (b, h, t, d) = (2, 3, 7, 5);
    let q_vals = rng.vec(b * h * t * d, -1.0, 1.0);
    let k_vals = rng.vec(b * h * t * d, -1.0, 1.0);
    let q = Tensor::from_vec(q_vals.clone(), &[b, h, t, d]).unwrap();
    let k = Tensor::from_vec(k_vals.clone(), &[b, h, t, d]).unwrap();
    let kt = k.transpose(-2, -1).unwrap();
    let kt_vals = kt.to_vec::<f32>().unwrap();
    check(&q, &kt, &q_vals, &kt_vals, "q @ k^T");

    // Heads split from a [B, T, H, D] tensor by a permute: batch strides that do not merge.
    let x = Tensor::from_vec(q_vals.clone(), &[b, t, h, d]).unwrap().permute(&[0, 2, 1, 3]).unwrap();
    let x_vals = x.to_vec::<f32>().unwrap();
    let w_vals = rng.vec(d * 4, -1.0, 1.0);
    let w = Tensor::from_vec(w_vals.clone(), &[d, 4]).unwrap();
    check(&x, &w, &x_vals, &w_vals, "permuted heads @ w");

    // An expanded (stride-0) batch on the left and on the right.
    let a_vals = rng.vec(7 * 9, -1.0, 1.0);
    let a = Tensor::from_vec(a_vals.clone(), &[7, 9]).unwrap().expand(&[4, 7, 9]).unwrap();
    let a_exp = a.to_vec::<f32>().unwrap();
    let bb_vals = rng.vec(4 * 9 * 3, -1.0, 1.0);
    let bb = Tensor::from_vec(bb_vals.clone(), &[4, 9, 3]).unwrap();
    check(&a, &bb, &a_exp, &bb_vals, "expanded lhs batch");
    check(
        &bb.transpose(-2, -1).unwrap(),
        &a.transpose(-2, -1).unwrap(),
        &transposed(&bb_vals, 4, 9, 3),
        &transposed(&a_exp, 4, 7, 9),
        "expanded rhs batch",
    );

    // A matrix whose rows are themselves broadcast (row stride 0) and one with no unit stride at all.
    let row = Tensor::from_vec(rng.vec(9, -1.0, 1.0), &[1, 9]).unwrap().expand(&[6, 9]).unwrap();
    let row_vals = row.to_vec::<f32>().unwrap();
    let m_vals = rng.vec(9 * 4, -1.0, 1.0);
    let m = Tensor::from_vec(m_vals.clone(), &[9, 4]).unwrap();
    check(&row, &m, &row_vals, &m_vals, "broadcast rows");
    let strided = Tensor::from_vec(rng.vec(6 * 9 * 2, -1.0, 1.0), &[6, 9, 2]).unwrap().select(-1, 1).unwrap();
    assert!(strided.strides().iter().all(|&s| s != 1));
    let strided_vals = strided.to_vec::<f32>().unwrap();
    check(&strided, &m, &strided_vals, &m_vals, "no unit stride");

    // Results are fresh and contiguous; inputs are untouched.
    let out = q.matmul(&kt).unwrap();
    assert!(out.is_contiguous() && !out.shares_storage_with(&q));
    assert_eq!(q.to_vec::<f32>().unwrap(), q_vals);
}

/// Values of the transpose of each [rows, cols] matrix in a [batch, rows, cols] buffer.
fn transposed(vals: &[f32], batch: usize, rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; vals.len()];
    for t in 0..batch {
        for i in 0..rows {
            for j in 0..cols {
                out[t * rows * cols + j * rows + i] = vals[t * rows * cols + i * cols + j];
            }
        }
    }
    out
}

#[test]
fn matmul_errors_name_both_shapes() {
    let a = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![0f32; 20], &[4, 5]).unwrap();
    assert_eq!(err_msg(a.matmul(&b)), "matmul: lhs [2, 3] and rhs [4, 5] do not agree on the inner dimension");
    let v = Tensor::from_vec(vec![0f32; 4], &[4]).unwrap();
    assert_eq!(err_msg(a.matmul(&v)), "matmul: lhs [2, 3] and rhs [4] do not agree on the inner dimension");
    let x = Tensor::from_vec(vec![0f32; 2 * 2 * 3], &[2, 2, 3]).unwrap();
    let y = Tensor::from_vec(vec![0f32; 3 * 3 * 4], &[3, 3, 4]).unwrap();
    assert_eq!(
        err_msg(x.matmul(&y)),
        "matmul: lhs [2, 2, 3] and rhs [3, 3, 4]: the batch dimensions cannot be broadcast together"
    );
    assert!(err_msg(Tensor::scalar(1.0).matmul(&a))
        .contains("matmul: lhs [] and rhs [2, 3]: both operands need at least one dimension"));
    let ids = Tensor::from_vec(vec![0i64; 6], &[3, 2]).unwrap();
    assert!(err_msg(a.matmul(&ids)).contains("matmul: rhs [3, 2] has dtype I64 but F32 is required"));
}
