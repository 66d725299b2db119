//! Fused softmax + cross-entropy: the forward keeps each row's logsumexp, the backward is one pass of
//! `dloss_i * (softmax(logits_i) - onehot(target_i))` in the engine's kernel. Rows whose target is
//! `ignore_index` have loss 0, gradient 0, and do not count in the mean; optional per-row weights (label
//! masks, e.g. 0 on prompt tokens and 1 on response tokens in SFT) scale each row's loss and gradient.
use engine::{Error, Result, Tensor};

use crate::var::{record, Var};

/// How per-row losses are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// `sum_i w_i l_i / sum_i w_i` over rows that are not ignored (without weights: the mean over valid
    /// rows). 0 when no row counts.
    #[default]
    Mean,
    /// `sum_i w_i l_i`.
    Sum,
    /// The per-row losses `w_i l_i`, shaped like the targets.
    None,
}

/// Options for [`Var::cross_entropy_with`].
#[derive(Clone, Debug)]
pub struct CrossEntropyOptions {
    /// Rows whose target equals this are skipped (PyTorch's default is -100).
    pub ignore_index: i64,
    /// Optional f32 weights, one per row (shaped like the targets): a label mask or per-token weights.
    pub row_weights: Option<Tensor>,
    /// How the rows are combined.
    pub reduction: Reduction,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions { ignore_index: -100, row_weights: None, reduction: Reduction::Mean }
    }
}

impl Var {
    /// Mean cross-entropy of `self` (logits `[..., C]`) against I64 `targets` (`[...]`), skipping rows whose
    /// target is `ignore_index`.
    ///
    /// ```
    /// use autograd::Var;
    /// use engine::Tensor;
    /// let logits = Var::leaf(Tensor::from_vec(vec![0f32, 0.0, 1.0, 1.0], &[2, 2])?);
    /// let targets = Tensor::from_vec(vec![1i64, -100], &[2])?;
    /// let loss = logits.cross_entropy(&targets, -100)?;
    /// assert!((loss.item()? - 2f32.ln()).abs() < 1e-6);
    /// loss.backward()?;
    /// // softmax - onehot on the counted row, 0 on the ignored one.
    /// assert_eq!(logits.grad().unwrap().to_vec::<f32>()?, vec![0.5, -0.5, 0.0, 0.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn cross_entropy(&self, targets: &Tensor, ignore_index: i64) -> Result<Var> {
        self.cross_entropy_with(targets, &CrossEntropyOptions { ignore_index, ..Default::default() })
    }

    /// Cross-entropy with per-row weights and a choice of reduction (see [`CrossEntropyOptions`]).
    pub fn cross_entropy_with(&self, targets: &Tensor, options: &CrossEntropyOptions) -> Result<Var> {
        const OP: &str = "cross_entropy";
        if self.rank() < 1 || targets.shape() != &self.shape()[..self.rank() - 1] {
            return Err(Error::op(
                OP,
                format!("logits {:?} must be targets {:?} with one more dimension", self.shape(), targets.shape()),
            ));
        }
        let classes = self.shape()[self.rank() - 1];
        let rows = targets.numel();
        // [..., C] -> [N, C] through a recorded reshape, so the core sees matrices only.
        let logits = if self.rank() == 2 { self.clone() } else { self.reshape(&[rows, classes])? };
        let targets_flat = targets.reshape(&[rows])?;
        let ignore = options.ignore_index;
        let ce = logits.tensor().cross_entropy(&targets_flat, ignore)?;

        // Per-row weights on the host: w_i (or 1), 0 on ignored rows.
        let target_ids = targets_flat.to_vec::<i64>()?;
        let mut weights: Vec<f32> = match &options.row_weights {
            None => vec![1.0; rows],
            Some(w) => {
                if w.shape() != targets.shape() {
                    return Err(Error::op(
                        OP,
                        format!("row_weights {:?} must have the targets' shape {:?}", w.shape(), targets.shape()),
                    ));
                }
                w.to_vec_f32()?
            }
        };
        for (w, &t) in weights.iter_mut().zip(&target_ids) {
            if t == ignore {
                *w = 0.0;
            }
        }
        let per_row = ce.loss_per_row.to_vec::<f32>()?;
        let (out, scale) = match options.reduction {
            Reduction::None => {
                let weighted: Vec<f32> = per_row.iter().zip(&weights).map(|(l, w)| l * w).collect();
                (Tensor::from_vec(weighted, targets.shape())?, 1.0)
            }
            Reduction::Sum | Reduction::Mean => {
                let total: f64 = per_row.iter().zip(&weights).map(|(&l, &w)| l as f64 * w as f64).sum();
                let denom: f64 = if options.reduction == Reduction::Mean {
                    weights.iter().map(|&w| w as f64).sum()
                } else {
                    1.0
                };
                let (value, scale) = if denom == 0.0 { (0.0, 0.0) } else { (total / denom, 1.0 / denom) };
                (Tensor::scalar(value as f32), scale as f32)
            }
        };
        let logits_t = logits.tensor().clone();
        let lse = ce.logsumexp;
        let reduction = options.reduction;
        Ok(record(OP, out, &[&logits], move |g, _| {
            // d loss / d l_i = g_i * w_i * scale (g is a scalar for Mean/Sum, per-row for None).
            let dloss: Vec<f32> = match reduction {
                Reduction::None => g.to_vec_f32()?.iter().zip(&weights).map(|(g, w)| g * w).collect(),
                _ => {
                    let g = g.item()? * scale;
                    weights.iter().map(|w| w * g).collect()
                }
            };
            let dloss = Tensor::from_vec(dloss, &[rows])?;
            let dlogits = logits_t.cross_entropy_backward(&targets_flat, ignore, &lse, &dloss)?;
            Ok(vec![Some(dlogits)])
        }))
    }
}

/// A U8 tensor shaped like `targets` with 1 where the target is not `ignore_index` (a label mask).
pub fn valid_target_mask(targets: &Tensor, ignore_index: i64) -> Result<Tensor> {
    let mask: Vec<u8> = targets.to_vec::<i64>()?.iter().map(|&t| u8::from(t != ignore_index)).collect();
    Tensor::from_vec(mask, targets.shape())
}
