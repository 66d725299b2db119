//! GPU row and column reductions against the CPU kernels of `kernels::reduce`, over odd shapes, launch
//! configurations (one 32-thread block looping over every row, up to 1024 threads per row), misaligned
//! rows (the scalar path beside the float4 one) and NaN rows. Prints "skipping: <reason>" and passes
//! without a GPU.
//!
//! Tolerance: sums and means within 1e-5 × sum|x| of the row (the GPU adds in f32 per thread and in a
//! tree, the CPU in f32 blocks and f64; both errors are far below this bound). Max and min are exact.
#![cfg(feature = "cuda")]

mod cuda_ops_common;

use cuda_ops_common::{device, Rng};
use kernels::cuda::ops::launch::Launch;
use kernels::cuda::ops::reduce as gpu;

const SHAPES: &[(usize, usize)] =
    &[(1, 1), (1, 7), (7, 1), (7, 3), (33, 33), (5, 257), (300, 64), (3, 1000), (4, 4099), (2, 50_304), (1500, 5)];
const LAUNCHES: [Launch; 4] = [
    Launch::AUTO,
    Launch { threads: 32, blocks: 1 },
    Launch { threads: 96, blocks: 0 },
    Launch { threads: 1024, blocks: 5 },
];

/// Checks per-row sums within 1e-5 of the row's sum of |x|.
fn assert_sums(what: &str, got: &[f32], want: &[f32], x: &[f32], cols: usize, divide: bool) {
    for (r, (&g, &w)) in got.iter().zip(want).enumerate() {
        let mut scale: f32 = x[r * cols..(r + 1) * cols].iter().map(|v| v.abs()).sum();
        if divide {
            scale /= cols as f32;
        }
        let tol = 1e-5 * scale + 1e-7;
        assert!((g - w).abs() <= tol, "{what}: row {r} is {g}, cpu {w} (|diff| {} > {tol})", (g - w).abs());
    }
}

#[test]
fn sum_and_mean_rows_match_cpu() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(10);
    for &(rows, cols) in SHAPES {
        // One spare element in front, to also run every row from a misaligned start.
        let x = rng.vec(rows * cols + 1, -2.0, 3.0);
        let xd = dev.htod(&x).unwrap();
        for start in [0usize, 1] {
            let xs = &x[start..start + rows * cols];
            let view = xd.slice(start..start + rows * cols);
            let (mut want_sum, mut want_mean) = (vec![0.0; rows], vec![0.0; rows]);
            kernels::sum_rows(xs, rows, cols, &mut want_sum).unwrap();
            kernels::mean_rows(xs, rows, cols, &mut want_mean).unwrap();
            for launch in LAUNCHES {
                let mut out = dev.alloc_zeros::<f32>(rows).unwrap();
                gpu::sum_rows(&dev, &view, rows, cols, &mut out, launch).unwrap();
                assert_sums(
                    &format!("sum_rows {rows}x{cols} start {start} {launch:?}"),
                    &dev.dtoh(&out).unwrap(),
                    &want_sum,
                    xs,
                    cols,
                    false,
                );
                gpu::mean_rows(&dev, &view, rows, cols, &mut out, launch).unwrap();
                assert_sums(
                    &format!("mean_rows {rows}x{cols} start {start} {launch:?}"),
                    &dev.dtoh(&out).unwrap(),
                    &want_mean,
                    xs,
                    cols,
                    true,
                );
            }
        }
    }
}

#[test]
fn max_and_min_rows_match_cpu_exactly_including_nan_rows() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(11);
    for &(rows, cols) in SHAPES {
        let mut x = rng.vec(rows * cols, -100.0, 100.0);
        if rows > 2 {
            x[cols + cols / 2] = f32::NAN; // row 1 holds a NaN
        }
        let xd = dev.htod(&x).unwrap();
        let (mut want_max, mut want_min) = (vec![0.0; rows], vec![0.0; rows]);
        kernels::max_rows(&x, rows, cols, &mut want_max).unwrap();
        kernels::min_rows(&x, rows, cols, &mut want_min).unwrap();
        for launch in LAUNCHES {
            let mut out = dev.alloc_zeros::<f32>(rows).unwrap();
            gpu::max_rows(&dev, &xd, rows, cols, &mut out, launch).unwrap();
            let got = dev.dtoh(&out).unwrap();
            for r in 0..rows {
                assert!(
                    got[r] == want_max[r] || (got[r].is_nan() && want_max[r].is_nan()),
                    "max_rows {rows}x{cols} {launch:?} row {r}: {} vs cpu {}",
                    got[r],
                    want_max[r]
                );
            }
            gpu::min_rows(&dev, &xd, rows, cols, &mut out, launch).unwrap();
            let got = dev.dtoh(&out).unwrap();
            for r in 0..rows {
                assert!(
                    got[r] == want_min[r] || (got[r].is_nan() && want_min[r].is_nan()),
                    "min_rows {rows}x{cols} {launch:?} row {r}: {} vs cpu {}",
                    got[r],
                    want_min[r]
                );
            }
        }
    }
}

#[test]
fn sum_cols_matches_cpu_for_any_chunking() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(12);
    for &(rows, cols) in &[(1usize, 1usize), (7, 33), (300, 257), (5000, 3), (1025, 1000), (64, 50_304)] {
        let x = rng.vec(rows * cols, -1.0, 1.0);
        let mut want = vec![0.0; cols];
        kernels::sum_cols(&x, rows, cols, &mut want).unwrap();
        let xd = dev.htod(&x).unwrap();
        // Column scale: sum over rows of |x|.
        let mut scale = vec![0.0f32; cols];
        for r in 0..rows {
            for c in 0..cols {
                scale[c] += x[r * cols + c].abs();
            }
        }
        for chunks in [0u32, 1, 3, 64, 100_000] {
            // Start from garbage: sum_cols overwrites, as on the CPU.
            let mut out = dev.htod(&vec![123.0f32; cols]).unwrap();
            gpu::sum_cols(&dev, &xd, rows, cols, &mut out, Launch { threads: 0, blocks: chunks }).unwrap();
            let got = dev.dtoh(&out).unwrap();
            for c in 0..cols {
                let tol = 1e-5 * scale[c] + 1e-7;
                assert!(
                    (got[c] - want[c]).abs() <= tol,
                    "sum_cols {rows}x{cols} chunks {chunks} col {c}: {} vs cpu {}",
                    got[c],
                    want[c]
                );
            }
        }
    }
}

#[test]
fn reductions_are_deterministic_for_a_launch() {
    let Some(dev) = device() else { return };
    let x = Rng::new(13).vec(97 * 4099, -1.0, 1.0);
    let xd = dev.htod(&x).unwrap();
    let mut a = dev.alloc_zeros::<f32>(4099).unwrap();
    let mut b = dev.alloc_zeros::<f32>(4099).unwrap();
    gpu::sum_cols(&dev, &xd, 97, 4099, &mut a, Launch::AUTO).unwrap();
    gpu::sum_cols(&dev, &xd, 97, 4099, &mut b, Launch::AUTO).unwrap();
    assert_eq!(dev.dtoh(&a).unwrap(), dev.dtoh(&b).unwrap());
    gpu::sum_rows(&dev, &xd, 97, 4099, &mut a, Launch::AUTO).unwrap();
    gpu::sum_rows(&dev, &xd, 97, 4099, &mut b, Launch::AUTO).unwrap();
    assert_eq!(dev.dtoh(&a.slice(..97)).unwrap(), dev.dtoh(&b.slice(..97)).unwrap());
}

#[test]
fn reduce_size_errors_name_the_op() {
    let Some(dev) = device() else { return };
    let x = dev.alloc_zeros::<f32>(10).unwrap();
    let mut out = dev.alloc_zeros::<f32>(3).unwrap();
    let e = gpu::sum_rows(&dev, &x, 3, 4, &mut out, Launch::AUTO).unwrap_err();
    assert_eq!(e.kernel, "cuda_sum_rows");
    assert!(e.message.contains("x has 10 elements") && e.message.contains("need 12"), "{e}");
    let e = gpu::max_rows(&dev, &x, 3, 0, &mut out, Launch::AUTO).unwrap_err();
    assert!(e.message.contains("0 columns"), "{e}");
    let e = gpu::sum_cols(&dev, &x, 2, 5, &mut out, Launch::AUTO).unwrap_err();
    assert!(e.message.contains("out has 3 elements") && e.message.contains("need 5"), "{e}");
}
