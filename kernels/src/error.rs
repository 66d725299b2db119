//! The error every sized kernel returns when its inputs do not fit together.
use std::fmt;

/// A kernel was given slices or sizes that do not fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The kernel that refused, e.g. `"sgemm"`.
    pub kernel: &'static str,
    /// What did not fit, with the sizes involved.
    pub message: String,
}

impl KernelError {
    pub fn new(kernel: &'static str, message: impl Into<String>) -> Self {
        Self { kernel, message: message.into() }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kernel, self.message)
    }
}

impl std::error::Error for KernelError {}

pub type KernelResult<T> = Result<T, KernelError>;

/// Checks that `slice_len` holds at least `needed` elements.
pub(crate) fn check_len(kernel: &'static str, what: &str, slice_len: usize, needed: usize) -> KernelResult<()> {
    if slice_len < needed {
        return Err(KernelError::new(
            kernel,
            format!("{what} has {slice_len} elements but the sizes given need {needed}"),
        ));
    }
    Ok(())
}
