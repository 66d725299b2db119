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
pub mod adamw;
pub mod attention;
pub mod convert;
pub mod cross_entropy;
pub mod elementwise;
pub mod embedding;
pub mod layernorm;
pub mod reduce;
pub mod softmax;
pub mod strided;
pub mod gemm;
/// The GPU backend: PTX kernels launched through the CUDA driver (feature `cuda`).
#[cfg(feature = "cuda")]
pub mod cuda;

pub use error::{KernelError, KernelResult};
pub use adamw::{adamw_step, AdamWConfig};
pub use convert::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16};
pub use cross_entropy::{cross_entropy_backward, cross_entropy_forward};
pub use elementwise::{
    axpy, binary_contiguous, binary_scalar, binary_strided, gelu_backward, gelu_erf_backward, scalar_binary, scale,
    unary_contiguous, unary_strided, BinaryOp, UnaryOp,
};
pub use embedding::{embedding_backward, embedding_forward};
pub use layernorm::{layernorm_backward, layernorm_forward};
pub use reduce::{argmax_rows, max_rows, mean_rows, min_rows, sum_cols, sum_rows};
pub use softmax::{log_softmax_rows, log_softmax_rows_backward, softmax_rows, softmax_rows_backward};
pub use strided::copy_strided;
pub use gemm::{sgemm, sgemm_batched, sgemm_naive, sgemm_new};
