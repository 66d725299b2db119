//! LayerNorm forward/backward against f64 references and f64 central finite differences.
//!
//! Tolerances:
//! - forward out: 2e-6 * (1 + |out|); mean: 1e-6 * (1 + |mean|); rstd: 2e-6 relative. The fast path
//!   rounds mean and rstd to f32 once and does 3-4 f32 operations per element (~5 ulp), against a
//!   fully f64 reference.
//! - backward vs the f64 reference (fed the same mean/rstd): dx 1e-5 * (1 + |dx|) (rstd up to ~3 on
//!   unit-variance rows amplifies the f32 rounding of two blocked row sums); dgamma/dbeta
//!   1e-6 + 2.5e-6 * sum_r |term_r| (row terms summed in f32 partials of 32 rows, merged in f64: the
//!   error bound scales with the terms, not with the possibly cancelled result).
//! - backward vs finite differences (h = 1e-3 on x in [-2, 2], f64 forward; truncation ~1e-7):
//!   2e-4 * (1 + |g|): dominated by the f32 mean/rstd the analytic gradient is fed.
mod support;

use kernels::layernorm::reference::*;
use support::{assert_close, assert_same, with_threads, Rng, SIZES};

const EPS: f32 = 1e-5;

#[test]
fn forward_matches_reference() {
    let mut rng = Rng::new(41);
    for &rows in &SIZES {
        for &cols in &SIZES {
            let n = rows * cols;
            // A shifted mean checks the two-pass variance (E[x^2] - E[x]^2 would lose it).
            let x: Vec<f32> = rng.vec(n, -2.0, 2.0).iter().map(|v| v + 30.0).collect();
            let g = rng.vec(cols, 0.5, 1.5);
            let b = rng.vec(cols, -0.5, 0.5);
            for (gamma, beta) in [(Some(&g[..]), Some(&b[..])), (None, None), (Some(&g[..]), None), (None, Some(&b[..]))] {
                let (mut out, mut mean, mut rstd) = (vec![0.0; n], vec![0.0; rows], vec![0.0; rows]);
                let (mut wout, mut wmean, mut wrstd) = (vec![0.0; n], vec![0.0; rows], vec![0.0; rows]);
                kernels::layernorm_forward(&x, gamma, beta, rows, cols, EPS, &mut out, &mut mean, &mut rstd).unwrap();
                layernorm_forward_naive(&x, gamma, beta, rows, cols, EPS, &mut wout, &mut wmean, &mut wrstd);
                let what = format!("{rows}x{cols} gamma {} beta {}", gamma.is_some(), beta.is_some());
                // The shift of 30 makes out's absolute error scale with 30 * eps * rstd.
                assert_close(&format!("out {what}"), &out, &wout, 2e-6, 2e-5);
                assert_close(&format!("mean {what}"), &mean, &wmean, 1e-6, 1e-6);
                assert_close(&format!("rstd {what}"), &rstd, &wrstd, 2e-6, 0.0);
            }
        }
    }
}

/// f64 layernorm loss sum(w * LN(x; gamma, beta)) over one row.
fn ln_loss(x: &[f64], g: &[f64], b: &[f64], w: &[f32]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    let rs = 1.0 / (var + EPS as f64).sqrt();
    (0..x.len()).map(|c| ((x[c] - m) * rs * g[c] + b[c]) * w[c] as f64).sum()
}

fn central(f: impl Fn(&[f64]) -> f64, at: &[f64], h: f64) -> Vec<f64> {
    let mut v = at.to_vec();
    (0..at.len())
        .map(|i| {
            let o = v[i];
            v[i] = o + h;
            let up = f(&v);
            v[i] = o - h;
            let dn = f(&v);
            v[i] = o;
            (up - dn) / (2.0 * h)
        })
        .collect()
}

#[test]
fn backward_matches_reference_and_finite_differences() {
    let mut rng = Rng::new(42);
    for &rows in &SIZES {
        for &cols in &SIZES {
            let n = rows * cols;
            let x = rng.vec(n, -2.0, 2.0);
            let g = rng.vec(cols, 0.5, 1.5);
            let b = rng.vec(cols, -0.5, 0.5);
            let dy = rng.vec(n, -1.0, 1.0);
            let (mut out, mut mean, mut rstd) = (vec![0.0; n], vec![0.0; rows], vec![0.0; rows]);
            kernels::layernorm_forward(&x, Some(&g), Some(&b), rows, cols, EPS, &mut out, &mut mean, &mut rstd).unwrap();

            let dx0 = rng.vec(n, -1.0, 1.0);
            let dg0 = rng.vec(cols, -1.0, 1.0);
            let db0 = rng.vec(cols, -1.0, 1.0);
            let (mut dx, mut dg, mut db) = (dx0.clone(), dg0.clone(), db0.clone());
            kernels::layernorm_backward(&x, Some(&g), &mean, &rstd, &dy, rows, cols, &mut dx, Some(&mut dg), Some(&mut db)).unwrap();
            let (mut wdx, mut wdg, mut wdb) = (dx0.clone(), dg0.clone(), db0.clone());
            layernorm_backward_naive(&x, Some(&g), &mean, &rstd, &dy, rows, cols, &mut wdx, Some(&mut wdg), Some(&mut wdb));
            assert_close("dx", &dx, &wdx, 1e-5, 1e-5);
            // Parameter gradients sum `rows` terms that largely cancel: scale the tolerance by the sum of
            // |terms| (f32 partials of 32 rows: error <= ~40 eps of that sum) plus 1e-6 for the += .
            for c in 0..cols {
                let scale: f64 = (0..rows).map(|r| (dy[r * cols + c] as f64).abs() * (1.0 + ((x[r * cols + c] - mean[r]) * rstd[r]).abs() as f64)).sum();
                let tol = 1e-6 + 2.5e-6 * scale;
                assert!(((dg[c] - wdg[c]) as f64).abs() <= tol, "dgamma[{c}] {rows}x{cols}: {} vs {}", dg[c], wdg[c]);
                assert!(((db[c] - wdb[c]) as f64).abs() <= tol, "dbeta[{c}] {rows}x{cols}: {} vs {}", db[c], wdb[c]);
            }

            // Without gamma, and without parameter gradients.
            let mut dx_plain = dx0.clone();
            kernels::layernorm_backward(&x, None, &mean, &rstd, &dy, rows, cols, &mut dx_plain, None, None).unwrap();
            let mut wdx_plain = dx0.clone();
            layernorm_backward_naive(&x, None, &mean, &rstd, &dy, rows, cols, &mut wdx_plain, None, None);
            assert_close("dx (no gamma)", &dx_plain, &wdx_plain, 1e-5, 1e-5);

            if rows <= 7 && cols <= 257 && cols > 1 {
                let gd: Vec<f64> = g.iter().map(|&v| v as f64).collect();
                let bd: Vec<f64> = b.iter().map(|&v| v as f64).collect();
                let (mut fd_g, mut fd_b) = (vec![0.0; cols], vec![0.0; cols]);
                for r in 0..rows {
                    let s = r * cols..(r + 1) * cols;
                    let xr: Vec<f64> = x[s.clone()].iter().map(|&v| v as f64).collect();
                    let w = &dy[s.clone()];
                    let fd_x = central(|xv| ln_loss(xv, &gd, &bd, w), &xr, 1e-3);
                    for c in 0..cols {
                        let an = (dx[r * cols + c] - dx0[r * cols + c]) as f64;
                        assert!((an - fd_x[c]).abs() <= 2e-4 * (1.0 + fd_x[c].abs()), "dx fd [{r},{c}]: {an} vs {}", fd_x[c]);
                    }
                    let fg = central(|gv| ln_loss(&xr, gv, &bd, w), &gd, 1e-3);
                    let fb = central(|bv| ln_loss(&xr, &gd, bv, w), &bd, 1e-3);
                    for c in 0..cols {
                        fd_g[c] += fg[c];
                        fd_b[c] += fb[c];
                    }
                }
                for c in 0..cols {
                    let (ag, ab) = ((dg[c] - dg0[c]) as f64, (db[c] - db0[c]) as f64);
                    assert!((ag - fd_g[c]).abs() <= 2e-4 * (1.0 + fd_g[c].abs()), "dgamma fd [{c}]: {ag} vs {}", fd_g[c]);
                    assert!((ab - fd_b[c]).abs() <= 2e-4 * (1.0 + fd_b[c].abs()), "dbeta fd [{c}]: {ab} vs {}", fd_b[c]);
                }
            }
        }
    }
}

#[test]
fn backward_is_deterministic_across_thread_counts() {
    let mut rng = Rng::new(43);
    let (rows, cols) = (257, 768);
    let x = rng.vec(rows * cols, -2.0, 2.0);
    let g = rng.vec(cols, 0.5, 1.5);
    let dy = rng.vec(rows * cols, -1.0, 1.0);
    let (mut out, mut mean, mut rstd) = (vec![0.0; rows * cols], vec![0.0; rows], vec![0.0; rows]);
    kernels::layernorm_forward(&x, Some(&g), None, rows, cols, EPS, &mut out, &mut mean, &mut rstd).unwrap();
    let run = || {
        let (mut dx, mut dg, mut db) = (vec![0.0; rows * cols], vec![0.0; cols], vec![0.0; cols]);
        kernels::layernorm_backward(&x, Some(&g), &mean, &rstd, &dy, rows, cols, &mut dx, Some(&mut dg), Some(&mut db)).unwrap();
        (dx, dg, db)
    };
    let a = with_threads(1, run);
    for t in [2, 3] {
        let b = with_threads(t, run);
        assert_same("dx", &a.0, &b.0);
        assert_same("dgamma", &a.1, &b.1);
        assert_same("dbeta", &a.2, &b.2);
    }
}

#[test]
fn shape_errors() {
    let (mut out, mut mean, mut rstd) = ([0.0; 6], [0.0; 2], [0.0; 2]);
    let e = kernels::layernorm_forward(&[0.0; 6], Some(&[1.0; 2]), None, 2, 3, EPS, &mut out, &mut mean, &mut rstd).unwrap_err();
    assert!(e.message.contains("gamma has 2"), "{e}");
    assert!(kernels::layernorm_forward(&[0.0; 6], None, None, 2, 3, EPS, &mut out, &mut mean[..1], &mut rstd).is_err());
    let mut dx = [0.0; 6];
    let mut dg = [0.0; 4];
    assert!(kernels::layernorm_backward(&[0.0; 6], None, &mean, &rstd, &[0.0; 6], 2, 3, &mut dx, Some(&mut dg), None).is_err());
    assert!(kernels::layernorm_backward(&[0.0; 6], None, &mean, &rstd, &[0.0; 5], 2, 3, &mut dx, None, None).is_err());
}
