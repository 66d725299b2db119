//! Learning-rate schedules, as a pure function of the step (0-based: the step about to be taken).
use std::f64::consts::PI;

/// A learning rate as a function of the step.
///
/// ```
/// use autograd::optim::LrSchedule;
/// let s = LrSchedule::WarmupCosine { max_lr: 1e-3, min_lr: 1e-4, warmup_steps: 10, decay_steps: 110 };
/// assert!((s.lr_at(0) - 1e-4).abs() < 1e-9);      // warmup: max_lr * (step + 1) / warmup_steps
/// assert!((s.lr_at(9) - 1e-3).abs() < 1e-9);      // warmup reaches max_lr on its last step
/// assert!((s.lr_at(60) - 5.5e-4).abs() < 1e-9);   // half way through the decay: (max + min) / 2
/// assert!((s.lr_at(500) - 1e-4).abs() < 1e-9);    // after the decay: min_lr
/// # Ok::<(), engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum LrSchedule {
    /// The same rate at every step.
    Constant {
        /// The rate.
        lr: f32,
    },
    /// Linear warmup over `warmup_steps` (`max_lr * (step + 1) / warmup_steps`), then a cosine from
    /// `max_lr` at step `warmup_steps` to `min_lr` at step `decay_steps`, then `min_lr`.
    WarmupCosine {
        /// The rate at the end of warmup.
        max_lr: f32,
        /// The rate from `decay_steps` on.
        min_lr: f32,
        /// Steps of linear warmup (0 for none).
        warmup_steps: u64,
        /// The step at which the decay reaches `min_lr` (counted from 0, warmup included).
        decay_steps: u64,
    },
    /// The same warmup, then a straight line from `max_lr` to `min_lr` at `decay_steps`, then `min_lr`.
    WarmupLinear {
        /// The rate at the end of warmup.
        max_lr: f32,
        /// The rate from `decay_steps` on.
        min_lr: f32,
        /// Steps of linear warmup (0 for none).
        warmup_steps: u64,
        /// The step at which the decay reaches `min_lr` (counted from 0, warmup included).
        decay_steps: u64,
    },
}

impl LrSchedule {
    /// The learning rate for step `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f32 {
        match *self {
            LrSchedule::Constant { lr } => lr,
            LrSchedule::WarmupCosine { max_lr, min_lr, warmup_steps, decay_steps } => {
                decayed(step, max_lr, min_lr, warmup_steps, decay_steps, |r| 0.5 * (1.0 + (PI * r).cos()))
            }
            LrSchedule::WarmupLinear { max_lr, min_lr, warmup_steps, decay_steps } => {
                decayed(step, max_lr, min_lr, warmup_steps, decay_steps, |r| 1.0 - r)
            }
        }
    }
}

/// Warmup, then `min + coeff(ratio) * (max - min)` with `ratio` going 0 -> 1 over the decay.
fn decayed(step: u64, max_lr: f32, min_lr: f32, warmup: u64, decay_end: u64, coeff: impl Fn(f64) -> f64) -> f32 {
    if step < warmup {
        return (max_lr as f64 * (step + 1) as f64 / warmup as f64) as f32;
    }
    if step >= decay_end {
        return min_lr;
    }
    let span = (decay_end - warmup).max(1) as f64;
    let ratio = (step - warmup) as f64 / span;
    (min_lr as f64 + coeff(ratio) * (max_lr as f64 - min_lr as f64)) as f32
}
