//! PPO's optimisation schedule over one rollout batch: several epochs, each a fresh seeded shuffle of the
//! rollout's rows cut into minibatches (Schulman et al. 2017, Algorithm 1: "optimize surrogate L wrt θ,
//! with K epochs and minibatch size M ≤ NT"), and an early stop when the policy has drifted too far from the
//! rollout policy by the approximate KL (as OpenAI Baselines / Stable-Baselines3's `target_kl`).
use engine::rng::Rng;
use engine::{Error, Result};

/// For `epochs` epochs, the indices `0..n` shuffled by a generator seeded with `seed` (each epoch reshuffles
/// from the same stream) and cut into minibatches of `minibatch_size`; the last minibatch of an epoch holds
/// the remainder when `minibatch_size` does not divide `n`, so every row is used exactly once per epoch.
/// The same arguments always give the same sets. Indexed `[epoch][minibatch][row]`.
///
/// ```
/// use rlhf::rl::minibatch::minibatch_indices;
/// let sets = minibatch_indices(5, 2, 3, 42)?;
/// assert_eq!(sets.len(), 3);
/// assert_eq!(sets[0].iter().map(|m| m.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
/// assert_eq!(sets, minibatch_indices(5, 2, 3, 42)?);
/// # Ok::<(), engine::Error>(())
/// ```
pub fn minibatch_indices(n: usize, minibatch_size: usize, epochs: usize, seed: u64) -> Result<Vec<Vec<Vec<usize>>>> {
    if minibatch_size == 0 {
        return Err(Error::op("minibatch_indices", "minibatch_size must be at least 1"));
    }
    let mut rng = Rng::new(seed);
    Ok((0..epochs)
        .map(|_| {
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            order.chunks(minibatch_size).map(|c| c.to_vec()).collect()
        })
        .collect())
}

/// Early stop of the PPO epochs on an approximate-KL bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KlEarlyStop {
    /// Stop once the approximate KL of a minibatch exceeds this; `None` never stops on KL. Stable-Baselines3
    /// uses `1.5 · target_kl`.
    pub max_approx_kl: Option<f32>,
}

impl KlEarlyStop {
    /// Whether to stop updating on this rollout batch, given the last minibatch's approximate KL. A
    /// non-finite approximate KL always stops (the update has diverged).
    ///
    /// ```
    /// use rlhf::rl::minibatch::KlEarlyStop;
    /// let stop = KlEarlyStop { max_approx_kl: Some(0.02) };
    /// assert!(!stop.should_stop(0.01) && stop.should_stop(0.03) && stop.should_stop(f32::NAN));
    /// ```
    pub fn should_stop(&self, approx_kl: f32) -> bool {
        if !approx_kl.is_finite() {
            return true;
        }
        matches!(self.max_approx_kl, Some(bound) if approx_kl > bound)
    }
}
