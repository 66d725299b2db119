//! The options `rlhf pg` and `rlhf ppo` share: how rollouts are sampled and how the run is kept.
use clap::Args;

/// Rollout and run options common to the RL commands (flattened into their own options).
#[derive(Args, Clone, Debug)]
pub struct RlRunArgs {
    /// Longest answer in tokens.
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Rollout temperature.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Answers written to samples.jsonl per iteration.
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// Checkpoint every N iterations; always at the end and on Ctrl-C.
    #[arg(long, default_value_t = 5)]
    pub checkpoint_every: u64,
    /// Seed of the prompt draws, rollouts and minibatch orders.
    #[arg(long, default_value_t = 1337)]
    pub seed: u64,
    /// Continue from the run folder's checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Stop (with a checkpoint) after this iteration, as Ctrl-C would.
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Where to run: cpu, or cuda / cuda:N (needs a build with `--features cuda` and an NVIDIA driver).
    #[arg(long, default_value = "cpu")]
    pub device: engine::Device,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}
