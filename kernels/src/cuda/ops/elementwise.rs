//! Element-wise kernels on the GPU (`kernels/cuda/elementwise.cu`): unary and binary ops on contiguous
//! buffers and on strided (broadcast) views, GELU backward, `axpy` and `scale`. Each function mirrors the
//! CPU kernel of the same name in [`crate::elementwise`]: same arguments (device buffers instead of
//! slices), same length rules, same `+=` for the backward kernels.
//!
//! Launches are asynchronous; errors raised inside a kernel surface at the next copy back or
//! [`CudaDevice::synchronize`].
//!
//! ```
//! use kernels::cuda::{ops::elementwise, ops::launch::Launch, CudaDevice};
//! let dev = match CudaDevice::new(0) { Ok(d) => d, Err(e) => { println!("skipping: {e}"); return; } };
//! let x = dev.htod(&[-1.0f32, 2.0]).unwrap();
//! let mut out = dev.alloc_zeros::<f32>(2).unwrap();
//! elementwise::unary_contiguous(&dev, kernels::UnaryOp::Relu, &x, &mut out, Launch::AUTO).unwrap();
//! assert_eq!(dev.dtoh(&out).unwrap(), vec![0.0, 2.0]);
//! ```
use cudarc::driver::{DeviceRepr, PushKernelArg};

use super::launch::{flat_config, launched, DeviceIn, DeviceOut, Launch};
use crate::cuda::{ptx, CudaDevice};
use crate::elementwise::{BinaryOp, UnaryOp};
use crate::error::{KernelError, KernelResult};
use crate::strided::{check_view, coalesce, numel};

/// Kernel entry points in `elementwise.ptx`; the wrappers below launch exactly these.
pub const UNARY_CONTIGUOUS: &str = "unary_contiguous_f32";
pub const UNARY_STRIDED: &str = "unary_strided_f32";
pub const BINARY_CONTIGUOUS: &str = "binary_contiguous_f32";
pub const BINARY_SCALAR: &str = "binary_scalar_f32";
pub const BINARY_STRIDED: &str = "binary_strided_f32";
pub const GELU_BACKWARD: &str = "gelu_backward_f32";
pub const AXPY: &str = "axpy_f32";
pub const SCALE: &str = "scale_f32";
/// Every entry of the module, for the PTX registry.
pub const KERNELS: &[&str] =
    &[UNARY_CONTIGUOUS, UNARY_STRIDED, BINARY_CONTIGUOUS, BINARY_SCALAR, BINARY_STRIDED, GELU_BACKWARD, AXPY, SCALE];

/// The most dims a strided kernel walks, after merging contiguous dims (`MAX_DIMS` in the .cu file).
pub const MAX_DIMS: usize = 8;

/// The op code `elementwise.cu` switches on for a unary op.
fn unary_code(op: UnaryOp) -> i32 {
    match op {
        UnaryOp::Neg => 0,
        UnaryOp::Exp => 1,
        UnaryOp::Log => 2,
        UnaryOp::Tanh => 3,
        UnaryOp::Sigmoid => 4,
        UnaryOp::Relu => 5,
        UnaryOp::Gelu => 6,
        UnaryOp::GeluErf => 7,
        UnaryOp::Sqrt => 8,
        UnaryOp::Rsqrt => 9,
        UnaryOp::Recip => 10,
        UnaryOp::Abs => 11,
        UnaryOp::Square => 12,
    }
}

/// The op code `elementwise.cu` switches on for a binary op.
fn binary_code(op: BinaryOp) -> i32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
        BinaryOp::Maximum => 4,
        BinaryOp::Minimum => 5,
        BinaryOp::Pow => 6,
    }
}

/// `StridedLayout2` of elementwise.cu: the (coalesced) output shape and, for up to two operands, the
/// offset and strides. Passed by value as a kernel parameter.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct StridedLayout2 {
    ndim: i32,
    shape: [i64; MAX_DIMS],
    offset: [i64; 2],
    strides: [[i64; MAX_DIMS]; 2],
}

// Safety: plain integers in C layout, matching the struct declared in elementwise.cu field for field.
unsafe impl DeviceRepr for StridedLayout2 {}

/// Bytes of the strided layout parameter as passed by value; the PTX declares the same size for the
/// kernel's parameter (checked without a GPU by the `cuda_ops_ptx` test).
pub const STRIDED_LAYOUT_BYTES: usize = std::mem::size_of::<StridedLayout2>();

impl StridedLayout2 {
    /// Coalesces `shape` over the operands' strides and packs it; errors past [`MAX_DIMS`] dims.
    fn new(
        kernel: &'static str,
        shape: &[usize],
        offsets: [usize; 2],
        strides: [&[usize]; 2],
        nops: usize,
    ) -> KernelResult<Self> {
        let (cshape, cstrides) = if nops == 2 {
            let (s, [a, b]) = coalesce(shape, [strides[0], strides[1]]);
            (s, [a, b])
        } else {
            let (s, [a]) = coalesce(shape, [strides[0]]);
            let zeros = vec![0; a.len()];
            (s, [a, zeros])
        };
        if cshape.len() > MAX_DIMS {
            return Err(KernelError::new(
                kernel,
                format!(
                    "shape {shape:?} still has {} dims after merging contiguous ones; the GPU kernel walks at most {MAX_DIMS}",
                    cshape.len()
                ),
            ));
        }
        let mut l = StridedLayout2 {
            ndim: cshape.len() as i32,
            shape: [1; MAX_DIMS],
            offset: [offsets[0] as i64, offsets[1] as i64],
            strides: [[0; MAX_DIMS]; 2],
        };
        for (d, &n) in cshape.iter().enumerate() {
            l.shape[d] = n as i64;
            l.strides[0][d] = cstrides[0][d] as i64;
            l.strides[1][d] = cstrides[1][d] as i64;
        }
        Ok(l)
    }
}

fn check_equal(kernel: &'static str, names: &[(&str, usize)]) -> KernelResult<usize> {
    let n = names[0].1;
    if names.iter().any(|&(_, l)| l != n) {
        let desc: Vec<String> = names.iter().map(|(w, l)| format!("{w} has {l}")).collect();
        return Err(KernelError::new(kernel, format!("lengths must be equal: {}", desc.join(", "))));
    }
    Ok(n)
}

/// out[i] = op(x[i]); `x` and `out` have the same length (see [`crate::unary_contiguous`]).
pub fn unary_contiguous(
    dev: &CudaDevice,
    op: UnaryOp,
    x: &impl DeviceIn<f32>,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_unary_contiguous";
    let (x, mut out) = (x.device_view(), out.device_view_mut());
    let n = check_equal(K, &[("x", x.len()), ("out", out.len())])?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::ELEMENTWISE, UNARY_CONTIGUOUS)?;
    let (code, n64) = (unary_code(op), n as i64);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&code).arg(&x).arg(&mut out).arg(&n64);
    launched(K, unsafe { b.launch(flat_config(K, launch, n)?) })
}

/// out = op(view) with `out` contiguous of `shape` and the view read at `offset + sum(i_d * strides[d])`
/// (see [`crate::unary_strided`]).
#[allow(clippy::too_many_arguments)]
pub fn unary_strided(
    dev: &CudaDevice,
    op: UnaryOp,
    shape: &[usize],
    x: &impl DeviceIn<f32>,
    offset: usize,
    strides: &[usize],
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_unary_strided";
    let (x, mut out) = (x.device_view(), out.device_view_mut());
    check_view(K, "x", x.len(), shape, offset, strides)?;
    let n = numel(shape);
    if out.len() != n {
        return Err(KernelError::new(K, format!("out has {} elements but shape {shape:?} has {n}", out.len())));
    }
    if n == 0 {
        return Ok(());
    }
    let layout = StridedLayout2::new(K, shape, [offset, 0], [strides, strides], 1)?;
    let f = dev.function(&ptx::ELEMENTWISE, UNARY_STRIDED)?;
    let (code, n64) = (unary_code(op), n as i64);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&code).arg(&layout).arg(&x).arg(&mut out).arg(&n64);
    launched(K, unsafe { b.launch(flat_config(K, launch, n)?) })
}

/// out[i] = a[i] op b[i]; all three have the same length (see [`crate::binary_contiguous`]).
pub fn binary_contiguous(
    dev: &CudaDevice,
    op: BinaryOp,
    a: &impl DeviceIn<f32>,
    b: &impl DeviceIn<f32>,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_binary_contiguous";
    let (a, bv, mut out) = (a.device_view(), b.device_view(), out.device_view_mut());
    let n = check_equal(K, &[("a", a.len()), ("b", bv.len()), ("out", out.len())])?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::ELEMENTWISE, BINARY_CONTIGUOUS)?;
    let (code, n64) = (binary_code(op), n as i64);
    let mut lb = dev.stream().launch_builder(&f);
    lb.arg(&code).arg(&a).arg(&bv).arg(&mut out).arg(&n64);
    launched(K, unsafe { lb.launch(flat_config(K, launch, n)?) })
}

#[allow(clippy::too_many_arguments)]
fn binary_with_scalar(
    kernel: &'static str,
    dev: &CudaDevice,
    op: BinaryOp,
    x: &impl DeviceIn<f32>,
    scalar: f32,
    scalar_left: bool,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    let (x, mut out) = (x.device_view(), out.device_view_mut());
    let n = check_equal(kernel, &[(if scalar_left { "b" } else { "a" }, x.len()), ("out", out.len())])?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::ELEMENTWISE, BINARY_SCALAR)?;
    let (code, left, n64) = (binary_code(op), i32::from(scalar_left), n as i64);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&code).arg(&x).arg(&scalar).arg(&left).arg(&mut out).arg(&n64);
    launched(kernel, unsafe { b.launch(flat_config(kernel, launch, n)?) })
}

/// out[i] = a[i] op scalar (see [`crate::binary_scalar`]).
pub fn binary_scalar(
    dev: &CudaDevice,
    op: BinaryOp,
    a: &impl DeviceIn<f32>,
    scalar: f32,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    binary_with_scalar("cuda_binary_scalar", dev, op, a, scalar, false, out, launch)
}

/// out[i] = scalar op b[i] (see [`crate::scalar_binary`]).
pub fn scalar_binary(
    dev: &CudaDevice,
    op: BinaryOp,
    scalar: f32,
    b: &impl DeviceIn<f32>,
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    binary_with_scalar("cuda_scalar_binary", dev, op, b, scalar, true, out, launch)
}

/// N-d broadcasting binary op: `out` contiguous of `shape`, `a` and `b` read at
/// `offset + sum(i_d * stride_d)`, a stride of 0 broadcasting (see [`crate::binary_strided`]).
#[allow(clippy::too_many_arguments)]
pub fn binary_strided(
    dev: &CudaDevice,
    op: BinaryOp,
    shape: &[usize],
    a: &impl DeviceIn<f32>,
    a_offset: usize,
    a_strides: &[usize],
    b: &impl DeviceIn<f32>,
    b_offset: usize,
    b_strides: &[usize],
    out: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_binary_strided";
    let (a, bv, mut out) = (a.device_view(), b.device_view(), out.device_view_mut());
    check_view(K, "a", a.len(), shape, a_offset, a_strides)?;
    check_view(K, "b", bv.len(), shape, b_offset, b_strides)?;
    let n = numel(shape);
    if out.len() != n {
        return Err(KernelError::new(K, format!("out has {} elements but shape {shape:?} has {n}", out.len())));
    }
    if n == 0 {
        return Ok(());
    }
    let layout = StridedLayout2::new(K, shape, [a_offset, b_offset], [a_strides, b_strides], 2)?;
    let f = dev.function(&ptx::ELEMENTWISE, BINARY_STRIDED)?;
    let (code, n64) = (binary_code(op), n as i64);
    let mut lb = dev.stream().launch_builder(&f);
    lb.arg(&code).arg(&layout).arg(&a).arg(&bv).arg(&mut out).arg(&n64);
    launched(K, unsafe { lb.launch(flat_config(K, launch, n)?) })
}

fn gelu_grad(
    kernel: &'static str,
    erf_form: bool,
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    dout: &impl DeviceIn<f32>,
    dx: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    let (x, g, mut d) = (x.device_view(), dout.device_view(), dx.device_view_mut());
    let n = check_equal(kernel, &[("x", x.len()), ("dout", g.len()), ("dx", d.len())])?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::ELEMENTWISE, GELU_BACKWARD)?;
    let (form, n64) = (i32::from(erf_form), n as i64);
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&form).arg(&x).arg(&g).arg(&mut d).arg(&n64);
    launched(kernel, unsafe { b.launch(flat_config(kernel, launch, n)?) })
}

/// GELU (tanh form) backward: dx[i] += gelu'(x[i]) * dout[i] (see [`crate::gelu_backward`]).
pub fn gelu_backward(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    dout: &impl DeviceIn<f32>,
    dx: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    gelu_grad("cuda_gelu_backward", false, dev, x, dout, dx, launch)
}

/// Exact GELU backward: dx[i] += (Phi(x) + x phi(x)) * dout[i] (see [`crate::gelu_erf_backward`]).
pub fn gelu_erf_backward(
    dev: &CudaDevice,
    x: &impl DeviceIn<f32>,
    dout: &impl DeviceIn<f32>,
    dx: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    gelu_grad("cuda_gelu_erf_backward", true, dev, x, dout, dx, launch)
}

/// y[i] += alpha * x[i] (see [`crate::axpy`]).
pub fn axpy(
    dev: &CudaDevice,
    alpha: f32,
    x: &impl DeviceIn<f32>,
    y: &mut impl DeviceOut<f32>,
    launch: Launch,
) -> KernelResult<()> {
    const K: &str = "cuda_axpy";
    let (x, mut y) = (x.device_view(), y.device_view_mut());
    let n = check_equal(K, &[("x", x.len()), ("y", y.len())])?;
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::ELEMENTWISE, AXPY)?;
    let n64 = n as i64;
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&alpha).arg(&x).arg(&mut y).arg(&n64);
    launched(K, unsafe { b.launch(flat_config(K, launch, n)?) })
}

/// x[i] *= alpha (see [`crate::scale`]).
pub fn scale(dev: &CudaDevice, alpha: f32, x: &mut impl DeviceOut<f32>, launch: Launch) -> KernelResult<()> {
    const K: &str = "cuda_scale";
    let mut x = x.device_view_mut();
    let n = x.len();
    if n == 0 {
        return Ok(());
    }
    let f = dev.function(&ptx::ELEMENTWISE, SCALE)?;
    let n64 = n as i64;
    let mut b = dev.stream().launch_builder(&f);
    b.arg(&alpha).arg(&mut x).arg(&n64);
    launched(K, unsafe { b.launch(flat_config(K, launch, n)?) })
}
