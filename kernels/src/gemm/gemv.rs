//! One-row products (m == 1, op(B) not transposed): the shape of every weight matmul when a model decodes
//! one token at a time with a KV cache.
//!
//! The blocked path would pack all of op(B) for a single row of A, so its cost is the packing, not the
//! arithmetic. Here each row of B is streamed once, straight from memory: for each k block,
//! `acc[j] = fma(a[p], B[p][j], acc[j])` in order over p, then `C[j] = alpha·acc[j] + beta·C[j]`.
//! That is the same operation sequence, element for element, as the blocked path's edge tile for one row
//! (same kc blocks, same FMA order, same final update), so both paths give bit-identical results: a model
//! decoding with a cache gets exactly the numbers it gets without one.

use rayon::prelude::*;

use super::microkernel::KernelKind;
use super::shape::GemmShape;

/// Columns handled per stack-resident accumulator tile.
const TILE: usize = 256;
/// Below this many multiply-adds one thread is faster than waking another.
const PARALLEL_MIN_KN: usize = 1 << 17;

/// True when the one-row path applies and this CPU has a vector FMA for it.
pub(crate) fn applies(kind: KernelKind, s: &GemmShape) -> bool {
    s.m == 1 && !s.trans_b && fma_level(kind).is_some()
}

#[derive(Clone, Copy)]
enum Level {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

fn fma_level(kind: KernelKind) -> Option<Level> {
    match kind {
        #[cfg(target_arch = "x86_64")]
        KernelKind::Avx512 => Some(Level::Avx512),
        #[cfg(target_arch = "x86_64")]
        KernelKind::Avx2 => Some(Level::Avx2),
        _ => None,
    }
}

/// C[0, :] = alpha·op(A)[0, :]·B + beta·C[0, :] for a checked shape with `applies(kind, s)`.
pub(crate) fn gemv_row(kind: KernelKind, s: &GemmShape, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32], parallel: bool) {
    let level = fma_level(kind).expect("gemv_row called where applies() is false");
    let kc = kind.spec().kc;
    // The row of op(A), gathered once (it is strided when A is transposed).
    let a_row: Vec<f32> = (0..s.k).map(|p| s.a_at(a, 0, p)).collect();
    let c_row = &mut c[..s.n];
    let run = |j0: usize, c_chunk: &mut [f32]| {
        for (t, c_tile) in c_chunk.chunks_mut(TILE).enumerate() {
            tile(level, s, kc, &a_row, b, j0 + t * TILE, alpha, beta, c_tile);
        }
    };
    if parallel && s.k * s.n >= PARALLEL_MIN_KN && rayon::current_num_threads() > 1 {
        // Column chunks: each element's arithmetic is the same whichever thread runs it.
        let chunk = s.n.div_ceil(rayon::current_num_threads()).div_ceil(TILE) * TILE;
        c_row.par_chunks_mut(chunk).enumerate().for_each(|(i, c_chunk)| run(i * chunk, c_chunk));
    } else {
        run(0, c_row);
    }
}

/// One tile of at most TILE columns starting at column j0.
#[allow(clippy::too_many_arguments)]
fn tile(level: Level, s: &GemmShape, kc: usize, a_row: &[f32], b: &[f32], j0: usize, alpha: f32, beta: f32, c: &mut [f32]) {
    let mut acc = [0f32; TILE];
    let acc = &mut acc[..c.len()];
    for pc in (0..s.k).step_by(kc) {
        let block = pc..(pc + kc).min(s.k);
        acc.fill(0.0);
        for p in block {
            let b_row = &b[p * s.ldb + j0..][..acc.len()];
            // SAFETY: `level` was derived from a KernelKind this CPU supports (checked by the caller).
            unsafe {
                match level {
                    #[cfg(target_arch = "x86_64")]
                    Level::Avx512 => fma_row_avx512(a_row[p], b_row, acc),
                    #[cfg(target_arch = "x86_64")]
                    Level::Avx2 => fma_row_avx2(a_row[p], b_row, acc),
                }
            }
        }
        let beta_block = if pc == 0 { beta } else { 1.0 };
        if beta_block == 0.0 {
            c.iter_mut().zip(acc.iter()).for_each(|(x, &v)| *x = alpha * v);
        } else {
            c.iter_mut().zip(acc.iter()).for_each(|(x, &v)| *x = alpha * v + beta_block * *x);
        }
    }
}

/// acc[j] = fma(s, b[j], acc[j]); compiled with the ISA so `mul_add` is one vector instruction.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
fn fma_row(s: f32, b: &[f32], acc: &mut [f32]) {
    for (x, &bj) in acc.iter_mut().zip(b) {
        *x = s.mul_add(bj, *x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn fma_row_avx512(s: f32, b: &[f32], acc: &mut [f32]) {
    fma_row(s, b, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_row_avx2(s: f32, b: &[f32], acc: &mut [f32]) {
    fma_row(s, b, acc)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::gemm::driver;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// The one-row path must equal the blocked path bit for bit (see the module comment for why it matters).
    #[test]
    fn one_row_path_is_bit_identical_to_the_blocked_path() {
        let kinds: Vec<KernelKind> =
            [KernelKind::best(), KernelKind::Avx2].into_iter().filter(|k| k.is_supported()).collect();
        for kind in kinds {
            for &k in &[1usize, 7, 383, 384, 385, 1000] {
                for &n in &[1usize, 17, 300, 1000] {
                    for &trans_a in &[false, true] {
                        for &(alpha, beta) in &[(1.0f32, 0.0f32), (0.5, 1.0), (-1.25, 0.75)] {
                            let ldb = n + 3;
                            let s = GemmShape { trans_a, trans_b: false, m: 1, n, k, lda: if trans_a { 2 } else { k }, ldb, ldc: n };
                            let a = values(s.a_len(), 1 + k as u64);
                            let b = values(k * ldb, 2 + n as u64);
                            let c0 = values(n, 3);
                            if !applies(kind, &s) {
                                continue;
                            }
                            let mut ours = c0.clone();
                            gemv_row(kind, &s, alpha, &a, &b, beta, &mut ours, true);
                            let mut blocked = c0.clone();
                            driver::gemm_blocked(&kind.spec(), &s, alpha, &a, &b, beta, &mut blocked, 2);
                            let same = ours.iter().zip(&blocked).all(|(x, y)| x.to_bits() == y.to_bits());
                            assert!(same, "{kind:?} k={k} n={n} trans_a={trans_a} alpha={alpha} beta={beta}");
                        }
                    }
                }
            }
        }
    }
}
