//! Launch wrappers for the non-GEMM kernel families, one module per family (element-wise, softmax,
//! layernorm, cross-entropy, attention, embedding, AdamW, reductions). See `kernels::cuda::runtime` for the
//! device API they build on.
pub mod launch;
pub mod elementwise;
pub mod reduce;
pub mod softmax;
pub mod layernorm;
pub mod cross_entropy;
pub mod attention;
pub mod embedding;
pub mod adamw;
