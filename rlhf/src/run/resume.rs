//! Resuming a language-model pretraining run from its checkpoint: the model asked for is compared with the
//! saved one first (a clear message instead of a tensor-shape error), then weights, optimizer state, step
//! and the RNG come back exactly.
use autograd::checkpoint::{load_checkpoint, CHECKPOINT_JSON};
use autograd::nn::Module;
use autograd::optim::Optimizer;
use engine::rng::Rng;
use serde_json::Value;

use super::{RunDir, RunError};

/// Loads `run`'s checkpoint into `model` and `optimizer` after checking that its recorded
/// `train.config.model` equals `expected_model`; returns the step to continue from and the saved RNG.
pub fn resume_checkpoint(run: &RunDir, model: &dyn Module, optimizer: &mut dyn Optimizer, expected_model: &Value) -> Result<(u64, Rng), RunError> {
    let manifest_path = run.checkpoint_dir().join(CHECKPOINT_JSON);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| format!("{}: cannot read: {e}", manifest_path.display()))?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| format!("{}: malformed: {e}", manifest_path.display()))?;
    let saved_model = &manifest["train"]["config"]["model"];
    if saved_model != expected_model {
        return Err(format!("--resume: the checkpoint's model {saved_model} differs from the one asked for {expected_model}").into());
    }
    let state = load_checkpoint(run.checkpoint_dir(), model, optimizer)?;
    let rng = Rng::from_state(state.rng_state.ok_or("--resume: the checkpoint has no RNG state")?)?;
    Ok((state.step, rng))
}
