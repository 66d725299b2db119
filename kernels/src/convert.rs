//! bf16 / f16 <-> f32 conversion of slices, via the `half` crate's slice helpers (which use F16C /
//! SIMD where the target has it). f32 -> half rounds to nearest-even, as PyTorch's `.to()` does.
use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use crate::error::{KernelError, KernelResult};

fn check_equal(kernel: &'static str, src: usize, dst: usize) -> KernelResult<()> {
    if src != dst {
        return Err(KernelError::new(kernel, format!("src has {src} elements but dst has {dst}")));
    }
    Ok(())
}

/// dst[i] = bf16(src[i]), rounding to nearest-even.
///
/// ```
/// let mut d = [half::bf16::ZERO; 1];
/// kernels::f32_to_bf16(&[1.5], &mut d).unwrap();
/// assert_eq!(d[0].to_f32(), 1.5);
/// ```
pub fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) -> KernelResult<()> {
    check_equal("f32_to_bf16", src.len(), dst.len())?;
    dst.convert_from_f32_slice(src);
    Ok(())
}

/// dst[i] = src[i] as f32 (exact).
///
/// ```
/// let mut d = [0.0f32; 1];
/// kernels::bf16_to_f32(&[half::bf16::from_f32(2.0)], &mut d).unwrap();
/// assert_eq!(d[0], 2.0);
/// ```
pub fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) -> KernelResult<()> {
    check_equal("bf16_to_f32", src.len(), dst.len())?;
    src.convert_to_f32_slice(dst);
    Ok(())
}

/// dst[i] = f16(src[i]), rounding to nearest-even (overflow gives ±inf).
///
/// ```
/// let mut d = [half::f16::ZERO; 1];
/// kernels::f32_to_f16(&[0.25], &mut d).unwrap();
/// assert_eq!(d[0].to_f32(), 0.25);
/// ```
pub fn f32_to_f16(src: &[f32], dst: &mut [f16]) -> KernelResult<()> {
    check_equal("f32_to_f16", src.len(), dst.len())?;
    dst.convert_from_f32_slice(src);
    Ok(())
}

/// dst[i] = src[i] as f32 (exact).
///
/// ```
/// let mut d = [0.0f32; 1];
/// kernels::f16_to_f32(&[half::f16::from_f32(-3.0)], &mut d).unwrap();
/// assert_eq!(d[0], -3.0);
/// ```
pub fn f16_to_f32(src: &[f16], dst: &mut [f32]) -> KernelResult<()> {
    check_equal("f16_to_f32", src.len(), dst.len())?;
    src.convert_to_f32_slice(dst);
    Ok(())
}

/// Naive references: one `half` scalar conversion per element. The tests' oracle.
pub mod reference {
    use half::{bf16, f16};

    pub fn f32_to_bf16_naive(src: &[f32], dst: &mut [bf16]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = bf16::from_f32(s);
        }
    }

    pub fn f32_to_f16_naive(src: &[f32], dst: &mut [f16]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f16::from_f32(s);
        }
    }
}
