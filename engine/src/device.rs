//! Where a tensor's storage lives. Ops dispatch on it, so a CUDA backend slots in without touching callers.
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// The CUDA device with this ordinal (available with the `cuda` feature, in a later issue).
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl std::str::FromStr for Device {
    type Err = crate::Error;

    /// `cpu`, `cuda` (ordinal 0) or `cuda:N`, as PyTorch spells them.
    ///
    /// ```
    /// use engine::Device;
    /// assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
    /// assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
    /// assert_eq!("cuda:1".parse::<Device>().unwrap(), Device::Cuda(1));
    /// assert!("gpu".parse::<Device>().unwrap_err().to_string().contains("cpu, cuda or cuda:N"));
    /// ```
    fn from_str(s: &str) -> crate::Result<Device> {
        let bad = || crate::Error::op("device", format!("unknown device {s:?}: expected cpu, cuda or cuda:N"));
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(n) => n.parse().map(Device::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

impl Device {
    /// Whether tensors can live on this device in this build and on this machine, as an error a person can
    /// act on: the CPU always can; a CUDA device needs the `cuda` feature and a driver (checked without
    /// letting the CUDA library loader panic), and then the engine's ops on device storage, which are not
    /// wired yet (the kernels are in `kernels::cuda`).
    ///
    /// ```
    /// use engine::Device;
    /// assert!(Device::Cpu.check_available().is_ok());
    /// let e = Device::Cuda(0).check_available().unwrap_err().to_string();
    /// assert!(e.contains("cuda:0"), "{e}");
    /// ```
    pub fn check_available(self) -> crate::Result<()> {
        match self {
            Device::Cpu => Ok(()),
            Device::Cuda(_) => Err(crate::Error::op("device", cuda_unavailable_reason(self))),
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_unavailable_reason(device: Device) -> String {
    format!("{device} asked for, but this build has no CUDA support: rebuild with `--features cuda` (and run where an NVIDIA driver is installed)")
}

#[cfg(feature = "cuda")]
fn cuda_unavailable_reason(device: Device) -> String {
    match kernels::cuda::driver_available() {
        Err(reason) => format!("{device} asked for, but no usable CUDA driver was found: {reason}"),
        Ok(()) => format!(
            "{device}: the CUDA driver is present and the GPU kernels are built (kernels::cuda, checked by `benches/gpu/run_all.sh`), but tensors on the GPU are not wired into the engine's ops yet; train with --device cpu"
        ),
    }
}
