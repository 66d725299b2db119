//! The run folder every training stage of `rlhf` writes (pretrain today; SFT, reward model and PPO reuse it):
//!
//! | file | what |
//! | --- | --- |
//! | `metrics.jsonl` | one JSON object per training step and per evaluation, appended as they happen |
//! | `loss.svg` | the loss curves (train per step, eval per evaluation), written at the end |
//! | `summary.json` | steps, tokens/s, final train and val loss, wall time, peak memory |
//! | `checkpoint/` | the latest checkpoint (`autograd::checkpoint`: model, optimizer, RNG; exact resume) |
//! | `model/` | the model in Hugging Face layout (`config.json`, `model.safetensors`, tokenizer) |
//! | `tokens.bin`, `tokens.json` | the corpus tokenised once (u32 ids, memory-mapped) and what made it |
//! | `rlhf_tokenizer.json` | the run's vocabulary (kept so a resume tokenises the same way) |
//!
//! One concept per file: [`metrics`] (the JSONL log), [`chart`] (the SVG), [`summary`] (summary.json and
//! peak memory), [`progress`] (the terminal progress bar), [`interrupt`] (Ctrl-C as a request to stop
//! after saving), [`tokens`] (the memory-mapped token file), [`resume`] (checked resume from `checkpoint/`).
pub mod chart;
pub mod interrupt;
pub mod metrics;
pub mod progress;
pub mod resume;
pub mod summary;
pub mod tokens;

use std::path::{Path, PathBuf};

pub use metrics::{MetricRecord, MetricsLog};
pub use progress::Progress;
pub use resume::resume_checkpoint;
pub use summary::{peak_memory_bytes, Summary};

/// The error type of the run folder and the training commands.
pub type RunError = Box<dyn std::error::Error + Send + Sync>;

/// One finished optimizer step, as [`RunDir::log_train_step`] records it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainStep {
    /// The step just taken (1-based).
    pub step: u64,
    /// Mean loss over its micro-batches.
    pub loss: f32,
    /// The learning rate used.
    pub lr: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Tokens the step trained on.
    pub tokens: f64,
    /// Seconds the step took.
    pub seconds: f64,
    /// Seconds since the run (or its resumed part) started.
    pub elapsed_s: f64,
}

/// A run folder: where a training stage keeps its metrics, chart, summary and checkpoints.
pub struct RunDir {
    root: PathBuf,
    /// The metrics log, opened for appending.
    pub metrics: MetricsLog,
}

impl RunDir {
    /// Opens (creating if needed) the run folder at `root`. With `fresh`, an earlier metrics log is
    /// truncated (a new run); otherwise new records are appended (a resumed run).
    pub fn open(root: impl AsRef<Path>, fresh: bool) -> Result<RunDir, RunError> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: cannot create the run folder: {e}", root.display()))?;
        let metrics = MetricsLog::open(root.join("metrics.jsonl"), fresh)?;
        Ok(RunDir { root, metrics })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `checkpoint/`: the resumable training state.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// `model/`: the model in Hugging Face layout, for `rlhf generate` / `rlhf score` and `transformers`.
    pub fn model_dir(&self) -> PathBuf {
        self.root.join("model")
    }

    /// Logs a finished optimizer step: a non-finite loss stops the run with advice (training on would
    /// only spread NaN through the weights and the next checkpoint); otherwise its `metrics.jsonl` line
    /// is appended and the progress bar, if any, moves.
    pub fn log_train_step(&mut self, step: &TrainStep, progress: Option<&Progress>) -> Result<(), RunError> {
        if !step.loss.is_finite() {
            return Err(format!("step {}: the loss is {}; lower --lr", step.step, step.loss).into());
        }
        let tokens_per_s = step.tokens / step.seconds;
        self.metrics.append(&MetricRecord::Train {
            step: step.step,
            loss: step.loss,
            lr: step.lr,
            grad_norm: step.grad_norm,
            tokens_per_s,
            elapsed_s: step.elapsed_s,
        })?;
        if let Some(p) = progress {
            p.update(step.step, step.loss, tokens_per_s);
        }
        Ok(())
    }

    /// Writes `loss.svg` from everything in `metrics.jsonl` (resumed runs included) and `summary.json`.
    pub fn finish(&self, summary: &Summary) -> Result<(), RunError> {
        let records = metrics::read_all(&self.root.join("metrics.jsonl"))?;
        chart::write_loss_chart(&self.root.join("loss.svg"), &records)?;
        summary.write(&self.root.join("summary.json"))
    }

    /// As [`RunDir::finish`], with a stage's own figures under `"extra"` in `summary.json`.
    pub fn finish_with_extra(&self, summary: &Summary, extra: &serde_json::Value) -> Result<(), RunError> {
        let records = metrics::read_all(&self.root.join("metrics.jsonl"))?;
        chart::write_loss_chart(&self.root.join("loss.svg"), &records)?;
        summary.write_with_extra(&self.root.join("summary.json"), extra)
    }
}

/// A model folder: `dir` itself when it holds `config.json`, else `dir/model` (a run folder).
pub fn resolve_model_dir(dir: &Path) -> Result<PathBuf, RunError> {
    if dir.join("config.json").exists() {
        return Ok(dir.to_path_buf());
    }
    if dir.join("model").join("config.json").exists() {
        return Ok(dir.join("model"));
    }
    Err(format!("{}: neither a model folder (config.json + model.safetensors) nor a run folder with model/", dir.display()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_logged_with_its_rate_and_a_non_finite_loss_stops_the_run_unlogged() {
        let dir = std::env::temp_dir().join(format!("rlhf_run_log_step_{}", std::process::id()));
        let mut run = RunDir::open(&dir, true).unwrap();
        let step = TrainStep { step: 3, loss: 1.5, lr: 1e-3, grad_norm: 0.5, tokens: 800.0, seconds: 2.0, elapsed_s: 7.0 };
        run.log_train_step(&step, None).unwrap();
        let nan = TrainStep { step: 4, loss: f32::NAN, ..step };
        let err = run.log_train_step(&nan, None).unwrap_err().to_string();
        assert!(err.contains("step 4") && err.contains("lower --lr"), "{err}");
        let records = metrics::read_all(&dir.join("metrics.jsonl")).unwrap();
        assert_eq!(records, vec![MetricRecord::Train { step: 3, loss: 1.5, lr: 1e-3, grad_norm: 0.5, tokens_per_s: 400.0, elapsed_s: 7.0 }]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
