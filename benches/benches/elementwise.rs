//! Criterion: element-wise, strided-copy, reduction and optimizer kernels on a GPT-2-small activation
//! (4096 tokens × 768), reported as GB/s of memory traffic (bytes read + written per call; these
//! kernels are memory-bound, so GB/s against the machine's bandwidth is the figure of merit).
//!
//! ```sh
//! cargo bench -p benches --bench elementwise
//! ```
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernels::{BinaryOp, UnaryOp};

const ROWS: usize = 4096;
const COLS: usize = 768;
const F: u64 = 4; // bytes per f32

fn inputs(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 500.0 - 2.0).collect()
}

fn bench_elementwise(c: &mut Criterion) {
    let n = ROWS * COLS;
    let a = inputs(n, 1);
    let b = inputs(n, 2);
    let bias = inputs(COLS, 3);
    let mut out = vec![0.0f32; n];
    let mut g = c.benchmark_group("elementwise_4096x768");
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));

    g.throughput(Throughput::Bytes(3 * F * n as u64));
    g.bench_function("add", |bch| bch.iter(|| kernels::binary_contiguous(BinaryOp::Add, &a, &b, &mut out).unwrap()));
    g.throughput(Throughput::Bytes(2 * F * n as u64));
    g.bench_function("bias_add_broadcast", |bch| {
        bch.iter(|| kernels::binary_strided(BinaryOp::Add, &[ROWS, COLS], &a, 0, &[COLS, 1], &bias, 0, &[0, 1], &mut out).unwrap())
    });
    for op in [UnaryOp::Exp, UnaryOp::Gelu, UnaryOp::GeluErf, UnaryOp::Tanh] {
        g.bench_function(format!("{op:?}").to_lowercase(), |bch| bch.iter(|| kernels::unary_contiguous(op, &a, &mut out).unwrap()));
    }
    g.throughput(Throughput::Bytes(4 * F * n as u64));
    g.bench_function("gelu_backward", |bch| bch.iter(|| kernels::gelu_backward(&a, &b, &mut out).unwrap()));
    g.throughput(Throughput::Bytes(3 * F * n as u64));
    g.bench_function("axpy", |bch| bch.iter(|| kernels::axpy(0.5, &a, &mut out).unwrap()));
    g.throughput(Throughput::Bytes(2 * F * n as u64));
    g.bench_function("copy_strided_transpose", |bch| {
        bch.iter(|| kernels::copy_strided(&[COLS, ROWS], &a, 0, &[1, COLS], &mut out).unwrap())
    });
    g.throughput(Throughput::Bytes(F * n as u64));
    let mut col_sums = vec![0.0f32; COLS];
    g.bench_function("sum_cols", |bch| bch.iter(|| kernels::sum_cols(&a, ROWS, COLS, &mut col_sums).unwrap()));
    let mut row_sums = vec![0.0f32; ROWS];
    g.bench_function("sum_rows", |bch| bch.iter(|| kernels::sum_rows(&a, ROWS, COLS, &mut row_sums).unwrap()));
    // AdamW reads p, g, m, v and writes p, m, v.
    let mut p = a.clone();
    let mut m = vec![0.0f32; n];
    let mut v = vec![0.0f32; n];
    let cfg = kernels::AdamWConfig::default();
    g.throughput(Throughput::Bytes(7 * F * n as u64));
    g.bench_function("adamw_step", |bch| bch.iter(|| kernels::adamw_step(&mut p, &b, &mut m, &mut v, &cfg, 10).unwrap()));
    // bf16 conversions: 4 + 2 bytes per element.
    // bf16 comes from the `half` crate via kernels' signature (benches does not name `half` itself).
    let mut h = vec![Default::default(); n];
    g.throughput(Throughput::Bytes(6 * n as u64));
    g.bench_function("f32_to_bf16", |bch| bch.iter(|| kernels::f32_to_bf16(&a, &mut h).unwrap()));
    g.bench_function("bf16_to_f32", |bch| bch.iter(|| kernels::bf16_to_f32(&h, &mut out).unwrap()));
    g.finish();
}

criterion_group!(benches, bench_elementwise);
criterion_main!(benches);
