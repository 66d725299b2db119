//! Every GPU GEMM kernel against the CPU `kernels::sgemm` on random inputs: three precisions, four
//! transpose cases, sizes from 1 to 1024 (tile multiples and ragged), padded leading dimensions,
//! alpha/beta, unaligned views, and every launch configuration (tile 128/64, fast path and edge path).
//!
//! Tolerances, with S = |alpha|·Σ_p |a_ip·b_pj| + |beta·c_ij| for each element:
//! - strict, against the CPU product of the operands *as the kernel sees them* (fp32 as is; tf32 rounded
//!   to nearest with ties away, as cvt.rna does; bf16 values): |gpu - cpu| <= 1e-4·S + 1e-6. Only fp32
//!   accumulation order differs.
//! - loose, tf32 and bf16 only, against the fp32 product of the unrounded inputs: 2e-3·S (tf32: 2^-11 per
//!   input) and 1e-2·S (bf16: 2^-8 per input).
//!
//! Without a CUDA driver each test prints `skipping: <reason>` and passes.
#![cfg(feature = "cuda")]

mod support;

use std::sync::Arc;

use half::bf16;
use kernels::cuda::gemm::{gemm_with, GemmOptions, GemmPrecision, Tile};
use kernels::cuda::CudaDevice;
use support::Rng;

fn device() -> Option<Arc<CudaDevice>> {
    match CudaDevice::new(0) {
        Ok(d) => {
            println!("device: {}", d.name().unwrap_or_default());
            Some(d)
        }
        Err(e) => {
            println!("skipping: {e}");
            None
        }
    }
}

/// The value cvt.rna.tf32.f32 gives: 10 mantissa bits, round to nearest, ties away from zero.
fn round_tf32(x: f32) -> f32 {
    if !x.is_finite() {
        return x;
    }
    f32::from_bits((x.to_bits() + 0x1000) & 0xffff_e000)
}

#[derive(Debug, Clone, Copy)]
struct Case {
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    pad: usize,
    alpha: f32,
    beta: f32,
}

impl Case {
    fn lds(&self) -> (usize, usize, usize) {
        let a_cols = if self.trans_a { self.m } else { self.k };
        let b_cols = if self.trans_b { self.k } else { self.n };
        (a_cols + self.pad, b_cols + self.pad, self.n + self.pad)
    }
    fn a_len(&self) -> usize {
        (if self.trans_a { self.k } else { self.m }) * self.lds().0
    }
    fn b_len(&self) -> usize {
        (if self.trans_b { self.n } else { self.k }) * self.lds().1
    }
}

/// C = alpha·op(A)·op(B) + beta·C0 on the CPU, and S (the error scale) for each element.
fn cpu(c: &Case, a: &[f32], b: &[f32], c0: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (lda, ldb, ldc) = c.lds();
    let mut out = c0.to_vec();
    kernels::sgemm(c.trans_a, c.trans_b, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, &mut out, ldc).unwrap();
    let abs_a: Vec<f32> = a.iter().map(|x| x.abs()).collect();
    let abs_b: Vec<f32> = b.iter().map(|x| x.abs()).collect();
    let mut scale: Vec<f32> = c0.iter().map(|x| (c.beta * x).abs()).collect();
    kernels::sgemm(c.trans_a, c.trans_b, c.m, c.n, c.k, c.alpha.abs(), &abs_a, lda, &abs_b, ldb, 1.0, &mut scale, ldc)
        .unwrap();
    (out, scale)
}

/// The worst |got - want| / (tol·S + floor) over C (padding columns included: they must be untouched);
/// `Err` names the first element over 1.
fn compare(what: &str, c: &Case, got: &[f32], want: &[f32], scale: &[f32], tol: f32, floor: f32) -> Result<f32, String> {
    let ldc = c.lds().2;
    let mut worst = 0.0f32;
    for i in 0..c.m {
        for j in 0..ldc {
            let idx = i * ldc + j;
            let (g, w) = (got[idx], want[idx]);
            let ratio = if j >= c.n {
                if g.to_bits() == w.to_bits() { 0.0 } else { f32::INFINITY }
            } else {
                (g - w).abs() / (tol * scale[idx] + floor)
            };
            if ratio.is_nan() || ratio > 1.0 {
                return Err(format!("{what} {c:?}: C[{i}][{j}] = {g}, want {w} (S = {})", scale[idx]));
            }
            worst = worst.max(ratio);
        }
    }
    Ok(worst)
}

const SIZES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (7, 7, 7),
    (33, 33, 33),
    (64, 64, 64),
    (127, 127, 127),
    (128, 128, 128),
    (257, 257, 257),
    (256, 128, 64),
    (128, 384, 96),
    (1, 1152, 384),
    (300, 5, 1000),
    (5, 300, 17),
    (1000, 1024, 768),
    (1024, 1024, 1024),
];

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (i, &(m, n, k)) in SIZES.iter().enumerate() {
        for t in 0..4 {
            // Alternate alpha/beta and padding: pad 0 and 8 keep the fast path reachable, 3 forces the edge.
            let (alpha, beta) = if (i + t) % 2 == 0 { (1.0, 0.0) } else { (0.5, -1.25) };
            let pad = [0, 8, 3][(i + t) % 3];
            out.push(Case { trans_a: t / 2 == 1, trans_b: t % 2 == 1, m, n, k, pad, alpha, beta });
        }
    }
    out
}

/// Runs every case for one precision under each launch option, printing the worst error ratio per option.
fn check_precision(dev: &CudaDevice, precision: GemmPrecision, options: &[GemmOptions]) {
    let mut rng = Rng::new(match precision {
        GemmPrecision::F32 => 1,
        GemmPrecision::Tf32 => 2,
        GemmPrecision::Bf16 => 3,
    });
    let mut worst = vec![(0.0f32, 0.0f32); options.len()];
    let mut failures = Vec::new();
    for case in cases() {
        let (_, _, ldc) = case.lds();
        let a_raw = rng.vec(case.a_len(), -1.0, 1.0);
        let b_raw = rng.vec(case.b_len(), -1.0, 1.0);
        let c0 = if case.beta == 0.0 { vec![f32::NAN; case.m * ldc] } else { rng.vec(case.m * ldc, -1.0, 1.0) };
        // The operands as the kernel sees them.
        let (a_seen, b_seen): (Vec<f32>, Vec<f32>) = match precision {
            GemmPrecision::F32 => (a_raw.clone(), b_raw.clone()),
            GemmPrecision::Tf32 => (a_raw.iter().map(|&x| round_tf32(x)).collect(), b_raw.iter().map(|&x| round_tf32(x)).collect()),
            GemmPrecision::Bf16 => (
                a_raw.iter().map(|&x| bf16::from_f32(x).to_f32()).collect(),
                b_raw.iter().map(|&x| bf16::from_f32(x).to_f32()).collect(),
            ),
        };
        // NaN C0 with beta = 0: the CPU reference never reads it either; for S use zeros.
        let c0_for_scale: Vec<f32> = c0.iter().map(|x| if x.is_nan() { 0.0 } else { *x }).collect();
        let (mut want, scale) = cpu(&case, &a_seen, &b_seen, &c0_for_scale);
        let (mut want_raw, _) = cpu(&case, &a_raw, &b_raw, &c0_for_scale);
        // Padding columns keep C0's bits (NaN included).
        for i in 0..case.m {
            for j in case.n..ldc {
                want[i * ldc + j] = c0[i * ldc + j];
                want_raw[i * ldc + j] = c0[i * ldc + j];
            }
        }
        for (o, opt) in options.iter().enumerate() {
            let mut c_dev = dev.htod(&c0).unwrap();
            let result = if precision == GemmPrecision::Bf16 {
                let a16: Vec<u16> = a_raw.iter().map(|&x| bf16::from_f32(x).to_bits()).collect();
                let b16: Vec<u16> = b_raw.iter().map(|&x| bf16::from_f32(x).to_bits()).collect();
                let (a_dev, b_dev) = (dev.htod(&a16).unwrap(), dev.htod(&b16).unwrap());
                let (lda, ldb, ldc) = case.lds();
                gemm_with(dev, precision, *opt, case.trans_a, case.trans_b, case.m, case.n, case.k, case.alpha, &a_dev, lda, &b_dev, ldb, case.beta, &mut c_dev, ldc)
            } else {
                let (a_dev, b_dev) = (dev.htod(&a_raw).unwrap(), dev.htod(&b_raw).unwrap());
                let (lda, ldb, ldc) = case.lds();
                gemm_with(dev, precision, *opt, case.trans_a, case.trans_b, case.m, case.n, case.k, case.alpha, &a_dev, lda, &b_dev, ldb, case.beta, &mut c_dev, ldc)
            };
            result.unwrap();
            let got = dev.dtoh(&c_dev).unwrap();
            match compare("strict", &case, &got, &want, &scale, 1e-4, 1e-6) {
                Ok(r) => worst[o].0 = worst[o].0.max(r),
                Err(e) => failures.push(format!("{precision:?} {opt:?}: {e}")),
            }
            let loose = match precision {
                GemmPrecision::F32 => None,
                GemmPrecision::Tf32 => Some(2e-3),
                GemmPrecision::Bf16 => Some(1e-2),
            };
            if let Some(tol) = loose {
                match compare("loose", &case, &got, &want_raw, &scale, tol, 1e-6) {
                    Ok(r) => worst[o].1 = worst[o].1.max(r),
                    Err(e) => failures.push(format!("{precision:?} {opt:?}: {e}")),
                }
            }
        }
    }
    for (opt, (strict, loose)) in options.iter().zip(&worst) {
        println!("{precision:?} {opt:?}: {} cases, worst error / tolerance: strict {strict:.3}, loose {loose:.3}", cases().len());
    }
    assert!(failures.is_empty(), "{} failures, first: {}", failures.len(), failures[0]);
}

const F32_OPTIONS: &[GemmOptions] = &[
    GemmOptions::AUTO,
    GemmOptions { tile: Tile::T128, allow_vec: true },
    GemmOptions { tile: Tile::T64, allow_vec: true },
    GemmOptions { tile: Tile::T128, allow_vec: false },
    GemmOptions { tile: Tile::T64, allow_vec: false },
];
const MMA_OPTIONS: &[GemmOptions] = &[GemmOptions::AUTO, GemmOptions { tile: Tile::T128, allow_vec: false }];

#[test]
fn sgemm_f32_matches_cpu_in_every_configuration() {
    let Some(dev) = device() else { return };
    check_precision(&dev, GemmPrecision::F32, F32_OPTIONS);
}

#[test]
fn sgemm_tf32_matches_cpu_on_rounded_inputs() {
    let Some(dev) = device() else { return };
    check_precision(&dev, GemmPrecision::Tf32, MMA_OPTIONS);
}

#[test]
fn gemm_bf16_matches_cpu_on_bf16_inputs() {
    let Some(dev) = device() else { return };
    check_precision(&dev, GemmPrecision::Bf16, MMA_OPTIONS);
}

/// Views at an element offset: the base pointer is no longer 16-byte aligned, so the wrapper must take
/// the edge path (a float4 load there would fault), and the result must still be right.
#[test]
fn unaligned_views_take_the_edge_path_and_stay_correct() {
    let Some(dev) = device() else { return };
    let (m, n, k) = (256, 256, 64);
    let mut rng = Rng::new(9);
    let a = rng.vec(1 + m * k, -1.0, 1.0);
    let b = rng.vec(1 + k * n, -1.0, 1.0);
    let (a_dev, b_dev) = (dev.htod(&a).unwrap(), dev.htod(&b).unwrap());
    let mut c_dev = dev.alloc_zeros::<f32>(1 + m * n).unwrap();
    for precision in [GemmPrecision::F32, GemmPrecision::Tf32] {
        {
            let mut c_view = c_dev.slice_mut(1..);
            gemm_with(&dev, precision, GemmOptions::AUTO, false, false, m, n, k, 1.0, &a_dev.slice(1..), k, &b_dev.slice(1..), n, 0.0, &mut c_view, n)
                .unwrap();
        }
        let got = dev.dtoh(&c_dev).unwrap();
        let (a_seen, b_seen): (Vec<f32>, Vec<f32>) = if precision == GemmPrecision::Tf32 {
            (a[1..].iter().map(|&x| round_tf32(x)).collect(), b[1..].iter().map(|&x| round_tf32(x)).collect())
        } else {
            (a[1..].to_vec(), b[1..].to_vec())
        };
        let case = Case { trans_a: false, trans_b: false, m, n, k, pad: 0, alpha: 1.0, beta: 0.0 };
        let (want, scale) = cpu(&case, &a_seen, &b_seen, &vec![0.0; m * n]);
        assert_eq!(got[0], 0.0, "the element before the view was written");
        let worst = compare("view", &case, &got[1..], &want, &scale, 1e-4, 1e-6).unwrap();
        println!("{precision:?} unaligned views: worst error / tolerance {worst:.3}");
    }
}

/// Size errors come back as KernelError naming the kernel, before anything is launched.
#[test]
fn wrong_sizes_are_errors_not_launches() {
    let Some(dev) = device() else { return };
    let a = dev.alloc_zeros::<f32>(6).unwrap();
    let b = dev.alloc_zeros::<f32>(6).unwrap();
    let mut c = dev.alloc_zeros::<f32>(4).unwrap();
    let err = kernels::cuda::gemm::sgemm(&dev, false, false, 2, 2, 4, 1.0, &a, 4, &b, 2, 0.0, &mut c, 2).unwrap_err();
    assert_eq!(err.kernel, "cuda_sgemm");
    assert!(err.message.contains("a has 6 elements"), "{err}");
    let err = kernels::cuda::gemm::sgemm_tf32(&dev, false, false, 2, 2, 2, 1.0, &a, 1, &b, 2, 0.0, &mut c, 2).unwrap_err();
    assert!(err.message.contains("lda = 1"), "{err}");
}
