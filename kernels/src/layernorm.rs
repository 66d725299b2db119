//! Layer normalisation over the last dim of a contiguous `(rows, cols)` matrix, forward and backward
//! side by side (llm.c's `layernorm_forward`/`layernorm_backward`). Forward saves each row's mean and
//! rstd = 1 / sqrt(var + eps) so backward need not recompute them.
//!
//! Statistics use two passes (mean, then the mean of squared deviations) with the blocked
//! f32-lanes/f64-blocks sums of `reduce`: E[x^2] - E[x]^2 would cancel catastrophically for rows with
//! a large mean. Variance is the biased one (divide by cols), as in PyTorch.
//!
//! Determinism: dx rows are independent. dgamma/dbeta sum over rows, so backward splits rows into
//! fixed chunks of [`ROWS_PER_CHUNK`] (not one per thread), sums each chunk into its own partial, then
//! adds the partials in chunk order on one thread: the same additions in the same order on any thread
//! count.
use rayon::prelude::*;

use crate::error::{KernelError, KernelResult};
use crate::reduce::{blocked_sum, row_sum, PAR_MIN_ELEMS};
use crate::elementwise::simd_math::load;
use crate::softmax::check_matrix;
use wide::f32x8;

/// Rows per partial-gradient chunk in backward. Fixed (not derived from the thread count) so the
/// summation order, hence the result, never changes.
const ROWS_PER_CHUNK: usize = 32;

/// One chunk's (dgamma, dbeta) partial sums, each present when that gradient was asked for.
type Partials = (Option<Vec<f32>>, Option<Vec<f32>>);

fn check_param(kernel: &'static str, what: &str, p: Option<usize>, cols: usize) -> KernelResult<()> {
    match p {
        Some(len) if len != cols => Err(KernelError::new(kernel, format!("{what} has {len} elements but cols is {cols}"))),
        _ => Ok(()),
    }
}

/// Normalises one row: returns (mean, rstd) and writes (x - mean) * rstd * gamma + beta into `o`.
#[inline]
fn normalize_row(xr: &[f32], gamma: Option<&[f32]>, beta: Option<&[f32]>, eps: f32, o: &mut [f32]) -> (f32, f32) {
    let n = xr.len();
    let mean64 = row_sum(xr) / n as f64;
    let mean = mean64 as f32;
    let mv = f32x8::splat(mean);
    let var = blocked_sum(
        n,
        |i| {
            let d = load(&xr[i..]) - mv;
            d * d
        },
        |i| (xr[i] - mean) * (xr[i] - mean),
    ) / n as f64;
    let rstd = (1.0 / (var + eps as f64).sqrt()) as f32;
    // Zipped loops (no indexing) so LLVM vectorises each variant.
    match (gamma, beta) {
        (Some(g), Some(b)) => {
            for (((o, &x), &g), &b) in o.iter_mut().zip(xr).zip(g).zip(b) {
                *o = (x - mean) * rstd * g + b;
            }
        }
        (Some(g), None) => {
            for ((o, &x), &g) in o.iter_mut().zip(xr).zip(g) {
                *o = (x - mean) * rstd * g;
            }
        }
        (None, Some(b)) => {
            for ((o, &x), &b) in o.iter_mut().zip(xr).zip(b) {
                *o = (x - mean) * rstd + b;
            }
        }
        (None, None) => {
            for (o, &x) in o.iter_mut().zip(xr) {
                *o = (x - mean) * rstd;
            }
        }
    }
    (mean, rstd)
}

/// LayerNorm forward. `x`, `out` are (rows, cols); `gamma`, `beta` are (cols) or absent (identity
/// scale / zero shift); `mean`, `rstd` are (rows) and receive each row's statistics for backward.
///
/// ```
/// let (mut out, mut mean, mut rstd) = ([0.0; 2], [0.0; 1], [0.0; 1]);
/// kernels::layernorm_forward(&[1.0, 3.0], None, None, 1, 2, 0.0, &mut out, &mut mean, &mut rstd).unwrap();
/// assert_eq!((out, mean[0], rstd[0]), ([-1.0, 1.0], 2.0, 1.0));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn layernorm_forward(
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    rows: usize,
    cols: usize,
    eps: f32,
    out: &mut [f32],
    mean: &mut [f32],
    rstd: &mut [f32],
) -> KernelResult<()> {
    const K: &str = "layernorm_forward";
    check_matrix(K, rows, cols, &[("x", x.len()), ("out", out.len())])?;
    check_param(K, "gamma", gamma.map(|g| g.len()), cols)?;
    check_param(K, "beta", beta.map(|b| b.len()), cols)?;
    check_matrix(K, rows, 1, &[("mean", mean.len()), ("rstd", rstd.len())])?;
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let out = &mut out[..rows * cols];
    let (mean, rstd) = (&mut mean[..rows], &mut rstd[..rows]);
    let run = |r: usize, o: &mut [f32], m: &mut f32, s: &mut f32| {
        let (mu, rs) = normalize_row(&x[r * cols..(r + 1) * cols], gamma, beta, eps, o);
        *m = mu;
        *s = rs;
    };
    if rows * cols < PAR_MIN_ELEMS || rows == 1 {
        for (r, ((o, m), s)) in out.chunks_exact_mut(cols).zip(mean.iter_mut()).zip(rstd.iter_mut()).enumerate() {
            run(r, o, m, s);
        }
    } else {
        out.par_chunks_exact_mut(cols)
            .zip(mean.par_iter_mut())
            .zip(rstd.par_iter_mut())
            .enumerate()
            .with_min_len((PAR_MIN_ELEMS / 4 / cols).max(1))
            .for_each(|(r, ((o, m), s))| run(r, o, m, s));
    }
    Ok(())
}

/// dx for one row, and (if asked) this row's dgamma/dbeta contributions added into `dg`/`db`.
///
/// With xhat = (x - mean) rstd and dn = dy * gamma:
/// dx = rstd * (dn - mean(dn) - xhat * mean(dn * xhat)).
#[allow(clippy::too_many_arguments)]
#[inline]
fn backward_row(xr: &[f32], gamma: Option<&[f32]>, mean: f32, rstd: f32, dyr: &[f32], dxr: &mut [f32], dg: Option<&mut [f32]>, db: Option<&mut [f32]>) {
    let n = xr.len();
    let mv = f32x8::splat(mean);
    let rv = f32x8::splat(rstd);
    let (sum_dn, sum_dn_xhat) = match gamma {
        Some(g) => (
            blocked_sum(n, |i| load(&dyr[i..]) * load(&g[i..]), |i| dyr[i] * g[i]),
            blocked_sum(
                n,
                |i| load(&dyr[i..]) * load(&g[i..]) * ((load(&xr[i..]) - mv) * rv),
                |i| dyr[i] * g[i] * ((xr[i] - mean) * rstd),
            ),
        ),
        None => (
            row_sum(dyr),
            blocked_sum(n, |i| load(&dyr[i..]) * ((load(&xr[i..]) - mv) * rv), |i| dyr[i] * ((xr[i] - mean) * rstd)),
        ),
    };
    let mean_dn = (sum_dn / n as f64) as f32;
    let mean_dn_xhat = (sum_dn_xhat / n as f64) as f32;
    match gamma {
        Some(g) => {
            for (((d, &x), &dy), &g) in dxr.iter_mut().zip(xr).zip(dyr).zip(g) {
                let xhat = (x - mean) * rstd;
                *d += rstd * (dy * g - mean_dn - xhat * mean_dn_xhat);
            }
        }
        None => {
            for ((d, &x), &dy) in dxr.iter_mut().zip(xr).zip(dyr) {
                let xhat = (x - mean) * rstd;
                *d += rstd * (dy - mean_dn - xhat * mean_dn_xhat);
            }
        }
    }
    if let Some(dg) = dg {
        for ((d, &x), &dy) in dg.iter_mut().zip(xr).zip(dyr) {
            *d += dy * ((x - mean) * rstd);
        }
    }
    if let Some(db) = db {
        for (d, &dy) in db.iter_mut().zip(dyr) {
            *d += dy;
        }
    }
}

/// LayerNorm backward; adds into `dx` (rows, cols) and, when given, `dgamma`/`dbeta` (cols).
/// `mean`/`rstd` are what forward saved. Deterministic on any thread count (see the module docs).
///
/// ```
/// // With gamma = 1 and a constant upstream gradient, dx is 0 (normalisation removes shifts).
/// let x = [1.0, 3.0];
/// let (mut dx, mut db) = ([0.0; 2], [0.0; 2]);
/// kernels::layernorm_backward(&x, None, &[2.0], &[1.0], &[1.0, 1.0], 1, 2, &mut dx, None, Some(&mut db)).unwrap();
/// assert_eq!((dx, db), ([0.0, 0.0], [1.0, 1.0]));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    x: &[f32],
    gamma: Option<&[f32]>,
    mean: &[f32],
    rstd: &[f32],
    dy: &[f32],
    rows: usize,
    cols: usize,
    dx: &mut [f32],
    dgamma: Option<&mut [f32]>,
    dbeta: Option<&mut [f32]>,
) -> KernelResult<()> {
    const K: &str = "layernorm_backward";
    check_matrix(K, rows, cols, &[("x", x.len()), ("dy", dy.len()), ("dx", dx.len())])?;
    check_param(K, "gamma", gamma.map(|g| g.len()), cols)?;
    check_param(K, "dgamma", dgamma.as_ref().map(|g| g.len()), cols)?;
    check_param(K, "dbeta", dbeta.as_ref().map(|b| b.len()), cols)?;
    check_matrix(K, rows, 1, &[("mean", mean.len()), ("rstd", rstd.len())])?;
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let dx = &mut dx[..rows * cols];
    let (want_dg, want_db) = (dgamma.is_some(), dbeta.is_some());
    // One chunk of rows: its dx rows, plus its own dgamma/dbeta partials (zeroed, then summed into).
    let run_chunk = |chunk: usize, dxc: &mut [f32]| -> Partials {
        let mut pg = want_dg.then(|| vec![0.0f32; cols]);
        let mut pb = want_db.then(|| vec![0.0f32; cols]);
        for (i, dxr) in dxc.chunks_exact_mut(cols).enumerate() {
            let r = chunk * ROWS_PER_CHUNK + i;
            let span = r * cols..(r + 1) * cols;
            backward_row(&x[span.clone()], gamma, mean[r], rstd[r], &dy[span], dxr, pg.as_deref_mut(), pb.as_deref_mut());
        }
        (pg, pb)
    };
    let partials: Vec<Partials> = if rows * cols < PAR_MIN_ELEMS {
        dx.chunks_mut(ROWS_PER_CHUNK * cols).enumerate().map(|(i, c)| run_chunk(i, c)).collect()
    } else {
        dx.par_chunks_mut(ROWS_PER_CHUNK * cols).enumerate().map(|(i, c)| run_chunk(i, c)).collect()
    };
    // Merge partials in chunk order, on this thread, in f64 (cheap: chunks x cols adds).
    let merge = |dst: &mut [f32], pick: &dyn Fn(&Partials) -> &[f32]| {
        let mut total = vec![0.0f64; cols];
        for p in &partials {
            for (t, &v) in total.iter_mut().zip(pick(p)) {
                *t += v as f64;
            }
        }
        for (d, t) in dst[..cols].iter_mut().zip(total) {
            *d += t as f32;
        }
    };
    if let Some(dg) = dgamma {
        merge(dg, &|p| p.0.as_deref().unwrap());
    }
    if let Some(db) = dbeta {
        merge(db, &|p| p.1.as_deref().unwrap());
    }
    Ok(())
}

/// Naive references in f64 (two-pass statistics): the tests' oracle.
pub mod reference {
    #[allow(clippy::too_many_arguments)]
    pub fn layernorm_forward_naive(
        x: &[f32],
        gamma: Option<&[f32]>,
        beta: Option<&[f32]>,
        rows: usize,
        cols: usize,
        eps: f32,
        out: &mut [f32],
        mean: &mut [f32],
        rstd: &mut [f32],
    ) {
        for r in 0..rows {
            let row = &x[r * cols..(r + 1) * cols];
            let m: f64 = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
            let var: f64 = row.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / cols as f64;
            let rs = 1.0 / (var + eps as f64).sqrt();
            for c in 0..cols {
                let g = gamma.map_or(1.0, |g| g[c] as f64);
                let b = beta.map_or(0.0, |b| b[c] as f64);
                out[r * cols + c] = ((row[c] as f64 - m) * rs * g + b) as f32;
            }
            mean[r] = m as f32;
            rstd[r] = rs as f32;
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn layernorm_backward_naive(
        x: &[f32],
        gamma: Option<&[f32]>,
        mean: &[f32],
        rstd: &[f32],
        dy: &[f32],
        rows: usize,
        cols: usize,
        dx: &mut [f32],
        dgamma: Option<&mut [f32]>,
        dbeta: Option<&mut [f32]>,
    ) {
        // Parameter gradients summed over rows in f64, added once.
        let (mut dg64, mut db64) = (vec![0.0f64; cols], vec![0.0f64; cols]);
        for r in 0..rows {
            let o = r * cols;
            let (m, rs) = (mean[r] as f64, rstd[r] as f64);
            let g = |c: usize| gamma.map_or(1.0, |g| g[c] as f64);
            let xhat = |c: usize| (x[o + c] as f64 - m) * rs;
            let mean_dn: f64 = (0..cols).map(|c| dy[o + c] as f64 * g(c)).sum::<f64>() / cols as f64;
            let mean_dn_xhat: f64 = (0..cols).map(|c| dy[o + c] as f64 * g(c) * xhat(c)).sum::<f64>() / cols as f64;
            for c in 0..cols {
                let dn = dy[o + c] as f64 * g(c);
                dx[o + c] += (rs * (dn - mean_dn - xhat(c) * mean_dn_xhat)) as f32;
                dg64[c] += dy[o + c] as f64 * xhat(c);
                db64[c] += dy[o + c] as f64;
            }
        }
        if let Some(dg) = dgamma {
            for c in 0..cols {
                dg[c] += dg64[c] as f32;
            }
        }
        if let Some(db) = dbeta {
            for c in 0..cols {
                db[c] += db64[c] as f32;
            }
        }
    }
}
