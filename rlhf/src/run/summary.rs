//! `summary.json`: what a run achieved, and the process's peak resident memory.
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunError;

/// The summary of a (possibly resumed) run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The training stage (`pretrain`, ...).
    pub stage: String,
    /// Optimizer steps completed in total.
    pub steps: u64,
    /// Steps run by this invocation (fewer than `steps` after a resume).
    pub steps_this_run: u64,
    /// Training tokens per second over this invocation's steps (evaluations excluded).
    pub tokens_per_s: f64,
    /// Mean training loss of the last step.
    pub final_train_loss: Option<f32>,
    /// Validation loss of the last evaluation.
    pub final_val_loss: Option<f32>,
    /// Seconds this invocation took.
    pub wall_time_s: f64,
    /// Peak resident memory of the process (VmHWM), bytes; `None` where /proc is missing.
    pub peak_memory_bytes: Option<u64>,
    /// True when the run stopped early (Ctrl-C or `--stop-after`) with a checkpoint to resume from.
    pub interrupted: bool,
}

impl Summary {
    /// Writes the summary as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), RunError> {
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        Ok(())
    }

    /// Writes the summary with `extra` (a stage's own figures, e.g. SFT's checker scores before and after)
    /// under the key `"extra"`; [`Summary`] still reads such a file (unknown keys are ignored).
    pub fn write_with_extra(&self, path: &Path, extra: &serde_json::Value) -> Result<(), RunError> {
        let mut value = serde_json::to_value(self)?;
        value["extra"] = extra.clone();
        std::fs::write(path, serde_json::to_string_pretty(&value)? + "\n")
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        Ok(())
    }
}

/// The peak resident set size of this process (`VmHWM` in `/proc/self/status`), in bytes.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
