//! Process-wide allocator tuning for training loops.
//!
//! Every op returns a fresh tensor, so one training step allocates and frees the same activation-sized
//! buffers (hundreds of KiB to tens of MiB) over and over. glibc serves blocks above its mmap threshold
//! with a fresh `mmap` each time and hands freed heap tops back to the kernel past its trim threshold, so
//! each step pays page faults and kernel zeroing for memory it just freed. Raising both thresholds keeps
//! freed blocks in the heap for reuse (measured on char-tiny training, 2 threads: ~17.5k -> ~20.5k
//! tokens/s; peak RSS unchanged within noise).

/// Keeps freed memory in the process for reuse instead of returning it to the kernel: sets glibc's
/// mmap threshold to its maximum (32 MiB) and its trim threshold to 1 GiB. Call once at start-up, before
/// the work starts (a binary's `main`). Returns whether the settings were applied; it does nothing and
/// returns `false` where the C library is not glibc. It changes only speed and memory held, never results.
///
/// ```
/// let applied = engine::allocator::retain_freed_memory();
/// assert_eq!(applied, cfg!(all(target_os = "linux", target_env = "gnu")));
/// ```
pub fn retain_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // glibc's mallopt(3) parameters.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt only changes malloc's tuning parameters; it is thread-safe and returns 0 on a
        // rejected value (32 MiB is glibc's documented maximum mmap threshold on 64-bit).
        unsafe { mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
