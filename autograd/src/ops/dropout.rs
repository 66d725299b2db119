//! Dropout, composed from engine ops: a Bernoulli keep-mask drawn from the caller's generator, scaled by
//! `1 / (1 - p)` (inverted dropout, so evaluation needs no rescaling). The mask is the saved tensor of a
//! plain `mul`, so its gradient rule is `mul`'s.
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

use crate::var::Var;

impl Var {
    /// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`. `p = 0` returns the
    /// value unchanged (and draws nothing). Call it only in training: evaluation skips dropout.
    ///
    /// ```
    /// use autograd::Var;
    /// use engine::{rng::Rng, Tensor};
    /// let x = Var::leaf(Tensor::ones(&[1000], engine::DType::F32)?);
    /// let y = x.dropout(0.25, &mut Rng::new(0))?;
    /// let kept = y.tensor().to_vec::<f32>()?.iter().filter(|&&v| v != 0.0).count();
    /// assert!((700..800).contains(&kept));
    /// y.sum_all()?.backward()?; // the gradient is the mask / (1 - p)
    /// assert_eq!(x.grad().unwrap().to_vec::<f32>()?, y.tensor().to_vec::<f32>()?);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn dropout(&self, p: f32, rng: &mut Rng) -> Result<Var> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::op("dropout", format!("probability {p} must be in [0, 1)")));
        }
        if p == 0.0 {
            return Ok(self.clone());
        }
        let keep = Tensor::rand_uniform(self.shape(), 0.0, 1.0, rng)?.ge_scalar(p as f64)?;
        let scale = keep.to_dtype(DType::F32)?.mul_scalar(1.0 / (1.0 - p))?;
        self.mul(&Var::constant(scale))
    }
}
