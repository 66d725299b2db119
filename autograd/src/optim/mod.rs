//! Optimizers, learning-rate schedules and gradient clipping.
//!
//! **Gradient accumulation.** Gradients add up (`+=`) across backward passes until zeroed, so a batch
//! split into `k` micro-batches trains exactly like the whole batch when each micro-batch's mean loss is
//! scaled by `1/k` before its backward (for equal-sized micro-batches):
//! ```text
//! for micro in batch.chunks(k) { model(micro).loss.mul_scalar(1.0 / k)?.backward()?; }
//! clip_grad_norm(&params, 1.0)?; optimizer.step()?; optimizer.zero_grad();
//! ```
//! The test suite checks this equivalence (2 halves = 1 whole batch).
use std::collections::BTreeMap;

use engine::{Result, Tensor};

use crate::graph::ParamKind;
use crate::nn::Module;
use crate::param::Parameter;

mod adamw;
mod clip;
mod schedule;
mod sgd;

pub use adamw::{AdamW, AdamWOptions};
pub use clip::{clip_grad_norm, grad_norm};
pub use schedule::LrSchedule;
pub use sgd::{Sgd, SgdOptions};

/// Parameters that share optimizer settings.
#[derive(Clone, Debug)]
pub struct ParamGroup {
    /// The parameters with their dotted names (the names key the optimizer state in checkpoints).
    pub params: Vec<(String, Parameter)>,
    /// Weight decay for this group.
    pub weight_decay: f32,
    /// This group's learning rate is the optimizer's times this (1 by default; e.g. a value head that
    /// learns faster than the policy it sits on).
    pub lr_scale: f32,
}

impl ParamGroup {
    /// One group of `params` with `weight_decay` (and the optimizer's learning rate).
    pub fn new(params: Vec<(String, Parameter)>, weight_decay: f32) -> Self {
        ParamGroup { params, weight_decay, lr_scale: 1.0 }
    }

    /// The same group with its learning rate scaled by `lr_scale`.
    pub fn with_lr_scale(mut self, lr_scale: f32) -> Self {
        self.lr_scale = lr_scale;
        self
    }
}

/// The usual two groups for transformers: matrices ([`ParamKind::Weight`]) decay with `weight_decay`;
/// biases, normalisation gains/shifts, embeddings and others do not. Frozen parameters are left out.
pub fn decay_groups(module: &dyn Module, weight_decay: f32) -> Vec<ParamGroup> {
    let (decay, no_decay): (Vec<_>, Vec<_>) = module
        .named_parameters()
        .into_iter()
        .filter(|(_, p)| p.requires_grad())
        .partition(|(_, p)| p.kind() == ParamKind::Weight);
    vec![ParamGroup::new(decay, weight_decay), ParamGroup::new(no_decay, 0.0)]
}

/// What a training loop needs from an optimizer, including its state for checkpoints.
pub trait Optimizer {
    /// Applies one update from the accumulated gradients (parameters without a gradient are skipped).
    fn step(&mut self) -> Result<()>;

    /// The parameter groups this optimizer updates.
    fn param_groups(&self) -> &[ParamGroup];

    /// Clears the gradient of every parameter this optimizer updates.
    fn zero_grad(&self) {
        for group in self.param_groups() {
            for (_, p) in &group.params {
                p.zero_grad();
            }
        }
    }

    /// The learning rate the next step uses.
    fn lr(&self) -> f32;

    /// Sets the learning rate (schedules call this before each step).
    fn set_lr(&mut self, lr: f32);

    /// How many steps have been taken.
    fn steps_taken(&self) -> u64;

    /// Every parameter with its name, over all groups.
    fn named_parameters(&self) -> Vec<(String, Parameter)> {
        self.param_groups().iter().flat_map(|g| g.params.iter().cloned()).collect()
    }

    /// The state as named tensors (`{param}.exp_avg`, ...), for a checkpoint.
    fn state_tensors(&self) -> Result<Vec<(String, Tensor)>>;

    /// Restores the state saved by [`Optimizer::state_tensors`] and the step count. Errors name the
    /// missing, unexpected or mis-shaped tensor.
    fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>, steps_taken: u64) -> Result<()>;
}

/// The gradient of `p` as contiguous f32 values, or `None` when it has none.
pub(crate) fn grad_values(p: &Parameter) -> Result<Option<Tensor>> {
    p.grad().map(|g| g.to_dtype(engine::DType::F32)?.contiguous()).transpose()
}

/// Checks a state tensor read from a checkpoint: present, f32, `numel` elements.
pub(crate) fn take_state(tensors: &BTreeMap<String, Tensor>, key: &str, numel: usize) -> Result<Vec<f32>> {
    let t = tensors
        .get(key)
        .ok_or_else(|| engine::Error::op("optimizer state", format!("tensor {key:?} is missing")))?;
    if t.numel() != numel || t.dtype() != engine::DType::F32 {
        return Err(engine::Error::op(
            "optimizer state",
            format!("tensor {key:?} is {} {:?} but the parameter has {numel} f32 elements", t.dtype(), t.shape()),
        ));
    }
    t.to_vec::<f32>()
}

/// Errors when `tensors` holds names that no parameter's state uses.
pub(crate) fn check_unexpected(tensors: &BTreeMap<String, Tensor>, expected: &[String]) -> Result<()> {
    let unexpected: Vec<&String> = tensors.keys().filter(|k| !expected.contains(k)).collect();
    if !unexpected.is_empty() {
        return Err(engine::Error::op("optimizer state", format!("unexpected tensors {unexpected:?}")));
    }
    Ok(())
}
