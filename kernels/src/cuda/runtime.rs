//! The device runtime every CUDA kernel wrapper builds on: driver detection that never panics, one
//! context and stream per device, a cache of loaded PTX modules and functions, device buffers and launch
//! helpers.
//!
//! cudarc opens the driver library lazily and *panics* when it cannot find it, so every entry point here
//! first calls [`driver_available`], which probes the library with cudarc's fallible loader and runs
//! `cuInit` inside `catch_unwind`. On a machine without a GPU you get `Err("...")`, never a panic.
//!
//! ```
//! use kernels::cuda::CudaDevice;
//! match CudaDevice::new(0) {
//!     Ok(dev) => {
//!         let x = dev.htod(&[1.0f32, 2.0, 3.0]).unwrap();
//!         assert_eq!(dev.dtoh(&x).unwrap(), vec![1.0, 2.0, 3.0]);
//!     }
//!     Err(e) => println!("skipping: {e}"),
//! }
//! ```
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, DeviceRepr, DriverError, LaunchConfig,
    ValidAsZeroBits,
};
use cudarc::nvrtc::Ptx;

use super::ptx::PtxModule;
use crate::error::{KernelError, KernelResult};

/// A buffer in device memory, owned; freed on drop. `T` is `f32`, `i32`, `u32`, `u16` (bf16 bits), ...
///
/// Take a sub-range with `buf.slice(a..b)` / `buf.slice_mut(a..b)` to pass an offset view to a kernel.
pub type DeviceBuffer<T> = CudaSlice<T>;

/// Whether the CUDA driver can be used here: `Ok(())`, or `Err` with a reason a person can act on.
///
/// Probes `libcuda.so` (and the other names cudarc knows) with cudarc's fallible loader, then runs
/// `cuInit` and counts devices, all inside `catch_unwind`. The answer is computed once and cached.
/// Never panics.
///
/// ```
/// if let Err(reason) = kernels::cuda::driver_available() {
///     println!("skipping: {reason}");
/// }
/// ```
pub fn driver_available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(probe_driver).clone()
}

fn probe_driver() -> Result<(), String> {
    // Safety: only tries to dlopen candidate library names; no CUDA call is made.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("the CUDA driver library (libcuda.so.1 / libcuda.so) could not be loaded: no NVIDIA driver on \
                    this machine, or it is not on the loader path (LD_LIBRARY_PATH)"
            .to_string());
    }
    // The library opened; a driver older than the bindings can still lack a symbol, which cudarc reports
    // by panicking: turn that into an error too.
    let init = std::panic::catch_unwind(|| -> Result<i32, DriverError> {
        cudarc::driver::result::init()?;
        CudaContext::device_count()
    });
    match init {
        Ok(Ok(n)) if n > 0 => Ok(()),
        Ok(Ok(_)) => Err("the CUDA driver loaded but reports no devices".to_string()),
        Ok(Err(e)) => Err(format!("the CUDA driver loaded but cuInit failed: {e}")),
        Err(_) => Err("the CUDA driver library lacks a function these bindings need (driver older than CUDA 12.8?)"
            .to_string()),
    }
}

/// Wraps a driver error as a [`KernelError`] naming the operation that failed.
pub(crate) fn driver_error(kernel: &'static str, what: &str, e: DriverError) -> KernelError {
    KernelError::new(kernel, format!("{what}: CUDA driver error {e}"))
}

/// One GPU: its context, the stream every launch goes to, and the loaded modules and functions.
///
/// Create it once and share it (`Arc`); loading a module JIT-compiles its PTX, which is done once per
/// module and cached. All methods take `&self` and are thread-safe.
pub struct CudaDevice {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
    functions: Mutex<HashMap<(&'static str, &'static str), CudaFunction>>,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaDevice({})", self.ctx.ordinal())
    }
}

impl CudaDevice {
    /// Opens device `ordinal` (0 is the first GPU) with its primary context and default stream.
    /// Errors (never panics) when there is no driver or no such device.
    pub fn new(ordinal: usize) -> KernelResult<Arc<Self>> {
        driver_available().map_err(|reason| KernelError::new("cuda", reason))?;
        let ctx = CudaContext::new(ordinal).map_err(|e| driver_error("cuda", &format!("opening device {ordinal}"), e))?;
        let stream = ctx.default_stream();
        Ok(Arc::new(Self { ctx, stream, modules: Mutex::default(), functions: Mutex::default() }))
    }

    /// The device's name as the driver reports it, e.g. "NVIDIA H200".
    pub fn name(&self) -> KernelResult<String> {
        self.ctx.name().map_err(|e| driver_error("cuda", "reading the device name", e))
    }

    /// Compute capability (major, minor), e.g. (9, 0) for Hopper.
    pub fn compute_capability(&self) -> KernelResult<(i32, i32)> {
        self.ctx.compute_capability().map_err(|e| driver_error("cuda", "reading the compute capability", e))
    }

    /// The cudarc context, for what this wrapper does not cover (events, cuBLAS handles).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The stream all launches and copies of this device go to (in order).
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The kernel `entry` of the embedded PTX `module`, loading (JIT-compiling) the module on first use.
    /// `entry` must be listed in `module.entries`, so a typo fails with the module's list of kernels.
    pub fn function(&self, module: &PtxModule, entry: &'static str) -> KernelResult<CudaFunction> {
        let key = (module.name, entry);
        if let Some(f) = self.functions.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(f.clone());
        }
        if !module.entries.contains(&entry) {
            return Err(KernelError::new(
                "cuda",
                format!("module {} has no kernel {entry} (it lists {:?})", module.name, module.entries),
            ));
        }
        let loaded = self.module(module)?;
        let f = loaded
            .load_function(entry)
            .map_err(|e| driver_error("cuda", &format!("finding kernel {entry} in module {}", module.name), e))?;
        self.functions.lock().unwrap_or_else(|p| p.into_inner()).insert(key, f.clone());
        Ok(f)
    }

    fn module(&self, module: &PtxModule) -> KernelResult<Arc<CudaModule>> {
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = modules.get(module.name) {
            return Ok(m.clone());
        }
        let m = self
            .ctx
            .load_module(Ptx::from_src(module.ptx))
            .map_err(|e| driver_error("cuda", &format!("loading PTX module {}", module.name), e))?;
        modules.insert(module.name, m.clone());
        Ok(m)
    }

    /// A zeroed device buffer of `len` elements.
    pub fn alloc_zeros<T: DeviceRepr + ValidAsZeroBits>(&self, len: usize) -> KernelResult<DeviceBuffer<T>> {
        self.stream.alloc_zeros(len).map_err(|e| driver_error("cuda", &format!("allocating {len} elements"), e))
    }

    /// Copies `host` into a new device buffer.
    pub fn htod<T: DeviceRepr>(&self, host: &[T]) -> KernelResult<DeviceBuffer<T>> {
        self.stream
            .clone_htod(host)
            .map_err(|e| driver_error("cuda", &format!("copying {} elements to the device", host.len()), e))
    }

    /// Copies `host` into the existing device buffer `dst` (same length).
    pub fn htod_into<T: DeviceRepr>(&self, host: &[T], dst: &mut DeviceBuffer<T>) -> KernelResult<()> {
        if host.len() != dst.len() {
            return Err(KernelError::new(
                "cuda",
                format!("htod_into: host has {} elements, device buffer {}", host.len(), dst.len()),
            ));
        }
        self.stream.memcpy_htod(host, dst).map_err(|e| driver_error("cuda", "copying to the device", e))
    }

    /// Copies a device buffer (or view) back into a new `Vec`; waits for the stream's earlier work.
    pub fn dtoh<T: DeviceRepr, S: DevicePtr<T>>(&self, src: &S) -> KernelResult<Vec<T>> {
        self.stream.clone_dtoh(src).map_err(|e| driver_error("cuda", "copying from the device", e))
    }

    /// Waits until every launch and copy queued on this device's stream has finished, and reports an
    /// error a kernel raised asynchronously (an out-of-bounds access shows up here).
    pub fn synchronize(&self) -> KernelResult<()> {
        self.stream.synchronize().map_err(|e| driver_error("cuda", "synchronizing the stream", e))
    }
}

/// A 1-D launch over `n` items with `block` threads per block (grid = ceil(n / block), at least 1).
///
/// ```
/// let cfg = kernels::cuda::grid_1d(1000, 256);
/// assert_eq!((cfg.grid_dim.0, cfg.block_dim.0), (4, 256));
/// ```
pub fn grid_1d(n: usize, block: u32) -> LaunchConfig {
    let blocks = n.div_ceil(block as usize).max(1);
    LaunchConfig { grid_dim: (blocks as u32, 1, 1), block_dim: (block, 1, 1), shared_mem_bytes: 0 }
}

/// A size as the `int` kernels take, or an error naming the kernel when it does not fit in 31 bits.
///
/// ```
/// assert_eq!(kernels::cuda::to_i32("sgemm", "m", 7).unwrap(), 7);
/// assert!(kernels::cuda::to_i32("sgemm", "m", 1 << 40).is_err());
/// ```
pub fn to_i32(kernel: &'static str, what: &str, v: usize) -> KernelResult<i32> {
    i32::try_from(v).map_err(|_| KernelError::new(kernel, format!("{what} = {v} does not fit the kernel's 32-bit index")))
}
