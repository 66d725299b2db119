//! [`Parameter`]: a trainable tensor with an accumulated gradient, shared by a module and its optimizer.
use std::sync::atomic::Ordering;
use std::sync::Arc;

use engine::{DType, Error, Result, Tensor};

use crate::grad_mode::is_grad_enabled;
use crate::graph::{poisoned, LeafNode, ParamKind};
use crate::var::Var;

/// A trainable tensor. Clones share the value and the gradient (a module and its optimizer hold the same
/// parameter). Each forward pass takes a [`Var`] of the current value with [`Parameter::var`]; backward adds
/// into [`Parameter::grad`]; the optimizer updates the value in place.
///
/// ```
/// use autograd::{ParamKind, Parameter};
/// use engine::Tensor;
/// let w = Parameter::new(Tensor::from_vec(vec![2f32], &[1])?, ParamKind::Weight);
/// let loss = w.var().square()?.sum_all()?; // w^2
/// loss.backward()?;
/// assert_eq!(w.grad().unwrap().to_vec::<f32>()?, vec![4.0]);
/// w.set_requires_grad(false); // frozen: forward passes record nothing for it
/// assert!(!w.var().requires_grad());
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Parameter {
    leaf: Arc<LeafNode>,
}

impl Parameter {
    /// A trainable parameter holding `value`.
    pub fn new(value: Tensor, kind: ParamKind) -> Parameter {
        Parameter { leaf: LeafNode::new(value, true, kind) }
    }

    /// The value as a graph leaf: recorded when gradients are enabled and the parameter is not frozen,
    /// a constant otherwise.
    pub fn var(&self) -> Var {
        let value = self.value();
        if is_grad_enabled() && self.requires_grad() {
            Var::from_leaf(value, self.leaf.clone())
        } else {
            Var::constant(value)
        }
    }

    /// The current value (shares storage; cheap).
    pub fn value(&self) -> Tensor {
        self.leaf.value.read().map(|v| v.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the value; the shape must stay the same.
    pub fn set_value(&self, value: Tensor) -> Result<()> {
        let mut slot = self.leaf.value.write().map_err(|_| poisoned())?;
        if slot.shape() != value.shape() {
            return Err(Error::op(
                "Parameter::set_value",
                format!("new value {:?} does not match the parameter's shape {:?}", value.shape(), slot.shape()),
            ));
        }
        *slot = value;
        Ok(())
    }

    /// Runs `f` on the value in place (optimizers use it: `contiguous_slice_mut` on it copies only when a
    /// forward pass still holds the old value).
    pub fn update<R>(&self, f: impl FnOnce(&mut Tensor) -> Result<R>) -> Result<R> {
        let mut slot = self.leaf.value.write().map_err(|_| poisoned())?;
        let shape = slot.shape().to_vec();
        let r = f(&mut slot)?;
        if slot.shape() != shape.as_slice() {
            return Err(Error::op("Parameter::update", "the update changed the parameter's shape"));
        }
        Ok(r)
    }

    /// The accumulated gradient (`None` until a backward pass reaches this parameter or after zeroing).
    pub fn grad(&self) -> Option<Tensor> {
        self.leaf.grad.lock().ok().and_then(|g| g.clone())
    }

    /// Replaces the accumulated gradient (clipping and tests use it).
    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.shape() != self.shape().as_slice() {
                return Err(Error::op(
                    "Parameter::set_grad",
                    format!("gradient {:?} does not match the parameter's shape {:?}", g.shape(), self.shape()),
                ));
            }
        }
        *self.leaf.grad.lock().map_err(|_| poisoned())? = grad;
        Ok(())
    }

    /// Clears the accumulated gradient.
    pub fn zero_grad(&self) {
        if let Ok(mut g) = self.leaf.grad.lock() {
            *g = None;
        }
    }

    /// False for a frozen parameter.
    pub fn requires_grad(&self) -> bool {
        self.leaf.requires_grad.load(Ordering::Relaxed)
    }

    /// Freezes (`false`) or unfreezes the parameter. A frozen parameter records nothing in forward passes.
    pub fn set_requires_grad(&self, requires_grad: bool) {
        self.leaf.requires_grad.store(requires_grad, Ordering::Relaxed);
    }

    /// What kind of tensor this is (optimizers group by it).
    pub fn kind(&self) -> ParamKind {
        self.leaf.kind
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.value().shape().to_vec()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.value().numel()
    }

    /// The dtype of the value.
    pub fn dtype(&self) -> DType {
        self.value().dtype()
    }

    /// True when both handles are the same parameter.
    pub fn same_as(&self, other: &Parameter) -> bool {
        Arc::ptr_eq(&self.leaf, &other.leaf)
    }
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parameter({:?}, {:?}, requires_grad: {})", self.shape(), self.kind(), self.requires_grad())
    }
}
