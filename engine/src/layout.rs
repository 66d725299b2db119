//! Shape, strides and offset: how a tensor's logical elements map onto its storage.
//!
//! Strides count elements, not bytes. A stride of 0 repeats one element along that dimension (a broadcast
//! or expand view). Views (reshape, transpose, narrow, broadcast) only build a new `Layout`; the storage is
//! shared.
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
}

/// Formats a shape the way error messages show it: `[2, 3]`.
pub fn fmt_shape(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// Row-major strides for a contiguous tensor of this shape.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut step = 1;
    for (d, &size) in shape.iter().enumerate().rev() {
        strides[d] = step;
        step *= size;
    }
    strides
}

/// Turns a possibly negative dimension (`-1` = last) into an index, or names the op and the rank.
pub fn resolve_dim(op: &'static str, dim: isize, rank: usize) -> Result<usize> {
    let resolved = if dim < 0 { dim + rank as isize } else { dim };
    if resolved < 0 || resolved as usize >= rank {
        return Err(Error::op(op, format!("dimension {dim} is out of range for a tensor of rank {rank}")));
    }
    Ok(resolved as usize)
}

/// NumPy broadcasting: the shape two operands broadcast to, or an error naming both shapes.
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    let rank = lhs.len().max(rhs.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let l = if i < rank - lhs.len() { 1 } else { lhs[i - (rank - lhs.len())] };
        let r = if i < rank - rhs.len() { 1 } else { rhs[i - (rank - rhs.len())] };
        out[i] = match (l, r) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return Err(Error::op(
                    op,
                    format!(
                        "shapes {} and {} cannot be broadcast together (dimension {i}: {l} against {r})",
                        fmt_shape(lhs),
                        fmt_shape(rhs)
                    ),
                ))
            }
        };
    }
    Ok(out)
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout { shape: shape.to_vec(), strides: contiguous_strides(shape), offset: 0 }
    }

    /// A layout with explicit strides; the caller guarantees every element lies inside the storage.
    pub fn new(shape: Vec<usize>, strides: Vec<usize>, offset: usize) -> Self {
        debug_assert_eq!(shape.len(), strides.len());
        Layout { shape, strides, offset }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the elements are laid out row-major with no gaps, starting at `offset`.
    /// Dimensions of size 1 may have any stride.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&size, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if size != 1 && stride != expected {
                return false;
            }
            expected *= size;
        }
        true
    }

    /// One past the largest storage index this layout reads (0 for an empty tensor).
    pub fn storage_extent(&self) -> usize {
        if self.numel() == 0 {
            return 0;
        }
        self.offset + self.shape.iter().zip(&self.strides).map(|(&n, &s)| (n - 1) * s).sum::<usize>() + 1
    }

    /// The layout viewed as `target` by broadcasting (stride 0 on new or size-1 dimensions).
    pub fn broadcast_to(&self, op: &'static str, target: &[usize]) -> Result<Layout> {
        if target.len() < self.rank() {
            return Err(Error::op(
                op,
                format!("cannot broadcast shape {} to the lower-rank shape {}", fmt_shape(&self.shape), fmt_shape(target)),
            ));
        }
        let lead = target.len() - self.rank();
        let mut strides = vec![0; target.len()];
        for (d, &want) in target.iter().enumerate() {
            if d < lead {
                continue;
            }
            let have = self.shape[d - lead];
            if have == want {
                strides[d] = self.strides[d - lead];
            } else if have != 1 {
                return Err(Error::op(
                    op,
                    format!("cannot broadcast shape {} to {}", fmt_shape(&self.shape), fmt_shape(target)),
                ));
            }
        }
        Ok(Layout { shape: target.to_vec(), strides, offset: self.offset })
    }

    /// Storage indices of every logical element, in row-major order.
    pub fn storage_indices(&self) -> StorageIndices<'_> {
        StorageIndices::new(self)
    }
}

/// Iterates the storage index of each logical element of a layout in row-major order.
pub struct StorageIndices<'a> {
    layout: &'a Layout,
    index: Vec<usize>,
    next: usize,
    remaining: usize,
}

impl<'a> StorageIndices<'a> {
    fn new(layout: &'a Layout) -> Self {
        let remaining = layout.numel();
        StorageIndices { layout, index: vec![0; layout.rank()], next: layout.offset, remaining }
    }
}

impl Iterator for StorageIndices<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        let current = self.next;
        self.remaining -= 1;
        if self.remaining > 0 {
            // Odometer step: bump the last dimension, carrying into earlier ones.
            for d in (0..self.index.len()).rev() {
                self.index[d] += 1;
                self.next += self.layout.strides[d];
                if self.index[d] < self.layout.shape[d] {
                    break;
                }
                self.next -= self.layout.strides[d] * self.index[d];
                self.index[d] = 0;
            }
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for StorageIndices<'_> {}
