//! Casts between dtypes and moves between devices.
//!
//! Conversion rules (each element independently):
//! - to F32: exact from F16, BF16 and U8; I64 rounds to the nearest f32 (exact up to 2^24 in magnitude).
//! - to F16 / BF16: through f32, rounded to nearest-even (values past the f16 range become infinite).
//! - float to I64: truncated toward zero, as PyTorch does; out of range saturates to `i64::MIN`/`i64::MAX`,
//!   NaN becomes 0 (PyTorch leaves both undefined).
//! - to U8: truncated toward zero and **saturated** to `0..=255`: `-3.7` and `-1` become 0, `300` becomes 255,
//!   NaN becomes 0. (PyTorch wraps modulo 256 instead; U8 here holds masks and bytes, where saturating is the
//!   safe choice.)
//! - I64 and U8 between themselves: exact, U8 saturating as above.
use half::{bf16, f16};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::Device;

/// The message every op gives when asked for a device this build cannot reach.
pub(crate) fn cuda_unavailable(device: Device) -> String {
    format!("CUDA device not available ({device}): build with the `cuda` feature (GPU issue)")
}

/// A tensor's elements read in row-major order into the widest type of their kind.
enum Wide {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

impl Tensor {
    /// A contiguous copy converted to `dtype` (see the module docs for the rules). Asking for the tensor's
    /// own dtype returns the tensor itself, sharing storage, as PyTorch's `.to()` does.
    ///
    /// ```
    /// use engine::{DType, Tensor};
    /// let t = Tensor::from_vec(vec![-1.7f32, 0.5, 2.9, 300.0], &[4])?;
    /// assert_eq!(t.to_dtype(DType::I64)?.to_vec::<i64>()?, vec![-1, 0, 2, 300]);
    /// assert_eq!(t.to_dtype(DType::U8)?.to_vec::<u8>()?, vec![0, 0, 2, 255]);
    /// assert_eq!(t.to_dtype(DType::BF16)?.to_vec_f32()?, vec![-1.703125, 0.5, 2.90625, 300.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        match self.device() {
            Device::Cpu => {}
            other => return Err(Error::op("to_dtype", cuda_unavailable(other))),
        }
        let wide = match self.dtype() {
            DType::I64 => Wide::Int(self.to_vec::<i64>()?),
            DType::U8 => Wide::Int(self.to_vec::<u8>()?.into_iter().map(i64::from).collect()),
            DType::F32 => Wide::Float(self.to_vec::<f32>()?),
            DType::F16 => Wide::Float(f16_to_f32(&self.to_vec::<f16>()?)?),
            DType::BF16 => Wide::Float(bf16_to_f32(&self.to_vec::<bf16>()?)?),
        };
        let shape = self.shape();
        match (dtype, wide) {
            (DType::F32, Wide::Float(v)) => Tensor::from_vec(v, shape),
            (DType::F32, Wide::Int(v)) => Tensor::from_vec(ints_to_f32(&v), shape),
            (DType::F16, Wide::Float(v)) => Tensor::from_vec(f32_to_f16(&v)?, shape),
            (DType::F16, Wide::Int(v)) => Tensor::from_vec(f32_to_f16(&ints_to_f32(&v))?, shape),
            (DType::BF16, Wide::Float(v)) => Tensor::from_vec(f32_to_bf16(&v)?, shape),
            (DType::BF16, Wide::Int(v)) => Tensor::from_vec(f32_to_bf16(&ints_to_f32(&v))?, shape),
            // `as` from float to integer truncates toward zero, saturates, and maps NaN to 0.
            (DType::I64, Wide::Float(v)) => Tensor::from_vec(v.iter().map(|&x| x as i64).collect::<Vec<_>>(), shape),
            (DType::I64, Wide::Int(v)) => Tensor::from_vec(v, shape),
            (DType::U8, Wide::Float(v)) => Tensor::from_vec(v.iter().map(|&x| x as u8).collect::<Vec<_>>(), shape),
            (DType::U8, Wide::Int(v)) => {
                Tensor::from_vec(v.iter().map(|&x| x.clamp(0, 255) as u8).collect::<Vec<_>>(), shape)
            }
        }
    }

    /// This tensor on `device`. CPU to CPU returns the tensor itself (sharing storage); any CUDA device is an
    /// error until the `cuda` feature and backend exist (the GPU issue).
    ///
    /// ```
    /// use engine::{Device, Tensor};
    /// let t = Tensor::from_vec(vec![1f32, 2.0], &[2])?;
    /// assert!(t.to_device(Device::Cpu)?.shares_storage_with(&t));
    /// assert!(t.to_device(Device::Cuda(0)).unwrap_err().to_string().contains("CUDA device not available"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        match (self.device(), device) {
            (Device::Cpu, Device::Cpu) => Ok(self.clone()),
            (_, Device::Cuda(_)) => Err(Error::op("to_device", cuda_unavailable(device))),
            (from, Device::Cpu) => Err(Error::op("to_device", cuda_unavailable(from))),
        }
    }
}

fn ints_to_f32(v: &[i64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

// The half-precision paths go through the kernels crate's slice conversions (SIMD where the CPU has it).

fn f32_to_f16(v: &[f32]) -> Result<Vec<f16>> {
    let mut out = vec![f16::ZERO; v.len()];
    kernels::f32_to_f16(v, &mut out)?;
    Ok(out)
}

fn f32_to_bf16(v: &[f32]) -> Result<Vec<bf16>> {
    let mut out = vec![bf16::ZERO; v.len()];
    kernels::f32_to_bf16(v, &mut out)?;
    Ok(out)
}

fn f16_to_f32(v: &[f16]) -> Result<Vec<f32>> {
    let mut out = vec![0f32; v.len()];
    kernels::f16_to_f32(v, &mut out)?;
    Ok(out)
}

fn bf16_to_f32(v: &[bf16]) -> Result<Vec<f32>> {
    let mut out = vec![0f32; v.len()];
    kernels::bf16_to_f32(v, &mut out)?;
    Ok(out)
}
