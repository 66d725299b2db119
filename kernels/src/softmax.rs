//! Softmax and log-softmax over the last dim of a contiguous `(rows, cols)` matrix, forward and
//! backward side by side.
//!
//! Stability: every row subtracts its max before exponentiating, so the largest term is e^0 = 1 and
//! nothing overflows (rows of ±1e4 are fine). Exponentials use the Cephes exp (≤ 2 ulp, see
//! `elementwise::lanes`, multiversioned for AVX-512 / AVX2 / SSE2); sums use the blocked f32-lanes/f64-blocks scheme of `reduce`.
//! Rows are independent and each is reduced in one fixed order, so results are identical on any
//! thread count.
use crate::elementwise::lanes::{self, multiversion};
use crate::error::{check_len, KernelError, KernelResult};
use crate::reduce::{row_dot, row_max, row_sum, PAR_MIN_ELEMS};
use rayon::prelude::*;

/// Checks that each named slice holds rows × cols values.
pub(crate) fn check_matrix(kernel: &'static str, rows: usize, cols: usize, slices: &[(&str, usize)]) -> KernelResult<usize> {
    let n = rows
        .checked_mul(cols)
        .ok_or_else(|| KernelError::new(kernel, format!("rows {rows} x cols {cols} overflows")))?;
    for &(what, len) in slices {
        check_len(kernel, what, len, n)?;
    }
    Ok(n)
}

/// Runs `f(r, row_out)` for each row of `out` (rows × cols), on rayon when large. `out` is the
/// only mutable buffer; the closure reads whatever row inputs it needs by index.
pub(crate) fn par_rows_mut<F>(out: &mut [f32], rows: usize, cols: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync,
{
    if rows == 0 || cols == 0 {
        return;
    }
    let out = &mut out[..rows * cols];
    if rows * cols < PAR_MIN_ELEMS || rows == 1 {
        for (r, o) in out.chunks_exact_mut(cols).enumerate() {
            f(r, o);
        }
    } else {
        out.par_chunks_exact_mut(cols)
            .enumerate()
            .with_min_len((PAR_MIN_ELEMS / 4 / cols).max(1))
            .for_each(|(r, o)| f(r, o));
    }
}

multiversion! {
    /// out = e^(x - m). `x`, `out` equal length.
    pub(crate) fn exp_shifted<FMA>(x: &[f32], m: f32, out: &mut [f32]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = lanes::exp::<FMA>(v - m);
        }
    }
}

/// Writes e^(x - m) into `out` and returns the blocked sum of what it wrote.
#[inline]
pub(crate) fn exp_shifted_store(x: &[f32], m: f32, out: &mut [f32]) -> f64 {
    exp_shifted(x, m, out);
    row_sum(&out[..x.len()])
}

multiversion! {
    /// x = e^(x - m) in place.
    fn exp_shifted_in_place_body<FMA>(x: &mut [f32], m: f32) {
        for v in x.iter_mut() {
            *v = lanes::exp::<FMA>(*v - m);
        }
    }
}

/// Replaces `x` by e^(x - m) and returns the blocked sum of the result (the fused attention's softmax,
/// which works on its scores in place).
#[inline]
pub(crate) fn exp_shifted_in_place(x: &mut [f32], m: f32) -> f64 {
    exp_shifted_in_place_body(x, m);
    row_sum(x)
}

/// sum_i e^(x_i - m) without touching an output: exponentials go through a 1024-float stack buffer
/// (L1-resident) in blocks, each summed with the blocked scheme of `reduce`.
#[inline]
pub(crate) fn exp_shifted_sum(x: &[f32], m: f32) -> f64 {
    let mut buf = [0.0f32; 1024];
    let mut total = 0.0;
    for block in x.chunks(buf.len()) {
        let b = &mut buf[..block.len()];
        exp_shifted(block, m, b);
        total += row_sum(b);
    }
    total
}

/// log(sum_c e^{x_c}) of one row, stable. A row of all -inf gives -inf; a NaN gives NaN.
#[inline]
pub(crate) fn row_logsumexp(x: &[f32]) -> f32 {
    let m = row_max(x);
    if m == f32::NEG_INFINITY || m.is_nan() || m == f32::INFINITY {
        return m;
    }
    m + (exp_shifted_sum(x, m) as f32).ln()
}

/// out = softmax(x) along each row. `x`, `out` are (rows, cols).
///
/// ```
/// let mut out = [0.0; 2];
/// kernels::softmax_rows(&[0.0, 0.0], 1, 2, &mut out).unwrap();
/// assert_eq!(out, [0.5, 0.5]);
/// ```
pub fn softmax_rows(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> KernelResult<()> {
    check_matrix("softmax_rows", rows, cols, &[("x", x.len()), ("out", out.len())])?;
    par_rows_mut(out, rows, cols, |r, o| {
        let xr = &x[r * cols..(r + 1) * cols];
        let m = row_max(xr);
        let sum = exp_shifted_store(xr, m, o);
        let inv = (1.0 / sum) as f32;
        for v in o.iter_mut() {
            *v *= inv;
        }
    });
    Ok(())
}

/// out = log_softmax(x) = x - max - log(sum e^(x - max)) along each row.
///
/// ```
/// let mut out = [0.0; 2];
/// kernels::log_softmax_rows(&[1.0, 1.0], 1, 2, &mut out).unwrap();
/// assert!((out[0] + std::f32::consts::LN_2).abs() < 1e-6);
/// ```
pub fn log_softmax_rows(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> KernelResult<()> {
    check_matrix("log_softmax_rows", rows, cols, &[("x", x.len()), ("out", out.len())])?;
    par_rows_mut(out, rows, cols, |r, o| {
        let xr = &x[r * cols..(r + 1) * cols];
        let m = row_max(xr);
        // Subtract in two steps (x - m, then - log sum) so the big-magnitude cancellation is exact.
        let log_sum = (exp_shifted_sum(xr, m) as f32).ln();
        for (o, &v) in o.iter_mut().zip(xr) {
            *o = (v - m) - log_sum;
        }
    });
    Ok(())
}

/// Softmax backward: dx += y * (dy - sum_c dy_c y_c), with `y` the forward output.
///
/// ```
/// let mut dx = [0.0; 2];
/// kernels::softmax_rows_backward(&[0.5, 0.5], &[1.0, 1.0], 1, 2, &mut dx).unwrap();
/// assert_eq!(dx, [0.0, 0.0]); // a constant upstream gradient does not move softmax
/// ```
pub fn softmax_rows_backward(y: &[f32], dy: &[f32], rows: usize, cols: usize, dx: &mut [f32]) -> KernelResult<()> {
    check_matrix("softmax_rows_backward", rows, cols, &[("y", y.len()), ("dy", dy.len()), ("dx", dx.len())])?;
    par_rows_mut(dx, rows, cols, |r, d| {
        let (yr, dyr) = (&y[r * cols..(r + 1) * cols], &dy[r * cols..(r + 1) * cols]);
        let dot = row_dot(yr, dyr) as f32;
        for ((d, &yv), &g) in d.iter_mut().zip(yr).zip(dyr) {
            *d += yv * (g - dot);
        }
    });
    Ok(())
}

/// Log-softmax backward: dx += dy - exp(y) * sum_c dy_c, with `y` the log-softmax output.
///
/// ```
/// let mut dx = [0.0; 2];
/// let y = [0.5f32.ln(), 0.5f32.ln()];
/// kernels::log_softmax_rows_backward(&y, &[1.0, 0.0], 1, 2, &mut dx).unwrap();
/// assert!((dx[0] - 0.5).abs() < 1e-6 && (dx[1] + 0.5).abs() < 1e-6);
/// ```
pub fn log_softmax_rows_backward(y: &[f32], dy: &[f32], rows: usize, cols: usize, dx: &mut [f32]) -> KernelResult<()> {
    check_matrix("log_softmax_rows_backward", rows, cols, &[("y", y.len()), ("dy", dy.len()), ("dx", dx.len())])?;
    par_rows_mut(dx, rows, cols, |r, d| {
        let (yr, dyr) = (&y[r * cols..(r + 1) * cols], &dy[r * cols..(r + 1) * cols]);
        log_softmax_grad_row(yr, dyr, row_sum(dyr) as f32, d);
    });
    Ok(())
}

multiversion! {
    /// d += dy - e^y * s for one row.
    fn log_softmax_grad_row<FMA>(y: &[f32], dy: &[f32], s: f32, d: &mut [f32]) {
        for ((d, &y), &g) in d.iter_mut().zip(y).zip(dy) {
            *d += g - lanes::exp::<FMA>(y) * s;
        }
    }
}

/// Naive references with std's exp/ln and f64 sums: the tests' oracle.
pub mod reference {
    pub fn softmax_rows_naive(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
        for r in 0..rows {
            let row = &x[r * cols..(r + 1) * cols];
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f64 = row.iter().map(|&v| ((v - m) as f64).exp()).sum();
            for c in 0..cols {
                out[r * cols + c] = (((row[c] - m) as f64).exp() / sum) as f32;
            }
        }
    }

    pub fn log_softmax_rows_naive(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
        for r in 0..rows {
            let row = &x[r * cols..(r + 1) * cols];
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse: f64 = row.iter().map(|&v| ((v - m) as f64).exp()).sum::<f64>().ln();
            for c in 0..cols {
                out[r * cols + c] = ((row[c] - m) as f64 - lse) as f32;
            }
        }
    }

    pub fn softmax_rows_backward_naive(y: &[f32], dy: &[f32], rows: usize, cols: usize, dx: &mut [f32]) {
        for r in 0..rows {
            let o = r * cols;
            let dot: f64 = (0..cols).map(|c| y[o + c] as f64 * dy[o + c] as f64).sum();
            for c in 0..cols {
                dx[o + c] += (y[o + c] as f64 * (dy[o + c] as f64 - dot)) as f32;
            }
        }
    }

    pub fn log_softmax_rows_backward_naive(y: &[f32], dy: &[f32], rows: usize, cols: usize, dx: &mut [f32]) {
        for r in 0..rows {
            let o = r * cols;
            let s: f64 = (0..cols).map(|c| dy[o + c] as f64).sum();
            for c in 0..cols {
                dx[o + c] += (dy[o + c] as f64 - (y[o + c] as f64).exp() * s) as f32;
            }
        }
    }
}
