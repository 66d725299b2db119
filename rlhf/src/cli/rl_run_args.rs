//! The options `rlhf pg` and `rlhf ppo` share: what they start from, how rollouts are sampled and how the
//! run is kept.
use std::path::{Path, PathBuf};

use autograd::checkpoint::CHECKPOINT_JSON;
use clap::Args;
use rlhf::rl::run_folder::PromptSource;
use rlhf::run::RunError;

/// The SFT policy, the reward model and the prompts an RL command starts from (flattened into its options).
#[derive(Args, Clone, Debug)]
pub struct RlInputArgs {
    /// The SFT model (model folder or run folder): the policy's start and the frozen reference.
    #[arg(long)]
    pub policy: PathBuf,
    /// The reward-model folder (or its run folder); `rlhf ppo` also starts its critic from a GPT one.
    #[arg(long)]
    pub reward: PathBuf,
    /// Prompts: `.jsonl` conversations or a text file, one prompt a line. Default: the built-in world's
    /// PPO split.
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// How many world PPO prompts to draw from (without --prompts).
    #[arg(long, default_value_t = 2000)]
    pub world_prompts: usize,
    /// Seed of the built-in world.
    #[arg(long, default_value_t = 1337)]
    pub world_seed: u64,
}

impl RlInputArgs {
    /// `--prompts`, or the world's PPO split.
    pub fn prompt_source(&self) -> PromptSource {
        match &self.prompts {
            Some(p) => PromptSource::File(p.clone()),
            None => PromptSource::World { seed: self.world_seed, n: self.world_prompts },
        }
    }
}

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

impl RlRunArgs {
    /// Whether this run continues from `out`'s checkpoint: `--resume` with none there is an error.
    pub fn resuming(&self, out: &Path) -> Result<bool, RunError> {
        let checkpoint = out.join("checkpoint");
        let resuming = self.resume && checkpoint.join(CHECKPOINT_JSON).exists();
        if self.resume && !resuming {
            return Err(format!("--resume: no checkpoint in {}", checkpoint.display()).into());
        }
        Ok(resuming)
    }
}
