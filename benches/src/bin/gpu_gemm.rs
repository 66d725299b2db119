//! `gpu_gemm`: our CUDA GEMM kernels against cuBLAS (through cudarc) on the same device, fp32, tf32 and
//! bf16, on square sizes and linear-layer shapes. Each time is the median of `--runs` launches timed with
//! CUDA events after `--warmup` untimed ones; TFLOP/s = 2·m·n·k / time. Also reports the largest
//! difference between the two results (relative to the largest |C|), so a fast wrong kernel shows.
//! Prints a table, then one JSON object per line (`{"precision": ..., "ours_tflops": ...}`).
//!
//! ```sh
//! cargo run --release -p benches --features cuda --bin gpu_gemm            # needs an NVIDIA GPU
//! cargo run --release -p benches --features cuda --bin gpu_gemm -- --quick # 1024 and one linear shape
//! ```
//! cuBLAS is opened at run time (libcublas.so); without it only our kernels are timed.

use std::sync::Arc;

use clap::Parser;
use kernels::cuda::cudarc::cublas::result as cublas;
use kernels::cuda::cudarc::cublas::sys as cublas_sys;
use kernels::cuda::cudarc::cublas::CudaBlas;
use kernels::cuda::cudarc::driver::sys::CUevent_flags;
use kernels::cuda::cudarc::driver::{CudaSlice, DevicePtr, DevicePtrMut};
use kernels::cuda::gemm::{gemm_with, GemmOptions, GemmPrecision, Tile};
use kernels::cuda::CudaDevice;

#[derive(Parser, Debug)]
#[command(about = "GPU GEMM: ours vs cuBLAS, TFLOP/s")]
struct Args {
    /// Timed launches per measurement (median reported).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Untimed launches before timing.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Only 1024³ and one linear-layer shape.
    #[arg(long)]
    quick: bool,
    /// Device ordinal.
    #[arg(long, default_value_t = 0)]
    device: usize,
}

/// One product: C (m×n) = op(A)·op(B), row-major.
#[derive(Debug, Clone, Copy)]
struct Shape {
    name: &'static str,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
}

const SHAPES: &[Shape] = &[
    Shape { name: "square 1024", m: 1024, n: 1024, k: 1024, trans_a: false, trans_b: false },
    Shape { name: "square 2048", m: 2048, n: 2048, k: 2048, trans_a: false, trans_b: false },
    Shape { name: "square 4096", m: 4096, n: 4096, k: 4096, trans_a: false, trans_b: false },
    // A GPT-2-small MLP layer on 8192 tokens (768 -> 3072), weight stored [out, in]:
    Shape { name: "linear fwd X·Wᵀ", m: 8192, n: 3072, k: 768, trans_a: false, trans_b: true },
    Shape { name: "linear dX = dY·W", m: 8192, n: 768, k: 3072, trans_a: false, trans_b: false },
    Shape { name: "linear dW = dYᵀ·X", m: 3072, n: 768, k: 8192, trans_a: true, trans_b: false },
];

fn fill_uniform(seed: u64, n: usize) -> Vec<f32> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// bf16 bits of a finite f32, rounded to nearest even (what half::bf16::from_f32 gives).
fn to_bf16_bits(x: f32) -> u16 {
    let u = x.to_bits();
    ((u + 0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median milliseconds of `launch` over `runs`, each bracketed by CUDA events on the device's stream.
fn time_ms(dev: &CudaDevice, warmup: usize, runs: usize, mut launch: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        launch();
    }
    dev.synchronize().unwrap();
    let ctx = dev.context();
    let times = (0..runs.max(1))
        .map(|_| {
            let start = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).unwrap();
            let end = ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).unwrap();
            start.record(dev.stream()).unwrap();
            launch();
            end.record(dev.stream()).unwrap();
            start.elapsed_ms(&end).unwrap() as f64
        })
        .collect();
    median(times)
}

/// cuBLAS is column-major: row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so B goes first
/// and each operand keeps its transpose flag.
#[allow(clippy::too_many_arguments)]
fn cublas_gemm<T>(
    blas: &CudaBlas,
    dev: &CudaDevice,
    precision: GemmPrecision,
    s: &Shape,
    a: &CudaSlice<T>,
    b: &CudaSlice<T>,
    c: &mut CudaSlice<f32>,
) {
    use cublas_sys::cublasComputeType_t::*;
    use cublas_sys::cublasOperation_t::*;
    use cublas_sys::cudaDataType_t::*;
    let (lda, ldb) = (if s.trans_a { s.m } else { s.k }, if s.trans_b { s.k } else { s.n });
    let (in_type, compute) = match precision {
        GemmPrecision::F32 => (CUDA_R_32F, CUBLAS_COMPUTE_32F),
        GemmPrecision::Tf32 => (CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32),
        GemmPrecision::Bf16 => (CUDA_R_16BF, CUBLAS_COMPUTE_32F),
    };
    let (alpha, beta) = (1.0f32, 0.0f32);
    let stream = dev.stream();
    let (pa, _ga) = a.device_ptr(stream);
    let (pb, _gb) = b.device_ptr(stream);
    let (pc, _gc) = c.device_ptr_mut(stream);
    unsafe {
        cublas::gemm_ex(
            *blas.handle(),
            if s.trans_b { CUBLAS_OP_T } else { CUBLAS_OP_N },
            if s.trans_a { CUBLAS_OP_T } else { CUBLAS_OP_N },
            s.n as i32,
            s.m as i32,
            s.k as i32,
            (&alpha) as *const f32 as *const _,
            pb as *const _,
            in_type,
            ldb as i32,
            pa as *const _,
            in_type,
            lda as i32,
            (&beta) as *const f32 as *const _,
            pc as *mut _,
            CUDA_R_32F,
            s.n as i32,
            compute,
            cublas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT_TENSOR_OP,
        )
        .expect("cublasGemmEx");
    }
}

struct Row {
    precision: GemmPrecision,
    shape: Shape,
    ours: f64,
    peer: Option<f64>,
    max_rel_diff: Option<f64>,
    /// fp32 only: ours with the tile forced to 128 and to 64 (to tune the automatic choice).
    tiles: Option<(f64, f64)>,
}

fn main() {
    let args = Args::parse();
    let dev: Arc<CudaDevice> = match CudaDevice::new(args.device) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("gpu_gemm: {e}");
            std::process::exit(2);
        }
    };
    println!("device: {} (compute capability {:?})", dev.name().unwrap_or_default(), dev.compute_capability().ok());
    // Safety: only tries to dlopen libcublas; no cuBLAS call is made.
    let blas = if unsafe { cublas_sys::is_culib_present() } {
        match CudaBlas::new(dev.stream().clone()) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("gpu_gemm: cuBLAS loaded but could not start ({e:?}); timing ours only");
                None
            }
        }
    } else {
        eprintln!("gpu_gemm: libcublas.so not found on the loader path; timing ours only");
        None
    };
    let shapes: Vec<Shape> = if args.quick { vec![SHAPES[0], SHAPES[3]] } else { SHAPES.to_vec() };
    let mut rows = Vec::new();
    for precision in [GemmPrecision::F32, GemmPrecision::Tf32, GemmPrecision::Bf16] {
        for s in &shapes {
            let a_host = fill_uniform(1, s.m * s.k);
            let b_host = fill_uniform(2, s.k * s.n);
            let (lda, ldb) = (if s.trans_a { s.m } else { s.k }, if s.trans_b { s.k } else { s.n });
            let flops = 2.0 * (s.m * s.n * s.k) as f64;
            let mut c_ours = dev.alloc_zeros::<f32>(s.m * s.n).unwrap();
            let mut c_peer = dev.alloc_zeros::<f32>(s.m * s.n).unwrap();
            let mut tiles_ms = None;
            let (ours_ms, peer_ms) = if precision == GemmPrecision::Bf16 {
                let a16: Vec<u16> = a_host.iter().map(|&x| to_bf16_bits(x)).collect();
                let b16: Vec<u16> = b_host.iter().map(|&x| to_bf16_bits(x)).collect();
                let (a, b) = (dev.htod(&a16).unwrap(), dev.htod(&b16).unwrap());
                let ours = time_ms(&dev, args.warmup, args.runs, || {
                    gemm_with(&dev, precision, GemmOptions::AUTO, s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0, &a, lda, &b, ldb, 0.0, &mut c_ours, s.n).unwrap()
                });
                let peer = blas.as_ref().map(|blas| {
                    time_ms(&dev, args.warmup, args.runs, || cublas_gemm(blas, &dev, precision, s, &a, &b, &mut c_peer))
                });
                (ours, peer)
            } else {
                let (a, b) = (dev.htod(&a_host).unwrap(), dev.htod(&b_host).unwrap());
                if precision == GemmPrecision::F32 {
                    let mut forced = |tile| {
                        let opts = GemmOptions { tile, allow_vec: true };
                        time_ms(&dev, args.warmup, args.runs, || {
                            gemm_with(&dev, precision, opts, s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0, &a, lda, &b, ldb, 0.0, &mut c_ours, s.n).unwrap()
                        })
                    };
                    tiles_ms = Some((forced(Tile::T128), forced(Tile::T64)));
                }
                let ours = time_ms(&dev, args.warmup, args.runs, || {
                    gemm_with(&dev, precision, GemmOptions::AUTO, s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0, &a, lda, &b, ldb, 0.0, &mut c_ours, s.n).unwrap()
                });
                let peer = blas.as_ref().map(|blas| {
                    time_ms(&dev, args.warmup, args.runs, || cublas_gemm(blas, &dev, precision, s, &a, &b, &mut c_peer))
                });
                (ours, peer)
            };
            let max_rel_diff = peer_ms.map(|_| {
                let (x, y) = (dev.dtoh(&c_ours).unwrap(), dev.dtoh(&c_peer).unwrap());
                let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64)).max(1e-30);
                x.iter().zip(&y).fold(0.0f64, |m, (a, b)| m.max((a - b).abs() as f64)) / scale
            });
            let row = Row {
                precision,
                shape: *s,
                ours: flops / (ours_ms * 1e-3) / 1e12,
                peer: peer_ms.map(|ms| flops / (ms * 1e-3) / 1e12),
                max_rel_diff,
                tiles: tiles_ms.map(|(t128, t64)| (flops / (t128 * 1e-3) / 1e12, flops / (t64 * 1e-3) / 1e12)),
            };
            eprintln!("{:?} {}: ours {:.1} TFLOP/s, cuBLAS {:?}", precision, s.name, row.ours, row.peer);
            rows.push(row);
        }
    }
    println!(
        "\n| precision | shape | m×n×k | op | ours TFLOP/s | cuBLAS TFLOP/s | ours/cuBLAS | max |diff|/max|C| | fp32 tile 128 / 64 |\n|---|---|---|---|---|---|---|---|---|"
    );
    for r in &rows {
        let s = r.shape;
        let op = format!("{}{}", if s.trans_a { "T" } else { "N" }, if s.trans_b { "T" } else { "N" });
        let fmt = |v: Option<f64>, digits: usize| v.map_or("n/a".to_string(), |v| format!("{v:.digits$}"));
        println!(
            "| {:?} | {} | {}×{}×{} | {} | {:.1} | {} | {} | {} | {} |",
            r.precision,
            s.name,
            s.m,
            s.n,
            s.k,
            op,
            r.ours,
            fmt(r.peer, 1),
            fmt(r.peer.map(|p| r.ours / p), 2),
            r.max_rel_diff.map_or("n/a".to_string(), |d| format!("{d:.1e}")),
            r.tiles.map_or("".to_string(), |(a, b)| format!("{a:.1} / {b:.1}"))
        );
    }
    for r in &rows {
        let json = serde_json::json!({
            "precision": format!("{:?}", r.precision),
            "shape": r.shape.name,
            "m": r.shape.m, "n": r.shape.n, "k": r.shape.k,
            "trans_a": r.shape.trans_a, "trans_b": r.shape.trans_b,
            "ours_tflops": r.ours,
            "cublas_tflops": r.peer,
            "ratio": r.peer.map(|p| r.ours / p),
            "max_rel_diff": r.max_rel_diff,
            "ours_tile128_tflops": r.tiles.map(|t| t.0),
            "ours_tile64_tflops": r.tiles.map(|t| t.1),
            "runs": args.runs,
        });
        println!("{json}");
    }
}
