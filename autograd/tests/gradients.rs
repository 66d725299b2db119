//! Every backward rule against central finite differences (see `autograd::gradcheck` for the method and
//! the tolerance: `h = 1e-2`, `|analytic - numeric| <= 5e-4 + 2e-3 * max(|analytic|, |numeric|)`), on
//! random inputs with awkward sizes (1, 7, 33), broadcasts and non-contiguous views. Random inputs keep
//! away from kinks (relu and abs at 0, ties in max/min); the kinks are tested on their own below.
// Inputs are listed as `&[x.clone(), ...]` uniformly, one or several.
#![allow(clippy::cloned_ref_to_slice_refs)]

use autograd::gradcheck::{check_gradients, GradCheckOptions};
use autograd::{AttentionMask, CrossEntropyOptions, Reduction, Var};
use engine::rng::Rng;
use engine::{Result, Tensor};

fn rand(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, lo, hi, &mut Rng::new(seed)).unwrap()
}

/// Random values with `|x| >= margin` (away from a kink at 0).
fn rand_away_from_zero(shape: &[usize], margin: f32, seed: u64) -> Tensor {
    let v: Vec<f32> = rand(shape, -1.0, 1.0, seed)
        .to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(|x| if x >= 0.0 { x + margin } else { x - margin })
        .collect();
    Tensor::from_vec(v, shape).unwrap()
}

/// Distinct values 0.05 apart (shuffled), so no two lie within `h` of each other: max/min and topk have
/// no ties for the finite differences to cross, whatever the generator draws.
fn distinct(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - n as f32 * 0.025).collect();
    Rng::new(seed).shuffle(&mut v);
    Tensor::from_vec(v, shape).unwrap()
}

/// `t` rounded to multiples of 0.1, plus `shift`.
fn on_grid(t: &Tensor, shift: f32) -> Tensor {
    let v: Vec<f32> = t.to_vec::<f32>().unwrap().iter().map(|x| (x * 10.0).round() / 10.0 + shift).collect();
    Tensor::from_vec(v, t.shape()).unwrap()
}

fn check(f: impl Fn(&[Var]) -> Result<Var>, inputs: &[Tensor]) {
    check_with(f, inputs, &GradCheckOptions::default());
}

fn check_with(f: impl Fn(&[Var]) -> Result<Var>, inputs: &[Tensor], options: &GradCheckOptions) {
    match check_gradients(f, inputs, options) {
        Ok(report) => {
            assert!(report.checked > 0);
            // Shown with --nocapture: (input, element, analytic, numeric) of the worst element.
            eprintln!("checked {:>4} elements, worst |diff| {:.2e} at {:?}", report.checked, report.max_abs_error, report.worst);
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn binary_ops_with_broadcasting() {
    // (lhs, rhs) shapes: same, row broadcast, both sides broadcast, rank-0 and size-1 operands.
    let shapes: [(&[usize], &[usize]); 5] = [(&[7, 33], &[7, 33]), (&[7, 33], &[33]), (&[7, 1], &[1, 5]), (&[], &[7]), (&[1], &[2, 3, 1])];
    for (i, (sa, sb)) in shapes.into_iter().enumerate() {
        let seed = 10 * i as u64;
        let (a, b) = (rand(sa, -1.0, 1.0, seed), rand(sb, -1.0, 1.0, seed + 1));
        check(|v| v[0].add(&v[1]), &[a.clone(), b.clone()]);
        check(|v| v[0].sub(&v[1]), &[a.clone(), b.clone()]);
        check(|v| v[0].mul(&v[1]), &[a.clone(), b.clone()]);
        check(|v| v[0].div(&v[1]), &[a.clone(), rand(sb, 0.5, 2.0, seed + 2)]);
        check(|v| v[0].pow(&v[1]), &[rand(sa, 0.5, 2.0, seed + 3), b.clone()]);
        // Away from ties: a on a grid of 0.1, b on the grid shifted by 0.05, so every |a - b| >= 0.05 > h.
        let (ga, gb) = (on_grid(&a, 0.0), on_grid(&b, 0.05));
        check(|v| v[0].maximum(&v[1]), &[ga.clone(), gb.clone()]);
        check(|v| v[0].minimum(&v[1]), &[ga, gb]);
    }
}

#[test]
fn unary_and_scalar_ops() {
    let x = rand(&[7, 33], -2.0, 2.0, 1);
    let pos = rand(&[7, 33], 0.5, 3.0, 2);
    let off0 = rand_away_from_zero(&[7, 33], 0.05, 3);
    check(|v| v[0].neg(), &[x.clone()]);
    check(|v| v[0].exp(), &[x.clone()]);
    check(|v| v[0].log(), &[pos.clone()]);
    check(|v| v[0].tanh(), &[x.clone()]);
    check(|v| v[0].sigmoid(), &[x.clone()]);
    check(|v| v[0].relu(), &[off0.clone()]);
    check(|v| v[0].abs(), &[off0.clone()]);
    check(|v| v[0].gelu(), &[x.clone()]);
    check(|v| v[0].gelu_erf(), &[x.clone()]);
    check(|v| v[0].sqrt(), &[pos.clone()]);
    check(|v| v[0].rsqrt(), &[pos.clone()]);
    check(|v| v[0].recip(), &[pos.clone()]);
    check(|v| v[0].square(), &[x.clone()]);
    check(|v| v[0].log_sigmoid(), &[rand(&[7, 33], -20.0, 20.0, 4)]);
    // clamp away from its two kinks: values on a 0.1 grid, bounds halfway between grid points.
    check(|v| v[0].clamp(-0.55, 0.45), &[on_grid(&x, 0.0)]);
    check(|v| v[0].add_scalar(0.7), &[x.clone()]);
    check(|v| v[0].sub_scalar(0.7), &[x.clone()]);
    check(|v| v[0].rsub_scalar(0.7), &[x.clone()]);
    check(|v| v[0].rdiv_scalar(0.7), &[pos.clone()]);
    check(|v| v[0].mul_scalar(-1.5), &[x.clone()]);
    check(|v| v[0].div_scalar(3.0), &[x.clone()]);
    check(|v| v[0].pow_scalar(2.5), &[pos.clone()]);
    // A non-contiguous input (a transposed view) through a unary op.
    check(|v| v[0].t()?.tanh(), &[x.clone()]);
    check(|v| v[0].t()?.mul(&v[0].t()?.exp()?), &[x]);
}

#[test]
fn kinks_are_handled_as_documented() -> Result<()> {
    // relu'(0) = 0 and abs'(0) = 0.
    let x = Var::leaf(Tensor::from_vec(vec![-1f32, 0.0, 2.0], &[3])?);
    x.relu()?.sum_all()?.backward()?;
    assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![0.0, 0.0, 1.0]);
    let x = Var::leaf(Tensor::from_vec(vec![-1f32, 0.0, 2.0], &[3])?);
    x.abs()?.sum_all()?.backward()?;
    assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![-1.0, 0.0, 1.0]);
    // maximum/minimum ties split the gradient in half.
    let a = Var::leaf(Tensor::from_vec(vec![1f32, 2.0, 3.0], &[3])?);
    let b = Var::leaf(Tensor::from_vec(vec![0f32, 2.0, 5.0], &[3])?);
    a.maximum(&b)?.sum_all()?.backward()?;
    assert_eq!(a.grad().unwrap().to_vec::<f32>()?, vec![1.0, 0.5, 0.0]);
    assert_eq!(b.grad().unwrap().to_vec::<f32>()?, vec![0.0, 0.5, 1.0]);
    // max/min reductions split the gradient equally among ties (three-way tie in row 1).
    let x = Var::leaf(Tensor::from_vec(vec![1f32, 3.0, 3.0, 2.0, 4.0, 4.0, 4.0, 0.0], &[2, 4])?);
    let w = Var::constant(Tensor::from_vec(vec![1f32, 6.0], &[2])?);
    x.max(&[1], false)?.mul(&w)?.sum_all()?.backward()?;
    assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![0.0, 0.5, 0.5, 0.0, 2.0, 2.0, 2.0, 0.0]);
    let x = Var::leaf(Tensor::from_vec(vec![1f32, 1.0, 3.0], &[3])?);
    x.min(&[0], false)?.backward()?;
    assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![0.5, 0.5, 0.0]);
    // clamp passes the gradient on its boundaries and inside, not outside.
    let x = Var::leaf(Tensor::from_vec(vec![-2f32, -1.0, 0.0, 1.0, 2.0], &[5])?);
    x.clamp(-1.0, 1.0)?.sum_all()?.backward()?;
    assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![0.0, 1.0, 1.0, 1.0, 0.0]);
    // log_sigmoid stays finite far out and has slope 1/2 at 0.
    let x = Var::leaf(Tensor::from_vec(vec![-100f32, 0.0, 100.0], &[3])?);
    let y = x.log_sigmoid()?;
    let values = y.tensor().to_vec::<f32>()?;
    assert!((values[0] + 100.0).abs() < 1e-4 && (values[1] + 2f32.ln()).abs() < 1e-6 && values[2].abs() < 1e-6);
    y.sum_all()?.backward()?;
    let g = x.grad().unwrap().to_vec::<f32>()?;
    assert!((g[0] - 1.0).abs() < 1e-6 && (g[1] - 0.5).abs() < 1e-6 && g[2].abs() < 1e-6);
    // Finite differences agree with the even split for a perturbation of all tied elements together:
    // d/dt max(3 + t, 3 + t) = 1 = 0.5 + 0.5.
    Ok(())
}

#[test]
fn reductions() {
    let x = rand(&[2, 7, 3], -1.0, 1.0, 5);
    let spread = distinct(&[2, 7, 3], 5);
    for keepdim in [false, true] {
        check(|v| v[0].sum(&[1], keepdim), &[x.clone()]);
        check(|v| v[0].sum(&[0, 2], keepdim), &[x.clone()]);
        check(|v| v[0].mean(&[-1], keepdim), &[x.clone()]);
        check(|v| v[0].mean(&[0, 1], keepdim), &[x.clone()]);
        check(|v| v[0].max(&[1], keepdim), &[spread.clone()]);
        check(|v| v[0].min(&[0, 2], keepdim), &[spread.clone()]);
        check(|v| v[0].logsumexp(1, keepdim), &[x.clone()]);
    }
    check(|v| v[0].sum_all(), &[x.clone()]);
    check(|v| v[0].mean_all(), &[x.clone()]);
    check(|v| v[0].transpose(0, 2)?.mean(&[0], false), &[x.clone()]);
    check(|v| Ok(v[0].topk(2, 1)?.0), &[spread]);
    check(|v| v[0].sum(&[0], false), &[rand(&[1], -1.0, 1.0, 6)]);
}

#[test]
fn views() {
    let x = rand(&[3, 7, 2], -1.0, 1.0, 8);
    check(|v| v[0].reshape(&[7, 6]), &[x.clone()]);
    check(|v| v[0].reshape_infer(&[-1, 2]), &[x.clone()]);
    check(|v| v[0].flatten(0, 1), &[x.clone()]);
    check(|v| v[0].transpose(0, 2)?.reshape(&[2, 21]), &[x.clone()]); // reshape of a non-contiguous view
    check(|v| v[0].permute(&[2, 0, 1])?.mul(&v[0].permute(&[2, 0, 1])?), &[x.clone()]);
    check(|v| v[0].narrow(1, 2, 4), &[x.clone()]);
    check(|v| v[0].slice(-1, 1, 2), &[x.clone()]);
    check(|v| v[0].select(1, 6), &[x.clone()]);
    check(|v| v[0].select(0, 0)?.t(), &[x.clone()]);
    check(|v| v[0].unsqueeze(1)?.squeeze(1), &[x.clone()]);
    check(|v| v[0].unsqueeze(-1), &[x.clone()]);
    check(|v| v[0].unsqueeze(0)?.unsqueeze(-1)?.squeeze_all(), &[x.clone()]);
    check(|v| v[0].to_device(engine::Device::Cpu), &[x.clone()]);
    check(|v| v[0].narrow(1, 0, 1)?.broadcast_to(&[3, 5, 2]), &[x.clone()]);
    check(|v| v[0].narrow(0, 1, 1)?.expand(&[4, 3, 7, 2]), &[x.clone()]);
    check(|v| v[0].transpose(1, 2)?.contiguous(), &[x.clone()]);
    check(|v| v[0].narrow(1, 1, 5)?.transpose(0, 1)?.exp(), &[x]);
}

#[test]
fn matmul_shapes_transposes_and_batches() {
    let cases: [(&[usize], &[usize]); 7] = [
        (&[7, 33], &[33, 1]),
        (&[1, 7], &[7, 33]),
        (&[2, 3, 4], &[4, 5]),       // activations @ weight (the folded path)
        (&[3, 4], &[2, 4, 5]),       // lhs broadcast over the batch
        (&[2, 1, 3, 4], &[3, 4, 2]), // batch broadcasting on both sides
        (&[4], &[4, 5]),             // vector on the left
        (&[3, 4], &[4]),             // vector on the right
    ];
    for (i, (sa, sb)) in cases.into_iter().enumerate() {
        let (a, b) = (rand(sa, -1.0, 1.0, 20 + i as u64), rand(sb, -1.0, 1.0, 40 + i as u64));
        check(|v| v[0].matmul(&v[1]), &[a, b]);
    }
    // Transposed (non-contiguous) operands on either side.
    let (a, b) = (rand(&[5, 3], -1.0, 1.0, 60), rand(&[4, 5], -1.0, 1.0, 61));
    check(|v| v[0].t()?.matmul(&v[1].t()?), &[a.clone(), b.clone()]);
    check(|v| v[1].matmul(&v[0]), &[a, b]);
    let (a, b) = (rand(&[2, 4, 3], -1.0, 1.0, 62), rand(&[2, 4, 5], -1.0, 1.0, 63));
    check(|v| v[0].transpose(1, 2)?.matmul(&v[1]), &[a, b]);
}

/// The fused linear layer `x W + b` (bias seeding the GEMM), with batch dimensions, a vector input and a
/// transposed weight view, against finite differences and against matmul followed by add.
#[test]
fn linear_fused() -> Result<()> {
    let (w, b) = (rand(&[4, 5], -1.0, 1.0, 70), rand(&[5], -1.0, 1.0, 71));
    for (i, sx) in [&[2usize, 3, 4][..], &[3, 4], &[4]].into_iter().enumerate() {
        let x = rand(sx, -1.0, 1.0, 72 + i as u64);
        check(|v| v[0].linear(&v[1], Some(&v[2])), &[x.clone(), w.clone(), b.clone()]);
        let fused = x.linear(&w, Some(&b))?.to_vec::<f32>()?;
        let composed = x.matmul(&w)?.add(&b)?.to_vec::<f32>()?;
        assert!(fused.iter().zip(&composed).all(|(p, q)| (p - q).abs() < 1e-6), "{sx:?}");
    }
    let wt = rand(&[5, 4], -1.0, 1.0, 75);
    check(|v| v[0].linear(&v[1].t()?, Some(&v[2])), &[rand(&[3, 4], -1.0, 1.0, 76), wt, b]);
    Ok(())
}

#[test]
fn softmax_and_log_softmax() {
    let x = rand(&[7, 33], -2.0, 2.0, 70);
    check(|v| v[0].softmax(-1), &[x.clone()]);
    check(|v| v[0].softmax(0), &[x.clone()]);
    check(|v| v[0].log_softmax(-1), &[x.clone()]);
    check(|v| v[0].t()?.log_softmax(1), &[x]);
    check(|v| v[0].softmax(0), &[rand(&[1], -1.0, 1.0, 71)]);
}

#[test]
fn layer_norm() {
    for (i, shape) in [&[7usize, 33][..], &[2, 3, 5], &[1, 7]].into_iter().enumerate() {
        let c = *shape.last().unwrap();
        let x = rand(shape, -2.0, 2.0, 80 + i as u64);
        let g = rand(&[c], 0.5, 1.5, 90 + i as u64);
        let b = rand(&[c], -0.5, 0.5, 95 + i as u64);
        check(|v| v[0].layer_norm(Some(&v[1]), Some(&v[2]), 1e-5), &[x.clone(), g.clone(), b.clone()]);
        check(|v| v[0].layer_norm(Some(&v[1]), None, 1e-5), &[x.clone(), g]);
        check(|v| v[0].layer_norm(None, None, 1e-5), &[x]);
    }
}

#[test]
fn indexing() -> Result<()> {
    let ids = Tensor::from_vec(vec![3i64, 0, 3, 6, 1, 3], &[2, 3])?; // repeated ids accumulate
    check(|v| v[0].embedding(&ids), &[rand(&[7, 5], -1.0, 1.0, 100)]);
    let idx = Tensor::from_vec(vec![2i64, 0, 2, 6], &[4])?;
    check(|v| v[0].index_select(1, &idx), &[rand(&[3, 7], -1.0, 1.0, 101)]);
    check(|v| v[0].index_select(0, &idx), &[rand(&[7, 2], -1.0, 1.0, 102)]);
    let gidx = Tensor::from_vec(vec![0i64, 4, 4, 1, 2, 0], &[2, 3])?;
    check(|v| v[0].gather(1, &gidx), &[rand(&[2, 5], -1.0, 1.0, 103)]);
    let sidx = Tensor::from_vec(vec![1i64, 1, 0, 2, 0, 2], &[3, 2])?;
    check(|v| v[0].scatter_add(0, &sidx, &v[1]), &[rand(&[3, 2], -1.0, 1.0, 104), rand(&[3, 2], -1.0, 1.0, 105)]);
    let aidx = Tensor::from_vec(vec![2i64, 0, 2], &[3])?;
    check(|v| v[0].index_add(0, &aidx, &v[1]), &[rand(&[4, 3], -1.0, 1.0, 106), rand(&[3, 3], -1.0, 1.0, 107)]);
    let mask = Tensor::from_vec(vec![1u8, 0, 0, 1, 0, 1, 1], &[7])?;
    check(|v| v[0].masked_fill(&mask, -3.0), &[rand(&[2, 7], -1.0, 1.0, 108)]);
    let cond = Tensor::from_vec(vec![1u8, 0, 1], &[3, 1])?;
    check(|v| Var::where_cond(&cond, &v[0], &v[1]), &[rand(&[3, 4], -1.0, 1.0, 109), rand(&[4], -1.0, 1.0, 110)]);
    Ok(())
}

#[test]
fn concat_and_split() {
    let (a, b, c) = (rand(&[2, 3], -1.0, 1.0, 120), rand(&[2, 1], -1.0, 1.0, 121), rand(&[2, 7], -1.0, 1.0, 122));
    check(|v| Var::cat(&[&v[0], &v[1], &v[2]], 1), &[a.clone(), b, c]);
    check(|v| Var::cat(&[&v[0], &v[0].exp()?], 0), &[a.clone()]);
    check(|v| Var::stack(&[&v[0], &v[1]], 1), &[a.clone(), rand(&[2, 3], -1.0, 1.0, 123)]);
    let x = rand(&[7, 4], -1.0, 1.0, 124);
    let w: Vec<f32> = (0..3).map(|i| i as f32 + 0.5).collect();
    // Use every piece with a different weight so each piece's gradient is checked.
    check(
        |v| {
            let parts = v[0].split(&[2, 4, 1], 0)?;
            let mut acc = parts[0].sum(&[0], false)?.mul_scalar(w[0])?;
            for (p, &wi) in parts.iter().zip(&w).skip(1) {
                acc = acc.add(&p.sum(&[0], false)?.mul_scalar(wi)?)?;
            }
            Ok(acc)
        },
        &[x.clone()],
    );
    check(|v| Ok(v[0].chunk(3, 1)?[1].clone()), &[x]);
}

#[test]
fn cross_entropy_fused() -> Result<()> {
    let logits = rand(&[7, 5], -2.0, 2.0, 130);
    let targets = Tensor::from_vec(vec![0i64, 4, -100, 2, 2, 1, -100], &[7])?;
    check(|v| v[0].cross_entropy(&targets, -100), &[logits.clone()]);
    let weights = Tensor::from_vec(vec![1f32, 0.5, 1.0, 0.0, 2.0, 1.0, 1.0], &[7])?;
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let options = CrossEntropyOptions { ignore_index: -100, row_weights: Some(weights.clone()), reduction };
        check(|v| v[0].cross_entropy_with(&targets, &options), &[logits.clone()]);
    }
    // [B, T, C] logits with [B, T] targets, through a non-contiguous view.
    let targets3 = Tensor::from_vec(vec![1i64, 0, 3, -100, 2, 4], &[2, 3])?;
    check(|v| v[0].transpose(0, 1)?.cross_entropy(&targets3, -100), &[rand(&[3, 2, 5], -2.0, 2.0, 131)]);
    // Matches the composed log_softmax + gather definition.
    let x = Var::constant(logits.clone());
    let fused = x.cross_entropy(&targets, -100)?.item()?;
    let valid = [0usize, 1, 3, 4, 5];
    let t = targets.to_vec::<i64>()?;
    let ls = x.log_softmax(-1)?.tensor().to_vec::<f32>()?;
    let manual: f32 = -valid.iter().map(|&r| ls[r * 5 + t[r] as usize]).sum::<f32>() / valid.len() as f32;
    assert!((fused - manual).abs() < 1e-5, "{fused} vs {manual}");
    // Every row ignored: loss 0, gradient 0 (no NaN).
    let all_ignored = Tensor::from_vec(vec![-100i64; 7], &[7])?;
    let leaf = Var::leaf(logits);
    let loss = leaf.cross_entropy(&all_ignored, -100)?;
    assert_eq!(loss.item()?, 0.0);
    loss.backward()?;
    assert!(leaf.grad().unwrap().to_vec::<f32>()?.iter().all(|&g| g == 0.0));
    Ok(())
}

#[test]
fn attention_fused() -> Result<()> {
    let opts = GradCheckOptions::default();
    let (q, k, v) = (rand(&[2, 2, 5, 3], -1.0, 1.0, 140), rand(&[2, 2, 5, 3], -1.0, 1.0, 141), rand(&[2, 2, 5, 4], -1.0, 1.0, 142));
    for mask in [AttentionMask::default(), AttentionMask::causal()] {
        check_with(|x| Var::scaled_dot_product_attention(&x[0], &x[1], &x[2], &mask), &[q.clone(), k.clone(), v.clone()], &opts);
    }
    let pad = Tensor::from_vec(vec![1u8, 1, 1, 1, 1, 1, 1, 1, 0, 0], &[2, 5])?;
    let mask = AttentionMask { causal: true, key_padding: Some(pad.clone()) };
    check_with(|x| Var::scaled_dot_product_attention(&x[0], &x[1], &x[2], &mask), &[q.clone(), k.clone(), v.clone()], &opts);
    // Fewer queries than keys (a causal mask aligned to the end), rank 3.
    let (q3, k3) = (rand(&[2, 3, 4], -1.0, 1.0, 143), rand(&[2, 6, 4], -1.0, 1.0, 144));
    let v3 = rand(&[2, 6, 2], -1.0, 1.0, 145);
    check_with(|x| Var::scaled_dot_product_attention(&x[0], &x[1], &x[2], &AttentionMask::causal()), &[q3, k3, v3], &opts);
    // The qkv-fused GPT form, with and without padding.
    let qkv = rand(&[2, 5, 12], -1.0, 1.0, 146);
    check_with(|x| Var::causal_self_attention(&x[0], 2, None), &[qkv.clone()], &opts);
    check_with(|x| Var::causal_self_attention(&x[0], 2, Some(&pad)), &[qkv.clone()], &opts);
    // The qkv form equals the general form on split heads.
    let x = Var::constant(qkv);
    let fused = Var::causal_self_attention(&x, 2, None)?.tensor().to_vec::<f32>()?;
    let heads = |i: usize| x.narrow(-1, i * 4, 4).and_then(|t| t.reshape(&[2, 5, 2, 2])).and_then(|t| t.transpose(1, 2));
    let general = Var::scaled_dot_product_attention(&heads(0)?, &heads(1)?, &heads(2)?, &AttentionMask::causal())?
        .transpose(1, 2)?
        .reshape(&[2, 5, 4])?
        .tensor()
        .to_vec::<f32>()?;
    for (a, b) in fused.iter().zip(&general) {
        assert!((a - b).abs() < 1e-6);
    }
    // Causality: the first position's output depends on the first token only.
    let base = rand(&[1, 3, 6], -1.0, 1.0, 147);
    let mut changed = base.to_vec::<f32>()?;
    for c in &mut changed[6..18] {
        *c += 1.0;
    }
    let out_a = Var::causal_self_attention(&Var::constant(base), 1, None)?.tensor().to_vec::<f32>()?;
    let out_b = Var::causal_self_attention(&Var::constant(Tensor::from_vec(changed, &[1, 3, 6])?), 1, None)?.tensor().to_vec::<f32>()?;
    assert_eq!(&out_a[..2], &out_b[..2]);
    assert_ne!(&out_a[2..], &out_b[2..]);
    Ok(())
}

/// Reductions hand their inputs a broadcast (stride-0) gradient; every rule downstream must accept it.
#[test]
fn broadcast_gradients_flow_through_every_rule() -> Result<()> {
    let x = rand(&[3, 7], -1.0, 1.0, 150);
    let ids = Tensor::from_vec(vec![1i64, 0, 2, 1], &[4])?;
    let gidx = Tensor::from_vec(vec![0i64, 6, 6, 1, 2, 0], &[3, 2])?;
    check(|v| v[0].narrow(1, 2, 4)?.sum_all(), &[x.clone()]);
    check(|v| v[0].select(0, 1)?.mean_all(), &[x.clone()]);
    check(|v| v[0].t()?.sum(&[0], false), &[x.clone()]);
    check(|v| v[0].index_select(0, &ids)?.sum_all(), &[x.clone()]);
    check(|v| v[0].gather(1, &gidx)?.mean(&[0], false), &[x.clone()]);
    check(|v| v[0].embedding(&ids)?.sum_all(), &[x.clone()]);
    check(|v| Var::cat(&[&v[0], &v[0]], 0)?.sum_all(), &[x.clone()]);
    check(|v| v[0].layer_norm(None, None, 1e-5)?.mul(&v[0])?.sum(&[1], false), &[x.clone()]);
    check(|v| v[0].softmax(-1)?.mul(&v[0])?.sum_all(), &[x.clone()]);
    check(|v| v[0].log_softmax(0)?.sum(&[0], true), &[x.clone()]);
    check(|v| v[0].gelu()?.sum_all(), &[x.clone()]);
    check(|v| v[0].matmul(&v[0].t()?)?.sum_all(), &[x.clone()]);
    check(|v| v[0].reshape(&[21])?.unsqueeze(0)?.sum(&[1], false), &[x.clone()]);
    check(|v| v[0].max(&[1], true)?.mean_all(), &[distinct(&[3, 7], 152)]);
    let targets = Tensor::from_vec(vec![1i64, 6, -100], &[3])?;
    let opts = CrossEntropyOptions { reduction: Reduction::None, ..Default::default() };
    check(|v| v[0].cross_entropy_with(&targets, &opts)?.sum_all(), &[x.clone()]);
    let qkv = rand(&[1, 4, 6], -1.0, 1.0, 151);
    check(|v| Var::causal_self_attention(&v[0], 1, None)?.sum_all(), &[qkv]);
    Ok(())
}
