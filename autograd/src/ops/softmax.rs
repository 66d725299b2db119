//! Softmax and log-softmax along a dimension; the backward rules are the engine's fused kernels
//! (`dx = y * (dy - sum(dy * y))` and `dx = dy - exp(y) * sum(dy)`), which need only the output `y`.
use engine::Result;

use crate::var::{record, Var};

impl Var {
    /// Softmax along `dim`.
    pub fn softmax(&self, dim: isize) -> Result<Var> {
        let out = self.tensor().softmax(dim)?;
        let y = out.clone();
        Ok(record("softmax", out, &[self], move |g, _| Ok(vec![Some(y.softmax_backward(g, dim)?)])))
    }

    /// Log-softmax along `dim`.
    pub fn log_softmax(&self, dim: isize) -> Result<Var> {
        let out = self.tensor().log_softmax(dim)?;
        let y = out.clone();
        Ok(record("log_softmax", out, &[self], move |g, _| Ok(vec![Some(y.log_softmax_backward(g, dim)?)])))
    }
}
