//! Indexing and joining ops against naive references: embedding and its backward, index_select, gather /
//! scatter_add, index_add, masked_fill / where_cond with broadcasting, cat / stack / split / chunk.
//! These ops move or add whole elements: results must match exactly, except sums of several f32 terms
//! (embedding backward, scatter_add, index_add with repeated indices), checked to 1e-6.
mod ops_support;

use engine::{DType, Tensor};
use ops_support::*;

#[test]
fn embedding_forward_and_backward() {
    let mut rng = Rng::new(40);
    for (vocab, dim, ids_shape) in [(33, 7, vec![3, 5]), (257, 1, vec![33]), (1, 33, vec![2, 1, 3])] {
        let table_vals = rng.vec(vocab * dim, -1.0, 1.0);
        let ids: Vec<i64> = (0..numel(&ids_shape)).map(|_| rng.below(vocab) as i64).collect();
        let mut want = Vec::new();
        for &id in &ids {
            want.extend(table_vals[id as usize * dim..(id as usize + 1) * dim].iter().map(|&v| v as f64));
        }
        let dout_vals = rng.vec(ids.len() * dim, -1.0, 1.0);
        let mut dtable = vec![0.0f64; vocab * dim];
        for (p, &id) in ids.iter().enumerate() {
            for j in 0..dim {
                dtable[id as usize * dim + j] += dout_vals[p * dim + j] as f64;
            }
        }
        let mut out_shape = ids_shape.clone();
        out_shape.push(dim);
        for layout in LAYOUTS {
            let table = make(&table_vals, &[vocab, dim], layout);
            let id_t = make(&ids, &ids_shape, layout);
            let e = table.embedding(&id_t).unwrap();
            assert_eq!(e.shape(), out_shape.as_slice());
            assert_close(&e.to_vec::<f32>().unwrap(), &want, 0.0, 0.0, &format!("embedding ({layout:?})"));
            let dout = make(&dout_vals, &out_shape, layout);
            let d = dout.embedding_backward(&id_t, vocab).unwrap();
            assert_eq!(d.shape(), &[vocab, dim]);
            assert_close(&d.to_vec::<f32>().unwrap(), &dtable, 1e-6, 1e-6, &format!("embedding_backward ({layout:?})"));
        }
    }
    let table = Tensor::from_vec(vec![0f32; 6], &[3, 2]).unwrap();
    let bad = Tensor::from_vec(vec![0i64, -1], &[2]).unwrap();
    assert_eq!(err_msg(table.embedding(&bad)), "embedding: index -1 is out of range 0..3 (table [3, 2], ids [2])");
    let too_big = Tensor::from_vec(vec![3i64], &[1]).unwrap();
    assert!(err_msg(table.embedding(&too_big)).contains("index 3 is out of range 0..3"));
    let float_ids = Tensor::from_vec(vec![0f32], &[1]).unwrap();
    assert!(err_msg(table.embedding(&float_ids)).contains("embedding: index [1] has dtype F32 but I64 is required"));
    let dout = Tensor::from_vec(vec![0f32; 4], &[2, 2]).unwrap();
    assert!(err_msg(dout.embedding_backward(&too_big, 3))
        .contains("embedding_backward: dout [2, 2] must be ids [1] with one more dimension"));
}

#[test]
fn index_select_along_every_dim_and_dtype() {
    let mut rng = Rng::new(41);
    let shape = [7, 5, 33];
    let vals = rng.vec(numel(&shape), -1.0, 1.0);
    let ints: Vec<i64> = (0..numel(&shape) as i64).collect();
    for dim in 0..3 {
        let picks: Vec<i64> = (0..9).map(|_| rng.below(shape[dim]) as i64).collect(); // repeats likely
        let mut out_shape = shape.to_vec();
        out_shape[dim] = picks.len();
        let source_of = |idx: &[usize]| {
            let mut s = idx.to_vec();
            s[dim] = picks[idx[dim]] as usize;
            linear(&shape, &s)
        };
        let want: Vec<f64> = all_indices(&out_shape).iter().map(|i| vals[source_of(i)] as f64).collect();
        let want_i: Vec<i64> = all_indices(&out_shape).iter().map(|i| ints[source_of(i)]).collect();
        let index = Tensor::from_vec(picks.clone(), &[picks.len()]).unwrap();
        for layout in LAYOUTS {
            let neg = dim as isize - 3;
            let got = make(&vals, &shape, layout).index_select(neg, &index).unwrap();
            assert_eq!(got.shape(), out_shape.as_slice());
            assert_close(
                &got.to_vec::<f32>().unwrap(),
                &want,
                0.0,
                0.0,
                &format!("index_select dim {neg} ({layout:?})"),
            );
            let got_i = make(&ints, &shape, layout).index_select(dim as isize, &index).unwrap();
            assert_eq!(got_i.dtype(), DType::I64);
            assert_eq!(got_i.to_vec::<i64>().unwrap(), want_i);
        }
    }
    let t = Tensor::from_vec(vals, &shape).unwrap();
    let bad = Tensor::from_vec(vec![5i64], &[1]).unwrap();
    assert_eq!(
        err_msg(t.index_select(1, &bad)),
        "index_select: index 5 is out of range 0..5 (dimension 1 of [7, 5, 33])"
    );
    let two_d = Tensor::from_vec(vec![0i64; 2], &[1, 2]).unwrap();
    assert!(err_msg(t.index_select(0, &two_d)).contains("index [1, 2] must be 1-D"));
}

#[test]
fn gather_and_scatter_add_follow_pytorch() {
    let mut rng = Rng::new(42);
    let shape = [7, 5, 33];
    let vals = rng.vec(numel(&shape), -1.0, 1.0);
    for dim in 0..3 {
        // An index smaller than the input outside `dim` and of any length along it.
        let index_shape: Vec<usize> = (0..3).map(|d| if d == dim { 4 } else { shape[d] - 1 }).collect();
        let idx: Vec<i64> = (0..numel(&index_shape)).map(|_| rng.below(shape[dim]) as i64).collect();
        let target = |i: &[usize]| {
            let mut s = i.to_vec();
            s[dim] = idx[linear(&index_shape, i)] as usize;
            linear(&shape, &s)
        };
        let want: Vec<f64> = all_indices(&index_shape).iter().map(|i| vals[target(i)] as f64).collect();
        let src_vals = rng.vec(numel(&index_shape), -1.0, 1.0);
        let mut scattered: Vec<f64> = vals.iter().map(|&v| v as f64).collect();
        for i in all_indices(&index_shape) {
            scattered[target(&i)] += src_vals[linear(&index_shape, &i)] as f64;
        }
        for layout in LAYOUTS {
            let what = format!("dim {dim} ({layout:?})");
            let x = make(&vals, &shape, layout);
            let index = make(&idx, &index_shape, layout);
            let got = x.gather(dim as isize - 3, &index).unwrap();
            assert_eq!(got.shape(), index_shape.as_slice());
            assert_close(&got.to_vec::<f32>().unwrap(), &want, 0.0, 0.0, &format!("gather {what}"));
            let src = make(&src_vals, &index_shape, layout);
            let s = x.scatter_add(dim as isize, &index, &src).unwrap();
            assert_eq!(s.shape(), &shape);
            assert_close(&s.to_vec::<f32>().unwrap(), &scattered, 1e-6, 1e-6, &format!("scatter_add {what}"));
        }
    }
    let x = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    let out_of_range = Tensor::from_vec(vec![3i64, 0], &[2, 1]).unwrap();
    assert_eq!(
        err_msg(x.gather(1, &out_of_range)),
        "gather: index 3 is out of range 0..3 (dimension 1 of input [2, 3], index [2, 1])"
    );
    let too_tall = Tensor::from_vec(vec![0i64; 3], &[3, 1]).unwrap();
    assert!(err_msg(x.gather(1, &too_tall)).contains("gather: index [3, 1] must have the rank of input [2, 3]"));
    let src = Tensor::from_vec(vec![0f32; 1], &[1, 1]).unwrap();
    let idx = Tensor::from_vec(vec![0i64; 2], &[2, 1]).unwrap();
    assert!(
        err_msg(x.scatter_add(1, &idx, &src)).contains("scatter_add: index [2, 1] must have the rank of src [1, 1]")
    );
}

#[test]
fn index_add_accumulates_repeated_indices() {
    let mut rng = Rng::new(43);
    let shape = [7, 5, 33];
    let vals = rng.vec(numel(&shape), -1.0, 1.0);
    for dim in 0..3 {
        let picks: Vec<i64> = (0..6).map(|_| rng.below(shape[dim]) as i64).collect();
        let mut src_shape = shape.to_vec();
        src_shape[dim] = picks.len();
        let src_vals = rng.vec(numel(&src_shape), -1.0, 1.0);
        let mut want: Vec<f64> = vals.iter().map(|&v| v as f64).collect();
        for i in all_indices(&src_shape) {
            let mut t = i.clone();
            t[dim] = picks[i[dim]] as usize;
            want[linear(&shape, &t)] += src_vals[linear(&src_shape, &i)] as f64;
        }
        let index = Tensor::from_vec(picks.clone(), &[picks.len()]).unwrap();
        for layout in LAYOUTS {
            let got = make(&vals, &shape, layout)
                .index_add(dim as isize, &index, &make(&src_vals, &src_shape, layout))
                .unwrap();
            assert_close(
                &got.to_vec::<f32>().unwrap(),
                &want,
                1e-6,
                1e-6,
                &format!("index_add dim {dim} ({layout:?})"),
            );
        }
    }
    let x = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    let index = Tensor::from_vec(vec![0i64], &[1]).unwrap();
    let wrong = Tensor::from_vec(vec![0f32; 2], &[2, 1]).unwrap();
    assert!(err_msg(x.index_add(0, &index, &wrong))
        .contains("index_add: index [1] must be 1-D and source [2, 1] must be [1, 3]"));
}

#[test]
fn masked_fill_and_where_broadcast() {
    let mut rng = Rng::new(44);
    let shape = [7, 5, 33];
    let vals = rng.vec(numel(&shape), -1.0, 1.0);
    for mask_shape in [vec![7, 1, 33], vec![33], vec![1, 5, 1], vec![7, 5, 33], vec![]] {
        let mask: Vec<u8> = (0..numel(&mask_shape)).map(|_| rng.below(2) as u8).collect();
        let want: Vec<f64> = all_indices(&shape)
            .iter()
            .map(|i| {
                if mask[broadcast_linear(&mask_shape, i)] != 0 {
                    f64::NEG_INFINITY
                } else {
                    vals[linear(&shape, i)] as f64
                }
            })
            .collect();
        for layout in LAYOUTS {
            let got =
                make(&vals, &shape, layout).masked_fill(&make(&mask, &mask_shape, layout), f32::NEG_INFINITY).unwrap();
            assert_close(
                &got.to_vec::<f32>().unwrap(),
                &want,
                0.0,
                0.0,
                &format!("masked_fill {mask_shape:?} ({layout:?})"),
            );
        }
    }
    // I64 data, fill converted to the dtype.
    let ids = Tensor::from_vec(vec![5i64, 6, 7], &[3]).unwrap();
    let pad = Tensor::from_vec(vec![0u8, 1, 0], &[3]).unwrap();
    assert_eq!(ids.masked_fill(&pad, -100.0).unwrap().to_vec::<i64>().unwrap(), vec![5, -100, 7]);
    let big_mask = Tensor::from_vec(vec![0u8; 6], &[2, 3]).unwrap();
    assert_eq!(
        err_msg(ids.masked_fill(&big_mask, 0.0)),
        "masked_fill: mask [2, 3] cannot be broadcast to the input's shape [3]"
    );

    // where_cond: cond [7, 1, 33], a [1, 5, 1], b [33] broadcast to [7, 5, 33].
    let (sc, sa, sb) = (vec![7, 1, 33], vec![1, 5, 1], vec![33]);
    let cond: Vec<u8> = (0..numel(&sc)).map(|_| rng.below(2) as u8).collect();
    let a_vals = rng.vec(numel(&sa), -1.0, 1.0);
    let b_vals = rng.vec(numel(&sb), -1.0, 1.0);
    let want: Vec<f64> = all_indices(&shape)
        .iter()
        .map(|i| {
            if cond[broadcast_linear(&sc, i)] != 0 {
                a_vals[broadcast_linear(&sa, i)] as f64
            } else {
                b_vals[broadcast_linear(&sb, i)] as f64
            }
        })
        .collect();
    for layout in LAYOUTS {
        let got =
            make(&cond, &sc, layout).where_cond(&make(&a_vals, &sa, layout), &make(&b_vals, &sb, layout)).unwrap();
        assert_eq!(got.shape(), &shape);
        assert_close(&got.to_vec::<f32>().unwrap(), &want, 0.0, 0.0, &format!("where_cond ({layout:?})"));
    }
    let c = Tensor::from_vec(vec![1u8, 0], &[2]).unwrap();
    let ai = Tensor::from_vec(vec![1i64, 2], &[2]).unwrap();
    let bi = Tensor::from_vec(vec![9i64], &[1]).unwrap();
    assert_eq!(c.where_cond(&ai, &bi).unwrap().to_vec::<i64>().unwrap(), vec![1, 9]);
    let bf = Tensor::from_vec(vec![9f32], &[1]).unwrap();
    assert_eq!(err_msg(c.where_cond(&ai, &bf)), "where_cond: a [2] is I64 but b [1] is F32");
    let b3 = Tensor::from_vec(vec![0i64; 3], &[3]).unwrap();
    assert_eq!(err_msg(c.where_cond(&ai, &b3)), "where_cond: cond [2], a [2] and b [3] cannot be broadcast together");
    assert!(err_msg(ai.where_cond(&ai, &ai)).contains("where_cond: cond [2] has dtype I64 but U8 is required"));
}

#[test]
fn cat_stack_split_chunk_round_trip() {
    let mut rng = Rng::new(45);
    let shapes = [vec![7, 2, 33], vec![7, 5, 33], vec![7, 1, 33]];
    for dim in 0..3usize {
        // Three parts differing only along `dim`.
        let parts_shapes: Vec<Vec<usize>> = shapes
            .iter()
            .map(|s| {
                let mut p = vec![7, 5, 33];
                p[dim] = s[1];
                p
            })
            .collect();
        let parts_vals: Vec<Vec<f32>> = parts_shapes.iter().map(|s| rng.vec(numel(s), -1.0, 1.0)).collect();
        let mut out_shape = vec![7, 5, 33];
        out_shape[dim] = parts_shapes.iter().map(|s| s[dim]).sum();
        let want: Vec<f64> = all_indices(&out_shape)
            .iter()
            .map(|i| {
                let mut at = i[dim];
                let mut p = 0;
                while at >= parts_shapes[p][dim] {
                    at -= parts_shapes[p][dim];
                    p += 1;
                }
                let mut j = i.clone();
                j[dim] = at;
                parts_vals[p][linear(&parts_shapes[p], &j)] as f64
            })
            .collect();
        for layout in LAYOUTS {
            let parts: Vec<Tensor> = parts_vals.iter().zip(&parts_shapes).map(|(v, s)| make(v, s, layout)).collect();
            let refs: Vec<&Tensor> = parts.iter().collect();
            let joined = Tensor::cat(&refs, dim as isize - 3).unwrap();
            assert_eq!(joined.shape(), out_shape.as_slice());
            assert_close(&joined.to_vec::<f32>().unwrap(), &want, 0.0, 0.0, &format!("cat dim {dim} ({layout:?})"));
            // split undoes cat, as views of the joined tensor.
            let sizes: Vec<usize> = parts_shapes.iter().map(|s| s[dim]).collect();
            let back = joined.split(&sizes, dim as isize).unwrap();
            for ((piece, vals), s) in back.iter().zip(&parts_vals).zip(&parts_shapes) {
                assert!(piece.shares_storage_with(&joined));
                assert_eq!(piece.shape(), s.as_slice());
                assert_eq!(&piece.to_vec::<f32>().unwrap(), vals);
            }
        }
    }
    // stack = unsqueeze + cat, at every position including the end.
    let a_vals = rng.vec(7 * 33, -1.0, 1.0);
    let b_vals = rng.vec(7 * 33, -1.0, 1.0);
    for dim in [0isize, 1, 2, -1, -3] {
        let a = make(&a_vals, &[7, 33], Layout::Transposed);
        let b = make(&b_vals, &[7, 33], Layout::Narrowed);
        let s = Tensor::stack(&[&a, &b], dim).unwrap();
        let d = if dim < 0 { (dim + 3) as usize } else { dim as usize };
        let mut expect_shape = vec![7, 33];
        expect_shape.insert(d, 2);
        assert_eq!(s.shape(), expect_shape.as_slice());
        assert_eq!(s.select(d as isize, 0).unwrap().to_vec::<f32>().unwrap(), a_vals);
        assert_eq!(s.select(d as isize, 1).unwrap().to_vec::<f32>().unwrap(), b_vals);
    }
    // chunk sizes follow torch.chunk; I64 cat works.
    let t = Tensor::from_vec((0..7 * 33).map(|i| i as i64).collect(), &[7, 33]).unwrap();
    let sizes = |n: usize| t.chunk(n, 0).unwrap().iter().map(|p| p.shape()[0]).collect::<Vec<_>>();
    assert_eq!(sizes(3), vec![3, 3, 1]);
    assert_eq!(sizes(7), vec![1; 7]);
    assert_eq!(sizes(10), vec![1; 7]);
    assert_eq!(sizes(1), vec![7]);
    let pieces = t.chunk(4, -1).unwrap();
    let refs: Vec<&Tensor> = pieces.iter().collect();
    assert_eq!(Tensor::cat(&refs, -1).unwrap().to_vec::<i64>().unwrap(), t.to_vec::<i64>().unwrap());

    // Errors name the shapes.
    let a = Tensor::from_vec(vec![0f32; 6], &[2, 3]).unwrap();
    let b = Tensor::from_vec(vec![0f32; 4], &[2, 2]).unwrap();
    assert_eq!(err_msg(Tensor::cat(&[&a, &b], 0)), "cat: tensors [2, 3], [2, 2] differ outside dimension 0");
    let i = Tensor::from_vec(vec![0i64; 6], &[2, 3]).unwrap();
    assert_eq!(err_msg(Tensor::cat(&[&a, &i], 0)), "cat: tensors [2, 3], [2, 3] mix dtypes F32 and I64");
    assert_eq!(err_msg(Tensor::cat(&[], 0)), "cat: needs at least one tensor");
    assert_eq!(err_msg(Tensor::stack(&[&a, &b], 0)), "stack: tensors [2, 3], [2, 2] must all have the same shape");
    assert_eq!(
        err_msg(a.split(&[1, 1], 1)),
        "split: sizes [1, 1] add up to 2, not the size 3 of dimension 1 of [2, 3]"
    );
    assert_eq!(err_msg(a.chunk(0, 0)), "chunk: cannot split [2, 3] into 0 chunks");
    assert_eq!(err_msg(Tensor::cat(&[&a], 2)), "cat: dimension 2 is out of range for a tensor [2, 3] of rank 2");
}
