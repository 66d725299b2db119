//! What `rlhf ppo` and `rlhf pg` share around their iterations: the prompt pool (the built-in world's PPO
//! split, or a file), the run folder's RL metrics log, chart and summary, and reading the reward-model
//! folder. The folder has the shape of `rlhf pretrain`'s ([`crate::run`]): `metrics.jsonl` (one
//! `{"kind": "rl", ...}` line per iteration), `rl.svg`, `summary.json`, `checkpoint/`, `model/`, plus
//! `samples.jsonl` (a few answers per iteration, to read what the policy does).
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{load_sft_jsonl, ChatTokenizer, Conversation, Role};
use crate::run::RunError;
use crate::world::{Split, World};

use super::rollout::{RenderedPrompt, Rollout};
use super::stats::{RlRecord, RlStats};

/// Where the prompts come from.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptSource {
    /// `n` prompts of the built-in world's PPO split, drawn with `seed`.
    World {
        /// The world's seed.
        seed: u64,
        /// How many.
        n: usize,
    },
    /// A file: `.jsonl` conversations (SFT format; trailing assistant turns are dropped) or plain text,
    /// one prompt a line.
    File(PathBuf),
}

/// Prompts rendered for the model: each user text with its ids ending in `<|assistant|>`. Conversations
/// that leave no room for `max_new_tokens` in the block are skipped; the count of skipped ones is returned.
pub fn prompt_pool(source: &PromptSource, tok: &ChatTokenizer, block_size: usize, max_new_tokens: usize) -> Result<(Vec<RenderedPrompt>, usize), RunError> {
    let conversations: Vec<Conversation> = match source {
        PromptSource::World { seed, n } => World::new(*seed).prompts(Split::Ppo, *n).into_iter().map(|p| Conversation::from_prompt(&p.text)).collect(),
        PromptSource::File(path) if path.extension().is_some_and(|e| e == "jsonl") => load_sft_jsonl(path)?
            .into_iter()
            .map(|mut c| {
                while c.messages.last().is_some_and(|m| m.role == Role::Assistant) {
                    c.messages.pop();
                }
                c
            })
            .filter(|c| !c.messages.is_empty())
            .collect(),
        PromptSource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(Conversation::from_prompt)
            .collect(),
    };
    let room = block_size.saturating_sub(max_new_tokens).max(1);
    let (mut pool, mut skipped) = (Vec::new(), 0);
    for c in conversations {
        let text = c.messages.iter().rev().find(|m| m.role == Role::User).map(|m| m.content.clone()).unwrap_or_default();
        match tok.render_prompt(&c, room) {
            Ok(ids) => pool.push((text, ids)),
            Err(_) => skipped += 1,
        }
    }
    if pool.is_empty() {
        return Err(format!("no prompt fits in {room} tokens (block {block_size} minus --max-new-tokens {max_new_tokens}); {skipped} skipped").into());
    }
    Ok((pool, skipped))
}

/// The reward-model folder: `DIR` when it holds `config.json`, else `DIR/model` (a run folder).
pub fn resolve_reward_dir(dir: &Path) -> Result<PathBuf, RunError> {
    for candidate in [dir.to_path_buf(), dir.join("model")] {
        if candidate.join("config.json").exists() {
            return Ok(candidate);
        }
    }
    Err(format!("{}: not a reward-model folder (config.json with num_labels 1) nor a run folder with model/", dir.display()).into())
}

/// The metrics log of an RL run (appending; `fresh` truncates).
pub struct RlLog {
    path: PathBuf,
    file: File,
    samples: File,
}

impl RlLog {
    /// Opens `metrics.jsonl` and `samples.jsonl` in `root`.
    pub fn open(root: &Path, fresh: bool) -> Result<RlLog, RunError> {
        std::fs::create_dir_all(root).map_err(|e| format!("{}: cannot create the run folder: {e}", root.display()))?;
        let open = |p: PathBuf| {
            OpenOptions::new().create(true).append(!fresh).write(true).truncate(fresh).open(&p).map_err(|e| format!("{}: cannot open: {e}", p.display()))
        };
        let path = root.join("metrics.jsonl");
        Ok(RlLog { file: open(path.clone())?, samples: open(root.join("samples.jsonl"))?, path })
    }

    /// Appends an iteration's stats and its first `n_samples` answers.
    pub fn append(&mut self, stats: &RlStats, rollouts: &[Rollout], n_samples: usize) -> Result<(), RunError> {
        let line = serde_json::to_string(&RlRecord::Rl(stats.clone()))? + "\n";
        self.file.write_all(line.as_bytes()).map_err(|e| format!("{}: cannot write: {e}", self.path.display()))?;
        self.file.flush()?;
        for r in rollouts.iter().take(n_samples) {
            let s = serde_json::json!({"iteration": stats.iteration, "prompt": r.prompt, "answer": r.text, "finished": r.finished});
            self.samples.write_all((s.to_string() + "\n").as_bytes())?;
        }
        self.samples.flush()?;
        Ok(())
    }
}

/// Every iteration recorded in an RL run's `metrics.jsonl`, in order.
pub fn read_stats(path: &Path) -> Result<Vec<RlStats>, RunError> {
    let file = File::open(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let RlRecord::Rl(s) = serde_json::from_str(&line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        out.push(s);
    }
    Ok(out)
}

/// `summary.json` of an RL run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RlSummary {
    /// `ppo` or `pg`.
    pub stage: String,
    /// Iterations completed in total.
    pub iterations: u64,
    /// Iterations run by this invocation.
    pub iterations_this_run: u64,
    /// Answers sampled in total (iterations × batch size).
    pub answers: u64,
    /// Mean reward-model score of the first and of the last iteration's rollouts.
    pub first_reward_mean: Option<f32>,
    /// See `first_reward_mean`.
    pub final_reward_mean: Option<f32>,
    /// KL to the SFT model per answer, last iteration.
    pub final_kl: Option<f32>,
    /// Entropy per token, last iteration.
    pub final_entropy: Option<f32>,
    /// β after the last iteration.
    pub final_beta: Option<f32>,
    /// Mean rollout throughput, generated tokens per second.
    pub rollout_tokens_per_s: f64,
    /// Mean update throughput, tokens per second.
    pub update_tokens_per_s: f64,
    /// Seconds this invocation took.
    pub wall_time_s: f64,
    /// Peak resident memory (VmHWM), bytes.
    pub peak_memory_bytes: Option<u64>,
    /// True when the run stopped early (Ctrl-C or `--stop-after`) with a checkpoint to resume from.
    pub interrupted: bool,
}

impl RlSummary {
    /// The summary of everything in `metrics.jsonl` (resumed parts included).
    pub fn from_stats(stage: &str, all: &[RlStats], this_run: u64, batch_size: usize, wall_time_s: f64, interrupted: bool) -> RlSummary {
        let mean = |f: &dyn Fn(&RlStats) -> f64| if all.is_empty() { 0.0 } else { all.iter().map(f).sum::<f64>() / all.len() as f64 };
        RlSummary {
            stage: stage.into(),
            iterations: all.last().map(|s| s.iteration).unwrap_or(0),
            iterations_this_run: this_run,
            answers: all.last().map(|s| s.iteration).unwrap_or(0) * batch_size as u64,
            first_reward_mean: all.first().map(|s| s.reward_mean),
            final_reward_mean: all.last().map(|s| s.reward_mean),
            final_kl: all.last().map(|s| s.kl),
            final_entropy: all.last().map(|s| s.entropy),
            final_beta: all.last().map(|s| s.next_beta),
            rollout_tokens_per_s: mean(&|s| s.rollout_tokens_per_s),
            update_tokens_per_s: mean(&|s| s.update_tokens_per_s),
            wall_time_s,
            peak_memory_bytes: crate::run::peak_memory_bytes(),
            interrupted,
        }
    }

    /// Writes `rl.svg` from the run's metrics and this summary as `summary.json`.
    pub fn finish(&self, root: &Path, all: &[RlStats], title: &str) -> Result<(), RunError> {
        super::chart::write_rl_chart(&root.join("rl.svg"), title, all)?;
        let path = root.join("summary.json");
        std::fs::write(&path, serde_json::to_string_pretty(self)? + "\n").map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        Ok(())
    }
}
