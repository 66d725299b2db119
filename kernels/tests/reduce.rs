//! Row/column reductions against sequential f64 references.
//!
//! Tolerances: max/min/argmax are exact (a comparison selects an input). sum/mean: relative 1e-6 of
//! sum|x| (absolute part) plus 1e-6 relative: the blocked scheme adds at most 32 terms per f32 lane
//! before moving to f64 (error ~ 40 eps * sum|x| ≈ 5e-6 worst case, far less on random data; the test
//! uses the 1e-6 * sum|x| bound plus rounding of the result). sum_cols accumulates in f64, so it
//! must equal the f64 reference rounded once, bitwise.
mod support;

use kernels::reduce::reference::*;
use support::{assert_same, with_threads, Rng, SIZES};

fn sum_tolerance_check(what: &str, got: &[f32], want: &[f32], abs_scale: &[f64]) {
    for i in 0..got.len() {
        let tol = 1e-6 * abs_scale[i] + 1e-6 * want[i].abs() as f64;
        assert!(((got[i] - want[i]) as f64).abs() <= tol, "{what}[{i}]: got {} want {} (tol {tol:e})", got[i], want[i]);
    }
}

#[test]
fn row_reductions_match_reference() {
    let mut rng = Rng::new(21);
    for &rows in &SIZES {
        for &cols in &SIZES {
            let x = rng.vec(rows * cols, -10.0, 10.0);
            let abs_sum: Vec<f64> = x.chunks(cols).map(|r| r.iter().map(|v| v.abs() as f64).sum()).collect();
            let (mut got, mut want) = (vec![0.0; rows], vec![0.0; rows]);

            kernels::sum_rows(&x, rows, cols, &mut got).unwrap();
            sum_rows_naive(&x, rows, cols, &mut want);
            sum_tolerance_check("sum_rows", &got, &want, &abs_sum);

            kernels::mean_rows(&x, rows, cols, &mut got).unwrap();
            mean_rows_naive(&x, rows, cols, &mut want);
            let abs_mean: Vec<f64> = abs_sum.iter().map(|s| s / cols as f64).collect();
            sum_tolerance_check("mean_rows", &got, &want, &abs_mean);

            kernels::max_rows(&x, rows, cols, &mut got).unwrap();
            max_rows_naive(&x, rows, cols, &mut want);
            assert_same("max_rows", &got, &want);

            kernels::min_rows(&x, rows, cols, &mut got).unwrap();
            min_rows_naive(&x, rows, cols, &mut want);
            assert_same("min_rows", &got, &want);

            let (mut ga, mut wa) = (vec![0; rows], vec![0; rows]);
            kernels::argmax_rows(&x, rows, cols, &mut ga).unwrap();
            argmax_rows_naive(&x, rows, cols, &mut wa);
            assert_eq!(ga, wa, "argmax_rows {rows}x{cols}");

            let (mut gc, mut wc) = (vec![0.0; cols], vec![0.0; cols]);
            kernels::sum_cols(&x, rows, cols, &mut gc).unwrap();
            sum_cols_naive(&x, rows, cols, &mut wc);
            assert_same("sum_cols", &gc, &wc);
        }
    }
}

#[test]
fn long_rows_sum_accurately() {
    // 1e6 values near 1: a naive f32 loop would be off by ~1e-2 relative; blocked must stay ~1e-7.
    let mut rng = Rng::new(22);
    let x: Vec<f32> = (0..1_000_000).map(|_| 1.0 + rng.uniform(-1e-3, 1e-3)).collect();
    let mut got = [0.0];
    kernels::sum_rows(&x, 1, x.len(), &mut got).unwrap();
    let want: f64 = x.iter().map(|&v| v as f64).sum();
    assert!(((got[0] as f64 - want) / want).abs() < 2e-7, "got {} want {want}", got[0]);
}

#[test]
fn argmax_ties_and_nan_policy() {
    let x = [3.0, 1.0, 3.0, 2.0, /* row 2 */ 1.0, f32::NAN, 5.0, f32::NAN];
    let mut out = [9; 2];
    kernels::argmax_rows(&x, 2, 4, &mut out).unwrap();
    assert_eq!(out, [0, 1], "ties -> lowest index; NaN -> first NaN");
    // Ties and a NaN far into a long row (vector path).
    let mut row = vec![0.0f32; 100];
    row[40] = 7.0;
    row[77] = 7.0;
    kernels::argmax_rows(&row, 1, 100, &mut out[..1]).unwrap();
    assert_eq!(out[0], 40);
    row[90] = f32::NAN;
    kernels::argmax_rows(&row, 1, 100, &mut out[..1]).unwrap();
    assert_eq!(out[0], 90);
    let mut m = [0.0];
    kernels::max_rows(&row, 1, 100, &mut m).unwrap();
    assert!(m[0].is_nan(), "max of a row with NaN is NaN");
    kernels::min_rows(&row, 1, 100, &mut m).unwrap();
    assert!(m[0].is_nan(), "min of a row with NaN is NaN");
}

#[test]
fn thread_count_does_not_change_results() {
    let mut rng = Rng::new(23);
    let (rows, cols) = (300, 1001);
    let x = rng.vec(rows * cols, -1.0, 1.0);
    let run = || {
        let (mut s, mut c) = (vec![0.0; rows], vec![0.0; cols]);
        kernels::sum_rows(&x, rows, cols, &mut s).unwrap();
        kernels::sum_cols(&x, rows, cols, &mut c).unwrap();
        (s, c)
    };
    let (s1, c1) = with_threads(1, run);
    let (s2, c2) = with_threads(2, run);
    assert_same("sum_rows", &s1, &s2);
    assert_same("sum_cols", &c1, &c2);
}

#[test]
fn shape_errors() {
    let mut out = [0.0; 2];
    let e = kernels::sum_rows(&[1.0; 5], 2, 3, &mut out).unwrap_err();
    assert_eq!(e.kernel, "sum_rows");
    assert!(e.message.contains("x has 5"), "{e}");
    assert!(kernels::sum_rows(&[1.0; 6], 2, 3, &mut out[..1]).is_err());
    assert!(kernels::sum_cols(&[1.0; 6], 2, 3, &mut out).is_err());
    assert!(kernels::max_rows(&[], 2, 0, &mut out).is_err(), "max of an empty row");
    let mut idx = [0usize; 1];
    assert!(kernels::argmax_rows(&[1.0; 3], 1, 4, &mut idx).is_err());
}
