//! AdamW: Adam with decoupled weight decay and bias correction, one fused kernel call per parameter
//! (`kernels::adamw_step`), with parameter groups for per-group weight decay.
use std::collections::BTreeMap;

use engine::{Error, Result, Tensor};

use super::{check_unexpected, grad_values, take_state, Optimizer, ParamGroup};
use crate::nn::Module;

/// AdamW hyper-parameters (the weight decay of each group is set on the group).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWOptions {
    /// Learning rate (a schedule sets it before each step with [`Optimizer::set_lr`]).
    pub lr: f32,
    /// Decay of the first moment (0.9).
    pub beta1: f32,
    /// Decay of the second moment (0.999; GPT training uses 0.95).
    pub beta2: f32,
    /// Added to the denominator (1e-8).
    pub eps: f32,
}

impl Default for AdamWOptions {
    fn default() -> Self {
        AdamWOptions { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Per parameter: first and second moments, created (zeros) at the first step that sees a gradient.
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// AdamW (Loshchilov & Hutter), matching `torch.optim.AdamW`: for step `t` (1-based)
/// ```text
/// p *= 1 - lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// ```
/// The step count is shared by all parameters; a parameter with no gradient at a step is left alone.
///
/// ```
/// use autograd::optim::{AdamW, AdamWOptions, Optimizer, ParamGroup};
/// use autograd::{ParamKind, Parameter};
/// use engine::Tensor;
/// let w = Parameter::new(Tensor::from_vec(vec![1f32], &[1])?, ParamKind::Weight);
/// let mut opt = AdamW::new(vec![ParamGroup::new(vec![("w".into(), w.clone())], 0.0)], AdamWOptions { lr: 0.1, ..Default::default() });
/// w.var().square()?.sum_all()?.backward()?; // grad 2
/// opt.step()?;
/// // The first Adam step moves by lr * g / (|g| + eps) = lr, whatever the gradient's size.
/// assert!((w.value().item()? - 0.9).abs() < 1e-6);
/// # Ok::<(), engine::Error>(())
/// ```
pub struct AdamW {
    groups: Vec<ParamGroup>,
    options: AdamWOptions,
    state: Vec<Vec<Option<Moments>>>,
    steps: u64,
}

impl AdamW {
    /// An optimizer over `groups`.
    pub fn new(groups: Vec<ParamGroup>, options: AdamWOptions) -> AdamW {
        let state = groups.iter().map(|g| g.params.iter().map(|_| None).collect()).collect();
        AdamW { groups, options, state, steps: 0 }
    }

    /// The usual transformer setup: matrices decay with `weight_decay`, the rest does not
    /// (see [`super::decay_groups`]).
    pub fn for_module(module: &dyn Module, weight_decay: f32, options: AdamWOptions) -> AdamW {
        AdamW::new(super::decay_groups(module, weight_decay), options)
    }

    /// The groups, in order.
    pub fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }
}

impl Optimizer for AdamW {
    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        for (group, states) in self.groups.iter().zip(&mut self.state) {
            let cfg = kernels::AdamWConfig {
                lr: self.options.lr * group.lr_scale,
                beta1: self.options.beta1,
                beta2: self.options.beta2,
                eps: self.options.eps,
                weight_decay: group.weight_decay,
            };
            for ((_, p), slot) in group.params.iter().zip(states.iter_mut()) {
                let Some(g) = grad_values(p)? else { continue };
                let n = p.numel();
                let moments = slot.get_or_insert_with(|| Moments { m: vec![0.0; n], v: vec![0.0; n] });
                let grad = g.contiguous_slice::<f32>()?;
                let steps = self.steps;
                p.update(|value| {
                    let values = value.contiguous_slice_mut::<f32>()?;
                    kernels::adamw_step(values, grad, &mut moments.m, &mut moments.v, &cfg, steps)?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    fn param_groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    fn lr(&self) -> f32 {
        self.options.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.options.lr = lr;
    }

    fn steps_taken(&self) -> u64 {
        self.steps
    }

    fn state_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        for (group, states) in self.groups.iter().zip(&self.state) {
            for ((name, _), slot) in group.params.iter().zip(states) {
                if let Some(s) = slot {
                    out.push((format!("{name}.exp_avg"), Tensor::from_slice(&s.m, &[s.m.len()])?));
                    out.push((format!("{name}.exp_avg_sq"), Tensor::from_slice(&s.v, &[s.v.len()])?));
                }
            }
        }
        Ok(out)
    }

    fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>, steps_taken: u64) -> Result<()> {
        let mut expected = Vec::new();
        let mut new_state = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let mut states = Vec::with_capacity(group.params.len());
            for (name, p) in &group.params {
                let (km, kv) = (format!("{name}.exp_avg"), format!("{name}.exp_avg_sq"));
                // A parameter that never had a gradient has no state: both tensors absent is fine.
                if !tensors.contains_key(&km) && !tensors.contains_key(&kv) {
                    states.push(None);
                    continue;
                }
                let m = take_state(tensors, &km, p.numel())?;
                let v = take_state(tensors, &kv, p.numel())?;
                expected.push(km);
                expected.push(kv);
                states.push(Some(Moments { m, v }));
            }
            new_state.push(states);
        }
        check_unexpected(tensors, &expected)?;
        if steps_taken == 0 && !expected.is_empty() {
            return Err(Error::op("optimizer state", "moments are present but the step count is 0"));
        }
        self.state = new_state;
        self.steps = steps_taken;
        Ok(())
    }
}
