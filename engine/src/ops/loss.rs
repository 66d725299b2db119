//! Fused softmax + cross-entropy over class logits, forward and backward.
//!
//! The forward keeps each row's logsumexp so the backward (`softmax(logits) - onehot(target)`, scaled by
//! the incoming per-row gradient) never recomputes it. Rows whose target is `ignore_index` (padding,
//! prompt tokens) have loss 0 and gradient 0 and do not count in the mean.
use super::support::{f32_tensor, host_slice, require_dtype, require_f32, same_device, unsupported_device};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::fmt_shape;
use crate::{Device, Tensor};

/// What [`Tensor::cross_entropy`] returns.
#[derive(Clone, Debug)]
pub struct CrossEntropyOutput {
    /// `[N]`: `logsumexp(logits[i]) - logits[i][target[i]]`, 0 for ignored rows.
    pub loss_per_row: Tensor,
    /// `[N]`: each row's logsumexp, kept for [`Tensor::cross_entropy_backward`].
    pub logsumexp: Tensor,
    /// The mean of `loss_per_row` over rows whose target is not `ignore_index` (0 when every row is
    /// ignored, where PyTorch would give NaN: a batch of padding should not poison training).
    pub mean_loss: f32,
    /// How many rows count in `mean_loss` (the gradient of the mean is `1 / valid_rows` on those rows).
    pub valid_rows: usize,
}

/// Checks `logits [N, C]` and `targets I64 [N]`, returning (N, C) and the targets; a target must be
/// `ignore_index` or lie in `0..C`.
fn check_logits_targets(
    op: &'static str,
    logits: &Tensor,
    targets: &Tensor,
    ignore_index: i64,
) -> Result<(usize, usize, Vec<i64>)> {
    require_f32(op, "logits", logits)?;
    require_dtype(op, "targets", targets, DType::I64)?;
    if logits.rank() != 2 || targets.rank() != 1 || targets.shape()[0] != logits.shape()[0] {
        return Err(Error::op(
            op,
            format!(
                "logits {} must be [N, C] and targets {} must be [N]",
                fmt_shape(logits.shape()),
                fmt_shape(targets.shape())
            ),
        ));
    }
    let (rows, cols) = (logits.shape()[0], logits.shape()[1]);
    let target_values = targets.to_vec::<i64>()?;
    if let Some((row, &t)) =
        target_values.iter().enumerate().find(|&(_, &t)| t != ignore_index && (t < 0 || t >= cols as i64))
    {
        return Err(Error::op(
            op,
            format!(
                "target {t} at row {row} is out of range for {cols} classes (logits {}, ignore_index {ignore_index})",
                fmt_shape(logits.shape())
            ),
        ));
    }
    Ok((rows, cols, target_values))
}

impl Tensor {
    /// Fused softmax + cross-entropy: `self` is `logits [N, C]`, `targets` is I64 `[N]`; rows whose
    /// target equals `ignore_index` are skipped. Errors on a target outside `0..C`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let logits = Tensor::from_vec(vec![0f32, 0.0, 5.0, 1.0, 1.0, 1.0], &[2, 3])?;
    /// let targets = Tensor::from_vec(vec![1i64, -100], &[2])?;
    /// let ce = logits.cross_entropy(&targets, -100)?;
    /// assert!((ce.mean_loss - (2.0 + 5.0f32.exp()).ln()).abs() < 1e-5); // ln(e^0 + e^0 + e^5) - 0
    /// assert_eq!(ce.loss_per_row.to_vec::<f32>()?[1], 0.0);
    /// assert_eq!(ce.valid_rows, 1);
    /// let bad = Tensor::from_vec(vec![3i64, 0], &[2])?;
    /// assert!(logits.cross_entropy(&bad, -100).unwrap_err().to_string().contains("target 3 at row 0 is out of range for 3 classes"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn cross_entropy(&self, targets: &Tensor, ignore_index: i64) -> Result<CrossEntropyOutput> {
        const OP: &str = "cross_entropy";
        let (rows, cols, target_values) = check_logits_targets(OP, self, targets, ignore_index)?;
        if cols == 0 && rows > 0 && target_values.iter().any(|&t| t != ignore_index) {
            return Err(Error::op(OP, format!("logits {} have no classes", fmt_shape(self.shape()))));
        }
        match same_device(OP, &[self, targets])? {
            Device::Cpu => {
                let logits = self.contiguous()?;
                let mut loss = vec![0.0f32; rows];
                let mut logsumexp = vec![0.0f32; rows];
                if rows > 0 && cols > 0 {
                    kernels::cross_entropy_forward(
                        host_slice::<f32>(OP, &logits)?,
                        rows,
                        cols,
                        &target_values,
                        ignore_index,
                        &mut loss,
                        &mut logsumexp,
                    )?;
                }
                let valid_rows = target_values.iter().filter(|&&t| t != ignore_index).count();
                // Summed in f64: the mean of many rows should not lose the small ones.
                let total: f64 =
                    loss.iter().zip(&target_values).filter(|(_, &t)| t != ignore_index).map(|(&l, _)| l as f64).sum();
                let mean_loss = if valid_rows == 0 { 0.0 } else { (total / valid_rows as f64) as f32 };
                Ok(CrossEntropyOutput {
                    loss_per_row: f32_tensor(loss, &[rows])?,
                    logsumexp: f32_tensor(logsumexp, &[rows])?,
                    mean_loss,
                    valid_rows,
                })
            }
            device => Err(unsupported_device(OP, device)),
        }
    }

    /// Cross-entropy backward: `dlogits[i] = dloss[i] * (softmax(logits[i]) - onehot(target[i]))`, 0 on
    /// ignored rows. `self` is the forward's `logits [N, C]`, `logsumexp [N]` its saved output and
    /// `dloss_per_row [N]` the gradient of each row's loss (for the mean loss: `1 / valid_rows`).
    ///
    /// ```
    /// use engine::Tensor;
    /// let logits = Tensor::from_vec(vec![0f32, 0.0], &[1, 2])?;
    /// let targets = Tensor::from_vec(vec![0i64], &[1])?;
    /// let ce = logits.cross_entropy(&targets, -100)?;
    /// let dloss = Tensor::from_vec(vec![1f32], &[1])?;
    /// let d = logits.cross_entropy_backward(&targets, -100, &ce.logsumexp, &dloss)?;
    /// assert_eq!(d.to_vec::<f32>()?, vec![-0.5, 0.5]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn cross_entropy_backward(
        &self,
        targets: &Tensor,
        ignore_index: i64,
        logsumexp: &Tensor,
        dloss_per_row: &Tensor,
    ) -> Result<Tensor> {
        const OP: &str = "cross_entropy_backward";
        let (rows, cols, target_values) = check_logits_targets(OP, self, targets, ignore_index)?;
        for (what, t) in [("logsumexp", logsumexp), ("dloss_per_row", dloss_per_row)] {
            require_f32(OP, what, t)?;
            if t.shape() != [rows] {
                return Err(Error::op(
                    OP,
                    format!(
                        "{what} {} must be [{rows}] to match logits {}",
                        fmt_shape(t.shape()),
                        fmt_shape(self.shape())
                    ),
                ));
            }
        }
        match same_device(OP, &[self, targets, logsumexp, dloss_per_row])? {
            Device::Cpu => {
                let logits = self.contiguous()?;
                let (lse, dloss) = (logsumexp.contiguous()?, dloss_per_row.contiguous()?);
                let mut dlogits = vec![0.0f32; rows * cols];
                if rows > 0 && cols > 0 {
                    kernels::cross_entropy_backward(
                        host_slice::<f32>(OP, &logits)?,
                        rows,
                        cols,
                        &target_values,
                        ignore_index,
                        host_slice::<f32>(OP, &lse)?,
                        host_slice::<f32>(OP, &dloss)?,
                        &mut dlogits,
                    )?;
                }
                f32_tensor(dlogits, &[rows, cols])
            }
            device => Err(unsupported_device(OP, device)),
        }
    }
}
