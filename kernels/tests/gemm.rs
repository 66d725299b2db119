//! SGEMM against its oracle: every microkernel, both transposes, padded strides, alpha/beta cases,
//! batching with broadcast, thread counts, degenerate sizes and size errors.
//!
//! Tolerance: per element, |ours − oracle| ≤ (k + 2)·eps_f32·(|alpha|·Σ_p |a_ip||b_pj| + |beta·c_ij|).
//! A length-k f32 dot product (any summation order, FMA or not) is within k·eps·Σ|a||b| of exact; the
//! alpha and beta scalings add at most two more roundings. The oracle accumulates in f64, so its own error
//! is ~2^-29 of that and the bound is for our path alone. A bug (wrong element, missed tile, stale
//! packed data) makes errors of the size of the values themselves, far outside it.

use kernels::gemm::{sgemm_with_kernel, KernelKind};
use kernels::{sgemm, sgemm_batched, sgemm_naive, sgemm_new};

const SIZES: [usize; 4] = [1, 7, 33, 257];

/// Seeded xorshift64 -> uniform in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        let x = &mut self.0;
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        ((*x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// One product's inputs with padded strides; padding holds NaN in A and B (reading it poisons the result)
/// and a sentinel in C (writing it is caught).
struct Case {
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
    a: Vec<f32>,
    lda: usize,
    b: Vec<f32>,
    ldb: usize,
    c: Vec<f32>,
    ldc: usize,
}

const PAD_C: f32 = 12345.0;

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(seed: u64, ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, beta: f32, pad: usize) -> Case {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (ar, ac) = if ta { (k, m) } else { (m, k) };
        let (br, bc) = if tb { (n, k) } else { (k, n) };
        let (lda, ldb, ldc) = (ac + pad, bc + pad, n + pad);
        let mut padded = |rows: usize, cols: usize, ld: usize, fill: f32| -> Vec<f32> {
            let mut v = vec![fill; rows * ld];
            for r in 0..rows {
                for x in &mut v[r * ld..r * ld + cols] {
                    *x = rng.next();
                }
            }
            v
        };
        let a = padded(ar, ac, lda, f32::NAN);
        let b = padded(br, bc, ldb, f32::NAN);
        let mut c = padded(m, n, ldc, PAD_C);
        if beta == 0.0 {
            // beta == 0 must not read C: NaNs there must vanish.
            for r in 0..m {
                c[r * ldc..r * ldc + n].fill(f32::NAN);
            }
        }
        Case { ta, tb, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc }
    }

    /// The oracle's C and the per-element tolerance.
    fn expected(&self) -> (Vec<f32>, Vec<f32>) {
        let mut want = self.c.clone();
        sgemm_naive(self.ta, self.tb, self.m, self.n, self.k, self.alpha, &self.a, self.lda, &self.b, self.ldb, self.beta, &mut want, self.ldc)
            .unwrap();
        // Σ|a||b| by the oracle on absolute values (NaN padding stays outside the read region).
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<f32>>();
        let mut mag = vec![0.0f32; self.c.len()];
        sgemm_naive(self.ta, self.tb, self.m, self.n, self.k, 1.0, &abs(&self.a), self.lda, &abs(&self.b), self.ldb, 0.0, &mut mag, self.ldc)
            .unwrap();
        let eps = f32::EPSILON;
        let tol = mag
            .iter()
            .zip(&self.c)
            .map(|(&s, &c0)| {
                let c_term = if self.beta == 0.0 { 0.0 } else { (self.beta * c0).abs() };
                (self.k as f32 + 2.0) * eps * (self.alpha.abs() * s + c_term) + f32::MIN_POSITIVE
            })
            .collect();
        (want, tol)
    }

    fn check(&self, got: &[f32], what: &str) {
        let (want, tol) = self.expected();
        for i in 0..self.m {
            for j in 0..self.ldc {
                let idx = i * self.ldc + j;
                if j >= self.n {
                    assert_eq!(got[idx].to_bits(), PAD_C.to_bits(), "{what}: wrote C padding at ({i},{j})");
                    continue;
                }
                let err = (got[idx] - want[idx]).abs();
                assert!(
                    err <= tol[idx],
                    "{what}: ta={} tb={} m={} n={} k={} alpha={} beta={}: C[{i}][{j}] = {} want {} (err {err:e} > tol {:e})",
                    self.ta, self.tb, self.m, self.n, self.k, self.alpha, self.beta, got[idx], want[idx], tol[idx]
                );
            }
        }
    }

    fn run_default(&self) -> Vec<f32> {
        let mut c = self.c.clone();
        sgemm(self.ta, self.tb, self.m, self.n, self.k, self.alpha, &self.a, self.lda, &self.b, self.ldb, self.beta, &mut c, self.ldc)
            .unwrap();
        c
    }

    fn run_kernel(&self, kind: KernelKind) -> Vec<f32> {
        let mut c = self.c.clone();
        sgemm_with_kernel(kind, self.ta, self.tb, self.m, self.n, self.k, self.alpha, &self.a, self.lda, &self.b, self.ldb, self.beta, &mut c, self.ldc)
            .unwrap();
        c
    }
}

const TRANSPOSES: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

/// Shapes that include 1000 in some dimension, kept to a few tens of millions of multiply-adds each.
const BIG: [(usize, usize, usize); 5] = [(1000, 33, 257), (257, 1000, 33), (33, 257, 1000), (1000, 1000, 7), (1, 1000, 1000)];

#[test]
fn sgemm_matches_naive_on_size_grid() {
    let mut seed = 1;
    for &(ta, tb) in &TRANSPOSES {
        for &m in &SIZES {
            for &n in &SIZES {
                for &k in &SIZES {
                    seed += 1;
                    let case = Case::new(seed, ta, tb, m, n, k, 1.0, 0.0, 0);
                    case.check(&case.run_default(), "sgemm");
                }
            }
        }
    }
}

#[test]
fn sgemm_matches_naive_with_a_1000_dimension() {
    for (i, &(m, n, k)) in BIG.iter().enumerate() {
        for (t, &(ta, tb)) in TRANSPOSES.iter().enumerate() {
            let case = Case::new(100 + (i * 4 + t) as u64, ta, tb, m, n, k, 0.75, 0.5, 2);
            case.check(&case.run_default(), "sgemm");
        }
    }
}

/// `sgemm_new` (no zero fill: the blocked path writes the fresh output directly) equals the oracle on every
/// path: small, one-row, blocked with edge tiles, several k blocks, one or more threads.
#[test]
fn sgemm_new_matches_naive_without_zero_fill() {
    let mut seed = 500;
    let shapes = SIZES.iter().flat_map(|&m| SIZES.iter().flat_map(move |&n| SIZES.iter().map(move |&k| (m, n, k))));
    for (m, n, k) in shapes.chain(BIG) {
        for &(ta, tb) in &TRANSPOSES {
            seed += 1;
            let case = Case::new(seed, ta, tb, m, n, k, 0.5, 0.0, 0);
            let got = sgemm_new(ta, tb, m, n, k, 0.5, &case.a, case.lda, &case.b, case.ldb).unwrap();
            case.check(&got, "sgemm_new");
        }
    }
    let err = sgemm_new(false, false, 2, 2, 2, 1.0, &[0.0; 3], 2, &[0.0; 4], 2).unwrap_err();
    assert!(err.to_string().contains("a has 3 elements"), "{err}");
}

#[test]
fn square_1000_matches_naive() {
    let case = Case::new(7, false, false, 1000, 1000, 1000, 1.0, 1.0, 0);
    case.check(&case.run_default(), "sgemm 1000^3");
}

#[test]
fn padded_strides_and_alpha_beta_cases() {
    let alpha_beta = [(1.0, 0.0), (0.5, 0.0), (-1.5, 1.0), (2.0, -0.5), (1.0, 1.0), (0.0, 0.3), (0.0, 0.0)];
    let mut seed = 500;
    for &(alpha, beta) in &alpha_beta {
        for &(ta, tb) in &TRANSPOSES {
            for &(m, n, k) in &[(33, 257, 7), (257, 33, 33), (7, 7, 257), (1, 33, 1), (40, 70, 300)] {
                seed += 1;
                let case = Case::new(seed, ta, tb, m, n, k, alpha, beta, 5);
                case.check(&case.run_default(), "sgemm padded");
            }
        }
    }
}

/// Every microkernel this CPU supports, forced, on the blocked path even for tiny sizes.
#[test]
fn each_microkernel_matches_naive() {
    let kinds = [KernelKind::Avx512, KernelKind::Avx2, KernelKind::Portable];
    assert!(KernelKind::Portable.is_supported());
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(KernelKind::Avx512.is_supported(), std::arch::is_x86_feature_detected!("avx512f"));
        assert_eq!(
            KernelKind::Avx2.is_supported(),
            std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        );
    }
    let mut seed = 900;
    for kind in kinds {
        if !kind.is_supported() {
            let case = Case::new(1, false, false, 8, 8, 8, 1.0, 0.0, 0);
            let mut c = case.c.clone();
            let r = sgemm_with_kernel(kind, false, false, 8, 8, 8, 1.0, &case.a, 8, &case.b, 8, 0.0, &mut c, 8);
            assert!(r.is_err(), "{kind:?} is unsupported here but ran");
            eprintln!("skipping {kind:?}: not supported by this CPU");
            continue;
        }
        for &(ta, tb) in &TRANSPOSES {
            for &m in &[1, 7, 33, 257] {
                for &n in &[1, 33, 257] {
                    for &k in &[1, 7, 300] {
                        seed += 1;
                        let beta = if seed % 3 == 0 { 0.0 } else { 0.5 };
                        let case = Case::new(seed, ta, tb, m, n, k, 1.25, beta, (seed % 3) as usize);
                        case.check(&case.run_kernel(kind), &format!("{kind:?}"));
                    }
                }
            }
        }
        // One shape large enough for several cache blocks in every direction (k > kc, m > mc) and threads.
        let case = Case::new(seed + 1, false, true, 1000, 600, 600, 1.0, 1.0, 1);
        case.check(&case.run_kernel(kind), &format!("{kind:?} multi-block"));
    }
}

#[test]
fn thread_counts_split_work_correctly() {
    // 1, 2 and 3 threads, with shapes where m is too short to share out and n must be split instead.
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        for (i, &(m, n, k)) in [(5, 700, 300), (13, 300, 200), (600, 70, 130), (1000, 257, 257)].iter().enumerate() {
            let case = Case::new(2000 + i as u64, false, false, m, n, k, 1.0, 0.0, 0);
            let got = pool.install(|| case.run_default());
            case.check(&got, &format!("{threads} threads"));
        }
    }
}

#[test]
fn degenerate_sizes() {
    // k == 0: C = beta·C; beta == 0 overwrites NaN.
    let mut c = vec![2.0f32; 6];
    sgemm(false, false, 2, 3, 0, 1.0, &[], 0, &[], 3, 0.5, &mut c, 3).unwrap();
    assert_eq!(c, vec![1.0; 6]);
    let mut c = vec![f32::NAN; 6];
    sgemm(true, true, 2, 3, 0, 1.0, &[], 2, &[], 0, 0.0, &mut c, 3).unwrap();
    assert_eq!(c, vec![0.0; 6]);
    // m == 0 or n == 0: nothing to do, empty slices are fine, C untouched.
    sgemm(false, false, 0, 3, 4, 1.0, &[], 4, &[0.0; 12], 3, 0.0, &mut [], 3).unwrap();
    let mut c = vec![7.0f32; 2];
    sgemm(false, false, 2, 0, 4, 1.0, &[0.0; 8], 4, &[], 0, 0.0, &mut c, 1).unwrap();
    assert_eq!(c, vec![7.0; 2]);
    for kind in [KernelKind::Avx512, KernelKind::Avx2, KernelKind::Portable].into_iter().filter(|k| k.is_supported()) {
        let mut c = vec![f32::NAN; 4];
        sgemm_with_kernel(kind, false, false, 2, 2, 0, 1.0, &[], 0, &[], 2, 0.0, &mut c, 2).unwrap();
        assert_eq!(c, vec![0.0; 4]);
    }
}

#[test]
fn size_errors_are_reported_not_panics() {
    let a = vec![1.0f32; 12];
    let b = vec![1.0f32; 12];
    let mut c = vec![0.0f32; 9];
    // 3×4 · 4×3 fits exactly.
    assert!(sgemm(false, false, 3, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 3).is_ok());
    let short_a = sgemm(false, false, 3, 3, 4, 1.0, &a[..11], 4, &b, 3, 0.0, &mut c, 3).unwrap_err();
    assert_eq!(short_a.kernel, "sgemm");
    assert!(short_a.message.contains('a'), "{short_a}");
    assert!(sgemm(false, false, 3, 3, 4, 1.0, &a, 4, &b[..11], 3, 0.0, &mut c, 3).is_err());
    assert!(sgemm(false, false, 3, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c[..8], 3).is_err());
    // Strides shorter than a row.
    assert!(sgemm(false, false, 3, 3, 4, 1.0, &a, 3, &b, 3, 0.0, &mut c, 3).is_err());
    assert!(sgemm(false, false, 3, 3, 4, 1.0, &a, 4, &b, 2, 0.0, &mut c, 3).is_err());
    assert!(sgemm(false, false, 3, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 2).is_err());
    // Transposed A is stored k×m = 4×3: lda 3 fits, a larger m does not.
    assert!(sgemm(true, false, 3, 3, 4, 1.0, &a, 3, &b, 3, 0.0, &mut c, 3).is_ok());
    assert!(sgemm(true, false, 4, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 3).is_err());
    assert!(sgemm_naive(false, false, 3, 3, 4, 1.0, &a[..5], 4, &b, 3, 0.0, &mut c, 3).is_err());
    // Batched: the last item must fit, and C items must not overlap.
    let mut cb = vec![0.0f32; 18];
    assert!(sgemm_batched(2, false, false, 3, 3, 4, 1.0, &a, 4, 0, &b, 3, 0, 0.0, &mut cb, 3, 9).is_ok());
    assert!(sgemm_batched(2, false, false, 3, 3, 4, 1.0, &a, 4, 1, &b, 3, 0, 0.0, &mut cb, 3, 9).is_err());
    assert!(sgemm_batched(3, false, false, 3, 3, 4, 1.0, &a, 4, 0, &b, 3, 0, 0.0, &mut cb, 3, 9).is_err());
    assert!(sgemm_batched(2, false, false, 3, 3, 4, 1.0, &a, 4, 0, &b, 3, 0, 0.0, &mut cb, 3, 0).is_err());
    assert!(sgemm_batched(0, false, false, 3, 3, 4, 1.0, &[], 4, 0, &[], 3, 0, 0.0, &mut [], 3, 9).is_ok());
}

#[test]
fn batched_matches_per_item_naive_with_broadcast() {
    // (batch, m, n, k): many small items (parallel across the batch) and a few large ones (parallel inside).
    for (case_no, &(batch, m, n, k)) in [(16, 7, 33, 20), (9, 33, 33, 33), (2, 300, 200, 150), (1, 257, 7, 33)].iter().enumerate() {
        for (ta, tb) in TRANSPOSES {
            for (stride_a0, stride_b0) in [(false, false), (true, false), (false, true)] {
                let mut rng = Rng(77 + case_no as u64);
                let (a_one, b_one, c_one) = (m * k, k * n, m * n);
                let stride_a = if stride_a0 { 0 } else { a_one + 3 };
                let stride_b = if stride_b0 { 0 } else { b_one + 1 };
                let stride_c = c_one + 2;
                let a = rng.vec((batch - 1) * stride_a + a_one);
                let b = rng.vec((batch - 1) * stride_b + b_one);
                let c0 = rng.vec((batch - 1) * stride_c + c_one);
                let (lda, ldb) = (if ta { m } else { k }, if tb { k } else { n });
                let mut got = c0.clone();
                sgemm_batched(batch, ta, tb, m, n, k, 0.5, &a, lda, stride_a, &b, ldb, stride_b, 2.0, &mut got, n, stride_c).unwrap();
                let mut want = c0.clone();
                for t in 0..batch {
                    let a_t = &a[t * stride_a..][..a_one];
                    let b_t = &b[t * stride_b..][..b_one];
                    sgemm_naive(ta, tb, m, n, k, 0.5, a_t, lda, b_t, ldb, 2.0, &mut want[t * stride_c..][..c_one], n).unwrap();
                }
                for (idx, (g, w)) in got.iter().zip(&want).enumerate() {
                    // Gaps between C items are untouched; inside, the same bound as above with |a|,|b| <= 1.
                    let tol = (k as f32 + 2.0) * f32::EPSILON * (0.5 * k as f32 + 2.0 * w.abs() + 2.0);
                    assert!((g - w).abs() <= tol, "batch case {case_no} ta={ta} tb={tb}: idx {idx}: {g} vs {w}");
                }
            }
        }
    }
}
