//! Softmax, log-softmax and fused cross-entropy against f64 references and f64 finite differences.
//!
//! Tolerances:
//! - forward vs the f64 reference: softmax 1e-6 relative + 1e-9 absolute per probability (exp is
//!   <= 2 ulp, the sum is blocked, one multiply by 1/sum: a few ulp); log-softmax 2e-6 absolute plus
//!   1e-6 relative (x - max and log(sum) are each exact to a few ulp of their magnitude).
//! - backward vs the f64 reference: 1e-6 * (1 + |value|) (one blocked dot/sum per row in f64).
//! - backward vs central finite differences of an f64 forward (h = 1e-3 on logits in [-3, 3];
//!   truncation error ~h^2 * |f'''| ~ 1e-7): 2e-5 * (1 + |g|), dominated by f32 rounding.
//! - cross-entropy loss/logsumexp: 2e-6 * (1 + |value|); dlogits 1e-6 * (1 + |value|).
mod support;

use kernels::cross_entropy::reference::*;
use kernels::softmax::reference::*;
use support::{assert_close, with_threads, assert_same, Rng, SIZES};

#[test]
fn softmax_and_log_softmax_match_reference() {
    let mut rng = Rng::new(31);
    for &rows in &SIZES {
        for &cols in &SIZES {
            let n = rows * cols;
            let x = rng.vec(n, -8.0, 8.0);
            let (mut got, mut want) = (vec![0.0; n], vec![0.0; n]);
            kernels::softmax_rows(&x, rows, cols, &mut got).unwrap();
            softmax_rows_naive(&x, rows, cols, &mut want);
            assert_close(&format!("softmax {rows}x{cols}"), &got, &want, 1e-6, 1e-9);
            kernels::log_softmax_rows(&x, rows, cols, &mut got).unwrap();
            log_softmax_rows_naive(&x, rows, cols, &mut want);
            assert_close(&format!("log_softmax {rows}x{cols}"), &got, &want, 1e-6, 2e-6);
        }
    }
}

#[test]
fn large_magnitude_rows_are_stable() {
    let x = [1e4f32, -1e4, 0.0, 1e4 - 1.0, -3e4, 2e4, 2e4, -1e4];
    let mut p = [0.0; 8];
    kernels::softmax_rows(&x, 2, 4, &mut p).unwrap();
    assert!(p.iter().all(|v| v.is_finite()), "{p:?}");
    let e = (-1.0f64).exp();
    assert!((p[0] as f64 - 1.0 / (1.0 + e)).abs() < 1e-6 && p[1] == 0.0 && p[2] == 0.0);
    assert_eq!(&p[4..], &[0.0, 0.5, 0.5, 0.0]);
    let mut lp = [0.0; 8];
    kernels::log_softmax_rows(&x, 2, 4, &mut lp).unwrap();
    assert!(lp.iter().all(|v| !v.is_nan()), "{lp:?}");
    assert!((lp[1] - (-2e4 - (1.0 + e).ln() as f32)).abs() < 1e-2, "{}", lp[1]);
    // A row with -inf entries (masked attention) gives exact zeros there.
    let masked = [0.0, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY];
    kernels::softmax_rows(&masked, 1, 4, &mut p[..4]).unwrap();
    assert_eq!(&p[..4], &[0.5, 0.0, 0.5, 0.0]);
    let mut loss = [0.0; 2];
    let mut lse = [0.0; 2];
    kernels::cross_entropy_forward(&x, 2, 4, &[1, 3], -100, &mut loss, &mut lse).unwrap();
    // loss = logsumexp - x[target]: row 0 (target -1e4) and row 1 (target -1e4, two tied maxima at 2e4).
    // At 3e4 an f32 ulp is 0.002, so 1e-2 is a few ulp.
    assert!((loss[0] as f64 - (2e4 + (1.0 + e).ln())).abs() < 1e-2, "{loss:?}");
    assert!((loss[1] as f64 - (3e4 + std::f64::consts::LN_2)).abs() < 1e-2, "{loss:?}");
}

/// f64 forwards for finite differences.
fn softmax_f64(x: &[f64]) -> Vec<f64> {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = x.iter().map(|v| (v - m).exp()).sum();
    x.iter().map(|v| (v - m).exp() / s).collect()
}
fn log_softmax_f64(x: &[f64]) -> Vec<f64> {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    x.iter().map(|v| v - lse).collect()
}

/// d/dx_i of sum_j w_j f(x)_j by central differences (h = 1e-3).
fn fd_grad(x: &[f32], w: &[f32], f: fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let h = 1e-3;
    let loss = |x: &[f64]| f(x).iter().zip(w).map(|(y, &w)| y * w as f64).sum::<f64>();
    let mut xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    (0..x.len())
        .map(|i| {
            let orig = xs[i];
            xs[i] = orig + h;
            let up = loss(&xs);
            xs[i] = orig - h;
            let down = loss(&xs);
            xs[i] = orig;
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn check_fd(what: &str, got: &[f32], init: &[f32], fd: &[f64]) {
    for i in 0..got.len() {
        let g = (got[i] - init[i]) as f64;
        assert!((g - fd[i]).abs() <= 2e-5 * (1.0 + fd[i].abs()), "{what}[{i}]: analytic {g} vs fd {}", fd[i]);
    }
}

#[test]
fn backward_matches_reference_and_finite_differences() {
    let mut rng = Rng::new(32);
    for &rows in &SIZES {
        for &cols in &SIZES {
            let n = rows * cols;
            let x = rng.vec(n, -3.0, 3.0);
            let dy = rng.vec(n, -1.0, 1.0);
            let init = rng.vec(n, -1.0, 1.0);

            let mut y = vec![0.0; n];
            kernels::softmax_rows(&x, rows, cols, &mut y).unwrap();
            let (mut got, mut want) = (init.clone(), init.clone());
            kernels::softmax_rows_backward(&y, &dy, rows, cols, &mut got).unwrap();
            softmax_rows_backward_naive(&y, &dy, rows, cols, &mut want);
            assert_close("softmax_backward", &got, &want, 1e-6, 1e-6);
            if rows <= 7 && cols <= 257 {
                for r in 0..rows {
                    let s = r * cols..(r + 1) * cols;
                    check_fd("softmax fd", &got[s.clone()], &init[s.clone()], &fd_grad(&x[s.clone()], &dy[s], softmax_f64));
                }
            }

            kernels::log_softmax_rows(&x, rows, cols, &mut y).unwrap();
            let (mut got, mut want) = (init.clone(), init.clone());
            kernels::log_softmax_rows_backward(&y, &dy, rows, cols, &mut got).unwrap();
            log_softmax_rows_backward_naive(&y, &dy, rows, cols, &mut want);
            assert_close("log_softmax_backward", &got, &want, 1e-6, 1e-6);
            if rows <= 7 && cols <= 257 {
                for r in 0..rows {
                    let s = r * cols..(r + 1) * cols;
                    check_fd("log_softmax fd", &got[s.clone()], &init[s.clone()], &fd_grad(&x[s.clone()], &dy[s], log_softmax_f64));
                }
            }
        }
    }
}

#[test]
fn cross_entropy_matches_reference_finite_differences_and_ignores_rows() {
    let mut rng = Rng::new(33);
    const IGNORE: i64 = -100;
    for &rows in &SIZES {
        for &cols in &SIZES {
            let n = rows * cols;
            let logits = rng.vec(n, -4.0, 4.0);
            let targets: Vec<i64> = (0..rows).map(|r| if r % 5 == 3 { IGNORE } else { rng.below(cols) as i64 }).collect();
            let dloss = rng.vec(rows, 0.1, 1.0);
            let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
            let (mut wloss, mut wlse) = (vec![0.0; rows], vec![0.0; rows]);
            kernels::cross_entropy_forward(&logits, rows, cols, &targets, IGNORE, &mut loss, &mut lse).unwrap();
            cross_entropy_forward_naive(&logits, rows, cols, &targets, IGNORE, &mut wloss, &mut wlse);
            assert_close("ce loss", &loss, &wloss, 2e-6, 2e-6);
            assert_close("ce logsumexp", &lse, &wlse, 2e-6, 2e-6);

            let init = rng.vec(n, -1.0, 1.0);
            let (mut got, mut want) = (init.clone(), init.clone());
            kernels::cross_entropy_backward(&logits, rows, cols, &targets, IGNORE, &lse, &dloss, &mut got).unwrap();
            cross_entropy_backward_naive(&logits, rows, cols, &targets, IGNORE, &lse, &dloss, &mut want);
            assert_close("ce dlogits", &got, &want, 1e-6, 1e-6);

            for r in 0..rows {
                let s = r * cols..(r + 1) * cols;
                if targets[r] == IGNORE {
                    assert_eq!(loss[r], 0.0);
                    assert_same("ignored row has no gradient", &got[s.clone()], &init[s]);
                    continue;
                }
                if rows <= 7 && cols <= 257 {
                    // loss_r * dloss_r as an f64 function of row r's logits.
                    let t = targets[r] as usize;
                    let ce = |x: &[f64]| -> Vec<f64> { vec![-log_softmax_f64(x)[t]] };
                    let fd = {
                        let w = [dloss[r]];
                        let h = 1e-3;
                        let mut xs: Vec<f64> = logits[s.clone()].iter().map(|&v| v as f64).collect();
                        (0..cols)
                            .map(|i| {
                                let o = xs[i];
                                xs[i] = o + h;
                                let up = ce(&xs)[0] * w[0] as f64;
                                xs[i] = o - h;
                                let dn = ce(&xs)[0] * w[0] as f64;
                                xs[i] = o;
                                (up - dn) / (2.0 * h)
                            })
                            .collect::<Vec<f64>>()
                    };
                    check_fd("ce fd", &got[s.clone()], &init[s], &fd);
                }
            }
        }
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let mut rng = Rng::new(34);
    let (rows, cols) = (64, 5003);
    let x = rng.vec(rows * cols, -5.0, 5.0);
    let targets: Vec<i64> = (0..rows).map(|_| rng.below(cols) as i64).collect();
    let run = || {
        let mut y = vec![0.0; rows * cols];
        kernels::softmax_rows(&x, rows, cols, &mut y).unwrap();
        let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
        kernels::cross_entropy_forward(&x, rows, cols, &targets, -1, &mut loss, &mut lse).unwrap();
        let mut d = vec![0.0; rows * cols];
        kernels::cross_entropy_backward(&x, rows, cols, &targets, -1, &lse, &vec![1.0; rows], &mut d).unwrap();
        (y, loss, d)
    };
    let a = with_threads(1, run);
    let b = with_threads(2, run);
    assert_same("softmax", &a.0, &b.0);
    assert_same("ce loss", &a.1, &b.1);
    assert_same("ce dlogits", &a.2, &b.2);
}

#[test]
fn errors_name_the_problem() {
    let mut out = [0.0; 4];
    let e = kernels::softmax_rows(&[0.0; 3], 2, 2, &mut out).unwrap_err();
    assert_eq!(e.kernel, "softmax_rows");
    assert!(kernels::log_softmax_rows_backward(&[0.0; 4], &[0.0; 3], 2, 2, &mut out).is_err());
    let (mut loss, mut lse) = ([0.0; 2], [0.0; 2]);
    let e = kernels::cross_entropy_forward(&[0.0; 4], 2, 2, &[0, 2], -100, &mut loss, &mut lse).unwrap_err();
    assert!(e.message.contains("row 1"), "{e}");
    let e = kernels::cross_entropy_forward(&[0.0; 4], 2, 2, &[-1, 0], -100, &mut loss, &mut lse).unwrap_err();
    assert!(e.message.contains("row 0"), "{e}");
    let e = kernels::cross_entropy_backward(&[0.0; 4], 2, 2, &[0, 5], -100, &lse, &[1.0; 2], &mut out).unwrap_err();
    assert!(e.message.contains("row 1"), "{e}");
    assert!(kernels::cross_entropy_forward(&[0.0; 4], 2, 2, &[0], -100, &mut loss, &mut lse).is_err());
}
