//! The Goto/BLIS blocked driver: splits C among threads, loops over cache blocks, packs, and calls the
//! microkernel on tiles.
//!
//! Per thread, over its own rectangle of C (m×n) += op(A) (m×k) · op(B) (k×n), outermost first:
//!   jc over n in equal steps of at most nc — the packed B block (kc×nc) is sized for this core's L2
//!   pc over k in steps of kc                — beta applies on the first k block only, later ones add
//!     pack B block (kc×nc)
//!     ic over m in steps of mc              — bounds the packed A buffer
//!       pack A block (mc×kc)
//!       ir over MR panels of the A block    — the kc×MR A micro-panel stays in L1 ...
//!         jr over NR panels of the B block  — ... while the B micro-panels stream in from L2
//!           microkernel on the MR×NR tile of C
//! This is BLIS's loop order with the roles of A and B swapped, because our microkernels broadcast A
//! (few values per k step) and load B as vectors (many): the panel read least per step is the one kept
//! in L1, and the one read most comes from the larger, faster-to-stream L2.
//! Threads get one rectangle each and never synchronise until the end (see `split_regions`).

use rayon::prelude::*;

use super::buffer::{with_buffer, PACK_A, PACK_B};
use super::microkernel::{MicroKernel, MicroKernelFn, PackAFn, MAX_TILE};
use super::shape::GemmShape;

/// C's base pointer, shared by the threads, each writing only its own region of C.
#[derive(Clone, Copy)]
struct CPtr(*mut f32);
// SAFETY: the regions from `split_regions` are disjoint rectangles of C (a unit test checks that they
// cover every element exactly once), each thread writes only inside its region, and the `&mut [f32]`
// the pointer came from stays borrowed until all threads have finished.
unsafe impl Send for CPtr {}
unsafe impl Sync for CPtr {}

/// A rectangle of C: rows `i0..i0+rows`, columns `j0..j0+cols`.
#[derive(Clone, Copy, Debug)]
struct Region {
    i0: usize,
    rows: usize,
    j0: usize,
    cols: usize,
}

/// C = alpha·op(A)·op(B) + beta·C with the blocked algorithm on `threads` threads of the current pool.
/// The shape must be checked (slices long enough) and have m, n, k > 0.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_blocked(
    mk: &MicroKernel,
    s: &GemmShape,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
    threads: usize,
) {
    debug_assert!(s.m > 0 && s.n > 0 && s.k > 0 && c.len() >= s.c_len());
    // SAFETY: `c` is a live, initialised slice of at least c_len() floats, borrowed for the whole call.
    unsafe { gemm_blocked_raw(mk, s, alpha, a, b, beta, c.as_mut_ptr(), threads) }
}

/// [`gemm_blocked`] on a raw C. With beta = 0 no element of C is read before this call has written it
/// (full tiles are written by the microkernel, which reads C only when beta != 0; edge tiles are copied
/// in; later k blocks add to what the first one wrote), so C may be uninitialised memory.
///
/// # Safety
/// `c` must be valid for writes of `s.c_len()` floats that nothing else accesses during the call, and,
/// when `beta != 0`, initialised. The shape must be checked (A and B long enough) with m, n, k > 0.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_blocked_raw(
    mk: &MicroKernel,
    s: &GemmShape,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: *mut f32,
    threads: usize,
) {
    debug_assert!(s.m > 0 && s.n > 0 && s.k > 0);
    let c_ptr = CPtr(c);
    let regions = split_regions(s.m, s.n, mk.mr, mk.nr, threads);
    let run = |r: Region| gemm_region(mk, s, r, alpha, a, b, beta, c_ptr);
    if regions.len() > 1 {
        regions.into_par_iter().for_each(run);
    } else {
        regions.into_iter().for_each(run);
    }
}

/// Cuts C into rectangles for the threads: row chunks (multiples of MR) when m >= n and m has enough MR
/// panels, column chunks (multiples of NR) when n > m, and the other side as well when one is too short. Each region runs the whole blocked loop on its own, so
/// threads never wait for each other; the price is that each packs its own copy of the op(B) columns it
/// needs, which is k·n per region against m·n·k/regions multiply-adds.
fn split_regions(m: usize, n: usize, mr: usize, nr: usize, threads: usize) -> Vec<Region> {
    let (m_panels, n_panels) = (m.div_ceil(mr), n.div_ceil(nr));
    // One region per thread: equal shares. Each region packs the op(A) rows and op(B) columns it
    // touches, so cutting rows costs every thread all of B (k·n) and cutting columns all of A (m·k):
    // cut the longer side. (Weight gradients X^T·dY have small m, large k and n ≥ m.)
    let want = threads.max(1);
    let (m_chunks, n_chunks) = if n > m {
        let n_chunks = want.min(n_panels).max(1);
        (want.div_ceil(n_chunks).min(m_panels).max(1), n_chunks)
    } else {
        let m_chunks = want.min(m_panels).max(1);
        (m_chunks, want.div_ceil(m_chunks).min(n_panels).max(1))
    };
    let rows_per = m_panels.div_ceil(m_chunks) * mr;
    let cols_per = n_panels.div_ceil(n_chunks) * nr;
    let mut regions = Vec::with_capacity(m_chunks * n_chunks);
    for i0 in (0..m).step_by(rows_per) {
        for j0 in (0..n).step_by(cols_per) {
            regions.push(Region { i0, rows: rows_per.min(m - i0), j0, cols: cols_per.min(n - j0) });
        }
    }
    regions
}

/// The sequential blocked loop over one region of C.
#[allow(clippy::too_many_arguments)]
fn gemm_region(mk: &MicroKernel, s: &GemmShape, r: Region, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: CPtr) {
    let (mr, nr) = (mk.mr, mk.nr);
    // Equal B blocks of at most mk.nc columns (multiples of NR), so no block is a thin leftover.
    let nc_step = r.cols.div_ceil(r.cols.div_ceil(mk.nc)).div_ceil(nr) * nr;
    for jc in (r.j0..r.j0 + r.cols).step_by(nc_step) {
        let nc = nc_step.min(r.j0 + r.cols - jc);
        let n_panels = nc.div_ceil(nr);
        for pc in (0..s.k).step_by(mk.kc) {
            let kc = mk.kc.min(s.k - pc);
            let beta_block = if pc == 0 { beta } else { 1.0 };
            let a_layout = ALayout::choose(mk, s, kc);
            with_buffer(&PACK_B, n_panels * kc * nr, |packed_b| {
                // packed_b: (n_panels, kc, nr)
                (mk.pack_b)(s, b, pc, kc, jc, nc, packed_b);
                for ic in (r.i0..r.i0 + r.rows).step_by(mk.mc) {
                    let mc = mk.mc.min(r.i0 + r.rows - ic);
                    with_buffer(&PACK_A, mc.div_ceil(mr) * a_layout.panel_len, |packed_a| {
                        // packed_a: (ceil(mc/mr), kc, mr) k-major, or (ceil(mc/mr), mr, mk.kc) row-major
                        (a_layout.pack)(s, a, ic, mc, pc, kc, packed_a);
                        let block = Region { i0: ic, rows: mc, j0: jc, cols: nc };
                        macro_kernel(mk, &a_layout, s, block, kc, alpha, beta_block, packed_a, packed_b, c);
                    });
                }
            });
        }
    }
}

/// How A is packed for one k block, and the kernel entry that reads that layout.
struct ALayout {
    pack: PackAFn,
    run: MicroKernelFn,
    /// Floats per packed panel (the stride between panels).
    panel_len: usize,
    /// Floats the kernel reads from one panel: the bound checked before each call.
    panel_need: usize,
}

impl ALayout {
    /// The layout whose packing is plain row copies: row-major panels when A is stored m×k, k-major
    /// panels when it is stored k×m (transposed).
    fn choose(mk: &MicroKernel, s: &GemmShape, kc: usize) -> ALayout {
        let mr = mk.mr;
        if s.trans_a {
            ALayout { pack: mk.pack_a, run: mk.run, panel_len: kc * mr, panel_need: kc * mr }
        } else {
            ALayout { pack: mk.pack_a_rows, run: mk.run_rows, panel_len: mk.kc * mr, panel_need: (mr - 1) * mk.kc + kc }
        }
    }
}

/// Runs the microkernel over every MR×NR tile of one block `t` of C, against packed A (its rows) and
/// packed B (its columns).
// packed_a: (ceil(t.rows/mr), kc, mr)   packed_b: (ceil(t.cols/nr), kc, nr)
#[allow(clippy::too_many_arguments)]
fn macro_kernel(
    mk: &MicroKernel,
    al: &ALayout,
    s: &GemmShape,
    t: Region,
    kc: usize,
    alpha: f32,
    beta: f32,
    packed_a: &[f32],
    packed_b: &[f32],
    c: CPtr,
) {
    let (mr, nr) = (mk.mr, mk.nr);
    let n_panels = t.cols.div_ceil(nr);
    let a_panels = packed_a.chunks_exact(al.panel_len).take(t.rows.div_ceil(mr));
    let tile_at = |ip: usize, a_panel: &[f32], jp: usize| {
        let (i, j) = (t.i0 + ip * mr, t.j0 + jp * nr);
        let tile = Region { i0: i, rows: mr.min(t.i0 + t.rows - i), j0: j, cols: nr.min(t.j0 + t.cols - j) };
        run_tile(mk, al, s, tile, kc, alpha, beta, a_panel, &packed_b[jp * kc * nr..][..kc * nr], c);
    };
    // A micro-panel outer: it stays in L1 while the whole packed B block (sized for L2) streams past.
    for (ip, a_panel) in a_panels.enumerate() {
        for jp in 0..n_panels {
            tile_at(ip, a_panel, jp);
        }
    }
}

/// One MR×NR tile `t` of C (possibly cut short at the edges of C) from one A and one B micro-panel.
#[allow(clippy::too_many_arguments)]
#[inline]
fn run_tile(
    mk: &MicroKernel,
    al: &ALayout,
    s: &GemmShape,
    t: Region,
    kc: usize,
    alpha: f32,
    beta: f32,
    a_panel: &[f32],
    b_panel: &[f32],
    c: CPtr,
) {
    let (mr, nr) = (mk.mr, mk.nr);
    assert!(kc <= mk.kc && a_panel.len() >= al.panel_need && b_panel.len() >= kc * nr);
    // SAFETY (both kernel calls): the panels hold what the kernel reads (asserted); `mk` is only built
    // for a kernel the CPU supports (gemm_checked checks is_supported). A full tile has t.i0+mr <= m and
    // t.j0+nr <= n, so its rows lie inside C (len >= (m-1)·ldc + n, checked by the caller) and inside
    // this thread's region, which no other thread touches. An edge tile goes to a local scratch tile.
    if t.rows == mr && t.cols == nr {
        unsafe { (al.run)(kc, a_panel.as_ptr(), b_panel.as_ptr(), c.0.add(t.i0 * s.ldc + t.j0), s.ldc, alpha, beta) };
        return;
    }
    let mut scratch = [0.0f32; MAX_TILE];
    unsafe { (al.run)(kc, a_panel.as_ptr(), b_panel.as_ptr(), scratch.as_mut_ptr(), nr, alpha, 0.0) };
    for r in 0..t.rows {
        let s_row = &scratch[r * nr..][..t.cols];
        // SAFETY: row t.i0+r < m and columns t.j0..t.j0+t.cols <= n are inside C and this thread's region.
        // With beta = 0, C may be uninitialised (gemm_blocked_raw): it is only written, through the pointer.
        let c_row = unsafe { c.0.add((t.i0 + r) * s.ldc + t.j0) };
        if beta == 0.0 {
            unsafe { std::ptr::copy_nonoverlapping(s_row.as_ptr(), c_row, t.cols) };
        } else {
            let c_row = unsafe { std::slice::from_raw_parts_mut(c_row, t.cols) };
            c_row.iter_mut().zip(s_row).for_each(|(x, &v)| *x = v + beta * *x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element of C belongs to exactly one region, regions start on tile boundaries, and there are
    /// enough regions to give each thread one whenever C has that many tiles.
    #[test]
    fn regions_tile_c_exactly_once() {
        for (m, n) in [(1, 1), (7, 700), (12, 32), (13, 33), (768, 128), (2048, 384), (5, 31), (1000, 1000)] {
            for threads in 1..=5 {
                let (mr, nr) = (12, 32);
                let regions = split_regions(m, n, mr, nr, threads);
                let mut owner = vec![0u8; m * n];
                for r in &regions {
                    assert!(r.i0 % mr == 0 && r.j0 % nr == 0, "{r:?} is not tile-aligned");
                    for i in r.i0..r.i0 + r.rows {
                        for j in r.j0..r.j0 + r.cols {
                            owner[i * n + j] += 1;
                        }
                    }
                }
                assert!(owner.iter().all(|&o| o == 1), "m={m} n={n} threads={threads}: {regions:?}");
                let tiles = m.div_ceil(mr) * n.div_ceil(nr);
                assert!(regions.len() >= threads.min(tiles), "m={m} n={n} threads={threads}: {regions:?}");
            }
        }
    }
}
