//! Softmax and log-softmax along any dimension, with the backward helpers autograd uses.
//!
//! The kernels work on rows; a dimension other than the last is moved last (a view), made contiguous,
//! computed, and moved back.
use super::support::{
    f32_tensor, host_slice, move_dims_last, move_last_to, require_f32, resolve_dim_of, same_device, unsupported_device,
};
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::{Device, Tensor};

type RowsForward = fn(&[f32], usize, usize, &mut [f32]) -> kernels::KernelResult<()>;
type RowsBackward = fn(&[f32], &[f32], usize, usize, &mut [f32]) -> kernels::KernelResult<()>;

impl Tensor {
    fn rows_forward(&self, dim: isize, name: &'static str, kernel: RowsForward) -> Result<Tensor> {
        require_f32(name, "input", self)?;
        let d = resolve_dim_of(name, dim, self.shape())?;
        match self.device() {
            Device::Cpu => {
                let moved = move_dims_last(self, &[d])?;
                let x = moved.contiguous()?;
                let cols = self.shape()[d];
                let rows = self.numel().checked_div(cols).unwrap_or(0);
                let mut out = vec![0.0f32; self.numel()];
                if rows > 0 {
                    kernel(host_slice::<f32>(name, &x)?, rows, cols, &mut out)?;
                }
                move_last_to(f32_tensor(out, moved.shape())?, d)
            }
            device => Err(unsupported_device(name, device)),
        }
    }

    fn rows_backward(&self, dy: &Tensor, dim: isize, name: &'static str, kernel: RowsBackward) -> Result<Tensor> {
        require_f32(name, "y", self)?;
        require_f32(name, "dy", dy)?;
        if self.shape() != dy.shape() {
            return Err(Error::op(
                name,
                format!("y {} and dy {} must have the same shape", fmt_shape(self.shape()), fmt_shape(dy.shape())),
            ));
        }
        let d = resolve_dim_of(name, dim, self.shape())?;
        match same_device(name, &[self, dy])? {
            Device::Cpu => {
                let y_moved = move_dims_last(self, &[d])?;
                let dy_moved = move_dims_last(dy, &[d])?;
                let (y, g) = (y_moved.contiguous()?, dy_moved.contiguous()?);
                let cols = self.shape()[d];
                let rows = self.numel().checked_div(cols).unwrap_or(0);
                let mut dx = vec![0.0f32; self.numel()];
                if rows > 0 {
                    kernel(host_slice::<f32>(name, &y)?, host_slice::<f32>(name, &g)?, rows, cols, &mut dx)?;
                }
                move_last_to(f32_tensor(dx, y_moved.shape())?, d)
            }
            device => Err(unsupported_device(name, device)),
        }
    }

    /// Softmax along `dim` (negative counts from the end), computed stably (the row maximum is subtracted).
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![1f32, 1.0, 1000.0, 1000.0], &[2, 2])?;
    /// assert_eq!(t.softmax(-1)?.to_vec::<f32>()?, vec![0.5, 0.5, 0.5, 0.5]);
    /// let cols = Tensor::from_vec(vec![0f32, 0.0, 0.0, 0.0], &[2, 2])?.softmax(0)?;
    /// assert_eq!(cols.to_vec::<f32>()?, vec![0.5; 4]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn softmax(&self, dim: isize) -> Result<Tensor> {
        self.rows_forward(dim, "softmax", kernels::softmax_rows)
    }

    /// Log-softmax along `dim`: `x - logsumexp(x)`, computed stably.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32, 0.0], &[2])?;
    /// let l = t.log_softmax(0)?.to_vec::<f32>()?;
    /// assert!((l[0] + std::f32::consts::LN_2).abs() < 1e-6);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        self.rows_forward(dim, "log_softmax", kernels::log_softmax_rows)
    }

    /// Softmax backward for autograd: `self` is the softmax output `y`, `dy` the gradient of the loss with
    /// respect to it; returns `dx = y * (dy - sum(dy * y))` along `dim`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let y = Tensor::from_vec(vec![0.5f32, 0.5], &[2])?;
    /// let dy = Tensor::from_vec(vec![1f32, 1.0], &[2])?;
    /// // A constant upstream gradient has no effect through softmax.
    /// assert_eq!(y.softmax_backward(&dy, 0)?.to_vec::<f32>()?, vec![0.0, 0.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn softmax_backward(&self, dy: &Tensor, dim: isize) -> Result<Tensor> {
        self.rows_backward(dy, dim, "softmax_backward", kernels::softmax_rows_backward)
    }

    /// Log-softmax backward for autograd: `self` is the log-softmax output `y`; returns
    /// `dx = dy - exp(y) * sum(dy)` along `dim`.
    pub fn log_softmax_backward(&self, dy: &Tensor, dim: isize) -> Result<Tensor> {
        self.rows_backward(dy, dim, "log_softmax_backward", kernels::log_softmax_rows_backward)
    }
}
