//! Strided views: checking them, walking them row by row, and copying them into contiguous buffers.
//!
//! A strided view is `(shape, offset, strides)` over a flat slice: element `(i_0, .., i_{n-1})` lives at
//! `offset + sum(i_d * strides[d])`. A stride of 0 repeats (broadcasts) the same element along that dim.
//! The element-wise kernels reuse the walker here, so the indexing rules live in one place.
use rayon::prelude::*;

use crate::error::{KernelError, KernelResult};

/// Below this many output elements a strided kernel runs on the calling thread: splitting costs
/// more than it saves for small tensors.
pub(crate) const PAR_MIN_ELEMS: usize = 1 << 16;

/// Number of elements of `shape` (1 for a scalar, 0 if any dim is 0).
pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Checks that a strided view of `shape` fits inside a slice of `len` elements.
pub(crate) fn check_view(
    kernel: &'static str,
    what: &str,
    len: usize,
    shape: &[usize],
    offset: usize,
    strides: &[usize],
) -> KernelResult<()> {
    if strides.len() != shape.len() {
        return Err(KernelError::new(
            kernel,
            format!("{what} has {} strides for a shape of {} dims {shape:?}", strides.len(), shape.len()),
        ));
    }
    if numel(shape) == 0 {
        return Ok(());
    }
    // The largest index the view touches; checked arithmetic so absurd strides error instead of wrapping.
    let mut last = Some(offset);
    for (&n, &s) in shape.iter().zip(strides) {
        last = last.and_then(|l| (n - 1).checked_mul(s).and_then(|t| l.checked_add(t)));
    }
    match last {
        Some(l) if l < len => Ok(()),
        _ => Err(KernelError::new(
            kernel,
            format!(
                "{what} view (shape {shape:?}, offset {offset}, strides {strides:?}) reaches past its {len} elements"
            ),
        )),
    }
}

/// Merges dims that every operand walks contiguously and drops size-1 dims, so the innermost loop
/// is as long as possible. The output is contiguous, so it takes part in the merge test implicitly:
/// merging dims `d` and `d+1` is valid when, for each operand, `stride[d] == stride[d+1] * shape[d+1]`.
/// Returns the coalesced shape and the strides of each of the `N` operands (never empty: a scalar
/// becomes shape `[1]`).
pub(crate) fn coalesce<const N: usize>(shape: &[usize], strides: [&[usize]; N]) -> (Vec<usize>, [Vec<usize>; N]) {
    let mut out_shape: Vec<usize> = Vec::with_capacity(shape.len());
    let mut out_strides: [Vec<usize>; N] = std::array::from_fn(|_| Vec::with_capacity(shape.len()));
    for d in 0..shape.len() {
        let n = shape[d];
        if n == 1 {
            continue;
        }
        if !out_shape.is_empty() {
            let mergeable = (0..N).all(|k| *out_strides[k].last().unwrap() == strides[k][d] * n);
            if mergeable {
                *out_shape.last_mut().unwrap() *= n;
                for k in 0..N {
                    *out_strides[k].last_mut().unwrap() = strides[k][d];
                }
                continue;
            }
        }
        out_shape.push(n);
        for k in 0..N {
            out_strides[k].push(strides[k][d]);
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        for s in out_strides.iter_mut() {
            s.push(0);
        }
    }
    (out_shape, out_strides)
}

/// Walks the "rows" (runs of the innermost dim) of a coalesced iteration space, keeping the base
/// offset of each of `N` operands. Rows are numbered in row-major order; `new` starts at any row so
/// parallel chunks can begin mid-tensor without walking from zero.
pub(crate) struct RowWalker<'a, const N: usize> {
    outer_shape: &'a [usize],
    strides: [&'a [usize]; N],
    index: Vec<usize>,
    offsets: [usize; N],
}

impl<'a, const N: usize> RowWalker<'a, N> {
    /// `outer_shape` excludes the innermost dim; `strides[k]` likewise; `bases[k]` is operand k's offset.
    pub(crate) fn new(outer_shape: &'a [usize], strides: [&'a [usize]; N], bases: [usize; N], start_row: usize) -> Self {
        let mut index = vec![0; outer_shape.len()];
        let mut rem = start_row;
        for d in (0..outer_shape.len()).rev() {
            index[d] = rem % outer_shape[d];
            rem /= outer_shape[d];
        }
        let mut offsets = bases;
        for k in 0..N {
            for d in 0..outer_shape.len() {
                offsets[k] += index[d] * strides[k][d];
            }
        }
        Self { outer_shape, strides, index, offsets }
    }

    /// Base offsets of the current row.
    #[inline]
    pub(crate) fn offsets(&self) -> [usize; N] {
        self.offsets
    }

    /// Moves to the next row (odometer increment: the last dim fastest).
    #[inline]
    pub(crate) fn advance(&mut self) {
        for d in (0..self.outer_shape.len()).rev() {
            self.index[d] += 1;
            for k in 0..N {
                self.offsets[k] += self.strides[k][d];
            }
            if self.index[d] < self.outer_shape[d] {
                return;
            }
            for k in 0..N {
                self.offsets[k] -= self.strides[k][d] * self.outer_shape[d];
            }
            self.index[d] = 0;
        }
    }
}

/// Drives a strided kernel: coalesces the view, then calls `row(out_row, bases, inner_strides)` for each
/// run of the innermost dim, where `out_row` is the contiguous output for that run, `bases[k]` the offset
/// of operand k's first element and `inner_strides[k]` its stride along the run. Large outputs are split
/// over rayon by whole rows; each output element is written by exactly one call, so the result does not
/// depend on the thread count. The caller has already checked every view.
pub(crate) fn for_each_row<T, F, const N: usize>(shape: &[usize], bases: [usize; N], strides: [&[usize]; N], out: &mut [T], row: F)
where
    T: Send,
    F: Fn(&mut [T], [usize; N], [usize; N]) + Sync,
{
    let total = out.len();
    if total == 0 {
        return;
    }
    let (cshape, cstrides) = coalesce(shape, strides);
    let inner = *cshape.last().unwrap();
    let inner_strides: [usize; N] = std::array::from_fn(|k| *cstrides[k].last().unwrap());
    let outer_shape = &cshape[..cshape.len() - 1];
    let outer_strides: [&[usize]; N] = std::array::from_fn(|k| &cstrides[k][..cstrides[k].len() - 1]);
    let n_rows = total / inner;

    let run_chunk = |chunk: &mut [T], first_row: usize| {
        let mut walker = RowWalker::new(outer_shape, outer_strides, bases, first_row);
        for out_row in chunk.chunks_mut(inner) {
            row(out_row, walker.offsets(), inner_strides);
            walker.advance();
        }
    };
    if total < PAR_MIN_ELEMS || n_rows == 1 {
        run_chunk(out, 0);
    } else {
        // Chunks of whole rows holding roughly PAR_MIN_ELEMS / 4 elements each.
        let rows_per_chunk = (PAR_MIN_ELEMS / 4 / inner).max(1);
        out.par_chunks_mut(rows_per_chunk * inner)
            .enumerate()
            .for_each(|(i, chunk)| run_chunk(chunk, i * rows_per_chunk));
    }
}

/// Copies a strided view into a contiguous buffer (what `Tensor::contiguous` ends in).
///
/// `dst` is contiguous with `shape` and must hold exactly `shape.iter().product()` elements; `src` is
/// read at `offset + sum(i_d * strides[d])`. Works for any `Copy` element (f32, i64, u8, half types).
///
/// ```
/// // The transpose of a (2, 3) matrix: shape (3, 2) with strides (1, 3).
/// let src = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut dst = [0.0f32; 6];
/// kernels::copy_strided(&[3, 2], &src, 0, &[1, 3], &mut dst).unwrap();
/// assert_eq!(dst, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
pub fn copy_strided<T: Copy + Send + Sync>(
    shape: &[usize],
    src: &[T],
    offset: usize,
    strides: &[usize],
    dst: &mut [T],
) -> KernelResult<()> {
    const K: &str = "copy_strided";
    check_view(K, "src", src.len(), shape, offset, strides)?;
    let n = numel(shape);
    if dst.len() != n {
        return Err(KernelError::new(K, format!("dst has {} elements but shape {shape:?} has {n}", dst.len())));
    }
    if n >= TRANSPOSE_MIN_ELEMS && copy_transposed(shape, src, offset, strides, dst) {
        return Ok(());
    }
    for_each_row(shape, [offset], [strides], dst, |out_row, [base], [stride]| {
        match stride {
            // Contiguous run: a memcpy.
            1 => out_row.copy_from_slice(&src[base..base + out_row.len()]),
            // Broadcast run: one value repeated.
            0 => out_row.fill(src[base]),
            s => {
                for (i, o) in out_row.iter_mut().enumerate() {
                    *o = src[base + i * s];
                }
            }
        }
    });
    Ok(())
}

/// Below this many elements a transposed copy takes the plain row walk (tiling costs more than it saves).
const TRANSPOSE_MIN_ELEMS: usize = 1 << 12;
/// Transpose tile edge: a 32 x 32 tile of f32 reads 32 source columns of 128 bytes and writes 32
/// destination rows of 128 bytes, 8 KiB in all, well inside L1.
const TILE: usize = 32;
/// Destination rows per parallel band of a transposed copy (a multiple of TILE).
const BAND: usize = 256;

/// The cache-blocked path of [`copy_strided`] for views whose innermost dim is strided but whose
/// second-innermost dim is contiguous in `src` (a transpose of the last two dims, after coalescing):
/// the plain row walk would touch a new cache line per element (0.85 GB/s measured on 4096 x 768).
/// Copies tile by tile instead. Returns false (having done nothing) when the view is not of that form.
fn copy_transposed<T: Copy + Send + Sync>(shape: &[usize], src: &[T], offset: usize, strides: &[usize], dst: &mut [T]) -> bool {
    let (cshape, [cstrides]) = coalesce(shape, [strides]);
    let k = cshape.len();
    if k < 2 || cstrides[k - 1] == 1 || cstrides[k - 2] != 1 || cshape[k - 1] < 8 || cshape[k - 2] < 8 {
        return false;
    }
    // Each batch is an (r, c) block with src strides (1, sc): dst[i, j] = src[base + i + j * sc].
    let (r, c, sc) = (cshape[k - 2], cshape[k - 1], cstrides[k - 1]);
    let (batch_shape, batch_strides) = (&cshape[..k - 2], &cstrides[..k - 2]);
    // One band = up to BAND destination rows of one batch: a contiguous run of dst, so bands are
    // disjoint and parallel. Within a band, tiles go across the band's rows first (i inner) so each
    // source row is read in long contiguous runs, and each destination row segment is written whole.
    let band = |b: usize, i_start: usize, out: &mut [T]| {
        let base = RowWalker::new(batch_shape, [batch_strides], [offset], b).offsets()[0];
        let band_rows = out.len() / c;
        for j0 in (0..c).step_by(TILE) {
            let w = (j0 + TILE).min(c) - j0;
            for i0 in (0..band_rows).step_by(TILE) {
                let h = (i0 + TILE).min(band_rows) - i0;
                // One tile: each destination row segment is written whole (w contiguous values), read
                // from w source rows that the tile's h rows share, so all its lines stay in L1.
                for i in i0..i0 + h {
                    let from = base + i_start + i + j0 * sc;
                    let row = &mut out[i * c + j0..i * c + j0 + w];
                    for (jj, o) in row.iter_mut().enumerate() {
                        *o = src[from + jj * sc];
                    }
                }
            }
        }
    };
    let block = r * c;
    if dst.len() < PAR_MIN_ELEMS {
        for (b, blk) in dst.chunks_mut(block).enumerate() {
            for (t, out) in blk.chunks_mut(BAND * c).enumerate() {
                band(b, t * BAND, out);
            }
        }
    } else {
        dst.par_chunks_mut(block).enumerate().for_each(|(b, blk)| {
            blk.par_chunks_mut(BAND * c).enumerate().for_each(|(t, out)| band(b, t * BAND, out));
        });
    }
    true
}

/// Naive references: one flat loop that decomposes every output index. The tests' oracle.
pub mod reference {
    /// Offset of contiguous element `linear` of `shape` in a strided view.
    pub fn strided_index(shape: &[usize], offset: usize, strides: &[usize], linear: usize) -> usize {
        let mut rem = linear;
        let mut at = offset;
        for d in (0..shape.len()).rev() {
            at += (rem % shape[d]) * strides[d];
            rem /= shape[d];
        }
        at
    }

    /// Element-by-element copy of a strided view; panics on out-of-range views.
    pub fn copy_strided_naive<T: Copy>(shape: &[usize], src: &[T], offset: usize, strides: &[usize], dst: &mut [T]) {
        for (i, d) in dst.iter_mut().enumerate() {
            *d = src[strided_index(shape, offset, strides, i)];
        }
    }
}
