//! `gemm`: times our SGEMM against the `matrixmultiply` crate's on one shape, with the same thread count,
//! checks that the two agree, and prints a JSON summary as the last line.
//!
//! ```sh
//! cargo run --release -p benches --bin gemm -- --m 1024 --n 1024 --k 1024 --threads 2
//! cargo run --release -p benches --bin gemm -- --peak --threads 2    # empirical FP32 FMA peak
//! ```

use std::time::Instant;

use benches::median_seconds;
use clap::Parser;
use kernels::gemm::{sgemm_with_kernel, KernelKind};

#[derive(Parser, Debug)]
#[command(about = "SGEMM: ours vs matrixmultiply, GFLOP/s")]
struct Args {
    #[arg(long, default_value_t = 1024)]
    m: usize,
    #[arg(long, default_value_t = 1024)]
    n: usize,
    #[arg(long, default_value_t = 1024)]
    k: usize,
    /// Threads for both implementations (ours: a rayon pool of this size, timed inside `install`;
    /// matrixmultiply: MATMUL_NUM_THREADS).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// op(A) = A^T (A stored k×m).
    #[arg(long)]
    ta: bool,
    /// op(B) = B^T (B stored n×k).
    #[arg(long)]
    tb: bool,
    /// Force our microkernel: avx512, avx2 or portable (default: the best this CPU supports).
    #[arg(long)]
    kernel: Option<String>,
    /// Untimed runs before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed runs (median reported); 0 picks enough for about a second per implementation.
    #[arg(long, default_value_t = 0)]
    reps: usize,
    /// Measure the FP32 FMA peak instead (AVX-512 loop with independent accumulators).
    #[arg(long)]
    peak: bool,
}

/// A tiny seeded xorshift so runs are repeatable without a rand dependency.
fn fill_uniform(seed: u64, v: &mut [f32]) {
    let mut x = seed.max(1);
    for e in v {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *e = ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
    }
}

fn main() {
    let args = Args::parse();
    let threads = args.threads.max(1);
    // matrixmultiply reads MATMUL_NUM_THREADS once, on its first call: set it before anything runs it.
    std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    if args.peak {
        peak::run(threads);
        return;
    }
    let kind = match args.kernel.as_deref() {
        None => KernelKind::best(),
        Some("avx512") => KernelKind::Avx512,
        Some("avx2") => KernelKind::Avx2,
        Some("portable") => KernelKind::Portable,
        Some(other) => {
            eprintln!("unknown --kernel {other}: use avx512, avx2 or portable");
            std::process::exit(2);
        }
    };
    let (m, n, k) = (args.m, args.n, args.k);
    let lda = if args.ta { m } else { k };
    let ldb = if args.tb { k } else { n };
    let mut a = vec![0.0f32; m * k];
    let mut b = vec![0.0f32; k * n];
    fill_uniform(1, &mut a);
    fill_uniform(2, &mut b);
    let mut c_ours = vec![0.0f32; m * n];
    let mut c_peer = vec![0.0f32; m * n];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool");

    // The whole timing loop runs inside the pool (below), so each call starts on a pool thread the way
    // matrixmultiply's starts on the caller: no hand-off to a sleeping thread is timed per call.
    let mut ours = || {
        sgemm_with_kernel(kind, args.ta, args.tb, m, n, k, 1.0, &a, lda, &b, ldb, 0.0, &mut c_ours, n).expect("sgemm");
    };
    // matrixmultiply takes row and column strides, so a transpose is a stride swap.
    let (rsa, csa) = if args.ta { (1, lda as isize) } else { (lda as isize, 1) };
    let (rsb, csb) = if args.tb { (1, ldb as isize) } else { (ldb as isize, 1) };
    let mut peer = || unsafe {
        // SAFETY: a is m×k, b is k×n and c is m×n under the given strides; the buffers are that large.
        matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, 0.0, c_peer.as_mut_ptr(), n as isize, 1);
    };

    let flops = 2.0 * m as f64 * n as f64 * k as f64;
    let reps_for = |f: &mut dyn FnMut()| {
        if args.reps > 0 {
            return args.reps;
        }
        let t = Instant::now();
        f();
        (1.0 / t.elapsed().as_secs_f64().max(1e-7)).clamp(5.0, 2000.0) as usize
    };
    let (reps, t_ours) = pool.install(|| {
        let reps = reps_for(&mut ours);
        (reps, median_seconds(args.warmup, reps, &mut ours))
    });
    let reps_peer = reps_for(&mut peer);
    let t_peer = median_seconds(args.warmup, reps_peer, &mut peer);

    // Both are within k·eps·Σ|a||b| <= k·eps·k (|a|,|b| <= 1) of the exact product, so they may differ by
    // twice that; report the worst difference either way.
    let max_diff = c_ours.iter().zip(&c_peer).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let tol = 2.0 * k as f32 * f32::EPSILON * k as f32;
    let gflops = flops / t_ours / 1e9;
    let peer_gflops = flops / t_peer / 1e9;
    eprintln!(
        "kernel {kind:?}, ta={} tb={}: ours {:.3} ms ({reps} reps), matrixmultiply {:.3} ms ({reps_peer} reps); max |diff| {max_diff:.3e} (tol {tol:.3e})",
        args.ta,
        args.tb,
        t_ours * 1e3,
        t_peer * 1e3
    );
    if !(max_diff <= tol) {
        eprintln!("RESULTS DISAGREE: max |diff| {max_diff} > {tol}");
        std::process::exit(1);
    }
    // Written by hand so the keys come out in this order (serde_json's map would sort them).
    println!(
        "{{\"m\":{m},\"n\":{n},\"k\":{k},\"threads\":{threads},\"gflops\":{},\"peer\":\"matrixmultiply\",\"peer_gflops\":{},\"ratio\":{}}}",
        round2(gflops),
        round2(peer_gflops),
        round2(gflops / peer_gflops)
    );
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

mod peak {
    //! Empirical FP32 peak: each thread runs a long chain of FMAs over many independent zmm accumulators
    //! (more than latency × ports, so the FMA ports never wait), and we divide the FLOPs by the wall time.
    use std::time::Instant;

    const ACCS: usize = 24;
    const ITERS: u64 = 20_000_000;

    pub fn run(threads: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // One core alone, then all threads at once; best of 5 each, so a time slice lost to another
            // process does not count against the machine.
            let best = |t: usize| (0..5).map(|_| measure(t)).fold(f64::MAX, f64::min);
            let one = best(1);
            let all = best(threads);
            let flops_per_iter = (ACCS * 16 * 2) as f64;
            eprintln!(
                "peak: {ACCS} independent zmm FMA chains × {ITERS} iterations per thread; FLOPs = threads × iters × {ACCS} × 16 lanes × 2; \
                 best of 5: 1 thread {:.3} s, {threads} threads {:.3} s",
                one, all
            );
            let per_core = ITERS as f64 * flops_per_iter / one / 1e9;
            let total = threads as f64 * ITERS as f64 * flops_per_iter / all / 1e9;
            println!(
                "{{\"method\":\"avx512 fma loop\",\"threads\":{threads},\"peak_gflops_per_core\":{},\"peak_gflops\":{}}}",
                super::round2(per_core),
                super::round2(total)
            );
            return;
        }
        eprintln!("peak mode needs AVX-512F");
        std::process::exit(2);
    }

    /// Seconds for `threads` threads to each run the FMA loop (started together, longest one counts).
    fn measure(threads: usize) -> f64 {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    // SAFETY: only called after avx512f was detected.
                    let r = unsafe { fma_loop(ITERS) };
                    std::hint::black_box(r);
                });
            }
        });
        start.elapsed().as_secs_f64()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn fma_loop(iters: u64) -> f32 {
        use std::arch::x86_64::*;
        let mut acc = [_mm512_set1_ps(0.0); ACCS];
        for (i, a) in acc.iter_mut().enumerate() {
            *a = _mm512_set1_ps(i as f32 * 1e-3);
        }
        let x = _mm512_set1_ps(std::hint::black_box(0.999_999));
        let y = _mm512_set1_ps(std::hint::black_box(1e-7));
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        let mut s = _mm512_setzero_ps();
        for a in acc {
            s = _mm512_add_ps(s, a);
        }
        _mm512_reduce_add_ps(s)
    }
}
