//! Element-wise ops: binary (NumPy broadcasting, gradients summed back to each input's shape), scalar and
//! unary. Each forward sits beside its derivative rule.
//!
//! Kinks, chosen deliberately and tested explicitly:
//! - `relu'(0) = 0` and `abs'(0) = 0` (as PyTorch);
//! - `maximum`/`minimum` at ties split the gradient equally between the two inputs (as PyTorch);
//! - `clamp` passes the gradient at its boundaries (as PyTorch).
use engine::{Result, Tensor};

use super::{mask_f32, sum_to_shape};
use crate::var::{record, Var};

/// `Some(f())` when `need`, else `None`: skips the work for inputs that need no gradient.
fn when(need: bool, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    if need {
        f().map(Some)
    } else {
        Ok(None)
    }
}

impl Var {
    /// `self + rhs` with broadcasting.
    pub fn add(&self, rhs: &Var) -> Result<Var> {
        let out = self.tensor().add(rhs.tensor())?;
        let (sa, sb) = (self.shape().to_vec(), rhs.shape().to_vec());
        Ok(record("add", out, &[self, rhs], move |g, need| {
            Ok(vec![when(need[0], || sum_to_shape(g, &sa))?, when(need[1], || sum_to_shape(g, &sb))?])
        }))
    }

    /// `self - rhs` with broadcasting.
    pub fn sub(&self, rhs: &Var) -> Result<Var> {
        let out = self.tensor().sub(rhs.tensor())?;
        let (sa, sb) = (self.shape().to_vec(), rhs.shape().to_vec());
        Ok(record("sub", out, &[self, rhs], move |g, need| {
            Ok(vec![when(need[0], || sum_to_shape(g, &sa))?, when(need[1], || sum_to_shape(&g.neg()?, &sb))?])
        }))
    }

    /// `self * rhs` with broadcasting.
    pub fn mul(&self, rhs: &Var) -> Result<Var> {
        let out = self.tensor().mul(rhs.tensor())?;
        let (a, b) = (self.tensor().clone(), rhs.tensor().clone());
        Ok(record("mul", out, &[self, rhs], move |g, need| {
            Ok(vec![
                when(need[0], || sum_to_shape(&g.mul(&b)?, a.shape()))?,
                when(need[1], || sum_to_shape(&g.mul(&a)?, b.shape()))?,
            ])
        }))
    }

    /// `self / rhs` with broadcasting.
    pub fn div(&self, rhs: &Var) -> Result<Var> {
        let out = self.tensor().div(rhs.tensor())?;
        let (sa, b, y) = (self.shape().to_vec(), rhs.tensor().clone(), out.clone());
        Ok(record("div", out, &[self, rhs], move |g, need| {
            let g_over_b = g.div(&b)?;
            Ok(vec![
                when(need[0], || sum_to_shape(&g_over_b, &sa))?,
                // d(a/b)/db = -a/b^2 = -y/b
                when(need[1], || sum_to_shape(&g_over_b.mul(&y)?.neg()?, b.shape()))?,
            ])
        }))
    }

    /// Element-wise maximum with broadcasting; at ties each input gets half the gradient.
    pub fn maximum(&self, rhs: &Var) -> Result<Var> {
        let out = self.tensor().maximum(rhs.tensor())?;
        let (a, b) = (self.tensor().clone(), rhs.tensor().clone());
        Ok(record("maximum", out, &[self, rhs], move |g, need| extremum_backward(&a, &b, g, need, true)))
    }

    /// Element-wise minimum with broadcasting; at ties each input gets half the gradient.
    pub fn minimum(&self, rhs: &Var) -> Result<Var> {
        let out = self.tensor().minimum(rhs.tensor())?;
        let (a, b) = (self.tensor().clone(), rhs.tensor().clone());
        Ok(record("minimum", out, &[self, rhs], move |g, need| extremum_backward(&a, &b, g, need, false)))
    }

    /// `self ^ rhs` with broadcasting. The gradient for the exponent, `y * ln(self)`, needs `self > 0`.
    pub fn pow(&self, rhs: &Var) -> Result<Var> {
        let out = self.tensor().pow(rhs.tensor())?;
        let (a, b, y) = (self.tensor().clone(), rhs.tensor().clone(), out.clone());
        Ok(record("pow", out, &[self, rhs], move |g, need| {
            Ok(vec![
                // d/da a^b = b * a^(b-1)
                when(need[0], || sum_to_shape(&g.mul(&b)?.mul(&a.pow(&b.sub_scalar(1.0)?)?)?, a.shape()))?,
                // d/db a^b = a^b * ln a
                when(need[1], || sum_to_shape(&g.mul(&y)?.mul(&a.log()?)?, b.shape()))?,
            ])
        }))
    }

    /// `self + s`.
    pub fn add_scalar(&self, s: f32) -> Result<Var> {
        let out = self.tensor().add_scalar(s)?;
        Ok(record("add_scalar", out, &[self], |g, _| Ok(vec![Some(g.clone())])))
    }

    /// `self - s`.
    pub fn sub_scalar(&self, s: f32) -> Result<Var> {
        let out = self.tensor().sub_scalar(s)?;
        Ok(record("sub_scalar", out, &[self], |g, _| Ok(vec![Some(g.clone())])))
    }

    /// `s - self`.
    pub fn rsub_scalar(&self, s: f32) -> Result<Var> {
        let out = self.tensor().rsub_scalar(s)?;
        Ok(record("rsub_scalar", out, &[self], |g, _| Ok(vec![Some(g.neg()?)])))
    }

    /// `s / self`.
    pub fn rdiv_scalar(&self, s: f32) -> Result<Var> {
        let out = self.tensor().rdiv_scalar(s)?;
        let (a, y) = (self.tensor().clone(), out.clone());
        // d(s/x)/dx = -s/x^2 = -y/x
        Ok(record("rdiv_scalar", out, &[self], move |g, _| Ok(vec![Some(g.mul(&y)?.div(&a)?.neg()?)])))
    }

    /// `self * s`.
    pub fn mul_scalar(&self, s: f32) -> Result<Var> {
        let out = self.tensor().mul_scalar(s)?;
        Ok(record("mul_scalar", out, &[self], move |g, _| Ok(vec![Some(g.mul_scalar(s)?)])))
    }

    /// `self / s`.
    pub fn div_scalar(&self, s: f32) -> Result<Var> {
        let out = self.tensor().div_scalar(s)?;
        Ok(record("div_scalar", out, &[self], move |g, _| Ok(vec![Some(g.div_scalar(s)?)])))
    }

    /// `self ^ p` for a constant exponent.
    pub fn pow_scalar(&self, p: f32) -> Result<Var> {
        let out = self.tensor().pow_scalar(p)?;
        let a = self.tensor().clone();
        Ok(record("pow_scalar", out, &[self], move |g, _| {
            Ok(vec![Some(g.mul(&a.pow_scalar(p - 1.0)?)?.mul_scalar(p)?)])
        }))
    }

    /// `-self`.
    pub fn neg(&self) -> Result<Var> {
        let out = self.tensor().neg()?;
        Ok(record("neg", out, &[self], |g, _| Ok(vec![Some(g.neg()?)])))
    }

    /// `e^self`.
    pub fn exp(&self) -> Result<Var> {
        let out = self.tensor().exp()?;
        let y = out.clone();
        Ok(record("exp", out, &[self], move |g, _| Ok(vec![Some(g.mul(&y)?)])))
    }

    /// Natural logarithm.
    pub fn log(&self) -> Result<Var> {
        let out = self.tensor().log()?;
        let a = self.tensor().clone();
        Ok(record("log", out, &[self], move |g, _| Ok(vec![Some(g.div(&a)?)])))
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Result<Var> {
        let out = self.tensor().tanh()?;
        let y = out.clone();
        Ok(record("tanh", out, &[self], move |g, _| Ok(vec![Some(g.mul(&y.square()?.rsub_scalar(1.0)?)?)])))
    }

    /// Logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Var> {
        let out = self.tensor().sigmoid()?;
        let y = out.clone();
        Ok(record("sigmoid", out, &[self], move |g, _| Ok(vec![Some(g.mul(&y.mul(&y.rsub_scalar(1.0)?)?)?)])))
    }

    /// `max(self, 0)`; the gradient at exactly 0 is 0.
    pub fn relu(&self) -> Result<Var> {
        let out = self.tensor().relu()?;
        let a = self.tensor().clone();
        Ok(record("relu", out, &[self], move |g, _| Ok(vec![Some(g.mul(&mask_f32(&a.gt_scalar(0.0)?)?)?)])))
    }

    /// GELU, tanh approximation (GPT-2's), fused: the backward calls the engine's `gelu_backward` kernel.
    pub fn gelu(&self) -> Result<Var> {
        let out = self.tensor().gelu()?;
        let a = self.tensor().clone();
        Ok(record("gelu", out, &[self], move |g, _| Ok(vec![Some(a.gelu_backward(g)?)])))
    }

    /// GELU with the exact erf form (BERT's), fused like [`Var::gelu`].
    pub fn gelu_erf(&self) -> Result<Var> {
        let out = self.tensor().gelu_erf()?;
        let a = self.tensor().clone();
        Ok(record("gelu_erf", out, &[self], move |g, _| Ok(vec![Some(a.gelu_erf_backward(g)?)])))
    }

    /// Square root.
    pub fn sqrt(&self) -> Result<Var> {
        let out = self.tensor().sqrt()?;
        let y = out.clone();
        Ok(record("sqrt", out, &[self], move |g, _| Ok(vec![Some(g.div(&y)?.mul_scalar(0.5)?)])))
    }

    /// `1 / sqrt(self)`.
    pub fn rsqrt(&self) -> Result<Var> {
        let out = self.tensor().rsqrt()?;
        let y = out.clone();
        // d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
        Ok(record("rsqrt", out, &[self], move |g, _| Ok(vec![Some(g.mul(&y.pow_scalar(3.0)?)?.mul_scalar(-0.5)?)])))
    }

    /// `1 / self`.
    pub fn recip(&self) -> Result<Var> {
        let out = self.tensor().recip()?;
        let y = out.clone();
        Ok(record("recip", out, &[self], move |g, _| Ok(vec![Some(g.mul(&y.square()?)?.neg()?)])))
    }

    /// `|self|`; the gradient at exactly 0 is 0.
    pub fn abs(&self) -> Result<Var> {
        let out = self.tensor().abs()?;
        let a = self.tensor().clone();
        Ok(record("abs", out, &[self], move |g, _| {
            let sign = mask_f32(&a.gt_scalar(0.0)?)?.sub(&mask_f32(&a.lt_scalar(0.0)?)?)?;
            Ok(vec![Some(g.mul(&sign)?)])
        }))
    }

    /// `self` limited to `[lo, hi]`; the gradient passes where `lo <= self <= hi` (boundaries included, as
    /// PyTorch's `clamp`) and is 0 outside (PPO's ratio clipping).
    pub fn clamp(&self, lo: f32, hi: f32) -> Result<Var> {
        let out = self.tensor().maximum(&Tensor::scalar(lo))?.minimum(&Tensor::scalar(hi))?;
        let a = self.tensor().clone();
        Ok(record("clamp", out, &[self], move |g, _| {
            let inside = a.ge_scalar(lo as f64)?.logical_and(&a.le_scalar(hi as f64)?)?;
            Ok(vec![Some(g.mul(&mask_f32(&inside)?)?)])
        }))
    }

    /// `log(sigmoid(self))`, computed stably as `min(x, 0) - log(1 + exp(-|x|))`, with the fused rule
    /// `d/dx = sigmoid(-x)` (the Bradley-Terry loss of a reward model is `-log_sigmoid(r_chosen - r_rejected)`).
    pub fn log_sigmoid(&self) -> Result<Var> {
        let a = self.tensor().clone();
        let out = a.minimum(&Tensor::scalar(0.0))?.sub(&a.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?)?;
        Ok(record("log_sigmoid", out, &[self], move |g, _| Ok(vec![Some(g.mul(&a.neg()?.sigmoid()?)?)])))
    }

    /// `self * self`.
    pub fn square(&self) -> Result<Var> {
        let out = self.tensor().square()?;
        let a = self.tensor().clone();
        Ok(record("square", out, &[self], move |g, _| Ok(vec![Some(g.mul(&a)?.mul_scalar(2.0)?)])))
    }
}

/// Gradients of `maximum` (`is_max`) or `minimum`: the winner takes `g`, ties split it in half.
fn extremum_backward(a: &Tensor, b: &Tensor, g: &Tensor, need: &[bool], is_max: bool) -> Result<Vec<Option<Tensor>>> {
    let wins = if is_max { a.gt(b)? } else { a.lt(b)? };
    let ties = a.eq(b)?;
    // weight of `a` in {0, 0.5, 1}; `b` gets 1 - weight.
    let wa = mask_f32(&wins)?.add(&mask_f32(&ties)?.mul_scalar(0.5)?)?;
    Ok(vec![
        when(need[0], || sum_to_shape(&g.mul(&wa)?, a.shape()))?,
        when(need[1], || sum_to_shape(&g.mul(&wa.rsub_scalar(1.0)?)?, b.shape()))?,
    ])
}
