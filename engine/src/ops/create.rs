//! Creation ops: zeros, ones, full, arange, eye, and random tensors from a seeded [`Rng`].
//!
//! Every tensor made here is contiguous and on the CPU; move it with [`Tensor::to_device`].
use half::{bf16, f16};

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A contiguous CPU tensor of `shape` with every element `T::from_f32(value)`.
fn filled_as<T: Element>(shape: &[usize], value: f32) -> Result<Tensor> {
    let numel = checked_numel("full", shape)?;
    Tensor::from_vec(vec![T::from_f32(value); numel], shape)
}

/// The element count of `shape`, or an error when it overflows `usize`.
fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| Error::op(op, format!("shape {} has more elements than memory can address", fmt_shape(shape))))
}

impl Tensor {
    /// A tensor of zeros.
    ///
    /// ```
    /// use engine::{DType, Tensor};
    /// let z = Tensor::zeros(&[2, 3], DType::BF16)?;
    /// assert_eq!(z.dtype(), DType::BF16);
    /// assert_eq!(z.to_vec_f32()?, vec![0.0; 6]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, 0.0, dtype)
    }

    /// A tensor of ones.
    ///
    /// ```
    /// use engine::{DType, Tensor};
    /// assert_eq!(Tensor::ones(&[3], DType::I64)?.to_vec::<i64>()?, vec![1, 1, 1]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn ones(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, 1.0, dtype)
    }

    /// A tensor with every element `value`, converted to `dtype` as [`Tensor::to_dtype`] converts
    /// (rounded to nearest for f16/bf16, truncated toward zero and saturated for I64 and U8).
    ///
    /// ```
    /// use engine::{DType, Tensor};
    /// let t = Tensor::full(&[2, 2], 2.5, DType::F32)?;
    /// assert_eq!(t.to_vec::<f32>()?, vec![2.5; 4]);
    /// assert_eq!(Tensor::full(&[1], -2.7, DType::I64)?.to_vec::<i64>()?, vec![-2]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn full(shape: &[usize], value: f32, dtype: DType) -> Result<Tensor> {
        match dtype {
            DType::F32 => filled_as::<f32>(shape, value),
            DType::F16 => filled_as::<f16>(shape, value),
            DType::BF16 => filled_as::<bf16>(shape, value),
            DType::I64 => filled_as::<i64>(shape, value),
            DType::U8 => filled_as::<u8>(shape, value),
        }
    }

    /// Zeros with this tensor's shape, dtype and device.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![1f32, 2.0], &[2])?;
    /// assert_eq!(t.zeros_like()?.to_vec::<f32>()?, vec![0.0, 0.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::zeros(self.shape(), self.dtype())?.to_device(self.device())
    }

    /// Ones with this tensor's shape, dtype and device.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![5i64, 6], &[2])?;
    /// assert_eq!(t.ones_like()?.to_vec::<i64>()?, vec![1, 1]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn ones_like(&self) -> Result<Tensor> {
        Tensor::ones(self.shape(), self.dtype())?.to_device(self.device())
    }

    /// `value` everywhere, with this tensor's shape, dtype and device.
    pub fn full_like(&self, value: f32) -> Result<Tensor> {
        Tensor::full(self.shape(), value, self.dtype())?.to_device(self.device())
    }

    /// The integers `start, start + 1, ..., end - 1` as a rank-1 I64 tensor (empty when `end == start`;
    /// an error when `end < start`).
    ///
    /// ```
    /// use engine::{DType, Tensor};
    /// let t = Tensor::arange(-1, 3)?;
    /// assert_eq!(t.dtype(), DType::I64);
    /// assert_eq!(t.to_vec::<i64>()?, vec![-1, 0, 1, 2]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn arange(start: i64, end: i64) -> Result<Tensor> {
        if end < start {
            return Err(Error::op("arange", format!("end {end} is before start {start}")));
        }
        let len = usize::try_from(end.abs_diff(start))
            .map_err(|_| Error::op("arange", format!("range {start}..{end} is too long")))?;
        Tensor::from_vec((start..end).collect::<Vec<i64>>(), &[len])
    }

    /// `start, start + step, ...` up to but excluding `end`, as a rank-1 F32 tensor; element `i` is
    /// `start + i * step` computed in f64 and rounded once. `step` may be negative, never zero.
    ///
    /// ```
    /// use engine::Tensor;
    /// assert_eq!(Tensor::arange_f32(0.0, 1.0, 0.25)?.to_vec::<f32>()?, vec![0.0, 0.25, 0.5, 0.75]);
    /// assert_eq!(Tensor::arange_f32(1.0, 0.0, -0.5)?.to_vec::<f32>()?, vec![1.0, 0.5]);
    /// assert!(Tensor::arange_f32(0.0, 1.0, 0.0).is_err());
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn arange_f32(start: f32, end: f32, step: f32) -> Result<Tensor> {
        if !(start.is_finite() && end.is_finite() && step.is_finite()) || step == 0.0 {
            return Err(Error::op(
                "arange_f32",
                format!("start {start}, end {end} and step {step} must be finite with a non-zero step"),
            ));
        }
        let (start, end, step) = (start as f64, end as f64, step as f64);
        let steps = ((end - start) / step).ceil();
        if steps < 0.0 {
            return Err(Error::op(
                "arange_f32",
                format!("step {step} goes away from end {end} starting at {start}"),
            ));
        }
        if steps > (1u64 << 40) as f64 {
            return Err(Error::op("arange_f32", format!("{steps} elements are too many")));
        }
        let len = steps as usize;
        let data: Vec<f32> = (0..len).map(|i| (start + i as f64 * step) as f32).collect();
        Tensor::from_vec(data, &[len])
    }

    /// The `n` by `n` F32 identity matrix.
    ///
    /// ```
    /// use engine::Tensor;
    /// assert_eq!(Tensor::eye(2)?.to_vec::<f32>()?, vec![1.0, 0.0, 0.0, 1.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn eye(n: usize) -> Result<Tensor> {
        let numel = checked_numel("eye", &[n, n])?;
        let mut data = vec![0f32; numel];
        for i in 0..n {
            data[i * n + i] = 1.0;
        }
        Tensor::from_vec(data, &[n, n])
    }

    /// An F32 tensor of independent samples uniform in `[low, high)` (see [`Rng::uniform`]), drawn in
    /// row-major order, so the same generator state always gives the same tensor.
    ///
    /// ```
    /// use engine::{rng::Rng, Tensor};
    /// let t = Tensor::rand_uniform(&[2, 3], -1.0, 1.0, &mut Rng::new(0))?;
    /// assert!(t.to_vec::<f32>()?.iter().all(|&x| (-1.0..1.0).contains(&x)));
    /// assert_eq!(t.to_vec::<f32>()?, Tensor::rand_uniform(&[2, 3], -1.0, 1.0, &mut Rng::new(0))?.to_vec::<f32>()?);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn rand_uniform(shape: &[usize], low: f32, high: f32, rng: &mut Rng) -> Result<Tensor> {
        if !(low.is_finite() && high.is_finite() && low <= high) {
            return Err(Error::op(
                "rand_uniform",
                format!("bounds [{low}, {high}) for shape {} must be finite with low <= high", fmt_shape(shape)),
            ));
        }
        let numel = checked_numel("rand_uniform", shape)?;
        let data: Vec<f32> = (0..numel).map(|_| rng.uniform(low, high)).collect();
        Tensor::from_vec(data, shape)
    }

    /// An F32 tensor of independent normal samples (see [`Rng::fill_normal`]), drawn in row-major order.
    ///
    /// ```
    /// use engine::{rng::Rng, Tensor};
    /// let t = Tensor::randn(&[1000], 0.0, 0.02, &mut Rng::new(1))?;
    /// let mean = t.to_vec::<f32>()?.iter().sum::<f32>() / 1000.0;
    /// assert!(mean.abs() < 0.005);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn randn(shape: &[usize], mean: f32, std: f32, rng: &mut Rng) -> Result<Tensor> {
        if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
            return Err(Error::op(
                "randn",
                format!("mean {mean} and std {std} for shape {} must be finite with std >= 0", fmt_shape(shape)),
            ));
        }
        let numel = checked_numel("randn", shape)?;
        let mut data = vec![0f32; numel];
        rng.fill_normal(&mut data, mean, std);
        Tensor::from_vec(data, shape)
    }
}
