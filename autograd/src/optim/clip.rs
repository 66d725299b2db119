//! Gradient clipping by the global norm (over every parameter's gradient together).
use engine::Result;

use crate::param::Parameter;

/// The L2 norm of all gradients together (summed in f64); parameters without a gradient count 0.
pub fn grad_norm(params: &[Parameter]) -> Result<f32> {
    let mut sum = 0.0f64;
    for p in params {
        if let Some(g) = p.grad() {
            sum += g.to_vec_f32()?.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
        }
    }
    Ok(sum.sqrt() as f32)
}

/// Scales every gradient by `max_norm / (norm + 1e-6)` when the global norm exceeds `max_norm`
/// (PyTorch's `clip_grad_norm_`); returns the norm before clipping.
///
/// ```
/// use autograd::{optim::clip_grad_norm, ParamKind, Parameter};
/// use engine::Tensor;
/// let p = Parameter::new(Tensor::zeros(&[2], engine::DType::F32)?, ParamKind::Weight);
/// p.set_grad(Some(Tensor::from_vec(vec![3f32, 4.0], &[2])?))?;
/// assert_eq!(clip_grad_norm(&[p.clone()], 1.0)?, 5.0);
/// let g = p.grad().unwrap().to_vec::<f32>()?;
/// assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn clip_grad_norm(params: &[Parameter], max_norm: f32) -> Result<f32> {
    let norm = grad_norm(params)?;
    let coef = max_norm as f64 / (norm as f64 + 1e-6);
    if coef < 1.0 {
        for p in params {
            if let Some(g) = p.grad() {
                p.set_grad(Some(g.mul_scalar(coef as f32)?))?;
            }
        }
    }
    Ok(norm)
}
