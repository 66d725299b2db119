//! `metrics.jsonl`: one JSON object per line, appended per training step and per evaluation, flushed at
//! once so a crash loses nothing and `tail -f` shows progress.
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RunError;

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricRecord {
    /// A training step.
    Train {
        /// The step just taken (1-based).
        step: u64,
        /// Mean loss over the step's micro-batches.
        loss: f32,
        /// The learning rate used.
        lr: f32,
        /// Global gradient norm before clipping.
        grad_norm: f32,
        /// Tokens per second of this step.
        tokens_per_s: f64,
        /// Seconds since the run (or the resumed part) started.
        elapsed_s: f64,
    },
    /// An evaluation.
    Eval {
        /// The step after which it ran.
        step: u64,
        /// Mean loss on training batches.
        train_loss: f32,
        /// Mean loss on validation batches.
        val_loss: f32,
    },
    /// Named evaluation figures beyond the losses (masked-LM accuracy and its baseline, ...).
    Scores {
        /// The step after which they were measured.
        step: u64,
        /// Figure name -> value.
        scores: std::collections::BTreeMap<String, f64>,
    },
}

/// The open log.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `path` for appending (`truncate`: start empty).
    pub fn open(path: PathBuf, truncate: bool) -> Result<MetricsLog, RunError> {
        let file = OpenOptions::new()
            .create(true)
            .append(!truncate)
            .write(true)
            .truncate(truncate)
            .open(&path)
            .map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
        Ok(MetricsLog { path, file })
    }

    /// Appends one record as a line and flushes it.
    pub fn append(&mut self, record: &MetricRecord) -> Result<(), RunError> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(|e| format!("{}: cannot write: {e}", self.path.display()))?;
        self.file.flush()?;
        Ok(())
    }
}

/// Every record of a log file, in order.
pub fn read_all(path: &Path) -> Result<Vec<MetricRecord>, RunError> {
    let file = File::open(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?);
    }
    Ok(out)
}
