//! GPT-2's feed-forward block: `c_fc` widens to 4C, tanh-approximated GELU, `c_proj` back to C.
use autograd::nn::{join_name, Module};
use autograd::{Parameter, Var};
use engine::rng::Rng;
use engine::Result;

use super::config::GptConfig;
use super::conv1d::Conv1D;

/// `x -> c_proj(gelu_tanh(c_fc(x)))`, dropout on the output in training.
#[derive(Clone, Debug)]
pub struct Mlp {
    /// `[C, 4C]`.
    pub c_fc: Conv1D,
    /// `[4C, C]` (a residual projection: initialised with the scaled std).
    pub c_proj: Conv1D,
    /// Dropout on the output (training only).
    pub dropout: f32,
}

impl Mlp {
    /// GPT-2's initialisation for `config`.
    pub fn new(config: &GptConfig, rng: &mut Rng) -> Result<Mlp> {
        let c = config.n_embd;
        Ok(Mlp {
            c_fc: Conv1D::new(c, 4 * c, config.bias, 0.02, rng)?,
            c_proj: Conv1D::new(4 * c, c, config.bias, config.residual_init_std(), rng)?,
            dropout: config.dropout,
        })
    }

    /// `x [B, T, C] -> [B, T, C]`; `dropout_rng` only in training.
    pub fn forward(&self, x: &Var, dropout_rng: Option<&mut Rng>) -> Result<Var> {
        let y = self.c_proj.forward(&self.c_fc.forward(x)?.gelu()?)?;
        match dropout_rng {
            Some(rng) => y.dropout(self.dropout, rng),
            None => Ok(y),
        }
    }
}

impl Module for Mlp {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
        self.c_fc.visit_parameters(&join_name(prefix, "c_fc"), f);
        self.c_proj.visit_parameters(&join_name(prefix, "c_proj"), f);
    }
}
