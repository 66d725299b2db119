//! Pure compute on slices: the CPU kernels every tensor op ends in.
//!
//! Conventions shared by every kernel here:
//! - Matrices are row-major `f32` with an explicit leading dimension (elements between rows).
//! - A kernel that takes sizes checks them against the slices it is given and returns
//!   [`KernelError`] naming itself and the sizes, instead of panicking.
//! - Backward kernels **add** into their gradient outputs (`+=`), as llm.c does, so gradients from
//!   several uses of a value accumulate without a temporary.
//! - Each fast path has a naive reference beside it, used by the tests as the oracle.
//! - Multi-threading uses rayon's current pool: run inside `ThreadPool::install` to pin a count.

pub mod error;

pub use error::{KernelError, KernelResult};
