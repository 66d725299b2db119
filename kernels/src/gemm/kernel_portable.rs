//! Portable microkernel: a 4×16 tile of C in eight `wide::f32x8` accumulators, for any target.
//!
//! `wide` lowers f32x8 to whatever the compile target has (two SSE registers on baseline x86-64, NEON on
//! aarch64), and `mul_add` to a fused FMA where the target enables it. 4×16 keeps 8 accumulators + 2 B +
//! 1 broadcast within 16 SSE/NEON-pair registers' worth of state.

use wide::f32x8;

use super::microkernel::MicroKernel;
use super::pack::{pack_a, pack_b_panel};

const MR: usize = 4;
const NR: usize = 16;

pub(crate) const SPEC: MicroKernel = MicroKernel {
    mr: MR, nr: NR, kc: 384, mc: 480, nc: 768, run: kernel_4x16,
    pack_a: pack_a::<MR>,
    pack_b: pack_b_panel::<NR>,
};

/// # Safety
/// See [`super::microkernel::MicroKernelFn`]; any CPU.
unsafe fn kernel_4x16(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32) {
    // SAFETY: the caller guarantees the packed panels hold kc·MR and kc·NR floats.
    let (a, b) = unsafe { (std::slice::from_raw_parts(a, kc * MR), std::slice::from_raw_parts(b, kc * NR)) };
    let mut acc = [[f32x8::ZERO; 2]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        let b0 = f32x8::from(<[f32; 8]>::try_from(&bp[..8]).unwrap_or_default());
        let b1 = f32x8::from(<[f32; 8]>::try_from(&bp[8..]).unwrap_or_default());
        for (row, &ai) in acc.iter_mut().zip(ap) {
            let av = f32x8::splat(ai);
            row[0] = av.mul_add(b0, row[0]);
            row[1] = av.mul_add(b1, row[1]);
        }
    }
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: row i of the C tile is NR writable (and, when beta != 0, readable) floats at c + i*ldc,
        // and nothing else touches them during the call.
        let ci = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), NR) };
        for (half, v) in ci.chunks_exact_mut(8).zip(row) {
            let r = v.to_array();
            for (out, &x) in half.iter_mut().zip(&r) {
                *out = if beta == 0.0 { alpha * x } else { alpha * x + beta * *out };
            }
        }
    }
}
