//! Reductions against naive f64 references: every subset of axes (given with negative and positive
//! numbers), keepdim, non-contiguous inputs; argmax/argmin and topk with ties.
//!
//! Tolerance: the sum kernels accumulate in f64 and round once, so sums and means agree with the f64
//! reference to f32 rounding of the result: rtol 1e-6, plus atol 1e-6 for sums that cancel to near 0.
//! max / min / argmax / topk select an input element and must match exactly.
mod ops_support;

use engine::{DType, Tensor};
use ops_support::*;

/// Naive reduction: for each output index, fold every input index that maps to it.
fn reference(vals: &[f32], shape: &[usize], dims: &[usize], keepdim: bool, kind: &str) -> (Vec<usize>, Vec<f64>) {
    let kept_shape: Vec<usize> =
        shape.iter().enumerate().map(|(d, &n)| if dims.contains(&d) { 1 } else { n }).collect();
    let count: usize = dims.iter().map(|&d| shape[d]).product();
    let mut acc = vec![
        match kind {
            "max" => f64::NEG_INFINITY,
            "min" => f64::INFINITY,
            _ => 0.0,
        };
        numel(&kept_shape)
    ];
    for idx in all_indices(shape) {
        let o: Vec<usize> = idx.iter().enumerate().map(|(d, &i)| if dims.contains(&d) { 0 } else { i }).collect();
        let a = &mut acc[linear(&kept_shape, &o)];
        let v = vals[linear(shape, &idx)] as f64;
        *a = match kind {
            "max" => a.max(v),
            "min" => a.min(v),
            _ => *a + v,
        };
    }
    if kind == "mean" {
        acc.iter_mut().for_each(|a| *a /= count as f64);
    }
    let out_shape = if keepdim {
        kept_shape
    } else {
        shape.iter().enumerate().filter(|(d, _)| !dims.contains(d)).map(|(_, &n)| n).collect()
    };
    (out_shape, acc)
}

#[test]
fn reductions_over_every_axis_subset() {
    let mut rng = Rng::new(10);
    for shape in [vec![7, 5, 33], vec![1, 7, 1, 3], vec![257], vec![2, 3, 4, 5]] {
        let rank = shape.len();
        let vals = rng.vec(numel(&shape), -2.0, 2.0);
        for mask in 0u32..(1 << rank) {
            let dims: Vec<usize> = (0..rank).filter(|d| mask & (1 << d) != 0).collect();
            // Alternate positive and negative spellings of the same axes.
            let spelled: Vec<isize> = dims
                .iter()
                .enumerate()
                .map(|(i, &d)| if i % 2 == 0 { d as isize - rank as isize } else { d as isize })
                .collect();
            for keepdim in [false, true] {
                for layout in LAYOUTS {
                    let t = make(&vals, &shape, layout);
                    for kind in ["sum", "mean", "max", "min"] {
                        let got = match kind {
                            "sum" => t.sum(&spelled, keepdim),
                            "mean" => t.mean(&spelled, keepdim),
                            "max" => t.max(&spelled, keepdim),
                            _ => t.min(&spelled, keepdim),
                        }
                        .unwrap();
                        let (want_shape, want) = reference(&vals, &shape, &dims, keepdim, kind);
                        let what = format!("{kind} {shape:?} ({layout:?}) dims {spelled:?} keepdim {keepdim}");
                        assert_eq!(got.shape(), want_shape.as_slice(), "{what}");
                        let (atol, rtol) = if kind == "sum" || kind == "mean" { (1e-6, 1e-6) } else { (0.0, 0.0) };
                        assert_close(&got.to_vec::<f32>().unwrap(), &want, atol, rtol, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn whole_tensor_reductions_are_rank_0() {
    let mut rng = Rng::new(11);
    let vals = rng.vec(7 * 33, -1.0, 1.0);
    let t = make(&vals, &[7, 33], Layout::Transposed);
    let total: f64 = vals.iter().map(|&v| v as f64).sum();
    let s = t.sum_all().unwrap();
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_close(&[s.item().unwrap()], &[total], 1e-6, 1e-6, "sum_all");
    assert_close(&[t.mean_all().unwrap().item().unwrap()], &[total / 231.0], 1e-6, 1e-6, "mean_all");
    // A rank-0 input reduces to itself; an empty axis list reduces nothing.
    assert_eq!(Tensor::scalar(3.0).sum_all().unwrap().item().unwrap(), 3.0);
    let same = t.sum(&[], false).unwrap();
    assert_eq!(same.shape(), &[7, 33]);
    assert_eq!(same.to_vec::<f32>().unwrap(), vals);
    // Sums over an empty axis are 0, means NaN, max an error.
    let empty = Tensor::from_vec(Vec::<f32>::new(), &[3, 0]).unwrap();
    assert_eq!(empty.sum(&[1], false).unwrap().to_vec::<f32>().unwrap(), vec![0.0; 3]);
    assert!(empty.mean(&[1], false).unwrap().to_vec::<f32>().unwrap().iter().all(|v| v.is_nan()));
    assert!(err_msg(empty.max(&[1], false)).contains("max: cannot reduce over dimensions [1] of [3, 0]"));
}

#[test]
fn reduction_errors_name_the_op_and_shape() {
    let t = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    assert_eq!(err_msg(t.sum(&[2], false)), "sum: dimension 2 is out of range for a tensor [2, 3] of rank 2");
    assert_eq!(err_msg(t.mean(&[-3], true)), "mean: dimension -3 is out of range for a tensor [2, 3] of rank 2");
    assert!(err_msg(t.max(&[1, -1], false)).contains("max: dimension -1 is repeated in [1, -1] (tensor [2, 3])"));
    assert!(err_msg(t.argmax(5, false)).starts_with("argmax: dimension 5 is out of range"));
    let ids = Tensor::from_vec(vec![0i64; 6], &[2, 3]).unwrap();
    assert!(err_msg(ids.sum(&[0], false)).contains("sum: input [2, 3] has dtype I64 but F32 is required"));
}

/// First index of the largest (or smallest) value along `dim`.
fn arg_reference(vals: &[f32], shape: &[usize], dim: usize, largest: bool) -> Vec<i64> {
    let mut out_shape = shape.to_vec();
    out_shape[dim] = 1;
    all_indices(&out_shape)
        .iter()
        .map(|o| {
            let mut best = 0;
            for i in 1..shape[dim] {
                let mut idx = o.clone();
                idx[dim] = i;
                let v = vals[linear(shape, &idx)];
                idx[dim] = best;
                let b = vals[linear(shape, &idx)];
                if (largest && v > b) || (!largest && v < b) {
                    best = i;
                }
            }
            best as i64
        })
        .collect()
}

#[test]
fn argmax_and_argmin_pick_the_first_of_ties() {
    let mut rng = Rng::new(12);
    for shape in [vec![7, 5, 33], vec![257], vec![1, 7]] {
        let vals = rng.ties(numel(&shape), 3); // three levels: ties everywhere
        for dim in 0..shape.len() {
            for layout in LAYOUTS {
                let t = make(&vals, &shape, layout);
                for (largest, name) in [(true, "argmax"), (false, "argmin")] {
                    let want = arg_reference(&vals, &shape, dim, largest);
                    let neg = dim as isize - shape.len() as isize;
                    let got = if largest { t.argmax(neg, true) } else { t.argmin(neg, true) }.unwrap();
                    let mut keep_shape = shape.clone();
                    keep_shape[dim] = 1;
                    assert_eq!(got.dtype(), DType::I64);
                    assert_eq!(got.shape(), keep_shape.as_slice());
                    assert_eq!(got.to_vec::<i64>().unwrap(), want, "{name} {shape:?} dim {dim} ({layout:?})");
                    let flat =
                        if largest { t.argmax(dim as isize, false) } else { t.argmin(dim as isize, false) }.unwrap();
                    keep_shape.remove(dim);
                    assert_eq!(flat.shape(), keep_shape.as_slice());
                    // Integer data takes the generic path and must agree.
                    let ints: Vec<i64> = vals.iter().map(|&v| v as i64).collect();
                    let ti = make(&ints, &shape, layout);
                    let gi = if largest { ti.argmax(neg, true) } else { ti.argmin(neg, true) }.unwrap();
                    assert_eq!(gi.to_vec::<i64>().unwrap(), want, "{name} on I64");
                }
            }
        }
    }
    // NaN counts as the largest value, as in torch.argmax.
    let t = Tensor::from_vec(vec![1f32, f32::NAN, 3.0], &[3]).unwrap();
    assert_eq!(t.argmax(0, false).unwrap().to_vec::<i64>().unwrap(), vec![1]);
}

#[test]
fn topk_sorted_descending_with_ties_by_lower_index() {
    let mut rng = Rng::new(13);
    for shape in [vec![7, 5, 33], vec![257], vec![3, 1]] {
        for levels in [4, 1000] {
            let vals = rng.ties(numel(&shape), levels);
            for dim in 0..shape.len() {
                let size = shape[dim];
                for k in [0, 1, size.min(3), size] {
                    for layout in [Layout::Contiguous, Layout::Transposed, Layout::Permuted] {
                        let t = make(&vals, &shape, layout);
                        let (values, indices) = t.topk(k, dim as isize - shape.len() as isize).unwrap();
                        let mut out_shape = shape.clone();
                        out_shape[dim] = k;
                        assert_eq!(values.shape(), out_shape.as_slice());
                        assert_eq!(indices.shape(), out_shape.as_slice());
                        // Reference: a stable sort of each line by descending value.
                        let mut want_v = vec![0f64; numel(&out_shape)];
                        let mut want_i = vec![0i64; numel(&out_shape)];
                        let mut line_shape = shape.clone();
                        line_shape[dim] = 1;
                        for o in all_indices(&line_shape) {
                            let line: Vec<(usize, f32)> = (0..size)
                                .map(|i| {
                                    let mut idx = o.clone();
                                    idx[dim] = i;
                                    (i, vals[linear(&shape, &idx)])
                                })
                                .collect();
                            let mut sorted = line.clone();
                            sorted.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
                            for (j, &(i, v)) in sorted.iter().take(k).enumerate() {
                                let mut idx = o.clone();
                                idx[dim] = j;
                                want_v[linear(&out_shape, &idx)] = v as f64;
                                want_i[linear(&out_shape, &idx)] = i as i64;
                            }
                        }
                        let what = format!("topk k={k} {shape:?} dim {dim} ({layout:?})");
                        assert_close(&values.to_vec::<f32>().unwrap(), &want_v, 0.0, 0.0, &what);
                        assert_eq!(indices.to_vec::<i64>().unwrap(), want_i, "{what}");
                    }
                }
            }
        }
    }
    let t = Tensor::from_vec(vec![0f32; 4], &[4]).unwrap();
    assert_eq!(err_msg(t.topk(5, 0)), "topk: k = 5 exceeds the size 4 of dimension 0 of [4]");
}

#[test]
fn reductions_read_expanded_views() {
    // A stride-0 (expanded) input: every reduction must see the repeated row, not the storage.
    let mut rng = Rng::new(14);
    let row_vals = rng.vec(33, -1.0, 1.0);
    let row = Tensor::from_vec(row_vals.clone(), &[1, 33]).unwrap();
    let expanded = row.expand(&[7, 33]).unwrap();
    let col_sums: Vec<f64> = row_vals.iter().map(|&v| 7.0 * v as f64).collect();
    assert_close(
        &expanded.sum(&[0], false).unwrap().to_vec::<f32>().unwrap(),
        &col_sums,
        1e-6,
        1e-6,
        "sum of expanded",
    );
    let row_max = row_vals.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    assert_close(
        &expanded.max(&[-1], false).unwrap().to_vec::<f32>().unwrap(),
        &[row_max; 7],
        0.0,
        0.0,
        "max of expanded",
    );
    let first_max = row_vals.iter().position(|&v| v as f64 == row_max).unwrap() as i64;
    assert_eq!(expanded.argmax(1, false).unwrap().to_vec::<i64>().unwrap(), vec![first_max; 7]);
    let (_, idx) = expanded.topk(1, 0).unwrap();
    assert_eq!(idx.to_vec::<i64>().unwrap(), vec![0; 33], "ties along a broadcast dim go to index 0");
}

#[test]
fn sum_to_undoes_a_broadcast() {
    let mut rng = Rng::new(15);
    let big = [7, 5, 33];
    let vals = rng.vec(numel(&big), -1.0, 1.0);
    for small in
        [vec![7, 1, 33], vec![1, 5, 1], vec![33], vec![5, 1], vec![], vec![7, 5, 33], vec![1, 1, 1, 1][1..].to_vec()]
    {
        let mut want = vec![0.0f64; numel(&small)];
        for idx in all_indices(&big) {
            want[broadcast_linear(&small, &idx)] += vals[linear(&big, &idx)] as f64;
        }
        for layout in LAYOUTS {
            let got = make(&vals, &big, layout).sum_to(&small).unwrap();
            assert_eq!(got.shape(), small.as_slice());
            assert_close(&got.to_vec::<f32>().unwrap(), &want, 1e-6, 1e-6, &format!("sum_to {small:?} ({layout:?})"));
        }
    }
    let t = Tensor::from_vec(vals, &big).unwrap();
    assert_eq!(err_msg(t.sum_to(&[2, 33])), "sum_to: [7, 5, 33] was not broadcast from [2, 33]");
    assert!(err_msg(t.sum_to(&[1, 7, 5, 33])).contains("was not broadcast from [1, 7, 5, 33]"));
}
