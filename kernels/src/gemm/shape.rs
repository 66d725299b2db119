//! The sizes of one GEMM, their checks against the slices, and element addressing of op(A) / op(B).

use crate::error::{check_len, KernelError, KernelResult};

/// The sizes and layout of C = alpha·op(A)·op(B) + beta·C, row-major.
/// op(A) is m×k, op(B) is k×n, C is m×n.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GemmShape {
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub lda: usize,
    pub ldb: usize,
    pub ldc: usize,
}

/// Elements a row-major `rows`×`cols` matrix with row stride `ld` spans: the last row needs only `cols`.
pub(crate) fn footprint(rows: usize, cols: usize, ld: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    }
}

impl GemmShape {
    /// A as stored: m×k, or k×m when transposed.
    pub fn a_stored(&self) -> (usize, usize) {
        if self.trans_a { (self.k, self.m) } else { (self.m, self.k) }
    }

    /// B as stored: k×n, or n×k when transposed.
    pub fn b_stored(&self) -> (usize, usize) {
        if self.trans_b { (self.n, self.k) } else { (self.k, self.n) }
    }

    pub fn a_len(&self) -> usize {
        let (r, c) = self.a_stored();
        footprint(r, c, self.lda)
    }

    pub fn b_len(&self) -> usize {
        let (r, c) = self.b_stored();
        footprint(r, c, self.ldb)
    }

    pub fn c_len(&self) -> usize {
        footprint(self.m, self.n, self.ldc)
    }

    /// Leading dimensions must cover a stored row, else rows would overlap.
    pub fn check_strides(&self, kernel: &'static str) -> KernelResult<()> {
        let (ar, ac) = self.a_stored();
        let (br, bc) = self.b_stored();
        let bad = |what: &str, ld: usize, cols: usize| {
            Err(KernelError::new(kernel, format!("{what} = {ld} is smaller than the {cols} columns stored per row")))
        };
        if ar > 0 && self.lda < ac {
            return bad("lda", self.lda, ac);
        }
        if br > 0 && self.ldb < bc {
            return bad("ldb", self.ldb, bc);
        }
        if self.m > 0 && self.ldc < self.n {
            return bad("ldc", self.ldc, self.n);
        }
        Ok(())
    }

    /// Checks strides and that each slice holds the matrix the sizes describe.
    pub fn check(&self, kernel: &'static str, a: usize, b: usize, c: usize) -> KernelResult<()> {
        self.check_strides(kernel)?;
        check_len(kernel, "a", a, self.a_len())?;
        check_len(kernel, "b", b, self.b_len())?;
        check_len(kernel, "c", c, self.c_len())
    }

    /// op(A)[i][p].
    #[inline(always)]
    pub fn a_at(&self, a: &[f32], i: usize, p: usize) -> f32 {
        if self.trans_a { a[p * self.lda + i] } else { a[i * self.lda + p] }
    }

    /// op(B)[p][j].
    #[inline(always)]
    pub fn b_at(&self, b: &[f32], p: usize, j: usize) -> f32 {
        if self.trans_b { b[j * self.ldb + p] } else { b[p * self.ldb + j] }
    }
}
