//! Comparisons with NumPy broadcasting (`eq`, `ne`, `lt`, `le`, `gt`, `ge` and their scalar forms) and
//! logical ops on masks. Results are U8 tensors holding 0 or 1. Any dtype compares with the same dtype;
//! NaN compares unequal to everything, as in IEEE and PyTorch.
use super::support::{map_layout, require_dtype, same_device, unsupported_device, with_element_type, zip_map};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, fmt_shape};
use crate::{Device, Tensor};

#[derive(Clone, Copy)]
enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    #[inline]
    fn test<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Comparison::Eq => a == b,
            Comparison::Ne => a != b,
            Comparison::Lt => a < b,
            Comparison::Le => a <= b,
            Comparison::Gt => a > b,
            Comparison::Ge => a >= b,
        }
    }
}

/// Exact widening to f64 for comparing against a scalar (i64 token ids stay exact up to 2^53).
trait ToF64 {
    fn to_f64(self) -> f64;
}
impl ToF64 for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}
impl ToF64 for half::f16 {
    fn to_f64(self) -> f64 {
        self.to_f32() as f64
    }
}
impl ToF64 for half::bf16 {
    fn to_f64(self) -> f64 {
        self.to_f32() as f64
    }
}
impl ToF64 for i64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}
impl ToF64 for u8 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// `op(a[i], b[i])` over the broadcast shape, reading both operands through their (broadcast) strides.
fn compare_cpu<T: Element + PartialOrd>(
    a: &Tensor,
    b: &Tensor,
    op: Comparison,
    name: &'static str,
    shape: &[usize],
) -> Result<Tensor> {
    let la = a.layout().broadcast_to(name, shape)?;
    let lb = b.layout().broadcast_to(name, shape)?;
    let (xa, xb) = (a.storage_slice::<T>(name)?, b.storage_slice::<T>(name)?);
    Tensor::from_vec(zip_map(xa, &la, xb, &lb, |x, y| op.test(&x, &y) as u8), shape)
}

fn compare_scalar_cpu<T: Element + ToF64>(
    a: &Tensor,
    value: f64,
    op: Comparison,
    name: &'static str,
) -> Result<Tensor> {
    let xa = a.storage_slice::<T>(name)?;
    Tensor::from_vec(map_layout(xa, a.layout(), |x| op.test(&x.to_f64(), &value) as u8), a.shape())
}

impl Tensor {
    fn compare(&self, rhs: &Tensor, op: Comparison, name: &'static str) -> Result<Tensor> {
        if self.dtype() != rhs.dtype() {
            return Err(Error::op(
                name,
                format!(
                    "lhs {} is {} but rhs {} is {}; cast one first",
                    fmt_shape(self.shape()),
                    self.dtype(),
                    fmt_shape(rhs.shape()),
                    rhs.dtype()
                ),
            ));
        }
        let shape = broadcast_shapes(name, self.shape(), rhs.shape())?;
        match same_device(name, &[self, rhs])? {
            Device::Cpu => with_element_type!(self.dtype(), T, compare_cpu::<T>(self, rhs, op, name, &shape)),
            device => Err(unsupported_device(name, device)),
        }
    }

    fn compare_scalar(&self, value: f64, op: Comparison, name: &'static str) -> Result<Tensor> {
        match self.device() {
            Device::Cpu => with_element_type!(self.dtype(), T, compare_scalar_cpu::<T>(self, value, op, name)),
            device => Err(unsupported_device(name, device)),
        }
    }

    /// `self == rhs` element-wise with broadcasting, as a U8 mask (1 where true).
    ///
    /// ```
    /// use engine::{DType, Tensor};
    /// let a = Tensor::from_vec(vec![1i64, 2, 3], &[3])?;
    /// let b = Tensor::from_vec(vec![2i64], &[1])?;
    /// let m = a.eq(&b)?;
    /// assert_eq!(m.dtype(), DType::U8);
    /// assert_eq!(m.to_vec::<u8>()?, vec![0, 1, 0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn eq(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Comparison::Eq, "eq")
    }

    /// `self != rhs` element-wise with broadcasting, as a U8 mask.
    pub fn ne(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Comparison::Ne, "ne")
    }

    /// `self < rhs` element-wise with broadcasting, as a U8 mask.
    ///
    /// ```
    /// use engine::Tensor;
    /// let col = Tensor::from_vec(vec![0f32, 1.0, 2.0], &[3, 1])?;
    /// let row = Tensor::from_vec(vec![0f32, 1.0, 2.0], &[1, 3])?;
    /// // A causal mask: 1 above the diagonal.
    /// assert_eq!(col.lt(&row)?.to_vec::<u8>()?, vec![0, 1, 1, 0, 0, 1, 0, 0, 0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn lt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Comparison::Lt, "lt")
    }

    /// `self <= rhs` element-wise with broadcasting, as a U8 mask.
    pub fn le(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Comparison::Le, "le")
    }

    /// `self > rhs` element-wise with broadcasting, as a U8 mask.
    pub fn gt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Comparison::Gt, "gt")
    }

    /// `self >= rhs` element-wise with broadcasting, as a U8 mask.
    pub fn ge(&self, rhs: &Tensor) -> Result<Tensor> {
        self.compare(rhs, Comparison::Ge, "ge")
    }

    /// `self == value` element-wise, as a U8 mask. Elements are widened to f64 for the comparison, so
    /// I64 values (token ids) compare exactly.
    ///
    /// ```
    /// use engine::Tensor;
    /// let ids = Tensor::from_vec(vec![5i64, 50256, 7], &[3])?;
    /// assert_eq!(ids.eq_scalar(50256.0)?.to_vec::<u8>()?, vec![0, 1, 0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn eq_scalar(&self, value: f64) -> Result<Tensor> {
        self.compare_scalar(value, Comparison::Eq, "eq_scalar")
    }

    /// `self != value` element-wise, as a U8 mask.
    pub fn ne_scalar(&self, value: f64) -> Result<Tensor> {
        self.compare_scalar(value, Comparison::Ne, "ne_scalar")
    }

    /// `self < value` element-wise, as a U8 mask.
    pub fn lt_scalar(&self, value: f64) -> Result<Tensor> {
        self.compare_scalar(value, Comparison::Lt, "lt_scalar")
    }

    /// `self <= value` element-wise, as a U8 mask.
    pub fn le_scalar(&self, value: f64) -> Result<Tensor> {
        self.compare_scalar(value, Comparison::Le, "le_scalar")
    }

    /// `self > value` element-wise, as a U8 mask.
    pub fn gt_scalar(&self, value: f64) -> Result<Tensor> {
        self.compare_scalar(value, Comparison::Gt, "gt_scalar")
    }

    /// `self >= value` element-wise, as a U8 mask.
    pub fn ge_scalar(&self, value: f64) -> Result<Tensor> {
        self.compare_scalar(value, Comparison::Ge, "ge_scalar")
    }

    fn logical(&self, rhs: &Tensor, name: &'static str, f: fn(bool, bool) -> bool) -> Result<Tensor> {
        require_dtype(name, "lhs", self, DType::U8)?;
        require_dtype(name, "rhs", rhs, DType::U8)?;
        let shape = broadcast_shapes(name, self.shape(), rhs.shape())?;
        match same_device(name, &[self, rhs])? {
            Device::Cpu => {
                let la = self.layout().broadcast_to(name, &shape)?;
                let lb = rhs.layout().broadcast_to(name, &shape)?;
                let (xa, xb) = (self.storage_slice::<u8>(name)?, rhs.storage_slice::<u8>(name)?);
                Tensor::from_vec(zip_map(xa, &la, xb, &lb, |x, y| f(x != 0, y != 0) as u8), &shape)
            }
            device => Err(unsupported_device(name, device)),
        }
    }

    /// Element-wise AND of two U8 masks (nonzero is true) with broadcasting.
    ///
    /// ```
    /// use engine::Tensor;
    /// let a = Tensor::from_vec(vec![1u8, 1, 0], &[3])?;
    /// let b = Tensor::from_vec(vec![1u8, 0, 1], &[3])?;
    /// assert_eq!(a.logical_and(&b)?.to_vec::<u8>()?, vec![1, 0, 0]);
    /// assert_eq!(a.logical_or(&b)?.to_vec::<u8>()?, vec![1, 1, 1]);
    /// assert_eq!(a.logical_not()?.to_vec::<u8>()?, vec![0, 0, 1]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn logical_and(&self, rhs: &Tensor) -> Result<Tensor> {
        self.logical(rhs, "logical_and", |a, b| a && b)
    }

    /// Element-wise OR of two U8 masks with broadcasting.
    pub fn logical_or(&self, rhs: &Tensor) -> Result<Tensor> {
        self.logical(rhs, "logical_or", |a, b| a || b)
    }

    /// Element-wise NOT of a U8 mask (1 where the input is 0).
    pub fn logical_not(&self) -> Result<Tensor> {
        const OP: &str = "logical_not";
        require_dtype(OP, "input", self, DType::U8)?;
        match self.device() {
            Device::Cpu => {
                let x = self.storage_slice::<u8>(OP)?;
                Tensor::from_vec(map_layout(x, self.layout(), |v| (v == 0) as u8), self.shape())
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}
