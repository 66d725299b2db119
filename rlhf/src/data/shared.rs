//! Where the shared data folder (`../shared/data` beside the repository) is.
use std::path::PathBuf;

/// The shared data folder, `CARGO_MANIFEST_DIR/../../shared/data` for this crate, if it exists.
pub fn shared_data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    dir.is_dir().then_some(dir)
}
