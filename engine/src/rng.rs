//! A seeded random number generator that gives the same numbers on every machine.
//!
//! The integer generator is xoshiro256** (Blackman and Vigna), its state filled from the seed by SplitMix64,
//! as the authors recommend. Everything built on it is integer arithmetic or correctly rounded IEEE
//! operations (`*`, `+`, `sqrt`), except the logarithm, sine and cosine of the Box-Muller transform, which
//! come from the pure-Rust `libm` crate rather than the platform's C library, so normals are bit-identical
//! across operating systems and CPUs too.
use crate::error::{Error, Result};

/// One step of SplitMix64: advances `state` and returns the next output.
///
/// ```
/// let mut state = 0u64;
/// assert_eq!(engine::rng::splitmix64(&mut state), 0xe220a8397b1dcdaf); // the published first output
/// ```
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic xoshiro256** generator.
///
/// ```
/// use engine::rng::Rng;
/// let mut a = Rng::new(42);
/// let mut b = Rng::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let x = a.next_f32();
/// assert!((0.0..1.0).contains(&x));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose four state words are the first four SplitMix64 outputs from `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        // SplitMix64 is a bijection of its counter, so four consecutive outputs are never all zero.
        Rng { s }
    }

    /// A generator with this exact state (to resume from [`Rng::state`]). The all-zero state is refused:
    /// xoshiro would output zeros forever.
    pub fn from_state(state: [u64; 4]) -> Result<Rng> {
        if state == [0; 4] {
            return Err(Error::op("rng", "the all-zero state is not a valid xoshiro256** state"));
        }
        Ok(Rng { s: state })
    }

    /// The current state, to save in a checkpoint and restore with [`Rng::from_state`].
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// The next 32 random bits (the high half of [`Rng::next_u64`], the better-mixed one).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `[0, 1)`: the top 24 bits over 2^24, so every value is exact in f32.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in `[0, 1)`: the top 53 bits over 2^53.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high)`: `low + (high - low) * u` computed in f64 (so even `-f32::MAX..f32::MAX` does
    /// not overflow) and rounded once to f32. When that rounding lands on `high`, the draw is repeated, so
    /// `high` itself never comes out. `low == high` gives `low`; `high < low` or a NaN bound gives `low`; an
    /// infinite bound gives an infinity or NaN (callers such as [`crate::Tensor::rand_uniform`] refuse those).
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        if !(high > low) {
            return low;
        }
        let (lo, width) = (low as f64, high as f64 - low as f64);
        loop {
            let x = (lo + width * self.next_f32() as f64) as f32;
            // Only a finite `x` that rounded up to `high` is retried; `u = 0` gives `low < high`, so this ends.
            if !(x >= high && x.is_finite()) {
                return x;
            }
        }
    }

    /// One sample of the normal distribution with this mean and standard deviation (Box-Muller, computed in
    /// f64 with `libm`). Uses two 64-bit draws; [`Rng::fill_normal`] uses both values of each pair.
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let (z, _) = self.standard_normal_pair();
        (mean as f64 + std as f64 * z) as f32
    }

    /// Fills `out` with normal samples, two per pair of 64-bit draws.
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f32, std: f32) {
        let (mean, std) = (mean as f64, std as f64);
        for pair in out.chunks_mut(2) {
            let (z0, z1) = self.standard_normal_pair();
            pair[0] = (mean + std * z0) as f32;
            if let Some(second) = pair.get_mut(1) {
                *second = (mean + std * z1) as f32;
            }
        }
    }

    /// Two independent standard normals from two uniforms (the Box-Muller transform).
    fn standard_normal_pair(&mut self) -> (f64, f64) {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        let radius = (-2.0 * libm::log(u1)).sqrt();
        let angle = 2.0 * std::f64::consts::PI * u2;
        (radius * libm::cos(angle), radius * libm::sin(angle))
    }

    /// Uniform in `0..n` without bias (Lemire's multiply-and-reject method). An error when `n` is 0.
    ///
    /// ```
    /// let mut rng = engine::rng::Rng::new(7);
    /// assert!(rng.gen_range(10)? < 10);
    /// assert!(rng.gen_range(0).is_err());
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn gen_range(&mut self, n: usize) -> Result<usize> {
        if n == 0 {
            return Err(Error::op("gen_range", "the range 0..0 is empty"));
        }
        Ok(self.below(n as u64) as usize)
    }

    /// Uniform in `0..n` for `n > 0`.
    fn below(&mut self, n: u64) -> u64 {
        let mut m = self.next_u64() as u128 * n as u128;
        if (m as u64) < n {
            // Reject the few low products that would make small results more likely.
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = self.next_u64() as u128 * n as u128;
            }
        }
        (m >> 64) as u64
    }

    /// Shuffles `items` in place (Fisher-Yates); every permutation is equally likely.
    ///
    /// ```
    /// let mut v: Vec<u32> = (0..10).collect();
    /// engine::rng::Rng::new(1).shuffle(&mut v);
    /// let mut sorted = v.clone();
    /// sorted.sort();
    /// assert_eq!(sorted, (0..10).collect::<Vec<u32>>());
    /// ```
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A new generator for an independent stream, seeded from this one's next output (this one advances).
    ///
    /// ```
    /// let mut parent = engine::rng::Rng::new(3);
    /// let mut child = parent.fork();
    /// assert_ne!(parent.next_u64(), child.next_u64());
    /// ```
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    /// A generator for stream number `stream`, derived from the current state without advancing it:
    /// `split(0)`, `split(1)`, ... are different streams, and the same state and number give the same stream
    /// (for example one stream per data-loader worker).
    ///
    /// ```
    /// let rng = engine::rng::Rng::new(3);
    /// assert_eq!(rng.split(1), rng.split(1));
    /// assert_ne!(rng.split(1), rng.split(2));
    /// ```
    pub fn split(&self, stream: u64) -> Rng {
        let mut h = stream;
        let mut mixed = splitmix64(&mut h);
        for &word in &self.s {
            let mut x = mixed ^ word;
            mixed = splitmix64(&mut x);
        }
        Rng::new(mixed)
    }
}
