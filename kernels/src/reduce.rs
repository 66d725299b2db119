//! Row and column reductions over a contiguous `(rows, cols)` matrix: sum, mean, max, min, argmax
//! (per row) and sum over rows (per column, for bias gradients and broadcast reductions).
//!
//! Accumulation (sum, mean, and the row helpers softmax/layernorm share): **blocked**. Each block of
//! [`BLOCK`] elements is summed in f32 across 32 independent lanes (4 × f32x8), the lanes are combined
//! in a fixed tree, and block totals are added in **f64**. Within a block each lane adds at most
//! BLOCK/32 = 32 terms, so the f32 rounding error is ~(32 + 5) ulp-of-partial instead of n ulp for a
//! naive loop, and f64 across blocks makes row length irrelevant. It runs at full SIMD width (an
//! all-f64 loop would halve it) and the order is fixed by the data layout alone, so results are
//! bit-identical on any thread count. `sum_cols` accumulates each column in f64 directly: its inner
//! loop runs across columns, which is already vectorised and independent.
//!
//! Threading: rows are independent, so large inputs (rows × cols >= [`PAR_MIN_ELEMS`]) split rows
//! over rayon; each row is still reduced by one thread in one fixed order.
use rayon::prelude::*;
use wide::f32x8;

use crate::elementwise::lanes::multiversion;
use crate::elementwise::simd_math::load;
use crate::error::{check_len, KernelError, KernelResult};

/// Below this many input elements reductions stay on the calling thread.
pub(crate) const PAR_MIN_ELEMS: usize = 1 << 15;
/// Elements per f32 block before the partial is moved into the f64 total.
const BLOCK: usize = 1024;

/// Checks `x` holds rows × cols and `out` holds `out_needed` values.
fn check_shape(kernel: &'static str, x: usize, rows: usize, cols: usize, out: usize, out_needed: usize) -> KernelResult<()> {
    let n = rows
        .checked_mul(cols)
        .ok_or_else(|| KernelError::new(kernel, format!("rows {rows} x cols {cols} overflows")))?;
    check_len(kernel, "x", x, n)?;
    check_len(kernel, "out", out, out_needed)
}

/// Calls `f(row_slice, out_slot)` for each row, on rayon if the input is large.
pub(crate) fn for_rows<T: Send, F>(x: &[f32], rows: usize, cols: usize, out: &mut [T], f: F)
where
    F: Fn(&[f32], &mut T) + Sync,
{
    if rows == 0 {
        return;
    }
    let x = &x[..rows * cols];
    let out = &mut out[..rows];
    if cols == 0 {
        for o in out.iter_mut() {
            f(&[], o);
        }
        return;
    }
    if rows * cols < PAR_MIN_ELEMS || rows == 1 {
        for (xr, o) in x.chunks_exact(cols).zip(out.iter_mut()) {
            f(xr, o);
        }
    } else {
        x.par_chunks_exact(cols).zip(out.par_iter_mut()).with_min_len((PAR_MIN_ELEMS / 4 / cols).max(1)).for_each(|(xr, o)| f(xr, o));
    }
}

/// Sum of 32 f32 lanes, combined in a fixed pairwise order.
#[inline(always)]
fn combine(acc: [f32x8; 4]) -> f32 {
    let v = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    let a = v.to_array();
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Blocked sum of `g(i)` over a run of length `n`, where `g8(i)` gives 8 lanes starting at `i` and
/// `g1(i)` one value. See the module docs for the accumulation scheme.
#[inline(always)]
pub(crate) fn blocked_sum(n: usize, g8: impl Fn(usize) -> f32x8, g1: impl Fn(usize) -> f32) -> f64 {
    let mut total = 0.0f64;
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        let mut acc = [f32x8::ZERO; 4];
        let mut i = start;
        while i + 32 <= end {
            acc[0] += g8(i);
            acc[1] += g8(i + 8);
            acc[2] += g8(i + 16);
            acc[3] += g8(i + 24);
            i += 32;
        }
        while i + 8 <= end {
            acc[0] += g8(i);
            i += 8;
        }
        let mut s = combine(acc);
        while i < end {
            s += g1(i);
            i += 1;
        }
        total += s as f64;
        start = end;
    }
    total
}

/// Sum of a row (blocked; see the module docs).
#[inline]
pub(crate) fn row_sum(x: &[f32]) -> f64 {
    blocked_sum(x.len(), |i| load(&x[i..]), |i| x[i])
}

/// Dot product of two equal-length rows (blocked).
#[inline]
pub(crate) fn row_dot(a: &[f32], b: &[f32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    blocked_sum(a.len(), |i| load(&a[i..]) * load(&b[i..]), |i| a[i] * b[i])
}

/// Max of a non-empty row; NaN if the row holds a NaN (like `torch.max`).
#[inline]
pub(crate) fn row_max(x: &[f32]) -> f32 {
    extremum(x, f32x8::fast_max, |a, b| if a > b { a } else { b })
}

/// Min of a non-empty row; NaN if the row holds a NaN.
#[inline]
pub(crate) fn row_min(x: &[f32]) -> f32 {
    extremum(x, f32x8::fast_min, |a, b| if a < b { a } else { b })
}

#[inline(always)]
fn extremum(x: &[f32], pick8: fn(f32x8, f32x8) -> f32x8, pick: fn(f32, f32) -> f32) -> f32 {
    debug_assert!(!x.is_empty());
    // NaN is tracked separately: max/min instructions drop NaN depending on operand order.
    let mut has_nan = false;
    let mut best = x[0];
    let mut i = 0;
    if x.len() >= 16 {
        let mut acc = [load(x), load(&x[8..])];
        let mut nan = f32x8::ZERO;
        while i + 16 <= x.len() {
            let (a, b) = (load(&x[i..]), load(&x[i + 8..]));
            nan |= a.is_nan() | b.is_nan();
            acc[0] = pick8(acc[0], a);
            acc[1] = pick8(acc[1], b);
            i += 16;
        }
        has_nan = nan.any();
        let lanes = pick8(acc[0], acc[1]).to_array();
        best = lanes.iter().copied().fold(lanes[0], pick);
    }
    for &v in &x[i..] {
        has_nan |= v.is_nan();
        best = pick(best, v);
    }
    if has_nan {
        f32::NAN
    } else {
        best
    }
}

/// out[r] = sum_c x[r, c]. `x` is (rows, cols) contiguous.
///
/// ```
/// let mut out = [0.0; 2];
/// kernels::sum_rows(&[1.0, 2.0, 3.0, 4.0], 2, 2, &mut out).unwrap();
/// assert_eq!(out, [3.0, 7.0]);
/// ```
pub fn sum_rows(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> KernelResult<()> {
    check_shape("sum_rows", x.len(), rows, cols, out.len(), rows)?;
    for_rows(x, rows, cols, out, |xr, o| *o = row_sum(xr) as f32);
    Ok(())
}

/// out[r] = mean_c x[r, c] (the sum divided in f64). A row of 0 columns gives NaN (0 / 0), as torch does.
///
/// ```
/// let mut out = [0.0; 1];
/// kernels::mean_rows(&[1.0, 2.0, 3.0, 6.0], 1, 4, &mut out).unwrap();
/// assert_eq!(out, [3.0]);
/// ```
pub fn mean_rows(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> KernelResult<()> {
    check_shape("mean_rows", x.len(), rows, cols, out.len(), rows)?;
    for_rows(x, rows, cols, out, |xr, o| *o = (row_sum(xr) / cols as f64) as f32);
    Ok(())
}

fn check_nonempty(kernel: &'static str, rows: usize, cols: usize) -> KernelResult<()> {
    if cols == 0 && rows > 0 {
        return Err(KernelError::new(kernel, format!("rows of 0 columns have no {kernel} (rows {rows})")));
    }
    Ok(())
}

/// out[r] = max_c x[r, c]; NaN if the row holds a NaN. Errors if cols == 0 (and rows > 0).
///
/// ```
/// let mut out = [0.0; 2];
/// kernels::max_rows(&[1.0, 5.0, -3.0, -4.0], 2, 2, &mut out).unwrap();
/// assert_eq!(out, [5.0, -3.0]);
/// ```
pub fn max_rows(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> KernelResult<()> {
    check_shape("max_rows", x.len(), rows, cols, out.len(), rows)?;
    check_nonempty("max_rows", rows, cols)?;
    for_rows(x, rows, cols, out, |xr, o| *o = row_max(xr));
    Ok(())
}

/// out[r] = min_c x[r, c]; NaN if the row holds a NaN. Errors if cols == 0 (and rows > 0).
///
/// ```
/// let mut out = [0.0; 2];
/// kernels::min_rows(&[1.0, 5.0, -3.0, -4.0], 2, 2, &mut out).unwrap();
/// assert_eq!(out, [1.0, -4.0]);
/// ```
pub fn min_rows(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> KernelResult<()> {
    check_shape("min_rows", x.len(), rows, cols, out.len(), rows)?;
    check_nonempty("min_rows", rows, cols)?;
    for_rows(x, rows, cols, out, |xr, o| *o = row_min(xr));
    Ok(())
}

/// out[r] = the first column index holding the row's max (ties: the lowest index).
///
/// NaN policy: NaN counts as larger than everything (as in `torch.argmax`), so a row with a NaN
/// gives the index of its first NaN. Errors if cols == 0 (and rows > 0).
///
/// ```
/// let mut out = [0usize; 2];
/// kernels::argmax_rows(&[1.0, 5.0, 5.0, f32::NAN, 2.0, f32::NAN], 2, 3, &mut out).unwrap();
/// assert_eq!(out, [1, 0]);
/// ```
pub fn argmax_rows(x: &[f32], rows: usize, cols: usize, out: &mut [usize]) -> KernelResult<()> {
    check_shape("argmax_rows", x.len(), rows, cols, out.len(), rows)?;
    check_nonempty("argmax_rows", rows, cols)?;
    for_rows(x, rows, cols, out, |xr, o| {
        // Find the max with the vector scan, then the first index equal to it: two passes over a
        // row in cache beat a branchy single scalar pass.
        let m = row_max(xr);
        *o = if m.is_nan() {
            xr.iter().position(|v| v.is_nan()).unwrap()
        } else {
            xr.iter().position(|&v| v == m).unwrap()
        };
    });
    Ok(())
}

/// Columns per parallel task in `sum_cols` (each task owns whole output columns, so no merging).
const SUM_COLS_CHUNK: usize = 256;

/// out[c] = sum_r x[r, c] (bias gradients, reducing a broadcast). `out` is overwritten. Each column
/// is accumulated in f64 in row order, so the result is exact to f32 rounding of the f64 sum and
/// independent of thread count.
///
/// ```
/// let mut out = [0.0; 2];
/// kernels::sum_cols(&[1.0, 2.0, 3.0, 4.0], 2, 2, &mut out).unwrap();
/// assert_eq!(out, [4.0, 6.0]);
/// ```
pub fn sum_cols(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) -> KernelResult<()> {
    check_shape("sum_cols", x.len(), rows, cols, out.len(), cols)?;
    let x = &x[..rows * cols];
    let out = &mut out[..cols];
    let run = |c0: usize, oc: &mut [f32]| {
        let w = oc.len();
        let mut acc = vec![0.0f64; w];
        for r in 0..rows {
            accumulate_f64(&mut acc, &x[r * cols + c0..r * cols + c0 + w]);
        }
        for (o, a) in oc.iter_mut().zip(acc) {
            *o = a as f32;
        }
    };
    // Narrow matrices (a bias gradient of 384 columns) are split evenly over the threads rather than
    // into one full chunk and a remainder. Each column's sum is the same whatever the chunking.
    let chunk = SUM_COLS_CHUNK.min(cols.div_ceil(rayon::current_num_threads()).next_multiple_of(16));
    if rows * cols < PAR_MIN_ELEMS || cols <= chunk {
        run(0, out);
    } else {
        out.par_chunks_mut(chunk).enumerate().for_each(|(i, oc)| run(i * chunk, oc));
    }
    Ok(())
}

multiversion! {
    /// acc[i] += row[i] in f64. Lane-wise adds, so every build (AVX-512 converts and adds 8 lanes at a
    /// time, SSE2 2) gives the same bits; multiversioned because the f32 -> f64 widening is the cost.
    fn accumulate_f64<FMA>(acc: &mut [f64], row: &[f32]) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v as f64;
        }
    }
}

/// Naive references: one sequential f64 loop per output. The tests' oracle.
pub mod reference {
    pub fn sum_rows_naive(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
        for r in 0..rows {
            out[r] = x[r * cols..(r + 1) * cols].iter().map(|&v| v as f64).sum::<f64>() as f32;
        }
    }

    pub fn mean_rows_naive(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
        for r in 0..rows {
            out[r] = (x[r * cols..(r + 1) * cols].iter().map(|&v| v as f64).sum::<f64>() / cols as f64) as f32;
        }
    }

    pub fn max_rows_naive(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
        for r in 0..rows {
            let row = &x[r * cols..(r + 1) * cols];
            out[r] = if row.iter().any(|v| v.is_nan()) { f32::NAN } else { row.iter().copied().fold(f32::NEG_INFINITY, f32::max) };
        }
    }

    pub fn min_rows_naive(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
        for r in 0..rows {
            let row = &x[r * cols..(r + 1) * cols];
            out[r] = if row.iter().any(|v| v.is_nan()) { f32::NAN } else { row.iter().copied().fold(f32::INFINITY, f32::min) };
        }
    }

    pub fn argmax_rows_naive(x: &[f32], rows: usize, cols: usize, out: &mut [usize]) {
        for r in 0..rows {
            let row = &x[r * cols..(r + 1) * cols];
            let mut best = 0;
            for c in 1..cols {
                if row[best].is_nan() {
                    break;
                }
                if row[c].is_nan() || row[c] > row[best] {
                    best = c;
                }
            }
            out[r] = best;
        }
    }

    pub fn sum_cols_naive(x: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
        for c in 0..cols {
            out[c] = (0..rows).map(|r| x[r * cols + c] as f64).sum::<f64>() as f32;
        }
    }
}
