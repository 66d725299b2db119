//! View semantics: every chain of views agrees element by element with its `contiguous()` copy and with an
//! index mapping computed independently of strides; views share storage; bad arguments give errors that name
//! the op and the shapes.
use engine::{DType, Tensor};
use proptest::prelude::*;

/// A plain row-major n-d array: the oracle. Its ops are written with explicit index arithmetic, knowing
/// nothing of strides or offsets.
#[derive(Clone, Debug)]
struct Nd {
    shape: Vec<usize>,
    data: Vec<f32>,
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

impl Nd {
    fn get(&self, idx: &[usize]) -> f32 {
        let mut flat = 0;
        for (d, &i) in idx.iter().enumerate() {
            assert!(i < self.shape[d]);
            flat = flat * self.shape[d] + i;
        }
        self.data[flat]
    }

    fn from_fn(shape: Vec<usize>, f: impl Fn(&[usize]) -> f32) -> Nd {
        let numel = shape.iter().product();
        let data = (0..numel).map(|k| f(&unravel(k, &shape))).collect();
        Nd { shape, data }
    }
}

/// One view op with raw random parameters, resolved against the current shape when applied.
#[derive(Clone, Debug)]
enum Op {
    Reshape(u32, bool),
    Transpose(u32, u32),
    Permute(u32),
    Narrow(u32, u32, u32),
    Select(u32, u32),
    Unsqueeze(u32),
    Squeeze(u32),
    Broadcast(u32),
    Flatten(u32, u32),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u32>(), any::<bool>()).prop_map(|(a, b)| Op::Reshape(a, b)),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Op::Transpose(a, b)),
        any::<u32>().prop_map(Op::Permute),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| Op::Narrow(a, b, c)),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Op::Select(a, b)),
        any::<u32>().prop_map(Op::Unsqueeze),
        any::<u32>().prop_map(Op::Squeeze),
        any::<u32>().prop_map(Op::Broadcast),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Op::Flatten(a, b)),
    ]
}

/// A dimension index in `0..rank`, given as negative half of the time (to exercise `resolve_dim`).
fn pick_dim(seed: u32, rank: usize) -> (usize, isize) {
    let d = seed as usize % rank;
    let signed = if seed & 0x100 != 0 { d as isize - rank as isize } else { d as isize };
    (d, signed)
}

const MAX_NUMEL: usize = 20_000;

/// Applies `op` to both the tensor and the oracle. Returns `None` when the op does not apply to this shape
/// (then the chain goes on unchanged), and whether the result must share storage with its input.
fn apply(op: &Op, t: &Tensor, nd: &Nd) -> Option<(Tensor, Nd, bool)> {
    let rank = nd.shape.len();
    let numel: usize = nd.shape.iter().product();
    match *op {
        Op::Reshape(seed, insert_one) => {
            // A random factorisation of the element count, sometimes with a size-1 dimension in between.
            let divisors: Vec<usize> = (1..=numel.max(1)).filter(|d| numel % d == 0).collect();
            let a = divisors[seed as usize % divisors.len()];
            let b = if a == 0 { 0 } else { numel / a };
            let shape = if numel == 0 { vec![0] } else if insert_one { vec![a, 1, b] } else { vec![a, b] };
            let out = t.reshape(&shape).expect("reshape with the same element count");
            // A view exactly when `view` succeeds; when it does, the result must be the same.
            let shares = match t.view(&shape) {
                Ok(v) => {
                    assert!(v.shares_storage_with(t));
                    true
                }
                Err(e) => {
                    assert!(e.to_string().starts_with("view: cannot view"), "{e}");
                    assert!(!t.is_contiguous(), "a contiguous tensor can always be viewed: {e}");
                    false
                }
            };
            Some((out, Nd { shape, data: nd.data.clone() }, shares))
        }
        Op::Flatten(s, e) => {
            if rank == 0 {
                return None;
            }
            let (a, sa) = pick_dim(s, rank);
            let (b, sb) = pick_dim(e, rank);
            let (lo, hi, slo, shi) = if a <= b { (a, b, sa, sb) } else { (b, a, sb, sa) };
            let out = t.flatten(slo, shi).expect("flatten");
            let mut shape = nd.shape[..lo].to_vec();
            shape.push(nd.shape[lo..=hi].iter().product());
            shape.extend_from_slice(&nd.shape[hi + 1..]);
            let shares = out.shares_storage_with(t);
            Some((out, Nd { shape, data: nd.data.clone() }, shares))
        }
        Op::Transpose(x, y) => {
            if rank == 0 {
                return None;
            }
            let (a, sa) = pick_dim(x, rank);
            let (b, sb) = pick_dim(y, rank);
            let out = t.transpose(sa, sb).expect("transpose");
            let mut shape = nd.shape.clone();
            shape.swap(a, b);
            let want = Nd::from_fn(shape, |idx| {
                let mut src = idx.to_vec();
                src.swap(a, b);
                nd.get(&src)
            });
            Some((out, want, true))
        }
        Op::Permute(seed) => {
            // A random permutation from the seed (Fisher-Yates driven by an LCG).
            let mut perm: Vec<usize> = (0..rank).collect();
            let mut s = seed as u64;
            for i in (1..rank).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                perm.swap(i, (s >> 33) as usize % (i + 1));
            }
            let out = t.permute(&perm).expect("permute");
            let shape = perm.iter().map(|&p| nd.shape[p]).collect();
            let want = Nd::from_fn(shape, |idx| {
                let mut src = vec![0; rank];
                for (k, &p) in perm.iter().enumerate() {
                    src[p] = idx[k];
                }
                nd.get(&src)
            });
            Some((out, want, true))
        }
        Op::Narrow(dim, start, len) => {
            if rank == 0 {
                return None;
            }
            let (d, sd) = pick_dim(dim, rank);
            let size = nd.shape[d];
            let start = start as usize % (size + 1);
            let len = len as usize % (size - start + 1);
            let out = t.narrow(sd, start, len).expect("narrow");
            let mut shape = nd.shape.clone();
            shape[d] = len;
            let want = Nd::from_fn(shape, |idx| {
                let mut src = idx.to_vec();
                src[d] += start;
                nd.get(&src)
            });
            Some((out, want, true))
        }
        Op::Select(dim, index) => {
            if rank == 0 {
                return None;
            }
            let (d, sd) = pick_dim(dim, rank);
            if nd.shape[d] == 0 {
                assert!(t.select(sd, 0).is_err());
                return None;
            }
            let index = index as usize % nd.shape[d];
            let out = t.select(sd, index).expect("select");
            let mut shape = nd.shape.clone();
            shape.remove(d);
            let want = Nd::from_fn(shape, |idx| {
                let mut src = idx.to_vec();
                src.insert(d, index);
                nd.get(&src)
            });
            Some((out, want, true))
        }
        Op::Unsqueeze(dim) => {
            if rank >= 6 {
                return None;
            }
            let d = dim as usize % (rank + 1);
            let sd = if dim & 0x100 != 0 { d as isize - (rank as isize + 1) } else { d as isize };
            let out = t.unsqueeze(sd).expect("unsqueeze");
            let mut shape = nd.shape.clone();
            shape.insert(d, 1);
            let want = Nd::from_fn(shape, |idx| {
                let mut src = idx.to_vec();
                src.remove(d);
                nd.get(&src)
            });
            Some((out, want, true))
        }
        Op::Squeeze(dim) => {
            let ones: Vec<usize> = (0..rank).filter(|&d| nd.shape[d] == 1).collect();
            if ones.is_empty() {
                if rank > 0 {
                    let (_, sd) = pick_dim(dim, rank);
                    let err = t.squeeze(sd).unwrap_err().to_string();
                    assert!(err.starts_with("squeeze:") && err.contains("not 1"), "{err}");
                }
                return None;
            }
            let d = ones[dim as usize % ones.len()];
            let out = t.squeeze(d as isize).expect("squeeze");
            let mut shape = nd.shape.clone();
            shape.remove(d);
            let want = Nd::from_fn(shape, |idx| {
                let mut src = idx.to_vec();
                src.insert(d, 0);
                nd.get(&src)
            });
            Some((out, want, true))
        }
        Op::Broadcast(seed) => {
            // Grow every size-1 dimension to 1..=3 and sometimes prepend a dimension of size 2.
            let mut target: Vec<usize> = nd.shape.iter().enumerate()
                .map(|(d, &n)| if n == 1 { 1 + (seed as usize >> (2 * d)) % 3 } else { n })
                .collect();
            if seed & 1 != 0 {
                target.insert(0, 2);
            }
            if target.iter().product::<usize>() > MAX_NUMEL || target.len() > 6 {
                return None;
            }
            let lead = target.len() - rank;
            let out = if seed & 2 != 0 { t.expand(&target) } else { t.broadcast_to(&target) }.expect("broadcast");
            let want = Nd::from_fn(target, |idx| {
                let src: Vec<usize> =
                    (0..rank).map(|d| if nd.shape[d] == 1 { 0 } else { idx[d + lead] }).collect();
                nd.get(&src)
            });
            Some((out, want, true))
        }
    }
}

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop::sample::select(vec![1usize, 2, 3, 7, 33]), 0..=4)
        .prop_filter("small enough", |s| s.iter().product::<usize>() <= MAX_NUMEL)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn view_chains_agree_with_contiguous_copy_and_oracle(
        shape in shape_strategy(),
        ops in prop::collection::vec(op_strategy(), 1..8),
    ) {
        let numel: usize = shape.iter().product();
        // Element k of the base holds k: reading a view gives the storage index it maps to.
        let data: Vec<f32> = (0..numel).map(|k| k as f32).collect();
        let mut t = Tensor::from_vec(data.clone(), &shape).unwrap();
        let mut nd = Nd { shape: shape.clone(), data };
        for op in &ops {
            let Some((next, want, must_share)) = apply(op, &t, &nd) else { continue };
            prop_assert_eq!(next.shape(), &want.shape[..], "op {:?}", op);
            if must_share {
                prop_assert!(next.shares_storage_with(&t), "op {:?} copied", op);
            }
            let values = next.to_vec::<f32>().unwrap();
            prop_assert_eq!(&values, &want.data, "op {:?} on {:?}", op, nd.shape);
            let copy = next.contiguous().unwrap();
            prop_assert!(copy.is_contiguous());
            prop_assert_eq!(copy.to_vec::<f32>().unwrap(), want.data.clone());
            // Contiguous views read the same slice as the element-by-element path.
            if next.is_contiguous() {
                prop_assert_eq!(next.contiguous_slice::<f32>().unwrap(), &want.data[..]);
            }
            t = next;
            nd = want;
        }
    }
}

#[test]
fn reshape_error_names_op_and_shapes() {
    let t = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let err = t.reshape(&[4, 2]).unwrap_err().to_string();
    assert_eq!(err, "reshape: cannot view [2, 3] as [4, 2] (6 elements against 8)");
    let err = t.view(&[7]).unwrap_err().to_string();
    assert_eq!(err, "view: cannot view [2, 3] as [7] (6 elements against 7)");
    assert!(t.reshape_infer(&[-1, 4]).unwrap_err().to_string().starts_with("reshape_infer: cannot view [2, 3]"));
    assert!(t.reshape_infer(&[-1, -1]).unwrap_err().to_string().contains("more than one -1"));
    assert!(t.reshape_infer(&[-2, 3]).is_err());
    assert_eq!(t.reshape_infer(&[3, -1]).unwrap().shape(), &[3, 2]);
    // Sizes whose product overflows are errors, not panics.
    let err = t.reshape(&[usize::MAX, 2]).unwrap_err().to_string();
    assert!(err.starts_with("reshape: shape [18446744073709551615, 2] has more elements"), "{err}");
    assert!(t.view(&[usize::MAX, usize::MAX, 0]).is_err());
    assert!(t.reshape_infer(&[isize::MAX, 4, -1]).is_err());
    let one = Tensor::zeros(&[1, 1], DType::F32).unwrap();
    assert!(one.broadcast_to(&[usize::MAX, usize::MAX]).unwrap_err().to_string().starts_with("broadcast_to:"));
    assert!(one.expand(&[usize::MAX, 3]).unwrap_err().to_string().starts_with("expand:"));
}

#[test]
fn view_of_non_viewable_layout_errors_but_reshape_copies() {
    let t = Tensor::from_vec((0..6).map(|i| i as f32).collect(), &[2, 3]).unwrap();
    let tt = t.t().unwrap();
    let err = tt.view(&[6]).unwrap_err().to_string();
    assert!(err.contains("[3, 2]") && err.contains("[6]") && err.contains("strides [1, 3]"), "{err}");
    let r = tt.reshape(&[6]).unwrap();
    assert!(!r.shares_storage_with(&t));
    assert_eq!(r.to_vec::<f32>().unwrap(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn reshape_of_a_narrowed_tensor_splits_dims_without_copying() {
    let t = Tensor::from_vec((0..24).map(|i| i as f32).collect(), &[4, 6]).unwrap();
    let n = t.narrow(1, 2, 3).unwrap(); // [4, 3] with strides [6, 1], offset 2
    let r = n.reshape(&[2, 2, 3]).unwrap();
    assert!(r.shares_storage_with(&t));
    assert_eq!(r.strides(), &[12, 6, 1]);
    assert_eq!(r.offset(), 2);
    // Merging the two rows is impossible without a copy.
    assert!(n.view(&[12]).is_err());
    assert_eq!(
        n.reshape(&[12]).unwrap().to_vec::<f32>().unwrap(),
        vec![2.0, 3.0, 4.0, 8.0, 9.0, 10.0, 14.0, 15.0, 16.0, 20.0, 21.0, 22.0]
    );
}

#[test]
fn dimension_errors_name_op_and_rank() {
    let t = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let err = t.transpose(0, 2).unwrap_err().to_string();
    assert_eq!(err, "transpose: dimension 2 is out of range for a tensor of rank 2");
    assert!(t.transpose(-3, 0).unwrap_err().to_string().starts_with("transpose: dimension -3"));
    assert!(t.unsqueeze(3).unwrap_err().to_string().starts_with("unsqueeze: dimension 3"));
    assert_eq!(t.unsqueeze(2).unwrap().shape(), &[2, 3, 1]);
    assert_eq!(t.unsqueeze(-3).unwrap().shape(), &[1, 2, 3]);
    assert!(t.squeeze(5).unwrap_err().to_string().starts_with("squeeze: dimension 5"));
    assert_eq!(t.squeeze(0).unwrap_err().to_string(), "squeeze: dimension 0 of [2, 3] has size 2, not 1");
    assert!(t.flatten(1, 0).unwrap_err().to_string().starts_with("flatten: start dimension 1"));
    let err = t.permute(&[0, 0]).unwrap_err().to_string();
    assert_eq!(err, "permute: [0, 0] is not a permutation of the 2 dimensions of [2, 3]");
    assert!(t.permute(&[0]).is_err());
    assert!(t.permute(&[0, 1, 2]).is_err());
    assert!(t.permute(&[2, 0]).is_err());
    let t3 = Tensor::zeros(&[2, 3, 4], DType::F32).unwrap();
    assert!(t3.t().unwrap_err().to_string().starts_with("t: expects a tensor of rank 2 or less, got [2, 3, 4]"));
}

#[test]
fn range_errors_name_op_and_shape() {
    let t = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    let err = t.narrow(1, 2, 2).unwrap_err().to_string();
    assert_eq!(err, "narrow: range 2..4 is out of bounds for dimension 1 of size 3 in [2, 3]");
    assert!(t.narrow(1, usize::MAX, 2).is_err()); // overflow is an error, not a panic
    assert!(t.slice(0, 2, 1).unwrap_err().to_string().starts_with("slice: range 2..1 ends before it starts"));
    assert!(t.slice(0, 0, 3).unwrap_err().to_string().starts_with("slice: range 0..3 is out of bounds"));
    let err = t.select(-1, 3).unwrap_err().to_string();
    assert_eq!(err, "select: index 3 is out of bounds for dimension -1 of size 3 in [2, 3]");
}

#[test]
fn broadcast_errors_name_both_shapes() {
    let t = Tensor::zeros(&[2, 3], DType::F32).unwrap();
    assert_eq!(t.broadcast_to(&[2, 4]).unwrap_err().to_string(), "broadcast_to: cannot broadcast shape [2, 3] to [2, 4]");
    assert!(t.expand(&[3]).unwrap_err().to_string().starts_with("expand: cannot broadcast shape [2, 3]"));
    let other = Tensor::zeros(&[4], DType::F32).unwrap();
    let err = t.broadcast_pair(&other).unwrap_err().to_string();
    assert!(err.starts_with("broadcast_pair: shapes [2, 3] and [4]"), "{err}");
}

#[test]
fn broadcast_views_repeat_without_copying() {
    let col = Tensor::from_vec(vec![1i64, 2], &[2, 1]).unwrap();
    let row = Tensor::from_vec(vec![10i64, 20, 30], &[3]).unwrap();
    let (a, b) = col.broadcast_pair(&row).unwrap();
    assert_eq!(a.shape(), &[2, 3]);
    assert!(a.shares_storage_with(&col) && b.shares_storage_with(&row));
    assert_eq!(a.strides(), &[1, 0]);
    assert_eq!(b.strides(), &[0, 1]);
    assert_eq!(a.to_vec::<i64>().unwrap(), vec![1, 1, 1, 2, 2, 2]);
    assert_eq!(b.to_vec::<i64>().unwrap(), vec![10, 20, 30, 10, 20, 30]);
    // Writing to a broadcast view copies first and leaves the original alone.
    let mut w = b.clone();
    w.contiguous_slice_mut::<i64>().unwrap()[0] = 99;
    assert_eq!(row.to_vec::<i64>().unwrap(), vec![10, 20, 30]);
    assert_eq!(w.to_vec::<i64>().unwrap()[0], 99);
}

#[test]
fn rank_zero_and_empty_tensors() {
    let s = Tensor::scalar(4.0);
    assert_eq!(s.reshape(&[1, 1]).unwrap().to_vec::<f32>().unwrap(), vec![4.0]);
    assert_eq!(s.unsqueeze(0).unwrap().shape(), &[1]);
    assert_eq!(s.unsqueeze(-1).unwrap().shape(), &[1]);
    assert_eq!(s.flatten(0, -1).unwrap().shape(), &[1]);
    assert_eq!(s.broadcast_to(&[2, 2]).unwrap().to_vec::<f32>().unwrap(), vec![4.0; 4]);
    assert!(s.transpose(0, 0).is_err());
    assert_eq!(s.t().unwrap().shape(), &[] as &[usize]);
    let e = Tensor::zeros(&[0, 3], DType::U8).unwrap();
    assert_eq!(e.reshape(&[3, 0]).unwrap().shape(), &[3, 0]);
    assert_eq!(e.reshape_infer(&[3, 0]).unwrap().shape(), &[3, 0]);
    assert!(e.reshape_infer(&[-1, 0]).is_err()); // ambiguous
    assert_eq!(e.transpose(0, 1).unwrap().contiguous().unwrap().shape(), &[3, 0]);
    assert_eq!(e.narrow(1, 3, 0).unwrap().shape(), &[0, 0]);
    assert!(e.select(0, 0).is_err());
}

#[test]
fn views_keep_the_dtype_and_select_drops_the_dim() {
    let t = Tensor::from_vec((0u8..24).collect(), &[2, 3, 4]).unwrap();
    let v = t.permute(&[2, 0, 1]).unwrap().select(1, 1).unwrap().slice(0, 1, 3).unwrap();
    assert_eq!(v.dtype(), DType::U8);
    assert_eq!(v.shape(), &[2, 3]);
    // v[a][c] = t[1][c][a + 1]
    assert_eq!(v.to_vec::<u8>().unwrap(), vec![13, 17, 21, 14, 18, 22]);
    assert!(v.shares_storage_with(&t));
    assert_eq!(t.squeeze_all().unwrap().shape(), &[2, 3, 4]);
    assert_eq!(t.reshape(&[1, 2, 1, 12]).unwrap().squeeze_all().unwrap().shape(), &[2, 12]);
}
