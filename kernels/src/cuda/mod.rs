//! The GPU backend (feature `cuda`): hand-written kernels in `kernels/cuda/*.cu`, turned into PTX ahead of
//! time, embedded in the binary and launched through [cudarc] with the CUDA driver loaded at run time.
//!
//! - [`runtime`]: [`driver_available`] (never panics), [`CudaDevice`] (context, stream, PTX module cache,
//!   buffers), launch-size helpers.
//! - [`ptx`]: the registry of embedded PTX modules and the kernel entry points each one defines.
//! - [`gemm`]: SGEMM (tiled fp32) and tensor-core GEMM (tf32, bf16) launch wrappers.
//! - [`ops`]: the other kernel families (element-wise, softmax, layernorm, ...).
//!
//! Nothing here runs without a driver: [`CudaDevice::new`] returns an error naming what is missing, so
//! callers (and tests) can report it and skip.
//!
//! ```
//! // Works on any machine: Err with the reason where there is no CUDA driver.
//! match kernels::cuda::driver_available() {
//!     Ok(()) => println!("CUDA driver found"),
//!     Err(reason) => println!("no GPU: {reason}"),
//! }
//! ```

pub mod gemm;
pub mod ops;
pub mod ptx;
pub mod runtime;

/// The CUDA bindings this backend is built on, re-exported so kernel wrappers need no direct dependency.
pub use cudarc;
pub use cudarc::driver::{CudaFunction, CudaSlice, LaunchConfig, PushKernelArg};
pub use ptx::PtxModule;
pub use runtime::{driver_available, grid_1d, to_i32, CudaDevice, DeviceBuffer};
