//! GPU softmax, log-softmax and fused cross-entropy against the CPU kernels of `kernels::softmax` and
//! `kernels::cross_entropy`, forward and backward, over odd shapes (one column to 50304), launch
//! configurations, misaligned rows, rows of large magnitude, and ignored targets. Prints
//! "skipping: <reason>" and passes without a GPU.
//!
//! Tolerances (stated per check below): probabilities 1e-7 absolute + 2e-5 relative; log-probabilities,
//! logsumexp and losses 2e-5 absolute (they are O(log cols) and the two sides sum e^(x - max) in different
//! orders) plus a few ulp of the logsumexp on rows shifted by 1e4; gradients 1e-6 absolute + 1e-5
//! relative.
#![cfg(feature = "cuda")]

mod cuda_ops_common;

use cuda_ops_common::{assert_close, device, Rng};
use kernels::cuda::ops::launch::Launch;
use kernels::cuda::ops::{cross_entropy as gpu_ce, softmax as gpu};

const SHAPES: &[(usize, usize)] = &[(1, 1), (1, 2), (7, 3), (33, 33), (5, 257), (64, 1000), (3, 4099), (2, 50_304)];
const LAUNCHES: [Launch; 4] = [
    Launch::AUTO,
    Launch { threads: 32, blocks: 1 },
    Launch { threads: 160, blocks: 3 },
    Launch { threads: 1024, blocks: 0 },
];

/// Logits with a per-row offset of up to +-1e4 on odd rows, so the max subtraction matters.
fn logits(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    let mut x = rng.vec(rows * cols, -4.0, 4.0);
    for r in (1..rows).step_by(2) {
        let shift = rng.uniform(-1e4, 1e4);
        for v in &mut x[r * cols..(r + 1) * cols] {
            *v += shift;
        }
    }
    x
}

#[test]
fn softmax_and_log_softmax_forward_match_cpu() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(20);
    for &(rows, cols) in SHAPES {
        let mut x = vec![0.5f32];
        x.extend(logits(&mut rng, rows, cols));
        let xd = dev.htod(&x).unwrap();
        for start in [1usize, 0] {
            let xs = &x[start..start + rows * cols];
            let view = xd.slice(start..start + rows * cols);
            let (mut want, mut want_log) = (vec![0.0; rows * cols], vec![0.0; rows * cols]);
            kernels::softmax_rows(xs, rows, cols, &mut want).unwrap();
            kernels::log_softmax_rows(xs, rows, cols, &mut want_log).unwrap();
            for launch in LAUNCHES {
                let mut out = dev.alloc_zeros::<f32>(rows * cols).unwrap();
                gpu::softmax_rows(&dev, &view, rows, cols, &mut out, launch).unwrap();
                assert_close(
                    &format!("softmax {rows}x{cols} start {start} {launch:?}"),
                    &dev.dtoh(&out).unwrap(),
                    &want,
                    1e-7,
                    2e-5,
                );
                gpu::log_softmax_rows(&dev, &view, rows, cols, &mut out, launch).unwrap();
                assert_close(
                    &format!("log_softmax {rows}x{cols} start {start} {launch:?}"),
                    &dev.dtoh(&out).unwrap(),
                    &want_log,
                    2e-5,
                    1e-6,
                );
            }
        }
    }
}

#[test]
fn softmax_and_log_softmax_backward_accumulate_like_cpu() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(21);
    for &(rows, cols) in SHAPES {
        let x = logits(&mut rng, rows, cols);
        let (mut y, mut ylog) = (vec![0.0; rows * cols], vec![0.0; rows * cols]);
        kernels::softmax_rows(&x, rows, cols, &mut y).unwrap();
        kernels::log_softmax_rows(&x, rows, cols, &mut ylog).unwrap();
        let dy = rng.vec(rows * cols, -1.0, 1.0);
        let dx0 = rng.vec(rows * cols, -0.5, 0.5);
        let (yd, ylogd, dyd) = (dev.htod(&y).unwrap(), dev.htod(&ylog).unwrap(), dev.htod(&dy).unwrap());
        for launch in LAUNCHES {
            let mut want = dx0.clone();
            kernels::softmax_rows_backward(&y, &dy, rows, cols, &mut want).unwrap();
            let mut dx = dev.htod(&dx0).unwrap();
            gpu::softmax_rows_backward(&dev, &yd, &dyd, rows, cols, &mut dx, launch).unwrap();
            assert_close(
                &format!("softmax backward {rows}x{cols} {launch:?}"),
                &dev.dtoh(&dx).unwrap(),
                &want,
                1e-6,
                1e-5,
            );

            let mut want = dx0.clone();
            kernels::log_softmax_rows_backward(&ylog, &dy, rows, cols, &mut want).unwrap();
            let mut dx = dev.htod(&dx0).unwrap();
            gpu::log_softmax_rows_backward(&dev, &ylogd, &dyd, rows, cols, &mut dx, launch).unwrap();
            // dy - e^y sum(dy): the sum over up to 50304 terms of +-1 is O(100), so allow 1e-5 of it.
            assert_close(
                &format!("log_softmax backward {rows}x{cols} {launch:?}"),
                &dev.dtoh(&dx).unwrap(),
                &want,
                2e-5,
                1e-5,
            );
        }
    }
}

/// Targets in [0, cols), with about one row in five set to `ignore`.
fn targets(rng: &mut Rng, rows: usize, cols: usize, ignore: i64) -> Vec<i64> {
    (0..rows).map(|_| if rng.below(5) == 0 { ignore } else { rng.below(cols as u64) as i64 }).collect()
}

#[test]
fn cross_entropy_forward_and_backward_match_cpu() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(22);
    for &(rows, cols) in SHAPES {
        for ignore in [-100i64, 0] {
            let x = logits(&mut rng, rows, cols);
            let t = targets(&mut rng, rows, cols, ignore);
            let (mut loss, mut lse) = (vec![0.0; rows], vec![0.0; rows]);
            kernels::cross_entropy_forward(&x, rows, cols, &t, ignore, &mut loss, &mut lse).unwrap();
            let dloss = rng.vec(rows, 0.1, 1.0);
            let d0 = rng.vec(rows * cols, -0.1, 0.1);
            let mut want_d = d0.clone();
            kernels::cross_entropy_backward(&x, rows, cols, &t, ignore, &lse, &dloss, &mut want_d).unwrap();

            let (xd, td, dld) = (dev.htod(&x).unwrap(), dev.htod(&t).unwrap(), dev.htod(&dloss).unwrap());
            for launch in LAUNCHES {
                let (mut gl, mut glse) = (dev.alloc_zeros::<f32>(rows).unwrap(), dev.alloc_zeros::<f32>(rows).unwrap());
                gpu_ce::cross_entropy_forward(&dev, &xd, rows, cols, &td, ignore, &mut gl, &mut glse, launch).unwrap();
                let what = format!("cross_entropy {rows}x{cols} ignore {ignore} {launch:?}");
                // lse carries the +-1e4 row shifts: 2e-5 absolute plus 1e-6 relative (about 8 ulp of 1e4).
                assert_close(&format!("{what} logsumexp"), &dev.dtoh(&glse).unwrap(), &lse, 2e-5, 1e-6);
                // loss = lse - x[t]: on the +-1e4 rows the f32 rounding of lse (spacing ~1e-3 there) can fall
                // either way on the two sides, so allow 2 ulp of |lse| on top of 2e-5.
                let got_loss = dev.dtoh(&gl).unwrap();
                for r in 0..rows {
                    let tol = 2e-5 + 2.5e-7 * lse[r].abs();
                    assert!(
                        (got_loss[r] - loss[r]).abs() <= tol,
                        "{what} loss row {r}: {} vs cpu {} (tol {tol})",
                        got_loss[r],
                        loss[r]
                    );
                }
                let mut dd = dev.htod(&d0).unwrap();
                // Backward from the CPU's logsumexp, so it is compared on its own.
                gpu_ce::cross_entropy_backward(
                    &dev,
                    &xd,
                    rows,
                    cols,
                    &td,
                    ignore,
                    &dev.htod(&lse).unwrap(),
                    &dld,
                    &mut dd,
                    launch,
                )
                .unwrap();
                assert_close(&format!("{what} dlogits"), &dev.dtoh(&dd).unwrap(), &want_d, 1e-6, 1e-5);
            }
        }
    }
}

#[test]
fn cross_entropy_out_of_range_target_gives_nan_loss_and_no_gradient() {
    let Some(dev) = device() else { return };
    let x = dev.htod(&[0.0f32, 1.0, 2.0, 0.0, 1.0, 2.0]).unwrap();
    let t = dev.htod(&[5i64, 1]).unwrap(); // row 0: target 5 of 3 classes
    let (mut loss, mut lse) = (dev.alloc_zeros::<f32>(2).unwrap(), dev.alloc_zeros::<f32>(2).unwrap());
    gpu_ce::cross_entropy_forward(&dev, &x, 2, 3, &t, -100, &mut loss, &mut lse, Launch::AUTO).unwrap();
    let l = dev.dtoh(&loss).unwrap();
    assert!(l[0].is_nan() && l[1].is_finite(), "{l:?}");
    let mut d = dev.alloc_zeros::<f32>(6).unwrap();
    gpu_ce::cross_entropy_backward(
        &dev,
        &x,
        2,
        3,
        &t,
        -100,
        &lse,
        &dev.htod(&[1.0f32, 1.0]).unwrap(),
        &mut d,
        Launch::AUTO,
    )
    .unwrap();
    let d = dev.dtoh(&d).unwrap();
    assert_eq!(&d[..3], &[0.0, 0.0, 0.0]);
    assert!(d[3..].iter().all(|v| *v != 0.0));
}

#[test]
fn softmax_and_cross_entropy_size_errors_name_the_op() {
    let Some(dev) = device() else { return };
    let x = dev.alloc_zeros::<f32>(6).unwrap();
    let mut out = dev.alloc_zeros::<f32>(5).unwrap();
    let e = gpu::softmax_rows(&dev, &x, 2, 3, &mut out, Launch::AUTO).unwrap_err();
    assert_eq!(e.kernel, "cuda_softmax_rows");
    assert!(e.message.contains("out has 5 elements") && e.message.contains("need 6"), "{e}");
    let t = dev.htod(&[0i64]).unwrap();
    let (mut l, mut s) = (dev.alloc_zeros::<f32>(2).unwrap(), dev.alloc_zeros::<f32>(2).unwrap());
    let e = gpu_ce::cross_entropy_forward(&dev, &x, 2, 3, &t, -100, &mut l, &mut s, Launch::AUTO).unwrap_err();
    assert_eq!(e.kernel, "cuda_cross_entropy_forward");
    assert!(e.message.contains("targets has 1 elements") && e.message.contains("need 2"), "{e}");
}
