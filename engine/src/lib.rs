//! The tensor: shape, strides, offset, dtype, device and shared storage, with its ops and file IO.
//!
//! Every fallible op returns [`Result`] with an [`Error`] that names the op and the shapes involved.
//! Views (reshape, transpose, narrow, broadcast) share storage; [`Tensor::contiguous`] copies only when needed.

pub mod allocator;
pub mod device;
pub mod dtype;
pub mod error;
pub mod layout;
pub mod storage;
pub mod tensor;

pub use device::Device;
pub use dtype::{DType, Element};
pub use error::{Error, Result};
pub use layout::Layout;
pub use rng::Rng;
pub use ops::loss::CrossEntropyOutput;
pub use tensor::Tensor;
pub mod io;
pub mod ops;
pub mod rng;
