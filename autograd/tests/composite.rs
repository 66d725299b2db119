//! Composite checks: a two-layer MLP and a one-block transformer (fused attention with causal and padding
//! masks, layernorm, GELU, a tied LM head, cross-entropy with ignored targets) whose analytic gradients
//! match central finite differences on every parameter (tolerance as in `autograd::gradcheck`).
#[path = "../examples/common/gpt.rs"]
#[allow(dead_code)]
mod gpt;

use autograd::gradcheck::{check_parameter_gradients, GradCheckOptions};
use autograd::nn::{join_name, Linear, Module};
use autograd::{ParamKind, Parameter, Var};
use engine::rng::Rng;
use engine::{Result, Tensor};
use gpt::{Gpt, GptConfig};

struct Mlp {
    fc: Linear,
    proj: Linear,
}

impl Module for Mlp {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.fc.visit_parameters(&join_name(prefix, "fc"), f);
        self.proj.visit_parameters(&join_name(prefix, "proj"), f);
    }
}

impl Mlp {
    fn forward(&self, x: &Var) -> Result<Var> {
        self.proj.forward(&self.fc.forward(x)?.tanh()?)
    }
}

/// Re-draws every parameter `U(-0.5, 0.5)` (norm gains around 1) so gradients are of order 0.1-1 and a
/// wrong rule cannot hide under the absolute tolerance.
fn randomise(module: &dyn Module, rng: &mut Rng) -> Result<()> {
    for (name, p) in module.named_parameters() {
        let t = Tensor::rand_uniform(&p.shape(), -0.5, 0.5, rng)?;
        let t = if p.kind() == ParamKind::Norm && name.ends_with("weight") { t.add_scalar(1.0)? } else { t };
        p.set_value(t)?;
    }
    Ok(())
}

fn assert_gradients_substantial(module: &dyn Module) -> Result<()> {
    for (name, p) in module.named_parameters() {
        let g = p.grad().unwrap_or_else(|| panic!("{name} got no gradient"));
        let max = g.to_vec::<f32>()?.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(max > 1e-2, "{name}: gradient too small ({max}) for the check to mean anything");
    }
    Ok(())
}

#[test]
fn two_layer_mlp_matches_finite_differences() -> Result<()> {
    let mut rng = Rng::new(3);
    let mlp = Mlp { fc: Linear::new(7, 9, true, &mut rng)?, proj: Linear::new(9, 4, true, &mut rng)? };
    let x = Var::constant(Tensor::randn(&[5, 7], 0.0, 1.0, &mut rng)?);
    let targets = Tensor::from_vec(vec![0i64, 3, 1, -100, 2], &[5])?;
    let params = mlp.named_parameters();
    let report =
        check_parameter_gradients(&params, || mlp.forward(&x)?.cross_entropy(&targets, -100), &GradCheckOptions::default(), 1000)?;
    assert_eq!(report.checked, mlp.num_parameters());
    assert_gradients_substantial(&mlp)?;
    Ok(())
}

#[test]
fn one_block_transformer_matches_finite_differences() -> Result<()> {
    let mut rng = Rng::new(11);
    let config = GptConfig { vocab_size: 11, block_size: 6, n_layer: 1, n_head: 2, n_embd: 8 };
    let model = Gpt::new(config, &mut rng)?;
    randomise(&model, &mut rng)?;
    let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"h.0.attn.c_attn.weight".to_string()), "{names:?}");
    assert_eq!(names.first().map(String::as_str), Some("wte.weight"));
    // Batch of 2, length 6; the second sequence has two padding tokens at the end (masked as keys and
    // ignored as targets).
    let ids = Tensor::from_vec(vec![1i64, 5, 2, 9, 0, 3, 4, 4, 7, 10, 0, 0], &[2, 6])?;
    let targets = Tensor::from_vec(vec![5i64, 2, 9, 0, 3, 8, 4, 7, 10, -100, -100, -100], &[2, 6])?;
    let keep = Tensor::from_vec(vec![1u8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], &[2, 6])?;
    let params = model.named_parameters();
    let options = GradCheckOptions { h: 1e-2, ..Default::default() };
    let report = check_parameter_gradients(&params, || model.loss(&ids, &targets, Some(&keep)), &options, 24)?;
    assert!(report.checked > 200);
    assert_gradients_substantial(&model)?;
    Ok(())
}
