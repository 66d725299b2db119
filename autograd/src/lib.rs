//! Reverse-mode automatic differentiation over the engine's tensors, the optimizers and checkpoints.
//!
//! - [`Var`]: a tensor plus its place in the recorded graph. Ops on `Var`s (named as the engine's) run the
//!   engine op and record a backward rule; [`Var::backward`] runs the graph in reverse, adding into each
//!   leaf's gradient.
//! - [`Parameter`]: a trainable tensor shared by a module and its optimizer; [`nn::Module`] names them
//!   (`h.0.attn.c_attn.weight`) so a state dict maps one to one to checkpoint tensors. [`nn::Linear`],
//!   [`nn::LayerNorm`] and [`nn::Embedding`] are the building blocks.
//! - [`no_grad`]: inference mode (nothing recorded, nothing kept); [`Var::detach`]; frozen parameters
//!   ([`Parameter::set_requires_grad`]) record nothing.
//! - [`optim`]: SGD with momentum, AdamW with parameter groups, clipping by global norm, LR schedules,
//!   gradient accumulation (documented there).
//! - [`checkpoint`]: model + optimizer + training state, written atomically, resumed bit for bit.
//! - [`gradcheck`]: finite-difference checks, the oracle of the test suite.
//!
//! # Design
//! **The graph.** An op whose inputs need a gradient (and that runs while recording is on) creates a node:
//! its name, its inputs' graph origins, their shapes, and one `FnOnce` closure holding exactly the tensors
//! its rule needs (llm.c's forward/backward pairs, one rule per primitive, written beside the forward in
//! one module per op family under [`ops`]). Leaves own their accumulated gradient. Node ids come from one
//! global counter and inputs always exist before their consumers, so visiting the reachable nodes by
//! decreasing id is a topological order.
//!
//! **Freeing.** Backward takes each node's closure out of the node and drops it as soon as it has run, so
//! the tensors it saved are released then, and each node's incoming gradient is dropped right after its
//! rule. Peak memory in backward is therefore the saved tensors of the nodes not yet reached plus the
//! gradients in flight. Measured by `cargo run --release -p autograd --example train_step_memory`: for a
//! GPT at char-small size (batch 12) the heap holds 509 MiB of saved activations after the forward, and
//! backward's peak is only 18 MiB above that (a graph that kept everything to the end would add every
//! intermediate gradient on top). A graph runs backward once; [`Var::live_graph_nodes`] shows what is left.
//! Dropping a long graph is iterative (no recursion depth limit).
//!
//! **Fused ops** (hand-written backward): softmax + cross-entropy with ignore index and per-row weights
//! ([`Var::cross_entropy_with`]), layernorm, GELU, scaled dot-product attention with causal and padding
//! masks ([`Var::scaled_dot_product_attention`], and [`Var::causal_self_attention`] straight from GPT's
//! fused `qkv` projection), and the AdamW step (one kernel call per parameter).
//!
//! **Kinks.** `relu'(0) = abs'(0) = 0`; ties in `maximum`/`minimum` split the gradient in half, ties in
//! `max`/`min` reductions split it evenly among the tied elements (PyTorch's `amax`).
//!
//! ```
//! use autograd::{no_grad, nn::{Linear, Module}, optim::{AdamW, AdamWOptions, Optimizer}, Var};
//! use engine::{rng::Rng, DType, Tensor};
//!
//! let mut rng = Rng::new(0);
//! let layer = Linear::new(4, 1, true, &mut rng)?;
//! let mut opt = AdamW::for_module(&layer, 0.0, AdamWOptions { lr: 0.05, ..Default::default() });
//! let x = Var::constant(Tensor::randn(&[16, 4], 0.0, 1.0, &mut rng)?);
//! let target = Var::constant(Tensor::zeros(&[16, 1], DType::F32)?);
//! let mut first = None;
//! for _ in 0..50 {
//!     opt.zero_grad();
//!     let loss = layer.forward(&x)?.sub(&target)?.square()?.mean_all()?;
//!     first.get_or_insert(loss.item()?);
//!     loss.backward()?;
//!     opt.step()?;
//! }
//! let _guard = no_grad(); // evaluation: nothing recorded
//! let last = layer.forward(&x)?.sub(&target)?.square()?.mean_all()?;
//! assert!(!last.requires_grad());
//! assert!(last.item()? < first.unwrap() * 0.5);
//! # Ok::<(), engine::Error>(())
//! ```
#![warn(missing_docs)]

pub use engine;
pub use engine::{Error, Result};

pub mod checkpoint;
pub mod gradcheck;
mod grad_mode;
mod graph;
pub mod nn;
pub mod ops;
pub mod optim;
mod param;
mod var;

pub use grad_mode::{is_grad_enabled, no_grad, NoGradGuard};
pub use graph::{set_backward_profiling, take_backward_profile, ParamKind};
pub use ops::attention::{attention_backward, attention_forward, AttentionMask};
pub use ops::loss::{valid_target_mask, CrossEntropyOptions, Reduction};
pub use param::Parameter;
pub use var::Var;

/// Formats a shape for error messages (`[2, 3]`).
pub(crate) fn layout_fmt(shape: &[usize]) -> String {
    engine::layout::fmt_shape(shape)
}
