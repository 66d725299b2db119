//! The KL coefficient β of the per-token penalty `−β·(log π − log π_ref)`: fixed (InstructGPT used
//! β = 0.02) or adapted towards a target KL (Ziegler et al. 2019, §2.2, after Schulman et al.'s adaptive
//! KL penalty in the PPO paper):
//!
//! ```text
//! e_t = clip((KL_t − KL_target) / KL_target, −0.2, 0.2)
//! β_{t+1} = β_t · (1 + K_β · e_t),   K_β = n_steps / horizon
//! ```
//!
//! `KL_t` is the per-answer KL of the last batch, `n_steps` the number of samples (answers) that batch held.
//! A KL above target raises β (pulls the policy back), below target lowers it; one update changes β by a
//! factor in `[1 − 0.2·K_β, 1 + 0.2·K_β]`.
use engine::{Error, Result};

/// Ziegler et al.'s proportional controller of β.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveKlController {
    /// The current coefficient.
    pub beta: f64,
    /// The KL per answer to hold (Ziegler et al.: 6 nats for their tasks).
    pub target: f64,
    /// How many samples it takes for the full proportional correction (Ziegler et al.: 10 000).
    pub horizon: f64,
}

/// Fixed or adaptive β.
#[derive(Clone, Debug, PartialEq)]
pub enum KlController {
    /// A constant β.
    Fixed(f64),
    /// β adapted towards a target KL.
    Adaptive(AdaptiveKlController),
}

impl KlController {
    /// InstructGPT's fixed β = 0.02.
    pub fn instructgpt() -> KlController {
        KlController::Fixed(0.02)
    }

    /// An adaptive controller starting at `beta`; errors unless `beta ≥ 0`, `target > 0` and `horizon > 0`.
    pub fn adaptive(beta: f64, target: f64, horizon: f64) -> Result<KlController> {
        if !(beta >= 0.0 && target > 0.0 && horizon > 0.0) {
            return Err(Error::op(
                "KlController::adaptive",
                format!("need beta >= 0, target > 0, horizon > 0; got {beta}, {target}, {horizon}"),
            ));
        }
        Ok(KlController::Adaptive(AdaptiveKlController { beta, target, horizon }))
    }

    /// The current β.
    pub fn beta(&self) -> f64 {
        match self {
            KlController::Fixed(beta) => *beta,
            KlController::Adaptive(c) => c.beta,
        }
    }

    /// Feeds back the measured per-answer KL of a batch of `n_steps` answers; returns the new β (unchanged
    /// when fixed, or when `current_kl` is not finite).
    ///
    /// ```
    /// use rlhf::rl::kl_controller::KlController;
    /// let mut c = KlController::adaptive(0.1, 6.0, 10_000.0)?;
    /// let b = c.update(12.0, 1000); // KL far above target: error clipped to 0.2, β · (1 + 0.2·0.1)
    /// assert!((b - 0.1 * 1.02).abs() < 1e-12);
    /// # Ok::<(), engine::Error>(())
    /// ```
    pub fn update(&mut self, current_kl: f64, n_steps: usize) -> f64 {
        if let KlController::Adaptive(c) = self {
            if current_kl.is_finite() {
                let error = ((current_kl - c.target) / c.target).clamp(-0.2, 0.2);
                // Never below 0 (possible only when n_steps > 5·horizon).
                c.beta = (c.beta * (1.0 + error * n_steps as f64 / c.horizon)).max(0.0);
            }
        }
        self.beta()
    }
}
