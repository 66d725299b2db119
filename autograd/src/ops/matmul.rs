//! Matrix product with NumPy semantics (vectors promoted, batch dimensions broadcast).
//!
//! For `a [..., M, K] @ b [..., K, N]`: `da = g @ b^T`, `db = a^T @ g`, each summed back over the batch
//! dimensions it was broadcast along. The transposes are views: the GEMM reads them with a transpose flag.
//! The common `activations [B, T, K] @ weight [K, N]` case folds the batch into rows so `db` is one
//! `[K, B*T] @ [B*T, N]` product instead of `B` products followed by a sum.
use engine::{Result, Tensor};

use super::sum_to_shape;
use crate::var::{record, Var};

impl Var {
    /// Matrix product (`torch.matmul` semantics).
    ///
    /// ```
    /// use autograd::Var;
    /// use engine::Tensor;
    /// let a = Var::leaf(Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let b = Var::constant(Tensor::from_vec(vec![1f32, 0.0, 0.0, 2.0], &[2, 2])?);
    /// a.matmul(&b)?.sum_all()?.backward()?;
    /// // d(sum(a @ b))/da = ones @ b^T: each row is the row sums of b.
    /// assert_eq!(a.grad().unwrap().to_vec::<f32>()?, vec![1.0, 2.0, 1.0, 2.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn matmul(&self, rhs: &Var) -> Result<Var> {
        // Vectors become matrices through recorded views, so the core rule sees rank >= 2 only.
        if self.rank() == 1 {
            return self.unsqueeze(0)?.matmul(rhs)?.squeeze(-2);
        }
        if rhs.rank() == 1 {
            return self.matmul(&rhs.unsqueeze(-1)?)?.squeeze(-1);
        }
        let out = self.tensor().matmul(rhs.tensor())?;
        let (a, b) = (self.tensor().clone(), rhs.tensor().clone());
        Ok(record("matmul", out, &[self, rhs], move |g, need| {
            let da = if need[0] { Some(sum_to_shape(&g.matmul(&b.transpose(-2, -1)?)?, a.shape())?) } else { None };
            let db = if need[1] { Some(matmul_rhs_grad(&a, &b, g)?) } else { None };
            Ok(vec![da, db])
        }))
    }

    /// A linear layer's affine map `self [.., in] @ weight [in, out] + bias [out]` as one op
    /// (`Tensor::linear`: the bias initialises the output and the GEMM adds into it). The backward is
    /// matmul's for `self` and `weight`, and the row sum of the gradient for `bias`.
    ///
    /// ```
    /// use autograd::Var;
    /// use engine::Tensor;
    /// let x = Var::leaf(Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0], &[2, 2])?);
    /// let w = Var::leaf(Tensor::from_vec(vec![1f32, 0.0, 0.0, 2.0], &[2, 2])?);
    /// let b = Var::leaf(Tensor::from_vec(vec![0.5f32, -1.0], &[2])?);
    /// let y = x.linear(&w, Some(&b))?;
    /// assert_eq!(y.tensor().to_vec::<f32>()?, vec![1.5, 3.0, 3.5, 7.0]);
    /// y.sum_all()?.backward()?;
    /// assert_eq!(b.grad().unwrap().to_vec::<f32>()?, vec![2.0, 2.0]); // one per row
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        let Some(bias) = bias else {
            return self.matmul(weight);
        };
        if self.rank() == 1 {
            // As in matmul: a vector becomes a one-row matrix through recorded views.
            return self.unsqueeze(0)?.linear(weight, Some(bias))?.squeeze(0);
        }
        let out = self.tensor().linear(weight.tensor(), Some(bias.tensor()))?;
        let (x, w, bias_shape) = (self.tensor().clone(), weight.tensor().clone(), bias.shape().to_vec());
        Ok(record("linear", out, &[self, weight, bias], move |g, need| {
            let dx = if need[0] { Some(g.matmul(&w.t()?)?) } else { None };
            let dw = if need[1] { Some(matmul_rhs_grad(&x, &w, g)?) } else { None };
            let db = if need[2] { Some(sum_to_shape(g, &bias_shape)?) } else { None };
            Ok(vec![dx, dw, db])
        }))
    }
}

/// `d(a @ b)/db` given the output gradient `g`.
fn matmul_rhs_grad(a: &Tensor, b: &Tensor, g: &Tensor) -> Result<Tensor> {
    if b.rank() == 2 && a.rank() > 2 {
        // Fold a's batch dimensions into rows: [B.., M, K] -> [B..*M, K].
        let k = a.shape()[a.rank() - 1];
        let n = g.shape()[g.rank() - 1];
        let rows = a.numel() / k.max(1);
        let a2 = a.reshape(&[rows, k])?;
        let g2 = g.reshape(&[rows, n])?;
        return a2.t()?.matmul(&g2);
    }
    sum_to_shape(&a.transpose(-2, -1)?.matmul(g)?, b.shape())
}
