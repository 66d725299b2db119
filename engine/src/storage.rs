//! The memory behind tensors: owned vectors or a read-only memory-mapped file, on a device.
//!
//! Storage is shared through `Arc`, so views cost nothing. Mutation goes through
//! [`crate::Tensor::contiguous_slice_mut`], which copies first when the storage is shared or mapped.
use std::sync::Arc;

use half::{bf16, f16};

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};

/// Bytes of a memory-mapped file that hold one tensor's elements, suitably aligned for its dtype.
#[derive(Clone)]
pub struct MappedBytes {
    map: Arc<memmap2::Mmap>,
    start: usize,
    len_bytes: usize,
    dtype: DType,
}

impl MappedBytes {
    /// Wraps `map[start..start + len_bytes]` when it is aligned for `dtype`; `None` when it is not
    /// (the caller then copies the bytes into owned storage).
    pub fn new(map: Arc<memmap2::Mmap>, start: usize, len_bytes: usize, dtype: DType) -> Option<Self> {
        let bytes = map.get(start..start + len_bytes)?;
        if bytes.as_ptr() as usize % dtype.size_in_bytes() != 0 || len_bytes % dtype.size_in_bytes() != 0 {
            return None;
        }
        Some(MappedBytes { map, start, len_bytes, dtype })
    }

    fn bytes(&self) -> &[u8] {
        &self.map[self.start..self.start + self.len_bytes]
    }
}

/// Elements held in host memory.
#[derive(Clone)]
pub enum CpuStorage {
    F32(Vec<f32>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    /// Zero-copy view of a memory-mapped file (read-only).
    Mapped(MappedBytes),
}

impl CpuStorage {
    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F16(_) => DType::F16,
            CpuStorage::BF16(_) => DType::BF16,
            CpuStorage::I64(_) => DType::I64,
            CpuStorage::U8(_) => DType::U8,
            CpuStorage::Mapped(m) => m.dtype,
        }
    }

    /// Number of elements held.
    pub fn len(&self) -> usize {
        match self {
            CpuStorage::F32(v) => v.len(),
            CpuStorage::F16(v) => v.len(),
            CpuStorage::BF16(v) => v.len(),
            CpuStorage::I64(v) => v.len(),
            CpuStorage::U8(v) => v.len(),
            CpuStorage::Mapped(m) => m.len_bytes / m.dtype.size_in_bytes(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self, CpuStorage::Mapped(_))
    }

    /// All elements as a typed slice; the dtype must be `T`'s.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        if self.dtype() != T::DTYPE {
            return Err(Error::op(
                "storage",
                format!("storage holds {} but {} was asked for", self.dtype(), T::DTYPE),
            ));
        }
        let bytes: &[u8] = match self {
            CpuStorage::F32(v) => bytemuck::cast_slice(v),
            CpuStorage::F16(v) => bytemuck::cast_slice(v),
            CpuStorage::BF16(v) => bytemuck::cast_slice(v),
            CpuStorage::I64(v) => bytemuck::cast_slice(v),
            CpuStorage::U8(v) => v,
            CpuStorage::Mapped(m) => m.bytes(),
        };
        // Alignment holds: vectors are aligned for their own type, and MappedBytes::new checked it.
        bytemuck::try_cast_slice(bytes)
            .map_err(|e| Error::op("storage", format!("cannot view bytes as {}: {e}", T::DTYPE)))
    }

    /// All elements as a mutable typed slice. Mapped storage is read-only: copy it into owned first.
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        let dtype = self.dtype();
        if dtype != T::DTYPE {
            return Err(Error::op("storage", format!("storage holds {dtype} but {} was asked for", T::DTYPE)));
        }
        let bytes: &mut [u8] = match self {
            CpuStorage::F32(v) => bytemuck::cast_slice_mut(v),
            CpuStorage::F16(v) => bytemuck::cast_slice_mut(v),
            CpuStorage::BF16(v) => bytemuck::cast_slice_mut(v),
            CpuStorage::I64(v) => bytemuck::cast_slice_mut(v),
            CpuStorage::U8(v) => v,
            CpuStorage::Mapped(_) => {
                return Err(Error::op("storage", "memory-mapped storage is read-only; copy it first"))
            }
        };
        bytemuck::try_cast_slice_mut(bytes)
            .map_err(|e| Error::op("storage", format!("cannot view bytes as {}: {e}", T::DTYPE)))
    }

    /// Owned storage holding these elements.
    pub fn from_vec<T: Element>(data: Vec<T>) -> Self {
        // Each arm re-types the vector through bytemuck, which checks size and alignment at no cost.
        match T::DTYPE {
            DType::F32 => CpuStorage::F32(bytemuck::allocation::cast_vec(data)),
            DType::F16 => CpuStorage::F16(bytemuck::allocation::cast_vec(data)),
            DType::BF16 => CpuStorage::BF16(bytemuck::allocation::cast_vec(data)),
            DType::I64 => CpuStorage::I64(bytemuck::allocation::cast_vec(data)),
            DType::U8 => CpuStorage::U8(bytemuck::allocation::cast_vec(data)),
        }
    }

    /// An owned copy of mapped storage; owned storage is returned as is.
    pub fn into_owned(self) -> Result<Self> {
        Ok(match self {
            CpuStorage::Mapped(m) => match m.dtype {
                DType::F32 => CpuStorage::F32(CpuStorage::Mapped(m).as_slice::<f32>()?.to_vec()),
                DType::F16 => CpuStorage::F16(CpuStorage::Mapped(m).as_slice::<f16>()?.to_vec()),
                DType::BF16 => CpuStorage::BF16(CpuStorage::Mapped(m).as_slice::<bf16>()?.to_vec()),
                DType::I64 => CpuStorage::I64(CpuStorage::Mapped(m).as_slice::<i64>()?.to_vec()),
                DType::U8 => CpuStorage::U8(CpuStorage::Mapped(m).as_slice::<u8>()?.to_vec()),
            },
            owned => owned,
        })
    }
}

/// Storage on some device. Ops match on this to pick a backend; a `Cuda` variant joins with the GPU issue.
#[derive(Clone)]
pub enum Storage {
    Cpu(CpuStorage),
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn device(&self) -> crate::Device {
        match self {
            Storage::Cpu(_) => crate::Device::Cpu,
        }
    }

    /// The host storage, or an error naming `op` for tensors on another device.
    pub fn cpu(&self, op: &'static str) -> Result<&CpuStorage> {
        let _ = op;
        match self {
            Storage::Cpu(s) => Ok(s),
        }
    }

    pub fn cpu_mut(&mut self, op: &'static str) -> Result<&mut CpuStorage> {
        let _ = op;
        match self {
            Storage::Cpu(s) => Ok(s),
        }
    }
}
