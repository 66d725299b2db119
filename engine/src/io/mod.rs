//! File IO.
pub mod safetensors;
