//! Joining and splitting. `cat`'s gradient is cut back into the inputs' pieces (narrow views); `split` and
//! `chunk` are narrows, each with its own rule.
use engine::{Error, Result, Tensor};

use super::resolve_dim;
use crate::var::{record, Var};

impl Var {
    /// Concatenates along `dim`.
    pub fn cat(vars: &[&Var], dim: isize) -> Result<Var> {
        let tensors: Vec<&Tensor> = vars.iter().map(|v| v.tensor()).collect();
        let out = Tensor::cat(&tensors, dim)?;
        let d = resolve_dim("cat", dim, out.rank())?;
        let sizes: Vec<usize> = vars.iter().map(|v| v.shape()[d]).collect();
        Ok(record("cat", out, vars, move |g, need| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for (&size, &n) in sizes.iter().zip(need) {
                grads.push(if n { Some(g.narrow(d as isize, start, size)?) } else { None });
                start += size;
            }
            Ok(grads)
        }))
    }

    /// Stacks equal-shaped values along a new dimension `dim`.
    pub fn stack(vars: &[&Var], dim: isize) -> Result<Var> {
        let first = vars.first().ok_or_else(|| Error::op("stack", "needs at least one value"))?;
        let rank = first.rank() as isize + 1;
        let d = if dim < 0 { dim + rank } else { dim };
        let parts = vars.iter().map(|v| v.unsqueeze(d)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Var> = parts.iter().collect();
        Var::cat(&refs, d)
    }

    /// Pieces of the given sizes along `dim` (views).
    pub fn split(&self, sizes: &[usize], dim: isize) -> Result<Vec<Var>> {
        let d = resolve_dim("split", dim, self.rank())?;
        let total: usize = sizes.iter().sum();
        if total != self.shape()[d] {
            return Err(Error::op(
                "split",
                format!("sizes {sizes:?} do not add up to dimension {dim} of {:?}", self.shape()),
            ));
        }
        let mut start = 0;
        let mut out = Vec::with_capacity(sizes.len());
        for &size in sizes {
            out.push(self.narrow(dim, start, size)?);
            start += size;
        }
        Ok(out)
    }

    /// `n` pieces along `dim` as equal as possible (the last may be smaller), as PyTorch's `chunk`.
    pub fn chunk(&self, n: usize, dim: isize) -> Result<Vec<Var>> {
        let d = resolve_dim("chunk", dim, self.rank())?;
        let len = self.shape()[d];
        if n == 0 {
            return Err(Error::op("chunk", "cannot split into 0 chunks"));
        }
        let step = len.div_ceil(n).max(1);
        let mut sizes = Vec::new();
        let mut left = len;
        while left > 0 {
            let s = step.min(left);
            sizes.push(s);
            left -= s;
        }
        self.split(&sizes, dim)
    }
}
