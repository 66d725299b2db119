//! File IO.
pub mod atomic;
pub mod safetensors;

pub use atomic::write_atomically;
