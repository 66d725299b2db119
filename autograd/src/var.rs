//! [`Var`]: a tensor that remembers how it was made.
use std::sync::Arc;

use engine::{DType, Error, Result, Tensor};

use crate::grad_mode::is_grad_enabled;
use crate::graph::{self, LeafNode, Origin, ParamKind};

/// A differentiable value: an engine [`Tensor`] plus, when it needs a gradient, its place in the graph.
///
/// Cloning is cheap (the tensor's storage and the graph node are shared). Ops on `Var`s (methods named as
/// the engine's: `add`, `matmul`, `softmax`, ...) run the engine op and, when recording is on and an input
/// needs a gradient, record a backward rule. [`Var::backward`] then adds `d(self)/d(leaf)` into every leaf
/// it depends on; gradients accumulate across calls until [`Var::zero_grad`] (or the parameter's).
///
/// ```
/// use autograd::Var;
/// use engine::Tensor;
/// // y = sum(x * x + 3x); dy/dx = 2x + 3
/// let x = Var::leaf(Tensor::from_vec(vec![1f32, -2.0, 0.5], &[3])?);
/// let y = x.square()?.add(&x.mul_scalar(3.0)?)?.sum_all()?;
/// y.backward()?;
/// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![5.0, -1.0, 4.0]);
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Var {
    tensor: Tensor,
    origin: Option<Origin>,
}

impl Var {
    /// A value that needs no gradient (inputs, targets, masks).
    pub fn constant(tensor: Tensor) -> Var {
        Var { tensor, origin: None }
    }

    /// A leaf that needs a gradient: [`Var::grad`] holds `d(loss)/d(self)` after a backward pass.
    pub fn leaf(tensor: Tensor) -> Var {
        let leaf = LeafNode::new(tensor.clone(), true, ParamKind::Other);
        Var { tensor, origin: Some(Origin::Leaf(leaf)) }
    }

    pub(crate) fn from_leaf(tensor: Tensor, leaf: Arc<LeafNode>) -> Var {
        Var { tensor, origin: Some(Origin::Leaf(leaf)) }
    }

    /// The value.
    pub fn tensor(&self) -> &Tensor {
        &self.tensor
    }

    /// The value, dropping the graph link.
    pub fn into_tensor(self) -> Tensor {
        self.tensor
    }

    /// The shape of the value.
    pub fn shape(&self) -> &[usize] {
        self.tensor.shape()
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.tensor.rank()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.tensor.numel()
    }

    /// The element type of the value.
    pub fn dtype(&self) -> DType {
        self.tensor.dtype()
    }

    /// The size of dimension `dim` (negative counts from the end).
    pub fn dim(&self, dim: isize) -> Result<usize> {
        self.tensor.dim(dim)
    }

    /// The single value of a one-element `Var`, as f32.
    pub fn item(&self) -> Result<f32> {
        self.tensor.item()
    }

    /// True when a backward pass through this value reaches a leaf that wants a gradient.
    pub fn requires_grad(&self) -> bool {
        match &self.origin {
            None => false,
            Some(Origin::Leaf(l)) => l.requires_grad.load(std::sync::atomic::Ordering::Relaxed),
            Some(Origin::Op(_)) => true,
        }
    }

    /// The same value cut from the graph: no gradient flows through the result.
    pub fn detach(&self) -> Var {
        Var::constant(self.tensor.clone())
    }

    /// The accumulated gradient of a leaf (`None` before any backward pass reached it, and for non-leaves).
    pub fn grad(&self) -> Option<Tensor> {
        match &self.origin {
            Some(Origin::Leaf(l)) => l.grad.lock().ok().and_then(|g| g.clone()),
            _ => None,
        }
    }

    /// Clears a leaf's accumulated gradient.
    pub fn zero_grad(&self) {
        if let Some(Origin::Leaf(l)) = &self.origin {
            if let Ok(mut g) = l.grad.lock() {
                *g = None;
            }
        }
    }

    /// Backward from a scalar (a one-element value): adds `d(self)/d(leaf)` into each leaf's gradient.
    ///
    /// The graph's saved tensors are freed as the pass goes; running backward through the same graph again
    /// is an error naming the op.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::op(
                "backward",
                format!(
                    "backward() needs a one-element value, not {}; use backward_with(upstream_gradient)",
                    crate::layout_fmt(self.shape())
                ),
            ));
        }
        let ones = Tensor::ones(self.shape(), DType::F32)?;
        self.backward_with(&ones)
    }

    /// Backward with an explicit upstream gradient `d(loss)/d(self)` of `self`'s shape.
    ///
    /// ```
    /// use autograd::Var;
    /// use engine::Tensor;
    /// let x = Var::leaf(Tensor::from_vec(vec![1f32, 2.0], &[2])?);
    /// let y = x.square()?; // a vector: give d(loss)/dy
    /// y.backward_with(&Tensor::from_vec(vec![1f32, 10.0], &[2])?)?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![2.0, 40.0]);
    /// // A second graph adds into the same gradient until it is zeroed.
    /// x.square()?.sum_all()?.backward()?;
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![4.0, 44.0]);
    /// x.zero_grad();
    /// assert!(x.grad().is_none());
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        if grad.shape() != self.shape() {
            return Err(Error::op(
                "backward",
                format!(
                    "upstream gradient {} does not match the value's shape {}",
                    crate::layout_fmt(grad.shape()),
                    crate::layout_fmt(self.shape())
                ),
            ));
        }
        match &self.origin {
            Some(origin) if self.requires_grad() => graph::run_backward(origin, grad.clone()),
            _ => Err(Error::op(
                "backward",
                "this value does not require a gradient (no input needed one, it was computed under no_grad, \
                 or it was detached)",
            )),
        }
    }

    /// The origin to record for this value as an op input, or `None` when it needs no gradient.
    pub(crate) fn grad_origin(&self) -> Option<Origin> {
        if self.requires_grad() {
            self.origin.clone()
        } else {
            None
        }
    }

    /// The number of op nodes reachable from this value that still hold saved tensors (0 after backward).
    /// Useful to check that a graph was freed.
    pub fn live_graph_nodes(&self) -> usize {
        self.origin.as_ref().map(graph::live_saved_nodes).unwrap_or(0)
    }

    /// An id that identifies this value's graph node (`None` for constants).
    pub fn node_id(&self) -> Option<u64> {
        self.origin.as_ref().map(Origin::id)
    }
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var({:?}, requires_grad: {})", self.tensor, self.requires_grad())
    }
}

impl From<Tensor> for Var {
    fn from(t: Tensor) -> Var {
        Var::constant(t)
    }
}

/// True when recording is on and one of `inputs` needs a gradient: only then is a rule worth building.
pub(crate) fn should_record(inputs: &[&Var]) -> bool {
    is_grad_enabled() && inputs.iter().any(|v| v.requires_grad())
}

/// Wraps an op's output: records `backward` against `inputs` when [`should_record`] holds, otherwise
/// returns a constant (and the closure, with anything it captured, is dropped at once).
pub(crate) fn record<F>(op: &'static str, out: Tensor, inputs: &[&Var], backward: F) -> Var
where
    F: FnOnce(&Tensor, &[bool]) -> Result<Vec<Option<Tensor>>> + Send + 'static,
{
    if !should_record(inputs) {
        return Var::constant(out);
    }
    let edges = inputs.iter().map(|v| (v.grad_origin(), v.shape().to_vec())).collect();
    Var { tensor: out, origin: Some(graph::new_op_node(op, edges, Box::new(backward))) }
}
