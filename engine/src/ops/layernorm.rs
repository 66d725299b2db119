//! Layer normalisation over the last dimension, with the forward that keeps `mean` and `rstd` for the
//! backward (as llm.c does) and the backward autograd calls.
use super::support::{f32_tensor, host_slice, require_f32, same_device, unsupported_device};
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::{Device, Tensor};

/// `x` as `[rows, cols]` over its last dimension.
fn rows_cols(op: &'static str, x: &Tensor) -> Result<(usize, usize)> {
    if x.rank() == 0 {
        return Err(Error::op(op, "x [] has no last dimension to normalise over"));
    }
    let cols = x.shape()[x.rank() - 1];
    Ok((x.numel().checked_div(cols).unwrap_or(0), cols))
}

/// Checks an optional per-feature parameter (`gamma`, `beta`) has shape `[cols]`.
fn check_param(op: &'static str, what: &str, p: Option<&Tensor>, x: &Tensor, cols: usize) -> Result<()> {
    if let Some(p) = p {
        require_f32(op, what, p)?;
        if p.shape() != [cols] {
            return Err(Error::op(
                op,
                format!("{what} {} must have shape [{cols}] to match x {}", fmt_shape(p.shape()), fmt_shape(x.shape())),
            ));
        }
    }
    Ok(())
}

/// Checks a per-row statistic (`mean`, `rstd`) has the shape of `x` without its last dimension.
fn check_stat(op: &'static str, what: &str, s: &Tensor, x: &Tensor) -> Result<()> {
    require_f32(op, what, s)?;
    if s.shape() != &x.shape()[..x.rank() - 1] {
        return Err(Error::op(
            op,
            format!(
                "{what} {} must have shape {} (x {} without its last dimension)",
                fmt_shape(s.shape()),
                fmt_shape(&x.shape()[..x.rank() - 1]),
                fmt_shape(x.shape())
            ),
        ));
    }
    Ok(())
}

impl Tensor {
    /// Layer normalisation over the last dimension: `(x - mean) * rstd * gamma + beta`, with
    /// `rstd = 1 / sqrt(var + eps)` and the biased variance (as PyTorch). `gamma` and `beta` are `[D]`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let x = Tensor::from_vec(vec![1f32, 3.0, 10.0, 20.0], &[2, 2])?;
    /// let y = x.layer_norm(None, None, 0.0)?.to_vec::<f32>()?;
    /// assert_eq!(y, vec![-1.0, 1.0, -1.0, 1.0]);
    /// let gamma = Tensor::from_vec(vec![2f32, 2.0], &[2])?;
    /// let beta = Tensor::from_vec(vec![0.5f32, 0.5], &[2])?;
    /// assert_eq!(x.layer_norm(Some(&gamma), Some(&beta), 0.0)?.to_vec::<f32>()?, vec![-1.5, 2.5, -1.5, 2.5]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn layer_norm(&self, gamma: Option<&Tensor>, beta: Option<&Tensor>, eps: f32) -> Result<Tensor> {
        Ok(self.layer_norm_impl("layer_norm", gamma, beta, eps)?.0)
    }

    /// [`Tensor::layer_norm`] that also returns the per-row `mean` and `rstd` (shape: `x` without its last
    /// dimension), which [`Tensor::layer_norm_backward`] needs.
    pub fn layer_norm_forward(
        &self,
        gamma: Option<&Tensor>,
        beta: Option<&Tensor>,
        eps: f32,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        self.layer_norm_impl("layer_norm_forward", gamma, beta, eps)
    }

    fn layer_norm_impl(
        &self,
        op: &'static str,
        gamma: Option<&Tensor>,
        beta: Option<&Tensor>,
        eps: f32,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        require_f32(op, "x", self)?;
        let (rows, cols) = rows_cols(op, self)?;
        check_param(op, "gamma", gamma, self, cols)?;
        check_param(op, "beta", beta, self, cols)?;
        let mut operands = vec![self];
        operands.extend(gamma);
        operands.extend(beta);
        match same_device(op, &operands)? {
            Device::Cpu => {
                let x = self.contiguous()?;
                let gamma = gamma.map(|g| g.contiguous()).transpose()?;
                let beta = beta.map(|b| b.contiguous()).transpose()?;
                let mut out = vec![0.0f32; self.numel()];
                let mut mean = vec![0.0f32; rows];
                let mut rstd = vec![0.0f32; rows];
                if rows > 0 {
                    kernels::layernorm_forward(
                        host_slice::<f32>(op, &x)?,
                        gamma.as_ref().map(|g| host_slice::<f32>(op, g)).transpose()?,
                        beta.as_ref().map(|b| host_slice::<f32>(op, b)).transpose()?,
                        rows,
                        cols,
                        eps,
                        &mut out,
                        &mut mean,
                        &mut rstd,
                    )?;
                }
                let stat_shape = &self.shape()[..self.rank() - 1];
                Ok((f32_tensor(out, self.shape())?, f32_tensor(mean, stat_shape)?, f32_tensor(rstd, stat_shape)?))
            }
            device => Err(unsupported_device(op, device)),
        }
    }

    /// Layer-norm backward for autograd: `self` is the forward input `x`, `mean` and `rstd` come from
    /// [`Tensor::layer_norm_forward`], `dy` is the gradient of the output. Returns `(dx, dgamma, dbeta)`;
    /// `dgamma` and `dbeta` (`[D]`) are computed whether or not the forward had those parameters (a caller
    /// without them ignores them), and `gamma = None` means a scale of 1.
    ///
    /// ```
    /// use engine::Tensor;
    /// let x = Tensor::from_vec(vec![1f32, 3.0], &[1, 2])?;
    /// let (_, mean, rstd) = x.layer_norm_forward(None, None, 0.0)?;
    /// let dy = Tensor::from_vec(vec![1f32, 1.0], &[1, 2])?;
    /// let (dx, dgamma, dbeta) = x.layer_norm_backward(None, &mean, &rstd, &dy)?;
    /// assert_eq!(dx.to_vec::<f32>()?, vec![0.0, 0.0]); // a uniform shift is normalised away
    /// assert_eq!(dgamma.to_vec::<f32>()?, vec![-1.0, 1.0]);
    /// assert_eq!(dbeta.to_vec::<f32>()?, vec![1.0, 1.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn layer_norm_backward(
        &self,
        gamma: Option<&Tensor>,
        mean: &Tensor,
        rstd: &Tensor,
        dy: &Tensor,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        const OP: &str = "layer_norm_backward";
        require_f32(OP, "x", self)?;
        let (rows, cols) = rows_cols(OP, self)?;
        check_param(OP, "gamma", gamma, self, cols)?;
        check_stat(OP, "mean", mean, self)?;
        check_stat(OP, "rstd", rstd, self)?;
        require_f32(OP, "dy", dy)?;
        if dy.shape() != self.shape() {
            return Err(Error::op(
                OP,
                format!("dy {} must have the shape of x {}", fmt_shape(dy.shape()), fmt_shape(self.shape())),
            ));
        }
        let mut operands = vec![self, mean, rstd, dy];
        operands.extend(gamma);
        match same_device(OP, &operands)? {
            Device::Cpu => {
                let x = self.contiguous()?;
                let gamma = gamma.map(|g| g.contiguous()).transpose()?;
                let (mean, rstd, dy) = (mean.contiguous()?, rstd.contiguous()?, dy.contiguous()?);
                let mut dx = vec![0.0f32; self.numel()];
                let mut dgamma = vec![0.0f32; cols];
                let mut dbeta = vec![0.0f32; cols];
                if rows > 0 {
                    kernels::layernorm_backward(
                        host_slice::<f32>(OP, &x)?,
                        gamma.as_ref().map(|g| host_slice::<f32>(OP, g)).transpose()?,
                        host_slice::<f32>(OP, &mean)?,
                        host_slice::<f32>(OP, &rstd)?,
                        host_slice::<f32>(OP, &dy)?,
                        rows,
                        cols,
                        &mut dx,
                        Some(&mut dgamma),
                        Some(&mut dbeta),
                    )?;
                }
                Ok((f32_tensor(dx, self.shape())?, f32_tensor(dgamma, &[cols])?, f32_tensor(dbeta, &[cols])?))
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}
