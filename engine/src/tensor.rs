//! The `Tensor`: a layout over shared storage. Cloning is cheap (the storage is reference-counted).
use std::fmt;
use std::sync::Arc;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layout::{fmt_shape, Layout};
use crate::storage::{CpuStorage, Storage};
use crate::Device;

/// An n-dimensional array with a dtype, on a device.
///
/// ```
/// use engine::Tensor;
/// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    storage: Arc<Storage>,
    layout: Layout,
}

impl Tensor {
    /// A tensor over `storage` with `layout`; the layout must stay inside the storage.
    pub fn from_storage(storage: Arc<Storage>, layout: Layout) -> Result<Tensor> {
        if layout.storage_extent() > storage.len() {
            return Err(Error::op(
                "from_storage",
                format!(
                    "layout {} (offset {}, strides {:?}) reads past the storage's {} elements",
                    fmt_shape(layout.shape()),
                    layout.offset(),
                    layout.strides(),
                    storage.len()
                ),
            ));
        }
        Ok(Tensor { storage, layout })
    }

    /// A contiguous CPU tensor taking ownership of `data`.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let numel: usize = shape.iter().product();
        if numel != data.len() {
            return Err(Error::op(
                "from_vec",
                format!("shape {} needs {numel} elements but {} were given", fmt_shape(shape), data.len()),
            ));
        }
        Ok(Tensor {
            storage: Arc::new(Storage::Cpu(CpuStorage::from_vec(data))),
            layout: Layout::contiguous(shape),
        })
    }

    /// A contiguous CPU tensor copied from `data`.
    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// A rank-0 f32 tensor.
    pub fn scalar(value: f32) -> Tensor {
        Tensor {
            storage: Arc::new(Storage::Cpu(CpuStorage::F32(vec![value]))),
            layout: Layout::contiguous(&[]),
        }
    }

    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }

    pub fn strides(&self) -> &[usize] {
        self.layout.strides()
    }

    pub fn offset(&self) -> usize {
        self.layout.offset()
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn rank(&self) -> usize {
        self.layout.rank()
    }

    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    pub fn dtype(&self) -> DType {
        self.storage.dtype()
    }

    pub fn device(&self) -> Device {
        self.storage.device()
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// The size of dimension `dim` (negative counts from the end).
    pub fn dim(&self, dim: isize) -> Result<usize> {
        Ok(self.shape()[crate::layout::resolve_dim("dim", dim, self.rank())?])
    }

    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    /// True when both tensors read the same storage (one is a view of the other).
    pub fn shares_storage_with(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// The same storage seen through another layout (views build on this).
    pub fn with_layout(&self, layout: Layout) -> Result<Tensor> {
        Tensor::from_storage(self.storage.clone(), layout)
    }

    /// The whole underlying host storage as `T`; index it with `offset()` and `strides()`.
    pub fn storage_slice<T: Element>(&self, op: &'static str) -> Result<&[T]> {
        self.storage.cpu(op)?.as_slice::<T>().map_err(|e| retag(op, e))
    }

    /// This tensor's elements as one slice, when it is contiguous on the host.
    pub fn contiguous_slice<T: Element>(&self) -> Result<&[T]> {
        if !self.is_contiguous() {
            return Err(Error::op(
                "contiguous_slice",
                format!("tensor {} with strides {:?} is not contiguous", fmt_shape(self.shape()), self.strides()),
            ));
        }
        let all = self.storage_slice::<T>("contiguous_slice")?;
        Ok(&all[self.offset()..self.offset() + self.numel()])
    }

    /// This tensor's elements as one mutable slice. Copies first when the storage is shared with another
    /// tensor, memory-mapped, or not contiguous, so writing never changes another tensor.
    pub fn contiguous_slice_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        if self.dtype() != T::DTYPE {
            return Err(Error::op(
                "contiguous_slice_mut",
                format!("tensor holds {} but {} was asked for", self.dtype(), T::DTYPE),
            ));
        }
        let whole = self.offset() == 0 && self.numel() == self.storage.len();
        let mapped = matches!(&*self.storage, Storage::Cpu(s) if s.is_mapped());
        if !self.is_contiguous() || !whole || mapped || Arc::strong_count(&self.storage) > 1 {
            let data = self.to_vec::<T>()?;
            *self = Tensor::from_vec(data, &self.shape().to_vec())?;
        }
        let storage = Arc::get_mut(&mut self.storage).ok_or_else(|| {
            Error::op("contiguous_slice_mut", "storage is still shared after copying (weak reference held)")
        })?;
        storage.cpu_mut("contiguous_slice_mut")?.as_mut_slice::<T>()
    }

    /// The elements in row-major order; the dtype must be `T`'s.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let all = self.storage_slice::<T>("to_vec")?;
        if self.is_contiguous() {
            return Ok(all[self.offset()..self.offset() + self.numel()].to_vec());
        }
        let mut out = vec![T::zeroed(); self.numel()];
        kernels::copy_strided(self.shape(), all, self.offset(), self.strides(), &mut out)?;
        Ok(out)
    }

    /// The elements in row-major order converted to f32, whatever the dtype.
    pub fn to_vec_f32(&self) -> Result<Vec<f32>> {
        fn convert<T: Element>(t: &Tensor) -> Result<Vec<f32>> {
            let all = t.storage_slice::<T>("to_vec_f32")?;
            Ok(t.layout.storage_indices().map(|i| all[i].to_f32()).collect())
        }
        match self.dtype() {
            DType::F32 => self.to_vec::<f32>(),
            DType::F16 => convert::<half::f16>(self),
            DType::BF16 => convert::<half::bf16>(self),
            DType::I64 => convert::<i64>(self),
            DType::U8 => convert::<u8>(self),
        }
    }

    /// The single value of a one-element tensor, as f32.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(Error::op("item", format!("tensor {} has {} elements, not 1", fmt_shape(self.shape()), self.numel())));
        }
        Ok(self.to_vec_f32()?[0])
    }

    /// A tensor with the same elements laid out row-major; returns `self` (sharing storage) when it already is.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        fn gather<T: Element>(t: &Tensor) -> Result<Tensor> {
            Tensor::from_vec(t.to_vec::<T>()?, t.shape())
        }
        match self.dtype() {
            DType::F32 => gather::<f32>(self),
            DType::F16 => gather::<half::f16>(self),
            DType::BF16 => gather::<half::bf16>(self),
            DType::I64 => gather::<i64>(self),
            DType::U8 => gather::<u8>(self),
        }
    }
}

/// Re-labels a storage error with the op that asked.
fn retag(op: &'static str, err: Error) -> Error {
    match err {
        Error::Op { message, .. } => Error::op(op, message),
        other => other,
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({}, {}, {}", fmt_shape(self.shape()), self.dtype(), self.device())?;
        if let Ok(values) = self.to_vec_f32() {
            let shown: Vec<f32> = values.iter().take(8).copied().collect();
            write!(f, ", {shown:?}{}", if values.len() > 8 { "…" } else { "" })?;
        }
        write!(f, ")")
    }
}
