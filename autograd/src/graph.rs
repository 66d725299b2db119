//! The recorded graph and the reverse pass.
//!
//! Every differentiable op that runs while gradients are enabled and that has at least one input requiring a
//! gradient creates an [`OpNode`]: the op's name, its inputs' origins (`None` for inputs that need no
//! gradient), their shapes, and a one-shot backward closure holding exactly the tensors the rule needs.
//! Leaves (parameters and [`crate::Var::leaf`] values) are [`LeafNode`]s that own their accumulated gradient.
//!
//! **Order.** Node ids come from one global counter, and an op's inputs always exist before the op, so
//! every input has a smaller id than its consumer: visiting the reachable nodes by decreasing id is a
//! topological order of the reverse graph, with no explicit sort of edges.
//!
//! **Freeing.** The reverse pass takes each node's closure out of the node (`Option::take`) and drops it
//! after use, so the tensors it saved are released as soon as that node's rule has run; the gradient
//! flowing into a node is removed from the pending map when the node runs and dropped after its rule. Peak
//! memory during backward is therefore the saved tensors of the nodes not yet reached plus the gradients in
//! flight, not the whole graph. A graph can be run backward once; a second pass reports it was freed.
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use engine::{Error, Result, Tensor};

use crate::layout_fmt;

/// One backward rule: given the gradient of the op's output and which inputs need a gradient, the gradient
/// of each input (`None` where not needed), in the order the inputs were recorded.
pub(crate) type BackwardFn = Box<dyn FnOnce(&Tensor, &[bool]) -> Result<Vec<Option<Tensor>>> + Send>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Backward-rule timing, off unless [`set_backward_profiling`] turned it on.
static PROFILING: AtomicBool = AtomicBool::new(false);
static PROFILE: Mutex<Vec<(&'static str, u64, f64)>> = Mutex::new(Vec::new());

/// Turns on (or off) timing of every backward rule, summed per op name (all threads together).
pub fn set_backward_profiling(on: bool) {
    PROFILING.store(on, Ordering::Relaxed);
}

/// The time spent in backward rules since profiling was turned on or last reset: `(op, calls, seconds)`,
/// slowest first. Resets the counters.
pub fn take_backward_profile() -> Vec<(&'static str, u64, f64)> {
    let mut profile = PROFILE.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
    profile.sort_by(|a, b| b.2.total_cmp(&a.2));
    profile
}

fn record_profile(op: &'static str, seconds: f64) {
    if let Ok(mut p) = PROFILE.lock() {
        match p.iter_mut().find(|e| e.0 == op) {
            Some(e) => {
                e.1 += 1;
                e.2 += seconds;
            }
            None => p.push((op, 1, seconds)),
        }
    }
}

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// What kind of tensor a parameter is; optimizers use it to pick a parameter group (weight decay applies to
/// [`ParamKind::Weight`] only by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A matrix of a linear map (decayed by default).
    Weight,
    /// An additive bias.
    Bias,
    /// The gain or shift of a normalisation layer.
    Norm,
    /// An embedding table.
    Embedding,
    /// Anything else (not decayed by default).
    Other,
}

/// A leaf of the graph: a value that owns an accumulated gradient (a parameter, or a [`crate::Var::leaf`]).
pub(crate) struct LeafNode {
    pub(crate) id: u64,
    pub(crate) value: RwLock<Tensor>,
    pub(crate) grad: Mutex<Option<Tensor>>,
    pub(crate) requires_grad: AtomicBool,
    pub(crate) kind: ParamKind,
}

impl LeafNode {
    pub(crate) fn new(value: Tensor, requires_grad: bool, kind: ParamKind) -> Arc<LeafNode> {
        Arc::new(LeafNode {
            id: next_id(),
            value: RwLock::new(value),
            grad: Mutex::new(None),
            requires_grad: AtomicBool::new(requires_grad),
            kind,
        })
    }

    /// `grad += g` (the first gradient is stored as a contiguous tensor).
    pub(crate) fn accumulate(&self, g: Tensor) -> Result<()> {
        let mut slot = self.grad.lock().map_err(|_| poisoned())?;
        let sum = match slot.take() {
            None => compact(g)?,
            Some(old) => add_grad(old, &g)?,
        };
        *slot = Some(sum);
        Ok(())
    }
}

/// `acc + g`, summed into `acc`'s own buffer when nothing else holds it (no allocation, no zero-fill of a
/// fresh activation-sized tensor per accumulation), else into a new tensor. The same f32 sums either way.
fn add_grad(mut acc: Tensor, g: &Tensor) -> Result<Tensor> {
    let f32s = acc.dtype() == engine::DType::F32 && g.dtype() == engine::DType::F32;
    let sole_owner = acc.is_contiguous()
        && acc.offset() == 0
        && acc.storage().len() == acc.numel()
        && Arc::strong_count(acc.storage()) == 1
        && Arc::weak_count(acc.storage()) == 0;
    if !(f32s && sole_owner && acc.shape() == g.shape() && g.is_contiguous()) {
        return acc.add(g);
    }
    kernels::axpy(1.0, g.contiguous_slice::<f32>()?, acc.contiguous_slice_mut::<f32>()?)?;
    Ok(acc)
}

/// `g` in storage of its own: a view (a narrow of a larger gradient, a broadcast) would keep the whole
/// underlying buffer alive for as long as the leaf holds its gradient.
fn compact(g: Tensor) -> Result<Tensor> {
    let owns_storage = g.is_contiguous() && g.offset() == 0 && g.storage().len() == g.numel();
    if owns_storage {
        Ok(g)
    } else if g.dtype() == engine::DType::F32 {
        Tensor::from_vec(g.to_vec::<f32>()?, g.shape())
    } else {
        g.contiguous()
    }
}

/// An op that ran while recording.
pub(crate) struct OpNode {
    id: u64,
    op: &'static str,
    inputs: Vec<Option<Origin>>,
    input_shapes: Vec<Vec<usize>>,
    backward: Mutex<Option<BackwardFn>>,
}

impl Drop for OpNode {
    /// Drops a chain of nodes iteratively: the default recursive drop of `Arc<OpNode>` inputs would use
    /// one stack frame per node and overflow on long graphs (a loop of a hundred thousand small ops).
    fn drop(&mut self) {
        let mut stack: Vec<Arc<OpNode>> = Vec::new();
        let take_ops = |inputs: &mut Vec<Option<Origin>>, stack: &mut Vec<Arc<OpNode>>| {
            for input in inputs.drain(..).flatten() {
                if let Origin::Op(node) = input {
                    stack.push(node);
                }
            }
        };
        take_ops(&mut self.inputs, &mut stack);
        while let Some(node) = stack.pop() {
            // Only the last owner takes the node apart; others just release their reference.
            if let Ok(mut owned) = Arc::try_unwrap(node) {
                take_ops(&mut owned.inputs, &mut stack);
            }
        }
    }
}

/// Where a [`crate::Var`]'s gradient goes: into a leaf's accumulator, or into an op's backward rule.
#[derive(Clone)]
pub(crate) enum Origin {
    Leaf(Arc<LeafNode>),
    Op(Arc<OpNode>),
}

pub(crate) fn poisoned() -> Error {
    Error::op("autograd", "a lock was poisoned by a panic in another thread")
}

/// Records `op` with output `out`. `inputs` pairs each input's origin (`None` when it needs no gradient)
/// with its shape. The caller has already checked that recording is on and some input needs a gradient.
pub(crate) fn new_op_node(
    op: &'static str,
    inputs: Vec<(Option<Origin>, Vec<usize>)>,
    backward: BackwardFn,
) -> Origin {
    let (inputs, input_shapes) = inputs.into_iter().unzip();
    Origin::Op(Arc::new(OpNode { id: next_id(), op, inputs, input_shapes, backward: Mutex::new(Some(backward)) }))
}

/// Runs the reverse pass from `origin` with upstream gradient `grad`, adding into every reachable leaf.
pub(crate) fn run_backward(origin: &Origin, grad: Tensor) -> Result<()> {
    let root = match origin {
        Origin::Leaf(leaf) => return leaf.accumulate(grad),
        Origin::Op(node) => node.clone(),
    };
    // Collect every op node reachable from the root.
    let mut nodes: Vec<Arc<OpNode>> = Vec::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut stack = vec![root.clone()];
    seen.insert(root.id);
    while let Some(node) = stack.pop() {
        for input in node.inputs.iter().flatten() {
            if let Origin::Op(parent) = input {
                if seen.insert(parent.id) {
                    stack.push(parent.clone());
                }
            }
        }
        nodes.push(node);
    }
    // Decreasing id is a topological order (see the module docs).
    nodes.sort_unstable_by_key(|n| std::cmp::Reverse(n.id));
    drop(stack);

    let mut pending: HashMap<u64, Tensor> = HashMap::new();
    pending.insert(root.id, grad);
    drop(root);
    for node in nodes {
        // A node no gradient reached (every consumer returned None for it) has nothing to propagate; its
        // saved tensors are released all the same.
        let Some(g) = pending.remove(&node.id) else {
            drop(node.backward.lock().map_err(|_| poisoned())?.take());
            continue;
        };
        let rule = node.backward.lock().map_err(|_| poisoned())?.take().ok_or_else(|| {
            Error::op(
                node.op,
                "backward ran through this op a second time: its graph was freed by the first backward \
                 (run the forward pass again)",
            )
        })?;
        let needs: Vec<bool> = node.inputs.iter().map(Option::is_some).collect();
        let started = PROFILING.load(Ordering::Relaxed).then(std::time::Instant::now);
        let grads = rule(&g, &needs)?; // the rule (and the tensors it saved) is dropped here
        if let Some(t) = started {
            record_profile(node.op, t.elapsed().as_secs_f64());
        }
        drop(g);
        if grads.len() != node.inputs.len() {
            return Err(Error::op(
                node.op,
                format!("backward rule returned {} gradients for {} inputs", grads.len(), node.inputs.len()),
            ));
        }
        for (i, (input, grad)) in node.inputs.iter().zip(grads).enumerate() {
            let (Some(input), Some(grad)) = (input, grad) else { continue };
            if grad.shape() != node.input_shapes[i].as_slice() {
                return Err(Error::op(
                    node.op,
                    format!(
                        "backward rule returned a gradient {} for input {i} of shape {}",
                        layout_fmt(grad.shape()),
                        layout_fmt(&node.input_shapes[i])
                    ),
                ));
            }
            match input {
                Origin::Leaf(leaf) => leaf.accumulate(grad)?,
                Origin::Op(parent) => match pending.remove(&parent.id) {
                    None => {
                        pending.insert(parent.id, grad);
                    }
                    Some(acc) => {
                        pending.insert(parent.id, add_grad(acc, &grad)?);
                    }
                },
            }
        }
    }
    Ok(())
}

/// Counts the op nodes whose backward closure (and saved tensors) is still held, reachable from `origin`.
/// Used by tests to show that backward frees the graph.
pub(crate) fn live_saved_nodes(origin: &Origin) -> usize {
    let mut count = 0;
    let mut seen = HashSet::new();
    let mut stack = vec![origin.clone()];
    while let Some(o) = stack.pop() {
        if let Origin::Op(node) = o {
            if !seen.insert(node.id) {
                continue;
            }
            if node.backward.lock().map(|b| b.is_some()).unwrap_or(false) {
                count += 1;
            }
            stack.extend(node.inputs.iter().flatten().cloned());
        }
    }
    count
}

impl Origin {
    pub(crate) fn id(&self) -> u64 {
        match self {
            Origin::Leaf(l) => l.id,
            Origin::Op(n) => n.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `add_grad` sums in place only when it owns the buffer: the result equals `add`, and a tensor that
    /// shares the accumulator's storage (a clone, a view) keeps its values.
    #[test]
    fn add_grad_matches_add_and_never_writes_shared_storage() {
        let a = vec![1.5f32, -2.0, 3.25, 0.1, 7.0, -0.3];
        let g = Tensor::from_vec(vec![0.5f32, 0.25, -1.0, 0.2, 1e-3, 0.3], &[2, 3]).unwrap();
        let want = Tensor::from_vec(a.clone(), &[2, 3]).unwrap().add(&g).unwrap().to_vec_f32().unwrap();

        let sole = Tensor::from_vec(a.clone(), &[2, 3]).unwrap();
        assert_eq!(add_grad(sole, &g).unwrap().to_vec_f32().unwrap(), want);

        let shared = Tensor::from_vec(a.clone(), &[2, 3]).unwrap();
        let other = shared.clone();
        assert_eq!(add_grad(shared, &g).unwrap().to_vec_f32().unwrap(), want);
        assert_eq!(other.to_vec_f32().unwrap(), a);

        let base = Tensor::from_vec(a.clone(), &[2, 3]).unwrap();
        let transposed = base.t().unwrap();
        let gt = g.t().unwrap().contiguous().unwrap();
        let want_t = transposed.add(&gt).unwrap().to_vec_f32().unwrap();
        assert_eq!(add_grad(transposed, &gt).unwrap().to_vec_f32().unwrap(), want_t);
        assert_eq!(base.to_vec_f32().unwrap(), a);
    }
}
