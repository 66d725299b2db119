//! GPU throughput of the ops kernels on training-sized inputs, printed as GB/s of compulsory memory traffic
//! (each input read once, each output written once) and, for attention, GFLOP/s. Every result is also
//! checked for being finite, so a kernel that faults or produces garbage at scale fails here. No speed
//! threshold is asserted: the figures are for reading next to the card's peak (H200: ~4.8 TB/s HBM3e).
//! Prints "skipping: <reason>" and passes without a GPU.
#![cfg(feature = "cuda")]

mod cuda_ops_common;

use std::time::Instant;

use cuda_ops_common::device;
use kernels::cuda::ops::launch::Launch;
use kernels::cuda::ops::{adamw, attention, cross_entropy, elementwise, layernorm, softmax};
use kernels::cuda::{CudaDevice, DeviceBuffer};
use kernels::{BinaryOp, UnaryOp};

/// Cheap deterministic values in [-0.5, 0.5) (a multiplicative hash; generating 10^8 values with a real
/// generator would take longer than the measurement).
fn pattern(n: usize, salt: usize) -> Vec<f32> {
    (0..n).map(|i| ((i.wrapping_add(salt).wrapping_mul(2_654_435_761) >> 8) % 1000) as f32 / 1000.0 - 0.5).collect()
}

/// Seconds per call of `f`: 3 warm-up calls, then the mean of `reps`, with the stream drained around them.
fn time(dev: &CudaDevice, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    dev.synchronize().unwrap();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    dev.synchronize().unwrap();
    t.elapsed().as_secs_f64() / reps as f64
}

fn report(what: &str, bytes: f64, secs: f64) {
    println!("{what:<52} {:>9.1} us {:>8.0} GB/s", secs * 1e6, bytes / secs / 1e9);
}

fn assert_finite(dev: &CudaDevice, what: &str, b: &DeviceBuffer<f32>) {
    let v = dev.dtoh(b).unwrap();
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        panic!("{what}: element {i} of {} is {}", v.len(), v[i]);
    }
}

#[test]
fn ops_throughput_at_training_sizes() {
    let Some(dev) = device() else { return };
    println!("device: {}", dev.name().unwrap_or_default());
    let f = 4.0; // bytes per f32

    let n = 1 << 26; // 64 Mi floats
    let (x, y) = (dev.htod(&pattern(n, 1)).unwrap(), dev.htod(&pattern(n, 2)).unwrap());
    let mut out = dev.alloc_zeros::<f32>(n).unwrap();
    let s = time(&dev, 20, || elementwise::unary_contiguous(&dev, UnaryOp::Gelu, &x, &mut out, Launch::AUTO).unwrap());
    report("gelu 64M", 2.0 * f * n as f64, s);
    let s =
        time(&dev, 20, || elementwise::binary_contiguous(&dev, BinaryOp::Add, &x, &y, &mut out, Launch::AUTO).unwrap());
    report("add 64M", 3.0 * f * n as f64, s);
    let (rows, cols) = (8192usize, 8192usize);
    let s = time(&dev, 20, || {
        elementwise::binary_strided(
            &dev,
            BinaryOp::Add,
            &[rows, cols],
            &x,
            0,
            &[cols, 1],
            &y,
            0,
            &[0, 1],
            &mut out,
            Launch::AUTO,
        )
        .unwrap()
    });
    report("add row bias, strided 8192x8192", 2.0 * f * n as f64, s);
    let s = time(&dev, 20, || elementwise::gelu_backward(&dev, &x, &y, &mut out, Launch::AUTO).unwrap());
    report("gelu backward (+=) 64M", 4.0 * f * n as f64, s);
    assert_finite(&dev, "elementwise", &out);
    drop((x, y, out));

    // Softmax and cross-entropy over a GPT-2 vocabulary.
    let (rows, cols) = (4096usize, 50_304usize);
    let logits = dev.htod(&pattern(rows * cols, 3)).unwrap();
    let mut probs = dev.alloc_zeros::<f32>(rows * cols).unwrap();
    let s = time(&dev, 10, || softmax::softmax_rows(&dev, &logits, rows, cols, &mut probs, Launch::AUTO).unwrap());
    report("softmax 4096x50304", 2.0 * f * (rows * cols) as f64, s);
    assert_finite(&dev, "softmax", &probs);
    let targets = dev.htod(&(0..rows as i64).map(|r| (r * 7919) % cols as i64).collect::<Vec<_>>()).unwrap();
    let (mut loss, mut lse) = (dev.alloc_zeros::<f32>(rows).unwrap(), dev.alloc_zeros::<f32>(rows).unwrap());
    let s = time(&dev, 10, || {
        cross_entropy::cross_entropy_forward(
            &dev,
            &logits,
            rows,
            cols,
            &targets,
            -100,
            &mut loss,
            &mut lse,
            Launch::AUTO,
        )
        .unwrap()
    });
    report("cross-entropy forward 4096x50304", f * (rows * cols) as f64, s);
    let dloss = dev.htod(&vec![1.0f32 / rows as f32; rows]).unwrap();
    let s = time(&dev, 10, || {
        cross_entropy::cross_entropy_backward(
            &dev,
            &logits,
            rows,
            cols,
            &targets,
            -100,
            &lse,
            &dloss,
            &mut probs,
            Launch::AUTO,
        )
        .unwrap()
    });
    report("cross-entropy backward (+=) 4096x50304", 3.0 * f * (rows * cols) as f64, s);
    assert_finite(&dev, "cross-entropy loss", &loss);
    drop((logits, probs));

    // LayerNorm at GPT-2 small width.
    let (rows, cols) = (16_384usize, 768usize);
    let x = dev.htod(&pattern(rows * cols, 4)).unwrap();
    let (g, b) = (dev.htod(&vec![1.0f32; cols]).unwrap(), dev.htod(&vec![0.0f32; cols]).unwrap());
    let mut o = dev.alloc_zeros::<f32>(rows * cols).unwrap();
    let (mut mean, mut rstd) = (dev.alloc_zeros::<f32>(rows).unwrap(), dev.alloc_zeros::<f32>(rows).unwrap());
    let s = time(&dev, 20, || {
        layernorm::layernorm_forward(
            &dev,
            &x,
            Some(&g),
            Some(&b),
            rows,
            cols,
            1e-5,
            &mut o,
            &mut mean,
            &mut rstd,
            Launch::AUTO,
        )
        .unwrap()
    });
    report("layernorm forward 16384x768", 2.0 * f * (rows * cols) as f64, s);
    let (mut dx, mut dg, mut db) = (
        dev.alloc_zeros::<f32>(rows * cols).unwrap(),
        dev.alloc_zeros::<f32>(cols).unwrap(),
        dev.alloc_zeros::<f32>(cols).unwrap(),
    );
    let s = time(&dev, 20, || {
        layernorm::layernorm_backward(
            &dev,
            &x,
            Some(&g),
            &mean,
            &rstd,
            &o,
            rows,
            cols,
            &mut dx,
            Some(&mut dg),
            Some(&mut db),
            Launch::AUTO,
        )
        .unwrap()
    });
    report("layernorm backward (dx, dgamma, dbeta) 16384x768", 4.0 * f * (rows * cols) as f64, s);
    assert_finite(&dev, "layernorm dx", &dx);

    // Attention at GPT-2 small shapes.
    let (bt, h, t, d) = (8usize, 12usize, 1024usize, 64usize);
    let n = bt * h * t * d;
    let (q, k, v) =
        (dev.htod(&pattern(n, 5)).unwrap(), dev.htod(&pattern(n, 6)).unwrap(), dev.htod(&pattern(n, 7)).unwrap());
    let (mut ao, mut alse) = (dev.alloc_zeros::<f32>(n).unwrap(), dev.alloc_zeros::<f32>(bt * h * t).unwrap());
    let s = time(&dev, 5, || {
        attention::flash_attention_forward(&dev, &q, &k, &v, bt, h, t, d, true, &mut ao, &mut alse).unwrap()
    });
    // Causal: half of the 2 T^2 D multiply-adds of S = q k^T and of O = P v.
    let flops = 2.0 * 2.0 * (bt * h) as f64 * (t * t) as f64 / 2.0 * d as f64;
    println!("{:<52} {:>9.1} us {:>8.0} GFLOP/s", "attention forward causal 8x12x1024x64", s * 1e6, flops / s / 1e9);
    let (mut dq, mut dk, mut dv) =
        (dev.alloc_zeros::<f32>(n).unwrap(), dev.alloc_zeros::<f32>(n).unwrap(), dev.alloc_zeros::<f32>(n).unwrap());
    let s = time(&dev, 5, || {
        attention::flash_attention_backward(
            &dev, &q, &k, &v, &ao, &q, &alse, bt, h, t, d, true, &mut dq, &mut dk, &mut dv,
        )
        .unwrap()
    });
    // Backward recomputes S twice (dq and dk/dv kernels) and does dP twice, dq, dk, dv once: 7 products.
    println!(
        "{:<52} {:>9.1} us {:>8.0} GFLOP/s",
        "attention backward causal 8x12x1024x64",
        s * 1e6,
        3.5 * flops / s / 1e9
    );
    assert_finite(&dev, "attention out", &ao);
    assert_finite(&dev, "attention dk", &dk);

    // AdamW over GPT-2 small's 124M parameters.
    let n = 124_000_000usize;
    let (mut p, gr) = (dev.htod(&pattern(n, 8)).unwrap(), dev.htod(&pattern(n, 9)).unwrap());
    let (mut m, mut vv) = (dev.alloc_zeros::<f32>(n).unwrap(), dev.alloc_zeros::<f32>(n).unwrap());
    let cfg = kernels::AdamWConfig::default();
    let mut step = 0;
    let s = time(&dev, 10, || {
        step += 1;
        adamw::adamw_step(&dev, &mut p, &gr, &mut m, &mut vv, &cfg, step, Launch::AUTO).unwrap()
    });
    report("adamw 124M params", 7.0 * f * n as f64, s);
    assert_finite(&dev, "adamw params", &p);
}
