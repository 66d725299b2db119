//! Inference mode: a thread-local switch that stops recording.
//!
//! While a [`NoGradGuard`] is alive on a thread, ops on that thread record nothing and keep nothing for
//! backward (their results are constants), and [`crate::Parameter::var`] hands out constants. Guards nest.
use std::cell::Cell;
use std::marker::PhantomData;

thread_local! {
    static NO_GRAD_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Restores recording when dropped. Not `Send`: it belongs to the thread that made it.
#[must_use = "recording resumes as soon as the guard is dropped; bind it: `let _guard = no_grad();`"]
pub struct NoGradGuard {
    _not_send: PhantomData<*const ()>,
}

/// Turns recording off on this thread until the returned guard is dropped.
///
/// ```
/// use autograd::{no_grad, Var};
/// use engine::Tensor;
/// let w = Var::leaf(Tensor::from_vec(vec![1f32, 2.0], &[2])?);
/// {
///     let _guard = no_grad();
///     let y = w.mul_scalar(3.0)?;
///     assert!(!y.requires_grad()); // nothing recorded, nothing kept
/// }
/// assert!(w.mul_scalar(3.0)?.requires_grad());
/// # Ok::<(), engine::Error>(())
/// ```
pub fn no_grad() -> NoGradGuard {
    NO_GRAD_DEPTH.with(|d| d.set(d.get() + 1));
    NoGradGuard { _not_send: PhantomData }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        NO_GRAD_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// True unless a [`NoGradGuard`] is alive on this thread.
pub fn is_grad_enabled() -> bool {
    NO_GRAD_DEPTH.with(|d| d.get() == 0)
}
