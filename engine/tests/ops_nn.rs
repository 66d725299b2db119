//! Softmax, log-softmax, layer norm and the fused cross-entropy, forward and backward, against naive f64
//! references on odd sizes, every dim (negative too) and non-contiguous inputs.
//!
//! Tolerances: softmax outputs lie in [0, 1] and come from an f32 exp (a few ulp) normalised by an f32
//! or f64 sum: atol 1e-6 with rtol 1e-5. Log-softmax and cross-entropy subtract a logsumexp of magnitude
//! up to ~10: atol 1e-5. Layer norm divides by a standard deviation computed in f32 from inputs of
//! magnitude ~3: outputs of magnitude ~3 carry ~1e-6 relative error, so atol 1e-5 and rtol 1e-5;
//! its backward sums D products: atol 1e-4 for D = 257.
mod ops_support;

use engine::Tensor;
use ops_support::*;

/// Applies `f` to every line along `dim` of a row-major buffer, writing the line's result in place.
fn along_dim(vals: &[f64], shape: &[usize], dim: usize, mut f: impl FnMut(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let mut out = vec![0.0; vals.len()];
    let mut line_shape = shape.to_vec();
    line_shape[dim] = 1;
    for o in all_indices(&line_shape) {
        let positions: Vec<usize> = (0..shape[dim])
            .map(|i| {
                let mut idx = o.clone();
                idx[dim] = i;
                linear(shape, &idx)
            })
            .collect();
        let line: Vec<f64> = positions.iter().map(|&p| vals[p]).collect();
        for (&p, v) in positions.iter().zip(f(&line)) {
            out[p] = v;
        }
    }
    out
}

fn softmax_line(x: &[f64]) -> Vec<f64> {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = x.iter().map(|v| (v - m).exp()).sum();
    x.iter().map(|v| (v - m).exp() / s).collect()
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

#[test]
fn softmax_and_log_softmax_along_every_dim() {
    let mut rng = Rng::new(30);
    for shape in [vec![7, 5, 33], vec![257], vec![1, 1], vec![3, 1, 7]] {
        let vals = rng.vec(numel(&shape), -8.0, 8.0);
        let dy_vals = rng.vec(numel(&shape), -1.0, 1.0);
        let wide = widen(&vals);
        for dim in 0..shape.len() {
            let sm = along_dim(&wide, &shape, dim, softmax_line);
            let lsm: Vec<f64> = sm.iter().map(|v| v.ln()).collect();
            // Backward references: dx = y (dy - <dy, y>) and dx = dy - softmax * sum(dy).
            let dyw = widen(&dy_vals);
            let mut sm_back = vec![0.0; sm.len()];
            let mut lsm_back = vec![0.0; sm.len()];
            let mut line_shape = shape.clone();
            line_shape[dim] = 1;
            for o in all_indices(&line_shape) {
                let pos: Vec<usize> = (0..shape[dim])
                    .map(|i| {
                        let mut idx = o.clone();
                        idx[dim] = i;
                        linear(&shape, &idx)
                    })
                    .collect();
                let dot: f64 = pos.iter().map(|&p| dyw[p] * sm[p]).sum();
                let sum: f64 = pos.iter().map(|&p| dyw[p]).sum();
                for &p in &pos {
                    sm_back[p] = sm[p] * (dyw[p] - dot);
                    lsm_back[p] = dyw[p] - sm[p] * sum;
                }
            }
            for layout in LAYOUTS {
                let t = make(&vals, &shape, layout);
                let spelled = if dim % 2 == 0 { dim as isize - shape.len() as isize } else { dim as isize };
                let what = format!("{shape:?} ({layout:?}) dim {spelled}");
                let y = t.softmax(spelled).unwrap();
                assert_eq!(y.shape(), shape.as_slice());
                assert_close(&y.to_vec::<f32>().unwrap(), &sm, 1e-6, 1e-5, &format!("softmax {what}"));
                let ly = t.log_softmax(spelled).unwrap();
                assert_close(&ly.to_vec::<f32>().unwrap(), &lsm, 1e-5, 1e-6, &format!("log_softmax {what}"));
                let dy = make(&dy_vals, &shape, layout);
                let dx = y.softmax_backward(&dy, spelled).unwrap();
                assert_close(&dx.to_vec::<f32>().unwrap(), &sm_back, 1e-6, 1e-5, &format!("softmax_backward {what}"));
                let dx = ly.log_softmax_backward(&dy, spelled).unwrap();
                assert_close(
                    &dx.to_vec::<f32>().unwrap(),
                    &lsm_back,
                    1e-6,
                    1e-5,
                    &format!("log_softmax_backward {what}"),
                );
            }
        }
    }
    let t = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    assert_eq!(err_msg(t.softmax(2)), "softmax: dimension 2 is out of range for a tensor [2, 3] of rank 2");
    let dy = Tensor::from_vec(vec![0f32; 3], &[3]).unwrap();
    assert!(
        err_msg(t.softmax_backward(&dy, -1)).contains("softmax_backward: y [2, 3] and dy [3] must have the same shape")
    );
}

#[test]
fn layer_norm_forward_and_backward() {
    let mut rng = Rng::new(31);
    let eps = 1e-5f64;
    for shape in [vec![7, 33], vec![3, 5, 257], vec![1, 1], vec![4, 7]] {
        let d = *shape.last().unwrap();
        let rows = numel(&shape) / d;
        let vals = rng.vec(numel(&shape), -3.0, 3.0);
        let g_vals = rng.vec(d, 0.5, 1.5);
        let b_vals = rng.vec(d, -0.5, 0.5);
        let dy_vals = rng.vec(numel(&shape), -1.0, 1.0);
        for with_params in [false, true] {
            // Reference, row by row in f64.
            let (mut out, mut means, mut rstds) = (vec![0.0; vals.len()], vec![0.0; rows], vec![0.0; rows]);
            let (mut dx, mut dgamma, mut dbeta) = (vec![0.0; vals.len()], vec![0.0; d], vec![0.0; d]);
            for r in 0..rows {
                let x: Vec<f64> = vals[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
                let mean = x.iter().sum::<f64>() / d as f64;
                let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
                let rstd = 1.0 / (var + eps).sqrt();
                means[r] = mean;
                rstds[r] = rstd;
                let xhat: Vec<f64> = x.iter().map(|v| (v - mean) * rstd).collect();
                let g = |j: usize| if with_params { g_vals[j] as f64 } else { 1.0 };
                let dyr: Vec<f64> = dy_vals[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
                let gdy: Vec<f64> = (0..d).map(|j| g(j) * dyr[j]).collect();
                let mean_gdy = gdy.iter().sum::<f64>() / d as f64;
                let mean_gdy_xhat = (0..d).map(|j| gdy[j] * xhat[j]).sum::<f64>() / d as f64;
                for j in 0..d {
                    let beta = if with_params { b_vals[j] as f64 } else { 0.0 };
                    out[r * d + j] = xhat[j] * g(j) + beta;
                    dx[r * d + j] = rstd * (gdy[j] - mean_gdy - xhat[j] * mean_gdy_xhat);
                    dgamma[j] += dyr[j] * xhat[j];
                    dbeta[j] += dyr[j];
                }
            }
            let gamma = Tensor::from_vec(g_vals.clone(), &[d]).unwrap();
            let beta = Tensor::from_vec(b_vals.clone(), &[d]).unwrap();
            let (gp, bp) = if with_params { (Some(&gamma), Some(&beta)) } else { (None, None) };
            for layout in LAYOUTS {
                let what = format!("layer_norm {shape:?} ({layout:?}) params {with_params}");
                let x = make(&vals, &shape, layout);
                let (y, mean, rstd) = x.layer_norm_forward(gp, bp, eps as f32).unwrap();
                assert_eq!(mean.shape(), &shape[..shape.len() - 1]);
                assert_close(&y.to_vec::<f32>().unwrap(), &out, 1e-5, 1e-5, &what);
                assert_close(&mean.to_vec::<f32>().unwrap(), &means, 1e-6, 1e-6, &format!("{what} mean"));
                assert_close(&rstd.to_vec::<f32>().unwrap(), &rstds, 1e-6, 1e-5, &format!("{what} rstd"));
                assert_eq!(
                    x.layer_norm(gp, bp, eps as f32).unwrap().to_vec::<f32>().unwrap(),
                    y.to_vec::<f32>().unwrap()
                );
                let dy = make(&dy_vals, &shape, layout);
                let (gx, gg, gb) = x.layer_norm_backward(gp, &mean, &rstd, &dy).unwrap();
                assert_close(&gx.to_vec::<f32>().unwrap(), &dx, 1e-4, 1e-4, &format!("{what} dx"));
                assert_close(&gg.to_vec::<f32>().unwrap(), &dgamma, 1e-4, 1e-5, &format!("{what} dgamma"));
                assert_close(&gb.to_vec::<f32>().unwrap(), &dbeta, 1e-4, 1e-5, &format!("{what} dbeta"));
            }
        }
    }
    let x = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    let bad = Tensor::from_vec(vec![1f32; 2], &[2]).unwrap();
    assert_eq!(
        err_msg(x.layer_norm(Some(&bad), None, 1e-5)),
        "layer_norm: gamma [2] must have shape [3] to match x [2, 3]"
    );
    let (_, mean, rstd) = x.layer_norm_forward(None, None, 1e-5).unwrap();
    assert!(err_msg(x.layer_norm_backward(None, &rstd, &mean, &bad))
        .contains("layer_norm_backward: dy [2] must have the shape of x [2, 3]"));
    assert!(err_msg(x.layer_norm_backward(None, &bad.reshape(&[1, 2]).unwrap(), &rstd, &x))
        .contains("mean [1, 2] must have shape [2]"));
}

#[test]
fn cross_entropy_with_ignore_index() {
    let mut rng = Rng::new(32);
    let ignore = -100i64;
    for (n, c) in [(33, 257), (7, 1), (1, 33), (5, 7)] {
        let logits_vals = rng.vec(n * c, -5.0, 5.0);
        let targets: Vec<i64> = (0..n).map(|i| if i % 3 == 1 { ignore } else { rng.below(c) as i64 }).collect();
        let dloss_vals = rng.vec(n, 0.0, 1.0);
        // Reference in f64.
        let (mut loss, mut lse, mut dlogits) = (vec![0.0; n], vec![0.0; n], vec![0.0; n * c]);
        let (mut total, mut valid) = (0.0, 0);
        for r in 0..n {
            let row: Vec<f64> = logits_vals[r * c..(r + 1) * c].iter().map(|&v| v as f64).collect();
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            lse[r] = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            if targets[r] == ignore {
                continue;
            }
            loss[r] = lse[r] - row[targets[r] as usize];
            total += loss[r];
            valid += 1;
            for j in 0..c {
                let onehot = if j as i64 == targets[r] { 1.0 } else { 0.0 };
                dlogits[r * c + j] = dloss_vals[r] as f64 * ((row[j] - lse[r]).exp() - onehot);
            }
        }
        let target_t = Tensor::from_vec(targets.clone(), &[n]).unwrap();
        let dloss = Tensor::from_vec(dloss_vals.clone(), &[n]).unwrap();
        for layout in LAYOUTS {
            let what = format!("cross_entropy [{n}, {c}] ({layout:?})");
            let logits = make(&logits_vals, &[n, c], layout);
            let out = logits.cross_entropy(&target_t, ignore).unwrap();
            assert_close(&out.loss_per_row.to_vec::<f32>().unwrap(), &loss, 1e-5, 1e-6, &format!("{what} loss"));
            // The kernel may skip the logsumexp of ignored rows; compare the rows it must fill.
            let got_lse = out.logsumexp.to_vec::<f32>().unwrap();
            for r in (0..n).filter(|&r| targets[r] != ignore) {
                assert_close(&got_lse[r..r + 1], &lse[r..r + 1], 1e-5, 1e-6, &format!("{what} logsumexp row {r}"));
            }
            assert_eq!(out.valid_rows, valid);
            assert_close(&[out.mean_loss], &[total / valid as f64], 1e-5, 1e-6, &format!("{what} mean"));
            let d = logits.cross_entropy_backward(&target_t, ignore, &out.logsumexp, &dloss).unwrap();
            assert_eq!(d.shape(), &[n, c]);
            assert_close(&d.to_vec::<f32>().unwrap(), &dlogits, 1e-6, 1e-5, &format!("{what} dlogits"));
        }
    }
    // Every row ignored: mean 0, gradient 0.
    let logits = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let all_ignored = Tensor::from_vec(vec![-1i64, -1], &[2]).unwrap();
    let out = logits.cross_entropy(&all_ignored, -1).unwrap();
    assert_eq!((out.mean_loss, out.valid_rows), (0.0, 0));
    let ones = Tensor::from_vec(vec![1f32, 1.0], &[2]).unwrap();
    let d = logits.cross_entropy_backward(&all_ignored, -1, &out.logsumexp, &ones).unwrap();
    assert_eq!(d.to_vec::<f32>().unwrap(), vec![0.0; 4]);
    // Errors: out-of-range targets (including negative ones that are not ignore_index), shapes, dtype.
    let bad = Tensor::from_vec(vec![0i64, 2], &[2]).unwrap();
    assert_eq!(
        err_msg(logits.cross_entropy(&bad, -100)),
        "cross_entropy: target 2 at row 1 is out of range for 2 classes (logits [2, 2], ignore_index -100)"
    );
    let negative = Tensor::from_vec(vec![-1i64, 0], &[2]).unwrap();
    assert!(err_msg(logits.cross_entropy(&negative, -100)).contains("target -1 at row 0 is out of range"));
    assert!(err_msg(logits.cross_entropy_backward(&bad, -100, &ones, &ones))
        .starts_with("cross_entropy_backward: target 2"));
    let short = Tensor::from_vec(vec![0i64], &[1]).unwrap();
    assert_eq!(
        err_msg(logits.cross_entropy(&short, -100)),
        "cross_entropy: logits [2, 2] must be [N, C] and targets [1] must be [N]"
    );
    let float_targets = Tensor::from_vec(vec![0f32, 1.0], &[2]).unwrap();
    assert!(
        err_msg(logits.cross_entropy(&float_targets, -100)).contains("targets [2] has dtype F32 but I64 is required")
    );
    let three = Tensor::from_vec(vec![0f32; 3], &[3]).unwrap();
    assert!(
        err_msg(logits.cross_entropy_backward(&all_ignored, -1, &three, &ones)).contains("logsumexp [3] must be [2]")
    );
}

#[test]
fn softmax_and_layer_norm_read_expanded_views() {
    let mut rng = Rng::new(33);
    let row_vals = rng.vec(33, -2.0, 2.0);
    let expanded = Tensor::from_vec(row_vals.clone(), &[33]).unwrap().expand(&[5, 33]).unwrap();
    let want_row = softmax_line(&widen(&row_vals));
    let want: Vec<f64> = (0..5).flat_map(|_| want_row.clone()).collect();
    assert_close(&expanded.softmax(-1).unwrap().to_vec::<f32>().unwrap(), &want, 1e-6, 1e-5, "softmax of expanded");
    // Along the broadcast dim every entry is the same: a uniform 1/5.
    assert_close(
        &expanded.softmax(0).unwrap().to_vec::<f32>().unwrap(),
        &[0.2; 5 * 33],
        1e-7,
        1e-6,
        "softmax over repeats",
    );
    let y = expanded.layer_norm(None, None, 1e-5).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(&y[..33], &y[33..66]);
}
