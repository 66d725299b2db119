//! Criterion: softmax, log-softmax and fused cross-entropy on GPT-2 logits (64 positions × 50304
//! vocab) and on attention scores (4096 rows × 1024 keys), reported as GB/s of memory traffic.
//!
//! ```sh
//! cargo bench -p benches --bench softmax
//! ```
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const F: u64 = 4;

fn inputs(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 200.0 - 5.0).collect()
}

fn bench_softmax(c: &mut Criterion) {
    let mut g = c.benchmark_group("softmax");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for (rows, cols) in [(64usize, 50304usize), (4096, 1024)] {
        let n = rows * cols;
        let x = inputs(n, 1);
        let dy = inputs(n, 2);
        let mut y = vec![0.0f32; n];
        let mut dx = vec![0.0f32; n];
        let id = format!("{rows}x{cols}");
        // Read x, write y.
        g.throughput(Throughput::Bytes(2 * F * n as u64));
        g.bench_function(BenchmarkId::new("softmax_rows", &id), |b| b.iter(|| kernels::softmax_rows(&x, rows, cols, &mut y).unwrap()));
        g.bench_function(BenchmarkId::new("log_softmax_rows", &id), |b| {
            b.iter(|| kernels::log_softmax_rows(&x, rows, cols, &mut y).unwrap())
        });
        kernels::softmax_rows(&x, rows, cols, &mut y).unwrap();
        // Read y, dy, dx; write dx.
        g.throughput(Throughput::Bytes(4 * F * n as u64));
        g.bench_function(BenchmarkId::new("softmax_rows_backward", &id), |b| {
            b.iter(|| kernels::softmax_rows_backward(&y, &dy, rows, cols, &mut dx).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("cross_entropy");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    let (rows, cols) = (64usize, 50304usize);
    let n = rows * cols;
    let logits = inputs(n, 3);
    let targets: Vec<i64> = (0..rows as i64).map(|r| (r * 7919) % cols as i64).collect();
    let (mut loss, mut lse) = (vec![0.0f32; rows], vec![0.0f32; rows]);
    let dloss = vec![1.0 / rows as f32; rows];
    let mut dlogits = vec![0.0f32; n];
    let id = format!("{rows}x{cols}");
    // Forward reads the logits; backward reads logits and dlogits and writes dlogits.
    g.throughput(Throughput::Bytes(F * n as u64));
    g.bench_function(BenchmarkId::new("forward", &id), |b| {
        b.iter(|| kernels::cross_entropy_forward(&logits, rows, cols, &targets, -100, &mut loss, &mut lse).unwrap())
    });
    g.throughput(Throughput::Bytes(3 * F * n as u64));
    g.bench_function(BenchmarkId::new("backward", &id), |b| {
        b.iter(|| kernels::cross_entropy_backward(&logits, rows, cols, &targets, -100, &lse, &dloss, &mut dlogits).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_softmax);
criterion_main!(benches);
