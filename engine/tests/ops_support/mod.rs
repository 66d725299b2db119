//! Shared by the `ops_*` tests: a tiny seeded generator, input views of every kind (contiguous, transposed,
//! narrowed, broadcast), row-major index helpers for the naive references, and a closeness check that
//! prints the worst element.
#![allow(dead_code)]
use engine::Tensor;

/// xorshift64*: deterministic on every machine, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// Small integers as floats: many exact ties, for argmax / topk / comparisons.
    pub fn ties(&mut self, n: usize, levels: usize) -> Vec<f32> {
        (0..n).map(|_| self.below(levels) as f32).collect()
    }
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Every multi-index of `shape` in row-major order.
pub fn all_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = Vec::with_capacity(numel(shape));
    let mut idx = vec![0; shape.len()];
    for _ in 0..numel(shape) {
        out.push(idx.clone());
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Row-major linear position of `idx` in `shape`.
pub fn linear(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Position in a tensor of `src` shape of the element that broadcasts to output index `idx`
/// (dims aligned from the right, size-1 dims pinned at 0).
pub fn broadcast_linear(src: &[usize], idx: &[usize]) -> usize {
    let lead = idx.len() - src.len();
    let pinned: Vec<usize> = src.iter().enumerate().map(|(d, &n)| if n == 1 { 0 } else { idx[lead + d] }).collect();
    linear(src, &pinned)
}

/// NumPy broadcast of two shapes (the test's own, independent of the engine's).
pub fn broadcast(a: &[usize], b: &[usize]) -> Vec<usize> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let x = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
            let y = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
            assert!(x == y || x == 1 || y == 1, "test bug: {a:?} vs {b:?}");
            x.max(y)
        })
        .collect()
}

/// A tensor of `shape` with its values in row-major order, built in one of several layouts so every op
/// sees non-contiguous inputs:
/// - `Contiguous`;
/// - `Transposed`: stored with the last two dims swapped, then `transpose(-2, -1)` (rank >= 2);
/// - `Narrowed`: the middle of a tensor 3 wider in the last dim (rows `cols + 3` apart);
/// - `Permuted`: stored with the dims reversed, then permuted back (every stride is "wrong").
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    Contiguous,
    Transposed,
    Narrowed,
    Permuted,
}

pub const LAYOUTS: [Layout; 4] = [Layout::Contiguous, Layout::Transposed, Layout::Narrowed, Layout::Permuted];

pub fn make<T: engine::Element + Default>(values: &[T], shape: &[usize], layout: Layout) -> Tensor {
    assert_eq!(values.len(), numel(shape));
    let r = shape.len();
    let t = match layout {
        Layout::Transposed if r >= 2 => {
            let mut stored_shape = shape.to_vec();
            stored_shape.swap(r - 2, r - 1);
            let mut stored = vec![T::default(); values.len()];
            for idx in all_indices(shape) {
                let mut s = idx.clone();
                s.swap(r - 2, r - 1);
                stored[linear(&stored_shape, &s)] = values[linear(shape, &idx)];
            }
            Tensor::from_vec(stored, &stored_shape).unwrap().transpose(-2, -1).unwrap()
        }
        Layout::Narrowed if r >= 1 => {
            let mut wide_shape = shape.to_vec();
            wide_shape[r - 1] += 3;
            let mut wide = vec![T::default(); numel(&wide_shape)];
            for idx in all_indices(shape) {
                let mut w = idx.clone();
                w[r - 1] += 1;
                wide[linear(&wide_shape, &w)] = values[linear(shape, &idx)];
            }
            Tensor::from_vec(wide, &wide_shape).unwrap().narrow(-1, 1, shape[r - 1]).unwrap()
        }
        Layout::Permuted if r >= 2 => {
            let rev: Vec<usize> = shape.iter().rev().copied().collect();
            let mut stored = vec![T::default(); values.len()];
            for idx in all_indices(shape) {
                let ri: Vec<usize> = idx.iter().rev().copied().collect();
                stored[linear(&rev, &ri)] = values[linear(shape, &idx)];
            }
            let perm: Vec<usize> = (0..r).rev().collect();
            Tensor::from_vec(stored, &rev).unwrap().permute(&perm).unwrap()
        }
        _ => Tensor::from_vec(values.to_vec(), shape).unwrap(),
    };
    assert_eq!(t.shape(), shape);
    t
}

/// Asserts `|got - want| <= atol + rtol * |want|` everywhere (NaN must match NaN, infinities must match),
/// reporting the worst element.
pub fn assert_close(got: &[f32], want: &[f64], atol: f64, rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        if w.is_nan() || g.is_nan() {
            assert!(w.is_nan() && g.is_nan(), "{what}: element {i}: got {g}, want {w}");
            continue;
        }
        if w.is_infinite() || g.is_infinite() {
            assert_eq!(g, w, "{what}: element {i}");
            continue;
        }
        let excess = (g - w).abs() - (atol + rtol * w.abs());
        if excess > 0.0 && !matches!(worst, Some((_, e)) if excess <= e) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        panic!("{what}: element {i}: got {}, want {} (atol {atol}, rtol {rtol})", got[i], want[i]);
    }
}

/// The error message of a failed op, for asserting on its content.
pub fn err_msg<T: std::fmt::Debug>(r: engine::Result<T>) -> String {
    r.expect_err("the op should have refused its input").to_string()
}
