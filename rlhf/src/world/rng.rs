//! The world's random numbers and content hashes: [`engine::Rng`] (xoshiro256**, identical on every machine)
//! with the few draws the generators need, and a content hash (FNV-1a folded through SplitMix64) for splits
//! and per-item seeds.
use engine::rng::splitmix64;
use engine::Rng;

/// A seeded generator with the draws the world needs.
///
/// ```
/// use rlhf::world::rng::WorldRng;
/// let mut a = WorldRng::new(7);
/// let mut b = WorldRng::new(7);
/// assert_eq!(a.below(100), b.below(100));
/// ```
#[derive(Clone, Debug)]
pub struct WorldRng {
    rng: Rng,
}

impl WorldRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> WorldRng {
        WorldRng { rng: Rng::new(seed) }
    }

    /// A generator for one named stream of a seed (`derive(seed, "sft")`), so streams do not depend on each
    /// other's lengths.
    pub fn derive(seed: u64, label: &str) -> WorldRng {
        WorldRng::new(mix(seed, hash_str(label)))
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is below 2^-50 for the small `n` used here).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        (self.rng.next_u64() % n as u64) as usize
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as usize) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.next_f64() < p
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.rng.next_f64()
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// A 64-bit hash of a string: FNV-1a, then one SplitMix64 step to spread the bits. Stable across machines
/// and releases (the splits depend on it).
///
/// ```
/// use rlhf::world::rng::hash_str;
/// assert_eq!(hash_str("abc"), hash_str("abc"));
/// assert_ne!(hash_str("abc"), hash_str("abd"));
/// ```
pub fn hash_str(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut s = h;
    splitmix64(&mut s)
}

/// Combines two 64-bit values into one well-spread value.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut s = a ^ b.rotate_left(32) ^ 0x5851_f42d_4c95_7f2d;
    splitmix64(&mut s)
}
