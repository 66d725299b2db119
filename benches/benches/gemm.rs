//! Criterion: our SGEMM and matrixmultiply's on a few shapes, reported as GFLOP/s (2·m·n·k per call).
//! Threads: ours runs in a 2-thread rayon pool and matrixmultiply reads MATMUL_NUM_THREADS (set to 2
//! here before its first call), matching `gemm --threads 2`.
//!
//! ```sh
//! cargo bench -p benches --bench gemm
//! ```

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const THREADS: usize = 2;
/// (m, n, k): two squares and two training shapes (attention/MLP projections at batch·seq = 768, 2048).
const SHAPES: [(usize, usize, usize); 4] = [(512, 512, 512), (1024, 1024, 1024), (768, 128, 512), (2048, 1536, 384)];

fn inputs(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0).collect()
}

fn bench_sgemm(c: &mut Criterion) {
    std::env::set_var("MATMUL_NUM_THREADS", THREADS.to_string());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(THREADS).build().expect("rayon pool");
    let mut group = c.benchmark_group("sgemm");
    group.sample_size(20);
    for (m, n, k) in SHAPES {
        let a = inputs(m * k, 1);
        let b = inputs(k * n, 2);
        let mut out = vec![0.0f32; m * n];
        let id = format!("{m}x{n}x{k}");
        // Elements = FLOPs, so criterion's "elem/s" reads as FLOP/s.
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        // Each sample's loop runs inside the pool, as matrixmultiply's runs on the caller: a hand-off to a
        // sleeping pool thread per call would be timed otherwise.
        group.bench_function(BenchmarkId::new("ours", &id), |bench| {
            bench.iter_custom(|iters| {
                pool.install(|| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        kernels::sgemm(false, false, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut out, n).unwrap();
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function(BenchmarkId::new("matrixmultiply", &id), |bench| {
            bench.iter(|| unsafe {
                // SAFETY: a is m×k, b is k×n, out is m×n, all row-major and that long.
                matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.0, out.as_mut_ptr(), n as isize, 1)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sgemm);
criterion_main!(benches);
