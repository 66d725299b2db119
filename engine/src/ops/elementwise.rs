//! Element-wise ops: binary ops with NumPy broadcasting, their scalar forms, and unary maps (exp, log,
//! tanh, sigmoid, relu, gelu, ...). Compute is f32; other dtypes are refused with "cast to F32 first".
//!
//! Binary ops never copy their inputs: broadcast and strided views are handed to
//! `kernels::binary_strided` with their strides (0 on broadcast dimensions). Same-shape contiguous
//! inputs take the flat `binary_contiguous` path.
use kernels::{BinaryOp, UnaryOp};

use super::support::{f32_tensor, host_slice, require_f32, same_device, unsupported_device};
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, fmt_shape};
use crate::{Device, Tensor};

/// A kernel computing `dx += f'(x) * dout`.
type ActivationBackward = fn(&[f32], &[f32], &mut [f32]) -> kernels::KernelResult<()>;

impl Tensor {
    /// The shared body of every binary op: broadcast, check, dispatch.
    fn binary_op(&self, rhs: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
        require_f32(name, "lhs", self)?;
        require_f32(name, "rhs", rhs)?;
        let shape = broadcast_shapes(name, self.shape(), rhs.shape())?;
        match same_device(name, &[self, rhs])? {
            Device::Cpu => binary_cpu(self, rhs, op, name, &shape),
            device => Err(unsupported_device(name, device)),
        }
    }

    /// `self op scalar` for every element (the scalar broadcast with stride 0, so no input copy).
    fn scalar_op(&self, scalar: f32, op: BinaryOp, name: &'static str, scalar_first: bool) -> Result<Tensor> {
        require_f32(name, "input", self)?;
        match self.device() {
            Device::Cpu => {
                let mut out = vec![0.0f32; self.numel()];
                if self.is_contiguous() {
                    let x = host_slice::<f32>(name, self)?;
                    if scalar_first {
                        kernels::scalar_binary(op, scalar, x, &mut out)?;
                    } else {
                        kernels::binary_scalar(op, x, scalar, &mut out)?;
                    }
                } else {
                    let x = self.storage_slice::<f32>(name)?;
                    let s = [scalar];
                    let zeros = vec![0usize; self.rank()];
                    if scalar_first {
                        kernels::binary_strided(
                            op,
                            self.shape(),
                            &s,
                            0,
                            &zeros,
                            x,
                            self.offset(),
                            self.strides(),
                            &mut out,
                        )?;
                    } else {
                        kernels::binary_strided(
                            op,
                            self.shape(),
                            x,
                            self.offset(),
                            self.strides(),
                            &s,
                            0,
                            &zeros,
                            &mut out,
                        )?;
                    }
                }
                f32_tensor(out, self.shape())
            }
            device => Err(unsupported_device(name, device)),
        }
    }

    /// The shared body of every unary op.
    fn unary_op(&self, op: UnaryOp, name: &'static str) -> Result<Tensor> {
        require_f32(name, "input", self)?;
        match self.device() {
            Device::Cpu => {
                let mut out = vec![0.0f32; self.numel()];
                if self.is_contiguous() {
                    kernels::unary_contiguous(op, host_slice::<f32>(name, self)?, &mut out)?;
                } else {
                    let x = self.storage_slice::<f32>(name)?;
                    kernels::unary_strided(op, self.shape(), x, self.offset(), self.strides(), &mut out)?;
                }
                f32_tensor(out, self.shape())
            }
            device => Err(unsupported_device(name, device)),
        }
    }

    /// Element-wise `self + rhs` with NumPy broadcasting.
    ///
    /// ```
    /// use engine::Tensor;
    /// let a = Tensor::from_vec(vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    /// let b = Tensor::from_vec(vec![10f32, 20.0, 30.0], &[3])?;
    /// assert_eq!(a.add(&b)?.to_vec::<f32>()?, vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    /// assert!(a.add(&Tensor::from_vec(vec![0f32; 2], &[2])?).unwrap_err().to_string()
    ///     .contains("add: shapes [2, 3] and [2] cannot be broadcast"));
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Add, "add")
    }

    /// Element-wise `self - rhs` with NumPy broadcasting.
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Sub, "sub")
    }

    /// Element-wise `self * rhs` with NumPy broadcasting.
    ///
    /// ```
    /// use engine::Tensor;
    /// let col = Tensor::from_vec(vec![1f32, 2.0], &[2, 1])?;
    /// let row = Tensor::from_vec(vec![1f32, 10.0, 100.0], &[1, 3])?;
    /// let outer = col.mul(&row)?;
    /// assert_eq!(outer.shape(), &[2, 3]);
    /// assert_eq!(outer.to_vec::<f32>()?, vec![1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Mul, "mul")
    }

    /// Element-wise `self / rhs` with NumPy broadcasting (IEEE: x / 0 is ±inf or NaN).
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Div, "div")
    }

    /// Element-wise maximum with NumPy broadcasting; NaN propagates (`torch.maximum`).
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Maximum, "maximum")
    }

    /// Element-wise minimum with NumPy broadcasting; NaN propagates (`torch.minimum`).
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Minimum, "minimum")
    }

    /// Element-wise `self ^ rhs` (`powf`) with NumPy broadcasting.
    pub fn pow(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Pow, "pow")
    }

    /// `self + s` for every element.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![1f32, 2.0], &[2])?;
    /// assert_eq!(t.add_scalar(0.5)?.to_vec::<f32>()?, vec![1.5, 2.5]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn add_scalar(&self, s: f32) -> Result<Tensor> {
        self.scalar_op(s, BinaryOp::Add, "add_scalar", false)
    }

    /// `self - s` for every element.
    pub fn sub_scalar(&self, s: f32) -> Result<Tensor> {
        self.scalar_op(s, BinaryOp::Sub, "sub_scalar", false)
    }

    /// `self * s` for every element.
    pub fn mul_scalar(&self, s: f32) -> Result<Tensor> {
        self.scalar_op(s, BinaryOp::Mul, "mul_scalar", false)
    }

    /// `self / s` for every element.
    pub fn div_scalar(&self, s: f32) -> Result<Tensor> {
        self.scalar_op(s, BinaryOp::Div, "div_scalar", false)
    }

    /// `self ^ s` (`powf`) for every element.
    pub fn pow_scalar(&self, s: f32) -> Result<Tensor> {
        self.scalar_op(s, BinaryOp::Pow, "pow_scalar", false)
    }

    /// `s - self` for every element (`torch.rsub`).
    ///
    /// ```
    /// use engine::Tensor;
    /// let p = Tensor::from_vec(vec![0.25f32, 1.0], &[2])?;
    /// assert_eq!(p.rsub_scalar(1.0)?.to_vec::<f32>()?, vec![0.75, 0.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn rsub_scalar(&self, s: f32) -> Result<Tensor> {
        self.scalar_op(s, BinaryOp::Sub, "rsub_scalar", true)
    }

    /// `s / self` for every element.
    pub fn rdiv_scalar(&self, s: f32) -> Result<Tensor> {
        self.scalar_op(s, BinaryOp::Div, "rdiv_scalar", true)
    }

    /// `-self`.
    pub fn neg(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Neg, "neg")
    }

    /// `e^self`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![0f32, 1.0], &[2])?;
    /// let e = t.exp()?.to_vec::<f32>()?;
    /// assert_eq!(e[0], 1.0);
    /// assert!((e[1] - std::f32::consts::E).abs() < 1e-6);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn exp(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Exp, "exp")
    }

    /// Natural logarithm (NaN for negative inputs, -inf at 0).
    pub fn log(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Log, "log")
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Tanh, "tanh")
    }

    /// The logistic function `1 / (1 + e^-x)`.
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Sigmoid, "sigmoid")
    }

    /// `max(x, 0)`; NaN propagates.
    ///
    /// ```
    /// use engine::Tensor;
    /// let t = Tensor::from_vec(vec![-1f32, 0.0, 2.0], &[3])?;
    /// assert_eq!(t.relu()?.to_vec::<f32>()?, vec![0.0, 0.0, 2.0]);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn relu(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Relu, "relu")
    }

    /// GELU, tanh approximation (GPT-2): `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    ///
    /// ```
    /// use engine::Tensor;
    /// let g = Tensor::from_vec(vec![0f32, 1.0], &[2])?.gelu()?.to_vec::<f32>()?;
    /// assert_eq!(g[0], 0.0);
    /// assert!((g[1] - 0.841192).abs() < 1e-5);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn gelu(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Gelu, "gelu")
    }

    /// GELU, exact form (BERT): `x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))`.
    pub fn gelu_erf(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::GeluErf, "gelu_erf")
    }

    /// Square root (NaN for negative inputs).
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Sqrt, "sqrt")
    }

    /// `1 / sqrt(x)`.
    pub fn rsqrt(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Rsqrt, "rsqrt")
    }

    /// `1 / x`.
    pub fn recip(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Recip, "recip")
    }

    /// `|x|`.
    pub fn abs(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Abs, "abs")
    }

    /// `x * x`.
    pub fn square(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Square, "square")
    }

    /// The gradient of [`Tensor::gelu`] at `self` times `dout`: `gelu'(x) * dout` (for autograd).
    ///
    /// ```
    /// use engine::Tensor;
    /// let x = Tensor::from_vec(vec![0f32], &[1])?;
    /// let dout = Tensor::from_vec(vec![2f32], &[1])?;
    /// assert!((x.gelu_backward(&dout)?.item()? - 1.0).abs() < 1e-6); // gelu'(0) = 0.5
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn gelu_backward(&self, dout: &Tensor) -> Result<Tensor> {
        self.activation_backward(dout, "gelu_backward", kernels::gelu_backward)
    }

    /// The gradient of [`Tensor::gelu_erf`] at `self` times `dout` (for autograd).
    pub fn gelu_erf_backward(&self, dout: &Tensor) -> Result<Tensor> {
        self.activation_backward(dout, "gelu_erf_backward", kernels::gelu_erf_backward)
    }

    fn activation_backward(&self, dout: &Tensor, name: &'static str, kernel: ActivationBackward) -> Result<Tensor> {
        require_f32(name, "x", self)?;
        require_f32(name, "dout", dout)?;
        if self.shape() != dout.shape() {
            return Err(Error::op(
                name,
                format!("x {} and dout {} must have the same shape", fmt_shape(self.shape()), fmt_shape(dout.shape())),
            ));
        }
        match same_device(name, &[self, dout])? {
            Device::Cpu => {
                let x = self.contiguous()?;
                let d = dout.contiguous()?;
                let mut dx = vec![0.0f32; self.numel()];
                kernel(host_slice::<f32>(name, &x)?, host_slice::<f32>(name, &d)?, &mut dx)?;
                f32_tensor(dx, self.shape())
            }
            device => Err(unsupported_device(name, device)),
        }
    }
}

/// CPU binary op: flat kernels for same-shape contiguous inputs or a one-element rhs, else the strided
/// kernel over both inputs' broadcast views.
fn binary_cpu(a: &Tensor, b: &Tensor, op: BinaryOp, name: &'static str, shape: &[usize]) -> Result<Tensor> {
    let numel: usize = shape.iter().product();
    let mut out = vec![0.0f32; numel];
    if a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous() {
        kernels::binary_contiguous(op, host_slice::<f32>(name, a)?, host_slice::<f32>(name, b)?, &mut out)?;
    } else if a.shape() == shape && a.is_contiguous() && b.numel() == 1 {
        let s = b.storage_slice::<f32>(name)?[b.offset()];
        kernels::binary_scalar(op, host_slice::<f32>(name, a)?, s, &mut out)?;
    } else if b.shape() == shape && b.is_contiguous() && a.numel() == 1 {
        let s = a.storage_slice::<f32>(name)?[a.offset()];
        kernels::scalar_binary(op, s, host_slice::<f32>(name, b)?, &mut out)?;
    } else {
        let la = a.layout().broadcast_to(name, shape)?;
        let lb = b.layout().broadcast_to(name, shape)?;
        kernels::binary_strided(
            op,
            shape,
            a.storage_slice::<f32>(name)?,
            la.offset(),
            la.strides(),
            b.storage_slice::<f32>(name)?,
            lb.offset(),
            lb.strides(),
            &mut out,
        )?;
    }
    f32_tensor(out, shape)
}
