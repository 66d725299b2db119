//! Reusable, 64-byte-aligned packing buffers, one pair per thread.
//!
//! Allocating a fresh multi-MiB buffer per call costs page faults that dwarf a small GEMM, so each thread
//! keeps its buffers. A buffer is *taken* out of its thread-local slot for the duration of a use and put
//! back afterwards: a nested GEMM on the same thread (rayon may run another job while this one waits in a
//! parallel loop) then finds the slot empty and allocates its own, instead of aliasing ours.

use std::cell::Cell;
use std::thread::LocalKey;

thread_local! {
    /// The packed A block (mc×kc) of the task this thread is running.
    pub(crate) static PACK_A: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    /// The packed B block (kc×nc) shared by the tasks of one GEMM, owned by the calling thread.
    pub(crate) static PACK_B: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// 64 bytes (one cache line, one zmm) in f32s: the most an aligned start can be offset by.
const ALIGN_F32: usize = 16;

/// Runs `f` on `len` f32s of the thread's buffer in `slot`, starting on a 64-byte boundary.
/// The contents on entry are whatever the last user left: callers overwrite everything they read.
pub(crate) fn with_buffer<R>(slot: &'static LocalKey<Cell<Vec<f32>>>, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = slot.take();
    if buf.len() < len + ALIGN_F32 {
        buf = vec![0.0; len + ALIGN_F32];
    }
    let off = buf.as_ptr().align_offset(64);
    let off = if off < ALIGN_F32 { off } else { 0 };
    let out = f(&mut buf[off..off + len]);
    slot.set(buf);
    out
}
