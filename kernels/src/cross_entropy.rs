//! Fused softmax + cross-entropy over logits `(rows, cols)` with one integer target per row, forward
//! and backward side by side. Fusing means the (rows, cols) probabilities are never stored: forward
//! keeps one logsumexp per row and backward recomputes softmax from it (one exp per logit, cheaper
//! than writing and re-reading a 64 × 50304 probability matrix).
//!
//! Rows whose target equals `ignore_index` (padding, prompt tokens) get loss 0 and no gradient.
//! Per-row loss is returned; averaging over non-ignored rows is the caller's choice (it folds the
//! 1/count into `dloss`).
use crate::elementwise::lanes::{self, multiversion};
use crate::error::{check_len, KernelError, KernelResult};
use crate::softmax::{check_matrix, par_rows_mut, row_logsumexp};
use crate::reduce::for_rows;

/// Checks every target is in [0, cols) or equal to `ignore_index`, naming the first bad row.
fn check_targets(kernel: &'static str, targets: &[i64], rows: usize, cols: usize, ignore_index: i64) -> KernelResult<()> {
    check_len(kernel, "targets", targets.len(), rows)?;
    for (r, &t) in targets[..rows].iter().enumerate() {
        if t != ignore_index && (t < 0 || t as u64 >= cols as u64) {
            return Err(KernelError::new(
                kernel,
                format!("target {t} at row {r} is out of range [0, {cols}) and is not ignore_index {ignore_index}"),
            ));
        }
    }
    Ok(())
}

/// Forward: for each row, logsumexp[r] = log sum_c e^{logits[r, c]} and
/// loss[r] = logsumexp[r] - logits[r, target[r]] (0 for ignored rows; their logsumexp is still filled).
///
/// ```
/// let logits = [0.0, 0.0, 1.0, 1.0];
/// let (mut loss, mut lse) = ([0.0; 2], [0.0; 2]);
/// kernels::cross_entropy_forward(&logits, 2, 2, &[1, -100], -100, &mut loss, &mut lse).unwrap();
/// assert!((loss[0] - std::f32::consts::LN_2).abs() < 1e-6 && loss[1] == 0.0);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_forward(
    logits: &[f32],
    rows: usize,
    cols: usize,
    targets: &[i64],
    ignore_index: i64,
    loss: &mut [f32],
    logsumexp: &mut [f32],
) -> KernelResult<()> {
    const K: &str = "cross_entropy_forward";
    check_matrix(K, rows, cols, &[("logits", logits.len())])?;
    check_matrix(K, rows, 1, &[("loss", loss.len()), ("logsumexp", logsumexp.len())])?;
    check_targets(K, targets, rows, cols, ignore_index)?;
    if cols == 0 && rows > 0 {
        return Err(KernelError::new(K, format!("cols is 0 (rows {rows}): no classes to predict")));
    }
    for_rows(logits, rows, cols, logsumexp, |xr, l| *l = row_logsumexp(xr));
    for r in 0..rows {
        let t = targets[r];
        loss[r] = if t == ignore_index { 0.0 } else { logsumexp[r] - logits[r * cols + t as usize] };
    }
    Ok(())
}

/// Backward: dlogits[r, c] += (softmax[r, c] - onehot(target[r])[c]) * dloss[r], with softmax
/// recomputed as e^{logits - logsumexp}. Ignored rows are left untouched.
///
/// ```
/// let logits = [0.0, 0.0];
/// let mut d = [0.0; 2];
/// kernels::cross_entropy_backward(&logits, 1, 2, &[1], -100, &[std::f32::consts::LN_2], &[1.0], &mut d).unwrap();
/// assert!((d[0] - 0.5).abs() < 1e-6 && (d[1] + 0.5).abs() < 1e-6);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn cross_entropy_backward(
    logits: &[f32],
    rows: usize,
    cols: usize,
    targets: &[i64],
    ignore_index: i64,
    logsumexp: &[f32],
    dloss: &[f32],
    dlogits: &mut [f32],
) -> KernelResult<()> {
    const K: &str = "cross_entropy_backward";
    check_matrix(K, rows, cols, &[("logits", logits.len()), ("dlogits", dlogits.len())])?;
    check_matrix(K, rows, 1, &[("logsumexp", logsumexp.len()), ("dloss", dloss.len())])?;
    check_targets(K, targets, rows, cols, ignore_index)?;
    par_rows_mut(dlogits, rows, cols, |r, d| {
        let t = targets[r];
        if t == ignore_index {
            return;
        }
        let xr = &logits[r * cols..(r + 1) * cols];
        softmax_grad_row(xr, logsumexp[r], dloss[r], d);
        d[t as usize] -= dloss[r];
    });
    Ok(())
}

multiversion! {
    /// d += e^(x - lse) * g for one row (softmax recomputed from the saved logsumexp).
    fn softmax_grad_row<FMA>(x: &[f32], lse: f32, g: f32, d: &mut [f32]) {
        for (d, &x) in d.iter_mut().zip(x) {
            *d += lanes::exp::<FMA>(x - lse) * g;
        }
    }
}

/// Naive references with std's exp/ln in f64: the tests' oracle.
pub mod reference {
    pub fn cross_entropy_forward_naive(
        logits: &[f32],
        rows: usize,
        cols: usize,
        targets: &[i64],
        ignore_index: i64,
        loss: &mut [f32],
        logsumexp: &mut [f32],
    ) {
        for r in 0..rows {
            let row = &logits[r * cols..(r + 1) * cols];
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
            logsumexp[r] = lse as f32;
            let t = targets[r];
            loss[r] = if t == ignore_index { 0.0 } else { (lse - row[t as usize] as f64) as f32 };
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn cross_entropy_backward_naive(
        logits: &[f32],
        rows: usize,
        cols: usize,
        targets: &[i64],
        ignore_index: i64,
        logsumexp: &[f32],
        dloss: &[f32],
        dlogits: &mut [f32],
    ) {
        for r in 0..rows {
            if targets[r] == ignore_index {
                continue;
            }
            for c in 0..cols {
                let p = (logits[r * cols + c] as f64 - logsumexp[r] as f64).exp();
                let onehot = if c as i64 == targets[r] { 1.0 } else { 0.0 };
                dlogits[r * cols + c] += ((p - onehot) * dloss[r] as f64) as f32;
            }
        }
    }
}
