//! The affine map of a linear layer, `x W + b`, as one GEMM.
//!
//! Why not `x.matmul(w)?.add(b)`: that zero-fills the product, writes it, then reads it back to add the
//! bias into a second new buffer. Here the output starts as the bias repeated over the rows and the GEMM
//! adds the product into it (beta = 1): one buffer, one pass of writes before the GEMM, no bias pass.
use super::matmul::matrix_layout;
use super::support::{f32_tensor, host_slice, require_f32, same_device, unsupported_device};
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::{Device, Tensor};

impl Tensor {
    /// `self [.., in] @ weight [in, out] + bias [out]` -> `[.., out]` (without a bias, [`Tensor::matmul`]).
    /// `weight` may be a transposed view (`w.t()`), read without a copy.
    ///
    /// ```
    /// use engine::Tensor;
    /// let x = Tensor::from_vec(vec![1f32, 1.0, 2.0, 0.0], &[2, 2])?;
    /// let w = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// let b = Tensor::from_vec(vec![0f32, 0.0, 1.0], &[3])?;
    /// assert_eq!(x.linear(&w, Some(&b))?.to_vec::<f32>()?, vec![5.0, 7.0, 10.0, 2.0, 4.0, 7.0]);
    /// // The same as the product followed by the broadcast sum.
    /// assert_eq!(x.linear(&w, Some(&b))?.to_vec::<f32>()?, x.matmul(&w)?.add(&b)?.to_vec::<f32>()?);
    /// let err = x.linear(&w, Some(&x)).unwrap_err();
    /// assert_eq!(err.to_string(), "linear: x [2, 2] @ weight [2, 3] needs bias [3], got [2, 2]");
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        const OP: &str = "linear";
        let Some(bias) = bias else {
            return self.matmul(weight);
        };
        for (what, t) in [("x", self), ("weight", weight), ("bias", bias)] {
            require_f32(OP, what, t)?;
        }
        let shapes = || format!("x {} @ weight {}", fmt_shape(self.shape()), fmt_shape(weight.shape()));
        if self.rank() == 0 || weight.rank() != 2 || self.shape()[self.rank() - 1] != weight.shape()[0] {
            return Err(Error::op(OP, format!("{} must be [.., in] @ [in, out]", shapes())));
        }
        let (k, n) = (weight.shape()[0], weight.shape()[1]);
        if bias.shape() != [n] {
            return Err(Error::op(OP, format!("{} needs bias [{n}], got {}", shapes(), fmt_shape(bias.shape()))));
        }
        let mut out_shape = self.shape().to_vec();
        *out_shape.last_mut().expect("rank >= 1") = n;
        match same_device(OP, &[self, weight, bias])? {
            Device::Cpu => {
                let x = self.contiguous()?;
                let b = bias.contiguous()?;
                let rows = x.numel().checked_div(k).unwrap_or(0);
                let mut y = Vec::with_capacity(rows * n);
                for _ in 0..rows {
                    y.extend_from_slice(host_slice::<f32>(OP, &b)?);
                }
                if rows > 0 && n > 0 && k > 0 {
                    let (w, layout) = match matrix_layout(k, n, weight.strides()[0], weight.strides()[1]) {
                        Some(layout) => (weight.clone(), layout),
                        None => (weight.contiguous()?, matrix_layout(k, n, n, 1).expect("row-major")),
                    };
                    let w_data = &w.storage_slice::<f32>(OP)?[w.offset()..];
                    let x_data = host_slice::<f32>(OP, &x)?;
                    kernels::sgemm(false, layout.trans, rows, n, k, 1.0, x_data, k, w_data, layout.ld, 1.0, &mut y, n)?;
                }
                f32_tensor(y, &out_shape)
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}
