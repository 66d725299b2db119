//! Finite-difference gradient checks: the oracle every backward rule is tested against.
//!
//! For a function `f` of some f32 inputs, the check builds the scalar `L = sum(f(x) * W)` with fixed random
//! weights `W` (so every output element matters, with different weights), computes `dL/dx` by backward
//! (`f(x).backward_with(W)`), and compares each element with the central difference
//! `(L(x + h e_j) - L(x - h e_j)) / (x_j^+ - x_j^-)`, where the forward runs in f32 under [`crate::no_grad`]
//! and `L` is summed in f64. The denominator is the perturbation actually representable in f32.
//!
//! **Tolerance.** Output elements the perturbation does not touch are recomputed bit-identically and
//! cancel exactly in the f64 difference, so the numerical error comes only from the touched elements: their
//! f32 rounding (relative `~6e-8` per operation, a few dozen operations for a dot product or a softmax row,
//! so `~1e-6` of the touched output) divided by `2h = 2e-2`, i.e. `~5e-5`, plus the truncation error
//! `h^2 |f'''| / 6 ~ 2e-5 |f'''|` for inputs of order 1. The defaults `atol = 5e-4`, `rtol = 2e-3` leave
//! a margin of about ten over that, and still catch a rule that is off by 1% (checked by deliberately
//! breaking rules: a 1% error in layernorm's `dgamma` fails). Every op test in the suite also passes at
//! `atol = 2e-4`, `rtol = 1e-3`.
use engine::rng::Rng;
use engine::{DType, Error, Result, Tensor};

use crate::grad_mode::no_grad;
use crate::param::Parameter;
use crate::var::Var;

/// Settings of [`check_gradients`].
#[derive(Clone, Debug)]
pub struct GradCheckOptions {
    /// The perturbation (applied in f32).
    pub h: f32,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (times the larger of the two gradients' magnitudes).
    pub rtol: f64,
    /// Seed of the output weights `W`.
    pub seed: u64,
}

impl Default for GradCheckOptions {
    fn default() -> Self {
        GradCheckOptions { h: 1e-2, atol: 5e-4, rtol: 2e-3, seed: 7 }
    }
}

/// The worst element found by [`check_gradients`].
#[derive(Clone, Debug)]
pub struct GradCheckReport {
    /// `max |analytic - numeric|` over every element of every input.
    pub max_abs_error: f64,
    /// Where: (input, flat element index, analytic, numeric).
    pub worst: (usize, usize, f64, f64),
    /// How many elements were compared.
    pub checked: usize,
}

/// Checks the gradients of `f` at `inputs` (each an f32 tensor; the check makes contiguous leaves of them)
/// against central differences. Errors with the worst element when one is outside the tolerance.
///
/// ```
/// use autograd::gradcheck::{check_gradients, GradCheckOptions};
/// use engine::Tensor;
/// let x = Tensor::from_vec(vec![0.3f32, -1.2, 2.0], &[3])?;
/// let report = check_gradients(|v| v[0].tanh(), &[x], &GradCheckOptions::default())?;
/// assert!(report.max_abs_error < 1e-3);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn check_gradients<F>(f: F, inputs: &[Tensor], options: &GradCheckOptions) -> Result<GradCheckReport>
where
    F: Fn(&[Var]) -> Result<Var>,
{
    let values: Vec<Vec<f32>> = inputs.iter().map(|t| t.to_vec_f32()).collect::<Result<_>>()?;
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    let make = |vals: &[Vec<f32>]| -> Result<Vec<Tensor>> {
        vals.iter().zip(&shapes).map(|(v, s)| Tensor::from_slice(v, s)).collect()
    };

    // Analytic gradients.
    let leaves: Vec<Var> = make(&values)?.into_iter().map(Var::leaf).collect();
    let out = f(&leaves)?;
    let mut rng = Rng::new(options.seed);
    let weights = Tensor::rand_uniform(out.shape(), -1.0, 1.0, &mut rng)?;
    let w: Vec<f64> = weights.to_vec_f32()?.into_iter().map(f64::from).collect();
    out.backward_with(&weights)?;
    let analytic: Vec<Vec<f32>> = leaves
        .iter()
        .map(|l| match l.grad() {
            Some(g) => g.to_vec_f32(),
            None => Ok(vec![0.0; l.numel()]),
        })
        .collect::<Result<_>>()?;
    drop(out);

    // Numerical gradients.
    let loss_at = |vals: &[Vec<f32>]| -> Result<f64> {
        let _guard = no_grad();
        let vars: Vec<Var> = make(vals)?.into_iter().map(Var::constant).collect();
        let y = f(&vars)?.tensor().to_dtype(DType::F32)?.to_vec::<f32>()?;
        Ok(y.iter().zip(&w).map(|(&a, &b)| a as f64 * b).sum())
    };
    let mut report = GradCheckReport { max_abs_error: 0.0, worst: (0, 0, 0.0, 0.0), checked: 0 };
    let mut failure: Option<String> = None;
    let mut vals = values.clone();
    for i in 0..vals.len() {
        for j in 0..vals[i].len() {
            let x = values[i][j];
            let (xp, xm) = (x + options.h, x - options.h);
            vals[i][j] = xp;
            let lp = loss_at(&vals)?;
            vals[i][j] = xm;
            let lm = loss_at(&vals)?;
            vals[i][j] = x;
            let numeric = (lp - lm) / (xp as f64 - xm as f64);
            let a = analytic[i][j] as f64;
            let err = (a - numeric).abs();
            report.checked += 1;
            if err > report.max_abs_error || err.is_nan() {
                report.max_abs_error = err;
                report.worst = (i, j, a, numeric);
            }
            let bound = options.atol + options.rtol * a.abs().max(numeric.abs());
            if (err > bound || err.is_nan()) && failure.is_none() {
                failure = Some(format!(
                    "input {i} element {j}: analytic {a:.6} vs numeric {numeric:.6} (|diff| {err:.2e} > {bound:.2e})"
                ));
            }
        }
    }
    match failure {
        Some(msg) => Err(Error::op("gradcheck", format!("{msg}; worst {:?}", report.worst))),
        None => Ok(report),
    }
}

/// A random f32 tensor `U(lo, hi)` (test inputs).
pub fn random(shape: &[usize], lo: f32, hi: f32, rng: &mut Rng) -> Result<Tensor> {
    Tensor::rand_uniform(shape, lo, hi, rng)
}

/// Checks the gradients of a scalar `loss` (a closure that runs the whole forward pass, e.g. a model and
/// its loss) with respect to parameters, against central differences on the parameters' values. Checks
/// every element of small parameters and `max_per_param` elements (chosen at random, seeded) of larger
/// ones. Gradients accumulated before the call are cleared; the parameters' values are restored.
pub fn check_parameter_gradients<F>(
    params: &[(String, Parameter)],
    loss: F,
    options: &GradCheckOptions,
    max_per_param: usize,
) -> Result<GradCheckReport>
where
    F: Fn() -> Result<Var>,
{
    for (_, p) in params {
        p.zero_grad();
    }
    loss()?.backward()?;
    let mut rng = Rng::new(options.seed);
    let mut report = GradCheckReport { max_abs_error: 0.0, worst: (0, 0, 0.0, 0.0), checked: 0 };
    let mut failure: Option<String> = None;
    for (pi, (name, p)) in params.iter().enumerate() {
        let original = p.value();
        let values = original.to_vec::<f32>()?;
        let analytic = match p.grad() {
            Some(g) => g.to_vec_f32()?,
            None => vec![0.0; values.len()],
        };
        let picks: Vec<usize> = if values.len() <= max_per_param {
            (0..values.len()).collect()
        } else {
            (0..max_per_param).map(|_| rng.gen_range(values.len())).collect::<Result<_>>()?
        };
        let loss_with = |j: usize, x: f32| -> Result<f64> {
            let mut v = values.clone();
            v[j] = x;
            p.set_value(Tensor::from_vec(v, original.shape())?)?;
            let _guard = no_grad();
            Ok(loss()?.item()? as f64)
        };
        for j in picks {
            let x = values[j];
            let (xp, xm) = (x + options.h, x - options.h);
            let numeric = (loss_with(j, xp)? - loss_with(j, xm)?) / (xp as f64 - xm as f64);
            let a = analytic[j] as f64;
            let err = (a - numeric).abs();
            report.checked += 1;
            if err > report.max_abs_error || err.is_nan() {
                report.max_abs_error = err;
                report.worst = (pi, j, a, numeric);
            }
            let bound = options.atol + options.rtol * a.abs().max(numeric.abs());
            if (err > bound || err.is_nan()) && failure.is_none() {
                failure = Some(format!(
                    "{name} element {j}: analytic {a:.6} vs numeric {numeric:.6} (|diff| {err:.2e} > {bound:.2e})"
                ));
            }
        }
        p.set_value(original)?;
    }
    match failure {
        Some(msg) => Err(Error::op("gradcheck", format!("{msg}; worst {:?}", report.worst))),
        None => Ok(report),
    }
}
