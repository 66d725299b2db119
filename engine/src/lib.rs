//! The tensor: shape, strides, offset, dtype, device and shared storage, with its ops and file IO.
