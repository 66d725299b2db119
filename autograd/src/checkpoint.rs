//! Checkpoints: model and optimizer state in safetensors plus a small JSON, committed atomically.
//!
//! A checkpoint directory holds:
//! - `model-<step>-<nonce>.safetensors`: one tensor per parameter, named by its dotted name;
//! - `optimizer-<step>-<nonce>.safetensors`: the optimizer's state tensors (`<param>.exp_avg`, ...);
//! - `checkpoint.json`: the step, optimizer step count and learning rate, the RNG state, the caller's config,
//!   and the names and byte sizes of the two files above.
//!
//! **Atomicity.** Each safetensors file is written to a temporary file, fsynced and renamed (the engine's
//! `safetensors::save`). Only then is `checkpoint.json` written the same way (temp, fsync, rename, fsync of
//! the directory): the rename of the JSON is the commit point. A kill at any moment leaves the previous
//! JSON pointing at the previous, complete files; files of the superseded checkpoint are removed after the
//! commit. New files carry a fresh nonce, so a commit never overwrites a file the old JSON names.
//!
//! **Errors** name the file and, where it applies, the tensor: a missing file, a size different from the
//! one recorded (truncated), a tensor missing, unexpected or of the wrong shape.
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use engine::io::safetensors;
use engine::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::nn::{load_named, Module};
use crate::optim::Optimizer;

/// The JSON value type of [`TrainState::config`] (`serde_json::Value`), re-exported so callers need not
/// depend on serde_json.
pub use serde_json::Value as JsonValue;

/// The name of the JSON that commits a checkpoint.
pub const CHECKPOINT_JSON: &str = "checkpoint.json";
const FORMAT: &str = "autograd-checkpoint-v1";

/// Training progress saved beside the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The training step (the number of optimizer steps the run has completed, or the caller's own count).
    pub step: u64,
    /// The data-order / dropout RNG's state (`engine::rng::Rng::state`), if the run uses one.
    pub rng_state: Option<[u64; 4]>,
    /// Anything else the run needs to resume: model and training configuration, data position, ...
    pub config: JsonValue,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    name: String,
    bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    train: TrainState,
    optimizer_steps: u64,
    lr: f32,
    model: FileEntry,
    optimizer: FileEntry,
}

/// Writes a checkpoint of `model`, `optimizer` and `state` into `dir` (created if needed), atomically.
///
/// ```
/// use autograd::checkpoint::{load_checkpoint, save_checkpoint, TrainState};
/// use autograd::nn::{Linear, Module};
/// use autograd::optim::{AdamW, AdamWOptions, Optimizer};
/// use autograd::Var;
/// use engine::{rng::Rng, Tensor};
///
/// let dir = std::env::temp_dir().join(format!("autograd-doc-ckpt-{}", std::process::id()));
/// let mut rng = Rng::new(1);
/// let model = Linear::new(3, 2, true, &mut rng)?;
/// let mut opt = AdamW::for_module(&model, 0.1, AdamWOptions::default());
/// let x = Var::constant(Tensor::ones(&[4, 3], engine::DType::F32)?);
/// model.forward(&x)?.square()?.mean_all()?.backward()?;
/// opt.step()?;
/// let state = TrainState { step: 1, rng_state: Some(rng.state()), config: serde_json::json!({"lr": 1e-3}) };
/// save_checkpoint(&dir, &model, &opt, &state)?;
///
/// let fresh = Linear::new(3, 2, true, &mut Rng::new(99))?;
/// let mut fresh_opt = AdamW::for_module(&fresh, 0.1, AdamWOptions::default());
/// let loaded = load_checkpoint(&dir, &fresh, &mut fresh_opt)?;
/// assert_eq!(loaded, state);
/// assert_eq!(fresh.weight.value().to_vec::<f32>()?, model.weight.value().to_vec::<f32>()?);
/// assert_eq!(fresh_opt.steps_taken(), 1);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), engine::Error>(())
/// ```
pub fn save_checkpoint(dir: impl AsRef<Path>, model: &dyn Module, optimizer: &dyn Optimizer, state: &TrainState) -> Result<()> {
    let dir = dir.as_ref();
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, format!("cannot create the checkpoint directory: {e}")))?;
    let previous = read_manifest(dir).ok();
    let nonce = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let model_name = format!("model-{:08}-{nonce:x}.safetensors", state.step);
    let optim_name = format!("optimizer-{:08}-{nonce:x}.safetensors", state.step);

    let params = model.named_parameters();
    let values: Vec<(String, Tensor)> = params.iter().map(|(n, p)| (n.clone(), p.value())).collect();
    let model_bytes = write_tensors(&dir.join(&model_name), &values)?;
    let optim_state = optimizer.state_tensors()?;
    let optim_bytes = write_tensors(&dir.join(&optim_name), &optim_state)?;

    let manifest = Manifest {
        format: FORMAT.to_string(),
        train: state.clone(),
        optimizer_steps: optimizer.steps_taken(),
        lr: optimizer.lr(),
        model: FileEntry { name: model_name, bytes: model_bytes },
        optimizer: FileEntry { name: optim_name, bytes: optim_bytes },
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::io(dir.join(CHECKPOINT_JSON), format!("cannot encode: {e}")))?;
    write_atomically(&dir.join(CHECKPOINT_JSON), &json)?;

    // Committed: the superseded checkpoint's files are no longer referenced.
    if let Some(old) = previous {
        for entry in [old.model, old.optimizer] {
            if entry.name != manifest.model.name && entry.name != manifest.optimizer.name {
                let _ = fs::remove_file(dir.join(entry.name));
            }
        }
    }
    Ok(())
}

/// Loads the checkpoint in `dir` into `model` and `optimizer` (which must have the same parameter names
/// and shapes) and returns the saved [`TrainState`]. Nothing is changed when any check fails.
pub fn load_checkpoint(dir: impl AsRef<Path>, model: &dyn Module, optimizer: &mut dyn Optimizer) -> Result<TrainState> {
    let dir = dir.as_ref();
    let manifest = read_manifest(dir)?;
    let model_path = dir.join(&manifest.model.name);
    let optim_path = dir.join(&manifest.optimizer.name);
    check_size(&model_path, manifest.model.bytes)?;
    check_size(&optim_path, manifest.optimizer.bytes)?;
    let model_tensors = safetensors::load(&model_path)?;
    let optim_tensors = safetensors::load(&optim_path)?;

    // Check both before changing either.
    let params = model.named_parameters();
    check_model_tensors(&model_path, &params, &model_tensors)?;
    optimizer
        .load_state(&optim_tensors, manifest.optimizer_steps)
        .map_err(|e| Error::io(&optim_path, e.to_string()))?;
    load_named(&params, &model_tensors, "load_checkpoint").map_err(|e| Error::io(&model_path, e.to_string()))?;
    optimizer.set_lr(manifest.lr);
    Ok(manifest.train)
}

/// Checks names, shapes and dtypes of a model file against the parameters, naming the file and tensor.
fn check_model_tensors(
    path: &Path,
    params: &[(String, crate::param::Parameter)],
    tensors: &BTreeMap<String, Tensor>,
) -> Result<()> {
    for (name, p) in params {
        let t = tensors
            .get(name)
            .ok_or_else(|| Error::io(path, format!("tensor {name:?} is missing from the checkpoint")))?;
        if t.shape() != p.shape().as_slice() || t.dtype() != p.dtype() {
            return Err(Error::io(
                path,
                format!("tensor {name:?} is {} {:?} but the model expects {} {:?}", t.dtype(), t.shape(), p.dtype(), p.shape()),
            ));
        }
    }
    if let Some(extra) = tensors.keys().find(|k| !params.iter().any(|(n, _)| n == *k)) {
        return Err(Error::io(path, format!("tensor {extra:?} in the checkpoint is not a parameter of the model")));
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(CHECKPOINT_JSON);
    let bytes = fs::read(&path).map_err(|e| Error::io(&path, format!("cannot read the checkpoint: {e}")))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| Error::io(&path, format!("malformed checkpoint JSON: {e}")))?;
    if manifest.format != FORMAT {
        return Err(Error::io(&path, format!("format {:?} is not {FORMAT:?}", manifest.format)));
    }
    Ok(manifest)
}

fn check_size(path: &Path, expected: u64) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, format!("checkpoint file is missing: {e}")))?;
    if meta.len() != expected {
        return Err(Error::io(
            path,
            format!("file is {} bytes but {CHECKPOINT_JSON} records {expected} (truncated or replaced)", meta.len()),
        ));
    }
    Ok(())
}

/// Saves `tensors` with the engine's atomic writer and returns the file's size.
fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<u64> {
    let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    safetensors::save(path, &refs, None)?;
    Ok(fs::metadata(path).map_err(|e| Error::io(path, e.to_string()))?.len())
}

/// The checkpoint's commit point: the JSON lands whole or not at all.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    engine::io::write_atomically(path, |out| out.write_all(bytes))
}
