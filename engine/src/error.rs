//! The engine's error: every fallible op names itself and the shapes involved.
use std::fmt;
use std::path::PathBuf;

/// Why an engine operation refused its input.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An op was given tensors that do not fit: `matmul: lhs [2, 3] and rhs [4, 5] do not agree on the inner dimension`.
    Op { op: &'static str, message: String },
    /// A file could not be read or written, or its content is malformed.
    Io { path: PathBuf, message: String },
    /// A kernel refused its slices (the engine checks first, so this points at an engine bug).
    Kernel(kernels::KernelError),
}

impl Error {
    pub fn op(op: &'static str, message: impl Into<String>) -> Self {
        Error::Op { op, message: message.into() }
    }

    pub fn io(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Io { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Op { op, message } => write!(f, "{op}: {message}"),
            Error::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Kernel(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<kernels::KernelError> for Error {
    fn from(err: kernels::KernelError) -> Self {
        Error::Kernel(err)
    }
}

pub type Result<T> = std::result::Result<T, Error>;
