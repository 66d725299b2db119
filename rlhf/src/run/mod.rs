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
