//! Layer normalisation over the last dimension, fused: the forward keeps each row's mean and `rstd`, and
//! the backward is the engine's `layer_norm_backward` kernel (dx, dgamma, dbeta in one pass).
use engine::Result;

use crate::var::{record, Var};

impl Var {
    /// `(x - mean) * rstd * gamma + beta` over the last dimension (`x` is `[..., C]`, `gamma`/`beta` `[C]`).
    pub fn layer_norm(&self, gamma: Option<&Var>, beta: Option<&Var>, eps: f32) -> Result<Var> {
        let (out, mean, rstd) =
            self.tensor().layer_norm_forward(gamma.map(|g| g.tensor()), beta.map(|b| b.tensor()), eps)?;
        let x = self.tensor().clone();
        let gamma_t = gamma.map(|g| g.tensor().clone());
        let mut inputs: Vec<&Var> = vec![self];
        inputs.extend(gamma);
        inputs.extend(beta);
        let (has_gamma, has_beta) = (gamma.is_some(), beta.is_some());
        Ok(record("layer_norm", out, &inputs, move |dy, need| {
            let (dx, dgamma, dbeta) = x.layer_norm_backward(gamma_t.as_ref(), &mean, &rstd, dy)?;
            let mut grads = vec![need[0].then_some(dx)];
            if has_gamma {
                grads.push(need[1].then_some(dgamma));
            }
            if has_beta {
                let i = if has_gamma { 2 } else { 1 };
                grads.push(need[i].then_some(dbeta));
            }
            Ok(grads)
        }))
    }
}
