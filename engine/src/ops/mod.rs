//! Tensor ops, one module per family. Each public op checks shapes (device-agnostic), then dispatches on the
//! tensor's device; today every tensor is on the CPU and the CPU path calls into `kernels`.
pub mod attention;
pub mod cast;
pub mod compare;
pub mod concat;
pub mod create;
pub mod elementwise;
pub mod index;
pub mod layernorm;
pub mod linear;
pub mod loss;
pub mod matmul;
pub mod reduce;
pub mod softmax;
pub(crate) mod support;
pub mod view;
