//! Packing: copying a block of op(A) or op(B) into the k-major micro-panels the microkernels stream,
//! zero-padding the last panel so edge tiles run the same full-width kernel.
//!
//! The panel width is a const generic so the per-k-step copies compile to fixed-size vector moves and
//! the row loops unroll; each microkernel instantiates the pair for its MR and NR.

use super::shape::GemmShape;

/// Packs op(A)[i0..i0+mc, p0..p0+kc] into `out` as ceil(mc/MR) panels of kc×MR:
/// `out[panel*kc*MR + p*MR + r] = op(A)[i0 + panel*MR + r][p0 + p]`, rows past `mc` are zero.
// out: (ceil(mc/MR), kc, MR)
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_a<const MR: usize>(s: &GemmShape, a: &[f32], i0: usize, mc: usize, p0: usize, kc: usize, out: &mut [f32]) {
    for (panel, dst) in out.chunks_exact_mut(kc * MR).take(mc.div_ceil(MR)).enumerate() {
        let r0 = i0 + panel * MR;
        let rows = MR.min(i0 + mc - r0);
        if s.trans_a {
            // A stored k×m: each k step's MR values are contiguous in one stored row.
            for (p, d) in dst.chunks_exact_mut(MR).enumerate() {
                let src = &a[(p0 + p) * s.lda + r0..][..rows];
                if rows == MR {
                    // Fixed-size copy: vector moves instead of a memcpy call per MR floats.
                    let d: &mut [f32; MR] = d.try_into().expect("MR-long");
                    *d = *<&[f32; MR]>::try_from(src).expect("MR-long");
                } else {
                    d[..rows].copy_from_slice(src);
                    d[rows..].fill(0.0);
                }
            }
        } else if rows == MR {
            // A stored m×k: walk the MR stored rows side by side (MR sequential streams) so the writes
            // are contiguous. Slicing each row to exactly kc lets the compiler drop the bounds checks.
            let src: [&[f32]; MR] = std::array::from_fn(|r| &a[(r0 + r) * s.lda + p0..][..kc]);
            transpose_into(&src, kc, dst);
        } else {
            dst.fill(0.0);
            for r in 0..rows {
                let src = &a[(r0 + r) * s.lda + p0..][..kc];
                for (d, &x) in dst.chunks_exact_mut(MR).zip(src) {
                    d[r] = x;
                }
            }
        }
    }
}

/// Packs op(A)[i0..i0+mc, p0..p0+kc] into `out` as ceil(mc/MR) row-major panels of MR×KC:
/// `out[panel*MR*KC + r*KC + p] = op(A)[i0 + panel*MR + r][p0 + p]` for p < kc <= KC; rows past `mc`
/// are zero. For A stored m×k this is MR plain row copies per panel (no transpose at all).
// out: (ceil(mc/MR), MR, KC), only the first kc of each KC used
pub(crate) fn pack_a_rows<const MR: usize, const KC: usize>(s: &GemmShape, a: &[f32], i0: usize, mc: usize, p0: usize, kc: usize, out: &mut [f32]) {
    assert!(kc <= KC, "pack_a_rows: kc {kc} > KC {KC}");
    for (panel, dst) in out.chunks_exact_mut(MR * KC).take(mc.div_ceil(MR)).enumerate() {
        let r0 = i0 + panel * MR;
        let rows = MR.min(i0 + mc - r0);
        for (r, d) in dst.chunks_exact_mut(KC).enumerate() {
            let d = &mut d[..kc];
            if r >= rows {
                d.fill(0.0);
            } else if s.trans_a {
                d.iter_mut().enumerate().for_each(|(p, x)| *x = s.a_at(a, r0 + r, p0 + p));
            } else {
                d.copy_from_slice(&a[(r0 + r) * s.lda + p0..][..kc]);
            }
        }
    }
}

/// Packs op(B)[p0..p0+kc, j0..j0+nc] into `out` as ceil(nc/NR) panels of kc×NR:
/// `out[panel*kc*NR + p*NR + c] = op(B)[p0 + p][j0 + panel*NR + c]`, columns past `nc` are zero.
// out: (ceil(nc/NR), kc, NR)
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_b<const NR: usize>(s: &GemmShape, b: &[f32], p0: usize, kc: usize, j0: usize, nc: usize, out: &mut [f32]) {
    let panels = nc.div_ceil(NR);
    let out = &mut out[..panels * kc * NR];
    if !s.trans_b {
        // B stored k×n: walk each stored row once, left to right, dealing NR-wide pieces to the panels.
        // (Panel by panel would read B down its columns, a new page every row for wide B.)
        for p in 0..kc {
            let row = &b[(p0 + p) * s.ldb + j0..][..nc];
            let pieces = row.chunks_exact(NR);
            let rest = pieces.remainder();
            for (panel, piece) in pieces.enumerate() {
                // Fixed-size copy: two zmm moves instead of a memmove call.
                let d: &mut [f32; NR] = (&mut out[(panel * kc + p) * NR..][..NR]).try_into().expect("NR-long");
                d.copy_from_slice(piece);
            }
            if !rest.is_empty() {
                let d = &mut out[((panels - 1) * kc + p) * NR..][..NR];
                d[..rest.len()].copy_from_slice(rest);
                d[rest.len()..].fill(0.0);
            }
        }
        return;
    }
    // B stored n×k: each stored row is one column of op(B); NR of them side by side, transposed.
    for (panel, dst) in out.chunks_exact_mut(kc * NR).enumerate() {
        let j = j0 + panel * NR;
        let cols = NR.min(j0 + nc - j);
        if cols == NR {
            let src: [&[f32]; NR] = std::array::from_fn(|c| &b[(j + c) * s.ldb + p0..][..kc]);
            transpose_into(&src, kc, dst);
        } else {
            dst.fill(0.0);
            for col in 0..cols {
                let src = &b[(j + col) * s.ldb + p0..][..kc];
                for (d, &x) in dst.chunks_exact_mut(NR).zip(src) {
                    d[col] = x;
                }
            }
        }
    }
}

/// `dst[p*W + r] = src[r][p]` for p < kc, r < W: W rows of length kc, transposed into k-major order.
/// On x86-64 with W a multiple of 4 it moves 4×4 blocks through SSE registers (4 loads, 8 shuffles,
/// 4 stores per 16 floats, instead of 16 scalar loads and stores); otherwise one float at a time.
// src: W × (>= kc)   dst: (kc, W)
fn transpose_into<const W: usize>(src: &[&[f32]; W], kc: usize, dst: &mut [f32]) {
    assert!(dst.len() >= kc * W && src.iter().all(|row| row.len() >= kc), "transpose_into: short slices");
    #[cfg(target_arch = "x86_64")]
    let done = if W % 4 == 0 {
        // SAFETY: the assert above guarantees every row holds kc floats and dst holds kc·W; the loops
        // read src[r][p..p+4] with p + 4 <= kc and write dst[(p+q)·W + r..+4] with p + q < kc, r + 4 <= W.
        unsafe { transpose_4x4_blocks(src, kc, dst) };
        kc / 4 * 4
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for p in done..kc {
        for (r, row) in src.iter().enumerate() {
            dst[p * W + r] = row[p];
        }
    }
}

/// The SSE part of [`transpose_into`]: the first kc/4·4 k steps. SSE2 is baseline on x86-64.
///
/// # Safety
/// Every `src[r]` holds at least `kc` floats, `dst` at least `kc * W`, and `W % 4 == 0`.
#[cfg(target_arch = "x86_64")]
unsafe fn transpose_4x4_blocks<const W: usize>(src: &[&[f32]; W], kc: usize, dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let d = dst.as_mut_ptr();
    for p in (0..kc / 4 * 4).step_by(4) {
        for r in (0..W).step_by(4) {
            // SAFETY: see the function contract; indices stay within kc (rows) and kc·W (dst).
            unsafe {
                let x0 = _mm_loadu_ps(src[r].as_ptr().add(p));
                let x1 = _mm_loadu_ps(src[r + 1].as_ptr().add(p));
                let x2 = _mm_loadu_ps(src[r + 2].as_ptr().add(p));
                let x3 = _mm_loadu_ps(src[r + 3].as_ptr().add(p));
                let t0 = _mm_unpacklo_ps(x0, x1); // a0 b0 a1 b1
                let t1 = _mm_unpacklo_ps(x2, x3); // c0 d0 c1 d1
                let t2 = _mm_unpackhi_ps(x0, x1); // a2 b2 a3 b3
                let t3 = _mm_unpackhi_ps(x2, x3); // c2 d2 c3 d3
                _mm_storeu_ps(d.add(p * W + r), _mm_movelh_ps(t0, t1));
                _mm_storeu_ps(d.add((p + 1) * W + r), _mm_movehl_ps(t1, t0));
                _mm_storeu_ps(d.add((p + 2) * W + r), _mm_movelh_ps(t2, t3));
                _mm_storeu_ps(d.add((p + 3) * W + r), _mm_movehl_ps(t3, t2));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(trans_a: bool, trans_b: bool, m: usize, n: usize, k: usize, pad: usize) -> GemmShape {
        let (lda, ldb) = (if trans_a { m } else { k } + pad, if trans_b { k } else { n } + pad);
        GemmShape { trans_a, trans_b, m, n, k, lda, ldb, ldc: n }
    }

    /// Packed panels hold op(A) / op(B) at the documented positions and zeros past the edge, for both
    /// layouts, panel widths that do and do not take the SSE transpose, and k not a multiple of 4.
    #[test]
    fn packed_panels_match_their_definition() {
        for (ta, tb) in [(false, false), (true, true), (false, true), (true, false)] {
            let (m, n, k, pad) = (29, 45, 23, 3);
            let s = shape(ta, tb, m, n, k, pad);
            let a: Vec<f32> = (0..s.a_len()).map(|x| x as f32).collect();
            let b: Vec<f32> = (0..s.b_len()).map(|x| -(x as f32)).collect();
            let (i0, mc, p0, kc) = (3, 25, 2, 19);
            check_a::<12>(&s, &a, i0, mc, p0, kc);
            check_a::<6>(&s, &a, i0, mc, p0, kc);
            let kc_max = 24;
            let mut rows = vec![f32::NAN; mc.div_ceil(12) * 12 * kc_max];
            pack_a_rows::<12, 24>(&s, &a, i0, mc, p0, kc, &mut rows);
            for (idx, &x) in rows.iter().enumerate() {
                let (panel, r, p) = (idx / (12 * kc_max), idx / kc_max % 12, idx % kc_max);
                let row = panel * 12 + r;
                if p < kc {
                    let want = if row < mc { s.a_at(&a, i0 + row, p0 + p) } else { 0.0 };
                    assert_eq!(x, want, "rows layout ta={ta} panel={panel} r={r} p={p}");
                }
            }
            let (j, p0b, kcb) = (5, 1, 21);
            for nc in [32usize, 17, 40] {
                let panels = nc.div_ceil(32);
                let mut out = vec![f32::NAN; panels * kcb * 32];
                pack_b::<32>(&s, &b, p0b, kcb, j, nc, &mut out);
                for panel in 0..panels {
                    for p in 0..kcb {
                        for c in 0..32 {
                            let col = panel * 32 + c;
                            let want = if col < nc { s.b_at(&b, p0b + p, j + col) } else { 0.0 };
                            assert_eq!(out[(panel * kcb + p) * 32 + c], want, "tb={tb} nc={nc} panel={panel} p={p} c={c}");
                        }
                    }
                }
            }
        }
    }

    fn check_a<const MR: usize>(s: &GemmShape, a: &[f32], i0: usize, mc: usize, p0: usize, kc: usize) {
        let mut out = vec![f32::NAN; mc.div_ceil(MR) * kc * MR];
        pack_a::<MR>(s, a, i0, mc, p0, kc, &mut out);
        for panel in 0..mc.div_ceil(MR) {
            for p in 0..kc {
                for r in 0..MR {
                    let row = panel * MR + r;
                    let want = if row < mc { s.a_at(a, i0 + row, p0 + p) } else { 0.0 };
                    assert_eq!(out[(panel * kc + p) * MR + r], want, "MR={MR} ta={} panel={panel} p={p} r={r}", s.trans_a);
                }
            }
        }
    }
}
