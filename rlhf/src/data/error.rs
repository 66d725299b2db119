//! Errors of the data loaders. A bad line is always reported as `FILE:LINE: what is wrong`.
use std::fmt;
use std::path::{Path, PathBuf};

/// One bad line of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// Why data could not be loaded.
#[derive(Debug)]
pub enum DataError {
    /// The file could not be read or written.
    Io { path: PathBuf, source: std::io::Error },
    /// Some lines are bad: every one of them (up to [`MAX_REPORTED`]), and how many there were in all.
    BadLines { errors: Vec<LineError>, total: usize },
    /// Something else, with its explanation.
    Invalid(String),
}

/// At most this many bad lines are kept in [`DataError::BadLines`].
pub const MAX_REPORTED: usize = 20;

impl DataError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> DataError {
        DataError::Io { path: path.to_path_buf(), source }
    }

    /// The first bad line, when the error is about lines.
    pub fn first_line_error(&self) -> Option<&LineError> {
        match self {
            DataError::BadLines { errors, .. } => errors.first(),
            _ => None,
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            DataError::BadLines { errors, total } => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                if *total > errors.len() {
                    write!(f, "\n... and {} more bad lines", total - errors.len())?;
                }
                Ok(())
            }
            DataError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DataError {}

/// Collects bad lines while a file is read, then turns them into one error.
#[derive(Debug, Default)]
pub(crate) struct LineErrors {
    errors: Vec<LineError>,
    total: usize,
}

impl LineErrors {
    pub(crate) fn push(&mut self, path: &Path, line: usize, message: impl Into<String>) {
        self.total += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(LineError { path: path.to_path_buf(), line, message: message.into() });
        }
    }

    pub(crate) fn total_is_zero(&self) -> bool {
        self.total == 0
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, DataError> {
        if self.total == 0 {
            Ok(value)
        } else {
            Err(DataError::BadLines { errors: self.errors, total: self.total })
        }
    }
}

/// Reads a whole text file, naming it in the error.
pub(crate) fn read_to_string(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))
}

/// The non-blank lines of a JSONL text with their 1-based numbers.
pub(crate) fn jsonl_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty())
}
