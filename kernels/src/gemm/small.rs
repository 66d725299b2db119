//! The simple path for tiny products: no packing, no threads, just loops in an order that streams C and
//! op(B) rows. Below a few thousand multiply-adds, packing and dispatch cost more than the arithmetic.

use super::shape::GemmShape;

/// C = alpha·op(A)·op(B) + beta·C over an already-checked shape.
pub(crate) fn gemm_small(s: &GemmShape, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    for i in 0..s.m {
        let c_row = &mut c[i * s.ldc..][..s.n];
        if beta == 0.0 {
            c_row.fill(0.0);
        } else if beta != 1.0 {
            c_row.iter_mut().for_each(|x| *x *= beta);
        }
        for p in 0..s.k {
            let aip = alpha * s.a_at(a, i, p);
            if s.trans_b {
                for (j, x) in c_row.iter_mut().enumerate() {
                    *x += aip * b[j * s.ldb + p];
                }
            } else {
                let b_row = &b[p * s.ldb..][..s.n];
                for (x, &bj) in c_row.iter_mut().zip(b_row) {
                    *x += aip * bj;
                }
            }
        }
    }
}

/// C = beta·C for the cases with no product (k == 0 or alpha == 0); beta == 0 writes zeros without reading.
pub(crate) fn scale_c(s: &GemmShape, beta: f32, c: &mut [f32]) {
    for i in 0..s.m {
        let c_row = &mut c[i * s.ldc..][..s.n];
        if beta == 0.0 {
            c_row.fill(0.0);
        } else if beta != 1.0 {
            c_row.iter_mut().for_each(|x| *x *= beta);
        }
    }
}
