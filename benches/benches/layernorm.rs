//! Criterion: LayerNorm forward and backward on a GPT-2-small activation (4096 tokens × 768) and a
//! GPT-2-XL-width one (1024 × 1600), reported as GB/s of memory traffic.
//!
//! ```sh
//! cargo bench -p benches --bench layernorm
//! ```
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const F: u64 = 4;

fn inputs(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 500.0 - 2.0).collect()
}

fn bench_layernorm(c: &mut Criterion) {
    let mut g = c.benchmark_group("layernorm");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for (rows, cols) in [(4096usize, 768usize), (1024, 1600)] {
        let n = rows * cols;
        let x = inputs(n, 1);
        let gamma = inputs(cols, 2);
        let beta = inputs(cols, 3);
        let dy = inputs(n, 4);
        let mut out = vec![0.0f32; n];
        let (mut mean, mut rstd) = (vec![0.0f32; rows], vec![0.0f32; rows]);
        let id = format!("{rows}x{cols}");
        // Read x, write out (the per-row stats and parameters are negligible).
        g.throughput(Throughput::Bytes(2 * F * n as u64));
        g.bench_function(BenchmarkId::new("forward", &id), |b| {
            b.iter(|| kernels::layernorm_forward(&x, Some(&gamma), Some(&beta), rows, cols, 1e-5, &mut out, &mut mean, &mut rstd).unwrap())
        });
        let mut dx = vec![0.0f32; n];
        let (mut dg, mut db) = (vec![0.0f32; cols], vec![0.0f32; cols]);
        // Read x, dy, dx; write dx.
        g.throughput(Throughput::Bytes(4 * F * n as u64));
        g.bench_function(BenchmarkId::new("backward", &id), |b| {
            b.iter(|| {
                kernels::layernorm_backward(&x, Some(&gamma), &mean, &rstd, &dy, rows, cols, &mut dx, Some(&mut dg), Some(&mut db)).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_layernorm);
criterion_main!(benches);
