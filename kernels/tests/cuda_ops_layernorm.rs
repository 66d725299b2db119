//! GPU LayerNorm forward and backward against `kernels::layernorm_forward` / `layernorm_backward`: with
//! and without gamma/beta, every combination of requested parameter gradients, rows with a large mean,
//! odd widths, launch configurations (block size of the row kernels, row chunks of the parameter
//! gradients). Prints "skipping: <reason>" and passes without a GPU.
//!
//! Tolerances: forward outputs 1e-5 absolute + 1e-5 relative, plus 2 ulp of the row mean times rstd·|gamma|
//! (both sides round the mean to f32 once; on a row with mean 100 one ulp is 7.6e-6); mean 2 ulp of itself
//! plus 1e-6; rstd 1e-5 relative. Backward: dx 2e-5 absolute + 1e-5 relative; dgamma/dbeta 1e-5 relative
//! to the column's sum of |terms|, plus 1e-6.
#![cfg(feature = "cuda")]

mod cuda_ops_common;

use cuda_ops_common::{assert_close, device, Rng};
use kernels::cuda::ops::launch::Launch;
use kernels::cuda::ops::layernorm as gpu;
use kernels::cuda::{CudaSlice, DeviceBuffer};

const SHAPES: &[(usize, usize)] =
    &[(1, 1), (1, 7), (7, 3), (33, 33), (5, 257), (300, 64), (64, 768), (3, 4099), (2, 1024)];
const LAUNCHES: [Launch; 3] = [Launch::AUTO, Launch { threads: 32, blocks: 1 }, Launch { threads: 1024, blocks: 7 }];

/// Rows of N(0, 1)-ish values, every third row shifted by 100 (a large mean relative to its spread).
fn input(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    let mut x = rng.vec(rows * cols, -2.0, 2.0);
    for r in (0..rows).step_by(3) {
        for v in &mut x[r * cols..(r + 1) * cols] {
            *v += 100.0;
        }
    }
    x
}

#[test]
fn layernorm_forward_matches_cpu_with_and_without_affine() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(30);
    for &(rows, cols) in SHAPES {
        let x = input(&mut rng, rows, cols);
        let (g, b) = (rng.vec(cols, 0.5, 1.5), rng.vec(cols, -1.0, 1.0));
        let (xd, gd, bd) = (dev.htod(&x).unwrap(), dev.htod(&g).unwrap(), dev.htod(&b).unwrap());
        for (use_g, use_b) in [(true, true), (false, false), (true, false), (false, true)] {
            let (gc, bc) = (use_g.then_some(g.as_slice()), use_b.then_some(b.as_slice()));
            let (mut out, mut mean, mut rstd) = (vec![0.0; rows * cols], vec![0.0; rows], vec![0.0; rows]);
            kernels::layernorm_forward(&x, gc, bc, rows, cols, 1e-5, &mut out, &mut mean, &mut rstd).unwrap();
            for launch in LAUNCHES {
                let what = format!("layernorm forward {rows}x{cols} gamma {use_g} beta {use_b} {launch:?}");
                let mut o = dev.alloc_zeros::<f32>(rows * cols).unwrap();
                let (mut m, mut s) = (dev.alloc_zeros::<f32>(rows).unwrap(), dev.alloc_zeros::<f32>(rows).unwrap());
                let gopt: Option<&dyn kernels::cuda::ops::launch::DeviceIn<f32>> = if use_g { Some(&gd) } else { None };
                let bopt: Option<&dyn kernels::cuda::ops::launch::DeviceIn<f32>> = if use_b { Some(&bd) } else { None };
                gpu::layernorm_forward(&dev, &xd, gopt, bopt, rows, cols, 1e-5, &mut o, &mut m, &mut s, launch)
                    .unwrap();
                let (go, gm, gs) = (dev.dtoh(&o).unwrap(), dev.dtoh(&m).unwrap(), dev.dtoh(&s).unwrap());
                for r in 0..rows {
                    assert!(
                        (gm[r] - mean[r]).abs() <= 2.4e-7 * mean[r].abs() + 1e-6,
                        "{what} mean row {r}: {} vs cpu {}",
                        gm[r],
                        mean[r]
                    );
                    assert!(
                        (gs[r] - rstd[r]).abs() <= 1e-5 * rstd[r],
                        "{what} rstd row {r}: {} vs cpu {}",
                        gs[r],
                        rstd[r]
                    );
                    for c in 0..cols {
                        let (gv, wv) = (go[r * cols + c], out[r * cols + c]);
                        let scale = if use_g { g[c].abs() } else { 1.0 };
                        let tol = 1e-5 + 1e-5 * wv.abs() + 2.4e-7 * mean[r].abs() * rstd[r] * scale;
                        assert!((gv - wv).abs() <= tol, "{what} out[{r}, {c}]: {gv} vs cpu {wv} (tol {tol})");
                    }
                }
            }
        }
    }
}

/// Copies a device buffer back only when present.
fn maybe(dev: &kernels::cuda::CudaDevice, b: &Option<DeviceBuffer<f32>>) -> Option<Vec<f32>> {
    b.as_ref().map(|b| dev.dtoh(b).unwrap())
}

#[test]
fn layernorm_backward_matches_cpu_for_every_requested_gradient() {
    let Some(dev) = device() else { return };
    let mut rng = Rng::new(31);
    for &(rows, cols) in SHAPES {
        let x = input(&mut rng, rows, cols);
        let g = rng.vec(cols, 0.5, 1.5);
        let (mut out, mut mean, mut rstd) = (vec![0.0; rows * cols], vec![0.0; rows], vec![0.0; rows]);
        kernels::layernorm_forward(&x, Some(&g), None, rows, cols, 1e-5, &mut out, &mut mean, &mut rstd).unwrap();
        let dy = rng.vec(rows * cols, -1.0, 1.0);
        let (dx0, dg0, db0) = (rng.vec(rows * cols, -0.5, 0.5), rng.vec(cols, -0.5, 0.5), rng.vec(cols, -0.5, 0.5));
        let (xd, gd, md, sd, dyd) = (
            dev.htod(&x).unwrap(),
            dev.htod(&g).unwrap(),
            dev.htod(&mean).unwrap(),
            dev.htod(&rstd).unwrap(),
            dev.htod(&dy).unwrap(),
        );
        // Column scales for the parameter-gradient tolerances: sum over rows of |dy xhat| and |dy|.
        let (mut sg, mut sb) = (vec![0.0f32; cols], vec![0.0f32; cols]);
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                sg[c] += (dy[i] * (x[i] - mean[r]) * rstd[r]).abs();
                sb[c] += dy[i].abs();
            }
        }
        for (use_g, want_dg, want_db) in
            [(true, true, true), (false, true, false), (true, false, true), (false, false, false)]
        {
            let mut want_dx = dx0.clone();
            let (mut want_g, mut want_b) = (dg0.clone(), db0.clone());
            kernels::layernorm_backward(
                &x,
                use_g.then_some(g.as_slice()),
                &mean,
                &rstd,
                &dy,
                rows,
                cols,
                &mut want_dx,
                want_dg.then_some(want_g.as_mut_slice()),
                want_db.then_some(want_b.as_mut_slice()),
            )
            .unwrap();
            for launch in LAUNCHES {
                let what = format!(
                    "layernorm backward {rows}x{cols} gamma {use_g} dgamma {want_dg} dbeta {want_db} {launch:?}"
                );
                let mut dx = dev.htod(&dx0).unwrap();
                let mut dg: Option<CudaSlice<f32>> = want_dg.then(|| dev.htod(&dg0).unwrap());
                let mut db: Option<CudaSlice<f32>> = want_db.then(|| dev.htod(&db0).unwrap());
                let gopt: Option<&dyn kernels::cuda::ops::launch::DeviceIn<f32>> = if use_g { Some(&gd) } else { None };
                gpu::layernorm_backward(
                    &dev,
                    &xd,
                    gopt,
                    &md,
                    &sd,
                    &dyd,
                    rows,
                    cols,
                    &mut dx,
                    dg.as_mut().map(|b| b as &mut dyn kernels::cuda::ops::launch::DeviceOut<f32>),
                    db.as_mut().map(|b| b as &mut dyn kernels::cuda::ops::launch::DeviceOut<f32>),
                    launch,
                )
                .unwrap();
                assert_close(&format!("{what} dx"), &dev.dtoh(&dx).unwrap(), &want_dx, 2e-5, 1e-5);
                if let Some(got) = maybe(&dev, &dg) {
                    for c in 0..cols {
                        let tol = 1e-5 * sg[c] + 1e-6;
                        assert!(
                            (got[c] - want_g[c]).abs() <= tol,
                            "{what} dgamma[{c}]: {} vs cpu {}",
                            got[c],
                            want_g[c]
                        );
                    }
                }
                if let Some(got) = maybe(&dev, &db) {
                    for c in 0..cols {
                        let tol = 1e-5 * sb[c] + 1e-6;
                        assert!(
                            (got[c] - want_b[c]).abs() <= tol,
                            "{what} dbeta[{c}]: {} vs cpu {}",
                            got[c],
                            want_b[c]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn layernorm_size_errors_name_the_op() {
    let Some(dev) = device() else { return };
    let x = dev.alloc_zeros::<f32>(12).unwrap();
    let g = dev.alloc_zeros::<f32>(3).unwrap();
    let (mut o, mut m, mut s) =
        (dev.alloc_zeros::<f32>(12).unwrap(), dev.alloc_zeros::<f32>(3).unwrap(), dev.alloc_zeros::<f32>(3).unwrap());
    let e =
        gpu::layernorm_forward(&dev, &x, Some(&g), None, 3, 4, 1e-5, &mut o, &mut m, &mut s, Launch::AUTO).unwrap_err();
    assert_eq!(e.kernel, "cuda_layernorm_forward");
    assert!(e.message.contains("gamma has 3 elements but cols is 4"), "{e}");
    let mut dx = dev.alloc_zeros::<f32>(11).unwrap();
    let e = gpu::layernorm_backward(&dev, &x, None, &m, &s, &x, 3, 4, &mut dx, None, None, Launch::AUTO).unwrap_err();
    assert_eq!(e.kernel, "cuda_layernorm_backward");
    assert!(e.message.contains("dx has 11 elements"), "{e}");
}
