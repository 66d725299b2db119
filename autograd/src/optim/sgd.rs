//! Stochastic gradient descent with momentum, optional Nesterov momentum and (L2) weight decay, as
//! `torch.optim.SGD` (dampening 0).
use std::collections::BTreeMap;

use engine::{Result, Tensor};

use super::{check_unexpected, grad_values, take_state, Optimizer, ParamGroup};

/// SGD hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdOptions {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor; 0 for plain SGD.
    pub momentum: f32,
    /// Nesterov momentum (needs `momentum > 0` to make a difference).
    pub nesterov: bool,
}

impl Default for SgdOptions {
    fn default() -> Self {
        SgdOptions { lr: 1e-2, momentum: 0.0, nesterov: false }
    }
}

/// SGD: `g += wd * p; buf = momentum * buf + g` (`buf = g` at the first step);
/// `p -= lr * (nesterov ? g + momentum * buf : buf)`.
///
/// ```
/// use autograd::optim::{Optimizer, ParamGroup, Sgd, SgdOptions};
/// use autograd::{ParamKind, Parameter};
/// use engine::Tensor;
/// let w = Parameter::new(Tensor::from_vec(vec![1f32], &[1])?, ParamKind::Weight);
/// let mut opt = Sgd::new(vec![ParamGroup::new(vec![("w".into(), w.clone())], 0.0)], SgdOptions { lr: 0.1, momentum: 0.9, nesterov: false });
/// for _ in 0..2 {
///     opt.zero_grad();
///     w.var().sum_all()?.backward()?; // gradient 1
///     opt.step()?;
/// }
/// // buf: 1, then 0.9 * 1 + 1 = 1.9; w = 1 - 0.1 - 0.19
/// assert!((w.value().item()? - 0.71).abs() < 1e-6);
/// # Ok::<(), engine::Error>(())
/// ```
pub struct Sgd {
    groups: Vec<ParamGroup>,
    options: SgdOptions,
    buffers: Vec<Vec<Option<Vec<f32>>>>,
    steps: u64,
}

impl Sgd {
    /// An optimizer over `groups`.
    pub fn new(groups: Vec<ParamGroup>, options: SgdOptions) -> Sgd {
        let buffers = groups.iter().map(|g| g.params.iter().map(|_| None).collect()).collect();
        Sgd { groups, options, buffers, steps: 0 }
    }

    /// One group of every trainable parameter of `module`, with `weight_decay` on the matrices only
    /// (see [`super::decay_groups`]).
    pub fn for_module(module: &dyn crate::nn::Module, weight_decay: f32, options: SgdOptions) -> Sgd {
        Sgd::new(super::decay_groups(module, weight_decay), options)
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        let SgdOptions { lr, momentum, nesterov } = self.options;
        for (group, bufs) in self.groups.iter().zip(&mut self.buffers) {
            let wd = group.weight_decay;
            let lr = lr * group.lr_scale;
            for ((_, p), slot) in group.params.iter().zip(bufs.iter_mut()) {
                let Some(g) = grad_values(p)? else { continue };
                let grad = g.contiguous_slice::<f32>()?;
                p.update(|value| {
                    let w = value.contiguous_slice_mut::<f32>()?;
                    let mut d: Vec<f32> = grad.iter().zip(w.iter()).map(|(&g, &w)| g + wd * w).collect();
                    if momentum != 0.0 {
                        let buf = match slot {
                            None => slot.insert(d.clone()),
                            Some(buf) => {
                                for (b, &di) in buf.iter_mut().zip(&d) {
                                    *b = momentum * *b + di;
                                }
                                buf
                            }
                        };
                        if nesterov {
                            for (di, &b) in d.iter_mut().zip(buf.iter()) {
                                *di += momentum * b;
                            }
                        } else {
                            d.copy_from_slice(buf);
                        }
                    }
                    for (wi, di) in w.iter_mut().zip(&d) {
                        *wi -= lr * di;
                    }
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
        for (group, bufs) in self.groups.iter().zip(&self.buffers) {
            for ((name, _), buf) in group.params.iter().zip(bufs) {
                if let Some(b) = buf {
                    out.push((format!("{name}.momentum_buffer"), Tensor::from_slice(b, &[b.len()])?));
                }
            }
        }
        Ok(out)
    }

    fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>, steps_taken: u64) -> Result<()> {
        let mut expected = Vec::new();
        let mut new = Vec::new();
        for group in &self.groups {
            let mut bufs = Vec::new();
            for (name, p) in &group.params {
                let key = format!("{name}.momentum_buffer");
                if tensors.contains_key(&key) {
                    bufs.push(Some(take_state(tensors, &key, p.numel())?));
                    expected.push(key);
                } else {
                    bufs.push(None);
                }
            }
            new.push(bufs);
        }
        check_unexpected(tensors, &expected)?;
        self.buffers = new;
        self.steps = steps_taken;
        Ok(())
    }
}
