//! The graph's life cycle (accumulation, freeing, inference mode, detach, frozen parameters), optimizers
//! against hand computation, schedules, clipping, gradient accumulation, state dicts.
use std::collections::BTreeMap;

use autograd::nn::{join_name, Embedding, LayerNorm, Linear, Module};
use autograd::optim::{
    clip_grad_norm, decay_groups, grad_norm, AdamW, AdamWOptions, LrSchedule, Optimizer, ParamGroup, Sgd, SgdOptions,
};
use autograd::{no_grad, is_grad_enabled, ParamKind, Parameter, Var};
use engine::rng::Rng;
use engine::{DType, Result, Tensor};

fn t(v: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn param(v: &[f32], kind: ParamKind) -> Parameter {
    Parameter::new(t(v, &[v.len()]), kind)
}

#[test]
fn gradients_accumulate_until_zeroed() -> Result<()> {
    let w = param(&[1.0, 2.0], ParamKind::Weight);
    for _ in 0..2 {
        w.var().mul_scalar(3.0)?.sum_all()?.backward()?;
    }
    assert_eq!(w.grad().unwrap().to_vec::<f32>()?, vec![6.0, 6.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
    // A value used twice in one graph gets both contributions: d(w*w)/dw = 2w.
    let v = w.var();
    v.mul(&v)?.sum_all()?.backward()?;
    assert_eq!(w.grad().unwrap().to_vec::<f32>()?, vec![2.0, 4.0]);
    // backward_with an explicit upstream gradient.
    w.zero_grad();
    w.var().mul_scalar(2.0)?.backward_with(&t(&[1.0, -1.0], &[2]))?;
    assert_eq!(w.grad().unwrap().to_vec::<f32>()?, vec![2.0, -2.0]);
    Ok(())
}

#[test]
fn backward_frees_the_graph() -> Result<()> {
    let w = Var::leaf(t(&[0.5; 6], &[2, 3]));
    let x = Var::constant(t(&[1.0; 12], &[3, 4]));
    let loss = w.matmul(&x)?.tanh()?.softmax(-1)?.square()?.mean_all()?;
    assert_eq!(loss.live_graph_nodes(), 5);
    loss.backward()?;
    assert_eq!(loss.live_graph_nodes(), 0, "every node's saved tensors are released by backward");
    let err = loss.backward().unwrap_err().to_string();
    assert!(err.contains("mean_all") && err.contains("second time"), "{err}");
    // backward() needs a one-element value.
    let err = w.mul_scalar(2.0)?.backward().unwrap_err().to_string();
    assert!(err.contains("one-element"), "{err}");
    Ok(())
}

#[test]
fn inference_mode_records_nothing() -> Result<()> {
    let w = param(&[1.0, 2.0], ParamKind::Weight);
    {
        let _guard = no_grad();
        assert!(!is_grad_enabled());
        let y = w.var().exp()?.sum_all()?;
        assert!(!y.requires_grad());
        assert_eq!(y.live_graph_nodes(), 0);
        assert!(y.backward().is_err());
        {
            let _inner = no_grad();
        }
        assert!(!is_grad_enabled(), "guards nest");
    }
    assert!(is_grad_enabled());
    // The flag is per thread.
    let _guard = no_grad();
    std::thread::spawn(|| assert!(is_grad_enabled())).join().unwrap();
    Ok(())
}

#[test]
fn detach_and_frozen_parameters_stop_gradients() -> Result<()> {
    let a = param(&[1.0, 2.0], ParamKind::Weight);
    let frozen = param(&[3.0, 4.0], ParamKind::Weight);
    frozen.set_requires_grad(false);
    let y = a.var().mul(&frozen.var())?.add(&a.var().detach().mul_scalar(100.0)?)?.sum_all()?;
    y.backward()?;
    assert_eq!(a.grad().unwrap().to_vec::<f32>()?, vec![3.0, 4.0]); // nothing through the detached branch
    assert!(frozen.grad().is_none());
    // A graph of only frozen parameters records nothing at all.
    let z = frozen.var().exp()?.sum_all()?;
    assert!(!z.requires_grad());
    Ok(())
}

#[test]
fn adamw_matches_a_hand_computed_step() -> Result<()> {
    let (lr, b1, b2, eps, wd) = (0.01f64, 0.9f64, 0.95f64, 1e-8f64, 0.1f64);
    let w = param(&[0.5, -1.0, 2.0], ParamKind::Weight);
    let b = param(&[0.25], ParamKind::Bias);
    let groups = vec![ParamGroup::new(vec![("w".into(), w.clone())], wd as f32), ParamGroup::new(vec![("b".into(), b.clone())], 0.0)];
    let mut opt = AdamW::new(groups, AdamWOptions { lr: lr as f32, beta1: b1 as f32, beta2: b2 as f32, eps: eps as f32 });
    let grads = [[0.3f64, -0.1, 0.02], [-0.2, 0.4, 0.0]];
    let (mut p, mut m, mut v) = ([0.5f64, -1.0, 2.0], [0f64; 3], [0f64; 3]);
    let (mut pb, mut mb, mut vb) = (0.25f64, 0f64, 0f64);
    for (step, g) in grads.iter().enumerate() {
        let t_ = (step + 1) as i32;
        opt.zero_grad();
        w.set_grad(Some(t(&g.map(|x| x as f32), &[3])))?;
        b.set_grad(Some(t(&[g[0] as f32], &[1])))?;
        opt.step()?;
        let (bc1, bc2) = (1.0 - b1.powi(t_), 1.0 - b2.powi(t_));
        for i in 0..3 {
            p[i] *= 1.0 - lr * wd;
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            p[i] -= lr * (m[i] / bc1) / ((v[i] / bc2).sqrt() + eps);
        }
        mb = b1 * mb + (1.0 - b1) * g[0];
        vb = b2 * vb + (1.0 - b2) * g[0] * g[0];
        pb -= lr * (mb / bc1) / ((vb / bc2).sqrt() + eps); // no decay in the bias group
    }
    for (got, want) in w.value().to_vec::<f32>()?.iter().zip(p) {
        assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
    }
    assert!((b.value().item()? as f64 - pb).abs() < 1e-6);
    assert_eq!(opt.steps_taken(), 2);
    // The state is exported under the parameter names.
    let names: Vec<String> = opt.state_tensors()?.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["w.exp_avg", "w.exp_avg_sq", "b.exp_avg", "b.exp_avg_sq"]);
    Ok(())
}

#[test]
fn decay_groups_skip_biases_norms_and_embeddings() -> Result<()> {
    struct Net {
        emb: Embedding,
        ln: LayerNorm,
        fc: Linear,
    }
    impl Module for Net {
        fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
            self.emb.visit_parameters(&join_name(prefix, "emb"), f);
            self.ln.visit_parameters(&join_name(prefix, "ln"), f);
            self.fc.visit_parameters(&join_name(prefix, "fc"), f);
        }
    }
    let mut rng = Rng::new(0);
    let net = Net { emb: Embedding::new(5, 3, 1.0, &mut rng)?, ln: LayerNorm::new(3, 1e-5)?, fc: Linear::new(3, 2, true, &mut rng)? };
    let groups = decay_groups(&net, 0.1);
    let names = |g: &ParamGroup| g.params.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&groups[0]), ["fc.weight"]);
    assert_eq!(names(&groups[1]), ["emb.weight", "ln.weight", "ln.bias", "fc.bias"]);
    // With zero gradients AdamW's update is 0, so only decoupled decay moves values: decayed group only.
    let mut opt = AdamW::new(groups, AdamWOptions { lr: 0.5, ..Default::default() });
    let before: BTreeMap<String, Vec<f32>> = net.state_dict().into_iter().map(|(n, t)| (n, t.to_vec::<f32>().unwrap())).collect();
    for (_, p) in net.named_parameters() {
        p.set_grad(Some(Tensor::zeros(&p.shape(), DType::F32)?))?;
    }
    opt.step()?;
    for (name, value) in net.state_dict() {
        let factor = if name == "fc.weight" { 1.0 - 0.5 * 0.1 } else { 1.0 };
        for (a, b) in value.to_vec::<f32>()?.iter().zip(&before[&name]) {
            assert!((a - b * factor).abs() < 1e-7, "{name}");
        }
    }
    Ok(())
}

#[test]
fn sgd_momentum_and_nesterov_match_hand_computation() -> Result<()> {
    for nesterov in [false, true] {
        let (lr, mu, wd) = (0.1f32, 0.9f32, 0.01f32);
        let w = param(&[1.0, -2.0], ParamKind::Weight);
        let mut opt = Sgd::new(vec![ParamGroup::new(vec![("w".into(), w.clone())], wd)], SgdOptions { lr, momentum: mu, nesterov });
        let grads = [[0.5f32, 1.0], [-1.0, 0.25], [0.3, 0.3]];
        let (mut p, mut buf) = ([1.0f32, -2.0], [0f32; 2]);
        for (step, g) in grads.iter().enumerate() {
            w.set_grad(Some(t(g, &[2])))?;
            opt.step()?;
            for i in 0..2 {
                let d = g[i] + wd * p[i];
                buf[i] = if step == 0 { d } else { mu * buf[i] + d };
                p[i] -= lr * if nesterov { d + mu * buf[i] } else { buf[i] };
            }
        }
        let got = w.value().to_vec::<f32>()?;
        for i in 0..2 {
            assert!((got[i] - p[i]).abs() < 1e-6, "nesterov {nesterov}: {got:?} vs {p:?}");
        }
    }
    Ok(())
}

#[test]
fn schedules_at_known_steps() {
    let cos = LrSchedule::WarmupCosine { max_lr: 6e-4, min_lr: 6e-5, warmup_steps: 100, decay_steps: 1100 };
    assert!((cos.lr_at(0) - 6e-6).abs() < 1e-10);
    assert!((cos.lr_at(49) - 3e-4).abs() < 1e-9);
    assert!((cos.lr_at(100) - 6e-4).abs() < 1e-10);
    assert!((cos.lr_at(600) - 3.3e-4).abs() < 1e-9); // half way: (max + min) / 2
    // A quarter of the way: min + (1 + cos(pi/4)) / 2 * (max - min).
    let quarter = 6e-5 + 0.5 * (1.0 + std::f64::consts::FRAC_PI_4.cos()) * (6e-4 - 6e-5);
    assert!((cos.lr_at(350) as f64 - quarter).abs() < 1e-9);
    assert_eq!(cos.lr_at(1100), 6e-5);
    assert_eq!(cos.lr_at(5000), 6e-5);
    let lin = LrSchedule::WarmupLinear { max_lr: 1.0, min_lr: 0.0, warmup_steps: 0, decay_steps: 10 };
    assert_eq!(lin.lr_at(0), 1.0);
    assert!((lin.lr_at(3) - 0.7).abs() < 1e-7);
    assert_eq!(lin.lr_at(10), 0.0);
    assert_eq!(LrSchedule::Constant { lr: 0.25 }.lr_at(123), 0.25);
}

#[test]
fn clipping_by_global_norm() -> Result<()> {
    let a = param(&[0.0, 0.0], ParamKind::Weight);
    let b = param(&[0.0], ParamKind::Bias);
    let none = param(&[0.0], ParamKind::Bias); // no gradient: counts 0, stays None
    a.set_grad(Some(t(&[3.0, 0.0], &[2])))?;
    b.set_grad(Some(t(&[4.0], &[1])))?;
    let params = [a.clone(), b.clone(), none.clone()];
    assert_eq!(grad_norm(&params)?, 5.0);
    // Below the threshold: unchanged.
    assert_eq!(clip_grad_norm(&params, 10.0)?, 5.0);
    assert_eq!(a.grad().unwrap().to_vec::<f32>()?, vec![3.0, 0.0]);
    // Above: scaled to norm 2 together.
    assert_eq!(clip_grad_norm(&params, 2.0)?, 5.0);
    assert!((grad_norm(&params)? - 2.0).abs() < 1e-5);
    assert!((a.grad().unwrap().to_vec::<f32>()?[0] - 1.2).abs() < 1e-5);
    assert!((b.grad().unwrap().item()? - 1.6).abs() < 1e-5);
    assert!(none.grad().is_none());
    Ok(())
}

#[test]
fn accumulating_two_half_batches_equals_one_batch() -> Result<()> {
    let mut rng = Rng::new(5);
    let fc = Linear::new(6, 4, true, &mut rng)?;
    let x = Tensor::randn(&[8, 6], 0.0, 1.0, &mut rng)?;
    let y = Tensor::from_vec(vec![0i64, 1, 2, 3, 3, 2, 1, 0], &[8])?;
    let loss = |x: &Tensor, y: &Tensor| fc.forward(&Var::constant(x.clone()))?.cross_entropy(y, -100);
    loss(&x, &y)?.backward()?;
    let whole: Vec<Vec<f32>> = fc.parameters().iter().map(|p| p.grad().unwrap().to_vec::<f32>().unwrap()).collect();
    fc.zero_grad();
    for half in 0..2 {
        let (xs, ys) = (x.narrow(0, half * 4, 4)?, y.narrow(0, half * 4, 4)?.contiguous()?);
        loss(&xs, &ys)?.mul_scalar(0.5)?.backward()?;
    }
    for (p, w) in fc.parameters().iter().zip(&whole) {
        for (a, b) in p.grad().unwrap().to_vec::<f32>()?.iter().zip(w) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
    Ok(())
}

#[test]
fn state_dict_round_trip_and_errors() -> Result<()> {
    let mut rng = Rng::new(9);
    let a = Linear::new(3, 2, true, &mut rng)?;
    let b = Linear::new(3, 2, true, &mut rng)?;
    b.load_state_dict(&a.state_dict())?;
    assert_eq!(b.weight.value().to_vec::<f32>()?, a.weight.value().to_vec::<f32>()?);
    let mut sd = a.state_dict();
    sd.remove("bias");
    sd.insert("scale".into(), Tensor::zeros(&[1], DType::F32)?);
    let err = b.load_state_dict(&sd).unwrap_err().to_string();
    assert!(err.contains("missing tensors [\"bias\"]") && err.contains("unexpected tensors [\"scale\"]"), "{err}");
    let mut sd = a.state_dict();
    sd.insert("weight".into(), Tensor::zeros(&[2, 4], DType::F32)?);
    let err = b.load_state_dict(&sd).unwrap_err().to_string();
    assert!(err.contains("\"weight\"") && err.contains("[2, 4]") && err.contains("[2, 3]"), "{err}");
    Ok(())
}

#[test]
fn values_and_parameters_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Var>();
    send_sync::<Parameter>();
}

#[test]
fn long_graphs_drop_without_recursion() -> Result<()> {
    // A chain of 200k nodes: the default recursive drop would overflow the stack.
    let x = Var::leaf(t(&[1.0], &[1]));
    let mut acc = x.clone();
    for _ in 0..200_000 {
        acc = acc.add_scalar(0.0)?;
    }
    drop(acc);
    Ok(())
}

#[test]
fn casts_pass_gradients_back_in_the_input_dtype() -> Result<()> {
    let x = Var::leaf(t(&[1.5, -2.0], &[2]));
    let y = x.to_dtype(DType::BF16)?.to_dtype(DType::F32)?.mul_scalar(3.0)?.sum_all()?;
    y.backward()?;
    let g = x.grad().unwrap();
    assert_eq!(g.dtype(), DType::F32);
    assert_eq!(g.to_vec::<f32>()?, vec![3.0, 3.0]);
    // A cast to an integer type cuts the graph.
    assert!(!x.to_dtype(DType::I64)?.requires_grad());
    Ok(())
}

#[test]
fn saved_tensors_are_released_by_backward_and_never_kept_under_no_grad() -> Result<()> {
    use std::sync::Arc;
    let x = Var::leaf(t(&[0.5, 1.0, 2.0], &[3]));
    // exp saves its output for backward: dropping the Var does not free it while the graph lives.
    let y = x.exp()?;
    let saved = Arc::downgrade(y.tensor().storage());
    let loss = y.sum_all()?;
    drop(y);
    assert!(saved.upgrade().is_some(), "the graph holds exp's output for its rule");
    loss.backward()?;
    assert!(saved.upgrade().is_none(), "backward released it");
    // Under no_grad nothing is kept: the output goes as soon as its Var does.
    let _guard = no_grad();
    let y = x.exp()?;
    let unsaved = Arc::downgrade(y.tensor().storage());
    let _loss = y.sum_all()?;
    drop(y);
    assert!(unsaved.upgrade().is_none());
    Ok(())
}

#[test]
fn a_leaf_gradient_does_not_pin_a_larger_buffer() -> Result<()> {
    // cat's backward hands each input a narrow view of the joint gradient; the leaf keeps its own copy.
    let a = Var::leaf(t(&[1.0, 2.0], &[2]));
    let b = Var::leaf(t(&[3.0; 1000], &[1000]));
    Var::cat(&[&a, &b], 0)?.backward_with(&Tensor::ones(&[1002], DType::F32)?)?;
    let g = a.grad().unwrap();
    assert_eq!(g.to_vec::<f32>()?, vec![1.0, 1.0]);
    assert_eq!(g.storage().len(), 2);
    Ok(())
}

#[test]
fn group_learning_rate_scales() -> Result<()> {
    let fast = param(&[1.0], ParamKind::Weight);
    let slow = param(&[1.0], ParamKind::Weight);
    let frozen_group = param(&[1.0], ParamKind::Weight);
    let groups = vec![
        ParamGroup::new(vec![("fast".into(), fast.clone())], 0.0).with_lr_scale(2.0),
        ParamGroup::new(vec![("slow".into(), slow.clone())], 0.0),
        ParamGroup::new(vec![("still".into(), frozen_group.clone())], 0.0).with_lr_scale(0.0),
    ];
    let mut sgd = Sgd::new(groups.clone(), SgdOptions { lr: 0.1, ..Default::default() });
    for p in [&fast, &slow, &frozen_group] {
        p.set_grad(Some(t(&[1.0], &[1])))?;
    }
    sgd.step()?;
    assert!((fast.value().item()? - 0.8).abs() < 1e-7);
    assert!((slow.value().item()? - 0.9).abs() < 1e-7);
    assert_eq!(frozen_group.value().item()?, 1.0);
    // AdamW's first step moves by lr * scale.
    let mut adamw = AdamW::new(groups, AdamWOptions { lr: 0.1, ..Default::default() });
    adamw.step()?;
    assert!((fast.value().item()? - 0.6).abs() < 1e-6);
    assert!((slow.value().item()? - 0.8).abs() < 1e-6);
    assert_eq!(frozen_group.value().item()?, 1.0);
    Ok(())
}
