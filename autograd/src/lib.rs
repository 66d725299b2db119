//! Reverse-mode automatic differentiation over the engine's tensors, the optimizers and checkpoints.
//!
//! This crate is a shell until the autograd issue lands; it exists so the workspace shows the whole
//! architecture (`kernels` <- `engine` <- `autograd` <- `models` <- `rlhf`).
pub use engine;
