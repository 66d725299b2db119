//! Embedding lookup (gather rows of a `(vocab, dim)` table) and its backward (scatter-add rows of
//! the upstream gradient into the table gradient), side by side.
//!
//! Backward determinism: several positions may share an id, so a naive parallel scatter would race or
//! depend on scheduling. Instead positions are bucketed by id with a counting sort (stable: positions
//! of one id stay in increasing order), and each table row is owned by one task that adds its
//! positions in that order. The additions into any one row happen in the same order as the sequential
//! reference, so the result is bit-identical to it on any thread count.
use rayon::prelude::*;

use crate::error::{check_len, KernelError, KernelResult};

/// Below this many gradient elements backward runs on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 15;

/// Checks every id is in [0, vocab), naming the first bad position.
fn check_ids(kernel: &'static str, ids: &[i64], vocab: usize) -> KernelResult<()> {
    for (pos, &id) in ids.iter().enumerate() {
        if id < 0 || id as u64 >= vocab as u64 {
            return Err(KernelError::new(kernel, format!("id {id} at position {pos} is out of range [0, {vocab})")));
        }
    }
    Ok(())
}

/// out[p, :] = table[ids[p], :]. `table` is (vocab, dim), `out` is (ids.len(), dim).
///
/// ```
/// let table = [0.0, 1.0, 10.0, 11.0]; // vocab 2, dim 2
/// let mut out = [0.0; 6];
/// kernels::embedding_forward(&table, 2, 2, &[1, 0, 1], &mut out).unwrap();
/// assert_eq!(out, [10.0, 11.0, 0.0, 1.0, 10.0, 11.0]);
/// ```
pub fn embedding_forward(table: &[f32], vocab: usize, dim: usize, ids: &[i64], out: &mut [f32]) -> KernelResult<()> {
    const K: &str = "embedding_forward";
    let tn = vocab.checked_mul(dim).ok_or_else(|| KernelError::new(K, "vocab x dim overflows"))?;
    check_len(K, "table", table.len(), tn)?;
    let on = ids.len().checked_mul(dim).ok_or_else(|| KernelError::new(K, "ids x dim overflows"))?;
    check_len(K, "out", out.len(), on)?;
    check_ids(K, ids, vocab)?;
    if dim == 0 {
        return Ok(());
    }
    // A gather is pure memcpy; rows are independent.
    let copy = |(o, &id): (&mut [f32], &i64)| {
        let s = id as usize * dim;
        o.copy_from_slice(&table[s..s + dim]);
    };
    if on < PAR_MIN_ELEMS {
        out[..on].chunks_exact_mut(dim).zip(ids).for_each(copy);
    } else {
        out[..on].par_chunks_exact_mut(dim).zip(ids.par_iter()).for_each(copy);
    }
    Ok(())
}

/// dtable[ids[p], :] += dout[p, :] for every position p (scatter-add; repeated ids accumulate).
/// Deterministic: see the module docs.
///
/// ```
/// let mut dtable = [0.0; 4]; // vocab 2, dim 2
/// kernels::embedding_backward(&[1.0, 2.0, 3.0, 4.0], &[1, 1], 2, 2, &mut dtable).unwrap();
/// assert_eq!(dtable, [0.0, 0.0, 4.0, 6.0]);
/// ```
pub fn embedding_backward(dout: &[f32], ids: &[i64], vocab: usize, dim: usize, dtable: &mut [f32]) -> KernelResult<()> {
    const K: &str = "embedding_backward";
    let tn = vocab.checked_mul(dim).ok_or_else(|| KernelError::new(K, "vocab x dim overflows"))?;
    check_len(K, "dtable", dtable.len(), tn)?;
    let n = ids.len().checked_mul(dim).ok_or_else(|| KernelError::new(K, "ids x dim overflows"))?;
    check_len(K, "dout", dout.len(), n)?;
    check_ids(K, ids, vocab)?;
    if dim == 0 || ids.is_empty() {
        return Ok(());
    }
    let add_row = |d: &mut [f32], p: usize| {
        for (d, &g) in d.iter_mut().zip(&dout[p * dim..(p + 1) * dim]) {
            *d += g;
        }
    };
    if n < PAR_MIN_ELEMS {
        for (p, &id) in ids.iter().enumerate() {
            add_row(&mut dtable[id as usize * dim..(id as usize + 1) * dim], p);
        }
        return Ok(());
    }
    // Counting sort of positions by id: start[v]..start[v+1] indexes `order` for id v.
    let mut start = vec![0usize; vocab + 1];
    for &id in ids {
        start[id as usize + 1] += 1;
    }
    for v in 0..vocab {
        start[v + 1] += start[v];
    }
    let mut fill = start.clone();
    let mut order = vec![0usize; ids.len()];
    for (p, &id) in ids.iter().enumerate() {
        order[fill[id as usize]] = p;
        fill[id as usize] += 1;
    }
    dtable[..tn].par_chunks_exact_mut(dim).enumerate().with_min_len(64).for_each(|(v, d)| {
        for &p in &order[start[v]..start[v + 1]] {
            add_row(d, p);
        }
    });
    Ok(())
}

/// Naive references: sequential loops. The tests' oracle.
pub mod reference {
    pub fn embedding_forward_naive(table: &[f32], dim: usize, ids: &[i64], out: &mut [f32]) {
        for (p, &id) in ids.iter().enumerate() {
            for c in 0..dim {
                out[p * dim + c] = table[id as usize * dim + c];
            }
        }
    }

    pub fn embedding_backward_naive(dout: &[f32], ids: &[i64], dim: usize, dtable: &mut [f32]) {
        for (p, &id) in ids.iter().enumerate() {
            for c in 0..dim {
                dtable[id as usize * dim + c] += dout[p * dim + c];
            }
        }
    }
}
